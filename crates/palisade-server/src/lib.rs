//! Palisade's local web UI and one-file HTML report.
//!
//! * [`Snapshot`] loads the inputs once (manifests, a proposal, captures) and renders every
//!   view's JSON with `palisade-render`, so the endpoints return exactly what the CLI's
//!   `-o json` prints for the same input.
//! * [`Server`] serves the page and the JSON endpoints (read-only, loopback by default, a
//!   token elsewhere, `Host` checked, strict CSP) and, with `--watch`, reloads on change.
//! * [`report_html`] is the same page with the data inlined: one file, no network.
//!
//! The page is plain JavaScript with cytoscape.js (and its dagre layout) embedded from the
//! npm registry, pinned in `ui/package.json`; nothing needs Node.js to build or run.
//!
//! ```
//! use palisade_load::Input;
//! use palisade_server::{Inputs, Options, Snapshot};
//!
//! let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\n";
//! let inputs = Inputs {
//!     current: vec![Input::Text { name: "pod.yaml".into(), text: manifest.into() }],
//!     ..Inputs::default()
//! };
//! let snapshot = Snapshot::build(&inputs, &Options::default()).unwrap();
//! assert!(snapshot.map_json.contains("\"shop/web\""));
//! let html = palisade_server::report_html(&snapshot);
//! assert!(html.contains("palisade-data"));
//! ```

pub mod api;
mod assets;
mod error;
pub mod map;
mod report;
mod server;
mod snapshot;

pub use error::Error;
pub use report::{
    REPORT_MATRIX_MAX_PEERS, REPORT_MATRIX_PORTS, REPORT_MAX_CHECKS, report_data, report_html,
    write_report_data, write_report_html,
};
pub use server::{CSP, ServeConfig, Server};
pub use snapshot::{
    Capture, Guardrails, Inputs, InputsFn, Options, Snapshot, UI_MAX_CONNECTIONS, UI_MAX_SESSIONS,
};

/// A JSON value pretty-printed with a trailing newline (the CLI's layout).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut out = serde_json::to_string_pretty(value).expect("output structs serialize");
    out.push('\n');
    out
}
