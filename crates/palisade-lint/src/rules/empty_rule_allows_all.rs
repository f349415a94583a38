//! ## What it does
//! Finds a rule that allows everything because it is empty (`- {}`), or because it writes
//! `from: []`, `to: []` or `ports: []`: an empty list means "all", exactly like a missing
//! one.
//!
//! ## Why is this bad?
//! An empty list reads like "nothing" and means "everything". It is usually left over
//! from a template or an edit that removed the last entry, and it silently opens the pods
//! to all peers or on all ports.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - from: []
//!   ports:
//!   - port: 8080
//! ```
//!
//! Use instead:
//! ```yaml
//! ingress:
//! - from:
//!   - podSelector: {matchLabels: {app: frontend}}
//!   ports:
//!   - port: 8080
//! ```
//!
//! ## References
//! - [Kubernetes: Network Policies, default policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies)

use super::{Context, finding};
use palisade_diag::Diagnostic;
use palisade_model::{Direction, ListForm};

const CODE: &str = "NP006";

/// NP006
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        for direction in [Direction::Ingress, Direction::Egress] {
            let (side, field, who) = match direction {
                Direction::Ingress => ("ingress", "from", "every source"),
                Direction::Egress => ("egress", "to", "every destination"),
            };
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                let what = match (rule.peers_form, rule.ports_form) {
                    (ListForm::Missing, ListForm::Missing) => {
                        format!("is empty (`{{}}`): it allows all {side} traffic")
                    }
                    (ListForm::Empty, ListForm::Empty) => {
                        format!("has `{field}: []` and `ports: []`: it allows all {side} traffic")
                    }
                    (ListForm::Empty, _) => {
                        format!("has `{field}: []`, which admits {who}, not none")
                    }
                    (_, ListForm::Empty) => {
                        "has `ports: []`, which allows every port, not none".to_string()
                    }
                    _ => continue,
                };
                let span = match (rule.peers_form, rule.ports_form, rule.span) {
                    (ListForm::Empty, ListForm::Items, Some(s)) => {
                        Some(ctx.find_in(s, None, field))
                    }
                    (ListForm::Items, ListForm::Empty, Some(s)) => {
                        Some(ctx.find_in(s, None, "ports"))
                    }
                    (_, _, s) => s,
                };
                out.push(
                    finding(CODE, format!("{side} rule {index} of {} {what}", ctx.policy_name(id)))
                        .with_opt_span(span.or(policy.span))
                        .with_help(format!(
                            "list the peers and ports to allow; to allow all on purpose, remove the rule's `{field}`/`ports` keys and annotate the policy `palisade.dev/ignore: \"NP006\"`"
                        )),
                );
            }
        }
    }
}
