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
//! * **pipelined** (flow logs, CSV, Parquet): reading and sessionizing on the calling
//!   thread, the handler on a second one, sessions and learned names passed in order in
//!   batches;
//! * **pipelined in three stages** (pcap, pcapng): reading and decoding on the calling
//!   thread, sessionizing on a second, the handler on a third. A packet event borrows
//!   nothing from the reader's buffer but its DNS answers, which are learned on the reading
//!   thread, so packets travel as small copies ([`PacketCopy`]) and the sessionizer (the
//!   busiest step of a packet capture) gets a thread of its own.

use std::net::IpAddr;

use palisade_flows::{
    EventKind, FlowEvent, FlowReader, Format, Gap, L4, ParallelRead, Record, Session,
    SessionConfig, SessionStats, Sessionizer,
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

    /// Whether every flow record is a packet event that borrows nothing from the reader but
    /// its DNS answers (pcap, pcapng): such records are sessionized on a thread of their own.
    fn packets_only(&self) -> bool {
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

    fn packets_only(&self) -> bool {
        matches!(self.format(), Format::Pcap | Format::Pcapng)
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

/// Packets handed from the reading thread to the sessionizing one at a time (three stages).
const PACKET_BATCH: usize = 4096;

/// A packet event copied out of the reader's buffer: everything [`Sessionizer::push`] reads
/// of a pcap or pcapng event (which names no node or endpoint, and whose DNS answers are
/// learned on the reading thread).
#[derive(Clone, Copy, Debug)]
struct PacketCopy {
    time_ns: i64,
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    l4: L4,
    wire_len: u32,
}

impl PacketCopy {
    /// The copy, when `ev` is such a packet event.
    fn of(ev: &FlowEvent<'_>) -> Option<PacketCopy> {
        match ev.kind {
            EventKind::Packet { wire_len, .. }
                if ev.is_reply.is_none()
                    && ev.node.is_none()
                    && ev.src_endpoint.is_none()
                    && ev.dst_endpoint.is_none() =>
            {
                Some(PacketCopy {
                    time_ns: ev.time_ns,
                    src: ev.src,
                    dst: ev.dst,
                    src_port: ev.src_port,
                    dst_port: ev.dst_port,
                    l4: ev.l4,
                    wire_len,
                })
            }
            _ => None,
        }
    }

    /// The event again, without its DNS answers (the sessionizer does not read them).
    fn event(&self) -> FlowEvent<'static> {
        FlowEvent {
            time_ns: self.time_ns,
            src: self.src,
            dst: self.dst,
            src_port: self.src_port,
            dst_port: self.dst_port,
            l4: self.l4,
            kind: EventKind::Packet {
                wire_len: self.wire_len,
                dns: &[],
            },
            is_reply: None,
            node: None,
            src_endpoint: None,
            dst_endpoint: None,
        }
    }
}

/// What the three-stage pipeline hands from one stage to the next, in input order. Packets
/// dominate the first stage's batches and sessions the second's; both move by value.
#[allow(clippy::large_enum_variant)]
enum Piece {
    /// Names a DNS answer gave (learned before the sessions that follow).
    Names(Vec<(IpAddr, String)>),
    /// A session, with the capture's first flow time.
    Session(Option<i64>, Session),
    /// A packet to sessionize (first stage only).
    Packet(PacketCopy),
    /// A gap in the record (first stage only).
    Gap(Gap),
}

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
    if source.packets_only() {
        return three_stages(source, sessionizer, handle);
    }
    // Names learned and sessions decided travel in the order the reader met them, so each
    // session is handled with the names known at that point, as on one thread.
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Piece>>(8);
    std::thread::scope(|scope| {
        let handling = scope.spawn(move || handle_pieces(receive, handle));
        let mut batch = Vec::with_capacity(PIPELINE_BATCH);
        let read = source.read_records(&mut |record| {
            if let Record::Flow(ev) = &record {
                first_ns.get_or_insert(ev.time_ns);
                let names = DnsNames::said(ev);
                if !names.is_empty() {
                    hand_over(&send, Piece::Names(names), &mut batch, PIPELINE_BATCH);
                }
            }
            sessionizer.push_record(record, &mut |s| {
                hand_over(
                    &send,
                    Piece::Session(first_ns, s),
                    &mut batch,
                    PIPELINE_BATCH,
                )
            });
        });
        let stats = sessionizer.finish(&mut |s| {
            hand_over(
                &send,
                Piece::Session(first_ns, s),
                &mut batch,
                PIPELINE_BATCH,
            )
        });
        let _ = send.send(batch);
        drop(send);
        if let Err(panic) = handling.join() {
            std::panic::resume_unwind(panic);
        }
        read.map(|()| stats)
    })
}

/// Appends `piece` to `batch`, sending the batch on when it holds `size`.
fn hand_over(
    send: &std::sync::mpsc::SyncSender<Vec<Piece>>,
    piece: Piece,
    batch: &mut Vec<Piece>,
    size: usize,
) {
    batch.push(piece);
    if batch.len() == size {
        let full = std::mem::replace(batch, Vec::with_capacity(size));
        // The receiving thread only stops early by panicking (resumed when joined).
        let _ = send.send(full);
    }
}

/// The handling stage: names are learned and sessions handled in the order received.
fn handle_pieces(
    receive: std::sync::mpsc::Receiver<Vec<Piece>>,
    mut handle: impl FnMut(Session, SessionContext<'_>),
) {
    let mut dns = DnsNames::default();
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
                Piece::Packet(_) | Piece::Gap(_) => {
                    unreachable!("packets and gaps go to the sessionizing stage")
                }
            }
        }
    }
}

/// Reading and decoding here, sessionizing on a second thread, handling on a third (pcap,
/// pcapng: see the [module](self)). The same pieces in the same order as one thread.
fn three_stages<S: RecordSource>(
    source: &mut S,
    mut sessionizer: Sessionizer,
    handle: impl FnMut(Session, SessionContext<'_>) + Send,
) -> Result<SessionStats, S::Error> {
    let (to_sessionizer, packets) = std::sync::mpsc::sync_channel::<Vec<Piece>>(8);
    let (recycle, recycled) = std::sync::mpsc::channel::<Vec<Piece>>();
    let (to_handler, sessions) = std::sync::mpsc::sync_channel::<Vec<Piece>>(8);
    std::thread::scope(|scope| {
        let handling = scope.spawn(move || handle_pieces(sessions, handle));
        let sessionizing = scope.spawn(move || {
            let mut first_ns: Option<i64> = None;
            let mut batch = Vec::with_capacity(PIPELINE_BATCH);
            for mut received in packets {
                for piece in received.drain(..) {
                    match piece {
                        Piece::Packet(p) => {
                            first_ns.get_or_insert(p.time_ns);
                            sessionizer.push(&p.event(), &mut |s| {
                                hand_over(
                                    &to_handler,
                                    Piece::Session(first_ns, s),
                                    &mut batch,
                                    PIPELINE_BATCH,
                                )
                            });
                        }
                        Piece::Gap(gap) => sessionizer.gap(&gap),
                        names @ Piece::Names(_) => {
                            hand_over(&to_handler, names, &mut batch, PIPELINE_BATCH)
                        }
                        Piece::Session(..) => unreachable!("sessions are made here"),
                    }
                }
                // The reading thread may be gone already (it then reads no more batches).
                let _ = recycle.send(received);
            }
            let stats = sessionizer.finish(&mut |s| {
                hand_over(
                    &to_handler,
                    Piece::Session(first_ns, s),
                    &mut batch,
                    PIPELINE_BATCH,
                )
            });
            let _ = to_handler.send(batch);
            stats
        });
        let fresh = || {
            recycled
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(PACKET_BATCH))
        };
        let mut batch = fresh();
        let read = source.read_records(&mut |record| {
            match record {
                Record::Flow(ev) => {
                    let names = DnsNames::said(ev);
                    if !names.is_empty() {
                        batch.push(Piece::Names(names));
                    }
                    let Some(packet) = PacketCopy::of(ev) else {
                        unreachable!("pcap and pcapng events are packets that name nothing")
                    };
                    batch.push(Piece::Packet(packet));
                }
                Record::Gap(gap) => batch.push(Piece::Gap(gap.clone())),
            }
            if batch.len() >= PACKET_BATCH {
                let full = std::mem::replace(&mut batch, fresh());
                // The sessionizing thread only stops early by panicking (resumed below).
                let _ = to_sessionizer.send(full);
            }
        });
        let _ = to_sessionizer.send(batch);
        drop(to_sessionizer);
        let stats = sessionizing.join();
        let handled = handling.join();
        let stats = stats.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Err(panic) = handled {
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
