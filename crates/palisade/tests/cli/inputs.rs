//! Real-world inputs (#16): cluster dumps whose owners are missing, Services, policies of
//! other CNIs, repositories with Helm charts and kustomize overlays, invalid objects in lint.

use crate::support::palisade;
use insta::assert_snapshot;

const DUMP: &str = "crates/palisade/tests/cli/data/realworld/dump.yaml";
const REPO: &str = "crates/palisade/tests/cli/data/repo";
const ONE_INVALID: &str = "crates/palisade/tests/cli/data/lint/one-invalid.yaml";

#[test]
fn lint_report_is_complete_with_one_invalid_object() {
    for format in ["human", "json", "sarif"] {
        let run = palisade(&["lint", ONE_INVALID, "-o", format], None);
        assert_eq!(run.code, 1, "{}", run.snapshot());
        // The invalid object, and the other rules' findings on it and on its neighbours.
        for code in ["NP017", "NP010", "NP003", "NP006"] {
            assert!(run.stdout.contains(code), "{format} lacks {code}");
        }
        assert_snapshot!(format!("lint_one_invalid_{format}"), run.snapshot());
    }
}

#[test]
fn repository_with_chart_overlay_and_tool_files() {
    let run = palisade(&["lint", REPO, "-v", "-o", "concise"], None);
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert_snapshot!(run.snapshot());
}

#[test]
fn keep_going_keeps_every_valid_document_and_exclude_and_palisadeignore_filter() {
    // `generated/` (an allow-all policy) is in the repository's .palisadeignore; `charts/**`
    // is excluded, so its files are not even looked at. The rejected NetworkPolicy and the
    // document with a syntax error are left out; the documents after them are kept (the
    // `worker` and `api` Deployments).
    let run = palisade(
        &[
            "connectivity",
            REPO,
            "--keep-going",
            "--exclude",
            "charts/**",
            "-v",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(!run.stderr.contains("charts/api"), "{}", run.stderr);
    for workload in ["shop/web", "shop/worker", "shop/api"] {
        assert!(run.stdout.contains(workload), "{workload}: {}", run.stdout);
    }
    assert_snapshot!(run.snapshot());
}

#[test]
fn dump_groups_pods_under_missing_owners() {
    let run = palisade(&["connectivity", DUMP, "-o", "json"], None);
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert_snapshot!(run.snapshot());
    let check = palisade(
        &[
            "check", DUMP, "--from", "shop/web", "--to", "shop/api", "--port", "9090",
        ],
        None,
    );
    assert_eq!(check.code, 0, "{}", check.snapshot());
    assert_snapshot!("dump_check_by_workload", check.snapshot());
}

#[test]
fn check_a_service_evaluates_every_backend_on_the_target_port() {
    // ClusterIP:port, and the named targetPort `http` resolved to 8080 on each backend.
    let run = palisade(
        &["check", DUMP, "--from", "shop/db", "--to", "10.96.12.34:80"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(run.stdout.starts_with("ALLOWED"), "{}", run.stdout);
    assert!(run.stdout.contains("8080/TCP"), "{}", run.stdout);
    assert_snapshot!("check_service_cluster_ip", run.stdout);
    // By name, JSON: the Service is named, and the Calico policy selecting `api` makes the
    // verdict uncertain.
    let json = palisade(
        &[
            "check",
            DUMP,
            "--from",
            "shop/web",
            "--to",
            "svc/shop/api",
            "--port",
            "9090",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(json.code, 0, "{}", json.snapshot());
    assert_snapshot!("check_service_by_name_json", json.stdout);
    // A service port that does not exist, and an ExternalName service, are clear errors.
    let wrong_port = palisade(
        &[
            "check", DUMP, "--from", "shop/web", "--to", "svc/web", "--port", "8080",
        ],
        None,
    );
    assert_eq!(wrong_port.code, 2);
    assert!(
        wrong_port
            .stderr
            .contains("has no port 8080/TCP (its ports: 80/TCP)"),
        "{}",
        wrong_port.stderr
    );
    let external = palisade(
        &[
            "check",
            DUMP,
            "--from",
            "shop/web",
            "--to",
            "svc/stripe",
            "--port",
            "443",
        ],
        None,
    );
    assert_eq!(external.code, 2);
}

#[test]
fn unevaluated_policies_make_answers_uncertain_in_every_format() {
    let check = palisade(
        &[
            "check",
            DUMP,
            "--from",
            "shop/web",
            "--to",
            "payments/payments-api",
            "--port",
            "8443",
        ],
        None,
    );
    assert_eq!(check.code, 0);
    assert!(
        check
            .stdout
            .contains("UNCERTAIN: not evaluated by Palisade and may select these pods: CiliumNetworkPolicy payments/payments-l7"),
        "{}",
        check.stdout
    );
    // The warning is shown without -v.
    assert!(
        check
            .stderr
            .contains("warning: CiliumNetworkPolicy `payments/payments-l7` is not evaluated")
    );
    for format in ["txt", "md", "csv"] {
        let run = palisade(&["connectivity", DUMP, "-o", format], None);
        assert_eq!(run.code, 0);
        assert_snapshot!(format!("dump_connectivity_{format}"), run.stdout);
    }
    // A pair no unevaluated policy may touch stays certain.
    let certain = palisade(
        &[
            "check", DUMP, "--from", "shop/db", "--to", "shop/web", "--port", "8080", "-o", "json",
        ],
        None,
    );
    assert!(!certain.stdout.contains("uncertain"), "{}", certain.stdout);
}

#[test]
fn an_address_excluded_by_except_is_explained_as_such() {
    const EXCEPT: &str = "crates/palisade/tests/cli/data/realworld/except.yaml";
    let run = palisade(
        &[
            "check", EXCEPT, "--from", "shop/web", "--to", "10.1.2.3", "--port", "443",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.snapshot());
    assert!(
        run.stdout
            .contains("10.1.2.3 is in ipBlock 0.0.0.0/0 but excluded by except 10.0.0.0/8"),
        "{}",
        run.stdout
    );
    assert_snapshot!(run.stdout);
    // An address outside the cidr still reads "does not contain".
    let json = palisade(
        &[
            "check", EXCEPT, "--from", "shop/web", "--to", "10.1.2.3", "--port", "443", "-o",
            "json",
        ],
        None,
    );
    assert!(
        json.stdout.contains("excluded by except 10.0.0.0/8"),
        "{}",
        json.stdout
    );
}

#[test]
fn audit_and_lint_mark_namespaces_with_unevaluated_policies() {
    for format in ["table", "json"] {
        let run = palisade(&["audit", DUMP, "-o", format], None);
        assert_eq!(run.code, 0, "{}", run.snapshot());
        assert!(
            run.stdout
                .contains("CiliumNetworkPolicy payments/payments-l7")
        );
        assert_snapshot!(format!("dump_audit_{format}"), run.stdout);
    }
    let lint = palisade(&["lint", DUMP, "-o", "json"], None);
    assert_eq!(lint.code, 0, "{}", lint.snapshot());
    assert!(lint.stdout.contains("NP018"));
    assert_snapshot!("dump_lint_json", lint.stdout);
}

#[test]
fn matrix_names_the_uncertain_rows_and_columns() {
    for format in ["table", "json"] {
        let run = palisade(
            &[
                "matrix", DUMP, "--port", "8080", "--level", "workload", "-o", format,
            ],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.snapshot());
        assert!(
            run.stderr
                .contains("the rows and columns of payments/payments-api, shop/api are uncertain"),
            "{}",
            run.stderr
        );
    }
}
