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
    sort(&mut out);
    out
}

/// Sorts findings by file, position, code and message, and drops exact duplicates.
pub fn sort(findings: &mut Vec<Diagnostic>) {
    findings.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.span.map(|s| (s.source, s.start, s.end));
        key(a)
            .cmp(&key(b))
            .then(a.code.cmp(&b.code))
            .then(a.message.cmp(&b.message))
    });
    findings.dedup();
}

/// The code of the finding an input error becomes ([`input_errors`]).
pub const INVALID_OBJECT: &str = "NP017";

/// Rules that judge one policy on its own, run on rejected policies by [`lint_rejected`].
/// NP005 and NP006 are left out: a rejected peer is missing from what was read, and a rule
/// without its peers would look open to everyone.
const PER_POLICY_RULES: &[&str] = &["NP002", "NP003", "NP004", "NP007", "NP010", "NP013"];

/// The loader's errors (objects the API server would reject, syntax errors, unreadable
/// files) as `NP017` findings, so that a report is complete even when the input is not.
/// Empty when NP017 is not enabled.
pub fn input_errors(diagnostics: &[Diagnostic], settings: &Settings) -> Vec<Diagnostic> {
    diagnostics
        .iter()
        .filter_map(|d| {
            let code = input_error_code(d, settings)?;
            let mut d = d.clone();
            d.code = Some(code);
            Some(d)
        })
        .collect()
}

/// The code under which [`input_errors`] reports a loader diagnostic, `None` when it is not
/// a finding (not an error, or its rule is disabled). An error the loader tagged with a lint
/// rule of its own (NP025) is that rule's finding when the rule is enabled, else an invalid
/// object (NP017) like any other.
pub fn input_error_code(d: &Diagnostic, settings: &Settings) -> Option<&'static str> {
    if !d.is_error() {
        return None;
    }
    match d.code {
        Some(own) if rule(own).is_some() && settings.is_enabled(own) => Some(own),
        _ if settings.is_enabled(INVALID_OBJECT) => Some(INVALID_OBJECT),
        _ => None,
    }
}

/// Findings of the per-policy rules on policies the loader rejected (`rejected`: namespace
/// name and the policy as far as it was read), so that an invalid `except` does not hide a
/// host-bits CIDR or a wrong namespace label in the same policy. The policies are added to
/// `model` (with their namespaces) to be judged: call this after [`lint`], on a model that
/// is not analysed further. Only findings inside the rejected policies are returned.
pub fn lint_rejected(
    model: &mut Model,
    rejected: Vec<(String, palisade_model::Policy)>,
    settings: &Settings,
) -> Vec<Diagnostic> {
    if rejected.is_empty() {
        return Vec::new();
    }
    let spans: Vec<palisade_diag::Span> = rejected.iter().filter_map(|(_, p)| p.span).collect();
    for (namespace, mut policy) in rejected {
        policy.namespace = model.ensure_namespace(&namespace);
        model.add_policy(policy);
    }
    let settings = settings.restricted_to(PER_POLICY_RULES);
    let inside = |d: &Diagnostic| {
        d.span.is_some_and(|s| {
            spans
                .iter()
                .any(|r| r.source == s.source && r.start <= s.start && s.end <= r.end)
        })
    };
    lint(model, &[], &settings)
        .into_iter()
        .filter(inside)
        .collect()
}
