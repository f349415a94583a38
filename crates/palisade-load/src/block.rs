//! A fast path for the YAML subset that generators and `kubectl get -o yaml` emit.
//!
//! `saphyr-parser` reads a character at a time and allocates a `String` for every scalar;
//! on large dumps it was three quarters of the load time. Most manifests use a small part
//! of YAML: block mappings and sequences, single-line plain and quoted scalars, single-line
//! flow collections (`{}`, `[a, b]`, `{cpu: 100m}`) and `---` markers. This module parses
//! exactly that subset, line by line and borrowing scalars from the input, into the same
//! trees (kinds, styles, spans, duplicate keys) that [`parse_yaml`] builds from saphyr's
//! events, including saphyr's quirks (a compact sequence starts after its first `-`, quoted
//! scalars and flow collections end after the blanks that follow them, an empty value sits
//! at its `:`).
//!
//! It never reports an error. At the first document outside the subset (comments, tabs,
//! CR, non-ASCII text, escapes, anchors, tags, directives, block scalars, multi-line
//! scalars, implicit mappings in flow sequences, long keys, odd indentation, and every
//! syntax error) saphyr takes over at a document marker, so both paths give the same
//! documents and the same error. The tests check this against saphyr on the repository's
//! manifests, the NCA corpus and random and mutated documents.

use std::borrow::Cow;

use crate::tree::{DuplicateKey, Kind, Node, Style, duplicate_keys};
use crate::yaml::{Doc, SyntaxError, parse_yaml};

/// Deeper nesting is left to the general parser (which enforces `MAX_DEPTH`).
const MAX_FAST_DEPTH: usize = 64;
/// Longer keys are left to the general parser (saphyr limits simple keys to 1024 chars).
const MAX_KEY_LEN: usize = 512;

/// The input is outside the subset.
struct Bail;

type Res<T> = Result<T, Bail>;

/// What follows a node: the next line with content.
#[derive(Clone, Copy)]
enum Next {
    Eof,
    /// A `---` line, starting at this index.
    Marker(usize),
    /// A content line: byte index of its first non-space character and its indentation.
    Line {
        at: usize,
        indent: usize,
    },
}

struct Block<'a> {
    text: &'a str,
    bytes: &'a [u8],
    base: u32,
    duplicates: Vec<DuplicateKey>,
    /// Whether a `{` has been read (see [`Block::stream`]).
    brace: bool,
}

/// Parses a YAML stream like [`parse_yaml`], with the documents of the block subset read by
/// the fast path and the rest of the stream from the first other one on by saphyr.
pub(crate) fn parse<'a>(
    text: &'a str,
    base: u32,
    mut on_doc: impl FnMut(Doc<'a>),
) -> Result<(), SyntaxError> {
    match parse_block_yaml(text, base, &mut on_doc) {
        Ok(()) => Ok(()),
        Err(at) => parse_yaml(&text[at..], base + at as u32, on_doc),
    }
}

/// Parses the documents of a YAML stream that are in the block subset, handing each to
/// `on_doc`, up to the first one that is not: then returns the byte index (in `text`) of a
/// `---` line at or before it, or 0, from where the caller parses the rest with saphyr.
///
/// Splitting there is sound: everything before is complete, valid, free of anchors, tags,
/// directives and `{`, and ends at a document marker, so saphyr's state at that line is a
/// fresh parser's.
pub(crate) fn parse_block_yaml<'a>(
    text: &'a str,
    base: u32,
    mut on_doc: impl FnMut(Doc<'a>),
) -> Result<(), usize> {
    // Only printable ASCII and line feeds are handled; stop before the document holding
    // anything else (a tab, CR, NUL, non-ASCII text).
    let bytes = text.as_bytes();
    let limit = plain_ascii_prefix(bytes);
    let cut = if limit == bytes.len() {
        limit
    } else {
        last_marker(bytes, limit)
    };
    let mut p = Block {
        text: &text[..cut],
        bytes: &bytes[..cut],
        base,
        duplicates: Vec::new(),
        brace: false,
    };
    p.stream(&mut on_doc, cut == bytes.len())
}

/// Length of the longest prefix of printable ASCII and line feeds.
fn plain_ascii_prefix(bytes: &[u8]) -> usize {
    let ok = |b: u8| (0x20..0x7f).contains(&b) | (b == b'\n');
    let mut done = 0;
    for chunk in bytes.chunks(64) {
        if !chunk.iter().fold(true, |all, &b| all & ok(b)) {
            return done + chunk.iter().position(|&b| !ok(b)).unwrap_or(0);
        }
        done += chunk.len();
    }
    done
}

/// Start of the last document marker line (`---` then a blank or the line end) that begins
/// before `limit`, or 0.
fn last_marker(bytes: &[u8], limit: usize) -> usize {
    let mut end = limit;
    while let Some(i) = bytes[..end].windows(4).rposition(|w| w == b"\n---") {
        let at = i + 1;
        if matches!(bytes.get(at + 3), None | Some(b' ' | b'\t' | b'\r' | b'\n')) {
            return at;
        }
        end = i + 3;
    }
    0
}

/// Characters that may start a plain scalar in block context, besides `-` followed by a
/// letter or digit.
fn plain_start(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'.' | b'/' | b'$' | b'(' | b')' | b'+' | b'=' | b'~' | b'^' | b';' | b'<'
        )
}

impl<'a> Block<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn skip_spaces(&self, mut i: usize) -> usize {
        while self.at(i) == Some(b' ') {
            i += 1;
        }
        i
    }

    fn eol(&self, i: usize) -> bool {
        matches!(self.at(i), None | Some(b'\n'))
    }

    fn abs(&self, i: usize) -> u32 {
        self.base + i as u32
    }

    /// Whether the content at `i` is a block sequence entry indicator.
    fn is_dash(&self, i: usize) -> bool {
        self.at(i) == Some(b'-') && matches!(self.at(i + 1), None | Some(b' ' | b'\n'))
    }

    fn scalar(&self, text: Cow<'a, str>, style: Style, start: usize, end: usize) -> Node<'a> {
        Node {
            kind: Kind::Scalar(text, style),
            start: self.abs(start),
            end: self.abs(end),
        }
    }

    fn null(&self, at: usize) -> Node<'a> {
        self.scalar(Cow::Borrowed("~"), Style::Plain, at, at)
    }

    /// The next content line at or after the line starting at `i`.
    fn next_line(&self, mut i: usize) -> Res<Next> {
        loop {
            let start = i;
            let at = self.skip_spaces(i);
            match self.at(at) {
                None => return Ok(Next::Eof),
                Some(b'\n') => i = at + 1,
                Some(b'#') => return Err(Bail),
                Some(c) => {
                    let indent = at - start;
                    if indent == 0 && matches!(c, b'-' | b'.' | b'%') {
                        let rest = &self.bytes[at..];
                        if rest.starts_with(b"---") {
                            let after = self.skip_spaces(at + 3);
                            if after > at + 3 || self.eol(at + 3) {
                                if !self.eol(after) {
                                    return Err(Bail);
                                }
                                return Ok(Next::Marker(at));
                            }
                            return Err(Bail);
                        }
                        if c != b'-' {
                            return Err(Bail);
                        }
                    }
                    return Ok(Next::Line { at, indent });
                }
            }
        }
    }

    /// Requires the rest of the line after `i` to be blank and finds the next content line.
    fn after_value(&self, i: usize) -> Res<Next> {
        let i = self.skip_spaces(i);
        match self.at(i) {
            None => Ok(Next::Eof),
            Some(b'\n') => self.next_line(i + 1),
            Some(_) => Err(Bail),
        }
    }

    /// Parses the documents of `self.bytes`, handing each to `on_doc`; on leaving the subset,
    /// returns where saphyr must take over (see [`parse_block_yaml`]). `whole` tells whether
    /// `self.bytes` is the whole stream (else saphyr takes over at its end).
    ///
    /// saphyr carries one piece of state from document to document: once it has read a `{`,
    /// its `flow_mapping_started` flag stays set, which changes how it reads (and reports
    /// errors in) later flow sequences. So saphyr may take over only where no `{` came before
    /// in the stream: documents from the first one with a `{` on are kept back until the end,
    /// and dropped if saphyr has to take over.
    fn stream(&mut self, on_doc: &mut impl FnMut(Doc<'a>), whole: bool) -> Result<(), usize> {
        let mut resume = 0;
        let mut held: Vec<Doc<'a>> = Vec::new();
        let mut next = self.next_line(0).map_err(|_| resume)?;
        loop {
            match next {
                Next::Eof => break,
                Next::Marker(at) => {
                    if !self.brace {
                        resume = at;
                    }
                    let end = self.bytes[at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(self.bytes.len(), |i| at + i + 1);
                    next = self.next_line(end).map_err(|_| resume)?;
                }
                Next::Line { at, indent: 0 } => {
                    let (root, after) = self.block_node(at, 0, 0).map_err(|_| resume)?;
                    if matches!(after, Next::Line { .. }) {
                        return Err(resume);
                    }
                    let doc = Doc {
                        root,
                        duplicates: std::mem::take(&mut self.duplicates),
                    };
                    if self.brace {
                        held.push(doc);
                    } else {
                        on_doc(doc);
                    }
                    next = after;
                }
                Next::Line { .. } => return Err(resume),
            }
        }
        if !whole && self.brace {
            return Err(resume);
        }
        held.into_iter().for_each(on_doc);
        if whole { Ok(()) } else { Err(self.bytes.len()) }
    }

    /// A block collection starting on a line of its own at `at`.
    fn block_node(&mut self, at: usize, indent: usize, depth: usize) -> Res<(Node<'a>, Next)> {
        if depth > MAX_FAST_DEPTH {
            return Err(Bail);
        }
        if self.is_dash(at) {
            self.seq(at, indent, false, depth)
        } else {
            self.map(at, indent, depth)
        }
    }

    /// The colon of a plain key starting at `at`, if the line holds `key: ...` there.
    fn key_colon(&self, at: usize) -> Res<Option<usize>> {
        let c = self.at(at).ok_or(Bail)?;
        if !(plain_start(c)
            || (c == b'-' && self.at(at + 1).is_some_and(|d| d.is_ascii_alphanumeric())))
        {
            return Ok(None);
        }
        let mut i = at + 1;
        loop {
            match self.at(i) {
                None | Some(b'\n') => return Ok(None),
                Some(b':') if matches!(self.at(i + 1), None | Some(b' ' | b'\n')) => {
                    if self.bytes[i - 1] == b' ' || i - at > MAX_KEY_LEN {
                        return Err(Bail);
                    }
                    return Ok(Some(i));
                }
                Some(b'#') if self.bytes[i - 1] == b' ' => return Err(Bail),
                _ => i += 1,
            }
        }
    }

    /// A single-line scalar or empty flow collection starting at `at`, and where it ends.
    fn inline_value(&mut self, at: usize) -> Res<(Node<'a>, usize)> {
        let c = self.at(at).ok_or(Bail)?;
        match c {
            b'"' => {
                let rest = &self.bytes[at + 1..];
                let len = rest
                    .iter()
                    .position(|&b| matches!(b, b'"' | b'\\' | b'\n'))
                    .ok_or(Bail)?;
                if rest[len] != b'"' {
                    return Err(Bail);
                }
                let close = at + 1 + len;
                let text = Cow::Borrowed(&self.text[at + 1..close]);
                // Like saphyr, a quoted scalar's span takes in the blanks after it.
                let end = self.skip_spaces(close + 1);
                Ok((self.scalar(text, Style::Quoted, at, end), end))
            }
            b'\'' => {
                let mut i = at + 1;
                let mut escaped = false;
                loop {
                    match self.at(i) {
                        None | Some(b'\n') => return Err(Bail),
                        Some(b'\'') if self.at(i + 1) == Some(b'\'') => {
                            escaped = true;
                            i += 2;
                        }
                        Some(b'\'') => break,
                        _ => i += 1,
                    }
                }
                let inner = &self.text[at + 1..i];
                let text = if escaped {
                    Cow::Owned(inner.replace("''", "'"))
                } else {
                    Cow::Borrowed(inner)
                };
                let end = self.skip_spaces(i + 1);
                Ok((self.scalar(text, Style::Quoted, at, end), end))
            }
            b'{' | b'[' => self.flow(at, 0),
            _ if plain_start(c)
                || (c == b'-' && self.at(at + 1).is_some_and(|d| d.is_ascii_alphanumeric())) =>
            {
                let rest = &self.bytes[at..];
                let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                let line = &rest[..len];
                let mut end = len;
                while end > 0 && line[end - 1] == b' ' {
                    end -= 1;
                }
                let line = &line[..end];
                if line.last() == Some(&b':') || line.windows(2).any(|w| w == b": " || w == b" #") {
                    return Err(Bail);
                }
                let text = Cow::Borrowed(&self.text[at..at + end]);
                Ok((self.scalar(text, Style::Plain, at, at + end), at + end))
            }
            _ => Err(Bail),
        }
    }

    /// A single-line flow collection at `at` (`[a, b]`, `{k: v, l: [x]}`) of plain words,
    /// quoted scalars and nested flow collections, and where it ends.
    fn flow(&mut self, at: usize, depth: usize) -> Res<(Node<'a>, usize)> {
        if depth > MAX_FAST_DEPTH {
            return Err(Bail);
        }
        let map = self.bytes[at] == b'{';
        self.brace |= map;
        let close = if map { b'}' } else { b']' };
        let mut entries: Vec<(Node<'a>, Node<'a>)> = Vec::new();
        let mut items: Vec<Node<'a>> = Vec::new();
        let mut i = self.skip_spaces(at + 1);
        if self.at(i) != Some(close) {
            loop {
                if map {
                    let key_end = self.flow_word_end(i)?;
                    if self.at(key_end) != Some(b':') || self.at(key_end + 1) != Some(b' ') {
                        return Err(Bail);
                    }
                    let key = self.scalar(
                        Cow::Borrowed(&self.text[i..key_end]),
                        Style::Plain,
                        i,
                        key_end,
                    );
                    let (value, end) = self.flow_value(self.skip_spaces(key_end + 1), depth)?;
                    entries.push((key, value));
                    i = end;
                } else {
                    let (item, end) = self.flow_value(i, depth)?;
                    items.push(item);
                    i = end;
                }
                match self.at(i) {
                    Some(b',') => {
                        i = self.skip_spaces(i + 1);
                        if matches!(self.at(i), Some(b',' | b']' | b'}')) {
                            return Err(Bail);
                        }
                    }
                    Some(c) if c == close => break,
                    _ => return Err(Bail),
                }
            }
        }
        // Like saphyr, the collection's end takes in the blanks after it.
        let end = self.skip_spaces(i + 1);
        let kind = if map {
            duplicate_keys(&entries, &mut self.duplicates);
            Kind::Map(entries)
        } else {
            Kind::Seq(items)
        };
        let node = Node {
            kind,
            start: self.abs(at),
            end: self.abs(end),
        };
        Ok((node, end))
    }

    /// End of a plain word in a flow collection: no blanks, indicators or `:` inside.
    fn flow_word_end(&self, at: usize) -> Res<usize> {
        let c = self.at(at).ok_or(Bail)?;
        if !(plain_start(c)
            || (c == b'-' && self.at(at + 1).is_some_and(|d| d.is_ascii_alphanumeric())))
        {
            return Err(Bail);
        }
        let mut i = at + 1;
        while let Some(c) = self.at(i) {
            match c {
                b' ' | b'\n' | b',' | b':' | b'[' | b']' | b'{' | b'}' => break,
                b'#' | b'\'' | b'"' => return Err(Bail),
                _ => i += 1,
            }
        }
        Ok(i)
    }

    /// A value inside a flow collection, and where the blanks after it end.
    fn flow_value(&mut self, at: usize, depth: usize) -> Res<(Node<'a>, usize)> {
        match self.at(at).ok_or(Bail)? {
            b'[' | b'{' => self.flow(at, depth + 1),
            b'"' | b'\'' => self.inline_value(at),
            _ => {
                let end = self.flow_word_end(at)?;
                if self.at(end) == Some(b':') {
                    return Err(Bail);
                }
                let node = self.scalar(Cow::Borrowed(&self.text[at..end]), Style::Plain, at, end);
                Ok((node, self.skip_spaces(end)))
            }
        }
    }

    /// A block mapping whose first key is at `at`, in column `indent`.
    fn map(&mut self, mut at: usize, indent: usize, depth: usize) -> Res<(Node<'a>, Next)> {
        let start = at;
        let mut entries: Vec<(Node<'a>, Node<'a>)> = Vec::new();
        loop {
            let colon = self.key_colon(at)?.ok_or(Bail)?;
            let key = self.scalar(
                Cow::Borrowed(&self.text[at..colon]),
                Style::Plain,
                at,
                colon,
            );
            let i = self.skip_spaces(colon + 1);
            let (value, next) = if self.eol(i) {
                let next = match self.at(i) {
                    None => Next::Eof,
                    _ => self.next_line(i + 1)?,
                };
                match next {
                    Next::Line { at: a, indent: m } if m > indent => {
                        self.block_node(a, m, depth + 1)?
                    }
                    Next::Line { at: a, indent: m } if m == indent && self.is_dash(a) => {
                        self.seq(a, m, true, depth + 1)?
                    }
                    other => (self.null(colon), other),
                }
            } else {
                let (value, end) = self.inline_value(i)?;
                (value, self.after_value(end)?)
            };
            entries.push((key, value));
            match next {
                Next::Line { at: a, indent: m } if m == indent && !self.is_dash(a) => at = a,
                Next::Line { indent: m, .. } if m >= indent => return Err(Bail),
                other => {
                    duplicate_keys(&entries, &mut self.duplicates);
                    let start = self.abs(start);
                    let end = entries.last().map_or(start, |(_, v)| v.end);
                    let node = Node {
                        kind: Kind::Map(entries),
                        start,
                        end: end.max(start),
                    };
                    return Ok((node, other));
                }
            }
        }
    }

    /// A block sequence whose first `-` is at `at`, in column `indent`; `compact` when it is
    /// the value of a mapping key in the same column.
    fn seq(
        &mut self,
        mut at: usize,
        indent: usize,
        compact: bool,
        depth: usize,
    ) -> Res<(Node<'a>, Next)> {
        let mut items: Vec<Node<'a>> = Vec::new();
        // An indented sequence starts at its first `-`, a compact one after it (where saphyr
        // places the first entry token).
        let start = if compact {
            self.abs(self.skip_spaces(at + 1))
        } else {
            self.abs(at)
        };
        loop {
            let i = self.skip_spaces(at + 1);
            let (item, next) = if self.eol(i) {
                let next = match self.at(i) {
                    None => Next::Eof,
                    _ => self.next_line(i + 1)?,
                };
                match next {
                    Next::Line { at: a, indent: m } if m > indent => {
                        self.block_node(a, m, depth + 1)?
                    }
                    other => (self.null(i), other),
                }
            } else if self.is_dash(i) {
                return Err(Bail);
            } else if self.key_colon(i)?.is_some() {
                if depth + 1 > MAX_FAST_DEPTH {
                    return Err(Bail);
                }
                self.map(i, indent + (i - at), depth + 1)?
            } else {
                let (value, end) = self.inline_value(i)?;
                (value, self.after_value(end)?)
            };
            items.push(item);
            match next {
                Next::Line { at: a, indent: m } if m == indent && self.is_dash(a) => at = a,
                Next::Line { indent: m, .. } if m > indent || (m == indent && !compact) => {
                    return Err(Bail);
                }
                other => {
                    let end = items.last().map_or(start, |n| n.end);
                    let node = Node {
                        kind: Kind::Seq(items),
                        start,
                        end: end.max(start),
                    };
                    return Ok((node, other));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::*;
    use crate::yaml::parse_yaml;

    /// The trees and duplicate keys of every document, as text.
    fn render(docs: &[Doc<'_>]) -> Vec<String> {
        docs.iter()
            .map(|d| format!("{:?} {:?}", d.root, d.duplicates))
            .collect()
    }

    /// The fast path with its fallback gives exactly what saphyr alone gives (documents and
    /// error). Returns whether the fast path read the whole stream.
    fn same_as_saphyr(text: &str) -> bool {
        let mut fast = Vec::new();
        let fast_result = parse(text, 7, |d| fast.push(d));
        let mut slow = Vec::new();
        let slow_result = parse_yaml(text, 7, |d| slow.push(d));
        assert_eq!(
            format!("{fast_result:?}"),
            format!("{slow_result:?}"),
            "results differ on\n{text}"
        );
        let (fast, slow) = (render(&fast), render(&slow));
        assert_eq!(fast.len(), slow.len(), "document count differs on\n{text}");
        for (f, s) in fast.iter().zip(&slow) {
            assert_eq!(f, s, "trees differ on\n{text}");
        }
        parse_block_yaml(text, 7, |_| {}).is_ok()
    }

    #[test]
    fn accepted_subset_matches_saphyr() {
        let accepted = [
            "a: 1\n",
            "a: 1",
            "a: 1  \nb:\nc:\n- x\n-\n- \"q\"\n- y: \n  z: {}\nd:\n  e: 's'\n\n\nf: [] \n",
            "a:\n-\n- x\n-   \n-\nb:\n  -  y\n  - k: v\n    l:\n  -\n    m: 1\nc: {}   \nd: x\n",
            "---\n- \n- p:\n  - q\n---\na:\n---\na: x   ",
            "---\n---\n\n---   \na: b\n",
            "a:\n-\n  b: 1\n- c\n",
            "a:\n  -\n    - x\n    - y\n  - z\n",
            "- k:\n  - x\n  - y\n  l: 2\n- k: [] \n",
            "a: 'it''s'\nb: ''\nc: \"\"\nd: '\"'\n",
            "a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n",
            "k: v\nk2: {}",
            "k: []",
            "k: -1\nl: a:b\nm: a#b\nn: x y  z\no: http://x/y?z=1&q\np: ~\nq: null\n",
            "a:\n  b:\n    c:\n      d: e\n  f: g\nh: i\n",
            "-\n-\n",
            "-",
            "a:",
            "a:\n",
            "-   x\n-   y: 1\n    z: 2\n",
            "a b: c d\n",
            "a: x\n\n\n---\n\nb: y\n\n",
            "k: {}\n  \n",
            "- {}\n- []   \n",
            "a: {b: 1}\n",
            "a: {b: 1, c: [x, 'y', \"z\"], d: {}}  \nb: [ a ,b , c ]\n",
            "requests: {cpu: 100m, memory: 128Mi}\npolicyTypes: [Ingress, Egress]\n",
            "- {a: b}\n- [a, [b, {c: d}]]\n- { a: b }\n",
            "a: {b: 1, b: 2}\n",
            "a: [\"x\" , 'y'  ]\n",
        ];
        for text in accepted {
            assert!(same_as_saphyr(text), "not on the fast path:\n{text}");
        }
        let refused = [
            "a: 1 # c\n",
            "# c\na: 1\n",
            "a: \"\\n\"\n",
            "a: b\n  c\n",
            "a: |\n  x\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a:\tb\n",
            "a: é\n",
            "a: b: c\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n...\n",
            "--- a\n",
            "  a: 1\n",
            "\"a\": 1\n",
            "a: 1\n- b\n",
            "- a\nb: 1\n",
            "a:\n  - x\n  b: 1\n",
            "a:\n    b: 1\n  c: 2\n",
            "a: 1\r\n",
            "a: [x,\n  y]\n",
            "a: [x, y,]\n",
            "a: {b}\n",
            "a: [b: c]\n",
            "a: {b: }\n",
            "a: [fd00::1]\n",
            "- - a\n",
        ];
        // Streams that leave the subset part way: saphyr takes over at a document marker.
        let mixed = [
            "a: 1\n---\nb: 2 # c\n---\nc: 3\n",
            "a: 1\n---\nb: é\n---\nc: 3\n",
            "a: 1\n--- \nb: [1, 2\n---\nc: 3\n",
            "a: 1\n---\nb: &x {k: v}\n---\nc: *x\n",
            "a: 1\n---\n---\nb:\tx\n",
            "a: 1\n---\nb: 2\n--- # c\nc: \"\\u00e9\"\n",
            "a: 1\n---\nb: 2\n...\n%YAML 1.2\n---\nc: 3\n",
            "a: 1\n---\nb: 2\n---x\nc: 3\n",
            "- a\n---\n- b\n  - c\n",
        ];
        for text in mixed {
            same_as_saphyr(text);
            let mut docs = 0;
            let _ = parse_block_yaml(text, 0, |_| docs += 1);
            assert!(docs > 0, "nothing on the fast path:\n{text}");
        }
        // After a `{`, saphyr reads later flow sequences differently; the fast path must not
        // hand over there.
        for text in [
            "a: {}\n---\nb: [x: y]\n",
            "kind: Namespace\nmetadata: {name: ok}\n---\nmetadata:\n  name: [unclosed\nspec: {}\n",
            "a: {}\n---\nb: [x: y] # c\n",
            "a: {b: 1}\n---\nb:\n  c: [unclosed\nd: {}\n---\ne: 1\n",
            "a: 1\n---\nb: {}\n---\nc: [x: y, z]\n#\n",
            "a: {}\n---\nb: é\n---\nc: [x: y]\n",
            "a: [x]\n---\nb: [x: y]\n#\n",
        ] {
            same_as_saphyr(text);
        }
        for text in refused {
            assert!(!same_as_saphyr(text), "accepted:\n{text}");
        }
    }

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                yaml_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }

    #[test]
    fn repository_manifests_match_saphyr() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [
            "tests/data",
            "../../examples",
            "../../crates",
            "../../../shared/corpora/nca-k8s",
        ] {
            yaml_files(&root.join(dir), &mut files);
        }
        let medium = root.join("../../bench-data/medium.yaml");
        if medium.is_file() {
            files.push(medium);
        }
        let mut fast = 0;
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            if same_as_saphyr(&text) {
                fast += 1;
            }
        }
        assert!(fast > 0, "no file of {} took the fast path", files.len());
    }

    /// A random block-YAML node, rendered at `indent`, with whitespace variations.
    fn node(depth: u32) -> impl Strategy<Value = Tree> {
        let leaf = prop_oneof![
            "[a-z0-9./:#-]{0,6}( [a-z:#-]{1,3})?".prop_map(Tree::Plain),
            "[a-z '\"]{0,5}".prop_map(|s| Tree::Double(s.replace('"', ""))),
            "[a-z '\"]{0,5}".prop_map(Tree::Single),
            Just(Tree::EmptyMap),
            Just(Tree::EmptySeq),
            Just(Tree::Null),
        ];
        let flow = flow_tree(2).prop_map(Tree::Flow);
        let leaf = prop_oneof![4 => leaf, 1 => flow];
        leaf.prop_recursive(depth, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(("[a-c]{1,2}", inner.clone()), 1..5).prop_map(Tree::Map),
                prop::collection::vec(inner, 1..5).prop_map(Tree::Seq),
            ]
        })
    }

    /// A single-line flow collection, as text, with spacing variations.
    fn flow_tree(depth: u32) -> impl Strategy<Value = String> {
        let word = prop_oneof![
            "[a-z0-9./-]{1,5}",
            "[a-z :]{0,4}".prop_map(|s| format!("\"{s}\"")),
            "[a-z :]{0,4}".prop_map(|s| format!("'{s}'")),
            Just("[]".to_string()),
            Just("{}".to_string()),
        ];
        let space = prop_oneof![Just(""), Just(" "), Just("  ")];
        word.prop_recursive(depth, 12, 4, move |inner| {
            let item = (inner, space.clone()).prop_map(|(s, sp)| format!("{s}{sp}"));
            prop_oneof![
                (prop::collection::vec(item.clone(), 0..4), space.clone())
                    .prop_map(|(items, sp)| format!("[{sp}{}]", items.join(", "))),
                (
                    prop::collection::vec(("[a-c]{1,2}", item), 0..4),
                    space.clone()
                )
                    .prop_map(|(entries, sp)| {
                        let entries: Vec<String> =
                            entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                        format!("{{{sp}{}}}", entries.join(",  "))
                    }),
            ]
        })
    }

    #[derive(Clone, Debug)]
    enum Tree {
        Flow(String),
        Plain(String),
        Double(String),
        Single(String),
        EmptyMap,
        EmptySeq,
        Null,
        Map(Vec<(String, Tree)>),
        Seq(Vec<Tree>),
    }

    /// Renders `tree` as the value after `key:` or `-` (the indicator is already written),
    /// with `extra` choosing spacing variations.
    fn render_value(
        tree: &Tree,
        indent: usize,
        in_seq: bool,
        extra: &mut impl Iterator<Item = u8>,
        out: &mut String,
    ) {
        let mut pick = |n: u8| extra.next().unwrap_or(0) % n;
        let spaces = |n: u8| " ".repeat(usize::from(n));
        match tree {
            Tree::Plain(s) => out.push_str(&format!(" {s}{}\n", spaces(pick(3)))),
            Tree::Flow(s) => out.push_str(&format!(" {s}{}\n", spaces(pick(2)))),
            Tree::Double(s) => out.push_str(&format!(" \"{s}\"{}\n", spaces(pick(2)))),
            Tree::Single(s) => out.push_str(&format!(" '{}'\n", s.replace('\'', "''"))),
            Tree::EmptyMap => out.push_str(&format!(" {{}}{}\n", spaces(pick(3)))),
            Tree::EmptySeq => out.push_str(&format!(" []{}\n", spaces(pick(2)))),
            Tree::Null => out.push_str(&format!("{}\n", spaces(pick(2)))),
            Tree::Map(_) => {
                let inline = in_seq && pick(2) == 0;
                let step = usize::from(1 + pick(3));
                if inline {
                    out.push_str(&spaces(step as u8));
                    render_block(tree, indent + 1 + step, extra, out, true);
                } else {
                    out.push('\n');
                    render_block(tree, indent + step, extra, out, false);
                }
            }
            Tree::Seq(_) => {
                // A sequence under a key may sit in the key's column.
                let step = if in_seq { 1 + pick(3) } else { pick(3) };
                out.push('\n');
                render_block(tree, indent + usize::from(step), extra, out, false);
            }
        }
    }

    fn render_block(
        tree: &Tree,
        indent: usize,
        extra: &mut impl Iterator<Item = u8>,
        out: &mut String,
        first_inline: bool,
    ) {
        let pad = " ".repeat(indent);
        match tree {
            Tree::Map(entries) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 || !first_inline {
                        out.push_str(&pad);
                    }
                    out.push_str(k);
                    out.push(':');
                    render_value(v, indent, false, extra, out);
                    if extra.next().unwrap_or(0).is_multiple_of(7) {
                        out.push_str("\n  \n");
                    }
                }
            }
            Tree::Seq(items) => {
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    render_value(item, indent, true, extra, out);
                }
            }
            _ => {
                out.push_str(&pad);
                out.push_str("k:");
                render_value(tree, indent, false, extra, out);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn random_documents_match_saphyr(
            docs in prop::collection::vec(node(4), 1..3),
            extra in prop::collection::vec(any::<u8>(), 64),
            markers in any::<u8>(),
        ) {
            let mut text = String::new();
            let mut extra = extra.into_iter().cycle();
            for (i, doc) in docs.iter().enumerate() {
                if i > 0 || markers.is_multiple_of(2) {
                    text.push_str(if markers.is_multiple_of(3) { "--- \n" } else { "---\n" });
                }
                render_block(doc, 0, &mut extra, &mut text, false);
            }
            if markers.is_multiple_of(5) {
                text.pop();
            }
            same_as_saphyr(&text);
        }

        #[test]
        fn mutated_documents_match_saphyr(
            doc in node(3),
            extra in prop::collection::vec(any::<u8>(), 32),
            edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
                "", " ", "  ", "\n", "-", "- ", ":", ": ", "#", " #", "'", "\"", "{}", "[]",
                "---\n", "--- ", "...", "~", "a", "?", "|", ">", "&", "*", ",", "\\",
            ])), 1..4),
        ) {
            let mut text = String::new();
            let mut extra = extra.into_iter().cycle();
            render_block(&doc, 0, &mut extra, &mut text, false);
            for (at, s) in edits {
                let i = at.index(text.len() + 1);
                text.insert_str(i, s);
            }
            same_as_saphyr(&text);
            // The same after documents the fast path reads (one with a `{`, one without).
            same_as_saphyr(&format!("a: [x]\n---\n{text}"));
            same_as_saphyr(&format!("a: {{b: c}}\n---\n{text}"));
            // And before a document with non-ASCII text.
            same_as_saphyr(&format!("{text}\n---\nz: é\n"));
        }
    }
}
