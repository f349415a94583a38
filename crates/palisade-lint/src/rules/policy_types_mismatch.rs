//! ## What it does
//! Finds egress (ingress) rules in a policy whose `policyTypes` does not list `Egress`
//! (`Ingress`): the API server ignores those rules. Also finds a direction listed in
//! `policyTypes` with no rules while the other direction has some: every connection in
//! that direction is denied for the selected pods, which is rarely what a policy about
//! the other direction meant.
//!
//! ## Why is this bad?
//! `policyTypes` decides which directions a policy isolates and which rule lists count.
//! Rules of an unlisted direction are dropped without a warning, so the traffic they were
//! written for is either denied by another policy or was never restricted.
//!
//! ## Example
//! ```yaml
//! spec:
//!   podSelector: {matchLabels: {app: api}}
//!   policyTypes: [Ingress]
//!   egress:
//!   - to: [{podSelector: {matchLabels: {app: db}}}]
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   podSelector: {matchLabels: {app: api}}
//!   policyTypes: [Ingress, Egress]
//!   egress:
//!   - to: [{podSelector: {matchLabels: {app: db}}}]
//! ```
//!
//! ## Notes
//! Ignored rules are errors; a listed direction without rules is a warning. A policy
//! without any rules (a plain default deny) is not reported, and neither is a direction
//! written as an empty list (`ingress: []`): that spells out a deliberate deny-all, as
//! `palisade generate` writes it for a workload nothing was seen connecting to.
//!
//! ## References
//! - [Kubernetes API: NetworkPolicySpec policyTypes](https://kubernetes.io/docs/reference/kubernetes-api/networking/network-policy-v1/#NetworkPolicySpec)

use super::{Context, finding};
use palisade_diag::{Diagnostic, Severity};
use palisade_model::{Direction, ListForm};

const CODE: &str = "NP007";

/// NP007
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        let Some(types) = &policy.declared_policy_types else {
            continue;
        };
        let listed = |d: Direction| types.iter().any(|(t, _)| *t == d);
        let types_text: Vec<&str> = types.iter().map(|(d, _)| d.as_str()).collect();
        for (direction, rules, form) in [
            (Direction::Ingress, &policy.ingress, policy.ingress_form),
            (Direction::Egress, &policy.egress, policy.egress_form),
        ] {
            let other_form = match direction {
                Direction::Ingress => policy.egress_form,
                Direction::Egress => policy.ingress_form,
            };
            let name = direction.as_str();
            let lower = name.to_lowercase();
            if !listed(direction) && form == ListForm::Items {
                let mut d = finding(
                    CODE,
                    format!(
                        "{} has {} {lower} rule{} but policyTypes [{}] does not list {name}: they are ignored",
                        ctx.policy_name(id),
                        rules.len(),
                        if rules.len() == 1 { "" } else { "s" },
                        types_text.join(", ")
                    ),
                )
                .with_opt_span(rules.first().and_then(|r| r.span).or(policy.span))
                .with_help(format!("add `{name}` to policyTypes, or remove the {lower} rules"));
                if let Some(s) = types.first().and_then(|(_, s)| *s) {
                    d = d.with_label(s, "policyTypes listed here");
                }
                out.push(d);
            } else if listed(direction)
                && form == ListForm::Missing
                && other_form == ListForm::Items
            {
                let span = types
                    .iter()
                    .find(|(t, _)| *t == direction)
                    .and_then(|(_, s)| *s);
                let mut d = finding(
                    CODE,
                    format!(
                        "{} lists {name} in policyTypes but has no {lower} rules: all {lower} of the pods it selects is denied",
                        ctx.policy_name(id)
                    ),
                )
                .with_opt_span(span.or(policy.span))
                .with_help(format!(
                    "remove `{name}` from policyTypes if this policy is only about the other direction; keep deny-all {lower} in a separate default-deny policy"
                ));
                d.severity = Severity::Warning;
                out.push(d);
            }
        }
    }
}
