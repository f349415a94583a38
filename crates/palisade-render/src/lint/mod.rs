//! Lint reports: human (code frames), JSON, SARIF 2.1.0 and GitHub workflow commands.
//!
//! The JSON shape is a public contract:
//! `{"diagnostics": [{"code", "severity", "file", "line", "column", "message", "help"}]}`
//! with paths as given on the command line and 1-based lines and columns (characters).

pub mod audit;
mod github;
mod json;
mod sarif;

pub use github::github;
pub use json::json;
pub use sarif::sarif;

use crate::Style;
use palisade_diag::{Diagnostic, Severity, SourceMap};

/// What SARIF says about a rule (the registry lives in `palisade-lint`; the caller passes
/// the rules it knows).
#[derive(Clone, Debug)]
pub struct RuleMeta {
    /// `NP003`.
    pub code: &'static str,
    /// `peer-selects-nothing`.
    pub name: &'static str,
    /// One sentence.
    pub summary: String,
    /// The full documentation, Markdown.
    pub doc: String,
    /// Default severity.
    pub severity: Severity,
}

/// A lint output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    /// Compiler-style code frames and a summary line.
    Human,
    /// One line per finding.
    Concise,
    /// The JSON contract.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub Actions workflow commands.
    Github,
}

impl std::str::FromStr for LintFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "text" | "human" | "txt" | "plain" | "full" => LintFormat::Human,
            "concise" => LintFormat::Concise,
            "json" => LintFormat::Json,
            "sarif" => LintFormat::Sarif,
            "github" => LintFormat::Github,
            other => {
                return Err(format!(
                    "unsupported output format `{other}`: expected one of text, concise, json, yaml, sarif, github"
                ));
            }
        })
    }
}

/// Renders findings in a format.
pub fn render(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    format: LintFormat,
    rules: &[RuleMeta],
    style: Style,
    config: Option<&str>,
) -> String {
    match format {
        LintFormat::Human => human(diagnostics, sources, style),
        LintFormat::Concise => {
            let mut out: String = diagnostics
                .iter()
                .map(|d| crate::diagnostics::concise(d, sources) + "\n")
                .collect();
            out.push_str(&summary(diagnostics));
            out
        }
        LintFormat::Json => json(diagnostics, sources, config),
        LintFormat::Sarif => sarif(diagnostics, sources, rules, config),
        LintFormat::Github => github(diagnostics, sources),
    }
}

/// Code frames separated by blank lines, then the summary line.
pub fn human(diagnostics: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let mut out = crate::diagnostics::human_bounded(diagnostics, sources, style, "\n");
    let line = summary(diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        out.push_str(&style.red(line.trim_end()));
    } else if diagnostics.is_empty() {
        out.push_str(&style.green(line.trim_end()));
    } else {
        out.push_str(&style.yellow(line.trim_end()));
    }
    out.push('\n');
    out
}

/// `Found 3 findings: 1 error, 2 warnings.` or `No findings.`
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return "No findings.\n".to_string();
    }
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    for (s, word) in [
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ] {
        let n = count(s);
        if n > 0 {
            parts.push(if s == Severity::Info {
                format!("{n} info")
            } else {
                plural(n, word)
            });
        }
    }
    format!(
        "Found {}: {}.\n",
        plural(diagnostics.len(), "finding"),
        parts.join(", ")
    )
}

/// 1-based (line, column, end line, end column) of a diagnostic's span.
pub(crate) fn region(d: &Diagnostic, sources: &SourceMap) -> Option<(String, u32, u32, u32, u32)> {
    let span = d.span?;
    let file = sources.get(span.source);
    let (line, col) = file.line_col(span.start);
    let (end_line, end_col) = file.line_col(span.end.max(span.start));
    Some((file.path.clone(), line, col, end_line, end_col))
}
