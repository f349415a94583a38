//! Making text that came from input safe to print.
//!
//! Manifests, captures and flags are written by people who may not be friendly. Terminal
//! control sequences in a pod name or a YAML string could retitle the terminal, move the
//! cursor over earlier lines or hide output; a 10 MB label value quoted in a message would
//! flood a CI log. Everything here is the one place that decides how such text is shown:
//!
//! - [`escape_control`]: one field (a name, a message, a source line) with every control
//!   character written as a visible escape (`\n`, `\t`, `\u{1b}`), so a field stays on one
//!   line and cannot steer the terminal;
//! - [`clip`]: a field cut to a bounded number of characters with an ellipsis;
//! - [`sanitize_output`]: the last pass over a whole report before it is written: line breaks
//!   and tabs stay, Palisade's own colour codes stay when colours are on, any other control
//!   character is written as `\uXXXX` (valid inside a JSON string, readable in text).

use std::borrow::Cow;
use std::fmt::Write;

/// Longest message, help or note shown, in characters; longer ones end in `…`.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// Whether a character must not reach a terminal raw: C0 and C1 controls, DEL, and the
/// Unicode bidirectional overrides and isolates (which reorder what the reader sees).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// One field with every unsafe character (see [`is_unsafe`]) escaped: `\n`, `\r`, `\t`,
/// else `\u{hex}`. Borrowed when there is nothing to escape.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// At most `max_chars` characters of `s`; a cut string ends in `…`.
pub fn clip(s: &str, max_chars: usize) -> Cow<'_, str> {
    if s.char_indices().nth(max_chars).is_none() {
        return Cow::Borrowed(s);
    }
    let keep = s
        .char_indices()
        .nth(max_chars.saturating_sub(1))
        .map_or(s.len(), |(i, _)| i);
    Cow::Owned(format!("{}…", &s[..keep]))
}

/// A message, help or note as shown in any format: clipped to [`MAX_MESSAGE_CHARS`] and
/// with control characters escaped.
pub fn message(s: &str) -> String {
    escape_control(&clip(s, MAX_MESSAGE_CHARS)).into_owned()
}

/// The colour codes [`crate::Style`] writes; only these survive [`sanitize_output`].
const OWN_SGR: &[&str] = &[
    "\x1b[0m",
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[1;31m",
    "\x1b[1;32m",
    "\x1b[1;33m",
    "\x1b[1;34m",
];

/// A whole report made safe to write to a terminal or log: `\n` and `\t` stay; with `color`,
/// Palisade's own colour codes stay; every other unsafe character becomes `\uXXXX`. This form
/// is a valid escape inside a JSON string (where the only raw control characters JSON allows
/// are DEL, C1 and the bidi marks) and reads plainly in text, so one pass serves every format.
///
/// Borrowed when there is nothing to escape, found by a scan of the bytes (see
/// [`needs_sanitizing`]); only the characters after the first unsafe one are looked at one by
/// one, and runs of safe bytes between unsafe characters are copied whole.
pub fn sanitize_output(text: &str, color: bool) -> Cow<'_, str> {
    let Some(first) = first_unsafe(text.as_bytes(), 0) else {
        return Cow::Borrowed(text);
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    let mut at = first;
    loop {
        // `at` starts an unsafe character (first_unsafe only stops on a char boundary).
        let rest = &text[at..];
        let c = rest.chars().next().unwrap_or_default();
        let mut len = c.len_utf8();
        if c == '\x1b'
            && color
            && let Some(code) = OWN_SGR.iter().find(|code| rest.starts_with(**code))
        {
            out.push_str(code);
            len = code.len();
        } else {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        at += len;
        match first_unsafe(bytes, at) {
            Some(next) => {
                out.push_str(&text[at..next]);
                at = next;
            }
            None => {
                out.push_str(&text[at..]);
                return Cow::Owned(out);
            }
        }
    }
}

/// Whether `text` (UTF-8: a `str`'s bytes, or what a serializer wrote) holds an unsafe
/// character other than `\n` and `\t`; when it does not, [`sanitize_output`] returns it
/// unchanged. Decided on the bytes alone, for a buffer that is already bytes (a line
/// `serde_json` wrote into a `Vec<u8>`) without converting it to a `str` first.
pub fn needs_sanitizing(text: &[u8]) -> bool {
    first_unsafe(text, 0).is_some()
}

/// Whether a byte may start an unsafe character other than `\n` and `\t` (see
/// [`is_unsafe`]): a C0 control, DEL, `0xC2` (the lead byte of U+0080–U+00BF, which holds
/// the C1 controls) or `0xE2` (U+2000–U+2FFF, which holds the bidi marks). Every other byte
/// of a UTF-8 string is, or belongs to, a character that is safe.
#[inline(always)]
fn maybe_unsafe(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') | (b == 0x7f) | (b == 0xc2) | (b == 0xe2)
}

/// Whether the character starting at `bytes[i]`, one [`maybe_unsafe`] byte, is unsafe (and
/// neither `\n` nor `\t`). Continuation bytes missing (not UTF-8): not unsafe.
#[inline]
fn unsafe_at(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        // C1 controls: U+0080–U+009F.
        0xc2 => matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        // U+200E, U+200F, U+202A–U+202E (E2 80 ..) and U+2066–U+2069 (E2 81 ..).
        0xe2 => matches!(
            (bytes.get(i + 1), bytes.get(i + 2)),
            (Some(0x80), Some(0x8e | 0x8f | 0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
        ),
        _ => true,
    }
}

/// The index of the first unsafe character (other than `\n` and `\t`) at or after `from`.
/// 32 bytes at a time with no branch per byte (the compiler vectorizes the test), then the
/// block that holds a candidate byte one byte at a time.
fn first_unsafe(bytes: &[u8], from: usize) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut i = from;
    while i < bytes.len() {
        let end = (i + BLOCK).min(bytes.len());
        let block = &bytes[i..end];
        if block.len() == BLOCK && !block.iter().fold(false, |any, &b| any | maybe_unsafe(b)) {
            i = end;
            continue;
        }
        for (k, &b) in block.iter().enumerate() {
            if maybe_unsafe(b) && unsafe_at(bytes, i + k) {
                return Some(i + k);
            }
        }
        i = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_terminal_controls_in_a_field() {
        assert_eq!(escape_control("web"), "web");
        assert!(matches!(escape_control("web"), Cow::Borrowed(_)));
        assert_eq!(
            escape_control("a\x1b]0;pwned\x07b\nc\td\u{9b}e\u{202e}f"),
            "a\\u{1b}]0;pwned\\u{7}b\\nc\\td\\u{9b}e\\u{202e}f"
        );
    }

    #[test]
    fn clips_on_character_boundaries() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("", 0), "");
        assert_eq!(
            message(&"x".repeat(10_000_000)).chars().count(),
            MAX_MESSAGE_CHARS
        );
    }

    #[test]
    fn output_keeps_own_colours_only_when_colouring() {
        let own = "\x1b[1;31merror\x1b[0m: pod \x1b[8mhidden\x07\n\tnext\r\n";
        assert_eq!(
            sanitize_output(own, true),
            "\x1b[1;31merror\x1b[0m: pod \\u001b[8mhidden\\u0007\n\tnext\\u000d\n"
        );
        assert_eq!(
            sanitize_output(own, false),
            "\\u001b[1;31merror\\u001b[0m: pod \\u001b[8mhidden\\u0007\n\tnext\\u000d\n"
        );
    }

    #[test]
    fn output_escapes_stay_valid_json() {
        let json =
            serde_json::to_string(&serde_json::json!({"name": "a\u{9b}b\u{7f}\u{202e}"})).unwrap();
        let safe = sanitize_output(&json, false);
        assert!(!safe.chars().any(is_unsafe));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["name"], "a\u{9b}b\u{7f}\u{202e}");
    }

    /// The character-by-character definition [`sanitize_output`]'s byte scan must equal.
    fn sanitize_reference(text: &str, color: bool) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if c == '\x1b'
                && color
                && let Some(code) = OWN_SGR.iter().find(|code| rest.starts_with(**code))
            {
                out.push_str(code);
                rest = &rest[code.len()..];
                continue;
            }
            if c != '\n' && c != '\t' && is_unsafe(c) {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// Pieces near every edge of the byte scan: the unsafe characters, their safe neighbours
    /// with the same lead byte (U+00A0, U+2010, U+2026, U+2030, U+2065, U+206A), the colour
    /// codes, and plain text of every length (to cross the 32-byte blocks).
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z \"{}:,0-9]{0,40}",
            any::<char>().prop_map(String::from),
            prop::sample::select(vec![
                "\n",
                "\t",
                "\r",
                "\x00",
                "\x1b",
                "\x7f",
                "\u{80}",
                "\u{9b}",
                "\u{9f}",
                "\u{a0}",
                "é",
                "\u{200d}",
                "\u{200e}",
                "\u{200f}",
                "\u{2010}",
                "\u{2026}",
                "\u{2028}",
                "\u{202a}",
                "\u{202e}",
                "\u{202f}",
                "\u{2030}",
                "\u{2065}",
                "\u{2066}",
                "\u{2069}",
                "\u{206a}",
                "→",
                "\x1b[0m",
                "\x1b[1;31m",
                "\x1b[8m",
                "\x1b[1;3",
            ])
            .prop_map(String::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_byte_scan_equals_the_reference(
            pieces in prop::collection::vec(piece(), 0..24),
            color: bool,
        ) {
            let text: String = pieces.concat();
            let fast = sanitize_output(&text, color);
            let reference = sanitize_reference(&text, color);
            prop_assert_eq!(&*fast, &reference);
            let unsafe_chars = text.chars().any(|c| c != '\n' && c != '\t' && is_unsafe(c));
            prop_assert_eq!(needs_sanitizing(text.as_bytes()), unsafe_chars);
            prop_assert_eq!(matches!(fast, Cow::Borrowed(_)), !unsafe_chars);
        }

        #[test]
        fn any_string_equals_the_reference(text in any::<String>(), color: bool) {
            prop_assert_eq!(&*sanitize_output(&text, color), &sanitize_reference(&text, color));
        }
    }
}
