//! `palisade report`: the UI's views in one self-contained HTML file.

use super::serve::{UiInputArgs, explain_error, inputs_fn, options};
use anyhow::Context;
use clap::Args;
use palisade_server::Snapshot;
use std::process::ExitCode;

/// `palisade report`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade report examples/webshop -o report.html\n  palisade report examples/webshop examples/webshop-traffic/cluster --capture examples/webshop-traffic/capture.pcap --proposed examples/webshop-fixed --overlay -o report.html"
)]
pub struct ReportArgs {
    /// What to show.
    #[command(flatten)]
    pub input: UiInputArgs,
    /// The HTML file to write (`-` for stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: String,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let inputs = inputs_fn(&args.input)?().map_err(anyhow::Error::msg)?;
    let options = options(&args.input)?;
    let snapshot = Snapshot::build(&inputs, &options).map_err(explain_error)?;
    crate::select::warn_if_empty(&snapshot.selection, &snapshot.model);
    if args.input.load.verbose {
        for p in &snapshot.problems {
            crate::output::emit_err(p, args.input.load.color.style(true));
        }
    }
    let html = palisade_server::report_html(&snapshot);
    if args.output == "-" {
        crate::output::emit(&html, args.input.load.color.style(false))?;
    } else {
        std::fs::write(&args.output, &html)
            .with_context(|| format!("cannot write `{}`", args.output))?;
        crate::output::eprintln_sanitized!(
            "palisade: wrote {} ({} KiB)",
            args.output,
            html.len().div_ceil(1024)
        );
    }
    Ok(ExitCode::SUCCESS)
}
