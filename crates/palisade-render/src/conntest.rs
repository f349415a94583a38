//! `palisade test`: results as human text, JUnit XML and JSON.

use crate::check::endpoint_name;
use crate::{Style, to_json};
use palisade_conntest::spec::Expect;
use palisade_conntest::{Check, Status, TestResult};
use palisade_engine::{Query, Reference};
use palisade_model::Model;
use serde::Serialize;
use std::fmt::Write;

/// `palisade test -o` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestOutput {
    /// One line per test, failures explained.
    Human,
    /// JUnit XML, one testcase per test.
    Junit,
    /// JSON.
    Json,
}

fn expect_word(e: Expect) -> &'static str {
    match e {
        Expect::Allow => "allow",
        Expect::Deny => "deny",
    }
}

fn connection(model: &Model, c: &Check) -> String {
    format!(
        "{} -> {} {}/{}",
        endpoint_name(model, &c.src),
        endpoint_name(model, &c.dst),
        c.port,
        c.protocol
    )
}

/// The failure text: what was expected, what was seen, and the engine's explanation with
/// the `file:line` of the deciding rules on both sides.
fn failure_text(
    model: &Model,
    r: &TestResult,
    check: &Check,
    observed: &str,
    failures: usize,
) -> String {
    let explanation = Reference::new(model).explain(&Query {
        src: check.src,
        dst: check.dst,
        protocol: check.protocol,
        port: check.port,
    });
    format!(
        "expected {} for all {} connection(s); {failures} differ, first: {} was {observed}\n{}",
        expect_word(r.test.expect),
        r.checks,
        connection(model, check),
        crate::check::text(model, &explanation, &[], Style { color: false })
    )
}

fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::Failed { .. } => "failed",
        Status::Error(_) => "error",
        Status::Skipped(_) => "skipped",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Serialize)]
struct JsonRun<'a> {
    mode: &'a str,
    passed: usize,
    failed: usize,
    errors: usize,
    skipped: usize,
    tests: Vec<JsonTest>,
}

#[derive(Serialize)]
struct JsonTest {
    name: String,
    file: String,
    line: usize,
    expect: &'static str,
    status: &'static str,
    checks: usize,
    unsupported: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failing: Option<JsonFailing>,
}

#[derive(Serialize)]
struct JsonFailing {
    src: String,
    dst: String,
    protocol: &'static str,
    port: u16,
    observed: String,
    failures: usize,
}

/// Renders the results; `mode` is `static` or `sandbox`.
pub fn render(
    model: &Model,
    results: &[TestResult],
    format: TestOutput,
    mode: &str,
    style: Style,
) -> String {
    let count = |f: fn(&Status) -> bool| results.iter().filter(|r| f(&r.status)).count();
    let passed = count(|s| matches!(s, Status::Passed));
    let failed = count(|s| matches!(s, Status::Failed { .. }));
    let errors = count(|s| matches!(s, Status::Error(_)));
    let skipped = count(|s| matches!(s, Status::Skipped(_)));
    match format {
        TestOutput::Json => to_json(&JsonRun {
            mode,
            passed,
            failed,
            errors,
            skipped,
            tests: results
                .iter()
                .map(|r| JsonTest {
                    name: r.test.name.clone(),
                    file: r.test.file.clone(),
                    line: r.test.line,
                    expect: expect_word(r.test.expect),
                    status: status_word(&r.status),
                    checks: r.checks,
                    unsupported: r.unsupported,
                    message: match &r.status {
                        Status::Failed {
                            check,
                            observed,
                            failures,
                        } => Some(failure_text(model, r, check, observed, *failures)),
                        Status::Error(m) | Status::Skipped(m) => Some(m.clone()),
                        Status::Passed => None,
                    },
                    failing: match &r.status {
                        Status::Failed {
                            check,
                            observed,
                            failures,
                        } => Some(JsonFailing {
                            src: endpoint_name(model, &check.src),
                            dst: endpoint_name(model, &check.dst),
                            protocol: check.protocol.as_str(),
                            port: check.port,
                            observed: observed.clone(),
                            failures: *failures,
                        }),
                        _ => None,
                    },
                })
                .collect(),
        }),
        TestOutput::Junit => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            let _ = writeln!(
                out,
                "<testsuites name=\"palisade test ({mode})\" tests=\"{}\" failures=\"{failed}\" errors=\"{errors}\" skipped=\"{skipped}\">",
                results.len()
            );
            let mut files: Vec<&str> = results.iter().map(|r| r.test.file.as_str()).collect();
            files.dedup();
            for file in files {
                let in_file: Vec<&TestResult> =
                    results.iter().filter(|r| r.test.file == file).collect();
                let n = |f: fn(&Status) -> bool| in_file.iter().filter(|r| f(&r.status)).count();
                let _ = writeln!(
                    out,
                    "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
                    xml_escape(file),
                    in_file.len(),
                    n(|s| matches!(s, Status::Failed { .. })),
                    n(|s| matches!(s, Status::Error(_))),
                    n(|s| matches!(s, Status::Skipped(_)))
                );
                for r in in_file {
                    let _ = write!(
                        out,
                        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                        xml_escape(&r.test.name),
                        xml_escape(file),
                        xml_escape(file),
                        r.test.line
                    );
                    match &r.status {
                        Status::Passed => out.push_str("/>\n"),
                        Status::Failed {
                            check,
                            observed,
                            failures,
                        } => {
                            let text = failure_text(model, r, check, observed, *failures);
                            let _ = writeln!(
                                out,
                                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                                xml_escape(&format!(
                                    "{} was {observed} (expected {})",
                                    connection(model, check),
                                    expect_word(r.test.expect)
                                )),
                                xml_escape(&text)
                            );
                        }
                        Status::Error(m) => {
                            let _ = writeln!(
                                out,
                                ">\n      <error message=\"{}\"/>\n    </testcase>",
                                xml_escape(m)
                            );
                        }
                        Status::Skipped(m) => {
                            let _ = writeln!(
                                out,
                                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                                xml_escape(m)
                            );
                        }
                    }
                }
                out.push_str("  </testsuite>\n");
            }
            out.push_str("</testsuites>\n");
            out
        }
        TestOutput::Human => {
            let mut out = String::new();
            for r in results {
                let head = format!("{}:{}", r.test.file, r.test.line);
                match &r.status {
                    Status::Passed => {
                        let _ = writeln!(
                            out,
                            "{}  {} ({head}, {} connection(s))",
                            style.green("PASS"),
                            r.test.name,
                            r.checks
                        );
                    }
                    Status::Failed {
                        check,
                        observed,
                        failures,
                    } => {
                        let _ = writeln!(out, "{}  {} ({head})", style.red("FAIL"), r.test.name);
                        for line in failure_text(model, r, check, observed, *failures).lines() {
                            let _ = writeln!(out, "      {line}");
                        }
                    }
                    Status::Error(m) => {
                        let _ =
                            writeln!(out, "{}  {} ({head}): {m}", style.red("ERROR"), r.test.name);
                    }
                    Status::Skipped(m) => {
                        let _ = writeln!(out, "SKIP  {} ({head}): {m}", r.test.name);
                    }
                }
            }
            let _ = writeln!(
                out,
                "\n{} test(s) ({mode}): {passed} passed, {failed} failed, {errors} error(s), {skipped} skipped",
                results.len()
            );
            out
        }
    }
}
