//! ## What it does
//! Finds two admin policies (ClusterNetworkPolicy, AdminNetworkPolicy) of the same tier with
//! the same `priority`.
//!
//! ## Why is this bad?
//! When two policies of one tier share a priority and both match a connection, the API
//! leaves the order to the implementation: one CNI may apply the Deny, another the Accept.
//! Palisade evaluates them in name order, which your CNI need not do.
//!
//! ## Example
//! ```yaml
//! kind: ClusterNetworkPolicy
//! metadata: {name: deny-db}
//! spec: {tier: Admin, priority: 10, ...}
//! ---
//! kind: ClusterNetworkPolicy
//! metadata: {name: allow-backup}
//! spec: {tier: Admin, priority: 10, ...}
//! ```
//!
//! Use instead: give each policy its own priority (lower is evaluated first).
//!
//! ## References
//! - [network-policy-api: ClusterNetworkPolicy priority](https://network-policy-api.sigs.k8s.io/)

use super::{Context, finding};
use palisade_diag::Diagnostic;
use palisade_engine::admin;
use palisade_model::AdminTier;

const CODE: &str = "NP019";

/// NP019
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    for tier in [AdminTier::Admin, AdminTier::Baseline] {
        let order = admin::evaluation_order(model, tier);
        for pair in order.windows(2) {
            let (first, second) = (
                &model.admin_policies[pair[0] as usize],
                &model.admin_policies[pair[1] as usize],
            );
            // The BANP is a singleton without a priority.
            if first.priority != second.priority
                || second.kind == palisade_model::AdminKind::BaselineAdminNetworkPolicy
            {
                continue;
            }
            let mut d = finding(
                CODE,
                format!(
                    "{} has the same priority ({}) as {} in the {} tier: their order is implementation-defined",
                    second.display_name(),
                    second.priority,
                    first.display_name(),
                    tier.as_str()
                ),
            )
            .with_opt_span(second.span)
            .with_help(
                "give each policy of a tier its own priority; Palisade evaluates equal priorities in name order",
            );
            if let Some(span) = first.span {
                d = d.with_label(span, "same priority");
            }
            out.push(d);
        }
    }
}
