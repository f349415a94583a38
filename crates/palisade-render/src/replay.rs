//! `palisade replay`: the session timeline, summary, what-if changes and deny spikes as
//! text, JSON, JSON lines, CSV and Markdown.
//!
//! The JSON shape is a public contract:
//! `{"sessions": [{"start", "src", "src_ip", "src_port", "dst", "dst_ip", "dst_port",
//! "protocol", "observed", "predicted", "decided_by", ...}], "gaps": [...], "summary": {...}}`,
//! plus `"proposed"` per session and `"changes"` with a proposal, and `"spikes"` with spike
//! detection. JSON lines carry one session object per line.

use std::fmt::Write;
use std::net::IpAddr;

use palisade_engine::SideOutcome;
use palisade_flows::{Gap, ReadReport, format_rfc3339};
use palisade_model::Direction;
use palisade_replay::{
    ChangeGroup, Decision, MismatchKind, PairKey, PairStat, Prediction, Replayed, SpikeReport,
    Summary, WhatIf,
};
use serde::Serialize;

use crate::{Style, csv_field, to_json};

/// Everything a replay report shows.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a> {
    /// The sessions to list, in start order (after filters).
    pub sessions: &'a [Replayed],
    /// Their summary.
    pub summary: &'a Summary,
    /// What the reader noticed about each input.
    pub inputs: &'a [ReadReport],
    /// With a proposal: what breaks and opens.
    pub whatif: Option<&'a WhatIf>,
    /// With `--spikes`: the spike report.
    pub spikes: Option<&'a SpikeReport>,
    /// Whether to list every session (the timeline) in text and Markdown.
    pub timeline: bool,
}

/// RFC 3339 with millisecond precision: `2026-09-20T14:56:45.779Z`.
pub fn time(ns: i64) -> String {
    let full = format_rfc3339(ns);
    format!("{}Z", &full[..23])
}

/// `HH:MM:SS.mmm` (UTC).
fn clock(ns: i64) -> String {
    format_rfc3339(ns)[11..23].to_string()
}

fn short(name: &str) -> &str {
    name.split_once('/').map_or(name, |(_, n)| n)
}

fn pair_text(p: &PairKey) -> String {
    format!("{} → {} :{}/{}", p.src, p.dst, p.port, p.protocol)
}

/// The deciding policies of a prediction, in words:
/// `ingress: payments/default-deny isolates ledger; no rule allows`.
pub fn reason(r: &Replayed, prediction: &Prediction) -> String {
    let mut parts = Vec::new();
    let denied = !prediction.predicted.allowed();
    for (direction, outcome, subject) in [
        (Direction::Egress, prediction.egress, &r.src),
        (Direction::Ingress, prediction.ingress, &r.dst),
    ] {
        let ds: Vec<&Decision> = prediction
            .decided_by
            .iter()
            .filter(|d| d.direction == direction)
            .collect();
        let word = dir_name(direction);
        match outcome {
            SideOutcome::Denied => {
                let ip = match direction {
                    Direction::Egress => r.session.src.ip(),
                    Direction::Ingress => r.session.dst.ip(),
                };
                let label = subject.label(ip);
                if let Some(d) = ds.iter().find(|d| d.tier.is_some()) {
                    let tier = d.tier.map_or("", |t| t.as_str());
                    parts.push(format!(
                        "{word}: [{tier}] {} rule {} denies {}",
                        d.policy,
                        d.rule.unwrap_or_default(),
                        short(&label)
                    ));
                    continue;
                }
                let names: Vec<&str> = ds.iter().map(|d| d.policy.as_str()).collect();
                let verb = if names.len() == 1 {
                    "isolates"
                } else {
                    "isolate"
                };
                parts.push(format!(
                    "{word}: {} {verb} {}; no rule allows",
                    names.join(", "),
                    short(&label)
                ));
            }
            SideOutcome::Allowed if !denied => {
                let rules: Vec<String> = ds
                    .iter()
                    .map(|d| match (d.tier, d.rule) {
                        (Some(tier), Some(i)) => {
                            format!("[{}] {} rule {i}", tier.as_str(), d.policy)
                        }
                        (_, Some(i)) => format!("{} rule {i}", d.policy),
                        (_, None) => d.policy.clone(),
                    })
                    .collect();
                parts.push(format!("{word}: {}", rules.join(", ")));
            }
            SideOutcome::NotIsolated if !denied => parts.push(format!("{word}: not isolated")),
            SideOutcome::HostNetwork if !denied => {
                parts.push(format!("{word}: hostNetwork pod, not subject to policies"));
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        "no policy applies".to_string()
    } else {
        parts.join("; ")
    }
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::Egress => "egress",
        Direction::Ingress => "ingress",
    }
}

fn outcome_counts(counts: &[u64], names: &[&str]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .zip(names)
        .filter(|(n, _)| **n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

const OBSERVED: [&str; 4] = ["accepted", "refused", "timed-out", "unknown"];
const PREDICTED: [&str; 3] = ["accepted", "refused", "timed-out"];

/// The input problems worth a line in the text report (the CLI also prints them to stderr).
fn input_lines(inputs: &[ReadReport]) -> Vec<String> {
    let mut out = Vec::new();
    for r in inputs {
        if r.malformed > 0 {
            out.push(format!(
                "{}: {} malformed record{} skipped",
                r.path,
                r.malformed,
                if r.malformed == 1 { "" } else { "s" }
            ));
        }
        for w in &r.warnings {
            out.push(format!("{}: {}", r.path, w.message));
        }
        if !r.gaps.is_empty() {
            out.push(format!(
                "{}: {} gap{} in the record ({} events lost)",
                r.path,
                r.gaps.len(),
                if r.gaps.len() == 1 { "" } else { "s" },
                r.lost_events
            ));
        }
        if r.flows_without_ip > 0 {
            out.push(format!(
                "{}: {} flow{} without an IP section (L7, sock-trace) not replayed",
                r.path,
                r.flows_without_ip,
                if r.flows_without_ip == 1 { "" } else { "s" }
            ));
        }
        if r.out_of_order > 0 {
            out.push(format!(
                "{}: {} events out of time order (at most {} back)",
                r.path,
                r.out_of_order,
                r.max_backstep_text()
            ));
        }
    }
    out
}

/// The human report: timeline, what-if, spikes, summary.
pub fn text(report: &Report<'_>, style: Style) -> String {
    let mut out = text_title(report, style);
    if report.timeline && !report.sessions.is_empty() {
        out.push('\n');
        out.push_str(&timeline(report.sessions, style));
    }
    text_after_timeline(report, style, &mut out);
    out
}

/// The text report's first line: inputs, session count and time span.
fn text_title(report: &Report<'_>, style: Style) -> String {
    let mut out = String::new();
    let total = &report.summary.total;
    let inputs: Vec<String> = report
        .inputs
        .iter()
        .map(|r| format!("{} ({})", r.path, r.format.map_or("?", |f| f.as_str())))
        .collect();
    let span = if total.sessions > 0 {
        let (first, last) = (
            format_rfc3339(total.first_ns),
            format_rfc3339(total.last_ns),
        );
        // The end's date too when it is another day (a capture ending in 2200 is not
        // "to 00:00:00.000").
        let end = if first[..10] == last[..10] {
            clock(total.last_ns)
        } else {
            last[..23].replace('T', " ")
        };
        format!(" from {} to {end} UTC", first[..19].replace('T', " "),)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Replay of {}: {} session{}{span}",
            inputs.join(", "),
            total.sessions,
            if total.sessions == 1 { "" } else { "s" }
        ))
    );
    out
}

/// What the text report shows after the timeline: what-if, spikes, summary, input problems.
fn text_after_timeline(report: &Report<'_>, style: Style, out: &mut String) {
    if let Some(w) = report.whatif {
        out.push('\n');
        whatif_text(out, w, style);
    }
    if let Some(s) = report.spikes {
        out.push('\n');
        spikes_text(out, s, style);
    }
    out.push('\n');
    summary_text(out, report.summary, style);
    let problems = input_lines(report.inputs);
    if !problems.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Input:"));
        for p in problems {
            let _ = writeln!(out, "  {p}");
        }
    }
}

/// The timeline: one line per session (plus a line for a mismatch or a gap).
pub fn timeline(sessions: &[Replayed], style: Style) -> String {
    let mut out = String::new();
    let heads: Vec<String> = sessions.iter().map(timeline_head).collect();
    let width = heads.iter().map(|h| h.chars().count()).max().unwrap_or(0);
    for (r, head) in sessions.iter().zip(&heads) {
        let pad = width - head.chars().count();
        let _ = write!(out, "{}  {head}{:pad$}", clock(r.session.start_ns), "");
        timeline_tail(r, style, &mut out);
    }
    out
}

/// The part of a timeline line the others are aligned on: `src → dst :port/proto`.
fn timeline_head(r: &Replayed) -> String {
    format!(
        "{} → {} :{}/{}",
        r.src.label(r.session.src.ip()),
        r.dst.label(r.session.dst.ip()),
        r.session.dst.port(),
        r.session.proto
    )
}

/// The rest of a session's timeline entry after the aligned head: outcomes, reasons, and the
/// lines for a mismatch, a gap or a DNS dependence.
fn timeline_tail(r: &Replayed, style: Style, out: &mut String) {
    let observed = r.session.observed.as_str();
    let observed = match r.session.observed {
        palisade_flows::Observed::Accepted => style.green(observed),
        palisade_flows::Observed::Unknown => style.dim(observed),
        _ => style.red(observed),
    };
    // The outcome word JSON prints (`"predicted": "timed-out"`): one word per deny action.
    let predicted_word = r.predicted.as_str();
    let predicted = if r.predicted.allowed() {
        style.green(predicted_word)
    } else {
        style.red(predicted_word)
    };
    let _ = write!(
        out,
        "  observed {observed}{:w$}  predicted {predicted}{:p$}  ({})",
        "",
        "",
        reason(r, &r.current),
        w = 9 - r.session.observed.as_str().len(),
        p = 9 - predicted_word.len(),
    );
    if let (Some(p), Some(change)) = (&r.proposed, r.change) {
        let _ = write!(
            out,
            "  {} under the proposal: {} ({})",
            match change {
                palisade_replay::Change::Break => style.red("BREAKS"),
                palisade_replay::Change::Open => style.green("OPENS"),
            },
            p.predicted.as_str(),
            reason(r, p)
        );
    }
    out.push('\n');
    if let Some(m) = &r.mismatch {
        let _ = writeln!(
            out,
            "              {} {}: {}",
            style.yellow("! mismatch"),
            m.kind.as_str(),
            m.reason
        );
    }
    if r.session.during_gap {
        let _ = writeln!(
            out,
            "              {} events were lost while this attempt was open; its observed outcome may be wrong",
            style.yellow("! gap:")
        );
    }
    match &r.dns {
        Some(palisade_replay::DnsDependence::Unresolved) => {
            let _ = writeln!(
                out,
                "              {} a domainNames rule could accept {}; the capture has no DNS answer naming it, so the verdict shown is uncertain",
                style.yellow("? depends on DNS:"),
                r.session.dst.ip()
            );
        }
        Some(palisade_replay::DnsDependence::Resolved(names)) => {
            let _ = writeln!(
                out,
                "              {} {} resolved as {} (the capture's DNS answers)",
                style.bold("dns:"),
                r.session.dst.ip(),
                names.join(", ")
            );
        }
        None => {}
    }
}

fn summary_text(out: &mut String, s: &Summary, style: Style) {
    let t = &s.total;
    let _ = writeln!(
        out,
        "{} {} session{}",
        style.bold("Summary:"),
        t.sessions,
        if t.sessions == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "  observed:   {}",
        outcome_counts(&t.observed, &OBSERVED)
    );
    let _ = writeln!(
        out,
        "  predicted:  {}",
        outcome_counts(&t.predicted, &PREDICTED)
    );
    let kinds: Vec<String> = MismatchKind::ALL
        .iter()
        .zip(s.mismatch_kinds)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "  mismatches: {}{}",
        t.mismatches,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    if s.during_gap > 0 {
        let _ = writeln!(
            out,
            "  during gaps: {} (outcome may be wrong)",
            s.during_gap
        );
    }
    let pairs = s.pairs_sorted();
    if pairs.is_empty() {
        return;
    }
    let heads: Vec<String> = pairs.iter().map(|(k, _)| pair_text(k)).collect();
    let width = heads
        .iter()
        .map(|h| h.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let _ = writeln!(
        out,
        "\n  {:width$}  sessions  accepted  refused  timed-out  unknown  mismatches",
        "pair"
    );
    let row = |out: &mut String, head: &str, p: &PairStat| {
        let pad = width - head.chars().count();
        let _ = writeln!(
            out,
            "  {head}{:pad$}  {:>8}  {:>8}  {:>7}  {:>9}  {:>7}  {:>10}",
            "",
            p.sessions,
            p.observed[0],
            p.observed[1],
            p.observed[2],
            p.observed[3],
            p.mismatches
        );
    };
    for (head, (_, p)) in heads.iter().zip(&pairs) {
        row(out, head, p);
    }
    if s.other_pairs.sessions > 0 {
        row(out, "(other pairs)", &s.other_pairs);
    }
}

/// The what-if section alone.
pub fn whatif(w: &WhatIf, style: Style) -> String {
    let mut out = String::new();
    whatif_text(&mut out, w, style);
    out
}

fn whatif_text(out: &mut String, w: &WhatIf, style: Style) {
    let _ = writeln!(
        out,
        "{} {} session{} would break, {} would open (of {})",
        style.bold("What-if (proposed policies):"),
        w.breaks,
        if w.breaks == 1 { "" } else { "s" },
        w.opens,
        w.sessions
    );
    let groups = w.groups();
    if groups.is_empty() {
        let _ = writeln!(out, "  no session changes its verdict");
        return;
    }
    for g in groups {
        let word = match g.change {
            palisade_replay::Change::Break => style.red("BREAK"),
            palisade_replay::Change::Open => style.green("OPEN "),
        };
        let _ = writeln!(
            out,
            "  {word}  {}  {} session{} ({}), {} – {}",
            pair_text(&g.pair),
            g.sessions,
            if g.sessions == 1 { "" } else { "s" },
            outcome_counts(&g.observed, &OBSERVED).replace(", ", " / "),
            clock(g.first_ns),
            clock(g.last_ns)
        );
    }
}

fn spikes_text(out: &mut String, s: &SpikeReport, style: Style) {
    let c = &s.config;
    let rule = match c.threshold {
        Some(t) => format!("at least {t} denied"),
        None => format!(
            "above median + {}·MAD of up to {} earlier windows",
            c.k, c.baseline_windows
        ),
    };
    let _ = writeln!(
        out,
        "{} {} in {} window{} of {} ({} denials, {rule}; {} denied sessions)",
        style.bold("Deny spikes:"),
        s.spikes.len(),
        s.windows,
        if s.windows == 1 { "" } else { "s" },
        duration_text(c.window_ns),
        c.basis.as_str(),
        s.denied
    );
    for sp in &s.spikes {
        let base = match (sp.median, sp.mad) {
            (Some(m), Some(d)) => format!(
                ", baseline median {m:.1}, MAD {d:.1}, threshold {:.1}",
                sp.threshold
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} – {}  {} denied of {} session{}{base}",
            clock(sp.start_ns),
            clock(sp.end_ns),
            style.red(&sp.denied.to_string()),
            sp.sessions,
            if sp.sessions == 1 { "" } else { "s" }
        );
        for (pair, n) in &sp.top {
            let _ = writeln!(out, "      {n:>6}  {}", pair_text(pair));
        }
    }
}

fn duration_text(ns: i64) -> String {
    if ns % 3_600_000_000_000 == 0 {
        format!("{}h", ns / 3_600_000_000_000)
    } else if ns % 60_000_000_000 == 0 {
        format!("{}m", ns / 60_000_000_000)
    } else if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else {
        format!("{}ms", ns / 1_000_000)
    }
}

// ---- JSON ---------------------------------------------------------------------------------

#[derive(Serialize)]
pub(crate) struct JsonDecision<'a> {
    direction: &'static str,
    policy: &'a str,
    rule: Option<u32>,
    effect: &'static str,
    file: Option<&'a str>,
    line: Option<u32>,
    /// `Admin` or `Baseline` when an admin-tier rule decided (absent: NetworkPolicy).
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonMismatch<'a> {
    kind: &'static str,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonSession<'a> {
    start: JsonTime,
    src: JsonLabel<'a>,
    src_ip: AsStr<IpAddr>,
    src_port: u16,
    dst: JsonLabel<'a>,
    dst_ip: AsStr<IpAddr>,
    dst_port: u16,
    protocol: &'static str,
    observed: &'static str,
    predicted: &'static str,
    decided_by: JsonDecisions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proposed: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proposed_decided_by: Option<JsonDecisions<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<Option<&'static str>>,
    evidence: AsStr<&'a palisade_flows::Evidence>,
    attempts: u32,
    during_gap: bool,
    mismatch: Option<JsonMismatch<'a>>,
    /// The Service whose ClusterIP the session was addressed to, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    /// Policies Palisade does not evaluate that may select an end: the prediction may be
    /// wrong.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    uncertain: &'a [String],
    /// A `domainNames` rule could accept the destination and the capture names no DNS answer
    /// for it: the verdict shown is uncertain.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    depends_on_dns: bool,
    /// The names the capture's DNS answers give the destination, when a `domainNames` rule
    /// was decided with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    dns_names: Option<&'a [String]>,
    /// What `src`/`dst` name: `pod`, `workload` (with `*_workload_kind`), `external`.
    src_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_workload_kind: Option<&'static str>,
    dst_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_workload_kind: Option<&'static str>,
}

pub(crate) fn json_decisions(ds: &[Decision]) -> Vec<JsonDecision<'_>> {
    ds.iter().map(json_decision).collect()
}

fn json_decision(d: &Decision) -> JsonDecision<'_> {
    JsonDecision {
        direction: dir_name(d.direction),
        policy: &d.policy,
        rule: d.rule,
        effect: match (d.tier, d.allows) {
            (Some(_), false) => "denies",
            (_, true) => "allows",
            (None, false) => "isolates",
        },
        tier: d.tier.map(|t| t.as_str()),
        file: d.location.as_ref().map(|(f, _)| f.as_str()),
        line: d.location.as_ref().map(|(_, l)| *l),
    }
}

/// A list of deciding rules, serialized as [`json_decisions`] would be, without collecting it
/// first.
struct JsonDecisions<'a>(&'a [Decision]);

impl Serialize for JsonDecisions<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(json_decision))
    }
}

/// A value serialized as the string its `Display` writes, straight into the output
/// (`serde_json` escapes it on the way) rather than through a `String`.
struct AsStr<T>(T);

impl<T: std::fmt::Display> Serialize for AsStr<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// [`palisade_replay::Peer::label`], serialized without building the `String`.
struct JsonLabel<'a>(&'a palisade_replay::Peer, IpAddr);

impl Serialize for JsonLabel<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0.name {
            Some(name) => serializer.serialize_str(name),
            None => serializer.collect_str(&self.1),
        }
    }
}

/// [`time`], serialized from a buffer on the stack: every JSON line has one.
struct JsonTime(i64);

impl Serialize for JsonTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; 24];
        match time_on_stack(self.0, &mut buf) {
            Some(t) => serializer.serialize_str(t),
            None => serializer.serialize_str(&time(self.0)),
        }
    }
}

/// What [`time`] returns, written into `buf`, for the years 0000–9999 (the others: `None`,
/// left to [`time`]). The date is `format_rfc3339`'s ([`palisade_flows::civil_from_ns`]).
fn time_on_stack(ns: i64, buf: &mut [u8; 24]) -> Option<&str> {
    let (y, m, d, sod, nanos) = palisade_flows::civil_from_ns(ns);
    let millis = nanos / 1_000_000;
    if !(0..=9999).contains(&y) {
        return None;
    }
    let mut put = |at: usize, width: usize, mut n: i64| {
        for k in (at..at + width).rev() {
            buf[k] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, sod / 3600);
    put(14, 2, sod % 3600 / 60);
    put(17, 2, sod % 60);
    put(20, 3, millis);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        buf[at] = sep;
    }
    std::str::from_utf8(buf).ok()
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn json_session(r: &Replayed) -> JsonSession<'_> {
    let s = &r.session;
    JsonSession {
        start: JsonTime(s.start_ns),
        src: JsonLabel(&r.src, s.src.ip()),
        src_ip: AsStr(s.src.ip()),
        src_port: s.src.port(),
        dst: JsonLabel(&r.dst, s.dst.ip()),
        dst_ip: AsStr(s.dst.ip()),
        dst_port: s.dst.port(),
        protocol: s.proto.as_str(),
        observed: s.observed.as_str(),
        predicted: r.predicted.as_str(),
        decided_by: JsonDecisions(&r.current.decided_by),
        proposed: r.proposed.as_ref().map(|p| p.predicted.as_str()),
        proposed_decided_by: r.proposed.as_ref().map(|p| JsonDecisions(&p.decided_by)),
        change: r.proposed.as_ref().map(|_| r.change.map(|c| c.as_str())),
        evidence: AsStr(&s.evidence),
        attempts: s.attempts,
        during_gap: s.during_gap,
        mismatch: r.mismatch.as_ref().map(|m| JsonMismatch {
            kind: m.kind.as_str(),
            reason: &m.reason,
        }),
        service: r.service.as_ref().map(|v| v.note()),
        uncertain: &r.uncertain,
        depends_on_dns: r.dns == Some(palisade_replay::DnsDependence::Unresolved),
        dns_names: match &r.dns {
            Some(palisade_replay::DnsDependence::Resolved(names)) => Some(names),
            _ => None,
        },
        src_kind: r.src.kind.as_str(),
        src_workload_kind: r.src.kind.workload_kind(),
        dst_kind: r.dst.kind.as_str(),
        dst_workload_kind: r.dst.kind.workload_kind(),
    }
}

#[derive(Serialize)]
struct JsonGap<'a> {
    input: &'a str,
    time: Option<String>,
    lost: u64,
    source: &'a str,
    node: Option<&'a str>,
    line: u64,
}

fn json_gap<'a>(input: &'a str, g: &'a Gap) -> JsonGap<'a> {
    JsonGap {
        input,
        time: g.time_ns.map(time),
        lost: g.lost,
        source: &g.source,
        node: g.node.as_deref(),
        line: g.line,
    }
}

#[derive(Serialize)]
struct Observed4 {
    accepted: u64,
    refused: u64,
    #[serde(rename = "timed-out")]
    timed_out: u64,
    unknown: u64,
}

#[derive(Serialize)]
struct Predicted3 {
    accepted: u64,
    refused: u64,
    #[serde(rename = "timed-out")]
    timed_out: u64,
}

fn o4(c: &[u64; 4]) -> Observed4 {
    Observed4 {
        accepted: c[0],
        refused: c[1],
        timed_out: c[2],
        unknown: c[3],
    }
}

fn p3(c: &[u64; 3]) -> Predicted3 {
    Predicted3 {
        accepted: c[0],
        refused: c[1],
        timed_out: c[2],
    }
}

#[derive(Serialize)]
struct JsonMismatches {
    total: u64,
    drift: u64,
    address: u64,
    #[serde(rename = "deny-action")]
    deny_action: u64,
    #[serde(rename = "no-listener")]
    no_listener: u64,
}

#[derive(Serialize)]
struct JsonPair<'a> {
    src: &'a str,
    dst: &'a str,
    protocol: &'static str,
    port: u16,
    sessions: u64,
    observed: Observed4,
    predicted: Predicted3,
    mismatches: u64,
    first: String,
    last: String,
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    at: u64,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonInput<'a> {
    path: &'a str,
    format: Option<&'static str>,
    records: u64,
    events: u64,
    skipped: u64,
    malformed: u64,
    /// Of `skipped`: Hubble flows without an `IP` section, not replayed.
    #[serde(skip_serializing_if = "is_zero")]
    flows_without_ip: u64,
    malformed_samples: Vec<JsonProblem<'a>>,
    lost_events: u64,
    out_of_order: u64,
    max_backstep_ms: i64,
    warnings: Vec<JsonProblem<'a>>,
}

#[derive(Serialize)]
struct JsonWhatIfTotals {
    breaks: u64,
    opens: u64,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    sessions: u64,
    first: Option<String>,
    last: Option<String>,
    observed: Observed4,
    predicted: Predicted3,
    mismatches: JsonMismatches,
    during_gap: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    whatif: Option<JsonWhatIfTotals>,
    pairs: Vec<JsonPair<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    other_pairs: Option<u64>,
    inputs: Vec<JsonInput<'a>>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    change: &'static str,
    src: &'a str,
    dst: &'a str,
    protocol: &'static str,
    port: u16,
    sessions: u64,
    observed: Observed4,
    first: String,
    last: String,
}

#[derive(Serialize)]
struct JsonTop<'a> {
    src: &'a str,
    dst: &'a str,
    protocol: &'static str,
    port: u16,
    denied: u64,
}

#[derive(Serialize)]
struct JsonSpike<'a> {
    start: String,
    end: String,
    denied: u64,
    sessions: u64,
    median: Option<f64>,
    mad: Option<f64>,
    threshold: f64,
    top: Vec<JsonTop<'a>>,
}

#[derive(Serialize)]
struct JsonSpikes<'a> {
    window_s: f64,
    basis: &'static str,
    k: f64,
    threshold: Option<u64>,
    baseline_windows: usize,
    windows: u64,
    denied: u64,
    spikes: Vec<JsonSpike<'a>>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    sessions: Vec<JsonSession<'a>>,
    gaps: Vec<JsonGap<'a>>,
    summary: JsonSummary<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<JsonChange<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spikes: Option<JsonSpikes<'a>>,
}

fn json_summary<'a>(report: &Report<'a>) -> JsonSummary<'a> {
    let s = report.summary;
    let t = &s.total;
    let k = s.mismatch_kinds;
    JsonSummary {
        sessions: t.sessions,
        first: (t.sessions > 0).then(|| time(t.first_ns)),
        last: (t.sessions > 0).then(|| time(t.last_ns)),
        observed: o4(&t.observed),
        predicted: p3(&t.predicted),
        mismatches: JsonMismatches {
            total: t.mismatches,
            drift: k[0],
            address: k[1],
            deny_action: k[2],
            no_listener: k[3],
        },
        during_gap: s.during_gap,
        whatif: report.whatif.map(|w| JsonWhatIfTotals {
            breaks: w.breaks,
            opens: w.opens,
        }),
        pairs: s
            .pairs_sorted()
            .into_iter()
            .map(|(k, p)| JsonPair {
                src: &k.src,
                dst: &k.dst,
                protocol: k.protocol.as_str(),
                port: k.port,
                sessions: p.sessions,
                observed: o4(&p.observed),
                predicted: p3(&p.predicted),
                mismatches: p.mismatches,
                first: time(p.first_ns),
                last: time(p.last_ns),
            })
            .collect(),
        other_pairs: (s.other_pairs.sessions > 0).then_some(s.other_pairs.sessions),
        inputs: report
            .inputs
            .iter()
            .map(|r| JsonInput {
                path: &r.path,
                format: r.format.map(|f| f.as_str()),
                records: r.records,
                events: r.events,
                skipped: r.skipped,
                malformed: r.malformed,
                flows_without_ip: r.flows_without_ip,
                malformed_samples: r
                    .malformed_samples
                    .iter()
                    .map(|p| JsonProblem {
                        at: p.line,
                        message: &p.message,
                    })
                    .collect(),
                lost_events: r.lost_events,
                out_of_order: r.out_of_order,
                max_backstep_ms: r.max_backstep_ns / 1_000_000,
                warnings: r
                    .warnings
                    .iter()
                    .map(|p| JsonProblem {
                        at: p.line,
                        message: &p.message,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn json_change(g: &ChangeGroup) -> JsonChange<'_> {
    JsonChange {
        change: g.change.as_str(),
        src: &g.pair.src,
        dst: &g.pair.dst,
        protocol: g.pair.protocol.as_str(),
        port: g.pair.port,
        sessions: g.sessions,
        observed: o4(&g.observed),
        first: time(g.first_ns),
        last: time(g.last_ns),
    }
}

fn json_spikes(s: &SpikeReport) -> JsonSpikes<'_> {
    JsonSpikes {
        window_s: s.config.window_ns as f64 / 1e9,
        basis: s.config.basis.as_str(),
        k: s.config.k,
        threshold: s.config.threshold,
        baseline_windows: s.config.baseline_windows,
        windows: s.windows,
        denied: s.denied,
        spikes: s
            .spikes
            .iter()
            .map(|sp| JsonSpike {
                start: time(sp.start_ns),
                end: time(sp.end_ns),
                denied: sp.denied,
                sessions: sp.sessions,
                median: sp.median,
                mad: sp.mad.map(|m| (m * 1000.0).round() / 1000.0),
                threshold: (sp.threshold * 1000.0).round() / 1000.0,
                top: sp
                    .top
                    .iter()
                    .map(|(p, n)| JsonTop {
                        src: &p.src,
                        dst: &p.dst,
                        protocol: p.protocol.as_str(),
                        port: p.port,
                        denied: *n,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The whole report as one JSON document.
pub fn json(report: &Report<'_>) -> String {
    let doc = JsonReport {
        sessions: report.sessions.iter().map(json_session).collect(),
        gaps: report
            .inputs
            .iter()
            .flat_map(|r| r.gaps.iter().map(move |g| json_gap(&r.path, g)))
            .collect(),
        summary: json_summary(report),
        changes: report
            .whatif
            .map(|w| w.groups().into_iter().map(json_change).collect()),
        spikes: report.spikes.map(json_spikes),
    };
    to_json(&doc)
}

/// One session as a single JSON line (with the newline), the same object as in `json`.
pub fn jsonl_line(r: &Replayed) -> String {
    let mut line = Vec::with_capacity(512);
    write_jsonl_line(r, &mut line);
    String::from_utf8(line).expect("JSON lines are UTF-8")
}

/// [`jsonl_line`] appended to `out`: a stream of sessions serialized into one reused buffer,
/// with no allocation per session. The bytes are those `serde_json` writes for the session
/// (as in [`json`]), written by hand for speed.
///
/// Not sanitized (as [`jsonl_line`]): pass what is written to a terminal or file through
/// [`crate::escape::sanitize_output`] (or check it with [`crate::escape::needs_sanitizing`]).
/// Returns whether the line holds a byte ≥ 0x7F (DEL or non-ASCII); when it does not,
/// the line needs no sanitizing (JSON escapes every other control character), so the caller
/// may skip the check.
pub fn write_jsonl_line(r: &Replayed, out: &mut Vec<u8>) -> bool {
    let mut w = LineWriter { out, high: false };
    w.session(r);
    w.out.push(b'\n');
    w.high
}

// ---- JSON lines, written by hand ------------------------------------------------------------

/// Writes one session's JSON object into a byte buffer, byte for byte what `serde_json`
/// writes for [`JsonSession`] (the reference, checked by a property test), without
/// `serde`'s per-field machinery: keys are constants, numbers go through `itoa`, IPv4
/// addresses are written digit by digit, and a string is copied whole when it holds nothing
/// JSON escapes (else `serde_json` writes it, so escapes are its own).
struct LineWriter<'o> {
    out: &'o mut Vec<u8>,
    /// Whether a value written so far holds a byte ≥ 0x7F (DEL or non-ASCII): only then can
    /// the line hold a character [`crate::escape::sanitize_output`] escapes.
    high: bool,
}

/// Whether `b` makes `serde_json` escape a string: `"`, `\` and the C0 controls.
const fn json_escapes(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Per byte: 1 when `serde_json` escapes it (see [`json_escapes`]), 2 when it is ≥ 0x7F.
const BYTE_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = json_escapes(b) as u8 | ((b >= 0x7f) as u8) << 1;
        i += 1;
    }
    table
};

/// For a string's bytes: whether `serde_json` escapes any (see [`json_escapes`]) and whether
/// any is ≥ 0x7F. One table look-up per byte, no branch.
#[inline]
fn scan(bytes: &[u8]) -> (bool, bool) {
    let class = bytes
        .iter()
        .fold(0, |acc, &b| acc | BYTE_CLASS[usize::from(b)]);
    (class & 1 != 0, class & 2 != 0)
}

/// `fmt::Write` into a byte buffer (what `Display` values are written through).
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl LineWriter<'_> {
    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// A JSON string.
    #[inline]
    fn str(&mut self, s: &str) {
        let (esc, high) = scan(s.as_bytes());
        self.high |= high;
        if esc {
            serde_json::to_writer(&mut *self.out, s).expect("a str serializes");
        } else {
            self.out.reserve(s.len() + 2);
            self.out.push(b'"');
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(b'"');
        }
    }

    /// A JSON string or `null`.
    #[inline]
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw(b"null"),
        }
    }

    /// A value's `Display` as a JSON string: written in place, then escaped by `serde_json`
    /// if it has to be.
    fn display(&mut self, v: &dyn std::fmt::Display) {
        let start = self.out.len();
        self.out.push(b'"');
        let _ = write!(Bytes(&mut *self.out), "{v}");
        let (esc, high) = scan(&self.out[start + 1..]);
        self.high |= high;
        if esc {
            let text =
                String::from_utf8(self.out.split_off(start + 1)).expect("Display writes UTF-8");
            self.out.truncate(start);
            self.str(&text);
        } else {
            self.out.push(b'"');
        }
    }

    #[inline]
    fn int(&mut self, n: impl itoa::Integer) {
        self.raw(itoa::Buffer::new().format(n).as_bytes());
    }

    #[inline]
    fn opt_u32(&mut self, n: Option<u32>) {
        match n {
            Some(n) => self.int(n),
            None => self.raw(b"null"),
        }
    }

    #[inline]
    fn bool(&mut self, b: bool) {
        self.raw(if b { b"true" } else { b"false" });
    }

    /// An address as a JSON string, as its `Display` writes it (which never needs escaping).
    #[inline]
    fn ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) => {
                self.out.push(b'"');
                let mut buf = [0; 15];
                let text = palisade_flows::ipv4_text(v4, &mut buf);
                self.out.extend_from_slice(text.as_bytes());
                self.out.push(b'"');
            }
            IpAddr::V6(v6) => {
                self.out.push(b'"');
                let _ = write!(Bytes(&mut *self.out), "{v6}");
                self.out.push(b'"');
            }
        }
    }

    /// [`JsonLabel`]: the peer's name, else its address.
    #[inline]
    fn label(&mut self, peer: &palisade_replay::Peer, ip: IpAddr) {
        match &peer.name {
            Some(name) => self.str(name),
            None => self.ip(ip),
        }
    }

    /// [`JsonDecisions`].
    fn decisions(&mut self, ds: &[Decision]) {
        self.raw(b"[");
        for (i, d) in ds.iter().enumerate() {
            let d = json_decision(d);
            self.raw(if i == 0 {
                b"{\"direction\":"
            } else {
                b",{\"direction\":"
            });
            self.str(d.direction);
            self.raw(b",\"policy\":");
            self.str(d.policy);
            self.raw(b",\"rule\":");
            self.opt_u32(d.rule);
            self.raw(b",\"effect\":");
            self.str(d.effect);
            self.raw(b",\"file\":");
            self.opt_str(d.file);
            self.raw(b",\"line\":");
            self.opt_u32(d.line);
            if let Some(tier) = d.tier {
                self.raw(b",\"tier\":");
                self.str(tier);
            }
            self.raw(b"}");
        }
        self.raw(b"]");
    }

    /// A list of strings.
    fn strs(&mut self, items: &[String]) {
        self.raw(b"[");
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                self.raw(b",");
            }
            self.str(s);
        }
        self.raw(b"]");
    }

    /// [`JsonSession`], field by field in its order, with its `skip_serializing_if`s.
    fn session(&mut self, r: &Replayed) {
        let s = &r.session;
        self.raw(b"{\"start\":");
        let mut buf = [0; 24];
        match time_on_stack(s.start_ns, &mut buf) {
            Some(t) => self.str(t),
            None => self.str(&time(s.start_ns)),
        }
        self.raw(b",\"src\":");
        self.label(&r.src, s.src.ip());
        self.raw(b",\"src_ip\":");
        self.ip(s.src.ip());
        self.raw(b",\"src_port\":");
        self.int(s.src.port());
        self.raw(b",\"dst\":");
        self.label(&r.dst, s.dst.ip());
        self.raw(b",\"dst_ip\":");
        self.ip(s.dst.ip());
        self.raw(b",\"dst_port\":");
        self.int(s.dst.port());
        self.raw(b",\"protocol\":");
        self.str(s.proto.as_str());
        self.raw(b",\"observed\":");
        self.str(s.observed.as_str());
        self.raw(b",\"predicted\":");
        self.str(r.predicted.as_str());
        self.raw(b",\"decided_by\":");
        self.decisions(&r.current.decided_by);
        if let Some(p) = &r.proposed {
            self.raw(b",\"proposed\":");
            self.str(p.predicted.as_str());
            self.raw(b",\"proposed_decided_by\":");
            self.decisions(&p.decided_by);
            self.raw(b",\"change\":");
            self.opt_str(r.change.map(|c| c.as_str()));
        }
        self.raw(b",\"evidence\":");
        self.display(&s.evidence);
        self.raw(b",\"attempts\":");
        self.int(s.attempts);
        self.raw(b",\"during_gap\":");
        self.bool(s.during_gap);
        self.raw(b",\"mismatch\":");
        match &r.mismatch {
            Some(m) => {
                self.raw(b"{\"kind\":");
                self.str(m.kind.as_str());
                self.raw(b",\"reason\":");
                self.str(&m.reason);
                self.raw(b"}");
            }
            None => self.raw(b"null"),
        }
        if let Some(v) = &r.service {
            self.raw(b",\"service\":");
            self.str(&v.note());
        }
        if !r.uncertain.is_empty() {
            self.raw(b",\"uncertain\":");
            self.strs(&r.uncertain);
        }
        match &r.dns {
            Some(palisade_replay::DnsDependence::Unresolved) => {
                self.raw(b",\"depends_on_dns\":true");
            }
            Some(palisade_replay::DnsDependence::Resolved(names)) => {
                self.raw(b",\"dns_names\":");
                self.strs(names);
            }
            None => {}
        }
        self.raw(b",\"src_kind\":");
        self.str(r.src.kind.as_str());
        if let Some(k) = r.src.kind.workload_kind() {
            self.raw(b",\"src_workload_kind\":");
            self.str(k);
        }
        self.raw(b",\"dst_kind\":");
        self.str(r.dst.kind.as_str());
        if let Some(k) = r.dst.kind.workload_kind() {
            self.raw(b",\"dst_workload_kind\":");
            self.str(k);
        }
        self.raw(b"}");
    }
}

// ---- CSV and Markdown ---------------------------------------------------------------------

/// The CSV header (`proposed` and `change` columns with a proposal).
pub fn csv_header(proposed: bool) -> String {
    let mut h =
        String::from("start,src,src_ip,src_port,dst,dst_ip,dst_port,protocol,observed,predicted");
    if proposed {
        h.push_str(",proposed,change");
    }
    h.push_str(",mismatch,decided_by,evidence\n");
    h
}

fn decided_text(ds: &[Decision]) -> String {
    ds.iter()
        .map(|d| {
            let mut s = format!("{} {}", dir_name(d.direction), d.policy);
            match d.rule {
                Some(r) => {
                    let _ = write!(s, " rule {r}");
                }
                None => s.push_str(" (isolates)"),
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One CSV row (with the newline).
pub fn csv_row(r: &Replayed, proposed: bool) -> String {
    let s = &r.session;
    let mut fields = vec![
        time(s.start_ns),
        csv_field(&r.src.label(s.src.ip())),
        s.src.ip().to_string(),
        s.src.port().to_string(),
        csv_field(&r.dst.label(s.dst.ip())),
        s.dst.ip().to_string(),
        s.dst.port().to_string(),
        s.proto.as_str().to_string(),
        s.observed.as_str().to_string(),
        r.predicted.as_str().to_string(),
    ];
    if proposed {
        fields.push(
            r.proposed
                .as_ref()
                .map_or("", |p| p.predicted.as_str())
                .to_string(),
        );
        fields.push(r.change.map_or("", |c| c.as_str()).to_string());
    }
    fields.push(
        r.mismatch
            .as_ref()
            .map_or("", |m| m.kind.as_str())
            .to_string(),
    );
    fields.push(csv_field(&decided_text(&r.current.decided_by)));
    fields.push(csv_field(&s.evidence.to_string()));
    let mut line = fields.join(",");
    line.push('\n');
    line
}

/// Every session as CSV.
pub fn csv(report: &Report<'_>) -> String {
    let proposed = report.whatif.is_some();
    let mut out = csv_header(proposed);
    for r in report.sessions {
        out.push_str(&csv_row(r, proposed));
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The report as Markdown: summary, changes, spikes, then the sessions.
pub fn md(report: &Report<'_>) -> String {
    let mut out = String::new();
    md_totals(report, &mut out);
    md_whatif(report, &mut out);
    md_spikes(report, &mut out);
    md_pairs(report, &mut out);
    md_sessions(report, &mut out);
    md_input(report, &mut out);
    out
}

/// The title, the inputs and the observed/predicted totals.
fn md_totals(report: &Report<'_>, out: &mut String) {
    let t = &report.summary.total;
    let _ = writeln!(out, "# Replay\n");
    let inputs: Vec<String> = report
        .inputs
        .iter()
        .map(|r| format!("`{}` ({})", r.path, r.format.map_or("?", |f| f.as_str())))
        .collect();
    let _ = writeln!(
        out,
        "{} session{} from {}.\n",
        t.sessions,
        if t.sessions == 1 { "" } else { "s" },
        inputs.join(", ")
    );
    let _ = writeln!(out, "| | accepted | refused | timed-out | unknown |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| observed | {} | {} | {} | {} |",
        t.observed[0], t.observed[1], t.observed[2], t.observed[3]
    );
    let _ = writeln!(
        out,
        "| predicted | {} | {} | {} | |",
        t.predicted[0], t.predicted[1], t.predicted[2]
    );
    let _ = writeln!(out, "\nMismatches: {}.", t.mismatches);
}

/// The what-if section: breaks and opens by workload pair.
fn md_whatif(report: &Report<'_>, out: &mut String) {
    if let Some(w) = report.whatif {
        let _ = writeln!(
            out,
            "\n## What-if\n\n{} session{} would break, {} would open.\n",
            w.breaks,
            if w.breaks == 1 { "" } else { "s" },
            w.opens
        );
        let groups = w.groups();
        if !groups.is_empty() {
            let _ = writeln!(
                out,
                "| change | from | to | port | sessions | first | last |\n|---|---|---|---|---:|---|---|"
            );
            for g in groups {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {}/{} | {} | {} | {} |",
                    g.change.as_str(),
                    md_cell(&g.pair.src),
                    md_cell(&g.pair.dst),
                    g.pair.port,
                    g.pair.protocol,
                    g.sessions,
                    time(g.first_ns),
                    time(g.last_ns)
                );
            }
        }
    }
}

/// The deny-spike section.
fn md_spikes(report: &Report<'_>, out: &mut String) {
    if let Some(sp) = report.spikes {
        let _ = writeln!(
            out,
            "\n## Deny spikes\n\n{} spike{} in {} window{} of {} ({} denials).\n",
            sp.spikes.len(),
            if sp.spikes.len() == 1 { "" } else { "s" },
            sp.windows,
            if sp.windows == 1 { "" } else { "s" },
            duration_text(sp.config.window_ns),
            sp.config.basis.as_str()
        );
        if !sp.spikes.is_empty() {
            let _ = writeln!(
                out,
                "| window | denied | sessions | threshold | top pairs |\n|---|---:|---:|---:|---|"
            );
            for x in &sp.spikes {
                let top: Vec<String> = x
                    .top
                    .iter()
                    .map(|(p, n)| format!("{} ({n})", md_cell(&pair_text(p))))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} – {} | {} | {} | {:.1} | {} |",
                    time(x.start_ns),
                    clock(x.end_ns),
                    x.denied,
                    x.sessions,
                    x.threshold,
                    top.join("<br>")
                );
            }
        }
    }
}

/// Sessions per (source, destination, port) pair.
fn md_pairs(report: &Report<'_>, out: &mut String) {
    let s = report.summary;
    let pairs = s.pairs_sorted();
    if !pairs.is_empty() {
        let _ = writeln!(
            out,
            "\n## Pairs\n\n| from | to | port | sessions | accepted | refused | timed-out | unknown | mismatches |\n|---|---|---|---:|---:|---:|---:|---:|---:|"
        );
        for (k, p) in pairs {
            let _ = writeln!(
                out,
                "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {} |",
                md_cell(&k.src),
                md_cell(&k.dst),
                k.port,
                k.protocol,
                p.sessions,
                p.observed[0],
                p.observed[1],
                p.observed[2],
                p.observed[3],
                p.mismatches
            );
        }
    }
}

/// The session timeline, when asked for.
fn md_sessions(report: &Report<'_>, out: &mut String) {
    if report.timeline && !report.sessions.is_empty() {
        let proposed = report.whatif.is_some();
        out.push_str(&md_sessions_header(proposed));
        for r in report.sessions {
            out.push_str(&md_session_row(r, proposed));
        }
    }
}

/// The heading and table header of the Markdown timeline.
fn md_sessions_header(proposed: bool) -> String {
    format!(
        "\n## Sessions\n\n| start | from | to | port | observed | predicted |{} decided by | mismatch |\n|---|---|---|---|---|---|{}---|---|\n",
        if proposed { " proposed |" } else { "" },
        if proposed { "---|" } else { "" }
    )
}

/// One row of the Markdown timeline (with the newline).
fn md_session_row(r: &Replayed, proposed: bool) -> String {
    let se = &r.session;
    let proposed_cell = match (&r.proposed, r.change) {
        (Some(p), Some(c)) => format!(" {} ({}) |", p.predicted.as_str(), c.as_str()),
        (Some(p), None) => format!(" {} |", p.predicted.as_str()),
        (None, _) if proposed => " |".to_string(),
        _ => String::new(),
    };
    format!(
        "| {} | {} | {} | {}/{} | {} | {} |{proposed_cell} {} | {} |\n",
        time(se.start_ns),
        md_cell(&r.src.label(se.src.ip())),
        md_cell(&r.dst.label(se.dst.ip())),
        se.dst.port(),
        se.proto,
        se.observed.as_str(),
        r.predicted.as_str(),
        md_cell(&reason(r, &r.current)),
        r.mismatch.as_ref().map_or(String::new(), |m| format!(
            "**{}**: {}",
            m.kind.as_str(),
            md_cell(&m.reason)
        ))
    )
}

/// Problems of the inputs.
fn md_input(report: &Report<'_>, out: &mut String) {
    let problems = input_lines(report.inputs);
    if !problems.is_empty() {
        let _ = writeln!(out, "\n## Input\n");
        for p in problems {
            let _ = writeln!(out, "- {}", md_cell(&p));
        }
    }
}

// ---- Reports written a session at a time --------------------------------------------------
//
// A capture of millions of sessions does not fit a report built in one string (the CLI keeps
// its sessions in sorted runs on disk instead): these cut every format that lists sessions
// into the frame around them and one piece per session, such that writing `before`, the
// pieces (aligned and separated as [`SessionFrame`] says) and `after` gives the same bytes as
// [`text`], [`md`], [`csv`], [`json`] or YAML of [`json`] on the same sessions (tested).

/// A report format that lists every session.
#[derive(Clone, Copy, Debug)]
pub enum SessionFormat {
    /// [`text`] with the timeline.
    Text(Style),
    /// [`md`] with the timeline.
    Md,
    /// [`csv`].
    Csv,
    /// [`json`].
    Json,
    /// YAML of [`json`] ([`crate::yaml::from_json`]).
    Yaml,
}

/// One session's part of a report. Only the text timeline aligns its entries: there `head`
/// (`src → dst :port/proto`, `head_width` characters) is padded to the widest head of the
/// whole report before `body`; elsewhere `head` is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionPiece {
    /// What the text timeline aligns on (with the start time before it); empty elsewhere.
    pub head: String,
    /// The characters of the head to align (without the time).
    pub head_width: usize,
    /// The rest, with its final newline (none for a JSON element).
    pub body: String,
}

impl SessionPiece {
    /// Writes the piece among pieces whose widest head is `width` characters: the head
    /// padded to it, then the body.
    ///
    /// # Errors
    /// Those of `out`.
    pub fn write_padded(&self, width: usize, out: &mut impl std::io::Write) -> std::io::Result<()> {
        out.write_all(self.head.as_bytes())?;
        write!(out, "{:1$}", "", width.saturating_sub(self.head_width))?;
        out.write_all(self.body.as_bytes())
    }
}

/// A report without its sessions, cut where they go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFrame {
    /// Everything before the first session.
    pub before: String,
    /// Written between two pieces.
    pub separator: &'static str,
    /// Everything after the last session.
    pub after: String,
}

/// One session as `format` lists it. `proposed`: whether the report has a proposal (the CSV
/// and Markdown columns).
///
/// # Errors
/// Only for YAML, when the session's JSON does not convert (a bug, as in [`crate::yaml`]).
pub fn session_piece(
    format: SessionFormat,
    r: &Replayed,
    proposed: bool,
) -> Result<SessionPiece, String> {
    Ok(match format {
        SessionFormat::Text(style) => {
            let head = timeline_head(r);
            let head_width = head.chars().count();
            let mut body = String::new();
            timeline_tail(r, style, &mut body);
            SessionPiece {
                head: format!("{}  {head}", clock(r.session.start_ns)),
                head_width,
                body,
            }
        }
        SessionFormat::Md => SessionPiece {
            body: md_session_row(r, proposed),
            ..SessionPiece::default()
        },
        SessionFormat::Csv => SessionPiece {
            body: csv_row(r, proposed),
            ..SessionPiece::default()
        },
        SessionFormat::Json => SessionPiece {
            // An element of the pretty-printed `sessions` array: every line four spaces in.
            body: indent_lines(to_json(&json_session(r)).trim_end(), "    ", "    "),
            ..SessionPiece::default()
        },
        SessionFormat::Yaml => {
            let doc = crate::yaml::from_json(&to_json(&json_session(r)))?;
            SessionPiece {
                // An item of the block sequence under `sessions:`.
                body: indent_lines(&doc, "- ", "  "),
                ..SessionPiece::default()
            }
        }
    })
}

/// `text` with `first` before its first line and `rest` before each later non-empty one.
/// Empty lines stay empty, as the YAML emitter writes them inside a block scalar at any depth
/// (pretty JSON has none).
fn indent_lines(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i == 0 {
            out.push_str(first);
        } else if line != "\n" {
            out.push_str(rest);
        }
        out.push_str(line);
    }
    out
}

/// The report around its sessions (`report.sessions` is ignored: the pieces stand for them,
/// and there is at least one). Text and Markdown assume `report.timeline`.
///
/// # Errors
/// Only for YAML, as [`session_piece`].
pub fn session_frame(format: SessionFormat, report: &Report<'_>) -> Result<SessionFrame, String> {
    let frame = Report {
        sessions: &[],
        ..*report
    };
    let proposed = report.whatif.is_some();
    Ok(match format {
        SessionFormat::Text(style) => {
            let mut before = text_title(&frame, style);
            before.push('\n');
            let mut after = String::new();
            text_after_timeline(&frame, style, &mut after);
            SessionFrame {
                before,
                separator: "",
                after,
            }
        }
        SessionFormat::Md => {
            let mut before = String::new();
            md_totals(&frame, &mut before);
            md_whatif(&frame, &mut before);
            md_spikes(&frame, &mut before);
            md_pairs(&frame, &mut before);
            before.push_str(&md_sessions_header(proposed));
            let mut after = String::new();
            md_input(&frame, &mut after);
            SessionFrame {
                before,
                separator: "",
                after,
            }
        }
        SessionFormat::Csv => SessionFrame {
            before: csv_header(proposed),
            separator: "",
            after: String::new(),
        },
        SessionFormat::Json => {
            let doc = json(&frame);
            let rest = doc
                .strip_prefix(JSON_NO_SESSIONS)
                .expect("`sessions` is the report's first member");
            SessionFrame {
                before: "{\n  \"sessions\": [\n".to_string(),
                separator: ",\n",
                after: format!("\n  ]{rest}"),
            }
        }
        SessionFormat::Yaml => {
            let doc = crate::yaml::from_json(&json(&frame))?;
            let rest = doc
                .strip_prefix(YAML_NO_SESSIONS)
                .ok_or("`sessions` is not the YAML report's first key")?;
            SessionFrame {
                before: "sessions:\n".to_string(),
                separator: "",
                after: rest.to_string(),
            }
        }
    })
}

/// How [`json`] starts when there are no sessions.
const JSON_NO_SESSIONS: &str = "{\n  \"sessions\": []";
/// How its YAML starts then.
const YAML_NO_SESSIONS: &str = "sessions: []\n";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What [`JsonTime`] serializes to.
    fn json_time(ns: i64) -> String {
        serde_json::to_string(&JsonTime(ns)).unwrap()
    }

    #[test]
    fn session_start_times_serialize_as_time_writes_them() {
        for ns in [
            0,
            -1,
            1_789_862_400_500_000_000,
            1_789_862_400_999_999_999,
            -1_000_000,
            951_782_400_000_000_000,
            1_709_164_799_999_999_999,
            i64::MIN + 1,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(json_time(ns), format!("\"{}\"", time(ns)), "{ns}");
        }
    }

    proptest! {
        #[test]
        fn any_start_time_serializes_as_time_writes_it(ns: i64) {
            prop_assert_eq!(json_time(ns), format!("\"{}\"", time(ns)));
        }

        #[test]
        fn start_times_near_now_serialize_as_time_writes_them(
            ns in 0..4_102_444_800_000_000_000_i64,
        ) {
            prop_assert_eq!(json_time(ns), format!("\"{}\"", time(ns)));
        }
    }

    /// What `write_jsonl_line` wrote before it was written by hand: `serde_json` on
    /// [`JsonSession`]. The hand-written line must equal it byte for byte.
    fn serde_line(r: &Replayed) -> Vec<u8> {
        let mut line = serde_json::to_vec(&json_session(r)).unwrap();
        line.push(b'\n');
        line
    }

    /// Text near every edge of the string writer: what JSON escapes (quotes, backslashes,
    /// every C0 control), what it does not but sanitizing does (DEL, C1, bidi marks),
    /// non-ASCII, and plain text long enough to cross the 16-byte blocks.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-z0-9/ .:-]{0,24}",
            any::<char>().prop_map(String::from),
            (0u8..0x20).prop_map(|b| char::from(b).to_string()),
            prop::sample::select(vec![
                "\"", "\\", "\n", "\t", "\r", "\u{8}", "\u{c}", "\u{1b}", "\u{7f}", "\u{80}",
                "\u{9b}", "é", "→", "\u{200e}", "\u{202e}", "\u{2066}", "\u{2028}", "😀",
            ])
            .prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            prop::sample::select(vec![
                IpAddr::from([0, 0, 0, 0]),
                IpAddr::from([255, 255, 255, 255]),
                IpAddr::from([10, 0, 100, 9]),
                "::".parse().unwrap(),
                "::1".parse().unwrap(),
                "::ffff:10.1.2.3".parse().unwrap(),
                "fe80::1:0:0:2".parse().unwrap(),
            ]),
            any::<[u16; 8]>().prop_map(IpAddr::from),
        ]
    }

    fn opt_arc(s: Option<String>) -> Option<std::sync::Arc<str>> {
        s.map(std::sync::Arc::from)
    }

    fn evidence() -> impl Strategy<Value = palisade_flows::Evidence> {
        use palisade_flows::{DropSide, Evidence, Unreachable};
        let unreachable = prop_oneof![
            prop::sample::select(vec![
                Unreachable::Net,
                Unreachable::Host,
                Unreachable::Protocol,
                Unreachable::Port,
                Unreachable::AdminProhibited,
            ]),
            any::<u8>().prop_map(Unreachable::Other),
        ];
        prop_oneof![
            prop::sample::select(vec![
                Evidence::SynAck,
                Evidence::RstToSyn,
                Evidence::InitAck,
                Evidence::AbortToInit,
                Evidence::Reply,
                Evidence::CaptureEnded,
                Evidence::HubbleForwarded,
                Evidence::HubbleMidStreamForwarded,
                Evidence::FlowLogAccept { reply: true },
                Evidence::FlowLogAccept { reply: false },
                Evidence::FlowLogReject,
                Evidence::Listed,
                Evidence::NotListed,
                Evidence::MidStream,
            ]),
            (any::<bool>(), unreachable)
                .prop_map(|(v6, kind)| Evidence::IcmpUnreachable { v6, kind }),
            prop_oneof![any::<u64>(), (0..100u64).prop_map(|s| s * 1000)]
                .prop_map(|timeout_ms| Evidence::NoAnswer { timeout_ms }),
            (any::<u64>(), any::<bool>()).prop_map(|(timeout_ms, replies_captured)| {
                Evidence::HubbleForwardedNoAnswer {
                    timeout_ms,
                    replies_captured,
                }
            }),
            (
                prop::option::of(text()),
                prop::sample::select(vec![
                    DropSide::EgressOnSourceNode,
                    DropSide::IngressOnDestinationNode,
                    DropSide::Unknown,
                ]),
                prop::option::of(text()),
            )
                .prop_map(|(reason, side, node)| Evidence::HubbleDropped {
                    reason: opt_arc(reason),
                    side,
                    node: opt_arc(node),
                }),
        ]
    }

    fn kind() -> impl Strategy<Value = palisade_model::EndpointKind> {
        use palisade_model::{EndpointKind, WorkloadKind};
        prop_oneof![
            prop::sample::select(vec![
                EndpointKind::Pod,
                EndpointKind::External,
                EndpointKind::Service
            ]),
            prop::sample::select(vec![
                WorkloadKind::Deployment,
                WorkloadKind::ReplicaSet,
                WorkloadKind::StatefulSet,
                WorkloadKind::DaemonSet,
                WorkloadKind::Job,
                WorkloadKind::CronJob,
                WorkloadKind::ReplicationController,
            ])
            .prop_map(EndpointKind::Workload),
        ]
    }

    fn peer() -> impl Strategy<Value = palisade_replay::Peer> {
        (prop::option::of(text()), kind()).prop_map(|(name, kind)| palisade_replay::Peer {
            pod: None,
            name: opt_arc(name),
            namespace: None,
            source: palisade_replay::MapSource::Ip,
            kind,
            named: None,
            ip_pod: None,
            pod_name: None,
            ip_pod_name: None,
        })
    }

    fn predicted() -> impl Strategy<Value = palisade_replay::Predicted> {
        use palisade_replay::Predicted;
        prop::sample::select(vec![
            Predicted::Accepted,
            Predicted::Refused,
            Predicted::TimedOut,
        ])
    }

    fn decision() -> impl Strategy<Value = Decision> {
        (
            any::<bool>(),
            text(),
            prop::option::of(any::<u32>()),
            any::<bool>(),
            prop::option::of((text(), any::<u32>())),
            prop::option::of(prop::sample::select(vec![
                palisade_model::AdminTier::Admin,
                palisade_model::AdminTier::Baseline,
            ])),
        )
            .prop_map(|(ingress, policy, rule, allows, location, tier)| Decision {
                direction: if ingress {
                    Direction::Ingress
                } else {
                    Direction::Egress
                },
                policy,
                rule,
                allows,
                location,
                tier,
            })
    }

    fn prediction() -> impl Strategy<Value = Prediction> {
        (predicted(), prop::collection::vec(decision(), 0..4)).prop_map(|(predicted, ds)| {
            Prediction {
                predicted,
                egress: SideOutcome::Allowed,
                ingress: SideOutcome::Denied,
                decided_by: ds.into(),
            }
        })
    }

    fn session() -> impl Strategy<Value = palisade_flows::Session> {
        use palisade_flows::Observed;
        use palisade_model::Protocol;
        (
            prop_oneof![any::<i64>(), 0..4_102_444_800_000_000_000_i64],
            prop::sample::select(Protocol::ALL.to_vec()),
            (ip(), any::<u16>(), ip(), any::<u16>()),
            prop::sample::select(vec![
                Observed::Accepted,
                Observed::Refused,
                Observed::TimedOut,
                Observed::Unknown,
            ]),
            evidence(),
            any::<u32>(),
            any::<bool>(),
        )
            .prop_map(
                |(start_ns, proto, (sip, sport, dip, dport), observed, evidence, attempts, gap)| {
                    palisade_flows::Session {
                        start_ns,
                        last_seen_ns: start_ns,
                        decided_ns: start_ns,
                        proto,
                        src: std::net::SocketAddr::new(sip, sport),
                        dst: std::net::SocketAddr::new(dip, dport),
                        observed,
                        evidence,
                        packets_fwd: 1,
                        packets_rev: 0,
                        attempts,
                        src_endpoint: None,
                        dst_endpoint: None,
                        nodes: Vec::new(),
                        denied_by: Vec::new(),
                        during_gap: gap,
                    }
                },
            )
    }

    fn replayed() -> impl Strategy<Value = Replayed> {
        use palisade_replay::{Change, DnsDependence, Mismatch, ServiceVia};
        (
            (session(), peer(), peer()),
            (prediction(), prop::option::of(prediction())),
            prop::option::of(prop::sample::select(vec![Change::Break, Change::Open])),
            prop::option::of(
                (prop::sample::select(MismatchKind::ALL.to_vec()), text())
                    .prop_map(|(kind, reason)| Mismatch { kind, reason }),
            ),
            prop::option::of((text(), 0..4usize, 0..4usize).prop_map(
                |(service, backends, allowed)| ServiceVia {
                    service,
                    backends,
                    allowed,
                },
            )),
            prop::collection::vec(text(), 0..3),
            prop_oneof![
                Just(None),
                Just(Some(DnsDependence::Unresolved)),
                prop::collection::vec(text(), 0..3)
                    .prop_map(|names| Some(DnsDependence::Resolved(names))),
            ],
        )
            .prop_map(
                |(
                    (session, src, dst),
                    (current, proposed),
                    change,
                    mismatch,
                    service,
                    uncertain,
                    dns,
                )| Replayed {
                    session,
                    src,
                    dst,
                    predicted: current.predicted,
                    current,
                    mismatch,
                    proposed,
                    change,
                    service,
                    uncertain,
                    dns,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The hand-written line is `serde_json`'s, byte for byte; it says it may need
        /// sanitizing exactly when it holds a byte ≥ 0x7F, and it needs sanitizing only then.
        #[test]
        fn jsonl_lines_are_serde_jsons(r in replayed()) {
            let mut line = b"left alone".to_vec();
            let high = write_jsonl_line(&r, &mut line);
            let reference = serde_line(&r);
            prop_assert_eq!(
                String::from_utf8_lossy(&line[10..]),
                String::from_utf8_lossy(&reference)
            );
            prop_assert_eq!(&line[..10], b"left alone");
            prop_assert_eq!(&line[10..], &reference[..]);
            prop_assert_eq!(high, reference.iter().any(|&b| b >= 0x7f));
            if !high {
                prop_assert!(!crate::escape::needs_sanitizing(&reference));
            }
        }
    }

    /// What a writer of pieces does: the frame, the pieces in order with the separator
    /// between them and every text head padded to the widest.
    fn assemble(frame: &SessionFrame, pieces: &[SessionPiece]) -> String {
        let width = pieces.iter().map(|p| p.head_width).max().unwrap_or(0);
        let mut out = frame.before.clone();
        for (i, p) in pieces.iter().enumerate() {
            if i > 0 {
                out.push_str(frame.separator);
            }
            let mut bytes = Vec::new();
            p.write_padded(width, &mut bytes).unwrap();
            out.push_str(&String::from_utf8(bytes).unwrap());
        }
        out.push_str(&frame.after);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Frame and pieces give the whole report's bytes in every format that lists
        /// sessions, with and without a proposal.
        #[test]
        fn pieces_in_their_frame_are_the_whole_report(
            sessions in prop::collection::vec(replayed(), 1..6),
            with_proposal: bool,
            color: bool,
        ) {
            let mut summary = Summary::default();
            let mut whatif = WhatIf::default();
            for r in &sessions {
                summary.add(r);
                whatif.add(r);
            }
            let inputs = [ReadReport::default()];
            let report = Report {
                sessions: &sessions,
                summary: &summary,
                inputs: &inputs,
                whatif: with_proposal.then_some(&whatif),
                spikes: None,
                timeline: true,
            };
            let style = Style { color };
            let formats = [
                (SessionFormat::Text(style), super::text(&report, style)),
                (SessionFormat::Md, md(&report)),
                (SessionFormat::Csv, csv(&report)),
                (SessionFormat::Json, json(&report)),
                (SessionFormat::Yaml, crate::yaml::from_json(&json(&report)).unwrap()),
            ];
            for (format, whole) in formats {
                let frame = session_frame(format, &report).unwrap();
                let pieces: Vec<SessionPiece> = sessions
                    .iter()
                    .map(|r| session_piece(format, r, with_proposal).unwrap())
                    .collect();
                prop_assert_eq!(assemble(&frame, &pieces), whole, "{:?}", format);
            }
        }
    }
}
