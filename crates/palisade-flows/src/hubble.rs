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

/// A dotted quad as the std parser accepts it (four decimal parts of one to three digits, no
/// leading zeros, each at most 255), part by part rather than a byte at a time with a state.
/// `None` for anything else, which the caller hands to the std parser.
#[inline]
fn parse_ipv4(b: &[u8]) -> Option<[u8; 4]> {
    #[inline(always)]
    fn digit(b: &[u8], i: usize) -> Option<u32> {
        let d = b.get(i)?.wrapping_sub(b'0');
        (d <= 9).then_some(u32::from(d))
    }
    let mut out = [0u8; 4];
    let mut i = 0;
    for (n, part) in out.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let mut v = digit(b, i)?;
        i += 1;
        if let Some(d) = digit(b, i) {
            if v == 0 {
                return None;
            }
            v = v * 10 + d;
            i += 1;
            if let Some(d) = digit(b, i) {
                v = v * 10 + d;
                i += 1;
            }
        }
        *part = u8::try_from(v).ok()?;
    }
    (i == b.len()).then_some(out)
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

#[cfg(test)]
mod props {
    use std::fmt::Write;

    use proptest::prelude::*;

    use super::*;
    use crate::json::props::{json_value, ws};

    /// Names with the characters JSON must escape, `/`, multi-byte and astral characters.
    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                'a', 'b', 'z', '-', '0', '9', '.', 'é', '😀', '"', '\\', '/', '\n', '\u{1}',
            ]),
            0..14,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    /// `s` as a JSON string literal: what must be escaped is, and where `fancy` says so other
    /// characters are too (`\/`, `\u` escapes, UTF-16 surrogate pairs).
    fn encode(s: &str, fancy: &[bool]) -> String {
        let mut out = String::from("\"");
        for (k, ch) in s.chars().enumerate() {
            let fancy = fancy.get(k % fancy.len().max(1)).copied().unwrap_or(false);
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' if fancy => out.push_str("\\/"),
                c if (c as u32) < 0x20 || fancy => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{u:04x}");
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// Builds JSON text with whitespace between tokens taken in turn from `spaces` (all
    /// empty: compact JSON).
    struct Text<'s> {
        spaces: &'s [&'static str],
        next: usize,
    }

    impl Text<'_> {
        fn ws(&mut self) -> &'static str {
            if self.spaces.is_empty() {
                return "";
            }
            self.next += 1;
            self.spaces[self.next % self.spaces.len()]
        }

        /// An object of `members` with `junk` members (name, value) inserted at their
        /// positions.
        fn object(&mut self, members: &[(&str, String)], junk: &[(usize, &str, String)]) -> String {
            let mut all: Vec<(&str, &str)> =
                members.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for (at, k, v) in junk {
                let at = at % (all.len() + 1);
                all.insert(at, (k, v.as_str()));
            }
            let mut out = format!("{{{}", self.ws());
            for (n, (k, v)) in all.iter().enumerate() {
                if n > 0 {
                    let _ = write!(out, ",{}", self.ws());
                }
                let _ = write!(out, "\"{k}\"{}:{}{v}{}", self.ws(), self.ws(), self.ws());
            }
            out.push('}');
            out
        }
    }

    /// Names of members the reader does not read (at any level it looks into).
    const SKIPPED: &[&str] = &[
        "ethernet",
        "interface",
        "workloads",
        "trace_context",
        "uuid",
        "Summary",
        "event_type",
        "ID",
        "identity",
        "cluster_name",
        "ipVersion",
        "extensions",
        // Names of the same length and first byte as wanted ones: only the whole name
        // decides.
        "tick",
        "vendors",
        "dropped_out",
        "dXXXXXXXXXXXXXXX",
        "IQ",
        "lx",
        "status",
        "traffic_directive",
        "is_relay",
        "node_nick",
        "iXXXXXXXXXXXXXXXX",
        "eXXXXXXXXXXXXXXX",
        "dXXXXXXXXXXXXXXXX",
    ];

    type Junk = Vec<(usize, &'static str, String)>;

    fn junk() -> impl Strategy<Value = Junk> {
        prop::collection::vec(
            (any::<usize>(), prop::sample::select(SKIPPED), json_value()),
            0..4,
        )
    }

    #[derive(Debug, Clone)]
    struct Flow {
        ns: [String; 2],
        pod: [String; 2],
        labels: [Vec<String>; 2],
        ports: [u16; 2],
        ips: [[u8; 4]; 2],
        node: String,
        fancy: Vec<bool>,
        label_spaces: Vec<&'static str>,
    }

    fn flow() -> impl Strategy<Value = Flow> {
        (
            [name(), name()],
            [name(), name()],
            [
                prop::collection::vec(name(), 0..6),
                prop::collection::vec(name(), 0..6),
            ],
            any::<[u16; 2]>(),
            any::<[[u8; 4]; 2]>(),
            name(),
            prop::collection::vec(any::<bool>(), 1..8),
            prop::collection::vec(ws(), 0..8),
        )
            .prop_map(
                |(ns, pod, labels, ports, ips, node, fancy, label_spaces)| Flow {
                    ns,
                    pod,
                    labels,
                    ports,
                    ips,
                    node,
                    fancy,
                    label_spaces,
                },
            )
    }

    /// One `GetFlowsResponse` line for `f`, with `junk` members in the flow, the IP section,
    /// both endpoints and the envelope, and whitespace from `spaces`.
    fn line(f: &Flow, junk: &[Junk; 5], spaces: &[&'static str]) -> String {
        let mut t = Text { spaces, next: 0 };
        let ip = |a: [u8; 4]| format!("\"{}.{}.{}.{}\"", a[0], a[1], a[2], a[3]);
        let endpoint = |t: &mut Text<'_>, k: usize, junk: &Junk| {
            // The labels are kept as raw text: the same whitespace in every line of a case.
            let mut lt = Text {
                spaces: &f.label_spaces,
                next: 0,
            };
            let labels: Vec<String> = f.labels[k]
                .iter()
                .map(|l| format!("{}{}{}", lt.ws(), encode(l, &f.fancy), lt.ws()))
                .collect();
            let labels = format!("[{}{}]", labels.join(","), lt.ws());
            t.object(
                &[
                    ("namespace", encode(&f.ns[k], &f.fancy)),
                    ("labels", labels),
                    ("pod_name", encode(&f.pod[k], &f.fancy)),
                ],
                junk,
            )
        };
        let ips = t.object(
            &[("source", ip(f.ips[0])), ("destination", ip(f.ips[1]))],
            &junk[1],
        );
        let flags = t.object(&[("SYN", "true".into()), ("ACK", "false".into())], &[]);
        let tcp = t.object(
            &[
                ("source_port", f.ports[0].to_string()),
                ("destination_port", f.ports[1].to_string()),
                ("flags", flags),
            ],
            &[],
        );
        let l4 = t.object(&[("TCP", tcp)], &[]);
        let src = endpoint(&mut t, 0, &junk[2]);
        let dst = endpoint(&mut t, 1, &junk[3]);
        let time = "\"2026-09-20T00:00:00.000401196Z\"".to_string();
        let flow = t.object(
            &[
                ("time", time.clone()),
                ("verdict", "\"FORWARDED\"".into()),
                ("IP", ips),
                ("l4", l4),
                ("source", src),
                ("destination", dst),
                ("node_name", encode(&f.node, &f.fancy)),
                ("traffic_direction", "\"EGRESS\"".into()),
                ("is_reply", "false".into()),
            ],
            &junk[0],
        );
        let envelope = t.object(
            &[
                ("flow", flow),
                ("node_name", encode(&f.node, &f.fancy)),
                ("time", time),
            ],
            &junk[4],
        );
        format!("{}{envelope}{}", t.ws(), t.ws())
    }

    proptest! {
        /// The dotted-quad fast path accepts exactly what the std parser accepts, with the
        /// same value.
        #[test]
        fn ipv4_fast_path_matches_std(
            text in prop::collection::vec(prop::sample::select(b"0123456789.".to_vec()), 0..18),
            quad in any::<[u8; 4]>(),
        ) {
            let quad = format!("{}.{}.{}.{}", quad[0], quad[1], quad[2], quad[3]);
            for t in [&text[..], quad.as_bytes()] {
                let std = std::str::from_utf8(t).ok().and_then(|s| s.parse::<std::net::Ipv4Addr>().ok());
                prop_assert_eq!(parse_ipv4(t).map(std::net::Ipv4Addr::from), std);
            }
        }

        /// A Hubble line with skipped members of any shape (nested values, escapes, brackets
        /// inside strings) anywhere and whitespace between tokens parses to the same flow as
        /// the compact line without them, and that flow holds the generated values (the
        /// names decoded as serde_json decodes them, the labels as their exact text).
        #[test]
        fn skipped_members_and_whitespace_do_not_change_the_flow(
            f in flow(),
            junk in [junk(), junk(), junk(), junk(), junk()],
            spaces in prop::collection::vec(ws(), 0..40),
        ) {
            let plain = line(&f, &Default::default(), &[]);
            let noisy = line(&f, &junk, &spaces);
            let parsed = |text: &str| match parse_line(text.as_bytes()) {
                Ok(HubbleLine::Flow(e)) => Ok(format!("{e:?}")),
                Ok(_) => Err("not a flow".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let expected = parsed(&plain);
            prop_assert!(expected.is_ok(), "{:?} on {}", expected, plain);
            prop_assert_eq!(parsed(&noisy), expected, "{}", noisy);

            let Ok(HubbleLine::Flow(e)) = parse_line(noisy.as_bytes()) else {
                unreachable!("checked above");
            };
            let reference: serde_json::Value = serde_json::from_str(&noisy).expect("valid JSON");
            let flow = &reference["flow"];
            for (k, ep) in [&e.src_endpoint, &e.dst_endpoint].into_iter().enumerate() {
                let ep = ep.as_ref().expect("endpoint");
                let side = &flow[["source", "destination"][k]];
                prop_assert_eq!(ep.namespace.as_ref(), side["namespace"].as_str().unwrap());
                prop_assert_eq!(ep.namespace.as_ref(), f.ns[k].as_str());
                prop_assert_eq!(ep.pod_name.as_ref(), f.pod[k].as_str());
                let labels: Vec<String> = ep.labels.iter().map(|l| l.into_owned()).collect();
                prop_assert_eq!(&labels, &f.labels[k]);
            }
            prop_assert_eq!(e.node.as_deref(), Some(f.node.as_str()));
            prop_assert_eq!((e.src_port, e.dst_port), (f.ports[0], f.ports[1]));
            prop_assert_eq!(e.src, IpAddr::from(f.ips[0]));
            prop_assert_eq!(e.dst, IpAddr::from(f.ips[1]));
        }
    }
}
