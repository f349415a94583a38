//! ## What it does
//! Finds a policy that selects pods running with `hostNetwork: true`.
//!
//! ## Why is this bad?
//! NetworkPolicy does not apply to pods on the host network (most network plugins cannot
//! tell their traffic from the node's). The policy looks like it protects them and does
//! not; their traffic is neither isolated nor restricted.
//!
//! ## Example
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: node-exporter, namespace: monitoring}
//! spec:
//!   podSelector: {matchLabels: {app: node-exporter}}   # a hostNetwork DaemonSet
//!   policyTypes: [Ingress]
//! ```
//!
//! Use instead:
//! ```yaml
//! # protect hostNetwork pods with host firewall rules, not NetworkPolicy
//! ```
//!
//! ## References
//! - [Kubernetes: Network Policies, what you can't do](https://kubernetes.io/docs/concepts/services-networking/network-policies/#what-you-can-t-do-with-network-policies-at-least-not-yet)

use super::{Context, finding, names};
use palisade_diag::Diagnostic;
use palisade_engine::semantics;

const CODE: &str = "NP016";

/// NP016
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        let mut hosts: Vec<String> = ctx
            .host_network_pods
            .iter()
            .copied()
            .filter(|p| {
                let pod = &model.pods[p.index()];
                // Selected if NetworkPolicy applied to it.
                semantics::policy_selects(policy, pod.namespace, &pod.labels, false)
            })
            .map(|p| model.pod_workload_name(p))
            .collect();
        hosts.dedup();
        if hosts.is_empty() {
            continue;
        }
        out.push(
            finding(
                CODE,
                format!(
                    "policy {} selects hostNetwork pods ({}): NetworkPolicy does not apply to them",
                    ctx.policy_name(id),
                    names(&hosts, 3)
                ),
            )
            .with_opt_span(policy.pod_selector.span.or(policy.span))
            .with_help("narrow the podSelector to pods on the pod network; protect host-network pods with host firewall rules"),
        );
    }
}
