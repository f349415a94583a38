//! Property test: the incremental diff equals the full recomputation on random models and
//! random policy changes, at both levels, causes included.

use palisade_diff::{diff_aligned, diff_full, diff_incremental, diff_incremental_by_classes};
use palisade_engine::connectivity::Level;
use palisade_model::Model;
use palisade_testkit::*;
use proptest::prelude::*;

/// One edit of the policy list: remove, replace, add, or change one rule's ports/peers.
#[derive(Clone, Debug)]
enum EditSpec {
    Remove(usize),
    Replace(usize, PolicySpec),
    Add(PolicySpec),
    Rule(usize, bool, RuleSpec),
}

fn edit_strategy() -> impl Strategy<Value = EditSpec> {
    prop_oneof![
        (0..8usize).prop_map(EditSpec::Remove),
        (0..8usize, policy_strategy()).prop_map(|(i, p)| EditSpec::Replace(i, p)),
        policy_strategy().prop_map(EditSpec::Add),
        (0..8usize, any::<bool>(), rule_strategy()).prop_map(|(i, e, r)| EditSpec::Rule(i, e, r)),
    ]
}

fn apply(policies: &[PolicySpec], edits: &[EditSpec]) -> Vec<Option<PolicySpec>> {
    // Keep positions (names are np{index}) so unedited policies keep their names.
    let mut out: Vec<Option<PolicySpec>> = policies.iter().cloned().map(Some).collect();
    for e in edits {
        let n = out.len().max(1);
        match e {
            EditSpec::Remove(i) => {
                if let Some(slot) = out.get_mut(i % n) {
                    *slot = None;
                }
            }
            EditSpec::Replace(i, p) => {
                if let Some(slot) = out.get_mut(i % n) {
                    *slot = Some(p.clone());
                }
            }
            EditSpec::Add(p) => out.push(Some(p.clone())),
            EditSpec::Rule(i, egress, r) => {
                if let Some(Some(p)) = out.get_mut(i % n) {
                    let rules = if *egress {
                        &mut p.egress
                    } else {
                        &mut p.ingress
                    };
                    match rules.first_mut() {
                        Some(first) => *first = r.clone(),
                        None => rules.push(r.clone()),
                    }
                }
            }
        }
    }
    out
}

fn build_new(
    pods: &[(PodSpec, Option<u8>)],
    policies: &[Option<PolicySpec>],
    ns: &[Vec<(usize, usize)>],
) -> Model {
    let present: Vec<PolicySpec> = policies.iter().flatten().cloned().collect();
    let mut model = build_model(pods, &present, ns);
    // Restore the original names (np{position}) so kept policies match by name.
    let names: Vec<usize> = policies
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().map(|_| i))
        .collect();
    for (policy, i) in model.policies.iter_mut().zip(names) {
        policy.name = format!("np{i}");
    }
    model
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn incremental_equals_full(
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 1..8),
        policies in prop::collection::vec(policy_strategy(), 0..5),
        ns in prop::collection::vec(labels_strategy(), 3..=3),
        edits in prop::collection::vec(edit_strategy(), 1..3),
    ) {
        let old = build_model(&pods, &policies, &ns);
        let new = build_new(&pods, &apply(&policies, &edits), &ns);
        for level in [Level::Pod, Level::Workload] {
            let full = diff_full(&old, &new, level);
            let inc = diff_incremental(&old, &new, level).expect("same workloads");
            prop_assert_eq!(&inc.changes, &full.changes, "level {:?}", level);
            prop_assert_eq!(&inc.edits, &full.edits);
        }
    }

    /// The path many candidate pairs take: one evaluation per pair of pod classes. Every pod
    /// comes twice (same labels, ports and namespace, another name and IP), so classes hold
    /// several pods and random ipBlocks may split them.
    #[test]
    fn incremental_by_classes_equals_full(
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 1..6),
        policies in prop::collection::vec(policy_strategy(), 0..5),
        ns in prop::collection::vec(labels_strategy(), 3..=3),
        edits in prop::collection::vec(edit_strategy(), 1..3),
    ) {
        let pods: Vec<_> = pods.iter().chain(&pods).cloned().collect();
        let old = build_model(&pods, &policies, &ns);
        let new = build_new(&pods, &apply(&policies, &edits), &ns);
        for level in [Level::Pod, Level::Workload] {
            let full = diff_full(&old, &new, level);
            let inc = diff_incremental_by_classes(&old, &new, level).expect("same workloads");
            prop_assert_eq!(&inc.changes, &full.changes, "level {:?}", level);
            prop_assert_eq!(&inc.edits, &full.edits);
        }
    }

    #[test]
    fn a_model_against_itself_has_no_change(
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 1..8),
        policies in prop::collection::vec(policy_strategy(), 0..5),
        ns in prop::collection::vec(labels_strategy(), 3..=3),
    ) {
        let a = build_model(&pods, &policies, &ns);
        let b = build_model(&pods, &policies, &ns);
        let full = diff_full(&a, &b, Level::Workload);
        prop_assert!(full.is_equivalent(), "{:?}", full.changes);
    }
}

proptest! {
    // More cases than above: a change of one pod's IP or named ports matters only where a
    // random policy has an ipBlock or a named port that meets it.
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// The path for sides whose pods, workloads or namespace labels differ: pods replaced
    /// (other labels, ports, IP, workload or namespace), pods added at the end (the last
    /// ones dropped when `grow` is negative), one namespace's labels changed, and policy
    /// edits on top.
    #[test]
    fn aligned_equals_full(
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 1..7),
        replaced in prop::collection::vec(
            (0..8usize, pod_strategy(), prop::option::of(0..2u8)), 0..3),
        grow in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 0..3),
        shrink in 0..3usize,
        tweaks in prop::collection::vec((0..8usize, 0..3u8), 0..3),
        policies in prop::collection::vec(policy_strategy(), 0..5),
        ns in prop::collection::vec(labels_strategy(), 3..=3),
        relabel in prop::option::of((0..3usize, labels_strategy())),
        edits in prop::collection::vec(edit_strategy(), 0..3),
    ) {
        let mut new_pods = pods.clone();
        for (at, pod, workload) in replaced {
            let n = new_pods.len();
            new_pods[at % n] = (pod, workload);
        }
        // One property of a pod changed, nothing else: its IP, its named ports or hostNetwork.
        for (at, what) in tweaks {
            let n = new_pods.len();
            let pod = &mut new_pods[at % n].0;
            match what {
                0 => pod.has_ip = !pod.has_ip,
                1 => match pod.ports.pop() {
                    Some(_) => {}
                    None => pod.ports.push(0),
                },
                _ => pod.host_network = !pod.host_network,
            }
        }
        if grow.is_empty() {
            new_pods.truncate(new_pods.len().saturating_sub(shrink).max(1));
        }
        new_pods.extend(grow);
        let mut new_ns = ns.clone();
        if let Some((at, labels)) = relabel {
            new_ns[at] = labels;
        }
        let old = build_model(&pods, &policies, &ns);
        let new = build_new(&new_pods, &apply(&policies, &edits), &new_ns);
        for level in [Level::Pod, Level::Workload] {
            let full = diff_full(&old, &new, level);
            let aligned = diff_aligned(&old, &new, level).expect("no admin policies");
            prop_assert_eq!(&aligned.changes, &full.changes, "level {:?}", level);
            prop_assert_eq!(&aligned.appeared, &full.appeared);
            prop_assert_eq!(&aligned.disappeared, &full.disappeared);
            prop_assert_eq!(&aligned.edits, &full.edits);
        }
    }
}
