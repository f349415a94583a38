//! The traffic map: replayed sessions folded into nodes (workloads, external networks,
//! unmapped cluster addresses) and edges (source, destination, protocol, port), in memory
//! bounded by the edge table.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use palisade_flows::Observed;
use palisade_model::{Labels, Model, NamespaceId, PodId, Protocol, WorkloadId};
use palisade_replay::{Decision, Peer, Predicted, Replayed, observed_index, predicted_index};
use rustc_hash::FxHashMap;

use crate::networks::KnownNetworks;

/// Map granularity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapLevel {
    /// One node per workload (top-level owner), bare pods on their own.
    #[default]
    Workload,
    /// One node per namespace.
    Namespace,
}

/// How sessions become nodes.
#[derive(Clone, Debug)]
pub struct MapOptions {
    /// Workload or namespace nodes.
    pub level: MapLevel,
    /// External IPv4 addresses are aggregated into networks of this prefix length.
    pub cidr_prefix_v4: u8,
    /// External IPv6 addresses are aggregated into networks of this prefix length.
    pub cidr_prefix_v6: u8,
    /// Named networks; an address inside one is that network's node.
    pub known: KnownNetworks,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            level: MapLevel::Workload,
            cidr_prefix_v4: 24,
            cidr_prefix_v6: 64,
            known: KnownNetworks::default(),
        }
    }
}

/// What a node stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKey {
    /// A top-level workload.
    Workload(WorkloadId),
    /// A pod that belongs to no workload of the model.
    Pod(PodId),
    /// A whole namespace (`--level namespace`).
    Namespace(NamespaceId),
    /// External addresses aggregated into a network.
    External(IpNet),
    /// A user-named network (index into [`KnownNetworks`]).
    Known(usize),
    /// An address that looks like the cluster's (private, or named by Hubble) but that no pod
    /// of the model has.
    Unknown(IpAddr),
}

/// The kind of node, as the JSON names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// A workload or bare pod of the cluster.
    Workload,
    /// A namespace (`--level namespace`).
    Namespace,
    /// Addresses outside the cluster.
    External,
    /// An in-cluster looking address the model cannot map.
    Unknown,
}

impl NodeKind {
    /// `workload`, `namespace`, `external`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Workload => "workload",
            NodeKind::Namespace => "namespace",
            NodeKind::External => "external",
            NodeKind::Unknown => "unknown",
        }
    }
}

/// One node of the map.
#[derive(Clone, Debug)]
pub struct Node {
    /// What it stands for.
    pub key: NodeKey,
    /// Display id: `shop/frontend`, `shop`, `203.0.113.0/24`, `payment-provider`, `10.0.1.99`.
    pub id: String,
    /// Its kind.
    pub kind: NodeKind,
    /// The namespace, for cluster nodes (and unknown addresses Hubble names one for).
    pub namespace: Option<String>,
    /// `Deployment`, `StatefulSet`, ..., or `Pod` for a bare pod.
    pub workload_kind: Option<&'static str>,
    /// Pod labels (the workload's template labels, or the bare pod's).
    pub labels: Labels,
    /// The networks an external node covers.
    pub networks: Vec<IpNet>,
    /// Whether its pods use the host network (policies do not apply to them).
    pub host_network: bool,
}

/// One edge: every session from `src` to `dst` on a protocol and destination port.
#[derive(Clone, Debug)]
pub struct Edge {
    /// Source node index.
    pub src: usize,
    /// Destination node index.
    pub dst: usize,
    /// Protocol.
    pub protocol: Protocol,
    /// Destination port on the wire.
    pub port: u16,
    /// The destination container's name for the port, when every pod of it names it alike.
    pub port_name: Option<String>,
    /// Sessions.
    pub sessions: u64,
    /// Observed outcomes, indexed like [`observed_index`].
    pub observed: [u64; 4],
    /// Predicted outcomes under the current policies, indexed like [`predicted_index`].
    pub predicted: [u64; 3],
    /// The deciding policies of the first session (of the first denied one, if any was).
    pub decided_by: Arc<[Decision]>,
    /// Predicted outcomes under the proposal, when one is given.
    pub proposed: Option<[u64; 3]>,
    /// The deciding policies under the proposal.
    pub proposed_decided_by: Option<Arc<[Decision]>>,
    /// Sessions flagged with a mismatch by replay.
    pub mismatches: u64,
    /// First session start (ns since the epoch).
    pub first_ns: i64,
    /// Last session start.
    pub last_ns: i64,
}

impl Edge {
    /// The edge's predicted outcome: the denied one when any session is predicted denied
    /// (so a partly denied edge is never shown as allowed).
    pub fn predicted(&self) -> Predicted {
        summarize(&self.predicted)
    }

    /// The predicted outcome under the proposal.
    pub fn proposed_outcome(&self) -> Option<Predicted> {
        self.proposed.as_ref().map(summarize)
    }

    /// Whether sessions of the edge were predicted differently (pods of one workload with
    /// different labels, external addresses of one network treated differently).
    pub fn predicted_mixed(&self) -> bool {
        self.predicted.iter().filter(|&&n| n > 0).count() > 1
    }
}

fn summarize(counts: &[u64; 3]) -> Predicted {
    if counts[predicted_index(Predicted::TimedOut)] > 0 {
        Predicted::TimedOut
    } else if counts[predicted_index(Predicted::Refused)] > 0 {
        Predicted::Refused
    } else {
        Predicted::Accepted
    }
}

/// The traffic map.
#[derive(Clone, Debug, Default)]
pub struct Map {
    /// Nodes, sorted by (kind, namespace, id).
    pub nodes: Vec<Node>,
    /// Edges, sorted by (source id, destination id, protocol, port).
    pub edges: Vec<Edge>,
    /// Whether the edges carry predictions under a proposal.
    pub has_proposed: bool,
}

impl Map {
    /// The node with a display id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct EdgeKey {
    src: u32,
    dst: u32,
    protocol: Protocol,
    port: u16,
}

/// Folds replayed sessions into a [`Map`].
#[derive(Debug)]
pub struct MapBuilder<'m> {
    model: &'m Model,
    options: MapOptions,
    nodes: Vec<Node>,
    index: FxHashMap<NodeKey, u32>,
    edges: FxHashMap<EdgeKey, Edge>,
    has_proposed: bool,
}

/// Whether an address looks like one of the cluster's: RFC 1918, shared (100.64/10) or a
/// unique local IPv6 address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.octets()[0] == 100 && v4.octets()[1] & 0xC0 == 64,
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

impl<'m> MapBuilder<'m> {
    /// An empty map over a model.
    pub fn new(model: &'m Model, options: MapOptions) -> Self {
        MapBuilder {
            model,
            options,
            nodes: Vec::new(),
            index: FxHashMap::default(),
            edges: FxHashMap::default(),
            has_proposed: false,
        }
    }

    /// The model.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// The options.
    pub fn options(&self) -> &MapOptions {
        &self.options
    }

    /// The node key one end of a session maps to at workload level (the level generation
    /// works at), whatever the map's level.
    pub fn workload_key(&self, peer: &Peer, ip: IpAddr) -> NodeKey {
        if let Some(pod) = peer.pod {
            return match self.model.pods[pod.index()].workload {
                Some(w) => NodeKey::Workload(w),
                None => NodeKey::Pod(pod),
            };
        }
        if let Some(k) = self.options.known.find(ip) {
            return NodeKey::Known(k);
        }
        let named_in_cluster = peer
            .named
            .as_deref()
            .is_some_and(|n| !n.namespace.is_empty());
        if named_in_cluster || is_private(ip) {
            return NodeKey::Unknown(ip);
        }
        let prefix = match ip {
            IpAddr::V4(_) => self.options.cidr_prefix_v4.min(32),
            IpAddr::V6(_) => self.options.cidr_prefix_v6.min(128),
        };
        NodeKey::External(IpNet::new(ip, prefix).expect("prefix clamped").trunc())
    }

    fn key(&self, peer: &Peer, ip: IpAddr) -> NodeKey {
        let key = self.workload_key(peer, ip);
        if self.options.level == MapLevel::Namespace {
            let ns = match key {
                NodeKey::Workload(w) => Some(self.model.workloads[w.index()].namespace),
                NodeKey::Pod(p) => Some(self.model.pods[p.index()].namespace),
                _ => None,
            };
            if let Some(ns) = ns {
                return NodeKey::Namespace(ns);
            }
        }
        key
    }

    /// The node index of a key, creating the node.
    pub fn node_index(&mut self, key: NodeKey, peer: &Peer) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i as usize;
        }
        let node = self.make_node(key.clone(), peer);
        let i = self.nodes.len();
        self.nodes.push(node);
        self.index.insert(key, i as u32);
        i
    }

    fn make_node(&self, key: NodeKey, peer: &Peer) -> Node {
        let model = self.model;
        let mut node = Node {
            key: key.clone(),
            id: String::new(),
            kind: NodeKind::Workload,
            namespace: None,
            workload_kind: None,
            labels: Labels::new(),
            networks: Vec::new(),
            host_network: false,
        };
        match key {
            NodeKey::Workload(w) => {
                let wl = &model.workloads[w.index()];
                node.id = model.workload_name(w);
                node.namespace = Some(model.namespace(wl.namespace).name.clone());
                node.workload_kind = Some(wl.kind.as_str());
                node.labels = wl.template_labels.clone();
                node.host_network = wl.pods.iter().any(|p| model.pods[p.index()].host_network);
            }
            NodeKey::Pod(p) => {
                let pod = &model.pods[p.index()];
                node.id = model.pod_name(p);
                node.namespace = Some(model.namespace(pod.namespace).name.clone());
                node.workload_kind = Some("Pod");
                node.labels = pod.labels.clone();
                node.host_network = pod.host_network;
            }
            NodeKey::Namespace(ns) => {
                let n = model.namespace(ns);
                node.id = n.name.clone();
                node.kind = NodeKind::Namespace;
                node.namespace = Some(n.name.clone());
                node.labels = n.labels.clone();
            }
            NodeKey::External(net) => {
                node.id = net.to_string();
                node.kind = NodeKind::External;
                node.networks = vec![net];
            }
            NodeKey::Known(k) => {
                let (name, nets) = &self.options.known.networks[k];
                node.id = name.clone();
                node.kind = NodeKind::External;
                node.networks = nets.clone();
            }
            NodeKey::Unknown(ip) => {
                node.id = ip.to_string();
                node.kind = NodeKind::Unknown;
                node.namespace = peer
                    .named
                    .as_deref()
                    .filter(|n| !n.namespace.is_empty())
                    .map(|n| n.namespace.clone());
            }
        }
        node
    }

    /// The key of a node index.
    pub fn key_of(&self, node: usize) -> &NodeKey {
        &self.nodes[node].key
    }

    /// Adds one replayed session; returns the source and destination node indexes.
    pub fn add(&mut self, r: &Replayed) -> (usize, usize) {
        let s = &r.session;
        let sk = self.key(&r.src, s.src.ip());
        let dk = self.key(&r.dst, s.dst.ip());
        let src = self.node_index(sk, &r.src) as u32;
        let dst = self.node_index(dk.clone(), &r.dst) as u32;
        let key = EdgeKey {
            src,
            dst,
            protocol: s.proto,
            port: s.dst.port(),
        };
        if r.proposed.is_some() {
            self.has_proposed = true;
        }
        let model = self.model;
        let edge = self.edges.entry(key).or_insert_with(|| Edge {
            src: src as usize,
            dst: dst as usize,
            protocol: s.proto,
            port: s.dst.port(),
            port_name: port_name(model, &dk, s.proto, s.dst.port()),
            sessions: 0,
            observed: [0; 4],
            predicted: [0; 3],
            decided_by: r.current.decided_by.clone(),
            proposed: None,
            proposed_decided_by: None,
            mismatches: 0,
            first_ns: s.start_ns,
            last_ns: s.start_ns,
        });
        let first_denial = !r.predicted.allowed() && edge.predicted[0] == edge.sessions;
        edge.sessions += 1;
        edge.observed[observed_index(s.observed)] += 1;
        edge.predicted[predicted_index(r.predicted)] += 1;
        if first_denial {
            edge.decided_by = r.current.decided_by.clone();
        }
        if let Some(p) = &r.proposed {
            let counts = edge.proposed.get_or_insert([0; 3]);
            let first = counts.iter().sum::<u64>() == 0
                || (!p.predicted.allowed() && counts[0] == counts.iter().sum::<u64>());
            counts[predicted_index(p.predicted)] += 1;
            if first {
                edge.proposed_decided_by = Some(p.decided_by.clone());
            }
        }
        if r.mismatch.is_some() {
            edge.mismatches += 1;
        }
        edge.first_ns = edge.first_ns.min(s.start_ns);
        edge.last_ns = edge.last_ns.max(s.start_ns);
        (src as usize, dst as usize)
    }

    /// The keys of the nodes so far, by node index (before [`MapBuilder::finish`] sorts them).
    pub fn node_keys(&self) -> Vec<NodeKey> {
        self.nodes.iter().map(|n| n.key.clone()).collect()
    }

    /// The map, nodes and edges sorted.
    pub fn finish(self) -> Map {
        let MapBuilder {
            nodes,
            edges,
            has_proposed,
            ..
        } = self;
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        order.sort_by(|&a, &b| node_order(&nodes[a]).cmp(&node_order(&nodes[b])));
        let mut new_index = vec![0usize; nodes.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
        let nodes: Vec<Node> = order
            .iter()
            .map(|&i| slots[i].take().expect("each node once"))
            .collect();
        let mut edges: Vec<Edge> = edges
            .into_values()
            .map(|mut e| {
                e.src = new_index[e.src];
                e.dst = new_index[e.dst];
                e
            })
            .collect();
        edges.sort_by(|a, b| {
            (&nodes[a.src].id, &nodes[a.dst].id, a.protocol, a.port).cmp(&(
                &nodes[b.src].id,
                &nodes[b.dst].id,
                b.protocol,
                b.port,
            ))
        });
        Map {
            nodes,
            edges,
            has_proposed,
        }
    }
}

fn node_order(n: &Node) -> (u8, &str, &str) {
    let rank = match n.kind {
        NodeKind::Workload | NodeKind::Namespace => 0,
        NodeKind::Unknown => 1,
        NodeKind::External => 2,
    };
    (rank, n.namespace.as_deref().unwrap_or(""), n.id.as_str())
}

/// The name every pod of a destination gives a port number and protocol, if they all agree.
pub fn port_name(model: &Model, dst: &NodeKey, protocol: Protocol, port: u16) -> Option<String> {
    let pods: Vec<PodId> = match dst {
        NodeKey::Workload(w) => model.workloads[w.index()].pods.clone(),
        NodeKey::Pod(p) => vec![*p],
        _ => return None,
    };
    let mut name: Option<&str> = None;
    for p in &pods {
        let pod = &model.pods[p.index()];
        let n = pod
            .ports
            .iter()
            .find(|c| c.port == port && c.protocol == protocol && c.name.is_some())
            .and_then(|c| c.name.as_deref())?;
        match name {
            None => name = Some(n),
            Some(prev) if prev == n => {}
            Some(_) => return None,
        }
    }
    name.map(str::to_string)
}

/// Observed outcome counts by name, for reports.
pub fn observed_counts(counts: &[u64; 4]) -> BTreeMap<&'static str, u64> {
    [
        Observed::Accepted,
        Observed::Refused,
        Observed::TimedOut,
        Observed::Unknown,
    ]
    .into_iter()
    .map(|o| (o.as_str(), counts[observed_index(o)]))
    .collect()
}
