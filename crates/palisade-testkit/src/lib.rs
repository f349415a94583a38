//! Test support shared by the crates' property tests: proptest strategies for small random
//! clusters (namespaces, pods with labels, named ports and IPs, policies with every kind of
//! peer and port) and the builder that turns them into a [`Model`]. A dev-dependency only.

use palisade_model::{
    ContainerPort, IpBlock, IpNet, LabelSelector, Labels, ListForm, Model, Operator, Peer,
    PeerKind, Pod, PodOrigin, Policy, PortRef, PortSpec, Protocol, Requirement, Rule, Workload,
    WorkloadKind,
};
use proptest::prelude::*;
use std::net::IpAddr;

/// Ports the generated rules and the tests probe.
pub const PORTS: [u16; 6] = [1, 53, 80, 81, 8080, 9100];
/// A generated pod: namespace index, label pairs (key, value indexes), named ports (indexes
/// into [`NAMED`]), whether it has an IP, hostNetwork.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct PodSpec {
    pub namespace: usize,
    pub labels: Vec<(usize, usize)>,
    pub ports: Vec<usize>,
    pub has_ip: bool,
    pub host_network: bool,
}

/// A generated label selector.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum SelectorSpec {
    Empty,
    Labels(Vec<(usize, usize)>),
    Expr(usize, u8, Vec<usize>),
}

/// A generated peer: selectors (namespace, pod) or an ipBlock (cidr, except indexes).
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum PeerSpec {
    Selector(Option<SelectorSpec>, Option<SelectorSpec>),
    Block(usize, Option<usize>),
}

/// A generated port entry: protocol index, and a port (index; >= 6 names a named port) with
/// an optional endPort offset.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct PortSpecGen {
    pub protocol: u8,
    pub port: Option<(u8, Option<u16>)>,
}

/// A generated rule.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct RuleSpec {
    pub peers: Vec<PeerSpec>,
    pub ports: Vec<PortSpecGen>,
}

/// A generated policy: namespace index, pod selector, policy types (0 ingress, 1 egress,
/// 2-3 both), rules.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct PolicySpec {
    pub namespace: usize,
    pub selector: SelectorSpec,
    pub types: u8,
    pub ingress: Vec<RuleSpec>,
    pub egress: Vec<RuleSpec>,
}

/// Label keys.
pub const KEYS: [&str; 3] = ["app", "tier", "env"];
/// Label values.
pub const VALUES: [&str; 3] = ["a", "b", "c"];
/// Named container ports pods may have.
pub const NAMED: [(&str, Protocol, u16); 4] = [
    ("http", Protocol::Tcp, 80),
    ("http-alt", Protocol::Tcp, 8080),
    ("dns", Protocol::Udp, 53),
    ("metrics", Protocol::Tcp, 9100),
];
/// ipBlock CIDRs.
pub const CIDRS: [&str; 5] = [
    "10.0.0.0/8",
    "10.0.0.0/24",
    "0.0.0.0/0",
    "192.0.2.0/24",
    "2001:db8::/32",
];
/// ipBlock excepts (used only inside a containing CIDR).
pub const EXCEPTS: [&str; 3] = ["10.0.0.0/28", "10.1.0.0/16", "192.0.2.8/29"];

/// Up to two label pairs.
pub fn labels_strategy() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..3usize, 0..3usize), 0..3)
}

/// Empty, matchLabels, or one matchExpressions requirement.
pub fn selector_strategy() -> impl Strategy<Value = SelectorSpec> {
    prop_oneof![
        Just(SelectorSpec::Empty),
        labels_strategy().prop_map(SelectorSpec::Labels),
        (0..3usize, 0..4u8, prop::collection::vec(0..3usize, 1..3))
            .prop_map(|(k, op, v)| SelectorSpec::Expr(k, op, v)),
    ]
}

/// A selector peer (3 in 4) or an ipBlock.
pub fn peer_strategy() -> impl Strategy<Value = PeerSpec> {
    prop_oneof![
        3 => (prop::option::of(selector_strategy()), prop::option::of(selector_strategy()))
            .prop_filter("a peer needs a selector", |(a, b)| a.is_some() || b.is_some())
            .prop_map(|(ns, pod)| PeerSpec::Selector(ns, pod)),
        1 => (0..CIDRS.len(), prop::option::of(0..EXCEPTS.len()))
            .prop_map(|(c, e)| PeerSpec::Block(c, e)),
    ]
}

/// A port entry.
pub fn port_strategy() -> impl Strategy<Value = PortSpecGen> {
    (
        0..3u8,
        prop::option::of((0..10u8, prop::option::of(0..200u16))),
    )
        .prop_map(|(protocol, port)| PortSpecGen { protocol, port })
}

/// A rule with up to two peers and two ports.
pub fn rule_strategy() -> impl Strategy<Value = RuleSpec> {
    (
        prop::collection::vec(peer_strategy(), 0..3),
        prop::collection::vec(port_strategy(), 0..3),
    )
        .prop_map(|(peers, ports)| RuleSpec { peers, ports })
}

/// A policy with up to two rules per direction.
pub fn policy_strategy() -> impl Strategy<Value = PolicySpec> {
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

/// A pod.
pub fn pod_strategy() -> impl Strategy<Value = PodSpec> {
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

/// Label pairs to labels.
pub fn to_labels(pairs: &[(usize, usize)]) -> Labels {
    pairs
        .iter()
        .map(|&(k, v)| (KEYS[k].to_string(), VALUES[v].to_string()))
        .collect()
}

/// A selector spec to a selector.
pub fn to_selector(spec: &SelectorSpec) -> LabelSelector {
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

/// A rule spec to a rule.
pub fn to_rule(spec: &RuleSpec) -> Rule {
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

/// Builds a model: namespaces `ns0`.., pods `p0`.. (optionally grouped under workload `wN`),
/// policies `np0`...
pub fn build_model(
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
                    selector: None,
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

/// (pods, policies, namespace labels) of a random model without workloads.
pub type ModelSpec = (Vec<PodSpec>, Vec<PolicySpec>, Vec<Vec<(usize, usize)>>);

/// A random model: 1-6 pods, 0-4 policies, 3 namespaces.
pub fn model_strategy() -> impl Strategy<Value = ModelSpec> {
    (
        prop::collection::vec(pod_strategy(), 1..7),
        prop::collection::vec(policy_strategy(), 0..5),
        prop::collection::vec(labels_strategy(), 3..=3),
    )
}

/// A generated admin-tier rule: action index (Accept, Deny, Pass), peers (selector peers as
/// `namespaces`/`pods`, blocks as `networks`, `nodes` (the [`NODES`]), and `domainNames`), ports (`None`: all).
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct AdminRuleSpec {
    pub action: u8,
    pub peers: Vec<AdminPeerSpec>,
    pub ports: Option<Vec<(u8, u8, u16)>>,
}

/// A generated admin peer.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum AdminPeerSpec {
    Namespaces(SelectorSpec),
    Pods(SelectorSpec, SelectorSpec),
    Networks(Vec<usize>),
    Nodes(SelectorSpec),
    DomainNames,
}

/// A generated node: name, label pairs (as [`to_labels`] takes them), address.
pub type NodeSpec = (&'static str, &'static [(usize, usize)], &'static str);

/// The `Node` objects [`add_admin_policies`] adds when an admin policy is generated:
/// name, labels and address. The addresses are ones the tier tests query as external
/// endpoints, one inside an ipBlock CIDR (10.0.0.0/24) and one outside every CIDR but
/// `0.0.0.0/0`, so a `nodes` peer and a `networks` peer can both match an address.
pub const NODES: [NodeSpec; 2] = [
    ("node-a", &[(0, 0)], "10.0.0.7"),
    ("node-b", &[(0, 1), (1, 0)], "192.0.2.9"),
];

/// A generated ClusterNetworkPolicy: tier (baseline when true), priority (few values, so
/// ties happen), subject (namespaces, or namespaces and pods), rules.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct AdminPolicySpec {
    pub baseline: bool,
    pub priority: u8,
    pub subject: (SelectorSpec, Option<SelectorSpec>),
    pub ingress: Vec<AdminRuleSpec>,
    pub egress: Vec<AdminRuleSpec>,
}

fn admin_rule_strategy(egress: bool) -> impl Strategy<Value = AdminRuleSpec> {
    let peer = prop_oneof![
        2 => selector_strategy().prop_map(AdminPeerSpec::Namespaces),
        2 => (selector_strategy(), selector_strategy()).prop_map(|(n, p)| AdminPeerSpec::Pods(n, p)),
        1 => prop::collection::vec(0..CIDRS.len(), 1..3).prop_map(AdminPeerSpec::Networks),
        1 => selector_strategy().prop_map(AdminPeerSpec::Nodes),
        1 => Just(AdminPeerSpec::DomainNames),
    ];
    (
        0..3u8,
        prop::collection::vec(peer, 1..3),
        prop::option::of(prop::collection::vec((0..3u8, 0..8u8, 0..200u16), 1..3)),
    )
        .prop_map(move |(action, mut peers, ports)| {
            if !egress {
                peers.retain(|p| {
                    matches!(p, AdminPeerSpec::Namespaces(_) | AdminPeerSpec::Pods(..))
                });
                if peers.is_empty() {
                    peers.push(AdminPeerSpec::Namespaces(SelectorSpec::Empty));
                }
            }
            AdminRuleSpec {
                action,
                peers,
                ports,
            }
        })
}

/// Up to three admin policies.
pub fn admin_policies_strategy() -> impl Strategy<Value = Vec<AdminPolicySpec>> {
    let policy = (
        any::<bool>(),
        0..3u8,
        (selector_strategy(), prop::option::of(selector_strategy())),
        prop::collection::vec(admin_rule_strategy(false), 0..3),
        prop::collection::vec(admin_rule_strategy(true), 0..3),
    )
        .prop_map(
            |(baseline, priority, subject, ingress, egress)| AdminPolicySpec {
                baseline,
                priority,
                subject,
                ingress,
                egress,
            },
        );
    prop::collection::vec(policy, 0..4)
}

/// Adds generated admin policies to a model, as the loader would store them (v1alpha2
/// constraints applied: named ports are dropped from rules with address or DNS peers,
/// `domainNames` rules become Accept).
pub fn add_admin_policies(model: &mut Model, specs: &[AdminPolicySpec]) {
    use palisade_model::{
        AdminAction, AdminKind, AdminPeer, AdminPeerKind, AdminPolicy, AdminPort, AdminPortKind,
        AdminRule, AdminSubject, AdminTier, IpBlock, Node, PortRange,
    };
    let rule = |spec: &AdminRuleSpec| {
        let peers: Vec<AdminPeer> = spec
            .peers
            .iter()
            .map(|p| AdminPeer {
                kind: match p {
                    AdminPeerSpec::Namespaces(s) => AdminPeerKind::Namespaces(to_selector(s)),
                    AdminPeerSpec::Pods(n, p) => AdminPeerKind::Pods {
                        namespace_selector: to_selector(n),
                        pod_selector: to_selector(p),
                    },
                    AdminPeerSpec::Networks(cidrs) => AdminPeerKind::Networks(
                        cidrs
                            .iter()
                            .map(|&c| {
                                let net: IpNet = CIDRS[c].parse().unwrap();
                                IpBlock {
                                    cidr_text: CIDRS[c].to_string(),
                                    cidr: net.trunc(),
                                    except: vec![],
                                    except_text: vec![],
                                }
                            })
                            .collect(),
                    ),
                    AdminPeerSpec::Nodes(s) => AdminPeerKind::Nodes(to_selector(s)),
                    AdminPeerSpec::DomainNames => {
                        AdminPeerKind::DomainNames(vec!["example.com".into()])
                    }
                },
                span: None,
            })
            .collect();
        let addresses = spec.peers.iter().any(|p| {
            matches!(
                p,
                AdminPeerSpec::Networks(_) | AdminPeerSpec::Nodes(_) | AdminPeerSpec::DomainNames
            )
        });
        let dns = spec
            .peers
            .iter()
            .any(|p| matches!(p, AdminPeerSpec::DomainNames));
        let ports = spec.ports.as_ref().map(|ports| {
            ports
                .iter()
                .filter_map(|&(proto, port, width)| {
                    let protocol = Protocol::ALL[proto as usize % 3];
                    let kind = if port >= 6 {
                        if addresses {
                            return None;
                        }
                        AdminPortKind::Named(NAMED[(port - 6) as usize % NAMED.len()].0.into())
                    } else {
                        let lo = PORTS[port as usize];
                        AdminPortKind::Range(
                            protocol,
                            PortRange {
                                lo,
                                hi: lo.saturating_add(width % 3 * width),
                            },
                        )
                    };
                    Some(AdminPort { kind, span: None })
                })
                .collect::<Vec<_>>()
        });
        AdminRule {
            name: String::new(),
            action: if dns {
                AdminAction::Accept
            } else {
                [AdminAction::Accept, AdminAction::Deny, AdminAction::Pass]
                    [spec.action as usize % 3]
            },
            peers,
            // An emptied list would be rejected upstream; treat it as "all ports".
            ports: ports.filter(|p| !p.is_empty()),
            span: None,
        }
    };
    if !specs.is_empty() {
        model
            .nodes
            .extend(NODES.iter().map(|(name, labels, ip)| Node {
                name: (*name).to_string(),
                labels: to_labels(labels),
                ips: vec![ip.parse().unwrap()],
                span: None,
            }));
    }
    for (i, spec) in specs.iter().enumerate() {
        let subject = match &spec.subject {
            (ns, None) => AdminSubject::Namespaces(to_selector(ns)),
            (ns, Some(pod)) => AdminSubject::Pods {
                namespace_selector: to_selector(ns),
                pod_selector: to_selector(pod),
            },
        };
        model.admin_policies.push(AdminPolicy {
            name: format!("cnp-{i}"),
            kind: AdminKind::ClusterNetworkPolicy,
            tier: if spec.baseline {
                AdminTier::Baseline
            } else {
                AdminTier::Admin
            },
            priority: u32::from(spec.priority),
            subject,
            ingress: spec.ingress.iter().map(rule).collect(),
            egress: spec.egress.iter().map(rule).collect(),
            annotations: Labels::new(),
            span: None,
        });
    }
}
