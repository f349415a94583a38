//! Writes deterministic benchmark inputs: `palisade-flows-synth hubble|pcap COUNT OUT [SEED]`.
//! `OUT` ending in `.gz` is gzip-compressed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use palisade_synth::traffic as synth;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: palisade-flows-synth hubble|pcap COUNT OUT [SEED]";
    let (Some(kind), Some(count), Some(out)) = (args.get(1), args.get(2), args.get(3)) else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{usage}");
        }
        return ExitCode::from(2);
    };
    let count: u64 = count.replace('_', "").parse().unwrap_or(0);
    let seed: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(42);
    let result = (|| -> std::io::Result<synth::SynthSummary> {
        let file = BufWriter::with_capacity(1 << 20, File::create(out)?);
        let mut w: Box<dyn Write> = if out.ends_with(".gz") {
            Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            ))
        } else {
            Box::new(file)
        };
        let summary = match kind.as_str() {
            "hubble" => synth::write_hubble(&mut w, count, seed)?,
            "pcap" => synth::write_pcap(&mut w, count, seed)?,
            _ => return Err(std::io::Error::other(usage)),
        };
        w.flush()?;
        Ok(summary)
    })();
    #[allow(clippy::print_stderr)]
    match result {
        Ok(s) => {
            eprintln!(
                "{out}: {} records, {} connections, {} bytes",
                s.records, s.connections, s.bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("palisade-flows-synth: {e}");
            ExitCode::FAILURE
        }
    }
}
