//! One file per command; each exposes `run(args) -> anyhow::Result<ExitCode>`.

mod audit;
mod check;
mod connectivity;
pub mod conntest;
mod convert;
mod demo;
mod diff;
mod discover;
mod generate;
mod harden;
pub mod install;
mod lint;
mod map;
mod matrix;
mod relay;
mod replay;
mod report;
pub mod sandbox;
mod sandbox_replay;
mod serve;
mod snapshot;
mod sorted_sessions;
mod watch;

use crate::args::{Cli, Command, LevelArg};
use palisade_engine::connectivity::Level;
use std::process::ExitCode;

pub use report::ReportArgs;
pub use serve::ServeArgs;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Check(args) => check::run(args),
        Command::Matrix(args) => matrix::run(args),
        Command::Connectivity(args) => connectivity::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Replay(args) => replay::run(*args),
        Command::Convert(args) => convert::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Report(args) => report::run(*args),
        Command::Snapshot(args) => snapshot::run(args),
        Command::Watch(args) => watch::run(*args),
        Command::Map(args) => map::run(*args),
        Command::Generate(args) => generate::run(*args),
        Command::Harden(args) => harden::run(*args),
        Command::Sandbox(args) => sandbox::run(*args),
        Command::Test(args) => conntest::run(*args),
        Command::Completions(args) => install::completions(args),
        Command::Man(args) => install::man(args),
        Command::Version(args) => install::version(args),
    }
}

impl From<LevelArg> for Level {
    fn from(level: LevelArg) -> Level {
        match level {
            LevelArg::Pod => Level::Pod,
            LevelArg::Workload => Level::Workload,
        }
    }
}
