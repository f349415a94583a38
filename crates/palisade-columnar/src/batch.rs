//! The engine-facing batch functions: per-flow verdicts and the streaming sessionization
//! of one partition, both over Arrow record batches.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use palisade_flows::{
    EndpointName, Evidence, Observed, ReadReport, ReplyNodes, Session, SessionConfig, Sessionizer,
};
use palisade_model::Protocol;
use palisade_replay::Replayer;
use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHasher};

use crate::decode::{FlowColumns, Layout, Row, Scratch, Strs};
use crate::schema::verdict_schema;
use crate::sessions::{SessionBatchBuilder, decided_text};
use crate::{Error, malformed};

/// The verdict columns of one connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FlowVerdict {
    predicted: &'static str,
    decided_by: Option<Box<str>>,
    proposed_predicted: Option<&'static str>,
    proposed_decided_by: Option<Box<str>>,
    change: Option<&'static str>,
}

/// Per-flow verdicts under a model (and a proposal), with a cache of connections seen.
///
/// Each row is evaluated as the connection it belongs to: a reply-direction row
/// (`is_reply` true) is turned around, so its verdict is the one of the request it answers.
/// Rows whose protocol NetworkPolicy does not know (ICMP, others) and rows that do not
/// decode get null verdicts (counted in [`VerdictFunction::counts`]).
pub struct VerdictFunction<'m> {
    replayer: Replayer<'m>,
    cache: VerdictCache,
    counts: ReadReport,
    layout: Option<Layout>,
}

/// Above this many cached connections the cache starts over (bounded memory).
const VERDICT_CACHE_LIMIT: usize = 1 << 18;
/// Above this many cached endpoints the cache starts over.
const ENDPOINT_CACHE_LIMIT: usize = 1 << 16;

/// An endpoint as a row gives it: its address (text and parsed) and, when the row names
/// it, namespace and pod.
#[derive(Clone, Debug)]
struct EndpointKey {
    text: Box<str>,
    ip: IpAddr,
    named: Option<(Box<str>, Box<str>)>,
}

impl EndpointKey {
    #[inline]
    fn is(&self, text: &str, named: Option<(&str, &str)>) -> bool {
        same(&self.text, text)
            && match (&self.named, named) {
                (None, None) => true,
                (Some((a, b)), Some((c, d))) => same(a, c) && same(b, d),
                _ => false,
            }
    }
}

/// `a == b`, without a `memcmp` call for the short strings addresses and names are.
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    match n {
        // Two overlapping words cover 8..=16 bytes.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        0..8 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// The verdict cache, in three levels so that the per-row work touches one large table:
///
/// * endpoints: the row's address text and names → a small id (a few per pod; hot);
/// * connections: (source id, destination id, protocol, port) → verdict id, a flat
///   open-addressing table of 16-byte slots (one cache line per lookup);
/// * verdicts: the distinct verdict columns (few: one per deciding rule combination).
///
/// A verdict depends only on the addresses, the names, the protocol and the destination
/// port (not on the source port or the time), so the cache is exact.
struct VerdictCache {
    /// Indexes into `endpoints`, by [`endpoint_hash`].
    endpoint_ids: HashTable<u32>,
    endpoints: Vec<EndpointKey>,
    connections: ConnectionTable,
    verdict_ids: FxHashMap<FlowVerdict, u32>,
    verdicts: Vec<FlowVerdict>,
    connection_limit: usize,
    endpoint_limit: usize,
}

impl VerdictCache {
    fn new() -> Self {
        VerdictCache {
            endpoint_ids: HashTable::new(),
            endpoints: Vec::new(),
            connections: ConnectionTable::default(),
            verdict_ids: FxHashMap::default(),
            verdicts: Vec::new(),
            connection_limit: VERDICT_CACHE_LIMIT,
            endpoint_limit: ENDPOINT_CACHE_LIMIT,
        }
    }

    fn clear(&mut self) {
        self.endpoint_ids.clear();
        self.endpoints.clear();
        self.connections.clear();
        self.verdict_ids.clear();
        self.verdicts.clear();
    }

    /// The id of the endpoint with address text `ip` and names `named`; parses the address
    /// the first time.
    #[inline]
    fn endpoint(&mut self, ip: &str, named: Option<(&str, &str)>) -> Result<u32, String> {
        let hash = endpoint_hash(ip, named);
        let endpoints = &self.endpoints;
        if let Some(&id) = self
            .endpoint_ids
            .find(hash, |&id| endpoints[id as usize].is(ip, named))
        {
            return Ok(id);
        }
        let parsed = parse_ip(ip)?;
        let id = self.endpoints.len() as u32;
        self.endpoints.push(EndpointKey {
            text: Box::from(ip),
            ip: parsed,
            named: named.map(|(ns, pod)| (Box::from(ns), Box::from(pod))),
        });
        let endpoints = &self.endpoints;
        self.endpoint_ids.insert_unique(hash, id, |&id| {
            let e = &endpoints[id as usize];
            endpoint_hash(&e.text, as_pair(&e.named))
        });
        Ok(id)
    }

    /// The id of `v` among the distinct verdicts.
    fn intern(&mut self, v: FlowVerdict) -> u32 {
        if let Some(&id) = self.verdict_ids.get(&v) {
            return id;
        }
        let id = self.verdicts.len() as u32;
        self.verdicts.push(v.clone());
        self.verdict_ids.insert(v, id);
        id
    }
}

/// The hash of an endpoint as a row gives it.
#[inline]
fn endpoint_hash(ip: &str, named: Option<(&str, &str)>) -> u64 {
    let mut h = FxHasher::default();
    h.write(ip.as_bytes());
    if let Some((ns, pod)) = named {
        // The lengths keep `a`+`bc` apart from `ab`+`c`.
        h.write_usize(ns.len());
        h.write(ns.as_bytes());
        h.write(pod.as_bytes());
    }
    h.write_usize(ip.len());
    h.finish()
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>()
        .map_err(|_| format!("invalid address {s:?}"))
}

/// One slot of [`ConnectionTable`]: the key and the verdict id (`EMPTY`: a free slot).
#[derive(Clone, Copy)]
struct Slot {
    src: u32,
    dst: u32,
    /// The destination port in the low 16 bits, the protocol number above.
    port_proto: u32,
    verdict: u32,
}

const EMPTY: u32 = u32::MAX;
const FREE: Slot = Slot {
    src: 0,
    dst: 0,
    port_proto: 0,
    verdict: EMPTY,
};

/// Connections → verdict ids: open addressing, linear probing, at most three quarters full
/// (a smaller table misses the cache less; probes stay within a line or two).
#[derive(Default)]
struct ConnectionTable {
    slots: Vec<Slot>,
    len: usize,
}

impl ConnectionTable {
    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = FREE);
        self.len = 0;
    }

    #[inline]
    fn start(&self, src: u32, dst: u32, port_proto: u32) -> usize {
        // Multiplicative hashing: the top bits of the product index the table.
        let k = (u64::from(src) << 32 | u64::from(dst)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(port_proto);
        let h = k.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let bits = self.slots.len().trailing_zeros();
        (h >> (64 - bits)) as usize
    }

    #[inline]
    fn get(&self, src: u32, dst: u32, port_proto: u32) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.start(src, dst, port_proto);
        loop {
            let s = self.slots[i];
            if s.verdict == EMPTY {
                return None;
            }
            if s.src == src && s.dst == dst && s.port_proto == port_proto {
                return Some(s.verdict);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds a connection that is not in the table.
    fn insert(&mut self, src: u32, dst: u32, port_proto: u32, verdict: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let old = std::mem::take(&mut self.slots);
            self.slots = vec![FREE; (old.len() * 2).max(1024)];
            self.len = 0;
            for s in old.into_iter().filter(|s| s.verdict != EMPTY) {
                self.insert(s.src, s.dst, s.port_proto, s.verdict);
            }
        }
        let mask = self.slots.len() - 1;
        let mut i = self.start(src, dst, port_proto);
        while self.slots[i].verdict != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot {
            src,
            dst,
            port_proto,
            verdict,
        };
        self.len += 1;
    }
}

impl<'m> VerdictFunction<'m> {
    /// Evaluates flows with `replayer` (built with the proposal, if any).
    pub fn new(replayer: Replayer<'m>) -> Self {
        VerdictFunction {
            replayer,
            cache: VerdictCache::new(),
            counts: ReadReport::default(),
            layout: None,
        }
    }

    /// Forces the input layout (default: detected per batch).
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Rows seen (`records`), skipped and malformed (with the first ones' row numbers).
    pub fn counts(&self) -> &ReadReport {
        &self.counts
    }

    /// The verdict columns ([`crate::verdict_schema`]) for the rows of `batch`.
    pub fn verdicts(&mut self, batch: &RecordBatch) -> Result<RecordBatch, Error> {
        let cols = FlowColumns::new(batch, self.layout)?;
        let n = cols.len();
        // Without a proposal the proposal's columns are all null: built at the end.
        let mut out = VerdictColumns::with_capacity(n, self.replayer.has_proposed());
        for i in 0..n {
            let v = self.verdict(&cols, i);
            out.push(
                &mut self.counts,
                v.map(|v| v.map(|v| &self.cache.verdicts[v as usize])),
            );
        }
        out.finish()
    }

    /// The index of row `i`'s verdict in the cache; `None` for protocols without one.
    fn verdict(&mut self, cols: &FlowColumns<'_>, i: usize) -> Result<Option<u32>, String> {
        let proto = match row_protocol(cols, i)? {
            Some(p) => p,
            None => return Ok(None),
        };
        let (Some(src), Some(dst)) = (cols.src_ip.get(i), cols.dst_ip.get(i)) else {
            return Ok(None);
        };
        let src_named = named((get(cols.src_namespace, i), get(cols.src_pod, i)));
        let dst_named = named((get(cols.dst_namespace, i), get(cols.dst_pod, i)));
        if self.cache.endpoints.len() + 2 > self.cache.endpoint_limit {
            self.cache.clear();
        }
        let mut src = self.cache.endpoint(src, src_named)?;
        let mut dst = self.cache.endpoint(dst, dst_named)?;
        let (mut src_port, mut dst_port) = (
            FlowColumns::port(&cols.src_port, i)?,
            FlowColumns::port(&cols.dst_port, i)?,
        );
        if is_reply(cols, i) {
            std::mem::swap(&mut src, &mut dst);
            std::mem::swap(&mut src_port, &mut dst_port);
        }
        let port_proto = u32::from(dst_port) | u32::from(proto_number(proto)) << 16;
        if let Some(v) = self.cache.connections.get(src, dst, port_proto) {
            return Ok(Some(v));
        }
        if self.cache.connections.len >= self.cache.connection_limit {
            // Endpoint ids stay valid: only the connections and verdicts start over.
            self.cache.connections.clear();
            self.cache.verdict_ids.clear();
            self.cache.verdicts.clear();
        }
        let (s, d) = (
            &self.cache.endpoints[src as usize],
            &self.cache.endpoints[dst as usize],
        );
        let v = evaluate(
            &mut self.replayer,
            (s.ip, src_port, as_pair(&s.named)),
            (d.ip, dst_port, as_pair(&d.named)),
            proto,
        );
        let id = self.cache.intern(v);
        self.cache.connections.insert(src, dst, port_proto, id);
        Ok(Some(id))
    }
}

/// The protocol of row `i` when NetworkPolicy knows it (`None`: ICMP and others).
fn row_protocol(cols: &FlowColumns<'_>, i: usize) -> Result<Option<Protocol>, String> {
    match cols.ip_proto(i) {
        Some(6) => Ok(Some(Protocol::Tcp)),
        Some(17) => Ok(Some(Protocol::Udp)),
        Some(132) => Ok(Some(Protocol::Sctp)),
        Some(_) => Ok(None),
        None => Err("the protocol is missing or invalid".into()),
    }
}

fn proto_number(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
    }
}

fn is_reply(cols: &FlowColumns<'_>, i: usize) -> bool {
    cols.is_reply.is_some_and(|r| r.is_valid(i) && r.value(i))
}

fn as_pair(n: &Option<(Box<str>, Box<str>)>) -> Option<(&str, &str)> {
    n.as_ref().map(|(ns, pod)| (&**ns, &**pod))
}

/// The verdict of one connection (client address, port and names; server's), uncached.
fn evaluate(
    replayer: &mut Replayer<'_>,
    (src, src_port, src_named): (IpAddr, u16, Option<(&str, &str)>),
    (dst, dst_port, dst_named): (IpAddr, u16, Option<(&str, &str)>),
    proto: Protocol,
) -> FlowVerdict {
    let endpoint = |n: Option<(&str, &str)>| {
        n.map(|(ns, pod)| {
            Arc::new(EndpointName {
                namespace: ns.to_string(),
                pod_name: pod.to_string(),
                labels: Vec::new(),
            })
        })
    };
    let session = Session {
        start_ns: 0,
        last_seen_ns: 0,
        decided_ns: 0,
        proto,
        src: SocketAddr::new(src, src_port),
        dst: SocketAddr::new(dst, dst_port),
        observed: Observed::Unknown,
        evidence: Evidence::Listed,
        packets_fwd: 1,
        packets_rev: 0,
        attempts: 1,
        src_endpoint: endpoint(src_named),
        dst_endpoint: endpoint(dst_named),
        nodes: Vec::new(),
        denied_by: Vec::new(),
        during_gap: false,
    };
    let r = replayer.replay(session);
    FlowVerdict {
        predicted: r.predicted.as_str(),
        decided_by: decided_text(&r.current.decided_by).map(Box::from),
        proposed_predicted: r.proposed.as_ref().map(|p| p.predicted.as_str()),
        proposed_decided_by: r
            .proposed
            .as_ref()
            .and_then(|p| decided_text(&p.decided_by))
            .map(Box::from),
        change: r.change.map(|c| c.as_str()),
    }
}

/// The builders of the verdict columns.
struct VerdictColumns {
    rows: usize,
    predicted: StringBuilder,
    decided_by: StringBuilder,
    /// The proposal's columns; `None` without a proposal (all null).
    proposal: Option<[StringBuilder; 3]>,
}

impl VerdictColumns {
    fn with_capacity(n: usize, proposal: bool) -> Self {
        VerdictColumns {
            rows: 0,
            predicted: StringBuilder::with_capacity(n, n * 9),
            decided_by: StringBuilder::with_capacity(n, n * 32),
            proposal: proposal.then(|| {
                [
                    StringBuilder::with_capacity(n, n * 9),
                    StringBuilder::with_capacity(n, n * 32),
                    StringBuilder::with_capacity(n, 0),
                ]
            }),
        }
    }

    /// Appends one row's verdict (null for a skipped or malformed row) and counts it.
    #[inline]
    fn push(&mut self, counts: &mut ReadReport, v: Result<Option<&FlowVerdict>, String>) {
        self.rows += 1;
        match v {
            Ok(Some(v)) => {
                counts.records += 1;
                counts.events += 1;
                self.predicted.append_value(v.predicted);
                self.decided_by.append_option(v.decided_by.as_deref());
                match &mut self.proposal {
                    Some([proposed, proposed_decided_by, change]) => {
                        proposed.append_option(v.proposed_predicted);
                        proposed_decided_by.append_option(v.proposed_decided_by.as_deref());
                        change.append_option(v.change);
                    }
                    None => debug_assert!(
                        v.proposed_predicted.is_none()
                            && v.proposed_decided_by.is_none()
                            && v.change.is_none()
                    ),
                }
            }
            Ok(None) => {
                counts.records += 1;
                counts.skipped += 1;
                self.append_nulls();
            }
            Err(message) => {
                malformed(counts, message);
                self.append_nulls();
            }
        }
    }

    fn append_nulls(&mut self) {
        self.predicted.append_null();
        self.decided_by.append_null();
        for b in self.proposal.iter_mut().flatten() {
            b.append_null();
        }
    }

    fn finish(mut self) -> Result<RecordBatch, Error> {
        let rows = self.rows;
        let [proposed, proposed_decided_by, change]: [ArrayRef; 3] = match &mut self.proposal {
            Some(bs) => bs.each_mut().map(|b| -> ArrayRef { Arc::new(b.finish()) }),
            None => std::array::from_fn(|_| -> ArrayRef { Arc::new(StringArray::new_null(rows)) }),
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.predicted.finish()),
            Arc::new(self.decided_by.finish()),
            proposed,
            proposed_decided_by,
            change,
        ];
        Ok(RecordBatch::try_new(verdict_schema(), columns)?)
    }
}

/// The reference the cache must agree with: every row evaluated on its own, as the
/// first version of [`VerdictFunction`] did without a cache.
#[cfg(test)]
fn verdicts_uncached(
    replayer: &mut Replayer<'_>,
    batch: &RecordBatch,
) -> Result<(RecordBatch, ReadReport), Error> {
    let cols = FlowColumns::new(batch, None)?;
    let mut counts = ReadReport::default();
    // The reference always builds every column row by row.
    let mut out = VerdictColumns::with_capacity(cols.len(), true);
    for i in 0..cols.len() {
        let v = (|| {
            let Some(proto) = row_protocol(&cols, i)? else {
                return Ok(None);
            };
            let (Some(src), Some(dst)) = (cols.src_ip.get(i), cols.dst_ip.get(i)) else {
                return Ok(None);
            };
            let (mut src, mut dst) = (parse_ip(src)?, parse_ip(dst)?);
            let (mut src_port, mut dst_port) = (
                FlowColumns::port(&cols.src_port, i)?,
                FlowColumns::port(&cols.dst_port, i)?,
            );
            let mut src_named = (get(cols.src_namespace, i), get(cols.src_pod, i));
            let mut dst_named = (get(cols.dst_namespace, i), get(cols.dst_pod, i));
            if is_reply(&cols, i) {
                std::mem::swap(&mut src, &mut dst);
                std::mem::swap(&mut src_port, &mut dst_port);
                std::mem::swap(&mut src_named, &mut dst_named);
            }
            Ok(Some(evaluate(
                replayer,
                (src, src_port, named(src_named)),
                (dst, dst_port, named(dst_named)),
                proto,
            )))
        })();
        out.push(
            &mut counts,
            v.as_ref().map(Option::as_ref).map_err(Clone::clone),
        );
    }
    Ok((out.finish()?, counts))
}

fn get<'b>(c: Option<Strs<'b>>, i: usize) -> Option<&'b str> {
    c.and_then(|c| c.get(i))
}

/// `(namespace, pod)` when the row names either.
fn named<'a>(n: (Option<&'a str>, Option<&'a str>)) -> Option<(&'a str, &'a str)> {
    match n {
        (None, None) => None,
        (ns, pod) => Some((ns.unwrap_or(""), pod.unwrap_or(""))),
    }
}

/// What a partition must know about the whole capture to sessionize like it: where it
/// shows reply flows, and when its last event was. A distributed job computes both in one
/// aggregation before the shuffle (`palisade-spark` does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureContext {
    /// Where (and since when) the capture shows reply-direction Hubble flows.
    pub reply_nodes: ReplyNodes,
    /// The time of the capture's last event (ns): attempts whose deadline passed by then
    /// timed out, the others were still open when the capture ended.
    pub end_ns: i64,
}

/// Sessionizes the flows of one partition, batch by batch, and replays each session.
///
/// Feed it every flow of the connections it owns, in time order (a distributed engine:
/// partition by the direction-normalised address pair, [`crate::partition_pair`], and sort
/// by `time_ns` within each partition), and give it the whole capture's [`CaptureContext`].
/// Then its sessions are exactly the ones the single-process replay builds from the whole
/// capture (docs/scale-out.md states the conditions).
pub struct PartitionSessionizer<'m> {
    sessionizer: Sessionizer,
    replayer: Replayer<'m>,
    out: SessionBatchBuilder,
    scratch: Scratch,
    counts: ReadReport,
    layout: Option<Layout>,
    end_ns: Option<i64>,
}

impl<'m> PartitionSessionizer<'m> {
    /// A sessionizer for one partition. `capture`: what the whole capture shows (`None`:
    /// this partition is the whole capture).
    pub fn new(
        replayer: Replayer<'m>,
        config: SessionConfig,
        capture: Option<CaptureContext>,
    ) -> Self {
        let (sessionizer, end_ns) = match capture {
            Some(c) => (
                Sessionizer::with_reply_nodes(config, c.reply_nodes),
                Some(c.end_ns),
            ),
            None => (Sessionizer::new(config), None),
        };
        PartitionSessionizer {
            sessionizer,
            replayer,
            out: SessionBatchBuilder::new(),
            scratch: Scratch::default(),
            counts: ReadReport::default(),
            layout: None,
            end_ns,
        }
    }

    /// Forces the input layout (default: detected per batch).
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// The session timeout of `palisade replay --timeout` (default 3 s).
    pub fn config(timeout: Duration) -> SessionConfig {
        SessionConfig {
            timeout,
            ..SessionConfig::default()
        }
    }

    /// Rows seen (`records`), skipped and malformed (with the first ones' row numbers).
    pub fn counts(&self) -> &ReadReport {
        &self.counts
    }

    /// Pushes a batch of flows; returns the sessions that ended (possibly none).
    pub fn push(&mut self, batch: &RecordBatch) -> Result<RecordBatch, Error> {
        let cols = FlowColumns::new(batch, self.layout)?;
        let Self {
            sessionizer,
            replayer,
            out,
            scratch,
            counts,
            ..
        } = self;
        for i in 0..cols.len() {
            match cols.row(i, scratch) {
                Ok(Row::Flow(ev)) => {
                    counts.records += 1;
                    counts.events += 1;
                    sessionizer.push(&ev, &mut |s| out.push(&replayer.replay(s)));
                }
                Ok(Row::Gap(g)) => {
                    counts.records += 1;
                    sessionizer.gap(&g);
                    counts.gaps.push(g);
                }
                Ok(Row::WithoutIp) => {
                    counts.records += 1;
                    counts.skipped += 1;
                    counts.flows_without_ip += 1;
                }
                Err(message) => malformed(counts, message),
            }
        }
        Ok(self.out.finish())
    }

    /// Ends the partition: the sessions still open.
    pub fn finish(&mut self) -> RecordBatch {
        let Self {
            sessionizer,
            replayer,
            out,
            ..
        } = self;
        let mut emit = |s| out.push(&replayer.replay(s));
        match self.end_ns {
            Some(end) => sessionizer.finish_at(end, &mut emit),
            None => sessionizer.finish(&mut emit),
        };
        self.out.finish()
    }
}

impl<'m> PartitionSessionizer<'m> {
    /// The replayer back, after [`PartitionSessionizer::finish`] (its compiled policies and
    /// caches serve the next partition).
    pub fn into_replayer(self) -> Replayer<'m> {
        self.replayer
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The cached verdicts equal every row evaluated on its own.

    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
    use palisade_model::Model;
    use palisade_replay::{DenyAction, Replayer};
    use proptest::prelude::*;

    use super::{VerdictFunction, verdicts_uncached};

    const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

    fn yaml_files(dir: &str, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                yaml_files(p.to_str().unwrap(), out);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p.to_str().unwrap().to_string());
            }
        }
    }

    /// The webshop with its pods' addresses; `proposal`: with the breaking catalog policy.
    fn webshop(proposal: bool) -> Model {
        let mut files = Vec::new();
        for dir in ["webshop", "webshop-traffic/cluster"] {
            yaml_files(&format!("{EXAMPLES}/{dir}"), &mut files);
        }
        if proposal {
            files.retain(|f| !f.ends_with("webshop/shop/policies/catalog.yaml"));
            yaml_files(&format!("{EXAMPLES}/webshop-traffic/proposal"), &mut files);
        }
        let text = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect::<Vec<_>>()
            .join("\n---\n");
        let loaded = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "cluster.yaml".into(),
                text,
            }],
            &palisade_load::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded.model
    }

    /// The webshop, and the webshop with the breaking proposal.
    pub(crate) fn models() -> &'static (Model, Model) {
        static M: std::sync::OnceLock<(Model, Model)> = std::sync::OnceLock::new();
        M.get_or_init(|| (webshop(false), webshop(true)))
    }

    /// Addresses: the pods', a Service's ClusterIP, outside ones, IPv6, invalid text.
    fn addresses(m: &Model) -> Vec<String> {
        let mut v: Vec<String> = m
            .pods
            .iter()
            .flat_map(|p| p.ips.iter().map(|ip| ip.to_string()))
            .collect();
        v.extend(
            m.services
                .iter()
                .flat_map(|s| s.cluster_ips.iter().map(|ip| ip.to_string())),
        );
        v.extend(
            [
                "8.8.8.8",
                "10.99.0.1",
                "fd00::1",
                "::ffff:10.0.0.1",
                "10.0.0.256",
                "",
            ]
            .map(String::from),
        );
        v
    }

    /// Names: the pods' (right or wrong for the address), a pod the model lacks, partial.
    fn names(m: &Model) -> Vec<(Option<String>, Option<String>)> {
        let mut v: Vec<(Option<String>, Option<String>)> = m
            .pods
            .iter()
            .map(|p| {
                (
                    Some(m.namespaces[p.namespace.index()].name.clone()),
                    Some(p.name.clone()),
                )
            })
            .collect();
        v.extend([
            (None, None),
            (None, None),
            (None, None),
            (Some("shop".into()), None),
            (None, Some("frontend".into())),
            (Some("shop".into()), Some("no-such-pod".into())),
            (Some(String::new()), Some(String::new())),
        ]);
        v
    }

    #[derive(Clone, Debug)]
    struct Row {
        src: Option<usize>,
        dst: Option<usize>,
        src_name: usize,
        dst_name: usize,
        src_port: Option<i32>,
        dst_port: Option<i32>,
        protocol: Option<i32>,
        is_reply: Option<bool>,
    }

    /// Rows over a few of the addresses and names (so that connections repeat, with other
    /// ports, names and directions) and the ports the webshop's policies name.
    fn row(addrs: Vec<usize>, names: Vec<usize>) -> impl Strategy<Value = Row> {
        let port = prop_oneof![
            8 => prop::sample::select(vec![8080, 53, 9100, 6379, 5432, 9090, 80, 443, 3550, 7070])
                .prop_map(Some),
            1 => prop::sample::select(vec![0, 9999]).prop_map(Some),
            1 => Just(None),
            1 => Just(Some(70_000)),
        ];
        let proto = prop_oneof![
            12 => prop::sample::select(vec![6, 17, 132]).prop_map(Some),
            1 => prop::sample::select(vec![1, 58, 47, 300]).prop_map(Some),
            1 => Just(None),
        ];
        let addr = prop::option::weighted(0.97, prop::sample::select(addrs));
        let name = prop::sample::select(names);
        (
            addr.clone(),
            addr,
            name.clone(),
            name,
            port.clone(),
            port,
            proto,
            prop::option::of(any::<bool>()),
        )
            .prop_map(
                |(src, dst, src_name, dst_name, src_port, dst_port, protocol, is_reply)| Row {
                    src,
                    dst,
                    src_name,
                    dst_name,
                    src_port,
                    dst_port,
                    protocol,
                    is_reply,
                },
            )
    }

    fn batch(
        rows: &[Row],
        addrs: &[String],
        names: &[(Option<String>, Option<String>)],
    ) -> RecordBatch {
        let strs = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<StringArray>())
        };
        let ints = |f: &dyn Fn(&Row) -> Option<i32>| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<Int32Array>())
        };
        RecordBatch::try_from_iter([
            (
                "time_ns",
                Arc::new(Int64Array::from_iter_values(0..rows.len() as i64)) as ArrayRef,
            ),
            ("kind", strs(&|_| Some("packet".into()))),
            ("src_ip", strs(&|r| r.src.map(|a| addrs[a].clone()))),
            ("dst_ip", strs(&|r| r.dst.map(|a| addrs[a].clone()))),
            ("src_port", ints(&|r| r.src_port)),
            ("dst_port", ints(&|r| r.dst_port)),
            ("protocol", ints(&|r| r.protocol)),
            (
                "is_reply",
                Arc::new(rows.iter().map(|r| r.is_reply).collect::<BooleanArray>()),
            ),
            ("src_namespace", strs(&|r| names[r.src_name].0.clone())),
            ("src_pod", strs(&|r| names[r.src_name].1.clone())),
            ("dst_namespace", strs(&|r| names[r.dst_name].0.clone())),
            ("dst_pod", strs(&|r| names[r.dst_name].1.clone())),
        ])
        .unwrap()
    }

    /// Runs `batches` through the cache (tiny limits when `small`) and the reference.
    fn check(batches: &[Vec<Row>], small: bool, what_if: bool) {
        let (current, proposed) = models();
        let (addrs, names) = (addresses(current), names(current));
        let replayer = || {
            let r = Replayer::new(current, DenyAction::Drop);
            if what_if {
                r.with_proposed(proposed)
            } else {
                r
            }
        };
        let mut cached = VerdictFunction::new(replayer());
        if small {
            cached.cache.connection_limit = 7;
            cached.cache.endpoint_limit = 5;
        }
        let mut reference = replayer();
        let mut want_counts = palisade_flows::ReadReport::default();
        for rows in batches {
            let b = batch(rows, &addrs, &names);
            let got = cached.verdicts(&b).unwrap();
            let (want, counts) = verdicts_uncached(&mut reference, &b).unwrap();
            assert_eq!(got, want);
            want_counts.records += counts.records;
            want_counts.events += counts.events;
            want_counts.skipped += counts.skipped;
            want_counts.malformed += counts.malformed;
        }
        let c = cached.counts();
        assert_eq!(
            (c.records, c.events, c.skipped, c.malformed),
            (
                want_counts.records,
                want_counts.events,
                want_counts.skipped,
                want_counts.malformed
            )
        );
    }

    fn batches() -> impl Strategy<Value = Vec<Vec<Row>>> {
        let (m, _) = models();
        let (addrs, names) = (addresses(m).len(), names(m).len());
        (
            prop::collection::vec(0..addrs, 2..6),
            prop::collection::vec(0..names, 2..6),
        )
            .prop_flat_map(|(a, n)| {
                prop::collection::vec(prop::collection::vec(row(a, n), 0..120), 1..4)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn cached_verdicts_equal_uncached(b in batches(), what_if in any::<bool>()) {
            check(&b, false, what_if);
        }

        #[test]
        fn cached_verdicts_equal_uncached_when_the_cache_starts_over(
            b in batches(), what_if in any::<bool>()
        ) {
            check(&b, true, what_if);
        }
    }

    #[test]
    fn same_is_string_equality() {
        let words = [
            "",
            "a",
            "ab",
            "10.0.0.1",
            "10.0.0.12",
            "10.0.0.13",
            "fd00::1",
            "shop",
            "frontend-6c9f8d7b5-x2x4q",
            "frontend-6c9f8d7b5-x2x4r",
            "0123456789abcdef",
            "0123456789abcdeF",
            "1123456789abcdef",
            "0123456789abcdef0",
        ];
        for a in words {
            for b in words {
                assert_eq!(super::same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn the_same_rows_again_hit_the_cache_and_agree() {
        let (m, _) = models();
        // Every pod to every pod on one port, twice: the second batch is all hits.
        let n = m.pods.len();
        let rows: Vec<Row> = (0..n * n)
            .map(|k| Row {
                src: Some(k / n),
                dst: Some(k % n),
                src_name: k / n,
                dst_name: k % n,
                src_port: Some(40_000),
                dst_port: Some(8080),
                protocol: Some(6),
                is_reply: Some(k % 3 == 0),
            })
            .collect();
        check(&[rows.clone(), rows], false, true);
    }
}
