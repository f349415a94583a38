//! `palisade matrix`: the truth table for one port.

use crate::args::MatrixArgs;
use crate::input::{format, load_inputs, protocol};
use crate::output::emit;
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
            OutputFormat::Table,
            OutputFormat::Csv,
            OutputFormat::Md,
            OutputFormat::Json,
        ],
    )?;
    let protocol = protocol(&args.protocol)?;
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let rows = match args.level {
        crate::args::LevelArg::Pod => model.pods.len(),
        crate::args::LevelArg::Workload => {
            let mut workloads: Vec<_> = model.pods.iter().filter_map(|p| p.workload).collect();
            workloads.sort_unstable();
            workloads.dedup();
            workloads.len() + model.pods.iter().filter(|p| p.workload.is_none()).count()
        }
    };
    if rows > args.max_peers {
        bail!(
            "the matrix would have {rows} rows and {rows} columns (--max-peers {}): use --level workload, `palisade connectivity` (which stays sparse), or raise --max-peers",
            args.max_peers
        );
    }
    let engine = Engine::new(&loaded.model);
    let result = matrix::compute(
        &loaded.model,
        &engine,
        args.level.into(),
        protocol,
        args.port,
    );
    emit(
        &palisade_render::matrix::render(&result, output),
        palisade_render::Style::PLAIN,
    )?;
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
