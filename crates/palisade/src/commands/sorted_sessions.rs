//! The sessions a replay report lists (text, JSON, YAML, CSV, Markdown), in start order, in
//! bounded memory.
//!
//! These reports list sessions sorted by start, but sessions are decided in another order,
//! and a capture of millions of them (1.45 M for 10 M packets) held and rendered in one string
//! took 1.3–9.6 GB. So at most [`SortedSessions::KEEP`] sessions stay in memory; past that they
//! are sorted, rendered into their pieces of the report ([`render::session_piece`]) and
//! written to an anonymous temporary file (a *run*), and the report is written at the end by
//! merging the runs, with the frame around them ([`render::session_frame`]). The bytes are the
//! in-memory report's (tested): the sort is stable (ties keep the order sessions were decided
//! in, as `sort_by` does), and the text timeline's alignment is the widest head of all runs.
//! Memory is then bounded by [`SortedSessions::KEEP`] sessions plus a read buffer per run
//! (runs are merged into one whenever there are [`SortedSessions::MAX_RUNS`]); disk holds
//! about the report's size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use anyhow::Context;
use palisade_render::escape::sanitize_output;
use palisade_render::replay::{self as render, Report, SessionFormat, SessionPiece};
use palisade_replay::Replayed;

/// The order reports list sessions in ([`Replayed::report_order`]).
type Key = (i64, SocketAddr, SocketAddr);

/// A session's piece as written to a run: its key and its sanitized text.
struct Record {
    key: Key,
    piece: SessionPiece,
}

/// A run: records in key order, in an unlinked temporary file.
struct Run {
    file: File,
}

impl Run {
    /// The run `out` wrote, ready to be read from its start.
    fn finish(out: BufWriter<File>) -> anyhow::Result<Run> {
        let mut file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .context(SPILL)?;
        file.rewind().context(SPILL)?;
        Ok(Run { file })
    }
}

pub(crate) struct SortedSessions {
    format: Option<SessionFormat>,
    proposed: bool,
    /// Palisade's colour codes survive sanitizing (text on a terminal).
    color: bool,
    keep: usize,
    kept: Vec<Replayed>,
    runs: Vec<Run>,
    /// The widest text head written to a run.
    width: usize,
    /// The first error writing a run; later sessions are dropped and the report fails.
    failed: Option<anyhow::Error>,
}

/// Empty, listing no sessions: what is left when a report takes the sessions.
impl Default for SortedSessions {
    fn default() -> Self {
        SortedSessions::new(None, false, SortedSessions::KEEP)
    }
}

impl SortedSessions {
    /// Sessions kept in memory before they go to a run (≈ 1 KB each).
    pub(crate) const KEEP: usize = 1 << 16;
    /// Runs merged at once; more are first merged into one.
    pub(crate) const MAX_RUNS: usize = 64;

    /// `format`: how the report lists sessions (`None`: never written to a run, as for the
    /// formats that stream or list none); `proposed`: the report has a proposal; `keep`:
    /// sessions held in memory before they go to a run ([`SortedSessions::KEEP`] but in tests).
    pub(crate) fn new(
        format: Option<SessionFormat>,
        proposed: bool,
        keep: usize,
    ) -> SortedSessions {
        SortedSessions {
            format,
            proposed,
            color: matches!(format, Some(SessionFormat::Text(style)) if style.color),
            keep: keep.max(1),
            kept: Vec::new(),
            runs: Vec::new(),
            width: 0,
            failed: None,
        }
    }

    pub(crate) fn push(&mut self, r: Replayed) {
        if self.failed.is_some() {
            return;
        }
        self.kept.push(r);
        if self.kept.len() >= self.keep
            && self.format.is_some()
            && let Err(e) = self.spill()
        {
            self.kept = Vec::new();
            self.failed = Some(e);
        }
    }

    /// Whether every session is still in memory (the report is then rendered whole).
    pub(crate) fn in_memory(&self) -> bool {
        self.runs.is_empty() && self.failed.is_none()
    }

    /// The sessions in report order, when [`SortedSessions::in_memory`].
    pub(crate) fn sorted(&mut self) -> &[Replayed] {
        self.kept.sort_by_key(Replayed::report_order);
        &self.kept
    }

    fn sanitize(&self, s: &str) -> String {
        sanitize_output(s, self.color).into_owned()
    }

    /// Sorts the kept sessions and writes their pieces to a new run.
    fn spill(&mut self) -> anyhow::Result<()> {
        let Some(format) = self.format else {
            return Ok(());
        };
        self.kept.sort_by_key(Replayed::report_order);
        let mut out = BufWriter::with_capacity(1 << 16, temp_file()?);
        for r in std::mem::take(&mut self.kept) {
            let piece =
                render::session_piece(format, &r, self.proposed).map_err(anyhow::Error::msg)?;
            self.width = self.width.max(piece.head_width);
            let piece = SessionPiece {
                head: self.sanitize(&piece.head),
                body: self.sanitize(&piece.body),
                ..piece
            };
            write_record(
                &mut out,
                &Record {
                    key: r.report_order(),
                    piece,
                },
            )
            .context(SPILL)?;
        }
        self.runs.push(Run::finish(out)?);
        if self.runs.len() >= SortedSessions::MAX_RUNS {
            let runs = std::mem::take(&mut self.runs);
            let mut out = BufWriter::with_capacity(1 << 16, temp_file()?);
            merge(runs, |record| {
                write_record(&mut out, &record).context(SPILL)
            })?;
            self.runs.push(Run::finish(out)?);
        }
        Ok(())
    }

    /// Writes the report (`report.sessions` is ignored: these sessions stand for it) when
    /// some sessions went to runs.
    pub(crate) fn write_report(
        mut self,
        report: &Report<'_>,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let format = self
            .format
            .expect("only a report with a session format writes runs");
        self.spill()?;
        let frame = render::session_frame(format, report).map_err(anyhow::Error::msg)?;
        out.write_all(self.sanitize(&frame.before).as_bytes())?;
        let width = self.width;
        let mut first = true;
        merge(std::mem::take(&mut self.runs), |record| {
            if !first {
                out.write_all(frame.separator.as_bytes())?;
            }
            first = false;
            record.piece.write_padded(width, out)?;
            Ok(())
        })?;
        out.write_all(self.sanitize(&frame.after).as_bytes())?;
        Ok(())
    }
}

const SPILL: &str = "writing sessions to a temporary file (a capture of this many sessions is \
    sorted on disk for this format: set TMPDIR to a directory with space, or use -o jsonl, \
    which streams)";

fn temp_file() -> anyhow::Result<File> {
    tempfile::tempfile().with_context(|| {
        format!(
            "creating a temporary file in {} ({SPILL})",
            std::env::temp_dir().display()
        )
    })
}

/// Feeds `each` the records of all `runs` in key order; among equal keys, earlier runs
/// first (runs are written in the order sessions were decided: the stable sort's order).
fn merge(runs: Vec<Run>, mut each: impl FnMut(Record) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut readers: Vec<BufReader<File>> = runs
        .into_iter()
        .map(|run| BufReader::with_capacity(1 << 16, run.file))
        .collect();
    let mut heads: Vec<Option<Record>> = Vec::with_capacity(readers.len());
    let mut order = BinaryHeap::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        let record = read_record(r)?;
        if let Some(rec) = &record {
            order.push(Reverse((rec.key, i)));
        }
        heads.push(record);
    }
    while let Some(Reverse((_, i))) = order.pop() {
        let record = heads[i].take().expect("a run in the heap has a record");
        let next = read_record(&mut readers[i])?;
        if let Some(rec) = &next {
            order.push(Reverse((rec.key, i)));
        }
        heads[i] = next;
        each(record)?;
    }
    Ok(())
}

fn write_addr(out: &mut impl Write, a: &SocketAddr) -> std::io::Result<()> {
    match a {
        SocketAddr::V4(a) => {
            out.write_all(&[4])?;
            out.write_all(&a.ip().octets())?;
            out.write_all(&a.port().to_le_bytes())
        }
        SocketAddr::V6(a) => {
            out.write_all(&[6])?;
            out.write_all(&a.ip().octets())?;
            out.write_all(&a.port().to_le_bytes())?;
            out.write_all(&a.flowinfo().to_le_bytes())?;
            out.write_all(&a.scope_id().to_le_bytes())
        }
    }
}

fn write_str(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    out.write_all(&(s.len() as u64).to_le_bytes())?;
    out.write_all(s.as_bytes())
}

fn write_record(out: &mut impl Write, r: &Record) -> std::io::Result<()> {
    out.write_all(&r.key.0.to_le_bytes())?;
    write_addr(out, &r.key.1)?;
    write_addr(out, &r.key.2)?;
    out.write_all(&(r.piece.head_width as u64).to_le_bytes())?;
    write_str(out, &r.piece.head)?;
    write_str(out, &r.piece.body)
}

fn read_array<const N: usize>(r: &mut impl Read) -> std::io::Result<[u8; N]> {
    let mut b = [0; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn read_addr(r: &mut impl Read) -> std::io::Result<SocketAddr> {
    Ok(match read_array::<1>(r)? {
        [4] => {
            let ip = read_array::<4>(r)?;
            let port = u16::from_le_bytes(read_array(r)?);
            SocketAddr::V4(SocketAddrV4::new(ip.into(), port))
        }
        _ => {
            let ip = read_array::<16>(r)?;
            let port = u16::from_le_bytes(read_array(r)?);
            let flowinfo = u32::from_le_bytes(read_array(r)?);
            let scope = u32::from_le_bytes(read_array(r)?);
            SocketAddr::V6(SocketAddrV6::new(ip.into(), port, flowinfo, scope))
        }
    })
}

fn read_str(r: &mut impl Read) -> std::io::Result<String> {
    let len = u64::from_le_bytes(read_array(r)?) as usize;
    let mut b = vec![0; len];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map_err(std::io::Error::other)
}

/// The next record of a run, `None` at its end.
fn read_record(r: &mut BufReader<File>) -> anyhow::Result<Option<Record>> {
    let mut start = [0u8; 8];
    // A run ends between records; anything shorter than a whole record is an error.
    match r
        .read(&mut start[..1])
        .context("reading back sorted sessions")?
    {
        0 => return Ok(None),
        _ => r
            .read_exact(&mut start[1..])
            .context("reading back sorted sessions")?,
    }
    let record = (|| -> std::io::Result<Record> {
        let src = read_addr(r)?;
        let dst = read_addr(r)?;
        let head_width = u64::from_le_bytes(read_array(r)?) as usize;
        let head = read_str(r)?;
        let body = read_str(r)?;
        Ok(Record {
            key: (i64::from_le_bytes(start), src, dst),
            piece: SessionPiece {
                head,
                head_width,
                body,
            },
        })
    })()
    .context("reading back sorted sessions")?;
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_back_as_written() {
        for a in [
            "10.0.0.1:80",
            "0.0.0.0:0",
            "[::1]:53",
            "[fe80::1%7]:443",
            "[::ffff:10.1.2.3]:65535",
        ] {
            let mut a: SocketAddr = a.parse().unwrap();
            if let SocketAddr::V6(v6) = &mut a {
                v6.set_flowinfo(0x12345);
            }
            let mut buf = Vec::new();
            write_addr(&mut buf, &a).unwrap();
            assert_eq!(read_addr(&mut &buf[..]).unwrap(), a);
        }
    }

    fn run_of(records: &[(i64, &str)]) -> Run {
        let mut file = tempfile::tempfile().unwrap();
        for (start, body) in records {
            let record = Record {
                key: (
                    *start,
                    "10.0.0.1:1".parse().unwrap(),
                    "10.0.0.2:2".parse().unwrap(),
                ),
                piece: SessionPiece {
                    body: body.to_string(),
                    ..SessionPiece::default()
                },
            };
            write_record(&mut file, &record).unwrap();
        }
        file.rewind().unwrap();
        Run { file }
    }

    #[test]
    fn equal_keys_merge_in_run_order_as_a_stable_sort_leaves_them() {
        let runs = vec![
            run_of(&[(1, "a1"), (5, "a5"), (5, "a5'")]),
            run_of(&[(0, "b0"), (5, "b5")]),
            run_of(&[]),
            run_of(&[(5, "c5"), (9, "c9")]),
        ];
        let mut bodies = Vec::new();
        merge(runs, |r| {
            bodies.push(r.piece.body);
            Ok(())
        })
        .unwrap();
        assert_eq!(bodies, ["b0", "a1", "a5", "a5'", "b5", "c5", "c9"]);
    }

    #[test]
    fn a_run_cut_short_is_an_error_not_an_end() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&7i64.to_le_bytes()).unwrap();
        file.write_all(&[4, 10]).unwrap();
        file.rewind().unwrap();
        let err = merge(vec![Run { file }], |_| Ok(())).unwrap_err();
        assert!(
            format!("{err:#}").contains("reading back sorted sessions"),
            "{err:#}"
        );
    }
}
