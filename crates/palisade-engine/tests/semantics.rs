//! Semantic cases from the Kubernetes API reference, one file per rule of the spec, each with
//! expectations that fail if that rule were implemented wrong. Every case runs through the
//! reference evaluator, the compiled engine, and (where both ends have addresses) the per-flow
//! verdict by IP.
//!
//! Format: `tests/data/semantics/<case>.yaml` holds NetworkPolicies and lines
//! `# expect: SRC -> DST PORT/PROTO allow|deny`, SRC/DST being `ns/pod` or an IP; all cases
//! share the pods of `_pods.yaml`. Explanations are pinned by two more kinds of line:
//! - `# matches: SRC -> DST PORT/PROTO egress|ingress: ns/policy#rule/peer/port ...`: every
//!   rule that allows that side, in order (`*` for "the rule has no peers/ports"); `-` for
//!   none.
//! - `# near-miss: SRC -> DST PORT/PROTO egress|ingress: ns/policy#rule: REASON`: one near
//!   miss with its exact text; all near misses of a side listed in one file are compared as
//!   a list, in order.

use palisade_engine::{Endpoint, Engine, Query, Reference, resolve_endpoints};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Direction, Model, PolicyId, Protocol};
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

/// `SRC -> DST PORT/PROTO direction` → the query and the side.
fn parse_side(model: &Model, head: &str) -> (Query, Direction) {
    let words: Vec<&str> = head.split_whitespace().collect();
    assert_eq!(words.len(), 5, "{head}");
    assert_eq!(words[1], "->", "{head}");
    let (port, proto) = words[3].split_once('/').unwrap();
    let query = Query {
        src: resolve_endpoints(model, words[0]).unwrap_or_else(|| panic!("{head}"))[0],
        dst: resolve_endpoints(model, words[2]).unwrap_or_else(|| panic!("{head}"))[0],
        protocol: Protocol::parse(proto).unwrap(),
        port: port.parse().unwrap(),
    };
    let direction = match words[4] {
        "egress" => Direction::Egress,
        "ingress" => Direction::Ingress,
        other => panic!("expected egress or ingress, found {other}"),
    };
    (query, direction)
}

fn rule_name(model: &Model, policy: PolicyId, rule: usize) -> String {
    format!("{}#{rule}", model.policy_name(policy))
}

fn index_or_star(index: Option<usize>) -> String {
    index.map_or("*".to_string(), |i| i.to_string())
}

#[test]
fn explanations_name_every_allowing_rule_and_word_each_near_miss() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in std::fs::read_dir(data()).unwrap() {
        let case = case.unwrap().path();
        if case.file_name().unwrap().to_string_lossy().starts_with('_') {
            continue;
        }
        let loaded = load(
            &[
                Input::Path(data().join("_pods.yaml")),
                Input::Path(case.clone()),
            ],
            &LoadOptions::default(),
        );
        let model = &loaded.model;
        let reference = Reference::new(model);
        let text = std::fs::read_to_string(&case).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        // Near misses are compared per (query, side) as the full list.
        let mut wanted_misses: Vec<(String, Vec<String>)> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# matches: ") {
                let (head, want) = rest.split_once(": ").unwrap();
                let (query, direction) = parse_side(model, head);
                let explanation = reference.explain(&query);
                let side = match direction {
                    Direction::Egress => &explanation.egress,
                    Direction::Ingress => &explanation.ingress,
                };
                let got: Vec<String> = side
                    .matches
                    .iter()
                    .map(|m| {
                        format!(
                            "{}/{}/{}",
                            rule_name(model, m.policy, m.rule),
                            index_or_star(m.peer),
                            index_or_star(m.port)
                        )
                    })
                    .collect();
                let got = if got.is_empty() {
                    "-".to_string()
                } else {
                    got.join(" ")
                };
                checked += 1;
                if got != want.trim() {
                    failures.push(format!("{name}: {line}\n   got: {got}"));
                }
            } else if let Some(rest) = line.strip_prefix("# near-miss: ") {
                let (head, miss) = rest.split_once(": ").unwrap();
                match wanted_misses.iter_mut().find(|(h, _)| h == head) {
                    Some((_, list)) => list.push(miss.to_string()),
                    None => wanted_misses.push((head.to_string(), vec![miss.to_string()])),
                }
            }
        }
        for (head, want) in wanted_misses {
            let (query, direction) = parse_side(model, &head);
            let explanation = reference.explain(&query);
            let side = match direction {
                Direction::Egress => &explanation.egress,
                Direction::Ingress => &explanation.ingress,
            };
            let got: Vec<String> = side
                .near_misses
                .iter()
                .map(|m| format!("{}: {}", rule_name(model, m.policy, m.rule), m.reason))
                .collect();
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{name}: near misses of {head}\n  want: {want:#?}\n   got: {got:#?}"
                ));
            }
        }
    }
    assert!(checked >= 8, "only {checked} explanation checks found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn ip_of(model: &palisade_model::Model, endpoint: &Endpoint) -> Option<std::net::IpAddr> {
    match endpoint {
        Endpoint::External(ip) => Some(*ip),
        Endpoint::Pod(p) => model.pods[p.index()].ips.first().copied(),
    }
}

/// `Reference`'s per-peer and per-rule questions (used by the diff) give the answers the
/// explanations above rely on.
#[test]
fn reference_answers_peer_and_rule_questions() {
    let loaded = load(
        &[
            Input::Path(data().join("_pods.yaml")),
            Input::Path(data().join("explanations.yaml")),
        ],
        &LoadOptions::default(),
    );
    let model = &loaded.model;
    let reference = Reference::new(model);
    assert!(std::ptr::eq(reference.model(), model));
    let pod = |name: &str| resolve_endpoints(model, name).unwrap()[0];
    let policy = model
        .policy_ids()
        .find(|&p| model.policy_name(p) == "b/db-two-rules")
        .unwrap();
    let rule = &model.policies[policy.index()].ingress[0];
    let peer = &rule.peers[0].kind;
    assert!(reference.peer_matches(policy, peer, pod("a/web")));
    assert!(!reference.peer_matches(policy, peer, pod("a/api")));
    assert!(reference.rule_admits(policy, rule, pod("a/web")));
    assert!(!reference.rule_admits(policy, rule, pod("b/web")));
    let Endpoint::Pod(db) = pod("b/db") else {
        panic!("b/db is a pod")
    };
    assert!(reference.selects(policy, db, Direction::Ingress));
    assert!(!reference.selects(policy, db, Direction::Egress));
    assert_eq!(
        reference.isolating_policies(db, Direction::Ingress).len(),
        3
    );
    assert_eq!(
        reference.rule_ports(rule, pod("b/db")).to_string(),
        "TCP 5432"
    );
    let named = &model.policies[policy.index()].ingress[1];
    assert_eq!(
        reference.rule_ports(named, pod("b/db")).to_string(),
        "TCP 5432,6000-6010"
    );
    assert_eq!(
        reference
            .rule_ports(named, Endpoint::External("10.9.9.9".parse().unwrap()))
            .to_string(),
        "TCP 6000-6010"
    );
}
