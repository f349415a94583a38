//! ## What it does
//! Finds a policy whose `podSelector` matches no pod or workload of its namespace.
//!
//! ## Why is this bad?
//! A policy that selects nothing does nothing: the pods it was written for are not
//! isolated and its rules allow nothing. It is usually a label typo, or labels that
//! changed after the policy was written.
//!
//! ## Example
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: cart, namespace: shop}
//! spec:
//!   podSelector: {matchLabels: {app: kart}}
//! ```
//!
//! Use instead:
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: cart, namespace: shop}
//! spec:
//!   podSelector: {matchLabels: {app: cart}}
//! ```
//!
//! ## Notes
//! Only runs when the input has pods or workloads. A namespace without any is reported by
//! NP014 instead; a selector that matches only hostNetwork pods by NP016.
//!
//! ## References
//! - [Kubernetes: Labels and Selectors](https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/)

use super::{Context, finding, suggest};
use palisade_diag::Diagnostic;
use palisade_engine::semantics;

const CODE: &str = "NP002";

/// NP002
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_pods {
        return;
    }
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        let pods = &ctx.pods_by_namespace[policy.namespace.index()];
        if pods.is_empty() || !ctx.subjects(policy).is_empty() {
            continue;
        }
        // hostNetwork pods it would select are NP016's finding.
        let any_host = ctx.host_network_pods.iter().any(|&p| {
            let p = &model.pods[p.index()];
            semantics::policy_selects(policy, p.namespace, &p.labels, false)
        });
        if any_host {
            continue;
        }
        let ns = &model.namespace(policy.namespace).name;
        let (span, help) = suggest(
            ctx,
            &policy.pod_selector,
            pods,
            policy.pod_selector.span.or(policy.span),
        );
        out.push(
            finding(
                CODE,
                format!(
                    "policy {} selects no pod: no pod in namespace {ns} matches `{}`",
                    ctx.policy_name(id),
                    policy.pod_selector
                ),
            )
            .with_opt_span(span)
            .with_help(help.unwrap_or_else(|| {
                "fix the podSelector to match the pods' labels, or remove the policy".to_string()
            })),
        );
    }
}
