//! `palisade test`: declarative connectivity tests, checked statically by the engine or on
//! the kernel with `--sandbox`. Flags live here (one command, used by nobody else).

use crate::args::LoadArgs;
use crate::commands::sandbox::DenyArg;
use crate::input::{input, load_checked};
use crate::output::emit;
use anyhow::bail;
use clap::Args;
use palisade_conntest::{Check, TestResult, error, expand, grade, parse_spec};
use palisade_engine::{Endpoint, Engine};
use palisade_render::conntest::TestOutput;
use palisade_sandbox::{Probe, Sandbox, SandboxOptions, Source};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Per check of one test: the verdict (`None`: no verdict) and what was observed.
type Verdicts = Vec<(Option<bool>, String)>;

/// `palisade test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test specs: Palisade `tests:` files or netassert v2 files.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<String>,
    /// The cluster's manifests (files or directories).
    #[arg(long, required = true, num_args = 1.., value_name = "PATHS")]
    pub cluster: Vec<String>,
    /// Namespace for objects that do not name one (the specs choose what is tested, so -n
    /// does not narrow anything here: docs/cli.md).
    #[arg(
        short = 'n',
        long = "namespace",
        visible_alias = "default-namespace",
        default_value = "default"
    )]
    pub namespace: String,
    /// Run the tests on a real kernel dataplane (root, Linux) instead of the engine.
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: how denied connections behave.
    #[arg(long, value_enum, default_value_t = DenyArg::Drop)]
    pub deny_action: DenyArg,
    /// With --sandbox: probe timeout in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout_ms: u64,
    /// Output format: text, wide, junit, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// How to load the cluster.
    #[command(flatten)]
    pub load: LoadArgs,
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let yaml = palisade_render::OutputFormat::canonical_name(&args.output) == "yaml";
    let format = match palisade_render::OutputFormat::canonical_name(&args.output) {
        "text" | "wide" => TestOutput::Human,
        "junit" => TestOutput::Junit,
        "json" | "yaml" => TestOutput::Json,
        other => bail!(
            "unsupported output format `{other}`: expected one of text, wide, junit, json, yaml"
        ),
    };
    let inputs: Vec<_> = args.cluster.iter().map(|p| input(p)).collect();
    let loaded = load_checked(
        &inputs,
        &args.namespace,
        &args.load,
        Some("the cluster (--cluster)"),
    )?;
    let model = &loaded.model;
    let mut tests = Vec::new();
    let mut spec_errors = Vec::new();
    for spec in spec_files(&args.specs)? {
        let text = std::fs::read_to_string(&spec)
            .map_err(|e| anyhow::anyhow!("cannot read {spec}: {e}"))?;
        let (t, e) = parse_spec(&spec, &text);
        tests.extend(t);
        spec_errors.extend(e);
    }
    for e in &spec_errors {
        crate::output::emit_err(&format!("palisade: {e}\n"), args.load.color.style(true));
    }
    if tests.is_empty() {
        bail!("no test to run in {}", args.specs.join(", "));
    }
    let engine = Engine::new(model);
    let expanded: Vec<Result<Vec<Check>, String>> =
        tests.iter().map(|t| expand(model, &engine, t)).collect();
    let verdicts: Vec<Option<Verdicts>> = if args.sandbox {
        kernel_verdicts(model, &expanded, &args)?
    } else {
        expanded
            .iter()
            .map(|checks| {
                checks.as_ref().ok().map(|checks| {
                    checks
                        .iter()
                        .map(|c| {
                            let allowed = engine
                                .verdict(
                                    engine.entity(&c.src),
                                    engine.entity(&c.dst),
                                    c.protocol,
                                    c.port,
                                )
                                .allowed;
                            (
                                Some(allowed),
                                if allowed { "allowed" } else { "denied" }.to_string(),
                            )
                        })
                        .collect()
                })
            })
            .collect()
    };
    let results: Vec<TestResult> = tests
        .iter()
        .zip(&expanded)
        .zip(verdicts)
        .map(|((test, checks), verdicts)| match (checks, verdicts) {
            (Ok(checks), Some(v)) => grade(test, checks, &v),
            (Err(message), _) => error(test, message.clone()),
            (Ok(_), None) => error(test, "no verdicts".into()),
        })
        .collect();
    let mode = if args.sandbox { "sandbox" } else { "static" };
    let style = args.load.color.style(false);
    let text = palisade_render::conntest::render(model, &results, format, mode, style);
    let text = if yaml {
        palisade_render::yaml::from_json(&text).map_err(anyhow::Error::msg)?
    } else {
        text
    };
    emit(&text, style)?;
    let failed = results.iter().any(TestResult::is_failure) || !spec_errors.is_empty();
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Spec files: the files given, and the `.yaml`/`.yml` files of directories (sorted).
fn spec_files(paths: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for path in paths {
        let p = std::path::Path::new(path);
        if p.is_dir() {
            let mut files: Vec<String> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .map(|f| f.to_string_lossy().into_owned())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Runs every check of every test on one sandbox: external endpoints become addresses of
/// the external namespace, every probed port is listened on everywhere (a probe asks the
/// policy, not the application).
fn kernel_verdicts(
    model: &palisade_model::Model,
    expanded: &[Result<Vec<Check>, String>],
    args: &TestArgs,
) -> anyhow::Result<Vec<Option<Verdicts>>> {
    let all: Vec<&Check> = expanded
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .flatten()
        .collect();
    let external: BTreeSet<IpAddr> = all
        .iter()
        .flat_map(|c| [c.src, c.dst])
        .filter_map(|e| match e {
            Endpoint::External(ip) => Some(ip),
            Endpoint::Pod(_) => None,
        })
        .collect();
    let ports: BTreeSet<(u16, palisade_model::Protocol)> =
        all.iter().map(|c| (c.port, c.protocol)).collect();
    palisade_sandbox::install_signal_cleanup()?;
    let sandbox = Sandbox::up(
        model,
        SandboxOptions {
            deny: args.deny_action.into(),
            external: external.into_iter().collect(),
            extra_ports: ports.into_iter().collect(),
        },
    )?;
    let address = |src: Endpoint, dst: Endpoint| -> Option<IpAddr> {
        let src_v6 = |v6: bool| match src {
            Endpoint::Pod(p) => sandbox.plan().pod(p).ip(v6).is_some(),
            Endpoint::External(ip) => ip.is_ipv6() == v6,
        };
        match dst {
            Endpoint::External(ip) => src_v6(ip.is_ipv6()).then_some(ip),
            Endpoint::Pod(p) => [false, true]
                .into_iter()
                .find(|&v6| src_v6(v6))
                .and_then(|v6| sandbox.plan().pod(p).ip(v6)),
        }
    };
    let mut probes = Vec::new();
    let mut expect = Vec::new();
    let mut slots = Vec::new();
    let engine = palisade_engine::Engine::new(model);
    for (t, checks) in expanded.iter().enumerate() {
        let Ok(checks) = checks else { continue };
        for (k, c) in checks.iter().enumerate() {
            let src = match c.src {
                Endpoint::Pod(p) => Source::Pod(p),
                Endpoint::External(ip) => Source::External(ip),
            };
            if let Some(dst) = address(c.src, c.dst) {
                probes.push(Probe {
                    src,
                    dst,
                    port: c.port,
                    protocol: c.protocol,
                });
                expect.push(
                    engine
                        .verdict(
                            engine.entity(&c.src),
                            engine.entity(&c.dst),
                            c.protocol,
                            c.port,
                        )
                        .allowed,
                );
                slots.push((t, k));
            }
        }
    }
    // Disagreements with the engine are asked again, patiently: a loaded machine is not a verdict.
    let outcomes =
        sandbox.probe_confirmed(&probes, Duration::from_millis(args.timeout_ms), &expect)?;
    sandbox.down()?;
    let mut verdicts: Vec<Option<Verdicts>> = expanded
        .iter()
        .map(|c| {
            c.as_ref().ok().map(|checks| {
                vec![(None, "unsupported (no shared address family)".to_string()); checks.len()]
            })
        })
        .collect();
    for ((t, k), outcome) in slots.into_iter().zip(outcomes) {
        if let Some(v) = verdicts[t].as_mut() {
            v[k] = (outcome.allowed(), outcome.as_str().to_string());
        }
    }
    Ok(verdicts)
}
