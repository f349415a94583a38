//! A pod-level evaluator over one side: the exact ports one direction of a pod allows towards
//! one peer, straight from the policies (no compilation), so that only what a change can
//! affect is ever evaluated.
//!
//! Semantics mirror the compiled engine: hostNetwork subjects are never isolated,
//! hostNetwork pods are never selected by `podSelector`/`namespaceSelector` peers but are
//! matched by `ipBlock`s through their IPs, named ports resolve on the destination pod.

use palisade_engine::ipspace::Family;
use palisade_model::{
    Direction, IpNet, Model, PeerKind, PodId, Policy, PolicyId, PortRange, PortRef, PortSet, Rule,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a side of a connection looks at: a pod, or a range of external addresses that no
/// relevant ipBlock boundary cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A pod of the model.
    Pod(PodId),
    /// The first address of an external range.
    Range(Family, u128),
}

/// One side of the diff with its policies indexed by namespace.
pub(crate) struct Side<'m> {
    pub(crate) model: &'m Model,
    by_namespace: Vec<Vec<PolicyId>>,
}

pub(crate) fn addr(family: Family, k: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(k as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(k)),
    }
}

pub(crate) fn family_max(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// First and last address of a network, on the engine's numeric line.
pub(crate) fn net_bounds(net: &IpNet) -> (Family, u128, u128) {
    match net {
        IpNet::V4(n) => (
            Family::V4,
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (
            Family::V6,
            u128::from(n.network()),
            u128::from(n.broadcast()),
        ),
    }
}

/// The ports a rule allows towards a destination pod (`None`: an external address).
pub(crate) fn rule_ports(model: &Model, rule: &Rule, dst: Option<PodId>) -> PortSet {
    if rule.ports.is_empty() {
        return PortSet::all();
    }
    let mut set = PortSet::none();
    for spec in &rule.ports {
        match &spec.port {
            None => set.insert(spec.protocol, PortRange::ALL),
            Some(PortRef::Number(n)) => set.insert(
                spec.protocol,
                PortRange {
                    lo: *n,
                    hi: spec.end_port.unwrap_or(*n).max(*n),
                },
            ),
            Some(PortRef::Name(name)) => {
                if let Some(dst) = dst {
                    for p in &model.pods[dst.index()].ports {
                        if p.protocol == spec.protocol && p.name.as_deref() == Some(name.as_str()) {
                            set.insert(spec.protocol, PortRange::single(p.port));
                        }
                    }
                }
            }
        }
    }
    set
}

/// Whether a rule's `from`/`to` admits a target.
pub(crate) fn rule_admits(model: &Model, policy: &Policy, rule: &Rule, target: Target) -> bool {
    rule.peers.is_empty()
        || rule
            .peers
            .iter()
            .any(|peer| peer_admits(model, policy, &peer.kind, target))
}

/// Whether one `from`/`to` entry admits a target.
pub(crate) fn peer_admits(model: &Model, policy: &Policy, peer: &PeerKind, target: Target) -> bool {
    match (peer, target) {
        (
            PeerKind::Selector {
                namespace_selector,
                pod_selector,
            },
            Target::Pod(pod),
        ) => {
            let pod = &model.pods[pod.index()];
            if pod.host_network {
                return false;
            }
            let ns_ok = match namespace_selector {
                None => pod.namespace == policy.namespace,
                Some(sel) => sel.matches(&model.namespace(pod.namespace).labels),
            };
            ns_ok && pod_selector.as_ref().is_none_or(|s| s.matches(&pod.labels))
        }
        (PeerKind::Selector { .. }, Target::Range(..)) => false,
        (PeerKind::IpBlock(block), Target::Pod(pod)) => model.pods[pod.index()]
            .ips
            .iter()
            .any(|&ip| block_contains(block, ip)),
        (PeerKind::IpBlock(block), Target::Range(family, lo)) => {
            block_contains(block, addr(family, lo))
        }
    }
}

/// An address on the engine's numeric line (IPv4-mapped IPv6 addresses are IPv4).
pub(crate) fn ip_key(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (Family::V4, u128::from(u32::from(v4))),
            None => (Family::V6, u128::from(v6)),
        },
    }
}

fn block_contains(block: &palisade_model::IpBlock, ip: IpAddr) -> bool {
    // The engine puts IPv4-mapped IPv6 addresses on the IPv4 line.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    block.contains(ip)
}

impl<'m> Side<'m> {
    pub(crate) fn new(model: &'m Model) -> Self {
        let mut by_namespace = vec![Vec::new(); model.namespaces.len()];
        for id in model.policy_ids() {
            by_namespace[model.policies[id.index()].namespace.index()].push(id);
        }
        Side {
            model,
            by_namespace,
        }
    }

    /// Whether a policy (of this side) selects a pod as its subject for a direction.
    pub(crate) fn selects(&self, policy: PolicyId, pod: PodId, direction: Direction) -> bool {
        let p = &self.model.pods[pod.index()];
        let policy = &self.model.policies[policy.index()];
        !p.host_network
            && policy.affects(direction)
            && policy.namespace == p.namespace
            && policy.pod_selector.matches(&p.labels)
    }

    /// The policies that isolate a pod in a direction.
    pub(crate) fn selecting(
        &self,
        pod: PodId,
        direction: Direction,
    ) -> impl Iterator<Item = PolicyId> + '_ {
        let p = &self.model.pods[pod.index()];
        let list: &[PolicyId] = if p.host_network {
            &[]
        } else {
            &self.by_namespace[p.namespace.index()]
        };
        list.iter().copied().filter(move |&id| {
            let policy = &self.model.policies[id.index()];
            policy.affects(direction) && policy.pod_selector.matches(&p.labels)
        })
    }

    /// Whether a pod is isolated in a direction.
    pub(crate) fn isolated(&self, pod: PodId, direction: Direction) -> bool {
        self.selecting(pod, direction).next().is_some()
    }

    /// What one direction of `subject` allows towards `target` (everything when not isolated).
    pub(crate) fn side_ports(
        &self,
        subject: PodId,
        direction: Direction,
        target: Target,
    ) -> PortSet {
        let mut isolated = false;
        let mut out = PortSet::none();
        let dst = match (direction, target) {
            (Direction::Ingress, _) => Some(subject),
            (Direction::Egress, Target::Pod(p)) => Some(p),
            (Direction::Egress, Target::Range(..)) => None,
        };
        for id in self.selecting(subject, direction) {
            isolated = true;
            let policy = &self.model.policies[id.index()];
            for rule in policy.rules(direction) {
                if rule_admits(self.model, policy, rule, target) {
                    out.union_with(&rule_ports(self.model, rule, dst));
                    if out.is_all() {
                        return out;
                    }
                }
            }
        }
        if isolated { out } else { PortSet::all() }
    }

    /// The exact ports `src` may use towards `dst` (both pods).
    pub(crate) fn pair(&self, src: PodId, dst: PodId) -> PortSet {
        let egress = self.side_ports(src, Direction::Egress, Target::Pod(dst));
        if egress.is_empty() {
            return egress;
        }
        let ingress = self.side_ports(dst, Direction::Ingress, Target::Pod(src));
        egress.intersection(&ingress)
    }

    /// The ipBlock boundaries of the policies that isolate a pod in a direction, pushed as
    /// cut points (the first address of each piece).
    pub(crate) fn cuts(&self, pod: PodId, direction: Direction, out: &mut Vec<(Family, u128)>) {
        for id in self.selecting(pod, direction) {
            for rule in self.model.policies[id.index()].rules(direction) {
                for peer in &rule.peers {
                    if let PeerKind::IpBlock(block) = &peer.kind {
                        for net in std::iter::once(&block.cidr).chain(&block.except) {
                            let (family, lo, hi) = net_bounds(net);
                            out.push((family, lo));
                            if hi != family_max(family) {
                                out.push((family, hi + 1));
                            }
                        }
                    }
                }
            }
        }
    }
}
