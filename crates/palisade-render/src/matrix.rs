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

/// Renders the matrix; `Text` is an aligned table with numbered columns and an axis legend.
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
        OutputFormat::Wide => {
            // Aligned, the columns headed by the full names (as wide as the names).
            let _ = writeln!(
                out,
                "Reachability on {}/{} ('.' allowed, 'X' denied; rows: from, columns: to)",
                matrix.port, matrix.protocol
            );
            let name_width = matrix
                .peers
                .iter()
                .map(|p| p.chars().count())
                .max()
                .unwrap_or(0);
            let widths: Vec<usize> = matrix.peers.iter().map(|p| p.chars().count()).collect();
            let mut header = format!("{:name_width$}", "from \\ to");
            for p in &matrix.peers {
                let _ = write!(header, "  {p}");
            }
            let _ = writeln!(out, "{header}");
            for (peer, row) in matrix.peers.iter().zip(&matrix.allowed) {
                let mut line = format!("{peer:name_width$}");
                for (&b, w) in row.iter().zip(&widths) {
                    let _ = write!(line, "  {:<w$}", mark(b));
                }
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
        _ => {
            // Aligned in a terminal: rows are numbered and the columns carry the same
            // numbers, so the table stays as wide as the peer count, not the names.
            let _ = writeln!(
                out,
                "Reachability on {}/{} ('.' allowed, 'X' denied; rows: from, columns: to, numbered as the rows)",
                matrix.port, matrix.protocol
            );
            let n = matrix.peers.len();
            let digits = n.max(1).to_string().len();
            let name_width = matrix
                .peers
                .iter()
                .map(|p| p.chars().count())
                .max()
                .unwrap_or(0);
            let header: String = (1..=n).map(|i| format!(" {i:>digits$}")).collect();
            let _ = writeln!(out, "{:digits$}  {:name_width$} {header}", "", "from \\ to");
            for (i, (peer, row)) in matrix.peers.iter().zip(&matrix.allowed).enumerate() {
                let pad = name_width - peer.chars().count();
                let cells: String = row
                    .iter()
                    .map(|&b| format!(" {:>digits$}", mark(b)))
                    .collect();
                let _ = writeln!(out, "{:>digits$}  {peer}{:pad$} {cells}", i + 1, "");
            }
        }
    }
    out
}
