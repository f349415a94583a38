//! A minimal, borrowing JSON cursor tuned for Hubble lines.
//!
//! serde_json into owned structs manages about 0.3 M Hubble flows/s; the readers need more than
//! 1 M/s, so they walk the bytes themselves: keys are compared as raw bytes, strings are borrowed
//! (unescaped only when they contain a backslash) and every value the readers do not need is
//! skipped without being decoded.

use std::borrow::Cow;

/// Why a line is not the JSON the reader expects. Static messages keep the hot path free of
/// allocation; the reader attaches the line number.
pub(crate) type JResult<T> = Result<T, &'static str>;

/// A JSON string as it appears in the input: the bytes between the quotes, still escaped.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawStr<'a> {
    pub bytes: &'a [u8],
    pub escaped: bool,
}

impl<'a> RawStr<'a> {
    /// Decodes the string, borrowing when it has no escapes.
    pub fn decode(self) -> JResult<Cow<'a, str>> {
        if !self.escaped {
            return std::str::from_utf8(self.bytes)
                .map(Cow::Borrowed)
                .map_err(|_| "string is not valid UTF-8");
        }
        unescape(self.bytes).map(Cow::Owned)
    }
}

fn unescape(b: &[u8]) -> JResult<String> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = *b.get(i + 1).ok_or("dangling backslash")?;
        i += 2;
        let ch = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(b.get(i..i + 4).ok_or("short \\u escape")?)?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    // A surrogate pair: the low half must follow as another \u escape.
                    if b.get(i..i + 2) != Some(b"\\u") {
                        return Err("unpaired surrogate");
                    }
                    let lo = hex4(b.get(i + 2..i + 6).ok_or("short \\u escape")?)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err("unpaired surrogate");
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                char::from_u32(code).ok_or("invalid \\u escape")?
            }
            _ => return Err("invalid escape"),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    String::from_utf8(out).map_err(|_| "string is not valid UTF-8")
}

fn hex4(b: &[u8]) -> JResult<u32> {
    let mut v = 0u32;
    for &c in b {
        let d = (c as char).to_digit(16).ok_or("invalid \\u escape")?;
        v = v * 16 + d;
    }
    Ok(v)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks (high bit) the bytes of `w` equal to `c`; exact for the lowest marked byte, which is
/// all the callers use.
#[inline(always)]
fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The position of the first `"` or `\` at or after `i`.
///
/// On x86_64 sixteen bytes per step with SSE2 compares (through `safe_arch`, as the crate
/// forbids `unsafe`); elsewhere the portable word-at-a-time search
/// ([`find_quote_or_backslash_swar`]). Both are checked against a byte loop in the tests.
/// Inlined: called for every string, and an out-of-line call cost as much as the scan.
#[inline(always)]
fn find_quote_or_backslash(b: &[u8], i: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        sse2::find_quote_or_backslash(b, i)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        find_quote_or_backslash_swar(b, i)
    }
}

/// The portable quote search: sixteen bytes (two words) per step, then eight, then single
/// bytes: Hubble strings are short (7-byte keys, 10–60-byte values), where memchr's per-call
/// dispatch costs more than it saves (measured: +5 % instructions). Also the tail of the SSE2
/// search (fewer than sixteen bytes left).
// On x86_64 only the tests call the portable version directly.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline(always)]
fn find_quote_or_backslash_swar(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 16) {
        let lo = u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes"));
        let hi = u64::from_le_bytes(chunk[8..].try_into().expect("8 bytes"));
        let ml = bytes_equal(lo, b'"') | bytes_equal(lo, b'\\');
        let mh = bytes_equal(hi, b'"') | bytes_equal(hi, b'\\');
        if ml | mh != 0 {
            return Some(if ml != 0 {
                i + (ml.trailing_zeros() / 8) as usize
            } else {
                i + 8 + (mh.trailing_zeros() / 8) as usize
            });
        }
        i += 16;
    }
    find_quote_or_backslash_tail(b, i)
}

/// Fewer than sixteen bytes left: one word step, then bytes.
#[inline(always)]
fn find_quote_or_backslash_tail(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let m = bytes_equal(w, b'"') | bytes_equal(w, b'\\');
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Where the object or array opening at `start` (a `{` or `[`) ends: the position after its
/// closing bracket, counting brackets outside strings (a backslash in a string escapes the
/// next byte; bracket kinds are not matched against each other, as the reader only needs the
/// value's extent).
///
/// A byte at a time outside strings (structural bytes are dense there: keys, colons, commas,
/// short numbers), each string jumped over with the quote search. Measured against a
/// sixteen-byte block version (SSE2 masks of quotes, backslashes and brackets, a prefix XOR of
/// the quote mask for the bytes inside strings): that one cost ≈ 50 instructions per block,
/// ≈ 830 per 5-label array against ≈ 440 here (docs/benchmarks.md).
fn skip_nested_end(b: &[u8], start: usize) -> JResult<usize> {
    let mut i = start;
    let mut depth = 0usize;
    while let Some(&c) = b.get(i) {
        i += 1;
        match c {
            b'"' => loop {
                let at = find_quote_or_backslash(b, i).ok_or("unterminated object or array")?;
                if b[at] == b'"' {
                    i = at + 1;
                    // `,"` or `:"` (compact arrays of strings such as labels, and string
                    // members): the next string starts at once.
                    if matches!(b.get(i), Some(b',' | b':')) && b.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                // A backslash: skip it and the byte it escapes.
                i = at + 2;
            },
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1).ok_or("unbalanced brackets")?;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
    }
    Err("unterminated object or array")
}

/// The SSE2 paths (x86_64, where SSE2 is part of the base instruction set).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };

    #[inline(always)]
    fn splat(c: u8) -> m128i {
        set_splat_i8_m128i(c as i8)
    }

    #[inline(always)]
    fn load(b: &[u8], i: usize) -> Option<m128i> {
        let chunk: &[u8; 16] = b.get(i..i + 16)?.try_into().expect("16 bytes");
        Some(m128i::from(*chunk))
    }

    /// See [`super::find_quote_or_backslash`].
    #[inline(always)]
    pub(super) fn find_quote_or_backslash(b: &[u8], mut i: usize) -> Option<usize> {
        while let Some(v) = load(b, i) {
            let m = move_mask_i8_m128i(bitor_m128i(
                cmp_eq_mask_i8_m128i(v, splat(b'"')),
                cmp_eq_mask_i8_m128i(v, splat(b'\\')),
            ));
            if m != 0 {
                return Some(i + m.trailing_zeros() as usize);
            }
            i += 16;
        }
        super::find_quote_or_backslash_tail(b, i)
    }
}

/// A position in one JSON text.
pub(crate) struct Cursor<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    #[inline]
    pub fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            self.i += 1;
        }
    }

    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    pub fn eat(&mut self, c: u8) -> JResult<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(match c {
                b'{' => "expected '{'",
                b'}' => "expected '}'",
                b'[' => "expected '['",
                b':' => "expected ':'",
                b'"' => "expected a string",
                _ => "unexpected character",
            })
        }
    }

    /// Reads a string; the cursor must be at its opening quote (after whitespace).
    #[inline(always)]
    pub fn string(&mut self) -> JResult<RawStr<'a>> {
        if self.b.get(self.i) == Some(&b'"') {
            // Compact JSON: no whitespace before the quote.
            self.i += 1;
        } else {
            self.eat(b'"')?;
        }
        let start = self.i;
        let mut escaped = false;
        loop {
            match find_quote_or_backslash(self.b, self.i) {
                None => return Err("unterminated string"),
                Some(at) => {
                    self.i = at;
                    if self.b[self.i] == b'"' {
                        let bytes = &self.b[start..self.i];
                        self.i += 1;
                        return Ok(RawStr { bytes, escaped });
                    }
                    escaped = true;
                    self.i += 2;
                }
            }
        }
    }

    /// Iterates over the members of an object: calls `f(self, key)` with the cursor at the
    /// value, which `f` must consume (or skip with [`Cursor::skip`]).
    #[inline]
    pub fn object(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> JResult<()>) -> JResult<()> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?.bytes;
            // Compact JSON first: the colon and the comma right after their tokens.
            if self.b.get(self.i) == Some(&b':') {
                self.i += 1;
            } else {
                self.eat(b':')?;
            }
            f(self, key)?;
            let next = match self.b.get(self.i) {
                Some(&c @ (b',' | b'}')) => Some(c),
                _ => self.peek(),
            };
            match next {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err("expected ',' or '}'"),
            }
        }
    }

    /// Iterates over the elements of an array, `f` consuming each.
    pub fn array(&mut self, mut f: impl FnMut(&mut Self) -> JResult<()>) -> JResult<()> {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            f(self)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err("expected ',' or ']'"),
            }
        }
    }

    /// Skips one value of any kind, checking only what is needed to find its end. A string
    /// right at the cursor (compact JSON; most skipped values are strings) is skipped inline,
    /// without the call.
    #[inline(always)]
    pub fn skip(&mut self) -> JResult<()> {
        match self.b.get(self.i) {
            Some(&b'"') => self.string().map(drop),
            // A number right at the cursor (endpoint `ID`s and `identity`s): skipped inline,
            // exactly as `skip_any` would (it reaches the same loop for a digit or `-`).
            Some(&(b'0'..=b'9' | b'-')) => {
                self.skip_scalar();
                Ok(())
            }
            _ => self.skip_any(),
        }
    }

    /// Skips a number, `true`, `false` or `null` (the cursor on its first byte, which is not a
    /// delimiter): runs until a delimiter.
    #[inline(always)]
    fn skip_scalar(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            self.i += 1;
        }
    }

    #[inline(never)]
    fn skip_any(&mut self) -> JResult<()> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{' | b'[') => self.skip_nested(),
            Some(_) => {
                // A number, true, false or null: runs until a delimiter.
                let start = self.i;
                self.skip_scalar();
                if self.i == start {
                    Err("expected a value")
                } else {
                    Ok(())
                }
            }
            None => Err("unexpected end of line"),
        }
    }

    /// Skips a whole object or array (the cursor at its opening bracket) by counting brackets
    /// outside strings ([`skip_nested_end`]).
    #[inline]
    fn skip_nested(&mut self) -> JResult<()> {
        let end = skip_nested_end(self.b, self.i)?;
        self.i = end;
        Ok(())
    }

    /// Returns the raw text of the next value (skipping it).
    pub fn raw_value(&mut self) -> JResult<&'a [u8]> {
        self.ws();
        let start = self.i;
        self.skip()?;
        Ok(&self.b[start..self.i])
    }

    /// An unsigned integer, written either as a number or (protojson 64-bit style) a string.
    #[inline]
    pub fn uint(&mut self) -> JResult<u64> {
        let quoted = self.peek() == Some(b'"');
        if quoted {
            self.i += 1;
        }
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or("integer too large")?;
            self.i += 1;
        }
        if self.i == start {
            return Err("expected an integer");
        }
        if quoted {
            self.eat(b'"')?;
        }
        Ok(v)
    }

    /// `true`, `false` or `null` (= false, the protojson default).
    #[inline]
    pub fn boolean(&mut self) -> JResult<bool> {
        self.ws();
        let rest = self.b.get(self.i..).unwrap_or_default();
        if rest.starts_with(b"true") {
            self.i += 4;
            Ok(true)
        } else if rest.starts_with(b"false") {
            self.i += 5;
            Ok(false)
        } else if rest.starts_with(b"null") {
            self.i += 4;
            Ok(false)
        } else {
            Err("expected true or false")
        }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }
}

/// Every implementation of the quote search, so that the tests check the portable one on
/// x86_64 too.
#[cfg(test)]
fn quote_searches(b: &[u8], i: usize) -> Vec<(&'static str, Option<usize>)> {
    let mut all = vec![
        ("dispatch", find_quote_or_backslash(b, i)),
        ("swar", find_quote_or_backslash_swar(b, i)),
    ];
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    all.push(("sse2", sse2::find_quote_or_backslash(b, i)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quotes_like_a_byte_loop() {
        let text = br#"0123456789abcdef\"x" and some "quoted \\ text\" here"#;
        for start in 0..text.len() {
            let slow = text[start..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\')
                .map(|p| p + start);
            for (name, found) in quote_searches(text, start) {
                assert_eq!(found, slow, "{name} from {start}");
            }
        }
    }

    #[test]
    fn unescapes() {
        let raw = RawStr {
            bytes: br#"a\"b\u00e9\ud83d\ude00\n"#,
            escaped: true,
        };
        assert_eq!(raw.decode().unwrap(), "a\"bé😀\n");
    }

    #[test]
    fn skips_nested_values() {
        let mut c = Cursor::new(br#"{"a":[1,{"b":"]}"}],"c":true}"#);
        let mut seen = Vec::new();
        c.object(|c, k| {
            seen.push(k.to_vec());
            c.skip()
        })
        .unwrap();
        assert_eq!(seen, vec![b"a".to_vec(), b"c".to_vec()]);
        assert!(c.at_end());
    }
}

#[cfg(test)]
pub(crate) mod props {
    use super::*;
    use proptest::prelude::*;

    /// The obvious byte loop the word-at-a-time skip must agree with.
    fn reference_skip(b: &[u8]) -> Option<usize> {
        let (mut depth, mut in_str, mut esc) = (0usize, false, false);
        for (i, &c) in b.iter().enumerate() {
            if esc {
                esc = false;
            } else if in_str {
                match c {
                    b'\\' => esc = true,
                    b'"' => in_str = false,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }

    proptest! {
        /// The sixteen- and eight-byte steps of the quote search against the byte loop, at
        /// every start, on text where quotes and backslashes are sparse or dense.
        #[test]
        fn quote_search_matches_byte_loop(
            text in prop::collection::vec(
                prop::sample::select(b"\"\\abcdefgh01234567:,{}[]".to_vec()), 0..70),
            dense in any::<bool>(),
        ) {
            let text: Vec<u8> = if dense {
                text
            } else {
                text.iter().map(|&c| if c == b'"' || c == b'\\' { b'x' } else { c }).chain(
                    text.iter().copied().filter(|&c| c == b'"' || c == b'\\').take(1)).collect()
            };
            for start in 0..=text.len() + 1 {
                let slow = text
                    .get(start..)
                    .and_then(|t| t.iter().position(|&c| c == b'"' || c == b'\\'))
                    .map(|p| p + start);
                for (name, found) in quote_searches(&text, start) {
                    prop_assert_eq!(found, slow, "{} from {}", name, start);
                }
            }
        }

        /// The bracket skip against the byte loop, on text where structural bytes are dense
        /// (every kind of block, cut at backslashes) or sparse (long plain runs, so that whole
        /// blocks pass without a bracket and strings span blocks), from a bracket after an
        /// arbitrary prefix.
        #[test]
        fn skip_nested_matches_reference(
            prefix in prop::collection::vec(prop::sample::select(b"{}[]\"\\a ".to_vec()), 0..20),
            open in prop::sample::select(b"{[".to_vec()),
            body in prop::collection::vec(prop::sample::select(b"{}[]\"\\ab,:".to_vec()), 0..200),
            sparse in any::<bool>(),
        ) {
            let mut text = prefix.clone();
            text.push(open);
            let body = body.iter().enumerate().map(|(k, &c)| {
                if sparse && k % 7 != 0 { b'a' + (k % 26) as u8 } else { c }
            });
            text.extend(body);
            let slow = reference_skip(&text[prefix.len()..]).map(|end| end + prefix.len());
            let mut c = Cursor { b: &text, i: prefix.len() };
            let fast = c.skip_nested().map(|()| c.i);
            prop_assert_eq!(fast, slow.ok_or("unterminated object or array"));
        }
    }

    /// Whitespace between tokens: mostly none (compact JSON, the fast paths), sometimes some.
    pub(crate) fn ws() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", "", " ", "\n", "\t ", "\r\n  "])
    }

    /// A JSON string literal (with its quotes): plain runs, every escape JSON has (including
    /// surrogate pairs), multi-byte UTF-8, and bytes that are structural outside strings.
    pub(crate) fn json_string() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            4 => "[a-z0-9:=./ -]{1,20}",
            1 => prop::sample::select(vec![
                "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u005C",
                "\\u0022", "\\ud83d\\ude00", "é", "😀", "]}[{,:", "\\\\\\\"", "\\\\\\\\",
            ])
            .prop_map(str::to_string),
        ];
        prop::collection::vec(part, 0..8).prop_map(|parts| format!("\"{}\"", parts.concat()))
    }

    /// Any JSON value as text, nested up to four levels, with whitespace between tokens.
    pub(crate) fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            prop::sample::select(vec![
                "null", "true", "false", "0", "-1", "17", "3.25", "-0.5e-7", "1E+3",
            ])
            .prop_map(str::to_string),
            json_string(),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            let element = (ws(), inner.clone(), ws()).prop_map(|(a, v, b)| format!("{a}{v}{b}"));
            let member = (ws(), json_string(), ws(), ws(), inner, ws())
                .prop_map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"));
            prop_oneof![
                (prop::collection::vec(element, 0..6), ws())
                    .prop_map(|(v, w)| format!("[{w}{}]", v.join(","))),
                (prop::collection::vec(member, 0..6), ws())
                    .prop_map(|(v, w)| format!("{{{w}{}}}", v.join(","))),
            ]
        })
    }

    proptest! {
        /// On valid JSON, skipping a value ends exactly where serde_json's parser ends it, and
        /// `raw_value` returns exactly its text, whatever follows it.
        #[test]
        fn skip_ends_where_serde_json_does(
            pre in ws(),
            value in json_value(),
            follow in prop::sample::select(vec!["", ",\"k\":1}", "]", "}", " ,", "\n]", ",[1]"]),
        ) {
            let text = format!("{pre}{value}{follow}");
            let mut values = serde_json::Deserializer::from_str(&text)
                .into_iter::<serde_json::Value>();
            prop_assert!(values.next().is_some_and(|v| v.is_ok()), "serde_json rejects {}", text);
            let end = values.byte_offset();
            prop_assert_eq!(end, pre.len() + value.len());
            let mut c = Cursor::new(text.as_bytes());
            prop_assert_eq!(c.skip(), Ok(()));
            prop_assert_eq!(c.i, end);
            let mut c = Cursor::new(text.as_bytes());
            prop_assert_eq!(c.raw_value(), Ok(value.as_bytes()));
        }

        /// Decoding a string value gives what serde_json decodes.
        #[test]
        fn strings_decode_like_serde_json(text in json_string()) {
            let expected: String = serde_json::from_str(&text).expect("valid JSON string");
            let mut c = Cursor::new(text.as_bytes());
            let raw = c.string().expect("a string");
            prop_assert_eq!(c.i, text.len());
            prop_assert_eq!(raw.decode().expect("decodes"), expected);
        }
    }
}
