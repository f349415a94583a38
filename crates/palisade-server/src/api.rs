//! The queries behind the JSON endpoints that take parameters (check, matrix, source),
//! independent of HTTP so the report can run them too.

use palisade_engine::{Reference, matrix, resolve_endpoints};
use palisade_model::{Model, Protocol};
use palisade_render::OutputFormat;

use crate::snapshot::Snapshot;

/// The most rows a matrix may have, as `palisade matrix --max-peers` by default.
pub const MAX_MATRIX_PEERS: usize = 5000;

/// A query the endpoints refuse, with the reason shown to the user (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

fn protocol(s: &str) -> Result<Protocol, BadRequest> {
    Protocol::parse_loose(s)
        .ok_or_else(|| BadRequest(format!("unknown protocol `{s}`: expected TCP, UDP or SCTP")))
}

fn port(s: &str) -> Result<u16, BadRequest> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(BadRequest(format!("`{s}` is not a port (1-65535)"))),
    }
}

fn endpoints(model: &Model, name: &str) -> Result<Vec<palisade_engine::Endpoint>, BadRequest> {
    resolve_endpoints(model, name).ok_or_else(|| {
        BadRequest(format!(
            "no pod or workload `{name}` (expected `namespace/name` or an IP address)"
        ))
    })
}

/// `palisade check --from FROM --to TO --port PORT --protocol PROTOCOL -o json`.
pub fn check(
    snapshot: &Snapshot,
    from: &str,
    to: &str,
    port_text: &str,
    protocol_text: &str,
) -> Result<String, BadRequest> {
    let model = &snapshot.model;
    let protocol = protocol(protocol_text)?;
    let port = port(port_text)?;
    let src = endpoints(model, from).map_err(|e| BadRequest(format!("from: {}", e.0)))?;
    let dst = endpoints(model, to).map_err(|e| BadRequest(format!("to: {}", e.0)))?;
    let reference = Reference::new(model);
    // As `palisade check`: every pod pair, the first denied one explained.
    let found = reference
        .explain_pairs(&src, &dst, protocol, port, None)
        .expect("resolve_endpoints returns at least one endpoint");
    let notes: Vec<String> = found.note(from, to).into_iter().collect();
    Ok(palisade_render::check::json(
        model,
        &found.explanation,
        &notes,
    ))
}

/// `palisade matrix --port PORT --protocol PROTOCOL --level workload -o json`, optionally
/// restricted to the rows and columns of one namespace (same shape, fewer peers), within
/// what the snapshot is narrowed to (`-n`, `-l`: as `palisade matrix -n/-l`).
pub fn matrix(
    snapshot: &Snapshot,
    port_text: &str,
    protocol_text: &str,
    namespace: Option<&str>,
) -> Result<String, BadRequest> {
    let protocol = protocol(protocol_text)?;
    let port = port(port_text)?;
    let mut selection = snapshot.selection.clone();
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        match &selection.namespace {
            Some(chosen) if chosen != ns => {
                return Err(BadRequest(format!(
                    "the views are narrowed to namespace `{chosen}` (-n): no rows in `{ns}`"
                )));
            }
            _ => selection.namespace = Some(ns.to_string()),
        }
    }
    let level = palisade_engine::connectivity::Level::Workload;
    let rows = matrix::rows(&snapshot.model, level, &selection);
    if rows > MAX_MATRIX_PEERS {
        return Err(BadRequest(format!(
            "the matrix would have {rows} rows: choose a namespace"
        )));
    }
    let result = matrix::compute_selected(
        &snapshot.model,
        &snapshot.engine,
        level,
        protocol,
        port,
        &selection,
    );
    Ok(palisade_render::matrix::render(&result, OutputFormat::Json))
}

/// The text of a loaded manifest file, by the path shown in locations; `None` for anything
/// else (the server never reads a path a request names).
pub fn source<'a>(snapshot: &'a Snapshot, file: &str) -> Option<&'a str> {
    for model in std::iter::once(&snapshot.model).chain(snapshot.proposed.as_ref()) {
        if let Some((_, f)) = model.sources.iter().find(|(_, f)| f.path == file) {
            return Some(&f.text);
        }
    }
    None
}
