//! Rule-level analysis: which rules and policies are redundant.
//!
//! A rule is redundant when removing it changes no connection; a policy is redundant when
//! removing it (its rules and the isolation it causes) changes no connection. "Connection"
//! means what [`crate::connectivity::compute`] reports at pod level: both sides count, so an
//! ingress rule admitting a source whose own egress never allows that traffic adds nothing.
//!
//! The analysis works on the engine's classes of equivalent pods and the address atoms of
//! its [`crate::ipspace::IpSpace`] ("entities": classes first, then atoms). For one subject
//! class and direction, a rule's contribution is the map entity → ports it admits; the rule
//! is needed when, for some entity, the ports only it admits are also allowed by the other
//! side (the peer's egress or ingress; external addresses have no other side). A policy
//! that is the only one isolating a class in a direction is needed unless the class already
//! allows everything the other sides allow.
//!
//! It uses only the engine's public view (classes, isolation flags, the address partition)
//! and resolves peers and ports from the model, per the API reference.

use crate::{Engine, RuleRef};
use palisade_model::{
    Direction, LabelSelector, Labels, Model, PeerKind, PolicyId, PortRange, PortRef, PortSet,
    Protocol, Rule,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::OnceCell;

/// A rule whose removal changes no connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedundantRule {
    /// The rule.
    pub rule: RuleRef,
    /// Other rules that admit some of the same peers and ports, in model order.
    pub covered_by: Vec<RuleRef>,
    /// Some of what it admits is never allowed by the other side (the peer's own policy).
    pub masked_by_other_side: bool,
}

/// A policy whose removal changes no connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedundantPolicy {
    /// The policy.
    pub policy: PolicyId,
    /// Other policies that isolate the same pods or admit the same peers, in model order.
    pub covered_by: Vec<PolicyId>,
    /// Some of what it admits is never allowed by the other side (the peers' own policies).
    pub masked_by_other_side: bool,
}

/// The redundant rules and policies of a model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redundancy {
    /// Redundant policies (among those that select at least one pod).
    pub policies: Vec<RedundantPolicy>,
    /// Redundant rules of policies that are not redundant themselves, among the rules that
    /// admit at least one peer (a rule admitting nothing is a broken selector or port, not a
    /// redundancy).
    pub rules: Vec<RedundantRule>,
    /// Rules (of policies that select pods) that admit nothing at all: removing them changes
    /// nothing either, but the cause is a selector or port that matches nothing.
    pub inert_rules: Vec<RuleRef>,
}

type EntityIndex = u32;
/// A peer's selectors and, without a namespaceSelector, the policy's namespace.
type PeerKey<'a> = (
    Option<usize>,
    Option<&'a LabelSelector>,
    Option<&'a LabelSelector>,
);
/// Sorted by entity.
type SideMap = Option<Vec<(EntityIndex, PortSet)>>;

/// One rule, resolved: which entities its peers select (independent of the subject).
struct Resolved {
    at: RuleRef,
    /// `None`: every entity.
    peers: Option<Vec<EntityIndex>>,
    numeric: PortSet,
    named: Vec<(Protocol, String)>,
}

struct Analysis<'m> {
    model: &'m Model,
    engine: &'m Engine,
    class_count: u32,
    entity_count: u32,
    labels: Vec<&'m Labels>,
    named_ports: Vec<Vec<(&'m str, Protocol, u16)>>,
    rules: Vec<Resolved>,
    /// Per class, per direction (0 egress, 1 ingress): resolved rule indexes in order.
    class_rules: Vec<[Vec<u32>; 2]>,
    /// Per class, per direction: isolating policies.
    isolators: Vec<[Vec<PolicyId>; 2]>,
    maps: Vec<[OnceCell<SideMap>; 2]>,
}

fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Egress => 0,
        Direction::Ingress => 1,
    }
}

fn opposite(direction: Direction) -> Direction {
    match direction {
        Direction::Egress => Direction::Ingress,
        Direction::Ingress => Direction::Egress,
    }
}

impl<'m> Analysis<'m> {
    fn new(model: &'m Model, engine: &'m Engine) -> Self {
        let classes = engine.classes();
        let class_count = classes.len() as u32;
        let atoms = engine.ip_space().atoms().len() as u32;
        let labels: Vec<&Labels> = classes
            .iter()
            .map(|c| &model.pods[c.pods[0].index()].labels)
            .collect();
        let named_ports = classes
            .iter()
            .map(|c| {
                model.pods[c.pods[0].index()]
                    .ports
                    .iter()
                    .filter_map(|p| p.name.as_deref().map(|n| (n, p.protocol, p.port)))
                    .collect()
            })
            .collect();
        // Classes whose pods have an address in each atom.
        let mut atom_classes: Vec<Vec<u32>> = vec![Vec::new(); atoms as usize];
        for (c, class) in classes.iter().enumerate() {
            let mut seen = Vec::new();
            for pod in &class.pods {
                for ip in &model.pods[pod.index()].ips {
                    if let Some(a) = engine.ip_space().atom_of(*ip)
                        && !seen.contains(&a)
                    {
                        seen.push(a);
                        atom_classes[a as usize].push(c as u32);
                    }
                }
            }
        }
        let mut by_namespace: Vec<Vec<u32>> = vec![Vec::new(); model.namespaces.len()];
        for (c, class) in classes.iter().enumerate() {
            if !class.host_network {
                by_namespace[class.namespace.index()].push(c as u32);
            }
        }
        let mut analysis = Analysis {
            model,
            engine,
            class_count,
            entity_count: class_count + atoms,
            labels,
            named_ports,
            rules: Vec::new(),
            class_rules: vec![[Vec::new(), Vec::new()]; class_count as usize],
            isolators: vec![[Vec::new(), Vec::new()]; class_count as usize],
            maps: (0..class_count)
                .map(|_| [OnceCell::new(), OnceCell::new()])
                .collect(),
        };
        let mut peer_cache: FxHashMap<PeerKey<'_>, Vec<u32>> = FxHashMap::default();
        for policy_id in model.policy_ids() {
            let policy = &model.policies[policy_id.index()];
            let mut ids: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
            for direction in [Direction::Egress, Direction::Ingress] {
                for (index, rule) in policy.rules(direction).iter().enumerate() {
                    let at = RuleRef {
                        policy: policy_id,
                        direction,
                        rule: index as u32,
                    };
                    let resolved = analysis.resolve(
                        at,
                        rule,
                        policy.namespace.index(),
                        &by_namespace,
                        &atom_classes,
                        &mut peer_cache,
                    );
                    ids[slot(direction)].push(analysis.rules.len() as u32);
                    analysis.rules.push(resolved);
                }
            }
            for &c in &by_namespace[policy.namespace.index()] {
                if !policy.pod_selector.matches(analysis.labels[c as usize]) {
                    continue;
                }
                for direction in [Direction::Egress, Direction::Ingress] {
                    if policy.affects(direction) {
                        let s = slot(direction);
                        analysis.isolators[c as usize][s].push(policy_id);
                        analysis.class_rules[c as usize][s].extend_from_slice(&ids[s]);
                    }
                }
            }
        }
        analysis
    }

    fn resolve<'a>(
        &self,
        at: RuleRef,
        rule: &'a Rule,
        own_namespace: usize,
        by_namespace: &[Vec<u32>],
        atom_classes: &[Vec<u32>],
        cache: &mut FxHashMap<PeerKey<'a>, Vec<u32>>,
    ) -> Resolved {
        let mut numeric = PortSet::none();
        let mut named = Vec::new();
        if rule.ports.is_empty() {
            numeric = PortSet::all();
        }
        for spec in &rule.ports {
            match &spec.port {
                None => numeric.insert(spec.protocol, PortRange::ALL),
                Some(PortRef::Number(n)) => numeric.insert(
                    spec.protocol,
                    PortRange {
                        lo: *n,
                        hi: spec.end_port.unwrap_or(*n),
                    },
                ),
                Some(PortRef::Name(name)) => named.push((spec.protocol, name.clone())),
            }
        }
        if rule.peers.is_empty() {
            return Resolved {
                at,
                peers: None,
                numeric,
                named,
            };
        }
        let mut peers: Vec<u32> = Vec::new();
        for peer in &rule.peers {
            match &peer.kind {
                PeerKind::Selector {
                    namespace_selector,
                    pod_selector,
                } => {
                    let key = (
                        namespace_selector.is_none().then_some(own_namespace),
                        namespace_selector.as_ref(),
                        pod_selector.as_ref(),
                    );
                    let members = cache.entry(key).or_insert_with(|| {
                        let mut out = Vec::new();
                        for (n, ns) in self.model.namespaces.iter().enumerate() {
                            let selected = match namespace_selector {
                                Some(s) => s.matches(&ns.labels),
                                None => n == own_namespace,
                            };
                            if !selected {
                                continue;
                            }
                            out.extend(by_namespace[n].iter().copied().filter(|&c| {
                                pod_selector
                                    .as_ref()
                                    .is_none_or(|s| s.matches(self.labels[c as usize]))
                            }));
                        }
                        out
                    });
                    peers.extend_from_slice(members);
                }
                PeerKind::IpBlock(block) => {
                    let space = self.engine.ip_space();
                    let excluded: Vec<std::ops::Range<u32>> =
                        block.except.iter().map(|e| space.atoms_in(e)).collect();
                    for a in space.atoms_in(&block.cidr) {
                        if excluded.iter().any(|r| r.contains(&a)) {
                            continue;
                        }
                        peers.push(self.class_count + a);
                        peers.extend_from_slice(&atom_classes[a as usize]);
                    }
                }
            }
        }
        peers.sort_unstable();
        peers.dedup();
        Resolved {
            at,
            peers: Some(peers),
            numeric,
            named,
        }
    }

    /// Ports a rule of `subject` admits towards/from `entity`.
    fn ports(
        &self,
        rule: &Resolved,
        subject: u32,
        direction: Direction,
        entity: EntityIndex,
    ) -> PortSet {
        let mut ports = rule.numeric.clone();
        if rule.named.is_empty() {
            return ports;
        }
        let dst = match direction {
            Direction::Ingress => Some(subject),
            Direction::Egress => (entity < self.class_count).then_some(entity),
        };
        if let Some(d) = dst {
            for (proto, name) in &rule.named {
                for &(n, p, port) in &self.named_ports[d as usize] {
                    if n == name && p == *proto {
                        ports.insert(p, PortRange::single(port));
                    }
                }
            }
        }
        ports
    }

    /// Calls `f` for every entity a rule admits for `subject`, with non-empty ports.
    fn entries(
        &self,
        r: u32,
        subject: u32,
        direction: Direction,
        mut f: impl FnMut(EntityIndex, PortSet),
    ) {
        let rule = &self.rules[r as usize];
        match &rule.peers {
            None => {
                for e in 0..self.entity_count {
                    let p = self.ports(rule, subject, direction, e);
                    if !p.is_empty() {
                        f(e, p);
                    }
                }
            }
            Some(peers) => {
                for &e in peers {
                    let p = self.ports(rule, subject, direction, e);
                    if !p.is_empty() {
                        f(e, p);
                    }
                }
            }
        }
    }

    /// Union of `rules` for `subject`, keyed by entity.
    fn union(
        &self,
        subject: u32,
        direction: Direction,
        rules: impl Iterator<Item = u32>,
    ) -> FxHashMap<EntityIndex, PortSet> {
        let mut out: FxHashMap<EntityIndex, PortSet> = FxHashMap::default();
        for r in rules {
            self.entries(r, subject, direction, |e, p| match out.get_mut(&e) {
                Some(existing) => existing.union_with(&p),
                None => {
                    out.insert(e, p);
                }
            });
        }
        out
    }

    fn side(&self, class: u32, direction: Direction) -> &SideMap {
        self.maps[class as usize][slot(direction)].get_or_init(|| {
            let c = &self.engine.classes()[class as usize];
            let isolated = match direction {
                Direction::Egress => c.egress_isolated,
                Direction::Ingress => c.ingress_isolated,
            };
            if c.host_network || !isolated {
                return None;
            }
            let rules = self.class_rules[class as usize][slot(direction)]
                .iter()
                .copied();
            let mut entries: Vec<(EntityIndex, PortSet)> =
                self.union(class, direction, rules).into_iter().collect();
            entries.sort_unstable_by_key(|(e, _)| *e);
            Some(entries)
        })
    }

    fn lookup(map: &SideMap, entity: EntityIndex) -> PortSet {
        match map {
            None => PortSet::all(),
            Some(entries) => entries
                .binary_search_by_key(&entity, |(k, _)| *k)
                .map(|i| entries[i].1.clone())
                .unwrap_or_default(),
        }
    }

    /// What the other side allows between `subject` (on side `direction`) and `entity`.
    fn other_side(&self, subject: u32, direction: Direction, entity: EntityIndex) -> PortSet {
        if entity >= self.class_count {
            return PortSet::all();
        }
        Self::lookup(self.side(entity, opposite(direction)), subject)
    }

    /// A pod talking to itself is no connection; a class of one pod likewise.
    fn is_self(&self, subject: u32, entity: EntityIndex) -> bool {
        subject == entity && self.engine.classes()[subject as usize].pods.len() == 1
    }

    /// Whether ports only `mine` admits reach past the other side somewhere.
    fn adds_something(
        &self,
        subject: u32,
        direction: Direction,
        mine: &FxHashMap<EntityIndex, PortSet>,
        others: &FxHashMap<EntityIndex, PortSet>,
        masked: &mut bool,
    ) -> bool {
        for (&e, ports) in mine {
            if self.is_self(subject, e) {
                continue;
            }
            let unique = match others.get(&e) {
                Some(t) => ports.difference(t),
                None => ports.clone(),
            };
            if unique.is_empty() {
                continue;
            }
            if unique
                .intersection(&self.other_side(subject, direction, e))
                .is_empty()
            {
                *masked = true;
            } else {
                return true;
            }
        }
        false
    }
}

/// Finds the redundant rules and policies.
pub fn redundancy(model: &Model, engine: &Engine) -> Redundancy {
    let a = Analysis::new(model, engine);
    let mut out = Redundancy::default();

    // Subjects of each policy and of each rule.
    let mut policy_subjects: Vec<Vec<u32>> = vec![Vec::new(); model.policies.len()];
    let mut rule_subjects: Vec<Vec<u32>> = vec![Vec::new(); a.rules.len()];
    for c in 0..a.class_count {
        let mut seen: FxHashSet<PolicyId> = FxHashSet::default();
        for s in 0..2 {
            for &p in &a.isolators[c as usize][s] {
                if seen.insert(p) {
                    policy_subjects[p.index()].push(c);
                }
            }
            for &r in &a.class_rules[c as usize][s] {
                rule_subjects[r as usize].push(c);
            }
        }
    }
    let mut policy_rules: Vec<Vec<u32>> = vec![Vec::new(); model.policies.len()];
    for (r, rule) in a.rules.iter().enumerate() {
        policy_rules[rule.at.policy.index()].push(r as u32);
    }

    let mut redundant_policy = vec![false; model.policies.len()];
    for (p, subjects) in policy_subjects.iter().enumerate() {
        if subjects.is_empty() {
            continue;
        }
        let policy_id = PolicyId::new(p);
        let mut covered: FxHashSet<PolicyId> = FxHashSet::default();
        let mut needed = false;
        let mut masked = false;
        'subjects: for &c in subjects {
            for direction in [Direction::Egress, Direction::Ingress] {
                if !model.policies[p].affects(direction) {
                    continue;
                }
                let others: Vec<PolicyId> = a.isolators[c as usize][slot(direction)]
                    .iter()
                    .copied()
                    .filter(|&q| q != policy_id)
                    .collect();
                if others.is_empty() {
                    // Removing the policy opens this side.
                    let current = a.side(c, direction);
                    for e in 0..a.entity_count {
                        if a.is_self(c, e) {
                            continue;
                        }
                        let allowed = Analysis::lookup(current, e);
                        if !a
                            .other_side(c, direction, e)
                            .difference(&allowed)
                            .is_empty()
                        {
                            needed = true;
                            break 'subjects;
                        }
                    }
                    continue;
                }
                covered.extend(others.iter().copied());
                let rules = &a.class_rules[c as usize][slot(direction)];
                let own = |r: &u32| a.rules[*r as usize].at.policy == policy_id;
                let mine = a.union(c, direction, rules.iter().copied().filter(|r| own(r)));
                let theirs = a.union(c, direction, rules.iter().copied().filter(|r| !own(r)));
                if a.adds_something(c, direction, &mine, &theirs, &mut masked) {
                    needed = true;
                    break 'subjects;
                }
            }
        }
        if !needed {
            redundant_policy[p] = true;
            let mut covered_by: Vec<PolicyId> = covered.into_iter().collect();
            covered_by.sort_unstable();
            out.policies.push(RedundantPolicy {
                policy: policy_id,
                covered_by,
                masked_by_other_side: masked,
            });
        }
    }

    for (r, rule) in a.rules.iter().enumerate() {
        if redundant_policy[rule.at.policy.index()] {
            continue;
        }
        let direction = rule.at.direction;
        let mut any = false;
        let mut masked = false;
        let mut covered_by: FxHashSet<u32> = FxHashSet::default();
        let mut needed = false;
        for &c in &rule_subjects[r] {
            let mine = a.union(c, direction, std::iter::once(r as u32));
            if mine.is_empty() {
                continue;
            }
            any = true;
            let mut others: FxHashMap<EntityIndex, PortSet> = FxHashMap::default();
            for &q in &a.class_rules[c as usize][slot(direction)] {
                if q == r as u32 {
                    continue;
                }
                a.entries(q, c, direction, |e, p| {
                    if let Some(m) = mine.get(&e) {
                        if !m.intersection(&p).is_empty() {
                            covered_by.insert(q);
                        }
                        match others.get_mut(&e) {
                            Some(existing) => existing.union_with(&p),
                            None => {
                                others.insert(e, p);
                            }
                        }
                    }
                });
            }
            if a.adds_something(c, direction, &mine, &others, &mut masked) {
                needed = true;
                break;
            }
        }
        if needed {
            continue;
        }
        if !any {
            if !rule_subjects[r].is_empty() {
                out.inert_rules.push(rule.at);
            }
            continue;
        }
        let mut covered_by: Vec<RuleRef> = covered_by
            .into_iter()
            .map(|q| a.rules[q as usize].at)
            .collect();
        covered_by.sort_unstable_by_key(|q| (q.policy, q.direction, q.rule));
        out.rules.push(RedundantRule {
            rule: rule.at,
            covered_by,
            masked_by_other_side: masked,
        });
    }
    out
}
