//! Input written by someone unfriendly: nothing from it reaches the terminal raw, output
//! stays bounded by the number of findings, nothing outside the given paths is read.

use crate::support::palisade;

/// One dropped flow from the example, turned into a forwarded one (so that the observed
/// outcome disagrees with the policies and the mapping is explained), whose source pod name
/// carries a terminal title sequence (ESC, OSC, BEL), a clear-screen and a bidi override.
fn hostile_hubble() -> String {
    let capture = std::fs::read_to_string(
        crate::support::root().join("examples/webshop-traffic/capture.jsonl"),
    )
    .unwrap();
    let flow = capture.lines().find(|l| l.contains("\"DROPPED\"")).unwrap();
    assert!(flow.contains("\"pod_name\":\"checkout-84c6d5b7f9-h2jkd\""));
    // Forwarded mid-stream (an ACK, no SYN): observed accepted, so the drift row names the
    // pod. A forwarded SYN alone no longer says what the client got (#16).
    flow.replace("\"DROPPED\"", "\"FORWARDED\"")
        .replace("\"flags\":{\"SYN\":true}", "\"flags\":{\"ACK\":true}")
        .replace(
            "checkout-84c6d5b7f9-h2jkd",
            "evil\\u001b]0;pwned\\u0007\\u001b[2J\\u202e",
        )
        + "\n"
}

fn assert_no_raw_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && c != '\t' && palisade_render_is_unsafe(c))
        .collect();
    assert!(
        bad.is_empty(),
        "{what} has raw control characters {bad:?}:\n{text}"
    );
}

/// The same test as `palisade_render::escape::is_unsafe` (not a dependency of the tests).
fn palisade_render_is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `-o jsonl` is serialized on the replaying thread with one thread and on a writer thread
/// with two: the same escaped lines either way, C1 controls and bidi overrides included
/// (which JSON itself leaves raw).
#[test]
fn jsonl_is_escaped_the_same_on_one_thread_and_two() {
    let capture = hostile_hubble().replace("\\u202e", "\\u009b\\u202e\\u2066");
    let run = |threads: &str| {
        palisade(
            &[
                "replay",
                "-",
                "--cluster",
                "examples/webshop",
                "--format",
                "hubble",
                "-o",
                "jsonl",
                "--threads",
                threads,
            ],
            Some(&capture),
        )
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_no_raw_controls("jsonl", &one.stdout);
    assert!(
        one.stdout
            .contains("evil\\u001b]0;pwned\\u0007\\u001b[2J\\u009b\\u202e\\u2066"),
        "{}",
        one.stdout
    );
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stderr, two.stderr);
}

#[test]
fn hubble_names_are_escaped_in_every_replay_format() {
    let capture = hostile_hubble();
    for format in ["txt", "csv", "md", "json", "jsonl"] {
        for color in ["never", "always"] {
            let run = palisade(
                &[
                    "replay",
                    "-",
                    "--cluster",
                    "examples/webshop",
                    "--format",
                    "hubble",
                    "-o",
                    format,
                    "--color",
                    color,
                ],
                Some(&capture),
            );
            assert_eq!(run.code, 0, "{format}: {}", run.stderr);
            if color == "never" {
                assert_no_raw_controls(format, &run.stdout);
            } else {
                assert!(!run.stdout.contains("\x1b]0;") && !run.stdout.contains('\x07'));
                assert!(!run.stdout.contains("\x1b[2J") && !run.stdout.contains('\u{202e}'));
            }
            assert_no_raw_controls(format, &run.stderr);
            if format == "json" {
                // JSON escapes them itself, and the value survives a round trip.
                let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                let text = v.to_string();
                assert!(text.contains("evil\\u001b]0;pwned\\u0007"), "{text}");
            } else if format == "txt" || format == "md" {
                assert!(
                    run.stdout.contains("evil\\u001b]0;pwned\\u0007"),
                    "{format}: {}",
                    run.stdout
                );
            }
        }
    }
}

#[test]
fn yaml_strings_are_escaped_in_messages_and_code_frames() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"web\\e]0;pwned\\a\"\n  namespace: shop\nspec: {containers: [{name: c}]}\n";
    for args in [
        &["lint", "-", "--color", "never"][..],
        &["lint", "-", "--color", "always"],
        &["lint", "-", "-o", "concise"],
        &["connectivity", "-", "--keep-going"],
    ] {
        let run = palisade(args, Some(manifest));
        // lint reports input errors as NP017 findings in its report (exit 1, #16).
        assert_eq!(run.code, if args[0] == "lint" { 1 } else { 0 }, "{args:?}");
        assert!(
            !run.stderr.contains('\x07') && !run.stderr.contains("\x1b]"),
            "{}",
            run.stderr
        );
        let shown = if args[0] == "lint" {
            &run.stdout
        } else {
            &run.stderr
        };
        assert!(
            shown.contains("\\u{1b}]0;pwned\\u{7}"),
            "{args:?}: {}",
            shown
        );
        if args.contains(&"always") {
            // Colours are the only escapes: none from the input.
            assert!(
                !run.stdout.contains('\x07') && !run.stdout.contains("\x1b]"),
                "{}",
                run.stdout
            );
        } else {
            assert_no_raw_controls("stdout", &run.stdout);
        }
    }
}

#[test]
fn one_line_with_a_thousand_errors_prints_a_bounded_report() {
    let items: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"Bad_{i}","namespace":"x"}},"spec":{{"containers":[{{"name":"c"}}]}}}}"#))
        .collect();
    let list = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    );
    assert!(list.len() > 100_000 && !list.contains('\n'));
    // lint reports the errors as findings (#16), as boundedly as the load report.
    let lint = palisade(&["lint", "-", "--color", "never"], Some(&list));
    assert_eq!(lint.code, 1);
    assert_eq!(
        lint.stdout.matches("error[NP017]: metadata.name").count(),
        50
    );
    assert!(lint.stdout.len() < 100_000, "{} bytes", lint.stdout.len());
    let run = palisade(&["connectivity", "-", "--color", "never"], Some(&list));
    assert_eq!(run.code, 2);
    // 50 frames of at most ~120 characters of source each, then a count: a few tens of KB
    // (it was 258 MB when every frame echoed the whole line).
    assert!(run.stderr.len() < 40_000, "{} bytes", run.stderr.len());
    assert_eq!(run.stderr.matches("error: metadata.name").count(), 50);
    assert!(
        run.stderr
            .contains("950 more diagnostics in <stdin> not shown"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("…"));
    assert!(run.stderr.ends_with("continue without them)\n"));
}

#[test]
fn a_ten_megabyte_label_value_is_clipped() {
    let value = "a".repeat(10 << 20);
    let pod = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p","namespace":"x","labels":{{"app":"{value}"}}}},"spec":{{"containers":[{{"name":"c"}}]}}}}"#
    );
    for args in [
        &["lint", "-"][..],
        &["lint", "-", "-o", "json"],
        &["lint", "-", "-o", "sarif"],
    ] {
        let run = palisade(args, Some(&pod));
        // An NP017 finding in the report (#16); the SARIF report also carries every rule's
        // documentation, hence the looser bound.
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.len() + run.stdout.len() < 100_000,
            "{args:?}: {} bytes",
            run.stderr.len() + run.stdout.len()
        );
        assert!(!run.stdout.contains(&"a".repeat(1000)), "{args:?}");
        assert!(run.stdout.contains("invalid label value `aaaa"), "{args:?}");
    }
}

#[test]
fn a_symlinked_secret_in_the_tree_is_not_read() {
    let top = tempfile::tempdir().unwrap();
    let tree = top.path().join("pr");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(top.path().join("ci-secrets"), "AWS_SECRET=MARKER-51c2\n").unwrap();
    std::os::unix::fs::symlink(top.path().join("ci-secrets"), tree.join("env.yaml")).unwrap();
    std::fs::write(
        tree.join("ns.yaml"),
        "kind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    let tree = tree.to_str().unwrap();
    for args in [
        &["lint", tree][..],
        &["connectivity", tree],
        &["audit", tree],
    ] {
        let run = palisade(args, None);
        assert!(
            !run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"),
            "{args:?}"
        );
        assert!(
            run.stderr.contains("env.yaml`: a symbolic link to"),
            "{}",
            run.stderr
        );
    }
    // Followed, the file is read: it holds no Kubernetes object, so it is skipped with an
    // info line (#16) instead of echoed in an error.
    let followed = palisade(&["lint", tree, "--follow-symlinks", "-v"], None);
    assert!(
        followed
            .stderr
            .contains("env.yaml`: not a Kubernetes manifest"),
        "{}",
        followed.stderr
    );
}

fn replay_example(extra: &[&str], stdin: Option<&str>) -> crate::support::Run {
    let mut args = vec![
        "replay",
        "examples/webshop-traffic/capture.jsonl",
        "--cluster",
        "examples/webshop",
        "examples/webshop-traffic/cluster",
        "--color",
        "never",
    ];
    if stdin.is_some() {
        args[1] = "-";
    }
    args.extend(extra);
    palisade(&args, stdin)
}

#[test]
fn absurd_durations_and_factors_are_refused() {
    for (flag, value, says) in [
        ("--timeout", "2500000h", "longer than a year"),
        ("--spike-window", "400d", "longer than a year"),
        ("--spike-k", "NaN", "not a finite number"),
        ("--spike-k", "-1", "not a finite number"),
        ("--spike-k", "inf", "not a finite number"),
    ] {
        let run = replay_example(&["--spikes", &format!("{flag}={value}")], None);
        assert_eq!(run.code, 2, "{flag} {value}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{flag} {value}: {}", run.stderr);
    }
}

#[test]
fn spikes_cost_does_not_grow_with_the_span() {
    // The example with one flow moved to 1900 and a 1 ns window: ~4e18 windows between
    // them, which must not be walked one by one (this test would not finish).
    let capture = std::fs::read_to_string(
        crate::support::root().join("examples/webshop-traffic/capture.jsonl"),
    )
    .unwrap();
    let mut lines: Vec<String> = capture.lines().map(str::to_string).collect();
    lines[0] = lines[0].replace("2026-09-20T", "1900-09-20T");
    let old = lines.join("\n") + "\n";
    for window in ["1ns", "1m"] {
        let run = replay_example(
            &[
                "--format",
                "hubble",
                "--spikes",
                "--spike-window",
                window,
                "--summary",
            ],
            Some(&old),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
}

#[test]
fn windows_finer_than_the_timestamps_are_refused() {
    let vpc = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
               2 123456789012 eni-1 10.0.1.11 10.0.1.31 40000 8080 6 1 60 1789862400 1789862401 ACCEPT OK\n";
    let run = replay_example(
        &["--format", "vpc", "--spikes", "--spike-window", "500ms"],
        Some(vpc),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("finer than the capture's timestamps"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_truncated_or_corrupt_gzip_keeps_the_sessions_read() {
    use std::io::Write;
    let capture =
        std::fs::read(crate::support::root().join("examples/webshop-traffic/capture.jsonl"))
            .unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&capture).unwrap();
    let gz = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
    let mut bad = gz.clone();
    let n = bad.len();
    bad[n - 6] ^= 0xff; // the CRC/length trailer
    let corrupt = dir.path().join("corrupt.json.gz");
    std::fs::write(&corrupt, &bad).unwrap();
    let whole = replay_example(&["--summary"], None);
    let whole_sessions = whole
        .stdout
        .lines()
        .find(|l| l.starts_with("Summary:"))
        .unwrap();
    for (path, all) in [(&cut, false), (&corrupt, true)] {
        let run = palisade(
            &[
                "replay",
                path.to_str().unwrap(),
                "--cluster",
                "examples/webshop",
                "examples/webshop-traffic/cluster",
                "--summary",
                "--color",
                "never",
            ],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("compressed input ends early or is corrupt at byte "),
            "{}",
            run.stderr
        );
        let summary = run
            .stdout
            .lines()
            .find(|l| l.starts_with("Summary:"))
            .unwrap();
        if all {
            assert_eq!(summary, whole_sessions);
        } else {
            assert_ne!(summary, "Summary: 0 sessions");
        }
    }
}

#[test]
fn malformed_cidr_filters_are_errors_not_names() {
    for (bad, why) in [
        ("10.0.0.0/33", "prefix length 33 is longer than 32"),
        ("10.0.0.0/8junk", "`8junk` is not a prefix length"),
    ] {
        for flag in ["--from", "--to"] {
            let run = replay_example(&[flag, bad], None);
            assert_eq!(run.code, 2, "{flag} {bad}");
            assert!(run.stdout.is_empty());
            assert!(run.stderr.contains(why), "{}", run.stderr);
        }
    }
}

#[test]
fn scalars_the_api_server_rejects_fail_every_command() {
    let manifest = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  podSelector: {matchLabels: {app: 5}}
  ingress:
  - ports: [{port: true}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
";
    for args in [
        &[
            "check", "-", "--from", "shop/web", "--to", "shop/web", "--port", "80",
        ][..],
        &["connectivity", "-"],
        &["lint", "-"],
        &["audit", "-"],
    ] {
        let run = palisade(args, Some(manifest));
        // lint reports input errors as NP017 findings (exit 1, on stdout); the other
        // commands refuse the input (exit 2, on stderr).
        let (code, out) = if args[0] == "lint" {
            (1, &run.stdout)
        } else {
            (2, &run.stderr)
        };
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(out.contains("<stdin>:5:36"), "{out}");
        assert!(out.contains("help: quote it: \"5\""), "{out}");
        assert!(out.contains("<stdin>:7:20"), "{out}");
    }
}

#[test]
fn a_palisade_toml_above_the_repository_is_not_applied() {
    let top = tempfile::tempdir().unwrap();
    let t = top.path();
    std::fs::write(t.join("palisade.toml"), "[lint]\nignore = [\"ALL\"]\n").unwrap();
    let repo = t.join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("k8s")).unwrap();
    std::fs::write(
        repo.join("k8s/np.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(args)
            .current_dir(repo.join("k8s"))
            .env("HOME", t.join("nohome"))
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (_, stdout, stderr) = run(&["lint", ".", "-o", "json", "-v"]);
    assert!(stderr.contains("no lint configuration file"), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        !v["diagnostics"].as_array().unwrap().is_empty(),
        "the /tmp config silenced lint"
    );
    assert!(v.get("config").is_none());
    // The repository's own file applies, and is named.
    std::fs::write(repo.join("palisade.toml"), "[lint]\nignore = [\"NP001\"]\n").unwrap();
    let (_, stdout, stderr) = run(&["lint", ".", "-o", "json", "-v"]);
    let used = repo.join("palisade.toml");
    let used = used.to_str().unwrap();
    assert!(
        stderr.contains(&format!("lint configuration from `{used}`")),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["config"], used);
    let (_, stdout, _) = run(&["lint", ".", "-o", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["runs"][0]["properties"]["config"], used);
}

#[test]
fn lint_keep_going_exits_by_findings_like_every_command() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name, namespace: shop}\n---\nkind: Namespace\nmetadata: {name: shop}\n";
    // By default the invalid object is an NP017 finding: exit 1, like any error finding.
    let run = palisade(&["lint", "-", "-o", "concise"], Some(manifest));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("invalid name `Bad_Name`"),
        "{}",
        run.stdout
    );
    // With NP017 off the input error is not a finding: exit 2, or with --keep-going the
    // results decide (none here), as for every other command.
    let off = palisade(&["lint", "-", "--ignore", "NP017"], Some(manifest));
    assert_eq!(off.code, 2, "{}", off.stderr);
    let keep_going = palisade(
        &[
            "lint",
            "-",
            "--ignore",
            "NP017",
            "--keep-going",
            "-o",
            "concise",
        ],
        Some(manifest),
    );
    assert_eq!(
        keep_going.code, 0,
        "{}{}",
        keep_going.stdout, keep_going.stderr
    );
    assert!(keep_going.stderr.contains("invalid name `Bad_Name`"));
    let connectivity = palisade(&["connectivity", "-", "--keep-going"], Some(manifest));
    assert_eq!(connectivity.code, 0);
}

#[test]
fn stdin_cannot_be_both_capture_and_cluster() {
    let run = palisade(&["replay", "-", "--cluster", "-"], Some("x"));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("standard input (`-`) is given 2 times"),
        "{}",
        run.stderr
    );
}

#[test]
fn vpc_icmp_rows_are_counted() {
    let vpc = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
               2 123456789012 eni-1 10.0.1.11 10.0.1.31 0 0 1 1 84 1789862400 1789862401 ACCEPT OK\n\
               2 123456789012 eni-1 10.0.1.11 10.0.1.31 0 0 1 1 84 1789862402 1789862403 ACCEPT OK\n\
               2 123456789012 eni-1 10.0.1.11 10.0.1.31 40000 8080 6 1 60 1789862400 1789862401 ACCEPT OK\n";
    let run = replay_example(&["--format", "vpc", "--summary"], Some(vpc));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1 session"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("note: 2 events formed no connection attempt"),
        "{}",
        run.stderr
    );
}

#[test]
fn long_captures_and_small_backsteps_are_described_exactly() {
    let csv = "time,src,dst,src_port,dst_port,protocol\n\
               2026-09-20T00:00:00.000500Z,10.0.1.11,10.0.1.31,40000,8080,TCP\n\
               2026-09-20T00:00:00.000250Z,10.0.1.11,10.0.1.31,40001,8080,TCP\n\
               2200-01-01T00:00:00Z,10.0.1.11,10.0.1.31,40002,8080,TCP\n";
    let run = replay_example(&["--format", "csv", "--summary"], Some(csv));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("from 2026-09-20 00:00:00 to 2200-01-01 00:00:00.000 UTC"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("at most 250 µs back"), "{}", run.stdout);
}
