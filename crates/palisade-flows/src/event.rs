//! The normalized record every reader produces: [`FlowEvent`].

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use palisade_model::Protocol;

use crate::dns::DnsAnswer;
use crate::json::{Cursor, RawStr};

/// One observation: a packet, a Hubble flow, an aggregated flow-log record or a CSV row.
///
/// Strings borrow from the reader's buffer (`'a`), so an event lives only as long as the
/// callback that receives it; copy out what you keep.
#[derive(Clone, Debug)]
pub struct FlowEvent<'a> {
    /// Observation time, nanoseconds since the Unix epoch (UTC).
    pub time_ns: i64,
    /// Source address of this packet or flow.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (0 when the protocol has none).
    pub src_port: u16,
    /// Destination port (0 when the protocol has none).
    pub dst_port: u16,
    /// Layer-4 details.
    pub l4: L4,
    /// What kind of observation this is, with the details only that kind carries.
    pub kind: EventKind<'a>,
    /// Whether this is the reply direction, when the source says (Hubble `is_reply`).
    pub is_reply: Option<bool>,
    /// The node that observed it (Hubble `node_name`, `cluster/node`).
    pub node: Option<Cow<'a, str>>,
    /// The source endpoint, when the source names it.
    pub src_endpoint: Option<Endpoint<'a>>,
    /// The destination endpoint, when the source names it.
    pub dst_endpoint: Option<Endpoint<'a>>,
}

impl FlowEvent<'_> {
    /// The NetworkPolicy protocol of the event, if it has one (TCP, UDP, SCTP).
    pub fn protocol(&self) -> Option<Protocol> {
        self.l4.protocol()
    }
}

/// What kind of observation a [`FlowEvent`] is.
#[derive(Clone, Debug)]
pub enum EventKind<'a> {
    /// One captured packet (pcap, pcapng).
    Packet {
        /// Original length on the wire, in bytes.
        wire_len: u32,
        /// For a DNS response (UDP or TCP from port 53): the addresses it gives the names
        /// the client asked for. Empty for every other packet.
        dns: &'a [DnsAnswer],
    },
    /// One Hubble flow.
    Hubble(HubbleInfo<'a>),
    /// An aggregated record covering many packets (AWS VPC flow logs).
    Aggregate {
        /// What the security group / network ACL did.
        action: Action,
        /// Packets in the window.
        packets: u64,
        /// Bytes in the window.
        bytes: u64,
        /// End of the aggregation window (ns since the epoch).
        end_ns: i64,
    },
    /// A row that already is one connection attempt (CSV, JSONL), with its outcome if given.
    Attempt {
        /// The `outcome` column, if present.
        outcome: Option<Observed>,
    },
}

/// A flow-log action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `ACCEPT`.
    Accept,
    /// `REJECT` (security groups drop silently, so the client times out).
    Reject,
}

/// The observed outcome of a connection attempt, as the Kubernetes e2e probe would report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Observed {
    /// The connection was established (or the datagram was answered).
    Accepted,
    /// Actively rejected: TCP RST, ICMP unreachable, SCTP ABORT.
    Refused,
    /// No answer: dropped somewhere (policy drops look like this).
    TimedOut,
    /// The record cannot tell (e.g. a connection first seen mid-stream).
    Unknown,
}

impl Observed {
    /// Lowercase name: `accepted`, `refused`, `timed-out`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Observed::Accepted => "accepted",
            Observed::Refused => "refused",
            Observed::TimedOut => "timed-out",
            Observed::Unknown => "unknown",
        }
    }

    /// Parses the names above, ignoring case, plus the probe's words (`success`, `timeout`).
    pub fn parse(s: &str) -> Option<Observed> {
        let s = s.trim();
        [
            ("accepted", Observed::Accepted),
            ("success", Observed::Accepted),
            ("allowed", Observed::Accepted),
            ("refused", Observed::Refused),
            ("timed-out", Observed::TimedOut),
            ("timedout", Observed::TimedOut),
            ("timed_out", Observed::TimedOut),
            ("timeout", Observed::TimedOut),
            ("unknown", Observed::Unknown),
        ]
        .into_iter()
        .find(|(name, _)| s.eq_ignore_ascii_case(name))
        .map(|(_, o)| o)
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Layer-4 details of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    /// TCP with its flags.
    Tcp(TcpFlags),
    /// UDP.
    Udp,
    /// SCTP with the type of the first chunk.
    Sctp(SctpChunk),
    /// ICMP or ICMPv6.
    Icmp(Icmp),
    /// Another IP protocol, by number.
    Other(u8),
}

impl L4 {
    /// The NetworkPolicy protocol, if any.
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            L4::Tcp(_) => Some(Protocol::Tcp),
            L4::Udp => Some(Protocol::Udp),
            L4::Sctp(_) => Some(Protocol::Sctp),
            L4::Icmp(_) | L4::Other(_) => None,
        }
    }

    /// The IANA protocol number.
    pub fn ip_proto(&self) -> u8 {
        match self {
            L4::Tcp(_) => 6,
            L4::Udp => 17,
            L4::Sctp(_) => 132,
            L4::Icmp(i) if i.v6 => 58,
            L4::Icmp(_) => 1,
            L4::Other(p) => *p,
        }
    }
}

/// TCP flags, bit-compatible with the TCP header (NS in bit 8).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN.
    pub const FIN: u16 = 0x01;
    /// SYN.
    pub const SYN: u16 = 0x02;
    /// RST.
    pub const RST: u16 = 0x04;
    /// PSH.
    pub const PSH: u16 = 0x08;
    /// ACK.
    pub const ACK: u16 = 0x10;
    /// URG.
    pub const URG: u16 = 0x20;
    /// ECE.
    pub const ECE: u16 = 0x40;
    /// CWR.
    pub const CWR: u16 = 0x80;
    /// NS.
    pub const NS: u16 = 0x100;

    /// Whether all bits of `mask` are set.
    pub fn has(self, mask: u16) -> bool {
        self.0 & mask == mask
    }

    /// SYN without ACK: the first packet of a handshake.
    pub fn is_syn(self) -> bool {
        self.0 & (Self::SYN | Self::ACK) == Self::SYN
    }

    /// SYN with ACK: the server's answer.
    pub fn is_syn_ack(self) -> bool {
        self.has(Self::SYN | Self::ACK)
    }

    /// RST (with or without ACK).
    pub fn is_rst(self) -> bool {
        self.has(Self::RST)
    }

    /// FIN.
    pub fn is_fin(self) -> bool {
        self.has(Self::FIN)
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u16, &str); 9] = [
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::ACK, "ACK"),
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::URG, "URG"),
            (TcpFlags::ECE, "ECE"),
            (TcpFlags::CWR, "CWR"),
            (TcpFlags::NS, "NS"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// The SCTP chunk types that matter for connection outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SctpChunk {
    /// INIT (type 1): starts an association.
    Init,
    /// INIT ACK (type 2): the peer accepts.
    InitAck,
    /// ABORT (type 6).
    Abort,
    /// SHUTDOWN (type 7).
    Shutdown,
    /// SHUTDOWN ACK (type 8).
    ShutdownAck,
    /// SHUTDOWN COMPLETE (type 14).
    ShutdownComplete,
    /// Any other chunk type (DATA, SACK, HEARTBEAT, COOKIE ...), or none.
    Other(u8),
}

impl SctpChunk {
    /// From the chunk type number.
    pub fn from_type(t: u8) -> SctpChunk {
        match t {
            1 => SctpChunk::Init,
            2 => SctpChunk::InitAck,
            6 => SctpChunk::Abort,
            7 => SctpChunk::Shutdown,
            8 => SctpChunk::ShutdownAck,
            14 => SctpChunk::ShutdownComplete,
            t => SctpChunk::Other(t),
        }
    }

    /// The chunk type number ([`SctpChunk::from_type`]'s inverse).
    pub fn to_type(self) -> u8 {
        match self {
            SctpChunk::Init => 1,
            SctpChunk::InitAck => 2,
            SctpChunk::Abort => 6,
            SctpChunk::Shutdown => 7,
            SctpChunk::ShutdownAck => 8,
            SctpChunk::ShutdownComplete => 14,
            SctpChunk::Other(t) => t,
        }
    }
}

/// An ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// ICMPv6 rather than ICMP.
    pub v6: bool,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// The 5-tuple of the datagram an error message quotes (packets only).
    pub quoted: Option<Quoted>,
}

impl Icmp {
    /// The kind of unreachable this is, if it is a destination-unreachable message.
    pub fn unreachable(&self) -> Option<Unreachable> {
        let kind = match (self.v6, self.icmp_type, self.code) {
            (false, 3, 0) | (true, 1, 0) => Unreachable::Net,
            (false, 3, 1) | (true, 1, 3) => Unreachable::Host,
            (false, 3, 2) => Unreachable::Protocol,
            (false, 3, 3) | (true, 1, 4) => Unreachable::Port,
            (false, 3, 9 | 10 | 13) | (true, 1, 1 | 5 | 6) => Unreachable::AdminProhibited,
            (false, 3, c) | (true, 1, c) => Unreachable::Other(c),
            _ => return None,
        };
        Some(kind)
    }
}

/// The original datagram an ICMP error quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    /// Its source (the host that receives the ICMP error).
    pub src: IpAddr,
    /// Its destination.
    pub dst: IpAddr,
    /// Its source port.
    pub src_port: u16,
    /// Its destination port.
    pub dst_port: u16,
    /// Its IP protocol number.
    pub ip_proto: u8,
}

/// Kinds of ICMP destination-unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unreachable {
    /// Network unreachable / no route.
    Net,
    /// Host (address) unreachable.
    Host,
    /// Protocol unreachable.
    Protocol,
    /// Port unreachable: nothing listens.
    Port,
    /// Administratively prohibited (a firewall rejects).
    AdminProhibited,
    /// Another code.
    Other(u8),
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Net => f.write_str("network unreachable"),
            Unreachable::Host => f.write_str("host unreachable"),
            Unreachable::Protocol => f.write_str("protocol unreachable"),
            Unreachable::Port => f.write_str("port unreachable"),
            Unreachable::AdminProhibited => f.write_str("administratively prohibited"),
            Unreachable::Other(c) => write!(f, "unreachable (code {c})"),
        }
    }
}

/// The Hubble-only part of a flow.
#[derive(Clone, Debug, Default)]
pub struct HubbleInfo<'a> {
    /// `verdict`.
    pub verdict: Verdict,
    /// `drop_reason_desc` (e.g. `POLICY_DENIED`), when dropped.
    pub drop_reason: Option<Cow<'a, str>>,
    /// The deprecated numeric `drop_reason`, 0 when absent.
    pub drop_reason_code: u32,
    /// `traffic_direction`.
    pub direction: Option<TrafficDirection>,
    /// `ingress_denied_by`: the policies that denied it at ingress.
    pub ingress_denied_by: PolicyList<'a>,
    /// `egress_denied_by`.
    pub egress_denied_by: PolicyList<'a>,
    /// `destination_names`: the DNS names the destination address was resolved from (set
    /// by Cilium's DNS proxy).
    pub destination_names: StrList<'a>,
    /// `l7.dns.query` of a DNS flow (with a trailing dot, as Hubble writes it).
    pub dns_query: Option<Cow<'a, str>>,
    /// `l7.dns.ips`: the addresses a DNS response gave for `dns_query`.
    pub dns_ips: StrList<'a>,
}

/// Hubble's `verdict`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Absent or `VERDICT_UNKNOWN`.
    #[default]
    Unknown,
    /// `FORWARDED`.
    Forwarded,
    /// `DROPPED`.
    Dropped,
    /// `ERROR`.
    Error,
    /// `AUDIT`: would have been dropped, policy is in audit mode.
    Audit,
    /// `REDIRECTED`.
    Redirected,
    /// `TRACED`.
    Traced,
    /// `TRANSLATED`.
    Translated,
}

impl Verdict {
    /// Parses the protojson enum name.
    pub fn parse(s: &[u8]) -> Verdict {
        match s {
            b"FORWARDED" => Verdict::Forwarded,
            b"DROPPED" => Verdict::Dropped,
            b"ERROR" => Verdict::Error,
            b"AUDIT" => Verdict::Audit,
            b"REDIRECTED" => Verdict::Redirected,
            b"TRACED" => Verdict::Traced,
            b"TRANSLATED" => Verdict::Translated,
            _ => Verdict::Unknown,
        }
    }

    /// Whether the packet did not get through.
    pub fn is_drop(self) -> bool {
        matches!(self, Verdict::Dropped | Verdict::Error)
    }
}

/// Hubble's `traffic_direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrafficDirection {
    /// Seen entering the endpoint (on the destination's node).
    Ingress,
    /// Seen leaving the endpoint (on the source's node).
    Egress,
}

/// A Kubernetes endpoint as Hubble names it.
#[derive(Clone, Debug, Default)]
pub struct Endpoint<'a> {
    /// `namespace` (empty for non-pod identities).
    pub namespace: Cow<'a, str>,
    /// `pod_name` (empty for non-pod identities).
    pub pod_name: Cow<'a, str>,
    /// `labels`, e.g. `k8s:app=frontend` or `reserved:world`.
    pub labels: StrList<'a>,
}

/// A JSON array of strings, kept as its raw text and decoded on iteration, so that events
/// whose labels nobody reads cost nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct StrList<'a> {
    raw: &'a [u8],
}

impl<'a> StrList<'a> {
    /// A list from its raw JSON text (`["k8s:app=web", ...]`; empty for none), as Hubble
    /// writes it. Elements are decoded (and malformed ones skipped) on iteration.
    pub fn from_raw(raw: &'a [u8]) -> Self {
        StrList { raw }
    }

    /// The raw JSON text (`[...]`, or empty when absent).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the list is absent or empty.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The strings; elements that are not valid strings are skipped.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        let mut items = Vec::new();
        if !self.raw.is_empty() {
            let mut c = Cursor::new(self.raw);
            let _ = c.array(|c| {
                if c.peek() == Some(b'"') {
                    let s = c.string()?;
                    if let Ok(s) = s.decode() {
                        items.push(s);
                    }
                    Ok(())
                } else {
                    c.skip()
                }
            });
        }
        items.into_iter()
    }
}

/// A JSON array of policy references (`ingress_denied_by` ...), decoded on iteration.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicyList<'a> {
    raw: &'a [u8],
}

/// One policy a Hubble flow names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyRef<'a> {
    /// `kind` (e.g. `CiliumNetworkPolicy`, `NetworkPolicy`), empty when absent.
    pub kind: Cow<'a, str>,
    /// `namespace`, empty for cluster-wide policies.
    pub namespace: Cow<'a, str>,
    /// `name`.
    pub name: Cow<'a, str>,
}

impl<'a> PolicyList<'a> {
    /// A list from its raw JSON text (`[{"kind": ..., "namespace": ..., "name": ...}]`;
    /// empty for none), as Hubble writes it. Decoded on iteration.
    pub fn from_raw(raw: &'a [u8]) -> Self {
        PolicyList { raw }
    }

    /// The raw JSON text (`[...]`, or empty when absent).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the list is absent or empty.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The policies; malformed elements are skipped.
    pub fn iter(&self) -> impl Iterator<Item = PolicyRef<'a>> + 'a {
        let mut items = Vec::new();
        if !self.raw.is_empty() {
            let mut c = Cursor::new(self.raw);
            let _ = c.array(|c| {
                if c.peek() != Some(b'{') {
                    return c.skip();
                }
                let mut p = PolicyRef {
                    kind: Cow::Borrowed(""),
                    namespace: Cow::Borrowed(""),
                    name: Cow::Borrowed(""),
                };
                c.object(|c, key| {
                    let slot = match key {
                        b"kind" => &mut p.kind,
                        b"namespace" => &mut p.namespace,
                        b"name" => &mut p.name,
                        _ => return c.skip(),
                    };
                    if c.peek() == Some(b'"') {
                        *slot = decode_or_empty(c.string()?);
                        Ok(())
                    } else {
                        c.skip()
                    }
                })?;
                items.push(p);
                Ok(())
            });
        }
        items.into_iter()
    }
}

fn decode_or_empty(s: RawStr<'_>) -> Cow<'_, str> {
    s.decode().unwrap_or(Cow::Borrowed(""))
}
