//! The API server's format checks (label keys and values, port names, CIDRs) and the
//! helpers behind the lint findings (YAML 1.1 scalars, "did you mean").

use std::net::{IpAddr, Ipv4Addr};

use palisade_model::IpNet;

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters; `what` says what failed.
fn check_name_part(s: &str, max: usize) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() > max {
        return Err(format!("must be no more than {max} characters"));
    }
    if !b.iter().copied().all(is_name_char) {
        return Err("must consist of alphanumeric characters, `-`, `_` or `.`".to_string());
    }
    if !b.first().is_some_and(u8::is_ascii_alphanumeric)
        || !b.last().is_some_and(u8::is_ascii_alphanumeric)
    {
        return Err("must start and end with an alphanumeric character".to_string());
    }
    Ok(())
}

/// A DNS-1123 subdomain: lowercase alphanumerics, `-` and `.`, alphanumeric at both ends of
/// every label, at most 253 characters.
fn check_dns_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the prefix before `/` must not be empty".to_string());
    }
    if s.len() > 253 {
        return Err("the prefix must be no more than 253 characters".to_string());
    }
    for label in s.split('.') {
        let b = label.as_bytes();
        let ok = !b.is_empty()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-';
        if !ok {
            return Err(
                "the prefix must be a DNS subdomain (lowercase alphanumerics, `-` and `.`)"
                    .to_string(),
            );
        }
    }
    Ok(())
}

/// Validates an object name: a DNS-1123 subdomain, or a DNS-1123 label (at most 63
/// characters, no dots) for namespaces and services.
pub(crate) fn object_name(name: &str, label: bool) -> Result<(), String> {
    if label {
        if name.len() > 63 {
            return Err("must be no more than 63 characters".to_string());
        }
        if name.contains('.') {
            return Err("must not contain dots".to_string());
        }
    }
    check_dns_subdomain(name).map_err(|_| {
        "must consist of lowercase alphanumeric characters, `-` or `.`, and start and end with \
         an alphanumeric character (at most 253 characters)"
            .to_string()
    })
}

/// Validates a label key (a qualified name); the error says what is wrong.
pub(crate) fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        check_dns_subdomain(p)?;
    }
    if name.is_empty() {
        return Err("the name part must not be empty".to_string());
    }
    check_name_part(name, 63).map_err(|e| format!("the name part {e}"))
}

/// Validates a label value (may be empty).
pub(crate) fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_name_part(value, 63)
}

/// Validates an IANA_SVC_NAME (a named port).
pub(crate) fn port_name(name: &str) -> Result<(), String> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > 15 {
        return Err("must be 1 to 15 characters".to_string());
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        return Err("must contain only lowercase letters, digits and `-`".to_string());
    }
    if !b.iter().any(u8::is_ascii_lowercase) {
        return Err("must contain at least one letter".to_string());
    }
    if b[0] == b'-' || b[b.len() - 1] == b'-' {
        return Err("must not begin or end with `-`".to_string());
    }
    if name.contains("--") {
        return Err("must not contain two consecutive `-`".to_string());
    }
    Ok(())
}

/// Parses an address the way Go's `ParseIPSloppy` does: IPv4 octets may carry leading zeros
/// (read as decimal).
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

/// Parses a CIDR as Kubernetes does (host bits allowed); returns it with host bits cleared.
pub(crate) fn parse_cidr(s: &str) -> Option<IpNet> {
    let (ip, len) = s.split_once('/')?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    let ip = parse_ip(ip)?;
    IpNet::new(ip, len).ok().map(|n| n.trunc())
}

/// How YAML 1.1 (kubectl's YAML decoder) or JSON would read an unquoted scalar, when that is
/// not a string.
///
/// Called for every unquoted label value, so it does not allocate unless the text looks like
/// a decimal number.
/// What an unquoted scalar is to every reader (JSON, YAML 1.2 core and YAML 1.1 alike) when
/// it is not a string: `true`/`false` are booleans, decimal, `0x` and `0o` integers and
/// decimal floats are numbers. The API server rejects such a value where a string goes
/// (`cannot unmarshal number into ... of type string`). Forms only YAML 1.1 reads as
/// non-strings (`yes`, `on`, `1_000`) are [`yaml11_non_string`]'s (NP009).
pub(crate) fn core_non_string(text: &str) -> Option<&'static str> {
    if matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
        return Some("a boolean");
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let b = unsigned.as_bytes();
    let all = |s: &[u8], f: fn(&u8) -> bool| !s.is_empty() && s.iter().all(f);
    if text.len() == unsigned.len() {
        if let Some(hex) = unsigned.strip_prefix("0x")
            && all(hex.as_bytes(), u8::is_ascii_hexdigit)
        {
            return Some("a number");
        }
        if let Some(oct) = unsigned.strip_prefix("0o")
            && all(oct.as_bytes(), |c| (b'0'..=b'7').contains(c))
        {
            return Some("a number");
        }
    }
    if matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || (text.len() == unsigned.len() && matches!(text, ".nan" | ".NaN" | ".NAN"))
    {
        return Some("a number");
    }
    // [0-9]+(.[0-9]*)? | .[0-9]+, then an optional exponent.
    let (mantissa, exponent) = match b.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let mantissa_ok = match mantissa.iter().position(|&c| c == b'.') {
        Some(i) => {
            let (int, frac) = (&mantissa[..i], &mantissa[i + 1..]);
            (all(int, u8::is_ascii_digit) && frac.iter().all(u8::is_ascii_digit))
                || (int.is_empty() && all(frac, u8::is_ascii_digit))
        }
        None => all(mantissa, u8::is_ascii_digit),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e
            .strip_prefix(b"-")
            .or_else(|| e.strip_prefix(b"+"))
            .unwrap_or(e);
        all(e, u8::is_ascii_digit)
    });
    (mantissa_ok && exponent_ok).then_some("a number")
}

pub(crate) fn yaml11_non_string(text: &str) -> Option<&'static str> {
    const WORDS: [(&str, &str); 14] = [
        ("y", "a boolean"),
        ("n", "a boolean"),
        ("yes", "a boolean"),
        ("no", "a boolean"),
        ("on", "a boolean"),
        ("off", "a boolean"),
        ("true", "a boolean"),
        ("false", "a boolean"),
        ("~", "null"),
        ("null", "null"),
        (".inf", "a number"),
        ("-.inf", "a number"),
        ("+.inf", "a number"),
        (".nan", "a number"),
    ];
    if text.len() <= 5
        && let Some(&(_, reading)) = WORDS.iter().find(|(w, _)| text.eq_ignore_ascii_case(w))
    {
        return Some(reading);
    }
    let digits = text.trim_start_matches(['+', '-']);
    let b = digits.as_bytes();
    if b.is_empty() {
        return None;
    }
    let radix = |prefix: u8| {
        (b.len() >= 2 && b[0] == b'0' && b[1].eq_ignore_ascii_case(&prefix)).then(|| &b[2..])
    };
    let number = if let Some(hex) = radix(b'x') {
        !hex.is_empty() && hex.iter().all(|c| c.is_ascii_hexdigit() || *c == b'_')
    } else if let Some(bin) = radix(b'b') {
        !bin.is_empty() && bin.iter().all(|c| matches!(c, b'0' | b'1' | b'_'))
    } else if let Some(oct) = radix(b'o') {
        !oct.is_empty() && oct.iter().all(|c| matches!(c, b'0'..=b'7' | b'_'))
    } else {
        b[0] != b'_'
            && b.iter().any(u8::is_ascii_digit)
            && b.iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
            && digits
                .chars()
                .filter(|&c| c != '_')
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
                .parse::<f64>()
                .is_ok()
    };
    number.then_some("a number")
}

/// Optimal-string-alignment distance, ignoring ASCII case.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The known key closest to an unknown one, if it is close enough to be a typo.
pub(crate) fn closest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    if unknown.len() > 64 {
        return None;
    }
    let limit = (unknown.len() / 3).clamp(1, 3);
    known
        .iter()
        .map(|k| (distance(unknown, k), *k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn core_non_strings() {
        for t in [
            "true", "False", "5", "-5", "+5", "1.5", "1.", ".5", "1e3", "1.5E-3", "0x1F", "0o17",
            ".inf", "-.Inf", ".nan",
        ] {
            assert!(core_non_string(t).is_some(), "{t}");
        }
        for t in [
            "yes", "on", "tRue", "1_000", "0b11", "1:30", "1.2.3", "e5", ".", "-", "", "0x",
            "-0x1", "nan", "inf", "v1", "1e",
        ] {
            assert!(core_non_string(t).is_none(), "{t}");
        }
    }

    /// The straightforward definition `yaml11_non_string` must agree with.
    fn yaml11_reference(text: &str) -> Option<&'static str> {
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" => return Some("a boolean"),
            "~" | "null" => return Some("null"),
            ".inf" | "-.inf" | "+.inf" | ".nan" => return Some("a number"),
            _ => {}
        }
        let digits = lower.trim_start_matches(['+', '-']);
        if digits.is_empty() {
            return None;
        }
        let number = if let Some(hex) = digits.strip_prefix("0x") {
            !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_')
        } else if let Some(bin) = digits.strip_prefix("0b") {
            !bin.is_empty() && bin.bytes().all(|b| matches!(b, b'0' | b'1' | b'_'))
        } else if let Some(oct) = digits.strip_prefix("0o") {
            !oct.is_empty() && oct.bytes().all(|b| matches!(b, b'0'..=b'7' | b'_'))
        } else {
            let plain: String = digits.chars().filter(|&c| c != '_').collect();
            digits.as_bytes()[0] != b'_'
                && plain.bytes().any(|b| b.is_ascii_digit())
                && plain
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
                && plain.parse::<f64>().is_ok()
        };
        number.then_some("a number")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        #[test]
        fn yaml11_reading_matches_reference(
            text in "[-+._0-9eExXbBoOaAfFnNyYtTuUlLsS~ é]{0,8}",
        ) {
            prop_assert_eq!(yaml11_non_string(&text), yaml11_reference(&text), "{}", text);
        }
    }

    #[test]
    fn yaml11_reading_matches_reference_on_samples() {
        for t in [
            "", "y", "Y", "yes", "YES", "No", "oN", "OFF", "True", "fAlse", "~", "NULL", ".inf",
            "-.Inf", "+.INF", ".NaN", "0x", "0x1F", "0X1f", "-0x_1", "0b101", "0B2", "0o17", "0O8",
            "1", "+1", "-1.5", "1e5", "1E5", "1_000", "_1", "1_", "+-1", "--", "+", "e5", ".5",
            "5.", "1.2.3", "inf", "nan", "infinity", "1e", "0xg", "é", "1é", "prod", "backend",
            "v1.2", "8080",
        ] {
            assert_eq!(yaml11_non_string(t), yaml11_reference(t), "{t}");
        }
    }

    #[test]
    fn label_keys_and_values() {
        for ok in ["app", "app.kubernetes.io/name", "a_b.c-d", "x/y", "A9"] {
            assert!(label_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/x",
            "x/",
            "-a",
            "a-",
            "Foo.com/x",
            "a/b/c",
            &"a".repeat(64),
        ] {
            assert!(label_key(bad).is_err(), "{bad}");
        }
        assert!(label_value("").is_ok());
        assert!(label_value("v1.2_3-x").is_ok());
        assert!(label_value("a b").is_err());
        assert!(label_value("-x").is_err());
    }

    #[test]
    fn object_names() {
        assert!(object_name("web-1.shop", false).is_ok());
        assert!(object_name("web-1.shop", true).is_err());
        assert!(object_name("metadata_name", false).is_err());
        assert!(object_name(&"a".repeat(254), false).is_err());
        assert!(object_name(&"a".repeat(64), true).is_err());
    }

    #[test]
    fn iana_service_names() {
        for ok in ["http", "h2c", "web-8080", "a"] {
            assert!(port_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "8080",
            "HTTP",
            "-web",
            "web-",
            "we--b",
            "abcdefghijklmnop",
        ] {
            assert!(port_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs_accept_host_bits_and_leading_zeros() {
        assert_eq!(
            parse_cidr("10.0.0.1/24").unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert_eq!(parse_cidr("010.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            parse_cidr("2001:db8::1/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/+8",
            "::/129",
        ] {
            assert!(parse_cidr(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn yaml11_scalars() {
        for (t, what) in [
            ("yes", "a boolean"),
            ("Off", "a boolean"),
            ("Y", "a boolean"),
            ("~", "null"),
            ("8080", "a number"),
            ("1.5", "a number"),
            ("0x1F", "a number"),
            ("012", "a number"),
            ("1e3", "a number"),
            ("-1", "a number"),
        ] {
            assert_eq!(yaml11_non_string(t), Some(what), "{t}");
        }
        for t in ["web", "v1", "1.2.3", "e3", "inf", "0x", "-"] {
            assert_eq!(yaml11_non_string(t), None, "{t}");
        }
    }

    #[test]
    fn suggestions() {
        let known = ["podSelector", "namespaceSelector", "ipBlock"];
        assert_eq!(closest("podselector", &known), Some("podSelector"));
        assert_eq!(closest("podSelecter", &known), Some("podSelector"));
        assert_eq!(closest("ipblok", &known), Some("ipBlock"));
        assert_eq!(closest("zzz", &known), None);
        assert_eq!(closest("form", &["from", "ports"]), Some("from"));
    }
}
