//! Timestamp parsing without a date library: RFC 3339 and Unix seconds.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[inline]
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into nanoseconds since the epoch.
/// A space instead of `T` and a lowercase `t`/`z` are accepted, as RFC 3339 allows.
pub fn parse_rfc3339(b: &[u8]) -> Option<i64> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let min = digits(b, 14, 2)?;
    let sec = digits(b, 17, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            // Digits past nanosecond precision are dropped, not rounded.
            if i - start < 9 {
                nanos = nanos * 10 + i64::from(c - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset_s: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            let off = i64::from(oh * 3600 + om * 60);
            if sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + min * 60 + sec) - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Parses Unix seconds with an optional fraction (`1726844205` or `1726844205.123`).
pub fn parse_unix_seconds(b: &[u8]) -> Option<i64> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(dot) => (&b[..dot], &b[dot + 1..]),
        None => (b, &b""[..]),
    };
    if int.is_empty() || int.len() > 11 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs: i64 = std::str::from_utf8(int).ok()?.parse().ok()?;
    let mut nanos: i64 = 0;
    for (n, &c) in frac.iter().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        if n < 9 {
            nanos += i64::from(c - b'0') * 10i64.pow(8 - n as u32);
        }
    }
    // 11 digits of seconds reach past the year 2262, the end of an i64 of nanoseconds.
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// A timestamp as RFC 3339 or as Unix seconds.
pub fn parse_any(b: &[u8]) -> Option<i64> {
    parse_rfc3339(b).or_else(|| parse_unix_seconds(b))
}

/// Nanoseconds since the epoch as UTC calendar parts: (year, month, day, second of the day,
/// nanoseconds). The one place the civil date is computed (the inverse of `days_from_civil`);
/// [`format_rfc3339`] and the renderers' fixed-width writers build on it.
pub fn civil_from_ns(ns: i64) -> (i64, i64, i64, i64, i64) {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod, nanos)
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC with nanoseconds.
pub fn format_rfc3339(ns: i64) -> String {
    let (y, m, d, sod, nanos) = civil_from_ns(ns);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_past_the_end_of_time_are_refused() {
        // Found by the `text_reader` fuzz target: this overflowed.
        assert_eq!(parse_unix_seconds(b"99999999999"), None);
        assert_eq!(parse_unix_seconds(b"9223372036.854775807"), Some(i64::MAX));
        assert_eq!(parse_unix_seconds(b"9223372037"), None);
        assert_eq!(
            parse_unix_seconds(b"1789862400.5"),
            Some(1_789_862_400_500_000_000)
        );
    }

    #[test]
    fn parses_and_formats() {
        let t = parse_rfc3339(b"2026-09-20T14:56:45.779111730Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-09-20T14:56:45.779111730Z");
        assert_eq!(parse_rfc3339(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339(b"1970-01-01T02:00:00.5+02:00"),
            Some(500_000_000)
        );
        assert_eq!(parse_unix_seconds(b"1.25"), Some(1_250_000_000));
        assert_eq!(parse_rfc3339(b"2026-13-20T14:56:45Z"), None);
    }
}
