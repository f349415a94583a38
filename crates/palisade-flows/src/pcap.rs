//! pcap and pcapng files, read through a reusable buffer so that packets are decoded in place.

use std::io::{self, Read};

use crate::dns::{DNS_PORT, DnsAnswer, read_payload};
use crate::event::{EventKind, FlowEvent, L4};
use crate::packet::{LinkType, decode, dns_payload};
use crate::report::{Problem, ReadReport};
use crate::{Error, Format};

/// Frames larger than this are treated as corruption, not as packets.
const MAX_FRAME: usize = 16 << 20;
/// The read window. Give the reader the file itself, not a `BufReader`: the window is the
/// buffer. (Should a caller wrap one anyway, this is larger than the common 1 MiB, and
/// `std::io::BufReader` hands a read at least as large as its own buffer straight to the
/// file; the parallel line reader's smaller chunk reads, though, would be copied twice.)
const BUF_SIZE: usize = 2 << 20;

/// A byte source with a sliding window, tracking absolute offsets for warnings.
pub(crate) struct ByteBuf<'r> {
    input: Box<dyn Read + 'r>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl<'r> ByteBuf<'r> {
    pub fn new(prefix: Vec<u8>, input: Box<dyn Read + 'r>) -> Self {
        let end = prefix.len();
        // A fresh zeroed allocation (calloc) leaves untouched pages unmapped, unlike resizing
        // the prefix: small inputs (tests, fuzzing) then cost little.
        let mut buf = vec![0u8; BUF_SIZE.max(end)];
        buf[..end].copy_from_slice(&prefix);
        ByteBuf {
            input,
            buf,
            pos: 0,
            end,
            base: 0,
            eof: false,
        }
    }

    /// Absolute offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub fn available(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Makes at least `n` bytes available; `false` if the input ends first.
    #[inline]
    pub fn ensure(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        self.fill(n)
    }

    #[cold]
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() < n {
            self.buf.resize(n.next_power_of_two(), 0);
        }
        while self.end < n && !self.eof {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end >= n)
    }

    pub fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    /// Moves the buffered, unread bytes to the end of `out`.
    pub fn take_buffered(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf[self.pos..self.end]);
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
    }

    /// Reads up to `n` bytes from the input straight to the end of `out`, past the window
    /// (which [`ByteBuf::take_buffered`] emptied first): fewer only at the input's end.
    pub fn read_into(&mut self, out: &mut Vec<u8>, n: usize) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        debug_assert_eq!(self.pos, self.end, "the window is empty");
        let got = (&mut self.input).take(n as u64).read_to_end(out)?;
        self.base += got as u64;
        if got < n {
            self.eof = true;
        }
        Ok(got)
    }

    /// The bytes of a range returned by [`ByteBuf::next_line`].
    #[inline]
    pub fn slice(&self, start: usize, end: usize) -> &[u8] {
        &self.buf[start..end]
    }

    /// The next line (without its `\n`) as a range into the buffer, valid until the next
    /// call. A line longer than `max` comes in pieces flagged incomplete (`false`).
    #[inline]
    pub fn next_line(&mut self, max: usize) -> io::Result<Option<(usize, usize, bool)>> {
        let mut searched = 0;
        loop {
            let avail = &self.buf[self.pos + searched..self.end];
            if let Some(n) = memchr::memchr(b'\n', avail) {
                let start = self.pos;
                let end = self.pos + searched + n;
                self.pos = end + 1;
                return Ok(Some((start, end, true)));
            }
            let have = self.end - self.pos;
            if self.eof {
                if have == 0 {
                    return Ok(None);
                }
                let start = self.pos;
                self.pos = self.end;
                return Ok(Some((start, self.end, true)));
            }
            if have >= max {
                let start = self.pos;
                self.pos = self.end;
                return Ok(Some((start, self.end, false)));
            }
            searched = have;
            self.fill(have + 1)?;
        }
    }
}

#[derive(Clone, Copy)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline]
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }

    #[inline]
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let a = [b[at], b[at + 1]];
        match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        }
    }
}

/// The classic pcap magic numbers, as read little-endian.
pub(crate) fn pcap_magic(b: &[u8]) -> bool {
    matches!(
        b.get(..4),
        Some(
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
        )
    )
}

/// The pcapng Section Header Block type.
pub(crate) fn pcapng_magic(b: &[u8]) -> bool {
    b.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a])
}

fn io_err(path: &str, source: io::Error) -> Error {
    Error::Io {
        path: path.to_string(),
        source,
    }
}

fn truncated(report: &mut ReadReport, offset: u64, what: &str) {
    report.warnings.push(Problem {
        line: offset,
        message: format!(
            "file truncated at byte {offset}: incomplete {what}; packets before it were read"
        ),
    });
}

/// Hands a decoded packet to `f`; one from port 53 first has the DNS response it carries read
/// (only those: every other packet pays one comparison).
#[inline(always)]
fn deliver<F: FnMut(&FlowEvent<'_>)>(
    link: LinkType,
    frame: &[u8],
    offset: u64,
    ev: &FlowEvent<'static>,
    report: &mut ReadReport,
    dns: &mut Vec<DnsAnswer>,
    f: &mut F,
) {
    if ev.src_port == DNS_PORT && matches!(ev.l4, L4::Udp | L4::Tcp(_)) {
        deliver_dns(link, frame, offset, ev, report, dns, f);
    } else {
        f(ev);
    }
}

#[inline(never)]
fn deliver_dns<F: FnMut(&FlowEvent<'_>)>(
    link: LinkType,
    frame: &[u8],
    offset: u64,
    ev: &FlowEvent<'static>,
    report: &mut ReadReport,
    dns: &mut Vec<DnsAnswer>,
    f: &mut F,
) {
    dns.clear();
    if let Some(payload) = dns_payload(link, frame) {
        let partial = read_payload(payload, dns, |message, cut_by_capture| {
            let problem = Problem {
                line: offset,
                message,
            };
            report.dns_problem(problem, cut_by_capture);
        });
        report.dns_tcp_partial += u64::from(partial);
        if !dns.is_empty() {
            report.dns_responses += 1;
        }
    }
    // A copy only for packets from port 53, so that the event of every other packet is
    // handed on where `decode` built it.
    let mut ev: FlowEvent<'_> = ev.clone();
    if let EventKind::Packet { dns: answers, .. } = &mut ev.kind {
        *answers = dns;
    }
    f(&ev);
}

/// Reads a classic pcap file to its end.
pub(crate) fn read_pcap<F: FnMut(&FlowEvent<'_>)>(
    path: &str,
    input: &mut ByteBuf<'_>,
    report: &mut ReadReport,
    f: &mut F,
) -> Result<(), Error> {
    if !input.ensure(24).map_err(|e| io_err(path, e))? {
        return Err(Error::BadHeader {
            path: path.to_string(),
            format: Format::Pcap,
            reason: "shorter than the 24-byte file header".into(),
        });
    }
    let h = input.available();
    let (endian, nanos) = match h[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (Endian::Little, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (Endian::Big, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (Endian::Little, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (Endian::Big, true),
        _ => {
            return Err(Error::BadHeader {
                path: path.to_string(),
                format: Format::Pcap,
                reason: "bad magic number".into(),
            });
        }
    };
    // The upper bits may carry FCS information (pcap spec, "LinkType and additional information").
    let link_number = endian.u32(h, 20) & 0x0FFF_FFFF;
    let link = LinkType::from_number(link_number).ok_or_else(|| Error::UnsupportedLinkType {
        path: path.to_string(),
        link_type: link_number,
    })?;
    input.consume(24);
    let frac_ns: i64 = if nanos { 1 } else { 1_000 };
    let mut dns = Vec::new();
    loop {
        if !input.ensure(16).map_err(|e| io_err(path, e))? {
            if !input.available().is_empty() {
                truncated(report, input.offset(), "record header");
            }
            return Ok(());
        }
        let h = input.available();
        let secs = i64::from(endian.u32(h, 0));
        let frac = i64::from(endian.u32(h, 4));
        let caplen = endian.u32(h, 8) as usize;
        let wire_len = endian.u32(h, 12);
        if caplen > MAX_FRAME {
            report.warnings.push(Problem {
                line: input.offset(),
                message: format!(
                    "corrupt record header at byte {}: captured length {caplen} is implausible; stopped reading",
                    input.offset()
                ),
            });
            return Ok(());
        }
        let record_offset = input.offset();
        if !input.ensure(16 + caplen).map_err(|e| io_err(path, e))? {
            truncated(report, record_offset, "packet");
            return Ok(());
        }
        report.records += 1;
        let frame = &input.available()[16..16 + caplen];
        match decode(link, frame, secs * 1_000_000_000 + frac * frac_ns, wire_len) {
            Some(ev) => {
                report.note_time(ev.time_ns);
                report.events += 1;
                deliver(link, frame, record_offset, &ev, report, &mut dns, f);
            }
            None => report.not_decoded(link, frame),
        }
        input.consume(16 + caplen);
    }
}

/// One interface of a pcapng section.
#[derive(Clone, Copy)]
struct Interface {
    link: Option<(LinkType, u32)>,
    /// Timestamp units per second is `10^exp` or `2^exp`.
    tsresol: (bool, u8),
    offset_s: i64,
}

impl Interface {
    fn ns(&self, ts: u64) -> i64 {
        let ns: u128 = match self.tsresol {
            (false, e) if e <= 9 => u128::from(ts) * 10u128.pow(9 - u32::from(e)),
            (false, e) => u128::from(ts) / 10u128.pow(u32::from(e.min(38)) - 9),
            (true, e) => (u128::from(ts) * 1_000_000_000) >> e.min(127),
        };
        i64::try_from(ns)
            .unwrap_or(i64::MAX)
            .saturating_add(self.offset_s.saturating_mul(1_000_000_000))
    }
}

/// Reads a pcapng file to its end.
pub(crate) fn read_pcapng<F: FnMut(&FlowEvent<'_>)>(
    path: &str,
    input: &mut ByteBuf<'_>,
    report: &mut ReadReport,
    f: &mut F,
) -> Result<(), Error> {
    let mut endian = Endian::Little;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut first = true;
    let mut dns = Vec::new();
    loop {
        if !input.ensure(12).map_err(|e| io_err(path, e))? {
            if !input.available().is_empty() {
                truncated(report, input.offset(), "block header");
            }
            return Ok(());
        }
        let block_offset = input.offset();
        let h = input.available();
        let raw_type = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        if raw_type == 0x0A0D_0D0A {
            // A new section: its byte-order magic decides how everything after it is read.
            endian = match h[8..12] {
                [0x4d, 0x3c, 0x2b, 0x1a] => Endian::Little,
                [0x1a, 0x2b, 0x3c, 0x4d] => Endian::Big,
                _ => {
                    return Err(Error::BadHeader {
                        path: path.to_string(),
                        format: Format::Pcapng,
                        reason: format!(
                            "bad byte-order magic in section header at byte {block_offset}"
                        ),
                    });
                }
            };
            interfaces.clear();
        } else if first {
            return Err(Error::BadHeader {
                path: path.to_string(),
                format: Format::Pcapng,
                reason: "does not start with a section header block".into(),
            });
        }
        first = false;
        let block_type = endian.u32(h, 0);
        let total = endian.u32(h, 4) as usize;
        if total < 12 || !total.is_multiple_of(4) || total > MAX_FRAME {
            report.warnings.push(Problem {
                line: block_offset,
                message: format!(
                    "corrupt block at byte {block_offset}: length {total}; stopped reading"
                ),
            });
            return Ok(());
        }
        if !input.ensure(total).map_err(|e| io_err(path, e))? {
            truncated(report, block_offset, "block");
            return Ok(());
        }
        let block = &input.available()[..total];
        let body = &block[8..total - 4];
        match block_type {
            // Interface Description Block.
            1 if body.len() >= 8 => {
                let number = u32::from(endian.u16(body, 0));
                let mut iface = Interface {
                    link: LinkType::from_number(number).map(|l| (l, number)),
                    tsresol: (false, 6),
                    offset_s: 0,
                };
                if iface.link.is_none() {
                    return Err(Error::UnsupportedLinkType {
                        path: path.to_string(),
                        link_type: number,
                    });
                }
                let mut opts = &body[8..];
                while opts.len() >= 4 {
                    let code = endian.u16(opts, 0);
                    let len = usize::from(endian.u16(opts, 2));
                    let Some(value) = opts.get(4..4 + len) else {
                        break;
                    };
                    match (code, value) {
                        (0, _) => break,
                        (9, [v, ..]) => iface.tsresol = (v & 0x80 != 0, v & 0x7F),
                        (14, v) if v.len() == 8 => {
                            let lo = u64::from(endian.u32(v, 0));
                            let hi = u64::from(endian.u32(v, 4));
                            // Byte order of a 64-bit option follows the section.
                            let val = match endian {
                                Endian::Little => lo | (hi << 32),
                                Endian::Big => (lo << 32) | hi,
                            };
                            iface.offset_s = val as i64;
                        }
                        _ => {}
                    }
                    opts = opts.get(4 + len.div_ceil(4) * 4..).unwrap_or_default();
                }
                interfaces.push(iface);
            }
            // Enhanced Packet Block, and the obsolete Packet Block.
            6 | 2 if body.len() >= 20 => {
                report.records += 1;
                let (iface_id, ts_hi, ts_lo, caplen, wire_len) = if block_type == 6 {
                    (
                        endian.u32(body, 0) as usize,
                        endian.u32(body, 4),
                        endian.u32(body, 8),
                        endian.u32(body, 12) as usize,
                        endian.u32(body, 16),
                    )
                } else {
                    (
                        usize::from(endian.u16(body, 0)),
                        endian.u32(body, 4),
                        endian.u32(body, 8),
                        endian.u32(body, 12) as usize,
                        endian.u32(body, 16),
                    )
                };
                let iface = interfaces.get(iface_id);
                match (iface, body.get(20..20 + caplen)) {
                    (Some(iface), Some(frame)) => {
                        let ts = (u64::from(ts_hi) << 32) | u64::from(ts_lo);
                        let (link, _) = iface.link.expect("interfaces without link were rejected");
                        match decode(link, frame, iface.ns(ts), wire_len) {
                            Some(ev) => {
                                report.note_time(ev.time_ns);
                                report.events += 1;
                                deliver(link, frame, block_offset, &ev, report, &mut dns, f);
                            }
                            None => report.not_decoded(link, frame),
                        }
                    }
                    _ => report.malformed(Problem {
                        line: block_offset,
                        message: format!("packet block at byte {block_offset} names an unknown interface or overruns its block"),
                    })?,
                }
            }
            // Simple Packet Block: interface 0, no timestamp; the time of the previous packet is
            // the best available.
            3 if body.len() >= 4 => {
                report.records += 1;
                let wire_len = endian.u32(body, 0);
                let caplen = (wire_len as usize).min(body.len() - 4);
                match interfaces.first() {
                    Some(iface) => {
                        let (link, _) = iface.link.expect("interfaces without link were rejected");
                        let frame = &body[4..4 + caplen];
                        match decode(link, frame, report.last_time_ns.unwrap_or(0), wire_len) {
                            Some(ev) => {
                                report.events += 1;
                                deliver(link, frame, block_offset, &ev, report, &mut dns, f);
                            }
                            None => report.not_decoded(link, frame),
                        }
                    }
                    None => report.skipped += 1,
                }
            }
            _ => {}
        }
        input.consume(total);
    }
}
