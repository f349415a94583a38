//! `palisade audit` in table, JSON and Markdown.

use crate::connectivity::{JsonAllowed, json_allowed};
use palisade_lint::audit::{Audit, Guardrail};
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct Report<'a> {
    namespaces: Vec<Entry<'a>>,
    namespaces_without_policy: Vec<&'a str>,
    /// Admin rules that deny or pass (absent when the input has no admin policy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    guardrails: Vec<JsonGuardrail<'a>>,
}

#[derive(Serialize)]
struct JsonGuardrail<'a> {
    policy: &'a str,
    kind: &'static str,
    tier: &'static str,
    priority: u32,
    direction: &'static str,
    rule: usize,
    rule_name: &'a str,
    action: &'static str,
    namespaces: &'a [String],
    workloads: &'a [String],
    overrides: Vec<JsonOverride<'a>>,
    overrides_total: usize,
    /// False for rules that cannot override (Pass, Baseline) and past the size budget.
    overrides_checked: bool,
}

#[derive(Serialize)]
struct JsonOverride<'a> {
    subject: &'a str,
    peer: &'a str,
    ports: Vec<JsonAllowed>,
    allowed_by: &'a [String],
}

fn direction_word(g: &Guardrail) -> &'static str {
    match g.direction {
        palisade_model::Direction::Ingress => "ingress",
        palisade_model::Direction::Egress => "egress",
    }
}

fn json_guardrail(g: &Guardrail) -> JsonGuardrail<'_> {
    JsonGuardrail {
        policy: &g.policy,
        kind: g.kind,
        tier: g.tier,
        priority: g.priority,
        direction: direction_word(g),
        rule: g.rule,
        rule_name: &g.rule_name,
        action: g.action,
        namespaces: &g.namespaces,
        workloads: &g.workloads,
        overrides: g
            .overrides
            .iter()
            .map(|o| JsonOverride {
                subject: &o.subject,
                peer: &o.peer,
                ports: json_allowed(&o.ports),
                allowed_by: &o.allowed_by,
            })
            .collect(),
        overrides_total: g.overrides_total,
        overrides_checked: g.overrides_checked,
    }
}

/// `cnp/deny-metadata (Admin, priority 10) egress rule 0 "cloud-metadata" Deny`.
fn guardrail_title(g: &Guardrail) -> String {
    let mut s = format!(
        "{} ({}, priority {}) {} rule {}",
        g.policy,
        g.tier,
        g.priority,
        direction_word(g),
        g.rule
    );
    if !g.rule_name.is_empty() {
        let _ = write!(s, " \"{}\"", g.rule_name);
    }
    let _ = write!(s, " {}", g.action);
    s
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The guardrails section of the text and Markdown reports.
fn guardrails_text(audit: &Audit, bullet: &str, indent: &str) -> String {
    let mut out = String::new();
    if audit.guardrails.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "guardrails (admin rules that deny or pass; the lines above describe NetworkPolicy alone):"
    );
    for g in &audit.guardrails {
        let _ = writeln!(
            out,
            "{bullet}{}: covers {} ({}), {}",
            guardrail_title(g),
            count(g.namespaces.len(), "namespace"),
            g.namespaces.join(", "),
            count(g.workloads.len(), "workload"),
        );
        for o in &g.overrides {
            let _ = writeln!(
                out,
                "{indent}overrides {} {} {} {} allowed by {}",
                o.subject,
                if g.direction == palisade_model::Direction::Egress {
                    "->"
                } else {
                    "<-"
                },
                o.peer,
                o.ports,
                o.allowed_by.join(", ")
            );
        }
        if !g.overrides_checked && g.tier == "Admin" && g.action == "Deny" {
            let _ = writeln!(
                out,
                "{indent}overrides not computed: too many subject pods × peers for this report"
            );
        }
        if g.overrides_total > g.overrides.len() {
            let _ = writeln!(
                out,
                "{indent}... and {} more overrides",
                g.overrides_total - g.overrides.len()
            );
        }
    }
    out
}

#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    policies: &'a [String],
    workloads: usize,
    ingress_isolated: &'a [String],
    egress_isolated: &'a [String],
    open_to_cluster: &'a [String],
    open_to_world: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    uncertain: &'a [String],
}

/// The JSON report.
pub fn json(audit: &Audit) -> String {
    crate::to_json(&Report {
        namespaces: audit
            .namespaces
            .iter()
            .map(|n| Entry {
                name: &n.name,
                policies: &n.policies,
                workloads: n.workloads.len(),
                ingress_isolated: &n.ingress_isolated,
                egress_isolated: &n.egress_isolated,
                open_to_cluster: &n.open_to_cluster,
                open_to_world: &n.open_to_world,
                uncertain: &n.uncertain,
            })
            .collect(),
        namespaces_without_policy: audit.without_policy(),
        guardrails: audit.guardrails.iter().map(json_guardrail).collect(),
    })
}

const HEADER: [&str; 7] = [
    "NAMESPACE",
    "POLICIES",
    "WORKLOADS",
    "INGRESS-ISOLATED",
    "EGRESS-ISOLATED",
    "OPEN-TO-CLUSTER",
    "OPEN-TO-WORLD",
];

fn rows(audit: &Audit) -> Vec<[String; 7]> {
    audit
        .namespaces
        .iter()
        .map(|n| {
            let w = n.workloads.len();
            [
                n.name.clone(),
                n.policies.len().to_string(),
                w.to_string(),
                format!("{}/{w}", n.ingress_isolated.len()),
                format!("{}/{w}", n.egress_isolated.len()),
                n.open_to_cluster.len().to_string(),
                n.open_to_world.len().to_string(),
            ]
        })
        .collect()
}

fn details(audit: &Audit, bullet: &str) -> String {
    let mut out = String::new();
    for n in &audit.namespaces {
        for (what, list) in [
            ("open to the cluster", &n.open_to_cluster),
            ("open to the world", &n.open_to_world),
        ] {
            if !list.is_empty() {
                let _ = writeln!(out, "{bullet}{}: {what}: {}", n.name, list.join(", "));
            }
        }
        if !n.uncertain.is_empty() {
            let _ = writeln!(
                out,
                "{bullet}{}: UNCERTAIN: not evaluated by Palisade and may select its pods: {} \
                 (the lines above describe NetworkPolicy alone)",
                n.name,
                n.uncertain.join(", ")
            );
        }
    }
    let without = audit.without_policy();
    if !without.is_empty() {
        let _ = writeln!(
            out,
            "{bullet}namespaces without any NetworkPolicy: {}",
            without.join(", ")
        );
    }
    out
}

/// An aligned text table, then the open workloads and unprotected namespaces.
pub fn table(audit: &Audit) -> String {
    let rows = rows(audit);
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    out.push_str(&line(HEADER.to_vec()));
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    let d = details(audit, "");
    if !d.is_empty() {
        out.push('\n');
        out.push_str(&d);
    }
    let g = guardrails_text(audit, "  ", "      ");
    if !g.is_empty() {
        out.push('\n');
        out.push_str(&g);
    }
    out
}

/// A Markdown table and bullet list.
pub fn md(audit: &Audit) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", HEADER.join(" | ").to_lowercase());
    let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
    for row in rows(audit) {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    let d = details(audit, "- ");
    if !d.is_empty() {
        out.push('\n');
        out.push_str(&d);
    }
    let g = guardrails_text(audit, "- ", "  - ");
    if !g.is_empty() {
        out.push('\n');
        out.push_str(&g);
    }
    out
}
