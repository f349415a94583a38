//! Property test: the incremental diff equals the full recomputation on random models and
//! random policy changes, at both levels, causes included.

use palisade_diff::{diff_full, diff_incremental};
use palisade_engine::connectivity::Level;
use palisade_model::{
    ContainerPort, IpBlock, IpNet, LabelSelector, Labels, ListForm, Model, Operator, Peer,
    PeerKind, Pod, PodOrigin, Policy, PortRef, PortSpec, Protocol, Requirement, Rule, Workload,
    WorkloadKind,
};
use proptest::prelude::*;
use std::net::IpAddr;

const PORTS: [u16; 6] = [1, 53, 80, 81, 8080, 9100];
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
    pods: &[(PodSpec, Option<u8>)],
    policies: &[PolicySpec],
    ns_labels: &[Vec<(usize, usize)>],
) -> Model {
    let mut model = Model::default();
    for (i, labels) in ns_labels.iter().enumerate() {
        model.declare_namespace(&format!("ns{i}"), to_labels(labels), Labels::new(), None);
    }
    for (i, (p, workload)) in pods.iter().enumerate() {
        let namespace = model.namespace_id(&format!("ns{}", p.namespace)).unwrap();
        let ip: Option<IpAddr> = p
            .has_ip
            .then(|| format!("10.0.0.{}", i * 3 + 1).parse().unwrap());
        let workload = workload.map(|w| {
            let name = format!("w{w}");
            match model
                .workloads
                .iter()
                .position(|x| x.name == name && x.namespace == namespace)
            {
                Some(i) => palisade_model::WorkloadId::new(i),
                None => model.add_workload(Workload {
                    name,
                    namespace,
                    kind: WorkloadKind::Deployment,
                    template_labels: Labels::new(),
                    template_ports: Vec::new(),
                    annotations: Labels::new(),
                    owner: None,
                    pods: Vec::new(),
                    span: None,
                }),
            }
        });
        let id = model.add_pod(Pod {
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
            workload,
            origin: PodOrigin::Declared,
            span: None,
        });
        if let Some(w) = workload {
            model.workloads[w.index()].pods.push(id);
        }
    }
    for (i, p) in policies.iter().enumerate() {
        let namespace = model.namespace_id(&format!("ns{}", p.namespace)).unwrap();
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
            egress: p.egress.iter().map(to_rule).collect(),
            egress_form: ListForm::Items,
            span: None,
        });
    }
    model
}

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
