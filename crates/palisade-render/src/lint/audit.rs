//! `palisade audit` in table, JSON and Markdown.

use palisade_lint::audit::Audit;
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct Report<'a> {
    namespaces: Vec<Entry<'a>>,
    namespaces_without_policy: Vec<&'a str>,
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
    out
}
