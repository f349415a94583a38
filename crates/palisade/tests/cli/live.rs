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
    let dir = std::env::temp_dir().join(format!("palisade-cli-live-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn api(forbidden: &[&str]) -> FakeApiServer {
    FakeApiServer::start(ApiServerConfig {
        root: root().join("crates/palisade-live/tests/data/apiserver"),
        forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
        max_page: 4,
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
    // The cluster runs the example: its manifests show no drift.
    let same = run(
        &[
            "diff",
            "--live",
            "--kubeconfig",
            &kc,
            "-A",
            "examples/webshop",
            "--fail-on",
            "any",
        ],
        &[],
    );
    assert_eq!(same.code, 0, "{}\n{}", same.stdout, same.stderr);
    // Manifests with the fix applied: the running cluster lacks checkout -> payments-api.
    let dir = scratch("diff-fixed");
    copy_dir(&root().join("examples/webshop"), &dir);
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
    let mut later = responses.last().unwrap().clone();
    if let Some(t) = &mut later.time {
        t.seconds += 60;
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
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut metrics_url = None;
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line
            .trim()
            .strip_prefix("palisade: serving metrics on http://")
        {
            metrics_url = Some(rest.trim_end_matches("/metrics").to_string());
            break;
        }
        line.clear();
    }
    let metrics_addr = metrics_url.expect("watch says where its metrics are");
    // Logs until the spike starts, then scrape.
    let mut log = String::new();
    line.clear();
    while stderr.read_line(&mut line).unwrap() > 0 {
        log.push_str(&line);
        if line.contains("deny spike started") {
            break;
        }
        line.clear();
    }
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
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(policies(&text), Some(before + 1), "{text}");
    assert!(
        text.contains("palisade_model_reloads_total{result=\"ok\"}"),
        "{text}"
    );
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
