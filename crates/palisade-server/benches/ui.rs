//! What `palisade serve` and `palisade report` compute before the page can show anything,
//! on the synthetic 2,000-workload cluster (`palisade-synth --preset medium`): the snapshot
//! (load, connectivity, lint, audit, map document) and the one-file report. The browser's
//! first render of that map is measured by `ui/first-render.mjs` (docs/benchmarks.md).

use divan::Bencher;
use palisade_load::Input;
use palisade_server::{Inputs, Options, Snapshot};

fn main() {
    divan::main();
}

fn medium() -> Inputs {
    let params = palisade_synth::Preset::Medium.params(1);
    let (text, _) = palisade_synth::generate(&params, palisade_synth::Format::Yaml).unwrap();
    Inputs {
        current: vec![Input::Text {
            name: "medium.yaml".into(),
            text,
        }],
        ..Inputs::default()
    }
}

#[divan::bench(sample_count = 3)]
fn snapshot_2000_workloads(bencher: Bencher) {
    let inputs = medium();
    bencher.bench(|| Snapshot::build(&inputs, &Options::default()).unwrap());
}

#[divan::bench(sample_count = 3)]
fn report_html_2000_workloads(bencher: Bencher) {
    let snapshot = Snapshot::build(&medium(), &Options::default()).unwrap();
    bencher.bench(|| palisade_server::report_html(&snapshot).len());
}
