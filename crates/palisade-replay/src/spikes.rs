//! Deny spikes: windows with many more denied sessions than the windows before them.
//!
//! Denied sessions (observed refused or timed out, or predicted denied) are counted per
//! window of fixed length, aligned to the epoch. A window is a spike when its count is above
//! `median + k · MAD` of the earlier windows (up to [`SpikeConfig::baseline_windows`] of them,
//! empty windows counting as 0; MAD scaled by 1.4826 to estimate a standard deviation and
//! floored at 1 so that a perfectly flat baseline does not flag a single extra deny), or,
//! with an absolute threshold, when it has at least that many. Median and MAD ignore
//! outliers, so one earlier burst does not hide the next one; using only earlier windows
//! means a long burst is flagged when it starts and becomes the baseline as it persists.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::Replayed;
use crate::summary::PairKey;

/// Which denials count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SpikeBasis {
    /// Sessions observed refused or timed out.
    #[default]
    Observed,
    /// Sessions the policies deny.
    Predicted,
}

impl SpikeBasis {
    /// `observed` or `predicted`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpikeBasis::Observed => "observed",
            SpikeBasis::Predicted => "predicted",
        }
    }
}

/// Spike detection settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeConfig {
    /// Window length in nanoseconds (default 1 min).
    pub window_ns: i64,
    /// Which denials count.
    pub basis: SpikeBasis,
    /// `k` in `median + k · MAD` (default 3).
    pub k: f64,
    /// An absolute threshold instead of the baseline: at least this many denials.
    pub threshold: Option<u64>,
    /// How many earlier windows form the baseline (default 60).
    pub baseline_windows: usize,
    /// How many earlier windows the baseline needs before it flags anything (default 3).
    pub min_baseline: usize,
    /// How many workload pairs to report per spike (default 5).
    pub top: usize,
}

impl Default for SpikeConfig {
    fn default() -> Self {
        SpikeConfig {
            window_ns: 60_000_000_000,
            basis: SpikeBasis::Observed,
            k: 3.0,
            threshold: None,
            baseline_windows: 60,
            min_baseline: 3,
            top: 5,
        }
    }
}

/// One window's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowStat {
    /// Sessions starting in it.
    pub sessions: u64,
    /// Of those, denied.
    pub denied: u64,
    /// Denied sessions per pair.
    pub pairs: FxHashMap<PairKey, u64>,
}

/// A flagged window.
#[derive(Clone, Debug, PartialEq)]
pub struct Spike {
    /// Window start (ns since the epoch).
    pub start_ns: i64,
    /// Window end.
    pub end_ns: i64,
    /// Denied sessions in it.
    pub denied: u64,
    /// All sessions in it.
    pub sessions: u64,
    /// Median of the baseline windows (absent with an absolute threshold).
    pub median: Option<f64>,
    /// Scaled MAD of the baseline windows (absent with an absolute threshold).
    pub mad: Option<f64>,
    /// The threshold it exceeded.
    pub threshold: f64,
    /// The pairs with most denials in it.
    pub top: Vec<(PairKey, u64)>,
}

/// The result of spike detection.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeReport {
    /// The settings used.
    pub config: SpikeConfig,
    /// Windows from the first to the last session (empty ones included).
    pub windows: u64,
    /// Denied sessions in all.
    pub denied: u64,
    /// The spikes, in time order.
    pub spikes: Vec<Spike>,
}

/// Collects per-window counts.
#[derive(Clone, Debug)]
pub struct Spikes {
    config: SpikeConfig,
    windows: BTreeMap<i64, WindowStat>,
}

/// Above this many distinct pairs in a window, further ones are not tracked separately.
const WINDOW_PAIR_LIMIT: usize = 4096;

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Median and scaled MAD (×1.4826) of counts.
pub fn median_mad(values: &[u64]) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_by(f64::total_cmp);
    let m = median(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    dev.sort_by(f64::total_cmp);
    (m, median(&dev) * 1.4826)
}

/// The spike rule, shared with [`crate::SlidingSpikes`]: whether a window with `denied`
/// denials is a spike against the earlier windows' counts (`history`, oldest first), with
/// the baseline's median, MAD and the threshold it had to exceed.
pub(crate) fn spike_rule(
    cfg: &SpikeConfig,
    history: &[u64],
    denied: u64,
) -> Option<(Option<f64>, Option<f64>, f64)> {
    match cfg.threshold {
        Some(t) => (denied >= t && denied > 0).then_some((None, None, t as f64)),
        None if history.len() >= cfg.min_baseline.max(1) => {
            let (m, mad) = median_mad(history);
            let threshold = m + cfg.k.max(0.0) * mad.max(1.0);
            (denied as f64 > threshold).then_some((Some(m), Some(mad), threshold))
        }
        None => None,
    }
}

impl Spikes {
    /// A detector with these settings.
    pub fn new(config: SpikeConfig) -> Self {
        Spikes {
            config: SpikeConfig {
                window_ns: config.window_ns.max(1),
                ..config
            },
            windows: BTreeMap::new(),
        }
    }

    /// Counts one session.
    pub fn add(&mut self, r: &Replayed) {
        let w = r.session.start_ns.div_euclid(self.config.window_ns);
        let stat = self.windows.entry(w).or_default();
        stat.sessions += 1;
        if r.denied(self.config.basis) {
            stat.denied += 1;
            let key = PairKey::of(r);
            if let Some(n) = stat.pairs.get_mut(&key) {
                *n += 1;
            } else if stat.pairs.len() < WINDOW_PAIR_LIMIT {
                stat.pairs.insert(key, 1);
            }
        }
    }

    /// Counts denials directly (for tests and callers with their own sessions): `denied` of
    /// `sessions` in the window starting at `start_ns`, attributed to `pair`.
    pub fn add_counts(&mut self, start_ns: i64, sessions: u64, denied: u64, pair: Option<PairKey>) {
        let w = start_ns.div_euclid(self.config.window_ns);
        let stat = self.windows.entry(w).or_default();
        stat.sessions += sessions;
        stat.denied += denied;
        if let Some(p) = pair {
            *stat.pairs.entry(p).or_default() += denied;
        }
    }

    /// Flags the spikes.
    pub fn report(&self) -> SpikeReport {
        let cfg = &self.config;
        let mut spikes = Vec::new();
        let (Some((&first, _)), Some((&last, _))) = (
            self.windows.first_key_value(),
            self.windows.last_key_value(),
        ) else {
            return SpikeReport {
                config: cfg.clone(),
                windows: 0,
                denied: 0,
                spikes,
            };
        };
        // Only windows with sessions are visited; a run of empty windows between them only
        // pushes zeros into the baseline, at most as many as the baseline holds. An empty
        // window is never a spike (0 is not above a threshold ≥ 0, nor ≥ a threshold > 0),
        // so the result is the same as walking every window, at a cost of O(windows with
        // sessions × baseline) however far apart they are.
        let capacity = cfg.baseline_windows.max(1);
        let mut history: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
        let mut denied_total = 0;
        let mut previous: Option<i64> = None;
        for (&w, stat) in &self.windows {
            if let Some(p) = previous {
                let gap = u64::try_from(w.saturating_sub(p).saturating_sub(1)).unwrap_or(0);
                for _ in 0..gap.min(capacity as u64) {
                    history.push_back(0);
                    if history.len() > capacity {
                        history.pop_front();
                    }
                }
            }
            previous = Some(w);
            denied_total += stat.denied;
            let flagged = spike_rule(cfg, history.make_contiguous(), stat.denied);
            if let Some((median, mad, threshold)) = flagged {
                let mut top: Vec<(PairKey, u64)> =
                    stat.pairs.iter().map(|(k, &n)| (k.clone(), n)).collect();
                top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                top.truncate(cfg.top);
                spikes.push(Spike {
                    start_ns: w.saturating_mul(cfg.window_ns),
                    end_ns: w.saturating_add(1).saturating_mul(cfg.window_ns),
                    denied: stat.denied,
                    sessions: stat.sessions,
                    median,
                    mad,
                    threshold,
                    top,
                });
            }
            history.push_back(stat.denied);
            if history.len() > capacity {
                history.pop_front();
            }
        }
        SpikeReport {
            config: cfg.clone(),
            windows: u64::try_from(i128::from(last) - i128::from(first) + 1).unwrap_or(u64::MAX),
            denied: denied_total,
            spikes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::Protocol;
    use std::sync::Arc;

    const MIN: i64 = 60_000_000_000;

    fn pair(src: &str) -> PairKey {
        PairKey {
            src: Arc::from(src),
            dst: Arc::from("payments/ledger"),
            protocol: Protocol::Tcp,
            port: 9090,
        }
    }

    fn detect(counts: &[u64], config: SpikeConfig) -> Vec<i64> {
        let mut s = Spikes::new(config);
        for (i, &n) in counts.iter().enumerate() {
            s.add_counts(i as i64 * MIN, n.max(1), n, Some(pair("shop/frontend")));
        }
        s.report()
            .spikes
            .iter()
            .map(|sp| sp.start_ns / MIN)
            .collect()
    }

    #[test]
    fn flat_baseline_then_burst() {
        assert_eq!(
            detect(&[10, 10, 10, 10, 10, 40], SpikeConfig::default()),
            vec![5]
        );
    }

    #[test]
    fn baseline_is_earlier_windows_only() {
        // With the whole series as baseline (median 50) the start of the burst would not
        // stand out; against the earlier windows it does, and once the burst has lasted it
        // is the new normal.
        let counts = [0, 0, 0, 0, 0, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50];
        let spikes = detect(&counts, SpikeConfig::default());
        assert_eq!(spikes.first(), Some(&5));
        assert!(!spikes.contains(&15), "{spikes:?}");
    }

    #[test]
    fn one_outlier_does_not_hide_the_next_spike() {
        // A mean + k·sd baseline would be inflated by the 1000 and miss the 25.
        let counts = [10, 10, 10, 1000, 10, 10, 25];
        assert_eq!(detect(&counts, SpikeConfig::default()), vec![3, 6]);
    }

    #[test]
    fn noisy_baseline_needs_more() {
        // MAD reflects the noise: 16 is within it, 40 is not.
        let counts = [4, 12, 6, 14, 8, 10, 16, 40];
        assert_eq!(detect(&counts, SpikeConfig::default()), vec![7]);
    }

    #[test]
    fn empty_windows_count_as_zero() {
        // Sessions only in windows 0 and 10: the 9 empty windows between are the baseline.
        let mut s = Spikes::new(SpikeConfig::default());
        s.add_counts(0, 5, 0, None);
        s.add_counts(10 * MIN, 5, 5, Some(pair("shop/cart")));
        let r = s.report();
        assert_eq!(r.windows, 11);
        assert_eq!(r.spikes.len(), 1);
        assert_eq!(r.spikes[0].start_ns, 10 * MIN);
        assert_eq!(r.spikes[0].median, Some(0.0));
        assert_eq!(r.spikes[0].top, vec![(pair("shop/cart"), 5)]);
    }

    #[test]
    fn too_little_history_flags_nothing() {
        assert!(detect(&[0, 100], SpikeConfig::default()).is_empty());
    }

    #[test]
    fn absolute_threshold() {
        let config = SpikeConfig {
            threshold: Some(20),
            ..SpikeConfig::default()
        };
        assert_eq!(detect(&[30, 5, 20, 19], config), vec![0, 2]);
    }

    #[test]
    fn baseline_window_count_is_bounded() {
        // After a long quiet period the default baseline (60 windows) still sees mostly
        // zeros and keeps flagging the new level; a 3-window baseline adapts to it.
        let counts = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30, 30, 30, 30, 31];
        let bounded = SpikeConfig {
            baseline_windows: 3,
            ..SpikeConfig::default()
        };
        assert_eq!(detect(&counts, bounded), vec![10, 11]);
        assert_eq!(
            detect(&counts, SpikeConfig::default()),
            vec![10, 11, 12, 13, 14]
        );
    }

    /// Every window walked one by one, as the detector did before it skipped empty runs.
    fn walk_every_window(
        counts: &std::collections::BTreeMap<i64, u64>,
        cfg: &SpikeConfig,
    ) -> Vec<i64> {
        let (Some((&first, _)), Some((&last, _))) =
            (counts.first_key_value(), counts.last_key_value())
        else {
            return Vec::new();
        };
        let mut history = std::collections::VecDeque::new();
        let mut out = Vec::new();
        for w in first..=last {
            let denied = counts.get(&w).copied().unwrap_or(0);
            let flagged = match cfg.threshold {
                Some(t) => denied >= t && denied > 0,
                None if history.len() >= cfg.min_baseline.max(1) => {
                    let values: Vec<u64> = history.iter().copied().collect();
                    let (m, mad) = median_mad(&values);
                    denied as f64 > m + cfg.k * mad.max(1.0)
                }
                None => false,
            };
            if flagged {
                out.push(w);
            }
            history.push_back(denied);
            if history.len() > cfg.baseline_windows.max(1) {
                history.pop_front();
            }
        }
        out
    }

    #[test]
    fn skipping_empty_windows_changes_nothing() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        for case in 0..300 {
            let cfg = SpikeConfig {
                baseline_windows: 1 + next(8) as usize,
                min_baseline: 1 + next(4) as usize,
                k: [0.0, 1.0, 3.0][next(3) as usize],
                threshold: (case % 5 == 0).then(|| 1 + next(5)),
                ..SpikeConfig::default()
            };
            let mut counts = std::collections::BTreeMap::new();
            let mut w = 0;
            for _ in 0..next(12) {
                w += 1 + next(15) as i64;
                counts.insert(w, next(20));
            }
            let mut s = Spikes::new(cfg.clone());
            for (&w, &n) in &counts {
                s.add_counts(w * MIN, n.max(1), n, None);
            }
            let got: Vec<i64> = s
                .report()
                .spikes
                .iter()
                .map(|sp| sp.start_ns / MIN)
                .collect();
            assert_eq!(
                got,
                walk_every_window(&counts, &cfg),
                "case {case}: {counts:?} {cfg:?}"
            );
        }
    }

    #[test]
    fn three_centuries_of_nanosecond_windows() {
        // One event in 1900, a burst in 2200: with 1 ns windows that is ~9.5e18 windows, which
        // the detector must not walk one by one.
        let mut s = Spikes::new(SpikeConfig {
            window_ns: 1,
            ..SpikeConfig::default()
        });
        let y1900 = -2_208_988_800_000_000_000;
        let y2200 = 7_258_118_400_000_000_000;
        s.add_counts(y1900, 1, 0, None);
        for i in 0..5 {
            s.add_counts(y2200 + i, 1, 0, None);
        }
        s.add_counts(y2200 + 5, 50, 50, None);
        let r = s.report();
        assert_eq!(
            r.windows,
            (i128::from(y2200) + 5 - i128::from(y1900) + 1) as u64
        );
        assert_eq!(r.spikes.len(), 1);
        assert_eq!(r.spikes[0].start_ns, y2200 + 5);
    }
}
