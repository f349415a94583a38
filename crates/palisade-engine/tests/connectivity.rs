//! Connectivity's own rules, beyond what the pod-level agreement test sees: external atoms
//! with identical connectivity merge into the ranges a reader would name (never across
//! families, each pair listed once), a workload's connections are what all of its pods
//! share, and the compressed class-level form counts what it leaves symbolic.

use palisade_engine::connectivity::{self, Connectivity, Level, PeerRef};
use palisade_engine::{Endpoint, Engine, Reference};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Direction, IpNet, Model, PodId, PortRange, PortSet, Protocol};
use palisade_testkit::{PodSpec, model_strategy};
use proptest::prelude::*;
use std::net::IpAddr;

fn load_text(text: &str) -> Model {
    let loaded = load(
        &[Input::Text {
            name: "cluster.yaml".into(),
            text: text.into(),
        }],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.model
}

fn ports(entries: &[(Protocol, u16)]) -> PortSet {
    let mut set = PortSet::none();
    for &(protocol, port) in entries {
        set.insert(protocol, PortRange::single(port));
    }
    set
}

/// `client` may reach 10.0.0.0/9 and 10.128.0.0/9 on TCP 443 (two rules: two atoms with the
/// same connectivity, adjacent) and 192.168.0.0/16 on UDP 53; `server` is unrestricted and
/// has an IPv6 address, so IPv6 is partitioned too (one atom, `::/0`).
const CLUSTER: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {containers: [{name: c, image: client}]}
status: {podIP: 172.16.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: shop, labels: {app: server}}
spec: {containers: [{name: s, image: server}]}
status: {podIP: "fd00::10"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: shop}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/9}}]
    ports: [{protocol: TCP, port: 443}]
  - to: [{ipBlock: {cidr: 10.128.0.0/9}}]
    ports: [{protocol: TCP, port: 443}]
  - to: [{ipBlock: {cidr: 192.168.0.0/16}}]
    ports: [{protocol: UDP, port: 53}]
  - to: [{podSelector: {matchLabels: {app: server}}}]
    ports: [{protocol: TCP, port: 8080}]
"#;

fn names(result: &Connectivity) -> Vec<&str> {
    result.peers.iter().map(|p| p.name.as_str()).collect()
}

fn from(result: &Connectivity, src: &str) -> Vec<(String, PortSet)> {
    result
        .connections
        .iter()
        .filter(|c| result.peers[c.src].name == src)
        .map(|c| (result.peers[c.dst].name.clone(), c.ports.clone()))
        .collect()
}

#[test]
fn adjacent_atoms_alike_merge_into_one_range_and_families_stay_apart() {
    let model = load_text(CLUSTER);
    let engine = Engine::new(&model);
    let result = connectivity::compute(&model, &engine, Level::Pod);
    // The two /9s are one /8; the last IPv4 range and `::/0` have the same connectivity
    // (only the unrestricted server talks to them) but are different families.
    assert_eq!(
        names(&result),
        [
            "0.0.0.0-9.255.255.255",
            "10.0.0.0/8",
            "11.0.0.0-192.167.255.255",
            "192.168.0.0/16",
            "192.169.0.0-255.255.255.255",
            "::/0",
            "shop/client",
            "shop/server",
        ]
    );
    // Each destination once, with exactly its ports (merged atoms repeat the pair per atom).
    assert_eq!(
        from(&result, "shop/client"),
        [
            ("10.0.0.0/8".to_string(), ports(&[(Protocol::Tcp, 443)])),
            ("192.168.0.0/16".to_string(), ports(&[(Protocol::Udp, 53)])),
            ("shop/server".to_string(), ports(&[(Protocol::Tcp, 8080)])),
        ]
    );
    let everywhere: Vec<(String, PortSet)> = names(&result)
        .into_iter()
        .filter(|&n| n != "shop/server")
        .map(|n| (n.to_string(), PortSet::all()))
        .collect();
    assert_eq!(from(&result, "shop/server"), everywhere);
    // Every external range reaches both (unisolated) pods on everything.
    for range in &names(&result)[..6] {
        assert_eq!(
            from(&result, range),
            [
                ("shop/client".to_string(), PortSet::all()),
                ("shop/server".to_string(), PortSet::all()),
            ],
            "{range}"
        );
    }
}

#[test]
fn the_class_level_form_counts_pairs_and_open_sides() {
    let model = load_text(CLUSTER);
    let engine = Engine::new(&model);
    let classes = connectivity::class_connectivity(&engine);
    // client's egress is the only isolated side: its four destinations (the two /9 atoms,
    // 192.168.0.0/16 and server, all open for ingress) are the explicit pairs; the open
    // sides stay symbolic.
    assert_eq!(classes.explicit_pairs(), 4);
    assert_eq!(classes.open_egress(), 1); // server
    assert_eq!(classes.open_ingress(), 2); // client and server
    // Interned: none, all, TCP 443, UDP 53, TCP 8080.
    assert_eq!(classes.distinct_port_sets(), 5);

    // No policy: one class per namespace, every side open, nothing explicit.
    let mut open = String::new();
    for ns in ["a", "b", "c"] {
        open += &format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: {ns}}}\n\
             spec: {{containers: [{{name: c, image: i}}]}}\n"
        );
    }
    let model = load_text(&open);
    let engine = Engine::new(&model);
    let classes = connectivity::class_connectivity(&engine);
    assert_eq!(engine.classes().len(), 3);
    assert_eq!(classes.explicit_pairs(), 0);
    assert_eq!(classes.open_egress(), 3);
    assert_eq!(classes.open_ingress(), 3);
    assert_eq!(classes.distinct_port_sets(), 2); // none, all
}

/// `(pods, workload of each pod, policies, namespace labels)`.
fn workload_model_strategy() -> impl Strategy<Value = Model> {
    model_strategy().prop_flat_map(|(pods, policies, ns)| {
        let n = pods.len();
        prop::collection::vec(prop::option::of(0u8..2), n).prop_map(move |workloads| {
            let pods: Vec<(PodSpec, Option<u8>)> = pods.iter().cloned().zip(workloads).collect();
            palisade_testkit::build_model(&pods, &policies, &ns)
        })
    })
}

const EXTERNAL: [&str; 4] = ["10.0.0.7", "10.1.2.3", "192.0.2.9", "2001:db8::5"];

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

/// Intersection over `pods` of `f(pod)` (everything for no pod).
fn all_of(pods: &[PodId], f: impl Fn(PodId) -> PortSet) -> PortSet {
    pods.iter()
        .fold(PortSet::all(), |acc, &p| acc.intersection(&f(p)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// At the workload level an endpoint is a workload (or a pod of none): a connection
    /// carries exactly the ports every pod of the source may use towards every pod of the
    /// destination, is listed once, and never from an endpoint to itself.
    #[test]
    fn a_workload_connects_on_what_all_its_pods_share(model in workload_model_strategy()) {
        let reference = Reference::new(&model);
        let engine = Engine::new(&model);
        let result = connectivity::compute(&model, &engine, Level::Workload);
        let pods_of = |what: &PeerRef| -> Vec<PodId> {
            match what {
                PeerRef::Pod(p) => vec![*p],
                PeerRef::Workload(w) => model.workloads[w.index()].pods.clone(),
                PeerRef::External(_) => Vec::new(),
                PeerRef::Namespace(_) => unreachable!("workload level lists no namespaces"),
            }
        };
        // Every pod is in exactly one endpoint.
        let mut covered: Vec<PodId> = result.peers.iter().flat_map(|p| pods_of(&p.what)).collect();
        covered.sort();
        prop_assert_eq!(covered, model.pod_ids().collect::<Vec<_>>());
        let mut seen = std::collections::HashSet::new();
        for c in &result.connections {
            prop_assert!(c.src != c.dst);
            prop_assert!(seen.insert((c.src, c.dst)), "listed twice: {:?}", c);
            prop_assert!(!c.ports.is_empty());
        }
        let listed = |s: usize, d: usize| {
            result
                .connections
                .iter()
                .find(|c| c.src == s && c.dst == d)
                .map_or_else(PortSet::none, |c| c.ports.clone())
        };
        let endpoints: Vec<usize> = (0..result.peers.len())
            .filter(|&i| !matches!(result.peers[i].what, PeerRef::External(_)))
            .collect();
        for &s in &endpoints {
            let src_pods = pods_of(&result.peers[s].what);
            for &d in &endpoints {
                if s == d {
                    continue;
                }
                let dst_pods = pods_of(&result.peers[d].what);
                let expected = all_of(&src_pods, |p| {
                    all_of(&dst_pods, |q| {
                        reference
                            .allowed_ports(p, Direction::Egress, Endpoint::Pod(q))
                            .intersection(&reference.allowed_ports(q, Direction::Ingress, Endpoint::Pod(p)))
                    })
                });
                prop_assert_eq!(listed(s, d), expected, "{} -> {}", &result.peers[s].name, &result.peers[d].name);
            }
            // External addresses: the range holding each sample address.
            for ip in EXTERNAL {
                let ip: IpAddr = ip.parse().unwrap();
                let range = result.peers.iter().position(|p| {
                    matches!(p.what, PeerRef::External(_)) && range_contains(&p.name, ip)
                });
                let out = all_of(&src_pods, |p| reference.allowed_ports(p, Direction::Egress, Endpoint::External(ip)));
                let into = all_of(&src_pods, |p| reference.allowed_ports(p, Direction::Ingress, Endpoint::External(ip)));
                match range {
                    Some(r) => {
                        prop_assert_eq!(listed(s, r), out, "{} -> {}", &result.peers[s].name, ip);
                        prop_assert_eq!(listed(r, s), into, "{} -> {}", ip, &result.peers[s].name);
                    }
                    // A range nobody talks to is left out; a family nothing partitions too.
                    None => {
                        if engine.ip_space().atom_of(ip).is_some() {
                            prop_assert!(out.is_empty() && into.is_empty(), "{} unlisted", ip);
                        }
                    }
                }
            }
        }
    }
}

/// `web-1` and `web-2` (one class, namespace `a`) are unrestricted; `db` (namespace `b`)
/// admits only namespace `a` on TCP 80.
const TWO_NAMESPACES: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, image: web}]}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, image: web}]}
status: {podIP: 10.1.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: b, labels: {app: db}}
spec: {containers: [{name: c, image: db}]}
status: {podIP: 10.2.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-in, namespace: b}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: a}}}]
    ports: [{protocol: TCP, port: 80}]
"#;

fn rows(stream: connectivity::ConnectivityStream) -> usize {
    let mut count = 0;
    let mut stream = stream;
    let done: Result<(), ()> = stream.for_each(&mut |_, _, _, _| {
        count += 1;
        Ok(())
    });
    assert!(done.is_ok());
    count
}

#[test]
fn the_answer_size_counts_class_pairs_times_endpoints_and_the_open_blocks() {
    use connectivity::{AnswerSize, ConnectivityStream};
    // CLUSTER at pod level: 2 pods, 6 external ranges (8 endpoints). Explicit pairs: client's
    // 4 (the two /9 atoms still count twice); open blocks: server (open egress) to the 2
    // open-ingress pods and the 6 ranges (8), the 6 ranges to the 2 open-ingress pods (12).
    // 24 in all (22 rows: the two /9s are one range, and server -> server is no connection).
    // About 2 * 11 (average pod name) + 20 bytes a line.
    let model = load_text(CLUSTER);
    let engine = Engine::new(&model);
    let stream = ConnectivityStream::new(&model, &engine, Level::Pod);
    let size = stream.size();
    assert_eq!(
        size,
        AnswerSize {
            max_pairs: 24,
            text_bytes: 24 * 42,
            endpoints: 8
        }
    );
    assert_eq!(rows(stream), 22);
    // At namespace level the same class pairs land on 1 + 6 endpoints; the distinct
    // endpoint pairs are exactly the rows: shop -> shop, shop -> each range, each range ->
    // shop (13). A line: 2 * 4 ("shop") + 20 bytes.
    let stream = ConnectivityStream::namespaces(&model, &engine);
    let size = stream.size();
    assert_eq!(
        size,
        AnswerSize {
            max_pairs: 13,
            text_bytes: 13 * 28,
            endpoints: 7
        }
    );
    assert_eq!(rows(stream), 13);

    // Two pods per class multiply: web (2 pods) -> db is one class pair and 2 connections;
    // open blocks: 3 open-egress pods to 2 open-ingress pods and 1 range (9), the range to
    // the 2 open-ingress pods (2). 2 + 9 + 2 = 13 of at most 4 * 4; 11 rows (no pod talks
    // to itself). Names average (7 + 7 + 4) / 3 = 6 characters.
    let model = load_text(TWO_NAMESPACES);
    let engine = Engine::new(&model);
    let stream = ConnectivityStream::new(&model, &engine, Level::Pod);
    let size = stream.size();
    assert_eq!(
        size,
        AnswerSize {
            max_pairs: 13,
            text_bytes: 13 * 32,
            endpoints: 4
        }
    );
    assert_eq!(rows(stream), 11);

    // A class admitted by its own policy is an explicit pair with itself. With one pod that
    // is no connection: at namespace level `solo -> solo` is not counted, only `solo` -> the
    // range (its egress is open); pod level counts the self pair (2). With two pods it is:
    // `duo -> duo` and `duo` -> the range (pod level: 2 * 2 + 2 * 1 of at most 3 * 3).
    for (namespace, pods, namespace_pairs, namespace_rows, pod_pairs, pod_rows) in
        [("solo", 1, 1, 1, 2, 1), ("duo", 2, 2, 2, 6, 4)]
    {
        let mut text = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n\
             metadata: {{name: own-namespace-only, namespace: {namespace}}}\n\
             spec: {{podSelector: {{}}, policyTypes: [Ingress], ingress: [{{from: [{{podSelector: {{}}}}]}}]}}\n"
        );
        for i in 1..=pods {
            text += &format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p-{i}, namespace: {namespace}}}\n\
                 spec: {{containers: [{{name: c, image: p}}]}}\nstatus: {{podIP: 10.3.0.{i}}}\n"
            );
        }
        let model = load_text(&text);
        let engine = Engine::new(&model);
        let stream = ConnectivityStream::namespaces(&model, &engine);
        assert_eq!(stream.size().max_pairs, namespace_pairs, "{namespace}");
        assert_eq!(rows(stream), namespace_rows, "{namespace}");
        let stream = ConnectivityStream::new(&model, &engine, Level::Pod);
        assert_eq!(stream.size().max_pairs, pod_pairs, "{namespace}");
        assert_eq!(rows(stream), pod_rows, "{namespace}");
    }
}
