//! A minimal document tree and its two serializations (block YAML and compact JSON).
//!
//! Maps keep insertion order, so the text is a pure function of how the tree was built.

use std::fmt::Write as _;

/// One value of a Kubernetes object.
#[derive(Debug, Clone)]
pub enum Node {
    /// A string scalar.
    Str(String),
    /// An integer scalar.
    Int(i64),
    /// A boolean scalar.
    Bool(bool),
    /// An ordered mapping.
    Map(Vec<(String, Node)>),
    /// A sequence.
    List(Vec<Node>),
}

/// A string node.
pub fn s(v: impl Into<String>) -> Node {
    Node::Str(v.into())
}

/// An integer node.
pub fn int(v: impl Into<i64>) -> Node {
    Node::Int(v.into())
}

/// A mapping node from `(key, value)` pairs, in order.
pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Node)>) -> Node {
    Node::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// A mapping node of string values (labels, matchLabels).
pub fn str_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Node {
    Node::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), s(v)))
            .collect(),
    )
}

/// A sequence node.
pub fn list(items: impl IntoIterator<Item = Node>) -> Node {
    Node::List(items.into_iter().collect())
}

impl Node {
    fn is_scalar_like(&self) -> bool {
        match self {
            Node::Map(m) => m.is_empty(),
            Node::List(l) => l.is_empty(),
            _ => true,
        }
    }
}

// ---------------------------------------------------------------- YAML

/// Appends `node` as one YAML document (without the leading `---`).
pub fn write_yaml(out: &mut String, node: &Node) {
    match node {
        Node::Map(entries) if !entries.is_empty() => yaml_map(out, entries, 0, false),
        Node::List(items) if !items.is_empty() => yaml_list(out, items, 0),
        other => {
            yaml_scalar(out, other);
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn yaml_map(out: &mut String, entries: &[(String, Node)], ind: usize, first_inline: bool) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if !(first_inline && i == 0) {
            indent(out, ind);
        }
        debug_assert!(!needs_quotes(k), "key {k:?} would need quoting");
        out.push_str(k);
        out.push(':');
        match v {
            Node::Map(m) if !m.is_empty() => {
                out.push('\n');
                yaml_map(out, m, ind + 2, false);
            }
            Node::List(l) if !l.is_empty() => {
                out.push('\n');
                yaml_list(out, l, ind);
            }
            scalar => {
                out.push(' ');
                yaml_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

fn yaml_list(out: &mut String, items: &[Node], ind: usize) {
    for item in items {
        indent(out, ind);
        out.push_str("- ");
        match item {
            Node::Map(m) if !m.is_empty() => yaml_map(out, m, ind + 2, true),
            Node::List(l) if !l.is_empty() => {
                // Nested sequences are not used by Kubernetes manifests here; emit flow style.
                write_json(out, item);
                out.push('\n');
                let _ = l;
            }
            scalar => {
                yaml_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

fn yaml_scalar(out: &mut String, node: &Node) {
    debug_assert!(node.is_scalar_like());
    match node {
        Node::Str(v) if needs_quotes(v) => json_string(out, v),
        Node::Str(v) => out.push_str(v),
        Node::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Node::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        Node::Map(_) => out.push_str("{}"),
        Node::List(_) => out.push_str("[]"),
    }
}

/// Whether a plain (unquoted) YAML scalar could be read as something other than this
/// string by a YAML 1.1 or 1.2 reader. Errs on the side of quoting.
pub fn needs_quotes(v: &str) -> bool {
    let Some(&first) = v.as_bytes().first() else {
        return true;
    };
    if first.is_ascii_digit() || b"-+.?:,[]{}#&*!|>'\"%@` ~=".contains(&first) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
    ) {
        return true;
    }
    v.ends_with(' ')
        || v.ends_with(':')
        || v.contains(": ")
        || v.contains(" #")
        || v.bytes()
            .any(|b| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f)
}

// ---------------------------------------------------------------- JSON

/// Appends `node` as compact JSON.
pub fn write_json(out: &mut String, node: &Node) {
    match node {
        Node::Str(v) => json_string(out, v),
        Node::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Node::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        Node::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
        Node::List(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, v);
            }
            out.push(']');
        }
    }
}

fn json_string(out: &mut String, v: &str) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_shapes() {
        let doc = map([
            ("kind", s("Pod")),
            (
                "labels",
                str_map([("app", "web"), ("version", "1.2.3"), ("canary", "true")]),
            ),
            ("empty", map::<&str>([])),
            (
                "ports",
                list([map([("name", s("http")), ("port", int(8080))]), s("x")]),
            ),
            ("none", list([])),
        ]);
        let mut out = String::new();
        write_yaml(&mut out, &doc);
        assert_eq!(
            out,
            "kind: Pod\nlabels:\n  app: web\n  version: \"1.2.3\"\n  canary: \"true\"\nempty: {}\n\
             ports:\n- name: http\n  port: 8080\n- x\nnone: []\n"
        );
        let mut json = String::new();
        write_json(&mut json, &doc);
        assert_eq!(
            json,
            r#"{"kind":"Pod","labels":{"app":"web","version":"1.2.3","canary":"true"},"empty":{},"ports":[{"name":"http","port":8080},"x"],"none":[]}"#
        );
    }

    #[test]
    fn quoting() {
        for q in [
            "",
            "10.0.0.0/8",
            "yes",
            "No",
            "1.4",
            "-x",
            "a: b",
            "~",
            "2001:db8::/32",
        ] {
            assert!(needs_quotes(q), "{q:?}");
        }
        for p in [
            "web",
            "app.kubernetes.io/name",
            "registry.example.com/a/b:1.2.3",
            "v1.2.3",
        ] {
            assert!(!needs_quotes(p), "{p:?}");
        }
    }
}
