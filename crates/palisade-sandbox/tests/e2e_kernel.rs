//! The upstream e2e truth tables (the engine's test data) through the kernel: every case's
//! expected tables must be what real probes observe, with each deny action.

mod common;

use palisade_model::Protocol;
use palisade_sandbox::matrix::{KernelMatrix, probe_matrices};
use palisade_sandbox::{DenyAction, Outcome, Sandbox, SandboxOptions};
use std::path::PathBuf;
use std::time::Duration;

/// (port, protocol, expected rows of '.'/'X') per `# port P PROTO` header.
fn expected_tables(text: &str) -> Vec<(u16, Protocol, Vec<Vec<bool>>)> {
    let mut tables = Vec::new();
    for block in text.split("# port ").skip(1) {
        let (header, body) = block.split_once('\n').unwrap();
        let mut parts = header.split_whitespace();
        let port: u16 = parts.next().unwrap().parse().unwrap();
        let protocol = Protocol::parse(parts.next().unwrap()).unwrap();
        let rows = body
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with('-'))
            .map(|l| l.split('\t').skip(1).map(|c| c == ".").collect())
            .collect();
        tables.push((port, protocol, rows));
    }
    tables
}

fn cases() -> Vec<PathBuf> {
    cases_in(&common::e2e_dir())
}

/// The case directories (with `policies.yaml`) of a truth-table directory.
fn cases_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("policies.yaml").is_file())
        .collect();
    cases.sort();
    cases
}

/// Runs one case; returns a description of every disagreement.
fn run_case(case: &std::path::Path, deny: DenyAction) -> Vec<String> {
    // The shared cluster lives next to the case directories.
    let model = common::load_paths(&[
        case.parent().unwrap().join("model.yaml"),
        case.join("policies.yaml"),
    ]);
    let expected = expected_tables(&std::fs::read_to_string(case.join("expected.txt")).unwrap());
    let ports: Vec<(Protocol, u16)> = expected.iter().map(|&(port, p, _)| (p, port)).collect();
    let sandbox = Sandbox::up(
        &model,
        SandboxOptions {
            deny,
            ..Default::default()
        },
    )
    .unwrap();
    let tables = probe_matrices(&model, &sandbox, &ports, Duration::from_millis(1500)).unwrap();
    sandbox.down().unwrap();
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let mut problems = Vec::new();
    for ((port, protocol, want), got) in expected.iter().zip(&tables) {
        problems.extend(check_table(&name, *port, *protocol, want, got, deny));
    }
    problems
}

fn check_table(
    name: &str,
    port: u16,
    protocol: Protocol,
    want: &[Vec<bool>],
    got: &KernelMatrix,
    deny: DenyAction,
) -> Vec<String> {
    let mut problems = Vec::new();
    assert_eq!(want.len(), got.peers.len(), "{name}: table size");
    for (i, row) in got.observed.iter().enumerate() {
        for (j, &outcome) in row.iter().enumerate() {
            let cell = format!(
                "{name} {port}/{protocol} {} -> {}",
                got.peers[i], got.peers[j]
            );
            if protocol == Protocol::Sctp && !palisade_sandbox::probe::sctp_supported() {
                if outcome != Outcome::Unsupported {
                    problems.push(format!("{cell}: SCTP probe reported {}", outcome.as_str()));
                }
                continue;
            }
            if outcome.allowed() != Some(want[i][j]) {
                problems.push(format!(
                    "{cell}: expected {}, kernel {}",
                    if want[i][j] { "allowed" } else { "denied" },
                    outcome.as_str()
                ));
            }
            if got.predicted[i][j] != want[i][j] {
                problems.push(format!("{cell}: engine disagrees with upstream"));
            }
            // Drop means silence: a client of a dropping dataplane times out; reject answers.
            if deny == DenyAction::Drop && outcome == Outcome::Refused {
                problems.push(format!("{cell}: refused under --deny-action drop"));
            }
            if deny == DenyAction::Reject && outcome == Outcome::TimedOut {
                problems.push(format!("{cell}: timed out under --deny-action reject"));
            }
        }
    }
    problems
}

fn run_all(cases: &[PathBuf], deny: DenyAction) {
    // Four cases at a time: each run is its own set of namespaces, nothing is shared.
    let problems: Vec<String> = std::thread::scope(|scope| {
        cases
            .chunks(cases.len().div_ceil(4).max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .flat_map(|c| run_case(c, deny))
                        .collect::<Vec<_>>()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_e2e_truth_table_holds_on_the_kernel_with_reject() {
    if !common::can_run("e2e through the kernel") {
        return;
    }
    let cases = cases();
    assert!(cases.len() >= 50, "found {} cases", cases.len());
    run_all(&cases, DenyAction::Reject);
}

#[test]
fn e2e_truth_tables_hold_on_the_kernel_with_drop() {
    if !common::can_run("e2e through the kernel (drop)") {
        return;
    }
    // Dropped probes cost a full timeout each batch: a representative subset (ingress,
    // egress, named ports, ipBlock except, UDP, SCTP).
    let wanted = [
        "should-support-a-default-deny-ingress-policy",
        "should-deny-egress-from-all-pods-in-a-namespace",
        "should-allow-ingress-access-on-one-named-port",
        "should-enforce-except-clause-while-egress-access-to-server-in-cidr-block",
        "udp-should-enforce-policy-based-on-ports",
        "sctp-should-support-a-default-deny-ingress-policy",
        "should-work-with-ingress-egress-specified-together",
        "should-enforce-policy-based-on-podselector-or-namespaceselector",
    ];
    let cases: Vec<PathBuf> = cases()
        .into_iter()
        .filter(|c| wanted.contains(&c.file_name().unwrap().to_str().unwrap()))
        .collect();
    assert_eq!(cases.len(), wanted.len());
    run_all(&cases, DenyAction::Drop);
}

/// The admin-tier truth tables of the engine's test data (ClusterNetworkPolicy, ANP and
/// BANP modelled on the network-policy-api conformance scenarios), with both deny actions.
#[test]
fn admin_tier_truth_tables_hold_on_the_kernel() {
    if !common::can_run("admin tiers through the kernel") {
        return;
    }
    let cases = cases_in(&common::e2e_dir().join("../tiers"));
    assert!(cases.len() >= 8, "found {} cases", cases.len());
    run_all(&cases, DenyAction::Reject);
    run_all(&cases, DenyAction::Drop);
}
