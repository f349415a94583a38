//! The redundancy analysis as first written, kept as the test reference for
//! [`super::redundancy`]: per subject class, it unions each rule's entries into hash maps of
//! port sets and caches every class's whole side map. Simple and slow (tens of seconds and
//! gigabytes at 150,000 pods); the fast analysis must return exactly what this one returns.

use super::{Redundancy, RedundantPolicy, RedundantRule, opposite};
use crate::compiled::{EntityIndex, PortSets};
use crate::{Engine, RuleRef};
use palisade_model::{Direction, Model, PolicyId, PortSet};
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::{OnceCell, RefCell};

/// Sorted by entity.
type SideMap = Option<Vec<(EntityIndex, PortSet)>>;

/// The engine's compiled rules seen per subject class, with lazily built side maps.
struct Analysis<'m> {
    engine: &'m Engine,
    class_count: u32,
    entity_count: u32,
    atom_classes: Vec<Vec<u32>>,
    ports: RefCell<PortSets>,
    maps: Vec<[OnceCell<SideMap>; 2]>,
}

fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Egress => 0,
        Direction::Ingress => 1,
    }
}

impl<'m> Analysis<'m> {
    fn new(engine: &'m Engine) -> Self {
        let class_count = engine.classes().len() as u32;
        Analysis {
            engine,
            class_count,
            entity_count: engine.entity_count() as u32,
            atom_classes: engine.classes_by_atom(),
            ports: RefCell::new(PortSets::new()),
            maps: (0..class_count)
                .map(|_| [OnceCell::new(), OnceCell::new()])
                .collect(),
        }
    }

    /// The compiled rules of `class` in a direction.
    fn class_rules(&self, class: u32, direction: Direction) -> &'m [u32] {
        self.engine.class_rules(class, direction)
    }

    /// The policies isolating `class` in a direction.
    fn isolators(&self, class: u32, direction: Direction) -> &'m [PolicyId] {
        self.engine.isolating_policies(class, direction)
    }

    /// Calls `f` for every entity a rule admits for `subject`, with non-empty ports.
    fn entries(
        &self,
        r: u32,
        subject: u32,
        direction: Direction,
        mut f: impl FnMut(EntityIndex, PortSet),
    ) {
        debug_assert_eq!(self.engine.rule_at(r).direction, direction);
        let mut ports = self.ports.borrow_mut();
        self.engine.rule_entries(
            r,
            subject,
            &self.atom_classes,
            &mut ports,
            |e, id, ports| {
                f(e, ports.get(id).clone());
            },
        );
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
            if !self.engine.is_isolated(class, direction) {
                return None;
            }
            let rules = self.class_rules(class, direction).iter().copied();
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

/// Finds the redundant rules and policies (the reference).
pub(super) fn redundancy(model: &Model, engine: &Engine) -> Redundancy {
    let a = Analysis::new(engine);
    let mut out = Redundancy::default();

    // Subjects of each policy and of each rule.
    let mut policy_subjects: Vec<Vec<u32>> = vec![Vec::new(); model.policies.len()];
    let mut rule_subjects: Vec<Vec<u32>> = vec![Vec::new(); engine.rule_count()];
    for c in 0..a.class_count {
        let mut seen: FxHashSet<PolicyId> = FxHashSet::default();
        for direction in [Direction::Egress, Direction::Ingress] {
            for &p in a.isolators(c, direction) {
                if seen.insert(p) {
                    policy_subjects[p.index()].push(c);
                }
            }
            for &r in a.class_rules(c, direction) {
                rule_subjects[r as usize].push(c);
            }
        }
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
                let others: Vec<PolicyId> = a
                    .isolators(c, direction)
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
                let rules = a.class_rules(c, direction);
                let own = |r: &u32| engine.rule_at(*r).policy == policy_id;
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

    for (r, subjects) in rule_subjects.iter().enumerate() {
        let at = engine.rule_at(r as u32);
        if redundant_policy[at.policy.index()] {
            continue;
        }
        let direction = at.direction;
        let mut any = false;
        let mut masked = false;
        let mut covered_by: FxHashSet<u32> = FxHashSet::default();
        let mut needed = false;
        for &c in subjects {
            let mine = a.union(c, direction, std::iter::once(r as u32));
            if mine.is_empty() {
                continue;
            }
            any = true;
            let mut others: FxHashMap<EntityIndex, PortSet> = FxHashMap::default();
            for &q in a.class_rules(c, direction) {
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
            if !subjects.is_empty() {
                out.inert_rules.push(at);
            }
            continue;
        }
        let mut covered_by: Vec<RuleRef> =
            covered_by.into_iter().map(|q| engine.rule_at(q)).collect();
        covered_by.sort_unstable_by_key(|q| (q.policy, q.direction, q.rule));
        out.rules.push(RedundantRule {
            rule: at,
            covered_by,
            masked_by_other_side: masked,
        });
    }
    out
}
