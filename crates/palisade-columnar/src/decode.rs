//! Record batches (the flow schema, or Hubble-exporter and AWS VPC flow log layouts) back
//! into [`FlowEvent`]s.
//!
//! Columns are found by name after nested structs are flattened into dotted names
//! (`flow.IP.source`), a leading `flow.` dropped. Integer columns of any width and sign,
//! string columns (plain, large, view or dictionary) and timestamp columns of any unit are
//! accepted, so Parquet written by other tools reads without a cast.

use std::borrow::Cow;
use std::net::IpAddr;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, BooleanArray, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use palisade_flows::{
    Action, Endpoint, EventKind, FlowEvent, Gap, HubbleInfo, Icmp, L4, Observed, PolicyList,
    Quoted, SctpChunk, StrList, TcpFlags, TrafficDirection, Verdict,
};
use rustc_hash::FxHashMap;

use crate::Error;
use crate::schema::flow as col;

/// Which layout a batch has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Palisade's flow schema ([`crate::flow_schema`]).
    Palisade,
    /// Hubble flows as the exporter writes them (`GetFlowsResponse` JSON: `flow.IP.source`,
    /// `flow.l4.TCP.flags.SYN` ...), flattened or as nested structs.
    Hubble,
    /// AWS VPC flow logs' Parquet option (`srcaddr`, `dstaddr`, `start`, `action` ...).
    VpcFlowLog,
}

impl Layout {
    /// `palisade`, `hubble` or `vpc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Palisade => "palisade",
            Layout::Hubble => "hubble",
            Layout::VpcFlowLog => "vpc",
        }
    }
}

/// An integer column of any primitive integer type, or a timestamp (scaled to ns).
#[derive(Clone, Copy)]
pub(crate) enum Ints<'b> {
    I8(&'b PrimitiveArray<Int8Type>),
    I16(&'b PrimitiveArray<Int16Type>),
    I32(&'b PrimitiveArray<Int32Type>),
    I64(&'b PrimitiveArray<Int64Type>),
    TsS(&'b PrimitiveArray<TimestampSecondType>),
    TsMs(&'b PrimitiveArray<TimestampMillisecondType>),
    TsUs(&'b PrimitiveArray<TimestampMicrosecondType>),
    TsNs(&'b PrimitiveArray<TimestampNanosecondType>),
    U8(&'b PrimitiveArray<UInt8Type>),
    U16(&'b PrimitiveArray<UInt16Type>),
    U32(&'b PrimitiveArray<UInt32Type>),
    U64(&'b PrimitiveArray<UInt64Type>),
}

impl<'b> Ints<'b> {
    fn of(a: &'b ArrayRef) -> Option<Ints<'b>> {
        Some(match a.data_type() {
            DataType::Int8 => Ints::I8(a.as_primitive()),
            DataType::Int16 => Ints::I16(a.as_primitive()),
            DataType::Int32 => Ints::I32(a.as_primitive()),
            DataType::Int64 => Ints::I64(a.as_primitive()),
            DataType::UInt8 => Ints::U8(a.as_primitive()),
            DataType::UInt16 => Ints::U16(a.as_primitive()),
            DataType::UInt32 => Ints::U32(a.as_primitive()),
            DataType::UInt64 => Ints::U64(a.as_primitive()),
            DataType::Timestamp(TimeUnit::Second, _) => Ints::TsS(a.as_primitive()),
            DataType::Timestamp(TimeUnit::Millisecond, _) => Ints::TsMs(a.as_primitive()),
            DataType::Timestamp(TimeUnit::Microsecond, _) => Ints::TsUs(a.as_primitive()),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => Ints::TsNs(a.as_primitive()),
            _ => return None,
        })
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<i64> {
        macro_rules! v {
            ($a:expr) => {
                if $a.is_null(i) {
                    None
                } else {
                    Some(i64::try_from($a.value(i)).ok()?)
                }
            };
        }
        match self {
            Ints::I8(a) => v!(a),
            Ints::I16(a) => v!(a),
            Ints::I32(a) => v!(a),
            Ints::I64(a) => v!(a),
            Ints::TsS(a) => v!(a)?.checked_mul(1_000_000_000),
            Ints::TsMs(a) => v!(a)?.checked_mul(1_000_000),
            Ints::TsUs(a) => v!(a)?.checked_mul(1_000),
            Ints::TsNs(a) => v!(a),
            Ints::U8(a) => v!(a),
            Ints::U16(a) => v!(a),
            Ints::U32(a) => v!(a),
            Ints::U64(a) => v!(a),
        }
    }
}

/// A string column: plain, large, view or dictionary-encoded.
#[derive(Clone, Copy)]
pub(crate) enum Strs<'b> {
    Utf8(&'b arrow_array::StringArray),
    Large(&'b arrow_array::LargeStringArray),
    View(&'b arrow_array::StringViewArray),
    Dict(&'b PrimitiveArray<Int32Type>, &'b arrow_array::StringArray),
}

impl<'b> Strs<'b> {
    fn of(a: &'b ArrayRef) -> Option<Strs<'b>> {
        Some(match a.data_type() {
            DataType::Utf8 => Strs::Utf8(a.as_string()),
            DataType::LargeUtf8 => Strs::Large(a.as_string()),
            DataType::Utf8View => Strs::View(a.as_string_view()),
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                let d = a.as_dictionary::<Int32Type>();
                Strs::Dict(d.keys(), d.values().as_string_opt()?)
            }
            _ => return None,
        })
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'b str> {
        match self {
            Strs::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strs::Dict(k, v) => {
                if k.is_null(i) {
                    return None;
                }
                let key = usize::try_from(k.value(i)).ok()?;
                (key < v.len() && !v.is_null(key)).then(|| v.value(key))
            }
        }
    }
}

/// A list of strings, or its JSON text.
#[derive(Clone, Copy)]
enum StrLists<'b> {
    Json(Strs<'b>),
    List(&'b arrow_array::ListArray),
}

impl<'b> StrLists<'b> {
    fn of(a: &'b ArrayRef) -> Option<StrLists<'b>> {
        if let Some(s) = Strs::of(a) {
            return Some(StrLists::Json(s));
        }
        match a.data_type() {
            DataType::List(f) if matches!(f.data_type(), DataType::Utf8) => {
                Some(StrLists::List(a.as_list::<i32>()))
            }
            _ => None,
        }
    }

    /// The JSON text of row `i`, written into `scratch` when the column is a list.
    fn json<'s>(&self, i: usize, scratch: &'s mut String) -> Option<&'s str>
    where
        'b: 's,
    {
        match self {
            StrLists::Json(s) => s.get(i),
            StrLists::List(l) => {
                if l.is_null(i) {
                    return None;
                }
                let values = l.value(i);
                let values = values.as_string::<i32>();
                scratch.clear();
                scratch.push('[');
                for (n, v) in values.iter().flatten().enumerate() {
                    if n > 0 {
                        scratch.push(',');
                    }
                    json_string(scratch, v);
                }
                scratch.push(']');
                Some(scratch.as_str())
            }
        }
    }
}

/// Appends `s` as a JSON string.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Time: integer nanoseconds (or a timestamp), integer seconds (VPC), or RFC 3339 text.
#[derive(Clone, Copy)]
enum Time<'b> {
    Ints(Ints<'b>, i64),
    Text(Strs<'b>),
}

impl Time<'_> {
    fn get(&self, i: usize) -> Result<i64, &'static str> {
        match self {
            Time::Ints(a, scale) => a
                .get(i)
                .ok_or("the time is null")?
                .checked_mul(*scale)
                .ok_or("the time is out of range"),
            Time::Text(s) => {
                let t = s.get(i).ok_or("the time is null")?;
                palisade_flows::parse_rfc3339(t.as_bytes()).ok_or("the time is not RFC 3339")
            }
        }
    }
}

/// The columns of one batch, found by name, ready to decode row by row.
pub struct FlowColumns<'b> {
    layout: Layout,
    rows: usize,
    time: Time<'b>,
    end_time: Option<Time<'b>>,
    kind: Option<Strs<'b>>,
    pub(crate) src_ip: Strs<'b>,
    pub(crate) dst_ip: Strs<'b>,
    /// Candidates, first non-null wins (Hubble has one pair per L4 protocol).
    pub(crate) src_port: Vec<Ints<'b>>,
    pub(crate) dst_port: Vec<Ints<'b>>,
    /// The protocol number column, or (Hubble) protocols by which L4 section is present.
    pub(crate) protocol: Option<Ints<'b>>,
    l4_present: Vec<(u8, Ints<'b>)>,
    tcp_flags: Option<Ints<'b>>,
    tcp_flag_bools: Vec<(u16, &'b BooleanArray)>,
    sctp_chunk: Option<Ints<'b>>,
    icmp: Vec<(bool, Ints<'b>, Option<Ints<'b>>)>,
    quoted: Option<(Strs<'b>, Strs<'b>, Ints<'b>, Ints<'b>, Ints<'b>)>,
    pub(crate) is_reply: Option<&'b BooleanArray>,
    node: Option<Strs<'b>>,
    pub(crate) src_namespace: Option<Strs<'b>>,
    pub(crate) src_pod: Option<Strs<'b>>,
    src_labels: Option<StrLists<'b>>,
    pub(crate) dst_namespace: Option<Strs<'b>>,
    pub(crate) dst_pod: Option<Strs<'b>>,
    dst_labels: Option<StrLists<'b>>,
    verdict: Option<VerdictCol<'b>>,
    drop_reason: Option<Strs<'b>>,
    drop_reason_code: Option<Ints<'b>>,
    traffic_direction: Option<Strs<'b>>,
    ingress_denied_by: Option<Strs<'b>>,
    egress_denied_by: Option<Strs<'b>>,
    destination_names: Option<StrLists<'b>>,
    dns_query: Option<Strs<'b>>,
    dns_ips: Option<StrLists<'b>>,
    action: Option<Strs<'b>>,
    packets: Option<Ints<'b>>,
    bytes: Option<Ints<'b>>,
    outcome: Option<Strs<'b>>,
    wire_len: Option<Ints<'b>>,
    log_status: Option<Strs<'b>>,
}

/// Hubble's verdict as text or as the protobuf enum number.
#[derive(Clone, Copy)]
enum VerdictCol<'b> {
    Text(Strs<'b>),
    Number(Ints<'b>),
}

impl VerdictCol<'_> {
    fn get(&self, i: usize) -> Verdict {
        match self {
            VerdictCol::Text(s) => s
                .get(i)
                .map_or(Verdict::Unknown, |v| Verdict::parse(v.as_bytes())),
            VerdictCol::Number(n) => match n.get(i) {
                Some(1) => Verdict::Forwarded,
                Some(2) => Verdict::Dropped,
                Some(3) => Verdict::Error,
                Some(4) => Verdict::Audit,
                Some(5) => Verdict::Redirected,
                Some(6) => Verdict::Traced,
                Some(7) => Verdict::Translated,
                _ => Verdict::Unknown,
            },
        }
    }
}

/// One decoded row.
#[allow(clippy::large_enum_variant)] // flows are the common case, built in place
pub enum Row<'s> {
    /// A flow event.
    Flow(FlowEvent<'s>),
    /// A gap in the record (VPC `NODATA` / `SKIPDATA`).
    Gap(Gap),
    /// A well-formed row with nothing to sessionize (a Hubble flow without IP addresses).
    WithoutIp,
}

/// Per-row scratch space for values that must be built (labels given as lists).
#[derive(Default)]
pub struct Scratch {
    src_labels: String,
    dst_labels: String,
    destination_names: String,
    dns_ips: String,
}

fn flatten<'b>(
    prefix: &str,
    name: &str,
    a: &'b ArrayRef,
    out: &mut FxHashMap<String, &'b ArrayRef>,
) {
    let full = if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    };
    if let DataType::Struct(fields) = a.data_type() {
        let s = a.as_struct();
        for (f, child) in fields.iter().zip(s.columns()) {
            flatten(&full, f.name(), child, out);
        }
    } else {
        out.insert(full, a);
    }
}

struct Columns<'b> {
    by_name: FxHashMap<String, &'b ArrayRef>,
}

impl<'b> Columns<'b> {
    fn new(batch: &'b RecordBatch) -> Self {
        let mut by_name = FxHashMap::default();
        for (f, a) in batch.schema_ref().fields().iter().zip(batch.columns()) {
            flatten("", f.name(), a, &mut by_name);
        }
        // `flow.IP.source` answers to `IP.source` too (exporter files wrap the flow).
        let stripped: Vec<(String, &ArrayRef)> = by_name
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("flow.")?.to_string(), *v)))
            .collect();
        for (k, v) in stripped {
            by_name.entry(k).or_insert(v);
        }
        Columns { by_name }
    }

    fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    fn array(&self, names: &[&str]) -> Option<&'b ArrayRef> {
        names.iter().find_map(|n| self.by_name.get(*n).copied())
    }

    fn ints(&self, names: &[&str]) -> Result<Option<Ints<'b>>, Error> {
        match self.array(names) {
            None => Ok(None),
            Some(a) => Ints::of(a)
                .map(Some)
                .ok_or_else(|| type_error(names[0], a, "an integer")),
        }
    }

    fn strs(&self, names: &[&str]) -> Result<Option<Strs<'b>>, Error> {
        match self.array(names) {
            None => Ok(None),
            Some(a) => Strs::of(a)
                .map(Some)
                .ok_or_else(|| type_error(names[0], a, "a string")),
        }
    }

    fn bools(&self, names: &[&str]) -> Result<Option<&'b BooleanArray>, Error> {
        match self.array(names) {
            None => Ok(None),
            Some(a) => a
                .as_boolean_opt()
                .map(Some)
                .ok_or_else(|| type_error(names[0], a, "a boolean")),
        }
    }

    fn str_lists(&self, names: &[&str]) -> Result<Option<StrLists<'b>>, Error> {
        match self.array(names) {
            None => Ok(None),
            Some(a) => StrLists::of(a)
                .map(Some)
                .ok_or_else(|| type_error(names[0], a, "a string or a list of strings")),
        }
    }

    fn required<T>(&self, v: Option<T>, names: &[&str], layout: Layout) -> Result<T, Error> {
        v.ok_or_else(|| Error::MissingColumn {
            column: names.join(" or "),
            layout: layout.as_str(),
        })
    }

    fn time(&self, names: &[&str], int_scale: i64) -> Result<Option<Time<'b>>, Error> {
        let Some(a) = self.array(names) else {
            return Ok(None);
        };
        if let Some(s) = Strs::of(a) {
            return Ok(Some(Time::Text(s)));
        }
        let scale = if matches!(a.data_type(), DataType::Timestamp(..)) {
            1
        } else {
            int_scale
        };
        match Ints::of(a) {
            Some(i) => Ok(Some(Time::Ints(i, scale))),
            None => Err(type_error(
                names[0],
                a,
                "an integer, a timestamp or RFC 3339 text",
            )),
        }
    }
}

fn type_error(column: &str, a: &ArrayRef, expected: &'static str) -> Error {
    Error::ColumnType {
        column: column.to_string(),
        found: a.data_type().to_string(),
        expected,
    }
}

impl<'b> FlowColumns<'b> {
    /// Finds the columns of `batch`, detecting its layout (`layout` forces one).
    pub fn new(batch: &'b RecordBatch, layout: Option<Layout>) -> Result<FlowColumns<'b>, Error> {
        let c = Columns::new(batch);
        let layout = match layout {
            Some(l) => l,
            None if c.has(col::KIND) && c.has(col::TIME_NS) => Layout::Palisade,
            None if c.has("srcaddr") && c.has("action") => Layout::VpcFlowLog,
            None if c.has("IP.source") || c.has("verdict") => Layout::Hubble,
            None => {
                return Err(Error::UnknownLayout {
                    columns: batch
                        .schema_ref()
                        .fields()
                        .iter()
                        .take(12)
                        .map(|f| f.name().clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        };
        match layout {
            Layout::Palisade => Self::palisade(&c, batch.num_rows()),
            Layout::Hubble => Self::hubble(&c, batch.num_rows()),
            Layout::VpcFlowLog => Self::vpc(&c, batch.num_rows()),
        }
    }

    fn empty(
        layout: Layout,
        rows: usize,
        time: Time<'b>,
        src_ip: Strs<'b>,
        dst_ip: Strs<'b>,
    ) -> Self {
        FlowColumns {
            layout,
            rows,
            time,
            end_time: None,
            kind: None,
            src_ip,
            dst_ip,
            src_port: Vec::new(),
            dst_port: Vec::new(),
            protocol: None,
            l4_present: Vec::new(),
            tcp_flags: None,
            tcp_flag_bools: Vec::new(),
            sctp_chunk: None,
            icmp: Vec::new(),
            quoted: None,
            is_reply: None,
            node: None,
            src_namespace: None,
            src_pod: None,
            src_labels: None,
            dst_namespace: None,
            dst_pod: None,
            dst_labels: None,
            verdict: None,
            drop_reason: None,
            drop_reason_code: None,
            traffic_direction: None,
            ingress_denied_by: None,
            egress_denied_by: None,
            destination_names: None,
            dns_query: None,
            dns_ips: None,
            action: None,
            packets: None,
            bytes: None,
            outcome: None,
            wire_len: None,
            log_status: None,
        }
    }

    fn palisade(c: &Columns<'b>, rows: usize) -> Result<Self, Error> {
        let l = Layout::Palisade;
        let time = c.required(c.time(&[col::TIME_NS], 1)?, &[col::TIME_NS], l)?;
        let src = c.required(c.strs(&[col::SRC_IP])?, &[col::SRC_IP], l)?;
        let dst = c.required(c.strs(&[col::DST_IP])?, &[col::DST_IP], l)?;
        let mut f = Self::empty(l, rows, time, src, dst);
        f.kind = c.strs(&[col::KIND])?;
        f.src_port = c.ints(&[col::SRC_PORT])?.into_iter().collect();
        f.dst_port = c.ints(&[col::DST_PORT])?.into_iter().collect();
        f.protocol = Some(c.required(c.ints(&[col::PROTOCOL])?, &[col::PROTOCOL], l)?);
        f.tcp_flags = c.ints(&[col::TCP_FLAGS])?;
        f.sctp_chunk = c.ints(&[col::SCTP_CHUNK])?;
        if let Some(t) = c.ints(&[col::ICMP_TYPE])? {
            f.icmp.push((false, t, c.ints(&[col::ICMP_CODE])?));
        }
        if let (Some(a), Some(b), Some(p), Some(q), Some(r)) = (
            c.strs(&[col::QUOTED_SRC_IP])?,
            c.strs(&[col::QUOTED_DST_IP])?,
            c.ints(&[col::QUOTED_SRC_PORT])?,
            c.ints(&[col::QUOTED_DST_PORT])?,
            c.ints(&[col::QUOTED_PROTOCOL])?,
        ) {
            f.quoted = Some((a, b, p, q, r));
        }
        f.is_reply = c.bools(&[col::IS_REPLY])?;
        f.node = c.strs(&[col::NODE])?;
        f.src_namespace = c.strs(&[col::SRC_NAMESPACE])?;
        f.src_pod = c.strs(&[col::SRC_POD])?;
        f.src_labels = c.str_lists(&[col::SRC_LABELS])?;
        f.dst_namespace = c.strs(&[col::DST_NAMESPACE])?;
        f.dst_pod = c.strs(&[col::DST_POD])?;
        f.dst_labels = c.str_lists(&[col::DST_LABELS])?;
        f.verdict = c.strs(&[col::VERDICT])?.map(VerdictCol::Text);
        f.drop_reason = c.strs(&[col::DROP_REASON])?;
        f.drop_reason_code = c.ints(&[col::DROP_REASON_CODE])?;
        f.traffic_direction = c.strs(&[col::TRAFFIC_DIRECTION])?;
        f.ingress_denied_by = c.strs(&[col::INGRESS_DENIED_BY])?;
        f.egress_denied_by = c.strs(&[col::EGRESS_DENIED_BY])?;
        f.destination_names = c.str_lists(&[col::DESTINATION_NAMES])?;
        f.dns_query = c.strs(&[col::DNS_QUERY])?;
        f.dns_ips = c.str_lists(&[col::DNS_IPS])?;
        f.action = c.strs(&[col::ACTION])?;
        f.packets = c.ints(&[col::PACKETS])?;
        f.bytes = c.ints(&[col::BYTES])?;
        f.end_time = c.time(&[col::END_TIME_NS], 1)?;
        f.outcome = c.strs(&[col::OUTCOME])?;
        f.wire_len = c.ints(&[col::WIRE_LEN])?;
        Ok(f)
    }

    fn hubble(c: &Columns<'b>, rows: usize) -> Result<Self, Error> {
        let l = Layout::Hubble;
        let time = c.required(c.time(&["time"], 1)?, &["time"], l)?;
        // Flows without an IP section (L7, some traces) keep null addresses: counted, skipped.
        let src = c.required(c.strs(&["IP.source"])?, &["IP.source"], l)?;
        let dst = c.required(c.strs(&["IP.destination"])?, &["IP.destination"], l)?;
        let mut f = Self::empty(l, rows, time, src, dst);
        for (proto, name) in [(6u8, "TCP"), (17, "UDP"), (132, "SCTP")] {
            if let Some(sp) = c.ints(&[&format!("l4.{name}.source_port")])? {
                f.src_port.push(sp);
                f.l4_present.push((proto, sp));
            }
            if let Some(dp) = c.ints(&[&format!("l4.{name}.destination_port")])? {
                f.dst_port.push(dp);
                f.l4_present.push((proto, dp));
            }
        }
        for (v6, name) in [(false, "ICMPv4"), (true, "ICMPv6")] {
            if let Some(t) = c.ints(&[&format!("l4.{name}.type")])? {
                f.icmp.push((v6, t, c.ints(&[&format!("l4.{name}.code")])?));
                f.l4_present.push((if v6 { 58 } else { 1 }, t));
            }
        }
        for (bit, name) in [
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::ACK, "ACK"),
            (TcpFlags::URG, "URG"),
            (TcpFlags::ECE, "ECE"),
            (TcpFlags::CWR, "CWR"),
            (TcpFlags::NS, "NS"),
        ] {
            if let Some(b) = c.bools(&[&format!("l4.TCP.flags.{name}")])? {
                f.tcp_flag_bools.push((bit, b));
            }
        }
        f.is_reply = c.bools(&["is_reply"])?;
        f.node = c.strs(&["node_name"])?;
        f.src_namespace = c.strs(&["source.namespace"])?;
        f.src_pod = c.strs(&["source.pod_name"])?;
        f.src_labels = c.str_lists(&["source.labels"])?;
        f.dst_namespace = c.strs(&["destination.namespace"])?;
        f.dst_pod = c.strs(&["destination.pod_name"])?;
        f.dst_labels = c.str_lists(&["destination.labels"])?;
        f.verdict = match c.array(&["verdict"]) {
            None => None,
            Some(a) => Some(match (Strs::of(a), Ints::of(a)) {
                (Some(s), _) => VerdictCol::Text(s),
                (None, Some(n)) => VerdictCol::Number(n),
                _ => return Err(type_error("verdict", a, "a string or an integer")),
            }),
        };
        f.drop_reason = c.strs(&["drop_reason_desc"])?;
        f.drop_reason_code = c.ints(&["drop_reason"])?;
        f.traffic_direction = c.strs(&["traffic_direction"])?;
        f.ingress_denied_by = c.strs(&["ingress_denied_by"])?;
        f.egress_denied_by = c.strs(&["egress_denied_by"])?;
        f.destination_names = c.str_lists(&["destination_names"])?;
        f.dns_query = c.strs(&["l7.dns.query"])?;
        f.dns_ips = c.str_lists(&["l7.dns.ips"])?;
        Ok(f)
    }

    fn vpc(c: &Columns<'b>, rows: usize) -> Result<Self, Error> {
        let l = Layout::VpcFlowLog;
        let time = c.required(c.time(&["start"], 1_000_000_000)?, &["start"], l)?;
        let src = c.required(c.strs(&["srcaddr"])?, &["srcaddr"], l)?;
        let dst = c.required(c.strs(&["dstaddr"])?, &["dstaddr"], l)?;
        let mut f = Self::empty(l, rows, time, src, dst);
        f.src_port = c.ints(&["srcport"])?.into_iter().collect();
        f.dst_port = c.ints(&["dstport"])?.into_iter().collect();
        f.protocol = Some(c.required(c.ints(&["protocol"])?, &["protocol"], l)?);
        f.end_time = c.time(&["end"], 1_000_000_000)?;
        f.action = Some(c.required(c.strs(&["action"])?, &["action"], l)?);
        f.packets = c.ints(&["packets"])?;
        f.bytes = c.ints(&["bytes"])?;
        f.node = c.strs(&["interface_id"])?;
        f.log_status = c.strs(&["log_status"])?;
        Ok(f)
    }

    /// The layout found.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The IP protocol number of row `i`.
    #[inline]
    pub(crate) fn ip_proto(&self, i: usize) -> Option<u8> {
        match self.protocol {
            Some(p) => p.get(i).and_then(|p| u8::try_from(p).ok()),
            None => self
                .l4_present
                .iter()
                .find(|(_, a)| a.get(i).is_some())
                .map(|(p, _)| *p),
        }
    }

    #[inline]
    pub(crate) fn port(cols: &[Ints<'_>], i: usize) -> Result<u16, &'static str> {
        match cols.iter().find_map(|c| c.get(i)) {
            None => Ok(0),
            Some(p) => u16::try_from(p).map_err(|_| "a port is out of range"),
        }
    }

    /// Decodes row `i`.
    pub fn row<'s>(&'s self, i: usize, scratch: &'s mut Scratch) -> Result<Row<'s>, String> {
        if let Some(status) = self.log_status.and_then(|s| s.get(i))
            && (status == "NODATA" || status == "SKIPDATA")
        {
            return Ok(Row::Gap(Gap {
                time_ns: self.time.get(i).ok(),
                lost: 0,
                source: status.to_string(),
                node: self.node.and_then(|n| n.get(i)).map(str::to_string),
                line: i as u64 + 1,
            }));
        }
        let time_ns = self.time.get(i)?;
        let (Some(src), Some(dst)) = (self.src_ip.get(i), self.dst_ip.get(i)) else {
            if self.layout == Layout::Hubble {
                return Ok(Row::WithoutIp);
            }
            return Err("an address is null".into());
        };
        let src: IpAddr = src
            .parse()
            .map_err(|_| format!("invalid source address {src:?}"))?;
        let dst: IpAddr = dst
            .parse()
            .map_err(|_| format!("invalid destination address {dst:?}"))?;
        let src_port = Self::port(&self.src_port, i)?;
        let dst_port = Self::port(&self.dst_port, i)?;
        let proto = self
            .ip_proto(i)
            .ok_or("the protocol is missing or invalid")?;
        let small =
            |a: Option<Ints<'_>>| a.and_then(|a| a.get(i)).and_then(|v| u8::try_from(v).ok());
        let l4 = match proto {
            6 => {
                let mut flags = self
                    .tcp_flags
                    .and_then(|f| f.get(i))
                    .and_then(|f| u16::try_from(f).ok())
                    .unwrap_or(0);
                for (bit, b) in &self.tcp_flag_bools {
                    if b.is_valid(i) && b.value(i) {
                        flags |= bit;
                    }
                }
                L4::Tcp(TcpFlags(flags))
            }
            17 => L4::Udp,
            132 => L4::Sctp(SctpChunk::from_type(small(self.sctp_chunk).unwrap_or(0))),
            1 | 58 => {
                let v6 = proto == 58;
                let (icmp_type, code) = self
                    .icmp
                    .iter()
                    .find(|(is6, t, _)| {
                        (*is6 == v6 || self.layout == Layout::Palisade) && t.get(i).is_some()
                    })
                    .map_or((0, 0), |(_, t, c)| {
                        (
                            t.get(i).and_then(|v| u8::try_from(v).ok()).unwrap_or(0),
                            small(*c).unwrap_or(0),
                        )
                    });
                let quoted = match self.quoted {
                    Some((qs, qd, qsp, qdp, qp)) => match (qs.get(i), qd.get(i)) {
                        (Some(s), Some(d)) => Some(Quoted {
                            src: s
                                .parse()
                                .map_err(|_| format!("invalid quoted address {s:?}"))?,
                            dst: d
                                .parse()
                                .map_err(|_| format!("invalid quoted address {d:?}"))?,
                            src_port: Self::port(&[qsp], i)?,
                            dst_port: Self::port(&[qdp], i)?,
                            ip_proto: small(Some(qp)).unwrap_or(0),
                        }),
                        _ => None,
                    },
                    None => None,
                };
                L4::Icmp(Icmp {
                    v6,
                    icmp_type,
                    code,
                    quoted,
                })
            }
            p => L4::Other(p),
        };
        let Scratch {
            src_labels,
            dst_labels,
            destination_names,
            dns_ips,
        } = scratch;
        let src_endpoint = endpoint(
            self.src_namespace,
            self.src_pod,
            self.src_labels,
            i,
            src_labels,
        );
        let dst_endpoint = endpoint(
            self.dst_namespace,
            self.dst_pod,
            self.dst_labels,
            i,
            dst_labels,
        );
        let kind_name = match self.kind {
            Some(k) => k.get(i).ok_or("the kind is null")?,
            None => match self.layout {
                Layout::Hubble => "hubble",
                Layout::VpcFlowLog => "aggregate",
                Layout::Palisade => "packet",
            },
        };
        let kind = match kind_name {
            "packet" => EventKind::Packet {
                wire_len: self
                    .wire_len
                    .and_then(|w| w.get(i))
                    .and_then(|w| u32::try_from(w).ok())
                    .unwrap_or(0),
                dns: &[],
            },
            "hubble" => EventKind::Hubble(HubbleInfo {
                verdict: self.verdict.map_or(Verdict::Unknown, |v| v.get(i)),
                drop_reason: self.drop_reason.and_then(|d| d.get(i)).map(Cow::Borrowed),
                drop_reason_code: self
                    .drop_reason_code
                    .and_then(|d| d.get(i))
                    .and_then(|d| u32::try_from(d).ok())
                    .unwrap_or(0),
                direction: match self.traffic_direction.and_then(|d| d.get(i)) {
                    Some("INGRESS") => Some(TrafficDirection::Ingress),
                    Some("EGRESS") => Some(TrafficDirection::Egress),
                    _ => None,
                },
                ingress_denied_by: PolicyList::from_raw(
                    self.ingress_denied_by
                        .and_then(|d| d.get(i))
                        .unwrap_or("")
                        .as_bytes(),
                ),
                egress_denied_by: PolicyList::from_raw(
                    self.egress_denied_by
                        .and_then(|d| d.get(i))
                        .unwrap_or("")
                        .as_bytes(),
                ),
                destination_names: StrList::from_raw(
                    self.destination_names
                        .and_then(|d| d.json(i, destination_names))
                        .unwrap_or("")
                        .as_bytes(),
                ),
                dns_query: self.dns_query.and_then(|d| d.get(i)).map(Cow::Borrowed),
                dns_ips: StrList::from_raw(
                    self.dns_ips
                        .and_then(|d| d.json(i, dns_ips))
                        .unwrap_or("")
                        .as_bytes(),
                ),
            }),
            "aggregate" => {
                let count = |a: Option<Ints<'_>>| {
                    a.and_then(|a| a.get(i))
                        .and_then(|v| u64::try_from(v).ok())
                        .unwrap_or(0)
                };
                EventKind::Aggregate {
                    action: match self.action.and_then(|a| a.get(i)) {
                        Some("ACCEPT") => Action::Accept,
                        Some("REJECT") => Action::Reject,
                        other => return Err(format!("unknown action {other:?}")),
                    },
                    packets: count(self.packets),
                    bytes: count(self.bytes),
                    end_ns: match self.end_time {
                        Some(t) => t.get(i).unwrap_or(time_ns),
                        None => time_ns,
                    },
                }
            }
            "attempt" => EventKind::Attempt {
                outcome: match self.outcome.and_then(|o| o.get(i)) {
                    None => None,
                    Some(o) => {
                        Some(Observed::parse(o).ok_or_else(|| format!("unknown outcome {o:?}"))?)
                    }
                },
            },
            other => {
                return Err(format!(
                    "unknown kind {other:?} (expected packet, hubble, aggregate or attempt)"
                ));
            }
        };
        Ok(Row::Flow(FlowEvent {
            time_ns,
            src,
            dst,
            src_port,
            dst_port,
            l4,
            kind,
            is_reply: self
                .is_reply
                .and_then(|r| r.is_valid(i).then(|| r.value(i))),
            node: self.node.and_then(|n| n.get(i)).map(Cow::Borrowed),
            src_endpoint,
            dst_endpoint,
        }))
    }
}

fn endpoint<'s>(
    ns: Option<Strs<'s>>,
    pod: Option<Strs<'s>>,
    labels: Option<StrLists<'s>>,
    i: usize,
    scratch: &'s mut String,
) -> Option<Endpoint<'s>> {
    let ns = ns.and_then(|n| n.get(i));
    let pod = pod.and_then(|p| p.get(i));
    if ns.is_none() && pod.is_none() {
        return None;
    }
    let labels = labels.and_then(|l| l.json(i, scratch)).unwrap_or("");
    Some(Endpoint {
        namespace: Cow::Borrowed(ns.unwrap_or("")),
        pod_name: Cow::Borrowed(pod.unwrap_or("")),
        labels: StrList::from_raw(labels.as_bytes()),
    })
}
