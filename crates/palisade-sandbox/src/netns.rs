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

/// Empties the connection-tracking table of the current thread's network namespace (what
/// `conntrack -F` does: one ctnetlink `IPCTNL_MSG_CT_DELETE` without a tuple, family
/// `AF_UNSPEC`, i.e. every family).
///
/// A sandbox that swaps rulesets between cases needs it: an entry left by the previous case
/// would let a reused source port through `ct state established` under rules that deny it,
/// and entries in TIME_WAIT (120 s) would pile up to `nf_conntrack_max`, where the kernel
/// drops new connections (a false timeout).
pub fn flush_conntrack() -> Result<(), SandboxError> {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, sendto,
        setsockopt, socket, sockopt,
    };
    use std::os::fd::AsRawFd;
    const NFNL_SUBSYS_CTNETLINK: u16 = 1;
    const IPCTNL_MSG_CT_DELETE: u16 = 2;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_ACK: u16 = 4;
    const NLMSG_ERROR: u16 = 2;
    let fail = |e: nix::errno::Errno| SandboxError::Tool {
        tool: "conntrack flush (ctnetlink)".into(),
        message: e.desc().to_string(),
    };
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkNetFilter,
    )
    .map_err(fail)?;
    // The answer is immediate; the timeout only guards against a kernel that never acks.
    setsockopt(
        &fd,
        sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(5, 0),
    )
    .map_err(fail)?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(fail)?;
    // nlmsghdr (len, type, flags, seq, pid) + nfgenmsg (family, version, res_id).
    let mut message = Vec::with_capacity(20);
    message.extend_from_slice(&20u32.to_ne_bytes());
    message.extend_from_slice(&((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE).to_ne_bytes());
    message.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    message.extend_from_slice(&1u32.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(&[0, 0, 0, 0]);
    sendto(
        fd.as_raw_fd(),
        &message,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .map_err(fail)?;
    let mut answer = [0u8; 512];
    let n = recv(fd.as_raw_fd(), &mut answer, MsgFlags::empty()).map_err(fail)?;
    // The ack is an NLMSG_ERROR whose error code is 0; anything else is a failure.
    if n >= 20 && u16::from_ne_bytes([answer[4], answer[5]]) == NLMSG_ERROR {
        let code = i32::from_ne_bytes([answer[16], answer[17], answer[18], answer[19]]);
        if code != 0 {
            return Err(fail(nix::errno::Errno::from_raw(-code)));
        }
        return Ok(());
    }
    Err(SandboxError::Tool {
        tool: "conntrack flush (ctnetlink)".into(),
        message: format!("unexpected answer of {n} bytes"),
    })
}
