//! ## What it does
//! Finds pods that are isolated for egress and have no rule allowing DNS: UDP and TCP port
//! 53 to the cluster DNS pods (CoreDNS/kube-dns, when the input has them), or to any
//! destination on port 53 when it does not.
//!
//! ## Why is this bad?
//! A default-deny egress policy also blocks name resolution. Every connection by name
//! then fails with a timeout that looks like a network outage, not like a policy. DNS
//! falls back to TCP for large answers, so both protocols are needed.
//!
//! ## Example
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: default-deny, namespace: shop}
//! spec:
//!   podSelector: {}
//!   policyTypes: [Ingress, Egress]
//! ```
//!
//! Use instead:
//! ```yaml
//! kind: NetworkPolicy
//! metadata: {name: allow-dns, namespace: shop}
//! spec:
//!   podSelector: {}
//!   policyTypes: [Egress]
//!   egress:
//!   - to:
//!     - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
//!       podSelector: {matchLabels: {k8s-app: kube-dns}}
//!     ports:
//!     - {protocol: UDP, port: 53}
//!     - {protocol: TCP, port: 53}
//! ```
//!
//! ## References
//! - [Kubernetes: DNS for Services and Pods](https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/)
//! - [Kubernetes: Network Policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/)

use super::{Context, finding, names};
use crate::suppress::suppresses;
use palisade_diag::Diagnostic;
use palisade_engine::{Entity, semantics};
use palisade_model::{Direction, Labels, PolicyId, Protocol};
use std::collections::BTreeMap;

const CODE: &str = "NP001";

/// Whether a pod is a cluster DNS server.
pub(crate) fn is_dns(labels: &Labels) -> bool {
    labels
        .get("k8s-app")
        .is_some_and(|v| v == "kube-dns" || v == "coredns")
        || labels
            .get("app.kubernetes.io/name")
            .is_some_and(|v| v == "coredns" || v == "kube-dns")
}

/// NP001
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    if model.policies.iter().all(|p| !p.affects_egress) {
        return;
    }
    let engine = ctx.engine();
    let dns_pods: Vec<_> = model
        .pod_ids()
        .filter(|p| is_dns(&model.pods[p.index()].labels))
        .collect();
    let mut dns_classes: Vec<u32> = dns_pods.iter().map(|&p| engine.class_of(p)).collect();
    dns_classes.sort_unstable();
    dns_classes.dedup();
    let dns_names: Vec<String> = {
        let mut v: Vec<String> = dns_pods
            .iter()
            .map(|&p| model.pod_workload_name(p))
            .collect();
        v.dedup();
        v
    };
    // Findings grouped by the policies isolating the egress: (policies) -> (workloads, missing).
    let mut groups: BTreeMap<Vec<PolicyId>, (Vec<String>, [bool; 2])> = BTreeMap::new();
    for (c, class) in engine.classes().iter().enumerate() {
        if !class.egress_isolated || class.host_network {
            continue;
        }
        let isolating: Vec<PolicyId> = engine
            .isolating_policies(c as u32, Direction::Egress)
            .to_vec();
        let allows = |protocol: Protocol| -> bool {
            if !dns_classes.is_empty() {
                return dns_classes.iter().any(|&d| {
                    engine
                        .verdict(Entity::Class(c as u32), Entity::Class(d), protocol, 53)
                        .egress
                        .allows()
                });
            }
            // No DNS pods known: any destination on port 53, a named port resolving on any
            // pod of the input.
            isolating.iter().any(|&p| {
                model.policies[p.index()]
                    .rules(Direction::Egress)
                    .iter()
                    .any(|rule| {
                        semantics::rule_port(rule, protocol, 53, None).is_some()
                            || model.pods.iter().any(|pod| {
                                semantics::rule_port(rule, protocol, 53, Some(&pod.ports)).is_some()
                            })
                    })
            })
        };
        let missing = [!allows(Protocol::Udp), !allows(Protocol::Tcp)];
        if !missing[0] && !missing[1] {
            continue;
        }
        let entry = groups
            .entry(isolating)
            .or_insert_with(|| (Vec::new(), [false; 2]));
        for &pod in &class.pods {
            let p = &model.pods[pod.index()];
            let annotations = p
                .workload
                .map_or(&p.annotations, |w| &model.workloads[w.index()].annotations);
            if suppresses(annotations, CODE) {
                continue;
            }
            entry.0.push(model.pod_workload_name(pod));
        }
        entry.1[0] |= missing[0];
        entry.1[1] |= missing[1];
    }
    for (policies, (mut workloads, missing)) in groups {
        workloads.sort();
        workloads.dedup();
        if workloads.is_empty() {
            continue;
        }
        let Some(&first) = policies.first() else {
            continue;
        };
        let policy = &model.policies[first.index()];
        let span = policy
            .declared_policy_types
            .as_ref()
            .and_then(|t| t.iter().find(|(d, _)| *d == Direction::Egress))
            .and_then(|(_, s)| *s)
            .or(policy.span);
        let what = match missing {
            [true, true] => "UDP 53 and TCP 53",
            [true, false] => "UDP 53",
            _ => "TCP 53",
        };
        let target = if dns_names.is_empty() {
            "any destination".to_string()
        } else {
            names(&dns_names, 2)
        };
        let policy_names: Vec<String> = policies.iter().map(|&p| ctx.policy_name(p)).collect();
        let mut d = finding(
            CODE,
            format!(
                "egress of {} is isolated by {} and allows no DNS: {what} to {target} denied",
                names(&workloads, 3),
                names(&policy_names, 2),
            ),
        )
        .with_opt_span(span)
        .with_help(
            "allow egress to the cluster DNS on UDP and TCP port 53 (namespaceSelector \
             kubernetes.io/metadata.name=kube-system, podSelector k8s-app=kube-dns)",
        );
        for &p in policies.iter().skip(1).take(2) {
            if let Some(s) = model.policies[p.index()].span {
                d = d.with_label(
                    s,
                    format!("{} also isolates their egress", ctx.policy_name(p)),
                );
            }
        }
        out.push(d);
    }
}
