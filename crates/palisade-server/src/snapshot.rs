//! One loaded state of the inputs: the model, the proposal, the replayed capture, and every
//! JSON document the views read, rendered once by `palisade-render` (the CLI's shapes).

use std::path::PathBuf;
use std::sync::Arc;

use palisade_diag::Severity;
use palisade_engine::connectivity::{self, Connectivity, Level};
use palisade_engine::{Engine, Selection};
use palisade_flows::{FlowReader, ReadOptions, ReadReport, SessionConfig};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Model;
use palisade_render::replay::Report;
use palisade_render::{OutputFormat, Style};
use palisade_replay::{DenyAction, Replayed, Replayer, SpikeConfig, Spikes, Summary, WhatIf};

use crate::Error;

/// What to read, produced afresh on every (re)load so that edited files are picked up.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The manifests (policies, workloads, pods with their IPs).
    pub current: Vec<Input>,
    /// A proposed policy set (already laid over the current one when the caller overlays).
    pub proposed: Option<Vec<Input>>,
    /// Recorded traffic files (any format `palisade replay` reads).
    pub captures: Vec<PathBuf>,
}

/// Produces the [`Inputs`]; called at start and on every reload.
pub type InputsFn = Arc<dyn Fn() -> Result<Inputs, String> + Send + Sync>;

/// Workload-level connections a snapshot holds at most (about 100 MB): past this the views
/// show the first ones and say how to narrow them, instead of holding an answer of any size.
pub const UI_MAX_CONNECTIONS: usize = 1_000_000;

/// Replayed sessions a snapshot lists at most (≈ 20 MB held, ≈ 17 MB of JSON in a report):
/// past this the timeline holds the flagged ones first, then the earliest others, and says
/// so; counts, the map, what-if and spikes still cover every session.
pub const UI_MAX_SESSIONS: usize = 20_000;

/// Settings that stay fixed for the server's life.
#[derive(Clone, Debug)]
pub struct Options {
    /// Namespace for objects that do not name one.
    pub default_namespace: String,
    /// Lint settings (the CLI resolves `palisade.toml`).
    pub lint: palisade_lint::Settings,
    /// What the dataplane does with denied traffic (replay's predicted outcome).
    pub deny_action: DenyAction,
    /// Use a model with rejected objects left out instead of failing (`--keep-going`).
    pub keep_going: bool,
    /// Follow every symbolic link in scanned directories (`--follow-symlinks`).
    pub follow_symlinks: bool,
    /// Globs of files and directories not to read (`--exclude`).
    pub exclude: Vec<String>,
    /// The lint configuration file used, as shown (the lint JSON's `config` field).
    pub lint_config: Option<String>,
    /// What the views are about (`-n`, `-l`): each narrowed as the CLI's command of the same
    /// view narrows it (see [`Snapshot::build`]); the evaluation still covers everything.
    pub selection: Selection,
    /// Workload-level connections held at most ([`UI_MAX_CONNECTIONS`] by default).
    pub max_connections: usize,
    /// Replayed sessions listed at most ([`UI_MAX_SESSIONS`] by default).
    pub max_sessions: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_namespace: "default".to_string(),
            lint: palisade_lint::Settings::default(),
            deny_action: DenyAction::Drop,
            keep_going: false,
            follow_symlinks: false,
            exclude: Vec::new(),
            lint_config: None,
            selection: Selection::default(),
            max_connections: UI_MAX_CONNECTIONS,
            max_sessions: UI_MAX_SESSIONS,
        }
    }
}

/// The replayed capture.
pub struct Capture {
    /// The sessions in start order: all of them, or past [`Options::max_sessions`] the
    /// flagged ones first and then the earliest others (see `HeldSessions`).
    pub sessions: Vec<Replayed>,
    /// Why `sessions` is not every session, when it was cut.
    pub sessions_cut: Option<String>,
    /// The admin-tier rules that decided the sessions of each (source, destination, port,
    /// protocol), over every session (the map's guardrails).
    pub guardrails: Guardrails,
    /// Their summary (per workload pair, per outcome).
    pub summary: Summary,
    /// With a proposal: what breaks and opens.
    pub whatif: Option<WhatIf>,
    /// Deny spikes (default window and threshold, as `palisade replay --spikes`).
    pub spikes: palisade_replay::SpikeReport,
    /// What the readers noticed, one per file.
    pub reads: Vec<ReadReport>,
}

/// Everything the views show, for one version of the inputs.
pub struct Snapshot {
    /// The current model.
    pub model: Model,
    /// The compiled engine of `model`.
    pub engine: Engine,
    /// The proposed model, with `--proposed`.
    pub proposed: Option<Model>,
    /// Workload-level connectivity of `model`, narrowed to the selection and held up to
    /// [`UI_MAX_CONNECTIONS`] (see `connectivity_cut`).
    pub connectivity: Connectivity,
    /// The replayed capture, with `--capture`.
    pub capture: Option<Capture>,
    /// Load problems (errors, warnings) as human-readable text, one per diagnostic.
    pub problems: Vec<String>,
    /// `palisade connectivity -o json` (workload level); with `connectivity_cut`, an error
    /// document instead.
    pub connectivity_json: String,
    /// Why `connectivity` is not the whole answer, when it was cut at [`UI_MAX_CONNECTIONS`].
    pub connectivity_cut: Option<String>,
    /// `palisade lint -o json`.
    pub lint_json: String,
    /// `palisade audit -o json`.
    pub audit_json: String,
    /// `palisade diff CURRENT PROPOSED -o json` (workload level).
    pub diff_json: Option<String>,
    /// `palisade replay CAPTURE --spikes -o json` (with `--proposed`).
    pub replay_json: Option<String>,
    /// The map document (see [`crate::map`]).
    pub map_json: String,
    /// What the views are narrowed to (`-n`, `-l`).
    pub selection: Selection,
}

/// A loaded model with the loader's lint findings and its problems as text.
type LoadedModel = (Model, Vec<palisade_diag::Diagnostic>, Vec<String>);

fn load_model(inputs: &[Input], options: &Options, what: &str) -> Result<LoadedModel, Error> {
    let loaded = load(
        inputs,
        &LoadOptions {
            default_namespace: options.default_namespace.clone(),
            follow_symlinks: options.follow_symlinks,
            exclude: options.exclude.clone(),
        },
    );
    let problems: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| palisade_render::diagnostics::human(d, &loaded.model.sources, Style::PLAIN))
        .collect();
    if loaded.has_errors() && !options.keep_going {
        return Err(Error::Load {
            what: what.to_string(),
            problems,
        });
    }
    Ok((loaded.model, loaded.findings, problems))
}

/// Whether a replayed session concerns the selection: an end is in the namespace and
/// matches the selector, as `palisade replay -n/-l` keeps it.
fn session_selected(model: &Model, selection: &Selection, r: &Replayed) -> bool {
    palisade_replay::end_selected(model, selection, &r.src)
        || palisade_replay::end_selected(model, selection, &r.dst)
}

fn replay(
    model: &Model,
    proposed: Option<&Model>,
    captures: &[PathBuf],
    options: &Options,
) -> Result<Capture, Error> {
    let deny = options.deny_action;
    let selection = &options.selection;
    let mut replayer = Replayer::new(model, deny);
    if let Some(p) = proposed {
        replayer = replayer.with_proposed(p);
    }
    let mut held = HeldSessions::new(options.max_sessions);
    let mut guardrails = Guardrails::new();
    let mut summary = Summary::default();
    let mut whatif = proposed.map(|_| WhatIf::default());
    let mut spikes = Spikes::new(SpikeConfig::default());
    let mut reads = Vec::new();
    for path in captures {
        let io = |source: std::io::Error| Error::Capture {
            path: path.display().to_string(),
            message: source.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader = FlowReader::new(
            path.display().to_string(),
            std::io::BufReader::with_capacity(1 << 20, file),
            &ReadOptions::default(),
        )
        .map_err(|e| Error::Capture {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        palisade_flows::sessionize(&mut reader, SessionConfig::default(), |s| {
            let r = replayer.replay(s);
            if !selection.is_everything() && !session_selected(model, selection, &r) {
                return;
            }
            summary.add(&r);
            if let Some(w) = &mut whatif {
                w.add(&r);
            }
            spikes.add(&r);
            add_guardrails(&mut guardrails, &r);
            held.push(r);
        })
        .map_err(|e| Error::Capture {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        reads.push(reader.into_report());
    }
    let total = summary.total.sessions;
    let (sessions, cut) = held.into_sorted();
    let sessions_cut = cut.then(|| {
        format!(
            "the capture has {total} sessions, more than the timeline holds ({}): it lists every flagged, denied or changed one first, then the earliest others; counts, the map, what-if and spikes cover all {total}, but a time range recounts only the listed ones. Every session: `palisade replay CAPTURE -o jsonl`",
            sessions.len()
        )
    });
    Ok(Capture {
        sessions,
        sessions_cut,
        guardrails,
        summary,
        whatif,
        spikes: spikes.report(),
        reads,
    })
}

impl Snapshot {
    /// Loads and computes everything. A load error (an object the API server would reject)
    /// fails the whole snapshot, so a server keeps its last good one.
    pub fn build(inputs: &Inputs, options: &Options) -> Result<Snapshot, Error> {
        let (model, loader_findings, mut problems) =
            load_model(&inputs.current, options, "the manifests")?;
        let proposed = match &inputs.proposed {
            Some(p) => {
                let (m, _, more) = load_model(p, options, "the proposed policies")?;
                problems.extend(more);
                Some(m)
            }
            None => None,
        };
        let engine = Engine::new(&model);
        let selection = &options.selection;
        // The workload-level answer, narrowed as `palisade connectivity -n/-l` narrows it,
        // held up to `max_connections`: a large cluster's answer (hundreds of millions of
        // pairs) is never expanded whole.
        let names = selection.peer_names(&model);
        let stream = connectivity::ConnectivityStream::new(&model, &engine, Level::Workload);
        let size = stream.size();
        let (connectivity, complete) = stream.collect_at_most(options.max_connections, |p| {
            selection.is_everything()
                || (!matches!(p.what, connectivity::PeerRef::External(_))
                    && names.contains(&p.name))
        });
        let connectivity_cut: Option<String> = (!complete).then(|| {
            format!(
                "the workload-level answer has up to {} connections, more than the UI holds ({}): the map shows the first {} (sources by name); narrow the views with -n or -l, or list everything with `palisade connectivity`",
                size.max_pairs, options.max_connections, options.max_connections
            )
        });
        // As `palisade connectivity`: peers that policies Palisade does not evaluate may
        // select are marked uncertain.
        let uncertainty = palisade_engine::Uncertainty::new(&model);
        // The endpoint is `palisade connectivity -o json`: external fragments merged per
        // peer. The map keeps the engine's fragments (its nodes are explained one by one).
        let merged = palisade_render::connectivity::merge_external(&connectivity);
        let notes = palisade_render::connectivity::PeerNotes::new(&model, &merged, &uncertainty);
        // The page shows problems: the cut is said there too.
        problems.extend(connectivity_cut.clone());
        let connectivity_json = match &connectivity_cut {
            // Not the command's answer: an error document saying why (GET /api/connectivity
            // answers it with 413).
            Some(why) => crate::to_json(&serde_json::json!({ "error": why })),
            None => palisade_render::connectivity::render_with(&merged, OutputFormat::Json, &notes),
        };
        let mut findings = palisade_lint::lint(&model, &loader_findings, &options.lint);
        if !selection.is_everything() {
            // As `palisade lint -n/-l`: findings on objects that concern the selection.
            let objects = selection.object_index(&model);
            findings.retain(|f| objects.keeps(f.span));
        }
        palisade_lint::sort(&mut findings);
        let lint_json =
            palisade_render::lint::json(&findings, &model.sources, options.lint_config.as_deref());
        let mut audit = palisade_lint::audit::audit(&model, &engine);
        audit.restrict(&model, selection);
        let audit_json = palisade_render::lint::audit::json(&audit);
        let diff_json = proposed.as_ref().map(|p| {
            // As `palisade diff -o json`: external fragments grouped per peer.
            let mut diff = palisade_diff::diff(&model, p, Level::Workload);
            palisade_render::diff::group_external(&mut diff);
            if !selection.is_everything() {
                // As `palisade diff -n/-l`: changes with an end selected on either side.
                let mut names = selection.peer_names(&model);
                names.extend(selection.peer_names(p));
                diff.changes
                    .retain(|c| names.contains(&c.src) || names.contains(&c.dst));
            }
            palisade_render::diff::json(&diff)
        });
        let capture = if inputs.captures.is_empty() {
            None
        } else {
            Some(replay(
                &model,
                proposed.as_ref(),
                &inputs.captures,
                options,
            )?)
        };
        problems.extend(capture.as_ref().and_then(|c| c.sessions_cut.clone()));
        let replay_json = capture.as_ref().map(|c| {
            palisade_render::replay::json(&Report {
                sessions: &c.sessions,
                summary: &c.summary,
                inputs: &c.reads,
                whatif: c.whatif.as_ref(),
                spikes: Some(&c.spikes),
                timeline: true,
            })
        });
        let map_json = crate::map::map_json(&model, &connectivity, capture.as_ref(), selection);
        Ok(Snapshot {
            model,
            engine,
            proposed,
            connectivity,
            capture,
            problems,
            connectivity_json,
            connectivity_cut,
            lint_json,
            audit_json,
            diff_json,
            replay_json,
            map_json,
            selection: selection.clone(),
        })
    }
}

/// See [`Capture::guardrails`].
pub type Guardrails = std::collections::BTreeMap<(String, String, u16, &'static str), Vec<String>>;

fn add_guardrails(guardrails: &mut Guardrails, r: &Replayed) {
    for d in r.current.decided_by.iter() {
        let Some(tier) = d.tier else { continue };
        let s = &r.session;
        let entry = guardrails
            .entry((
                r.src.label(s.src.ip()).to_string(),
                r.dst.label(s.dst.ip()).to_string(),
                s.dst.port(),
                s.proto.as_str(),
            ))
            .or_default();
        let text = match d.rule {
            Some(rule) => format!("[{}] {} rule {rule}", tier.as_str(), d.policy),
            None => format!("[{}] {}", tier.as_str(), d.policy),
        };
        if !entry.contains(&text) {
            entry.push(text);
        }
    }
}

/// The sessions a snapshot lists, at most `max` of them, chosen while replaying in bounded
/// memory: the earliest `max` flagged ones (a mismatch, not accepted, predicted denied, or
/// changed by the proposal: what a reader looks for) and the earliest `max` others, of which
/// only enough to fill `max` are kept at the end. "Earliest" is the report order (start,
/// source, destination, then the order sessions were decided in), so with fewer than `max`
/// sessions this is every session in the CLI's order.
pub(crate) struct HeldSessions {
    max: usize,
    seen: u64,
    flagged: std::collections::BinaryHeap<Held>,
    others: std::collections::BinaryHeap<Held>,
}

/// A session ordered by its place in the report (a max-heap drops the latest).
struct Held {
    key: ((i64, std::net::SocketAddr, std::net::SocketAddr), u64),
    session: Replayed,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl HeldSessions {
    pub(crate) fn new(max: usize) -> HeldSessions {
        HeldSessions {
            max,
            seen: 0,
            flagged: std::collections::BinaryHeap::new(),
            others: std::collections::BinaryHeap::new(),
        }
    }

    pub(crate) fn push(&mut self, r: Replayed) {
        let flagged = r.mismatch.is_some()
            || r.session.observed != palisade_flows::Observed::Accepted
            || !r.predicted.allowed()
            || r.change.is_some();
        let held = Held {
            key: (r.report_order(), self.seen),
            session: r,
        };
        self.seen += 1;
        let heap = if flagged {
            &mut self.flagged
        } else {
            &mut self.others
        };
        heap.push(held);
        if heap.len() > self.max {
            heap.pop();
        }
    }

    /// The held sessions in report order, and whether some were left out.
    pub(crate) fn into_sorted(self) -> (Vec<Replayed>, bool) {
        let mut flagged = self.flagged.into_sorted_vec();
        let room = self.max - flagged.len();
        let mut others = self.others.into_sorted_vec();
        others.truncate(room);
        flagged.append(&mut others);
        flagged.sort_unstable();
        let cut = (flagged.len() as u64) < self.seen;
        (flagged.into_iter().map(|h| h.session).collect(), cut)
    }
}
