//! `palisade connectivity`: every allowed pair in txt, csv, md, dot and JSON.

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

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained drawing: one column per namespace (external ranges in the last column),
/// one box per endpoint, one curved arrow per connection. Ports are in each arrow's tooltip,
/// and written on the arrow when the graph is sparse enough for labels not to collide.
/// Deterministic: the layout depends only on the sorted names.
fn svg(out: &mut String, result: &Connectivity) {
    const BOX_W: usize = 210;
    const BOX_H: usize = 26;
    const ROW: usize = 48;
    const COL: usize = 330;
    const TOP: usize = 60;
    const LEFT: usize = 30;
    let mut columns: Vec<(String, Vec<usize>)> = Vec::new();
    let mut external: Vec<usize> = Vec::new();
    for (i, peer) in result.peers.iter().enumerate() {
        if matches!(peer.what, PeerRef::External(_)) {
            external.push(i);
            continue;
        }
        let ns = peer.name.split('/').next().unwrap_or("").to_string();
        match columns.iter_mut().find(|(n, _)| *n == ns) {
            Some((_, members)) => members.push(i),
            None => columns.push((ns, vec![i])),
        }
    }
    if !external.is_empty() {
        columns.push(("external".to_string(), external));
    }
    let mut position = vec![(0usize, 0usize); result.peers.len()];
    for (c, (_, members)) in columns.iter().enumerate() {
        for (r, &m) in members.iter().enumerate() {
            position[m] = (LEFT + c * COL, TOP + r * ROW);
        }
    }
    let rows = columns.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let width = LEFT * 2 + columns.len().max(1) * COL;
    let height = TOP + rows * ROW + 40;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">"
    );
    out.push_str("  <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n");
    out.push_str("  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    for (c, (ns, _)) in columns.iter().enumerate() {
        let _ = writeln!(
            out,
            "  <text x=\"{}\" y=\"{}\" font-weight=\"bold\" font-size=\"14\">{}</text>",
            LEFT + c * COL,
            TOP - 20,
            xml_escape(ns)
        );
    }
    const MAX_LABELLED: usize = 30;
    let labelled = result.connections.len() <= MAX_LABELLED;
    if !labelled {
        let _ = writeln!(
            out,
            "  <text x=\"{LEFT}\" y=\"{}\" fill=\"#666\">{} connections: hover an arrow for its ports.</text>",
            height - 12,
            result.connections.len()
        );
    }
    // Edges first, so boxes are drawn over them.
    for conn in &result.connections {
        let (sx, sy) = position[conn.src];
        let (dx, dy) = position[conn.dst];
        let (x1, y1) = (sx + BOX_W, sy + BOX_H / 2);
        let (x2, y2) = (dx, dy + BOX_H / 2);
        // Same column, or leftwards: bend out to the right so the arrow stays readable.
        let bend = if x2 > x1 {
            (x2 - x1) / 2
        } else {
            80 + (y1.abs_diff(y2)) / 4
        };
        let label = xml_escape(&conn.ports.to_string());
        let (lx, ly) = (
            (x1 + x2) / 2 + if x2 > x1 { 0 } else { bend / 2 },
            (y1 + y2) / 2,
        );
        let text = if labelled {
            format!(
                "<text x=\"{lx}\" y=\"{ly}\" font-size=\"10\" fill=\"#333\" text-anchor=\"middle\">{label}</text>"
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  <g><title>{} -> {}: {label}</title><path d=\"M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}\" fill=\"none\" stroke=\"#555\" stroke-opacity=\"0.6\" marker-end=\"url(#arrow)\"/>{text}</g>",
            xml_escape(&result.peers[conn.src].name),
            xml_escape(&result.peers[conn.dst].name),
            x1 + bend,
            x2.saturating_sub(if x2 > x1 { bend } else { 40 }),
        );
    }
    for (i, peer) in result.peers.iter().enumerate() {
        let (x, y) = position[i];
        let external = matches!(peer.what, PeerRef::External(_));
        let short = if external {
            peer.name.as_str()
        } else {
            peer.name
                .split_once('/')
                .map_or(peer.name.as_str(), |(_, n)| n)
        };
        let _ = writeln!(
            out,
            "  <g><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"{}\" stroke=\"#333\"{}/><text x=\"{}\" y=\"{}\">{}</text></g>",
            xml_escape(&peer.name),
            if external { "#f4f4f4" } else { "#e8f0fe" },
            if external {
                " stroke-dasharray=\"4 3\""
            } else {
                ""
            },
            x + 8,
            y + 17,
            xml_escape(short)
        );
    }
    out.push_str("</svg>\n");
}
