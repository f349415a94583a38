//! `-o json`: `{"diagnostics": [...]}`.

use crate::escape::{MAX_MESSAGE_CHARS, clip};
use palisade_diag::{Diagnostic, SourceMap};
use serde::Serialize;
use std::borrow::Cow;

#[derive(Serialize)]
struct Report<'a> {
    diagnostics: Vec<Entry<'a>>,
    /// The configuration file used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a str>,
}

#[derive(Serialize)]
struct Entry<'a> {
    code: Option<&'a str>,
    severity: &'static str,
    file: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
    message: Cow<'a, str>,
    help: Option<Cow<'a, str>>,
}

/// The JSON report.
/// `config` is the configuration file used (a `config` field, absent without one).
pub fn json(diagnostics: &[Diagnostic], sources: &SourceMap, config: Option<&str>) -> String {
    let report = Report {
        config,
        diagnostics: diagnostics
            .iter()
            .map(|d| {
                let region = super::region(d, sources);
                Entry {
                    code: d.code,
                    severity: d.severity.as_str(),
                    file: region.as_ref().map(|r| r.0.clone()),
                    line: region.as_ref().map(|r| r.1),
                    column: region.as_ref().map(|r| r.2),
                    message: clip(&d.message, MAX_MESSAGE_CHARS),
                    help: d.help.as_deref().map(|h| clip(h, MAX_MESSAGE_CHARS)),
                }
            })
            .collect(),
    };
    crate::to_json(&report)
}
