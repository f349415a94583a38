//! The rules of the admin tiers (ClusterNetworkPolicy v1alpha2, AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy v1alpha1), each written once, as [`crate::semantics`] does for
//! NetworkPolicy.
//!
//! The reference calls these functions per query; the compiled engine calls them while it
//! builds each class's admin rule lists and peer sets. Tier order itself lives in
//! [`crate::tiers::decide`].

use crate::Endpoint;
use crate::semantics;
use palisade_model::{
    AdminAction, AdminPeerKind, AdminPolicy, AdminPortKind, AdminRule, AdminSubject, AdminTier,
    ContainerPort, Direction, LabelSelector, Labels, Model, Pod, PortSet, Protocol,
};
use std::net::IpAddr;

/// Which rule of which admin policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AdminRuleRef {
    /// Index into [`Model::admin_policies`].
    pub policy: u32,
    /// Ingress or egress.
    pub direction: Direction,
    /// Index of the rule in that direction's list.
    pub rule: u32,
}

/// The admin policies of a tier in evaluation order: priority ascending, then name (equal
/// priorities are implementation-defined upstream; Palisade decides by name and lint warns).
pub fn evaluation_order(model: &Model, tier: AdminTier) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..model.admin_policies.len() as u32)
        .filter(|&i| model.admin_policies[i as usize].tier == tier)
        .collect();
    ids.sort_by(|&a, &b| {
        let (a, b) = (
            &model.admin_policies[a as usize],
            &model.admin_policies[b as usize],
        );
        (a.priority, &a.name, a.kind).cmp(&(b.priority, &b.name, b.kind))
    });
    ids
}

/// Whether a selector pair (`namespaceSelector`, `podSelector`) selects a pod. Admin policies
/// never select hostNetwork pods, neither as subjects nor as pod/namespace peers.
fn namespaced_pod_selects(
    model: &Model,
    namespace_selector: &LabelSelector,
    pod_selector: Option<&LabelSelector>,
    pod: &Pod,
) -> bool {
    semantics::policy_applies_to(pod.host_network)
        && namespace_selector.matches(&model.namespace(pod.namespace).labels)
        && semantics::peer_pod_selected(pod_selector, &pod.labels)
}

/// Whether an admin policy's `subject` selects a pod (never a hostNetwork pod).
pub fn subject_selects(model: &Model, policy: &AdminPolicy, pod: &Pod) -> bool {
    match &policy.subject {
        AdminSubject::Namespaces(ns) => namespaced_pod_selects(model, ns, None, pod),
        AdminSubject::Pods {
            namespace_selector,
            pod_selector,
        } => namespaced_pod_selects(model, namespace_selector, Some(pod_selector), pod),
    }
}

/// The pods an admin policy's `subject` selects, in pod order.
pub fn subjects(model: &Model, policy: &AdminPolicy) -> Vec<palisade_model::PodId> {
    model
        .pod_ids()
        .filter(|&p| subject_selects(model, policy, &model.pods[p.index()]))
        .collect()
}

/// Whether a subject selects pods with these properties (for the compiled engine's classes).
pub fn subject_selects_labels(
    policy: &AdminPolicy,
    namespace_labels: &Labels,
    labels: &Labels,
    host_network: bool,
) -> bool {
    semantics::policy_applies_to(host_network)
        && match &policy.subject {
            AdminSubject::Namespaces(ns) => ns.matches(namespace_labels),
            AdminSubject::Pods {
                namespace_selector,
                pod_selector,
            } => namespace_selector.matches(namespace_labels) && pod_selector.matches(labels),
        }
}

/// The IPs a `nodes` peer selects: every address of every `Node` whose labels match.
pub fn node_ips<'m>(
    model: &'m Model,
    selector: &'m LabelSelector,
) -> impl Iterator<Item = IpAddr> + 'm {
    model
        .nodes
        .iter()
        .filter(|n| selector.matches(&n.labels))
        .flat_map(|n| n.ips.iter().copied())
}

/// Whether one admin peer selects an endpoint. `networks` and `nodes` match addresses, so
/// they match pods through their known IPs (as NetworkPolicy's ipBlock does); `domainNames`
/// never matches here: whether it does depends on DNS ([`depends_on_dns`]).
pub fn peer_selects(model: &Model, peer: &AdminPeerKind, other: Endpoint) -> bool {
    let addresses_match = |f: &dyn Fn(IpAddr) -> bool| match other {
        Endpoint::External(ip) => f(ip),
        Endpoint::Pod(pod) => model.pods[pod.index()].ips.iter().any(|&ip| f(ip)),
    };
    match peer {
        AdminPeerKind::Namespaces(ns) => match other {
            Endpoint::Pod(pod) => namespaced_pod_selects(model, ns, None, &model.pods[pod.index()]),
            Endpoint::External(_) => false,
        },
        AdminPeerKind::Pods {
            namespace_selector,
            pod_selector,
        } => match other {
            Endpoint::Pod(pod) => namespaced_pod_selects(
                model,
                namespace_selector,
                Some(pod_selector),
                &model.pods[pod.index()],
            ),
            Endpoint::External(_) => false,
        },
        AdminPeerKind::Networks(blocks) => {
            addresses_match(&|ip| blocks.iter().any(|b| b.contains(ip)))
        }
        AdminPeerKind::Nodes(selector) => {
            addresses_match(&|ip| node_ips(model, selector).any(|n| same_address(n, ip)))
        }
        AdminPeerKind::DomainNames(_) => false,
    }
}

fn same_address(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

/// The index of the first peer of a rule that selects `other`.
pub fn rule_peer(model: &Model, rule: &AdminRule, other: Endpoint) -> Option<usize> {
    rule.peers
        .iter()
        .position(|p| peer_selects(model, &p.kind, other))
}

/// Whether a `domainNames` entry matches a resolved name. Names compare without case and
/// without a trailing dot; `*.example.com` matches a name with exactly one more label in
/// front (`www.example.com`), never `example.com` itself nor `a.b.example.com` (as the
/// upstream API reference describes the wildcard).
pub fn domain_name_matches(pattern: &str, name: &str) -> bool {
    let canon = |s: &str| s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    let (pattern, name) = (canon(pattern), canon(name));
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .strip_suffix(&suffix)
            .and_then(|front| front.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        None => pattern == name,
    }
}

/// Whether a rule's `domainNames` peers match an external address known by these names
/// (from DNS answers): `None` when the rule has no `domainNames` peer.
pub fn domain_names_match(rule: &AdminRule, names: &[String]) -> Option<bool> {
    let mut any = None;
    for peer in &rule.peers {
        if let AdminPeerKind::DomainNames(patterns) = &peer.kind {
            let hit = patterns
                .iter()
                .any(|p| names.iter().any(|n| domain_name_matches(p, n)));
            any = Some(any.unwrap_or(false) || hit);
        }
    }
    any
}

/// Whether a rule has a `domainNames` peer and the other endpoint is an external address:
/// then the rule may match, depending on what the name resolves to.
pub fn depends_on_dns(rule: &AdminRule, other: Endpoint) -> bool {
    matches!(other, Endpoint::External(_))
        && rule
            .peers
            .iter()
            .any(|p| matches!(p.kind, AdminPeerKind::DomainNames(_)))
}

/// Whether a named port resolves on a destination container port: same name, and the
/// container port's protocol is the traffic's (admin named ports carry no protocol).
pub fn named_port_resolves(name: &str, protocol: Protocol, port: &ContainerPort) -> bool {
    // The NetworkPolicy rule, applied with the traffic's protocol.
    semantics::named_port_resolves(name, protocol, port)
}

/// The index of the first port entry admitting the traffic; `Some(None)` when the rule has
/// no `protocols`/`ports` (everything); named ports never match an external destination.
pub fn rule_port(
    rule: &AdminRule,
    protocol: Protocol,
    port: u16,
    dst_ports: Option<&[ContainerPort]>,
) -> Option<Option<usize>> {
    let Some(ports) = &rule.ports else {
        return Some(None);
    };
    ports
        .iter()
        .position(|p| match &p.kind {
            AdminPortKind::Range(proto, range) => {
                *proto == protocol && range.lo <= port && port <= range.hi
            }
            AdminPortKind::Named(name) => dst_ports.is_some_and(|cps| {
                cps.iter()
                    .any(|cp| cp.port == port && named_port_resolves(name, protocol, cp))
            }),
        })
        .map(Some)
}

/// The exact ports a rule admits towards a destination (`None`: external).
pub fn rule_ports(rule: &AdminRule, dst_ports: Option<&[ContainerPort]>) -> PortSet {
    let Some(ports) = &rule.ports else {
        return PortSet::all();
    };
    let mut out = PortSet::none();
    for p in ports {
        match &p.kind {
            AdminPortKind::Range(proto, range) => out.insert(*proto, *range),
            AdminPortKind::Named(name) => {
                for cp in dst_ports.unwrap_or_default() {
                    if cp.name.as_deref() == Some(name.as_str()) {
                        out.insert(cp.protocol, palisade_model::PortRange::single(cp.port));
                    }
                }
            }
        }
    }
    out
}

/// What a tier's walk found: the deciding rule (with its action), and whether a
/// `domainNames` rule was reached before it (the answer then depends on DNS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierWalk {
    /// The first rule, in priority then rule order, whose peers and ports match.
    pub decided: Option<(AdminRuleRef, AdminAction)>,
    /// A `domainNames` rule came before the deciding rule and could have matched.
    pub depends_on_dns: bool,
}

/// Walks one tier for one direction of a subject pod: policies in [`evaluation_order`], rules
/// in order; the first rule whose peer and ports match decides with its action. `names`: the
/// names an external peer is known by (DNS answers of a capture); with them a `domainNames`
/// peer matches or not, without them the walk notes that the answer depends on DNS.
#[allow(clippy::too_many_arguments)]
pub fn walk_tier(
    model: &Model,
    order: &[u32],
    direction: Direction,
    subject: &Pod,
    peer: Endpoint,
    protocol: Protocol,
    port: u16,
    dst_ports: Option<&[ContainerPort]>,
    names: Option<&[String]>,
) -> TierWalk {
    let mut walk = TierWalk {
        decided: None,
        depends_on_dns: false,
    };
    for &id in order {
        let policy = &model.admin_policies[id as usize];
        if !subject_selects(model, policy, subject) {
            continue;
        }
        for (index, rule) in policy.rules(direction).iter().enumerate() {
            if rule_port(rule, protocol, port, dst_ports).is_none() {
                continue;
            }
            let by_name = match (names, peer) {
                (Some(names), Endpoint::External(_)) => {
                    domain_names_match(rule, names).unwrap_or(false)
                }
                _ => false,
            };
            if by_name || rule_peer(model, rule, peer).is_some() {
                walk.decided = Some((
                    AdminRuleRef {
                        policy: id,
                        direction,
                        rule: index as u32,
                    },
                    rule.action,
                ));
                return walk;
            }
            if names.is_none() && depends_on_dns(rule, peer) {
                walk.depends_on_dns = true;
            }
        }
    }
    walk
}
