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
pub fn sanitize_output(text: &str, color: bool) -> Cow<'_, str> {
    let needs = text.chars().any(|c| c != '\n' && c != '\t' && is_unsafe(c));
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
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
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
