//! `palisade audit`: the per-namespace protection report.

use crate::args::AuditArgs;
use crate::input::{format, load_inputs, rendered};
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
        &[OutputFormat::Text, OutputFormat::Json, OutputFormat::Md],
    )?;
    let loaded = load_inputs(&args.input)?;
    let engine = Engine::new(&loaded.model);
    let mut report = palisade_lint::audit::audit(&loaded.model, &engine);
    let selection =
        crate::select::selection(args.input.ns.namespace.as_deref(), Some(&args.select))?;
    if !selection.is_everything() {
        crate::select::warn_if_empty(&selection, &loaded.model);
        report.restrict(&loaded.model, &selection);
    }
    let mut text = rendered(output, |f| match f {
        OutputFormat::Json => audit::json(&report),
        OutputFormat::Md => audit::md(&report),
        _ => audit::table(&report),
    })?;
    if args.table.no_headers && matches!(output, OutputFormat::Text | OutputFormat::Wide) {
        text = crate::select::without_headers(text, 1);
    }
    emit(&text, Style::PLAIN)?;
    Ok(ExitCode::SUCCESS)
}
