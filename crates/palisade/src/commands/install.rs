//! `palisade completions`, `palisade man`, `palisade version`: what an installed binary needs
//! around it (shell completions, manual pages, the exact build it is).

use crate::args::Cli;
use crate::output::emit;
use anyhow::Context;
use clap::{Args, CommandFactory};
use palisade_render::Style;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The git commit the binary was built from (`unknown` outside a git checkout), set by build.rs.
pub const GIT_COMMIT: &str = env!("PALISADE_GIT_COMMIT");

/// `palisade completions SHELL`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    palisade completions bash > ~/.local/share/bash-completion/completions/palisade\n  \
    palisade completions zsh > \"${fpath[1]}/_palisade\"\n  \
    palisade completions fish > ~/.config/fish/completions/palisade.fish")]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `palisade man [--dir DIR]`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (palisade.1, palisade-check.1, ...) into DIR (created if
    /// missing) instead of printing the top-level page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `palisade version`.
#[derive(Debug, Args)]
pub struct VersionArgs {}

/// Prints the completion script for one shell.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "palisade", &mut script);
    emit(&String::from_utf8(script)?, Style::PLAIN)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the top-level man page, or writes every page into `--dir`.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            emit(&String::from_utf8(page)?, Style::PLAIN)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut written = Vec::new();
            write_pages(cmd, &dir, &mut written)
                .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
            let listing: String = written
                .iter()
                .map(|path| format!("{}\n", path.display()))
                .collect();
            emit(&listing, Style::PLAIN)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the page of `cmd` and of each visible subcommand, depth first, recording the paths.
/// clap names built subcommands `palisade-check` etc., which become the file names.
fn write_pages(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let page = clap_mangen::Man::new(cmd.clone());
    written.push(page.generate_to(dir)?);
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    Ok(())
}

/// Prints `palisade VERSION (commit COMMIT)`.
pub fn version(_args: VersionArgs) -> anyhow::Result<ExitCode> {
    emit(
        &format!(
            "palisade {} (commit {GIT_COMMIT})\n",
            env!("CARGO_PKG_VERSION")
        ),
        Style::PLAIN,
    )?;
    Ok(ExitCode::SUCCESS)
}
