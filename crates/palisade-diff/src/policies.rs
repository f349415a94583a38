//! Matching policies between the two sides and deciding what changed in them.

use crate::What;
use palisade_model::{AdminPolicy, AdminRule, Direction, Model, PeerKind, Policy, PolicyId, Rule};
use rustc_hash::FxHashMap;

/// A policy that differs between the sides: added, removed, or modified.
#[derive(Clone, Debug)]
pub(crate) struct Edit {
    pub(crate) key: String,
    pub(crate) what: What,
    pub(crate) old: Option<PolicyId>,
    pub(crate) new: Option<PolicyId>,
    /// Whether the edit can change each direction: `[egress, ingress]`.
    pub(crate) directions: [bool; 2],
}

impl Edit {
    pub(crate) fn touches(&self, direction: Direction) -> bool {
        self.directions[dir_index(direction)]
    }
}

pub(crate) fn dir_index(direction: Direction) -> usize {
    match direction {
        Direction::Egress => 0,
        Direction::Ingress => 1,
    }
}

/// Rules equal in meaning as written: spans, list forms and the CIDR spelling ignored.
pub(crate) fn rule_eq(a: &Rule, b: &Rule) -> bool {
    a.peers.len() == b.peers.len()
        && a.ports.len() == b.ports.len()
        && a.peers
            .iter()
            .zip(&b.peers)
            .all(|(x, y)| match (&x.kind, &y.kind) {
                (PeerKind::IpBlock(p), PeerKind::IpBlock(q)) => {
                    p.cidr == q.cidr && p.except == q.except
                }
                (k1, k2) => k1 == k2,
            })
        && a.ports
            .iter()
            .zip(&b.ports)
            .all(|(x, y)| x.protocol == y.protocol && x.port == y.port && x.end_port == y.end_port)
}

fn rules_eq(a: &[Rule], b: &[Rule]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| rule_eq(x, y))
}

/// Which directions differ between two versions of a policy (`[egress, ingress]`).
fn changed_directions(a: &Policy, b: &Policy) -> [bool; 2] {
    let selector = a.pod_selector != b.pod_selector;
    [Direction::Egress, Direction::Ingress].map(|d| {
        (selector && (a.affects(d) || b.affects(d)))
            || a.affects(d) != b.affects(d)
            || !rules_eq(a.rules(d), b.rules(d))
    })
}

/// Every policy edit between two models, sorted by `namespace/name`.
pub(crate) fn edits(old: &Model, new: &Model) -> Vec<Edit> {
    type Key<'a> = (&'a str, &'a str);
    let mut by_key: FxHashMap<Key<'_>, (Option<PolicyId>, Option<PolicyId>)> = FxHashMap::default();
    for (model, is_new) in [(old, false), (new, true)] {
        for id in model.policy_ids() {
            let p = &model.policies[id.index()];
            let slot = by_key
                .entry((model.namespace(p.namespace).name.as_str(), p.name.as_str()))
                .or_default();
            if is_new {
                slot.1 = Some(id);
            } else {
                slot.0 = Some(id);
            }
        }
    }
    let mut out: Vec<Edit> = by_key
        .into_iter()
        .filter_map(|((ns, name), (o, n))| {
            let (what, directions) = match (o, n) {
                (Some(o), Some(n)) => {
                    let (a, b) = (&old.policies[o.index()], &new.policies[n.index()]);
                    if crate::merge::same_text(old, a.span, new, b.span) {
                        return None;
                    }
                    let d = changed_directions(a, b);
                    if d == [false, false] {
                        return None;
                    }
                    (What::Modified, d)
                }
                (Some(o), None) => {
                    let p = &old.policies[o.index()];
                    (What::Removed, [p.affects_egress, p.affects_ingress])
                }
                (None, Some(n)) => {
                    let p = &new.policies[n.index()];
                    (What::Added, [p.affects_egress, p.affects_ingress])
                }
                (None, None) => return None,
            };
            Some(Edit {
                key: format!("{ns}/{name}"),
                what,
                old: o,
                new: n,
                directions,
            })
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// An admin policy (ClusterNetworkPolicy, ANP, BANP) that differs between the sides.
#[derive(Clone, Debug)]
pub(crate) struct AdminEdit {
    /// `cnp/<name>`, `anp/<name>` or `banp/<name>` (kinds are distinct objects).
    pub(crate) key: String,
    pub(crate) what: What,
    /// Indexes into each side's `admin_policies`.
    pub(crate) old: Option<u32>,
    pub(crate) new: Option<u32>,
    /// Whether the edit can change each direction: `[egress, ingress]`.
    pub(crate) directions: [bool; 2],
}

impl AdminEdit {
    pub(crate) fn touches(&self, direction: Direction) -> bool {
        self.directions[dir_index(direction)]
    }
}

/// Admin rules equal in meaning: spans ignored.
pub(crate) fn admin_rule_eq(a: &AdminRule, b: &AdminRule) -> bool {
    a.name == b.name
        && a.action == b.action
        && a.peers.len() == b.peers.len()
        && a.peers.iter().zip(&b.peers).all(|(x, y)| x.kind == y.kind)
        && match (&a.ports, &b.ports) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.kind == q.kind)
            }
            _ => false,
        }
}

/// Which directions differ between two versions of an admin policy (`[egress, ingress]`):
/// a change of tier, priority or subject touches every direction that has rules.
fn admin_changed_directions(a: &AdminPolicy, b: &AdminPolicy) -> [bool; 2] {
    let whole = a.tier != b.tier || a.priority != b.priority || a.subject != b.subject;
    [Direction::Egress, Direction::Ingress].map(|d| {
        let (x, y) = (a.rules(d), b.rules(d));
        let same = x.len() == y.len() && x.iter().zip(y).all(|(r, s)| admin_rule_eq(r, s));
        !same || (whole && !(x.is_empty() && y.is_empty()))
    })
}

/// Every admin policy edit between two models, sorted by `kind/name`.
pub(crate) fn admin_edits(old: &Model, new: &Model) -> Vec<AdminEdit> {
    let mut by_key: FxHashMap<String, (Option<u32>, Option<u32>)> = FxHashMap::default();
    for (model, is_new) in [(old, false), (new, true)] {
        for (id, p) in model.admin_policies.iter().enumerate() {
            let slot = by_key.entry(p.display_name()).or_default();
            if is_new {
                slot.1 = Some(id as u32);
            } else {
                slot.0 = Some(id as u32);
            }
        }
    }
    let directions_of =
        |p: &AdminPolicy| [Direction::Egress, Direction::Ingress].map(|d| !p.rules(d).is_empty());
    let mut out: Vec<AdminEdit> = by_key
        .into_iter()
        .filter_map(|(key, (o, n))| {
            let (what, directions) = match (o, n) {
                (Some(o), Some(n)) => {
                    let (a, b) = (
                        &old.admin_policies[o as usize],
                        &new.admin_policies[n as usize],
                    );
                    if crate::merge::same_text(old, a.span, new, b.span) {
                        return None;
                    }
                    let d = admin_changed_directions(a, b);
                    if d == [false, false] {
                        return None;
                    }
                    (What::Modified, d)
                }
                (Some(o), None) => (
                    What::Removed,
                    directions_of(&old.admin_policies[o as usize]),
                ),
                (None, Some(n)) => (What::Added, directions_of(&new.admin_policies[n as usize])),
                (None, None) => return None,
            };
            Some(AdminEdit {
                key,
                what,
                old: o,
                new: n,
                directions,
            })
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}
