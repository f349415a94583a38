//! Property tests: the compiled engine and the connectivity computation agree with the
//! reference evaluator on random models, and the semantics obey their algebraic laws.

use palisade_engine::connectivity::{self, Level, PeerRef};
use palisade_engine::{Endpoint, Engine, Query, Reference, SideOutcome};
use palisade_model::{Direction, IpNet, LabelSelector, Model, PortSet, Protocol};
use palisade_testkit::{PORTS, PodSpec, PolicySpec, model_strategy, policy_strategy};
use proptest::prelude::*;
use std::net::IpAddr;

const EXTERNAL: [&str; 4] = ["10.0.0.7", "10.1.2.3", "192.0.2.9", "2001:db8::5"];

fn build_model(
    pods: &[PodSpec],
    policies: &[PolicySpec],
    ns_labels: &[Vec<(usize, usize)>],
) -> Model {
    let pods: Vec<(PodSpec, Option<u8>)> = pods.iter().map(|p| (p.clone(), None)).collect();
    palisade_testkit::build_model(&pods, policies, ns_labels)
}

fn endpoints(model: &Model) -> Vec<Endpoint> {
    model
        .pod_ids()
        .map(Endpoint::Pod)
        .chain(
            EXTERNAL
                .iter()
                .map(|ip| Endpoint::External(ip.parse().unwrap())),
        )
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn compiled_engine_agrees_with_reference((pods, policies, ns) in model_strategy()) {
        let model = build_model(&pods, &policies, &ns);
        let reference = Reference::new(&model);
        let engine = Engine::new(&model);
        for &src in &endpoints(&model) {
            for &dst in &endpoints(&model) {
                for protocol in Protocol::ALL {
                    for port in PORTS {
                        let query = Query { src, dst, protocol, port };
                        let expected = reference.explain(&query);
                        let got = engine.verdict(engine.entity(&src), engine.entity(&dst), protocol, port);
                        prop_assert_eq!(got.allowed, expected.allowed, "{:?}", query);
                        prop_assert_eq!(got.egress, expected.egress.outcome, "{:?}", query);
                        prop_assert_eq!(got.ingress, expected.ingress.outcome, "{:?}", query);
                        // Addresses of pods resolve to the pods' classes.
                        if let (Endpoint::Pod(s), Endpoint::Pod(d)) = (src, dst) {
                            let (sp, dp) = (&model.pods[s.index()], &model.pods[d.index()]);
                            if let (Some(&si), Some(&di)) = (sp.ips.first(), dp.ips.first()) {
                                let by_ip = engine.verdict_ips(si, di, protocol, port);
                                prop_assert_eq!(by_ip.allowed, expected.allowed, "by ip {:?}", query);
                                prop_assert_eq!(engine.allows_ips(si, di, protocol, port), expected.allowed);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn connectivity_agrees_with_reference((pods, policies, ns) in model_strategy()) {
        let model = build_model(&pods, &policies, &ns);
        let reference = Reference::new(&model);
        let engine = Engine::new(&model);
        let result = connectivity::compute(&model, &engine, Level::Pod);
        let peer_index = |pod| result.peers.iter().position(|p| p.what == PeerRef::Pod(pod));
        for src in model.pod_ids() {
            for dst in model.pod_ids() {
                if src == dst {
                    continue;
                }
                let ports = match (peer_index(src), peer_index(dst)) {
                    (Some(s), Some(d)) => result
                        .connections
                        .iter()
                        .find(|c| c.src == s && c.dst == d)
                        .map(|c| c.ports.clone()),
                    _ => None,
                };
                // The reference's port-set answer is the same exact set.
                let by_sides = reference
                    .allowed_ports(src, Direction::Egress, Endpoint::Pod(dst))
                    .intersection(&reference.allowed_ports(dst, Direction::Ingress, Endpoint::Pod(src)));
                prop_assert_eq!(by_sides, ports.clone().unwrap_or_else(PortSet::none));
                for protocol in Protocol::ALL {
                    for port in PORTS {
                        let query = Query { src: Endpoint::Pod(src), dst: Endpoint::Pod(dst), protocol, port };
                        let expected = reference.allowed(&query);
                        let got = ports.as_ref().is_some_and(|p| p.contains(protocol, port));
                        prop_assert_eq!(got, expected, "{:?} ports {:?}", query, ports);
                    }
                }
            }
        }
        // External ranges: each sample address falls in exactly one named range.
        for ip in EXTERNAL {
            let ip: IpAddr = ip.parse().unwrap();
            if engine.ip_space().atom_of(ip).is_none() {
                // A family no ipBlock and no pod mentions is left out of the output.
                continue;
            }
            for pod in model.pod_ids() {
                for (dir_out, protocol, port) in [(true, Protocol::Tcp, 80), (false, Protocol::Udp, 53)] {
                    let (s, d) = if dir_out { (Endpoint::Pod(pod), Endpoint::External(ip)) } else { (Endpoint::External(ip), Endpoint::Pod(pod)) };
                    let expected = reference.allowed(&Query { src: s, dst: d, protocol, port });
                    let pod_peer = peer_index(pod);
                    let got = result.connections.iter().any(|c| {
                        let (ext, p) = if dir_out { (c.dst, c.src) } else { (c.src, c.dst) };
                        Some(p) == pod_peer
                            && range_contains(&result.peers[ext].name, ip)
                            && c.ports.contains(protocol, port)
                    });
                    prop_assert_eq!(got, expected, "{:?} {} {}", s, ip, dir_out);
                }
            }
        }
    }

    #[test]
    fn a_rule_that_allows_alone_still_allows_in_a_union(
        (pods, policies, ns) in model_strategy(),
        extra in prop::collection::vec(policy_strategy(), 1..3),
    ) {
        let alone = build_model(&pods, &policies, &ns);
        let mut all_policies = policies.clone();
        all_policies.extend(extra);
        let union = build_model(&pods, &all_policies, &ns);
        let (ra, ru) = (Reference::new(&alone), Reference::new(&union));
        for &src in &endpoints(&alone) {
            for &dst in &endpoints(&alone) {
                for port in [53, 80] {
                    let query = Query { src, dst, protocol: Protocol::Tcp, port };
                    let (a, u) = (ra.explain(&query), ru.explain(&query));
                    for (sa, su) in [(&a.egress, &u.egress), (&a.ingress, &u.ingress)] {
                        if sa.outcome == SideOutcome::Allowed {
                            prop_assert_eq!(su.outcome, SideOutcome::Allowed);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_policy_that_selects_nothing_changes_nothing(
        (pods, policies, ns) in model_strategy(),
        extra in policy_strategy(),
    ) {
        let before = build_model(&pods, &policies, &ns);
        let mut with_extra = policies.clone();
        with_extra.push(extra);
        let mut after = build_model(&pods, &with_extra, &ns);
        // A selector on a label no pod has.
        let last = after.policies.len() - 1;
        after.policies[last].pod_selector = LabelSelector::match_labels([("nobody", "has-this")]);
        let (eb, ea) = (Engine::new(&before), Engine::new(&after));
        for &src in &endpoints(&before) {
            for &dst in &endpoints(&before) {
                for protocol in Protocol::ALL {
                    for port in PORTS {
                        let vb = eb.verdict(eb.entity(&src), eb.entity(&dst), protocol, port);
                        let va = ea.verdict(ea.entity(&src), ea.entity(&dst), protocol, port);
                        prop_assert_eq!(vb.allowed, va.allowed);
                    }
                }
            }
        }
    }
}

fn range_contains(name: &str, ip: IpAddr) -> bool {
    if let Ok(net) = name.parse::<IpNet>() {
        return net.contains(&ip);
    }
    let Some((lo, hi)) = name.split_once('-') else {
        return false;
    };
    match (lo.parse::<IpAddr>(), hi.parse::<IpAddr>()) {
        (Ok(lo), Ok(hi)) => lo <= ip && ip <= hi && lo.is_ipv4() == ip.is_ipv4(),
        _ => false,
    }
}
