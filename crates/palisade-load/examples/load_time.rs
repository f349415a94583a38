//! Load time of manifest files, with a fingerprint of everything the load produced (model,
//! diagnostics, findings, skipped kinds), to compare loader versions:
//!
//! ```text
//! cargo run --release -p palisade-load --example load_time -- bench-data/large.yaml [RUNS]
//! ```

#![allow(
    clippy::print_stdout,
    reason = "a measurement program reports on stdout"
)]

use std::hash::Hasher;
use std::time::Instant;

use palisade_load::{Input, LoadOptions, load};

/// Feeds `Debug` output into a hasher without building the (huge) string.
struct HashWriter(std::collections::hash_map::DefaultHasher);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: load_time FILE [RUNS]");
    let runs: usize = args
        .next()
        .map_or(1, |r| r.parse().expect("RUNS is a number"));
    let mut times = Vec::new();
    for run in 0..runs {
        let t = Instant::now();
        let loaded = load(&[Input::Path(path.clone().into())], &LoadOptions::default());
        let secs = t.elapsed().as_secs_f64();
        times.push(secs);
        if std::env::var_os("LOAD_TIME_NO_FINGERPRINT").is_some() {
            // Leave the model to the OS, so that a profile shows the load alone.
            std::mem::forget(loaded);
        } else if run == 0 {
            use std::fmt::Write;
            let m = &loaded.model;
            let mut h = HashWriter(Default::default());
            write!(
                h,
                "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
                m.namespaces,
                m.pods,
                m.workloads,
                m.policies,
                m.services,
                loaded.diagnostics,
                loaded.findings,
                loaded.skipped
            )
            .expect("hashing cannot fail");
            println!(
                "{} pods, {} policies, {} diagnostics, {} findings, fingerprint {:016x}",
                m.pods.len(),
                m.policies.len(),
                loaded.diagnostics.len(),
                loaded.findings.len(),
                h.0.finish()
            );
        }
        println!("run {run}: {secs:.3} s");
    }
    times.sort_by(f64::total_cmp);
    println!("median: {:.3} s", times[times.len() / 2]);
}
