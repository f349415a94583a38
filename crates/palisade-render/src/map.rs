//! `palisade map`: the traffic map in txt, json, dot, mermaid and svg.
//!
//! The JSON shape is a contract (the web UI reads it):
//! `{"nodes": [{"id", "kind", "namespace", "workload_kind", "labels"}], "edges": [{"src", "dst",
//! "protocol", "port", "port_name"?, "sessions", "observed", "predicted", "decided_by", "first",
//! "last"}]}`; fields may be added, never renamed or dropped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use palisade_discover::{Edge, Map, NodeKind};
use palisade_model::Labels;
use palisade_replay::Predicted;
use serde::Serialize;

use crate::graph::{self, GraphEdge, GraphNode};
use crate::replay::{JsonDecision, json_decisions, time};
use crate::{OutputFormat, to_json};

/// The formats `map` supports.
pub const FORMATS: [OutputFormat; 5] = [
    OutputFormat::Text,
    OutputFormat::Json,
    OutputFormat::Dot,
    OutputFormat::Mermaid,
    OutputFormat::Svg,
];

#[derive(Serialize)]
struct JsonNode<'a> {
    id: &'a str,
    kind: &'static str,
    namespace: Option<&'a str>,
    workload_kind: Option<&'static str>,
    labels: &'a Labels,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    networks: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    host_network: bool,
}

#[derive(Serialize)]
struct JsonObserved {
    accepted: u64,
    refused: u64,
    #[serde(rename = "timed-out")]
    timed_out: u64,
    unknown: u64,
}

#[derive(Serialize)]
struct JsonPredictedCounts {
    accepted: u64,
    refused: u64,
    #[serde(rename = "timed-out")]
    timed_out: u64,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    src: &'a str,
    dst: &'a str,
    protocol: &'static str,
    port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_name: Option<&'a str>,
    sessions: u64,
    observed: JsonObserved,
    predicted: &'static str,
    /// Present when sessions of the edge were predicted differently.
    #[serde(skip_serializing_if = "Option::is_none")]
    predicted_sessions: Option<JsonPredictedCounts>,
    decided_by: Vec<JsonDecision<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proposed: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proposed_decided_by: Option<Vec<JsonDecision<'a>>>,
    mismatches: u64,
    first: String,
    last: String,
}

#[derive(Serialize)]
struct JsonMap<'a> {
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge<'a>>,
}

fn counts3(c: &[u64; 3]) -> JsonPredictedCounts {
    JsonPredictedCounts {
        accepted: c[0],
        refused: c[1],
        timed_out: c[2],
    }
}

/// The map as JSON (the public shape).
pub fn json(map: &Map) -> String {
    let nodes = map
        .nodes
        .iter()
        .map(|n| JsonNode {
            id: &n.id,
            kind: n.kind.as_str(),
            namespace: n.namespace.as_deref(),
            workload_kind: n.workload_kind,
            labels: &n.labels,
            networks: n.networks.iter().map(ToString::to_string).collect(),
            host_network: n.host_network,
        })
        .collect();
    let edges = map
        .edges
        .iter()
        .map(|e| JsonEdge {
            src: &map.nodes[e.src].id,
            dst: &map.nodes[e.dst].id,
            protocol: e.protocol.as_str(),
            port: e.port,
            port_name: e.port_name.as_deref(),
            sessions: e.sessions,
            observed: JsonObserved {
                accepted: e.observed[0],
                refused: e.observed[1],
                timed_out: e.observed[2],
                unknown: e.observed[3],
            },
            predicted: e.predicted().as_str(),
            predicted_sessions: e.predicted_mixed().then(|| counts3(&e.predicted)),
            decided_by: json_decisions(&e.decided_by),
            proposed: e.proposed_outcome().map(Predicted::as_str),
            proposed_decided_by: e.proposed_decided_by.as_deref().map(json_decisions),
            mismatches: e.mismatches,
            first: time(e.first_ns),
            last: time(e.last_ns),
        })
        .collect();
    to_json(&JsonMap { nodes, edges })
}

fn port_text(e: &Edge) -> String {
    match &e.port_name {
        Some(n) => format!(":{}/{} ({n})", e.port, e.protocol),
        None => format!(":{}/{}", e.port, e.protocol),
    }
}

fn observed_text(e: &Edge) -> String {
    let names = ["accepted", "refused", "timed-out", "unknown"];
    let parts: Vec<String> = e
        .observed
        .iter()
        .zip(names)
        .filter(|(n, _)| **n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
    parts.join(", ")
}

fn predicted_text(e: &Edge) -> String {
    let mut s = e.predicted().as_str().to_string();
    if e.predicted_mixed() {
        s.push_str(" (mixed)");
    }
    if let Some(p) = e.proposed_outcome() {
        let _ = write!(s, " → proposed {}", p.as_str());
    }
    s
}

fn group_of(map: &Map, node: usize) -> String {
    let n = &map.nodes[node];
    match n.kind {
        NodeKind::Workload | NodeKind::Namespace => n.namespace.clone().unwrap_or_default(),
        NodeKind::Unknown => "(unmapped cluster addresses)".to_string(),
        NodeKind::External => "(external)".to_string(),
    }
}

/// The map as a table grouped by the source's namespace.
pub fn text(map: &Map) -> String {
    let mut out = String::new();
    let sessions: u64 = map.edges.iter().map(|e| e.sessions).sum();
    let _ = writeln!(
        out,
        "Traffic map: {} nodes, {} edges, {} sessions",
        map.nodes.len(),
        map.edges.len(),
        sessions
    );
    let mut groups: BTreeMap<(u8, String), Vec<usize>> = BTreeMap::new();
    for (i, e) in map.edges.iter().enumerate() {
        let rank = match map.nodes[e.src].kind {
            NodeKind::Workload | NodeKind::Namespace => 0,
            NodeKind::Unknown => 1,
            NodeKind::External => 2,
        };
        groups
            .entry((rank, group_of(map, e.src)))
            .or_default()
            .push(i);
    }
    let rows: Vec<[String; 5]> = map
        .edges
        .iter()
        .map(|e| {
            [
                format!(
                    "{} → {} {}",
                    map.nodes[e.src].id,
                    map.nodes[e.dst].id,
                    port_text(e)
                ),
                e.sessions.to_string(),
                observed_text(e),
                predicted_text(e),
                format!("{} .. {}", time(e.first_ns), time(e.last_ns)),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2, w3) = (
        width(0).max(4),
        width(1).max(8),
        width(2).max(8),
        width(3).max(9),
    );
    for ((_, group), edges) in &groups {
        let _ = writeln!(out, "\n{group}");
        let _ = writeln!(
            out,
            "  {:<w0$}  {:>w1$}  {:<w2$}  {:<w3$}  seen",
            "edge", "sessions", "observed", "predicted"
        );
        for &i in edges {
            let r = &rows[i];
            let line = format!(
                "  {:<w0$}  {:>w1$}  {:<w2$}  {:<w3$}  {}",
                r[0], r[1], r[2], r[3], r[4]
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    out
}

fn edge_label(e: &Edge) -> String {
    let mut s = format!("{}/{}", e.port, e.protocol);
    if let Some(n) = &e.port_name {
        let _ = write!(s, " ({n})");
    }
    let _ = write!(s, " ×{}", e.sessions);
    s
}

fn short(id: &str) -> &str {
    id.split_once('/').map_or(id, |(_, n)| n)
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT: one cluster per namespace, external and unknown peers outside; denied
/// edges red and dashed.
pub fn dot(map: &Map) -> String {
    let mut out = String::from(
        "digraph traffic {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    let mut namespaces: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, n) in map.nodes.iter().enumerate() {
        match n.kind {
            NodeKind::Workload => namespaces
                .entry(n.namespace.as_deref().unwrap_or(""))
                .or_default()
                .push(i),
            NodeKind::Namespace => {
                let _ = writeln!(out, "  \"{}\";", dot_escape(&n.id));
            }
            NodeKind::External => {
                let _ = writeln!(
                    out,
                    "  \"{}\" [shape=ellipse, style=dashed];",
                    dot_escape(&n.id)
                );
            }
            NodeKind::Unknown => {
                let _ = writeln!(
                    out,
                    "  \"{}\" [shape=ellipse, style=dotted, label=\"{} (unmapped)\"];",
                    dot_escape(&n.id),
                    dot_escape(&n.id)
                );
            }
        }
    }
    for (k, (ns, members)) in namespaces.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{k} {{\n    label=\"{}\";",
            dot_escape(ns)
        );
        for &m in members {
            let id = &map.nodes[m].id;
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{}\"];",
                dot_escape(id),
                dot_escape(short(id))
            );
        }
        out.push_str("  }\n");
    }
    for e in &map.edges {
        let style = if e.predicted().allowed() {
            ""
        } else {
            ", color=\"#c62828\", style=dashed"
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"{style}];",
            dot_escape(&map.nodes[e.src].id),
            dot_escape(&map.nodes[e.dst].id),
            dot_escape(&edge_label(e))
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// A Mermaid flowchart: one subgraph per namespace; denied edges dotted.
pub fn mermaid(map: &Map) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut namespaces: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, n) in map.nodes.iter().enumerate() {
        match n.kind {
            NodeKind::Workload => namespaces
                .entry(n.namespace.as_deref().unwrap_or(""))
                .or_default()
                .push(i),
            NodeKind::Namespace => {
                let _ = writeln!(out, "  n{i}[\"{}\"]", mermaid_text(&n.id));
            }
            NodeKind::External => {
                let _ = writeln!(out, "  n{i}([\"{}\"])", mermaid_text(&n.id));
            }
            NodeKind::Unknown => {
                let _ = writeln!(out, "  n{i}{{{{\"{} (unmapped)\"}}}}", mermaid_text(&n.id));
            }
        }
    }
    for (k, (ns, members)) in namespaces.iter().enumerate() {
        let _ = writeln!(out, "  subgraph ns{k}[\"{}\"]", mermaid_text(ns));
        for &m in members {
            let _ = writeln!(
                out,
                "    n{m}[\"{}\"]",
                mermaid_text(short(&map.nodes[m].id))
            );
        }
        out.push_str("  end\n");
    }
    for e in &map.edges {
        let arrow = if e.predicted().allowed() {
            "-->"
        } else {
            "-.->"
        };
        let _ = writeln!(
            out,
            "  n{} {arrow}|\"{}\"| n{}",
            e.src,
            mermaid_text(&edge_label(e)),
            e.dst
        );
    }
    out
}

/// A standalone SVG drawing, in `connectivity -o svg`'s visual language (one drawer):
/// columns per namespace, external and unmapped peers last; denied edges red and dashed.
pub fn svg(map: &Map) -> String {
    let nodes: Vec<GraphNode<'_>> = map
        .nodes
        .iter()
        .map(|n| {
            let cluster = matches!(n.kind, NodeKind::Workload);
            GraphNode {
                name: &n.id,
                short: if cluster { short(&n.id) } else { &n.id },
                column: match n.kind {
                    NodeKind::Workload => n.namespace.as_deref(),
                    NodeKind::Namespace => Some("namespaces"),
                    NodeKind::Unknown => Some("unmapped"),
                    NodeKind::External => None,
                },
                external: !cluster && n.kind != NodeKind::Namespace,
            }
        })
        .collect();
    let edges: Vec<GraphEdge> = map
        .edges
        .iter()
        .map(|e| GraphEdge {
            src: e.src,
            dst: e.dst,
            label: edge_label(e),
            stroke: (!e.predicted().allowed()).then_some(("#c62828", true)),
        })
        .collect();
    let mut out = String::new();
    graph::svg(&mut out, &nodes, &edges, "edges");
    out
}

/// Renders the map in a format of [`FORMATS`].
pub fn render(map: &Map, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => json(map),
        OutputFormat::Dot => dot(map),
        OutputFormat::Mermaid => mermaid(map),
        OutputFormat::Svg => svg(map),
        _ => text(map),
    }
}
