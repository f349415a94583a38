//! The upstream e2e truth tables (the engine's test data) through the kernel: every case's
//! expected tables must be what real probes observe, with each deny action.

mod common;

use palisade_model::Model;
use palisade_model::Protocol;
use palisade_sandbox::matrix::{KernelMatrix, probe_address, probe_matrices};
use palisade_sandbox::{DenyAction, Outcome, Probe, Sandbox, SandboxOptions, Source};
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

/// Address families of the e2e cluster: as written (IPv4), or rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// The data as it is.
    V4,
    /// Every pod IPv6-only (`10.244.N.M` → `fd00:10:244::N:M`), ipBlocks rewritten the same
    /// way (`/32` → `/128`; upstream's non-canonical `/4`, which holds every pod, → `/64`,
    /// which does too): the tables must not change.
    V6,
    /// Every pod dual-stack (IPv4 first, so probes use IPv4) and the ipBlocks IPv6: a block
    /// matches a pod through any of its IPs, so the IPv4 probes see the same tables.
    DualStackV6Blocks,
}

/// `10.244.N.M[/L]` → `"fd00:10:244::N:M[/L']"`; other text unchanged.
fn v6_addresses(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("10.244.") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "10.244.".len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '/'))
            .unwrap_or(after.len());
        let (address, prefix) = match after[..end].split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (&after[..end], None),
        };
        match address.split_once('.') {
            Some((n, m)) if !n.is_empty() && !m.is_empty() => {
                let prefix = match prefix {
                    Some("32") => "/128",
                    Some("4") => "/64",
                    Some(other) => panic!("no IPv6 rewrite for /{other}"),
                    None => "",
                };
                out.push_str(&format!("\"fd00:10:244::{n}:{m}{prefix}\""));
                rest = &after[end..];
            }
            _ => {
                out.push_str("10.244.");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The cluster of a case in an address family.
fn load_case(case: &std::path::Path, family: Family) -> palisade_model::Model {
    // The shared cluster lives next to the case directories.
    let model_path = case.parent().unwrap().join("model.yaml");
    let policies_path = case.join("policies.yaml");
    if family == Family::V4 {
        return common::load_paths(&[model_path, policies_path]);
    }
    let model = std::fs::read_to_string(model_path).unwrap();
    let policies = v6_addresses(&std::fs::read_to_string(policies_path).unwrap());
    let model = match family {
        Family::V6 => v6_addresses(&model),
        _ => model
            .lines()
            .map(|line| match line.strip_prefix("  - ip: ") {
                Some(v4) => format!("{line}\n  - ip: {}\n", v6_addresses(v4)),
                None => format!("{line}\n"),
            })
            .collect(),
    };
    common::load_text(&format!("{model}\n---\n{policies}"))
}

/// Runs one case in an address family; returns a description of every disagreement.
fn run_case_in(case: &std::path::Path, deny: DenyAction, family: Family) -> Vec<String> {
    let model = load_case(case, family);
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
    let mut tables = probe_matrices(&model, &sandbox, &ports, Duration::from_millis(1500)).unwrap();
    if deny == DenyAction::Reject {
        reprobe_lost_rejections(&model, &sandbox, &mut tables);
    }
    sandbox.down().unwrap();
    let name = format!(
        "{} ({family:?})",
        case.file_name().unwrap().to_string_lossy()
    );
    let mut problems = Vec::new();
    for ((port, protocol, want), got) in expected.iter().zip(&tables) {
        problems.extend(check_table(&name, *port, *protocol, want, got, deny));
    }
    problems
}

/// Under reject a denied probe is answered (reset, ICMP unreachable), but on a loaded
/// machine the answer now and then comes after the deadline (seen for IPv6 UDP, a few cells
/// in thousands, while the receive backlog reported no drops), and the probe reads as timed
/// out. The verdict is the same; the shape is what this test checks, so such cells are asked
/// again, patiently, before they count (a reject rule that does not answer still fails).
fn reprobe_lost_rejections(model: &Model, sandbox: &Sandbox, tables: &mut [KernelMatrix]) {
    let pod = |name: &str| {
        model
            .pod_ids()
            .find(|&p| model.pod_name(p) == name)
            .unwrap()
    };
    for _ in 0..2 {
        let mut cells = Vec::new();
        let mut probes = Vec::new();
        for (t, table) in tables.iter().enumerate() {
            for (i, row) in table.observed.iter().enumerate() {
                for (j, &outcome) in row.iter().enumerate() {
                    if outcome != Outcome::TimedOut {
                        continue;
                    }
                    let (src, dst) = (pod(&table.peers[i]), pod(&table.peers[j]));
                    let Some(address) = probe_address(sandbox, src, dst) else {
                        continue;
                    };
                    cells.push((t, i, j));
                    probes.push(Probe {
                        src: Source::Pod(src),
                        dst: address,
                        port: table.port,
                        protocol: table.protocol,
                    });
                }
            }
        }
        if probes.is_empty() {
            return;
        }
        let again = sandbox.probe(&probes, Duration::from_secs(3)).unwrap();
        for ((t, i, j), outcome) in cells.into_iter().zip(again) {
            tables[t].observed[i][j] = outcome;
        }
    }
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
    run_all_in(cases, deny, Family::V4);
}

fn run_all_in(cases: &[PathBuf], deny: DenyAction, family: Family) {
    // Four cases at a time: each run is its own set of namespaces, nothing is shared.
    let problems: Vec<String> = std::thread::scope(|scope| {
        cases
            .chunks(cases.len().div_ceil(4).max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .flat_map(|c| run_case_in(c, deny, family))
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

#[test]
fn every_e2e_truth_table_holds_on_an_ipv6_only_cluster() {
    if !common::can_run("e2e through the kernel over IPv6") {
        return;
    }
    let cases = cases();
    assert!(cases.len() >= 50, "found {} cases", cases.len());
    run_all_in(&cases, DenyAction::Reject, Family::V6);
}

#[test]
fn ipv6_blocks_match_dual_stack_pods_on_ipv4_probes() {
    if !common::can_run("e2e through the kernel, dual-stack") {
        return;
    }
    // The cases with ipBlocks, plus two without as a control.
    let cases: Vec<PathBuf> = cases()
        .into_iter()
        .filter(|c| {
            let text = std::fs::read_to_string(c.join("policies.yaml")).unwrap();
            text.contains("cidr:")
                || c.ends_with("should-support-a-default-deny-ingress-policy")
                || c.ends_with("should-allow-ingress-access-on-one-named-port")
        })
        .collect();
    assert_eq!(cases.len(), 6, "{cases:?}");
    run_all_in(&cases, DenyAction::Reject, Family::DualStackV6Blocks);
    run_all_in(&cases, DenyAction::Drop, Family::DualStackV6Blocks);
}

#[test]
fn v6_rewrite_keeps_what_each_block_holds() {
    assert_eq!(
        v6_addresses(
            "cidr: 10.244.1.1/4\n  - 10.244.1.2/32\n# Pod IPs are 10.244.<ns>.<pod>\npodIP: 10.244.3.2"
        ),
        "cidr: \"fd00:10:244::1:1/64\"\n  - \"fd00:10:244::1:2/128\"\n# Pod IPs are 10.244.<ns>.<pod>\npodIP: \"fd00:10:244::3:2\""
    );
}
