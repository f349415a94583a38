//! `palisade audit`: the per-namespace protection report.

use crate::args::AuditArgs;
use crate::input::{format, load_inputs};
use crate::output::emit;
use palisade_engine::Engine;
use palisade_render::lint::audit;
use palisade_render::{OutputFormat, Style};
use std::process::ExitCode;

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    crate::progress::configure(
        args.input.load.quiet,
        crate::progress::is_machine_format(&args.output),
    );
    let output = format(
        &args.output,
        &[OutputFormat::Table, OutputFormat::Json, OutputFormat::Md],
    )?;
    let loaded = load_inputs(&args.input)?;
    let engine = Engine::new(&loaded.model);
    let report = palisade_lint::audit::audit(&loaded.model, &engine);
    emit(
        &match output {
            OutputFormat::Json => audit::json(&report),
            OutputFormat::Md => audit::md(&report),
            _ => audit::table(&report),
        },
        Style::PLAIN,
    )?;
    Ok(ExitCode::SUCCESS)
}
