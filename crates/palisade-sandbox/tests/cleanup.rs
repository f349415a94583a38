//! Cleanup is guaranteed: after a panic (drop guard) and after SIGKILL (the sweeper).

mod common;

use palisade_sandbox::{Sandbox, SandboxOptions, netns, sweep};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const CLUSTER: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: default}
spec: {containers: [{name: c, image: i}]}
";

fn namespaces_with(prefix: &str) -> Vec<String> {
    netns::list()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .collect()
}

#[test]
fn a_panic_while_up_removes_every_namespace() {
    if !common::can_run("cleanup after a panic") {
        return;
    }
    let model = common::load_text(CLUSTER);
    let prefix = std::sync::Mutex::new(String::new());
    let result = std::panic::catch_unwind(|| {
        let sandbox = Sandbox::up(&model, SandboxOptions::default()).unwrap();
        *prefix.lock().unwrap() = sandbox.run().prefix();
        assert_eq!(namespaces_with(&sandbox.run().prefix()).len(), 3);
        panic!("boom");
    });
    assert!(result.is_err());
    let prefix = prefix.into_inner().unwrap();
    assert!(!prefix.is_empty());
    assert_eq!(namespaces_with(&prefix), Vec::<String>::new());
}

/// Not a test on its own: the child process of `the_sweeper_removes_what_a_killed_run_left`.
#[test]
#[allow(clippy::print_stdout)] // the parent reads the run prefix from stdout
fn sigkill_child() {
    if std::env::var_os("PALISADE_SANDBOX_CHILD").is_none() {
        return;
    }
    let model = common::load_text(CLUSTER);
    let sandbox = Sandbox::up(&model, SandboxOptions::default()).unwrap();
    println!("PREFIX {}", sandbox.run().prefix());
    std::thread::sleep(std::time::Duration::from_secs(120));
    drop(sandbox);
}

#[test]
fn the_sweeper_removes_what_a_killed_run_left() {
    if !common::can_run("cleanup after SIGKILL") {
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkill_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PALISADE_SANDBOX_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let prefix = BufReader::new(stdout)
        .lines()
        .map(|l| l.unwrap())
        .find_map(|l| l.split_once("PREFIX ").map(|(_, p)| p.trim().to_string()))
        .expect("the child reports its run");
    assert_eq!(namespaces_with(&prefix).len(), 3, "the child's run is up");
    // A live run is left alone by the sweeper.
    let swept = sweep(None).unwrap();
    assert!(swept.deleted.iter().all(|n| !n.starts_with(&prefix)));
    assert!(!namespaces_with(&prefix).is_empty());
    child.kill().unwrap(); // SIGKILL: no destructor, no signal handler runs
    child.wait().unwrap();
    assert_eq!(
        namespaces_with(&prefix).len(),
        3,
        "SIGKILL leaves the run behind"
    );
    let swept = sweep(None).unwrap();
    assert!(swept.deleted.iter().any(|n| n.starts_with(&prefix)));
    assert_eq!(namespaces_with(&prefix), Vec::<String>::new());
}
