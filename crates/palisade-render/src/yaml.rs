//! `-o yaml`: the JSON document of a command, as YAML.
//!
//! Every command that prints JSON prints the same document as YAML: the JSON text is read
//! into an order-keeping tree (serde_json's `Value` would sort the keys) and written by
//! serde-saphyr, which owns the quoting rules (`"on"`, `"0.0.0.0/0"`, `"1e3"` stay strings).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::fmt;

/// A JSON value with its object keys in document order.
enum Tree {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Tree>),
    Map(Vec<(String, Tree)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TreeVisitor;
        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = Tree;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }
            fn visit_none<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
                Ok(Tree::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
                Ok(Tree::Number(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
                Ok(Tree::Number(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Tree::Null, Tree::Number))
            }
            fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
                Ok(Tree::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Tree, E> {
                Ok(Tree::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Tree::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Tree::Map(entries))
            }
        }
        deserializer.deserialize_any(TreeVisitor)
    }
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Tree::Null => serializer.serialize_unit(),
            Tree::Bool(b) => serializer.serialize_bool(*b),
            Tree::Number(n) => n.serialize(serializer),
            Tree::String(s) => serializer.serialize_str(s),
            Tree::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Tree::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// The YAML form of one JSON document, or of a JSON Lines stream (one YAML document per
/// line, separated by `---`). Keys keep their order.
///
/// # Errors
/// When `json` is not JSON (a caller's bug: every input here is Palisade's own JSON).
pub fn from_json(json: &str) -> Result<String, String> {
    let mut out = String::new();
    let stream = serde_json::Deserializer::from_str(json).into_iter::<Tree>();
    for (i, tree) in stream.enumerate() {
        let tree = tree.map_err(|e| format!("not JSON: {e}"))?;
        if i > 0 {
            out.push_str("---\n");
        }
        let doc = serde_saphyr::to_string(&tree).map_err(|e| e.to_string())?;
        out.push_str(&doc);
        if !doc.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::from_json;

    fn round_trip(json: &str) {
        let yaml = from_json(json).unwrap();
        let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        let want: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, want, "YAML:\n{yaml}");
    }

    #[test]
    fn keys_keep_document_order() {
        let yaml = from_json(r#"{"zeta": 1, "alpha": {"b": true, "a": null}}"#).unwrap();
        let zeta = yaml.find("zeta").unwrap();
        let alpha = yaml.find("alpha").unwrap();
        assert!(zeta < alpha, "{yaml}");
        assert!(
            yaml.find("  b:").unwrap() < yaml.find("  a:").unwrap(),
            "{yaml}"
        );
    }

    #[test]
    fn strings_that_look_like_other_scalars_stay_strings() {
        round_trip(
            r##"{"on": "on", "n": "no", "ip": "0.0.0.0/0", "num": "80", "exp": "1e3",
                "empty": "", "null": "null", "colon": "a: b", "dash": "- x", "hash": "#x",
                "quote": "it's \"q\"", "newline": "a\nb", "tilde": "~", "true": "true",
                "ports": "80,443", "range": "1-65535", "unicode": "caf\u00e9 \u2192"}"##,
        );
    }

    #[test]
    fn nested_lists_numbers_and_empty_containers() {
        round_trip(
            r#"{"connections": [{"src": "a/b", "allowed": [{"protocol": "TCP", "from": 80, "to": 443}]}],
                "empty_list": [], "empty_map": {}, "neg": -3, "float": 0.5, "big": 18446744073709551615,
                "matrix": [[true, false], [false, true]]}"#,
        );
    }

    #[test]
    fn json_lines_become_a_yaml_stream() {
        let yaml = from_json("{\"a\": 1}\n{\"a\": 2}\n").unwrap();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_str_multiple(&yaml).unwrap();
        assert_eq!(
            docs,
            vec![serde_json::json!({"a": 1}), serde_json::json!({"a": 2})]
        );
    }
}
