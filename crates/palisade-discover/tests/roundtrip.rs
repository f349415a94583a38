//! Property tests on random clusters and random traffic:
//! (1) replaying the learned sessions against the generated set never breaks one;
//! (2) every connection the generated set allows between workloads it isolates is justified
//!     by a learned session (same workload pair, protocol and port) or is DNS to the cluster
//!     DNS pods;
//! (3) the output is deterministic (same input, or the same sessions in another order →
//!     byte-identical files).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use palisade_discover::generate::is_dns_pod;
use palisade_discover::{
    DnsMode, GenerateOptions, LearnMode, Learner, MapOptions, NodeKey, Observation, generate,
    harden, proposed_model, prove,
};
use palisade_engine::{Endpoint, Engine, SideOutcome};
use palisade_flows::{Evidence, Observed, Session};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Model, PodId, Protocol};
use palisade_replay::{DenyAction, Replayer};
use proptest::prelude::*;

const APPS: [&str; 2] = ["web", "api"];
const PORTS: [(&str, Protocol, u16); 3] = [
    ("http", Protocol::Tcp, 80),
    ("grpc", Protocol::Tcp, 9090),
    ("metrics", Protocol::Tcp, 9100),
];
/// Probed ports: the declared ones, DNS, and a few nobody declares.
const PROBES: [(Protocol, u16); 7] = [
    (Protocol::Tcp, 80),
    (Protocol::Tcp, 9090),
    (Protocol::Tcp, 9100),
    (Protocol::Udp, 53),
    (Protocol::Tcp, 53),
    (Protocol::Tcp, 443),
    (Protocol::Tcp, 5432),
];

#[derive(Clone, Debug)]
struct WorkloadSpec {
    namespace: usize,
    app: usize,
    tier: Option<usize>,
    pods: usize,
    ports: Vec<usize>,
}

#[derive(Clone, Debug)]
struct ClusterSpec {
    workloads: Vec<WorkloadSpec>,
    dns: bool,
    default_deny: Vec<usize>,
}

fn cluster_strategy() -> impl Strategy<Value = ClusterSpec> {
    let workload = (
        0..2usize,
        0..2usize,
        prop::option::of(0..2usize),
        1..3usize,
        prop::collection::vec(0..3usize, 0..3),
    )
        .prop_map(|(namespace, app, tier, pods, ports)| WorkloadSpec {
            namespace,
            app,
            tier,
            pods,
            ports,
        });
    (
        prop::collection::vec(workload, 1..6),
        any::<bool>(),
        prop::collection::vec(0..2usize, 0..2),
    )
        .prop_map(|(workloads, dns, default_deny)| ClusterSpec {
            workloads,
            dns,
            default_deny,
        })
}

/// The cluster as manifests: Deployments whose selector is `app` only (so two of them may
/// coincide) with a unique `name` label in the template, their pods with IPs and
/// pod-template-hash, CoreDNS, and default-deny policies.
fn manifests(spec: &ClusterSpec) -> (String, Vec<IpAddr>) {
    let mut y = String::new();
    let mut ips = Vec::new();
    let mut next_ip = 1u8;
    let mut deployment = |y: &mut String,
                          ns: &str,
                          name: &str,
                          selector: &str,
                          extra: &str,
                          ports: &[(String, &str, u16)],
                          pods: usize| {
        let mut port_yaml = String::new();
        for (n, p, num) in ports {
            let _ = write!(
                port_yaml,
                "\n        - {{name: {n}, containerPort: {num}, protocol: {p}}}"
            );
        }
        let ports_field = if ports.is_empty() {
            String::new()
        } else {
            format!("\n        ports:{port_yaml}")
        };
        let _ = write!(
            y,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{{selector}}}}}\n  template:\n    metadata: {{labels: {{{selector}, {extra}}}}}\n    spec:\n      containers:\n      - name: c\n        image: x{ports_field}\n"
        );
        for k in 0..pods {
            let ip: IpAddr = format!("10.0.0.{next_ip}").parse().unwrap();
            next_ip += 1;
            ips.push(ip);
            let mut pod_ports = String::new();
            for (n, p, num) in ports {
                let _ = write!(
                    pod_ports,
                    "\n    - {{name: {n}, containerPort: {num}, protocol: {p}}}"
                );
            }
            let pod_ports = if ports.is_empty() {
                String::new()
            } else {
                format!("\n    ports:{pod_ports}")
            };
            let _ = write!(
                y,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}-5d4c3b2a1-p{k}\n  namespace: {ns}\n  labels: {{{selector}, {extra}, pod-template-hash: 5d4c3b2a1}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {name}-5d4c3b2a1, controller: true}}]\nspec:\n  containers:\n  - name: c\n    image: x{pod_ports}\nstatus: {{podIP: {ip}}}\n"
            );
        }
    };
    for ns in ["ns0", "ns1", "kube-system"] {
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
        );
    }
    for (i, w) in spec.workloads.iter().enumerate() {
        let ports: Vec<(String, &str, u16)> = w
            .ports
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|&p| (PORTS[p].0.to_string(), PORTS[p].1.as_str(), PORTS[p].2))
            .collect();
        let tier = w.tier.map(|t| format!(", tier: t{t}")).unwrap_or_default();
        deployment(
            &mut y,
            &format!("ns{}", w.namespace),
            &format!("w{i}"),
            &format!("app: {}", APPS[w.app]),
            &format!("name: w{i}{tier}"),
            &ports,
            w.pods,
        );
    }
    if spec.dns {
        deployment(
            &mut y,
            "kube-system",
            "coredns",
            "k8s-app: kube-dns",
            "name: coredns",
            &[("dns".into(), "UDP", 53), ("dns-tcp".into(), "TCP", 53)],
            1,
        );
    }
    for ns in &spec.default_deny {
        let _ = write!(
            y,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny, namespace: ns{ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
        );
    }
    (y, ips)
}

#[derive(Clone, Debug)]
struct Conn {
    src: usize,
    dst: usize,
    port: usize,
    outcome: usize,
}

fn conns_strategy() -> impl Strategy<Value = Vec<Conn>> {
    prop::collection::vec(
        (0..16usize, 0..16usize, 0..PROBES.len(), 0..4usize).prop_map(
            |(src, dst, port, outcome)| Conn {
                src,
                dst,
                port,
                outcome,
            },
        ),
        0..24,
    )
}

const EXTERNAL: [&str; 3] = ["203.0.113.7", "203.0.113.200", "198.51.100.9"];

fn sessions(conns: &[Conn], ips: &[IpAddr]) -> Vec<Session> {
    let addr = |i: usize| -> IpAddr {
        let all = ips.len() + EXTERNAL.len();
        let i = i % all;
        if i < ips.len() {
            ips[i]
        } else {
            EXTERNAL[i - ips.len()].parse().unwrap()
        }
    };
    conns
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let (protocol, port) = PROBES[c.port];
            Session {
                start_ns: 1_800_000_000_000_000_000 + k as i64 * 1_000_000,
                last_seen_ns: 0,
                decided_ns: 0,
                proto: protocol,
                src: SocketAddr::new(addr(c.src), 40000 + k as u16),
                dst: SocketAddr::new(addr(c.dst), port),
                observed: [
                    Observed::Accepted,
                    Observed::Refused,
                    Observed::TimedOut,
                    Observed::Unknown,
                ][c.outcome],
                evidence: Evidence::Listed,
                packets_fwd: 1,
                packets_rev: 1,
                attempts: 1,
                src_endpoint: None,
                dst_endpoint: None,
                nodes: vec![],
                denied_by: vec![],
                during_gap: false,
            }
        })
        .collect()
}

fn observe(model: &Model, sessions: &[Session], learn: LearnMode) -> Observation {
    let mut replayer = Replayer::new(model, DenyAction::Drop);
    let mut learner = Learner::new(model, MapOptions::default(), learn);
    for s in sessions {
        learner.add(&replayer.replay(s.clone()));
    }
    learner.finish()
}

fn node_of(model: &Model, pod: PodId) -> NodeKey {
    match model.pods[pod.index()].workload {
        Some(w) => NodeKey::Workload(w),
        None => NodeKey::Pod(pod),
    }
}

/// Property (2): every allowing rule of a generated policy between two pods is backed by a
/// learned session of the same workload pair, protocol and port, or is DNS.
fn check_minimal(model: &Model, proposed: &Model, obs: &Observation) -> Result<(), String> {
    let learned: BTreeSet<(NodeKey, NodeKey, Protocol, u16)> = obs
        .tuples
        .iter()
        .map(|t| {
            (
                obs.map.nodes[t.src_node].key.clone(),
                obs.map.nodes[t.dst_node].key.clone(),
                t.protocol,
                t.port,
            )
        })
        .collect();
    let engine = Engine::new(proposed);
    let generated = |policy: palisade_model::PolicyId| {
        proposed.policies[policy.index()].span.is_some_and(|s| {
            proposed
                .sources
                .get(s.source)
                .path
                .starts_with("generated/")
        })
    };
    for a in model.pod_ids() {
        for b in model.pod_ids() {
            for (protocol, port) in PROBES {
                let v = engine.verdict(
                    engine.entity(&Endpoint::Pod(a)),
                    engine.entity(&Endpoint::Pod(b)),
                    protocol,
                    port,
                );
                let dns = port == 53 && is_dns_pod(&model.pods[b.index()].labels);
                let justified = dns
                    || learned.contains(&(node_of(model, a), node_of(model, b), protocol, port));
                for (side, outcome, rule) in [
                    ("egress", v.egress, v.egress_rule),
                    ("ingress", v.ingress, v.ingress_rule),
                ] {
                    if outcome == SideOutcome::Allowed
                        && rule.is_some_and(|r| generated(r.policy))
                        && !justified
                    {
                        return Err(format!(
                            "{} → {} :{port}/{protocol} allowed on {side} by a generated policy without a learned session",
                            model.pod_name(a),
                            model.pod_name(b)
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_sets_keep_learned_sessions_and_allow_nothing_else(
        spec in cluster_strategy(),
        conns in conns_strategy(),
        attempted in any::<bool>(),
        dns in 0..3usize,
        default_deny in any::<bool>(),
        merge_ports in any::<bool>(),
    ) {
        let (text, ips) = manifests(&spec);
        let loaded = load(&[Input::Text { name: "cluster.yaml".into(), text }], &LoadOptions::default());
        prop_assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let model = loaded.model;
        let sessions = sessions(&conns, &ips);
        let learn = if attempted { LearnMode::Attempted } else { LearnMode::Accepted };
        let obs = observe(&model, &sessions, learn);
        let options = GenerateOptions {
            dns: [DnsMode::All, DnsMode::Observed, DnsMode::None][dns],
            default_deny,
            merge_ports,
            generated_from: "random".into(),
            ..GenerateOptions::default()
        };
        let generated = generate(&model, &obs, &options);
        let proposed = proposed_model(&model, &generated, options.mode)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        // (1) The proof holds.
        let proof = prove(&proposed, &obs);
        prop_assert!(proof.holds(), "{:?}\n{}", proof, generated.concatenated());
        prop_assert_eq!(proof.accepted, obs.learned);
        // (2) Nothing else between pods, unless DNS.
        if let Err(e) = check_minimal(&model, &proposed, &obs) {
            return Err(TestCaseError::fail(format!("{e}\n{}", generated.concatenated())));
        }
        // (3) Deterministic, whatever the session order.
        let mut reversed = sessions.clone();
        reversed.reverse();
        let again = generate(&model, &observe(&model, &reversed, learn), &options);
        prop_assert_eq!(again.files, generated.files);
        // Every stage of the hardening plan holds too (widening is not checked here).
        let mut seen = 0;
        let plan = harden(&model, &obs, &options, &|_, _| 0, &mut |_| seen += 1)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(plan.refused.is_none(), "{:?}", plan.refused);
        prop_assert_eq!(plan.stages.len(), 4);
        prop_assert_eq!(seen, 4, "one `accepted` call per stage kept");
    }
}
