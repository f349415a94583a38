//! ## What it does
//! Finds an Admin-tier `Pass` rule whose subject pods have no NetworkPolicy for that
//! direction.
//!
//! ## Why is this bad?
//! `Pass` hands the decision to the namespace's NetworkPolicies. Where none isolates the
//! pod, the Baseline tier decides, or nothing does and the traffic is allowed: often not
//! what "let the namespace owner decide" was meant to do.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - action: Pass
//!   from: [{namespaces: {}}]
//! # ...and the subject's namespace has no NetworkPolicy selecting the pods
//! ```
//!
//! Use instead: add the NetworkPolicy the Pass relies on, or Accept/Deny in the Admin tier.
//!
//! ## Notes
//! Only runs when the input has pods or workloads. One finding per rule, naming the first
//! pods concerned.

use super::{Context, finding, names};
use palisade_diag::Diagnostic;
use palisade_engine::{Reference, admin};
use palisade_model::{AdminAction, AdminTier, Direction};

const CODE: &str = "NP021";

/// NP021
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_pods {
        return;
    }
    let model = ctx.model;
    let reference = Reference::new(model);
    for policy in model
        .admin_policies
        .iter()
        .filter(|p| p.tier == AdminTier::Admin)
    {
        let subjects: Vec<_> = admin::subjects(model, policy);
        for direction in [Direction::Ingress, Direction::Egress] {
            let open: Vec<String> = subjects
                .iter()
                .filter(|&&p| reference.isolating_policies(p, direction).is_empty())
                .map(|&p| model.pod_name(p))
                .collect();
            if open.is_empty() {
                continue;
            }
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                if rule.action != AdminAction::Pass {
                    continue;
                }
                out.push(
                    finding(
                        CODE,
                        format!(
                            "{} {} rule {index} passes to NetworkPolicy, but no NetworkPolicy isolates {} for {}: the Baseline tier or the default (allow) decides",
                            policy.display_name(),
                            direction.as_str().to_lowercase(),
                            names(&open, 3),
                            direction.as_str().to_lowercase(),
                        ),
                    )
                    .with_opt_span(rule.span.or(policy.span))
                    .with_help(
                        "add the NetworkPolicy the Pass relies on, or decide here with Accept or Deny",
                    ),
                );
            }
        }
    }
}
