//! YAML text to [`Node`] trees through `saphyr-parser`'s event stream.

use rustc_hash::FxHashMap;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle};

use crate::tree::{DuplicateKey, Kind, MAX_DEPTH, Node, Style, duplicate_keys};

/// Alias expansion beyond this many nodes per document is refused ("billion laughs").
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Where and why a file stopped parsing.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    /// Absolute byte offset in the file.
    pub offset: u32,
    pub message: String,
}

/// One parsed document.
pub(crate) struct Doc<'a> {
    pub root: Node<'a>,
    pub duplicates: Vec<DuplicateKey>,
}

/// Converts saphyr markers (character based) into absolute byte offsets.
struct Positions<'a> {
    text: &'a str,
    base: u32,
    ascii: bool,
    line_starts: Vec<u32>,
}

impl<'a> Positions<'a> {
    fn new(text: &'a str, base: u32) -> Self {
        let ascii = text.is_ascii();
        let line_starts = if ascii {
            Vec::new()
        } else {
            std::iter::once(0)
                .chain(
                    text.bytes()
                        .enumerate()
                        .filter(|&(_, b)| b == b'\n')
                        .map(|(i, _)| i as u32 + 1),
                )
                .collect()
        };
        Positions {
            text,
            base,
            ascii,
            line_starts,
        }
    }

    fn byte(&self, m: Marker) -> u32 {
        if self.ascii {
            return self.base + m.index().min(self.text.len()) as u32;
        }
        // Character indices would need a full char-to-byte table; line + column is enough.
        let line = m.line().max(1) - 1;
        let Some(&start) = self.line_starts.get(line) else {
            return self.base + self.text.len() as u32;
        };
        let rest = &self.text[start as usize..];
        let skip: usize = rest
            .chars()
            .take_while(|&c| c != '\n')
            .take(m.col())
            .map(char::len_utf8)
            .sum();
        self.base + start + skip as u32
    }
}

enum Frame<'a> {
    Map {
        entries: Vec<(Node<'a>, Node<'a>)>,
        key: Option<Node<'a>>,
        start: u32,
        flow: bool,
        anchor: usize,
    },
    Seq {
        items: Vec<Node<'a>>,
        start: u32,
        flow: bool,
        anchor: usize,
    },
}

/// Parses a YAML stream, calling `on_doc` for every non-empty document in order.
///
/// Stops at the first syntax error; documents completed before it have been delivered.
pub(crate) fn parse_yaml<'a>(
    text: &'a str,
    base: u32,
    mut on_doc: impl FnMut(Doc<'a>),
) -> Result<(), SyntaxError> {
    let pos = Positions::new(text, base);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame<'a>> = Vec::new();
    let mut anchors: FxHashMap<usize, (Node<'a>, usize, usize)> = FxHashMap::default();
    let mut root: Option<Node<'a>> = None;
    let mut duplicates = Vec::new();
    let mut alias_nodes = 0usize;
    let err = |offset: u32, message: &str| SyntaxError {
        offset,
        message: message.to_string(),
    };

    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                return Err(SyntaxError {
                    offset: pos.byte(*e.marker()),
                    message: e.info().to_string(),
                });
            }
        };
        let start = pos.byte(span.start);
        let end = pos.byte(span.end).max(start);
        let done: Node<'a> = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                root = None;
                stack.clear();
                anchors.clear();
                duplicates.clear();
                alias_nodes = 0;
                continue;
            }
            Event::DocumentEnd => {
                if let Some(root) = root.take().filter(|r| !r.is_null()) {
                    on_doc(Doc {
                        root,
                        duplicates: std::mem::take(&mut duplicates),
                    });
                }
                continue;
            }
            Event::Alias(id) => {
                let Some((node, size, height)) = anchors.get(&id) else {
                    return Err(err(start, "alias refers to an unknown anchor"));
                };
                alias_nodes += size;
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(err(start, "aliases expand to too many nodes"));
                }
                if stack.len() + height > MAX_DEPTH {
                    return Err(err(start, "nesting is too deep"));
                }
                node.clone()
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    _ if tag.as_ref().is_some_and(|t| t.suffix == "str") => Style::Quoted,
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                let node = Node {
                    kind: Kind::Scalar(value, style),
                    start,
                    end,
                };
                if anchor != 0 {
                    anchors.insert(anchor, (node.clone(), 1, 1));
                }
                node
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(start, "nesting is too deep"));
                }
                let flow = end > start;
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        start,
                        flow,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        start,
                        flow,
                        anchor,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Err(err(start, "unbalanced collection end"));
                };
                let (kind, node_start, flow, anchor, last_end) = match frame {
                    Frame::Seq {
                        items,
                        start,
                        flow,
                        anchor,
                    } => {
                        let last = items.last().map(|n| n.end);
                        (Kind::Seq(items), start, flow, anchor, last)
                    }
                    Frame::Map {
                        entries,
                        key,
                        start: s,
                        flow,
                        anchor,
                    } => {
                        if key.is_some() {
                            return Err(err(start, "mapping key without a value"));
                        }
                        duplicate_keys(&entries, &mut duplicates);
                        let last = entries.last().map(|(_, v)| v.end);
                        (Kind::Map(entries), s, flow, anchor, last)
                    }
                };
                // Block collections end with their last entry; the end event sits after
                // trailing blank lines and comments.
                let node_end = if flow {
                    end
                } else {
                    last_end.unwrap_or(node_start)
                };
                let node = Node {
                    kind,
                    start: node_start,
                    end: node_end.max(node_start),
                };
                if anchor != 0 {
                    let (size, height) = (node.size(), node.height());
                    anchors.insert(anchor, (node.clone(), size, height));
                }
                node
            }
        };
        match stack.last_mut() {
            None => root = Some(done),
            Some(Frame::Seq { items, .. }) => items.push(done),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(done),
                Some(k) => entries.push((k, done)),
            },
        }
    }
    Ok(())
}

/// Splits a large multi-document stream at `---` lines into pieces of roughly `target` bytes
/// that parse independently (YAML forbids document markers inside content, and anchors do not
/// cross documents). Streams with directives are not split: a directive belongs to the next
/// document.
pub(crate) fn split_documents(text: &str, target: usize) -> Vec<(usize, usize)> {
    let len = text.len();
    let bytes = text.as_bytes();
    if len <= target || bytes.first() == Some(&b'%') || text.contains("\n%") {
        return vec![(0, len)];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut from = target;
    while from < len {
        let Some(found) = find_marker(text, from) else {
            break;
        };
        out.push((start, found));
        start = found;
        from = found + target;
    }
    out.push((start, len));
    out
}

/// Byte index of the next line at or after `from` that is a `---` document marker.
pub(crate) fn find_marker(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(i) = text.get(at..)?.find("\n---") {
        let marker = at + i + 1;
        match bytes.get(marker + 3) {
            None | Some(b' ' | b'\t' | b'\r' | b'\n') => return Some(marker),
            Some(_) => at = marker,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<Node<'_>> {
        let mut out = Vec::new();
        parse_yaml(text, 0, |d| out.push(d.root)).unwrap();
        out
    }

    #[test]
    fn spans_are_byte_offsets_even_after_multibyte_text() {
        let text = "a: \"é\"\nb: [x, {c: d}]\n";
        let d = docs(text);
        let b = d[0].get("b").unwrap();
        assert_eq!(&text[b.start as usize..b.end as usize], "[x, {c: d}]");
        let Kind::Seq(items) = &b.kind else { panic!() };
        let c = items[1].get("c").unwrap();
        assert_eq!(&text[c.start as usize..c.end as usize], "d");
    }

    #[test]
    fn aliases_resolve_and_empty_documents_are_skipped() {
        let d = docs("---\n---\na: &x {k: v}\nb: *x\n---\n# only a comment\n");
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].get("b").unwrap().get("k").unwrap().scalar().unwrap().0,
            "v"
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse_yaml(&text, 0, |_| {}).is_err());
    }

    #[test]
    fn splitting_happens_only_at_document_markers() {
        let text = "a: 1\n---\nb: 2\n--- \nc: |\n  ---x\n---x: 1\n---\nd: 4\n";
        let parts = split_documents(text, 1);
        let pieces: Vec<&str> = parts.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(
            pieces,
            [
                "a: 1\n",
                "---\nb: 2\n",
                "--- \nc: |\n  ---x\n---x: 1\n",
                "---\nd: 4\n"
            ]
        );
    }
}
