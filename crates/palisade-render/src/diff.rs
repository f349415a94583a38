//! `palisade diff`: the semantic difference of two policy sets in txt, md, csv and JSON.
//!
//! The JSON shape is a public contract:
//! `{"changes": [{"src", "dst", "change", "before", "after", "causes": [{"policy", "file",
//! "line", "what"}]}], "summary": {"added", "removed", "changed"}}`, with `before`/`after`
//! in the notation of `connectivity -o json`. A cause that is an admin policy (`policy`:
//! `cnp/NAME`, `anp/NAME`, `banp/NAME`) adds `kind`, `tier`, `priority` and `rule`
//! (`{direction, index, name, action}`).

use crate::connectivity::{JsonAllowed, JsonPortRange, json_allowed, json_port_ranges};
use crate::{OutputFormat, Style, csv_field, to_json};
use palisade_diff::{Cause, Change, ChangeKind, Diff};
use palisade_model::{Direction, PortSet};
use serde::Serialize;
use std::fmt::Write;

/// Markdown tables stop after this many rows (pull-request comments have a size limit).
pub const MD_MAX_ROWS: usize = 200;

#[derive(Serialize)]
struct JsonDiff<'a> {
    changes: Vec<JsonChange<'a>>,
    summary: JsonSummary,
    /// Every policy added, removed or modified, by name (the human formats name the first
    /// few only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    policy: &'a str,
    what: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    src: &'a str,
    dst: &'a str,
    change: &'static str,
    before: Vec<JsonAllowed>,
    after: Vec<JsonAllowed>,
    /// `before` and `after` as structured ranges (added beside the strings, which stay).
    before_ports: Vec<JsonPortRange>,
    after_ports: Vec<JsonPortRange>,
    causes: Vec<JsonCause<'a>>,
    /// What `src`/`dst` name: `pod`, `workload` (with `*_workload_kind`), `external`.
    src_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_workload_kind: Option<&'static str>,
    dst_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_workload_kind: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonCause<'a> {
    policy: &'a str,
    file: Option<&'a str>,
    line: Option<u32>,
    what: &'static str,
    /// Admin policies only: `ClusterNetworkPolicy`, `AdminNetworkPolicy`,
    /// `BaselineAdminNetworkPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// Admin policies only: `Admin` or `Baseline`.
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<&'static str>,
    /// Admin policies only.
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<u32>,
    /// Admin policies only: the responsible rule, `{direction, index, name, action}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<JsonAdminRule<'a>>,
}

#[derive(Serialize)]
struct JsonAdminRule<'a> {
    direction: &'static str,
    index: usize,
    name: &'a str,
    action: &'static str,
}

fn json_cause(k: &Cause) -> JsonCause<'_> {
    let admin = k.admin.as_ref();
    JsonCause {
        policy: &k.policy,
        file: k.file.as_deref(),
        line: k.line,
        what: k.what.as_str(),
        kind: admin.map(|a| a.kind.as_str()),
        tier: admin.map(|a| a.tier.as_str()),
        priority: admin.map(|a| a.priority),
        rule: admin.and_then(|a| {
            let (direction, index) = k.rule?;
            Some(JsonAdminRule {
                direction: direction_word(direction),
                index,
                name: &a.rule_name,
                action: a.action?.as_str(),
            })
        }),
    }
}

fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

#[derive(Serialize)]
struct JsonSummary {
    added: usize,
    removed: usize,
    changed: usize,
}

fn ports_text(p: &PortSet) -> String {
    if p.is_empty() {
        "-".to_string()
    } else {
        p.to_string()
    }
}

/// `ingress rule 1`; for an admin policy also its tier, priority, the rule's name and
/// action: `Admin tier, priority 10, egress rule 0 "metadata" Deny`.
fn rule_text(cause: &Cause) -> Option<String> {
    let rule = cause
        .rule
        .map(|(direction, i)| format!("{} rule {i}", direction_word(direction)));
    let Some(admin) = &cause.admin else {
        return rule;
    };
    let mut s = format!("{} tier, priority {}", admin.tier.as_str(), admin.priority);
    if let Some(rule) = rule {
        let _ = write!(s, ", {rule}");
        if !admin.rule_name.is_empty() {
            let _ = write!(s, " \"{}\"", admin.rule_name);
        }
        if let Some(action) = admin.action {
            let _ = write!(s, " {}", action.as_str());
        }
    }
    Some(s)
}

fn location(cause_file: Option<&str>, line: Option<u32>) -> Option<String> {
    match (cause_file, line) {
        (Some(f), Some(l)) => Some(format!("{f}:{l}")),
        (Some(f), None) => Some(f.to_string()),
        _ => None,
    }
}

/// One cause in words: `payments/payments-api modified (ingress rule 1) at file:line`.
pub fn cause_text(cause: &Cause) -> String {
    let mut s = format!("{} {}", cause.policy, cause.what.as_str());
    if let Some(rule) = rule_text(cause) {
        let _ = write!(s, " ({rule})");
    }
    if let Some(loc) = location(cause.file.as_deref(), cause.line) {
        let _ = write!(s, " at {loc}");
    }
    s
}

/// What a change did to the ports, in words: `TCP 8080`, or `TCP 80 => TCP 80,443 (+TCP 443)`.
pub fn change_ports_text(c: &Change) -> String {
    match c.change {
        ChangeKind::Added => c.after.to_string(),
        ChangeKind::Removed => c.before.to_string(),
        ChangeKind::Changed => {
            let mut delta = Vec::new();
            let gained = c.gained();
            let lost = c.lost();
            if !gained.is_empty() {
                delta.push(format!("+{gained}"));
            }
            if !lost.is_empty() {
                delta.push(format!("-{lost}"));
            }
            format!("{} => {} ({})", c.before, c.after, delta.join(", "))
        }
    }
}

/// Renders a diff in a format (`Text`, `Md`, `Csv` or `Json`).
pub fn render(diff: &Diff, format: OutputFormat, style: Style) -> String {
    match format {
        OutputFormat::Json => json(diff),
        OutputFormat::Csv => csv(diff),
        OutputFormat::Md => md(diff),
        _ => text(diff, style),
    }
}

/// The public JSON document.
pub fn json(diff: &Diff) -> String {
    let s = diff.summary();
    to_json(&JsonDiff {
        changes: diff
            .changes
            .iter()
            .map(|c| JsonChange {
                src: &c.src,
                dst: &c.dst,
                change: c.change.as_str(),
                before: json_allowed(&c.before),
                after: json_allowed(&c.after),
                before_ports: json_port_ranges(&c.before),
                after_ports: json_port_ranges(&c.after),
                causes: c.causes.iter().map(json_cause).collect(),
                src_kind: c.src_kind.as_str(),
                src_workload_kind: c.src_kind.workload_kind(),
                dst_kind: c.dst_kind.as_str(),
                dst_workload_kind: c.dst_kind.workload_kind(),
            })
            .collect(),
        summary: JsonSummary {
            added: s.added,
            removed: s.removed,
            changed: s.changed,
        },
        edits: diff
            .edits
            .iter()
            .map(|e| JsonEdit {
                policy: &e.policy,
                what: e.what.as_str(),
                file: e.file.as_deref(),
                line: e.line,
            })
            .collect(),
    })
}

/// CSV: `change,src,dst,before,after,causes` (causes joined with `; `).
pub fn csv(diff: &Diff) -> String {
    let mut out = String::from("change,src,dst,before,after,causes\n");
    for c in &diff.changes {
        let causes: Vec<String> = c.causes.iter().map(cause_text).collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            c.change.as_str(),
            csv_field(&c.src),
            csv_field(&c.dst),
            csv_field(&ports_text(&c.before)),
            csv_field(&ports_text(&c.after)),
            csv_field(&causes.join("; "))
        );
    }
    out
}

/// Policy edits named in the human formats (text, Markdown); JSON lists them all.
/// Regenerating a namespace's policies can edit thousands, which one line cannot show.
const EDITS_SHOWN: usize = 20;

/// `items` joined with `, `, the first [`EDITS_SHOWN`] only, then how many more.
fn capped(items: impl ExactSizeIterator<Item = String>) -> String {
    let total = items.len();
    let mut line: Vec<String> = items.take(EDITS_SHOWN).collect();
    if total > EDITS_SHOWN {
        line.push(format!(
            "and {} more (`-o json` lists them all)",
            total - EDITS_SHOWN
        ));
    }
    line.join(", ")
}

fn edits_line(diff: &Diff) -> String {
    capped(
        diff.edits
            .iter()
            .map(|e| format!("{} {}", e.policy, e.what.as_str())),
    )
}

/// Markdown for a pull-request comment: a heading, a summary line and a table.
pub fn md(diff: &Diff) -> String {
    let mut out = String::from("### Palisade: connectivity diff\n\n");
    let s = diff.summary();
    if diff.is_equivalent() {
        let _ = writeln!(out, "**No connectivity change** ({}).", diff.headline());
    } else {
        let _ = writeln!(
            out,
            "**{} added, {} removed, {} changed** connection{} ({} level).",
            s.added,
            s.removed,
            s.changed,
            if diff.changes.len() == 1 { "" } else { "s" },
            level_name(diff)
        );
    }
    if !diff.edits.is_empty() {
        let edited = capped(diff.edits.iter().map(|e| {
            let loc = location(e.file.as_deref(), e.line)
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            format!("`{}` {}{loc}", e.policy, e.what.as_str())
        }));
        let _ = writeln!(out, "\nPolicies edited: {edited}.");
    }
    for (title, list) in [("Appear", &diff.appeared), ("Disappear", &diff.disappeared)] {
        if !list.is_empty() {
            let names: Vec<String> = list.iter().map(|n| format!("`{n}`")).collect();
            let _ = writeln!(out, "\n{title}: {}.", names.join(", "));
        }
    }
    if diff.changes.is_empty() {
        return out;
    }
    out.push_str("\n| change | source | destination | before | after | caused by |\n|---|---|---|---|---|---|\n");
    for c in diff.changes.iter().take(MD_MAX_ROWS) {
        let mark = match c.change {
            ChangeKind::Added => "🟢 added",
            ChangeKind::Removed => "🔴 removed",
            ChangeKind::Changed => "🟡 changed",
        };
        let causes: Vec<String> = c
            .causes
            .iter()
            .map(|k| {
                let mut s = format!("`{}` {}", k.policy, k.what.as_str());
                if let Some(rule) = rule_text(k) {
                    let _ = write!(s, ", {rule}");
                }
                if let Some(loc) = location(k.file.as_deref(), k.line) {
                    let _ = write!(s, " (`{loc}`)");
                }
                s
            })
            .collect();
        let _ = writeln!(
            out,
            "| {mark} | `{}` | `{}` | {} | {} | {} |",
            c.src,
            c.dst,
            ports_text(&c.before),
            ports_text(&c.after),
            if causes.is_empty() {
                "workloads or labels".to_string()
            } else {
                causes.join("<br>")
            }
        );
    }
    if diff.changes.len() > MD_MAX_ROWS {
        let _ = writeln!(
            out,
            "\n… and {} more (run `palisade diff -o csv` for all).",
            diff.changes.len() - MD_MAX_ROWS
        );
    }
    out
}

fn level_name(diff: &Diff) -> &'static str {
    match diff.level {
        palisade_engine::connectivity::Level::Pod => "pod",
        palisade_engine::connectivity::Level::Workload => "workload",
    }
}

/// Grouped, readable text: added, removed, changed, each change with its causes.
pub fn text(diff: &Diff, style: Style) -> String {
    let mut out = String::new();
    if diff.is_equivalent() {
        let _ = writeln!(out, "{}", style.green(&diff.headline()));
        if !diff.edits.is_empty() {
            let _ = writeln!(out, "  edited: {}", edits_line(diff));
        }
        return out;
    }
    let _ = writeln!(out, "{}", style.bold(&diff.headline()));
    for (title, list) in [
        ("appear (new side only)", &diff.appeared),
        ("disappear (old side only)", &diff.disappeared),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "\n{} {title}:", list.len());
            for name in list.iter() {
                let _ = writeln!(out, "  {name}");
            }
        }
    }
    for (kind, title, mark) in [
        (ChangeKind::Added, "added", "+"),
        (ChangeKind::Removed, "removed", "-"),
        (ChangeKind::Changed, "changed", "~"),
    ] {
        let list: Vec<&Change> = diff.changes.iter().filter(|c| c.change == kind).collect();
        if list.is_empty() {
            continue;
        }
        let heading = format!("{title} ({}):", list.len());
        let heading = match kind {
            ChangeKind::Added => style.green(&heading),
            ChangeKind::Removed => style.red(&heading),
            ChangeKind::Changed => style.yellow(&heading),
        };
        let _ = writeln!(out, "\n{heading}");
        for c in list {
            let _ = writeln!(
                out,
                "  {mark} {} -> {}  {}",
                c.src,
                c.dst,
                change_ports_text(c)
            );
            if c.causes.is_empty() {
                let _ = writeln!(
                    out,
                    "      {}",
                    style.dim("no policy edit selects these endpoints: workloads, labels or named ports changed")
                );
            }
            for cause in &c.causes {
                let _ = writeln!(out, "      caused by {}", cause_text(cause));
            }
        }
    }
    out
}

/// One edit's changes grouped per peer: changes between the same cluster endpoint and
/// external address fragments, in the same direction, of the same kind, with the same ports
/// before and after and the same causes, become one change whose external end is the
/// canonical CIDR list of the fragments (`0.0.0.0/0, ::/0`). Exact: nothing else is merged.
/// The first change of each group keeps its place.
pub fn group_external(diff: &mut Diff) {
    use crate::connectivity::{cidr_list, external_nets};
    use palisade_model::EndpointKind;
    let mut grouped: Vec<(Change, Option<Vec<ipnet::IpNet>>, bool)> = Vec::new();
    for c in std::mem::take(&mut diff.changes) {
        let (ext_name, ext_is_src) = match (c.src_kind, c.dst_kind) {
            (EndpointKind::External, k) if k != EndpointKind::External => (&c.src, true),
            (k, EndpointKind::External) if k != EndpointKind::External => (&c.dst, false),
            _ => {
                grouped.push((c, None, false));
                continue;
            }
        };
        let Some(nets) = external_nets(ext_name) else {
            grouped.push((c, None, false));
            continue;
        };
        let same = grouped.iter_mut().find(|(g, nets, g_ext_is_src)| {
            nets.is_some()
                && *g_ext_is_src == ext_is_src
                && g.change == c.change
                && g.before == c.before
                && g.after == c.after
                && g.causes == c.causes
                && if ext_is_src {
                    g.dst == c.dst && g.dst_kind == c.dst_kind
                } else {
                    g.src == c.src && g.src_kind == c.src_kind
                }
        });
        match same {
            Some((_, Some(group), _)) => group.extend(nets),
            _ => grouped.push((c, Some(nets), ext_is_src)),
        }
    }
    diff.changes = grouped
        .into_iter()
        .map(|(mut c, nets, ext_is_src)| {
            if let Some(nets) = nets {
                let name = cidr_list(&nets);
                if ext_is_src {
                    c.src = name;
                } else {
                    c.dst = name;
                }
            }
            c
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_diff::{PolicyEdit, What};

    fn with_edits(n: usize) -> Diff {
        Diff {
            level: palisade_engine::connectivity::Level::Workload,
            changes: Vec::new(),
            appeared: Vec::new(),
            disappeared: Vec::new(),
            edits: (0..n)
                .map(|i| PolicyEdit {
                    policy: format!("ns/p{i:04}"),
                    what: What::Removed,
                    file: None,
                    line: None,
                })
                .collect(),
            incremental: false,
        }
    }

    #[test]
    fn human_formats_name_at_most_twenty_edits() {
        let few = text(&with_edits(EDITS_SHOWN), Style::PLAIN);
        assert!(few.contains("ns/p0019 removed\n"), "{few}");
        assert!(!few.contains("more"), "{few}");
        let many = text(&with_edits(1537), Style::PLAIN);
        assert!(
            many.contains("ns/p0019 removed, and 1517 more (`-o json` lists them all)\n"),
            "{many}"
        );
        assert!(!many.contains("ns/p0020"), "{many}");
        let md = md(&with_edits(1537));
        assert!(md.contains("`ns/p0019` removed, and 1517 more"), "{md}");
        assert!(!md.contains("ns/p0020"), "{md}");
        // The machine formats keep every edit.
        assert!(json(&with_edits(1537)).contains("ns/p1536"));
    }
}
