//! [`FlowReader::read_parallel`]: lines parsed on several threads, delivered in input order.
//!
//! Parsing Hubble JSON is most of what reading costs (≈ 88 % of `palisade replay` on 1.5 KB
//! lines), and each line parses on its own. So the calling thread cuts the input into chunks
//! of whole lines and hands them round-robin to `threads` workers; each worker parses its
//! chunk (the expensive part, in parallel), then waits for its **turn** — every earlier chunk
//! delivered — and delivers its records to the callback under a lock, with the line numbers
//! and report counts the serial reader would give. The callback therefore sees exactly the
//! serial reader's records in the serial order (only on varying threads, one at a time), and
//! everything it does — sessionizing, replaying, writing — stays deterministic.
//!
//! Memory: each worker holds at most [`QUEUE`] chunks waiting plus the one it parses; chunks
//! are recycled. A line longer than the chunk grows it (up to the reader's 64 MiB line limit,
//! beyond which the line is reported malformed, as serially).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use crate::Error;
use crate::Format;
use crate::pcap::ByteBuf;
use crate::reader::{FlowReader, MAX_LINE, ParsedLine, Record, deliver, parse_independent};
use crate::report::{Problem, ReadReport};

/// Chunks waiting per worker.
const QUEUE: usize = 2;

/// How [`FlowReader::read_parallel`] splits the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParallelRead {
    /// Parsing threads (the calling thread only reads and cuts). 1 reads serially.
    pub threads: usize,
    /// Bytes per chunk of whole lines (a longer line makes its chunk longer).
    pub chunk_bytes: usize,
}

impl Default for ParallelRead {
    fn default() -> Self {
        ParallelRead {
            threads: 2,
            chunk_bytes: 256 << 10,
        }
    }
}

impl ParallelRead {
    /// `threads` parsing threads, default chunks.
    pub fn threads(threads: usize) -> Self {
        ParallelRead {
            threads,
            ..ParallelRead::default()
        }
    }
}

/// What the reading thread hands a worker.
enum Chunk {
    /// Whole lines, each ending in `\n`.
    Lines(Vec<u8>),
    /// A line of [`MAX_LINE`] bytes or more, skipped.
    Overlong,
}

/// The state delivery needs, passed from turn to turn.
struct Turn<F> {
    /// The chunk whose records go next.
    next: u64,
    line_no: u64,
    report: ReadReport,
    deliver_to: F,
    /// The first fatal error (strict mode); later chunks are dropped.
    error: Option<Error>,
}

struct Shared<F> {
    turn: Mutex<Turn<F>>,
    /// Signalled after each turn.
    done: Condvar,
    /// Set on a fatal error or a worker's panic: the reading thread stops.
    stop: AtomicBool,
}

/// Wakes the waiting workers when dropped, also while unwinding from a panic in the callback
/// (the lock is then poisoned and they give up instead of waiting for a turn that never ends).
struct WakeOthers<'a, F> {
    shared: &'a Shared<F>,
}

impl<F> Drop for WakeOthers<'_, F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.shared.stop.store(true, Ordering::Relaxed);
        }
        self.shared.done.notify_all();
    }
}

impl FlowReader<'_> {
    /// Whether [`FlowReader::read_parallel`] parses this input on several threads: formats
    /// whose lines parse without state from earlier lines (Hubble, JSONL). The others (pcap,
    /// pcapng, VPC flow logs, CSV) are read serially.
    pub fn splits_lines(&self) -> bool {
        matches!(self.format(), Format::Hubble | Format::Jsonl)
    }

    /// [`FlowReader::read`] with the parsing spread over `opts.threads` threads: `f` receives
    /// the same records, in the same order, with the same report, but may be called on any of
    /// them (one call at a time), hence `Send`. Reads serially when the format does not split
    /// ([`FlowReader::splits_lines`]) or `opts.threads` ≤ 1.
    pub fn read_parallel(
        &mut self,
        opts: &ParallelRead,
        f: impl FnMut(Record<'_, '_>) + Send,
    ) -> Result<&ReadReport, Error> {
        if opts.threads <= 1 || !self.splits_lines() {
            return self.read(f);
        }
        let format = self.format();
        let Some((input, report)) = self.start() else {
            return Ok(self.report());
        };
        let shared = Shared {
            turn: Mutex::new(Turn {
                next: 0,
                line_no: 0,
                report: std::mem::take(report),
                deliver_to: f,
                error: None,
            }),
            done: Condvar::new(),
            stop: AtomicBool::new(false),
        };
        let chunk_bytes = opts.chunk_bytes.clamp(1, MAX_LINE);
        let read = std::thread::scope(|scope| {
            let (recycle, recycled) = mpsc::channel::<Vec<u8>>();
            let mut workers = Vec::with_capacity(opts.threads);
            for _ in 0..opts.threads {
                let (send, receive) = mpsc::sync_channel::<(u64, Chunk)>(QUEUE);
                workers.push(send);
                let (shared, recycle) = (&shared, recycle.clone());
                scope.spawn(move || work(format, receive, shared, recycle));
            }
            drop(recycle);
            let mut seq: u64 = 0;
            let send = |chunk: Chunk| -> bool {
                let worker = &workers[(seq % workers.len() as u64) as usize];
                let sent = worker.send((seq, chunk)).is_ok();
                seq += 1;
                sent
            };
            let fresh = || match recycled.try_recv() {
                Ok(mut v) => {
                    v.clear();
                    v
                }
                Err(_) => Vec::with_capacity(chunk_bytes + (chunk_bytes >> 2)),
            };
            split(input, chunk_bytes, &shared.stop, fresh, send)
        });
        let turn = match shared.turn.into_inner() {
            Ok(turn) => turn,
            // A worker panicked in `f`; `scope` has already resumed that panic, so this is
            // not reached, but a poisoned lock still holds consistent counts.
            Err(poisoned) => poisoned.into_inner(),
        };
        *report = turn.report;
        if let Some(e) = turn.error {
            return Err(e);
        }
        read.map_err(|source| Error::Io {
            path: report.path.clone(),
            source,
        })?;
        self.finish();
        Ok(self.report())
    }
}

/// Cuts the input into chunks of whole lines and sends them, until the input ends, a send
/// fails (a worker is gone) or `stop` is set.
fn split(
    input: &mut ByteBuf<'_>,
    chunk_bytes: usize,
    stop: &AtomicBool,
    mut fresh: impl FnMut() -> Vec<u8>,
    mut send: impl FnMut(Chunk) -> bool,
) -> std::io::Result<()> {
    let mut chunk = fresh();
    input.take_buffered(&mut chunk);
    let mut eof = false;
    // Inside the rest of an overlong line.
    let mut skipping = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        // Fill to the chunk size; a chunk holding no line end yet grows.
        let target = if chunk.len() >= chunk_bytes {
            (chunk.len() * 2).min(MAX_LINE)
        } else {
            chunk_bytes
        };
        if !eof && chunk.len() < target {
            let want = target - chunk.len();
            if input.read_into(&mut chunk, want)? < want {
                eof = true;
            }
        }
        if skipping {
            match memchr::memchr(b'\n', &chunk) {
                Some(i) => {
                    chunk.drain(..=i);
                    skipping = false;
                }
                None => {
                    chunk.clear();
                    if eof {
                        return Ok(());
                    }
                    continue;
                }
            }
        }
        match memchr::memrchr(b'\n', &chunk) {
            Some(i) => {
                let mut next = fresh();
                next.extend_from_slice(&chunk[i + 1..]);
                chunk.truncate(i + 1);
                if !send(Chunk::Lines(std::mem::replace(&mut chunk, next))) {
                    return Ok(());
                }
            }
            None if eof => {
                // The last line, without a line end.
                if !chunk.is_empty() {
                    chunk.push(b'\n');
                    send(Chunk::Lines(chunk));
                }
                return Ok(());
            }
            None if chunk.len() >= MAX_LINE => {
                if !send(Chunk::Overlong) {
                    return Ok(());
                }
                chunk.clear();
                skipping = true;
            }
            None => {}
        }
        if eof && chunk.is_empty() {
            return Ok(());
        }
    }
}

/// One line of a chunk, parsed.
// Held per chunk only (a few hundred lines): boxing the flow would cost an allocation a line.
#[allow(clippy::large_enum_variant)]
enum Line<'a> {
    Blank,
    Parsed(ParsedLine<'a>),
}

/// A worker: parses each chunk it receives, then delivers it on its turn.
fn work<F: FnMut(Record<'_, '_>) + Send>(
    format: Format,
    chunks: mpsc::Receiver<(u64, Chunk)>,
    shared: &Shared<F>,
    recycle: mpsc::Sender<Vec<u8>>,
) {
    for (seq, chunk) in chunks {
        let lines: Vec<Line<'_>> = match &chunk {
            Chunk::Lines(bytes) => parse_chunk(format, bytes),
            Chunk::Overlong => Vec::new(),
        };
        let _wake = WakeOthers { shared };
        let Ok(mut turn) = shared.turn.lock() else {
            return;
        };
        while turn.next != seq {
            turn = match shared.done.wait(turn) {
                Ok(turn) => turn,
                // Another worker panicked while delivering.
                Err(_) => return,
            };
        }
        if turn.error.is_none() {
            let Turn {
                line_no,
                report,
                deliver_to,
                error,
                ..
            } = &mut *turn;
            let delivered = match &chunk {
                Chunk::Overlong => {
                    *line_no += 1;
                    report.records += 1;
                    report.malformed(Problem {
                        line: *line_no,
                        message: "line longer than 64 MiB".into(),
                    })
                }
                Chunk::Lines(_) => deliver_all(lines, line_no, report, deliver_to),
            };
            if let Err(e) = delivered {
                *error = Some(e);
                shared.stop.store(true, Ordering::Relaxed);
            }
        } else {
            drop(lines);
        }
        turn.next += 1;
        drop(turn);
        if let Chunk::Lines(bytes) = chunk {
            let _ = recycle.send(bytes);
        }
    }
}

fn deliver_all<F: FnMut(Record<'_, '_>)>(
    lines: Vec<Line<'_>>,
    line_no: &mut u64,
    report: &mut ReadReport,
    f: &mut F,
) -> Result<(), Error> {
    for line in lines {
        *line_no += 1;
        if let Line::Parsed(parsed) = line {
            deliver(report, *line_no, parsed, f)?;
        }
    }
    Ok(())
}

/// Parses the lines of a chunk (each ends in `\n`) as the serial reader does.
fn parse_chunk(format: Format, bytes: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::with_capacity(bytes.len() / 512 + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        let mut line = &bytes[start..end];
        start = end + 1;
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            lines.push(Line::Blank);
        } else {
            lines.push(Line::Parsed(parse_independent(format, line)));
        }
    }
    lines
}
