//! Counts per outcome and per workload pair.

use std::sync::Arc;

use palisade_model::Protocol;
use rustc_hash::FxHashMap;

use crate::{MismatchKind, Predicted, Replayed};

/// A workload pair and the port it talks on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PairKey {
    /// `namespace/workload` or the IP of the source.
    pub src: Arc<str>,
    /// `namespace/workload` or the IP of the destination.
    pub dst: Arc<str>,
    /// Protocol.
    pub protocol: Protocol,
    /// Destination port.
    pub port: u16,
}

impl PairKey {
    /// The pair of a replayed session.
    pub fn of(r: &Replayed) -> PairKey {
        let label = |name: &Option<Arc<str>>, ip: std::net::IpAddr| match name {
            Some(n) => n.clone(),
            None => Arc::from(ip.to_string()),
        };
        PairKey {
            src: label(&r.src.name, r.session.src.ip()),
            dst: label(&r.dst.name, r.session.dst.ip()),
            protocol: r.session.proto,
            port: r.session.dst.port(),
        }
    }
}

/// Counts for one pair (or for all sessions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairStat {
    /// Sessions.
    pub sessions: u64,
    /// By observed outcome: accepted, refused, timed-out, unknown.
    pub observed: [u64; 4],
    /// By predicted outcome: accepted, refused, timed-out.
    pub predicted: [u64; 3],
    /// Sessions flagged with a mismatch.
    pub mismatches: u64,
    /// Start of the first session.
    pub first_ns: i64,
    /// Start of the last session.
    pub last_ns: i64,
}

/// Index of an observed outcome in [`PairStat::observed`].
pub fn observed_index(o: palisade_flows::Observed) -> usize {
    use palisade_flows::Observed;
    match o {
        Observed::Accepted => 0,
        Observed::Refused => 1,
        Observed::TimedOut => 2,
        Observed::Unknown => 3,
    }
}

/// Index of a predicted outcome in [`PairStat::predicted`].
pub fn predicted_index(p: Predicted) -> usize {
    match p {
        Predicted::Accepted => 0,
        Predicted::Refused => 1,
        Predicted::TimedOut => 2,
    }
}

impl PairStat {
    fn add(&mut self, r: &Replayed) {
        let t = r.session.start_ns;
        if self.sessions == 0 {
            self.first_ns = t;
            self.last_ns = t;
        } else {
            self.first_ns = self.first_ns.min(t);
            self.last_ns = self.last_ns.max(t);
        }
        self.sessions += 1;
        self.observed[observed_index(r.session.observed)] += 1;
        self.predicted[predicted_index(r.predicted)] += 1;
        self.mismatches += u64::from(r.mismatch.is_some());
    }
}

/// Above this many distinct pairs, further pairs are counted together in
/// [`Summary::other_pairs`] (bounded memory with many external peers).
pub const PAIR_LIMIT: usize = 10_000;

/// Totals and per-pair counts of replayed sessions.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// All sessions.
    pub total: PairStat,
    /// Mismatches by kind, in [`MismatchKind::ALL`] order.
    pub mismatch_kinds: [u64; 4],
    /// Sessions that fell into a gap of the record (their outcome may be wrong).
    pub during_gap: u64,
    /// Per pair.
    pub pairs: FxHashMap<PairKey, PairStat>,
    /// Sessions of pairs beyond [`PAIR_LIMIT`].
    pub other_pairs: PairStat,
}

impl Summary {
    /// Counts one session.
    pub fn add(&mut self, r: &Replayed) {
        self.total.add(r);
        if let Some(m) = &r.mismatch {
            let i = MismatchKind::ALL
                .iter()
                .position(|k| *k == m.kind)
                .expect("every kind is listed");
            self.mismatch_kinds[i] += 1;
        }
        self.during_gap += u64::from(r.session.during_gap);
        let key = PairKey::of(r);
        if let Some(stat) = self.pairs.get_mut(&key) {
            stat.add(r);
        } else if self.pairs.len() < PAIR_LIMIT {
            self.pairs.entry(key).or_default().add(r);
        } else {
            self.other_pairs.add(r);
        }
    }

    /// Pairs, most sessions first (then by name).
    pub fn pairs_sorted(&self) -> Vec<(&PairKey, &PairStat)> {
        let mut v: Vec<_> = self.pairs.iter().collect();
        v.sort_by(|a, b| b.1.sessions.cmp(&a.1.sessions).then_with(|| a.0.cmp(b.0)));
        v
    }
}
