//! The example app: map, generate and prove from its synthesized capture.

use std::path::{Path, PathBuf};

use palisade_discover::{
    GenerateOptions, LearnMode, Learner, MapOptions, Observation, generate, proposed_model, prove,
};
use palisade_flows::{FlowReader, ReadOptions, SessionConfig, sessionize};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Model;
use palisade_replay::{DenyAction, Replayer};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn cluster() -> Model {
    let loaded = load(
        &[
            Input::Path(examples().join("webshop")),
            Input::Path(examples().join("webshop-traffic/cluster")),
        ],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors());
    loaded.model
}

fn observe(model: &Model, capture: &str, mode: LearnMode) -> Observation {
    let path = examples().join("webshop-traffic").join(capture);
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = FlowReader::new(
        capture,
        std::io::BufReader::new(file),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut replayer = Replayer::new(model, DenyAction::Drop);
    let mut learner = Learner::new(model, MapOptions::default(), mode);
    sessionize(&mut reader, SessionConfig::default(), |s| {
        learner.add(&replayer.replay(s))
    })
    .unwrap();
    learner.finish()
}

#[test]
fn generated_policies_keep_every_learned_session() {
    let model = cluster();
    for capture in ["capture.pcap", "capture.jsonl"] {
        let obs = observe(&model, capture, LearnMode::Accepted);
        let generated = generate(
            &model,
            &obs,
            &GenerateOptions {
                generated_from: capture.into(),
                ..Default::default()
            },
        );
        assert!(generated.notes.is_empty(), "{:?}", generated.notes);
        let proposed = proposed_model(&model, &generated, Default::default()).unwrap();
        let proof = prove(&proposed, &obs);
        assert!(proof.holds(), "{capture}: {proof:?}");
        assert_eq!(proof.accepted, obs.learned);
        assert_eq!(lint_findings(&proposed), Vec::<String>::new());
    }
}

/// Lint findings at warning level or above that point into the generated files.
pub fn lint_findings(proposed: &Model) -> Vec<String> {
    palisade_lint::lint(proposed, &[], &palisade_lint::Settings::default())
        .into_iter()
        .filter(|d| d.severity >= palisade_diag::Severity::Warning)
        .filter(|d| {
            d.span.is_some_and(|s| {
                proposed
                    .sources
                    .get(s.source)
                    .path
                    .starts_with("generated/")
            })
        })
        .map(|d| format!("{}: {}", d.code.unwrap_or("-"), d.message))
        .collect()
}
