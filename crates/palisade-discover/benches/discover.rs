//! `cargo bench -p palisade-discover`: learning, generating and proving at the sizes issue 11
//! names (a 2,000-workload cluster's traffic), from sessions already in memory (reading the
//! capture is the flows crate's cost, measured there and end to end in docs/benchmarks.md).

#[path = "common/traffic.rs"]
mod traffic;

use palisade_discover::{
    GenerateOptions, LearnMode, Learner, MapBuilder, MapOptions, Observation, generate,
    proposed_model, prove,
};
use palisade_flows::{FlowReader, ReadOptions, Session, SessionConfig, sessionize};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Model;
use palisade_replay::{DenyAction, Replayed, Replayer};

fn main() {
    divan::main();
}

struct Input2 {
    model: Model,
    replayed: Vec<Replayed>,
}

fn input(workloads: usize) -> Input2 {
    let (cluster, csv) = traffic::build(workloads);
    let model = load(
        &[Input::Text {
            name: "cluster.yaml".into(),
            text: cluster,
        }],
        &LoadOptions::default(),
    )
    .model;
    let mut reader =
        FlowReader::new("capture.csv", csv.as_bytes(), &ReadOptions::default()).unwrap();
    let mut sessions: Vec<Session> = Vec::new();
    sessionize(&mut reader, SessionConfig::default(), |s| sessions.push(s)).unwrap();
    let replayed = {
        let mut replayer = Replayer::new(&model, DenyAction::Drop);
        sessions.into_iter().map(|s| replayer.replay(s)).collect()
    };
    Input2 { model, replayed }
}

fn observe(model: &Model, replayed: &[Replayed]) -> Observation {
    let mut learner = Learner::new(model, MapOptions::default(), LearnMode::Accepted);
    for r in replayed {
        learner.add(r);
    }
    learner.finish()
}

#[divan::bench(args = [200, 2000], sample_count = 5)]
fn map(bencher: divan::Bencher, workloads: usize) {
    let i = input(workloads);
    bencher.bench_local(|| {
        let mut b = MapBuilder::new(&i.model, MapOptions::default());
        for r in &i.replayed {
            b.add(r);
        }
        b.finish()
    });
}

#[divan::bench(args = [200, 2000], sample_count = 5)]
fn learn_generate_prove(bencher: divan::Bencher, workloads: usize) {
    let i = input(workloads);
    bencher.bench_local(|| {
        let obs = observe(&i.model, &i.replayed);
        let generated = generate(&i.model, &obs, &GenerateOptions::default());
        let proposed = proposed_model(&i.model, &generated, Default::default()).unwrap();
        assert!(prove(&proposed, &obs).holds());
    });
}
