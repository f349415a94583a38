//! Sandbox benchmarks: compiling rulesets (no root needed) and, as root, 100 pods up + every
//! pair probed on one port + down.

use palisade_sandbox::fuzz::{Rng, generate_case, load_case};
use palisade_sandbox::{AddressPlan, CompileOptions, DenyAction, compile::compile};

fn main() {
    divan::main();
}

/// Compiling the rulesets of a random 100-pod cluster.
#[divan::bench]
fn compile_100_pods(bencher: divan::Bencher) {
    let model = load_case(&generate_case(&mut Rng::new(1), 100)).expect("valid case");
    let plan = AddressPlan::new(&model, &[]).expect("plan");
    let options = CompileOptions {
        table: "palisade".into(),
        deny: DenyAction::Drop,
    };
    bencher.bench(|| compile(&model, &plan, &options));
}

/// 100 pods up, every pair probed on 80/TCP (10,000 probes with the diagonal), down; root
/// only (skipped otherwise). Deny action drop: every denied probe waits out the 1 s timeout,
/// all of them at once.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn up_probe_down_100_pods(bencher: divan::Bencher) {
    if palisade_sandbox::check_environment().is_err() {
        return;
    }
    let model = load_case(&generate_case(&mut Rng::new(1), 100)).expect("valid case");
    bencher.bench(|| {
        let sandbox = palisade_sandbox::Sandbox::up(
            &model,
            palisade_sandbox::SandboxOptions {
                extra_ports: vec![(80, palisade_model::Protocol::Tcp)],
                ..Default::default()
            },
        )
        .expect("up");
        let tables = palisade_sandbox::matrix::probe_matrices(
            &model,
            &sandbox,
            &[(palisade_model::Protocol::Tcp, 80)],
            std::time::Duration::from_secs(1),
        )
        .expect("probes");
        sandbox.down().expect("down");
        tables
    });
}
