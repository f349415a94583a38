//! JSON text to [`Node`] trees: a small recursive-descent parser with byte-exact spans.
//!
//! A dedicated parser instead of YAML's: it is several times faster on `kubectl get -o json`
//! dumps, and its error messages speak JSON.

use std::borrow::Cow;

use crate::tree::{DuplicateKey, Kind, MAX_DEPTH, Node, Style, duplicate_keys};
use crate::yaml::SyntaxError;

struct JsonParser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    base: u32,
    duplicates: Vec<DuplicateKey>,
}

/// Receives the items of a top-level list as they are parsed, with the list's `kind` and
/// `apiVersion` when they came before `items`.
pub(crate) type ItemSink<'s, 'a> =
    &'s mut dyn FnMut(Node<'a>, Vec<DuplicateKey>, Option<&str>, Option<&str>);

/// Parses a stream of JSON values (usually one), calling `on_doc` for each with the duplicate
/// keys found in it.
///
/// With `on_item`, the elements of the `items` array of a top-level object are handed to it
/// one by one instead of being kept in the tree (their array is left empty), so that a large
/// `kubectl get -o json` dump never exists as one tree and can be converted while it is read.
pub(crate) fn parse_json<'a>(
    text: &'a str,
    base: u32,
    mut on_doc: impl FnMut(Node<'a>, Vec<DuplicateKey>),
    mut on_item: Option<ItemSink<'_, 'a>>,
) -> Result<(), SyntaxError> {
    let mut p = JsonParser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        base,
        duplicates: Vec::new(),
    };
    loop {
        p.skip_ws();
        if p.pos >= p.bytes.len() {
            return Ok(());
        }
        let node = match (&mut on_item, p.bytes.get(p.pos)) {
            (Some(sink), Some(b'{')) => p.object(0, Some(&mut **sink))?,
            _ => p.value(0)?,
        };
        on_doc(node, std::mem::take(&mut p.duplicates));
    }
}

impl<'a> JsonParser<'a> {
    fn err(&self, at: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            offset: self.base + at.min(self.bytes.len()) as u32,
            message: message.into(),
        }
    }

    fn found(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            None => "end of input".to_string(),
            Some(c) => format!("`{c}`"),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn node(&self, kind: Kind<'a>, start: usize) -> Node<'a> {
        Node {
            kind,
            start: self.base + start as u32,
            end: self.base + self.pos as u32,
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(self.err(self.pos, "nesting is too deep"));
        }
        let start = self.pos;
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(depth, None),
            Some(b'[') => self.array(depth),
            Some(b'"') => {
                let s = self.string()?;
                Ok(self.node(Kind::Scalar(s, Style::Quoted), start))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't' | b'f' | b'n') => {
                for word in ["true", "false", "null"] {
                    if self.bytes[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(
                            self.node(Kind::Scalar(Cow::Borrowed(word), Style::Plain), start)
                        );
                    }
                }
                Err(self.err(
                    start,
                    format!("expected a JSON value, found {}", self.found()),
                ))
            }
            _ => Err(self.err(
                start,
                format!("expected a JSON value, found {}", self.found()),
            )),
        }
    }

    fn object(
        &mut self,
        depth: usize,
        mut on_item: Option<ItemSink<'_, 'a>>,
    ) -> Result<Node<'a>, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(self.node(Kind::Map(entries), start));
        }
        loop {
            self.skip_ws();
            let key_start = self.pos;
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.err(
                    self.pos,
                    format!("expected a string key, found {}", self.found()),
                ));
            }
            let key = self.string()?;
            let key = self.node(Kind::Scalar(key, Style::Quoted), key_start);
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.err(
                    self.pos,
                    format!("expected `:` after an object key, found {}", self.found()),
                ));
            }
            self.pos += 1;
            self.skip_ws();
            let streamed = key.scalar().is_some_and(|(k, _)| k == "items")
                && self.bytes.get(self.pos) == Some(&b'[');
            let value = match &mut on_item {
                Some(sink) if streamed => self.stream_items(&entries, &mut **sink)?,
                _ => self.value(depth + 1)?,
            };
            entries.push((key, value));
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    duplicate_keys(&entries, &mut self.duplicates);
                    return Ok(self.node(Kind::Map(entries), start));
                }
                _ => {
                    return Err(self.err(
                        self.pos,
                        format!("expected `,` or `}}` in an object, found {}", self.found()),
                    ));
                }
            }
        }
    }

    /// Parses the `items` array, handing each element to `sink`; returns the emptied array.
    fn stream_items(
        &mut self,
        entries: &[(Node<'a>, Node<'a>)],
        sink: ItemSink<'_, 'a>,
    ) -> Result<Node<'a>, SyntaxError> {
        let field = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| k.scalar().is_some_and(|(t, _)| t == name))
                .and_then(|(_, v)| v.scalar())
                .map(|(t, _)| t.to_string())
        };
        let (kind, api) = (field("kind"), field("apiVersion"));
        let start = self.pos;
        self.pos += 1;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(self.node(Kind::Seq(Vec::new()), start));
        }
        let outer = std::mem::take(&mut self.duplicates);
        loop {
            self.skip_ws();
            let item = self.value(2)?;
            let dups = std::mem::take(&mut self.duplicates);
            sink(item, dups, kind.as_deref(), api.as_deref());
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.duplicates = outer;
                    return Ok(self.node(Kind::Seq(Vec::new()), start));
                }
                _ => {
                    return Err(self.err(
                        self.pos,
                        format!("expected `,` or `]` in an array, found {}", self.found()),
                    ));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node<'a>, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(self.node(Kind::Seq(items), start));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(self.node(Kind::Seq(items), start));
                }
                _ => {
                    return Err(self.err(
                        self.pos,
                        format!("expected `,` or `]` in an array, found {}", self.found()),
                    ));
                }
            }
        }
    }

    fn number(&mut self) -> Result<Node<'a>, SyntaxError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 || (n > 1 && self.bytes[int_start] == b'0') {
            return Err(self.err(int_start, "invalid number"));
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.err(self.pos, "invalid number: expected digits after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err(self.pos, "invalid number: expected exponent digits"));
            }
        }
        let text = &self.text[start..self.pos];
        Ok(self.node(Kind::Scalar(Cow::Borrowed(text), Style::Plain), start))
    }

    /// Parses a string starting at its opening quote; borrows when there is no escape.
    fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.err(open, "unterminated string")),
                Some(b'"') => {
                    let s = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => {
                    return Err(self.err(self.pos, "control character in a string"));
                }
                Some(_) => self.pos += 1,
            }
        }
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.err(open, "unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    let esc_at = self.pos;
                    self.pos += 1;
                    let c = match self.bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4(esc_at)?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.bytes[self.pos..].starts_with(b"\\u") {
                                    return Err(
                                        self.err(esc_at, "unpaired surrogate in `\\u` escape")
                                    );
                                }
                                self.pos += 2;
                                let lo = self.hex4(esc_at)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(
                                        self.err(esc_at, "unpaired surrogate in `\\u` escape")
                                    );
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let Some(c) = char::from_u32(code) else {
                                return Err(self.err(esc_at, "invalid `\\u` escape"));
                            };
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.err(esc_at, "invalid escape in a string")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(&b) if b < 0x20 => {
                    return Err(self.err(self.pos, "control character in a string"));
                }
                Some(_) => {
                    let run_start = self.pos;
                    while let Some(&b) = self.bytes.get(self.pos) {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    out.push_str(&self.text[run_start..self.pos]);
                }
            }
        }
    }

    fn hex4(&mut self, esc_at: usize) -> Result<u32, SyntaxError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.err(esc_at, "invalid `\\u` escape"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.err(esc_at, "invalid `\\u` escape"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_spans_and_escapes() {
        let text = r#" {"a": [1, -2.5e3, true, null], "b": "x\"\u00e9\ud83d\ude00", "c": {}} "#;
        let mut docs = Vec::new();
        parse_json(text, 0, |n, _| docs.push(n), None).unwrap();
        let a = docs[0].get("a").unwrap();
        assert_eq!(
            &text[a.start as usize..a.end as usize],
            "[1, -2.5e3, true, null]"
        );
        assert_eq!(docs[0].get("b").unwrap().scalar().unwrap().0, "x\"é😀");
    }

    #[test]
    fn reports_errors_at_the_offending_byte() {
        for (text, at) in [
            ("{\"a\": 1,}", 8),
            ("[1 2]", 3),
            ("{\"a\" 1}", 5),
            ("\"abc", 0),
            ("01", 0),
        ] {
            let e = parse_json(text, 0, |_, _| {}, None).unwrap_err();
            assert_eq!(e.offset, at, "{text}: {}", e.message);
        }
    }
}
