//! Loads Kubernetes manifests (YAML or JSON) into Palisade's [`Model`].
//!
//! This is the only Palisade crate that reads YAML or JSON. [`load`] takes files, directories
//! (read recursively, `.yaml`/`.yml`/`.json`, sorted), standard input or in-memory text, and
//! returns a [`Loaded`]: the model, the problems with the input as [`Diagnostic`]s (an error
//! means an object or a file was rejected, as the API server would reject it), lint findings
//! the loader is best placed to see (`NP008` unknown field, `NP009` YAML 1.1 scalar) and a
//! count of the kinds it skipped.
//!
//! What it reads:
//! - `Namespace`, `Pod`, the workload kinds (their pod template), `Service` and
//!   `networking.k8s.io/v1` `NetworkPolicy`, normalized with the API server's defaults;
//! - `List` and typed lists (`PodList`, `kubectl get -A -o yaml|json` dumps);
//! - multi-document YAML, anchors and aliases; every node keeps its byte span.
//!
//! Pods are grouped under the top-level workload that owns them (Pod → ReplicaSet →
//! Deployment); a workload with no pod in the input gets one representative pod built from
//! its template.
//!
//! ```
//! use palisade_load::{Input, LoadOptions, load};
//!
//! let text = "\
//! apiVersion: networking.k8s.io/v1
//! kind: NetworkPolicy
//! metadata: {name: deny-all, namespace: shop}
//! spec:
//!   podSelector: {}
//! ---
//! apiVersion: apps/v1
//! kind: Deployment
//! metadata: {name: web, namespace: shop}
//! spec:
//!   template:
//!     metadata: {labels: {app: web}}
//!     spec: {containers: [{name: web, ports: [{containerPort: 8080, name: http}]}]}
//! ";
//! let loaded = load(
//!     &[Input::Text { name: "shop.yaml".into(), text: text.into() }],
//!     &LoadOptions::default(),
//! );
//! assert!(!loaded.has_errors());
//! let policy = &loaded.model.policies[0];
//! assert!(policy.affects_ingress && !policy.affects_egress);
//! let pod = &loaded.model.pods[0];
//! assert_eq!(pod.name, "web");
//! assert_eq!(pod.labels["app"], "web");
//! assert_eq!(loaded.model.location(policy.span).unwrap().to_string(), "shop.yaml:1:1");
//! ```

mod assemble;
mod convert;
mod json;
mod tree;
mod validate;
mod yaml;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use palisade_diag::{Diagnostic, Severity};
use palisade_diag::{SourceFile, SourceId, Span};
pub use palisade_model::Model;

use crate::convert::{Converter, Item};
use crate::tree::{Kind, Node};
use crate::yaml::SyntaxError;

/// The code of the unknown-field finding in [`Loaded::findings`].
pub const UNKNOWN_FIELD: &str = convert::UNKNOWN_FIELD;
/// The code of the YAML 1.1 scalar finding in [`Loaded::findings`].
pub const YAML11_SCALAR: &str = convert::YAML11_SCALAR;

/// Options of [`load`].
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The namespace of objects without `metadata.namespace` (`default`, as with kubectl).
    pub default_namespace: String,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: "default".to_string(),
        }
    }
}

/// One input of [`load`].
#[derive(Clone, Debug)]
pub enum Input {
    /// A file, or a directory read recursively (`.yaml`, `.yml`, `.json`; hidden directories
    /// skipped; sorted by name).
    Path(PathBuf),
    /// Standard input, named `<stdin>` in diagnostics.
    Stdin,
    /// Text already in memory; `name` is used as its path in diagnostics.
    Text {
        /// The path shown in diagnostics.
        name: String,
        /// The manifest text (YAML or JSON).
        text: String,
    },
}

/// The result of [`load`].
#[derive(Debug)]
pub struct Loaded {
    /// The model; `model.sources` holds every file read.
    pub model: Model,
    /// Problems with the input: an [`Severity::Error`] means an object or file was rejected;
    /// warnings and infos are notes (e.g. skipped kinds).
    pub diagnostics: Vec<Diagnostic>,
    /// Lint findings (`NP008` unknown field, `NP009` YAML 1.1 scalar), all warnings; they
    /// never make the load fail.
    pub findings: Vec<Diagnostic>,
    /// Kinds that were skipped, as `kind` or `apiVersion/kind`, with their counts.
    pub skipped: BTreeMap<String, usize>,
}

impl Loaded {
    /// Whether any input was rejected.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Files above this size are split at `---` lines and parsed in parallel.
const CHUNK_BYTES: usize = 4 << 20;
/// Lists with more items than this are converted in parallel.
const PARALLEL_ITEMS: usize = 2000;

/// Loads manifests into a model. Never panics on bad input: every problem becomes a
/// diagnostic, and rejected objects are left out of the model.
pub fn load(inputs: &[Input], options: &LoadOptions) -> Loaded {
    let mut model = Model::default();
    let mut diagnostics = Vec::new();
    let mut files: Vec<(SourceId, bool)> = Vec::new();
    for input in inputs {
        match input {
            Input::Path(path) => {
                let mut paths = Vec::new();
                collect_paths(path, &mut paths, &mut diagnostics);
                for p in paths {
                    let shown = p.to_string_lossy().into_owned();
                    match std::fs::read(&p) {
                        Ok(bytes) => {
                            add_text(&mut model, &mut files, &mut diagnostics, shown, bytes)
                        }
                        Err(e) => diagnostics
                            .push(Diagnostic::error(format!("cannot read `{shown}`: {e}"))),
                    }
                }
            }
            Input::Stdin => {
                let mut bytes = Vec::new();
                match std::io::stdin().read_to_end(&mut bytes) {
                    Ok(_) => add_text(
                        &mut model,
                        &mut files,
                        &mut diagnostics,
                        "<stdin>".to_string(),
                        bytes,
                    ),
                    Err(e) => {
                        diagnostics.push(Diagnostic::error(format!("cannot read `<stdin>`: {e}")))
                    }
                }
            }
            Input::Text { name, text } => {
                let id = model.sources.add(name.clone(), text.as_str());
                files.push((id, name.ends_with(".json")));
            }
        }
    }

    let units = plan_units(&model, &files);
    let outputs = run_units(&model, &units);

    let sources = std::mem::take(&mut model.sources);
    let mut findings = Vec::new();
    let mut items = Vec::new();
    let mut failed: Option<SourceId> = None;
    for (unit, out) in units.iter().zip(outputs) {
        if failed == Some(unit.source) {
            continue;
        }
        diagnostics.extend(out.diags);
        findings.extend(out.findings);
        items.extend(out.items);
        if out.syntax_error {
            failed = Some(unit.source);
        }
    }
    model.sources = sources;
    let mut assembler = assemble::Assembler::new(model, &options.default_namespace);
    for item in items {
        assembler.add(item);
    }
    let (model, more, skipped) = assembler.finish();
    diagnostics.extend(more);
    Loaded {
        model,
        diagnostics,
        findings,
        skipped,
    }
}

fn add_text(
    model: &mut Model,
    files: &mut Vec<(SourceId, bool)>,
    diagnostics: &mut Vec<Diagnostic>,
    shown: String,
    bytes: Vec<u8>,
) {
    if bytes.len() >= u32::MAX as usize {
        diagnostics.push(Diagnostic::error(format!("`{shown}` is larger than 4 GiB")));
        return;
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let json = shown.ends_with(".json");
            let id = model.sources.add(shown, text);
            files.push((id, json));
        }
        Err(e) => diagnostics.push(
            Diagnostic::error(format!(
                "`{shown}` is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
            .with_help("save the manifest as UTF-8"),
        ),
    }
}

/// Expands a path into the files to read: the file itself, or a directory's manifests.
fn collect_paths(path: &Path, out: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => walk(path, out, diagnostics),
        Ok(_) => out.push(path.to_path_buf()),
        Err(e) => diagnostics.push(Diagnostic::error(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diagnostics.push(Diagnostic::error(format!(
                "cannot read directory `{}`: {e}",
                dir.display()
            )));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Symlinked directories are not followed, so that a link cycle cannot loop.
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if !name.starts_with('.') {
                walk(&path, out, diagnostics);
            }
        } else if [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.to_ascii_lowercase().ends_with(ext))
            && std::fs::metadata(&path).is_ok_and(|m| m.is_file())
        {
            out.push(path);
        }
    }
}

/// A piece of work: one file, or one run of documents of a large YAML file.
struct Unit {
    source: SourceId,
    start: usize,
    end: usize,
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    /// JSON; `fallback` allows retrying as YAML (the content only looked like JSON).
    Json {
        fallback: bool,
    },
}

fn plan_units(model: &Model, files: &[(SourceId, bool)]) -> Vec<Unit> {
    let mut units = Vec::new();
    for &(source, json_ext) in files {
        let text: &str = &model.sources.get(source).text;
        let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let first = text[start..].trim_start().as_bytes().first().copied();
        if json_ext || matches!(first, Some(b'{' | b'[')) {
            units.push(Unit {
                source,
                start,
                end: text.len(),
                format: Format::Json {
                    fallback: !json_ext,
                },
            });
            continue;
        }
        for (s, e) in yaml::split_documents(&text[start..], CHUNK_BYTES) {
            units.push(Unit {
                source,
                start: start + s,
                end: start + e,
                format: Format::Yaml,
            });
        }
    }
    units
}

/// What a unit produced.
#[derive(Default)]
struct UnitOut {
    items: Vec<Item>,
    diags: Vec<Diagnostic>,
    findings: Vec<Diagnostic>,
    syntax_error: bool,
}

impl UnitOut {
    fn absorb(&mut self, conv: Converter<'_>) {
        self.items.extend(conv.items);
        self.diags.extend(conv.diags);
        self.findings.extend(conv.findings);
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn run_units(model: &Model, units: &[Unit]) -> Vec<UnitOut> {
    let workers = threads().min(units.len());
    if workers <= 1 {
        return units.iter().map(|u| run_unit(model, u)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, UnitOut)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(unit) = units.get(i) else { break };
                        done.push((i, run_unit(model, unit)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, out)| out).collect()
}

fn syntax_diag(file: &SourceFile, source: SourceId, lang: &str, e: &SyntaxError) -> Diagnostic {
    let len = file.text.len() as u32;
    let start = e.offset.min(len);
    let end = file.text[start as usize..]
        .chars()
        .next()
        .filter(|c| *c != '\n')
        .map_or(start, |c| start + c.len_utf8() as u32);
    Diagnostic::error(format!("{lang} syntax error: {}", e.message))
        .with_span(Span { source, start, end })
        .with_help("fix the syntax")
        .with_note("nothing from this point of the file on is loaded")
}

fn run_unit(model: &Model, unit: &Unit) -> UnitOut {
    let file = model.sources.get(unit.source);
    let text = &file.text[unit.start..unit.end];
    let base = unit.start as u32;
    let mut out = UnitOut::default();
    if let Format::Json { fallback } = unit.format {
        let mut docs = Vec::new();
        let result = json::parse_json(text, base, |root, dups| docs.push((root, dups)));
        match result {
            Err(_) if fallback => {}
            Err(e) => {
                convert_json_docs(model, unit.source, &docs, &mut out);
                out.diags.push(syntax_diag(file, unit.source, "JSON", &e));
                out.syntax_error = true;
                return out;
            }
            Ok(()) => {
                convert_json_docs(model, unit.source, &docs, &mut out);
                return out;
            }
        }
    }
    let mut conv = Converter::new(unit.source, file);
    let result = yaml::parse_yaml(text, base, |doc| conv.document(&doc.root, &doc.duplicates));
    out.absorb(conv);
    if let Err(e) = result {
        out.diags.push(syntax_diag(file, unit.source, "YAML", &e));
        out.syntax_error = true;
    }
    out
}

/// Converts JSON documents; the items of a large list are converted on several threads.
fn convert_json_docs(
    model: &Model,
    source: SourceId,
    docs: &[(Node<'_>, Vec<tree::DuplicateKey>)],
    out: &mut UnitOut,
) {
    let file = model.sources.get(source);
    for (root, dups) in docs {
        let items = match (root.get("kind").and_then(Node::scalar), root.get("items")) {
            (
                Some((kind, _)),
                Some(Node {
                    kind: Kind::Seq(items),
                    ..
                }),
            ) if kind.ends_with("List") && items.len() > PARALLEL_ITEMS && threads() > 1 => items,
            _ => {
                let mut conv = Converter::new(source, file);
                conv.document(root, dups);
                out.absorb(conv);
                continue;
            }
        };
        let mut head = Converter::new(source, file);
        head.report_duplicates(dups);
        let offsets = head.duplicate_offsets().to_vec();
        out.absorb(head);
        let kind = root.get("kind").and_then(Node::scalar).map(|(k, _)| k);
        let api = root
            .get("apiVersion")
            .and_then(Node::scalar)
            .map(|(a, _)| a);
        let item_kind = kind
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty());
        let per = items.len().div_ceil(threads());
        let parts: Vec<Converter<'_>> = std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(per)
                .map(|chunk| {
                    let offsets = &offsets;
                    scope.spawn(move || {
                        let mut conv = Converter::new(source, file);
                        conv.set_duplicate_offsets(offsets);
                        for item in chunk {
                            conv.list_item(item, item_kind.map(|k| (k, api)));
                        }
                        conv
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for conv in parts {
            out.absorb(conv);
        }
    }
}
