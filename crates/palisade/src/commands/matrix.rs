//! `palisade matrix`: the truth table for one port.

use crate::args::MatrixArgs;
use crate::input::{format, load_inputs, protocol};
use crate::output::emit;
use palisade_engine::{Engine, matrix};
use palisade_render::OutputFormat;
use std::process::ExitCode;

pub fn run(args: MatrixArgs) -> anyhow::Result<ExitCode> {
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
    let engine = Engine::new(&loaded.model);
    let result = matrix::compute(
        &loaded.model,
        &engine,
        args.level.into(),
        protocol,
        args.port,
    );
    emit(&palisade_render::matrix::render(&result, output))?;
    Ok(ExitCode::SUCCESS)
}
