//! The rules, one file each, and what they share: [`Context`] (the model, its compiled
//! engine and indexes) and helpers to build findings.

mod admin_accept_bypasses_networkpolicy;
mod admin_baseline_deny_overridden;
mod admin_domain_names_without_accept;
mod admin_equal_priority;
mod admin_pass_without_networkpolicy;
mod admin_rule_shadowed;
mod admin_subject_selects_nothing;
mod cidr_suspicious;
mod dns_egress_blocked;
mod empty_rule_allows_all;
mod host_network_selected;
mod invalid_object;
mod named_port_unresolved;
mod namespace_without_policy;
mod open_to_all;
mod peer_selects_nothing;
mod policy_in_empty_namespace;
mod policy_selects_nothing;
mod policy_types_mismatch;
mod redundant;
mod unevaluated_policy;
mod unknown_field;
mod unprotected_workload;
mod wrong_namespace_label;
mod yaml11_scalar;

#[cfg(test)]
mod tests;

use crate::registry::rule;
use crate::settings::Settings;
use palisade_diag::{Diagnostic, Span};
use palisade_engine::{Engine, Uncertainty, semantics};
use palisade_model::{LabelSelector, Model, PodId, Policy, PolicyId};
use std::sync::OnceLock;

/// What every rule sees.
pub(crate) struct Context<'m> {
    pub model: &'m Model,
    engine: OnceLock<Engine>,
    uncertainty: OnceLock<Uncertainty>,
    /// Whether the input has any pod or workload: rules about selected pods only run then
    /// (a directory of policies alone says nothing about what they select).
    pub has_pods: bool,
    /// Whether any namespace is declared: rules about namespace labels only run then.
    pub has_namespaces: bool,
    /// Pods (not hostNetwork) per namespace.
    pub pods_by_namespace: Vec<Vec<PodId>>,
    /// Policies per namespace.
    pub policies_by_namespace: Vec<Vec<PolicyId>>,
    /// Pods on the host network (few; rules about them must not scan every pod per policy).
    pub host_network_pods: Vec<PodId>,
}

impl<'m> Context<'m> {
    pub fn new(model: &'m Model) -> Self {
        let mut pods_by_namespace = vec![Vec::new(); model.namespaces.len()];
        let mut host_network_pods = Vec::new();
        for id in model.pod_ids() {
            let pod = &model.pods[id.index()];
            if semantics::policy_applies_to(pod.host_network) {
                pods_by_namespace[pod.namespace.index()].push(id);
            }
            if pod.host_network {
                host_network_pods.push(id);
            }
        }
        let mut policies_by_namespace = vec![Vec::new(); model.namespaces.len()];
        for id in model.policy_ids() {
            policies_by_namespace[model.policies[id.index()].namespace.index()].push(id);
        }
        Context {
            model,
            engine: OnceLock::new(),
            uncertainty: OnceLock::new(),
            has_pods: !model.pods.is_empty(),
            has_namespaces: model.namespaces.iter().any(|n| n.declared),
            pods_by_namespace,
            policies_by_namespace,
            host_network_pods,
        }
    }

    /// The compiled engine, built on first use.
    pub fn engine(&self) -> &Engine {
        self.engine.get_or_init(|| Engine::new(self.model))
    }

    /// Which pods unevaluated policies may select, computed on first use.
    pub fn uncertainty(&self) -> &Uncertainty {
        self.uncertainty
            .get_or_init(|| Uncertainty::new(self.model))
    }

    /// A note for findings about `pods` when policies Palisade does not evaluate may select
    /// them (see NP018).
    pub fn uncertain_note(&self, pods: impl IntoIterator<Item = PodId>) -> Option<String> {
        let names = self.uncertainty().names(self.model, pods);
        (!names.is_empty()).then(|| {
            format!(
                "uncertain: {} may also select these pods and is not evaluated (NP018)",
                names.join(", ")
            )
        })
    }

    /// The pods a policy selects as its subjects ([`semantics::policy_selects`]).
    pub fn subjects(&self, policy: &Policy) -> Vec<PodId> {
        self.pods_by_namespace[policy.namespace.index()]
            .iter()
            .copied()
            .filter(|&p| {
                let pod = &self.model.pods[p.index()];
                semantics::policy_selects(policy, pod.namespace, &pod.labels, pod.host_network)
            })
            .collect()
    }

    /// The source text of a span.
    pub fn text(&self, span: Span) -> &str {
        &self.model.sources.get(span.source).text[span.start as usize..span.end as usize]
    }

    /// The span of `value` written after `key` inside `span` (a `key: value` entry), or of
    /// the first `value` in it, or `span` itself.
    pub fn find_in(&self, span: Span, key: Option<&str>, value: &str) -> Span {
        let text = self.text(span);
        let after_key = key.and_then(|k| text.find(k).map(|i| i + k.len()));
        let pos = after_key
            .and_then(|from| text[from..].find(value).map(|i| from + i))
            .or_else(|| text.find(value));
        match pos {
            Some(i) if !value.is_empty() => {
                let start = span.start + i as u32;
                Span {
                    source: span.source,
                    start,
                    end: start + value.len() as u32,
                }
            }
            _ => span,
        }
    }

    /// `ns/name` of a policy.
    pub fn policy_name(&self, id: PolicyId) -> String {
        self.model.policy_name(id)
    }
}

/// A finding of a rule, with the rule's code and default severity.
pub(crate) fn finding(code: &'static str, message: impl Into<String>) -> Diagnostic {
    let info = rule(code).expect("registered code");
    Diagnostic::new(info.severity, message).with_code(info.code)
}

/// `rule 2` or `rule 2 "deny-dev"`: an admin rule by index, with its name when it has one.
pub(crate) fn admin_rule_label(index: usize, rule: &palisade_model::AdminRule) -> String {
    if rule.name.is_empty() {
        format!("rule {index}")
    } else {
        format!("rule {index} \"{}\"", rule.name)
    }
}

/// Names, joined for a message: `a, b and 3 more`.
pub(crate) fn names(items: &[String], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    let rest = items.len().saturating_sub(max);
    match (shown.len(), rest) {
        (0, _) => String::new(),
        (1, 0) => shown[0].to_string(),
        (_, 0) => format!(
            "{} and {}",
            shown[..shown.len() - 1].join(", "),
            shown[shown.len() - 1]
        ),
        _ => format!("{} and {rest} more", shown.join(", ")),
    }
}

/// Edit distance, for "did you mean" suggestions.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest candidate within a distance proportional to the word's length.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

type Check = fn(&Context<'_>, &mut Vec<Diagnostic>);

const CHECKS: &[(&str, Check)] = &[
    ("NP001", dns_egress_blocked::check),
    ("NP002", policy_selects_nothing::check),
    ("NP003", peer_selects_nothing::check),
    ("NP004", named_port_unresolved::check),
    ("NP005", open_to_all::check),
    ("NP006", empty_rule_allows_all::check),
    ("NP007", policy_types_mismatch::check),
    ("NP008", unknown_field::check),
    ("NP009", yaml11_scalar::check),
    ("NP010", cidr_suspicious::check),
    ("NP011", redundant::check),
    ("NP012", namespace_without_policy::check),
    ("NP013", wrong_namespace_label::check),
    ("NP014", policy_in_empty_namespace::check),
    ("NP015", unprotected_workload::check),
    ("NP016", host_network_selected::check),
    ("NP017", invalid_object::check),
    ("NP018", unevaluated_policy::check),
    ("NP019", admin_equal_priority::check),
    ("NP020", admin_subject_selects_nothing::check),
    ("NP021", admin_pass_without_networkpolicy::check),
    ("NP022", admin_rule_shadowed::check),
    ("NP023", admin_baseline_deny_overridden::check),
    ("NP024", admin_accept_bypasses_networkpolicy::check),
    ("NP025", admin_domain_names_without_accept::check),
];

/// Runs every enabled rule.
pub(crate) fn run(model: &Model, settings: &Settings) -> Vec<Diagnostic> {
    let ctx = Context::new(model);
    let mut out = Vec::new();
    for (code, check) in CHECKS {
        if settings.is_enabled(code) {
            check(&ctx, &mut out);
        }
    }
    out
}

/// For a selector that matches none of `candidates` (label sets), the first `key: value`
/// that no candidate has, with the closest existing label: (span of the value, help).
fn suggest_labels<'a>(
    ctx: &Context<'_>,
    selector: &LabelSelector,
    candidates: &[&'a palisade_model::Labels],
    fallback: Option<Span>,
) -> (Option<Span>, Option<String>) {
    let pairs = selector.match_labels.iter().map(|(k, v)| (k, v)).chain(
        selector
            .match_expressions
            .iter()
            .filter(|r| r.operator == palisade_model::Operator::In)
            .flat_map(|r| r.values.iter().map(move |v| (&r.key, v))),
    );
    for (key, value) in pairs {
        if candidates.iter().any(|l| l.get(key) == Some(value)) {
            continue;
        }
        let span = selector
            .span
            .map(|s| ctx.find_in(s, Some(key), value))
            .or(fallback);
        let values: Vec<&'a str> = candidates
            .iter()
            .filter_map(|l| l.get(key).map(String::as_str))
            .collect();
        if let Some(best) = closest(value, values.iter().copied()) {
            return (span, Some(format!("did you mean {key}={best}?")));
        }
        if values.is_empty() {
            let keys: Vec<&'a str> = candidates
                .iter()
                .flat_map(|l| {
                    l.iter()
                        .filter(|(_, v)| *v == value)
                        .map(|(k, _)| k.as_str())
                })
                .collect();
            if let Some(best) = closest(key, keys.iter().copied()) {
                let span = selector
                    .span
                    .map(|s| ctx.find_in(s, None, key))
                    .or(fallback);
                return (span, Some(format!("did you mean {best}={value}?")));
            }
        }
        return (span, None);
    }
    (fallback, None)
}

/// [`suggest_labels`] over pods.
pub(crate) fn suggest(
    ctx: &Context<'_>,
    selector: &LabelSelector,
    pods: &[PodId],
    fallback: Option<Span>,
) -> (Option<Span>, Option<String>) {
    let labels: Vec<&palisade_model::Labels> = pods
        .iter()
        .map(|p| &ctx.model.pods[p.index()].labels)
        .collect();
    suggest_labels(ctx, selector, &labels, fallback)
}

/// [`suggest_labels`] over namespaces.
pub(crate) fn suggest_namespace(
    ctx: &Context<'_>,
    selector: &LabelSelector,
    fallback: Option<Span>,
) -> (Option<Span>, Option<String>) {
    let labels: Vec<&palisade_model::Labels> =
        ctx.model.namespaces.iter().map(|n| &n.labels).collect();
    suggest_labels(ctx, selector, &labels, fallback)
}
