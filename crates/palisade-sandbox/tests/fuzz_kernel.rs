//! Random clusters and policies: the kernel and the engine must agree on every probe.

mod common;

use palisade_sandbox::DenyAction;
use palisade_sandbox::fuzz::{FuzzSandbox, Rng, generate_case, load_case};
use std::time::Duration;

/// Cases per run; `PALISADE_FUZZ_CASES` overrides (the long run is documented in
/// docs/benchmarks.md).
fn cases() -> u64 {
    std::env::var("PALISADE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

#[test]
fn kernel_agrees_with_the_engine_on_random_policies() {
    if !common::can_run("fuzz through the kernel") {
        return;
    }
    let total = cases();
    let threads = 4u64;
    let failures: Vec<String> = std::thread::scope(|scope| {
        (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    // Each thread has its own sandbox of 3 to 6 pods; cases only swap rules.
                    let pods = 3 + t as usize;
                    let mut sandbox = FuzzSandbox::up(pods).unwrap();
                    for case in (t..total).step_by(threads as usize) {
                        let mut rng = Rng::new(0x5eed_0000 + case);
                        let text = generate_case(&mut rng, pods);
                        let model = match load_case(&text) {
                            Ok(m) => m,
                            Err(e) => {
                                failures.push(format!(
                                    "case {case}: generated invalid input: {e}\n{text}"
                                ));
                                continue;
                            }
                        };
                        // Alternate deny actions; reject keeps the run fast.
                        let deny = if case % 4 == 3 {
                            DenyAction::Drop
                        } else {
                            DenyAction::Reject
                        };
                        let report = sandbox
                            .run_case(&model, deny, Duration::from_millis(200))
                            .unwrap();
                        if !report.mismatches.is_empty() {
                            let lines: Vec<String> =
                                report.mismatches.iter().map(|m| m.to_string()).collect();
                            failures.push(format!(
                                "case {case} ({}):\n{}\n{text}",
                                deny.as_str(),
                                lines.join("\n")
                            ));
                        }
                    }
                    sandbox.down().unwrap();
                    failures
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
