//! `palisade connectivity`: every allowed pair in txt, csv, md, dot and JSON.

use crate::graph::{self, GraphEdge, GraphNode};
use crate::{OutputFormat, csv_field, to_json};
use palisade_engine::Uncertainty;
use palisade_engine::connectivity::{Connectivity, Peer, PeerRef};
use palisade_model::{EndpointKind, Model, PodId, PortSet};
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
        Self::for_peers(model, &result.peers, uncertainty)
    }

    /// The notes of every peer of a list (a [`palisade_engine::connectivity::ConnectivityStream`]'s).
    pub fn for_peers(model: &Model, peers: &[Peer], uncertainty: &Uncertainty) -> Self {
        let mut notes = PeerNotes::default();
        let mut namespace_pods: Vec<Vec<PodId>> = Vec::new();
        if peers
            .iter()
            .any(|p| matches!(p.what, PeerRef::Namespace(_)))
        {
            namespace_pods = vec![Vec::new(); model.namespaces.len()];
            for pod in model.pod_ids() {
                namespace_pods[model.pods[pod.index()].namespace.index()].push(pod);
            }
        }
        for peer in peers {
            let (kind, uncertain) = match &peer.what {
                PeerRef::Pod(p) => (
                    (EndpointKind::Pod.as_str(), None),
                    uncertainty.names(model, [*p]),
                ),
                PeerRef::Workload(w) => {
                    let workload = &model.workloads[w.index()];
                    let kind = model.workload_kind(*w);
                    (
                        (kind.as_str(), kind.workload_kind()),
                        uncertainty.names(model, workload.pods.iter().copied()),
                    )
                }
                PeerRef::Namespace(n) => (
                    ("namespace", None),
                    uncertainty.names(model, namespace_pods[n.index()].iter().copied()),
                ),
                PeerRef::External(_) => ((EndpointKind::External.as_str(), None), Vec::new()),
            };
            notes.kinds.push(kind);
            notes.uncertain.push(uncertain);
        }
        notes
    }

    /// Whether any peer may be selected by a policy Palisade does not evaluate.
    pub fn any_uncertain(&self) -> bool {
        self.uncertain.iter().any(|u| !u.is_empty())
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

/// Writes connections as they are produced, in `txt`, `csv`, `md`, `json` or `jsonl`, byte
/// for byte what [`render_with`] gives for the same rows: the answer is never held.
/// `dot` and `svg` lay out the whole graph and go through [`render_with`].
pub struct ConnectivityWriter<'n, W: std::io::Write> {
    out: W,
    format: OutputFormat,
    notes: &'n PeerNotes,
    any_uncertain: bool,
    rows: u64,
    line: String,
}

impl<'n, W: std::io::Write> ConnectivityWriter<'n, W> {
    /// Whether a format can be streamed.
    pub fn streams(format: OutputFormat) -> bool {
        matches!(
            format,
            OutputFormat::Text
                | OutputFormat::Csv
                | OutputFormat::Md
                | OutputFormat::Json
                | OutputFormat::Jsonl
        )
    }

    /// Starts the output (headers).
    pub fn new(mut out: W, format: OutputFormat, notes: &'n PeerNotes) -> std::io::Result<Self> {
        let any_uncertain = notes.any_uncertain();
        match format {
            OutputFormat::Csv => out.write_all(if any_uncertain {
                b"src,dst,allowed,uncertain\n"
            } else {
                b"src,dst,allowed\n"
            })?,
            OutputFormat::Md => out.write_all(b"| src | dst | allowed |\n|---|---|---|\n")?,
            OutputFormat::Json => out.write_all(b"{\n  \"connections\": [")?,
            _ => {}
        }
        Ok(ConnectivityWriter {
            out,
            format,
            notes,
            any_uncertain,
            rows: 0,
            line: String::new(),
        })
    }

    /// Number of connections written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one connection (`src`, `dst`: indexes into `peers`, which the notes describe).
    pub fn connection(
        &mut self,
        peers: &[Peer],
        src: usize,
        dst: usize,
        ports: &PortSet,
    ) -> std::io::Result<()> {
        let (s, d) = (peers[src].name.as_str(), peers[dst].name.as_str());
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let json_row = || {
            let (src_kind, src_workload_kind) = self.notes.kind(src);
            let (dst_kind, dst_workload_kind) = self.notes.kind(dst);
            JsonConnection {
                src: s,
                dst: d,
                allowed: json_allowed(ports),
                src_kind,
                src_workload_kind,
                dst_kind,
                dst_workload_kind,
                uncertain: self.notes.uncertain_pair(src, dst),
            }
        };
        match self.format {
            OutputFormat::Json => {
                let pretty =
                    serde_json::to_string_pretty(&json_row()).map_err(std::io::Error::other)?;
                line.push_str(if self.rows == 0 { "\n" } else { ",\n" });
                for (i, text) in pretty.lines().enumerate() {
                    if i > 0 {
                        line.push('\n');
                    }
                    line.push_str("    ");
                    line.push_str(text);
                }
            }
            OutputFormat::Jsonl => {
                let compact = serde_json::to_string(&json_row()).map_err(std::io::Error::other)?;
                line.push_str(&compact);
                line.push('\n');
            }
            OutputFormat::Csv => {
                let _ = write!(
                    line,
                    "{},{},{}",
                    csv_field(s),
                    csv_field(d),
                    csv_field(&ports.to_string())
                );
                if self.any_uncertain {
                    let _ = write!(
                        line,
                        ",{}",
                        csv_field(&self.notes.uncertain_pair(src, dst).join("; "))
                    );
                }
                line.push('\n');
            }
            OutputFormat::Md => {
                let _ = writeln!(line, "| {s} | {d} | {ports}{} |", self.suffix(src, dst));
            }
            _ => {
                let _ = writeln!(line, "{s} => {d} : {ports}{}", self.suffix(src, dst));
            }
        }
        self.rows += 1;
        let written = self.out.write_all(line.as_bytes());
        self.line = line;
        written
    }

    fn suffix(&self, a: usize, b: usize) -> String {
        let u = self.notes.uncertain_pair(a, b);
        if u.is_empty() {
            String::new()
        } else {
            format!(" (uncertain: {})", u.join(", "))
        }
    }

    /// Ends the output (closes the JSON document) and flushes; `peers` names the notes'
    /// peers for JSON's list of uncertain peers.
    pub fn finish(mut self, peers: &[Peer]) -> std::io::Result<W> {
        if self.format == OutputFormat::Json {
            let mut tail = String::from(if self.rows == 0 { "]" } else { "\n  ]" });
            let mut uncertain: Vec<JsonUncertainPeer<'_>> = self
                .notes
                .uncertain
                .iter()
                .enumerate()
                .filter(|(_, u)| !u.is_empty())
                .map(|(i, u)| JsonUncertainPeer {
                    peer: &peers[i].name,
                    policies: u,
                })
                .collect();
            // By name, as the peers of a collected answer are.
            uncertain.sort_by(|a, b| a.peer.cmp(b.peer));
            if !uncertain.is_empty() {
                let pretty =
                    serde_json::to_string_pretty(&uncertain).map_err(std::io::Error::other)?;
                tail.push_str(",\n  \"uncertain\": ");
                for (i, text) in pretty.lines().enumerate() {
                    if i > 0 {
                        tail.push_str("\n  ");
                    }
                    tail.push_str(text);
                }
            }
            tail.push_str("\n}\n");
            self.out.write_all(tail.as_bytes())?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}
