//! The map document (`GET /api/map`, the UI's one shape of its own) on the example app:
//! from the policies alone, and with the capture (observed pairs, outcome counts, verdicts).
//! Pretty-printed for review; the endpoint serves the same value compact.

use std::path::{Path, PathBuf};

use palisade_load::Input;
use palisade_server::{Inputs, Options, Snapshot};

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(path)
}

fn pretty(json: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    serde_json::to_string_pretty(&value).unwrap()
}

#[test]
fn map_from_policies() {
    let inputs = Inputs {
        current: vec![Input::Path(example("webshop"))],
        ..Inputs::default()
    };
    let snapshot = Snapshot::build(&inputs, &Options::default()).unwrap();
    insta::assert_snapshot!(pretty(&snapshot.map_json));
}

#[test]
fn map_with_capture() {
    let inputs = Inputs {
        current: vec![
            Input::Path(example("webshop")),
            Input::Path(example("webshop-traffic/cluster")),
        ],
        captures: vec![example("webshop-traffic/capture.pcap")],
        ..Inputs::default()
    };
    let snapshot = Snapshot::build(&inputs, &Options::default()).unwrap();
    let map: serde_json::Value = serde_json::from_str(&snapshot.map_json).unwrap();
    // Every observed flow's counts add up to its sessions, and the verdict follows them.
    for edge in map["edges"].as_array().unwrap() {
        for flow in edge["flows"].as_array().into_iter().flatten() {
            let o = &flow["observed"];
            let observed: u64 = ["accepted", "refused", "timed-out", "unknown"]
                .iter()
                .map(|k| o[*k].as_u64().unwrap())
                .sum();
            assert_eq!(observed, flow["sessions"].as_u64().unwrap());
            assert_eq!(
                flow["predicted_allowed"].as_u64().unwrap()
                    + flow["predicted_denied"].as_u64().unwrap(),
                observed
            );
        }
    }
    insta::assert_snapshot!(pretty(&snapshot.map_json));
}

#[test]
fn map_flows_name_the_admin_rules_that_decided_them() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../palisade/tests/cli/data/tiers-dns");
    let inputs = Inputs {
        current: vec![Input::Path(data.join("cluster.yaml"))],
        captures: vec![data.join("capture.jsonl")],
        ..Inputs::default()
    };
    let snapshot = Snapshot::build(&inputs, &Options::default()).unwrap();
    let map: serde_json::Value = serde_json::from_str(&snapshot.map_json).unwrap();
    let guardrails: Vec<&str> = map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["flows"].as_array().into_iter().flatten())
        .flat_map(|f| f["guardrails"].as_array().into_iter().flatten())
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(!guardrails.is_empty(), "{}", snapshot.map_json);
    assert!(
        guardrails
            .iter()
            .all(|g| g.starts_with("[Admin] cnp/registry-only rule ")),
        "{guardrails:?}"
    );
}

/// A snapshot holds at most `max_connections` workload-level connections: past it, the map
/// has the first ones (sources by name, as `palisade connectivity` lists them), the
/// connectivity document is an error saying how big the answer is and how to narrow it,
/// and the page's problems say so. Within it, nothing changes.
#[test]
fn connectivity_held_up_to_a_bound() {
    let inputs = Inputs {
        current: vec![Input::Path(example("webshop"))],
        ..Inputs::default()
    };
    let whole = Snapshot::build(&inputs, &Options::default()).unwrap();
    assert!(whole.connectivity_cut.is_none());
    let total = whole.connectivity.connections.len();
    assert!(total > 5);
    let exact = Options {
        max_connections: total,
        ..Options::default()
    };
    let same = Snapshot::build(&inputs, &exact).unwrap();
    assert!(same.connectivity_cut.is_none());
    assert_eq!(same.connectivity_json, whole.connectivity_json);
    assert_eq!(same.map_json, whole.map_json);

    let cut = Options {
        max_connections: 5,
        ..Options::default()
    };
    let snapshot = Snapshot::build(&inputs, &cut).unwrap();
    assert_eq!(snapshot.connectivity.connections.len(), 5);
    let why = snapshot.connectivity_cut.clone().expect("cut");
    assert!(why.contains("more than the UI holds (5)"), "{why}");
    assert!(why.contains("-n or -l"), "{why}");
    assert!(snapshot.problems.contains(&why));
    let doc: serde_json::Value = serde_json::from_str(&snapshot.connectivity_json).unwrap();
    assert_eq!(doc["error"].as_str(), Some(why.as_str()));
    // The five held are the first five of the whole answer.
    let first = |s: &Snapshot| -> Vec<(String, String)> {
        s.connectivity
            .connections
            .iter()
            .take(5)
            .map(|c| {
                (
                    s.connectivity.peers[c.src].name.clone(),
                    s.connectivity.peers[c.dst].name.clone(),
                )
            })
            .collect()
    };
    assert_eq!(first(&snapshot), first(&whole));
    let map: serde_json::Value = serde_json::from_str(&snapshot.map_json).unwrap();
    assert_eq!(map["edges"].as_array().unwrap().len(), 5);
}

/// The sessions a snapshot lists, from its replay document.
fn listed(snapshot: &Snapshot) -> Vec<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_str(snapshot.replay_json.as_deref().unwrap()).unwrap();
    doc["sessions"].as_array().unwrap().clone()
}

fn flagged(s: &serde_json::Value) -> bool {
    !s["mismatch"].is_null() || s["observed"] != "accepted" || s["predicted"] != "accepted"
}

/// A snapshot lists at most `max_sessions` replayed sessions: past it, the flagged ones
/// first and then the earliest others, in report order, and the page's problems say so;
/// the map (pairs, counts, guardrails) and the summary still cover every session.
#[test]
fn sessions_held_up_to_a_bound() {
    for (data, capture) in [
        (
            vec![example("webshop"), example("webshop-traffic/cluster")],
            example("webshop-traffic/capture.pcap"),
        ),
        (
            vec![
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../palisade/tests/cli/data/tiers-dns/cluster.yaml"),
            ],
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../palisade/tests/cli/data/tiers-dns/capture.jsonl"),
        ),
    ] {
        let inputs = Inputs {
            current: data.into_iter().map(Input::Path).collect(),
            captures: vec![capture],
            ..Inputs::default()
        };
        let whole = Snapshot::build(&inputs, &Options::default()).unwrap();
        let all = listed(&whole);
        let total = all.len();
        assert!(total >= 3, "{total}");
        // In start order, as `palisade replay -o json` lists them (the key's finer parts,
        // addresses, are not in this check).
        let starts = |list: &[serde_json::Value]| -> Vec<String> {
            list.iter()
                .map(|s| s["start"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(starts(&all).is_sorted(), "{:?}", starts(&all));
        assert!(whole.capture.as_ref().unwrap().sessions_cut.is_none());
        let holding = |max: usize| {
            Snapshot::build(
                &inputs,
                &Options {
                    max_sessions: max,
                    ..Options::default()
                },
            )
            .unwrap()
        };
        let exact = holding(total);
        assert_eq!(exact.replay_json, whole.replay_json);
        assert!(exact.capture.as_ref().unwrap().sessions_cut.is_none());

        let mut bounds = vec![1, total - 1];
        if total > 4 {
            bounds.push(3);
        }
        for max in bounds {
            let cut = holding(max);
            let held = listed(&cut);
            assert_eq!(held.len(), max);
            // The flagged ones first (the earliest of them), then the earliest others; in
            // the whole list's order.
            let flagged_all: Vec<_> = all.iter().filter(|s| flagged(s)).collect();
            let take_flagged = flagged_all.len().min(max);
            let mut expected: Vec<&serde_json::Value> = flagged_all[..take_flagged].to_vec();
            expected.extend(all.iter().filter(|s| !flagged(s)).take(max - take_flagged));
            let expected: Vec<&serde_json::Value> =
                all.iter().filter(|s| expected.contains(s)).collect();
            assert_eq!(held.iter().collect::<Vec<_>>(), expected, "max {max}");
            // Everything counted over every session stays the whole one's.
            assert_eq!(cut.map_json, whole.map_json, "max {max}");
            let summary = |s: &Snapshot| -> serde_json::Value {
                serde_json::from_str::<serde_json::Value>(s.replay_json.as_deref().unwrap())
                    .unwrap()["summary"]
                    .clone()
            };
            assert_eq!(summary(&cut), summary(&whole));
            let why = cut
                .capture
                .as_ref()
                .unwrap()
                .sessions_cut
                .clone()
                .expect("cut");
            assert!(why.contains(&format!("has {total} sessions")), "{why}");
            assert!(why.contains(&format!("holds ({max})")), "{why}");
            assert!(why.contains("-o jsonl"), "{why}");
            assert!(cut.problems.contains(&why));
        }
    }
}
