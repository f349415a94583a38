//! Parquet files of flows and sessions.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use arrow_array::RecordBatch;
use palisade_flows::{FlowEvent, ReadReport, Record};
use palisade_replay::Replayed;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::decode::{FlowColumns, Layout, Row, Scratch};
use crate::encode::FlowBatchBuilder;
use crate::schema::{flow_schema, session_schema};
use crate::sessions::SessionBatchBuilder;
use crate::{Error, malformed};

/// Rows per record batch (and per write): 64 Ki, a Parquet page-friendly size that keeps a
/// batch of flows under ~10 MB.
pub const BATCH_ROWS: usize = 1 << 16;

/// Whether `prefix` starts like a Parquet file (`PAR1`).
pub fn is_parquet(prefix: &[u8]) -> bool {
    prefix.starts_with(b"PAR1")
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Streams the flows of a Parquet file, batch by batch, like
/// [`palisade_flows::FlowReader`] streams a text capture: problems land in a
/// [`ReadReport`] (row numbers where it says lines), one bad row costs only that row.
pub struct ParquetFlowReader {
    batches: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    layout: Option<Layout>,
    report: ReadReport,
}

impl ParquetFlowReader {
    /// Opens `path`; `layout` forces a layout (default: detected from the columns).
    pub fn open(path: impl AsRef<Path>, layout: Option<Layout>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let batches = ParquetRecordBatchReaderBuilder::try_new(file)?
            .with_batch_size(BATCH_ROWS)
            .build()?;
        let mut report = ReadReport::default();
        report.path = path.display().to_string();
        report.format = Some(palisade_flows::Format::Parquet);
        Ok(ParquetFlowReader {
            batches,
            layout,
            report,
        })
    }

    /// The report so far.
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// The report, once read.
    pub fn into_report(self) -> ReadReport {
        self.report
    }

    /// The next record batch, as stored.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, Error> {
        Ok(self.batches.next().transpose()?)
    }

    /// Reads every row, handing flows and gaps to `f`.
    pub fn read(&mut self, mut f: impl FnMut(Record<'_, '_>)) -> Result<&ReadReport, Error> {
        let mut scratch = Scratch::default();
        while let Some(batch) = self.next_batch()? {
            let cols = FlowColumns::new(&batch, self.layout)?;
            self.layout = Some(cols.layout());
            let report = &mut self.report;
            for i in 0..cols.len() {
                match cols.row(i, &mut scratch) {
                    Ok(Row::Flow(ev)) => {
                        report.records += 1;
                        report.events += 1;
                        match report.last_time_ns {
                            Some(max) if ev.time_ns < max => {
                                report.out_of_order += 1;
                                report.max_backstep_ns =
                                    report.max_backstep_ns.max(max.saturating_sub(ev.time_ns));
                            }
                            _ => report.last_time_ns = Some(ev.time_ns),
                        }
                        f(Record::Flow(&ev));
                    }
                    Ok(Row::Gap(mut g)) => {
                        report.records += 1;
                        g.line = report.records;
                        f(Record::Gap(&g));
                        report.gaps.push(g);
                    }
                    Ok(Row::WithoutIp) => {
                        report.records += 1;
                        report.skipped += 1;
                        report.flows_without_ip += 1;
                    }
                    Err(message) => malformed(report, message),
                }
            }
        }
        Ok(&self.report)
    }

    /// Reads every flow event (gaps are only counted in the report).
    pub fn read_flows(&mut self, mut f: impl FnMut(&FlowEvent<'_>)) -> Result<&ReadReport, Error> {
        self.read(|r| {
            if let Record::Flow(ev) = r {
                f(ev)
            }
        })
    }
}

/// Parquet is replayed like any capture (read serially: row groups decode in order).
impl palisade_replay::RecordSource for ParquetFlowReader {
    type Error = Error;

    fn read_records(&mut self, f: &mut dyn FnMut(Record<'_, '_>)) -> Result<(), Error> {
        self.read(f).map(|_| ())
    }
}

fn properties(schema: &str) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("palisade {} ({schema})", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Writes flows to a Parquet file of the flow schema.
pub struct FlowParquetWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    builder: FlowBatchBuilder,
    rows: u64,
}

impl<W: Write + Send> FlowParquetWriter<W> {
    /// A writer into `w`.
    pub fn new(w: W) -> Result<Self, Error> {
        Ok(FlowParquetWriter {
            writer: ArrowWriter::try_new(w, flow_schema(), Some(properties("flows")))?,
            builder: FlowBatchBuilder::new(),
            rows: 0,
        })
    }

    /// Adds one flow.
    pub fn push(&mut self, ev: &FlowEvent<'_>) -> Result<(), Error> {
        self.builder.push(ev);
        self.rows += 1;
        if self.builder.len() >= BATCH_ROWS {
            self.writer.write(&self.builder.finish())?;
        }
        Ok(())
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and writes the footer; returns the inner writer.
    pub fn finish(mut self) -> Result<W, Error> {
        if !self.builder.is_empty() {
            self.writer.write(&self.builder.finish())?;
        }
        Ok(self.writer.into_inner()?)
    }
}

/// Writes replayed sessions to a Parquet file of the session schema.
pub struct SessionParquetWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    builder: SessionBatchBuilder,
}

impl<W: Write + Send> SessionParquetWriter<W> {
    /// A writer into `w`.
    pub fn new(w: W) -> Result<Self, Error> {
        Ok(SessionParquetWriter {
            writer: ArrowWriter::try_new(w, session_schema(), Some(properties("sessions")))?,
            builder: SessionBatchBuilder::new(),
        })
    }

    /// Adds one session.
    pub fn push(&mut self, r: &Replayed) -> Result<(), Error> {
        self.builder.push(r);
        if self.builder.len() >= BATCH_ROWS {
            self.writer.write(&self.builder.finish())?;
        }
        Ok(())
    }

    /// Flushes and writes the footer; returns the inner writer.
    pub fn finish(mut self) -> Result<W, Error> {
        if !self.builder.is_empty() {
            self.writer.write(&self.builder.finish())?;
        }
        Ok(self.writer.into_inner()?)
    }
}
