//! `--live`, `snapshot`, `diff --live`, `replay --hubble-relay` and `watch`, against the
//! loopback fakes of palisade-live (no real cluster or Relay can run here).

use crate::support::root;
use palisade_live::fakes::{
    ApiServerConfig, FakeApiServer, FakeRelay, RelayScript, responses_from_capture,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Out {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(root())
        .env_remove("KUBECONFIG")
        .env_remove("HUBBLE_SERVER")
        .env("HOME", scratch("home"))
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Out {
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-cli-live-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn api(forbidden: &[&str]) -> FakeApiServer {
    FakeApiServer::start(ApiServerConfig {
        root: root().join("crates/palisade-live/tests/data/apiserver"),
        forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
        max_page: 4,
        ..Default::default()
    })
}

fn kubeconfig(api: &FakeApiServer, name: &str) -> String {
    let path = scratch(name).join("kubeconfig");
    std::fs::write(&path, api.kubeconfig()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn the_live_model_is_the_snapshots_model() {
    let api = api(&[]);
    let kc = kubeconfig(&api, "model");
    let dir = scratch("snapshot-dir");
    let dir_s = dir.to_string_lossy().into_owned();
    let snap = run(&["snapshot", "--kubeconfig", &kc, "-A", "-o", &dir_s], &[]);
    assert_eq!(snap.code, 0, "{}", snap.stderr);
    assert!(dir.join("_cluster.yaml").is_file() && dir.join("shop.yaml").is_file());
    for args in [
        vec!["connectivity", "--level", "pod", "-o", "json"],
        vec!["audit", "-o", "json"],
    ] {
        let mut live = args.clone();
        live.extend(["--live", "--kubeconfig", &kc, "-A"]);
        let mut files = args.clone();
        files.push(&dir_s);
        let (a, b) = (run(&live, &[]), run(&files, &[]));
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(b.code, 0, "{}", b.stderr);
        assert!(a.stdout.len() > 100);
        assert_eq!(a.stdout, b.stdout, "{args:?}: live and snapshot differ");
    }
    // The snapshot's policies are the example's: the same connections as its manifests.
    let example = run(
        &[
            "connectivity",
            "--level",
            "workload",
            "-o",
            "json",
            "examples/webshop",
            "examples/webshop-traffic/cluster",
        ],
        &[],
    );
    let live = run(
        &["connectivity", "--level", "workload", "-o", "json", &dir_s],
        &[],
    );
    let pairs = |s: &str| -> usize { s.matches("\"from\"").count() };
    assert_eq!(pairs(&example.stdout), pairs(&live.stdout));
}

/// The fake cluster runs ClusterNetworkPolicies (v1alpha2, Admin tier: the example's
/// guardrails), an AdminNetworkPolicy and a BaselineAdminNetworkPolicy: `--live` reads them
/// and they decide, where the manifests alone allow.
#[test]
fn live_reads_and_evaluates_the_admin_tiers() {
    let api = api(&[]);
    let kc = kubeconfig(&api, "tiers");
    let check = |live: bool, to: &str, port: &str, protocol: &str| -> serde_json::Value {
        let mut args = vec!["check"];
        if live {
            args.extend(["--live", "--kubeconfig", &kc, "-A"]);
        } else {
            args.extend(["examples/webshop", "examples/webshop-traffic/cluster"]);
        }
        args.extend([
            "--from",
            "kube-system/coredns-5d78c9869d-vx7bn",
            "--to",
            to,
            "--port",
            port,
            "--protocol",
            protocol,
            "-o",
            "json",
        ]);
        let out = run(&args, &[]);
        assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    };
    // Cloud metadata: denied by the Admin-tier ClusterNetworkPolicy.
    let live = check(true, "169.254.169.254", "80", "TCP");
    assert_eq!(live["verdict"], "denied", "{live}");
    let by = &live["egress"]["decided_by_admin"];
    assert_eq!(by["kind"], "ClusterNetworkPolicy", "{live}");
    assert_eq!(by["tier"], "Admin");
    assert_eq!(by["policy"], "deny-metadata");
    assert_eq!(
        check(false, "169.254.169.254", "80", "TCP")["verdict"],
        "allowed"
    );
    // The documentation range: denied by the BaselineAdminNetworkPolicy (no NetworkPolicy
    // selects coredns for egress, so the baseline decides).
    let live = check(true, "192.0.2.10", "53", "UDP");
    assert_eq!(live["verdict"], "denied", "{live}");
    let by = &live["egress"]["decided_by_admin"];
    assert_eq!(by["kind"], "BaselineAdminNetworkPolicy", "{live}");
    assert_eq!(by["policy"], "default");
    assert_eq!(
        check(false, "192.0.2.10", "53", "UDP")["verdict"],
        "allowed"
    );
    // Elsewhere the tiers pass: the same answer as the manifests.
    assert_eq!(
        check(true, "198.51.100.7", "443", "TCP")["verdict"],
        "allowed"
    );
}

#[test]
fn snapshot_round_trips_through_yaml_and_json() {
    let api = api(&[]);
    let kc = kubeconfig(&api, "roundtrip");
    let yaml = run(&["snapshot", "--kubeconfig", &kc, "-A", "-o", "yaml"], &[]);
    let json = run(&["snapshot", "--kubeconfig", &kc, "-A", "-o", "json"], &[]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    assert!(
        yaml.stdout.starts_with(
            "apiVersion: \"v1\"\nitems:\n- apiVersion: \"v1\"\n  kind: \"Namespace\"\n"
        ),
        "{}",
        yaml.stdout
    );
    let dir = scratch("roundtrip-files");
    std::fs::write(dir.join("snap.yaml"), &yaml.stdout).unwrap();
    std::fs::write(dir.join("snap.json"), &json.stdout).unwrap();
    let of = |file: &str| {
        let p = dir.join(file).to_string_lossy().into_owned();
        run(&["connectivity", "--level", "pod", "-o", "json", &p], &[])
    };
    let (y, j) = (of("snap.yaml"), of("snap.json"));
    assert_eq!(y.code, 0, "{}", y.stderr);
    assert_eq!(y.stdout, j.stdout);
    // The loader finds nothing to complain about in what the API server returned.
    let lint = run(
        &[
            "lint",
            "-o",
            "concise",
            &dir.join("snap.yaml").to_string_lossy(),
        ],
        &[],
    );
    assert!(!lint.stderr.contains("error"), "{}", lint.stderr);
}

#[test]
fn kubeconfig_env_context_and_namespace_follow_kubectl() {
    let api = api(&[]);
    let kc = kubeconfig(&api, "env");
    // KUBECONFIG, current context, its namespace (shop): only shop's pods.
    let out = run(&["snapshot", "-o", "json"], &[("KUBECONFIG", &kc)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"namespace\": \"shop\""));
    assert!(!out.stdout.contains("\"namespace\": \"payments\""));
    assert!(out.stderr.contains("pass -A"), "{}", out.stderr);
    // -n payments.
    let out = run(
        &["snapshot", "-n", "payments", "-o", "json"],
        &[("KUBECONFIG", &kc)],
    );
    assert!(out.stdout.contains("\"namespace\": \"payments\""));
    assert!(!out.stdout.contains("\"namespace\": \"shop\""));
    // --context elsewhere: nothing listens there.
    let out = run(
        &["snapshot", "--context", "elsewhere"],
        &[("KUBECONFIG", &kc)],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("127.0.0.1:9"), "{}", out.stderr);
}

#[test]
fn a_403_is_an_error_naming_the_permission() {
    let api = api(&["networkpolicies"]);
    let kc = kubeconfig(&api, "403");
    let out = run(&["lint", "--live", "--kubeconfig", &kc, "-A"], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("cannot `list` networkpolicies.networking.k8s.io in all namespaces"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("without it Palisade has no every policy verdict")
            || out.stderr.contains("every policy verdict"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--keep-going"), "{}", out.stderr);
    let out = run(
        &["audit", "--live", "--kubeconfig", &kc, "-A", "--keep-going"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("INCOMPLETE"), "{}", out.stderr);
}

#[test]
fn diff_live_shows_drift_against_the_manifests() {
    let api = api(&[]);
    let kc = kubeconfig(&api, "diff");
    // The cluster runs the example, its guardrails and the fake's other admin-tier policies:
    // those manifests show no drift.
    let git = scratch("diff-git");
    copy_dir(&root().join("examples/webshop"), &git);
    copy_dir(&root().join("examples/webshop-guardrails"), &git);
    std::fs::write(git.join("admin.yaml"), ADMIN_TIERS_OF_THE_FAKE).unwrap();
    let g = git.to_string_lossy().into_owned();
    let same = run(
        &[
            "diff",
            "--live",
            "--kubeconfig",
            &kc,
            "-A",
            &g,
            "--fail-on",
            "any",
        ],
        &[],
    );
    assert_eq!(same.code, 0, "{}\n{}", same.stdout, same.stderr);
    // Manifests with the fix applied: the running cluster lacks checkout -> payments-api.
    let dir = scratch("diff-fixed");
    copy_dir(&git, &dir);
    copy_dir(&root().join("examples/webshop-fixed"), &dir);
    let d = dir.to_string_lossy().into_owned();
    let fixed = run(
        &[
            "diff",
            "--live",
            "--kubeconfig",
            &kc,
            "-A",
            &d,
            "--fail-on",
            "added",
        ],
        &[],
    );
    assert_eq!(fixed.code, 1, "{}\n{}", fixed.stdout, fixed.stderr);
    assert!(fixed.stdout.contains("payments-api"), "{}", fixed.stdout);
}

/// The fake API server's AdminNetworkPolicy and BaselineAdminNetworkPolicy as manifests
/// (its ClusterNetworkPolicies are examples/webshop-guardrails).
const ADMIN_TIERS_OF_THE_FAKE: &str = "apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: cluster-control
spec:
  priority: 10
  subject:
    namespaces: {}
  ingress:
  - name: allow-monitoring
    action: Allow
    from:
    - namespaces:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: kube-system
  egress:
  - name: no-documentation-range
    action: Deny
    to:
    - networks:
      - 192.0.2.0/24
";

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn capture() -> PathBuf {
    root().join("examples/webshop-traffic/capture.jsonl")
}

#[test]
fn replay_from_relay_is_replay_of_the_file() {
    let relay = FakeRelay::start(RelayScript {
        responses: responses_from_capture(&capture()).unwrap(),
        disconnect_after: Some(25),
        ..Default::default()
    });
    let addr = relay.addr.to_string();
    let cluster = [
        "--cluster",
        "examples/webshop",
        "examples/webshop-traffic/cluster",
    ];
    let mut from_file = vec![
        "replay",
        "examples/webshop-traffic/capture.jsonl",
        "-o",
        "jsonl",
    ];
    from_file.extend(cluster);
    let mut from_relay = vec!["replay", "-o", "jsonl"];
    from_relay.extend(cluster);
    let file = run(&from_file, &[]);
    // HUBBLE_SERVER is the default address.
    let live = run(
        &[from_relay.as_slice(), &["--hubble-relay"]].concat(),
        &[("HUBBLE_SERVER", &addr)],
    );
    assert_eq!(file.code, 0, "{}", file.stderr);
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert!(live.stderr.contains("reconnecting"), "{}", live.stderr);
    let norm = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .lines()
            .map(|l| l.replace("\"during_gap\":true", "\"during_gap\":false"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(norm(&live.stdout), norm(&file.stdout));
    // --from/--port went to Relay as flow filters.
    let filtered = run(
        &[
            from_relay.as_slice(),
            &[
                "--hubble-relay",
                &addr,
                "--from",
                "shop/checkout",
                "--port",
                "8080",
            ],
        ]
        .concat(),
        &[],
    );
    assert_eq!(filtered.code, 0, "{}", filtered.stderr);
    let last = relay.requests().pop().unwrap();
    assert_eq!(last.whitelist.len(), 2);
    assert_eq!(last.whitelist[0].source_pod, ["shop/checkout"]);
    assert_eq!(last.whitelist[0].destination_port, ["8080"]);
    assert_eq!(last.whitelist[1].destination_pod, ["shop/checkout"]);
    assert!(
        filtered.stdout.lines().all(|l| l.contains("shop/checkout")),
        "{}",
        filtered.stdout
    );
}

#[test]
fn watch_exports_the_examples_spike_and_drift() {
    let mut responses = responses_from_capture(&capture()).unwrap();
    // Later traffic moves flow time past the last attempts' timeouts, as a live cluster's
    // steady traffic does, so they are decided.
    let later = |after_s: i64| {
        let mut r = responses.last().unwrap().clone();
        if let Some(t) = &mut r.time {
            t.seconds += after_s;
        }
        if let Some(palisade_live::proto::observer::get_flows_response::ResponseTypes::Flow(f)) =
            &mut r.response_types
        {
            f.time = r.time;
        }
        r
    };
    let (soon, much_later, end) = (later(60), later(300), later(400));
    responses.push(soon);
    // Minutes of quiet traffic, held back until the test has seen the spike: then the
    // spike's window closes and the pair returns under its threshold.
    let gate = palisade_live::fakes::RelayGate {
        at: responses.len(),
        ..Default::default()
    };
    responses.extend([much_later, end]);
    let relay = FakeRelay::start(RelayScript {
        responses,
        hold_open: true,
        gate: Some(gate.clone()),
        ..Default::default()
    });
    let addr = relay.addr.to_string();
    // The cluster's manifests in a directory the test changes later (picked up on reload).
    let cluster = scratch("watch-cluster");
    copy_dir(&root().join("examples/webshop"), &cluster);
    let cluster_s = cluster.to_string_lossy().into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "watch",
            "--hubble-relay",
            &addr,
            "--cluster",
            &cluster_s,
            "examples/webshop-traffic/cluster",
            "--metrics",
            "127.0.0.1:0",
            "--spike-threshold",
            "2",
            "--reload-every",
            "1s",
        ])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its log, line by line, from a thread (so the test can wait with a deadline).
    let log_rx = lines_of(child.stderr.take().unwrap());
    let mut log = String::new();
    assert!(wait_for(
        &log_rx,
        &mut log,
        "palisade: serving metrics on http://"
    ));
    let metrics_addr = log
        .lines()
        .find_map(|l| l.strip_prefix("palisade: serving metrics on http://"))
        .expect("watch says where its metrics are")
        .trim_end_matches("/metrics")
        .to_string();
    // Logs until the spike starts, then scrape.
    assert!(wait_for(&log_rx, &mut log, "deny spike started"), "{log}");
    assert!(log.contains("deny spike started: shop → payments"), "{log}");
    let want = [
        "palisade_deny_spike{src_namespace=\"shop\",dst_namespace=\"payments\"} 1",
        "palisade_drift_sessions_total{kind=\"no-listener\",src_namespace=\"(external)\",dst_namespace=\"ingress-nginx\"} 1",
        "palisade_sessions_total{observed=\"timed-out\",predicted=\"timed-out\",src_namespace=\"shop\",dst_namespace=\"payments\"} 2",
    ];
    // Sessions are counted as they are decided; scrape until all of them are in.
    let mut text = String::new();
    for _ in 0..600 {
        text = scrape(&metrics_addr);
        if want.iter().all(|w| text.contains(w)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for w in want {
        assert!(text.contains(w), "missing {w} in\n{text}");
    }
    // The shipped alerts fire on what watch exports: every metric a PrometheusRule
    // expression names is exported, with the labels the rule groups by, and the deny-spike
    // alert's condition (`max by (src_namespace, dst_namespace) (palisade_deny_spike) == 1`)
    // holds for shop → payments.
    let rules =
        std::fs::read_to_string(root().join("docs/monitoring/prometheus-rule.yaml")).unwrap();
    let mut exprs = 0;
    for expr in rules.lines().filter_map(|l| l.trim().strip_prefix("expr:")) {
        exprs += 1;
        let metrics: Vec<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("palisade_"))
            .collect();
        assert!(!metrics.is_empty(), "{expr}");
        for m in metrics {
            assert!(
                text.contains(&format!("# TYPE {m} ")),
                "the rule `{expr}` names {m}, which watch does not export"
            );
        }
        if let Some(by) = expr.split("by (").nth(1) {
            for label in by.split(')').next().unwrap().split(',') {
                assert!(
                    text.contains(&format!("{}=\"", label.trim())),
                    "the rule `{expr}` groups by {label}, which no series has"
                );
            }
        }
    }
    assert_eq!(
        exprs, 4,
        "the four alerts of docs/monitoring/prometheus-rule.yaml"
    );
    let spiking: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("palisade_deny_spike{") && l.ends_with(" 1"))
        .collect();
    assert_eq!(
        spiking,
        ["palisade_deny_spike{src_namespace=\"shop\",dst_namespace=\"payments\"} 1"],
        "exactly one pair alerts"
    );
    assert!(text.contains(
        "palisade_deny_spikes_total{src_namespace=\"shop\",dst_namespace=\"payments\"} 1"
    ));
    assert!(text.contains("# TYPE palisade_sessions_total counter"));
    assert!(text.contains("palisade_flows_total "));
    let policies = |t: &str| -> Option<u32> {
        t.lines()
            .find_map(|l| l.strip_prefix("palisade_model_objects{kind=\"policies\"} "))
            .and_then(|v| v.trim().parse().ok())
    };
    let before = policies(&text).expect("the model's policy count");
    // A policy added to the manifests is picked up without a restart.
    std::fs::write(
        cluster.join("added-policy.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: added\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n",
    )
    .unwrap();
    for _ in 0..600 {
        text = scrape(&metrics_addr);
        if policies(&text) == Some(before + 1) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(policies(&text), Some(before + 1), "{text}");
    assert!(
        text.contains("palisade_model_reloads_total{result=\"ok\"}"),
        "{text}"
    );
    // Quiet minutes later the spike ends: logged, and the alert's condition no longer holds.
    gate.open.store(true, std::sync::atomic::Ordering::SeqCst);
    let ended = wait_for(&log_rx, &mut log, "deny spike ended");
    let pair_gauge = "palisade_deny_spike{src_namespace=\"shop\",dst_namespace=\"payments\"} ";
    for _ in 0..600 {
        text = scrape(&metrics_addr);
        if text.contains(&format!("{pair_gauge}0")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ended, "{log}");
    assert!(log.contains("deny spike ended: shop → payments"), "{log}");
    assert!(text.contains(&format!("{pair_gauge}0")), "{text}");
    assert!(text.contains(
        "palisade_deny_spikes_total{src_namespace=\"shop\",dst_namespace=\"payments\"} 1"
    ));
}

/// Collects log lines into `log` until one contains `needle` (false after a minute without).
/// A child's output, line by line, read on a thread (so that a test can wait with a deadline).
fn lines_of(output: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for(lines: &std::sync::mpsc::Receiver<String>, log: &mut String, needle: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                log.push_str(&line);
                log.push('\n');
                if line.contains(needle) {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

fn scrape(addr: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: palisade\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

/// `-n` means the same with --live as with files: the answer is about that namespace (and it
/// is the namespace read); `-A -n NS` reads every namespace and shows NS, so traffic from other
/// namespaces into NS is in the answer.
#[test]
fn namespace_with_live_is_the_answers_namespace() {
    let api = api(&[]);
    let kc = kubeconfig(&api, "ns");
    let csv = |args: &[&str]| {
        let mut all = vec!["connectivity", "--live", "--kubeconfig", &kc, "-o", "csv"];
        all.extend(args);
        let out = run(&all, &[]);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        out.stdout
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let everything = csv(&["-A"]);
    let read_payments = csv(&["-n", "payments"]);
    let all_show_payments = csv(&["-A", "-n", "payments"]);
    let touches = |row: &String| {
        let mut cells = row.split(',');
        let (src, dst) = (cells.next().unwrap(), cells.next().unwrap());
        src.starts_with("payments/") || dst.starts_with("payments/")
    };
    assert!(!all_show_payments.is_empty());
    assert!(
        all_show_payments.iter().all(touches),
        "{all_show_payments:?}"
    );
    // -A -n: exactly the whole answer's rows about payments.
    let expected: Vec<String> = everything.iter().filter(|r| touches(r)).cloned().collect();
    assert_eq!(all_show_payments, expected);
    // -n alone reads only payments: its rows are about payments, and cross-namespace peers
    // it could not read are missing from them.
    assert!(read_payments.iter().all(touches), "{read_payments:?}");
    assert!(
        read_payments.iter().all(|r| !r.contains("shop/")),
        "{read_payments:?}"
    );
    // Reading every namespace adds the peers -n alone cannot see: prometheus scraping
    // payments, payments resolving names with coredns.
    assert!(
        all_show_payments.contains(&"monitoring/prometheus,payments/ledger,TCP 9100".to_string())
    );
    assert!(
        !read_payments
            .iter()
            .any(|r| r.contains("monitoring/") || r.contains("kube-system/"))
    );
    assert!(
        read_payments.iter().all(|r| all_show_payments.contains(r)),
        "{read_payments:?}"
    );
}

/// `watch --jsonl` prints the sessions it decides with Hubble's names escaped like every
/// other output: C1 controls and bidi overrides (which JSON leaves raw) included.
#[test]
fn watch_jsonl_escapes_hostile_names() {
    let capture = std::fs::read_to_string(capture()).unwrap();
    let flow = capture.lines().find(|l| l.contains("\"DROPPED\"")).unwrap();
    assert!(flow.contains("checkout-84c6d5b7f9-h2jkd"));
    // Forwarded mid-stream (an ACK): observed accepted against predicted denied, so the
    // session's mismatch names Hubble's pod (as in hostile.rs).
    let hostile = flow
        .replace("\"DROPPED\"", "\"FORWARDED\"")
        .replace("\"flags\":{\"SYN\":true}", "\"flags\":{\"ACK\":true}")
        .replace("checkout-84c6d5b7f9-h2jkd", "evil\\u009b\\u202e\\u2066");
    let dir = scratch("watch-hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hostile.jsonl");
    std::fs::write(&file, hostile + "\n").unwrap();
    let mut responses = responses_from_capture(&file).unwrap();
    // A later flow moves flow time past the attempt's timeout, so it is decided.
    let mut later = responses.last().unwrap().clone();
    if let Some(t) = &mut later.time {
        t.seconds += 600;
    }
    if let Some(palisade_live::proto::observer::get_flows_response::ResponseTypes::Flow(f)) =
        &mut later.response_types
    {
        f.time = later.time;
    }
    responses.push(later);
    let relay = FakeRelay::start(RelayScript {
        responses,
        hold_open: true,
        ..Default::default()
    });
    let addr = relay.addr.to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "watch",
            "--hubble-relay",
            &addr,
            "--cluster",
            "examples/webshop",
            "--metrics",
            "127.0.0.1:0",
            "--jsonl",
        ])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stdout.take().unwrap());
    let mut seen = String::new();
    let found = wait_for(&rx, &mut seen, "evil");
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no session line naming the pod:\n{seen}");
    let line = seen.lines().find(|l| l.contains("evil")).unwrap();
    assert!(line.contains("evil\\u009b\\u202e\\u2066"), "{line}");
    assert!(
        !line.contains('\u{9b}') && !line.contains('\u{202e}') && !line.contains('\u{2066}'),
        "{line}"
    );
}
