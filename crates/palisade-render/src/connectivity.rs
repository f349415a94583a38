//! `palisade connectivity`: every allowed pair in txt, csv, md, dot and JSON.

use crate::graph::{self, GraphEdge, GraphNode};
use crate::{OutputFormat, csv_field, to_json};
use palisade_engine::connectivity::{Connectivity, PeerRef};
use palisade_model::PortSet;
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct JsonConnectivity<'a> {
    connections: Vec<JsonConnection<'a>>,
}

#[derive(Serialize)]
struct JsonConnection<'a> {
    src: &'a str,
    dst: &'a str,
    allowed: Vec<JsonAllowed>,
}

/// One protocol's ports in the public JSON notation.
#[derive(Serialize)]
pub struct JsonAllowed {
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: &'static str,
    /// `80,8080-8090`; `1-65535` for all.
    pub ports: String,
}

/// A port set in the public JSON notation (shared with diff and replay).
pub fn json_allowed(ports: &PortSet) -> Vec<JsonAllowed> {
    ports
        .iter()
        .map(|(protocol, p)| JsonAllowed {
            protocol: protocol.as_str(),
            ports: p.to_string(),
        })
        .collect()
}

/// Renders connectivity in a format (`Text` is NCA-style `src => dst : ports` lines).
pub fn render(result: &Connectivity, format: OutputFormat) -> String {
    let name = |i: usize| result.peers[i].name.as_str();
    let mut out = String::new();
    match format {
        OutputFormat::Json => {
            return to_json(&JsonConnectivity {
                connections: result
                    .connections
                    .iter()
                    .map(|c| JsonConnection {
                        src: name(c.src),
                        dst: name(c.dst),
                        allowed: json_allowed(&c.ports),
                    })
                    .collect(),
            });
        }
        OutputFormat::Csv => {
            out.push_str("src,dst,allowed\n");
            for c in &result.connections {
                let _ = writeln!(
                    out,
                    "{},{},{}",
                    csv_field(name(c.src)),
                    csv_field(name(c.dst)),
                    csv_field(&c.ports.to_string())
                );
            }
        }
        OutputFormat::Md => {
            out.push_str("| src | dst | allowed |\n|---|---|---|\n");
            for c in &result.connections {
                let _ = writeln!(out, "| {} | {} | {} |", name(c.src), name(c.dst), c.ports);
            }
        }
        OutputFormat::Dot => dot(&mut out, result),
        OutputFormat::Svg => svg(&mut out, result),
        _ => {
            for c in &result.connections {
                let _ = writeln!(out, "{} => {} : {}", name(c.src), name(c.dst), c.ports);
            }
        }
    }
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(out: &mut String, result: &Connectivity) {
    out.push_str("digraph connectivity {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    // One cluster per namespace; external ranges as ellipses outside.
    let mut namespaces: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, peer) in result.peers.iter().enumerate() {
        match &peer.what {
            PeerRef::External(_) => {
                let _ = writeln!(
                    out,
                    "  \"{}\" [shape=ellipse, style=dashed];",
                    dot_escape(&peer.name)
                );
            }
            _ => {
                let ns = peer.name.split('/').next().unwrap_or("");
                match namespaces.iter_mut().find(|(n, _)| *n == ns) {
                    Some((_, members)) => members.push(i),
                    None => namespaces.push((ns, vec![i])),
                }
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
            let peer = &result.peers[m].name;
            let short = peer.split_once('/').map_or(peer.as_str(), |(_, n)| n);
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{}\"];",
                dot_escape(peer),
                dot_escape(short)
            );
        }
        out.push_str("  }\n");
    }
    for c in &result.connections {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            dot_escape(&result.peers[c.src].name),
            dot_escape(&result.peers[c.dst].name),
            dot_escape(&c.ports.to_string())
        );
    }
    out.push_str("}\n");
}

/// The connectivity drawing: one column per namespace, external ranges last (see
/// [`crate::graph::svg`]).
fn svg(out: &mut String, result: &Connectivity) {
    let nodes: Vec<GraphNode<'_>> = result
        .peers
        .iter()
        .map(|peer| {
            let external = matches!(peer.what, PeerRef::External(_));
            GraphNode {
                name: &peer.name,
                short: if external {
                    &peer.name
                } else {
                    peer.name
                        .split_once('/')
                        .map_or(peer.name.as_str(), |(_, n)| n)
                },
                column: if external {
                    None
                } else {
                    Some(peer.name.split('/').next().unwrap_or(""))
                },
                external,
            }
        })
        .collect();
    let edges: Vec<GraphEdge> = result
        .connections
        .iter()
        .map(|c| GraphEdge {
            src: c.src,
            dst: c.dst,
            label: c.ports.to_string(),
            stroke: None,
        })
        .collect();
    graph::svg(out, &nodes, &edges, "connections");
}
