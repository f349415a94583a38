//! ## What it does
//! Finds an admin policy (ClusterNetworkPolicy, AdminNetworkPolicy,
//! BaselineAdminNetworkPolicy) whose `subject` selects no pod of the input.
//!
//! ## Why is this bad?
//! A guardrail that applies to nobody protects nobody; usually a label typo in the
//! namespace or pod selector.
//!
//! ## Example
//! ```yaml
//! subject:
//!   namespaces:
//!     matchLabels: {kubernetes.io/metadata.name: paymnets}
//! ```
//!
//! Use instead: select labels the namespaces and pods have.
//!
//! ## Notes
//! Only runs when the input has pods or workloads; hostNetwork pods are never subjects.

use super::{Context, finding};
use palisade_diag::Diagnostic;
use palisade_engine::admin;

const CODE: &str = "NP020";

/// NP020
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_pods {
        return;
    }
    let model = ctx.model;
    for policy in &model.admin_policies {
        if model
            .pods
            .iter()
            .any(|pod| admin::subject_selects(model, policy, pod))
        {
            continue;
        }
        out.push(
            finding(
                CODE,
                format!(
                    "{} selects no pod: its subject matches no pod of the input",
                    policy.display_name()
                ),
            )
            .with_opt_span(policy.span)
            .with_help("fix the subject's selectors to match the namespaces' and pods' labels"),
        );
    }
}
