//! Deny spikes while following: the rule of [`crate::Spikes`] (a window is a spike when its
//! denials exceed `median + k·MAD` of the earlier windows, or an absolute threshold), kept per
//! key (e.g. a namespace pair) over a sliding baseline of the last
//! [`SpikeConfig::baseline_windows`] windows, so memory is bounded by the number of keys.
//!
//! A spike *starts* when the current window's count first exceeds its threshold and *ends*
//! when a window closes without exceeding it (a lasting burst becomes the baseline and ends
//! that way too).

use std::collections::{BTreeMap, VecDeque};

use crate::spikes::{SpikeConfig, spike_rule};

/// A spike starting or ending.
#[derive(Clone, Debug, PartialEq)]
pub enum SpikeChange<K> {
    /// The current window of `key` went above its threshold.
    Started {
        /// The key.
        key: K,
        /// Start of the window (ns since the epoch).
        window_start_ns: i64,
        /// Denials so far in it.
        denied: u64,
        /// The threshold exceeded.
        threshold: f64,
    },
    /// A window of `key` closed below its threshold.
    Ended {
        /// The key.
        key: K,
        /// Start of the window that closed below the threshold.
        window_start_ns: i64,
    },
}

#[derive(Debug)]
struct Track {
    window: i64,
    denied: u64,
    history: VecDeque<u64>,
    spiking: bool,
    /// Whether the current window has crossed its threshold.
    current_over: bool,
}

/// Per-key sliding spike detection; see the module docs.
#[derive(Debug)]
pub struct SlidingSpikes<K> {
    config: SpikeConfig,
    tracks: BTreeMap<K, Track>,
    max_keys: usize,
    overflow: K,
    /// The window of the last [`SlidingSpikes::tick`], so ticks within it cost nothing.
    ticked: i64,
}

impl<K: Ord + Clone> SlidingSpikes<K> {
    /// A detector; at most `max_keys` keys are tracked, later ones count under `overflow`.
    pub fn new(config: SpikeConfig, max_keys: usize, overflow: K) -> Self {
        SlidingSpikes {
            config: SpikeConfig {
                window_ns: config.window_ns.max(1),
                baseline_windows: config.baseline_windows.max(1),
                ..config
            },
            tracks: BTreeMap::new(),
            max_keys: max_keys.max(1),
            overflow,
            ticked: i64::MIN,
        }
    }

    /// Whether `key` is in a spike now.
    pub fn is_spiking(&self, key: &K) -> bool {
        self.tracks.get(key).is_some_and(|t| t.spiking)
    }

    /// Every tracked key with its spike state.
    pub fn states(&self) -> impl Iterator<Item = (&K, bool)> {
        self.tracks.iter().map(|(k, t)| (k, t.spiking))
    }

    /// Counts one decided session of `key` that started at `start_ns` (a late session counts
    /// in the current window), and reports a spike starting or ending.
    pub fn add(&mut self, key: K, start_ns: i64, denied: bool, out: &mut Vec<SpikeChange<K>>) {
        let key = if self.tracks.contains_key(&key) || self.tracks.len() < self.max_keys {
            key
        } else {
            self.overflow.clone()
        };
        let w = start_ns.div_euclid(self.config.window_ns);
        let cfg = &self.config;
        let track = self.tracks.entry(key.clone()).or_insert_with(|| Track {
            window: w,
            denied: 0,
            history: VecDeque::new(),
            spiking: false,
            current_over: false,
        });
        roll(cfg, &key, track, w, out);
        if denied {
            track.denied += 1;
        }
        if !track.current_over
            && let Some((_, _, threshold)) =
                spike_rule(cfg, track.history.make_contiguous(), track.denied)
        {
            track.current_over = true;
            if !track.spiking {
                track.spiking = true;
                out.push(SpikeChange::Started {
                    key,
                    window_start_ns: track.window * cfg.window_ns,
                    denied: track.denied,
                    threshold,
                });
            }
        }
    }

    /// Moves every key to the window of `now_ns` (quiet keys close their windows too).
    pub fn tick(&mut self, now_ns: i64, out: &mut Vec<SpikeChange<K>>) {
        let w = now_ns.div_euclid(self.config.window_ns);
        if w <= self.ticked {
            return;
        }
        self.ticked = w;
        for (key, track) in &mut self.tracks {
            roll(&self.config, key, track, w, out);
        }
    }
}

/// Closes the windows of `track` before `w`.
fn roll<K: Clone>(
    cfg: &SpikeConfig,
    key: &K,
    track: &mut Track,
    w: i64,
    out: &mut Vec<SpikeChange<K>>,
) {
    if w <= track.window {
        return;
    }
    // The window that closes, then (at most a baseline's worth of) empty ones.
    let gap = (w - track.window).min(cfg.baseline_windows as i64 + 1);
    for i in 0..gap {
        let count = if i == 0 { track.denied } else { 0 };
        let over = if i == 0 {
            track.current_over
        } else {
            spike_rule(cfg, track.history.make_contiguous(), 0).is_some()
        };
        if track.spiking && !over {
            track.spiking = false;
            out.push(SpikeChange::Ended {
                key: key.clone(),
                window_start_ns: (track.window + i) * cfg.window_ns,
            });
        }
        track.history.push_back(count);
        while track.history.len() > cfg.baseline_windows {
            track.history.pop_front();
        }
    }
    track.window = w;
    track.denied = 0;
    track.current_over = false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Spikes;

    const MIN: i64 = 60_000_000_000;

    fn run(counts: &[u64], cfg: SpikeConfig) -> Vec<SpikeChange<&'static str>> {
        let mut s = SlidingSpikes::new(cfg, 16, "other");
        let mut out = Vec::new();
        for (i, &n) in counts.iter().enumerate() {
            // One accepted session per window keeps empty windows visible as 0.
            s.add("a", i as i64 * MIN, false, &mut out);
            for _ in 0..n {
                s.add("a", i as i64 * MIN + 1, true, &mut out);
            }
        }
        s.tick(counts.len() as i64 * MIN, &mut out);
        out
    }

    fn starts(changes: &[SpikeChange<&str>]) -> Vec<i64> {
        changes
            .iter()
            .filter_map(|c| match c {
                SpikeChange::Started {
                    window_start_ns, ..
                } => Some(window_start_ns / MIN),
                SpikeChange::Ended { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_burst_starts_and_ends() {
        let changes = run(&[10, 10, 10, 10, 40, 10], SpikeConfig::default());
        assert_eq!(starts(&changes), vec![4]);
        assert!(
            changes.contains(&SpikeChange::Ended {
                key: "a",
                window_start_ns: 5 * MIN
            }),
            "{changes:?}"
        );
    }

    #[test]
    fn flags_the_same_windows_as_the_batch_detector() {
        // Each spike run starts where the batch detector flags its first window.
        let counts = [3, 4, 3, 5, 4, 30, 4, 3, 2, 4, 45, 50, 3, 3];
        let cfg = SpikeConfig {
            baseline_windows: 8,
            ..SpikeConfig::default()
        };
        let mut batch = Spikes::new(cfg.clone());
        for (i, &n) in counts.iter().enumerate() {
            batch.add_counts(i as i64 * MIN, n, n, None);
        }
        let flagged: Vec<i64> = batch
            .report()
            .spikes
            .iter()
            .map(|s| s.start_ns / MIN)
            .collect();
        let run_starts: Vec<i64> = flagged
            .iter()
            .copied()
            .filter(|w| !flagged.contains(&(w - 1)))
            .collect();
        assert_eq!(starts(&run(&counts, cfg)), run_starts);
    }

    #[test]
    fn keys_beyond_the_limit_share_the_overflow_key() {
        let mut s = SlidingSpikes::new(SpikeConfig::default(), 1, "other");
        let mut out = Vec::new();
        s.add("a", 0, true, &mut out);
        s.add("b", 0, true, &mut out);
        let keys: Vec<&str> = s.states().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec!["a", "other"]);
    }
}
