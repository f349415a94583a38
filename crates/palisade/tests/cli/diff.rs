//! `palisade diff`: the webshop fix as a diff in every format, --fail-on, equivalence, git
//! revisions in a temporary repository, and bad input.

use crate::support::{Run, palisade};
use insta::assert_snapshot;
use std::path::{Path, PathBuf};
use std::process::Command;

const SHOP: &str = "examples/webshop";
const FIXED: &str = "examples/webshop-fixed";

fn fix(extra: &[&str]) -> Run {
    let mut args = vec!["diff", SHOP, FIXED, "--overlay", "--color", "never"];
    args.extend_from_slice(extra);
    palisade(&args, None)
}

#[test]
fn diff_webshop_fix_txt() {
    let run = fix(&[]);
    assert_eq!(run.code, 0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn diff_webshop_fix_md() {
    assert_snapshot!(fix(&["-o", "md"]).snapshot());
}

#[test]
fn diff_webshop_fix_json() {
    assert_snapshot!(fix(&["-o", "json"]).snapshot());
}

#[test]
fn diff_webshop_fix_csv() {
    assert_snapshot!(fix(&["-o", "csv"]).snapshot());
}

#[test]
fn diff_webshop_fix_pod_level() {
    assert_snapshot!(fix(&["--level", "pod"]).snapshot());
}

#[test]
fn diff_fail_on() {
    assert_eq!(fix(&["--fail-on", "added"]).code, 1);
    assert_eq!(fix(&["--fail-on", "any"]).code, 1);
    assert_eq!(fix(&["--fail-on", "removed"]).code, 0);
    // The reverse direction removes the connection.
    let run = palisade(
        &["diff", FIXED, SHOP, "--fail-on", "removed", "-o", "json"],
        None,
    );
    let reversed = palisade(
        &[
            "diff",
            SHOP,
            FIXED,
            "--overlay",
            "--fail-on",
            "removed",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(reversed.code, 0);
    // FIXED alone holds one policy and no workloads: it loads, and the diff runs.
    assert_ne!(run.code, 2, "{}", run.stderr);
}

#[test]
fn diff_identical_sides_say_so() {
    let run = palisade(&["diff", SHOP, SHOP, "--fail-on", "any"], None);
    assert_eq!(run.code, 0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn diff_workloads_from_old() {
    // NEW has only the fixed policy file: with --workloads-from old, every other policy of
    // the shop is removed on the NEW side, so the diff is large; it must run and name them.
    let run = palisade(
        &["diff", SHOP, FIXED, "--workloads-from", "old", "-o", "json"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("\"what\": \"removed\""));
}

#[test]
fn diff_missing_side_is_an_input_error() {
    let run = palisade(&["diff", SHOP, "examples/nope"], None);
    assert_eq!(run.code, 2);
    assert_snapshot!(run.snapshot());
}

#[test]
fn diff_needs_two_sides() {
    let run = palisade(&["diff", SHOP], None);
    assert_eq!(run.code, 2);
    assert_snapshot!(run.snapshot());
}

#[test]
fn diff_side_that_fails_to_load_is_named() {
    let run = palisade(&["diff", SHOP, "-", "--color", "never"], Some("kind: [\n"));
    assert_eq!(run.code, 2);
    assert_snapshot!(run.snapshot());
}

// --- git revisions in a temporary repository -----------------------------------------

fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository with the buggy shop committed twice (k8s/), then the fix committed.
fn repo(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = crate::support::root();
    copy_dir(&root.join(SHOP), &dir.join("k8s"));
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "k8s"]);
    git(&dir, &["commit", "-q", "-m", "shop"]);
    git(&dir, &["tag", "buggy"]);
    std::fs::copy(
        root.join(FIXED).join("payments/policies/payments-api.yaml"),
        dir.join("k8s/payments/policies/payments-api.yaml"),
    )
    .unwrap();
    git(&dir, &["commit", "-q", "-am", "fix"]);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn palisade_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        code: out.status.code().unwrap_or(-1),
    }
}

#[test]
#[allow(clippy::print_stdout)] // the skip reason
fn diff_git_revisions() {
    if !git_available() {
        println!("skipped: git is not installed");
        return;
    }
    let dir = repo("revs");
    let status_before = git_out(&dir, &["status", "--porcelain"]);
    let head_before = git_out(&dir, &["rev-parse", "HEAD"]);

    // git:REV against the working tree, the paths taken from the other side.
    let run = palisade_in(&dir, &["diff", "git:buggy", "k8s/", "--color", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_snapshot!("git_rev_vs_worktree", run.snapshot());

    // --git BASE..HEAD -- PATHS
    let run = palisade_in(
        &dir,
        &["diff", "-o", "json", "--git", "buggy..HEAD", "--", "k8s"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_snapshot!("git_range_json", run.snapshot());

    // git:REV:PATH on both sides; same revision: no change.
    let run = palisade_in(&dir, &["diff", "git:HEAD:k8s", "git:HEAD:k8s"]);
    assert_eq!(run.stdout, "no connectivity change; no policy edited\n");

    // Bad revision and bad path: clear errors, exit 2.
    let run = palisade_in(&dir, &["diff", "git:no-such-rev", "k8s/"]);
    assert_eq!(run.code, 2);
    assert_snapshot!("git_bad_revision", run.snapshot());
    let run = palisade_in(&dir, &["diff", "--git", "buggy..HEAD", "--", "nowhere/"]);
    assert_eq!(run.code, 2);
    assert_snapshot!("git_bad_path", run.snapshot());

    // Nothing was written to the repository.
    assert_eq!(git_out(&dir, &["status", "--porcelain"]), status_before);
    assert_eq!(git_out(&dir, &["rev-parse", "HEAD"]), head_before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Admin-tier edits are causes: a changed ClusterNetworkPolicy rule opens dev -> shop, an
/// added BaselineAdminNetworkPolicy closes the internet, each named with kind/name, tier,
/// priority and rule (name and action); the admin `networks` cut the external ranges.
fn tiers_diff(format: &str) -> Run {
    palisade(
        &[
            "diff",
            "crates/palisade/tests/cli/data/tiers-diff/old",
            "crates/palisade/tests/cli/data/tiers-diff/new",
            "--overlay",
            "--color",
            "never",
            "-o",
            format,
        ],
        None,
    )
}

#[test]
fn diff_admin_tier_causes_txt() {
    let run = tiers_diff("txt");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(
        "cnp/tenants modified (Admin tier, priority 10, ingress rule 0 \"deny-dev\" Pass)"
    ));
    assert_snapshot!(run.snapshot());
}

#[test]
fn diff_admin_tier_causes_json() {
    let run = tiers_diff("json");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let opened = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["src"] == "dev/tool" && c["dst"] == "shop/api")
        .expect("dev/tool -> shop/api");
    assert_eq!(opened["change"], "added");
    let causes = opened["causes"].as_array().unwrap();
    assert_eq!(
        causes.len(),
        1,
        "only the policy whose rule matches: {causes:?}"
    );
    assert_eq!(causes[0]["kind"], "ClusterNetworkPolicy");
    assert_eq!(causes[0]["tier"], "Admin");
    assert_eq!(causes[0]["rule"]["name"], "deny-dev");
    assert_snapshot!(run.snapshot());
}

#[test]
fn diff_admin_tier_causes_md() {
    assert_snapshot!(tiers_diff("md").snapshot());
}
