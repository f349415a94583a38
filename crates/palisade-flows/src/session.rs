//! The session builder: turns flow events into connection attempts with an observed outcome.
//!
//! # Rules
//!
//! * **TCP**: a SYN starts an attempt; SYN-ACK from the peer → accepted; RST from the peer
//!   while undecided → refused; SYNs on the same 4-tuple within the attempt window (`timeout`
//!   after the first) are the same attempt (counted in [`Session::attempts`]); no answer
//!   within `timeout`, or before the input ends → timed out. A 4-tuple first seen without a
//!   SYN → unknown (one session per 4-tuple until it goes idle).
//! * **UDP**: the first datagram of a 4-tuple starts a session; a datagram back within
//!   `timeout` → accepted; an ICMP/ICMPv6 unreachable quoting it → refused; nothing → timed
//!   out. A datagram after the session ended starts a new one.
//! * **SCTP**: INIT → attempt; INIT ACK → accepted; ABORT → refused.
//! * **Hubble**: the same rules on flows, plus verdicts. The outcome is what the client got,
//!   never the datapath's verdict alone: a reply flow → accepted; `DROPPED` → timed out
//!   (policy drops are silent) with `drop_reason_desc`; `FORWARDED` and no answer within
//!   `timeout` → timed out when the capture shows reply-direction flows for the address pair
//!   or on the connection's nodes before that deadline ([`ReplyNodes`]), unknown (with the reason) when it does not (a capture filtered to one direction);
//!   an ICMP/ICMPv6 unreachable from B to A (Hubble quotes no inner header) refuses the
//!   latest undecided UDP attempt from A to B; a connection first seen mid-stream or at L7
//!   that Hubble forwarded → accepted (established before the capture). The same connection reported by the source node (EGRESS)
//!   and the destination node (INGRESS) is one session: the 5-tuple within the attempt window
//!   is the key, and copies from a second node are not counted as retransmissions. A drop on
//!   either side wins over a forward unless a reply was seen; the evidence says which side.
//! * **VPC flow logs**: ACCEPT → accepted, REJECT → timed out; records of the same 4-tuple
//!   (both directions, several windows) within `idle_timeout` merge; a REJECT wins unless
//!   traffic came back.
//! * **CSV / JSONL**: each row is one session, with its `outcome` column or unknown.
//!
//! # Memory and emission order
//!
//! State is kept only for open connections: an attempt lives until decided and its window
//! passes; an established connection until FIN in both directions or RST (plus `timeout`
//! to absorb stragglers) or `idle_timeout` without traffic. Time is the largest event time
//! seen, minus `max_lateness` to tolerate slightly out-of-order input (e.g. two nodes'
//! streams merged). Sessions are emitted **when they end**, not in start order, so nothing is
//! buffered beyond open connections; each carries [`Session::start_ns`] for callers that sort.
//! Emission order is deterministic for a given input.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use palisade_model::{Direction, Protocol};
use rustc_hash::FxHashMap;

use crate::Error;
use crate::event::{
    Action, EventKind, FlowEvent, HubbleInfo, L4, Observed, SctpChunk, TrafficDirection,
    Unreachable,
};
use crate::reader::{FlowReader, Record};
use crate::report::Gap;

/// How sessions are built.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// How long an attempt waits for an answer before it is timed out (default 3 s, like
    /// the e2e probe's connect timeout).
    pub timeout: Duration,
    /// How long an established connection may be silent before its session ends (default 60 s).
    pub idle_timeout: Duration,
    /// How far events may arrive behind the latest time seen without losing their session
    /// (default 1 s).
    pub max_lateness: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(60),
            max_lateness: Duration::from_secs(1),
        }
    }
}

/// A Kubernetes endpoint named by the input (Hubble `source` / `destination`, CSV columns).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointName {
    /// Namespace, empty for non-pod identities.
    pub namespace: String,
    /// Pod name, empty for non-pod identities.
    pub pod_name: String,
    /// Labels as Hubble writes them (`k8s:app=frontend`, `reserved:world`).
    pub labels: Vec<String>,
}

/// A policy Hubble names as having denied a flow.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeniedBy {
    /// Whether it denied at ingress (`ingress_denied_by`) or egress.
    pub direction: Direction,
    /// Policy kind, empty when not given.
    pub kind: String,
    /// Namespace, empty for cluster-wide policies.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Where a drop happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DropSide {
    /// Leaving the source, reported by the source's node.
    EgressOnSourceNode,
    /// Entering the destination, reported by the destination's node.
    IngressOnDestinationNode,
    /// The flow did not say.
    Unknown,
}

/// What decided a session's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// The peer answered the SYN with SYN-ACK.
    SynAck,
    /// The peer answered the SYN with RST.
    RstToSyn,
    /// The peer answered SCTP INIT with INIT ACK.
    InitAck,
    /// The peer answered SCTP INIT with ABORT.
    AbortToInit,
    /// Traffic came back from the peer (UDP reply, Hubble reply flow, data).
    Reply,
    /// An ICMP (`v6` false) or ICMPv6 unreachable quoting the attempt.
    IcmpUnreachable {
        /// ICMPv6 rather than ICMP.
        v6: bool,
        /// Which unreachable.
        kind: Unreachable,
    },
    /// Nothing came back within the timeout.
    NoAnswer {
        /// The timeout, in milliseconds.
        timeout_ms: u64,
    },
    /// The input ended before the timeout passed, with no answer.
    CaptureEnded,
    /// Hubble reported the initial packet `FORWARDED` and no drop. Kept for compatibility:
    /// a forward alone no longer decides an outcome (see [`Evidence::HubbleForwardedNoAnswer`]).
    HubbleForwarded,
    /// Hubble reported the initial packet `FORWARDED`, and nothing came back within the
    /// timeout: `replies_captured` says whether the capture shows reply-direction traffic on
    /// the connection's nodes (then the client saw a timeout) or not (a capture filtered to
    /// one direction cannot tell).
    HubbleForwardedNoAnswer {
        /// The timeout, in milliseconds.
        timeout_ms: u64,
        /// Whether replies were captured on the connection's nodes at all.
        replies_captured: bool,
    },
    /// A connection first seen mid-stream (or at L7) that Hubble forwarded: it was
    /// established before the capture started.
    HubbleMidStreamForwarded,
    /// Hubble reported a drop.
    HubbleDropped {
        /// `drop_reason_desc` (or the numeric reason), if given.
        reason: Option<Arc<str>>,
        /// Which side dropped.
        side: DropSide,
        /// The node that reported it.
        node: Option<Arc<str>>,
    },
    /// A VPC flow log ACCEPT (and, with `reply`, traffic back too).
    FlowLogAccept {
        /// Whether a record of the reverse direction was seen.
        reply: bool,
    },
    /// A VPC flow log REJECT and no traffic back.
    FlowLogReject,
    /// The input's `outcome` column said so.
    Listed,
    /// The input has no outcome for it.
    NotListed,
    /// The connection was first seen mid-stream (no SYN / INIT / first datagram).
    MidStream,
}

/// Turns `POLICY_DENIED` into `Policy denied`.
fn humanize(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    for (i, c) in reason.chars().enumerate() {
        match c {
            '_' => out.push(' '),
            c if i == 0 => out.push(c.to_ascii_uppercase()),
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::SynAck => f.write_str("SYN-ACK seen"),
            Evidence::RstToSyn => f.write_str("RST to SYN"),
            Evidence::InitAck => f.write_str("INIT-ACK seen"),
            Evidence::AbortToInit => f.write_str("ABORT to INIT"),
            Evidence::Reply => f.write_str("reply seen"),
            Evidence::IcmpUnreachable { v6, kind } => {
                write!(f, "{} {kind}", if *v6 { "ICMPv6" } else { "ICMP" })
            }
            Evidence::NoAnswer { timeout_ms } => {
                if timeout_ms % 1000 == 0 {
                    write!(f, "no answer within {}s", timeout_ms / 1000)
                } else {
                    write!(f, "no answer within {timeout_ms}ms")
                }
            }
            Evidence::CaptureEnded => f.write_str("capture ended"),
            Evidence::HubbleForwarded => f.write_str("Hubble FORWARDED"),
            Evidence::HubbleForwardedNoAnswer {
                timeout_ms,
                replies_captured: true,
            } => write!(f, "Hubble FORWARDED, but no answer within {timeout_ms}ms"),
            Evidence::HubbleForwardedNoAnswer {
                timeout_ms,
                replies_captured: false,
            } => write!(
                f,
                "Hubble FORWARDED, no answer within {timeout_ms}ms, and the capture shows no \
                 reply-direction traffic for this pair or on its nodes (filtered to one \
                 direction?): the client's outcome cannot be told"
            ),
            Evidence::HubbleMidStreamForwarded => f.write_str(
                "first seen mid-stream, Hubble FORWARDED: established before the capture",
            ),
            Evidence::HubbleDropped { reason, side, node } => {
                f.write_str("Hubble DROPPED")?;
                if let Some(r) = reason {
                    write!(f, ": {}", humanize(r))?;
                }
                let node = node.as_deref().unwrap_or("?");
                match side {
                    DropSide::EgressOnSourceNode => {
                        write!(f, " (egress on the source node {node})")
                    }
                    DropSide::IngressOnDestinationNode => {
                        write!(f, " (ingress on the destination node {node})")
                    }
                    DropSide::Unknown => write!(f, " (on node {node})"),
                }
            }
            Evidence::FlowLogAccept { reply: true } => f.write_str("flow log ACCEPT, traffic back"),
            Evidence::FlowLogAccept { reply: false } => f.write_str("flow log ACCEPT"),
            Evidence::FlowLogReject => f.write_str("flow log REJECT"),
            Evidence::Listed => f.write_str("outcome given in the input"),
            Evidence::NotListed => f.write_str("no outcome in the input"),
            Evidence::MidStream => f.write_str("first seen mid-stream"),
        }
    }
}

/// One connection attempt with its observed outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// First event (ns since the epoch).
    pub start_ns: i64,
    /// Last event that belonged to it.
    pub last_seen_ns: i64,
    /// When the outcome was decided (the answer's time, or the timeout's end).
    pub decided_ns: i64,
    /// Protocol.
    pub proto: Protocol,
    /// The initiator.
    pub src: SocketAddr,
    /// The peer it tried to reach.
    pub dst: SocketAddr,
    /// The outcome.
    pub observed: Observed,
    /// What decided it.
    pub evidence: Evidence,
    /// Events from the initiator (packets; flow reports for Hubble; packets summed for flow logs).
    pub packets_fwd: u64,
    /// Events from the peer.
    pub packets_rev: u64,
    /// Initial packets (SYN, INIT, datagrams before an answer) from the initiator seen by one
    /// observer; more than 1 means retransmissions.
    pub attempts: u32,
    /// The initiator's endpoint, when the input names it.
    pub src_endpoint: Option<Arc<EndpointName>>,
    /// The peer's endpoint.
    pub dst_endpoint: Option<Arc<EndpointName>>,
    /// The nodes that reported it (Hubble), at most two, in order of first report.
    pub nodes: Vec<Arc<str>>,
    /// Policies Hubble names as having denied it.
    pub denied_by: Vec<DeniedBy>,
    /// Whether a gap in the record (lost events) fell inside it; its outcome may be wrong.
    pub during_gap: bool,
}

/// Counts kept by a [`Sessionizer`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Events pushed.
    pub events: u64,
    /// Sessions emitted.
    pub sessions: u64,
    /// Sessions by outcome, indexed accepted, refused, timed-out, unknown.
    pub by_outcome: [u64; 4],
    /// Events that cannot form sessions (ICMP other than quoting unreachables, other protocols).
    pub ignored: u64,
    /// ICMP unreachables whose quoted datagram matches no open attempt.
    pub unmatched_icmp: u64,
    /// Events older than the lateness window (their session may already have ended).
    pub late_events: u64,
    /// Open connections now.
    pub open: usize,
    /// The most open connections at any time: what memory is proportional to.
    pub peak_open: usize,
}

/// The direction-free 5-tuple: each address as 128 bits (IPv4 mapped into IPv6), split in
/// 64-bit halves so that it hashes in five words. It lives in the connection state only; the
/// index holds slot numbers.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    a_hi: u64,
    a_lo: u64,
    b_hi: u64,
    b_lo: u64,
    pa: u16,
    pb: u16,
    proto: u8,
}

impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.a_hi);
        h.write_u64(self.a_lo);
        h.write_u64(self.b_hi);
        h.write_u64(self.b_lo);
        h.write_u64(u64::from(self.pa) | u64::from(self.pb) << 16 | u64::from(self.proto) << 32);
    }
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)) | (0xFFFF << 32),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl Key {
    /// The key's hash for the index (FxHash of five words).
    #[inline]
    fn hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        Hash::hash(self, &mut h);
        h.finish()
    }

    /// The direction-free key of a flow, and whether its source is side `a`.
    fn new(src: IpAddr, sp: u16, dst: IpAddr, dp: u16, proto: u8) -> (Key, bool) {
        let (s, d) = (ip_bits(src), ip_bits(dst));
        let (a, pa, b, pb, src_is_a) = if (s, sp) <= (d, dp) {
            (s, sp, d, dp, true)
        } else {
            (d, dp, s, sp, false)
        };
        (
            Key {
                a_hi: (a >> 64) as u64,
                a_lo: a as u64,
                b_hi: (b >> 64) as u64,
                b_lo: b as u64,
                pa,
                pb,
                proto,
            },
            src_is_a,
        )
    }

    /// Side `a` (`true`) or `b` as a socket address of the given family (`v6`).
    fn side(&self, a: bool, v6: bool) -> SocketAddr {
        let (hi, lo, port) = if a {
            (self.a_hi, self.a_lo, self.pa)
        } else {
            (self.b_hi, self.b_lo, self.pb)
        };
        let ip = if v6 {
            IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(hi) << 64 | u128::from(lo),
            ))
        } else {
            IpAddr::V4(std::net::Ipv4Addr::from(lo as u32))
        };
        SocketAddr::new(ip, port)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Waiting for an answer until `start + timeout`.
    Attempt,
    /// Decided (accepted) and still carrying traffic.
    Open,
    /// Closed (FIN both ways, RST); kept briefly to absorb stragglers.
    Closing,
    /// First seen without its opening packet.
    MidStream,
    /// Flow-log records being merged.
    Aggregate,
}

/// What one packet means for a connection's life.
#[derive(Clone, Copy, Debug)]
struct Meaning {
    /// It opens an attempt (TCP SYN, SCTP INIT; every UDP datagram may).
    opening: bool,
    /// It answers an opening (TCP SYN-ACK, SCTP INIT-ACK).
    answer: bool,
    /// It refuses (TCP RST, SCTP ABORT).
    refusal: bool,
    /// It ends the association (SCTP SHUTDOWN-COMPLETE).
    closing: bool,
}

impl Meaning {
    fn of(l4: L4) -> Meaning {
        let (opening, answer, refusal, closing) = match l4 {
            L4::Tcp(fl) => (fl.is_syn(), fl.is_syn_ack(), fl.is_rst(), false),
            L4::Sctp(ch) => (
                ch == SctpChunk::Init,
                ch == SctpChunk::InitAck,
                ch == SctpChunk::Abort,
                ch == SctpChunk::ShutdownComplete,
            ),
            // For UDP every datagram may open; answers are any datagram back.
            _ => (true, false, false, false),
        };
        Meaning {
            opening,
            answer,
            refusal,
            closing,
        }
    }
}

/// The evidence an accepted attempt is decided on: the handshake answer of TCP and SCTP,
/// else any reply.
fn accepted_evidence(proto: Protocol, answer: bool) -> Decided {
    match (proto, answer) {
        (Protocol::Tcp, true) => Decided::SynAck,
        (Protocol::Sctp, true) => Decided::InitAck,
        _ => Decided::Reply,
    }
}

/// The evidence a refused attempt is decided on.
fn refused_evidence(proto: Protocol) -> Decided {
    if proto == Protocol::Sctp {
        Decided::AbortToInit
    } else {
        Decided::RstToSyn
    }
}

/// An open connection: the per-packet state only, 128 bytes in exactly two cache lines (the
/// key and times a packet checks first, then counters, phase and flags). What only named
/// inputs (Hubble, flow logs with names) carry lives in [`Names`], allocated on first use, so
/// packet captures never pay for it; the decided outcome is kept as a one-byte [`Decided`] and
/// turned into an [`Evidence`] when the session is emitted.
#[repr(C, align(64))]
struct Conn {
    key: Key,
    expires_ns: i64,
    last_ns: i64,
    start_ns: i64,
    pkts_fwd: u64,
    pkts_rev: u64,
    decided_ns: i64,
    timer_ns: i64,
    names: Option<Box<Names>>,
    generation: u32,
    attempts: u32,
    decided: Option<(Observed, Decided)>,
    proto: Protocol,
    phase: Phase,
    client_is_a: bool,
    /// An initial packet was seen; its observer, if named, is [`Names::initial_node`].
    initial_seen: bool,
    forwarded: bool,
    answer_seen: bool,
    fin_client: bool,
    fin_server: bool,
    /// Rarely touched flags: [`CLIENT_V6`], [`SERVER_V6`], [`GAP`], [`AGG_ACCEPT`],
    /// [`AGG_REJECT`], [`AGG_REPLY`].
    rare: u8,
}

/// The initiator's address family as the input gave it (the key maps IPv4 into IPv6).
const CLIENT_V6: u8 = 1;
/// The peer's address family as the input gave it.
const SERVER_V6: u8 = 2;
/// A gap in the record fell inside the attempt.
const GAP: u8 = 4;
/// Flow-log ACCEPT from the initiator.
const AGG_ACCEPT: u8 = 8;
/// Flow-log REJECT.
const AGG_REJECT: u8 = 16;
/// Flow-log ACCEPT from the peer.
const AGG_REPLY: u8 = 32;
/// Hubble reported some flow of the connection `FORWARDED` (a mid-stream or L7 flow too).
const HUBBLE_FWD: u8 = 64;

/// What decided a connection's outcome, compactly; [`Decided::evidence`] rebuilds the
/// [`Evidence`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Decided {
    SynAck,
    RstToSyn,
    InitAck,
    AbortToInit,
    Reply,
    Icmp {
        v6: bool,
        kind: Unreachable,
    },
    NoAnswer,
    HubbleForwardedNoAnswer {
        replies_captured: bool,
    },
    /// [`Names::drop`] holds the evidence.
    HubbleDropped,
}

impl Decided {
    fn evidence(self, timeout_ms: u64, names: &mut Option<Box<Names>>) -> Evidence {
        match self {
            Decided::SynAck => Evidence::SynAck,
            Decided::RstToSyn => Evidence::RstToSyn,
            Decided::InitAck => Evidence::InitAck,
            Decided::AbortToInit => Evidence::AbortToInit,
            Decided::Reply => Evidence::Reply,
            Decided::Icmp { v6, kind } => Evidence::IcmpUnreachable { v6, kind },
            Decided::NoAnswer => Evidence::NoAnswer { timeout_ms },
            Decided::HubbleForwardedNoAnswer { replies_captured } => {
                Evidence::HubbleForwardedNoAnswer {
                    timeout_ms,
                    replies_captured,
                }
            }
            Decided::HubbleDropped => names
                .as_mut()
                .and_then(|n| n.drop.take())
                .expect("a drop decided by Hubble keeps its evidence"),
        }
    }
}

const _: () = assert!(std::mem::size_of::<Option<Conn>>() == 128);

/// The named parts of a connection.
#[derive(Default)]
struct Names {
    nodes: Vec<Arc<str>>,
    /// The named observer of the first initial packet.
    initial_node: Option<Arc<str>>,
    /// Its Hubble `traffic_direction`: when both pods are on one node, that node reports the
    /// packet twice, once EGRESS (leaving the client) and once INGRESS (reaching the server).
    initial_direction: Option<TrafficDirection>,
    drop: Option<Evidence>,
    src_endpoint: Option<Arc<EndpointName>>,
    dst_endpoint: Option<Arc<EndpointName>>,
    denied_by: Vec<DeniedBy>,
}

impl Conn {
    /// Records a TCP FIN from one side; whether the packet was one.
    fn note_fin(&mut self, l4: L4, from_client: bool) -> bool {
        let L4::Tcp(f) = l4 else {
            return false;
        };
        if !f.is_fin() {
            return false;
        }
        if from_client {
            self.fin_client = true;
        } else {
            self.fin_server = true;
        }
        true
    }

    fn names(&mut self) -> &mut Names {
        self.names.get_or_insert_with(Box::default)
    }

    #[inline]
    fn has(&self, flag: u8) -> bool {
        self.rare & flag != 0
    }

    #[inline]
    fn decide(&mut self, observed: Observed, decided: Decided, at: i64) {
        self.decided = Some((observed, decided));
        self.decided_ns = at;
    }
}

/// Bucket width of the far timers: 2^27 ns ≈ 134 ms.
const TIMER_SHIFT: u32 = 27;

/// A timer: (due time, slot, generation). Ordered by all three, as a binary heap of them was.
type Timer = (i64, u32, u32);

/// Far buckets kept in the ring: 1 024 × 134 ms ≈ 137 s, more than the default idle timeout
/// plus attempt window, so only unusual settings (or flow-log records far in the future)
/// reach the overflow map.
const RING: usize = 1024;

/// The connection timers, popped in exactly the order of one min-heap of all of them, but
/// with only the current ≈ 134 ms at hand: later timers wait unsorted in buckets (a vector
/// push each, in a ring indexed by bucket number), and when time reaches a bucket it is
/// sorted once and popped from its end. Sorting a bucket costs a fraction of pushing its
/// timers through a heap and popping them one by one (the heap's pops were ≈ 8 % of the
/// pcap reading thread). Timers armed for a time inside the current bucket after it was
/// sorted (a deadline that moved a little later is re-armed when its old timer fires) go to
/// a small heap, and a pop takes the smaller head of the two.
/// Asking whether anything is due is a few comparisons.
struct Timers {
    /// The current bucket's timers, sorted latest first (the next one due is last).
    near: Vec<Timer>,
    /// Timers armed after the current bucket was sorted, due before its end.
    late: std::collections::BinaryHeap<std::cmp::Reverse<Timer>>,
    /// Bucket number of `ring[0]`; every timer in `near` and `late` is due before
    /// `base << TIMER_SHIFT`, every one in `ring` or `overflow` at or after it.
    base: i64,
    /// Buckets `base .. base + RING`.
    ring: std::collections::VecDeque<Vec<Timer>>,
    /// Timers in `ring`.
    in_ring: usize,
    /// Buckets from `base + RING` on.
    overflow: std::collections::BTreeMap<i64, Vec<Timer>>,
    /// Drained bucket vectors for reuse (few: memory stays that of the buckets in use).
    spare: Vec<Vec<Timer>>,
}

impl Timers {
    fn new() -> Self {
        Timers {
            near: Vec::new(),
            late: std::collections::BinaryHeap::new(),
            base: i64::MIN >> TIMER_SHIFT,
            ring: (0..RING).map(|_| Vec::new()).collect(),
            in_ring: 0,
            overflow: std::collections::BTreeMap::new(),
            spare: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, t: Timer) {
        let bucket = t.0 >> TIMER_SHIFT;
        if bucket < self.base {
            self.late.push(std::cmp::Reverse(t));
            return;
        }
        if self.in_ring == 0 && self.overflow.is_empty() {
            // Nothing waits in buckets: start the ring at this one (everything in `near` is
            // earlier still).
            self.base = bucket;
        }
        let offset = (bucket - self.base) as u64;
        if offset < RING as u64 {
            let slot = &mut self.ring[offset as usize];
            if slot.capacity() == 0
                && let Some(v) = self.spare.pop()
            {
                *slot = v;
            }
            slot.push(t);
            self.in_ring += 1;
        } else {
            self.overflow.entry(bucket).or_default().push(t);
        }
    }

    /// Removes and returns the first timer if it is due at or before `upto`.
    #[inline]
    fn pop_due(&mut self, upto: i64) -> Option<Timer> {
        loop {
            let sorted = self.near.last().copied();
            let late = self.late.peek().map(|&std::cmp::Reverse(t)| t);
            let first = match (sorted, late) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(t) = first {
                if t.0 > upto {
                    // Bucketed timers are later still.
                    return None;
                }
                if sorted == Some(t) {
                    self.near.pop();
                } else {
                    self.late.pop();
                }
                return Some(t);
            }
            if upto >> TIMER_SHIFT < self.base {
                return None;
            }
            if self.in_ring == 0 {
                // Skip the empty stretch in one step.
                let (&first, _) = self.overflow.first_key_value()?;
                if upto >> TIMER_SHIFT < first {
                    return None;
                }
                self.base = first;
                while let Some(entry) = self.overflow.first_entry() {
                    let offset = (*entry.key() - self.base) as usize;
                    if offset >= RING {
                        break;
                    }
                    let v = entry.remove();
                    self.in_ring += v.len();
                    self.ring[offset] = v;
                }
            }
            // Bucket `base` becomes the current one.
            let mut v = self.ring.pop_front().expect("a full ring");
            self.in_ring -= v.len();
            // `near` and `late` are empty here: the bucket becomes `near`, sorted.
            v.sort_unstable_by(|a, b| b.cmp(a));
            std::mem::swap(&mut self.near, &mut v);
            if self.spare.len() < 64 && v.capacity() > 0 {
                self.spare.push(v);
            }
            self.ring.push_back(Vec::new());
            self.base += 1;
            let last = self.base + RING as i64 - 1;
            if let Some(entry) = self.overflow.first_entry()
                && *entry.key() == last
            {
                let v = entry.remove();
                self.in_ring += v.len();
                self.ring[RING - 1] = v;
            }
        }
    }

    fn clear(&mut self) {
        self.near.clear();
        self.late.clear();
        for v in &mut self.ring {
            v.clear();
        }
        self.in_ring = 0;
        self.overflow.clear();
    }
}

/// Interns strings and endpoint names: a cluster has few distinct ones, sessions many.
#[derive(Default)]
struct Interner {
    strings: FxHashMap<Box<str>, Arc<str>>,
    endpoints: FxHashMap<Box<[u8]>, Arc<EndpointName>>,
    scratch: Vec<u8>,
}

/// Above this many entries the interner starts over, bounding memory on hostile input.
const INTERN_LIMIT: usize = 1 << 16;

impl Interner {
    fn str(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        if self.strings.len() >= INTERN_LIMIT {
            self.strings.clear();
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(s.into(), a.clone());
        a
    }

    fn endpoint(&mut self, ep: &crate::event::Endpoint<'_>) -> Arc<EndpointName> {
        self.scratch.clear();
        self.scratch.extend_from_slice(ep.namespace.as_bytes());
        self.scratch.push(0);
        self.scratch.extend_from_slice(ep.pod_name.as_bytes());
        self.scratch.push(0);
        self.scratch.extend_from_slice(ep.labels.raw());
        if let Some(a) = self.endpoints.get(self.scratch.as_slice()) {
            return a.clone();
        }
        if self.endpoints.len() >= INTERN_LIMIT {
            self.endpoints.clear();
        }
        let a = Arc::new(EndpointName {
            namespace: ep.namespace.to_string(),
            pod_name: ep.pod_name.to_string(),
            labels: ep.labels.iter().map(|l| l.into_owned()).collect(),
        });
        self.endpoints
            .insert(self.scratch.as_slice().into(), a.clone());
        a
    }
}

/// Builds sessions from events pushed in (roughly) time order.
///
/// ```
/// use palisade_flows::{FlowReader, ReadOptions, SessionConfig, Sessionizer, Record};
///
/// let csv = "time,src,dst,src_port,dst_port,protocol,outcome\n\
///            2026-01-01T00:00:00Z,10.0.0.1,10.0.0.2,40000,80,TCP,refused\n";
/// let mut reader = FlowReader::new("conns.csv", csv.as_bytes(), &ReadOptions::default())?;
/// let mut sessionizer = Sessionizer::new(SessionConfig::default());
/// let mut sessions = Vec::new();
/// reader.read(|r| sessionizer.push_record(r, &mut |s| sessions.push(s)))?;
/// sessionizer.finish(&mut |s| sessions.push(s));
/// assert_eq!(sessions[0].observed.as_str(), "refused");
/// # Ok::<(), palisade_flows::Error>(())
/// ```
pub struct Sessionizer {
    timeout_ns: i64,
    idle_ns: i64,
    lateness_ns: i64,
    now_ns: i64,
    slots: Vec<Option<Conn>>,
    free: Vec<u32>,
    /// Open connections by key: slot numbers only (4 bytes each, plus hashbrown's control
    /// byte), compared against the key in the slot, so a probe touches little memory beyond
    /// the connection itself.
    index: hashbrown::HashTable<u32>,
    timers: Timers,
    next_gen: u32,
    interner: Interner,
    stats: SessionStats,
    /// Nodes on which Hubble reported reply-direction flows (`is_reply: true`), with the
    /// first such flow's time: a forwarded attempt without answer is a timeout only where
    /// replies are captured at all. Bounded by the number of nodes.
    reply_nodes: ReplyNodes,
    /// Whether `reply_nodes` was given for the whole capture ([`Sessionizer::with_reply_nodes`])
    /// rather than collected from the events pushed.
    reply_nodes_given: bool,
    /// (server, client) address pairs with a reply-direction flow (and the first one's
    /// time), up to [`MAX_REPLY_PAIRS`] (beyond, only the nodes decide, so memory stays
    /// bounded).
    reply_pairs: FxHashMap<(u128, u128), i64>,
}

/// Where, and since when, a capture shows reply-direction Hubble flows (`is_reply: true`):
/// the first such flow's time per node, and for flows that name no node.
///
/// A forwarded attempt that got no answer counts as timed out only when replies were
/// captured **before its deadline** (start + timeout) on one of its nodes (or for its address
/// pair),
/// else its outcome is unknown (a capture filtered to one direction). The rule depends on
/// event times only, never on the order of unrelated connections, so that a partition of
/// the flows (a distributed engine's) sessionizes exactly like the whole capture when it
/// is given the whole capture's `ReplyNodes` ([`Sessionizer::with_reply_nodes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyNodes {
    nodes: Vec<(Box<str>, i64)>,
    unnamed: Option<i64>,
}

impl ReplyNodes {
    /// Notes a reply-direction flow seen at `time_ns` on `node` (`None`: the flow names none).
    pub fn note(&mut self, node: Option<&str>, time_ns: i64) {
        let first = match node {
            Some(node) => match self.nodes.iter_mut().find(|(n, _)| &**n == node) {
                Some((_, first)) => first,
                None => {
                    self.nodes.push((node.into(), time_ns));
                    return;
                }
            },
            None => self.unnamed.get_or_insert(time_ns),
        };
        *first = (*first).min(time_ns);
    }

    /// The nodes with their first reply time, in the order first noted.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, i64)> {
        self.nodes.iter().map(|(n, t)| (&**n, *t))
    }

    /// The first reply flow that named no node, if any.
    pub fn unnamed(&self) -> Option<i64> {
        self.unnamed
    }

    /// Whether replies were captured before `before` on one of `nodes` (on any node when
    /// the connection names none).
    fn captured(&self, nodes: Option<&[Arc<str>]>, before: i64) -> bool {
        match nodes {
            Some(nodes) if !nodes.is_empty() => nodes.iter().any(|n| {
                self.nodes
                    .iter()
                    .any(|(r, first)| **r == **n && *first < before)
            }),
            _ => {
                self.unnamed.is_some_and(|first| first < before)
                    || self.nodes.iter().any(|(_, first)| *first < before)
            }
        }
    }
}

/// The most address pairs [`Sessionizer`] remembers reply flows for.
const MAX_REPLY_PAIRS: usize = 1 << 16;

impl fmt::Debug for Sessionizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessionizer")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn dur_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX / 4)
}

fn outcome_index(o: Observed) -> usize {
    match o {
        Observed::Accepted => 0,
        Observed::Refused => 1,
        Observed::TimedOut => 2,
        Observed::Unknown => 3,
    }
}

/// Which side is the server when the input does not say: the lower port, when the other one
/// looks ephemeral (≥ 1024).
fn src_is_server_by_ports(src_port: u16, dst_port: u16) -> bool {
    src_port < dst_port && dst_port >= 1024
}

impl Sessionizer {
    /// A sessionizer with the given settings.
    pub fn new(config: SessionConfig) -> Self {
        Sessionizer {
            timeout_ns: dur_ns(config.timeout).max(1),
            idle_ns: dur_ns(config.idle_timeout).max(1),
            lateness_ns: dur_ns(config.max_lateness),
            now_ns: i64::MIN,
            slots: Vec::new(),
            free: Vec::new(),
            index: hashbrown::HashTable::new(),
            timers: Timers::new(),
            next_gen: 0,
            interner: Interner::default(),
            stats: SessionStats::default(),
            reply_nodes: ReplyNodes::default(),
            reply_nodes_given: false,
            reply_pairs: FxHashMap::default(),
        }
    }

    /// A sessionizer for one part of a capture (a distributed engine's partition, holding
    /// every flow of its connections' address pairs), told where the **whole** capture shows
    /// reply flows: its sessions are then the ones [`Sessionizer::new`] builds from the
    /// whole capture. See [`ReplyNodes`].
    pub fn with_reply_nodes(config: SessionConfig, reply_nodes: ReplyNodes) -> Self {
        let mut s = Sessionizer::new(config);
        s.reply_nodes = reply_nodes;
        s.reply_nodes_given = true;
        s
    }

    /// Where the flows pushed so far show reply-direction Hubble flows (or the
    /// [`ReplyNodes`] given to [`Sessionizer::with_reply_nodes`]).
    pub fn reply_nodes(&self) -> &ReplyNodes {
        &self.reply_nodes
    }

    /// Counts so far.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Pushes a reader record: flows are sessionized, gaps mark the open sessions.
    pub fn push_record(&mut self, record: Record<'_, '_>, out: &mut impl FnMut(Session)) {
        match record {
            Record::Flow(ev) => self.push(ev, out),
            Record::Gap(g) => self.gap(g),
        }
    }

    /// Notes a gap in the record: attempts undecided now may have lost their answer (or their
    /// drop), so their sessions are flagged [`Session::during_gap`]. Decided ones keep their
    /// outcome and are not flagged.
    pub fn gap(&mut self, _gap: &Gap) {
        for c in self.slots.iter_mut().flatten() {
            if c.decided.is_none() && c.phase == Phase::Attempt {
                c.rare |= GAP;
            }
        }
    }

    /// Pushes one event; sessions that end because of it (or because time passed) go to `out`.
    pub fn push(&mut self, ev: &FlowEvent<'_>, out: &mut impl FnMut(Session)) {
        self.stats.events += 1;
        let t = ev.time_ns;
        if t > self.now_ns {
            self.now_ns = t;
            self.expire(t.saturating_sub(self.lateness_ns), out);
        } else if t < self.now_ns.saturating_sub(self.lateness_ns) {
            self.stats.late_events += 1;
        }
        if matches!(ev.kind, EventKind::Hubble(_)) && ev.is_reply == Some(true) {
            if !self.reply_nodes_given {
                self.reply_nodes.note(ev.node.as_deref(), t);
            }
            let pair = (ip_bits(ev.src), ip_bits(ev.dst));
            if let Some(first) = self.reply_pairs.get_mut(&pair) {
                *first = (*first).min(t);
            } else if self.reply_pairs.len() < MAX_REPLY_PAIRS {
                self.reply_pairs.insert(pair, t);
            }
        }
        match &ev.kind {
            EventKind::Attempt { outcome } => self.attempt_row(ev, *outcome, out),
            EventKind::Aggregate {
                action,
                packets,
                end_ns,
                ..
            } => self.aggregate(ev, *action, *packets, *end_ns, out),
            EventKind::Packet { .. } | EventKind::Hubble(_) => match ev.l4 {
                L4::Tcp(_) | L4::Udp | L4::Sctp(_) => self.packet(ev, out),
                L4::Icmp(icmp) => match (icmp.quoted, icmp.unreachable()) {
                    (Some(q), Some(kind)) => {
                        let Some(proto) = L4::protocol_number(q.ip_proto) else {
                            self.stats.ignored += 1;
                            return;
                        };
                        let (key, src_is_a) =
                            Key::new(q.src, q.src_port, q.dst, q.dst_port, q.ip_proto);
                        let idx = self.live(key, t, out);
                        let refused = idx.is_some_and(|i| {
                            let c = self.conn(i);
                            src_is_a == c.client_is_a
                                && c.phase == Phase::Attempt
                                && c.decided.is_none()
                        });
                        match idx {
                            Some(i) if refused => {
                                let c = self.conn_mut(i);
                                c.last_ns = c.last_ns.max(t);
                                c.decide(Observed::Refused, Decided::Icmp { v6: icmp.v6, kind }, t);
                                let _ = proto;
                                self.retire(i, false, out);
                            }
                            _ => self.stats.unmatched_icmp += 1,
                        }
                    }
                    // Hubble reports an ICMP error without the datagram it quotes: it answers
                    // the open UDP attempt from its destination to its source.
                    (None, Some(kind)) if matches!(ev.kind, EventKind::Hubble(_)) => {
                        match self.udp_attempt_between(ev.dst, ev.src, t) {
                            Some(i) => {
                                let c = self.conn_mut(i);
                                c.last_ns = c.last_ns.max(t);
                                c.decide(Observed::Refused, Decided::Icmp { v6: icmp.v6, kind }, t);
                                self.retire(i, false, out);
                            }
                            None => self.stats.unmatched_icmp += 1,
                        }
                    }
                    _ => self.stats.ignored += 1,
                },
                L4::Other(_) => self.stats.ignored += 1,
            },
        }
    }

    /// Ends every open session of a part of a capture whose last event (in any part) was
    /// at `end_ns`: timers due by then fire as they would have in the whole capture, the
    /// rest end with it. See [`Sessionizer::with_reply_nodes`].
    pub fn finish_at(&mut self, end_ns: i64, out: &mut impl FnMut(Session)) -> SessionStats {
        self.now_ns = self.now_ns.max(end_ns);
        self.finish(out)
    }

    /// Ends every open session (the input is over) and returns the final counts.
    pub fn finish(&mut self, out: &mut impl FnMut(Session)) -> SessionStats {
        // Timers due by the last event time fire normally (a timeout that did pass is a
        // timeout, not "capture ended").
        self.expire(self.now_ns, out);
        let mut open: Vec<(i64, u32, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (c.start_ns, c.generation, i as u32)))
            .collect();
        open.sort_unstable();
        for (_, _, i) in open {
            self.retire(i, true, out);
        }
        self.timers.clear();
        self.stats.clone()
    }

    /// Whether the capture shows reply-direction traffic where a connection was observed,
    /// before its deadline: a function of event times only
    /// (see [`ReplyNodes`]).
    fn replies_captured(&self, idx: u32) -> bool {
        let c = self.conn(idx);
        // Every flow before the deadline has been pushed when the timer fires (it fires once
        // time passes deadline + lateness; earlier flows arriving later count as late).
        let before = c.expires_ns;
        let a = u128::from(c.key.a_hi) << 64 | u128::from(c.key.a_lo);
        let b = u128::from(c.key.b_hi) << 64 | u128::from(c.key.b_lo);
        let (client, server) = if c.client_is_a { (a, b) } else { (b, a) };
        if self
            .reply_pairs
            .get(&(server, client))
            .is_some_and(|first| *first < before)
        {
            return true;
        }
        self.reply_nodes
            .captured(c.names.as_ref().map(|n| &n.nodes[..]), before)
    }

    /// The undecided UDP attempt from `client` to `server` (any ports) that started last, at
    /// or before `t`. A scan of the open connections: only for Hubble's ICMP errors, which
    /// are rare and quote nothing to look up by.
    fn udp_attempt_between(&self, client: IpAddr, server: IpAddr, t: i64) -> Option<u32> {
        let (client, server) = (ip_bits(client), ip_bits(server));
        let bits = |hi: u64, lo: u64| u128::from(hi) << 64 | u128::from(lo);
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i as u32, c.as_ref()?)))
            .filter(|(_, c)| {
                let a = bits(c.key.a_hi, c.key.a_lo);
                let b = bits(c.key.b_hi, c.key.b_lo);
                let (cl, sv) = if c.client_is_a { (a, b) } else { (b, a) };
                c.proto == Protocol::Udp
                    && c.phase == Phase::Attempt
                    && c.decided.is_none()
                    && c.start_ns <= t
                    && cl == client
                    && sv == server
            })
            .max_by_key(|(_, c)| c.start_ns)
            .map(|(i, _)| i)
    }

    #[inline]
    fn conn(&self, i: u32) -> &Conn {
        self.slots[i as usize].as_ref().expect("live slot")
    }

    #[inline]
    fn conn_mut(&mut self, i: u32) -> &mut Conn {
        self.slots[i as usize].as_mut().expect("live slot")
    }

    /// Fires the timers due at or before `upto`.
    fn expire(&mut self, upto: i64, out: &mut impl FnMut(Session)) {
        while let Some((at, idx, generation)) = self.timers.pop_due(upto) {
            let Some(c) = self.slots.get(idx as usize).and_then(Option::as_ref) else {
                continue;
            };
            if c.generation != generation || c.timer_ns != at {
                continue;
            }
            if c.expires_ns > at {
                // The deadline moved later (traffic arrived): re-arm lazily.
                let e = c.expires_ns;
                self.arm(idx, e);
                continue;
            }
            self.fire(idx, out);
        }
    }

    #[inline]
    fn arm(&mut self, idx: u32, at: i64) {
        let c = self.conn_mut(idx);
        c.timer_ns = at;
        let generation = c.generation;
        self.timers.push((at, idx, generation));
    }

    /// Sets a connection's expiry, arming a timer only when it moves earlier than the armed one.
    #[inline]
    fn set_expiry(&mut self, idx: u32, at: i64) {
        let c = self.conn_mut(idx);
        c.expires_ns = at;
        if at < c.timer_ns {
            self.arm(idx, at);
        }
    }

    /// The connection's time is up.
    fn fire(&mut self, idx: u32, out: &mut impl FnMut(Session)) {
        let idle = self.idle_ns;
        let replies_captured = self.replies_captured(idx);
        let c = self.conn_mut(idx);
        match c.phase {
            Phase::Attempt if c.decided.is_none() => {
                let deadline = c.expires_ns;
                if c.names.as_ref().is_some_and(|n| n.drop.is_some()) {
                    c.decide(Observed::TimedOut, Decided::HubbleDropped, deadline);
                    self.retire(idx, false, out);
                } else if c.forwarded {
                    // The datapath's verdict is not what the client saw: with no answer, it
                    // saw a timeout, if answers would have been captured at all.
                    let observed = if replies_captured {
                        Observed::TimedOut
                    } else {
                        Observed::Unknown
                    };
                    c.decide(
                        observed,
                        Decided::HubbleForwardedNoAnswer { replies_captured },
                        deadline,
                    );
                    self.retire(idx, false, out);
                } else {
                    c.decide(Observed::TimedOut, Decided::NoAnswer, deadline);
                    self.retire(idx, false, out);
                }
            }
            Phase::Attempt => {
                // Decided within the window; now an open connection.
                c.phase = Phase::Open;
                let e = c.last_ns.saturating_add(idle);
                if e > c.expires_ns {
                    c.expires_ns = e;
                    self.arm(idx, e);
                } else {
                    self.retire(idx, false, out);
                }
            }
            Phase::Open | Phase::Closing | Phase::MidStream | Phase::Aggregate => {
                self.retire(idx, false, out)
            }
        }
    }

    /// The open connection of `key`, after ending it if its time passed before `t`.
    fn live(&mut self, key: Key, t: i64, out: &mut impl FnMut(Session)) -> Option<u32> {
        let hash = key.hash();
        for _ in 0..3 {
            let idx = self.lookup(&key, hash)?;
            if t <= self.conn(idx).expires_ns {
                return Some(idx);
            }
            self.fire(idx, out);
        }
        self.lookup(&key, hash)
    }

    /// The slot of `key`'s open connection, if any.
    #[inline]
    fn lookup(&self, key: &Key, hash: u64) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| {
                slots[i as usize].as_ref().is_some_and(|c| c.key == *key)
            })
            .copied()
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        key: Key,
        client: SocketAddr,
        server: SocketAddr,
        client_is_a: bool,
        proto: Protocol,
        phase: Phase,
        t: i64,
        expires: i64,
    ) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1);
        debug_assert!(key.side(client_is_a, client.is_ipv6()) == client);
        debug_assert!(key.side(!client_is_a, server.is_ipv6()) == server);
        let conn = Conn {
            key,
            start_ns: t,
            last_ns: t,
            expires_ns: expires,
            timer_ns: i64::MAX,
            pkts_fwd: 0,
            pkts_rev: 0,
            decided_ns: 0,
            decided: None,
            names: None,
            generation: self.next_gen,
            attempts: 0,
            proto,
            phase,
            client_is_a,
            rare: if client.is_ipv6() { CLIENT_V6 } else { 0 }
                | if server.is_ipv6() { SERVER_V6 } else { 0 },
            initial_seen: false,
            forwarded: false,
            answer_seen: false,
            fin_client: false,
            fin_server: false,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(conn);
                i
            }
            None => {
                self.slots.push(Some(conn));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(key.hash(), idx, |&i| {
            slots[i as usize].as_ref().map_or(0, |c| c.key.hash())
        });
        self.arm(idx, expires);
        self.stats.open += 1;
        self.stats.peak_open = self.stats.peak_open.max(self.stats.open);
        idx
    }

    /// Ends a connection and emits its session.
    fn retire(&mut self, idx: u32, input_ended: bool, out: &mut impl FnMut(Session)) {
        let Some(mut c) = self.slots[idx as usize].take() else {
            return;
        };
        self.free.push(idx);
        // The index maps a key to at most one slot, and slot `idx` held `c`, so the entry
        // holding `idx` (if any) is `c.key`'s: found without touching other slots.
        if let Ok(entry) = self.index.find_entry(c.key.hash(), |&i| i == idx) {
            entry.remove();
        }
        self.stats.open -= 1;
        let (observed, evidence, decided_ns) = match c.decided {
            Some((observed, decided)) => {
                let timeout_ms = u64::try_from(self.timeout_ns / 1_000_000).unwrap_or(0);
                (
                    observed,
                    decided.evidence(timeout_ms, &mut c.names),
                    c.decided_ns,
                )
            }
            None => match c.phase {
                // Closing without a decision: a mid-stream connection that closed (FIN both
                // ways or RST); attempts only start closing once decided.
                Phase::MidStream | Phase::Closing if c.has(HUBBLE_FWD) => (
                    Observed::Accepted,
                    Evidence::HubbleMidStreamForwarded,
                    c.last_ns,
                ),
                Phase::MidStream | Phase::Closing => {
                    (Observed::Unknown, Evidence::MidStream, c.last_ns)
                }
                Phase::Aggregate => {
                    if c.has(AGG_REPLY) && (c.has(AGG_ACCEPT) || !c.has(AGG_REJECT)) {
                        (
                            Observed::Accepted,
                            Evidence::FlowLogAccept { reply: true },
                            c.start_ns,
                        )
                    } else if c.has(AGG_REJECT) {
                        (Observed::TimedOut, Evidence::FlowLogReject, c.start_ns)
                    } else {
                        (
                            Observed::Accepted,
                            Evidence::FlowLogAccept { reply: false },
                            c.start_ns,
                        )
                    }
                }
                _ => {
                    if let Some(drop) = c.names.as_mut().and_then(|n| n.drop.take()) {
                        (Observed::TimedOut, drop, c.last_ns)
                    } else if c.forwarded {
                        // The input ended before the timeout: the answer may have come after.
                        (Observed::Unknown, Evidence::CaptureEnded, c.last_ns)
                    } else if input_ended {
                        (Observed::TimedOut, Evidence::CaptureEnded, c.last_ns)
                    } else {
                        let timeout_ms = u64::try_from(self.timeout_ns / 1_000_000).unwrap_or(0);
                        (
                            Observed::TimedOut,
                            Evidence::NoAnswer { timeout_ms },
                            c.start_ns.saturating_add(self.timeout_ns),
                        )
                    }
                }
            },
        };
        self.stats.sessions += 1;
        self.stats.by_outcome[outcome_index(observed)] += 1;
        let (src, dst, during_gap) = (
            c.key.side(c.client_is_a, c.has(CLIENT_V6)),
            c.key.side(!c.client_is_a, c.has(SERVER_V6)),
            c.has(GAP),
        );
        let names = c.names.map(|n| *n).unwrap_or_default();
        let mut denied_by = names.denied_by;
        denied_by.sort();
        denied_by.dedup();
        out(Session {
            start_ns: c.start_ns,
            last_seen_ns: c.last_ns,
            decided_ns,
            proto: c.proto,
            src,
            dst,
            observed,
            evidence,
            packets_fwd: c.pkts_fwd,
            packets_rev: c.pkts_rev,
            attempts: c.attempts,
            src_endpoint: names.src_endpoint,
            dst_endpoint: names.dst_endpoint,
            nodes: names.nodes,
            denied_by,
            during_gap,
        });
    }

    /// Records names, nodes and Hubble verdict details carried by an event.
    #[inline]
    fn absorb(&mut self, idx: u32, ev: &FlowEvent<'_>, from_client: bool, initial: bool) {
        let named = ev.node.is_some() || ev.src_endpoint.is_some() || ev.dst_endpoint.is_some();
        if !named && !initial && !matches!(ev.kind, EventKind::Hubble(_)) {
            // A plain packet that is not an initial one: nothing to record.
            return;
        }
        self.absorb_named(idx, ev, from_client, initial);
    }

    fn absorb_named(&mut self, idx: u32, ev: &FlowEvent<'_>, from_client: bool, initial: bool) {
        let interner = &mut self.interner;
        let c = self.slots[idx as usize].as_mut().expect("live slot");
        let (client_ep, server_ep) = if from_client {
            (&ev.src_endpoint, &ev.dst_endpoint)
        } else {
            (&ev.dst_endpoint, &ev.src_endpoint)
        };
        if let Some(ep) = client_ep {
            let names = c.names();
            if names.src_endpoint.is_none() {
                names.src_endpoint = Some(interner.endpoint(ep));
            }
        }
        if let Some(ep) = server_ep {
            let names = c.names();
            if names.dst_endpoint.is_none() {
                names.dst_endpoint = Some(interner.endpoint(ep));
            }
        }
        let mut node_arc = None;
        if let Some(node) = ev.node.as_deref() {
            let names = c.names();
            node_arc = match names.nodes.iter().find(|n| &***n == node) {
                Some(n) => Some(n.clone()),
                None => {
                    let a = interner.str(node);
                    if names.nodes.len() < 2 {
                        names.nodes.push(a.clone());
                    }
                    Some(a)
                }
            };
        }
        if initial && from_client {
            // A copy of the initial packet from another node is the same attempt seen twice
            // (egress on the source node, ingress on the destination's), not a retransmission;
            // so is the copy from the same node in the other traffic direction (both pods on
            // that node).
            let direction = match &ev.kind {
                EventKind::Hubble(info) => info.direction,
                _ => None,
            };
            if !c.initial_seen {
                c.initial_seen = true;
                if let Some(n) = &node_arc {
                    c.names().initial_node = Some(n.clone());
                }
                if direction.is_some() {
                    c.names().initial_direction = direction;
                }
                c.attempts += 1;
            } else {
                let (first_node, first_direction) = c.names.as_ref().map_or((None, None), |n| {
                    (n.initial_node.as_ref(), n.initial_direction)
                });
                let other_direction = direction.is_some()
                    && first_direction.is_some()
                    && direction != first_direction;
                if first_node == node_arc.as_ref() && !other_direction {
                    c.attempts += 1;
                }
            }
        }
        let EventKind::Hubble(info) = &ev.kind else {
            return;
        };
        if info.verdict == crate::event::Verdict::Forwarded {
            c.rare |= HUBBLE_FWD;
        }
        if !from_client || c.decided.is_some() {
            return;
        }
        if info.verdict.is_drop() {
            let names = c.names();
            if names.drop.is_none() {
                names.drop = Some(drop_evidence(info, node_arc, interner));
            }
            for (direction, list) in [
                (Direction::Ingress, &info.ingress_denied_by),
                (Direction::Egress, &info.egress_denied_by),
            ] {
                for p in list.iter() {
                    if names.denied_by.len() < 16 {
                        names.denied_by.push(DeniedBy {
                            direction,
                            kind: p.kind.into_owned(),
                            namespace: p.namespace.into_owned(),
                            name: p.name.into_owned(),
                        });
                    }
                }
            }
        } else if initial && info.verdict != crate::event::Verdict::Unknown {
            c.forwarded = true;
        }
    }

    /// TCP, UDP and SCTP packets and Hubble flows.
    fn packet(&mut self, ev: &FlowEvent<'_>, out: &mut impl FnMut(Session)) {
        let t = ev.time_ns;
        let proto_num = ev.l4.ip_proto();
        let (key, src_is_a) = Key::new(ev.src, ev.src_port, ev.dst, ev.dst_port, proto_num);
        let meaning = Meaning::of(ev.l4);
        let proto = ev.l4.protocol().expect("only TCP, UDP and SCTP reach here");
        let Some(idx) = self.live(key, t, out) else {
            self.first_packet(key, src_is_a, ev, proto, meaning);
            return;
        };
        let timeout = self.timeout_ns;
        let c = self.conn_mut(idx);
        let from_client = src_is_a == c.client_is_a;
        let in_window =
            t <= c.start_ns.saturating_add(timeout) && t >= c.start_ns.saturating_sub(timeout);
        let is_udp = c.proto == Protocol::Udp;
        if from_client && meaning.opening && !is_udp && !in_window {
            // A new attempt reusing the 4-tuple after the old one's window.
            self.retire(idx, false, out);
            self.packet(ev, out);
            return;
        }
        c.last_ns = c.last_ns.max(t);
        if from_client {
            c.pkts_fwd += 1;
        } else {
            c.pkts_rev += 1;
        }
        match c.phase {
            Phase::MidStream if from_client && meaning.opening && !is_udp && in_window => {
                // The opening packet arrived after its answer (out-of-order input): an attempt after all.
                c.phase = Phase::Attempt;
                c.start_ns = c.start_ns.min(t);
                if c.answer_seen {
                    c.decide(Observed::Accepted, accepted_evidence(proto, true), t);
                }
                let e = c.start_ns.saturating_add(timeout);
                self.set_expiry(idx, e.max(t));
                self.absorb(idx, ev, true, true);
            }
            Phase::MidStream | Phase::Open => {
                self.established_packet(idx, ev, from_client, meaning)
            }
            Phase::Closing => self.absorb(idx, ev, from_client, false),
            Phase::Attempt => self.attempt_packet(idx, ev, from_client, proto, meaning, out),
            Phase::Aggregate => self.absorb(idx, ev, from_client, false),
        }
    }

    /// The first packet of a connection Palisade has not seen: an attempt when it opens one
    /// (and is not a reply), else a connection already under way (mid-stream).
    fn first_packet(
        &mut self,
        key: Key,
        src_is_a: bool,
        ev: &FlowEvent<'_>,
        proto: Protocol,
        meaning: Meaning,
    ) {
        let t = ev.time_ns;
        let reply = ev.is_reply == Some(true);
        let is_udp = proto == Protocol::Udp;
        let src = SocketAddr::new(ev.src, ev.src_port);
        let dst = SocketAddr::new(ev.dst, ev.dst_port);
        if meaning.opening && !reply {
            let idx = self.open(
                key,
                src,
                dst,
                src_is_a,
                proto,
                Phase::Attempt,
                t,
                t.saturating_add(self.timeout_ns),
            );
            let c = self.conn_mut(idx);
            c.pkts_fwd = 1;
            self.absorb(idx, ev, true, true);
            return;
        }
        // Mid-stream: orient by what the input says, else by ports.
        let src_is_server = reply
            || meaning.answer
            || (!is_udp
                && ev.is_reply.is_none()
                && src_is_server_by_ports(ev.src_port, ev.dst_port));
        let (client, server, client_is_a) = if src_is_server {
            (dst, src, !src_is_a)
        } else {
            (src, dst, src_is_a)
        };
        let idx = self.open(
            key,
            client,
            server,
            client_is_a,
            proto,
            Phase::MidStream,
            t,
            t.saturating_add(self.idle_ns),
        );
        let c = self.conn_mut(idx);
        c.answer_seen = meaning.answer;
        if src_is_server {
            c.pkts_rev = 1;
        } else {
            c.pkts_fwd = 1;
        }
        self.absorb(idx, ev, !src_is_server, false);
    }

    /// A packet of a connection that is open or was first seen mid-stream.
    fn established_packet(
        &mut self,
        idx: u32,
        ev: &FlowEvent<'_>,
        from_client: bool,
        meaning: Meaning,
    ) {
        let t = ev.time_ns;
        let (timeout, idle) = (self.timeout_ns, self.idle_ns);
        let c = self.conn_mut(idx);
        if meaning.answer && !from_client {
            c.answer_seen = true;
        }
        c.note_fin(ev.l4, from_client);
        if meaning.refusal || meaning.closing || (c.fin_client && c.fin_server) {
            c.phase = Phase::Closing;
            self.set_expiry(idx, t.saturating_add(timeout));
        } else {
            c.expires_ns = c.expires_ns.max(t.saturating_add(idle));
        }
        self.absorb(idx, ev, from_client, false);
    }

    /// A packet of an attempt: the peer's first answer or refusal decides it.
    fn attempt_packet(
        &mut self,
        idx: u32,
        ev: &FlowEvent<'_>,
        from_client: bool,
        proto: Protocol,
        meaning: Meaning,
        out: &mut impl FnMut(Session),
    ) {
        let t = ev.time_ns;
        let timeout = self.timeout_ns;
        let c = self.conn_mut(idx);
        let undecided = c.decided.is_none();
        if c.note_fin(ev.l4, from_client) && c.fin_client && c.fin_server && !undecided {
            c.phase = Phase::Closing;
            self.set_expiry(idx, t.saturating_add(timeout));
            self.absorb(idx, ev, from_client, false);
            return;
        }
        if from_client {
            self.absorb(idx, ev, true, meaning.opening && undecided);
            return;
        }
        // From the peer.
        if undecided {
            if meaning.refusal {
                c.decide(Observed::Refused, refused_evidence(proto), t);
                if proto == Protocol::Tcp {
                    c.phase = Phase::Closing;
                    self.set_expiry(idx, t.saturating_add(timeout));
                } else {
                    self.absorb(idx, ev, false, false);
                    self.retire(idx, false, out);
                    return;
                }
            } else {
                c.answer_seen = true;
                c.decide(
                    Observed::Accepted,
                    accepted_evidence(proto, meaning.answer),
                    t,
                );
            }
        } else if meaning.refusal {
            c.phase = Phase::Closing;
            self.set_expiry(idx, t.saturating_add(timeout));
        }
        self.absorb(idx, ev, false, false);
    }

    /// A VPC flow-log record.
    fn aggregate(
        &mut self,
        ev: &FlowEvent<'_>,
        action: Action,
        packets: u64,
        end_ns: i64,
        out: &mut impl FnMut(Session),
    ) {
        let Some(proto) = ev.l4.protocol() else {
            self.stats.ignored += 1;
            return;
        };
        let (key, src_is_a) = Key::new(ev.src, ev.src_port, ev.dst, ev.dst_port, ev.l4.ip_proto());
        let t = ev.time_ns;
        let end = end_ns.max(t);
        let idx = match self.live(key, t, out) {
            Some(i) if self.conn(i).phase == Phase::Aggregate => i,
            Some(i) => {
                // A packet-level connection on the same 4-tuple: end it, then start over.
                self.retire(i, false, out);
                self.aggregate(ev, action, packets, end_ns, out);
                return;
            }
            None => {
                let src = SocketAddr::new(ev.src, ev.src_port);
                let dst = SocketAddr::new(ev.dst, ev.dst_port);
                let (client, server, client_is_a) =
                    if src_is_server_by_ports(ev.src_port, ev.dst_port) {
                        (dst, src, !src_is_a)
                    } else {
                        (src, dst, src_is_a)
                    };
                self.open(
                    key,
                    client,
                    server,
                    client_is_a,
                    proto,
                    Phase::Aggregate,
                    t,
                    end.saturating_add(self.idle_ns),
                )
            }
        };
        let idle = self.idle_ns;
        let c = self.conn_mut(idx);
        let from_client = src_is_a == c.client_is_a;
        c.start_ns = c.start_ns.min(t);
        c.last_ns = c.last_ns.max(end);
        c.expires_ns = c.expires_ns.max(end.saturating_add(idle));
        match (from_client, action) {
            (true, Action::Accept) => c.rare |= AGG_ACCEPT,
            (false, Action::Accept) => c.rare |= AGG_REPLY,
            (_, Action::Reject) => c.rare |= AGG_REJECT,
        }
        if from_client {
            c.pkts_fwd += packets;
            c.attempts = c.attempts.saturating_add(1);
        } else {
            c.pkts_rev += packets;
        }
        self.absorb(idx, ev, from_client, false);
    }

    /// A CSV / JSONL row: a whole attempt.
    fn attempt_row(
        &mut self,
        ev: &FlowEvent<'_>,
        outcome: Option<Observed>,
        out: &mut impl FnMut(Session),
    ) {
        let Some(proto) = ev.l4.protocol() else {
            self.stats.ignored += 1;
            return;
        };
        let (observed, evidence) = match outcome {
            Some(o) => (o, Evidence::Listed),
            None => (Observed::Unknown, Evidence::NotListed),
        };
        let src_endpoint = ev.src_endpoint.as_ref().map(|e| self.interner.endpoint(e));
        let dst_endpoint = ev.dst_endpoint.as_ref().map(|e| self.interner.endpoint(e));
        let nodes = ev
            .node
            .as_deref()
            .map(|n| vec![self.interner.str(n)])
            .unwrap_or_default();
        self.stats.sessions += 1;
        self.stats.by_outcome[outcome_index(observed)] += 1;
        out(Session {
            start_ns: ev.time_ns,
            last_seen_ns: ev.time_ns,
            decided_ns: ev.time_ns,
            proto,
            src: SocketAddr::new(ev.src, ev.src_port),
            dst: SocketAddr::new(ev.dst, ev.dst_port),
            observed,
            evidence,
            packets_fwd: 0,
            packets_rev: 0,
            attempts: 1,
            src_endpoint,
            dst_endpoint,
            nodes,
            denied_by: Vec::new(),
            during_gap: false,
        });
    }
}

fn drop_evidence(
    info: &HubbleInfo<'_>,
    node: Option<Arc<str>>,
    interner: &mut Interner,
) -> Evidence {
    let reason = match (&info.drop_reason, info.drop_reason_code) {
        (Some(r), _) if !r.is_empty() => Some(interner.str(r)),
        (_, 0) => None,
        (_, code) => Some(interner.str(&format!("reason {code}"))),
    };
    let side = match info.direction {
        Some(TrafficDirection::Egress) => DropSide::EgressOnSourceNode,
        Some(TrafficDirection::Ingress) => DropSide::IngressOnDestinationNode,
        None => DropSide::Unknown,
    };
    Evidence::HubbleDropped { reason, side, node }
}

impl L4 {
    fn protocol_number(n: u8) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

/// Reads a whole input and builds its sessions: the usual pipeline in one call.
///
/// Returns the session counts; the reader keeps its [`ReadReport`](crate::ReadReport).
pub fn sessionize(
    reader: &mut FlowReader<'_>,
    config: SessionConfig,
    mut out: impl FnMut(Session),
) -> Result<SessionStats, Error> {
    let mut s = Sessionizer::new(config);
    reader.read(|r| s.push_record(r, &mut out))?;
    Ok(s.finish(&mut out))
}

#[cfg(test)]
mod timer_tests {
    use super::*;
    use proptest::prelude::*;

    /// A step of a timer workload: arm a timer `ahead` ns after the current time, or advance
    /// time by `by` ns and pop everything due.
    #[derive(Clone, Debug)]
    enum Step {
        Arm { ahead: i64, slot: u32 },
        Advance { by: i64 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            // Inside the current bucket, a few buckets on, across the ring, beyond it.
            (
                prop_oneof![
                    0i64..(1 << TIMER_SHIFT),
                    0i64..(8 << TIMER_SHIFT),
                    0i64..((RING as i64 + 8) << TIMER_SHIFT),
                    0i64..((4 * RING as i64) << TIMER_SHIFT),
                ],
                0u32..64
            )
                .prop_map(|(ahead, slot)| Step::Arm { ahead, slot }),
            prop_oneof![
                0i64..(1 << TIMER_SHIFT),
                0i64..((2 * RING as i64) << TIMER_SHIFT)
            ]
            .prop_map(|by| Step::Advance { by }),
        ]
    }

    proptest! {
        /// The bucketed timers pop exactly what one min-heap of all of them pops, in the same
        /// order, at every step: the sorted bucket, the heap of late arrivals, the ring and
        /// the overflow map together are only a faster heap.
        #[test]
        fn timers_pop_in_the_order_of_one_heap(
            start in -(1i64 << 40)..(1i64 << 40),
            steps in proptest::collection::vec(step(), 1..400),
        ) {
            let mut timers = Timers::new();
            let mut heap = std::collections::BinaryHeap::new();
            let mut now = start;
            for (generation, step) in steps.into_iter().enumerate() {
                match step {
                    Step::Arm { ahead, slot } => {
                        let t = (now + ahead, slot, generation as u32);
                        timers.push(t);
                        heap.push(std::cmp::Reverse(t));
                    }
                    Step::Advance { by } => {
                        now += by;
                        loop {
                            let expected = match heap.peek() {
                                Some(&std::cmp::Reverse(t)) if t.0 <= now => {
                                    heap.pop();
                                    Some(t)
                                }
                                _ => None,
                            };
                            let got = timers.pop_due(now);
                            prop_assert_eq!(got, expected);
                            if got.is_none() {
                                break;
                            }
                        }
                    }
                }
            }
            // Everything left, in order.
            while let Some(std::cmp::Reverse(t)) = heap.pop() {
                prop_assert_eq!(timers.pop_due(i64::MAX), Some(t));
            }
            prop_assert_eq!(timers.pop_due(i64::MAX), None);
        }
    }
}
