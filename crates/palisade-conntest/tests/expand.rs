//! Expanding tests against a model: every connection a test names, and why one cannot run.

use palisade_conntest::{Check, Status, expand, grade, parse_spec};
use palisade_engine::{Endpoint, Engine};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Protocol;

const CLUSTER: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}, {containerPort: 53, protocol: UDP, name: dns}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 5432, name: pg}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]
";

fn model() -> palisade_model::Model {
    let loaded = load(
        &[Input::Text {
            name: "c.yaml".into(),
            text: CLUSTER.into(),
        }],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.model
}

fn checks(spec: &str) -> Result<Vec<Check>, String> {
    let model = model();
    let engine = Engine::new(&model);
    let (tests, errors) = parse_spec("t.yaml", spec);
    assert!(errors.is_empty(), "{errors:?}");
    expand(&model, &engine, &tests[0])
}

#[test]
fn omitted_port_means_every_declared_port_of_every_destination_pod() {
    let c = checks("tests:\n- {name: t, from: shop/db, to: shop/, expect: allow}\n").unwrap();
    // db -> web on 8080/TCP and 53/UDP (db -> db is skipped: a pod to itself).
    let ports: Vec<(Protocol, u16)> = c.iter().map(|c| (c.protocol, c.port)).collect();
    assert_eq!(ports, vec![(Protocol::Tcp, 8080), (Protocol::Udp, 53)]);
}

#[test]
fn named_port_takes_the_container_port_protocol() {
    let c = checks("tests:\n- {name: t, from: shop/db, to: shop/web, port: dns, expect: allow}\n")
        .unwrap();
    assert_eq!((c[0].protocol, c[0].port), (Protocol::Udp, 53));
    let err =
        checks("tests:\n- {name: t, from: shop/db, to: shop/web, port: nope, expect: allow}\n")
            .unwrap_err();
    assert!(err.contains("named `nope`"), "{err}");
}

#[test]
fn a_cidr_is_one_address_per_partition_piece_never_a_pod_address() {
    let c = checks(
        "tests:\n- {name: t, from: 192.168.0.0/16, to: shop/db, port: 5432, expect: deny}\n",
    )
    .unwrap();
    let sources: Vec<String> = c
        .iter()
        .map(|c| match c.src {
            Endpoint::External(ip) => ip.to_string(),
            Endpoint::Pod(_) => panic!("a CIDR names external addresses"),
        })
        .collect();
    // 192.168.0.0/24, 192.168.1.0/24 (except), 192.168.2.0-192.168.255.255.
    assert_eq!(sources, vec!["192.168.0.0", "192.168.1.0", "192.168.2.0"]);
}

#[test]
fn grading_needs_every_connection_to_match() {
    let model = model();
    let engine = Engine::new(&model);
    let (tests, _) = parse_spec(
        "t.yaml",
        "tests:\n- {name: t, from: 192.168.0.0/16, to: shop/db, port: 5432, expect: allow}\n",
    );
    let checks = expand(&model, &engine, &tests[0]).unwrap();
    let verdicts: Vec<(Option<bool>, String)> = checks
        .iter()
        .map(|c| {
            let a = engine
                .verdict(
                    engine.entity(&c.src),
                    engine.entity(&c.dst),
                    c.protocol,
                    c.port,
                )
                .allowed;
            (Some(a), String::new())
        })
        .collect();
    match grade(&tests[0], &checks, &verdicts).status {
        Status::Failed {
            check, failures, ..
        } => {
            assert_eq!(failures, 1);
            assert_eq!(
                check.src,
                Endpoint::External("192.168.1.0".parse().unwrap())
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let unsupported = vec![(None, "unsupported".to_string()); checks.len()];
    assert!(matches!(
        grade(&tests[0], &checks, &unsupported).status,
        Status::Skipped(_)
    ));
}
