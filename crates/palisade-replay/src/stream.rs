//! The sessions of a capture, read on one thread or several, handed on in the order one
//! thread gives: what `palisade replay` replays.
//!
//! Three ways, chosen by [`stream_sessions`], all with the same sessions in the same order,
//! each with the names the capture's DNS answers gave before it ([`DnsNames`]) and the time
//! of the capture's first flow:
//!
//! * **one thread**: read, sessionize and hand on, in turn (also for live sources, where
//!   each session must reach its reader at once);
//! * **lines parsed in parallel** (Hubble, JSONL): chunks of lines parsed on `threads`
//!   threads, their records delivered in input order
//!   ([`palisade_flows::FlowReader::read_parallel`]); learning names, sessionizing and the
//!   caller's handler run for one chunk at a time, on whichever thread parsed it;
//! * **pipelined** (pcap, pcapng, flow logs, CSV, Parquet): reading and sessionizing on the
//!   calling thread, the handler on a second one, sessions and learned names passed in
//!   order in batches.

use std::net::IpAddr;

use palisade_flows::{
    FlowReader, ParallelRead, Record, Session, SessionConfig, SessionStats, Sessionizer,
};

use crate::DnsNames;

/// Something that reads flow records in input order: a [`FlowReader`], or another crate's
/// reader (Parquet).
pub trait RecordSource {
    /// What reading may fail with.
    type Error;

    /// Reads every record, in input order.
    fn read_records(&mut self, f: &mut dyn FnMut(Record<'_, '_>)) -> Result<(), Self::Error>;

    /// Whether [`RecordSource::read_records_parallel`] spreads the parsing over threads.
    fn splits(&self) -> bool {
        false
    }

    /// Reads every record, in input order, parsing on `threads` threads; `f` is called one
    /// record at a time but on any of them. By default, [`RecordSource::read_records`].
    fn read_records_parallel(
        &mut self,
        threads: usize,
        f: &mut (dyn FnMut(Record<'_, '_>) + Send),
    ) -> Result<(), Self::Error> {
        let _ = threads;
        self.read_records(f)
    }
}

impl RecordSource for FlowReader<'_> {
    type Error = palisade_flows::Error;

    fn read_records(&mut self, f: &mut dyn FnMut(Record<'_, '_>)) -> Result<(), Self::Error> {
        self.read(f).map(|_| ())
    }

    fn splits(&self) -> bool {
        self.splits_lines()
    }

    fn read_records_parallel(
        &mut self,
        threads: usize,
        f: &mut (dyn FnMut(Record<'_, '_>) + Send),
    ) -> Result<(), Self::Error> {
        self.read_parallel(&ParallelRead::threads(threads), f)
            .map(|_| ())
    }
}

/// What the handler of [`stream_sessions`] gets with each session.
#[derive(Clone, Copy, Debug)]
pub struct SessionContext<'a> {
    /// The time of the capture's first flow.
    pub first_ns: Option<i64>,
    /// The names the capture's DNS answers gave so far.
    pub dns: &'a DnsNames,
}

/// Sessions handed from the reading thread to the handling one at a time (pipelined).
const PIPELINE_BATCH: usize = 2048;

/// Reads `source` into sessions (`config`) and hands each one, as it ends, to `handle`, on
/// `threads` threads (1: all on this one; see the [module](self) for how more are used).
/// The sessions, their order and their [`SessionContext`] do not depend on `threads` (tested).
/// Returns the sessionizer's counts, or the first read error (after the sessions read
/// before it were handled).
pub fn stream_sessions<S: RecordSource>(
    source: &mut S,
    config: SessionConfig,
    threads: usize,
    mut handle: impl FnMut(Session, SessionContext<'_>) + Send,
) -> Result<SessionStats, S::Error> {
    let mut sessionizer = Sessionizer::new(config);
    let mut dns = DnsNames::default();
    let mut first_ns: Option<i64> = None;
    if threads <= 1 || source.splits() {
        let mut on_record = |record: Record<'_, '_>| {
            if let Record::Flow(ev) = &record {
                first_ns.get_or_insert(ev.time_ns);
                dns.learn(ev);
            }
            sessionizer.push_record(record, &mut |s| {
                handle(
                    s,
                    SessionContext {
                        first_ns,
                        dns: &dns,
                    },
                )
            });
        };
        let read = if threads <= 1 {
            source.read_records(&mut on_record)
        } else {
            source.read_records_parallel(threads, &mut on_record)
        };
        let stats = sessionizer.finish(&mut |s| {
            handle(
                s,
                SessionContext {
                    first_ns,
                    dns: &dns,
                },
            )
        });
        return read.map(|()| stats);
    }
    // Names learned and sessions decided travel in the order the reader met them, so each
    // session is handled with the names known at that point, as on one thread. Sessions
    // dominate the batches and are moved by value: boxing them would add an allocation each.
    #[allow(clippy::large_enum_variant)]
    enum Piece {
        Names(Vec<(IpAddr, String)>),
        Session(Option<i64>, Session),
    }
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Piece>>(8);
    std::thread::scope(|scope| {
        let handling = scope.spawn(move || {
            for batch in receive {
                for piece in batch {
                    match piece {
                        Piece::Names(names) => {
                            for (ip, name) in names {
                                dns.insert(ip, &name);
                            }
                        }
                        Piece::Session(first_ns, session) => handle(
                            session,
                            SessionContext {
                                first_ns,
                                dns: &dns,
                            },
                        ),
                    }
                }
            }
        });
        let mut batch = Vec::with_capacity(PIPELINE_BATCH);
        let hand_over = |piece: Piece, batch: &mut Vec<Piece>| {
            batch.push(piece);
            if batch.len() == PIPELINE_BATCH {
                let full = std::mem::replace(batch, Vec::with_capacity(PIPELINE_BATCH));
                // The handling thread only stops early by panicking (resumed below).
                let _ = send.send(full);
            }
        };
        let read = source.read_records(&mut |record| {
            if let Record::Flow(ev) = &record {
                first_ns.get_or_insert(ev.time_ns);
                let names = DnsNames::said(ev);
                if !names.is_empty() {
                    hand_over(Piece::Names(names), &mut batch);
                }
            }
            sessionizer.push_record(record, &mut |s| {
                hand_over(Piece::Session(first_ns, s), &mut batch)
            });
        });
        let stats = sessionizer.finish(&mut |s| hand_over(Piece::Session(first_ns, s), &mut batch));
        let _ = send.send(batch);
        drop(send);
        if let Err(panic) = handling.join() {
            std::panic::resume_unwind(panic);
        }
        read.map(|()| stats)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_flows::ReadOptions;

    /// Every session with its context, as `threads` threads hand them on.
    fn sessions(input: &[u8], threads: usize) -> Vec<String> {
        let mut reader = FlowReader::new("capture", input, &ReadOptions::default()).unwrap();
        let mut out = Vec::new();
        let stats = stream_sessions(&mut reader, SessionConfig::default(), threads, |s, cx| {
            out.push(format!(
                "{s:?} first={:?} names={}",
                cx.first_ns,
                cx.dns.len()
            ));
        })
        .unwrap();
        out.push(format!("{stats:?}"));
        out
    }

    #[test]
    fn every_thread_count_hands_on_the_same_sessions_in_the_same_order() {
        let mut hubble = Vec::new();
        palisade_synth::traffic::write_hubble(&mut hubble, 20_000, 7).unwrap();
        // DNS answers in the middle: names learned before a session reach it on every path.
        let dns = r#"{"flow":{"time":"2026-09-20T00:00:01Z","verdict":"FORWARDED","IP":{"source":"10.96.0.10","destination":"10.0.7.118"},"l4":{"UDP":{"source_port":53,"destination_port":40000}},"l7":{"type":"RESPONSE","dns":{"query":"db.example.com.","ips":["10.0.1.99"]}},"is_reply":true}}"#;
        let at = hubble.len() / 2;
        let at = at + hubble[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
        hubble.splice(at..at, format!("{dns}\n").into_bytes());
        let mut pcap = Vec::new();
        palisade_synth::traffic::write_pcap(&mut pcap, 60_000, 7).unwrap();
        for input in [&hubble, &pcap] {
            let one = sessions(input, 1);
            assert!(one.len() > 1000);
            for threads in [2, 3] {
                assert_eq!(one, sessions(input, threads), "{threads} threads");
            }
        }
        let hubble = sessions(&hubble, 1);
        assert!(
            hubble.iter().any(|s| s.contains("names=1")),
            "the DNS answer is learned"
        );
    }
}
