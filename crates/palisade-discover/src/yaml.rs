//! Writing NetworkPolicy YAML by hand: block style, deterministic, with comments.

use std::fmt::Write as _;

use palisade_model::Labels;

/// A YAML scalar: plain when it cannot be misread (by YAML 1.1 or 1.2 parsers), else
/// double-quoted with JSON escapes (valid YAML).
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "nan" | "inf"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("strings serialize")
    }
}

/// `matchLabels` (or `{}` when empty) under `key:` at `indent` spaces.
pub fn selector(out: &mut String, indent: usize, key: &str, labels: &Labels) {
    let pad = " ".repeat(indent);
    if labels.is_empty() {
        let _ = writeln!(out, "{pad}{key}: {{}}");
        return;
    }
    let _ = writeln!(out, "{pad}{key}:\n{pad}  matchLabels:");
    for (k, v) in labels {
        let _ = writeln!(out, "{pad}    {}: {}", scalar(k), scalar(v));
    }
}

/// A map of strings under `key:`.
pub fn string_map(out: &mut String, indent: usize, key: &str, map: &[(String, String)]) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}{key}:");
    for (k, v) in map {
        let _ = writeln!(out, "{pad}  {}: {}", scalar(k), scalar(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_scalars_are_quoted() {
        assert_eq!(scalar("frontend"), "frontend");
        assert_eq!(scalar("app.kubernetes.io/name"), "app.kubernetes.io/name");
        for s in [
            "on", "Yes", "true", "null", "1.10", "8080", "", "-x", "a b", "a:b",
        ] {
            assert!(scalar(s).starts_with('"'), "{s}");
        }
    }
}
