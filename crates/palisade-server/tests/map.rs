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
