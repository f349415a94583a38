//! Hubble flows: `hubble observe -o json` (jsonpb `GetFlowsResponse` lines), Hubble exporter
//! files (the same lines) and bare flow objects, one per line.
//!
//! Only the fields sessions need are decoded; everything else is skipped by the cursor
//! (see `json.rs` for why this does not use serde).

use std::borrow::Cow;
use std::net::IpAddr;

use crate::event::{
    Endpoint, EventKind, FlowEvent, HubbleInfo, Icmp, L4, PolicyList, SctpChunk, StrList, TcpFlags,
    TrafficDirection, Verdict,
};
use crate::json::{Cursor, JResult};
use crate::report::Gap;
use crate::time::parse_rfc3339;

/// What one Hubble line holds.
// Built and consumed per line, never stored: boxing the flow would cost an allocation per line.
#[allow(clippy::large_enum_variant)]
pub(crate) enum HubbleLine<'a> {
    /// A flow.
    Flow(FlowEvent<'a>),
    /// A `lost_events` record.
    Gap(Gap),
    /// Something else (`node_status`, ...).
    Other,
    /// A flow without an `IP` section (L7 flows, some sock-trace flows): nothing to
    /// sessionize by address. Counted in the read report, never dropped silently.
    WithoutIp,
}

#[derive(Default)]
struct Acc<'a> {
    time: Option<i64>,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    src_port: u16,
    dst_port: u16,
    l4: Option<L4>,
    info: HubbleInfo<'a>,
    is_reply: Option<bool>,
    node: Option<Cow<'a, str>>,
    src_endpoint: Option<Endpoint<'a>>,
    dst_endpoint: Option<Endpoint<'a>>,
    lost: Option<(u64, String)>,
    is_flow: bool,
}

/// Parses one non-empty line.
pub(crate) fn parse_line(line: &[u8]) -> JResult<HubbleLine<'_>> {
    let mut c = Cursor::new(line);
    let mut acc = Acc::default();
    c.object(|c, key| top_key(c, key, &mut acc))?;
    if !c.at_end() {
        return Err("trailing characters after the JSON object");
    }
    if let Some((lost, source)) = acc.lost {
        return Ok(HubbleLine::Gap(Gap {
            time_ns: acc.time,
            lost,
            source,
            node: acc.node.map(Cow::into_owned),
            line: 0,
        }));
    }
    if !acc.is_flow {
        return Ok(HubbleLine::Other);
    }
    let time_ns = acc.time.ok_or("flow without a valid time")?;
    let (Some(src), Some(dst)) = (acc.src, acc.dst) else {
        // L7 and some sock-trace flows carry no IP section: nothing to sessionize by address.
        // Tying them to a session by the pod names they carry is not done yet (issue #16).
        return Ok(HubbleLine::WithoutIp);
    };
    let Some(l4) = acc.l4 else {
        return Ok(HubbleLine::Other);
    };
    Ok(HubbleLine::Flow(FlowEvent {
        time_ns,
        src,
        dst,
        src_port: acc.src_port,
        dst_port: acc.dst_port,
        l4,
        kind: EventKind::Hubble(acc.info),
        is_reply: acc.is_reply,
        node: acc.node,
        src_endpoint: acc.src_endpoint,
        dst_endpoint: acc.dst_endpoint,
    }))
}

fn top_key<'a>(c: &mut Cursor<'a>, key: &'a [u8], acc: &mut Acc<'a>) -> JResult<()> {
    match key {
        b"flow" => {
            acc.is_flow = true;
            c.object(|c, k| flow_key(c, k, acc))
        }
        b"lost_events" => {
            let mut lost = 0;
            let mut source = String::new();
            c.object(|c, k| match k {
                b"num_events_lost" => {
                    lost = c.uint()?;
                    Ok(())
                }
                b"source" => {
                    source = c.string()?.decode()?.into_owned();
                    Ok(())
                }
                _ => c.skip(),
            })?;
            acc.lost = Some((lost, source));
            Ok(())
        }
        // Envelope fields repeat the flow's; the flow's own values win.
        b"time" if acc.time.is_some() => c.skip(),
        b"node_name" if acc.node.is_some() => c.skip(),
        b"time" | b"node_name" => flow_key(c, key, acc),
        b"node_status" | b"debug_event" | b"agent_event" => c.skip(),
        // A bare flow object: its own fields at the top level.
        _ => {
            if matches!(key, b"IP" | b"l4" | b"verdict" | b"source" | b"destination") {
                acc.is_flow = true;
            }
            flow_key(c, key, acc)
        }
    }
}

fn flow_key<'a>(c: &mut Cursor<'a>, key: &'a [u8], acc: &mut Acc<'a>) -> JResult<()> {
    match key {
        b"time" => {
            let s = c.string()?;
            acc.time = Some(parse_rfc3339(s.bytes).ok_or("invalid time")?);
        }
        b"verdict" => acc.info.verdict = Verdict::parse(c.string()?.bytes),
        b"drop_reason_desc" => acc.info.drop_reason = Some(c.string()?.decode()?),
        b"drop_reason" => acc.info.drop_reason_code = c.uint()?.try_into().unwrap_or(u32::MAX),
        b"IP" => c.object(|c, k| match k {
            b"source" => {
                acc.src = Some(parse_ip(c.string()?.bytes)?);
                Ok(())
            }
            b"destination" => {
                acc.dst = Some(parse_ip(c.string()?.bytes)?);
                Ok(())
            }
            _ => c.skip(),
        })?,
        b"l4" => c.object(|c, k| l4_key(c, k, acc))?,
        b"source" => acc.src_endpoint = Some(endpoint(c)?),
        b"destination" => acc.dst_endpoint = Some(endpoint(c)?),
        b"traffic_direction" => {
            acc.info.direction = match c.string()?.bytes {
                b"INGRESS" => Some(TrafficDirection::Ingress),
                b"EGRESS" => Some(TrafficDirection::Egress),
                _ => None,
            }
        }
        b"is_reply" => acc.is_reply = Some(c.boolean()?),
        b"node_name" => acc.node = Some(c.string()?.decode()?),
        b"ingress_denied_by" => {
            acc.info.ingress_denied_by = PolicyList::from_raw(c.raw_value()?);
        }
        b"egress_denied_by" => acc.info.egress_denied_by = PolicyList::from_raw(c.raw_value()?),
        b"destination_names" => acc.info.destination_names = StrList::from_raw(c.raw_value()?),
        b"l7" => c.object(|c, k| match k {
            b"dns" => c.object(|c, k| match k {
                b"query" => {
                    acc.info.dns_query = Some(c.string()?.decode()?);
                    Ok(())
                }
                b"ips" => {
                    acc.info.dns_ips = StrList::from_raw(c.raw_value()?);
                    Ok(())
                }
                _ => c.skip(),
            }),
            _ => c.skip(),
        })?,
        _ => c.skip()?,
    }
    Ok(())
}

fn l4_key<'a>(c: &mut Cursor<'a>, key: &'a [u8], acc: &mut Acc<'a>) -> JResult<()> {
    match key {
        b"TCP" | b"UDP" | b"SCTP" => {
            let mut flags = 0u16;
            let mut chunk = SctpChunk::Other(0);
            c.object(|c, k| {
                match k {
                    b"source_port" => acc.src_port = port(c)?,
                    b"destination_port" => acc.dst_port = port(c)?,
                    b"flags" => {
                        c.object(|c, f| {
                            let bit = match f {
                                b"SYN" => TcpFlags::SYN,
                                b"ACK" => TcpFlags::ACK,
                                b"FIN" => TcpFlags::FIN,
                                b"RST" => TcpFlags::RST,
                                b"PSH" => TcpFlags::PSH,
                                b"URG" => TcpFlags::URG,
                                b"ECE" => TcpFlags::ECE,
                                b"CWR" => TcpFlags::CWR,
                                b"NS" => TcpFlags::NS,
                                _ => return c.skip(),
                            };
                            if c.boolean()? {
                                flags |= bit;
                            }
                            Ok(())
                        })?;
                    }
                    b"chunk_type" => {
                        chunk = match c.string()?.bytes {
                            b"INIT" => SctpChunk::Init,
                            b"INIT_ACK" => SctpChunk::InitAck,
                            b"ABORT" => SctpChunk::Abort,
                            b"SHUTDOWN" => SctpChunk::Shutdown,
                            b"SHUTDOWN_ACK" => SctpChunk::ShutdownAck,
                            b"SHUTDOWN_COMPLETE" => SctpChunk::ShutdownComplete,
                            _ => SctpChunk::Other(0),
                        }
                    }
                    _ => c.skip()?,
                }
                Ok(())
            })?;
            acc.l4 = Some(match key {
                b"TCP" => L4::Tcp(TcpFlags(flags)),
                b"UDP" => L4::Udp,
                _ => L4::Sctp(chunk),
            });
            Ok(())
        }
        b"ICMPv4" | b"ICMPv6" => {
            let mut icmp = Icmp {
                v6: key == b"ICMPv6",
                icmp_type: 0,
                code: 0,
                quoted: None,
            };
            c.object(|c, k| {
                match k {
                    b"type" => icmp.icmp_type = c.uint()?.try_into().map_err(|_| "bad type")?,
                    b"code" => icmp.code = c.uint()?.try_into().map_err(|_| "bad code")?,
                    _ => c.skip()?,
                }
                Ok(())
            })?;
            acc.l4 = Some(L4::Icmp(icmp));
            Ok(())
        }
        _ => c.skip(),
    }
}

fn port(c: &mut Cursor<'_>) -> JResult<u16> {
    c.uint()?.try_into().map_err(|_| "port out of range")
}

fn endpoint<'a>(c: &mut Cursor<'a>) -> JResult<Endpoint<'a>> {
    let mut ep = Endpoint::default();
    c.object(|c, k| {
        match k {
            b"namespace" => ep.namespace = c.string()?.decode()?,
            b"pod_name" => ep.pod_name = c.string()?.decode()?,
            b"labels" => ep.labels = StrList::from_raw(c.raw_value()?),
            _ => c.skip()?,
        }
        Ok(())
    })?;
    Ok(ep)
}

/// Parses an IP address from ASCII bytes, with a fast path for dotted-quad IPv4.
#[inline]
pub(crate) fn parse_ip(b: &[u8]) -> JResult<IpAddr> {
    if let Some(v4) = parse_ipv4(b) {
        return Ok(IpAddr::V4(v4.into()));
    }
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("invalid IP address")
}

#[inline]
fn parse_ipv4(b: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut part = 0;
    let mut val: u32 = 0;
    let mut len = 0;
    for &c in b {
        if c == b'.' {
            if len == 0 || part == 3 {
                return None;
            }
            out[part] = val as u8;
            part += 1;
            val = 0;
            len = 0;
        } else if c.is_ascii_digit() {
            // No leading zeros, as the std parser refuses them too.
            if len > 0 && val == 0 {
                return None;
            }
            val = val * 10 + u32::from(c - b'0');
            len += 1;
            if val > 255 {
                return None;
            }
        } else {
            return None;
        }
    }
    if part != 3 || len == 0 {
        return None;
    }
    out[3] = val as u8;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_fast_path_agrees_with_std() {
        for s in [
            "10.0.1.116",
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3",
            "01.2.3.4",
            "1..2.3",
            "256.1.1.1",
            "1.2.3.4.",
        ] {
            let fast = parse_ipv4(s.as_bytes()).map(std::net::Ipv4Addr::from);
            assert_eq!(fast, s.parse().ok(), "{s}");
        }
    }
}
