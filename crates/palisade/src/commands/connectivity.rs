//! `palisade connectivity`: every allowed pair with its exact ports.
//!
//! The answer is streamed: rows are written as the engine produces them (sources by name),
//! so memory is the class-level connectivity, never the answer (which can be billions of
//! pairs at workload level on a large cluster). Its size is known before the first row and
//! `--max-pairs` refuses an answer too big to be useful.

use crate::args::{ConnectivityArgs, ConnectivityLevel};
use crate::input::{format, load_inputs};
use crate::output::{SanitizedStdout, emit, emit_err};
use crate::progress::{self, Progress};
use anyhow::bail;
use palisade_engine::connectivity::{AnswerSize, ConnectivityStream, Level, PeerRef};
use palisade_engine::{Engine, Uncertainty};
use palisade_render::OutputFormat;
use palisade_render::connectivity::{ConnectivityWriter, PeerNotes};
use std::process::ExitCode;

/// Above this many connections, the size is said on stderr before the answer.
const ANNOUNCE_PAIRS: u64 = 1_000_000;

pub fn run(args: ConnectivityArgs) -> anyhow::Result<ExitCode> {
    let output = format(
        &args.output,
        &[
            OutputFormat::Text,
            OutputFormat::Csv,
            OutputFormat::Md,
            OutputFormat::Dot,
            OutputFormat::Svg,
            OutputFormat::Json,
            OutputFormat::Jsonl,
        ],
    )?;
    progress::configure(
        args.input.load.quiet,
        progress::is_machine_format(&args.output),
    );
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let engine = progress::phase("compiling policies", || Engine::new(model));
    let mut stream = progress::phase("computing class connectivity", || match args.level {
        ConnectivityLevel::Pod => ConnectivityStream::new(model, &engine, Level::Pod),
        ConnectivityLevel::Workload => ConnectivityStream::new(model, &engine, Level::Workload),
        ConnectivityLevel::Namespace => ConnectivityStream::namespaces(model, &engine),
    });
    let size = stream.size();
    let level = match args.level {
        ConnectivityLevel::Pod => "pod",
        ConnectivityLevel::Workload => "workload",
        ConnectivityLevel::Namespace => "namespace",
    };
    if args.max_pairs > 0 && size.max_pairs > args.max_pairs {
        bail!(
            "the {level}-level answer has up to {} connections between {} endpoints (about {} as text; --max-pairs {}): {}, or raise --max-pairs (0: no limit)",
            group_digits(size.max_pairs),
            group_digits(size.endpoints as u64),
            human_bytes(size.text_bytes),
            group_digits(args.max_pairs),
            narrowing(args.level),
        );
    }
    if size.max_pairs > ANNOUNCE_PAIRS {
        announce(level, &size, args.level);
    }
    let uncertainty = Uncertainty::new(model);
    let notes = PeerNotes::for_peers(model, stream.peers(), &uncertainty);
    let result = if ConnectivityWriter::<SanitizedStdout>::streams(output) {
        stream_rows(&mut stream, output, &notes)?
    } else {
        // dot and svg lay out the whole graph: collected, then drawn.
        let result = stream.collect();
        let notes = PeerNotes::new(model, &result, &uncertainty);
        emit(
            &palisade_render::connectivity::render_with(&result, output, &notes),
            palisade_render::Style::PLAIN,
        )?;
        Counted {
            peers: result.peers.len(),
            uncertain: notes.uncertain.iter().filter(|u| !u.is_empty()).count(),
        }
    };
    if result.uncertain > 0 {
        emit_err(
            &format!(
                "palisade: note: {} of {} peers may be selected by policies \
                 Palisade does not evaluate: every pair involving them, listed or not, is \
                 uncertain (the txt, md, csv and json outputs mark the listed ones)\n",
                result.uncertain, result.peers
            ),
            palisade_render::Style::PLAIN,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What the uncertainty note counts: peers of the answer, and those marked uncertain.
struct Counted {
    peers: usize,
    uncertain: usize,
}

/// Writes the rows as they come, with a progress bar over the sources.
fn stream_rows(
    stream: &mut ConnectivityStream,
    output: OutputFormat,
    notes: &PeerNotes,
) -> anyhow::Result<Counted> {
    let mut writer = ConnectivityWriter::new(SanitizedStdout::new(), output, notes)?;
    let bar = Progress::items("connectivity", stream.sources() as u64, "sources");
    let mut used = vec![false; stream.peers().len()];
    let written = stream.for_each_with_progress(
        &mut |peers, src, dst, ports| {
            used[src] = true;
            used[dst] = true;
            writer.connection(peers, src, dst, ports)
        },
        &mut |done, _| {
            if done % 64 == 0 {
                bar.set_position(done as u64);
            }
        },
    );
    drop(bar);
    written?;
    writer.finish(stream.peers())?;
    // External ranges nobody talks to are not peers of the answer.
    let peers = stream
        .peers()
        .iter()
        .zip(&used)
        .filter(|(p, used)| **used || !matches!(p.what, PeerRef::External(_)))
        .count();
    Ok(Counted {
        peers,
        uncertain: notes.uncertain.iter().filter(|u| !u.is_empty()).count(),
    })
}

/// Says how big the answer is before producing it.
fn announce(level: &str, size: &AnswerSize, chosen: ConnectivityLevel) {
    emit_err(
        &format!(
            "palisade: note: the {level}-level answer has up to {} connections (about {} as text), written as they are computed; {}\n",
            group_digits(size.max_pairs),
            human_bytes(size.text_bytes),
            narrowing(chosen),
        ),
        palisade_render::Style::PLAIN,
    );
}

/// How to ask for a smaller answer.
fn narrowing(level: ConnectivityLevel) -> &'static str {
    match level {
        ConnectivityLevel::Namespace => {
            "narrow it with -n NAMESPACE or -l SELECTOR, or split the manifests"
        }
        _ => "narrow it with -n NAMESPACE or -l SELECTOR, or ask for --level namespace",
    }
}

/// `1234567` → `1,234,567`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in B, kB, MB, GB or TB (powers of 1000).
fn human_bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(268_000_123), "268,000,123");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(23_400_000_000), "23.4 GB");
    }
}
