//! `palisade connectivity`: every allowed pair with its exact ports.

use crate::args::ConnectivityArgs;
use crate::input::{format, load_inputs, rendered};
use crate::output::{emit, emit_err};
use palisade_engine::{Engine, Uncertainty, connectivity};
use palisade_render::OutputFormat;
use palisade_render::connectivity::PeerNotes;
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
    let uncertainty = Uncertainty::new(&loaded.model);
    let notes = PeerNotes::new(&loaded.model, &result, &uncertainty);
    let uncertain_peers = notes.uncertain.iter().filter(|u| !u.is_empty()).count();
    if uncertain_peers > 0 {
        emit_err(
            &format!(
                "palisade: note: {uncertain_peers} of {} peers may be selected by policies \
                 Palisade does not evaluate: every pair involving them, listed or not, is \
                 uncertain (the txt, md, csv and json outputs mark the listed ones)\n",
                result.peers.len()
            ),
            palisade_render::Style::PLAIN,
        );
    }
    emit(
        &rendered(output, |f| {
            palisade_render::connectivity::render_with(&result, f, &notes)
        })?,
        palisade_render::Style::PLAIN,
    )?;
    Ok(ExitCode::SUCCESS)
}
