//! Line formats other than Hubble: AWS VPC flow logs (v2 and any header-driven field order),
//! and plain CSV / JSONL connection lists.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::event::{
    Action, Endpoint, EventKind, FlowEvent, Icmp, L4, Observed, SctpChunk, TcpFlags,
};
use crate::hubble::parse_ip;
use crate::json::Cursor;
use crate::report::Gap;
use crate::time::parse_any;

/// What one line holds.
// Built and consumed per line, never stored: boxing the flow would cost an allocation per line.
#[allow(clippy::large_enum_variant)]
pub(crate) enum TextLine<'a> {
    Flow(FlowEvent<'a>),
    Gap(Gap),
    /// A header, comment or blank line.
    Skip,
    /// A Hubble flow without an `IP` section: skipped, and counted as such.
    WithoutIp,
}

type LResult<T> = Result<T, Cow<'static, str>>;

/// The field order of the VPC flow log v2 default format.
pub(crate) const VPC_DEFAULT_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// Column positions of a VPC flow log, from its header line.
#[derive(Clone, Debug)]
pub(crate) struct VpcColumns {
    interface: Option<usize>,
    src: usize,
    dst: usize,
    src_port: usize,
    dst_port: usize,
    protocol: usize,
    packets: Option<usize>,
    bytes: Option<usize>,
    start: usize,
    end: Option<usize>,
    action: usize,
    status: Option<usize>,
    width: usize,
}

impl VpcColumns {
    /// Reads a header line; `None` if it lacks a required field.
    pub fn from_header(line: &str) -> Option<VpcColumns> {
        let names: Vec<&str> = line.split_ascii_whitespace().collect();
        let find = |n: &str| names.iter().position(|&x| x == n);
        Some(VpcColumns {
            interface: find("interface-id"),
            src: find("srcaddr")?,
            dst: find("dstaddr")?,
            src_port: find("srcport")?,
            dst_port: find("dstport")?,
            protocol: find("protocol")?,
            packets: find("packets"),
            bytes: find("bytes"),
            start: find("start")?,
            end: find("end"),
            action: find("action")?,
            status: find("log-status"),
            width: names.len(),
        })
    }

    /// The v2 default columns, for files without a header line.
    pub fn default_v2() -> VpcColumns {
        VpcColumns::from_header(VPC_DEFAULT_HEADER).expect("the default header is complete")
    }

    pub fn parse<'a>(&self, line: &'a str) -> LResult<TextLine<'a>> {
        let mut fields: [&str; 32] = [""; 32];
        let mut n = 0;
        for f in line.split_ascii_whitespace() {
            if n == fields.len() {
                return Err("too many fields".into());
            }
            fields[n] = f;
            n += 1;
        }
        if n == 0 {
            return Ok(TextLine::Skip);
        }
        if fields[0] == "version" {
            return Ok(TextLine::Skip);
        }
        if n != self.width {
            return Err(format!("expected {} fields, found {n}", self.width).into());
        }
        let start_s = fields[self.start];
        let start_ns = parse_secs(start_s)?;
        let interface = self.interface.map(|i| fields[i]);
        if let Some(status) = self.status.map(|i| fields[i])
            && (status == "NODATA" || status == "SKIPDATA")
        {
            // NODATA: no traffic in the window (a quiet interface, not a loss); SKIPDATA:
            // records were skipped (capacity or error): a real gap. Both are gaps in the record.
            return Ok(TextLine::Gap(Gap {
                time_ns: Some(start_ns),
                lost: 0,
                source: status.to_string(),
                node: interface.map(str::to_string),
                line: 0,
            }));
        }
        let src = ip(fields[self.src])?;
        let dst = ip(fields[self.dst])?;
        let src_port = port(fields[self.src_port])?;
        let dst_port = port(fields[self.dst_port])?;
        let proto: u8 = fields[self.protocol]
            .parse()
            .map_err(|_| "protocol is not a number")?;
        let action = match fields[self.action] {
            "ACCEPT" => Action::Accept,
            "REJECT" => Action::Reject,
            other => return Err(format!("unknown action {other:?}").into()),
        };
        let count = |i: Option<usize>| -> LResult<u64> {
            match i.map(|i| fields[i]) {
                None | Some("-") => Ok(0),
                Some(s) => s.parse().map_err(|_| "count is not a number".into()),
            }
        };
        let end_ns = match self.end {
            Some(i) => parse_secs(fields[i])?,
            None => start_ns,
        };
        Ok(TextLine::Flow(FlowEvent {
            time_ns: start_ns,
            src,
            dst,
            src_port,
            dst_port,
            l4: l4_from_number(proto, src.is_ipv6()),
            kind: EventKind::Aggregate {
                action,
                packets: count(self.packets)?,
                bytes: count(self.bytes)?,
                end_ns,
            },
            is_reply: None,
            node: interface.map(Cow::Borrowed),
            src_endpoint: None,
            dst_endpoint: None,
        }))
    }
}

fn parse_secs(s: &str) -> LResult<i64> {
    let secs: i64 = s.parse().map_err(|_| "start/end is not Unix seconds")?;
    secs.checked_mul(1_000_000_000)
        .ok_or_else(|| "time out of range".into())
}

fn ip(s: &str) -> LResult<IpAddr> {
    parse_ip(s.as_bytes()).map_err(|_| format!("invalid IP address {s:?}").into())
}

fn port(s: &str) -> LResult<u16> {
    if s == "-" {
        return Ok(0);
    }
    s.parse().map_err(|_| format!("invalid port {s:?}").into())
}

/// The L4 of an IANA protocol number, without packet details.
pub(crate) fn l4_from_number(proto: u8, v6: bool) -> L4 {
    match proto {
        6 => L4::Tcp(TcpFlags(0)),
        17 => L4::Udp,
        132 => L4::Sctp(SctpChunk::Other(0)),
        1 | 58 => L4::Icmp(Icmp {
            v6: v6 || proto == 58,
            icmp_type: 0,
            code: 0,
            quoted: None,
        }),
        p => L4::Other(p),
    }
}

fn protocol(s: &str) -> LResult<L4> {
    let s = s.trim();
    let p = if s.eq_ignore_ascii_case("tcp") {
        6
    } else if s.eq_ignore_ascii_case("udp") {
        17
    } else if s.eq_ignore_ascii_case("sctp") {
        132
    } else {
        s.parse().map_err(|_| format!("unknown protocol {s:?}"))?
    };
    Ok(l4_from_number(p, false))
}

/// The columns of a plain connection list (CSV header or JSONL keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Time,
    Src,
    Dst,
    SrcPort,
    DstPort,
    Protocol,
    Outcome,
    SrcNamespace,
    SrcPod,
    DstNamespace,
    DstPod,
    Node,
    Ignored,
}

fn field(name: &str) -> Field {
    match name.trim().to_ascii_lowercase().as_str() {
        "time" | "timestamp" | "start" => Field::Time,
        "src" | "src_ip" | "source" | "srcaddr" => Field::Src,
        "dst" | "dst_ip" | "destination" | "dstaddr" => Field::Dst,
        "src_port" | "sport" | "srcport" => Field::SrcPort,
        "dst_port" | "dport" | "dstport" | "port" => Field::DstPort,
        "protocol" | "proto" => Field::Protocol,
        "outcome" | "result" => Field::Outcome,
        "src_namespace" => Field::SrcNamespace,
        "src_pod" => Field::SrcPod,
        "dst_namespace" => Field::DstNamespace,
        "dst_pod" => Field::DstPod,
        "node" | "node_name" => Field::Node,
        _ => Field::Ignored,
    }
}

/// The fields of one row, before checking.
#[derive(Default)]
struct Row<'a> {
    time: Option<i64>,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    src_port: u16,
    dst_port: Option<u16>,
    l4: Option<L4>,
    outcome: Option<Observed>,
    src_ns: Option<Cow<'a, str>>,
    src_pod: Option<Cow<'a, str>>,
    dst_ns: Option<Cow<'a, str>>,
    dst_pod: Option<Cow<'a, str>>,
    node: Option<Cow<'a, str>>,
}

impl<'a> Row<'a> {
    fn set(&mut self, f: Field, v: Cow<'a, str>) -> LResult<()> {
        let s = v.trim();
        if s.is_empty() {
            return Ok(());
        }
        match f {
            Field::Time => {
                self.time =
                    Some(parse_any(s.as_bytes()).ok_or_else(|| format!("invalid time {s:?}"))?)
            }
            Field::Src => self.src = Some(ip(s)?),
            Field::Dst => self.dst = Some(ip(s)?),
            Field::SrcPort => self.src_port = port(s)?,
            Field::DstPort => self.dst_port = Some(port(s)?),
            Field::Protocol => self.l4 = Some(protocol(s)?),
            Field::Outcome => {
                self.outcome =
                    Some(Observed::parse(s).ok_or_else(|| format!("unknown outcome {s:?}"))?)
            }
            Field::SrcNamespace => self.src_ns = Some(v),
            Field::SrcPod => self.src_pod = Some(v),
            Field::DstNamespace => self.dst_ns = Some(v),
            Field::DstPod => self.dst_pod = Some(v),
            Field::Node => self.node = Some(v),
            Field::Ignored => {}
        }
        Ok(())
    }

    fn finish(self) -> LResult<FlowEvent<'a>> {
        let endpoint = |ns: Option<Cow<'a, str>>, pod: Option<Cow<'a, str>>| {
            (ns.is_some() || pod.is_some()).then(|| Endpoint {
                namespace: ns.unwrap_or_default(),
                pod_name: pod.unwrap_or_default(),
                labels: Default::default(),
            })
        };
        Ok(FlowEvent {
            time_ns: self.time.ok_or("missing time")?,
            src: self.src.ok_or("missing src")?,
            dst: self.dst.ok_or("missing dst")?,
            src_port: self.src_port,
            dst_port: self.dst_port.ok_or("missing dst_port")?,
            l4: self.l4.unwrap_or(L4::Tcp(TcpFlags(0))),
            kind: EventKind::Attempt {
                outcome: self.outcome,
            },
            is_reply: None,
            node: self.node,
            src_endpoint: endpoint(self.src_ns, self.src_pod),
            dst_endpoint: endpoint(self.dst_ns, self.dst_pod),
        })
    }
}

/// Column order of a CSV file, from its header.
#[derive(Clone, Debug)]
pub(crate) struct CsvColumns {
    fields: Vec<Field>,
}

impl CsvColumns {
    /// Reads the header; it must name at least time, src, dst and dst_port.
    pub fn from_header(line: &str) -> LResult<CsvColumns> {
        let fields: Vec<Field> = line.split(',').map(|n| field(unquote(n))).collect();
        for (need, name) in [
            (Field::Time, "time"),
            (Field::Src, "src"),
            (Field::Dst, "dst"),
            (Field::DstPort, "dst_port"),
        ] {
            if !fields.contains(&need) {
                return Err(format!("CSV header lacks a {name} column").into());
            }
        }
        Ok(CsvColumns { fields })
    }

    pub fn parse<'a>(&self, line: &'a str) -> LResult<TextLine<'a>> {
        let mut row = Row::default();
        let mut n = 0;
        for (i, v) in line.split(',').enumerate() {
            let f = *self.fields.get(i).ok_or("more fields than the header")?;
            row.set(f, Cow::Borrowed(unquote(v)))?;
            n = i + 1;
        }
        if n < self.fields.len() {
            return Err(format!("expected {} fields, found {n}", self.fields.len()).into());
        }
        row.finish().map(TextLine::Flow)
    }
}

/// Strips spaces and one pair of double quotes (quoted commas are not supported).
fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Parses one JSONL connection object.
pub(crate) fn parse_jsonl(line: &[u8]) -> LResult<TextLine<'_>> {
    let mut c = Cursor::new(line);
    let mut row = Row::default();
    let mut err: Option<Cow<'static, str>> = None;
    c.object(|c, k| {
        let f = field(std::str::from_utf8(k).unwrap_or(""));
        if f == Field::Ignored {
            return c.skip();
        }
        let v: Cow<'_, str> = match c.peek() {
            Some(b'"') => c.string()?.decode()?,
            Some(b'n') => {
                c.skip()?;
                return Ok(());
            }
            _ => {
                let raw = c.raw_value()?;
                Cow::Borrowed(std::str::from_utf8(raw).map_err(|_| "invalid UTF-8")?)
            }
        };
        if let Err(e) = row.set(f, v) {
            err.get_or_insert(e);
        }
        Ok(())
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    if !c.at_end() {
        return Err("trailing characters after the JSON object".into());
    }
    row.finish().map(TextLine::Flow)
}
