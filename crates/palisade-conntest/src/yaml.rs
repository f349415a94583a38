//! A small YAML tree with line numbers (saphyr-parser events), enough for test specs.

use saphyr_parser::{Event, Parser};

/// A YAML node and the line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// 1-based line.
    pub line: usize,
}

/// Node kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar, as text.
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in order.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value of a mapping key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar text.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(String, Node)>, Option<String>, usize),
}

/// Parses every document of a YAML text; `Err((line, message))` on a syntax error.
pub fn parse(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(x)) => x,
            Some(Err(e)) => return Err((e.marker().line(), e.info().to_string())),
        };
        let line = span.start.line();
        let done = match event {
            Event::StreamEnd => break,
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq(Vec::new(), line));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map(Vec::new(), None, line));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, line)) => Node {
                    kind: Kind::Seq(items),
                    line,
                },
                Some(Frame::Map(entries, _, line)) => Node {
                    kind: Kind::Map(entries),
                    line,
                },
                None => return Err((line, "unbalanced collection end".into())),
            },
            Event::Scalar(value, ..) => Node {
                kind: Kind::Scalar(value.to_string()),
                line,
            },
            Event::Alias(_) => {
                return Err((line, "aliases are not supported in test specs".into()));
            }
            _ => continue,
        };
        match stack.last_mut() {
            None => docs.push(done),
            Some(Frame::Seq(items, _)) => items.push(done),
            Some(Frame::Map(entries, key, _)) => match key.take() {
                None => match done.kind {
                    Kind::Scalar(k) => *key = Some(k),
                    _ => return Err((done.line, "mapping keys must be scalars".into())),
                },
                Some(k) => entries.push((k, done)),
            },
        }
    }
    Ok(docs)
}
