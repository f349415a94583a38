//! Property test with admin tiers: on random models whose ClusterNetworkPolicies differ
//! between the sides (added, removed, modified by position), the full diff reports exactly
//! the pod pairs and pod → address pairs whose allowed ports the reference evaluator says
//! changed, with the same before/after, and names an admin policy as a cause of every
//! pod-to-pod change (nothing else differs).

use palisade_diff::{diff_aligned, diff_full};
use palisade_engine::connectivity::Level;
use palisade_engine::{Endpoint, Reference};
use palisade_model::{Direction, IpNet, Model, PortSet};
use palisade_testkit::*;
use proptest::prelude::*;
use std::net::IpAddr;

const EXTERNAL: [&str; 4] = ["10.0.0.7", "10.1.2.3", "192.0.2.9", "203.0.113.5"];

fn build(
    pods: &[(PodSpec, Option<u8>)],
    policies: &[PolicySpec],
    ns: &[Vec<(usize, usize)>],
    admin: &[AdminPolicySpec],
) -> Model {
    let mut model = build_model(pods, policies, ns);
    add_admin_policies(&mut model, admin);
    model
}

fn pair(reference: &Reference<'_>, src: palisade_model::PodId, dst: Endpoint) -> PortSet {
    let egress = reference.allowed_ports(src, Direction::Egress, dst);
    match dst {
        Endpoint::Pod(d) => {
            egress.intersection(&reference.allowed_ports(d, Direction::Ingress, Endpoint::Pod(src)))
        }
        Endpoint::External(_) => egress,
    }
}

/// Whether a diff end (`a.b.c.d/n` or `first-last`) contains an address.
fn range_contains(end: &str, ip: IpAddr) -> bool {
    if let Ok(net) = end.parse::<IpNet>() {
        return net.contains(&ip);
    }
    match end.split_once('-') {
        Some((lo, hi)) => match (lo.parse::<IpAddr>(), hi.parse::<IpAddr>()) {
            (Ok(lo), Ok(hi)) => lo <= ip && ip <= hi && lo.is_ipv4() == ip.is_ipv4(),
            _ => false,
        },
        None => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn admin_edits_diff_as_the_reference_says(
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 1..7),
        policies in prop::collection::vec(policy_strategy(), 0..4),
        ns in prop::collection::vec(labels_strategy(), 3..=3),
        old_admin in admin_policies_strategy(),
        new_admin in admin_policies_strategy(),
    ) {
        let old = build(&pods, &policies, &ns, &old_admin);
        let new = build(&pods, &policies, &ns, &new_admin);
        let d = diff_full(&old, &new, Level::Pod);
        let (ro, rn) = (Reference::new(&old), Reference::new(&new));
        for a in old.pod_ids() {
            for b in old.pod_ids() {
                if a == b {
                    continue;
                }
                let (before, after) = (pair(&ro, a, Endpoint::Pod(b)), pair(&rn, a, Endpoint::Pod(b)));
                let (src, dst) = (old.pod_name(a), old.pod_name(b));
                let change = d.changes.iter().find(|c| c.src == src && c.dst == dst);
                if before == after {
                    prop_assert!(change.is_none(), "{src} -> {dst}: {change:?}");
                } else {
                    let change = change.ok_or_else(|| TestCaseError::fail(format!("{src} -> {dst} missing: {before} => {after}")))?;
                    prop_assert_eq!(&change.before, &before);
                    prop_assert_eq!(&change.after, &after);
                    prop_assert!(
                        change.causes.iter().any(|c| c.admin.is_some() && c.policy.starts_with("cnp/")),
                        "{} -> {}: no admin cause in {:?}", src, dst, change.causes
                    );
                }
            }
            for ip in EXTERNAL {
                let ip: IpAddr = ip.parse().unwrap();
                let (before, after) = (pair(&ro, a, Endpoint::External(ip)), pair(&rn, a, Endpoint::External(ip)));
                let src = old.pod_name(a);
                let change = d.changes.iter().find(|c| c.src == src && range_contains(&c.dst, ip));
                if before == after {
                    prop_assert!(change.is_none(), "{src} -> {ip}: {change:?}");
                } else {
                    let change = change.ok_or_else(|| TestCaseError::fail(format!("{src} -> {ip} missing: {before} => {after}")))?;
                    prop_assert_eq!(&change.before, &before);
                    prop_assert_eq!(&change.after, &after);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The aligned path with admin tiers: pods replaced or added, a namespace relabelled and
    /// the ClusterNetworkPolicies changed, on the same Nodes. It reports what the full path
    /// reports, at both levels.
    #[test]
    fn aligned_with_admin_tiers_equals_full(
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 1..6),
        replaced in prop::collection::vec(
            (0..8usize, pod_strategy(), prop::option::of(0..2u8)), 0..2),
        grow in prop::collection::vec((pod_strategy(), prop::option::of(0..2u8)), 0..2),
        policies in prop::collection::vec(policy_strategy(), 0..4),
        ns in prop::collection::vec(labels_strategy(), 3..=3),
        relabel in prop::option::of((0..3usize, labels_strategy())),
        old_admin in admin_policies_strategy(),
        new_admin in admin_policies_strategy(),
        admin_change in 0..5u8,
        tweak_at in 0..4usize,
        new_subject in (selector_strategy(), prop::option::of(selector_strategy())),
    ) {
        let mut new_pods = pods.clone();
        for (at, pod, workload) in replaced {
            let n = new_pods.len();
            new_pods[at % n] = (pod, workload);
        }
        new_pods.extend(grow);
        let mut new_ns = ns.clone();
        if let Some((at, labels)) = relabel {
            new_ns[at] = labels;
        }
        // Other admin policies, the same ones, or the same with one policy's priority, tier
        // or subject changed (its rules kept).
        let mut tweaked = old_admin.clone();
        let n = tweaked.len().max(1);
        if let Some(p) = tweaked.get_mut(tweak_at % n) {
            match admin_change {
                2 => p.priority = (p.priority + 1) % 3,
                3 => p.baseline = !p.baseline,
                4 => p.subject = new_subject,
                _ => {}
            }
        }
        let new_admin = match admin_change {
            0 => new_admin,
            _ => tweaked,
        };
        let old = build(&pods, &policies, &ns, &old_admin);
        let new = build(&new_pods, &policies, &new_ns, &new_admin);
        for level in [Level::Pod, Level::Workload] {
            let full = diff_full(&old, &new, level);
            // The generator adds its Nodes with the first admin policy: a side without any
            // has none, and the aligned path then declines.
            let Some(aligned) = diff_aligned(&old, &new, level) else {
                prop_assert_ne!(old.nodes.len(), new.nodes.len());
                continue;
            };
            prop_assert_eq!(&aligned.changes, &full.changes, "level {:?}", level);
            prop_assert_eq!(&aligned.appeared, &full.appeared);
            prop_assert_eq!(&aligned.disappeared, &full.disappeared);
            prop_assert_eq!(&aligned.edits, &full.edits);
        }
    }
}
