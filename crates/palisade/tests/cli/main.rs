//! End-to-end tests of the `palisade` binary: stdout, stderr and exit code, snapshotted.
//! One test binary for all commands (ripgrep's layout); one module per command.

mod conntest;
mod core;
mod diff;
mod discover;
mod expect;
mod habits;
mod hostile;
mod inputs;
mod install;
mod lint;
mod live;
mod readme;
mod replay;
mod support;
mod ui;
