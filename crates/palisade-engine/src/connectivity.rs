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
use palisade_model::{Direction, Model, NamespaceId, PodId, PortSet, WorkloadId};
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
    /// A namespace (namespace-level answers).
    Namespace(NamespaceId),
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

/// Computes every allowed connection at a level, held in memory (the rows of a
/// [`ConnectivityStream`], collected).
pub fn compute(model: &Model, engine: &Engine, level: Level) -> Connectivity {
    ConnectivityStream::new(model, engine, level).collect()
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

impl Endpoints {
    /// One endpoint per namespace that has pods, with every class of the namespace.
    fn namespaces(model: &Model, engine: &Engine) -> Self {
        let classes = engine.classes();
        let mut slot_of_namespace: Vec<Option<usize>> = vec![None; model.namespaces.len()];
        let mut peers = Vec::new();
        let mut endpoint_classes: Vec<Vec<u32>> = Vec::new();
        let mut of_class = vec![Vec::new(); classes.len()];
        for (c, class) in classes.iter().enumerate() {
            let slot = *slot_of_namespace[class.namespace.index()].get_or_insert_with(|| {
                peers.push(Peer {
                    name: model.namespace(class.namespace).name.clone(),
                    what: PeerRef::Namespace(class.namespace),
                });
                endpoint_classes.push(Vec::new());
                peers.len() - 1
            });
            endpoint_classes[slot].push(c as u32);
            of_class[c].push(slot);
        }
        Endpoints {
            peers,
            classes: endpoint_classes,
            of_class,
        }
    }
}

/// What receives each connection of a [`ConnectivityStream`]: `(peers, src, dst, ports)`,
/// `src` and `dst` indexing `peers`.
pub type RowSink<'a, E> = dyn FnMut(&[Peer], usize, usize, &PortSet) -> Result<(), E> + 'a;

/// How big an answer is, known before producing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerSize {
    /// At most this many connections (an upper bound: pairs that a workload made of several
    /// classes loses to the intersection, and external ranges merged, are still counted).
    pub max_pairs: u64,
    /// About this many bytes as `src => dst : ports` lines.
    pub text_bytes: u64,
    /// Endpoints that can appear (pods, workloads or namespaces, then external ranges).
    pub endpoints: usize,
}

/// Most endpoints for which [`ConnectivityStream::size`] bounds the namespace-level answer
/// with a bit matrix over the endpoints: n² bits stay within 1 GiB (2³³ bits).
const BIT_MATRIX_MAX_ENDPOINTS: u64 = 92_681;
const _: () = assert!(
    BIT_MATRIX_MAX_ENDPOINTS * BIT_MATRIX_MAX_ENDPOINTS <= 1 << 33
        && (BIT_MATRIX_MAX_ENDPOINTS + 1) * (BIT_MATRIX_MAX_ENDPOINTS + 1) > 1 << 33
);

/// The connectivity of a level, produced row by row in output order (sources by name, each
/// source's destinations by name) without holding the answer: memory is the class-level
/// connectivity (explicit class pairs, indexed by source) plus one row.
///
/// At pod and workload level a connection's ports are those allowed between every pod of
/// the source and every pod of the destination (the intersection over their classes), as
/// [`compute`] reports them. At namespace level ([`ConnectivityStream::namespaces`]) they
/// are those allowed from *some* pod of the source namespace to *some* other pod of the
/// destination (the union), and a namespace's traffic to itself is a row of its own.
pub struct ConnectivityStream {
    class_count: u32,
    /// Explicit class pairs by source entity: `targets[row_start[e]..row_start[e + 1]]`,
    /// sorted by destination.
    row_start: Vec<usize>,
    targets: Vec<(EntityIndex, EntityIndex, u32)>,
    ports: PortSets,
    open_egress: Vec<bool>,
    is_open_ingress: Vec<bool>,
    open_ingress: Vec<u32>,
    class_pods: Vec<usize>,
    /// Per atom, its merged group; per group, its first atom.
    atom_group: Vec<usize>,
    group_first_atom: Vec<usize>,
    /// Pods, workloads or namespaces, then one endpoint per group of merged atoms.
    peers: Vec<Peer>,
    endpoint_classes: Vec<Vec<u32>>,
    of_class: Vec<Vec<usize>>,
    pod_endpoints: usize,
    /// Endpoints in name order, and each endpoint's place in it.
    order: Vec<usize>,
    rank: Vec<usize>,
    union: bool,
}

impl ConnectivityStream {
    /// The pod- or workload-level answer.
    pub fn new(model: &Model, engine: &Engine, level: Level) -> Self {
        Self::build(engine, Endpoints::new(model, engine, level), false)
    }

    /// The namespace-level answer (ports from some pod to some other pod, see the type).
    pub fn namespaces(model: &Model, engine: &Engine) -> Self {
        Self::build(engine, Endpoints::namespaces(model, engine), true)
    }

    fn build(engine: &Engine, endpoints: Endpoints, union: bool) -> Self {
        let class_count = engine.classes().len() as u32;
        let entity_count = engine.entity_count();
        let ClassConnectivity {
            pairs,
            ports,
            open_egress,
            open_ingress,
        } = class_pairs(engine, false);
        // Atom groups: the compressed pairs suffice, as the open blocks add the same entries
        // to every atom's row.
        let atoms = engine.ip_space().atoms();
        let (atom_group, groups) = {
            let borrowed: Vec<(EntityIndex, EntityIndex, &PortSet)> = pairs
                .iter()
                .filter(|(s, d, _)| *s >= class_count || *d >= class_count)
                .map(|&(s, d, p)| (s, d, ports.get(p)))
                .collect();
            merge_atoms(atoms, &borrowed, class_count)
        };
        // Index the explicit pairs by source: sorted in place (no second copy of the
        // largest structure), rows delimited by `row_start`.
        let mut targets = pairs;
        targets.sort_unstable_by_key(|&(s, d, _)| (s, d));
        let mut row_start = vec![0usize; entity_count + 1];
        for &(s, _, _) in &targets {
            row_start[s as usize + 1] += 1;
        }
        for e in 0..entity_count {
            row_start[e + 1] += row_start[e];
        }
        let mut is_open_egress = vec![false; class_count as usize];
        for &c in &open_egress {
            is_open_egress[c as usize] = true;
        }
        let mut is_open_ingress = vec![false; class_count as usize];
        for &c in &open_ingress {
            is_open_ingress[c as usize] = true;
        }
        let Endpoints {
            mut peers,
            classes: endpoint_classes,
            of_class,
        } = endpoints;
        let pod_endpoints = peers.len();
        let mut group_first_atom = Vec::with_capacity(groups.len());
        for &(first, last) in &groups {
            let (a, b) = (atoms[first], atoms[last]);
            let name = Atom::display_range(a.family, a.lo, b.hi);
            peers.push(Peer {
                name: name.clone(),
                what: PeerRef::External(name),
            });
            group_first_atom.push(first);
        }
        let mut order: Vec<usize> = (0..peers.len()).collect();
        order.sort_by(|&a, &b| peers[a].name.cmp(&peers[b].name));
        let mut rank = vec![0usize; peers.len()];
        for (place, &e) in order.iter().enumerate() {
            rank[e] = place;
        }
        ConnectivityStream {
            class_count,
            row_start,
            targets,
            ports,
            open_egress: is_open_egress,
            is_open_ingress,
            open_ingress,
            class_pods: engine.classes().iter().map(|c| c.pods.len()).collect(),
            atom_group,
            group_first_atom,
            peers,
            endpoint_classes,
            of_class,
            pod_endpoints,
            order,
            rank,
            union,
        }
    }

    /// Every endpoint that can appear (indexes of [`ConnectivityStream::for_each`]); external
    /// ranges nobody talks to are among them but never in a connection.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// The endpoints, given up.
    pub fn into_peers(self) -> Vec<Peer> {
        self.peers
    }

    /// The whole answer in memory: every row collected, external ranges nobody talks to
    /// dropped.
    pub fn collect(mut self) -> Connectivity {
        let mut connections = Vec::new();
        let collected: Result<(), std::convert::Infallible> =
            self.for_each(&mut |_: &[Peer], src: usize, dst: usize, ports: &PortSet| {
                connections.push(Connection {
                    src,
                    dst,
                    ports: ports.clone(),
                });
                Ok(())
            });
        let Ok(()) = collected;
        sort_and_renumber(self.peers, connections)
    }

    /// The connections with an end `keep` accepts, collected as [`ConnectivityStream::collect`]
    /// does, but at most `limit` of them: the walk stops there (the rest is never expanded),
    /// so memory stays bounded whatever the answer's size. Returns the answer and whether it
    /// is complete. External ranges and peers not kept appear only as the other end of a kept
    /// connection.
    pub fn collect_at_most(
        mut self,
        limit: usize,
        keep: impl Fn(&Peer) -> bool,
    ) -> (Connectivity, bool) {
        let kept: Vec<bool> = self.peers.iter().map(&keep).collect();
        let mut connections = Vec::new();
        let walked = self.for_each(&mut |_: &[Peer], src: usize, dst: usize, ports: &PortSet| {
            if kept[src] || kept[dst] {
                if connections.len() == limit {
                    return Err(());
                }
                connections.push(Connection {
                    src,
                    dst,
                    ports: ports.clone(),
                });
            }
            Ok(())
        });
        let mut peers = self.peers;
        // Peers neither kept nor at an end of a kept connection are left out, as `restrict`
        // leaves them.
        let mut used = kept;
        for c in &connections {
            used[c.src] = true;
            used[c.dst] = true;
        }
        let mut index = vec![usize::MAX; peers.len()];
        let mut next = 0;
        for (i, u) in used.iter().enumerate() {
            if *u {
                index[i] = next;
                next += 1;
            }
        }
        let mut i = 0;
        peers.retain(|_| {
            i += 1;
            used[i - 1]
        });
        for c in &mut connections {
            c.src = index[c.src];
            c.dst = index[c.dst];
        }
        (sort_and_renumber(peers, connections), walked.is_ok())
    }

    /// Number of explicit class pairs held (the memory the stream needs).
    pub fn explicit_pairs(&self) -> usize {
        self.targets.len()
    }

    /// How big the answer is, from the class pairs alone (nothing is expanded).
    pub fn size(&self) -> AnswerSize {
        let groups = self.group_first_atom.len() as u64;
        let endpoints_of = |e: EntityIndex| -> u64 {
            if e < self.class_count {
                self.of_class[e as usize].len() as u64
            } else {
                1
            }
        };
        let mut pairs: u64 = 0;
        for e in 0..self.row_start.len() - 1 {
            let row = &self.targets[self.row_start[e]..self.row_start[e + 1]];
            let from = endpoints_of(e as EntityIndex);
            if from == 0 {
                continue;
            }
            pairs += row
                .iter()
                .map(|&(_, d, _)| from * endpoints_of(d))
                .sum::<u64>();
        }
        let open_from: u64 = (0..self.class_count)
            .filter(|&c| self.open_egress[c as usize])
            .map(endpoints_of)
            .sum();
        let open_to: u64 = self.open_ingress.iter().map(|&c| endpoints_of(c)).sum();
        pairs += open_from * (open_to + groups) + groups * open_to;
        let n = self.peers.len() as u64;
        let mut max_pairs = pairs.min(n * n);
        if self.union && n <= BIT_MATRIX_MAX_ENDPOINTS {
            max_pairs = max_pairs.min(self.union_pairs_bound());
        }
        let names: u64 = self.peers[..self.pod_endpoints]
            .iter()
            .map(|p| p.name.len() as u64)
            .sum();
        let average_name = names / (self.pod_endpoints as u64).max(1);
        // `src => dst : ports\n`, ports averaging about a dozen characters.
        let line = 2 * average_name + 4 + 3 + 12 + 1;
        AnswerSize {
            max_pairs,
            text_bytes: max_pairs * line,
            endpoints: self.peers.len(),
        }
    }

    /// At namespace level: the distinct endpoint pairs some class pair connects, marked in a
    /// bit matrix over the endpoints (a few MB even for 10,000 namespaces).
    fn union_pairs_bound(&self) -> u64 {
        let n = self.peers.len();
        let cc = self.class_count;
        let mut bits = vec![0u64; (n * n).div_ceil(64)];
        let mut mark = |a: usize, b: usize| bits[(a * n + b) / 64] |= 1 << ((a * n + b) % 64);
        let endpoint = |e: EntityIndex| -> usize {
            if e < cc {
                self.of_class[e as usize][0]
            } else {
                self.endpoint_of_atom(e)
            }
        };
        for &(s, d, _) in &self.targets {
            if s == d && self.lone_pod_class(s) {
                continue;
            }
            mark(endpoint(s), endpoint(d));
        }
        // The open blocks, per endpoint rather than per class.
        let mut open_from = vec![false; n];
        let mut open_to = vec![false; n];
        for c in 0..cc {
            if self.open_egress[c as usize] {
                open_from[endpoint(c)] = true;
            }
        }
        for &c in &self.open_ingress {
            open_to[endpoint(c)] = true;
        }
        // External ranges reach every open-ingress class.
        open_from[self.pod_endpoints..].fill(true);
        let groups = self.pod_endpoints..n;
        for a in (0..n).filter(|&a| open_from[a]) {
            let from_group = a >= self.pod_endpoints;
            for b in (0..n).filter(|&b| open_to[b] || (!from_group && groups.contains(&b))) {
                if !(from_group && groups.contains(&b)) {
                    mark(a, b);
                }
            }
        }
        bits.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Number of sources [`ConnectivityStream::for_each`] walks (for progress).
    pub fn sources(&self) -> usize {
        self.order.len()
    }

    /// Whether an entity is a class of a single pod (an external range is no class): such a
    /// class does not connect to itself, a pod does not connect to itself.
    fn lone_pod_class(&self, e: EntityIndex) -> bool {
        self.class_pods
            .get(e as usize)
            .is_some_and(|&pods| pods < 2)
    }

    /// The explicit pairs of a source entity.
    fn explicit(&self, e: EntityIndex) -> &[(EntityIndex, EntityIndex, u32)] {
        &self.targets[self.row_start[e as usize]..self.row_start[e as usize + 1]]
    }

    /// Ports from entity `a` to entity `b` (the open blocks included).
    fn lookup(&self, a: EntityIndex, b: EntityIndex) -> u32 {
        let cc = self.class_count;
        let open_towards_b = b >= cc || self.is_open_ingress[b as usize];
        if a < cc && self.open_egress[a as usize] && open_towards_b {
            return PortSets::ALL;
        }
        if a >= cc && self.is_open_ingress.get(b as usize) == Some(&true) {
            return PortSets::ALL;
        }
        let row = self.explicit(a);
        row.binary_search_by_key(&b, |&(_, d, _)| d)
            .map_or(PortSets::NONE, |i| row[i].2)
    }

    /// Every destination entity of a source entity with its ports: explicit pairs, then the
    /// open blocks (one atom per merged group).
    fn candidates(&self, a: EntityIndex, out: &mut Vec<(EntityIndex, u32)>) {
        let cc = self.class_count;
        out.clear();
        out.extend(self.explicit(a).iter().map(|&(_, d, p)| (d, p)));
        let open_egress = a < cc && self.open_egress[a as usize];
        if open_egress || a >= cc {
            out.extend(self.open_ingress.iter().map(|&d| (d, PortSets::ALL)));
        }
        if open_egress {
            out.extend(
                self.group_first_atom
                    .iter()
                    .map(|&atom| (cc + atom as EntityIndex, PortSets::ALL)),
            );
        }
    }

    fn endpoint_of_atom(&self, e: EntityIndex) -> usize {
        self.pod_endpoints + self.atom_group[(e - self.class_count) as usize]
    }

    /// Calls `each(peers, src, dst, ports)` for every allowed connection, sources by name and
    /// each source's destinations by name; stops at the first error and returns it.
    /// `progress(done, total)` is called after each source.
    pub fn for_each_with_progress<E>(
        &mut self,
        each: &mut RowSink<'_, E>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), E> {
        let order = std::mem::take(&mut self.order);
        let walked = self.walk(&order, each, progress);
        self.order = order;
        walked
    }

    /// External endpoints in name order (the sources of
    /// [`ConnectivityStream::for_each_external_source`]).
    pub fn external_sources(&self) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&e| matches!(self.peers[e].what, PeerRef::External(_)))
            .collect()
    }

    /// [`ConnectivityStream::for_each`] over the external sources only (rows from address
    /// ranges), in the same order.
    pub fn for_each_external_source<E>(&mut self, each: &mut RowSink<'_, E>) -> Result<(), E> {
        let sources = self.external_sources();
        self.walk(&sources, each, &mut |_, _| {})
    }

    /// The rows of `sources` (endpoints, in the order given).
    fn walk<E>(
        &mut self,
        order: &[usize],
        each: &mut RowSink<'_, E>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), E> {
        let total = order.len();
        let mut candidates = Vec::new();
        let mut row: Vec<(usize, u32)> = Vec::new();
        // Per destination endpoint: the source it was last added for (dedup) and its slot.
        let mut seen_for = vec![usize::MAX; self.peers.len()];
        let mut slot = vec![0usize; self.peers.len()];
        for (done, &src) in order.iter().enumerate() {
            row.clear();
            if self.union {
                self.union_row(src, &mut candidates, &mut row, &mut seen_for, &mut slot);
            } else {
                self.intersection_row(src, &mut candidates, &mut row, &mut seen_for);
            }
            row.sort_unstable_by_key(|&(dst, _)| self.rank[dst]);
            for &(dst, p) in &row {
                each(&self.peers, src, dst, self.ports.get(p))?;
            }
            progress(done + 1, total);
        }
        Ok(())
    }

    /// [`ConnectivityStream::for_each_with_progress`] without progress.
    pub fn for_each<E>(&mut self, each: &mut RowSink<'_, E>) -> Result<(), E> {
        self.for_each_with_progress(each, &mut |_, _| {})
    }

    /// A row at pod or workload level: the destinations reachable from the source's first
    /// class, each checked over every class pair of the two endpoints.
    fn intersection_row(
        &mut self,
        src: usize,
        candidates: &mut Vec<(EntityIndex, u32)>,
        row: &mut Vec<(usize, u32)>,
        seen_for: &mut [usize],
    ) {
        let cc = self.class_count;
        let src_entities: Vec<EntityIndex> = if src < self.pod_endpoints {
            self.endpoint_classes[src].clone()
        } else {
            vec![cc + self.group_first_atom[src - self.pod_endpoints] as EntityIndex]
        };
        let Some(&first) = src_entities.first() else {
            return;
        };
        self.candidates(first, candidates);
        for &(d, p) in candidates.iter() {
            let dsts: &[usize] = if d < cc {
                &self.of_class[d as usize]
            } else {
                &[]
            };
            let atom_endpoint;
            let dsts = if d < cc {
                dsts
            } else {
                atom_endpoint = [self.endpoint_of_atom(d)];
                &atom_endpoint[..]
            };
            for &dst in dsts {
                if dst == src || seen_for[dst] == src {
                    continue;
                }
                // Merged atoms repeat the same destination; the first one stands for all.
                seen_for[dst] = src;
                let mut q = p;
                let dst_multi = dst < self.pod_endpoints && self.endpoint_classes[dst].len() > 1;
                if src_entities.len() > 1 || dst_multi {
                    let dst_entities: &[EntityIndex] = if dst < self.pod_endpoints {
                        &self.endpoint_classes[dst]
                    } else {
                        std::slice::from_ref(&d)
                    };
                    'all: for &a in &src_entities {
                        for &b in dst_entities {
                            let both = self.lookup(a, b);
                            q = self.ports.intersection(q, both);
                            if q == PortSets::NONE {
                                break 'all;
                            }
                        }
                    }
                }
                if q != PortSets::NONE {
                    row.push((dst, q));
                }
            }
        }
    }

    /// A row at namespace level: the union over the source's classes.
    fn union_row(
        &mut self,
        src: usize,
        candidates: &mut Vec<(EntityIndex, u32)>,
        row: &mut Vec<(usize, u32)>,
        seen_for: &mut [usize],
        slot: &mut [usize],
    ) {
        let cc = self.class_count;
        let src_entities: Vec<EntityIndex> = if src < self.pod_endpoints {
            self.endpoint_classes[src].clone()
        } else {
            vec![cc + self.group_first_atom[src - self.pod_endpoints] as EntityIndex]
        };
        for &a in &src_entities {
            self.candidates(a, candidates);
            for &(d, p) in candidates.iter() {
                // A pod does not connect to itself: a class to itself needs two pods.
                if d == a && self.lone_pod_class(a) {
                    continue;
                }
                let dst = if d < cc {
                    self.of_class[d as usize][0]
                } else {
                    self.endpoint_of_atom(d)
                };
                if seen_for[dst] != src {
                    seen_for[dst] = src;
                    slot[dst] = row.len();
                    row.push((dst, PortSets::NONE));
                }
                let entry = &mut row[slot[dst]].1;
                *entry = self.ports.union(*entry, p);
            }
        }
        row.retain(|&(_, p)| p != PortSets::NONE);
    }
}
