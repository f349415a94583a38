//! Diff benchmarks on generated clusters (palisade-synth presets, seed 1).
//!
//! `cargo bench -p palisade-diff --bench diff` runs the `medium` preset (2,000 workloads, 50
//! namespaces, 250 policies) end to end: both sides loaded from manifest text, then diffed.
//! Set `PALISADE_BENCH_LARGE=1` to add the `large` preset (150,000 pods, 10,000 namespaces,
//! 20,000 policies), timed once both sides are loaded.
//!
//! The one-policy changes: `edit_port` changes the first port of the first ingress rule of
//! one policy (the usual pull request); `remove` deletes one policy; `add_deny` adds a
//! default-deny (ingress and egress) to one namespace.

use divan::{Bencher, black_box};
use palisade_diff::diff;
use palisade_engine::connectivity::Level;
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Model, PortRef};
use palisade_synth::{Format, Preset};
use std::sync::OnceLock;

fn main() {
    divan::main();
}

fn text(preset: Preset) -> String {
    palisade_synth::generate(&preset.params(1), Format::Yaml)
        .expect("preset")
        .0
}

fn load_text(name: &str, text: &str) -> Model {
    let loaded = load(
        &[Input::Text {
            name: name.to_string(),
            text: text.to_string(),
        }],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors());
    loaded.model
}

/// The policy the changes touch: the middle one whose first ingress port is a number.
fn target(model: &Model) -> usize {
    let candidates: Vec<usize> = (0..model.policies.len())
        .filter(|&i| {
            model.policies[i].ingress.first().is_some_and(|r| {
                r.ports
                    .first()
                    .is_some_and(|p| matches!(p.port, Some(PortRef::Number(_))))
            })
        })
        .collect();
    candidates[candidates.len() / 2]
}

/// The manifest text with one policy changed (the diff's fast paths rely on text, so the
/// change is made where a pull request makes it).
fn changed(text: &str, model: &Model, what: &str) -> String {
    let policy = &model.policies[target(model)];
    let span = policy.span.expect("loaded policies have spans");
    let (start, end) = (span.start as usize, span.end as usize);
    match what {
        "edit_port" => {
            let obj = &text[start..end];
            let at = obj
                .match_indices("port: ")
                .map(|(i, _)| i + 6)
                .find(|&i| obj[i..].starts_with(|c: char| c.is_ascii_digit()))
                .expect("a numeric port");
            let digits = obj[at..].chars().take_while(char::is_ascii_digit).count();
            let n: u32 = obj[at..at + digits].parse().expect("digits");
            let at = start + at;
            format!("{}{}{}", &text[..at], n % 65535 + 1, &text[at + digits..])
        }
        "remove" => format!("{}{}", &text[..start], &text[end..]),
        _ => format!(
            "{text}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bench-default-deny\n  namespace: {}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n",
            model.namespace(policy.namespace).name
        ),
    }
}

const CHANGES: [&str; 3] = ["edit_port", "remove", "add_deny"];

/// Medium, end to end: load both sides from manifest text, diff.
#[divan::bench(args = CHANGES, sample_count = 10)]
fn medium_end_to_end(bencher: Bencher, what: &str) {
    let old_text = text(Preset::Medium);
    let new_text = changed(&old_text, &load_text("medium.yaml", &old_text), what);
    bencher.bench(|| {
        let old = load_text("old.yaml", &old_text);
        let new = load_text("new.yaml", &new_text);
        black_box(diff(&old, &new, Level::Workload))
    });
}

/// Large, once both sides are loaded.
#[divan::bench(args = CHANGES, sample_count = 10, ignore = std::env::var_os("PALISADE_BENCH_LARGE").is_none())]
fn large_loaded(bencher: Bencher, what: &str) {
    static LARGE: OnceLock<(String, Model)> = OnceLock::new();
    let (text, old) = LARGE.get_or_init(|| {
        let text = text(Preset::Large);
        let old = load_text("large.yaml", &text);
        (text, old)
    });
    let new = load_text("large.yaml", &changed(text, old, what));
    let d = diff(old, &new, Level::Workload);
    assert!(d.incremental && !d.edits.is_empty());
    bencher.bench(|| black_box(diff(old, &new, Level::Workload)));
}
