//! Prints the benchmark cluster as YAML: `cargo run --release -p palisade-replay --example
//! bench_cluster > bench-data/replay-cluster.yaml`. Its 2 048 pods own every address the flows
//! crate's synthetic traffic uses (10.0.0-7.x), in the generator's 8 namespaces, with a
//! default-deny ingress policy per namespace and allow rules that deny part of the traffic.

#[path = "../benches/cluster.rs"]
mod cluster;

fn main() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(cluster::yaml().as_bytes())
        .expect("stdout is writable");
}
