//! Property tests: the compiled engine and the connectivity computation agree with the
//! reference evaluator on random models, and the semantics obey their algebraic laws.

use palisade_engine::connectivity::{self, Level, PeerRef};
use palisade_engine::{Endpoint, Engine, Query, Reference, SideOutcome};
use palisade_model::{
    ContainerPort, Direction, IpBlock, IpNet, LabelSelector, Labels, ListForm, Model, Operator,
    Peer, PeerKind, Pod, PodOrigin, Policy, PortRef, PortSet, PortSpec, Protocol, Requirement,
    Rule,
};
use proptest::prelude::*;
use std::net::IpAddr;

const PORTS: [u16; 6] = [1, 53, 80, 81, 8080, 9100];
const EXTERNAL: [&str; 4] = ["10.0.0.7", "10.1.2.3", "192.0.2.9", "2001:db8::5"];

#[derive(Clone, Debug)]
struct PodSpec {
    namespace: usize,
    labels: Vec<(usize, usize)>,
    ports: Vec<usize>,
    has_ip: bool,
    host_network: bool,
}

#[derive(Clone, Debug)]
enum SelectorSpec {
    Empty,
    Labels(Vec<(usize, usize)>),
    Expr(usize, u8, Vec<usize>),
}

#[derive(Clone, Debug)]
enum PeerSpec {
    Selector(Option<SelectorSpec>, Option<SelectorSpec>),
    Block(usize, Option<usize>),
}

#[derive(Clone, Debug)]
struct PortSpecGen {
    protocol: u8,
    port: Option<(u8, Option<u16>)>,
}

#[derive(Clone, Debug)]
struct RuleSpec {
    peers: Vec<PeerSpec>,
    ports: Vec<PortSpecGen>,
}

#[derive(Clone, Debug)]
struct PolicySpec {
    namespace: usize,
    selector: SelectorSpec,
    types: u8,
    ingress: Vec<RuleSpec>,
    egress: Vec<RuleSpec>,
}

const KEYS: [&str; 3] = ["app", "tier", "env"];
const VALUES: [&str; 3] = ["a", "b", "c"];
const NAMED: [(&str, Protocol, u16); 4] = [
    ("http", Protocol::Tcp, 80),
    ("http-alt", Protocol::Tcp, 8080),
    ("dns", Protocol::Udp, 53),
    ("metrics", Protocol::Tcp, 9100),
];
const CIDRS: [&str; 5] = [
    "10.0.0.0/8",
    "10.0.0.0/24",
    "0.0.0.0/0",
    "192.0.2.0/24",
    "2001:db8::/32",
];
const EXCEPTS: [&str; 3] = ["10.0.0.0/28", "10.1.0.0/16", "192.0.2.8/29"];

fn labels_strategy() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..3usize, 0..3usize), 0..3)
}

fn selector_strategy() -> impl Strategy<Value = SelectorSpec> {
    prop_oneof![
        Just(SelectorSpec::Empty),
        labels_strategy().prop_map(SelectorSpec::Labels),
        (0..3usize, 0..4u8, prop::collection::vec(0..3usize, 1..3))
            .prop_map(|(k, op, v)| SelectorSpec::Expr(k, op, v)),
    ]
}

fn peer_strategy() -> impl Strategy<Value = PeerSpec> {
    prop_oneof![
        3 => (prop::option::of(selector_strategy()), prop::option::of(selector_strategy()))
            .prop_filter("a peer needs a selector", |(a, b)| a.is_some() || b.is_some())
            .prop_map(|(ns, pod)| PeerSpec::Selector(ns, pod)),
        1 => (0..CIDRS.len(), prop::option::of(0..EXCEPTS.len()))
            .prop_map(|(c, e)| PeerSpec::Block(c, e)),
    ]
}

fn port_strategy() -> impl Strategy<Value = PortSpecGen> {
    (
        0..3u8,
        prop::option::of((0..10u8, prop::option::of(0..200u16))),
    )
        .prop_map(|(protocol, port)| PortSpecGen { protocol, port })
}

fn rule_strategy() -> impl Strategy<Value = RuleSpec> {
    (
        prop::collection::vec(peer_strategy(), 0..3),
        prop::collection::vec(port_strategy(), 0..3),
    )
        .prop_map(|(peers, ports)| RuleSpec { peers, ports })
}

fn policy_strategy() -> impl Strategy<Value = PolicySpec> {
    (
        0..3usize,
        selector_strategy(),
        0..4u8,
        prop::collection::vec(rule_strategy(), 0..3),
        prop::collection::vec(rule_strategy(), 0..3),
    )
        .prop_map(|(namespace, selector, types, ingress, egress)| PolicySpec {
            namespace,
            selector,
            types,
            ingress,
            egress,
        })
}

fn pod_strategy() -> impl Strategy<Value = PodSpec> {
    (
        0..3usize,
        labels_strategy(),
        prop::collection::vec(0..NAMED.len(), 0..3),
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(namespace, labels, ports, has_ip, host_network)| PodSpec {
            namespace,
            labels,
            ports,
            has_ip,
            host_network,
        })
}

fn to_labels(pairs: &[(usize, usize)]) -> Labels {
    pairs
        .iter()
        .map(|&(k, v)| (KEYS[k].to_string(), VALUES[v].to_string()))
        .collect()
}

fn to_selector(spec: &SelectorSpec) -> LabelSelector {
    match spec {
        SelectorSpec::Empty => LabelSelector::default(),
        SelectorSpec::Labels(pairs) => LabelSelector {
            match_labels: to_labels(pairs).into_iter().collect(),
            ..Default::default()
        },
        SelectorSpec::Expr(k, op, values) => {
            let operator = [
                Operator::In,
                Operator::NotIn,
                Operator::Exists,
                Operator::DoesNotExist,
            ][*op as usize];
            let mut values: Vec<String> = match operator {
                Operator::In | Operator::NotIn => {
                    values.iter().map(|&v| VALUES[v].to_string()).collect()
                }
                _ => Vec::new(),
            };
            values.sort();
            values.dedup();
            LabelSelector {
                match_expressions: vec![Requirement {
                    key: KEYS[*k].to_string(),
                    operator,
                    values,
                }],
                ..Default::default()
            }
        }
    }
}

fn to_rule(spec: &RuleSpec) -> Rule {
    let peers: Vec<Peer> = spec
        .peers
        .iter()
        .map(|p| Peer {
            kind: match p {
                PeerSpec::Selector(ns, pod) => PeerKind::Selector {
                    namespace_selector: ns.as_ref().map(to_selector),
                    pod_selector: pod.as_ref().map(to_selector),
                },
                PeerSpec::Block(c, e) => {
                    let cidr: IpNet = CIDRS[*c].parse().unwrap();
                    let except: Vec<IpNet> = e
                        .map(|e| EXCEPTS[e].parse::<IpNet>().unwrap())
                        .filter(|e| cidr.contains(e) && *e != cidr)
                        .into_iter()
                        .collect();
                    PeerKind::IpBlock(IpBlock {
                        cidr_text: CIDRS[*c].to_string(),
                        cidr,
                        except_text: except.iter().map(ToString::to_string).collect(),
                        except,
                    })
                }
            },
            span: None,
        })
        .collect();
    let ports: Vec<PortSpec> = spec
        .ports
        .iter()
        .map(|p| {
            let protocol = Protocol::ALL[p.protocol as usize];
            let (port, end_port) = match p.port {
                None => (None, None),
                Some((i, _)) if i >= 6 => (
                    Some(PortRef::Name(NAMED[(i - 6) as usize].0.to_string())),
                    None,
                ),
                Some((i, end)) => {
                    let start = PORTS[i as usize];
                    (
                        Some(PortRef::Number(start)),
                        end.map(|e| start.saturating_add(e)),
                    )
                }
            };
            PortSpec {
                protocol,
                port,
                end_port,
                span: None,
            }
        })
        .collect();
    Rule {
        peers_form: if peers.is_empty() {
            ListForm::Missing
        } else {
            ListForm::Items
        },
        peers,
        ports_form: if ports.is_empty() {
            ListForm::Missing
        } else {
            ListForm::Items
        },
        ports,
        span: None,
    }
}

fn build_model(
    pods: &[PodSpec],
    policies: &[PolicySpec],
    ns_labels: &[Vec<(usize, usize)>],
) -> Model {
    let mut model = Model::default();
    for (i, labels) in ns_labels.iter().enumerate() {
        model.declare_namespace(&format!("ns{i}"), to_labels(labels), Labels::new(), None);
    }
    for (i, p) in pods.iter().enumerate() {
        let namespace = model.namespace_id(&format!("ns{}", p.namespace)).unwrap();
        // Unique addresses, some inside the except ranges of the generated ipBlocks.
        let ip: Option<IpAddr> = p
            .has_ip
            .then(|| format!("10.0.0.{}", i * 3 + 1).parse().unwrap());
        model.add_pod(Pod {
            name: format!("p{i}"),
            namespace,
            labels: to_labels(&p.labels),
            annotations: Labels::new(),
            ports: p
                .ports
                .iter()
                .map(|&n| ContainerPort {
                    name: Some(NAMED[n].0.to_string()),
                    port: NAMED[n].2,
                    protocol: NAMED[n].1,
                })
                .collect(),
            ips: ip.into_iter().collect(),
            host_network: p.host_network,
            workload: None,
            origin: PodOrigin::Declared,
            span: None,
        });
    }
    for (i, p) in policies.iter().enumerate() {
        let namespace = model.namespace_id(&format!("ns{}", p.namespace)).unwrap();
        let egress: Vec<Rule> = p.egress.iter().map(to_rule).collect();
        model.add_policy(Policy {
            name: format!("np{i}"),
            namespace,
            annotations: Labels::new(),
            pod_selector: to_selector(&p.selector),
            affects_ingress: p.types != 1,
            affects_egress: p.types >= 1,
            declared_policy_types: None,
            ingress: p.ingress.iter().map(to_rule).collect(),
            ingress_form: ListForm::Items,
            egress,
            egress_form: ListForm::Items,
            span: None,
        });
    }
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

type ModelSpec = (Vec<PodSpec>, Vec<PolicySpec>, Vec<Vec<(usize, usize)>>);

fn model_strategy() -> impl Strategy<Value = ModelSpec> {
    (
        prop::collection::vec(pod_strategy(), 1..7),
        prop::collection::vec(policy_strategy(), 0..5),
        prop::collection::vec(labels_strategy(), 3..=3),
    )
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
