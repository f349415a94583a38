//! ## What it does
//! Finds a policy in a namespace that has no pods or workloads in the input.
//!
//! ## Why is this bad?
//! A policy only selects pods of its own namespace. A policy in a namespace with nothing
//! in it was usually applied in the wrong one: a missing or mistyped
//! `metadata.namespace`, or `kubectl apply` without `-n`, which puts it in `default`.
//!
//! ## Example
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: payments-api}   # no namespace: lands in "default"
//! spec:
//!   podSelector: {matchLabels: {app: payments-api}}
//! ```
//!
//! Use instead:
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: payments-api, namespace: payments}
//! spec:
//!   podSelector: {matchLabels: {app: payments-api}}
//! ```
//!
//! ## Notes
//! Only runs when the input has pods or workloads.
//!
//! ## References
//! - [Kubernetes: Network Policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/)

use super::{Context, finding};
use palisade_diag::Diagnostic;

const CODE: &str = "NP014";

/// NP014
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_pods {
        return;
    }
    let model = ctx.model;
    // Namespaces with a pod or a workload, once (not a scan of every pod per policy).
    let mut occupied = vec![false; model.namespaces.len()];
    for pod in &model.pods {
        occupied[pod.namespace.index()] = true;
    }
    for workload in &model.workloads {
        occupied[workload.namespace.index()] = true;
    }
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        if occupied[policy.namespace.index()] {
            continue;
        }
        let ns = &model.namespace(policy.namespace).name;
        // Where the pods it selects are.
        let elsewhere = model
            .pod_ids()
            .find(|p| {
                let pod = &model.pods[p.index()];
                !policy.pod_selector.is_empty() && policy.pod_selector.matches(&pod.labels)
            })
            .map(|p| {
                model
                    .namespace(model.pods[p.index()].namespace)
                    .name
                    .clone()
            });
        let span = policy.span.map(|s| ctx.find_in(s, Some("namespace:"), ns));
        let span = span.filter(|s| Some(*s) != policy.span).or(policy.span);
        out.push(
            finding(
                CODE,
                format!(
                    "policy {} is in namespace {ns}, which has no pods or workloads: it selects nothing",
                    ctx.policy_name(id)
                ),
            )
            .with_opt_span(span)
            .with_help(match elsewhere {
                Some(other) => format!(
                    "policies only select pods of their own namespace; pods it would select are in namespace {other}: set `metadata.namespace: {other}`"
                ),
                None => "policies only select pods of their own namespace: check metadata.namespace".to_string(),
            }),
        );
    }
}
