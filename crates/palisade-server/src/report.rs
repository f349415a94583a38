//! `palisade report`: the page with every view's data inlined, readable offline.
//!
//! What the server computes on demand is precomputed here: the matrix for the most used
//! ports, the explanation of every observed workload pair, and the manifest files the
//! explanations and findings point at.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use palisade_engine::connectivity::PeerRef;

use crate::api;
use crate::snapshot::Snapshot;

/// Matrices are inlined for at most this many ports…
pub const REPORT_MATRIX_PORTS: usize = 8;
/// …and only when the workload-level matrix has at most this many rows.
pub const REPORT_MATRIX_MAX_PEERS: usize = 300;
/// Explanations inlined at most (observed pairs first).
pub const REPORT_MAX_CHECKS: usize = 2000;

/// The most used `(port, protocol)` pairs: single ports named by the allowed connections
/// and by the capture, by frequency then port.
fn matrix_ports(snapshot: &Snapshot) -> Vec<(u16, &'static str)> {
    let mut count: BTreeMap<(u16, &'static str), usize> = BTreeMap::new();
    for c in &snapshot.connectivity.connections {
        for a in palisade_render::connectivity::json_allowed(&c.ports) {
            for part in a.ports.split(',') {
                if let Ok(p) = part.parse::<u16>() {
                    *count.entry((p, a.protocol)).or_default() += 1;
                }
            }
        }
    }
    if let Some(capture) = &snapshot.capture {
        for (k, s) in capture.summary.pairs_sorted() {
            *count.entry((k.port, k.protocol.as_str())).or_default() += s.sessions as usize;
        }
    }
    let mut ports: Vec<((u16, &'static str), usize)> = count.into_iter().collect();
    ports.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ports
        .into_iter()
        .take(REPORT_MATRIX_PORTS)
        .map(|(k, _)| k)
        .collect()
}

fn push_entry(out: &mut String, first: &mut bool, key: &str, raw_json: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    let _ = write!(
        out,
        "{}:{}",
        serde_json::to_string(key).expect("a string serializes"),
        raw_json.trim_end()
    );
}

fn object(entries: impl IntoIterator<Item = (String, String)>) -> String {
    let mut out = String::from("{");
    let mut first = true;
    for (k, v) in entries {
        push_entry(&mut out, &mut first, &k, &v);
    }
    out.push('}');
    out
}

/// The report's data object (what `GET /api/...` would return, keyed by view).
pub fn report_data(snapshot: &Snapshot) -> String {
    let mut parts: Vec<(String, String)> = vec![
        ("mode".into(), "\"report\"".into()),
        (
            "status".into(),
            crate::server::status_json(snapshot, 1, false, None),
        ),
        ("map".into(), snapshot.map_json.clone()),
        ("lint".into(), snapshot.lint_json.clone()),
        ("audit".into(), snapshot.audit_json.clone()),
    ];
    if let Some(d) = &snapshot.diff_json {
        parts.push(("diff".into(), d.clone()));
    }
    if let Some(r) = &snapshot.replay_json {
        parts.push(("replay".into(), r.clone()));
    }
    let workloads = snapshot
        .connectivity
        .peers
        .iter()
        .filter(|p| !matches!(p.what, PeerRef::External(_)))
        .count();
    let mut matrices = Vec::new();
    if workloads <= REPORT_MATRIX_MAX_PEERS {
        for (port, protocol) in matrix_ports(snapshot) {
            if let Ok(m) = api::matrix(snapshot, &port.to_string(), protocol, None) {
                matrices.push((format!("{port}/{protocol}"), m));
            }
        }
    }
    parts.push(("matrices".into(), object(matrices)));
    let mut checks = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    if let Some(capture) = &snapshot.capture {
        for (k, _) in capture.summary.pairs_sorted() {
            if checks.len() >= REPORT_MAX_CHECKS {
                break;
            }
            let port = k.port.to_string();
            if let Ok(c) = api::check(snapshot, &k.src, &k.dst, &port, k.protocol.as_str()) {
                checks.push((
                    format!("{}|{}|{}|{}", k.src, k.dst, port, k.protocol.as_str()),
                    c,
                ));
            }
        }
    }
    parts.push(("checks".into(), object(checks)));
    // The files policies and findings live in.
    for p in &snapshot.model.policies {
        if let Some(loc) = snapshot.model.location(p.span) {
            files.insert(loc.file);
        }
    }
    if let Ok(lint) = serde_json::from_str::<serde_json::Value>(&snapshot.lint_json)
        && let Some(ds) = lint["diagnostics"].as_array()
    {
        for d in ds {
            if let Some(f) = d["file"].as_str() {
                files.insert(f.to_string());
            }
        }
    }
    if let Some(proposed) = &snapshot.proposed {
        for p in &proposed.policies {
            if let Some(loc) = proposed.location(p.span) {
                files.insert(loc.file);
            }
        }
    }
    let sources = files.into_iter().filter_map(|f| {
        api::source(snapshot, &f).map(|text| {
            let text = serde_json::to_string(text).expect("a string serializes");
            (f, text)
        })
    });
    parts.push(("sources".into(), object(sources)));
    object(parts)
}

/// The whole report: one HTML file, no network.
pub fn report_html(snapshot: &Snapshot) -> String {
    crate::assets::report_html(&report_data(snapshot))
}
