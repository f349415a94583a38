//! `palisade sandbox matrix` / `run`: kernel truth tables next to the engine's prediction.

use crate::{OutputFormat, to_json};
use palisade_sandbox::Outcome;
use palisade_sandbox::matrix::KernelMatrix;
use serde::Serialize;
use std::fmt::Write;

/// The `palisade matrix -o json` shape plus the kernel's view. `allowed` is what the kernel
/// let through (an `accepted` probe), so the document reads like a measured
/// `palisade matrix`; `predicted` is the engine's table.
#[derive(Serialize)]
struct JsonKernelMatrix<'a> {
    port: u16,
    protocol: &'static str,
    peers: &'a [String],
    allowed: Vec<Vec<bool>>,
    observed: Vec<Vec<&'static str>>,
    predicted: &'a [Vec<bool>],
    mismatches: Vec<JsonMismatch>,
}

#[derive(Serialize)]
struct JsonMismatch {
    src: String,
    dst: String,
    observed: &'static str,
    predicted: &'static str,
}

fn verdict(allowed: bool) -> &'static str {
    if allowed { "allowed" } else { "denied" }
}

fn json_value(m: &KernelMatrix) -> JsonKernelMatrix<'_> {
    JsonKernelMatrix {
        port: m.port,
        protocol: m.protocol.as_str(),
        peers: &m.peers,
        allowed: m
            .observed
            .iter()
            .map(|row| row.iter().map(|&o| o == Outcome::Accepted).collect())
            .collect(),
        observed: m
            .observed
            .iter()
            .map(|row| row.iter().map(|o| o.as_str()).collect())
            .collect(),
        predicted: &m.predicted,
        mismatches: m
            .mismatches()
            .into_iter()
            .map(|x| JsonMismatch {
                src: x.src,
                dst: x.dst,
                observed: x.observed.as_str(),
                predicted: verdict(x.predicted),
            })
            .collect(),
    }
}

/// One table: JSON, or the upstream e2e suite's expected / observed / comparison tables.
pub fn render_matrix(m: &KernelMatrix, format: OutputFormat) -> String {
    if format == OutputFormat::Json {
        return to_json(&json_value(m));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}/{} ('.' allowed, 'X' denied; rows: from, columns: to)",
        m.port, m.protocol
    );
    let table = |out: &mut String, title: &str, cell: &dyn Fn(usize, usize) -> &'static str| {
        let _ = writeln!(out, "{title}:");
        let _ = writeln!(out, "-\t{}", m.peers.join("\t"));
        for (i, peer) in m.peers.iter().enumerate() {
            let cells: Vec<&str> = (0..m.peers.len()).map(|j| cell(i, j)).collect();
            let _ = writeln!(out, "{peer}\t{}", cells.join("\t"));
        }
    };
    let mark = |b: bool| if b { "." } else { "X" };
    table(&mut out, "expected (engine)", &|i, j| {
        mark(m.predicted[i][j])
    });
    table(
        &mut out,
        "observed (kernel)",
        &|i, j| match m.observed[i][j] {
            Outcome::Accepted => ".",
            Outcome::Refused | Outcome::TimedOut => "X",
            Outcome::Unsupported => "?",
        },
    );
    table(
        &mut out,
        "comparison ('.' agree, 'X' differ, '?' unsupported)",
        &|i, j| match m.observed[i][j].allowed() {
            None => "?",
            Some(a) if a == m.predicted[i][j] => ".",
            Some(_) => "X",
        },
    );
    let mismatches = m.mismatches();
    if mismatches.is_empty() {
        let _ = writeln!(out, "kernel and engine agree on every probe");
    } else {
        let _ = writeln!(out, "{} mismatch(es):", mismatches.len());
        for x in mismatches {
            let _ = writeln!(
                out,
                "  {} -> {}: kernel {}, engine {}",
                x.src,
                x.dst,
                x.observed.as_str(),
                verdict(x.predicted)
            );
        }
    }
    out
}

/// Several tables (`sandbox run`): JSON as `{"tables": [...]}`, text one after the other.
pub fn render_run(tables: &[KernelMatrix], format: OutputFormat) -> String {
    if format == OutputFormat::Json {
        #[derive(Serialize)]
        struct Run<'a> {
            tables: Vec<JsonKernelMatrix<'a>>,
            mismatches: usize,
        }
        return to_json(&Run {
            tables: tables.iter().map(json_value).collect(),
            mismatches: tables.iter().map(|t| t.mismatches().len()).sum(),
        });
    }
    let mut out = String::new();
    for t in tables {
        out.push_str(&render_matrix(t, format));
        out.push('\n');
    }
    let n: usize = tables.iter().map(|t| t.mismatches().len()).sum();
    let _ = writeln!(
        out,
        "{} table(s), {} mismatch(es) between kernel and engine",
        tables.len(),
        n
    );
    out
}

/// One re-enacted session of `palisade sandbox replay`.
#[derive(Clone, Debug)]
pub struct KernelReplayRow {
    /// Initiator (workload/pod name or address).
    pub src: String,
    /// Peer (workload/pod name or address).
    pub dst: String,
    /// The destination address probed.
    pub dst_addr: std::net::IpAddr,
    /// Destination port.
    pub port: u16,
    /// Protocol.
    pub protocol: palisade_model::Protocol,
    /// What the capture recorded (`accepted`, `refused`, `timed-out`, `unknown`).
    pub recorded: &'static str,
    /// The engine's prediction under the current policies.
    pub predicted: &'static str,
    /// The engine's prediction under the proposed policies, if any.
    pub proposed: Option<&'static str>,
    /// What the kernel did (`None`: no address to probe from this source).
    pub kernel: Option<Outcome>,
    /// Whether the engine expects the kernel's policy set to allow it.
    pub expected_allowed: bool,
}

impl KernelReplayRow {
    /// Whether the kernel's verdict differs from the engine's for the policies it enforced.
    pub fn disagrees(&self) -> bool {
        self.kernel
            .and_then(Outcome::allowed)
            .is_some_and(|a| a != self.expected_allowed)
    }
}

/// `sandbox replay` as a table (text) or JSON.
pub fn render_replay(rows: &[KernelReplayRow], json: bool) -> String {
    let kernel = |r: &KernelReplayRow| r.kernel.map_or("unsupported", Outcome::as_str);
    if json {
        #[derive(Serialize)]
        struct Row<'a> {
            src: &'a str,
            dst: &'a str,
            address: String,
            port: u16,
            protocol: &'static str,
            recorded: &'static str,
            predicted: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            proposed: Option<&'static str>,
            kernel: &'static str,
            agrees: bool,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            sessions: Vec<Row<'a>>,
            disagreements: usize,
        }
        return to_json(&Doc {
            sessions: rows
                .iter()
                .map(|r| Row {
                    src: &r.src,
                    dst: &r.dst,
                    address: r.dst_addr.to_string(),
                    port: r.port,
                    protocol: r.protocol.as_str(),
                    recorded: r.recorded,
                    predicted: r.predicted,
                    proposed: r.proposed,
                    kernel: kernel(r),
                    agrees: !r.disagrees(),
                })
                .collect(),
            disagreements: rows.iter().filter(|r| r.disagrees()).count(),
        });
    }
    let with_proposed = rows.iter().any(|r| r.proposed.is_some());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<40} {:<40} {:>11} {:<10} {:<10} {}kernel",
        "from",
        "to",
        "port",
        "recorded",
        "predicted",
        if with_proposed { "proposed   " } else { "" },
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<40} {:<40} {:>11} {:<10} {:<10} {}{}{}",
            r.src,
            r.dst,
            format!("{}/{}", r.port, r.protocol),
            r.recorded,
            r.predicted,
            r.proposed.map(|p| format!("{p:<10} ")).unwrap_or_default(),
            kernel(r),
            if r.disagrees() {
                "  <- differs from the engine"
            } else {
                ""
            }
        );
    }
    let n = rows.iter().filter(|r| r.disagrees()).count();
    let _ = writeln!(
        out,
        "\n{} session(s) re-enacted on the kernel; {n} where the kernel and the engine disagree",
        rows.len()
    );
    out
}
