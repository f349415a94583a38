//! `-o github`: GitHub Actions workflow commands, one annotation per finding:
//! `::warning file=x.yaml,line=12,col=7,endLine=12,endColumn=14,title=NP003 (peer-selects-nothing)::message`.

use crate::escape::{MAX_MESSAGE_CHARS, clip};
use palisade_diag::{Diagnostic, Severity, SourceMap};
use std::fmt::Write;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow commands.
pub fn github(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some((file, line, col, end_line, end_col)) = super::region(d, sources) {
            props.push(format!("file={}", escape_property(&file)));
            props.push(format!("line={line}"));
            props.push(format!("col={col}"));
            props.push(format!("endLine={end_line}"));
            if end_line == line {
                props.push(format!("endColumn={end_col}"));
            }
        }
        if let Some(code) = d.code {
            props.push(format!("title={}", escape_property(code)));
        }
        let mut message = clip(&d.message, MAX_MESSAGE_CHARS).into_owned();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(&clip(help, MAX_MESSAGE_CHARS));
        }
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            props.join(","),
            escape_data(&message)
        );
    }
    out
}
