//! What a proposed policy set would break or open, grouped by workload pair.

use rustc_hash::FxHashMap;

use crate::summary::{PairKey, observed_index};
use crate::{Change, Replayed};

/// Sessions of one pair that one change affects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeGroup {
    /// Break or open.
    pub change: Change,
    /// The pair and port.
    pub pair: PairKey,
    /// Sessions affected.
    pub sessions: u64,
    /// Of those, by observed outcome: accepted, refused, timed-out, unknown.
    pub observed: [u64; 4],
    /// Start of the first.
    pub first_ns: i64,
    /// Start of the last.
    pub last_ns: i64,
}

/// Collects break / open changes.
#[derive(Clone, Debug, Default)]
pub struct WhatIf {
    groups: FxHashMap<(Change, PairKey), ChangeGroup>,
    /// Sessions evaluated.
    pub sessions: u64,
    /// Sessions that would break.
    pub breaks: u64,
    /// Sessions that would open.
    pub opens: u64,
}

impl WhatIf {
    /// Counts one session (sessions without a change only count as evaluated).
    pub fn add(&mut self, r: &Replayed) {
        self.sessions += 1;
        let Some(change) = r.change else { return };
        match change {
            Change::Break => self.breaks += 1,
            Change::Open => self.opens += 1,
        }
        let pair = PairKey::of(r);
        let t = r.session.start_ns;
        let g = self
            .groups
            .entry((change, pair.clone()))
            .or_insert_with(|| ChangeGroup {
                change,
                pair,
                sessions: 0,
                observed: [0; 4],
                first_ns: t,
                last_ns: t,
            });
        g.sessions += 1;
        g.observed[observed_index(r.session.observed)] += 1;
        g.first_ns = g.first_ns.min(t);
        g.last_ns = g.last_ns.max(t);
    }

    /// The groups: breaks first, then opens; each by first time, then pair.
    pub fn groups(&self) -> Vec<&ChangeGroup> {
        let mut v: Vec<_> = self.groups.values().collect();
        v.sort_by(|a, b| (a.change, a.first_ns, &a.pair).cmp(&(b.change, b.first_ns, &b.pair)));
        v
    }
}
