//! Progress indicators on stderr for work that can take more than a second (loading,
//! compiling, connectivity, lint, replay). The one place that decides whether they are shown
//! and how they look; every command goes through it.
//!
//! Shown only when stderr is a terminal, `--quiet` was not given and the command's output is
//! not a machine format going to a pipe (`-o json | jq` stays silent on stderr too); each
//! indicator erases itself when done, so the terminal keeps only the answer.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether indicators may be drawn (decided once per command by [`configure`]).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Decides whether this run shows progress: `quiet` is `--quiet`, `machine_output` whether
/// stdout gets a machine format (json, jsonl, csv, sarif...).
pub fn configure(quiet: bool, machine_output: bool) {
    let enabled = decide(
        quiet,
        machine_output,
        std::io::stderr().is_terminal(),
        std::io::stdout().is_terminal(),
    );
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// The rule of [`configure`], without the terminal checks.
fn decide(quiet: bool, machine_output: bool, stderr_tty: bool, stdout_tty: bool) -> bool {
    stderr_tty && !quiet && (stdout_tty || !machine_output)
}

/// Whether a format name is meant for programs rather than people.
pub fn is_machine_format(format: &str) -> bool {
    matches!(
        format,
        "json" | "jsonl" | "ndjson" | "csv" | "sarif" | "github" | "junit" | "yaml" | "yml"
    )
}

/// One indicator; hidden when progress is off. Erased when dropped.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(bar: ProgressBar) -> Self {
        if !ENABLED.load(Ordering::Relaxed) {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        Progress { bar }
    }

    /// A spinner with a message, for a phase of unknown length (loading, compiling).
    pub fn spinner(message: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
        );
        bar.set_message(message.to_string());
        let progress = Progress::new(bar);
        if !progress.bar.is_hidden() {
            progress.bar.enable_steady_tick(Duration::from_millis(120));
        }
        progress
    }

    /// A bar over `total` items (`unit` names them: "sources", "policies").
    pub fn items(message: &str, total: u64, unit: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {message} [{{wide_bar}}] {{human_pos}}/{{human_len}} {unit} {{msg}} {{eta}}"
            ))
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Progress::new(bar)
    }

    /// A bar over `total` bytes read.
    pub fn bytes(message: &str, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {message} {{bytes}}/{{total_bytes}} [{{wide_bar}}] {{msg}} {{eta}}"
            ))
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Progress::new(bar)
    }

    /// Whether nothing is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Sets the position (items or bytes done).
    pub fn set_position(&self, position: u64) {
        self.bar.set_position(position);
    }

    /// Sets the trailing message.
    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Wraps a reader so that the bytes read advance the bar.
    pub fn wrap_read<R: std::io::Read>(&self, read: R) -> indicatif::ProgressBarIter<R> {
        self.bar.wrap_read(read)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Runs `work` under a spinner saying `message`.
pub fn phase<T>(message: &str, work: impl FnOnce() -> T) -> T {
    let _spinner = Progress::spinner(message);
    work()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_only_on_a_terminal_without_quiet_nor_machine_output_to_a_pipe() {
        assert!(decide(false, false, true, true));
        assert!(decide(false, false, true, false), "text to a pipe");
        assert!(decide(false, true, true, true), "json to the terminal");
        assert!(!decide(false, true, true, false), "json to a pipe");
        assert!(!decide(true, false, true, true), "--quiet");
        assert!(!decide(false, false, false, true), "stderr not a terminal");
    }

    #[test]
    fn hidden_when_not_configured() {
        // Tests never run with progress on: nothing may reach the goldens.
        assert!(Progress::spinner("loading").is_hidden());
        assert!(Progress::items("x", 3, "items").is_hidden());
    }
}
