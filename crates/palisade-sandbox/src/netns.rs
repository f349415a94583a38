//! Network namespaces and the commands that configure them.
//!
//! Namespaces are created and configured with `ip` (iproute2) and `nft` batch input: the same
//! tools an operator would use to inspect a run, one process per namespace rather than one
//! per object. Work that must happen *inside* a namespace (opening sockets, running `nft`,
//! writing per-namespace sysctls) runs on a short-lived thread that has `setns`-ed into it;
//! the calling thread's namespace is never changed.

use crate::SandboxError;
use nix::sched::{CloneFlags, setns};
use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};

/// Where named network namespaces live (iproute2's convention).
pub const NETNS_DIR: &str = "/run/netns";

/// Runs `program args...` with `input` on stdin; fails with its stderr.
pub fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<(), SandboxError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SandboxError::Tool {
            tool: program.to_string(),
            message: e.to_string(),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| SandboxError::Tool {
                tool: program.to_string(),
                message: e.to_string(),
            })?;
    }
    let out = child.wait_with_output().map_err(|e| SandboxError::Tool {
        tool: program.to_string(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(SandboxError::Tool {
            tool: format!("{program} {}", args.join(" ")),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `ip -b -` (optionally `-n NS`) with one command per line.
pub fn ip_batch(netns: Option<&str>, lines: &str) -> Result<(), SandboxError> {
    let mut args = Vec::new();
    if let Some(ns) = netns {
        args.extend(["-n", ns]);
    }
    args.extend(["-b", "-"]);
    run_with_input("ip", &args, lines)
}

/// `bridge -n NS -b -`.
pub fn bridge_batch(netns: &str, lines: &str) -> Result<(), SandboxError> {
    run_with_input("bridge", &["-n", netns, "-b", "-"], lines)
}

/// Runs `f` on a new thread that has entered the named network namespace.
pub fn in_netns<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> Result<T, SandboxError> + Send + 'static,
) -> Result<T, SandboxError> {
    let path = format!("{NETNS_DIR}/{netns}");
    let name = netns.to_string();
    std::thread::spawn(move || {
        let file = File::open(&path).map_err(|e| SandboxError::Namespace {
            netns: name.clone(),
            message: e.to_string(),
        })?;
        setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| SandboxError::Namespace {
            netns: name,
            message: e.to_string(),
        })?;
        f()
    })
    .join()
    .unwrap_or_else(|_| {
        Err(SandboxError::Namespace {
            netns: netns.to_string(),
            message: "worker thread panicked".to_string(),
        })
    })
}

/// Loads a ruleset with `nft -f -` inside a namespace (the child inherits the thread's
/// namespace).
pub fn nft_load(netns: &str, ruleset: String) -> Result<(), SandboxError> {
    in_netns(netns, move || run_with_input("nft", &["-f", "-"], &ruleset))
}

/// Writes a sysctl of the current thread's network namespace (`/proc/sys/net/...`).
pub fn write_sysctl(path: &str, value: &str) -> Result<(), SandboxError> {
    std::fs::write(format!("/proc/sys/{path}"), value).map_err(|e| SandboxError::Tool {
        tool: format!("sysctl {path}"),
        message: e.to_string(),
    })
}

/// Names of the existing named network namespaces.
pub fn list() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Deletes named namespaces (their links go with them); missing ones are ignored.
pub fn delete(names: &[String]) -> Result<(), SandboxError> {
    let existing: Vec<&String> = {
        let all = list();
        names.iter().filter(|n| all.contains(n)).collect()
    };
    if existing.is_empty() {
        return Ok(());
    }
    let lines: String = existing
        .iter()
        .map(|n| format!("netns del {n}\n"))
        .collect();
    // `-force`: one namespace that is already gone must not keep the others alive.
    run_with_input("ip", &["-force", "-b", "-"], &lines)
}
