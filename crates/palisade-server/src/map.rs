//! The map document: workloads grouped by namespace, external ranges, and edges with their
//! verdict — from the policies alone (workload-level connectivity) and, with a capture, the
//! observed workload pairs with outcome counts and the predicted verdict.
//!
//! [`map_json`] is the one place that builds it; when `palisade map` (the discover crate's
//! observed traffic map) lands, this function switches to it and the page stays as it is.

use std::collections::BTreeMap;

use palisade_engine::connectivity::{Connectivity, PeerRef};
use palisade_model::{Labels, Model};
use serde::Serialize;

use crate::snapshot::Capture;

/// The map's JSON shape (`GET /api/map`).
#[derive(Serialize)]
struct MapDoc<'a> {
    /// Shape version.
    version: u32,
    /// `policies` (connectivity only) or `capture` (observed pairs too).
    source: &'static str,
    namespaces: Vec<MapNamespace<'a>>,
    nodes: Vec<MapNode<'a>>,
    /// The distinct allowed-port lists, which edges point into (thousands of edges share a
    /// handful).
    port_sets: Vec<Vec<palisade_render::connectivity::JsonAllowed>>,
    edges: Vec<MapEdge>,
    /// Allowed pairs left out of `edges` past [`MAX_POLICY_EDGES`] (observed pairs are
    /// always kept); `palisade connectivity` lists them all.
    policy_edges_omitted: usize,
}

/// The most policy (connectivity) edges the document carries: past this the browser spends
/// seconds on the document alone, and nobody reads the picture.
pub const MAX_POLICY_EDGES: usize = 200_000;

#[derive(Serialize)]
struct MapNamespace<'a> {
    name: &'a str,
    labels: &'a Labels,
    policies: usize,
    workloads: usize,
}

#[derive(Serialize)]
struct MapNode<'a> {
    id: String,
    /// `workload`, `pod` or `external`.
    kind: &'static str,
    namespace: Option<String>,
    labels: Option<&'a Labels>,
}

#[derive(Serialize)]
struct Outcomes {
    accepted: u64,
    refused: u64,
    #[serde(rename = "timed-out")]
    timed_out: u64,
    unknown: u64,
}

#[derive(Serialize)]
struct MapFlow {
    protocol: &'static str,
    port: u16,
    sessions: u64,
    observed: Outcomes,
    /// Sessions the current policies allow / deny.
    predicted_allowed: u64,
    predicted_denied: u64,
    mismatches: u64,
    /// The admin-tier rules that decided some of these sessions, as `[Admin] cnp/NAME rule
    /// N` (the engine's deciding tier); omitted when only NetworkPolicy decided.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    guardrails: Vec<String>,
}

#[derive(Serialize)]
struct MapEdge {
    /// Index into `nodes`.
    src: usize,
    /// Index into `nodes`.
    dst: usize,
    /// What the policies allow between the two: an index into `port_sets`, or null when
    /// they allow nothing.
    allowed: Option<usize>,
    /// `allowed`, `denied` (observed traffic the policies deny) or `mismatch` (observed and
    /// predicted outcomes disagree).
    verdict: &'static str,
    /// Observed sessions per (port, protocol), with a capture; omitted when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flows: Vec<MapFlow>,
}

/// An edge while collecting: allowed port set, verdict, observed flows.
type EdgeDraft = (Option<usize>, &'static str, Vec<MapFlow>);

fn outcomes(c: &[u64; 4]) -> Outcomes {
    Outcomes {
        accepted: c[0],
        refused: c[1],
        timed_out: c[2],
        unknown: c[3],
    }
}

/// Builds the map document as pretty JSON.
pub fn map_json(
    model: &Model,
    connectivity: &Connectivity,
    capture: Option<&Capture>,
    selection: &palisade_engine::Selection,
) -> String {
    let mut namespaces: Vec<MapNamespace<'_>> = model
        .namespaces
        .iter()
        .map(|n| MapNamespace {
            name: &n.name,
            labels: &n.labels,
            policies: 0,
            workloads: 0,
        })
        .collect();
    for p in &model.policies {
        namespaces[p.namespace.index()].policies += 1;
    }
    let mut nodes: BTreeMap<String, MapNode<'_>> = BTreeMap::new();
    for peer in &connectivity.peers {
        let (kind, namespace, labels) = match &peer.what {
            PeerRef::Workload(w) => {
                let w = &model.workloads[w.index()];
                ("workload", Some(w.namespace), Some(&w.template_labels))
            }
            PeerRef::Pod(p) => {
                let p = &model.pods[p.index()];
                ("pod", Some(p.namespace), Some(&p.labels))
            }
            PeerRef::External(_) => ("external", None, None),
            // The map is built from the workload-level answer; a namespace endpoint is not
            // counted as a workload of itself.
            PeerRef::Namespace(_) => ("namespace", None, None),
        };
        if let Some(ns) = namespace {
            namespaces[ns.index()].workloads += 1;
        }
        nodes.insert(
            peer.name.clone(),
            MapNode {
                id: peer.name.clone(),
                kind,
                namespace: namespace.map(|ns| model.namespace(ns).name.clone()),
                labels,
            },
        );
    }
    // Edges keyed by names while collecting; the document refers to nodes by index.
    let mut sets: Vec<Vec<palisade_render::connectivity::JsonAllowed>> = Vec::new();
    let mut set_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut edges: BTreeMap<(String, String), EdgeDraft> = BTreeMap::new();
    // With a capture, observed pairs keep their policy edge even past the limit.
    let observed: std::collections::HashSet<(String, String)> = capture
        .map(|c| {
            c.summary
                .pairs_sorted()
                .into_iter()
                .map(|(k, _)| (k.src.to_string(), k.dst.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut omitted = 0usize;
    for c in &connectivity.connections {
        let (src, dst) = (
            &connectivity.peers[c.src].name,
            &connectivity.peers[c.dst].name,
        );
        if edges.len() >= MAX_POLICY_EDGES && !observed.contains(&(src.clone(), dst.clone())) {
            omitted += 1;
            continue;
        }
        let set = *set_index.entry(c.ports.to_string()).or_insert_with(|| {
            sets.push(palisade_render::connectivity::json_allowed(&c.ports));
            sets.len() - 1
        });
        edges.insert(
            (src.clone(), dst.clone()),
            (Some(set), "allowed", Vec::new()),
        );
    }
    if let Some(capture) = capture {
        // Which admin-tier rules decided the sessions of each (pair, port, protocol), over
        // every session (the capture lists at most `max_sessions`).
        let mut guardrails = capture.guardrails.clone();
        for (key, stat) in capture.summary.pairs_sorted() {
            for name in [&*key.src, &*key.dst] {
                if !nodes.contains_key(name) {
                    let external = name.parse::<std::net::IpAddr>().is_ok();
                    nodes.insert(
                        name.to_string(),
                        MapNode {
                            id: name.to_string(),
                            kind: if external { "external" } else { "workload" },
                            namespace: (!external)
                                .then(|| name.split_once('/').map(|(ns, _)| ns.to_string()))
                                .flatten(),
                            labels: None,
                        },
                    );
                }
            }
            let edge = edges
                .entry((key.src.to_string(), key.dst.to_string()))
                .or_insert((None, "allowed", Vec::new()));
            let denied = stat.predicted[1] + stat.predicted[2];
            edge.2.push(MapFlow {
                protocol: key.protocol.as_str(),
                port: key.port,
                sessions: stat.sessions,
                observed: outcomes(&stat.observed),
                predicted_allowed: stat.predicted[0],
                predicted_denied: denied,
                mismatches: stat.mismatches,
                guardrails: guardrails
                    .remove(&(
                        key.src.to_string(),
                        key.dst.to_string(),
                        key.port,
                        key.protocol.as_str(),
                    ))
                    .unwrap_or_default(),
            });
            edge.1 = match (edge.1, stat.mismatches > 0, denied > 0) {
                ("mismatch", _, _) | (_, true, _) => "mismatch",
                ("denied", _, _) | (_, _, true) => "denied",
                _ => "allowed",
            };
        }
    }
    if !selection.is_everything() {
        // Narrowed (`-n`, `-l`): the namespaces the map shows something of.
        let shown: std::collections::HashSet<&str> = nodes
            .values()
            .filter_map(|n| n.namespace.as_deref())
            .collect();
        namespaces
            .retain(|n| shown.contains(n.name) || selection.namespace.as_deref() == Some(n.name));
    }
    let index: BTreeMap<&str, usize> = nodes
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let edges: Vec<MapEdge> = edges
        .into_iter()
        .map(|((src, dst), (allowed, verdict, flows))| MapEdge {
            src: index[src.as_str()],
            dst: index[dst.as_str()],
            allowed,
            verdict,
            flows,
        })
        .collect();
    let doc = MapDoc {
        version: 1,
        source: if capture.is_some() {
            "capture"
        } else {
            "policies"
        },
        namespaces,
        nodes: nodes.into_values().collect(),
        port_sets: sets,
        edges,
        policy_edges_omitted: omitted,
    };
    // Compact: a 2,000-workload cluster has ~90,000 edges.
    let mut out = serde_json::to_string(&doc).expect("output structs serialize");
    out.push('\n');
    out
}
