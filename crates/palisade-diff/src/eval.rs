//! Pod-level questions about one side — the exact ports one direction of a pod allows towards
//! one peer — answered by the engine's reference evaluator straight from the policies (no
//! compilation), so that only what a change can affect is ever evaluated. The semantics live
//! in `palisade_engine::Reference`, which the engine's property tests tie to the compiled
//! engine; this module only adapts targets (pods and external ranges) to it.

use palisade_engine::ipspace::{Family, addr, family_max, net_bounds};
use palisade_engine::{Endpoint, Reference, admin};
use palisade_model::{AdminPeerKind, Direction, Model, PeerKind, PodId, PolicyId, PortSet, Rule};

/// What a side of a connection looks at: a pod, or a range of external addresses that no
/// relevant ipBlock boundary cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A pod of the model.
    Pod(PodId),
    /// The first address of an external range.
    Range(Family, u128),
}

/// One side of the diff: its model and the engine's reference evaluator over it.
pub(crate) struct Side<'m> {
    pub(crate) model: &'m Model,
    reference: Reference<'m>,
}

impl Target {
    /// The endpoint the engine evaluates: a pod, or the first address of the range (no
    /// relevant ipBlock boundary cuts the range, so it speaks for all of it).
    pub(crate) fn endpoint(self) -> Endpoint {
        match self {
            Target::Pod(p) => Endpoint::Pod(p),
            Target::Range(family, lo) => Endpoint::External(addr(family, lo)),
        }
    }
}

impl<'m> Side<'m> {
    pub(crate) fn new(model: &'m Model) -> Self {
        Side {
            model,
            reference: Reference::new(model),
        }
    }

    /// Whether a policy (of this side) selects a pod as its subject for a direction.
    pub(crate) fn selects(&self, policy: PolicyId, pod: PodId, direction: Direction) -> bool {
        self.reference.selects(policy, pod, direction)
    }

    /// Whether a pod is isolated in a direction.
    pub(crate) fn isolated(&self, pod: PodId, direction: Direction) -> bool {
        !self.reference.isolating_policies(pod, direction).is_empty()
    }

    /// Whether one `from`/`to` entry of a policy admits a target.
    pub(crate) fn peer_admits(&self, policy: PolicyId, peer: &PeerKind, target: Target) -> bool {
        self.reference.peer_matches(policy, peer, target.endpoint())
    }

    /// Whether a rule of a policy admits a target.
    pub(crate) fn rule_admits(&self, policy: PolicyId, rule: &Rule, target: Target) -> bool {
        self.reference.rule_admits(policy, rule, target.endpoint())
    }

    /// What one direction of `subject` allows towards `target` (everything when not isolated).
    pub(crate) fn side_ports(
        &self,
        subject: PodId,
        direction: Direction,
        target: Target,
    ) -> PortSet {
        self.reference
            .allowed_ports(subject, direction, target.endpoint())
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

    /// The ipBlock boundaries of the policies that isolate a pod in a direction, and the
    /// `networks` and `nodes` addresses of the admin rules that apply to it, pushed as cut
    /// points (the first address of each piece).
    pub(crate) fn cuts(&self, pod: PodId, direction: Direction, out: &mut Vec<(Family, u128)>) {
        let mut cut = |net: &palisade_model::IpNet| {
            let (family, lo, hi) = net_bounds(net);
            out.push((family, lo));
            if hi != family_max(family) {
                out.push((family, hi + 1));
            }
        };
        let subject = &self.model.pods[pod.index()];
        for policy in &self.model.admin_policies {
            if !admin::subject_selects(self.model, policy, subject) {
                continue;
            }
            for rule in policy.rules(direction) {
                for peer in &rule.peers {
                    match &peer.kind {
                        AdminPeerKind::Networks(blocks) => {
                            for block in blocks {
                                for net in std::iter::once(&block.cidr).chain(&block.except) {
                                    cut(net);
                                }
                            }
                        }
                        AdminPeerKind::Nodes(selector) => {
                            for ip in admin::node_ips(self.model, selector) {
                                cut(&palisade_model::IpNet::from(ip));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        for id in self.reference.isolating_policies(pod, direction) {
            for rule in self.model.policies[id.index()].rules(direction) {
                for peer in &rule.peers {
                    if let PeerKind::IpBlock(block) = &peer.kind {
                        for net in std::iter::once(&block.cidr).chain(&block.except) {
                            cut(net);
                        }
                    }
                }
            }
        }
    }
}
