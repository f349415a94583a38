//! Replayed sessions as record batches of the session schema.

use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use palisade_model::Direction;
use palisade_replay::{Decision, MapSource, Replayed};
use rustc_hash::FxHashMap;

use crate::schema::session_schema;

/// How a peer was mapped, as the session schema spells it.
pub fn mapped_by(source: MapSource) -> &'static str {
    match source {
        MapSource::HubbleName => "hubble-name",
        MapSource::HubbleWorkload => "hubble-workload",
        MapSource::Ip => "pod-ip",
        MapSource::Unmapped => "unmapped",
        MapSource::Service => "service",
    }
}

/// The deciding policies in one line: `egress shop/web rule 0; ingress shop/db (isolates)`
/// (an admin tier's: `ingress [Admin] cnp/name rule 2 denies`).
pub fn decided_text(ds: &[Decision]) -> Option<String> {
    if ds.is_empty() {
        return None;
    }
    let mut s = String::new();
    for (n, d) in ds.iter().enumerate() {
        if n > 0 {
            s.push_str("; ");
        }
        s.push_str(match d.direction {
            Direction::Egress => "egress ",
            Direction::Ingress => "ingress ",
        });
        if let Some(tier) = d.tier {
            let _ = write!(s, "[{}] ", tier.as_str());
        }
        s.push_str(&d.policy);
        match (d.rule, d.tier, d.allows) {
            (Some(r), Some(_), allows) => {
                let _ = write!(s, " rule {r} {}", if allows { "allows" } else { "denies" });
            }
            (Some(r), None, _) => {
                let _ = write!(s, " rule {r}");
            }
            (None, _, _) => s.push_str(" (isolates)"),
        }
        if let Some((file, line)) = &d.location {
            let _ = write!(s, " at {file}:{line}");
        }
    }
    Some(s)
}

/// Appends `items` joined by `, ` (null when there are none), each written by `f`.
fn joined<T>(b: &mut StringBuilder, items: &[T], f: impl Fn(&T, &mut Out<'_>)) {
    if items.is_empty() {
        b.append_null();
        return;
    }
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            let _ = b.write_str(", ");
        }
        f(item, &mut Out(b));
    }
    b.append_value("");
}

/// Appends `ip` as its `Display` form (`10.0.3.7`; IPv6 through `Display`).
fn write_ip(b: &mut StringBuilder, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => b.append_value(palisade_flows::ipv4_text(v4, &mut [0; 15])),
        IpAddr::V6(_) => {
            let _ = write!(b, "{ip}");
            b.append_value("");
        }
    }
}

/// The row being written in a string builder.
struct Out<'a>(&'a mut StringBuilder);

impl Out<'_> {
    fn push_str(&mut self, s: &str) {
        let _ = self.0.write_str(s);
    }

    fn push(&mut self, c: char) {
        let _ = self.0.write_char(c);
    }
}

/// [`decided_text`] of the decisions the replayer shares between the sessions of one
/// prediction (an `Arc`), computed once per `Arc`.
#[derive(Default)]
struct DecidedTexts {
    /// By the address of the decisions; the `Arc` is kept so the address is not reused.
    by_ptr: FxHashMap<usize, DecidedText>,
}

/// The decisions (kept alive) and their text.
type DecidedText = (Arc<[Decision]>, Option<Box<str>>);

/// Above this many remembered texts the memo starts over (as many as the replayer caches
/// predictions).
const DECIDED_TEXTS_LIMIT: usize = 1 << 16;

impl DecidedTexts {
    fn text(&mut self, ds: &Arc<[Decision]>) -> Option<&str> {
        let key = ds.as_ptr() as usize;
        if !self.by_ptr.contains_key(&key) && self.by_ptr.len() >= DECIDED_TEXTS_LIMIT {
            self.by_ptr.clear();
        }
        self.by_ptr
            .entry(key)
            .or_insert_with(|| (ds.clone(), decided_text(ds).map(Box::from)))
            .1
            .as_deref()
    }
}

/// Builds session-schema batches from replayed sessions.
pub struct SessionBatchBuilder {
    rows: usize,
    start_ns: Int64Builder,
    last_seen_ns: Int64Builder,
    decided_ns: Int64Builder,
    protocol: StringBuilder,
    src_ip: StringBuilder,
    src_port: Int32Builder,
    dst_ip: StringBuilder,
    dst_port: Int32Builder,
    src_name: StringBuilder,
    dst_name: StringBuilder,
    src_mapped_by: StringBuilder,
    dst_mapped_by: StringBuilder,
    observed: StringBuilder,
    evidence: StringBuilder,
    packets_fwd: Int64Builder,
    packets_rev: Int64Builder,
    attempts: Int64Builder,
    nodes: StringBuilder,
    denied_by: StringBuilder,
    during_gap: BooleanBuilder,
    predicted: StringBuilder,
    decided_by: StringBuilder,
    mismatch: StringBuilder,
    mismatch_reason: StringBuilder,
    proposed_predicted: StringBuilder,
    proposed_decided_by: StringBuilder,
    change: StringBuilder,
    service: StringBuilder,
    uncertain: StringBuilder,
    pair_src: StringBuilder,
    pair_dst: StringBuilder,
    decided: DecidedTexts,
}

impl Default for SessionBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionBatchBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        SessionBatchBuilder {
            rows: 0,
            start_ns: Int64Builder::new(),
            last_seen_ns: Int64Builder::new(),
            decided_ns: Int64Builder::new(),
            protocol: StringBuilder::new(),
            src_ip: StringBuilder::new(),
            src_port: Int32Builder::new(),
            dst_ip: StringBuilder::new(),
            dst_port: Int32Builder::new(),
            src_name: StringBuilder::new(),
            dst_name: StringBuilder::new(),
            src_mapped_by: StringBuilder::new(),
            dst_mapped_by: StringBuilder::new(),
            observed: StringBuilder::new(),
            evidence: StringBuilder::new(),
            packets_fwd: Int64Builder::new(),
            packets_rev: Int64Builder::new(),
            attempts: Int64Builder::new(),
            nodes: StringBuilder::new(),
            denied_by: StringBuilder::new(),
            during_gap: BooleanBuilder::new(),
            predicted: StringBuilder::new(),
            decided_by: StringBuilder::new(),
            mismatch: StringBuilder::new(),
            mismatch_reason: StringBuilder::new(),
            proposed_predicted: StringBuilder::new(),
            proposed_decided_by: StringBuilder::new(),
            change: StringBuilder::new(),
            service: StringBuilder::new(),
            uncertain: StringBuilder::new(),
            pair_src: StringBuilder::new(),
            pair_dst: StringBuilder::new(),
            decided: DecidedTexts::default(),
        }
    }

    /// Rows added since the last finish.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one session.
    pub fn push(&mut self, r: &Replayed) {
        self.rows += 1;
        let s = &r.session;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.start_ns.append_value(s.start_ns);
        self.last_seen_ns.append_value(s.last_seen_ns);
        self.decided_ns.append_value(s.decided_ns);
        self.protocol.append_value(s.proto.as_str());
        // Strings are written into the builders, not built apart and copied.
        write_ip(&mut self.src_ip, s.src.ip());
        self.src_port.append_value(i32::from(s.src.port()));
        write_ip(&mut self.dst_ip, s.dst.ip());
        self.dst_port.append_value(i32::from(s.dst.port()));
        self.src_name.append_option(r.src.name.as_deref());
        self.dst_name.append_option(r.dst.name.as_deref());
        self.src_mapped_by.append_value(mapped_by(r.src.source));
        self.dst_mapped_by.append_value(mapped_by(r.dst.source));
        self.observed.append_value(s.observed.as_str());
        let _ = write!(self.evidence, "{}", s.evidence);
        self.evidence.append_value("");
        self.packets_fwd.append_value(count(s.packets_fwd));
        self.packets_rev.append_value(count(s.packets_rev));
        self.attempts.append_value(i64::from(s.attempts));
        joined(&mut self.nodes, &s.nodes, |n, out| out.push_str(n));
        joined(&mut self.denied_by, &s.denied_by, |d, out| {
            out.push_str(match d.direction {
                Direction::Egress => "egress ",
                Direction::Ingress => "ingress ",
            });
            if !d.namespace.is_empty() {
                out.push_str(&d.namespace);
                out.push('/');
            }
            out.push_str(&d.name);
        });
        self.during_gap.append_value(s.during_gap);
        self.predicted.append_value(r.predicted.as_str());
        self.decided_by
            .append_option(self.decided.text(&r.current.decided_by));
        self.mismatch
            .append_option(r.mismatch.as_ref().map(|m| m.kind.as_str()));
        self.mismatch_reason
            .append_option(r.mismatch.as_ref().map(|m| m.reason.as_str()));
        self.proposed_predicted
            .append_option(r.proposed.as_ref().map(|p| p.predicted.as_str()));
        self.proposed_decided_by.append_option(
            r.proposed
                .as_ref()
                .and_then(|p| self.decided.text(&p.decided_by)),
        );
        self.change.append_option(r.change.map(|c| c.as_str()));
        self.service
            .append_option(r.service.as_ref().map(|v| v.service.as_str()));
        joined(&mut self.uncertain, &r.uncertain, |u, out| out.push_str(u));
        // The pair as `palisade_replay::PairKey::of` labels it (a test ties the two).
        for (b, name, ip) in [
            (&mut self.pair_src, &r.src.name, s.src.ip()),
            (&mut self.pair_dst, &r.dst.name, s.dst.ip()),
        ] {
            match name {
                Some(n) => b.append_value(&**n),
                None => write_ip(b, ip),
            }
        }
    }

    /// The first version of [`SessionBatchBuilder::push`], which built each string apart.
    #[cfg(test)]
    fn push_reference(&mut self, r: &Replayed) {
        self.rows += 1;
        let s = &r.session;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.start_ns.append_value(s.start_ns);
        self.last_seen_ns.append_value(s.last_seen_ns);
        self.decided_ns.append_value(s.decided_ns);
        self.protocol.append_value(s.proto.as_str());
        self.src_ip.append_value(s.src.ip().to_string());
        self.src_port.append_value(i32::from(s.src.port()));
        self.dst_ip.append_value(s.dst.ip().to_string());
        self.dst_port.append_value(i32::from(s.dst.port()));
        self.src_name.append_option(r.src.name.as_deref());
        self.dst_name.append_option(r.dst.name.as_deref());
        self.src_mapped_by.append_value(mapped_by(r.src.source));
        self.dst_mapped_by.append_value(mapped_by(r.dst.source));
        self.observed.append_value(s.observed.as_str());
        self.evidence.append_value(s.evidence.to_string());
        self.packets_fwd.append_value(count(s.packets_fwd));
        self.packets_rev.append_value(count(s.packets_rev));
        self.attempts.append_value(i64::from(s.attempts));
        self.nodes
            .append_option(joined_reference(&s.nodes, |n, out| out.push_str(n)));
        self.denied_by
            .append_option(joined_reference(&s.denied_by, |d, out| {
                out.push_str(match d.direction {
                    Direction::Egress => "egress ",
                    Direction::Ingress => "ingress ",
                });
                if !d.namespace.is_empty() {
                    out.push_str(&d.namespace);
                    out.push('/');
                }
                out.push_str(&d.name);
            }));
        self.during_gap.append_value(s.during_gap);
        self.predicted.append_value(r.predicted.as_str());
        self.decided_by
            .append_option(decided_text(&r.current.decided_by));
        self.mismatch
            .append_option(r.mismatch.as_ref().map(|m| m.kind.as_str()));
        self.mismatch_reason
            .append_option(r.mismatch.as_ref().map(|m| m.reason.as_str()));
        self.proposed_predicted
            .append_option(r.proposed.as_ref().map(|p| p.predicted.as_str()));
        self.proposed_decided_by.append_option(
            r.proposed
                .as_ref()
                .and_then(|p| decided_text(&p.decided_by)),
        );
        self.change.append_option(r.change.map(|c| c.as_str()));
        self.service
            .append_option(r.service.as_ref().map(|v| v.service.as_str()));
        self.uncertain
            .append_option(joined_reference(&r.uncertain, |u, out| out.push_str(u)));
        let pair = palisade_replay::PairKey::of(r);
        self.pair_src.append_value(&*pair.src);
        self.pair_dst.append_value(&*pair.dst);
    }

    /// The rows so far as a batch; the builder starts over.
    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.start_ns.finish()),
            Arc::new(self.last_seen_ns.finish()),
            Arc::new(self.decided_ns.finish()),
            Arc::new(self.protocol.finish()),
            Arc::new(self.src_ip.finish()),
            Arc::new(self.src_port.finish()),
            Arc::new(self.dst_ip.finish()),
            Arc::new(self.dst_port.finish()),
            Arc::new(self.src_name.finish()),
            Arc::new(self.dst_name.finish()),
            Arc::new(self.src_mapped_by.finish()),
            Arc::new(self.dst_mapped_by.finish()),
            Arc::new(self.observed.finish()),
            Arc::new(self.evidence.finish()),
            Arc::new(self.packets_fwd.finish()),
            Arc::new(self.packets_rev.finish()),
            Arc::new(self.attempts.finish()),
            Arc::new(self.nodes.finish()),
            Arc::new(self.denied_by.finish()),
            Arc::new(self.during_gap.finish()),
            Arc::new(self.predicted.finish()),
            Arc::new(self.decided_by.finish()),
            Arc::new(self.mismatch.finish()),
            Arc::new(self.mismatch_reason.finish()),
            Arc::new(self.proposed_predicted.finish()),
            Arc::new(self.proposed_decided_by.finish()),
            Arc::new(self.change.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.uncertain.finish()),
            Arc::new(self.pair_src.finish()),
            Arc::new(self.pair_dst.finish()),
        ];
        RecordBatch::try_new(session_schema(), columns)
            .expect("the builders follow the session schema")
    }
}

/// The first version of [`joined`].
#[cfg(test)]
fn joined_reference<T>(items: &[T], f: impl Fn(&T, &mut String)) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut s = String::new();
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            s.push_str(", ");
        }
        f(item, &mut s);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use palisade_flows::{FlowReader, ReadOptions, SessionConfig};
    use palisade_replay::{DenyAction, Replayer};

    use super::SessionBatchBuilder;
    use crate::batch::tests::models;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        use std::net::{IpAddr, Ipv4Addr};
        let mut b = arrow_array::builder::StringBuilder::new();
        let mut want = Vec::new();
        let mut ips: Vec<IpAddr> = [0u8, 1, 9, 10, 99, 100, 199, 200, 255]
            .iter()
            .flat_map(|&a| {
                [0u8, 7, 10, 42, 100, 255].map(|c| IpAddr::V4(Ipv4Addr::new(a, c, 255 - c, a ^ c)))
            })
            .collect();
        ips.extend(
            ["::1", "fd00::10:0:0:1", "::ffff:10.0.0.1", "2001:db8::"]
                .map(|s| s.parse::<IpAddr>().unwrap()),
        );
        for ip in ips {
            super::write_ip(&mut b, ip);
            want.push(ip.to_string());
        }
        let got = b.finish();
        let got: Vec<&str> = got.iter().map(Option::unwrap).collect();
        assert_eq!(got, want);
    }

    /// Session batches written straight into the builders equal the ones built from
    /// separate strings, on the webshop capture and synthetic traffic, with a proposal.
    #[test]
    fn written_rows_equal_the_reference_rows() {
        let (current, proposed) = models();
        let capture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/webshop-traffic/capture.jsonl"
        );
        let mut synthetic = Vec::new();
        palisade_synth::traffic::write_hubble(&mut synthetic, 20_000, 3).unwrap();
        let inputs = [
            ("capture.jsonl", std::fs::read(capture).unwrap()),
            ("synth.json", synthetic),
        ];
        for (name, data) in inputs {
            let mut rp = Replayer::new(current, DenyAction::Drop).with_proposed(proposed);
            let (mut got, mut want) = (SessionBatchBuilder::new(), SessionBatchBuilder::new());
            let mut reader = FlowReader::new(name, &data[..], &ReadOptions::default()).unwrap();
            let mut n = 0;
            palisade_flows::sessionize(&mut reader, SessionConfig::default(), |s| {
                let r = rp.replay(s);
                got.push(&r);
                want.push_reference(&r);
                n += 1;
            })
            .unwrap();
            assert!(n > 10, "{name}: {n} sessions");
            assert_eq!(got.finish(), want.finish(), "{name}");
        }
    }
}
