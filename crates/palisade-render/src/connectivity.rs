//! `palisade connectivity`: every allowed pair in txt, csv, md, dot and JSON.

use crate::{OutputFormat, csv_field, to_json};
use palisade_engine::Uncertainty;
use palisade_engine::connectivity::{Connectivity, PeerRef};
use palisade_model::{Model, PortSet};
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct JsonConnectivity<'a> {
    connections: Vec<JsonConnection<'a>>,
    /// Peers that policies Palisade does not evaluate may select: every pair involving them,
    /// listed or not, is uncertain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    uncertain: Vec<JsonUncertainPeer<'a>>,
}

#[derive(Serialize)]
struct JsonConnection<'a> {
    src: &'a str,
    dst: &'a str,
    allowed: Vec<JsonAllowed>,
    src_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_workload_kind: Option<&'static str>,
    dst_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_workload_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    uncertain: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonUncertainPeer<'a> {
    peer: &'a str,
    policies: &'a [String],
}

/// What the model says about each peer of a result: its kind and the unevaluated policies
/// that may select it (see [`palisade_engine::uncertain`]).
#[derive(Clone, Debug, Default)]
pub struct PeerNotes {
    /// Per peer: `pod`, `workload` or `external`, and the workload's kind.
    pub kinds: Vec<(&'static str, Option<&'static str>)>,
    /// Per peer: names of unevaluated policies that may select it.
    pub uncertain: Vec<Vec<String>>,
}

impl PeerNotes {
    /// The notes of every peer of `result`.
    pub fn new(model: &Model, result: &Connectivity, uncertainty: &Uncertainty) -> Self {
        let mut notes = PeerNotes::default();
        for peer in &result.peers {
            let (kind, uncertain) = match &peer.what {
                PeerRef::Pod(p) => (("pod", None), uncertainty.names(model, [*p])),
                PeerRef::Workload(w) => {
                    let workload = &model.workloads[w.index()];
                    (
                        ("workload", Some(workload.kind.as_str())),
                        uncertainty.names(model, workload.pods.iter().copied()),
                    )
                }
                PeerRef::External(_) => (("external", None), Vec::new()),
            };
            notes.kinds.push(kind);
            notes.uncertain.push(uncertain);
        }
        notes
    }

    fn kind(&self, i: usize) -> (&'static str, Option<&'static str>) {
        self.kinds.get(i).copied().unwrap_or(("external", None))
    }

    fn uncertain_pair(&self, a: usize, b: usize) -> Vec<&str> {
        let side = |i: usize| self.uncertain.get(i).map_or(&[][..], Vec::as_slice);
        let mut names: Vec<&str> = side(a).iter().chain(side(b)).map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
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
    render_with(result, format, &PeerNotes::default())
}

/// [`render`] with peer kinds and uncertainty: JSON rows gain `src_kind`/`dst_kind`
/// (and `*_workload_kind`) and `uncertain`; txt and md rows touching an uncertain peer end in
/// `(uncertain: …)`; csv gains an `uncertain` column when anything is uncertain.
pub fn render_with(result: &Connectivity, format: OutputFormat, notes: &PeerNotes) -> String {
    let name = |i: usize| result.peers[i].name.as_str();
    let any_uncertain = notes.uncertain.iter().any(|u| !u.is_empty());
    let suffix = |a: usize, b: usize| {
        let u = notes.uncertain_pair(a, b);
        if u.is_empty() {
            String::new()
        } else {
            format!(" (uncertain: {})", u.join(", "))
        }
    };
    let mut out = String::new();
    match format {
        OutputFormat::Json => {
            return to_json(&JsonConnectivity {
                connections: result
                    .connections
                    .iter()
                    .map(|c| {
                        let (src_kind, src_workload_kind) = notes.kind(c.src);
                        let (dst_kind, dst_workload_kind) = notes.kind(c.dst);
                        JsonConnection {
                            src: name(c.src),
                            dst: name(c.dst),
                            allowed: json_allowed(&c.ports),
                            src_kind,
                            src_workload_kind,
                            dst_kind,
                            dst_workload_kind,
                            uncertain: notes.uncertain_pair(c.src, c.dst),
                        }
                    })
                    .collect(),
                uncertain: notes
                    .uncertain
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| !u.is_empty())
                    .map(|(i, u)| JsonUncertainPeer {
                        peer: name(i),
                        policies: u,
                    })
                    .collect(),
            });
        }
        OutputFormat::Csv => {
            out.push_str(if any_uncertain {
                "src,dst,allowed,uncertain\n"
            } else {
                "src,dst,allowed\n"
            });
            for c in &result.connections {
                let _ = write!(
                    out,
                    "{},{},{}",
                    csv_field(name(c.src)),
                    csv_field(name(c.dst)),
                    csv_field(&c.ports.to_string())
                );
                if any_uncertain {
                    let _ = write!(
                        out,
                        ",{}",
                        csv_field(&notes.uncertain_pair(c.src, c.dst).join("; "))
                    );
                }
                out.push('\n');
            }
        }
        OutputFormat::Md => {
            out.push_str("| src | dst | allowed |\n|---|---|---|\n");
            for c in &result.connections {
                let _ = writeln!(
                    out,
                    "| {} | {} | {}{} |",
                    name(c.src),
                    name(c.dst),
                    c.ports,
                    suffix(c.src, c.dst)
                );
            }
        }
        OutputFormat::Dot => dot(&mut out, result),
        OutputFormat::Svg => svg(&mut out, result),
        _ => {
            for c in &result.connections {
                let _ = writeln!(
                    out,
                    "{} => {} : {}{}",
                    name(c.src),
                    name(c.dst),
                    c.ports,
                    suffix(c.src, c.dst)
                );
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
