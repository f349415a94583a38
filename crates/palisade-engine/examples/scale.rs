//! Phase timings on a large manifest file: load, compile, connectivity, explained checks,
//! per-flow verdict throughput, peak memory. Used for docs/benchmarks.md:
//!
//! ```text
//! cargo run --release -p palisade-synth -- --preset large --seed 1 -o bench-data/large.yaml
//! cargo run --release -p palisade-engine --example scale -- bench-data/large.yaml
//! ```

#![allow(
    clippy::print_stdout,
    reason = "a measurement program reports on stdout"
)]

use palisade_engine::{Endpoint, Engine, Query, Reference, connectivity};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Protocol;
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A fixed-seed xorshift, so every run probes the same pairs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: scale FILE [--no-connectivity]");
    let skip_connectivity = std::env::args().any(|a| a == "--no-connectivity");
    let t = Instant::now();
    let loaded = load(&[Input::Path(path.into())], &LoadOptions::default());
    let load_s = t.elapsed().as_secs_f64();
    assert!(
        !loaded.has_errors(),
        "input errors: {:?}",
        &loaded.diagnostics[..1]
    );
    let model = &loaded.model;
    println!(
        "model: {} namespaces, {} pods, {} workloads, {} policies",
        model.namespaces.len(),
        model.pods.len(),
        model.workloads.len(),
        model.policies.len()
    );
    println!("load:        {load_s:.2} s");

    let t = Instant::now();
    let engine = Engine::new(model);
    let compile_s = t.elapsed().as_secs_f64();
    println!(
        "compile:     {compile_s:.2} s ({} classes of equivalent pods)",
        engine.classes().len()
    );

    if !skip_connectivity {
        let t = Instant::now();
        let classes = connectivity::class_connectivity(&engine);
        let conn_s = t.elapsed().as_secs_f64();
        println!(
            "connectivity (classes, compressed): {conn_s:.2} s; {} explicit class pairs, {} open-egress x {} open-ingress classes kept symbolic",
            classes.explicit_pairs(),
            classes.open_egress(),
            classes.open_ingress()
        );
        println!(
            "load + compile + connectivity: {:.2} s",
            load_s + compile_s + conn_s
        );
    }

    // Explained checks between random pods.
    let reference = Reference::new(model);
    let n = model.pods.len() as u64;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let queries: Vec<Query> = (0..20_000)
        .map(|_| Query {
            src: Endpoint::Pod(palisade_model::PodId::new((rng.next() % n) as usize)),
            dst: Endpoint::Pod(palisade_model::PodId::new((rng.next() % n) as usize)),
            protocol: Protocol::Tcp,
            port: [80, 8080, 9090, 5432][(rng.next() % 4) as usize],
        })
        .collect();
    let t = Instant::now();
    let mut allowed = 0;
    for q in &queries {
        allowed += usize::from(black_box(reference.explain(q)).allowed);
    }
    let per_check = t.elapsed().as_secs_f64() / queries.len() as f64;
    println!(
        "explained check: {:.2} µs each ({} of {} allowed)",
        per_check * 1e6,
        allowed,
        queries.len()
    );

    // Per-flow verdicts by address, one core, no allocation in the loop.
    let ips: Vec<IpAddr> = model
        .pods
        .iter()
        .filter_map(|p| p.ips.first().copied())
        .collect();
    if !ips.is_empty() {
        let flows: Vec<(IpAddr, IpAddr, u16)> = (0..1_000_000)
            .map(|i| {
                let src = ips[(rng.next() % ips.len() as u64) as usize];
                // One flow in eight goes to an external address.
                let dst = if i % 8 == 0 {
                    IpAddr::from([203, 0, 113, (rng.next() % 256) as u8])
                } else {
                    ips[(rng.next() % ips.len() as u64) as usize]
                };
                (
                    src,
                    dst,
                    [53, 80, 443, 8080, 9090, 5432][(rng.next() % 6) as usize],
                )
            })
            .collect();
        let rounds = 10;
        let t = Instant::now();
        let mut allowed = 0u64;
        for _ in 0..rounds {
            for &(s, d, port) in &flows {
                allowed += u64::from(engine.verdict_ips(s, d, Protocol::Tcp, port).allowed);
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let total = (flows.len() * rounds) as f64;
        println!(
            "per-flow verdicts (both sides, rules named): {:.1} M/s on one core ({:.0} ns each; {:.1}% allowed)",
            total / secs / 1e6,
            secs / total * 1e9,
            allowed as f64 / total * 100.0
        );
        let t = Instant::now();
        let mut allowed = 0u64;
        for _ in 0..rounds {
            for &(s, d, port) in &flows {
                allowed += u64::from(engine.allows_ips(s, d, Protocol::Tcp, port));
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "per-flow allowed/denied only: {:.1} M/s on one core ({:.0} ns each; {:.1}% allowed)",
            total / secs / 1e6,
            secs / total * 1e9,
            allowed as f64 / total * 100.0
        );
    }
    println!("peak memory: {:.0} MiB", peak_rss_mib());
}
