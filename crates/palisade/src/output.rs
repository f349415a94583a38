//! Writing to stdout and deciding on colours.

use palisade_render::Style;
use palisade_render::escape::sanitize_output;
use std::io::{IsTerminal, Write};

/// Writes a rendered report to stdout. Every byte printed goes through
/// [`palisade_render::escape::sanitize_output`]: input never reaches the terminal with its
/// control characters; `style` says whether Palisade's own colour codes are kept.
pub fn emit(text: &str, style: Style) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(sanitize_output(text, style.color).as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Writes to stderr, sanitized as [`emit`] does.
pub fn emit_err(text: &str, style: Style) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(sanitize_output(text, style.color).as_bytes());
}

/// Whether an error is a closed pipe on stdout, which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `--color` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colours when the stream is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// The style for stdout (`stderr = false`) or stderr.
    pub fn style(self, stderr: bool) -> Style {
        let color = match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none()
                    && if stderr {
                        std::io::stderr().is_terminal()
                    } else {
                        std::io::stdout().is_terminal()
                    }
            }
        };
        Style { color }
    }
}
