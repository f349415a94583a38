//! Every pair's exact allowed protocol/port set.
//!
//! Computed on classes, sparsely: each isolated class's egress and ingress are resolved into
//! "entity → ports" maps by walking its rules' peer sets, and a pair's ports are the egress
//! map of the source intersected with the ingress map of the destination. Open (unisolated)
//! sides stay symbolic until the pairs are expanded to pods or workloads, so the work is
//! proportional to the rules and the output, never to a pods × pods matrix.
//!
//! External peers are the atoms of the ipBlock partition; adjacent atoms with identical
//! connectivity are merged so the output names the ranges a reader would.

use crate::Engine;
use crate::compiled::{EntityIndex, PortSets, SideMapIds as SideMap};
use crate::ipspace::Atom;
use palisade_model::{Direction, Model, PodId, PortSet, WorkloadId};
use rustc_hash::FxHashMap;

/// The granularity of the endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Every pod (template pods for workloads without declared pods).
    Pod,
    /// Every top-level workload, and pods that belong to none.
    Workload,
}

/// What an endpoint of the result is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerRef {
    /// A pod.
    Pod(PodId),
    /// A workload.
    Workload(WorkloadId),
    /// A range of external addresses (one or more merged atoms).
    External(String),
}

/// One endpoint of the result, with its display name (`ns/name` or a CIDR/range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Display name.
    pub name: String,
    /// What it is.
    pub what: PeerRef,
}

/// One allowed connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Index into [`Connectivity::peers`].
    pub src: usize,
    /// Index into [`Connectivity::peers`].
    pub dst: usize,
    /// What is allowed (never empty).
    pub ports: PortSet,
}

/// All allowed connections, sorted by source then destination name.
#[derive(Clone, Debug, Default)]
pub struct Connectivity {
    /// Every endpoint that appears, sorted by name.
    pub peers: Vec<Peer>,
    /// The connections, sorted by (src name, dst name).
    pub connections: Vec<Connection>,
}

/// The complete connectivity on classes of equivalent pods, held compressed: explicit pairs
/// where a side is isolated (ports as interned ids); the blocks where both sides are open —
/// open-egress classes to open-ingress classes, open-egress classes to every external range,
/// every external range to open-ingress classes, all on every port — kept as lists instead
/// of their products.
pub struct ClassConnectivity {
    /// (source, destination, port set id) over dense entity indexes (classes, then atoms).
    pairs: Vec<(EntityIndex, EntityIndex, u32)>,
    ports: PortSets,
    /// Classes whose egress is not isolated.
    open_egress: Vec<u32>,
    /// Classes whose ingress is not isolated.
    open_ingress: Vec<u32>,
}

impl ClassConnectivity {
    /// Number of explicit pairs.
    pub fn explicit_pairs(&self) -> usize {
        self.pairs.len()
    }

    /// Number of classes with open egress.
    pub fn open_egress(&self) -> usize {
        self.open_egress.len()
    }

    /// Number of classes with open ingress.
    pub fn open_ingress(&self) -> usize {
        self.open_ingress.len()
    }

    /// Number of distinct port sets.
    pub fn distinct_port_sets(&self) -> usize {
        self.ports.len()
    }
}

/// Computes the complete class-level connectivity without expanding the open × open block.
pub fn class_connectivity(engine: &Engine) -> ClassConnectivity {
    class_pairs(engine, false)
}

fn class_pairs(engine: &Engine, expand_open: bool) -> ClassConnectivity {
    let class_count = engine.classes().len() as u32;
    let entity_count = engine.entity_count();
    let atom_classes = engine.classes_by_atom();
    let mut ports = PortSets::new();
    let mut scratch: Vec<u32> = vec![PortSets::NONE; entity_count];
    let egress: Vec<SideMap> = (0..class_count)
        .map(|c| {
            engine.side_map_ids(
                c,
                Direction::Egress,
                &atom_classes,
                &mut ports,
                &mut scratch,
            )
        })
        .collect();
    let lookup = |map: &SideMap, e: EntityIndex| -> u32 {
        match map {
            SideMap::Open => PortSets::ALL,
            SideMap::Restricted(entries) => entries
                .binary_search_by_key(&e, |(k, _)| *k)
                .map_or(PortSets::NONE, |i| entries[i].1),
        }
    };
    let mut pairs = Vec::new();
    let open_egress: Vec<u32> = (0..class_count)
        .filter(|&c| matches!(egress[c as usize], SideMap::Open))
        .collect();
    let mut open_ingress = Vec::new();
    // Ingress maps are used once each: computed, joined with the egress maps, dropped.
    for d in 0..class_count {
        match engine.side_map_ids(
            d,
            Direction::Ingress,
            &atom_classes,
            &mut ports,
            &mut scratch,
        ) {
            SideMap::Restricted(entries) => {
                for (s, p) in entries {
                    if s >= class_count {
                        // External → class: only the destination's ingress applies.
                        pairs.push((s, d, p));
                        continue;
                    }
                    let q = lookup(&egress[s as usize], d);
                    let both = ports.intersection(p, q);
                    if both != PortSets::NONE {
                        pairs.push((s, d, both));
                    }
                }
            }
            SideMap::Open => {
                open_ingress.push(d);
                if expand_open {
                    for &s in &open_egress {
                        pairs.push((s, d, PortSets::ALL));
                    }
                    for e in class_count..entity_count as u32 {
                        pairs.push((e, d, PortSets::ALL));
                    }
                }
            }
        }
    }
    let mut is_open_ingress = vec![false; class_count as usize];
    for &d in &open_ingress {
        is_open_ingress[d as usize] = true;
    }
    for s in 0..class_count {
        match &egress[s as usize] {
            // Restricted egress towards open ingress, and towards external ranges.
            SideMap::Restricted(entries) => {
                for &(d, q) in entries {
                    if d >= class_count || is_open_ingress[d as usize] {
                        pairs.push((s, d, q));
                    }
                }
            }
            // Class → external: only the source's egress applies.
            SideMap::Open if expand_open => {
                for e in class_count..entity_count as u32 {
                    pairs.push((s, e, PortSets::ALL));
                }
            }
            SideMap::Open => {}
        }
    }
    ClassConnectivity {
        pairs,
        ports,
        open_egress,
        open_ingress,
    }
}

/// Computes every allowed connection at a level.
pub fn compute(model: &Model, engine: &Engine, level: Level) -> Connectivity {
    let class_count = engine.classes().len() as u32;
    let ClassConnectivity {
        pairs: id_pairs,
        ports: port_sets,
        ..
    } = class_pairs(engine, true);
    let pairs: Vec<(EntityIndex, EntityIndex, &PortSet)> = id_pairs
        .iter()
        .map(|&(s, d, p)| (s, d, port_sets.get(p)))
        .collect();
    let atoms = engine.ip_space().atoms();
    let (atom_group, groups) = merge_atoms(atoms, &pairs, class_count);
    let mut endpoints = Endpoints::new(model, engine, level);
    let pod_endpoints = endpoints.peers.len();
    for &(first, last) in &groups {
        let (a, b) = (atoms[first], atoms[last]);
        let name = Atom::display_range(a.family, a.lo, b.hi);
        endpoints.peers.push(Peer {
            name: name.clone(),
            what: PeerRef::External(name),
        });
    }
    let connections = connections(&endpoints, &pairs, class_count, pod_endpoints, &atom_group);
    sort_and_renumber(endpoints.peers, connections)
}

/// Groups adjacent atoms (same family) whose connectivity is identical: for each atom its
/// group, and each group's first and last atom.
fn merge_atoms(
    atoms: &[Atom],
    pairs: &[(EntityIndex, EntityIndex, &PortSet)],
    class_count: u32,
) -> (Vec<usize>, Vec<(usize, usize)>) {
    let mut atom_rows: Vec<Vec<(bool, u32, &PortSet)>> = vec![Vec::new(); atoms.len()];
    for (s, d, ports) in pairs {
        if *s >= class_count {
            atom_rows[(*s - class_count) as usize].push((false, *d, ports));
        } else if *d >= class_count {
            atom_rows[(*d - class_count) as usize].push((true, *s, ports));
        }
    }
    for row in &mut atom_rows {
        row.sort_unstable();
    }
    let mut atom_group: Vec<usize> = Vec::with_capacity(atoms.len());
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for i in 0..atoms.len() {
        let joins =
            i > 0 && atoms[i - 1].family == atoms[i].family && atom_rows[i - 1] == atom_rows[i];
        if joins {
            groups.last_mut().expect("a previous group").1 = i;
        } else {
            groups.push((i, i));
        }
        atom_group.push(groups.len() - 1);
    }
    (atom_group, groups)
}

/// The endpoints of one level (pods, or workloads and ungrouped pods), each with the
/// classes of its pods; external ranges are appended after them.
struct Endpoints {
    peers: Vec<Peer>,
    /// Per pod-level endpoint, its classes (sorted, distinct).
    classes: Vec<Vec<u32>>,
    /// Per class, the endpoints whose first class it is.
    of_class: Vec<Vec<usize>>,
}

impl Endpoints {
    fn new(model: &Model, engine: &Engine, level: Level) -> Self {
        let class_count = engine.classes().len();
        let mut peers: Vec<Peer> = Vec::new();
        let mut endpoint_classes: Vec<Vec<u32>> = Vec::new();
        match level {
            Level::Pod => {
                for pod in model.pod_ids() {
                    peers.push(Peer {
                        name: model.pod_name(pod),
                        what: PeerRef::Pod(pod),
                    });
                    endpoint_classes.push(vec![engine.class_of(pod)]);
                }
            }
            Level::Workload => {
                let mut index: FxHashMap<WorkloadId, usize> = FxHashMap::default();
                for pod in model.pod_ids() {
                    let class = engine.class_of(pod);
                    let slot = match model.pods[pod.index()].workload {
                        Some(w) => *index.entry(w).or_insert_with(|| {
                            peers.push(Peer {
                                name: model.workload_name(w),
                                what: PeerRef::Workload(w),
                            });
                            endpoint_classes.push(Vec::new());
                            peers.len() - 1
                        }),
                        None => {
                            peers.push(Peer {
                                name: model.pod_name(pod),
                                what: PeerRef::Pod(pod),
                            });
                            endpoint_classes.push(Vec::new());
                            peers.len() - 1
                        }
                    };
                    endpoint_classes[slot].push(class);
                }
                for classes in &mut endpoint_classes {
                    classes.sort_unstable();
                    classes.dedup();
                }
            }
        }
        let mut class_endpoints: Vec<Vec<usize>> = vec![Vec::new(); class_count];
        for (e, classes) in endpoint_classes.iter().enumerate() {
            if let Some(&first) = classes.first() {
                class_endpoints[first as usize].push(e);
            }
        }
        Endpoints {
            peers,
            classes: endpoint_classes,
            of_class: class_endpoints,
        }
    }
}

/// Expands class pairs to endpoint pairs. An endpoint made of several classes (a workload
/// whose pods differ) gets the ports allowed between every class pair (intersection).
fn connections(
    endpoints: &Endpoints,
    pairs: &[(EntityIndex, EntityIndex, &PortSet)],
    class_count: u32,
    pod_endpoints: usize,
    atom_group: &[usize],
) -> Vec<Connection> {
    let endpoint_classes = &endpoints.classes;
    let endpoint_of_entity = |e: EntityIndex| -> Vec<usize> {
        if e < class_count {
            endpoints.of_class[e as usize].clone()
        } else {
            vec![pod_endpoints + atom_group[(e - class_count) as usize]]
        }
    };

    // Endpoints made of several classes need every class pair; index the pairs they touch.
    let multi: Vec<bool> = endpoint_classes.iter().map(|c| c.len() > 1).collect();
    let any_multi = multi.iter().any(|&m| m);
    let mut in_multi = vec![false; class_count as usize];
    if any_multi {
        for (e, classes) in endpoint_classes.iter().enumerate() {
            if multi[e] {
                for &c in classes {
                    in_multi[c as usize] = true;
                }
            }
        }
    }
    let mut pair_index: FxHashMap<(EntityIndex, EntityIndex), &PortSet> = FxHashMap::default();
    if any_multi {
        for (s, d, ports) in pairs {
            let touches = |e: &u32| *e < class_count && in_multi[*e as usize];
            if touches(s) || touches(d) {
                pair_index.insert((*s, *d), ports);
            }
        }
    }
    let entities_of = |endpoint: usize| -> Vec<EntityIndex> {
        if endpoint < pod_endpoints {
            endpoint_classes[endpoint].clone()
        } else {
            Vec::new()
        }
    };

    let mut seen_atom_pairs: FxHashMap<(usize, usize), ()> = FxHashMap::default();
    let mut connections = Vec::new();
    for (s, d, ports) in pairs {
        for src in endpoint_of_entity(*s) {
            for dst in endpoint_of_entity(*d) {
                if src == dst {
                    continue;
                }
                // Merged atoms repeat the same pair once per atom; keep the first.
                let external = src >= pod_endpoints || dst >= pod_endpoints;
                if external && seen_atom_pairs.insert((src, dst), ()).is_some() {
                    continue;
                }
                let mut ports = (*ports).clone();
                if any_multi && (multi.get(src) == Some(&true) || multi.get(dst) == Some(&true)) {
                    let src_entities = if src < pod_endpoints {
                        entities_of(src)
                    } else {
                        vec![*s]
                    };
                    let dst_entities = if dst < pod_endpoints {
                        entities_of(dst)
                    } else {
                        vec![*d]
                    };
                    for &a in &src_entities {
                        for &b in &dst_entities {
                            match pair_index.get(&(a, b)) {
                                Some(p) => ports = ports.intersection(p),
                                None => ports = PortSet::none(),
                            }
                        }
                    }
                }
                if !ports.is_empty() {
                    connections.push(Connection { src, dst, ports });
                }
            }
        }
    }
    connections
}

/// Sorts the peers by name, drops external ranges nobody talks to, and renumbers the
/// connections (sorted by source, then destination).
fn sort_and_renumber(peers: Vec<Peer>, mut connections: Vec<Connection>) -> Connectivity {
    // Sort peers by name and renumber.
    let mut order: Vec<usize> = (0..peers.len()).collect();
    order.sort_by(|&a, &b| peers[a].name.cmp(&peers[b].name));
    let mut rank = vec![0usize; peers.len()];
    for (new, &old) in order.iter().enumerate() {
        rank[old] = new;
    }
    let used: Vec<bool> = {
        let mut used = vec![false; peers.len()];
        for c in &connections {
            used[c.src] = true;
            used[c.dst] = true;
        }
        used
    };
    for c in &mut connections {
        c.src = rank[c.src];
        c.dst = rank[c.dst];
    }
    let mut sorted_peers: Vec<Option<Peer>> = vec![None; peers.len()];
    for (old, peer) in peers.into_iter().enumerate() {
        // External ranges that nobody talks to are dropped below.
        sorted_peers[rank[old]] = Some(peer);
    }
    let mut peers: Vec<Peer> = sorted_peers
        .into_iter()
        .map(|p| p.expect("every rank filled"))
        .collect();
    // Drop unused external peers, renumbering again.
    let mut keep_rank = vec![usize::MAX; peers.len()];
    let mut kept = Vec::new();
    for (i, peer) in peers.drain(..).enumerate() {
        let old = order[i];
        let external = matches!(peer.what, PeerRef::External(_));
        if !external || used[old] {
            keep_rank[i] = kept.len();
            kept.push(peer);
        }
    }
    for c in &mut connections {
        c.src = keep_rank[c.src];
        c.dst = keep_rank[c.dst];
    }
    connections.sort_by_key(|c| (c.src, c.dst));
    Connectivity {
        peers: kept,
        connections,
    }
}
