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

/// Stdout for output written piece by piece (streamed answers), buffered, each piece
/// sanitized as [`emit`] does. Pieces must be whole UTF-8 text (lines).
pub struct SanitizedStdout {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl SanitizedStdout {
    /// Locks stdout for the rest of the command.
    pub fn new() -> Self {
        SanitizedStdout {
            out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
        }
    }
}

impl Write for SanitizedStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(buf);
        self.out.write_all(sanitize_output(&text, false).as_bytes())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
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

/// `eprintln!` through [`emit_err`]: a line of Palisade's own words around values that may
/// come from input (paths, names), so it is sanitized like every other byte printed.
macro_rules! eprintln_sanitized {
    ($($arg:tt)*) => {
        $crate::output::emit_err(
            &format!("{}\n", format_args!($($arg)*)),
            palisade_render::Style::PLAIN,
        )
    };
}
pub(crate) use eprintln_sanitized;
