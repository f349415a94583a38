//! Semantic cases from the Kubernetes API reference, one file per rule of the spec, each with
//! expectations that fail if that rule were implemented wrong. Every case runs through the
//! reference evaluator, the compiled engine, and (where both ends have addresses) the per-flow
//! verdict by IP.
//!
//! Format: `tests/data/semantics/<case>.yaml` holds NetworkPolicies and lines
//! `# expect: SRC -> DST PORT/PROTO allow|deny`, SRC/DST being `ns/pod` or an IP; all cases
//! share the pods of `_pods.yaml`.

use palisade_engine::{Endpoint, Engine, Query, Reference, resolve_endpoints};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Protocol;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/semantics")
}

#[test]
fn api_reference_cases() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let loaded = load(
            &[
                Input::Path(data().join("_pods.yaml")),
                Input::Path(case.clone()),
            ],
            &LoadOptions::default(),
        );
        assert!(
            !loaded.has_errors(),
            "{}: {:?}",
            case.display(),
            loaded.diagnostics
        );
        let model = &loaded.model;
        let reference = Reference::new(model);
        let engine = Engine::new(model);
        let text = std::fs::read_to_string(case).unwrap();
        for line in text.lines().filter_map(|l| l.strip_prefix("# expect: ")) {
            let mut words = line.split_whitespace();
            let (src, arrow, dst, port_proto, want) = (
                words.next().unwrap(),
                words.next().unwrap(),
                words.next().unwrap(),
                words.next().unwrap(),
                words.next().unwrap(),
            );
            assert_eq!(arrow, "->", "{line}");
            let (port, proto) = port_proto.split_once('/').unwrap();
            let query = Query {
                src: resolve_endpoints(model, src).unwrap_or_else(|| panic!("{src}"))[0],
                dst: resolve_endpoints(model, dst).unwrap_or_else(|| panic!("{dst}"))[0],
                protocol: Protocol::parse(proto).unwrap(),
                port: port.parse().unwrap(),
            };
            let want = match want {
                "allow" => true,
                "deny" => false,
                other => panic!("expected allow or deny, found {other}"),
            };
            checked += 1;
            let explained = reference.explain(&query).allowed;
            let compiled = engine
                .verdict(
                    engine.entity(&query.src),
                    engine.entity(&query.dst),
                    query.protocol,
                    query.port,
                )
                .allowed;
            let by_ip = match (ip_of(model, &query.src), ip_of(model, &query.dst)) {
                (Some(s), Some(d)) => {
                    Some(engine.verdict_ips(s, d, query.protocol, query.port).allowed)
                }
                _ => None,
            };
            if explained != want || compiled != want || by_ip.is_some_and(|b| b != want) {
                failures.push(format!(
                    "{}: {line}: reference {explained}, compiled {compiled}, by ip {by_ip:?}",
                    case.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(checked >= 50, "only {checked} expectations found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn ip_of(model: &palisade_model::Model, endpoint: &Endpoint) -> Option<std::net::IpAddr> {
    match endpoint {
        Endpoint::External(ip) => Some(*ip),
        Endpoint::Pod(p) => model.pods[p.index()].ips.first().copied(),
    }
}
