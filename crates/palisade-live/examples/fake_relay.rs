//! Serves a Hubble capture (or generated flows) as the fake Relay, for trying `replay
//! --hubble-relay` / `watch` by hand and for the throughput benchmark:
//!
//! ```text
//! cargo run --release -p palisade-live --features fakes,synth --example fake_relay -- synth 200000
//! cargo run -p palisade-live --features fakes --example fake_relay -- capture examples/webshop-traffic/capture.jsonl --hold-open
//! cargo run --release -p palisade-live --features fakes,synth --example fake_relay -- synth 1000000 --hold-open --rate 100000
//! ```
//!
//! `--rate N` streams at most N responses per second (a busy Relay), for follow mode.
//!
//! Prints `listening on ADDR` and serves until killed.

#![allow(clippy::print_stdout)]

use palisade_live::fakes::{FakeRelay, RelayScript, responses_from_capture};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let hold_open = args.iter().any(|a| a == "--hold-open");
    let rate = match args.iter().position(|a| a == "--rate") {
        Some(i) => Some(
            args.get(i + 1)
                .ok_or("--rate needs a number of flows per second")?
                .parse::<u64>()?,
        ),
        None => None,
    };
    let responses = match args.first().map(String::as_str) {
        Some("capture") => responses_from_capture(std::path::Path::new(&args[1]))?,
        #[cfg(feature = "synth")]
        Some("synth") => {
            let n: u64 = args[1].parse()?;
            let path = std::env::temp_dir().join(format!("fake-relay-{}.json", std::process::id()));
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
            palisade_synth::traffic::write_hubble(&mut file, n, 42)?;
            drop(file);
            let r = responses_from_capture(&path)?;
            std::fs::remove_file(&path)?;
            r
        }
        _ => {
            return Err(
                "usage: fake_relay capture FILE | synth N  [--hold-open] [--rate FLOWS_PER_S]"
                    .into(),
            );
        }
    };
    let relay = FakeRelay::start(RelayScript {
        responses,
        hold_open,
        rate,
        ..Default::default()
    });
    println!("listening on {}", relay.addr);
    loop {
        std::thread::park();
    }
}
