//! `palisade convert`: captures of any format into Parquet of the flow schema.

use crate::args::ConvertArgs;
use crate::output::emit_err;
use anyhow::{Context, bail};
use palisade_columnar::{FlowParquetWriter, ParquetFlowReader, is_parquet};
use palisade_flows::{FlowReader, Format, ReadOptions, ReadReport};
use palisade_render::Style;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

/// Whether `path` is a Parquet file: by its magic bytes (`PAR1`), else by its extension.
pub(crate) fn is_parquet_file(path: &str) -> bool {
    if path == "-" {
        return false;
    }
    let mut magic = [0u8; 4];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)) {
        Ok(()) => is_parquet(&magic),
        Err(_) => path.ends_with(".parquet"),
    }
}

/// `--format`: a capture format, or parquet (`None` inside: detect).
pub(crate) fn format_arg(format: Option<&str>) -> anyhow::Result<(Option<Format>, bool)> {
    match format {
        None => Ok((None, false)),
        Some(f) if f.eq_ignore_ascii_case(Format::Parquet.as_str()) => Ok((None, true)),
        Some(f) => match Format::parse(f) {
            Some(f) => Ok((Some(f), false)),
            None => bail!(
                "--format: unknown format `{f}`: expected hubble, pcap, pcapng, vpc, csv, jsonl or parquet"
            ),
        },
    }
}

/// The sink for binary output: a file, or stdout when it is not a terminal.
pub(crate) fn binary_sink(path: Option<&str>, flag: &str) -> anyhow::Result<Box<dyn Write + Send>> {
    match path {
        None | Some("-") => {
            if std::io::stdout().is_terminal() {
                bail!(
                    "refusing to write Parquet (binary) to a terminal: give a file with {flag}, or redirect stdout"
                );
            }
            Ok(Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::io::stdout(),
            )))
        }
        Some(p) => {
            let f = std::fs::File::create(p).with_context(|| format!("cannot create `{p}`"))?;
            Ok(Box::new(std::io::BufWriter::with_capacity(1 << 20, f)))
        }
    }
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let (format, force_parquet) = format_arg(args.format.as_deref())?;
    if args.inputs.iter().filter(|p| *p == "-").count() > 1 {
        bail!("standard input (`-`) can be read only once");
    }
    for p in &args.inputs {
        if p != "-" && !std::path::Path::new(p).exists() {
            bail!("`{p}` does not exist");
        }
        if p != "-"
            && std::path::Path::new(p).canonicalize().ok()
                == std::path::Path::new(&args.output).canonicalize().ok()
        {
            bail!("`{p}` is both an input and the output");
        }
    }
    let sink = binary_sink(Some(&args.output), "-o FILE")?;
    let mut writer = FlowParquetWriter::new(sink)?;
    let mut reports: Vec<ReadReport> = Vec::new();
    let mut write_err: Option<palisade_columnar::Error> = None;
    for path in &args.inputs {
        let mut push = |ev: &palisade_flows::FlowEvent<'_>| {
            if write_err.is_none()
                && let Err(e) = writer.push(ev)
            {
                write_err = Some(e);
            }
        };
        if force_parquet || (format.is_none() && is_parquet_file(path)) {
            if path == "-" {
                bail!(
                    "Parquet cannot be read from standard input (it is read from its end): give a file"
                );
            }
            let mut reader = ParquetFlowReader::open(path, None)?;
            reader
                .read_flows(&mut push)
                .with_context(|| format!("`{path}`"))?;
            reports.push(reader.into_report());
        } else {
            let opts = ReadOptions {
                format,
                strict: args.strict,
                ..ReadOptions::default()
            };
            let mut reader = if path == "-" {
                FlowReader::new("-", std::io::BufReader::new(std::io::stdin().lock()), &opts)?
            } else {
                FlowReader::open(path, &opts)?
            };
            reader.read_flows(&mut push)?;
            reports.push(reader.into_report());
        }
        if let Some(e) = write_err.take() {
            return Err(e).with_context(|| format!("writing `{}`", args.output));
        }
    }
    let rows = writer.rows();
    writer
        .finish()?
        .flush()
        .with_context(|| format!("writing `{}`", args.output))?;
    let sources = palisade_diag::SourceMap::default();
    for r in &reports {
        emit_err(
            &palisade_render::diagnostics::human_bounded(
                &r.diagnostics(),
                &sources,
                Style::PLAIN,
                "",
            ),
            Style::PLAIN,
        );
    }
    let gaps: usize = reports.iter().map(|r| r.gaps.len()).sum();
    if gaps > 0 {
        emit_err(
            &format!(
                "palisade: warning: {gaps} gap{} in the input (lost events, flow-log NODATA/SKIPDATA) cannot be kept in the flow schema: replaying the Parquet file will not mark the sessions open during them (`during_gap`)\n",
                if gaps == 1 { "" } else { "s" }
            ),
            Style::PLAIN,
        );
    }
    if args.output != "-" {
        emit_err(
            &format!(
                "palisade: {rows} flow{} from {} input{} written to {}\n",
                if rows == 1 { "" } else { "s" },
                reports.len(),
                if reports.len() == 1 { "" } else { "s" },
                args.output
            ),
            Style::PLAIN,
        );
    }
    Ok(ExitCode::SUCCESS)
}
