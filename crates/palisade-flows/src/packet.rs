//! Decoding one captured frame into a [`FlowEvent`]: link layer, VLAN tags, IPv4/IPv6 (with
//! extension headers) and the first bytes of TCP, UDP, SCTP and ICMP.
//!
//! Hand-written rather than etherparse: the readers need only addresses, ports, TCP flags, the
//! first SCTP chunk and the datagram an ICMP error quotes, and skipping the rest keeps the
//! per-packet cost near 20 ns. L4 checksums are never checked (captures on a node show
//! offloaded, "wrong" checksums).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::dns::DnsPayload;
use crate::event::{EventKind, FlowEvent, Icmp, L4, Quoted, SctpChunk, TcpFlags};

/// The link layers the readers decode, from the pcap `LINKTYPE_*` number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// 1: Ethernet, possibly with 802.1Q / 802.1ad (QinQ) tags.
    Ethernet,
    /// 113: Linux cooked capture v1 (`tcpdump -i any`, older libpcap).
    LinuxSll,
    /// 276: Linux cooked capture v2 (`tcpdump -i any`, libpcap ≥ 1.10).
    LinuxSll2,
    /// 101 (and the old DLT values 12, 14): raw IP, version from the first nibble.
    RawIp,
    /// 228: raw IPv4.
    Ipv4,
    /// 229: raw IPv6.
    Ipv6,
}

impl LinkType {
    /// Maps a `LINKTYPE_*` number.
    pub fn from_number(n: u32) -> Option<LinkType> {
        Some(match n {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            101 | 12 | 14 => LinkType::RawIp,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            _ => return None,
        })
    }
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Decodes a frame; `None` for frames that are not IP, non-first fragments or too short to
/// hold the headers they announce.
#[inline(always)]
pub fn decode(
    link: LinkType,
    frame: &[u8],
    time_ns: i64,
    wire_len: u32,
) -> Option<FlowEvent<'static>> {
    let (ethertype, ip) = match link {
        LinkType::Ethernet => skip_vlans(be16(frame, 12)?, frame, 14)?,
        LinkType::LinuxSll => skip_vlans(be16(frame, 14)?, frame, 16)?,
        LinkType::LinuxSll2 => skip_vlans(be16(frame, 0)?, frame, 20)?,
        LinkType::RawIp => match frame.first()? >> 4 {
            4 => (ETH_IPV4, frame),
            6 => (ETH_IPV6, frame),
            _ => return None,
        },
        LinkType::Ipv4 => (ETH_IPV4, frame),
        LinkType::Ipv6 => (ETH_IPV6, frame),
    };
    let (src, dst, proto, l4) = match ethertype {
        ETH_IPV4 => ipv4(ip)?,
        ETH_IPV6 => ipv6(ip)?,
        _ => return None,
    };
    let (src_port, dst_port, l4) = transport(proto, l4)?;
    Some(FlowEvent {
        time_ns,
        src,
        dst,
        src_port,
        dst_port,
        l4,
        kind: EventKind::Packet { wire_len, dns: &[] },
        is_reply: None,
        node: None,
        src_endpoint: None,
        dst_endpoint: None,
    })
}

/// The DNS message bytes of a frame [`decode`] made a UDP or TCP event from port 53 of
/// (walking its headers again: only such frames pay for it). `None` when the datagram or
/// segment carries no payload.
#[cold]
pub(crate) fn dns_payload(link: LinkType, frame: &[u8]) -> Option<DnsPayload<'_>> {
    let (ethertype, ip) = match link {
        LinkType::Ethernet => skip_vlans(be16(frame, 12)?, frame, 14)?,
        LinkType::LinuxSll => skip_vlans(be16(frame, 14)?, frame, 16)?,
        LinkType::LinuxSll2 => skip_vlans(be16(frame, 0)?, frame, 20)?,
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => match frame.first()? >> 4 {
            4 => (ETH_IPV4, frame),
            _ => (ETH_IPV6, frame),
        },
    };
    let (_, _, proto, l4) = match ethertype {
        ETH_IPV4 => ipv4(ip)?,
        ETH_IPV6 => ipv6(ip)?,
        _ => return None,
    };
    match proto {
        17 => {
            let payload = l4.get(8..)?;
            // The UDP length, when sane, bounds the payload (Ethernet padding follows short
            // datagrams) and tells how much the capture cut off.
            let claimed = usize::from(be16(l4, 4)?);
            let (payload, claimed) = if claimed >= 8 {
                (&payload[..payload.len().min(claimed - 8)], claimed - 8)
            } else {
                (payload, payload.len())
            };
            (claimed > 0).then_some(DnsPayload::Udp { payload, claimed })
        }
        6 => {
            let data_offset = usize::from(*l4.get(12)? >> 4) * 4;
            let payload = l4.get(data_offset.max(20)..)?;
            (!payload.is_empty()).then_some(DnsPayload::Tcp(payload))
        }
        _ => None,
    }
}

/// For a frame [`decode`] returned nothing for: whether it claimed to be an IP packet whose
/// headers then failed to parse (cut short, bad lengths, a truncated transport header), as
/// opposed to a frame with nothing to sessionize (not IP, a non-first IPv4 fragment, an IPv6
/// fragment, another transport protocol). The first kind is counted and reported.
pub(crate) fn is_undecodable_ip(link: LinkType, frame: &[u8]) -> bool {
    let ip = match link {
        LinkType::Ethernet => skip_vlans(be16(frame, 12).unwrap_or(0), frame, 14),
        LinkType::LinuxSll => skip_vlans(be16(frame, 14).unwrap_or(0), frame, 16),
        LinkType::LinuxSll2 => skip_vlans(be16(frame, 0).unwrap_or(0), frame, 20),
        LinkType::RawIp | LinkType::Ipv4 | LinkType::Ipv6 => match frame.first().map(|b| b >> 4) {
            Some(4) => Some((ETH_IPV4, frame)),
            Some(6) => Some((ETH_IPV6, frame)),
            _ => None,
        },
    };
    match ip {
        Some((ETH_IPV4, p)) => match p.get(..20) {
            None => true,
            Some(h) => {
                let frag_offset = u16::from_be_bytes([h[6], h[7]]) & 0x1FFF;
                frag_offset == 0 && matches!(h[9], 6 | 17 | 132 | 1)
            }
        },
        Some((ETH_IPV6, p)) => match p.get(..40) {
            None => true,
            Some(h) => matches!(h[6], 6 | 17 | 132 | 58),
        },
        _ => false,
    }
}

/// Skips 802.1Q / 802.1ad / old QinQ tags; returns the inner ethertype and the payload.
#[inline]
fn skip_vlans(mut ethertype: u16, frame: &[u8], mut at: usize) -> Option<(u16, &[u8])> {
    // Bounded: more than a few stacked tags is not a real frame.
    for _ in 0..4 {
        if !matches!(ethertype, 0x8100 | 0x88A8 | 0x9100) {
            break;
        }
        ethertype = be16(frame, at + 2)?;
        at += 4;
    }
    Some((ethertype, frame.get(at..)?))
}

/// Returns source, destination, protocol number and the L4 bytes of an IPv4 packet.
#[inline]
fn ipv4(p: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    let h = p.get(..20)?;
    if h[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(h[0] & 0x0F) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let frag_offset = u16::from_be_bytes([h[6], h[7]]) & 0x1FFF;
    if ihl < 20 || frag_offset != 0 {
        return None;
    }
    let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
    let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
    // Trust the shorter of the captured bytes and the IP total length (TSO captures show
    // total length 0 or larger than the frame).
    let end = if total >= ihl {
        total.min(p.len())
    } else {
        p.len()
    };
    let l4 = p.get(ihl..end.max(ihl))?;
    Some((src.into(), dst.into(), h[9], l4))
}

/// The same for IPv6, walking extension headers.
#[inline]
fn ipv6(p: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    let h = p.get(..40)?;
    if h[0] >> 4 != 6 {
        return None;
    }
    let src: [u8; 16] = h[8..24].try_into().ok()?;
    let dst: [u8; 16] = h[24..40].try_into().ok()?;
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let end = if payload_len == 0 {
        p.len()
    } else {
        (40 + payload_len).min(p.len())
    };
    let (proto, l4) = ipv6_ext(h[6], p.get(40..end)?)?;
    Some((
        Ipv6Addr::from(src).into(),
        Ipv6Addr::from(dst).into(),
        proto,
        l4,
    ))
}

fn ipv6_ext(mut next: u8, mut rest: &[u8]) -> Option<(u8, &[u8])> {
    for _ in 0..8 {
        let len = match next {
            0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*rest.get(1)?) + 1) * 8,
            44 => {
                let off = be16(rest, 2)? & 0xFFF8;
                if off != 0 {
                    return None;
                }
                8
            }
            51 => (usize::from(*rest.get(1)?) + 2) * 4,
            _ => return Some((next, rest)),
        };
        next = *rest.first()?;
        rest = rest.get(len..)?;
    }
    None
}

#[inline]
fn transport(proto: u8, l4: &[u8]) -> Option<(u16, u16, L4)> {
    Some(match proto {
        6 => {
            let h = l4.get(..14)?;
            let flags = u16::from(h[13]) | (u16::from(h[12] & 1) << 8);
            (be16(h, 0)?, be16(h, 2)?, L4::Tcp(TcpFlags(flags)))
        }
        17 => (be16(l4, 0)?, be16(l4, 2)?, L4::Udp),
        132 => {
            let chunk = l4
                .get(12)
                .map_or(SctpChunk::Other(0), |&t| SctpChunk::from_type(t));
            (be16(l4, 0)?, be16(l4, 2)?, L4::Sctp(chunk))
        }
        1 | 58 => {
            let h = l4.get(..4)?;
            let is_v6 = proto == 58;
            let mut icmp = Icmp {
                v6: is_v6,
                icmp_type: h[0],
                code: h[1],
                quoted: None,
            };
            if icmp.unreachable().is_some() {
                icmp.quoted = l4.get(8..).and_then(|q| quoted(q, is_v6));
            }
            (0, 0, L4::Icmp(icmp))
        }
        p => (0, 0, L4::Other(p)),
    })
}

/// The 5-tuple of the datagram an ICMP error quotes (its IP header plus ≥ 8 bytes).
fn quoted(q: &[u8], v6: bool) -> Option<Quoted> {
    let (src, dst, proto, l4) = if v6 {
        let h = q.get(..40)?;
        let src: [u8; 16] = h[8..24].try_into().ok()?;
        let dst: [u8; 16] = h[24..40].try_into().ok()?;
        let (proto, l4) = ipv6_ext(h[6], &q[40..])?;
        (
            Ipv6Addr::from(src).into(),
            Ipv6Addr::from(dst).into(),
            proto,
            l4,
        )
    } else {
        let h = q.get(..20)?;
        if h[0] >> 4 != 4 {
            return None;
        }
        let ihl = usize::from(h[0] & 0x0F) * 4;
        let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
        let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        (src.into(), dst.into(), h[9], q.get(ihl..)?)
    };
    let (src_port, dst_port) = match proto {
        6 | 17 | 132 => (be16(l4, 0)?, be16(l4, 2)?),
        _ => (0, 0),
    };
    Some(Quoted {
        src,
        dst,
        src_port,
        dst_port,
        ip_proto: proto,
    })
}
