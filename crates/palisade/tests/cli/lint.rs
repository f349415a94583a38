//! `palisade lint` and `palisade audit` end to end.

use crate::support::palisade;
use insta::assert_snapshot;

const SHOP: &str = "examples/webshop";
const FIXTURES: &str = "crates/palisade-lint/resources/fixtures";

#[test]
fn lint_example_app_human() {
    let run = palisade(&["lint", SHOP], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_snapshot!(run.snapshot());
}

#[test]
fn lint_example_app_json() {
    let run = palisade(&["lint", SHOP, "-o", "json"], None);
    assert_eq!(run.code, 0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let first = &v["diagnostics"][0];
    for key in [
        "code", "severity", "file", "line", "column", "message", "help",
    ] {
        assert!(first.get(key).is_some(), "{key}");
    }
    assert_snapshot!(run.snapshot());
}

#[test]
fn lint_github_annotations() {
    let run = palisade(
        &["lint", SHOP, "-o", "github", "--select", "NP003,NP012"],
        None,
    );
    assert_eq!(run.code, 0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn lint_sarif_is_sarif() {
    let run = palisade(&["lint", SHOP, "-o", "sarif"], None);
    assert_eq!(run.code, 0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "NP003"));
}

#[test]
fn fail_on_select_and_ignore_set_the_exit_code() {
    let warning = palisade(
        &["lint", SHOP, "--fail-on", "warning", "-o", "concise"],
        None,
    );
    assert_eq!(warning.code, 1);
    let only = palisade(&["lint", SHOP, "--select", "NP003", "-o", "concise"], None);
    assert_snapshot!(only.snapshot());
    let none = palisade(
        &[
            "lint",
            SHOP,
            "--ignore",
            "NP003,NP005,NP011,NP012",
            "--fail-on",
            "info",
            "-o",
            "concise",
        ],
        None,
    );
    assert_eq!(none.code, 0, "{}", none.stdout);
    let errors = palisade(
        &[
            "lint",
            &format!("{FIXTURES}/NP001.yaml"),
            "-o",
            "concise",
            "--select",
            "NP001",
        ],
        None,
    );
    assert_eq!(errors.code, 1);
    assert_snapshot!(errors.snapshot());
}

#[test]
fn config_file_is_read() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("palisade.toml");
    std::fs::write(
        &config,
        "[lint]\nselect = [\"NP003\"]\nfail-on = \"warning\"\n",
    )
    .unwrap();
    let run = palisade(
        &[
            "lint",
            SHOP,
            "-o",
            "concise",
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("NP003") && !run.stdout.contains("NP005"),
        "{}",
        run.stdout
    );
    std::fs::write(&config, "[lint]\nselct = []\n").unwrap();
    let bad = palisade(&["lint", SHOP, "--config", config.to_str().unwrap()], None);
    assert_eq!(bad.code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn input_errors_exit_2() {
    let manifest = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec:\n  podSelector: []\n";
    // An input error is a finding (NP017, error): exit 1 like any error finding, and exit 2
    // (input error) only when NP017 is ignored.
    let run = palisade(&["lint", "-", "-o", "concise"], Some(manifest));
    assert_eq!(run.code, 1, "{}", run.snapshot());
    assert!(run.stdout.contains("NP017"), "{}", run.stdout);
    let ignored = palisade(
        &["lint", "-", "-o", "concise", "--ignore", "NP017"],
        Some(manifest),
    );
    assert_eq!(ignored.code, 2, "{}", ignored.snapshot());
    assert!(
        ignored.stderr.contains("expected a mapping"),
        "{}",
        ignored.stderr
    );
    let unknown = palisade(&["lint", SHOP, "--select", "NP999"], None);
    assert_eq!(unknown.code, 2);
    assert_snapshot!(unknown.snapshot());
}

#[test]
fn explain_and_list_rules() {
    let explain = palisade(&["lint", "--explain", "NP003"], None);
    assert_eq!(explain.code, 0);
    assert_snapshot!(explain.snapshot());
    let by_name = palisade(&["lint", "--explain", "peer-selects-nothing"], None);
    assert_eq!(by_name.stdout, explain.stdout);
    let list = palisade(&["lint", "--list-rules"], None);
    assert_snapshot!(list.snapshot());
}

#[test]
fn audit_formats() {
    for format in ["table", "json", "md"] {
        let run = palisade(&["audit", SHOP, "-o", format], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_snapshot!(format!("audit_{format}"), run.snapshot());
    }
}

#[test]
fn demo_shows_the_lint_step() {
    let run = palisade(&["demo", "--color", "never"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("The linter would have caught it"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("warning[NP003]"));
    assert!(run.stdout.contains("did you mean app=checkout?"));
}

/// The tier rules NP023–NP025 in SARIF: each finding's rule, level, location and message.
#[test]
fn lint_tier_rules_sarif() {
    let mut results = Vec::new();
    for (code, exit) in [("NP023", 0), ("NP024", 0), ("NP025", 1)] {
        let file = format!("{FIXTURES}/{code}.yaml");
        let run = palisade(&["lint", &file, "--select", code, "-o", "sarif"], None);
        assert_eq!(run.code, exit, "{code}: {}", run.stderr);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        assert!(rules.iter().any(|r| r["id"] == code), "{code} in the rules");
        for r in v["runs"][0]["results"].as_array().unwrap() {
            assert_eq!(r["ruleId"], code);
            let location = &r["locations"][0]["physicalLocation"];
            results.push(format!(
                "{} {} {}:{} {}",
                r["ruleId"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                location["artifactLocation"]["uri"].as_str().unwrap(),
                location["region"]["startLine"],
                r["message"]["text"].as_str().unwrap(),
            ));
        }
    }
    assert_snapshot!(results.join("\n"));
}

/// Guardrails in the audit: what each Deny/Pass rule covers, and the traffic shop's
/// NetworkPolicy allows that an Admin-tier Deny overrides (dev's pods on 8080, the metadata
/// service); the Pass and the baseline Deny override nothing.
#[test]
fn audit_guardrails_formats() {
    let file = "crates/palisade/tests/cli/data/tiers-audit.yaml";
    for format in ["table", "json", "md"] {
        let run = palisade(&["audit", file, "-o", format], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_snapshot!(format!("audit_guardrails_{format}"), run.snapshot());
    }
    let run = palisade(&["audit", file, "-o", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let guardrails = v["guardrails"].as_array().unwrap();
    let overridden: Vec<(&str, &str, &str)> = guardrails
        .iter()
        .flat_map(|g| {
            g["overrides"].as_array().unwrap().iter().map(move |o| {
                (
                    g["rule_name"].as_str().unwrap(),
                    o["subject"].as_str().unwrap(),
                    o["peer"].as_str().unwrap(),
                )
            })
        })
        .collect();
    assert_eq!(
        overridden,
        [
            ("deny-dev", "shop/api", "dev/tool"),
            ("metadata", "shop/api", "169.254.169.254/32")
        ]
    );
    let actions: Vec<&str> = guardrails
        .iter()
        .map(|g| g["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Deny", "Pass", "Deny", "Deny"]);
}
