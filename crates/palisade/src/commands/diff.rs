//! `palisade diff OLD NEW`: what a policy change opens and closes, before it is applied.

mod git;

use crate::args::{DiffArgs, FailOn};
use crate::input::{format, load_checked};
use crate::output::emit;
use anyhow::{Context, bail};
use palisade_diff::{ChangeKind, Diff};
use palisade_load::Input;
use palisade_model::Model;
use palisade_render::OutputFormat;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One side as written on the command line.
#[derive(Clone, Debug)]
enum Spec {
    /// A file or directory (`-` for stdin).
    Path(String),
    /// `git:REV` or `git:REV:PATH`.
    Git { rev: String, path: Option<String> },
    /// The running cluster (`--live`).
    Live,
}

impl Spec {
    fn parse(s: &str) -> Spec {
        match s.strip_prefix("git:") {
            Some(rest) => match rest.split_once(':') {
                Some((rev, path)) => Spec::Git {
                    rev: rev.to_string(),
                    path: Some(path.to_string()),
                },
                None => Spec::Git {
                    rev: rest.to_string(),
                    path: None,
                },
            },
            None => Spec::Path(s.to_string()),
        }
    }
}

/// The manifests of a directory as the loader would read them, with paths relative to it.
fn walk(root: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, root.to_path_buf()));
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read directory `{}`", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let Some(name) = name else { continue };
            if p.is_dir() {
                if !name.starts_with('.') {
                    stack.push(p);
                }
            } else if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, p));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The inputs of a plain side; the path must exist.
fn path_inputs(label: &str, path: &str) -> anyhow::Result<Vec<Input>> {
    if path == "-" {
        return Ok(vec![Input::Stdin]);
    }
    if !Path::new(path).exists() {
        bail!("{label} side: `{path}` does not exist");
    }
    Ok(vec![Input::Path(PathBuf::from(path))])
}

/// NEW laid over OLD: OLD's files, each replaced by NEW's file at the same relative path,
/// plus NEW's files that OLD does not have.
pub(crate) fn overlay_inputs(old: &str, new: &str) -> anyhow::Result<Vec<Input>> {
    for (label, p) in [("OLD", old), ("NEW", new)] {
        if !Path::new(p).exists() {
            bail!("{label} side: `{p}` does not exist");
        }
    }
    let mut files: std::collections::BTreeMap<String, PathBuf> =
        walk(Path::new(old))?.into_iter().collect();
    for (rel, path) in walk(Path::new(new))? {
        files.insert(rel, path);
    }
    files
        .into_values()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            Ok(Input::Text {
                name: path.to_string_lossy().into_owned(),
                text,
            })
        })
        .collect()
}

fn load_side(label: &str, shown: &str, inputs: &[Input], args: &DiffArgs) -> anyhow::Result<Model> {
    let what = format!("{label} side (`{shown}`)");
    let namespace = args.ns.default_namespace();
    Ok(load_checked(inputs, namespace, &args.load, Some(&what))?.model)
}

/// The inputs of a side; `other` is the other side's path (for `git:REV` without a path).
fn side_inputs(
    label: &str,
    spec: &Spec,
    other: Option<&Spec>,
    paths: &[String],
) -> anyhow::Result<Vec<Input>> {
    match spec {
        Spec::Path(p) => path_inputs(label, p),
        Spec::Live => bail!("{label} side: the live cluster is read with --live"),
        Spec::Git { rev, path } => {
            let paths: Vec<String> = match (path, other) {
                (Some(p), _) => vec![p.clone()],
                (None, _) if !paths.is_empty() => paths.to_vec(),
                (None, Some(Spec::Path(p))) if p != "-" => vec![p.clone()],
                _ => vec![".".to_string()],
            };
            git::read(rev, &paths).with_context(|| format!("{label} side (`git:{rev}`)"))
        }
    }
}

fn shown(spec: &Spec) -> String {
    match spec {
        Spec::Path(p) => p.clone(),
        Spec::Git { rev, path: None } => format!("git:{rev}"),
        Spec::Git { rev, path: Some(p) } => format!("git:{rev}:{p}"),
        Spec::Live => "the live cluster".to_string(),
    }
}

fn fails(diff: &Diff, fail_on: FailOn) -> bool {
    diff.changes.iter().any(|c| match fail_on {
        FailOn::Any => true,
        FailOn::Added => c.change == ChangeKind::Added || !c.gained().is_empty(),
        FailOn::Removed => c.change == ChangeKind::Removed || !c.lost().is_empty(),
    })
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let output = format(
        &args.output,
        &[
            OutputFormat::Text,
            OutputFormat::Md,
            OutputFormat::Csv,
            OutputFormat::Json,
        ],
    )?;
    let (old, new) = match (&args.git, args.sides.as_slice()) {
        (Some(range), []) => {
            let (base, head) = range
                .split_once("..")
                .with_context(|| format!("--git expects BASE..HEAD, got `{range}`"))?;
            let head = if head.is_empty() { "HEAD" } else { head };
            (
                Spec::Git {
                    rev: base.to_string(),
                    path: None,
                },
                Spec::Git {
                    rev: head.to_string(),
                    path: None,
                },
            )
        }
        (Some(_), _) => bail!("--git BASE..HEAD replaces OLD and NEW: give paths after `--`"),
        (None, [new]) if args.load.live => (Spec::Live, Spec::parse(new)),
        (None, _) if args.load.live => {
            bail!("with --live give one side: the manifests to compare the running cluster with")
        }
        (None, [old, new]) => (Spec::parse(old), Spec::parse(new)),
        (None, _) => {
            bail!("give OLD and NEW (files, directories or git:REV), or --git BASE..HEAD -- PATHS")
        }
    };
    let (old_shown, new_shown) = (shown(&old), shown(&new));
    let old_inputs = match old {
        // Drift: the running cluster is OLD, the manifests are NEW (what applying them changes).
        Spec::Live => crate::live::live_inputs(&args.load, args.ns.namespace.as_deref())?,
        _ => side_inputs("OLD", &old, Some(&new), &args.paths)?,
    };
    let new_inputs = if args.overlay {
        match (&old, &new) {
            (Spec::Path(o), Spec::Path(n)) => overlay_inputs(o, n)?,
            _ => bail!("--overlay needs OLD and NEW to be files or directories"),
        }
    } else {
        side_inputs("NEW", &new, Some(&old), &args.paths)?
    };
    let mut old_model = load_side("OLD", &old_shown, &old_inputs, &args)?;
    let mut new_model = load_side("NEW", &new_shown, &new_inputs, &args)?;
    match args.workloads_from.as_deref() {
        // Against the cluster, compare policies over what runs: its pods and workloads.
        None if args.load.live => {
            new_model = palisade_diff::with_workloads_from(&new_model, &old_model)
        }
        None => {}
        Some("old") => new_model = palisade_diff::with_workloads_from(&new_model, &old_model),
        Some("new") => old_model = palisade_diff::with_workloads_from(&old_model, &new_model),
        Some(other) => {
            let spec = Spec::parse(other);
            let inputs = side_inputs("--workloads-from", &spec, None, &args.paths)?;
            let w = load_side("--workloads-from", other, &inputs, &args)?;
            old_model = palisade_diff::with_workloads_from(&old_model, &w);
            new_model = palisade_diff::with_workloads_from(&new_model, &w);
        }
    }
    let mut diff = palisade_diff::diff(&old_model, &new_model, args.level.into());
    // One line per peer instead of one per address fragment.
    palisade_render::diff::group_external(&mut diff);
    let selection = crate::select::selection(args.ns.namespace.as_deref(), Some(&args.select))?;
    if !selection.is_everything() {
        // Changes with an end selected on either side; --fail-on judges only these.
        let mut names = selection.peer_names(&old_model);
        names.extend(selection.peer_names(&new_model));
        diff.changes
            .retain(|c| names.contains(&c.src) || names.contains(&c.dst));
    }
    let style = args.load.color.style(false);
    let mut text =
        crate::input::rendered(output, |f| palisade_render::diff::render(&diff, f, style))?;
    if args.table.no_headers && output == OutputFormat::Csv {
        text = crate::select::without_headers(text, 1);
    }
    emit(&text, style)?;
    Ok(match args.fail_on {
        Some(f) if fails(&diff, f) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
