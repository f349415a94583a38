//! `palisade serve`: the local web UI over the manifests (and a capture, and a proposal).

use crate::args::LoadArgs;
use crate::input::input;
use anyhow::{Context, bail};
use clap::Args;
use palisade_load::Input;
use palisade_server::{Inputs, InputsFn, Options, ServeConfig, Server};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// What the UI shows; shared by `serve` and `report`.
#[derive(Debug, Args)]
pub struct UiInputArgs {
    /// Manifest files or directories (policies, workloads, pods with their IPs for a capture).
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<String>,
    /// Recorded traffic to replay (any format `palisade replay` reads); repeatable.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub capture: Vec<String>,
    /// A proposed policy set: the Diff view, and what would break and open in the timeline.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub proposed: Vec<String>,
    /// The --proposed directory holds only the changed files: lay them over the first PATH (the other PATHS are kept).
    #[arg(long, requires = "proposed")]
    pub overlay: bool,
    /// What the dataplane does with denied traffic: drop (predicted timed-out) or reject (predicted refused).
    #[arg(long, value_enum, default_value_t = crate::args::DenyActionArg::Drop)]
    pub deny_action: crate::args::DenyActionArg,
    /// Lint configuration file (default: palisade.toml in the current directory or a parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// `-n` (the views show what concerns this namespace) and `--default-namespace`.
    #[command(flatten)]
    pub ns: crate::args::NamespaceArgs,
    /// Which pods the views are about.
    #[command(flatten)]
    pub select: crate::args::SelectorArgs,
    /// How to load them.
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `palisade serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade serve examples/webshop\n  palisade serve examples/webshop examples/webshop-traffic/cluster --capture examples/webshop-traffic/capture.pcap --proposed examples/webshop-fixed --overlay --watch\n\
Security: read-only; binds loopback by default; any other address needs --token (one is generated when omitted); requests whose Host is not the bound address are refused."
)]
pub struct ServeArgs {
    /// What to show.
    #[command(flatten)]
    pub input: UiInputArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    pub addr: SocketAddr,
    /// Access token, required on a non-loopback --addr (generated and printed when omitted there).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Reload when a manifest or capture changes; the page updates (a load error is shown, the last good model stays).
    #[arg(long)]
    pub watch: bool,
}

/// The inputs as a function, so every reload re-reads (and re-overlays) the files.
pub fn inputs_fn(args: &UiInputArgs) -> anyhow::Result<InputsFn> {
    if args.load.live {
        // Refused rather than ignored: the views would silently show the files alone.
        bail!(
            "--live is not read by serve and report yet: write the cluster to files with `palisade snapshot -A -o DIR` and give DIR"
        );
    }
    for p in args.paths.iter().chain(&args.proposed).chain(&args.capture) {
        if p != "-" && !std::path::Path::new(p).exists() {
            bail!("`{p}` does not exist");
        }
        if p == "-" {
            bail!("`-` (stdin) cannot be served or watched: give files or directories");
        }
    }
    if args.overlay && args.proposed.len() != 1 {
        bail!("--overlay takes one --proposed directory (the changed files)");
    }
    let paths = args.paths.clone();
    let proposed = args.proposed.clone();
    let overlay = args.overlay;
    let captures: Vec<PathBuf> = args.capture.iter().map(PathBuf::from).collect();
    Ok(Arc::new(move || {
        let current: Vec<Input> = paths.iter().map(|p| input(p)).collect();
        let proposed = if proposed.is_empty() {
            None
        } else if overlay {
            let mut inputs = super::diff::overlay_inputs(&paths[0], &proposed[0])
                .map_err(|e| format!("--proposed: {e:#}"))?;
            inputs.extend(paths[1..].iter().map(|p| input(p)));
            Some(inputs)
        } else {
            Some(proposed.iter().map(|p| input(p)).collect())
        };
        Ok(Inputs {
            current,
            proposed,
            captures: captures.clone(),
        })
    }))
}

/// The fixed settings: lint configuration, deny action, `--keep-going`.
pub fn options(args: &UiInputArgs) -> anyhow::Result<Options> {
    let config_path = args
        .config
        .as_deref()
        .map(PathBuf::from)
        .or_else(super::lint::find_config);
    let config = match &config_path {
        Some(path) => Some(super::lint::read_config(path)?),
        None => None,
    };
    let lint = palisade_lint::Settings::resolve(config.as_ref(), &[], &[], None)?;
    Ok(Options {
        default_namespace: args.ns.default_namespace().to_string(),
        lint,
        deny_action: match args.deny_action {
            crate::args::DenyActionArg::Drop => palisade_replay::DenyAction::Drop,
            crate::args::DenyActionArg::Reject => palisade_replay::DenyAction::Reject,
        },
        keep_going: args.load.keep_going,
        follow_symlinks: args.load.follow_symlinks,
        exclude: args.load.exclude.clone(),
        lint_config: config_path.map(|p| p.display().to_string()),
        selection: crate::select::selection(args.ns.namespace.as_deref(), Some(&args.select))?,
        max_connections: palisade_server::UI_MAX_CONNECTIONS,
        max_sessions: palisade_server::UI_MAX_SESSIONS,
    })
}

/// Prints load problems to stderr and turns a load failure into the CLI's message.
pub fn explain_error(err: palisade_server::Error) -> anyhow::Error {
    if let palisade_server::Error::Load { problems, .. } = &err {
        for p in problems {
            crate::output::emit_err(p, crate::output::ColorChoice::Never.style(true));
        }
        return anyhow::anyhow!(
            "{err} (fix them, or pass --keep-going to continue without the rejected objects)"
        );
    }
    anyhow::Error::new(err)
}

/// A random token (128 bits from the kernel), hex.
fn generate_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot generate a token (pass --token TOKEN)")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let inputs = inputs_fn(&args.input)?;
    let options = options(&args.input)?;
    let token = match args.token {
        Some(t) => Some(t),
        None if !args.addr.ip().is_loopback() => Some(generate_token()?),
        None => None,
    };
    let mut watch: Vec<PathBuf> = Vec::new();
    if args.watch {
        let i = &args.input;
        watch.extend(
            i.paths
                .iter()
                .chain(&i.proposed)
                .chain(&i.capture)
                .map(PathBuf::from),
        );
    }
    let server = Server::bind(ServeConfig {
        addr: args.addr,
        token,
        watch,
        inputs,
        options,
    })
    .map_err(explain_error)?;
    if args.input.load.verbose {
        for p in server.problems() {
            crate::output::emit_err(&p, args.input.load.color.style(true));
        }
    }
    crate::output::emit(
        &format!("palisade: serving {} (Ctrl-C to stop)\n", server.url()),
        palisade_render::Style::PLAIN,
    )?;
    server.run()?;
    Ok(ExitCode::SUCCESS)
}
