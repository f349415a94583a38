//! The `palisade` binary: parse arguments, run one command, turn the result into an exit code.
//!
//! Exit codes: 0 success, 1 findings (a verdict differing from `--expect`, lint findings, a
//! diff that `--fail-on` rejects), 2 usage, input or internal errors. A closed stdout pipe
//! (`palisade ... | head`) counts as success.

// The binary is the one place that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod discover_args;
mod input;
mod live;
mod output;
mod progress;
mod select;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut text = format!("palisade: error: {err}\n");
            for cause in err.chain().skip(1) {
                text.push_str(&format!("  caused by: {cause}\n"));
            }
            output::emit_err(&text, palisade_render::Style::PLAIN);
            ExitCode::from(2)
        }
    }
}
