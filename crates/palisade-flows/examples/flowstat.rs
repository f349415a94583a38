//! Reads one input, builds its sessions and prints counts and throughput:
//! `cargo run --release -p palisade-flows --example flowstat -- FILE [--read-only]`.
//! Used for the whole-file figures in docs/benchmarks.md ("Traffic readers and sessions") (with `/usr/bin/time -v`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Instant;

use palisade_flows::{FlowReader, ReadOptions, SessionConfig, Sessionizer};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: flowstat FILE [--read-only]");
        return ExitCode::from(2);
    };
    let read_only = args.iter().any(|a| a == "--read-only");
    let started = Instant::now();
    let mut reader = match FlowReader::open(path, &ReadOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut sessionizer = Sessionizer::new(SessionConfig::default());
    let mut sessions = 0u64;
    let mut events = 0u64;
    let result = reader.read(|r| {
        if read_only {
            events += 1;
        } else {
            sessionizer.push_record(r, &mut |_| sessions += 1);
        }
    });
    if let Err(e) = result {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let stats = sessionizer.finish(&mut |_| sessions += 1);
    let secs = started.elapsed().as_secs_f64();
    let report = reader.report();
    println!(
        "{path}: format {}, {} records, {} events in {secs:.2}s = {:.2} M events/s",
        reader.format(),
        report.records,
        report.events,
        report.events as f64 / secs / 1e6
    );
    println!(
        "sessions {} (accepted {}, refused {}, timed-out {}, unknown {}), peak open {}, malformed {}, gaps {}, out-of-order {}",
        stats.sessions,
        stats.by_outcome[0],
        stats.by_outcome[1],
        stats.by_outcome[2],
        stats.by_outcome[3],
        stats.peak_open,
        report.malformed,
        report.gaps.len(),
        report.out_of_order
    );
    let _ = events;
    ExitCode::SUCCESS
}
