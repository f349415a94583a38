//! ## What it does
//! Finds a namespace with pods or workloads and no NetworkPolicy at all.
//!
//! ## Why is this bad?
//! Pods no policy selects accept connections from everywhere and may connect anywhere.
//! In a cluster where other namespaces are locked down, an unprotected namespace is the
//! easy way in and the easy way out.
//!
//! ## Example
//! ```yaml
//! kind: Namespace
//! metadata: {name: batch}
//! # ... workloads, and no NetworkPolicy in namespace batch
//! ```
//!
//! Use instead:
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: default-deny, namespace: batch}
//! spec:
//!   podSelector: {}
//!   policyTypes: [Ingress, Egress]
//! ```
//!
//! ## Notes
//! hostNetwork pods are not counted: policies do not apply to them. Annotate the
//! Namespace `palisade.dev/ignore: "NP012"` when it is open on purpose.
//!
//! ## References
//! - [Kubernetes: Network Policies, default policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies)

use super::{Context, finding};
use palisade_diag::Diagnostic;
use std::collections::BTreeSet;

const CODE: &str = "NP012";

/// NP012
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    for (n, ns) in model.namespaces.iter().enumerate() {
        let pods = &ctx.pods_by_namespace[n];
        if pods.is_empty() || !ctx.policies_by_namespace[n].is_empty() {
            continue;
        }
        let workloads: BTreeSet<String> =
            pods.iter().map(|&p| model.pod_workload_name(p)).collect();
        let workloads: Vec<String> = workloads.into_iter().collect();
        let first_span = pods.iter().find_map(|&p| {
            let pod = &model.pods[p.index()];
            pod.workload
                .and_then(|w| model.workloads[w.index()].span)
                .or(pod.span)
        });
        let uncertain = ctx.uncertain_note(pods.iter().copied());
        out.push(
            finding(
                CODE,
                format!(
                    "namespace {} has {} workload{} ({}) and no NetworkPolicy: all traffic to and from them is allowed",
                    ns.name,
                    workloads.len(),
                    if workloads.len() == 1 { "" } else { "s" },
                    super::names(&workloads, 3)
                ),
            )
            .with_opt_span(ns.span.or(first_span))
            .with_help(format!(
                "add a default-deny policy to namespace {} (podSelector: {{}}, policyTypes: [Ingress, Egress]) and allow what is needed",
                ns.name
            ))
            .with_notes(uncertain),
        );
    }
}
