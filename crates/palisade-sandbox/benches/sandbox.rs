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
