//! `palisade matrix`: the truth table in table, csv, md and JSON.

use crate::{OutputFormat, csv_field, to_json};
use palisade_engine::matrix::Matrix;
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct JsonMatrix<'a> {
    port: u16,
    protocol: &'static str,
    peers: &'a [String],
    allowed: &'a [Vec<bool>],
}

/// Renders the matrix; `Text` is the upstream tab-separated table.
pub fn render(matrix: &Matrix, format: OutputFormat) -> String {
    let mark = |b: bool| if b { "." } else { "X" };
    let mut out = String::new();
    match format {
        OutputFormat::Json => {
            return to_json(&JsonMatrix {
                port: matrix.port,
                protocol: matrix.protocol.as_str(),
                peers: &matrix.peers,
                allowed: &matrix.allowed,
            });
        }
        OutputFormat::Csv => {
            let header: Vec<String> = matrix.peers.iter().map(|p| csv_field(p)).collect();
            let _ = writeln!(out, "from\\to,{}", header.join(","));
            for (peer, row) in matrix.peers.iter().zip(&matrix.allowed) {
                let cells: Vec<&str> = row.iter().map(|&b| mark(b)).collect();
                let _ = writeln!(out, "{},{}", csv_field(peer), cells.join(","));
            }
        }
        OutputFormat::Md => {
            let _ = writeln!(
                out,
                "Reachability on {}/{} ('.' allowed, 'X' denied; rows: from, columns: to)\n",
                matrix.port, matrix.protocol
            );
            let _ = writeln!(out, "| from \\ to | {} |", matrix.peers.join(" | "));
            let _ = writeln!(out, "|---|{}", "---|".repeat(matrix.peers.len()));
            for (peer, row) in matrix.peers.iter().zip(&matrix.allowed) {
                let cells: Vec<&str> = row.iter().map(|&b| mark(b)).collect();
                let _ = writeln!(out, "| {peer} | {} |", cells.join(" | "));
            }
        }
        _ => {
            let _ = writeln!(out, "-\t{}", matrix.peers.join("\t"));
            for (peer, row) in matrix.peers.iter().zip(&matrix.allowed) {
                let cells: Vec<&str> = row.iter().map(|&b| mark(b)).collect();
                let _ = writeln!(out, "{peer}\t{}", cells.join("\t"));
            }
        }
    }
    out
}
