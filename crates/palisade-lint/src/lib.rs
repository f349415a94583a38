//! Palisade's NetworkPolicy linter.
//!
//! [`lint`] runs the enabled rules over a [`Model`] and returns [`Diagnostic`]s with codes
//! (`NP001`…), severities, spans, messages and help lines. The rule table is
//! [`registry::RULES`]; each rule lives in its own file under `rules/` with its
//! documentation (`palisade lint --explain NP003` prints it). Findings the loader is best
//! placed to see (`NP008` unknown field, `NP009` YAML 1.1 scalar) are passed in and
//! filtered like the others. Objects annotated `palisade.dev/ignore: "NP005,NP012"` (or
//! whose namespace is) suppress those codes.
//!
//! ```
//! use palisade_lint::{Settings, lint};
//! use palisade_model::Model;
//!
//! let model = Model::default();
//! assert!(lint(&model, &[], &Settings::default()).is_empty());
//! ```

pub mod audit;
pub mod registry;
mod rules;
pub mod settings;
mod suppress;

pub use palisade_diag::{Diagnostic, Severity};
pub use registry::{RULES, RuleInfo, Status, rule};
pub use settings::{LintConfig, Settings};

use palisade_model::Model;

/// Errors in the linter's configuration (never in the linted files: those are findings).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `--select`/`--ignore` entry or config entry names no rule.
    #[error("unknown rule `{0}`: expected a code such as NP003, a rule name, or ALL")]
    UnknownRule(String),
    /// A `--fail-on` value is not a severity.
    #[error("unknown severity `{0}`: expected error, warning or info")]
    UnknownSeverity(String),
    /// `palisade.toml` does not parse.
    #[error("invalid palisade.toml: {0}")]
    Config(String),
}

/// Runs the enabled rules, adds the loader's findings (`NP008`, `NP009`) when enabled,
/// drops suppressed findings and sorts the rest by file, position and code.
pub fn lint(model: &Model, loader_findings: &[Diagnostic], settings: &Settings) -> Vec<Diagnostic> {
    let mut out = rules::run(model, settings);
    for finding in loader_findings {
        let Some(code) = finding.code else { continue };
        let Some(info) = rule(code) else { continue };
        if settings.is_enabled(info.code) {
            let mut d = finding.clone();
            d.code = Some(info.code);
            d.severity = info.severity;
            out.push(d);
        }
    }
    let mut out = suppress::filter(model, out);
    out.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.span.map(|s| (s.source, s.start, s.end));
        key(a)
            .cmp(&key(b))
            .then(a.code.cmp(&b.code))
            .then(a.message.cmp(&b.message))
    });
    out.dedup();
    out
}
