//! The span-carrying document tree both parsers produce and the converter reads.

use std::borrow::Cow;

use rustc_hash::FxHashSet;

/// Deepest nesting accepted; Kubernetes objects are far shallower, and a bound keeps the
/// recursive parts (drop, clone of aliases, conversion) safe from stack exhaustion.
pub(crate) const MAX_DEPTH: usize = 128;

/// How a scalar was written, which decides how YAML 1.1 and JSON would read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Unquoted (YAML plain scalar, or a JSON number/true/false/null).
    Plain,
    /// Single- or double-quoted, or a JSON string.
    Quoted,
    /// A YAML literal or folded block scalar.
    Block,
}

/// A node with its byte range in the source file.
#[derive(Clone, Debug)]
pub(crate) struct Node<'a> {
    pub kind: Kind<'a>,
    pub start: u32,
    pub end: u32,
}

/// The shape of a node.
#[derive(Clone, Debug)]
pub(crate) enum Kind<'a> {
    Map(Vec<(Node<'a>, Node<'a>)>),
    Seq(Vec<Node<'a>>),
    Scalar(Cow<'a, str>, Style),
}

/// A key defined twice in one mapping.
#[derive(Debug)]
pub(crate) struct DuplicateKey {
    pub key: String,
    pub first: (u32, u32),
    pub second: (u32, u32),
}

impl<'a> Node<'a> {
    /// Whether the node is null (`~`, `null`, empty) in YAML 1.2 core schema / JSON.
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Scalar(text, Style::Plain) => {
                matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// The text of a scalar.
    pub fn scalar(&self) -> Option<(&str, Style)> {
        match &self.kind {
            Kind::Scalar(text, style) => Some((text.as_ref(), *style)),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn entries(&self) -> Option<&[(Node<'a>, Node<'a>)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of a key of a mapping (none for other nodes).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.scalar().is_some_and(|(t, _)| t == key))
            .map(|(_, v)| v)
    }

    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Map(_) => "a mapping",
            Kind::Seq(_) => "a list",
            Kind::Scalar(_, Style::Plain) if self.is_null() => "null",
            Kind::Scalar(text, Style::Plain) => match text.as_ref() {
                "true" | "false" | "True" | "False" | "TRUE" | "FALSE" => "a boolean",
                t if t.parse::<f64>().is_ok() => "a number",
                _ => "a string",
            },
            Kind::Scalar(..) => "a string",
        }
    }

    /// Number of nodes in the subtree, to bound alias expansion.
    pub fn size(&self) -> usize {
        match &self.kind {
            Kind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
            Kind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Kind::Scalar(..) => 1,
        }
    }

    /// Nesting height of the subtree (a scalar is 1).
    pub fn height(&self) -> usize {
        match &self.kind {
            Kind::Map(entries) => 1 + entries.iter().map(|(_, v)| v.height()).max().unwrap_or(0),
            Kind::Seq(items) => 1 + items.iter().map(Node::height).max().unwrap_or(0),
            Kind::Scalar(..) => 1,
        }
    }
}

/// Finds keys defined twice in one mapping (Kubernetes' YAML and JSON decoders reject them).
pub(crate) fn duplicate_keys(entries: &[(Node<'_>, Node<'_>)], out: &mut Vec<DuplicateKey>) {
    let key_text = |n: &Node<'_>| n.scalar().map(|(t, _)| t.to_string());
    let report = |i: usize, j: usize, out: &mut Vec<DuplicateKey>| {
        let (a, b) = (&entries[i].0, &entries[j].0);
        out.push(DuplicateKey {
            key: key_text(b).unwrap_or_default(),
            first: (a.start, a.end),
            second: (b.start, b.end),
        });
    };
    // Most mappings are small; a quadratic scan beats hashing there.
    if entries.len() <= 12 {
        for j in 1..entries.len() {
            let Some((kj, _)) = entries[j].0.scalar() else {
                continue;
            };
            if let Some(i) = entries[..j]
                .iter()
                .position(|(k, _)| k.scalar().is_some_and(|(t, _)| t == kj))
            {
                report(i, j, out);
            }
        }
        return;
    }
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    for (j, (k, _)) in entries.iter().enumerate() {
        let Some((text, _)) = k.scalar() else {
            continue;
        };
        if !seen.insert(text) {
            let i = entries[..j]
                .iter()
                .position(|(k, _)| k.scalar().is_some_and(|(t, _)| t == text))
                .unwrap_or(j);
            report(i, j, out);
        }
    }
}
