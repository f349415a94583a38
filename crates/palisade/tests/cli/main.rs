//! End-to-end tests of the `palisade` binary: stdout, stderr and exit code, snapshotted.
//! One test binary for all commands (ripgrep's layout); one module per command.

mod columnar;
mod conntest;
mod core;
mod diff;
mod discover;
mod expect;
mod hostile;
mod inputs;
mod install;
mod lint;
mod live;
mod replay;
mod support;
mod ui;
