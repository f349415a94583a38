//! [`FlowReader`]: opening, transparent gzip, format detection and the per-format read loops.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::Error;
use crate::event::FlowEvent;
use crate::hubble::{self, HubbleLine};
use crate::pcap::{ByteBuf, pcap_magic, pcapng_magic, read_pcap, read_pcapng};
use crate::report::{DEFAULT_MAX_SAMPLES, Gap, Problem, ReadReport};
use crate::text::{CsvColumns, TextLine, VpcColumns, parse_jsonl};

/// Lines longer than this are skipped as malformed rather than buffered.
pub(crate) const MAX_LINE: usize = 64 << 20;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Hubble flows (`hubble observe -o json`, exporter files, bare flow objects), one per line.
    Hubble,
    /// Classic pcap (µs or ns timestamps, either byte order).
    Pcap,
    /// pcapng.
    Pcapng,
    /// AWS VPC flow logs (version 2 default format, or any field order given by a header).
    VpcFlowLog,
    /// CSV with a header: `time,src,dst,src_port,dst_port,protocol[,outcome]`.
    Csv,
    /// One JSON object per line with the CSV's field names.
    Jsonl,
    /// Apache Parquet (the flow schema, or Hubble-exporter / VPC flow log layouts). Read by
    /// `palisade-columnar`, not by [`FlowReader`] (which refuses it); named here so that
    /// reports say what was read. Not in [`Format::ALL`] nor detected.
    Parquet,
}

impl Format {
    /// All formats.
    pub const ALL: [Format; 6] = [
        Format::Hubble,
        Format::Pcap,
        Format::Pcapng,
        Format::VpcFlowLog,
        Format::Csv,
        Format::Jsonl,
    ];

    /// The name used on the command line: `hubble`, `pcap`, `pcapng`, `vpc`, `csv`, `jsonl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Hubble => "hubble",
            Format::Pcap => "pcap",
            Format::Pcapng => "pcapng",
            Format::VpcFlowLog => "vpc",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    /// The coarsest timestamp step the format may have, in nanoseconds: VPC flow logs count
    /// seconds; the others can carry nanoseconds. A time window shorter than this cannot
    /// tell events apart.
    pub fn timestamp_resolution_ns(self) -> i64 {
        match self {
            Format::VpcFlowLog => 1_000_000_000,
            Format::Hubble
            | Format::Pcap
            | Format::Pcapng
            | Format::Csv
            | Format::Jsonl
            | Format::Parquet => 1,
        }
    }

    /// Parses [`Format::as_str`] names, ignoring case.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
    }

    /// Guesses the format from the first bytes of (decompressed) content.
    pub fn detect(prefix: &[u8]) -> Result<Format, String> {
        if pcap_magic(prefix) {
            return Ok(Format::Pcap);
        }
        if pcapng_magic(prefix) {
            return Ok(Format::Pcapng);
        }
        let Some(line) = prefix
            .split(|&b| b == b'\n')
            .map(|l| l.trim_ascii())
            .find(|l| !l.is_empty() && !l.starts_with(b"#"))
        else {
            return Err("no content".into());
        };
        let has = |needle: &[u8]| memchr::memmem::find(line, needle).is_some();
        if line.starts_with(b"{") {
            if (has(b"\"src\"") || has(b"\"src_ip\"")) && !has(b"\"flow\"") && !has(b"\"IP\"") {
                return Ok(Format::Jsonl);
            }
            return Ok(Format::Hubble);
        }
        if line.starts_with(b"version ") && has(b"srcaddr") {
            return Ok(Format::VpcFlowLog);
        }
        if line.starts_with(b"2 ")
            && line.split(|&b| b == b' ').filter(|f| !f.is_empty()).count() == 14
        {
            return Ok(Format::VpcFlowLog);
        }
        if has(b",") && (has(b"src") || has(b"source")) {
            return Ok(Format::Csv);
        }
        let shown: String = String::from_utf8_lossy(&line[..line.len().min(60)]).into();
        Err(format!(
            "first line {shown:?} is not Hubble JSON, a VPC flow log, CSV or JSONL, and the file is not pcap/pcapng"
        ))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// Make the first malformed record fatal ([`Error::Malformed`]).
    pub strict: bool,
    /// How many malformed records to keep for display (all are counted).
    pub max_samples: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            strict: false,
            max_samples: DEFAULT_MAX_SAMPLES,
        }
    }
}

/// One item a reader delivers, in input order.
#[derive(Clone, Copy, Debug)]
pub enum Record<'r, 'a> {
    /// A flow event.
    Flow(&'r FlowEvent<'a>),
    /// A gap in the record (also collected in [`ReadReport::gaps`]).
    Gap(&'r Gap),
}

/// A streaming reader of one input. Events borrow from its buffer and are handed to a
/// callback, so memory stays at one buffer (1 MiB, more only for longer lines) whatever the
/// file size.
pub struct FlowReader<'r> {
    format: Format,
    input: ByteBuf<'r>,
    report: ReadReport,
    done: bool,
    /// Set when the input is gzip: where the stream broke off, if it did.
    gzip: Option<std::rc::Rc<crate::gzip::GzipEnd>>,
}

impl fmt::Debug for FlowReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowReader")
            .field("format", &self.format)
            .field("path", &self.report.path)
            .finish()
    }
}

/// Reads up to `want` bytes (fewer at EOF), stopping early once a full first line is in.
fn read_prefix(r: &mut dyn Read, want: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; want];
    let mut n = 0;
    while n < want {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                let seen = &buf[..n];
                let binary = n >= 4
                    && (pcap_magic(seen) || pcapng_magic(seen) || seen.starts_with(&[0x1f, 0x8b]));
                let has_content_line = seen
                    .split(|&b| b == b'\n')
                    .rev()
                    .skip(1)
                    .any(|l| !l.trim_ascii().is_empty() && !l.starts_with(b"#"));
                if binary || has_content_line {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

impl FlowReader<'static> {
    /// Opens a file (`-` for stdin); gzip is detected by its magic bytes and the format by the
    /// content unless `opts.format` says.
    pub fn open(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<FlowReader<'static>, Error> {
        let path = path.as_ref();
        let name = path.display().to_string();
        if name == "-" {
            return FlowReader::new("-", io::stdin().lock(), opts);
        }
        let file = File::open(path).map_err(|source| Error::Io {
            path: name.clone(),
            source,
        })?;
        FlowReader::new(name, file, opts)
    }
}

impl<'r> FlowReader<'r> {
    /// Reads from any byte source; `name` is used in messages.
    pub fn new(
        name: impl Into<String>,
        input: impl Read + 'r,
        opts: &ReadOptions,
    ) -> Result<Self, Error> {
        let name = name.into();
        let io_err = |source| Error::Io {
            path: name.clone(),
            source,
        };
        let mut input: Box<dyn Read + 'r> = Box::new(input);
        let mut prefix = read_prefix(&mut input, 64 << 10).map_err(io_err)?;
        let mut gzip = None;
        if prefix.starts_with(&[0x1f, 0x8b]) {
            let raw: Box<dyn Read + 'r> = Box::new(io::Cursor::new(prefix).chain(input));
            let (decoder, end) = crate::gzip::TolerantGz::new(raw);
            input = Box::new(decoder);
            gzip = Some(end);
            prefix = read_prefix(&mut input, 64 << 10).map_err(io_err)?;
        }
        let format = match opts.format {
            Some(Format::Parquet) => {
                return Err(Error::UnknownFormat {
                    path: name,
                    reason: "Parquet is read by palisade-columnar's ParquetFlowReader".into(),
                });
            }
            Some(f) => f,
            None => Format::detect(&prefix).map_err(|reason| Error::UnknownFormat {
                path: name.clone(),
                reason,
            })?,
        };
        let report = ReadReport {
            path: name,
            format: Some(format),
            strict: opts.strict,
            max_samples: opts.max_samples,
            ..ReadReport::default()
        };
        Ok(FlowReader {
            format,
            input: ByteBuf::new(prefix, input),
            report,
            done: false,
            gzip,
        })
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// What was noticed so far.
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// Consumes the reader, returning its report.
    pub fn into_report(self) -> ReadReport {
        self.report
    }

    /// Reads flow events to the end of the input, ignoring gaps (they are still in the report).
    pub fn read_flows(&mut self, mut f: impl FnMut(&FlowEvent<'_>)) -> Result<&ReadReport, Error> {
        self.read(|r| {
            if let Record::Flow(ev) = r {
                f(ev);
            }
        })
    }

    /// Reads to the end of the input, handing every flow and gap to `f` in input order.
    /// Returns the report; a second call reads nothing more.
    pub fn read(&mut self, mut f: impl FnMut(Record<'_, '_>)) -> Result<&ReadReport, Error> {
        if self.done {
            return Ok(&self.report);
        }
        self.done = true;
        let path = self.report.path.clone();
        match self.format {
            Format::Pcap => read_pcap(&path, &mut self.input, &mut self.report, &mut |ev| {
                f(Record::Flow(ev))
            })?,
            Format::Pcapng => read_pcapng(&path, &mut self.input, &mut self.report, &mut |ev| {
                f(Record::Flow(ev))
            })?,
            Format::Hubble | Format::VpcFlowLog | Format::Csv | Format::Jsonl => {
                self.read_lines(&mut f)?
            }
            Format::Parquet => unreachable!("FlowReader::new refuses Parquet"),
        }
        self.finish();
        Ok(&self.report)
    }

    /// Starts the one read of the input: its buffer and the report, or `None` when it was
    /// read already.
    pub(crate) fn start(&mut self) -> Option<(&mut ByteBuf<'r>, &mut ReadReport)> {
        if self.done {
            return None;
        }
        self.done = true;
        Some((&mut self.input, &mut self.report))
    }

    /// Notes what only the input's end tells (a gzip stream broken off).
    pub(crate) fn finish(&mut self) {
        if let Some((offset, message)) = self.gzip.as_ref().and_then(|g| g.warning()) {
            self.report.warnings.push(Problem {
                line: offset,
                message,
            });
        }
    }

    fn read_lines(&mut self, f: &mut impl FnMut(Record<'_, '_>)) -> Result<(), Error> {
        let report = &mut self.report;
        let input = &mut self.input;
        let mut vpc: Option<VpcColumns> = None;
        let mut csv: Option<CsvColumns> = None;
        let mut line_no: u64 = 0;
        let mut too_long = false;
        loop {
            let next = input.next_line(MAX_LINE).map_err(|source| Error::Io {
                path: report.path.clone(),
                source,
            })?;
            let (start, end, complete) = match next {
                None => return Ok(()),
                Some(r) => r,
            };
            if !complete {
                // The start of an overlong line; its rest arrives as further pieces.
                if !too_long {
                    line_no += 1;
                    report.records += 1;
                    report.malformed(Problem {
                        line: line_no,
                        message: "line longer than 64 MiB".into(),
                    })?;
                }
                too_long = true;
                continue;
            }
            if too_long {
                // The tail of the overlong line.
                too_long = false;
                continue;
            }
            line_no += 1;
            let mut line = input.slice(start, end);
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed: ParsedLine<'_> = match self.format {
                Format::Hubble | Format::Jsonl => parse_independent(self.format, line),
                Format::VpcFlowLog | Format::Csv => match std::str::from_utf8(line) {
                    Err(_) => Err("line is not valid UTF-8".into()),
                    Ok(text) if text.trim_start().starts_with('#') => Ok(TextLine::Skip),
                    Ok(text) if self.format == Format::Csv => match &csv {
                        Some(cols) => cols.parse(text),
                        None => match CsvColumns::from_header(text) {
                            Ok(cols) => {
                                csv = Some(cols);
                                Ok(TextLine::Skip)
                            }
                            Err(e) => {
                                return Err(Error::BadHeader {
                                    path: report.path.clone(),
                                    format: Format::Csv,
                                    reason: e.into_owned(),
                                });
                            }
                        },
                    },
                    Ok(text) => {
                        if vpc.is_none() && text.starts_with("version") {
                            vpc = Some(VpcColumns::from_header(text).ok_or_else(|| Error::BadHeader {
                                path: report.path.clone(),
                                format: Format::VpcFlowLog,
                                reason: "the header lacks one of srcaddr, dstaddr, srcport, dstport, protocol, start, action".into(),
                            })?);
                            Ok(TextLine::Skip)
                        } else {
                            vpc.get_or_insert_with(VpcColumns::default_v2).parse(text)
                        }
                    }
                },
                Format::Pcap | Format::Pcapng | Format::Parquet => {
                    unreachable!("binary formats do not read lines")
                }
            };
            deliver(report, line_no, parsed, f)?;
        }
    }
}

/// A non-blank line of a format whose lines parse on their own, without state from earlier
/// lines (Hubble, JSONL): what [`FlowReader::read_parallel`] can parse on any thread.
#[inline]
pub(crate) fn parse_independent(format: Format, line: &[u8]) -> ParsedLine<'_> {
    match format {
        Format::Hubble => match hubble::parse_line(line) {
            Ok(HubbleLine::Flow(ev)) => Ok(TextLine::Flow(ev)),
            Ok(HubbleLine::Gap(g)) => Ok(TextLine::Gap(g)),
            Ok(HubbleLine::Other) => Ok(TextLine::Skip),
            Ok(HubbleLine::WithoutIp) => Ok(TextLine::WithoutIp),
            Err(m) => Err(m.into()),
        },
        Format::Jsonl => parse_jsonl(line),
        _ => unreachable!("only Hubble and JSONL lines parse independently"),
    }
}

/// One non-blank line, parsed.
pub(crate) type ParsedLine<'a> = Result<TextLine<'a>, std::borrow::Cow<'static, str>>;

/// Counts a parsed line (line number `line_no`) in the report and hands its flow or gap to
/// `f`: the one place both the serial and the parallel reader deliver, so they agree.
#[inline]
pub(crate) fn deliver(
    report: &mut ReadReport,
    line_no: u64,
    parsed: ParsedLine<'_>,
    f: &mut impl FnMut(Record<'_, '_>),
) -> Result<(), Error> {
    report.records += 1;
    match parsed {
        Ok(TextLine::Flow(ev)) => {
            report.note_time(ev.time_ns);
            report.events += 1;
            f(Record::Flow(&ev));
        }
        Ok(TextLine::Gap(mut g)) => {
            g.line = line_no;
            report.lost_events += g.lost;
            f(Record::Gap(&g));
            report.gaps.push(g);
        }
        Ok(TextLine::Skip) => report.skipped += 1,
        Ok(TextLine::WithoutIp) => {
            report.flows_without_ip += 1;
            report.skipped += 1;
        }
        Err(message) => report.malformed(Problem {
            line: line_no,
            message: message.into_owned(),
        })?,
    }
    Ok(())
}
