//! Loading manifests for a command: read, report problems on stderr, decide whether to go on.

use crate::args::{InputArgs, LoadArgs};
use crate::output::emit_err;
use anyhow::bail;
use palisade_load::{Input, LoadOptions, Loaded, load};
use palisade_model::Protocol;
use palisade_render::{OutputFormat, Style, diagnostics};

/// Loads the inputs; prints errors and warnings (and notes with `-v`) to stderr. Fails when
/// an object was rejected, unless `--keep-going`.
pub fn load_inputs(args: &InputArgs) -> anyhow::Result<Loaded> {
    let mut inputs: Vec<Input> = args.paths.iter().map(|p| input(p)).collect();
    inputs.extend(crate::live::live_inputs(
        &args.load,
        args.namespace.as_deref(),
    )?);
    let namespace = args.namespace.as_deref().unwrap_or("default");
    load_checked(&inputs, namespace, &args.load, None)
}

/// A path argument as a loader input (`-` is stdin).
pub fn input(path: &str) -> Input {
    if path == "-" {
        Input::Stdin
    } else {
        Input::Path(path.into())
    }
}

/// Loads, reports problems on stderr, and fails on rejected objects unless `--keep-going`;
/// `what` names the input set in that error (e.g. "old side (`git:main`)").
pub fn load_checked(
    inputs: &[Input],
    default_namespace: &str,
    args: &LoadArgs,
    what: Option<&str>,
) -> anyhow::Result<Loaded> {
    let options = LoadOptions {
        default_namespace: default_namespace.to_string(),
        exclude: args.exclude.clone(),
        follow_symlinks: args.follow_symlinks,
    };
    let loaded = crate::progress::phase("loading manifests", || load(inputs, &options));
    report(&loaded, args.verbose, args.color.style(true));
    if loaded.has_errors() && !args.keep_going {
        let n = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        let errors = format!("{n} input error{}", if n == 1 { "" } else { "s" });
        match what {
            Some(what) => bail!(
                "{what} failed to load: {errors} (fix them, or pass --keep-going to continue without them)"
            ),
            None => bail!(
                "{errors} (the objects were not used; fix them, or pass --keep-going to continue without them)"
            ),
        }
    }
    Ok(loaded)
}

/// Loads for `lint`, which never stops on input errors: they become findings. Warnings
/// (and notes with `-v`) go to stderr; errors too when `print_errors` (NP017 disabled).
pub fn load_for_lint(args: &InputArgs, print_errors: bool) -> anyhow::Result<Loaded> {
    let mut inputs: Vec<Input> = args.paths.iter().map(|p| input(p)).collect();
    inputs.extend(crate::live::live_inputs(
        &args.load,
        args.namespace.as_deref(),
    )?);
    let options = LoadOptions {
        default_namespace: args.namespace.clone().unwrap_or_else(|| "default".into()),
        exclude: args.load.exclude.clone(),
        follow_symlinks: args.load.follow_symlinks,
    };
    let loaded = crate::progress::phase("loading manifests", || load(&inputs, &options));
    report_filtered(
        &loaded,
        args.load.verbose,
        args.load.color.style(true),
        print_errors,
    );
    Ok(loaded)
}

/// Prints load diagnostics to stderr.
pub fn report(loaded: &Loaded, verbose: bool, style: Style) {
    report_filtered(loaded, verbose, style, true);
}

fn report_filtered(loaded: &Loaded, verbose: bool, style: Style, errors: bool) {
    let shown = loaded.diagnostics.iter().filter(|d| {
        (verbose || d.severity != palisade_diag::Severity::Info) && (errors || !d.is_error())
    });
    emit_err(
        &diagnostics::human_bounded(shown, &loaded.model.sources, style, ""),
        style,
    );
    if verbose && !loaded.skipped.is_empty() {
        let kinds: Vec<String> = loaded
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        emit_err(&format!("skipped kinds: {}\n", kinds.join(", ")), style);
    }
}

/// Parses `--protocol` (any case).
pub fn protocol(s: &str) -> anyhow::Result<Protocol> {
    match Protocol::parse_loose(s) {
        Some(p) => Ok(p),
        None => bail!("unknown protocol `{s}`: expected TCP, UDP or SCTP"),
    }
}

/// Parses `-o`, accepting only the formats a command supports.
pub fn format(s: &str, supported: &[OutputFormat]) -> anyhow::Result<OutputFormat> {
    let names = || {
        supported
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match s.parse::<OutputFormat>() {
        Ok(f) if supported.contains(&f) => Ok(f),
        _ => bail!(
            "unsupported output format `{s}`: expected one of {}",
            names()
        ),
    }
}
