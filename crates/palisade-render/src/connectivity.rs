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
    /// `allowed` as structured ranges (added beside the strings, which stay).
    ports: Vec<JsonPortRange>,
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

/// One port range of a JSON port list: `{"protocol": "TCP", "from": 80, "to": 80}`.
#[derive(Serialize)]
pub struct JsonPortRange {
    /// TCP, UDP or SCTP.
    pub protocol: &'static str,
    /// First port.
    pub from: u16,
    /// Last port (inclusive; equal to `from` for one port).
    pub to: u16,
}

/// A port set as structured ranges, protocol by protocol, ranges ascending.
pub fn json_port_ranges(ports: &PortSet) -> Vec<JsonPortRange> {
    ports
        .iter()
        .flat_map(|(protocol, p)| {
            p.ranges().iter().map(move |r| JsonPortRange {
                protocol: protocol.as_str(),
                from: r.lo,
                to: r.hi,
            })
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
                            ports: json_port_ranges(&c.ports),
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
        OutputFormat::Wide => {
            // Aligned columns with what each end is and the allowed ports per protocol.
            let kind = |i: usize| match notes.kind(i) {
                (k, Some(w)) => format!("{k}/{w}"),
                (k, None) => k.to_string(),
            };
            let mut rows: Vec<[String; 6]> = vec![[
                "SRC".into(),
                "SRC-KIND".into(),
                "DST".into(),
                "DST-KIND".into(),
                "ALLOWED".into(),
                if any_uncertain {
                    "UNCERTAIN".into()
                } else {
                    String::new()
                },
            ]];
            for c in &result.connections {
                rows.push([
                    name(c.src).to_string(),
                    kind(c.src),
                    name(c.dst).to_string(),
                    kind(c.dst),
                    c.ports.to_string(),
                    notes.uncertain_pair(c.src, c.dst).join(", "),
                ]);
            }
            let widths: Vec<usize> = (0..6)
                .map(|col| {
                    rows.iter()
                        .map(|r| r[col].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for row in &rows {
                let mut line = String::new();
                for (col, cell) in row.iter().enumerate() {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[col]);
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
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

    /// Starts the output: headers (unless `headers` is false, `--no-headers`: csv's column
    /// names are left out).
    pub fn new(
        mut out: W,
        format: OutputFormat,
        notes: &'n PeerNotes,
        headers: bool,
    ) -> std::io::Result<Self> {
        let any_uncertain = notes.any_uncertain();
        match format {
            OutputFormat::Csv if !headers => {}
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
        self.named(&peers[src].name, src, &peers[dst].name, dst, ports)
    }

    /// Writes one connection between named ends; `src` and `dst` index the notes (an index
    /// the notes do not have, such as `usize::MAX`, is an external range, e.g. merged).
    pub fn named(
        &mut self,
        s: &str,
        src: usize,
        d: &str,
        dst: usize,
        ports: &PortSet,
    ) -> std::io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let json_row = || {
            let (src_kind, src_workload_kind) = self.notes.kind(src);
            let (dst_kind, dst_workload_kind) = self.notes.kind(dst);
            JsonConnection {
                src: s,
                dst: d,
                allowed: json_allowed(ports),
                ports: json_port_ranges(ports),
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
    /// peers for JSON's list of uncertain peers, of which those `listed` are listed.
    pub fn finish(mut self, peers: &[Peer], listed: &dyn Fn(usize) -> bool) -> std::io::Result<W> {
        if self.format == OutputFormat::Json {
            let mut tail = String::from(if self.rows == 0 { "]" } else { "\n  ]" });
            let mut uncertain: Vec<JsonUncertainPeer<'_>> = self
                .notes
                .uncertain
                .iter()
                .enumerate()
                .filter(|&(i, u)| !u.is_empty() && listed(i))
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

/// The addresses an external peer's name stands for: a CIDR, a `first-last` range (as the
/// engine names partition fragments) or a list of CIDRs joined by `, ` (already merged).
pub fn external_nets(name: &str) -> Option<Vec<ipnet::IpNet>> {
    use ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};
    use std::net::IpAddr;
    let mut nets = Vec::new();
    for part in name.split(", ") {
        if let Ok(net) = part.parse::<IpNet>() {
            nets.push(net);
            continue;
        }
        let (lo, hi) = part.split_once('-')?;
        match (lo.parse::<IpAddr>().ok()?, hi.parse::<IpAddr>().ok()?) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => {
                nets.extend(Ipv4Subnets::new(a, b, 0).map(IpNet::V4));
            }
            (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => {
                nets.extend(Ipv6Subnets::new(a, b, 0).map(IpNet::V6));
            }
            _ => return None,
        }
    }
    Some(nets)
}

/// The canonical CIDR list of a set of networks: aggregated (ipnet), IPv4 first, `, `-joined.
pub fn cidr_list(nets: &[ipnet::IpNet]) -> String {
    ipnet::IpNet::aggregate(&nets.to_vec())
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// External ranges merged per peer: the fragments of the address space (`0.0.0.0-192.0.2.9`,
/// `192.0.2.10/32`, ...) that reach, or are reached by, one peer on the same ports become one
/// external peer named by the canonical CIDR list of their union (`0.0.0.0/0, ::/0`). Exact:
/// rows are merged only when the peer, the direction and the ports are equal. Peers and
/// connections stay sorted by name.
pub fn merge_external(result: &Connectivity) -> Connectivity {
    use palisade_engine::connectivity::{Connection, Peer};
    use std::collections::BTreeMap;
    let is_external = |i: usize| matches!(result.peers[i].what, PeerRef::External(_));
    // Ends are old peer indexes, or new merged externals (by name); connections that need
    // no merging are moved as they are, so a large result costs no string per row.
    enum End {
        Old(usize),
        Merged(String),
    }
    // (internal peer, external is the source, ports) -> networks.
    let mut groups: BTreeMap<(usize, bool, &PortSet), Vec<ipnet::IpNet>> = BTreeMap::new();
    let mut rows: Vec<(End, End, PortSet)> = Vec::new();
    for c in &result.connections {
        let (ext, internal, ext_is_src) = match (is_external(c.src), is_external(c.dst)) {
            (true, false) => (c.src, c.dst, true),
            (false, true) => (c.dst, c.src, false),
            _ => {
                rows.push((End::Old(c.src), End::Old(c.dst), c.ports.clone()));
                continue;
            }
        };
        match external_nets(&result.peers[ext].name) {
            Some(nets) => groups
                .entry((internal, ext_is_src, &c.ports))
                .or_default()
                .extend(nets),
            // A name that is not an address range is kept as it is.
            None => rows.push((End::Old(c.src), End::Old(c.dst), c.ports.clone())),
        }
    }
    for ((internal, ext_is_src, ports), nets) in groups {
        let ext = End::Merged(cidr_list(&nets));
        rows.push(if ext_is_src {
            (ext, End::Old(internal), ports.clone())
        } else {
            (End::Old(internal), ext, ports.clone())
        });
    }
    // Peers: every internal peer (connected or not), the externals still used, the merged.
    let mut used = vec![false; result.peers.len()];
    let mut merged: Vec<&str> = Vec::new();
    for (s, d, _) in &rows {
        for end in [s, d] {
            match end {
                End::Old(i) => used[*i] = true,
                End::Merged(name) => merged.push(name),
            }
        }
    }
    merged.sort_unstable();
    merged.dedup();
    let mut peers: Vec<(Peer, Option<usize>)> = result
        .peers
        .iter()
        .enumerate()
        .filter(|&(i, _)| !is_external(i) || used[i])
        .map(|(i, p)| (p.clone(), Some(i)))
        .collect();
    for name in merged {
        if !peers.iter().any(|(p, _)| p.name == name) {
            let name = name.to_string();
            peers.push((
                Peer {
                    what: PeerRef::External(name.clone()),
                    name,
                },
                None,
            ));
        }
    }
    peers.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut old_index = vec![usize::MAX; result.peers.len()];
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (new, (p, old)) in peers.iter().enumerate() {
        if let Some(old) = old {
            old_index[*old] = new;
        }
        if matches!(p.what, PeerRef::External(_)) {
            by_name.insert(p.name.as_str(), new);
        }
    }
    let index = |end: &End| match end {
        End::Old(i) => old_index[*i],
        End::Merged(name) => by_name[name.as_str()],
    };
    let mut connections: Vec<Connection> = rows
        .iter()
        .map(|(s, d, ports)| Connection {
            src: index(s),
            dst: index(d),
            ports: ports.clone(),
        })
        .collect();
    let peers: Vec<Peer> = peers.into_iter().map(|(p, _)| p).collect();
    connections.sort_by(|a, b| {
        (&peers[a.src].name, &peers[a.dst].name).cmp(&(&peers[b.src].name, &peers[b.dst].name))
    });
    Connectivity { peers, connections }
}

#[cfg(test)]
mod merge_tests {
    use super::*;

    #[test]
    fn fragments_become_canonical_cidr_lists() {
        let nets: Vec<ipnet::IpNet> = [
            "0.0.0.0-192.0.2.9",
            "192.0.2.10/32",
            "192.0.2.11-203.0.112.255",
            "203.0.113.0/25",
            "203.0.113.128-255.255.255.255",
            "::/0",
        ]
        .iter()
        .flat_map(|n| external_nets(n).unwrap())
        .collect();
        assert_eq!(cidr_list(&nets), "0.0.0.0/0, ::/0");
        // Holes stay holes: everything but 192.0.2.10.
        let nets: Vec<ipnet::IpNet> = ["0.0.0.0-192.0.2.9", "192.0.2.11-255.255.255.255"]
            .iter()
            .flat_map(|n| external_nets(n).unwrap())
            .collect();
        let list = cidr_list(&nets);
        assert!(!list.contains("192.0.2.10/32"), "{list}");
        assert!(list.starts_with("0.0.0.0/1, 128.0.0.0/2,"), "{list}");
        assert!(
            list.contains("192.0.2.8/31, 192.0.2.11/32, 192.0.2.12/30"),
            "{list}"
        );
        assert_eq!(external_nets("shop/web"), None);
        assert_eq!(external_nets("10.0.0.9-10.0.0.1"), None);
    }
}

#[cfg(test)]
mod merge_properties {
    use super::*;
    use palisade_engine::connectivity::{Connection, Peer};
    use palisade_engine::ipspace::{Atom, Family};
    use palisade_model::{PortRange, Protocol};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// The IPv4 space cut at `cuts` into fragments named as the engine names them.
    fn fragments(mut cuts: Vec<u32>) -> Vec<(u32, u32, String)> {
        cuts.retain(|&c| c > 0);
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = Vec::new();
        let mut lo: u64 = 0;
        for hi_excl in cuts.into_iter().map(u64::from).chain([1u64 << 32]) {
            let (l, h) = (lo as u32, (hi_excl - 1) as u32);
            out.push((
                l,
                h,
                Atom::display_range(Family::V4, u128::from(l), u128::from(h)),
            ));
            lo = hi_excl;
        }
        out
    }

    fn covered(nets: &[ipnet::IpNet], addr: u32) -> bool {
        nets.iter()
            .any(|n| n.contains(&std::net::IpAddr::V4(Ipv4Addr::from(addr))))
    }

    proptest! {
        /// Merging never changes which addresses reach which peer on which ports: for each
        /// destination and port set, the merged rows' CIDR lists cover exactly the fragments
        /// that had a row (checked at both edges of every fragment; the fragments partition
        /// the space, so that is every boundary there is).
        #[test]
        fn merging_keeps_exactly_the_addresses(
            cuts in proptest::collection::vec(any::<u32>(), 0..12),
            picks in proptest::collection::vec((any::<bool>(), 0u16..3), 13),
        ) {
            let frags = fragments(cuts);
            // Peer 0 is the workload; the fragments follow.
            let mut peers: Vec<Peer> = vec![Peer {
                name: "a/x".into(),
                what: PeerRef::Workload(palisade_model::WorkloadId::new(0)),
            }];
            let mut connections = Vec::new();
            let mut expected: Vec<(u32, u32, u16)> = Vec::new();
            for (i, (lo, hi, name)) in frags.iter().enumerate() {
                let (take, port) = picks[i % picks.len()];
                peers.push(Peer { name: name.clone(), what: PeerRef::External(name.clone()) });
                if take {
                    let mut ports = PortSet::none();
                    ports.insert(Protocol::Tcp, PortRange::single(80 + port));
                    connections.push(Connection { src: peers.len() - 1, dst: 0, ports });
                    expected.push((*lo, *hi, 80 + port));
                }
            }
            let merged = merge_external(&Connectivity { peers, connections });
            for port in 80u16..83 {
                let rows: Vec<&Connection> = merged
                    .connections
                    .iter()
                    .filter(|c| c.ports.contains(Protocol::Tcp, port))
                    .collect();
                prop_assert!(rows.len() <= 1, "one row per peer and ports");
                let nets = rows
                    .first()
                    .map(|c| external_nets(&merged.peers[c.src].name).unwrap())
                    .unwrap_or_default();
                for (lo, hi, _) in &frags {
                    let want = expected.iter().any(|&(l, h, p)| l == *lo && h == *hi && p == port);
                    for addr in [*lo, *hi] {
                        prop_assert_eq!(covered(&nets, addr), want, "{} on {}", addr, port);
                    }
                }
            }
        }
    }
}
