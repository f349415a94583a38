//! Property test with admin tiers: on random models whose ClusterNetworkPolicies differ
//! between the sides (added, removed, modified by position), the full diff reports exactly
//! the pod pairs and pod → address pairs whose allowed ports the reference evaluator says
//! changed, with the same before/after, and names an admin policy as a cause of every
//! pod-to-pod change (nothing else differs).

use palisade_diff::diff_full;
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
