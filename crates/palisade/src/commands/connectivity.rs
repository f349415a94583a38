//! `palisade connectivity`: every allowed pair with its exact ports.

use crate::args::ConnectivityArgs;
use crate::input::{format, load_inputs};
use crate::output::emit;
use palisade_engine::{Engine, connectivity};
use palisade_render::OutputFormat;
use std::process::ExitCode;

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
        ],
    )?;
    let loaded = load_inputs(&args.input)?;
    let engine = Engine::new(&loaded.model);
    let result = connectivity::compute(&loaded.model, &engine, args.level.into());
    emit(
        &palisade_render::connectivity::render(&result, output),
        palisade_render::Style::PLAIN,
    )?;
    Ok(ExitCode::SUCCESS)
}
