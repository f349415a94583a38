//! `palisade report`: the UI's views in one self-contained HTML file.

use super::serve::{UiInputArgs, explain_error, inputs_fn, options};
use anyhow::Context;
use clap::Args;
use palisade_server::Snapshot;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
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
    if args.output == "-" {
        let html = palisade_server::report_html(&snapshot);
        crate::output::emit(&html, args.input.load.color.style(false))?;
    } else {
        // Written piece by piece: at 150,000 pods the page is hundreds of MB, and building
        // it as one string held several copies of it at once.
        let written = write_report(&snapshot, Path::new(&args.output))
            .with_context(|| format!("cannot write `{}`", args.output))?;
        crate::output::eprintln_sanitized!(
            "palisade: wrote {} ({} KiB)",
            args.output,
            written.div_ceil(1024)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the report page to `path`; the number of bytes written.
fn write_report(snapshot: &Snapshot, path: &Path) -> std::io::Result<u64> {
    let mut out = Counted {
        inner: BufWriter::with_capacity(1 << 16, File::create(path)?),
        bytes: 0,
    };
    palisade_server::write_report_html(snapshot, &mut out)?;
    out.inner.flush()?;
    Ok(out.bytes)
}

/// A writer that counts the bytes through it.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
