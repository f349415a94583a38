//! Which sessions policy generation learns from, and why the others are left out.

use std::collections::BTreeMap;
use std::net::IpAddr;

use palisade_flows::Observed;
use palisade_model::{PodId, Protocol};
use palisade_replay::Replayed;
use rustc_hash::FxHashMap;

use crate::map::{Map, MapBuilder, MapLevel, MapOptions, NodeKey, NodeKind};

/// Which observed outcomes are learned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LearnMode {
    /// Only sessions observed accepted.
    #[default]
    Accepted,
    /// Also sessions that were attempted and refused or timed out (today's intended traffic).
    Attempted,
}

/// Why a session was not learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Left out by the command's filters.
    Filtered,
    /// A gap in the record (lost events) fell inside it: its outcome may be wrong.
    DuringGap,
    /// The capture cannot tell its outcome.
    UnknownOutcome,
    /// Refused or timed out, with `--learn accepted`.
    NotAccepted,
    /// An address that looks like the cluster's but no pod of the model has.
    UnmappedAddress,
    /// Hubble names a pod the model lacks, or another pod than the model gives the address.
    DoubtfulMapping,
    /// Neither end is a pod of the cluster: no policy can be about it.
    NoClusterEnd,
    /// An Admin-tier guardrail (ClusterNetworkPolicy, AdminNetworkPolicy) denies it: no
    /// NetworkPolicy can allow it, so none is proposed for it.
    AdminDenied,
}

impl SkipReason {
    /// Kebab-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Filtered => "filtered",
            SkipReason::DuringGap => "during-gap",
            SkipReason::UnknownOutcome => "unknown-outcome",
            SkipReason::NotAccepted => "not-accepted",
            SkipReason::UnmappedAddress => "unmapped-address",
            SkipReason::DoubtfulMapping => "doubtful-mapping",
            SkipReason::NoClusterEnd => "no-cluster-end",
            SkipReason::AdminDenied => "admin-denied",
        }
    }

    /// One sentence for a human.
    pub fn explain(self) -> &'static str {
        match self {
            SkipReason::Filtered => "left out by the filters (--from, --to, --namespace, ...)",
            SkipReason::DuringGap => {
                "open during a gap in the record (lost events): the outcome may be wrong"
            }
            SkipReason::UnknownOutcome => {
                "the capture cannot tell the outcome (started mid-connection, or no outcome column)"
            }
            SkipReason::NotAccepted => {
                "refused or timed out: not learned (--learn attempted keeps them)"
            }
            SkipReason::UnmappedAddress => {
                "a cluster-looking address no pod of the cluster model has (export the pods again)"
            }
            SkipReason::DoubtfulMapping => {
                "Hubble names a pod the cluster model lacks or gives the address to another pod"
            }
            SkipReason::NoClusterEnd => "neither end is a pod of the cluster",
            SkipReason::AdminDenied => {
                "an Admin-tier guardrail denies it: a NetworkPolicy cannot allow it (change the guardrail instead)"
            }
        }
    }
}

/// How many sessions were skipped for each reason, with the first few as examples.
#[derive(Clone, Debug, Default)]
pub struct Skipped {
    /// Count and up to [`EXAMPLES`] examples (`src → dst :port/PROTO`) per reason.
    pub reasons: BTreeMap<SkipReason, (u64, Vec<String>)>,
}

/// Examples kept per skip reason.
pub const EXAMPLES: usize = 3;

impl Skipped {
    /// Counts one skipped session.
    pub fn add(&mut self, reason: SkipReason, r: &Replayed) {
        let entry = self.reasons.entry(reason).or_default();
        entry.0 += 1;
        if entry.1.len() < EXAMPLES {
            let s = &r.session;
            entry.1.push(format!(
                "{} → {} :{}/{}",
                r.src.label(s.src.ip()),
                r.dst.label(s.dst.ip()),
                s.dst.port(),
                s.proto
            ));
        }
    }

    /// All skipped sessions.
    pub fn total(&self) -> u64 {
        self.reasons.values().map(|(n, _)| n).sum()
    }
}

/// One end of a learned session as replay evaluated it: the pod (when mapped) and the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct End {
    /// The pod, when mapped.
    pub pod: Option<PodId>,
    /// The address on the wire.
    pub ip: IpAddr,
}

/// Learned sessions between the same two ends on one protocol and port.
#[derive(Clone, Debug)]
pub struct Tuple {
    /// The initiator.
    pub src: End,
    /// The peer.
    pub dst: End,
    /// Source node (index into [`Observation::map`]).
    pub src_node: usize,
    /// Destination node.
    pub dst_node: usize,
    /// Protocol.
    pub protocol: Protocol,
    /// Destination port.
    pub port: u16,
    /// Learned sessions.
    pub sessions: u64,
    /// First session start (ns).
    pub first_ns: i64,
    /// Last session start (ns).
    pub last_ns: i64,
}

/// What was learned from a capture.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// The workload-level map of every session that was not filtered (learned or not).
    pub map: Map,
    /// The learned sessions, grouped by their two ends, protocol and port; sorted.
    pub tuples: Vec<Tuple>,
    /// Sessions seen (before filters).
    pub sessions: u64,
    /// Sessions learned.
    pub learned: u64,
    /// Sessions not learned, by reason.
    pub skipped: Skipped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct TupleKey {
    src: End,
    dst: End,
    protocol: Protocol,
    port: u16,
}

/// Collects the map and the learned sessions of a capture.
#[derive(Debug)]
pub struct Learner<'m> {
    builder: MapBuilder<'m>,
    mode: LearnMode,
    tuples: FxHashMap<TupleKey, Tuple>,
    sessions: u64,
    learned: u64,
    skipped: Skipped,
}

impl<'m> Learner<'m> {
    /// A learner over a model; the map is built at workload level whatever `options.level`.
    pub fn new(model: &'m palisade_model::Model, mut options: MapOptions, mode: LearnMode) -> Self {
        options.level = MapLevel::Workload;
        Learner {
            builder: MapBuilder::new(model, options),
            mode,
            tuples: FxHashMap::default(),
            sessions: 0,
            learned: 0,
            skipped: Skipped::default(),
        }
    }

    /// Counts a session the filters left out.
    pub fn filtered(&mut self, r: &Replayed) {
        self.sessions += 1;
        self.skipped.add(SkipReason::Filtered, r);
    }

    /// Adds a session: to the map, and learned unless a [`SkipReason`] applies.
    pub fn add(&mut self, r: &Replayed) {
        self.sessions += 1;
        let (src_node, dst_node) = self.builder.add(r);
        match self.reason(r, src_node, dst_node) {
            Some(reason) => self.skipped.add(reason, r),
            None => self.learn(r, src_node, dst_node),
        }
    }

    fn reason(&self, r: &Replayed, src_node: usize, dst_node: usize) -> Option<SkipReason> {
        let s = &r.session;
        if s.during_gap {
            return Some(SkipReason::DuringGap);
        }
        match (s.observed, self.mode) {
            (Observed::Unknown, _) => return Some(SkipReason::UnknownOutcome),
            (Observed::Refused | Observed::TimedOut, LearnMode::Accepted) => {
                return Some(SkipReason::NotAccepted);
            }
            _ => {}
        }
        let (sk, dk) = (self.builder.key_of(src_node), self.builder.key_of(dst_node));
        if matches!(sk, NodeKey::Unknown(_)) || matches!(dk, NodeKey::Unknown(_)) {
            return Some(SkipReason::UnmappedAddress);
        }
        if r.src.has_mapping_problem() || r.dst.has_mapping_problem() {
            return Some(SkipReason::DoubtfulMapping);
        }
        let cluster = |k: &NodeKey| matches!(k, NodeKey::Workload(_) | NodeKey::Pod(_));
        if !cluster(sk) && !cluster(dk) {
            return Some(SkipReason::NoClusterEnd);
        }
        if r.current
            .decided_by
            .iter()
            .any(|d| d.tier == Some(palisade_model::AdminTier::Admin) && !d.allows)
        {
            return Some(SkipReason::AdminDenied);
        }
        None
    }

    fn learn(&mut self, r: &Replayed, src_node: usize, dst_node: usize) {
        let s = &r.session;
        let key = TupleKey {
            src: End {
                pod: r.src.pod,
                ip: s.src.ip(),
            },
            dst: End {
                pod: r.dst.pod,
                ip: s.dst.ip(),
            },
            protocol: s.proto,
            port: s.dst.port(),
        };
        let t = self.tuples.entry(key).or_insert(Tuple {
            src: key.src,
            dst: key.dst,
            src_node,
            dst_node,
            protocol: s.proto,
            port: s.dst.port(),
            sessions: 0,
            first_ns: s.start_ns,
            last_ns: s.start_ns,
        });
        t.sessions += 1;
        t.first_ns = t.first_ns.min(s.start_ns);
        t.last_ns = t.last_ns.max(s.start_ns);
        self.learned += 1;
    }

    /// The observation: map, learned tuples (node indexes rewritten to the sorted map's).
    pub fn finish(self) -> Observation {
        let Learner {
            builder,
            tuples,
            sessions,
            learned,
            skipped,
            ..
        } = self;
        // Node ids before sorting, to rewrite the tuples' node indexes.
        let keys: Vec<NodeKey> = builder.node_keys();
        let map = builder.finish();
        let position: FxHashMap<&NodeKey, usize> = map
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (&n.key, i))
            .collect();
        let mut tuples: Vec<Tuple> = tuples
            .into_values()
            .map(|mut t| {
                t.src_node = position[&keys[t.src_node]];
                t.dst_node = position[&keys[t.dst_node]];
                t
            })
            .collect();
        tuples.sort_by(|a, b| {
            (a.src_node, a.dst_node, a.protocol, a.port, a.src, a.dst)
                .cmp(&(b.src_node, b.dst_node, b.protocol, b.port, b.src, b.dst))
        });
        debug_assert!(
            tuples
                .iter()
                .all(|t| map.nodes[t.src_node].kind != NodeKind::Unknown)
        );
        Observation {
            map,
            tuples,
            sessions,
            learned,
            skipped,
        }
    }
}
