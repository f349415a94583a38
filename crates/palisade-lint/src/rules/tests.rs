//! Golden tests: one fixture per code in `resources/fixtures/`, whose header lists the
//! lines that must be flagged (`# expect: 12, 30`); the human rendering is snapshotted.

use crate::{Settings, lint};
use palisade_load::{Input, LoadOptions, load};
use palisade_render::{Style, diagnostics};

fn fixture(name: &str) -> String {
    let path = format!("{}/resources/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Lints a fixture with one rule selected: (rendered findings, flagged lines).
fn run(code: &str, name: &str) -> (String, Vec<u32>, Vec<u32>) {
    let text = fixture(name);
    let expected: Vec<u32> = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect:"))
        .expect("a `# expect:` header")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let loaded = load(
        &[Input::Text {
            name: name.to_string(),
            text,
        }],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{name}: {:?}", loaded.diagnostics);
    let settings = Settings::resolve(None, &[code.to_string()], &[], None).unwrap();
    let found = lint(&loaded.model, &loaded.findings, &settings);
    let mut rendered = String::new();
    let mut lines = Vec::new();
    for d in &found {
        assert_eq!(d.code, Some(code), "{}", d.message);
        rendered.push_str(&diagnostics::human(d, &loaded.model.sources, Style::PLAIN));
        rendered.push('\n');
        lines.push(loaded.model.sources.line_col(d.span.expect("a span")).0);
    }
    (rendered, lines, expected)
}

macro_rules! golden {
    ($($test:ident: $code:literal;)*) => {$(
        #[test]
        fn $test() {
            let file = concat!($code, ".yaml");
            let (rendered, lines, expected) = run($code, file);
            assert_eq!(lines, expected, "flagged lines of {file}:\n{rendered}");
            assert!(lines.len() >= 2, "{file} needs at least two positive cases");
            insta::assert_snapshot!(concat!($code, "_", $code, ".yaml"), rendered);
        }
    )*};
}

golden! {
    np001: "NP001";
    np002: "NP002";
    np003: "NP003";
    np004: "NP004";
    np005: "NP005";
    np006: "NP006";
    np007: "NP007";
    np008: "NP008";
    np009: "NP009";
    np010: "NP010";
    np011: "NP011";
    np012: "NP012";
    np013: "NP013";
    np014: "NP014";
    np015: "NP015";
    np016: "NP016";
    np019: "NP019";
    np020: "NP020";
    np021: "NP021";
    np022: "NP022";
    np023: "NP023";
    np024: "NP024";
}

/// NP025 is found by the loader (the policy is rejected): it is reported under its own code
/// when enabled, as NP017 when not, and the valid policy of the fixture stays in the model.
#[test]
fn np025_domain_names_without_accept() {
    let name = "NP025.yaml";
    let text = fixture(name);
    let expected: Vec<u32> = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect:"))
        .expect("a `# expect:` header")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let loaded = load(
        &[Input::Text {
            name: name.to_string(),
            text,
        }],
        &LoadOptions::default(),
    );
    let names: Vec<&str> = loaded
        .model
        .admin_policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["allow-by-name"]);
    let settings = |codes: &[&str]| {
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        Settings::resolve(None, &codes, &[], None).unwrap()
    };
    let found = crate::input_errors(&loaded.diagnostics, &settings(&["NP025"]));
    let mut rendered = String::new();
    let mut lines = Vec::new();
    for d in &found {
        assert_eq!(d.code, Some("NP025"), "{}", d.message);
        rendered.push_str(&diagnostics::human(d, &loaded.model.sources, Style::PLAIN));
        rendered.push('\n');
        lines.push(loaded.model.sources.line_col(d.span.expect("a span")).0);
    }
    assert_eq!(lines, expected, "{rendered}");
    insta::assert_snapshot!("NP025_NP025.yaml", rendered);
    let fallback = crate::input_errors(&loaded.diagnostics, &settings(&["NP017"]));
    assert_eq!(fallback.len(), 2);
    assert!(fallback.iter().all(|d| d.code == Some("NP017")));
    assert!(crate::input_errors(&loaded.diagnostics, &settings(&["NP001"])).is_empty());
}

/// The clean fixture produces no diagnostic with every rule enabled.
#[test]
fn clean_fixture_has_no_findings() {
    let text = fixture("clean.yaml");
    let loaded = load(
        &[Input::Text {
            name: "clean.yaml".into(),
            text,
        }],
        &LoadOptions::default(),
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let all: Vec<String> = crate::RULES.iter().map(|r| r.code.to_string()).collect();
    let settings = Settings::resolve(None, &all, &[], None).unwrap();
    let found = lint(&loaded.model, &loaded.findings, &settings);
    let rendered: Vec<String> = found
        .iter()
        .map(|d| diagnostics::human(d, &loaded.model.sources, Style::PLAIN))
        .collect();
    assert!(found.is_empty(), "{}", rendered.join("\n"));
}
