//! Property tests with admin tiers: on random clusters with random ClusterNetworkPolicies
//! (both tiers, tied priorities, Pass, networks, nodes, domainNames, named ports), the compiled
//! engine and connectivity agree with the reference.

use palisade_engine::connectivity::{self, Level, PeerRef};
use palisade_engine::{Endpoint, Engine, Query, Reference};
use palisade_model::{Direction, Model, PortSet, Protocol};
use palisade_testkit::{
    AdminPolicySpec, PORTS, PodSpec, PolicySpec, add_admin_policies, admin_policies_strategy,
    model_strategy,
};
use proptest::prelude::*;

const EXTERNAL: [&str; 4] = ["10.0.0.7", "10.1.2.3", "192.0.2.9", "2001:db8::5"];

fn build(
    pods: &[PodSpec],
    policies: &[PolicySpec],
    ns: &[Vec<(usize, usize)>],
    admin: &[AdminPolicySpec],
) -> Model {
    let pods: Vec<(PodSpec, Option<u8>)> = pods.iter().map(|p| (p.clone(), None)).collect();
    let mut model = palisade_testkit::build_model(&pods, policies, ns);
    add_admin_policies(&mut model, admin);
    model
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
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn compiled_engine_agrees_with_reference_through_the_tiers(
        (pods, policies, ns) in model_strategy(),
        admin in admin_policies_strategy(),
    ) {
        let model = build(&pods, &policies, &ns, &admin);
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
                        prop_assert_eq!(got.egress_admin, expected.egress.admin_rule, "{:?}", query);
                        prop_assert_eq!(got.ingress_admin, expected.ingress.admin_rule, "{:?}", query);
                    }
                }
            }
        }
    }

    #[test]
    fn connectivity_agrees_with_reference_through_the_tiers(
        (pods, policies, ns) in model_strategy(),
        admin in admin_policies_strategy(),
    ) {
        let model = build(&pods, &policies, &ns, &admin);
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
                }
                .unwrap_or_else(PortSet::none);
                let by_sides = reference
                    .allowed_ports(src, Direction::Egress, Endpoint::Pod(dst))
                    .intersection(&reference.allowed_ports(dst, Direction::Ingress, Endpoint::Pod(src)));
                prop_assert_eq!(&by_sides, &ports);
                for protocol in Protocol::ALL {
                    for port in PORTS {
                        let query = Query { src: Endpoint::Pod(src), dst: Endpoint::Pod(dst), protocol, port };
                        prop_assert_eq!(ports.contains(protocol, port), reference.allowed(&query), "{:?}", query);
                    }
                }
            }
        }
    }
}
