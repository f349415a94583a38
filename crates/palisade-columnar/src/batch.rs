//! The engine-facing batch functions: per-flow verdicts and the streaming sessionization
//! of one partition, both over Arrow record batches.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, RecordBatch};
use palisade_flows::{
    EndpointName, Evidence, Observed, ReadReport, ReplyNodes, Session, SessionConfig, Sessionizer,
};
use palisade_model::Protocol;
use palisade_replay::Replayer;
use rustc_hash::FxHashMap;

use crate::decode::{FlowColumns, Layout, Row, Scratch, Strs};
use crate::schema::verdict_schema;
use crate::sessions::{SessionBatchBuilder, decided_text};
use crate::{Error, malformed};

/// The verdict columns of one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FlowVerdict {
    predicted: &'static str,
    decided_by: Option<Arc<str>>,
    proposed_predicted: Option<&'static str>,
    proposed_decided_by: Option<Arc<str>>,
    change: Option<&'static str>,
}

/// Cache key: the connection as the policies see it (the source port does not matter).
type VerdictKey = (IpAddr, IpAddr, Protocol, u16);

/// The endpoint names a row gave (none: `None`), and its verdict's index in the results.
type NamedVerdict = (Option<Box<str>>, u32);

/// Per-flow verdicts under a model (and a proposal), with a cache of connections seen.
///
/// Each row is evaluated as the connection it belongs to: a reply-direction row
/// (`is_reply` true) is turned around, so its verdict is the one of the request it answers.
/// Rows whose protocol NetworkPolicy does not know (ICMP, others) and rows that do not
/// decode get null verdicts (counted in [`VerdictFunction::counts`]).
pub struct VerdictFunction<'m> {
    replayer: Replayer<'m>,
    cache: FxHashMap<VerdictKey, Vec<NamedVerdict>>,
    results: Vec<FlowVerdict>,
    names: String,
    counts: ReadReport,
    layout: Option<Layout>,
}

/// Above this many cached connections the cache starts over (bounded memory).
const VERDICT_CACHE_LIMIT: usize = 1 << 18;

impl<'m> VerdictFunction<'m> {
    /// Evaluates flows with `replayer` (built with the proposal, if any).
    pub fn new(replayer: Replayer<'m>) -> Self {
        VerdictFunction {
            replayer,
            cache: FxHashMap::default(),
            results: Vec::new(),
            names: String::new(),
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
        let mut predicted = StringBuilder::with_capacity(n, n * 9);
        let mut decided_by = StringBuilder::with_capacity(n, n * 32);
        let mut proposed = StringBuilder::with_capacity(n, 0);
        let mut proposed_decided_by = StringBuilder::with_capacity(n, 0);
        let mut change = StringBuilder::with_capacity(n, 0);
        for i in 0..n {
            match self.verdict(&cols, i) {
                Ok(Some(v)) => {
                    self.counts.records += 1;
                    self.counts.events += 1;
                    let v = &self.results[v as usize];
                    predicted.append_value(v.predicted);
                    decided_by.append_option(v.decided_by.as_deref());
                    proposed.append_option(v.proposed_predicted);
                    proposed_decided_by.append_option(v.proposed_decided_by.as_deref());
                    change.append_option(v.change);
                }
                Ok(None) => {
                    self.counts.records += 1;
                    self.counts.skipped += 1;
                    for b in [
                        &mut predicted,
                        &mut decided_by,
                        &mut proposed,
                        &mut proposed_decided_by,
                        &mut change,
                    ] {
                        b.append_null();
                    }
                }
                Err(message) => {
                    malformed(&mut self.counts, message);
                    for b in [
                        &mut predicted,
                        &mut decided_by,
                        &mut proposed,
                        &mut proposed_decided_by,
                        &mut change,
                    ] {
                        b.append_null();
                    }
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(predicted.finish()),
            Arc::new(decided_by.finish()),
            Arc::new(proposed.finish()),
            Arc::new(proposed_decided_by.finish()),
            Arc::new(change.finish()),
        ];
        Ok(RecordBatch::try_new(verdict_schema(), columns)?)
    }

    /// The index of row `i`'s verdict in `results`; `None` for protocols without one.
    fn verdict(&mut self, cols: &FlowColumns<'_>, i: usize) -> Result<Option<u32>, String> {
        let proto = match cols.ip_proto(i) {
            Some(6) => Protocol::Tcp,
            Some(17) => Protocol::Udp,
            Some(132) => Protocol::Sctp,
            Some(_) => return Ok(None),
            None => return Err("the protocol is missing or invalid".into()),
        };
        let (Some(src), Some(dst)) = (cols.src_ip.get(i), cols.dst_ip.get(i)) else {
            return Ok(None);
        };
        let parse = |s: &str| {
            s.parse::<IpAddr>()
                .map_err(|_| format!("invalid address {s:?}"))
        };
        let (mut src, mut dst) = (parse(src)?, parse(dst)?);
        let (mut src_port, mut dst_port) = (
            FlowColumns::port(&cols.src_port, i)?,
            FlowColumns::port(&cols.dst_port, i)?,
        );
        let mut src_named = (get(cols.src_namespace, i), get(cols.src_pod, i));
        let mut dst_named = (get(cols.dst_namespace, i), get(cols.dst_pod, i));
        if cols.is_reply.is_some_and(|r| r.is_valid(i) && r.value(i)) {
            std::mem::swap(&mut src, &mut dst);
            std::mem::swap(&mut src_port, &mut dst_port);
            std::mem::swap(&mut src_named, &mut dst_named);
        }
        let (src_named, dst_named) = (named(src_named), named(dst_named));
        self.names.clear();
        for n in [src_named, dst_named] {
            match n {
                Some((ns, pod)) => {
                    self.names.push_str(ns);
                    self.names.push('/');
                    self.names.push_str(pod);
                }
                None => self.names.push('-'),
            }
            self.names.push('\n');
        }
        let names_key = (src_named.is_some() || dst_named.is_some()).then_some(&*self.names);
        let key = (src, dst, proto, dst_port);
        if let Some(entries) = self.cache.get(&key)
            && let Some((_, v)) = entries.iter().find(|(n, _)| n.as_deref() == names_key)
        {
            return Ok(Some(*v));
        }
        if self.cache.len() >= VERDICT_CACHE_LIMIT {
            self.cache.clear();
            self.results.clear();
        }
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
        let r = self.replayer.replay(session);
        let v = FlowVerdict {
            predicted: r.predicted.as_str(),
            decided_by: decided_text(&r.current.decided_by).map(Arc::from),
            proposed_predicted: r.proposed.as_ref().map(|p| p.predicted.as_str()),
            proposed_decided_by: r
                .proposed
                .as_ref()
                .and_then(|p| decided_text(&p.decided_by))
                .map(Arc::from),
            change: r.change.map(|c| c.as_str()),
        };
        let index = self.results.len() as u32;
        self.results.push(v);
        self.cache
            .entry(key)
            .or_default()
            .push((names_key.map(Box::from), index));
        Ok(Some(index))
    }
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
