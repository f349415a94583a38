//! `-o sarif`: SARIF 2.1.0, as GitHub code scanning accepts it (rule ids, levels, physical
//! locations with relative URIs and regions in characters).

use super::RuleMeta;
use crate::escape::{MAX_MESSAGE_CHARS, clip};
use palisade_diag::{Diagnostic, Severity, SourceMap};
use serde_json::{Value, json};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A path as a relative URI reference: forward slashes, no leading `./`, percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const HELP_URI: &str = "https://github.com/palisade-dev/palisade/blob/main/docs/lint.md";

/// The SARIF log.
/// `config` is the configuration file used, recorded in the run's property bag
/// (`runs[0].properties.config`).
pub fn sarif(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    rules: &[RuleMeta],
    config: Option<&str>,
) -> String {
    let rule_objects: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.doc, "markdown": r.doc},
                "helpUri": format!("{HELP_URI}#{}-{}", r.code.to_lowercase(), r.name.replace('.', "")),
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": ["kubernetes", "networkpolicy"]},
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut text = clip(&d.message, MAX_MESSAGE_CHARS).into_owned();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(&clip(help, MAX_MESSAGE_CHARS));
            }
            let mut result = json!({
                "ruleId": d.code.unwrap_or("palisade"),
                "level": level(d.severity),
                "message": {"text": text},
            });
            if let Some(index) = d.code.and_then(|c| rules.iter().position(|r| r.code == c)) {
                result["ruleIndex"] = json!(index);
            }
            if let Some((file, line, col, end_line, end_col)) = super::region(d, sources) {
                let mut region =
                    json!({"startLine": line, "startColumn": col, "endLine": end_line});
                if end_col > 0 {
                    region["endColumn"] =
                        json!(end_col.max(if end_line == line { col + 1 } else { 1 }));
                }
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&file)},
                        "region": region,
                    }
                }]);
            }
            let related: Vec<Value> = d
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let file = sources.get(l.span.source);
                    let (line, col) = file.line_col(l.span.start);
                    json!({
                        "id": i,
                        "message": {"text": l.message},
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(&file.path)},
                            "region": {"startLine": line, "startColumn": col},
                        }
                    })
                })
                .collect();
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            result
        })
        .collect();
    let mut log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "palisade",
                    "informationUri": "https://github.com/palisade-dev/palisade",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rule_objects,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    if let Some(config) = config {
        log["runs"][0]["properties"] = json!({ "config": config });
    }
    crate::to_json(&log)
}
