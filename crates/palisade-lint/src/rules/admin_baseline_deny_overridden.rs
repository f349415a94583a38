//! ## What it does
//! Finds a Baseline-tier `Deny` rule that never applies: every pod its policy selects is
//! isolated by NetworkPolicies for that direction, and the Baseline tier is only consulted
//! for pods no NetworkPolicy isolates.
//!
//! ## Why is this bad?
//! The Baseline tier is a default for namespaces that have not written their own policies.
//! Where every selected pod already has NetworkPolicies for the direction, those decide
//! (allow or deny) and the baseline guardrail does nothing: a reader of the guardrail
//! believes traffic is denied that the NetworkPolicies may well allow.
//!
//! ## Example
//! ```yaml
//! kind: BaselineAdminNetworkPolicy
//! metadata: {name: default}
//! spec:
//!   subject: {namespaces: {matchLabels: {team: shop}}}
//!   ingress:
//!   - action: Deny            # never applies: shop's pods all have ingress policies
//!     from: [{namespaces: {}}]
//! ```
//!
//! Use instead: if the deny must hold whatever the namespaces write, make it an Admin-tier
//! rule; otherwise remove it.
//!
//! ## Notes
//! Only runs when the input has pods or workloads, and only on rules whose policy selects
//! at least one pod (NP020 reports a subject that selects nothing).

use super::{Context, admin_rule_label, finding, names};
use palisade_diag::Diagnostic;
use palisade_engine::{Reference, admin};
use palisade_model::{AdminAction, AdminTier, Direction};

const CODE: &str = "NP023";

/// NP023
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_pods {
        return;
    }
    let model = ctx.model;
    let reference = Reference::new(model);
    for policy in model
        .admin_policies
        .iter()
        .filter(|p| p.tier == AdminTier::Baseline)
    {
        let subjects: Vec<_> = admin::subjects(model, policy);
        if subjects.is_empty() {
            continue;
        }
        for direction in [Direction::Ingress, Direction::Egress] {
            let dir = direction.as_str().to_lowercase();
            let isolating: Vec<_> = subjects
                .iter()
                .map(|&p| reference.isolating_policies(p, direction))
                .collect();
            if isolating.iter().any(Vec::is_empty) {
                continue;
            }
            let mut deciding: Vec<_> = isolating.into_iter().flatten().collect();
            deciding.sort();
            deciding.dedup();
            let pods: Vec<String> = subjects.iter().map(|&p| model.pod_name(p)).collect();
            let policies: Vec<String> = deciding.iter().map(|&p| model.policy_name(p)).collect();
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                if rule.action != AdminAction::Deny {
                    continue;
                }
                let mut d = finding(
                    CODE,
                    format!(
                        "{} {dir} {} (Deny) never applies: every pod it selects ({}) is isolated for {dir} by NetworkPolicies ({}), which decide before the Baseline tier",
                        policy.display_name(),
                        admin_rule_label(index, rule),
                        names(&pods, 3),
                        names(&policies, 3),
                    ),
                )
                .with_opt_span(rule.span.or(policy.span))
                .with_help(
                    "make it an Admin-tier rule if it must hold whatever the namespaces allow, or remove it",
                );
                if let Some(span) = deciding
                    .first()
                    .and_then(|&p| model.policies[p.index()].span)
                {
                    d = d.with_label(span, "decides first");
                }
                out.push(d);
            }
        }
    }
}
