//! Engine benchmarks on generated clusters (palisade-synth presets, seed 1).
//!
//! `cargo bench -p palisade-engine --bench engine` runs the `medium` preset (2,000 workloads,
//! 50 namespaces, 250 policies). Set `PALISADE_BENCH_LARGE=1` to add the `large` preset
//! (150,000 pods, 10,000 namespaces, 20,000 policies); end-to-end phase timings for that size
//! come from `cargo run --release -p palisade-engine --example scale`.

use divan::{Bencher, black_box};
use palisade_engine::connectivity::{self, Level};
use palisade_engine::{Endpoint, Engine, Query, Reference};
use palisade_load::{Input, LoadOptions, Loaded, load};
use palisade_model::{PodId, Protocol};
use palisade_synth::{Format, Preset};
use std::net::IpAddr;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

fn cluster(preset: Preset) -> Loaded {
    let (text, _) = palisade_synth::generate(&preset.params(1), Format::Yaml).expect("preset");
    let loaded = load(
        &[Input::Text {
            name: format!("{}.yaml", preset.name()),
            text,
        }],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors());
    loaded
}

fn medium() -> &'static Loaded {
    static MEDIUM: OnceLock<Loaded> = OnceLock::new();
    MEDIUM.get_or_init(|| cluster(Preset::Medium))
}

fn presets() -> Vec<&'static str> {
    let mut names = vec!["medium", "pods-20k"];
    if std::env::var_os("PALISADE_BENCH_LARGE").is_some() {
        names.push("large");
    }
    names
}

/// The preset plus 100 ClusterNetworkPolicies (`palisade_synth::cluster_network_policies`).
fn with_guardrails(params: palisade_synth::Params) -> Loaded {
    let (text, _) = palisade_synth::generate(&params, Format::Yaml).expect("preset");
    let loaded = load(
        &[
            Input::Text {
                name: "cluster.yaml".into(),
                text,
            },
            Input::Text {
                name: "guardrails.yaml".into(),
                text: palisade_synth::cluster_network_policies(100),
            },
        ],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors());
    assert_eq!(loaded.model.admin_policies.len(), 100);
    loaded
}

fn by_name_with_guardrails(name: &str) -> &'static Loaded {
    static MEDIUM: OnceLock<Loaded> = OnceLock::new();
    static LARGE: OnceLock<Loaded> = OnceLock::new();
    static PODS: OnceLock<Loaded> = OnceLock::new();
    match name {
        "large" => LARGE.get_or_init(|| with_guardrails(Preset::Large.params(1))),
        "pods-20k" => PODS.get_or_init(|| with_guardrails(pods_20k())),
        _ => MEDIUM.get_or_init(|| with_guardrails(Preset::Medium.params(1))),
    }
}

/// A cluster with declared pods and IPs (so flows reach pods), small enough for any profile.
fn pods_20k() -> palisade_synth::Params {
    palisade_synth::Params {
        namespaces: 1_000,
        workloads: 5_000,
        pods: Some(20_000),
        policies: 2_000,
        seed: 1,
    }
}

fn pods_20k_plain() -> &'static Loaded {
    static PLAIN: OnceLock<Loaded> = OnceLock::new();
    PLAIN.get_or_init(|| {
        let (text, _) = palisade_synth::generate(&pods_20k(), Format::Yaml).expect("params");
        let loaded = load(
            &[Input::Text {
                name: "cluster.yaml".into(),
                text,
            }],
            &LoadOptions::default(),
        );
        assert!(!loaded.has_errors());
        loaded
    })
}

fn by_name(name: &str) -> &'static Loaded {
    static LARGE: OnceLock<Loaded> = OnceLock::new();
    match name {
        "large" => LARGE.get_or_init(|| cluster(Preset::Large)),
        "pods-20k" => pods_20k_plain(),
        _ => medium(),
    }
}

/// Loading the manifest text (YAML parse, validation, model).
#[divan::bench(sample_count = 10)]
fn load_medium(bencher: Bencher) {
    let (text, _) = palisade_synth::generate(&Preset::Medium.params(1), Format::Yaml).unwrap();
    bencher.bench(|| {
        load(
            &[Input::Text {
                name: "medium.yaml".into(),
                text: text.clone(),
            }],
            &LoadOptions::default(),
        )
    });
}

/// Compiling the model: classes, peer sets, rule lists.
#[divan::bench(args = presets(), sample_count = 10)]
fn compile(bencher: Bencher, preset: &str) {
    let model = &by_name(preset).model;
    bencher.bench(|| Engine::new(black_box(model)));
}

/// Every allowed workload pair with exact ports (what `connectivity -o json` renders).
#[divan::bench(sample_count = 10)]
fn connectivity_workloads_medium(bencher: Bencher) {
    let model = &medium().model;
    let engine = Engine::new(model);
    bencher.bench(|| connectivity::compute(model, &engine, Level::Workload));
}

/// The workload-level answer streamed row by row (what `connectivity -o txt` walks), rows
/// counted instead of kept: the cost of the expansion without holding the answer.
#[divan::bench(sample_count = 10)]
fn connectivity_workloads_streamed_medium(bencher: Bencher) {
    let model = &medium().model;
    let engine = Engine::new(model);
    bencher.bench(|| {
        let mut stream = connectivity::ConnectivityStream::new(model, &engine, Level::Workload);
        let mut rows = 0u64;
        let done: Result<(), ()> = stream.for_each(&mut |_, _, _, _| {
            rows += 1;
            Ok(())
        });
        black_box((done, rows))
    });
}

/// The namespace-level answer (`connectivity --level namespace`), streamed.
#[divan::bench(args = presets(), sample_count = 5)]
fn connectivity_namespaces_streamed(bencher: Bencher, preset: &str) {
    let model = &by_name(preset).model;
    let engine = Engine::new(model);
    bencher.bench(|| {
        let mut stream = connectivity::ConnectivityStream::namespaces(model, &engine);
        let mut rows = 0u64;
        let done: Result<(), ()> = stream.for_each(&mut |_, _, _, _| {
            rows += 1;
            Ok(())
        });
        black_box((done, rows))
    });
}

/// The complete class-level connectivity, open × open kept symbolic.
#[divan::bench(args = presets(), sample_count = 5)]
fn class_connectivity(bencher: Bencher, preset: &str) {
    let model = &by_name(preset).model;
    let engine = Engine::new(model);
    bencher.bench(|| connectivity::class_connectivity(&engine));
}

/// The redundancy analysis behind lint NP011 (every rule and policy judged against the
/// others of its subjects and the other side), on a compiled engine.
#[divan::bench(args = presets(), sample_count = 5)]
fn redundancy(bencher: Bencher, preset: &str) {
    let model = &by_name(preset).model;
    let engine = Engine::new(model);
    bencher.bench(|| palisade_engine::rules::redundancy(model, &engine));
}

/// One explained check between two pods (what `palisade check` computes).
#[divan::bench(args = presets())]
fn explained_check(bencher: Bencher, preset: &str) {
    let model = &by_name(preset).model;
    let reference = Reference::new(model);
    let n = model.pods.len();
    let mut i = 0usize;
    bencher.bench_local(|| {
        i = i.wrapping_add(7919);
        let query = Query {
            src: Endpoint::Pod(PodId::new(i % n)),
            dst: Endpoint::Pod(PodId::new((i / 3) % n)),
            protocol: Protocol::Tcp,
            port: 8080,
        };
        reference.explain(black_box(&query))
    });
}

/// Per-flow verdicts by address: 1,000 flows per iteration (divide by 1,000 for one).
#[divan::bench(args = presets(), counter = divan::counter::ItemsCount::new(1000usize))]
fn verdicts_by_ip(bencher: Bencher, preset: &str) {
    bench_verdicts(bencher, &by_name(preset).model);
}

/// The same flows with 100 ClusterNetworkPolicies (Admin and Baseline tiers) added: the
/// admin tiers' cost per verdict (issue #14: within 2x of `verdicts_by_ip`).
#[divan::bench(args = presets(), counter = divan::counter::ItemsCount::new(1000usize))]
fn verdicts_by_ip_with_100_cnps(bencher: Bencher, preset: &str) {
    bench_verdicts(bencher, &by_name_with_guardrails(preset).model);
}

fn bench_verdicts(bencher: Bencher, model: &palisade_model::Model) {
    let engine = Engine::new(model);
    // Template pods have no IPs; give the medium preset's flows addresses of external atoms
    // and of pods when they have them.
    let ips: Vec<IpAddr> = model
        .pods
        .iter()
        .filter_map(|p| p.ips.first().copied())
        .chain((0..64).map(|i| IpAddr::from([203, 0, 113, i])))
        .collect();
    let mut x = 0x9e37_79b9u64;
    let flows: Vec<(IpAddr, IpAddr, u16)> = (0..1000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s = ips[(x % ips.len() as u64) as usize];
            let d = ips[((x >> 20) % ips.len() as u64) as usize];
            (s, d, [53, 80, 443, 8080][(x >> 40) as usize % 4])
        })
        .collect();
    bencher.bench(|| {
        let mut allowed = 0u32;
        for &(s, d, port) in &flows {
            allowed += u32::from(engine.verdict_ips(s, d, Protocol::Tcp, port).allowed);
        }
        allowed
    });
}
