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
mod block;
mod convert;
mod filter;
mod json;
mod owners;
mod tree;
mod validate;
mod yaml;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use palisade_diag::{Diagnostic, Severity};
use palisade_diag::{SourceFile, SourceId, SourceMap, Span};
pub use palisade_model::Model;

use crate::convert::{Converter, Item};
use crate::tree::Node;
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
    /// Globs of files and directories not to read (`--exclude`), matched against the path
    /// as shown or any trailing part of it. Directories are also filtered by their
    /// `.palisadeignore` files.
    pub exclude: Vec<String>,
    /// Follow every symbolic link met while scanning a directory (as ripgrep's `-L`). Off by
    /// default: a link is then followed only to a file inside the scanned directory, so a
    /// pull request cannot make Palisade read (and echo in code frames) files elsewhere.
    pub follow_symlinks: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: "default".to_string(),
            exclude: Vec::new(),
            follow_symlinks: false,
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
    /// NetworkPolicies rejected for an error, with their namespace, as far as they could be
    /// read (a rejected peer or port is missing). Not in the model: lint judges what it can of
    /// them, so that one invalid field does not hide the other mistakes of the policy.
    pub rejected_policies: Vec<(String, palisade_model::Policy)>,
}

impl Loaded {
    /// Whether any input was rejected.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The lint code of a rejected admin rule with `domainNames` and an action other than
/// Accept: the loader's error carries it, so `palisade lint` reports it under that rule
/// (`admin-domain-names-without-accept`) instead of NP017.
pub const DOMAIN_NAMES_WITHOUT_ACCEPT: &str = "NP025";

/// Files above this size are split at `---` lines and parsed in parallel.
const CHUNK_BYTES: usize = 4 << 20;
/// JSON files above this size have their list items converted while they are parsed.
const PARALLEL_BYTES: usize = 1 << 20;

/// Loads manifests into a model. Never panics on bad input: every problem becomes a
/// diagnostic, and rejected objects are left out of the model.
pub fn load(inputs: &[Input], options: &LoadOptions) -> Loaded {
    let mut model = Model::default();
    let mut diagnostics = Vec::new();
    let mut files: Vec<(SourceId, bool)> = Vec::new();
    let excludes = filter::Excludes::new(&options.exclude, &mut diagnostics);
    for input in inputs {
        match input {
            Input::Path(path) => {
                let mut paths = Vec::new();
                collect_paths(path, options, &excludes, &mut paths, &mut diagnostics);
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
    let mut rejected_policies = Vec::new();
    let mut outputs = outputs.into_iter();
    let mut i = 0;
    while i < units.len() {
        let source = units[i].source;
        let mut file = UnitOut::default();
        let mut failed = false;
        while i < units.len() && units[i].source == source {
            let out = outputs.next().unwrap_or_default();
            i += 1;
            if failed {
                continue;
            }
            failed = out.syntax_error;
            file.merge(out);
        }
        match not_a_manifest(&sources, source, &file) {
            Some(skip) => diagnostics.push(skip),
            None => {
                diagnostics.extend(file.diags);
                findings.extend(file.findings);
                items.extend(file.items);
                rejected_policies.extend(
                    file.rejected.into_iter().map(|(ns, p)| {
                        (ns.unwrap_or_else(|| options.default_namespace.clone()), p)
                    }),
                );
            }
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
        rejected_policies,
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
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let column = valid[valid.rfind('\n').map_or(0, |i| i + 1)..]
                .chars()
                .count()
                + 1;
            diagnostics.push(
                Diagnostic::error(format!(
                    "{shown}:{line}:{column}: not UTF-8 text (invalid byte 0x{:02x} at byte offset {offset})",
                    bytes[offset]
                ))
                .with_help("save the manifest as UTF-8"),
            )
        }
    }
}

/// What a walk leaves out: `--exclude` globs and the `.palisadeignore` files of the
/// directories it is in (outermost first).
struct WalkFilter<'e> {
    excludes: &'e filter::Excludes,
    ignores: Vec<(PathBuf, filter::IgnoreFile)>,
}

impl WalkFilter<'_> {
    fn skips(&self, path: &Path) -> bool {
        self.excludes.matches(path)
            || self.ignores.iter().any(|(dir, ignore)| {
                path.strip_prefix(dir)
                    .is_ok_and(|relative| ignore.matches(relative))
            })
    }
}

/// Expands a path into the files to read: the file itself, or a directory's manifests.
/// A path given explicitly is read whatever it is (a link, a FIFO from `<(...)`); what a
/// directory scan finds is checked (see [`Walk`]).
fn collect_paths(
    path: &Path,
    options: &LoadOptions,
    excludes: &filter::Excludes,
    out: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if excludes.matches(path) {
        return;
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            let root = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            let mut walk = Walk {
                visited: vec![root.clone()],
                root,
                follow: options.follow_symlinks,
                filter: WalkFilter {
                    excludes,
                    ignores: Vec::new(),
                },
                out,
                diagnostics,
            };
            walk.dir(path);
        }
        Ok(_) => out.push(path.to_path_buf()),
        Err(e) => diagnostics.push(Diagnostic::error(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

/// Whether a file name is one a directory scan reads.
fn is_manifest_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Kernel pseudo-filesystems: reading them leaks process state (`/proc/self/environ`) or
/// never ends (`/dev/zero`); a link found in a scan is never followed into them.
fn is_pseudo_filesystem(path: &Path) -> bool {
    ["/proc", "/sys", "/dev"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The help of a file a scan leaves out.
const READ_IT: &str = "give the file as an argument to read it anyway";

/// A recursive directory scan: manifests by extension, hidden directories skipped, sorted by
/// name. Only regular files are read. A symbolic link is followed only to a regular file
/// inside the scanned directory (never into `/proc`, `/sys`, `/dev`), unless
/// `follow` (`--follow-symlinks`); every link or special file left out gets a warning.
struct Walk<'a> {
    /// The scanned directory, canonical.
    root: PathBuf,
    follow: bool,
    /// Canonical directories entered, so that following links cannot loop.
    visited: Vec<PathBuf>,
    /// `--exclude`, `.palisadeignore` (see [`filter`]).
    filter: WalkFilter<'a>,
    out: &'a mut Vec<PathBuf>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walk<'_> {
    fn skipped(&mut self, path: &Path, why: String, help: &str) {
        self.diagnostics.push(
            Diagnostic::warning(format!("skipped `{}`: {why}", path.display())).with_help(help),
        );
    }

    fn dir(&mut self, dir: &Path) {
        if let Some(info) = filter::kustomize_overlay(dir) {
            self.diagnostics.push(info);
            return;
        }
        let ignore = filter::IgnoreFile::read(dir, self.diagnostics);
        let pushed = ignore.is_some();
        if let Some(ignore) = ignore {
            self.filter.ignores.push((dir.to_path_buf(), ignore));
        }
        self.entries(dir);
        if pushed {
            self.filter.ignores.pop();
        }
    }

    fn entries(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.diagnostics.push(Diagnostic::error(format!(
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
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if self.filter.skips(&path) {
                continue;
            }
            if file_type.is_symlink() {
                self.link(&path, &name);
            } else if file_type.is_dir() {
                if !name.starts_with('.') {
                    self.dir(&path);
                }
            } else if is_manifest_name(&name) {
                if file_type.is_file() {
                    self.out.push(path);
                } else {
                    self.skipped(&path, "not a regular file".to_string(), READ_IT);
                }
            }
        }
    }

    fn link(&mut self, path: &Path, name: &str) {
        let target = std::fs::canonicalize(path);
        let meta = std::fs::metadata(path);
        let (target, meta) = match (target, meta) {
            (Ok(t), Ok(m)) => (t, m),
            _ => {
                if is_manifest_name(name) {
                    self.skipped(path, "a broken symbolic link".to_string(), READ_IT);
                }
                return;
            }
        };
        if meta.is_dir() {
            if name.starts_with('.') {
                return;
            }
            if !self.follow {
                // Not followed (as before): a link cycle cannot loop, and the tree's own
                // directories are scanned through their real paths.
                self.diagnostics.push(Diagnostic::info(format!(
                    "not following the symbolic link to a directory `{}` (pass --follow-symlinks to)",
                    path.display()
                )));
            } else if !self.visited.contains(&target) {
                self.visited.push(target);
                self.dir(path);
            }
            return;
        }
        if !is_manifest_name(name) {
            return;
        }
        if !meta.is_file() {
            self.skipped(
                path,
                format!("links to `{}`, not a regular file", target.display()),
                READ_IT,
            );
        } else if self.follow {
            self.out.push(path.to_path_buf());
        } else if is_pseudo_filesystem(&target) || !target.starts_with(&self.root) {
            self.skipped(
                path,
                format!(
                    "a symbolic link to `{}`, outside the scanned directory",
                    target.display()
                ),
                "pass --follow-symlinks to follow links anywhere, or give the file as an argument",
            );
        } else {
            self.out.push(path.to_path_buf());
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

/// What a unit (or a whole file) produced.
#[derive(Default)]
struct UnitOut {
    items: Vec<Item>,
    diags: Vec<Diagnostic>,
    findings: Vec<Diagnostic>,
    syntax_error: bool,
    rejected: Vec<(Option<String>, palisade_model::Policy)>,
    /// Documents with a `kind`, and documents that are not Kubernetes objects at all.
    objects: usize,
    not_objects: usize,
}

impl UnitOut {
    fn absorb(&mut self, conv: Converter<'_>) {
        self.items.extend(conv.items);
        self.diags.extend(conv.diags);
        self.findings.extend(conv.findings);
        self.objects += conv.objects;
        self.not_objects += conv.not_objects;
        self.rejected.extend(conv.rejected);
    }

    fn merge(&mut self, other: UnitOut) {
        self.items.extend(other.items);
        self.diags.extend(other.diags);
        self.findings.extend(other.findings);
        self.syntax_error |= other.syntax_error;
        self.rejected.extend(other.rejected);
        self.objects += other.objects;
        self.not_objects += other.not_objects;
    }
}

/// The line holding byte `at` of `text`, with the lines before and after it.
fn around(text: &str, at: usize) -> &str {
    let at = at.min(text.len());
    let bytes = text.as_bytes();
    let mut start = at;
    for _ in 0..2 {
        start = bytes[..start.saturating_sub(1)]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
    }
    let mut end = at;
    for _ in 0..2 {
        end = bytes[(end + 1).min(bytes.len())..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| end + 1 + i);
    }
    text.get(start..end).unwrap_or("")
}

/// Whether a file is something other than Kubernetes manifests that sits beside them in a
/// repository (a Helm chart's `Chart.yaml` and `values.yaml`, a template, a tool's
/// configuration or JSON output), and then the one info line that replaces what loading it
/// said. Such files are skipped, not errors: a repository is more than its manifests.
fn not_a_manifest(sources: &SourceMap, source: SourceId, out: &UnitOut) -> Option<Diagnostic> {
    let file = sources.get(source);
    let shown = &file.path;
    // A Go/Helm template only loads if its `{{ }}` happen to sit in strings; then it is read
    // like any file. When they break it — an error on or next to a line with `{{` — it is a
    // template, not a broken manifest. An error elsewhere (a dump whose ConfigMap holds
    // alerting templates, and one invalid policy) is reported as usual.
    let near_template = |d: &Diagnostic| {
        d.is_error()
            && d.span.is_some_and(|sp| {
                sp.source == source && around(&file.text, sp.start as usize).contains("{{")
            })
    };
    if file.text.contains("{{") && out.diags.iter().any(near_template) {
        return Some(
            Diagnostic::info(format!(
                "skipped `{shown}`: a template (`{{{{ ... }}}}`), not a manifest"
            ))
            .with_help(
                "render it first, e.g. `helm template RELEASE CHART | palisade lint -` or \
                 `kustomize build DIR | palisade lint -`",
            ),
        );
    }
    let name = shown.rsplit(['/', '\\']).next().unwrap_or(shown);
    let helm_file = matches!(name, "Chart.yaml" | "Chart.yml" | "values.schema.json")
        || (name.starts_with("values") && (name.ends_with(".yaml") || name.ends_with(".yml")));
    if helm_file && out.objects == 0 {
        return Some(Diagnostic::info(format!(
            "skipped `{shown}`: a Helm chart file, not a manifest"
        )));
    }
    if !out.syntax_error && out.objects == 0 && out.not_objects > 0 {
        return Some(Diagnostic::info(format!(
            "skipped `{shown}`: not a Kubernetes manifest (no document has `apiVersion` and `kind`)"
        )));
    }
    None
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

fn syntax_diag(
    file: &SourceFile,
    source: SourceId,
    lang: &str,
    e: &SyntaxError,
    resumes: bool,
) -> Diagnostic {
    let len = file.text.len() as u32;
    let start = e.offset.min(len);
    let end = file
        .text
        .get(start as usize..)
        .and_then(|t| t.chars().next())
        .filter(|c| *c != '\n')
        .map_or(start, |c| start + c.len_utf8() as u32);
    Diagnostic::error(format!("{lang} syntax error: {}", e.message))
        .with_span(Span { source, start, end })
        .with_help("fix the syntax")
        .with_note(if resumes {
            "this document is not loaded; loading resumes at the next `---`"
        } else {
            "nothing from this point of the file on is loaded"
        })
}

fn run_unit(model: &Model, unit: &Unit) -> UnitOut {
    let file = model.sources.get(unit.source);
    let text = &file.text[unit.start..unit.end];
    let base = unit.start as u32;
    if let Format::Json { fallback } = unit.format {
        let out = run_json(model, unit);
        // Content that merely starts like JSON (a YAML flow mapping) gets a second chance.
        if !(out.syntax_error && fallback) {
            return out;
        }
    }
    let mut out = UnitOut::default();
    // Documents are independent: after a syntax error, loading resumes at the next `---`
    // marker, so one broken document costs only that document.
    let mut from = 0;
    loop {
        let mut conv = Converter::new(unit.source, file);
        // The block subset that generators and kubectl emit has a fast path; the stream from
        // the first other document on (including every syntax error) goes through saphyr.
        let result = block::parse(&text[from..], base + from as u32, |doc| {
            conv.document(&doc.root, &doc.duplicates)
        });
        out.absorb(conv);
        let Err(e) = result else { break };
        let at = (e.offset.saturating_sub(base) as usize).clamp(from, text.len());
        // The parser may stop right at the next document's `---` (an unterminated flow
        // collection): a marker starting at the error position counts.
        let next = yaml::find_marker(text, at.saturating_sub(1).max(from)).filter(|&m| m > from);
        out.diags
            .push(syntax_diag(file, unit.source, "YAML", &e, next.is_some()));
        match next {
            Some(m) => from = m,
            None => {
                out.syntax_error = true;
                break;
            }
        }
    }
    out
}

/// A run of list items converted together, in input order.
struct Batch<'a> {
    index: usize,
    items: Vec<(Node<'a>, Vec<tree::DuplicateKey>)>,
    inherited: Option<(String, Option<String>)>,
}

fn convert_batch<'m>(
    source: SourceId,
    file: &'m SourceFile,
    batch: &Batch<'m>,
) -> (usize, Converter<'m>) {
    let mut conv = Converter::new(source, file);
    let inherited = batch
        .inherited
        .as_ref()
        .map(|(k, a)| (k.as_str(), a.as_deref()));
    for (item, dups) in &batch.items {
        conv.report_duplicates(dups);
        conv.list_item(item, inherited);
    }
    (batch.index, conv)
}

/// An item whose list kind was not known when it was read.
type Deferred<'m> = (usize, Node<'m>, Vec<tree::DuplicateKey>);

/// Parses a JSON unit. The items of a large top-level list are converted on worker threads
/// while the parser reads on, so that a whole dump never exists as one tree.
///
/// Should a top-level value with an `items` array turn out not to be a list (its `kind`
/// written after `items` and not ending in `List`), the streamed items are dropped, as
/// non-list objects' `items` mean nothing to Palisade.
fn run_json<'m>(model: &'m Model, unit: &Unit) -> UnitOut {
    let file = model.sources.get(unit.source);
    let source = unit.source;
    let text: &'m str = &file.text[unit.start..unit.end];
    let base = unit.start as u32;
    let mut out = UnitOut::default();
    // Small files are converted on this thread, with the same streaming semantics.
    let workers = if text.len() < PARALLEL_BYTES {
        0
    } else {
        threads()
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch<'m>>(workers * 2 + 1);
    let rx = std::sync::Mutex::new(rx);
    let mut items_out: Vec<(usize, Converter<'m>)> = Vec::new();
    let mut inline_out: Vec<(usize, Converter<'m>)> = Vec::new();
    let mut roots: Vec<(Node<'m>, Vec<tree::DuplicateKey>)> = Vec::new();
    let mut deferred: Vec<Deferred<'m>> = Vec::new();
    let mut result = Ok(());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let batch = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = batch else { break };
                        done.push(convert_batch(source, file, &batch));
                    }
                    done
                })
            })
            .collect();

        let mut next_index = 0usize;
        let mut batch: Vec<(Node<'m>, Vec<tree::DuplicateKey>)> = Vec::new();
        let mut batch_inherited: Option<(String, Option<String>)> = None;
        let mut send = |batch: &mut Vec<(Node<'m>, Vec<tree::DuplicateKey>)>,
                        inherited: &Option<(String, Option<String>)>,
                        next: &mut usize| {
            if !batch.is_empty() {
                let batch = Batch {
                    index: *next,
                    items: std::mem::take(batch),
                    inherited: inherited.clone(),
                };
                *next += 1;
                if workers == 0 {
                    inline_out.push(convert_batch(source, file, &batch));
                } else {
                    let _ = tx.send(batch);
                }
            }
        };
        let mut on_item = |item: Node<'m>,
                           dups: Vec<tree::DuplicateKey>,
                           kind: Option<&str>,
                           api: Option<&str>| {
            let has_kind = item.get("kind").is_some_and(|k| !k.is_null());
            if !has_kind && kind.is_none() {
                deferred.push((next_index, item, dups));
                next_index += 1;
                return;
            }
            let inherited = kind
                .and_then(|k| k.strip_suffix("List"))
                .filter(|k| !k.is_empty())
                .map(|k| (k.to_string(), api.map(str::to_string)));
            if inherited != batch_inherited || batch.len() >= 256 {
                send(&mut batch, &batch_inherited, &mut next_index);
                batch_inherited = inherited;
            }
            batch.push((item, dups));
        };
        result = json::parse_json(
            text,
            base,
            |root, dups| roots.push((root, dups)),
            Some(&mut on_item),
        );
        send(&mut batch, &batch_inherited, &mut next_index);
        drop(tx);
        items_out = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect();
    });
    items_out.append(&mut inline_out);

    let root_field = |name: &str| {
        roots
            .iter()
            .find_map(|(r, _)| r.get(name).and_then(Node::scalar).map(|(t, _)| t))
    };
    let all_lists = roots.iter().all(|(r, _)| {
        r.get("kind")
            .and_then(Node::scalar)
            .is_none_or(|(k, _)| k.ends_with("List"))
    });
    let inherited = root_field("kind")
        .and_then(|k| k.strip_suffix("List"))
        .filter(|k| !k.is_empty())
        .map(|k| (k, root_field("apiVersion")));
    for (index, item, dups) in &deferred {
        let mut conv = Converter::new(source, file);
        conv.report_duplicates(dups);
        conv.list_item(item, inherited);
        items_out.push((*index, conv));
    }
    if all_lists {
        items_out.sort_by_key(|(i, _)| *i);
        for (_, conv) in items_out {
            out.absorb(conv);
        }
    }
    for (root, dups) in &roots {
        let mut conv = Converter::new(source, file);
        conv.document(root, dups);
        out.absorb(conv);
    }
    if let Err(e) = result {
        out.diags.push(syntax_diag(file, source, "JSON", &e, false));
        out.syntax_error = true;
    }
    out
}
