//! Per-core throughput of the batch functions a distributed engine calls, on the flows
//! crate's synthetic Hubble traffic against the replay bench's 2 048-pod cluster.
//!
//! `cargo bench -p palisade-columnar`. Targets (issue #18): ≥ 5 M flows/s for verdicts,
//! ≥ 1 M flows/s for sessionization. Figures in docs/benchmarks.md ("Columnar replay").

#[path = "../../palisade-replay/benches/cluster.rs"]
mod cluster;

use arrow_array::RecordBatch;
use divan::counter::ItemsCount;
use palisade_columnar::{
    BATCH_ROWS, FlowBatchBuilder, FlowColumns, PartitionSessionizer, Row, Scratch, VerdictFunction,
};
use palisade_flows::{FlowReader, ReadOptions, SessionConfig};
use palisade_model::Model;
use palisade_replay::{DenyAction, Replayer};
use std::sync::OnceLock;

fn main() {
    divan::main();
}

const FLOWS: u64 = 1_000_000;

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

/// The synthetic flows as record batches of the flow schema, 64 Ki rows each.
fn batches() -> &'static [RecordBatch] {
    static B: OnceLock<Vec<RecordBatch>> = OnceLock::new();
    B.get_or_init(|| {
        let mut json = Vec::new();
        palisade_synth::traffic::write_hubble(&mut json, FLOWS, 42).unwrap();
        let mut reader = FlowReader::new("bench", &json[..], &ReadOptions::default()).unwrap();
        let mut out = Vec::new();
        let mut b = FlowBatchBuilder::new();
        reader
            .read_flows(|ev| {
                b.push(ev);
                if b.len() == BATCH_ROWS {
                    out.push(b.finish());
                }
            })
            .unwrap();
        out.push(b.finish());
        out
    })
}

fn rows() -> u64 {
    batches().iter().map(|b| b.num_rows() as u64).sum()
}

/// Per-flow verdict and deciding policies (cache warm after the first batch, as on a worker).
#[divan::bench(sample_count = 5)]
fn verdicts(bencher: divan::Bencher) {
    let (m, b) = (model(), batches());
    let mut f = VerdictFunction::new(Replayer::new(m, DenyAction::Drop));
    bencher.counter(ItemsCount::new(rows())).bench_local(|| {
        for batch in b {
            divan::black_box(f.verdicts(batch).unwrap());
        }
    });
}

/// Verdicts under the current and a proposed policy set.
#[divan::bench(sample_count = 5)]
fn verdicts_whatif(bencher: divan::Bencher) {
    let (m, b) = (model(), batches());
    let mut f = VerdictFunction::new(Replayer::new(m, DenyAction::Drop).with_proposed(m));
    bencher.counter(ItemsCount::new(rows())).bench_local(|| {
        for batch in b {
            divan::black_box(f.verdicts(batch).unwrap());
        }
    });
}

/// One partition: decode, sessionize, replay each session, build the session batches.
#[divan::bench(sample_count = 5)]
fn sessionize_partition(bencher: divan::Bencher) {
    let (m, b) = (model(), batches());
    bencher.counter(ItemsCount::new(rows())).bench_local(|| {
        let mut p = PartitionSessionizer::new(
            Replayer::new(m, DenyAction::Drop),
            SessionConfig::default(),
            None,
        );
        let mut sessions = 0;
        for batch in b {
            sessions += p.push(batch).unwrap().num_rows();
        }
        sessions + p.finish().num_rows()
    });
}

/// Decoding alone: flow-schema rows back into events.
#[divan::bench(sample_count = 5)]
fn decode(bencher: divan::Bencher) {
    let b = batches();
    bencher.counter(ItemsCount::new(rows())).bench_local(|| {
        let mut scratch = Scratch::default();
        let mut n = 0u64;
        for batch in b {
            let cols = FlowColumns::new(batch, None).unwrap();
            for i in 0..cols.len() {
                if let Ok(Row::Flow(ev)) = cols.row(i, &mut scratch) {
                    n += ev.src_port as u64;
                }
            }
        }
        n
    });
}
