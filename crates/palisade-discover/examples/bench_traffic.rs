//! Writes a benchmark input for `palisade map` / `generate` / `harden`: a cluster of N
//! Deployments (two pods each, with IPs) in 50 namespaces plus CoreDNS, and a CSV capture in
//! which every workload calls 5 others (3 sessions each), resolves names, and some call an
//! external API. Deterministic (a fixed linear congruential sequence).
//!
//! ```sh
//! cargo run --release -p palisade-discover --example bench_traffic -- 2000 bench-data/gen-cluster.yaml bench-data/gen-capture.csv
//! ```

#[path = "../benches/common/traffic.rs"]
mod traffic;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workloads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let cluster_path = args.get(2).map_or("gen-cluster.yaml", String::as_str);
    let capture_path = args.get(3).map_or("gen-capture.csv", String::as_str);
    let (cluster, capture) = traffic::build(workloads);
    std::fs::write(cluster_path, cluster).expect("write the cluster");
    std::fs::write(capture_path, capture).expect("write the capture");
}
