//! `palisade test` (static: every output format, spec errors) and `palisade sandbox`
//! (compile without root; matrix and test --sandbox on the kernel when it can run here).

use crate::support::palisade;
use insta::assert_snapshot;

const SPECS: &str = "examples/webshop-tests";

fn test_run(extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "test",
        SPECS,
        "--cluster",
        "examples/webshop",
        "--color",
        "never",
    ];
    args.extend(extra);
    palisade(&args, None)
}

#[test]
fn test_human() {
    let run = test_run(&[]);
    assert_eq!(run.code, 1, "the typo fails one test");
    assert_snapshot!(run.snapshot());
}

#[test]
fn test_junit() {
    assert_snapshot!(test_run(&["-o", "junit"]).stdout);
}

#[test]
fn test_json() {
    let run = test_run(&["-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["failed"], 1);
    assert_eq!(v["passed"], 8);
    assert_snapshot!(run.stdout);
}

#[test]
fn test_spec_errors_name_file_and_line() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-conntest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("bad.yaml");
    std::fs::write(
        &spec,
        "tests:\n  - name: no expect\n    from: shop/cart\n    to: shop/redis-cart\n  - name: unknown pod\n    from: shop/nope\n    to: shop/cart\n    port: 8080\n    expect: allow\n  - name: fine\n    from: shop/cart\n    to: shop/redis-cart\n    port: 6379\n    expect: allow\n",
    )
    .unwrap();
    let run = palisade(
        &[
            "test",
            spec.to_str().unwrap(),
            "--cluster",
            "examples/webshop",
            "--color",
            "never",
        ],
        None,
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("bad.yaml:2: missing `expect`"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("ERROR  unknown pod"), "{}", run.stdout);
    assert!(
        run.stdout.contains("no pod or workload `shop/nope`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("PASS  fine"), "{}", run.stdout);
}

#[test]
fn sandbox_compile_webshop_payments() {
    let run = palisade(
        &[
            "sandbox",
            "compile",
            "examples/webshop/payments",
            "--deny-action",
            "reject",
        ],
        None,
    );
    assert_eq!(run.code, 0);
    assert_snapshot!(run.stdout);
}

#[allow(clippy::print_stderr)] // the skip reason belongs in the test output
fn kernel_available() -> bool {
    let ok = nix_like_root()
        && ["ip", "bridge", "nft"].iter().all(|t| {
            std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
        });
    if !ok {
        eprintln!("skipping kernel CLI test: needs root and ip/bridge/nft");
    }
    ok
}

fn nix_like_root() -> bool {
    // The uid of /proc/self is the effective uid.
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

#[test]
fn sandbox_test_agrees_with_static_test() {
    if !kernel_available() {
        return;
    }
    let stat: serde_json::Value = serde_json::from_str(&test_run(&["-o", "json"]).stdout).unwrap();
    let run = test_run(&["-o", "json", "--sandbox", "--deny-action", "reject"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let kern: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let statuses = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(statuses(&stat), statuses(&kern));
    assert_eq!(kern["mode"], "sandbox");
}

#[test]
fn sandbox_matrix_json_has_the_matrix_shape_and_no_mismatch() {
    if !kernel_available() {
        return;
    }
    let run = palisade(
        &[
            "sandbox",
            "matrix",
            "examples/webshop",
            "--port",
            "8080",
            "--deny-action",
            "reject",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let plain: serde_json::Value = serde_json::from_str(
        &palisade(
            &["matrix", "examples/webshop", "--port", "8080", "-o", "json"],
            None,
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(v["peers"], plain["peers"]);
    assert_eq!(v["predicted"], plain["allowed"]);
    assert_eq!(
        v["allowed"], plain["allowed"],
        "the kernel agrees with the engine"
    );
    assert_eq!(v["mismatches"], serde_json::json!([]));
    assert!(v["observed"][0][0].is_string());
}

#[test]
fn sandbox_replay_reenacts_every_session_and_agrees_with_the_engine() {
    if !kernel_available() {
        return;
    }
    let run = palisade(
        &[
            "sandbox",
            "replay",
            "examples/webshop-traffic/capture.pcap",
            "--cluster",
            "examples/webshop",
            "examples/webshop-traffic/cluster",
            "--deny-action",
            "reject",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 23);
    assert_eq!(v["disagreements"], 0);
    // The typo's session: recorded as timed out, predicted and re-enacted as denied.
    let typo = sessions
        .iter()
        .find(|s| s["src"] == "shop/checkout" && s["dst"] == "payments/payments-api")
        .unwrap();
    assert_eq!(typo["recorded"], "timed-out");
    assert_eq!(typo["kernel"], "refused");
}

#[test]
fn demo_has_a_kernel_step() {
    let run = palisade(&["demo", "--color", "never"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("9. Proof on a real kernel"));
    if kernel_available() {
        assert!(
            run.stdout
                .contains("shop/checkout -> payments/payments-api 8080/TCP: timed-out"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("agrees with the engine on 13 of 13"));
    } else {
        assert!(run.stdout.contains("Run `sudo palisade demo`"));
    }
}

#[test]
fn sigterm_tears_a_running_sandbox_down() {
    if !kernel_available() {
        return;
    }
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["sandbox", "up", "examples/webshop/shop"])
        .current_dir(crate::support::root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let run = first
        .split_whitespace()
        .nth(1)
        .expect("`sandbox RUN is up`")
        .to_string();
    let namespaces = || {
        std::fs::read_dir("/run/netns")
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.starts_with(&format!("{run}-")))
                    .count()
            })
            .unwrap_or(0)
    };
    assert!(namespaces() > 1, "{first}");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130));
    assert_eq!(namespaces(), 0, "SIGTERM removed every namespace of {run}");
}
