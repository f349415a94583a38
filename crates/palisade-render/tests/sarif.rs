//! `-o sarif` is valid SARIF 2.1.0: checked against the official schema (vendored in
//! `tests/data/`) with a small JSON Schema draft-07 validator covering every keyword that
//! schema uses except `pattern` and `format` (ignored, as annotations), plus the fields
//! GitHub code scanning requires.

use palisade_diag::{Diagnostic, Severity, SourceMap};
use palisade_render::lint::{RuleMeta, sarif};
use serde_json::Value;

struct Validator<'a> {
    root: &'a Value,
}

impl Validator<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/definitions/").expect("local refs only");
                self.resolve(&self.root["definitions"][name])
            }
            None => schema,
        }
    }

    fn validate(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(types) = schema.get("type") {
            let names: Vec<&str> = match types {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let ok = names.iter().any(|t| match *t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "null" => value.is_null(),
                _ => false,
            });
            if !ok {
                errors.push(format!("{path}: expected {names:?}, found {value}"));
                return;
            }
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array)
            && !e.contains(value)
        {
            errors.push(format!("{path}: {value} not in {e:?}"));
        }
        if let (Some(min), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) && n < min
        {
            errors.push(format!("{path}: {n} < minimum {min}"));
        }
        if let (Some(max), Some(n)) = (
            schema.get("maximum").and_then(Value::as_f64),
            value.as_f64(),
        ) && n > max
        {
            errors.push(format!("{path}: {n} > maximum {max}"));
        }
        if let Some(items) = value.as_array() {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                errors.push(format!("{path}: fewer than {min} items"));
            }
            if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
                for (i, a) in items.iter().enumerate() {
                    if items[..i].contains(a) {
                        errors.push(format!("{path}: duplicate item {a}"));
                    }
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    self.validate(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        if let Some(object) = value.as_object() {
            for key in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = key.as_str().unwrap_or_default();
                if !object.contains_key(key) {
                    errors.push(format!("{path}: missing required `{key}`"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, v) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(s) => self.validate(s, v, &format!("{path}.{key}"), errors),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors.push(format!("{path}: unknown property `{key}`"))
                        }
                        Some(s @ Value::Object(_)) => {
                            self.validate(s, v, &format!("{path}.{key}"), errors)
                        }
                        _ => {}
                    },
                }
            }
        }
        for (keyword, need) in [("anyOf", 1usize), ("oneOf", 1)] {
            if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
                let passing = options
                    .iter()
                    .filter(|o| {
                        let mut e = Vec::new();
                        self.validate(o, value, path, &mut e);
                        e.is_empty()
                    })
                    .count();
                let ok = if keyword == "oneOf" {
                    passing == need
                } else {
                    passing >= need
                };
                if !ok {
                    errors.push(format!("{path}: {keyword} matched {passing} options"));
                }
            }
        }
    }
}

fn schema() -> Value {
    let text = include_str!("data/sarif-schema-2.1.0.json");
    serde_json::from_str(text).expect("the schema is JSON")
}

fn sample() -> String {
    let mut sources = SourceMap::default();
    let text = "kind: NetworkPolicy\nspec:\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: chekout}}\n";
    let id = sources.add("examples/web shop/np.yaml", text);
    let start = text.find("chekout").unwrap() as u32;
    let diags = vec![
        Diagnostic::warning("`from` peer selects no pod")
            .with_code("NP003")
            .with_span(sources.span(id, start, start + 7))
            .with_label(sources.span(id, 0, 4), "the policy")
            .with_help("did you mean app=checkout?"),
        Diagnostic::error("no span at all").with_code("NP001"),
        Diagnostic::info("an info")
            .with_code("NP011")
            .with_span(sources.span(id, 0, 30)),
    ];
    let rules: Vec<RuleMeta> = [
        ("NP001", "dns-egress-blocked", Severity::Error),
        ("NP003", "peer-selects-nothing", Severity::Warning),
        ("NP011", "redundant", Severity::Info),
    ]
    .into_iter()
    .map(|(code, name, severity)| RuleMeta {
        code,
        name,
        summary: format!("{name} summary"),
        doc: format!("## What it does\n{name}"),
        severity,
    })
    .collect();
    sarif(&diags, &sources, &rules, None)
}

#[test]
fn sarif_output_matches_the_official_schema() {
    let schema = schema();
    let log: Value = serde_json::from_str(&sample()).expect("valid JSON");
    let validator = Validator { root: &schema };
    let mut errors = Vec::new();
    validator.validate(&schema, &log, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_validator_rejects_broken_logs() {
    let schema = schema();
    let validator = Validator { root: &schema };
    let mut log: Value = serde_json::from_str(&sample()).unwrap();
    log["runs"][0]["results"][0]["level"] = Value::String("fatal".into());
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    log["runs"][0]["tool"]["driver"]["bogus"] = Value::Bool(true);
    let mut errors = Vec::new();
    validator.validate(&schema, &log, "$", &mut errors);
    assert!(errors.len() >= 3, "{errors:#?}");
}

#[test]
fn sarif_has_what_github_code_scanning_requires() {
    let log: Value = serde_json::from_str(&sample()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "palisade");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for result in run["results"].as_array().unwrap() {
        let id = result["ruleId"].as_str().unwrap();
        assert!(rules.iter().any(|r| r["id"] == id), "{id}");
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        if let Some(loc) = result["locations"].as_array() {
            let physical = &loc[0]["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
            assert!(!uri.starts_with('/') && !uri.contains(' '), "{uri}");
            assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
        }
    }
    insta::assert_snapshot!(sample());
}
