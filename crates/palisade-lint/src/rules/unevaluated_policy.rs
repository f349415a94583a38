//! ## What it does
//! Reports every policy object of a kind Palisade does not evaluate — CiliumNetworkPolicy,
//! CiliumClusterwideNetworkPolicy, Calico NetworkPolicy and GlobalNetworkPolicy,
//! AdminNetworkPolicy and BaselineAdminNetworkPolicy, Istio AuthorizationPolicy, Antrea
//! policies — with the pods it may select.
//!
//! ## Why is this bad?
//! Those policies allow or deny traffic too, often before NetworkPolicy is consulted. Every
//! verdict, connectivity row, audit line and finding Palisade gives about the pods they may
//! select describes NetworkPolicy alone and may be wrong: a namespace that looks open may be
//! isolated by a CiliumNetworkPolicy, a connection NetworkPolicy allows may be denied by a
//! Calico GlobalNetworkPolicy. Palisade marks those answers uncertain; this finding says
//! why.
//!
//! ## Example
//! ```yaml
//! apiVersion: cilium.io/v2
//! kind: CiliumNetworkPolicy
//! metadata: {name: api, namespace: shop}
//! spec:
//!   endpointSelector: {matchLabels: {app: api}}
//! ```
//!
//! Use instead:
//! ```yaml
//! # The same intent as a networking.k8s.io/v1 NetworkPolicy, when it can be expressed
//! # (no L7 rules, no node or entity selectors): Palisade then evaluates it.
//! apiVersion: networking.k8s.io/v1
//! kind: NetworkPolicy
//! metadata: {name: api, namespace: shop}
//! spec:
//!   podSelector: {matchLabels: {app: api}}
//! ```
//!
//! ## Notes
//! "May select" is conservative: every pod of the object's namespace (every pod for
//! cluster-wide kinds), narrowed only by a selector made of required labels. Suppress it with
//! `palisade.dev/ignore: "NP018"` on a namespace once you have checked the object.
//!
//! ## References
//! - [Cilium: Network Policy](https://docs.cilium.io/en/stable/security/policy/)
//! - [Calico: Network policy](https://docs.tigera.io/calico/latest/network-policy/)
//! - [AdminNetworkPolicy (KEP-2091)](https://network-policy-api.sigs.k8s.io/)

use super::{Context, finding, names};
use palisade_diag::Diagnostic;
use std::collections::BTreeSet;

const CODE: &str = "NP018";

/// NP018
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    let uncertainty = ctx.uncertainty();
    for (i, u) in model.unevaluated.iter().enumerate() {
        let workloads: BTreeSet<String> = model
            .pod_ids()
            .filter(|&p| uncertainty.of_pod(p).contains(&(i as u32)))
            .map(|p| model.pod_workload_name(p))
            .collect();
        let workloads: Vec<String> = workloads.into_iter().collect();
        let selects = if workloads.is_empty() {
            "no pod of the input".to_string()
        } else {
            format!(
                "{} workload{} ({})",
                workloads.len(),
                if workloads.len() == 1 { "" } else { "s" },
                names(&workloads, 3)
            )
        };
        out.push(
            finding(
                CODE,
                format!(
                    "{} is not evaluated by Palisade; it may select {selects}, whose answers are uncertain",
                    model.unevaluated_name(i)
                ),
            )
            .with_opt_span(u.span)
            .with_help(
                "check what it allows and denies by hand; verdicts, connectivity, audit and the \
                 other findings for these pods describe NetworkPolicy alone",
            ),
        );
    }
}
