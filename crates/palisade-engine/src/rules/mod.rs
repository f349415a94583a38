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
//! It reads the rules as the engine compiled them (who each policy isolates, the entities
//! each rule admits and with which ports), so it applies exactly the rules of
//! [`crate::semantics`] and never restates them.
//!
//! How it stays fast at 150,000 pods: one pass over the subject classes; per class and
//! direction, the rules and policies still undecided (not yet found needed through an earlier
//! class) are the only ones whose entities are collected, the other rules are read at those
//! entities only; port sets are interned ids with memoized set operations; the other side is
//! a point query through the peer's peer-set memberships
//! ([`Engine::side_ports_towards`](crate::Engine)), so no class's whole side map is built or
//! kept. The first version (kept as a test reference) held every side map of port-set values
//! and took tens of seconds and gigabytes on the large synthetic cluster.

use crate::compiled::{EntityIndex, PortSets};
use crate::{Engine, RuleRef};
use palisade_model::{Direction, Model, PolicyId};
use rustc_hash::FxHashSet;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

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

pub(crate) fn opposite(direction: Direction) -> Direction {
    match direction {
        Direction::Egress => Direction::Ingress,
        Direction::Ingress => Direction::Egress,
    }
}

/// Not a slot: the entity is not among those of the side being analysed.
const UNMARKED: u32 = u32::MAX;

/// What is known so far about one policy or rule, over the subjects seen.
#[derive(Clone, Copy, Default)]
struct Verdict {
    /// It selects (policy) or applies to (rule) at least one class.
    has_subject: bool,
    /// Removing it changes some connection: decided, nothing more to learn.
    needed: bool,
    /// Some of what only it admits is never allowed by the other side.
    masked: bool,
    /// (Rules) it admits at least one entity for some subject.
    admits: bool,
}

/// The state of one pass, reused from one subject side to the next.
struct Analysis<'m> {
    engine: &'m Engine,
    class_count: u32,
    entity_count: u32,
    atom_classes: Vec<Vec<u32>>,
    ports: PortSets,
    policies: Vec<Verdict>,
    /// Per policy, the other policies isolating its subjects (unsorted, with repeats).
    policy_covered: Vec<Vec<PolicyId>>,
    rules: Vec<Verdict>,
    /// (rule, other rule admitting some of the same entities and ports).
    rule_covered: FxHashSet<(u32, u32)>,
    /// Per entity, its slot among the entities of the side being analysed, or [`UNMARKED`].
    slot_of: Vec<u32>,
    /// The entities of the side being analysed, by slot.
    entities: Vec<EntityIndex>,
    /// (slot, index among the side's rules, ports): what each rule admits, per entity.
    entries: Vec<(u32, u32, u32)>,
    /// Per slot, what the other side allows towards the subject (`UNMARKED`: not asked yet).
    other_side: Vec<u32>,
}

impl<'m> Analysis<'m> {
    fn new(model: &Model, engine: &'m Engine) -> Self {
        let entity_count = engine.entity_count() as u32;
        Analysis {
            engine,
            class_count: engine.classes().len() as u32,
            entity_count,
            atom_classes: engine.classes_by_atom(),
            ports: PortSets::new(),
            policies: vec![Verdict::default(); model.policies.len()],
            policy_covered: vec![Vec::new(); model.policies.len()],
            rules: vec![Verdict::default(); engine.rule_count()],
            rule_covered: FxHashSet::default(),
            slot_of: vec![UNMARKED; entity_count as usize],
            entities: Vec::new(),
            entries: Vec::new(),
            other_side: Vec::new(),
        }
    }

    /// A pod talking to itself is no connection; a class of one pod likewise.
    fn is_self(&self, subject: u32, entity: EntityIndex) -> bool {
        subject == entity && self.engine.classes()[subject as usize].pods.len() == 1
    }

    /// What the other side allows between `subject` (on side `direction`) and the entity in
    /// `slot`; external addresses have no other side.
    fn other_side(&mut self, subject: u32, direction: Direction, slot: u32) -> u32 {
        let known = self.other_side[slot as usize];
        if known != UNMARKED {
            return known;
        }
        let entity = self.entities[slot as usize];
        let allowed = self.other_side_of(subject, direction, entity);
        self.other_side[slot as usize] = allowed;
        allowed
    }

    fn other_side_of(&mut self, subject: u32, direction: Direction, entity: EntityIndex) -> u32 {
        if entity >= self.class_count {
            return PortSets::ALL;
        }
        self.engine
            .side_ports_towards(entity, opposite(direction), subject, &mut self.ports)
    }

    /// Collects what the rules of one side of `subject` admit, per entity: fully for the
    /// rules in `primary`, at the entities those admit for the others. Leaves `entries`
    /// sorted by (slot, rule index), one entry per pair, ports unioned.
    fn collect(&mut self, subject: u32, rules: &[u32], primary: &[bool]) {
        let Analysis {
            engine,
            atom_classes,
            ports,
            slot_of,
            entities,
            entries,
            ..
        } = self;
        for (i, &r) in rules.iter().enumerate() {
            if !primary[i] {
                continue;
            }
            engine.rule_entries(r, subject, atom_classes, ports, |e, id, _| {
                let slot = &mut slot_of[e as usize];
                if *slot == UNMARKED {
                    *slot = entities.len() as u32;
                    entities.push(e);
                }
                entries.push((*slot, i as u32, id));
            });
        }
        if entities.is_empty() {
            return;
        }
        for (i, &r) in rules.iter().enumerate() {
            if primary[i] {
                continue;
            }
            engine.rule_entries(r, subject, atom_classes, ports, |e, id, _| {
                let slot = slot_of[e as usize];
                if slot != UNMARKED {
                    entries.push((slot, i as u32, id));
                }
            });
        }
        entries.sort_unstable_by_key(|&(slot, i, _)| (slot, i));
        // One rule may report an entity several times (several peers): union them.
        let mut kept = 0;
        for k in 0..entries.len() {
            let (slot, i, id) = entries[k];
            if kept > 0 && entries[kept - 1].0 == slot && entries[kept - 1].1 == i {
                entries[kept - 1].2 = ports.union(entries[kept - 1].2, id);
            } else {
                entries[kept] = (slot, i, id);
                kept += 1;
            }
        }
        entries.truncate(kept);
    }

    fn clear(&mut self) {
        for &e in &self.entities {
            self.slot_of[e as usize] = UNMARKED;
        }
        self.entities.clear();
        self.entries.clear();
        self.other_side.clear();
    }

    /// Looks at one side of one subject class for the policies and rules still undecided.
    fn side(&mut self, subject: u32, direction: Direction) {
        let engine = self.engine;
        let rules = engine.class_rules(subject, direction);
        let isolators = engine.isolating_policies(subject, direction);
        for &p in isolators {
            self.policies[p.index()].has_subject = true;
        }
        for &r in rules {
            self.rules[r as usize].has_subject = true;
        }
        let policy_of = |r: u32| engine.rule_at(r).policy;
        let pending_policy = |a: &Self, p: PolicyId| !a.policies[p.index()].needed;
        let primary: Vec<bool> = rules
            .iter()
            .map(|&r| !self.rules[r as usize].needed || pending_policy(self, policy_of(r)))
            .collect();
        if !isolators.iter().any(|&p| pending_policy(self, p)) && !primary.contains(&true) {
            return;
        }
        self.collect(subject, rules, &primary);
        self.other_side = vec![UNMARKED; self.entities.len()];

        // Policies.
        if let [only] = *isolators {
            if pending_policy(self, only) && self.opening_changes_something(subject, direction) {
                self.policies[only.index()].needed = true;
            }
        } else {
            for &p in isolators {
                if !pending_policy(self, p) {
                    continue;
                }
                self.policy_covered[p.index()].extend(isolators.iter().filter(|&&q| q != p));
                let (needed, masked) =
                    self.adds_something(subject, direction, |i| policy_of(rules[i as usize]) == p);
                let verdict = &mut self.policies[p.index()];
                verdict.needed |= needed;
                verdict.masked |= masked;
            }
        }

        // Rules, each against the others of the side.
        let entries = std::mem::take(&mut self.entries);
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            let slot = group[0].0;
            let entity = self.entities[slot as usize];
            for &(_, i, mine) in group {
                let r = rules[i as usize];
                if self.rules[r as usize].needed {
                    continue;
                }
                self.rules[r as usize].admits = true;
                let mut others = PortSets::NONE;
                for &(_, j, theirs) in group {
                    if j == i {
                        continue;
                    }
                    if self.ports.intersection(mine, theirs) != PortSets::NONE {
                        self.rule_covered.insert((r, rules[j as usize]));
                    }
                    others = self.ports.union(others, theirs);
                }
                if self.is_self(subject, entity) {
                    continue;
                }
                let unique = self.ports.difference(mine, others);
                if unique == PortSets::NONE {
                    continue;
                }
                let other_side = self.other_side(subject, direction, slot);
                if self.ports.intersection(unique, other_side) == PortSets::NONE {
                    self.rules[r as usize].masked = true;
                } else {
                    self.rules[r as usize].needed = true;
                }
            }
        }
        self.entries = entries;
        self.clear();
    }

    /// Whether the rules whose index `is_mine` holds add, somewhere, ports the side's other
    /// rules do not admit and the other side allows: (needed, masked somewhere).
    fn adds_something(
        &mut self,
        subject: u32,
        direction: Direction,
        is_mine: impl Fn(u32) -> bool,
    ) -> (bool, bool) {
        let entries = std::mem::take(&mut self.entries);
        let mut masked = false;
        let mut needed = false;
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            let slot = group[0].0;
            let mut mine = PortSets::NONE;
            let mut theirs = PortSets::NONE;
            for &(_, i, id) in group {
                if is_mine(i) {
                    mine = self.ports.union(mine, id);
                } else {
                    theirs = self.ports.union(theirs, id);
                }
            }
            if mine == PortSets::NONE || self.is_self(subject, self.entities[slot as usize]) {
                continue;
            }
            let unique = self.ports.difference(mine, theirs);
            if unique == PortSets::NONE {
                continue;
            }
            let other_side = self.other_side(subject, direction, slot);
            if self.ports.intersection(unique, other_side) == PortSets::NONE {
                masked = true;
            } else {
                needed = true;
                break;
            }
        }
        self.entries = entries;
        (needed, masked)
    }

    /// For the only policy isolating a side (its rules are all the side's rules): whether
    /// opening the side would let through something the other sides allow.
    fn opening_changes_something(&mut self, subject: u32, direction: Direction) -> bool {
        // What the side allows now, per collected entity; nothing elsewhere.
        let mut allowed = vec![PortSets::NONE; self.entities.len()];
        for &(slot, _, id) in &self.entries {
            allowed[slot as usize] = self.ports.union(allowed[slot as usize], id);
        }
        for e in 0..self.entity_count {
            if self.is_self(subject, e) {
                continue;
            }
            let (other_side, now) = match self.slot_of[e as usize] {
                UNMARKED => (self.other_side_of(subject, direction, e), PortSets::NONE),
                slot => (
                    self.other_side(subject, direction, slot),
                    allowed[slot as usize],
                ),
            };
            if self.ports.difference(other_side, now) != PortSets::NONE {
                return true;
            }
        }
        false
    }
}

/// Finds the redundant rules and policies.
pub fn redundancy(model: &Model, engine: &Engine) -> Redundancy {
    let mut a = Analysis::new(model, engine);
    for c in 0..a.class_count {
        for direction in [Direction::Egress, Direction::Ingress] {
            a.side(c, direction);
        }
    }

    let mut out = Redundancy::default();
    let mut redundant_policy = vec![false; model.policies.len()];
    for (p, verdict) in a.policies.iter().enumerate() {
        if !verdict.has_subject || verdict.needed {
            continue;
        }
        redundant_policy[p] = true;
        let mut covered_by = std::mem::take(&mut a.policy_covered[p]);
        covered_by.sort_unstable();
        covered_by.dedup();
        out.policies.push(RedundantPolicy {
            policy: PolicyId::new(p),
            covered_by,
            masked_by_other_side: verdict.masked,
        });
    }

    let mut covered: Vec<(u32, u32)> = a.rule_covered.into_iter().collect();
    covered.sort_unstable();
    for (r, verdict) in a.rules.iter().enumerate() {
        let at = engine.rule_at(r as u32);
        if redundant_policy[at.policy.index()] || verdict.needed || !verdict.has_subject {
            continue;
        }
        if !verdict.admits {
            out.inert_rules.push(at);
            continue;
        }
        let start = covered.partition_point(|&(x, _)| x < r as u32);
        let end = covered.partition_point(|&(x, _)| x <= r as u32);
        let mut covered_by: Vec<RuleRef> = covered[start..end]
            .iter()
            .map(|&(_, q)| engine.rule_at(q))
            .collect();
        covered_by.sort_unstable_by_key(|q| (q.policy, q.direction, q.rule));
        out.rules.push(RedundantRule {
            rule: at,
            covered_by,
            masked_by_other_side: verdict.masked,
        });
    }
    out
}

/// The policies that isolate, in `direction`, the pods any of `rules` admits as peers
/// (through their `from`/`to` peers as the engine resolved them), sorted by id. A finding
/// that a rule is redundant because the other side denies what it allows leads with these:
/// when the traffic should flow, they are the likely bug.
pub fn peer_isolators(
    engine: &Engine,
    rules: impl IntoIterator<Item = RuleRef>,
    direction: Direction,
) -> Vec<PolicyId> {
    let mut found: Vec<PolicyId> = Vec::new();
    for rule in rules {
        for c in engine.peer_classes(rule) {
            found.extend_from_slice(engine.isolating_policies(c, direction));
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}
