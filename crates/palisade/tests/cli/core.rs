//! check, matrix, connectivity and demo on the bundled example app.

use crate::support::palisade;
use insta::assert_snapshot;

const SHOP: &str = "examples/webshop";

#[test]
fn check_explains_the_broken_connection() {
    let run = palisade(
        &[
            "check",
            SHOP,
            "--from",
            "shop/checkout",
            "--to",
            "payments/payments-api",
            "--port",
            "8080",
        ],
        None,
    );
    assert_eq!(run.code, 0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn check_json_carries_the_same_explanation() {
    let run = palisade(
        &[
            "check",
            SHOP,
            "--from",
            "shop/checkout",
            "--to",
            "payments/payments-api",
            "--port",
            "8080",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0);
    assert_snapshot!(run.stdout);
}

#[test]
fn check_explains_an_allowed_connection_with_rule_and_peer() {
    let run = palisade(
        &[
            "check",
            SHOP,
            "--from",
            "shop/frontend",
            "--to",
            "shop/cart",
            "--port",
            "8080",
        ],
        None,
    );
    assert_snapshot!(run.snapshot());
}

#[test]
fn check_external_and_udp() {
    let run = palisade(
        &[
            "check",
            SHOP,
            "--from",
            "payments/payments-api",
            "--to",
            "203.0.113.200",
            "--port",
            "443",
            "-o",
            "json",
        ],
        None,
    );
    assert_snapshot!(run.stdout);
    let dns = palisade(
        &[
            "check",
            SHOP,
            "--from",
            "shop/cart",
            "--to",
            "kube-system/coredns",
            "--port",
            "53",
            "--protocol",
            "udp",
        ],
        None,
    );
    assert!(dns.stdout.starts_with("ALLOWED"), "{}", dns.stdout);
}

#[test]
fn expect_sets_the_exit_code() {
    let args = |expect| {
        palisade(
            &[
                "check",
                SHOP,
                "--from",
                "shop/checkout",
                "--to",
                "payments/payments-api",
                "--port",
                "8080",
                "--expect",
                expect,
            ],
            None,
        )
        .code
    };
    assert_eq!(args("deny"), 0);
    assert_eq!(args("allow"), 1);
}

#[test]
fn unknown_endpoint_is_a_clear_error() {
    let run = palisade(
        &[
            "check",
            SHOP,
            "--from",
            "shop/chekout",
            "--to",
            "payments/payments-api",
            "--port",
            "8080",
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert_snapshot!(run.stderr);
}

#[test]
fn matrix_formats() {
    for (format, name) in [
        ("table", "table"),
        ("csv", "csv"),
        ("md", "md"),
        ("json", "json"),
    ] {
        let run = palisade(
            &[
                "matrix", SHOP, "--port", "8080", "--level", "workload", "-o", format,
            ],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_snapshot!(format!("matrix_{name}"), run.stdout);
    }
}

#[test]
fn connectivity_formats() {
    for format in ["txt", "csv", "md", "dot", "svg", "json"] {
        let run = palisade(&["connectivity", SHOP, "-o", format], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_snapshot!(format!("connectivity_{format}"), run.stdout);
    }
}

#[test]
fn connectivity_namespace_level() {
    for format in ["txt", "json"] {
        let run = palisade(
            &["connectivity", SHOP, "--level", "namespace", "-o", format],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_snapshot!(format!("connectivity_namespace_{format}"), run.stdout);
    }
}

#[test]
fn connectivity_jsonl_is_the_json_rows_one_per_line() {
    let json = palisade(&["connectivity", SHOP, "-o", "json"], None);
    let jsonl = palisade(&["connectivity", SHOP, "-o", "jsonl"], None);
    assert_eq!(jsonl.code, 0, "{}", jsonl.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let rows: Vec<serde_json::Value> = jsonl
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(!rows.is_empty());
    assert_eq!(document["connections"].as_array().unwrap(), &rows);
}

#[test]
fn connectivity_refuses_above_max_pairs_before_writing() {
    let run = palisade(&["connectivity", SHOP, "--max-pairs", "10"], None);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_snapshot!(run.stderr, @"palisade: error: the workload-level answer has up to 60 connections between 18 endpoints (about 3.2 kB as text; --max-pairs 10): narrow it with -n NAMESPACE or -l SELECTOR, or ask for --level namespace, or raise --max-pairs (0: no limit)");
    let unlimited = palisade(&["connectivity", SHOP, "--max-pairs", "0"], None);
    assert_eq!(unlimited.code, 0);
    let default = palisade(&["connectivity", SHOP], None);
    assert_eq!(unlimited.stdout, default.stdout);
}

#[test]
fn connectivity_pod_level_names_pods() {
    let run = palisade(
        &[
            "connectivity",
            "crates/palisade-engine/tests/data/e2e/model.yaml",
            "crates/palisade-engine/tests/data/e2e/should-support-a-default-deny-ingress-policy/policies.yaml",
            "--level",
            "pod",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_snapshot!(run.stdout);
}

#[test]
fn stdin_input_and_json() {
    let manifest = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x", "labels": {"app": "a"}}},
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "x", "labels": {"app": "b"}}},
      {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "x"},
       "spec": {"podSelector": {"matchLabels": {"app": "b"}}}}]}"#;
    let run = palisade(
        &["matrix", "-", "--port", "80", "-o", "json"],
        Some(manifest),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_snapshot!(run.stdout, @r#"
    {
      "port": 80,
      "protocol": "TCP",
      "peers": [
        "x/a",
        "x/b"
      ],
      "allowed": [
        [
          true,
          false
        ],
        [
          true,
          false
        ]
      ]
    }
    "#);
}

#[test]
fn invalid_object_exits_2_with_location_unless_keep_going() {
    let manifest = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bad\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/33\n";
    let run = palisade(&["connectivity", "-"], Some(manifest));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("<stdin>:10:"), "{}", run.stderr);
    let kept = palisade(&["connectivity", "-", "--keep-going"], Some(manifest));
    assert_eq!(kept.code, 0, "{}", kept.stderr);
}

#[test]
fn yaml_syntax_error_has_a_code_frame() {
    let run = palisade(
        &["connectivity", "-", "--color", "never"],
        Some("kind: Pod\nmetadata: {name: [\n"),
    );
    assert_eq!(run.code, 2);
    assert_snapshot!(run.stderr);
}

#[test]
fn demo_walks_through_the_example() {
    let run = palisade(&["demo", "--color", "never"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("DENIED   shop/checkout -> payments/payments-api  8080/TCP")
    );
    assert!(
        run.stdout
            .contains("needs app=chekout, it has app=checkout")
    );
}

#[test]
fn unsupported_format_is_a_usage_error() {
    let run = palisade(&["matrix", SHOP, "--port", "80", "-o", "dot"], None);
    assert_eq!(run.code, 2);
    assert_snapshot!(run.stderr, @"palisade: error: unsupported output format `dot`: expected one of text, wide, csv, md, json, yaml");
}

#[test]
fn matrix_refuses_tables_too_large_to_be_useful() {
    let run = palisade(
        &[
            "matrix",
            SHOP,
            "--port",
            "80",
            "--level",
            "pod",
            "--max-peers",
            "5",
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert_snapshot!(run.stderr, @"palisade: error: the matrix would have 12 rows and 12 columns (--max-peers 5): narrow it with -n/-l, use --level workload, `palisade connectivity` (which stays sparse), or raise --max-peers");
}

const GUARDRAILS: &str = "examples/webshop-guardrails";

#[test]
fn check_walks_the_admin_tier_first() {
    let run = palisade(
        &[
            "check",
            SHOP,
            GUARDRAILS,
            "--from",
            "shop/frontend",
            "--to",
            "169.254.169.254",
            "--port",
            "80",
        ],
        None,
    );
    assert_eq!(run.code, 0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn check_json_names_the_deciding_admin_rule() {
    let run = palisade(
        &[
            "check",
            SHOP,
            GUARDRAILS,
            "--from",
            "monitoring/prometheus",
            "--to",
            "payments/payments-api",
            "--port",
            "9100",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0);
    assert_snapshot!(run.stdout);
}

#[test]
fn demo_shows_the_cluster_guardrails() {
    let run = palisade(&["demo", "--color", "never"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let step = &run.stdout[run
        .stdout
        .find("7. Cluster guardrails")
        .expect("guardrails step")..];
    // Up to step 8 (map and generate), which has its own snapshot in discover.rs.
    let step = step.split("8. From traffic").next().unwrap_or(step);
    assert_snapshot!(step);
}
