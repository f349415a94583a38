//! `palisade report`: the page with every view's data inlined, readable offline.
//!
//! What the server computes on demand is precomputed here: the matrix for the most used
//! ports, the explanation of every observed workload pair, and the manifest files the
//! explanations and findings point at.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

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

/// Writes `"key":value` into a JSON object being written, with the comma before it unless it
/// is the first entry; `value` writes the value.
fn entry<W: Write + ?Sized>(
    out: &mut W,
    first: &mut bool,
    key: &str,
    value: impl FnOnce(&mut W) -> io::Result<()>,
) -> io::Result<()> {
    if !*first {
        out.write_all(b",")?;
    }
    *first = false;
    serde_json::to_writer(&mut *out, key).map_err(io::Error::other)?;
    out.write_all(b":")?;
    value(out)
}

/// [`entry`] with a value already serialized (trailing whitespace dropped).
fn raw_entry<W: Write + ?Sized>(
    out: &mut W,
    first: &mut bool,
    key: &str,
    raw_json: &str,
) -> io::Result<()> {
    entry(out, first, key, |out| {
        out.write_all(raw_json.trim_end().as_bytes())
    })
}

/// The report's data object (what `GET /api/...` would return, keyed by view).
pub fn report_data(snapshot: &Snapshot) -> String {
    let mut out = Vec::new();
    write_report_data(snapshot, &mut out).expect("writing to a Vec does not fail");
    String::from_utf8(out).expect("JSON is UTF-8 text")
}

/// [`report_data`] written piece by piece: the views' documents are written from the
/// snapshot as they are (not copied), each matrix, explanation and source file as soon as it
/// is made.
pub fn write_report_data<W: Write + ?Sized>(snapshot: &Snapshot, out: &mut W) -> io::Result<()> {
    out.write_all(b"{")?;
    let first = &mut true;
    raw_entry(out, first, "mode", "\"report\"")?;
    raw_entry(
        out,
        first,
        "status",
        &crate::server::status_json(snapshot, 1, false, None),
    )?;
    raw_entry(out, first, "map", &snapshot.map_json)?;
    raw_entry(out, first, "lint", &snapshot.lint_json)?;
    raw_entry(out, first, "audit", &snapshot.audit_json)?;
    if let Some(d) = &snapshot.diff_json {
        raw_entry(out, first, "diff", d)?;
    }
    if let Some(r) = &snapshot.replay_json {
        raw_entry(out, first, "replay", r)?;
    }
    let workloads = snapshot
        .connectivity
        .peers
        .iter()
        .filter(|p| !matches!(p.what, PeerRef::External(_)))
        .count();
    entry(out, first, "matrices", |out| {
        out.write_all(b"{")?;
        let first = &mut true;
        if workloads <= REPORT_MATRIX_MAX_PEERS {
            for (port, protocol) in matrix_ports(snapshot) {
                if let Ok(m) = api::matrix(snapshot, &port.to_string(), protocol, None) {
                    raw_entry(out, first, &format!("{port}/{protocol}"), &m)?;
                }
            }
        }
        out.write_all(b"}")
    })?;
    entry(out, first, "checks", |out| {
        out.write_all(b"{")?;
        let first = &mut true;
        if let Some(capture) = &snapshot.capture {
            let mut checks = 0;
            for (k, _) in capture.summary.pairs_sorted() {
                if checks >= REPORT_MAX_CHECKS {
                    break;
                }
                let port = k.port.to_string();
                if let Ok(c) = api::check(snapshot, &k.src, &k.dst, &port, k.protocol.as_str()) {
                    checks += 1;
                    let key = format!("{}|{}|{}|{}", k.src, k.dst, port, k.protocol.as_str());
                    raw_entry(out, first, &key, &c)?;
                }
            }
        }
        out.write_all(b"}")
    })?;
    // The files policies and findings live in.
    let mut files: BTreeSet<String> = BTreeSet::new();
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
    entry(out, first, "sources", |out| {
        out.write_all(b"{")?;
        let first = &mut true;
        for f in &files {
            if let Some(text) = api::source(snapshot, f) {
                entry(out, first, f, |out| {
                    serde_json::to_writer(&mut *out, text).map_err(io::Error::other)
                })?;
            }
        }
        out.write_all(b"}")
    })?;
    out.write_all(b"}")
}

/// The whole report: one HTML file, no network.
pub fn report_html(snapshot: &Snapshot) -> String {
    crate::assets::report_html(&report_data(snapshot))
}

/// [`report_html`] written piece by piece to `out` (wrap a file in a `BufWriter`): the page
/// and its data are never held whole in memory.
pub fn write_report_html<W: Write + ?Sized>(snapshot: &Snapshot, out: &mut W) -> io::Result<()> {
    crate::assets::write_report_html(out, |w| write_report_data(snapshot, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Inputs, Options};
    use palisade_load::Input;
    use std::path::Path;

    fn object(entries: impl IntoIterator<Item = (String, String)>) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in entries.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(&k).unwrap());
            out.push(':');
            out.push_str(v.trim_end());
        }
        out.push('}');
        out
    }

    /// The data object as it was built before it was streamed (every part a string, then
    /// the object): the reference for [`write_report_data`].
    fn report_data_whole(snapshot: &Snapshot) -> String {
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
        let mut files: BTreeSet<String> = BTreeSet::new();
        for m in std::iter::once(&snapshot.model).chain(snapshot.proposed.as_ref()) {
            for p in &m.policies {
                if let Some(loc) = m.location(p.span) {
                    files.insert(loc.file);
                }
            }
        }
        let lint: serde_json::Value = serde_json::from_str(&snapshot.lint_json).unwrap();
        for d in lint["diagnostics"].as_array().unwrap() {
            if let Some(f) = d["file"].as_str() {
                files.insert(f.to_string());
            }
        }
        let sources = files.into_iter().filter_map(|f| {
            api::source(snapshot, &f).map(|text| (f, serde_json::to_string(text).unwrap()))
        });
        parts.push(("sources".into(), object(sources)));
        object(parts)
    }

    /// The example app with its pods, a capture and a proposal: every part of the report
    /// (diff, replay, matrices, explanations, sources) is there.
    #[test]
    fn streamed_report_is_the_whole_report() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let cluster = root.join("webshop-traffic/cluster");
        let inputs = Inputs {
            current: vec![
                Input::Path(root.join("webshop")),
                Input::Path(cluster.clone()),
            ],
            proposed: Some(vec![
                Input::Path(root.join("webshop-fixed")),
                Input::Path(cluster),
            ]),
            captures: vec![root.join("webshop-traffic/capture.pcap")],
        };
        let snapshot = Snapshot::build(&inputs, &Options::default()).unwrap();
        let whole = report_data_whole(&snapshot);
        for key in [
            "\"diff\":",
            "\"replay\":",
            "\"8080/TCP\":",
            "|TCP\":",
            "\"sources\":{\"",
        ] {
            assert!(whole.contains(key), "{key} missing");
        }
        assert_eq!(report_data(&snapshot), whole);
        let mut page = Vec::new();
        write_report_html(&snapshot, &mut page).unwrap();
        assert_eq!(
            String::from_utf8(page).unwrap(),
            crate::assets::report_html(&whole)
        );
    }
}
