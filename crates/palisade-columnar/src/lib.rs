//! Flows and replayed sessions as Apache Arrow record batches and Parquet files, and the
//! batch functions a distributed engine calls (docs/scale-out.md).
//!
//! * [`flow_schema`]: one row per [`palisade_flows::FlowEvent`] (time, addresses, ports,
//!   protocol, TCP flags, Hubble verdict, node, namespace/pod names, `is_reply` ...).
//!   [`FlowBatchBuilder`] writes it; [`FlowColumns`] reads it back, and also reads the
//!   layouts of Hubble exporter Parquet and AWS VPC flow logs' Parquet ([`Layout`]).
//! * [`session_schema`]: one row per replayed session ([`SessionBatchBuilder`]).
//! * [`ParquetFlowReader`] streams a Parquet file's flows like
//!   [`palisade_flows::FlowReader`] streams a text capture; [`FlowParquetWriter`] and
//!   [`SessionParquetWriter`] write them.
//! * The batch functions: [`VerdictFunction`] (per-flow verdicts and deciding policies under
//!   a model and a proposal) and [`PartitionSessionizer`] (the streaming sessionizer of
//!   `palisade-flows` run over one partition's batches, each session replayed).
//!
//! The crate does IO only through the readers and writers it is handed (files or any
//! `Read`/`Write`); it prints nothing.

mod batch;
mod decode;
mod encode;
mod io;
mod schema;
mod sessions;

pub use batch::{CaptureContext, PartitionSessionizer, VerdictFunction};
pub use decode::{FlowColumns, Layout, Row, Scratch};
pub use encode::{FlowBatchBuilder, verdict_name};
pub use io::{BATCH_ROWS, FlowParquetWriter, ParquetFlowReader, SessionParquetWriter, is_parquet};
pub use schema::{
    FLOW_SCHEMA_VERSION, SESSION_SCHEMA_VERSION, VERSION_KEY, flow, flow_schema, session,
    session_schema, verdict, verdict_schema,
};
pub use sessions::{SessionBatchBuilder, decided_text, mapped_by};

use palisade_flows::{DEFAULT_MAX_SAMPLES, Problem, ReadReport};

/// What can go wrong reading or writing columnar flows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a Parquet file, or a damaged one.
    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow refused a batch.
    #[error("{0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A column the layout needs is missing.
    #[error(
        "the {layout} layout needs a column `{column}`, which this input lacks (see docs/scale-out.md for the flow schema)"
    )]
    MissingColumn {
        /// The column (or its alternatives).
        column: String,
        /// The layout.
        layout: &'static str,
    },
    /// A column has a type that cannot be read as what it means.
    #[error("column `{column}` is {found}; expected {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// Its type.
        found: String,
        /// What it should be.
        expected: &'static str,
    },
    /// Neither the flow schema nor a known layout.
    #[error(
        "not a flow table Palisade knows: expected the Palisade flow schema (`time_ns`, `kind`, ...), Hubble exporter columns (`flow.IP.source`, `flow.verdict`, ...) or AWS VPC flow log columns (`srcaddr`, `action`, ...); found {columns}"
    )]
    UnknownLayout {
        /// The first columns found.
        columns: String,
    },
}

/// Counts a malformed row (its number is the count of rows so far, 1-based).
pub(crate) fn malformed(report: &mut ReadReport, message: String) {
    report.records += 1;
    report.malformed += 1;
    if report.malformed_samples.len() < DEFAULT_MAX_SAMPLES {
        report.malformed_samples.push(Problem {
            line: report.records,
            message,
        });
    }
}

/// The direction-normalised address pair a flow belongs to, smaller address first: what a
/// distributed job partitions by, so that both directions of a connection, the copies seen
/// on two nodes, and the ICMP errors answering it (by the datagram they quote) land in one
/// partition. Ports are left out on purpose: the sessionizer relates flows of one address
/// pair across ports (Hubble's reply evidence, ICMP errors that quote nothing).
pub fn partition_pair(ev: &palisade_flows::FlowEvent<'_>) -> (std::net::IpAddr, std::net::IpAddr) {
    let (a, b) = match ev.l4 {
        palisade_flows::L4::Icmp(palisade_flows::Icmp {
            quoted: Some(q), ..
        }) => (q.src, q.dst),
        _ => (ev.src, ev.dst),
    };
    if a <= b { (a, b) } else { (b, a) }
}
