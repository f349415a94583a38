//! Load time of a generated cluster dump at the `large` size (10,000 namespaces, 150,000 pods,
//! 20,000 policies; about 200 MB of YAML): `cargo bench -p palisade-load --bench load`.
//! The text is generated once, outside the measurement.

#[path = "../tests/support/cluster.rs"]
mod cluster;

use divan::{Bencher, black_box};
use palisade_load::{Input, LoadOptions, load};

fn main() {
    divan::main();
}

fn bench(bencher: Bencher<'_, '_>, name: &str, text: String) {
    bencher
        .with_inputs(|| Input::Text {
            name: name.to_string(),
            text: text.clone(),
        })
        .bench_values(|input| {
            let loaded = load(&[input], &LoadOptions::default());
            assert!(!loaded.has_errors());
            black_box(loaded.model.pods.len())
        });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn large_yaml(bencher: Bencher<'_, '_>) {
    bench(
        bencher,
        "cluster.yaml",
        cluster::yaml_cluster(cluster::LARGE),
    );
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn large_json(bencher: Bencher<'_, '_>) {
    bench(
        bencher,
        "cluster.json",
        cluster::json_cluster(cluster::LARGE),
    );
}
