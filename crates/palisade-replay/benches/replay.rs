//! End-to-end replay throughput: read + sessionize + map + verdict + summary, on the flows
//! crate's synthetic Hubble and pcap traffic against a 2 048-pod cluster owning its addresses.
//!
//! `cargo bench -p palisade-replay --bench replay`. The ≥ 10 M-flow figures and peak memory
//! come from the CLI on generated files: see docs/benchmarks.md ("Replay end to end").

mod cluster;

use divan::counter::ItemsCount;
use palisade_flows::{FlowReader, ReadOptions, SessionConfig, sessionize};
use palisade_model::Model;
use palisade_replay::{DenyAction, Replayer, Summary};
use palisade_synth::traffic as synth;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

const HUBBLE_FLOWS: u64 = 200_000;
const PCAP_PACKETS: u64 = 2_000_000;

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let loaded = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "cluster.yaml".into(),
                text: cluster::yaml(),
            }],
            &palisade_load::LoadOptions::default(),
        );
        assert!(!loaded.has_errors());
        loaded.model
    })
}

fn hubble() -> &'static [u8] {
    static H: OnceLock<Vec<u8>> = OnceLock::new();
    H.get_or_init(|| {
        let mut v = Vec::new();
        synth::write_hubble(&mut v, HUBBLE_FLOWS, 42).unwrap();
        v
    })
}

fn pcap() -> &'static [u8] {
    static P: OnceLock<Vec<u8>> = OnceLock::new();
    P.get_or_init(|| {
        let mut v = Vec::new();
        synth::write_pcap(&mut v, PCAP_PACKETS, 42).unwrap();
        v
    })
}

fn run(data: &[u8], replayer: &mut Replayer<'_>) -> Summary {
    let mut reader = FlowReader::new("bench", data, &ReadOptions::default()).unwrap();
    let mut summary = Summary::default();
    sessionize(&mut reader, SessionConfig::default(), |s| {
        let r = replayer.replay(s);
        summary.add(&r);
    })
    .unwrap();
    summary
}

/// Hubble JSON lines → sessions → verdicts (throughput in flows).
#[divan::bench(sample_count = 5)]
fn hubble_replay(bencher: divan::Bencher) {
    let (m, data) = (model(), hubble());
    let mut replayer = Replayer::new(m, DenyAction::Drop);
    bencher
        .counter(ItemsCount::new(HUBBLE_FLOWS))
        .bench_local(|| run(data, &mut replayer));
}

/// pcap packets → sessions → verdicts (throughput in packets).
#[divan::bench(sample_count = 5)]
fn pcap_replay(bencher: divan::Bencher) {
    let (m, data) = (model(), pcap());
    let mut replayer = Replayer::new(m, DenyAction::Drop);
    bencher
        .counter(ItemsCount::new(PCAP_PACKETS))
        .bench_local(|| run(data, &mut replayer));
}

/// pcap with a what-if: every session evaluated under two policy sets.
#[divan::bench(sample_count = 5)]
fn pcap_replay_whatif(bencher: divan::Bencher) {
    let (m, data) = (model(), pcap());
    let mut replayer = Replayer::new(m, DenyAction::Drop).with_proposed(m);
    bencher
        .counter(ItemsCount::new(PCAP_PACKETS))
        .bench_local(|| run(data, &mut replayer));
}
