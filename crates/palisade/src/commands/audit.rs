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
    if let Some(ns) = &args.input.ns.namespace {
        let selection = crate::select::Selection::new(Some(ns), None)?;
        selection.warn_if_unknown(&loaded.model);
        report.namespaces.retain(|n| &n.name == ns);
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
