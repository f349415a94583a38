//! Writes JSON values as block YAML, for `palisade snapshot -o yaml` and snapshot
//! directories (serde_yaml is deprecated, and the loader's YAML side only parses).
//!
//! Strings are always double-quoted with JSON escapes, which YAML 1.2 reads identically, so
//! no value changes type on the way back (`"on"`, `"1.0"`, `"0777"` stay strings). Keys are
//! written bare when they are plain words.

use serde_json::Value;

/// `value` as a YAML document (no leading `---`), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => object(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => array(a, 0, &mut out),
        other => {
            scalar(other, &mut out);
            out.push('\n');
        }
    }
    out
}

fn indent(n: usize, out: &mut String) {
    for _ in 0..n {
        out.push_str("  ");
    }
}

fn key(k: &str, out: &mut String) {
    let plain = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && k.as_bytes()[0].is_ascii_alphabetic();
    if plain {
        out.push_str(k);
    } else {
        out.push_str(&Value::from(k).to_string());
    }
}

fn scalar(v: &Value, out: &mut String) {
    match v {
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        other => out.push_str(&other.to_string()),
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn object(m: &serde_json::Map<String, Value>, level: usize, out: &mut String) {
    for (k, v) in m {
        indent(level, out);
        key(k, out);
        out.push(':');
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                object(inner, level + 1, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                array(items, level, out);
            }
            other => {
                out.push(' ');
                scalar(other, out);
                out.push('\n');
            }
        }
    }
}

fn array(items: &[Value], level: usize, out: &mut String) {
    for item in items {
        indent(level, out);
        out.push_str("- ");
        match item {
            Value::Object(m) if is_block(item) => {
                // The first key goes on the dash line; the rest align under it.
                let mut text = String::new();
                object(m, level + 1, &mut text);
                out.push_str(text.trim_start());
            }
            Value::Array(a) if is_block(item) => {
                let mut text = String::new();
                array(a, level + 1, &mut text);
                out.push_str(text.trim_start());
            }
            other => {
                scalar(other, out);
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_lists_and_maps() {
        let v = json!({
            "kind": "List",
            "items": [{"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}}, "ports": [80, "on"]}],
            "empty": {}, "none": [], "n": null, "weird key": true
        });
        // Keys come out in serde_json's map order (sorted).
        assert_eq!(
            to_yaml(&v),
            "empty: {}\nitems:\n- metadata:\n    labels:\n      app.kubernetes.io/name: \"x\"\n    name: \"a\"\n  ports:\n  - 80\n  - \"on\"\nkind: \"List\"\nn: null\nnone: []\n\"weird key\": true\n"
        );
    }
}
