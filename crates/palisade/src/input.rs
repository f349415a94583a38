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
        args.ns.namespace.as_deref(),
    )?);
    load_checked(
        &inputs,
        crate::select::default_namespace(args),
        &args.load,
        None,
    )
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
pub fn load_for_lint(
    args: &InputArgs,
    print_error: impl Fn(&palisade_diag::Diagnostic) -> bool,
) -> anyhow::Result<Loaded> {
    let mut inputs: Vec<Input> = args.paths.iter().map(|p| input(p)).collect();
    inputs.extend(crate::live::live_inputs(
        &args.load,
        args.ns.namespace.as_deref(),
    )?);
    let options = LoadOptions {
        default_namespace: crate::select::default_namespace(args).to_string(),
        exclude: args.load.exclude.clone(),
        follow_symlinks: args.load.follow_symlinks,
    };
    let loaded = crate::progress::phase("loading manifests", || load(&inputs, &options));
    report_filtered(
        &loaded,
        args.load.verbose,
        args.load.color.style(true),
        print_error,
    );
    Ok(loaded)
}

/// Prints load diagnostics to stderr.
pub fn report(loaded: &Loaded, verbose: bool, style: Style) {
    report_filtered(loaded, verbose, style, |_| true);
}

fn report_filtered(
    loaded: &Loaded,
    verbose: bool,
    style: Style,
    print_error: impl Fn(&palisade_diag::Diagnostic) -> bool,
) {
    let shown = loaded.diagnostics.iter().filter(|d| {
        (verbose || d.severity != palisade_diag::Severity::Info)
            && (!d.is_error() || print_error(d))
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

/// `--port` (a number, a name or either with `/PROTO`, parsed by [`PortArg`]) with
/// `--protocol`: the port and the protocol, TCP unless one of them names another. A
/// protocol given both ways must agree.
pub fn port_and_protocol(
    port: Option<&str>,
    protocol_flag: Option<&str>,
) -> anyhow::Result<(Option<palisade_model::PortRef>, Protocol)> {
    let port = port
        .map(palisade_model::PortArg::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--port: {e}"))?;
    let protocol = match (port.as_ref().and_then(|p| p.protocol), protocol_flag) {
        (Some(p), Some(q)) if protocol(q)? != p => {
            bail!("--port says {p} but --protocol says {q}: give one")
        }
        (Some(p), _) => p,
        (None, Some(q)) => protocol(q)?,
        (None, None) => Protocol::Tcp,
    };
    Ok((port.map(|p| p.port), protocol))
}

/// Parses `--protocol` (any case).
pub fn protocol(s: &str) -> anyhow::Result<Protocol> {
    match Protocol::parse_loose(s) {
        Some(p) => Ok(p),
        None => bail!("unknown protocol `{s}`: expected TCP, UDP or SCTP"),
    }
}

/// Parses `-o` in the one vocabulary (aliases such as `txt`, `table`, `human` included),
/// accepting only the formats a command supports; `wide` is accepted wherever `text` is (the
/// same text where a command has no extra columns) and `yaml` wherever `json` is.
pub fn format(s: &str, supported: &[OutputFormat]) -> anyhow::Result<OutputFormat> {
    let accepted = |f: OutputFormat| {
        supported.contains(&f)
            || (f == OutputFormat::Wide && supported.contains(&OutputFormat::Text))
            || (f == OutputFormat::Yaml && supported.contains(&OutputFormat::Json))
    };
    match s.parse::<OutputFormat>() {
        Ok(f) if accepted(f) => Ok(f),
        _ => bail!(
            "unsupported output format `{s}`: expected one of {}",
            format_names(supported)
        ),
    }
}

/// The names of a command's formats for help and errors, `wide` and `yaml` included.
pub fn format_names(supported: &[OutputFormat]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for &f in supported {
        names.push(f.as_str());
        match f {
            OutputFormat::Text => names.push("wide"),
            OutputFormat::Json => names.push("yaml"),
            _ => {}
        }
    }
    names.join(", ")
}

/// Renders in `format`: `yaml` is rendered as the JSON document and converted, so the two
/// always say the same.
pub fn rendered(
    format: OutputFormat,
    render: impl FnOnce(OutputFormat) -> String,
) -> anyhow::Result<String> {
    if format == OutputFormat::Yaml {
        palisade_render::yaml::from_json(&render(OutputFormat::Json)).map_err(anyhow::Error::msg)
    } else {
        Ok(render(format))
    }
}
