//! The fast redundancy analysis returns exactly what the reference (the first, simple
//! version) returns, findings, coverers and "masked" flags alike, on random clusters.
//! (`tests/redundancy.rs` ties both to brute force: remove, recompute, compare.)

use super::{Redundancy, redundancy, reference};
use crate::Engine;
use palisade_model::Model;
use palisade_testkit::{PodSpec, PolicySpec, build_model, pod_strategy, policy_strategy};
use proptest::prelude::*;

/// Random pods and policies over three namespaces, plus copies of some policies (whole, or
/// with a direction's rules dropped, or into another namespace) so that redundant policies and
/// rules are common rather than rare.
fn cluster() -> impl Strategy<Value = Model> {
    (
        prop::collection::vec(pod_strategy(), 1..14),
        prop::collection::vec(policy_strategy(), 0..8),
        prop::collection::vec(palisade_testkit::labels_strategy(), 3..=3),
        prop::collection::vec((any::<prop::sample::Index>(), 0..4u8), 0..4),
    )
        .prop_map(|(pods, mut policies, ns, copies)| {
            if !policies.is_empty() {
                for (index, how) in copies {
                    let mut copy: PolicySpec = index.get(&policies).clone();
                    match how {
                        0 => {}
                        1 => copy.ingress.clear(),
                        2 => copy.egress.truncate(1),
                        _ => copy.namespace = (copy.namespace + 1) % 3,
                    }
                    policies.push(copy);
                }
            }
            let pods: Vec<(PodSpec, Option<u8>)> = pods.into_iter().map(|p| (p, None)).collect();
            build_model(&pods, &policies, &ns)
        })
}

fn both(model: &Model) -> (Redundancy, Redundancy) {
    let engine = Engine::new(model);
    (
        redundancy(model, &engine),
        reference::redundancy(model, &engine),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn fast_redundancy_equals_the_reference(model in cluster()) {
        let (fast, reference) = both(&model);
        prop_assert_eq!(fast, reference);
    }
}

/// The generator above does produce every kind of finding (so the equality is not only
/// ever checked on empty answers).
#[test]
fn the_random_clusters_hold_every_kind_of_finding() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = cluster();
    let (mut policies, mut rules, mut masked, mut inert) = (0, 0, 0, 0);
    for _ in 0..300 {
        let model = strategy.new_tree(&mut runner).unwrap().current();
        let (fast, reference) = both(&model);
        assert_eq!(fast, reference);
        policies += fast.policies.len();
        rules += fast.rules.len();
        masked += fast.rules.iter().filter(|r| r.masked_by_other_side).count()
            + fast
                .policies
                .iter()
                .filter(|p| p.masked_by_other_side)
                .count();
        inert += fast.inert_rules.len();
    }
    assert!(policies > 20, "{policies}");
    assert!(rules > 20, "{rules}");
    assert!(masked > 5, "{masked}");
    assert!(inert > 5, "{inert}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// `Engine::peer_classes` and `peer_isolators` (peers resolved by the engine, per class)
    /// name the same classes and policies as a walk over every pod with the peer rule of
    /// `semantics`.
    #[test]
    fn peer_isolators_equal_a_walk_over_pods(model in cluster()) {
        use crate::semantics::rule_peer;
        use crate::{Endpoint, RuleRef};
        use palisade_model::{Direction, PolicyId};
        let engine = Engine::new(&model);
        for policy in model.policy_ids() {
            let p = &model.policies[policy.index()];
            for direction in [Direction::Ingress, Direction::Egress] {
                let back = super::opposite(direction);
                for (index, rule) in p.rules(direction).iter().enumerate() {
                    let mut walked: Vec<PolicyId> = model
                        .pod_ids()
                        .filter(|&pod| rule_peer(&model, p.namespace, rule, Endpoint::Pod(pod)).is_some())
                        .flat_map(|pod| engine.isolating_policies(engine.class_of(pod), back).to_vec())
                        .collect();
                    walked.sort_unstable();
                    walked.dedup();
                    let at = RuleRef { policy, direction, rule: index as u32 };
                    prop_assert_eq!(super::peer_isolators(&engine, [at], back), walked);
                    let mut classes: Vec<u32> = model
                        .pod_ids()
                        .filter(|&pod| rule_peer(&model, p.namespace, rule, Endpoint::Pod(pod)).is_some())
                        .map(|pod| engine.class_of(pod))
                        .collect();
                    classes.sort_unstable();
                    classes.dedup();
                    prop_assert_eq!(engine.peer_classes(at), classes);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The point query `Engine::rule_ports_towards` answers, for every rule, subject and
    /// entity (classes and address atoms alike), what `Engine::rule_entries` reports for that
    /// entity, unioned; and `side_ports_towards` is the union over a side's rules when the
    /// class is isolated, everything when it is not.
    #[test]
    fn point_queries_equal_the_rule_entries(model in cluster()) {
        use crate::compiled::PortSets;
        use palisade_model::Direction;
        use rustc_hash::FxHashMap;
        let engine = Engine::new(&model);
        let atom_classes = engine.classes_by_atom();
        let mut ports = PortSets::new();
        let entities = engine.entity_count() as u32;
        for subject in 0..engine.classes().len() as u32 {
            for direction in [Direction::Ingress, Direction::Egress] {
                let mut side: FxHashMap<u32, u32> = FxHashMap::default();
                for &rule in engine.class_rules(subject, direction) {
                    let mut reported: FxHashMap<u32, u32> = FxHashMap::default();
                    engine.rule_entries(rule, subject, &atom_classes, &mut ports, |e, id, ports| {
                        let entry = reported.entry(e).or_insert(PortSets::NONE);
                        *entry = ports.union(*entry, id);
                    });
                    for entity in 0..entities {
                        let expected = reported.get(&entity).copied().unwrap_or(PortSets::NONE);
                        let queried = engine.rule_ports_towards(rule, subject, entity, &mut ports);
                        prop_assert_eq!(
                            ports.get(queried), ports.get(expected),
                            "rule {} of class {}, entity {}", rule, subject, entity
                        );
                        let entry = side.entry(entity).or_insert(PortSets::NONE);
                        *entry = ports.union(*entry, expected);
                    }
                }
                let isolated = engine.is_isolated(subject, direction);
                for entity in 0..entities {
                    let expected = if isolated {
                        side.get(&entity).copied().unwrap_or(PortSets::NONE)
                    } else {
                        PortSets::ALL
                    };
                    let queried = engine.side_ports_towards(subject, direction, entity, &mut ports);
                    prop_assert_eq!(ports.get(queried), ports.get(expected));
                }
            }
        }
    }
}
