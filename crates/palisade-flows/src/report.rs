//! What a reader noticed about the data, reported next to the results rather than as errors.

use palisade_diag::Diagnostic;

use crate::{Error, Format};

/// How many malformed lines and warnings are kept for display (all are counted).
pub const DEFAULT_MAX_SAMPLES: usize = 10;

/// One problem at a place in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number for line formats; byte offset for pcap and pcapng.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// A gap in the record: events that were lost (Hubble `lost_events`) or a flow-log window
/// without data (VPC `NODATA` / `SKIPDATA`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// When, if the record says (ns since the epoch).
    pub time_ns: Option<i64>,
    /// How many events were lost (0 when unknown, e.g. VPC).
    pub lost: u64,
    /// Where they were lost: `HUBBLE_RING_BUFFER`, `PERF_EVENT_RING_BUFFER`,
    /// `OBSERVER_EVENTS_QUEUE`, or the VPC log status `NODATA` / `SKIPDATA`.
    pub source: String,
    /// The node (Hubble) or network interface (VPC) that reported it.
    pub node: Option<String>,
    /// The 1-based line it was reported on.
    pub line: u64,
}

/// Everything a reader noticed about its input.
#[derive(Clone, Debug, Default)]
pub struct ReadReport {
    /// The path as given.
    pub path: String,
    /// The format read.
    pub format: Option<Format>,
    /// Lines or capture records read (including skipped and malformed ones; excluding blank lines).
    pub records: u64,
    /// Flow events delivered.
    pub events: u64,
    /// Well-formed records that carry nothing to sessionize (non-IP frames, fragments,
    /// headers, `node_status`, L7 flows without addresses ...).
    pub skipped: u64,
    /// Malformed records, skipped.
    pub malformed: u64,
    /// Of `skipped`: packets that claimed to be IP (TCP, UDP, SCTP, ICMP) whose headers did
    /// not parse (cut short by the snap length, bad lengths); reported as a warning.
    pub undecodable_ip: u64,
    /// Of `skipped`: Hubble flows without an `IP` section (L7 flows, some sock-trace flows).
    /// They are not replayed yet, even when they name both pods; reported as a note.
    pub flows_without_ip: u64,
    /// Packets from port 53 whose DNS response gave addresses for the names asked.
    pub dns_responses: u64,
    /// DNS responses (from port 53) that could not be read in full: cut short by the
    /// capture, or malformed. The packet itself is still sessionized; the names it would
    /// have given may be missing (sessions to those addresses then depend on DNS).
    pub dns_unreadable: u64,
    /// Of `dns_unreadable`: those the capture cut short (its snap length).
    pub dns_cut_by_capture: u64,
    /// The first of them, for display.
    pub dns_samples: Vec<Problem>,
    /// DNS-over-TCP messages a segment holds only part of: segments are not reassembled,
    /// so the names they carry are not learned.
    pub dns_tcp_partial: u64,
    /// The first malformed records, for display.
    pub malformed_samples: Vec<Problem>,
    /// Gaps in the record, in input order (all of them: they are rare).
    pub gaps: Vec<Gap>,
    /// Sum of the events the gaps say were lost.
    pub lost_events: u64,
    /// Events whose time is earlier than an event before them.
    pub out_of_order: u64,
    /// The largest step back in time, in nanoseconds.
    pub max_backstep_ns: i64,
    /// Warnings about the file as a whole (truncation with its byte offset ...).
    pub warnings: Vec<Problem>,
    /// Time of the latest event so far.
    pub last_time_ns: Option<i64>,
    pub(crate) strict: bool,
    pub(crate) max_samples: usize,
}

impl ReadReport {
    /// Counts a capture record [`crate::packet::decode`] returned nothing for.
    pub(crate) fn not_decoded(&mut self, link: crate::packet::LinkType, frame: &[u8]) {
        self.skipped += 1;
        if crate::packet::is_undecodable_ip(link, frame) {
            self.undecodable_ip += 1;
        }
    }

    /// The largest step back in time, in the unit that shows it: `500 ms`, `250 µs`,
    /// `80 ns` (a sub-millisecond step is not "0 ms").
    pub fn max_backstep_text(&self) -> String {
        let ns = self.max_backstep_ns;
        if ns >= 1_000_000 {
            format!("{} ms", ns / 1_000_000)
        } else if ns >= 1_000 {
            format!("{} µs", ns / 1_000)
        } else {
            format!("{ns} ns")
        }
    }

    /// Counts an event time, noticing steps back.
    #[inline]
    pub(crate) fn note_time(&mut self, t: i64) {
        match self.last_time_ns {
            Some(max) if t < max => {
                self.out_of_order += 1;
                self.max_backstep_ns = self.max_backstep_ns.max(max.saturating_sub(t));
            }
            _ => self.last_time_ns = Some(t),
        }
    }

    /// Counts a DNS response that could not be read in full. Not a malformed record: the
    /// packet is fine, and strict mode does not stop on it.
    pub(crate) fn dns_problem(&mut self, p: Problem, cut_by_capture: bool) {
        self.dns_unreadable += 1;
        if cut_by_capture {
            self.dns_cut_by_capture += 1;
        }
        if self.dns_samples.len() < self.max_samples {
            self.dns_samples.push(p);
        }
    }

    /// Counts a malformed record; fatal in strict mode.
    pub(crate) fn malformed(&mut self, p: Problem) -> Result<(), Error> {
        self.malformed += 1;
        if self.strict {
            return Err(Error::Malformed {
                path: self.path.clone(),
                line: p.line,
                message: p.message,
            });
        }
        if self.malformed_samples.len() < self.max_samples {
            self.malformed_samples.push(p);
        }
        Ok(())
    }

    /// Whether nothing was wrong with the data.
    pub fn is_clean(&self) -> bool {
        self.malformed == 0 && self.gaps.is_empty() && self.warnings.is_empty()
    }

    /// The report as diagnostics for `palisade-render`: one warning per kind of problem, with
    /// the first locations as notes (spans are not used: flow files are not in the `SourceMap`).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let unit = match self.format {
            Some(Format::Pcap | Format::Pcapng) => "byte",
            Some(Format::Parquet) => "row",
            _ => "line",
        };
        let mut out = Vec::new();
        if self.malformed > 0 {
            let mut d = Diagnostic::warning(format!(
                "{}: skipped {} malformed record{}",
                self.path,
                self.malformed,
                if self.malformed == 1 { "" } else { "s" }
            ));
            for p in &self.malformed_samples {
                d = d.with_note(format!("{unit} {}: {}", p.line, p.message));
            }
            out.push(d);
        }
        for w in &self.warnings {
            out.push(Diagnostic::warning(format!("{}: {}", self.path, w.message)));
        }
        if !self.gaps.is_empty() {
            let mut d = Diagnostic::warning(format!(
                "{}: {} gap{} in the record ({} events lost); sessions around them may be misjudged",
                self.path,
                self.gaps.len(),
                if self.gaps.len() == 1 { "" } else { "s" },
                self.lost_events
            ));
            for g in self.gaps.iter().take(self.max_samples) {
                d = d.with_note(format!(
                    "line {}: {} lost {} at {}",
                    g.line,
                    g.node.as_deref().unwrap_or("?"),
                    g.lost,
                    g.source
                ));
            }
            out.push(d);
        }
        if self.undecodable_ip > 0 {
            out.push(
                Diagnostic::warning(format!(
                    "{}: {} IP packet{} whose headers did not parse (cut short or bad lengths) were skipped",
                    self.path,
                    self.undecodable_ip,
                    if self.undecodable_ip == 1 { "" } else { "s" }
                ))
                .with_help("capture with a larger snap length (`tcpdump -s 0`)"),
            );
        }
        if self.dns_unreadable > 0 {
            let mut d = Diagnostic::warning(format!(
                "{}: {} DNS response{} from port 53 could not be read in full; the names {} would give are missing, so sessions to those addresses may show as depending on DNS",
                self.path,
                self.dns_unreadable,
                if self.dns_unreadable == 1 { "" } else { "s" },
                if self.dns_unreadable == 1 {
                    "it"
                } else {
                    "they"
                },
            ));
            for p in &self.dns_samples {
                d = d.with_note(format!("{unit} {}: {}", p.line, p.message));
            }
            if self.dns_cut_by_capture > 0 {
                d = d.with_help("capture with a larger snap length (`tcpdump -s 0`)");
            }
            out.push(d);
        }
        if self.dns_tcp_partial > 0 {
            out.push(Diagnostic::info(format!(
                "{}: {} DNS-over-TCP response{} span{} several segments; segments are not reassembled, so {} names are not learned",
                self.path,
                self.dns_tcp_partial,
                if self.dns_tcp_partial == 1 { "" } else { "s" },
                if self.dns_tcp_partial == 1 { "s" } else { "" },
                if self.dns_tcp_partial == 1 { "its" } else { "their" },
            )));
        }
        if self.out_of_order > 0 {
            out.push(Diagnostic::info(format!(
                "{}: {} events out of time order (at most {} back); sessions are keyed by flow, so this is tolerated",
                self.path,
                self.out_of_order,
                self.max_backstep_text()
            )));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::ReadReport;

    /// Found by the `vpc_reader` fuzz target: a time far before the previous one overflowed
    /// the backstep in debug builds (and wrapped in release).
    #[test]
    fn a_step_back_across_the_whole_time_range_saturates() {
        let mut report = ReadReport::default();
        report.note_time(i64::MAX);
        report.note_time(i64::MIN);
        assert_eq!(report.out_of_order, 1);
        assert_eq!(report.max_backstep_ns, i64::MAX);
    }
}
