//! End-to-end lint time (load + every rule including NP011) on the synthetic clusters.
//!
//! `cargo bench -p palisade-lint --bench lint`
//! The inputs are generated in memory by `palisade-synth` with the CLI's default seed, so
//! they are the same as `palisade-synth --preset small|medium`.

use divan::{Bencher, black_box};
use palisade_lint::{RULES, Settings, lint};
use palisade_load::{Input, LoadOptions, load};
use palisade_synth::{Format, Preset, generate};

fn main() {
    divan::main();
}

fn manifest(preset: Preset) -> String {
    generate(&preset.params(SEED), Format::Yaml)
        .expect("preset parameters are valid")
        .0
}

const SEED: u64 = 1;

fn all_rules() -> Settings {
    let all: Vec<String> = RULES.iter().map(|r| r.code.to_string()).collect();
    Settings::resolve(None, &all, &[], None).expect("known codes")
}

fn end_to_end(bencher: Bencher<'_, '_>, preset: Preset) {
    let text = manifest(preset);
    let settings = all_rules();
    bencher.bench(|| {
        let loaded = load(
            &[Input::Text {
                name: format!("{}.yaml", preset.name()),
                text: text.clone(),
            }],
            &LoadOptions::default(),
        );
        black_box(lint(&loaded.model, &loaded.findings, &settings))
    });
}

#[divan::bench(sample_count = 5)]
fn small(bencher: Bencher<'_, '_>) {
    end_to_end(bencher, Preset::Small);
}

#[divan::bench(sample_count = 3)]
fn medium(bencher: Bencher<'_, '_>) {
    end_to_end(bencher, Preset::Medium);
}
