//! ## What it does
//! Finds a workload that no policy isolates for ingress (or egress) while other workloads
//! of its namespace are isolated in that direction.
//!
//! ## Why is this bad?
//! When a namespace is locked down workload by workload, the one that was forgotten
//! (added later, relabelled, renamed) stays open to every pod of the cluster. Unlike a
//! namespace with no policy at all (NP012), nothing about it looks wrong on its own.
//!
//! ## Example
//! ```yaml
//! # namespace shop: policies select app=cart and app=catalog; Deployment "search"
//! # (app=search) has none
//! ```
//!
//! Use instead:
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: default-deny, namespace: shop}
//! spec:
//!   podSelector: {}
//!   policyTypes: [Ingress, Egress]
//! ```
//!
//! ## Notes
//! Annotate the workload `palisade.dev/ignore: "NP015"` when it is open on purpose.
//!
//! ## References
//! - [Kubernetes: Network Policies, the two sorts of pod isolation](https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation)

use super::{Context, finding, names};
use palisade_diag::Diagnostic;
use std::collections::BTreeMap;

const CODE: &str = "NP015";

/// NP015
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    if model.policies.is_empty() {
        return;
    }
    let engine = ctx.engine();
    for (n, pods) in ctx.pods_by_namespace.iter().enumerate() {
        if ctx.policies_by_namespace[n].is_empty() {
            continue;
        }
        // Per workload (or bare pod): (ingress isolated for all its pods, egress likewise, span).
        let mut units: BTreeMap<String, (bool, bool, Option<palisade_diag::Span>)> =
            BTreeMap::new();
        let mut unit_pods: BTreeMap<String, Vec<palisade_model::PodId>> = BTreeMap::new();
        for &p in pods {
            let class = &engine.classes()[engine.class_of(p) as usize];
            let pod = &model.pods[p.index()];
            let span = pod
                .workload
                .and_then(|w| model.workloads[w.index()].span)
                .or(pod.span);
            unit_pods
                .entry(model.pod_workload_name(p))
                .or_default()
                .push(p);
            let entry = units
                .entry(model.pod_workload_name(p))
                .or_insert((true, true, span));
            entry.0 &= class.ingress_isolated;
            entry.1 &= class.egress_isolated;
        }
        let isolated_in = |dir: usize| {
            units
                .values()
                .filter(|u| if dir == 0 { u.0 } else { u.1 })
                .count()
        };
        let (ingress_count, egress_count) = (isolated_in(0), isolated_in(1));
        for (name, (ingress, egress, span)) in &units {
            let mut open = Vec::new();
            if !ingress && ingress_count > 0 {
                open.push(("ingress", ingress_count));
            }
            if !egress && egress_count > 0 {
                open.push(("egress", egress_count));
            }
            if open.is_empty() {
                continue;
            }
            let dirs: Vec<String> = open.iter().map(|(d, _)| d.to_string()).collect();
            let others = open.iter().map(|(_, c)| *c).max().unwrap_or(0);
            out.push(
                finding(
                    CODE,
                    format!(
                        "{name} is not isolated for {}, while {others} other workload{} in namespace {} {}",
                        names(&dirs, 2).replace(", ", " or "),
                        if others == 1 { "" } else { "s" },
                        model.namespaces[n].name,
                        if others == 1 { "is" } else { "are" }
                    ),
                )
                .with_opt_span(*span)
                .with_help(format!(
                    "add a policy selecting {name} (or a namespace-wide default deny) for {}",
                    dirs.join(" and ")
                ))
                .with_notes(
                    ctx.uncertain_note(unit_pods.get(name).into_iter().flatten().copied()),
                ),
            );
        }
    }
}
