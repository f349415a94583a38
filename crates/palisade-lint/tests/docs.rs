//! `docs/lint.md` is generated from the rule docs; this test fails when it is out of date.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p palisade-lint --test docs`.

use palisade_lint::RULES;
use std::fmt::Write;

fn render() -> String {
    let mut out = String::from(
        "# Lint rules\n\n<!-- Generated from crates/palisade-lint/src/rules/*.rs by \
         `UPDATE_DOCS=1 cargo test -p palisade-lint --test docs`; do not edit. -->\n\n\
         `palisade lint PATHS` checks manifests for NetworkPolicy traps. \
         `palisade lint --explain CODE` prints one rule's documentation.\n\n\
         Exit codes: 0 no finding at or above `--fail-on` (default `error`), 1 findings at or \
         above it, 2 usage or input errors.\n\n\
         Select rules with `--select`/`--ignore` (codes, names, code prefixes such as `NP01`, \
         or `ALL`) or in `palisade.toml`:\n\n```toml\n[lint]\nselect = [\"ALL\"]\nignore = [\"NP011\"]\n\
         fail-on = \"warning\"\n```\n\n`palisade.toml` is the one in the current directory or the nearest parent, \
         searching no higher than the repository root (the first directory with `.git`) or \
         the home directory; `--config FILE` names one. `-v` and the JSON and SARIF reports \
         say which file was used.\n\nSuppress codes on one object (or on everything in a \
         namespace, when set on the Namespace) with the annotation \
         `palisade.dev/ignore: \"NP005,NP012\"` (codes or names; `all` for every code).\n\n\
         Output formats (`-o`): `human` (default; code frames, colours on a terminal), \
         `concise`, `json`, `sarif` (SARIF 2.1.0) and `github` (workflow annotations).\n\n\
         | code | name | severity | status | since |\n|---|---|---|---|---|\n",
    );
    for r in RULES {
        let _ = writeln!(
            out,
            "| [{}](#{}-{}) | `{}` | {} | {} | {} |",
            r.code,
            r.code.to_lowercase(),
            r.name.replace('.', ""),
            r.name,
            r.severity,
            r.status.as_str(),
            r.since
        );
    }
    for r in RULES {
        let _ = write!(out, "\n## {} {}\n\n", r.code, r.name);
        for line in r.doc().lines() {
            if line.starts_with("## ") {
                out.push('#');
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn lint_docs_are_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/lint.md");
    let expected = render();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/lint.md is out of date: run `UPDATE_DOCS=1 cargo test -p palisade-lint --test docs`"
    );
}
