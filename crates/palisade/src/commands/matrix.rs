//! `palisade matrix`: the truth table for one port.

use crate::args::MatrixArgs;
use crate::input::{format, load_inputs, port_and_protocol, rendered};
use crate::output::emit;
use crate::select::{selection, warn_if_empty, without_headers};
use anyhow::bail;
use palisade_engine::{Engine, matrix};
use palisade_render::OutputFormat;
use std::process::ExitCode;

pub fn run(args: MatrixArgs) -> anyhow::Result<ExitCode> {
    crate::progress::configure(
        args.input.load.quiet,
        crate::progress::is_machine_format(&args.output),
    );
    let output = format(
        &args.output,
        &[
            OutputFormat::Text,
            OutputFormat::Csv,
            OutputFormat::Md,
            OutputFormat::Json,
        ],
    )?;
    let (port, protocol) = port_and_protocol(Some(&args.port), args.protocol.as_deref())?;
    let port = match port {
        Some(palisade_model::PortRef::Number(n)) => n,
        _ => bail!(
            "--port {}: the matrix probes one port number for every column; named ports differ per destination (use `palisade check --port NAME` or `connectivity`)",
            args.port
        ),
    };
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let selection = selection(args.input.ns.namespace.as_deref(), Some(&args.select))?;
    warn_if_empty(&selection, model);
    // Only the selected rows count: `-n` makes a large cluster's matrix small.
    let rows = matrix::rows(model, args.level.into(), &selection);
    if rows > args.max_peers {
        bail!(
            "the matrix would have {rows} rows and {rows} columns (--max-peers {}): narrow it with -n/-l, use --level workload, `palisade connectivity` (which stays sparse), or raise --max-peers",
            args.max_peers
        );
    }
    let engine = crate::progress::phase("compiling policies", || Engine::new(&loaded.model));
    let result = matrix::compute_selected(
        &loaded.model,
        &engine,
        args.level.into(),
        protocol,
        port,
        &selection,
    );
    let mut text = rendered(output, |f| palisade_render::matrix::render(&result, f))?;
    if args.table.no_headers {
        // The legend and the column numbers in text, the header line in CSV.
        match output {
            OutputFormat::Text | OutputFormat::Wide => text = without_headers(text, 2),
            OutputFormat::Csv => text = without_headers(text, 1),
            _ => {}
        }
    }
    emit(&text, palisade_render::Style::PLAIN)?;
    // Every format: the cells of rows and columns that unevaluated policies may select are
    // uncertain.
    let uncertainty = palisade_engine::Uncertainty::new(model);
    if uncertainty.any() {
        let mut peers: Vec<String> = model
            .pod_ids()
            .filter(|&p| !uncertainty.of_pod(p).is_empty())
            .map(|p| match args.level {
                crate::args::LevelArg::Pod => model.pod_name(p),
                crate::args::LevelArg::Workload => model.pod_workload_name(p),
            })
            .collect();
        peers.sort();
        peers.dedup();
        if !peers.is_empty() {
            let names = uncertainty.names(model, model.pod_ids());
            crate::output::emit_err(
                &format!(
                    "palisade: note: the rows and columns of {} are uncertain: {} may select them and {} not evaluated\n",
                    peers.join(", "),
                    names.join(", "),
                    if names.len() == 1 { "is" } else { "are" }
                ),
                palisade_render::Style::PLAIN,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
