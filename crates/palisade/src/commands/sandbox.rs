//! `palisade sandbox`: policies proven on a real kernel dataplane (network namespaces +
//! nftables). The flags live here rather than in `args.rs`: the subcommands are many and
//! used by nobody else.

use crate::args::InputArgs;
use crate::input::{format, load_inputs, protocol};
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use palisade_model::{Model, Protocol};
use palisade_render::{OutputFormat, Style};
use palisade_sandbox::fuzz::{self, Rng};
use palisade_sandbox::matrix::probe_matrices;
use palisade_sandbox::{AddressPlan, CompileOptions, DenyAction, Sandbox, SandboxOptions};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `palisade sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SandboxCommand,
}

/// The sandbox subcommands.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Print the nftables ruleset each pod's namespace gets (no root needed).
    Compile(CompileArgs),
    /// Real probes for every pod pair on one port, next to the engine's table. Exit 1 on a mismatch.
    Matrix(SandboxMatrixArgs),
    /// Up, probe every pair on every declared port (or --ports), report, down. Exit 1 on a mismatch.
    Run(RunArgs),
    /// Bring a sandbox up and serve it until Ctrl-C (for `sandbox probe` from another shell).
    Up(UpArgs),
    /// One probe in a running sandbox (started with `sandbox up`).
    Probe(ProbeArgs),
    /// Remove sandboxes: one run, or with --all every run whose process is gone.
    Down(DownArgs),
    /// Random clusters and policies: kernel vs engine; mismatches saved as reproducers.
    Fuzz(FuzzArgs),
    /// Re-enact recorded sessions with real packets: kernel outcome next to the recorded one and the engine's prediction.
    Replay(Box<super::sandbox_replay::SandboxReplayArgs>),
}

/// `--deny-action` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DenyArg {
    /// Drop denied packets: clients time out (Cilium, Calico, kube-network-policies).
    Drop,
    /// TCP reset / ICMP unreachable: clients are refused (kube-router).
    Reject,
}

impl From<DenyArg> for DenyAction {
    fn from(d: DenyArg) -> DenyAction {
        match d {
            DenyArg::Drop => DenyAction::Drop,
            DenyArg::Reject => DenyAction::Reject,
        }
    }
}

/// Flags shared by the commands that run probes.
#[derive(Debug, Args)]
pub struct ProbeOptions {
    /// How denied connections behave.
    #[arg(long, value_enum, default_value_t = DenyArg::Drop)]
    pub deny_action: DenyArg,
    /// How long a probe waits for an answer, in milliseconds (probes that disagree with the
    /// engine are re-probed, waiting 3 s and then 6 s, before they count as mismatches).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout_ms: u64,
}

/// `palisade sandbox compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// How denied connections behave.
    #[arg(long, value_enum, default_value_t = DenyArg::Drop)]
    pub deny_action: DenyArg,
}

/// `palisade sandbox matrix`.
#[derive(Debug, Args)]
pub struct SandboxMatrixArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// Destination port.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Protocol: TCP, UDP or SCTP.
    #[arg(long, default_value = "TCP")]
    pub protocol: String,
    /// Probing.
    #[command(flatten)]
    pub probe: ProbeOptions,
    /// Output format: text, wide, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
}

/// `palisade sandbox run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// Ports to probe (`80`, `53/UDP`; comma-separated); default every declared container port.
    #[arg(long, value_delimiter = ',', value_name = "PORTS")]
    pub ports: Vec<String>,
    /// Probing.
    #[command(flatten)]
    pub probe: ProbeOptions,
    /// Output format: text, wide, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
}

/// `palisade sandbox up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// How denied connections behave.
    #[arg(long, value_enum, default_value_t = DenyArg::Drop)]
    pub deny_action: DenyArg,
}

/// `palisade sandbox probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The run (`palisade-<pid>-<seq>`); default: the only running one.
    #[arg(long)]
    pub run: Option<String>,
    /// Source pod (`ns/pod`).
    #[arg(long)]
    pub from: String,
    /// Destination pod (`ns/pod`) or address.
    #[arg(long)]
    pub to: String,
    /// Destination port.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Protocol: TCP, UDP or SCTP.
    #[arg(long, default_value = "TCP")]
    pub protocol: String,
    /// How long to wait, in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub timeout_ms: u64,
}

/// `palisade sandbox down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// The run to remove (`palisade-<pid>-<seq>`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub run: Option<String>,
    /// Remove every run whose process is gone (what a killed run left).
    #[arg(long)]
    pub all: bool,
}

/// `palisade sandbox fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Number of random cases.
    #[arg(long, default_value_t = 100)]
    pub cases: u64,
    /// Seed of the first case (case i uses seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pods per case (at least 2).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=200))]
    pub pods: u64,
    /// Where mismatching cases are saved, one directory each.
    #[arg(long, default_value = "palisade-fuzz-failures", value_name = "DIR")]
    pub out: String,
    /// Probing.
    #[command(flatten)]
    pub probe: ProbeOptions,
}

/// Runs a sandbox subcommand.
pub fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SandboxCommand::Compile(a) => compile(a),
        SandboxCommand::Matrix(a) => matrix(a),
        SandboxCommand::Run(a) => run_all(a),
        SandboxCommand::Up(a) => up(a),
        SandboxCommand::Probe(a) => probe(a),
        SandboxCommand::Down(a) => down(a),
        SandboxCommand::Fuzz(a) => fuzz_run(a),
        SandboxCommand::Replay(a) => super::sandbox_replay::run(*a),
    }
}

fn compile(args: CompileArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let plan = AddressPlan::new(model, &[])?;
    let rulesets = palisade_sandbox::compile::compile(
        model,
        &plan,
        &CompileOptions {
            table: "palisade".into(),
            deny: args.deny_action.into(),
        },
    );
    let mut out = format!(
        "# palisade sandbox ruleset (deny action: {}); one table per pod network namespace,\n# egress on the output hook of the source pod, ingress on the input hook of the destination.\n",
        DenyAction::from(args.deny_action).as_str()
    );
    for r in rulesets {
        let p = plan.pod(r.pod);
        let ips: Vec<String> = p.ips.iter().map(IpAddr::to_string).collect();
        out.push_str(&format!(
            "\n# addresses: {}{}\n",
            ips.join(", "),
            if p.assigned {
                " (assigned by the sandbox)"
            } else {
                ""
            }
        ));
        out.push_str(&r.text);
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn start(model: &Model, deny: DenyArg, extra: Vec<(u16, Protocol)>) -> anyhow::Result<Sandbox> {
    palisade_sandbox::install_signal_cleanup()?;
    Ok(Sandbox::up(
        model,
        SandboxOptions {
            deny: deny.into(),
            external: Vec::new(),
            extra_ports: extra,
        },
    )?)
}

fn assigned_note(model: &Model, sandbox: &Sandbox) -> String {
    let assigned: Vec<String> = sandbox
        .plan()
        .pods
        .iter()
        .filter(|p| p.assigned)
        .map(|p| {
            let ips: Vec<String> = p.ips.iter().map(IpAddr::to_string).collect();
            format!("{} = {}", model.pod_name(p.pod), ips.join(", "))
        })
        .collect();
    if assigned.is_empty() {
        String::new()
    } else {
        format!(
            "pods without status.podIPs got sandbox addresses: {}\n",
            assigned.join("; ")
        )
    }
}

fn matrix(args: SandboxMatrixArgs) -> anyhow::Result<ExitCode> {
    let output = format(&args.output, &[OutputFormat::Text, OutputFormat::Json])?;
    let protocol = protocol(&args.protocol)?;
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    // Listen on the probed port everywhere: the probe asks the policy, not the app.
    let sandbox = start(model, args.probe.deny_action, vec![(args.port, protocol)])?;
    let tables = probe_matrices(
        model,
        &sandbox,
        &[(protocol, args.port)],
        Duration::from_millis(args.probe.timeout_ms),
    )?;
    let note = assigned_note(model, &sandbox);
    sandbox.down()?;
    if !matches!(output, OutputFormat::Json | OutputFormat::Yaml) {
        crate::output::emit_err(&note, Style::PLAIN);
    }
    emit(&crate::input::rendered(output, |f| {
        palisade_render::sandbox::render_matrix(&tables[0], f)
    })?)?;
    Ok(exit(tables[0].mismatches().is_empty()))
}

fn exit(agree: bool) -> ExitCode {
    if agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn parse_port(s: &str) -> anyhow::Result<(Protocol, u16)> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "TCP"));
    let port: u16 = port
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 0)
        .with_context(|| format!("bad port `{s}`: expected e.g. 80 or 53/UDP"))?;
    Ok((protocol(proto.trim())?, port))
}

fn run_all(args: RunArgs) -> anyhow::Result<ExitCode> {
    let output = format(&args.output, &[OutputFormat::Text, OutputFormat::Json])?;
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let ports: Vec<(Protocol, u16)> = if args.ports.is_empty() {
        let declared: BTreeSet<(Protocol, u16)> = model
            .pods
            .iter()
            .flat_map(|p| p.ports.iter().map(|cp| (cp.protocol, cp.port)))
            .collect();
        declared.into_iter().collect()
    } else {
        args.ports
            .iter()
            .map(|s| parse_port(s))
            .collect::<anyhow::Result<_>>()?
    };
    if ports.is_empty() {
        bail!("no pod declares a container port: name the ports to probe with --ports");
    }
    let started = Instant::now();
    let sandbox = start(
        model,
        args.probe.deny_action,
        ports.iter().map(|&(p, n)| (n, p)).collect(),
    )?;
    let tables = probe_matrices(
        model,
        &sandbox,
        &ports,
        Duration::from_millis(args.probe.timeout_ms),
    )?;
    let note = assigned_note(model, &sandbox);
    sandbox.down()?;
    if !matches!(output, OutputFormat::Json | OutputFormat::Yaml) {
        crate::output::emit_err(
            &format!(
                "{note}{} pods, {} port(s), up + probes + down in {:.1?}\n",
                model.pods.len(),
                ports.len(),
                started.elapsed()
            ),
            Style::PLAIN,
        );
    }
    emit(&crate::input::rendered(output, |f| {
        palisade_render::sandbox::render_run(&tables, f)
    })?)?;
    Ok(exit(tables.iter().all(|t| t.mismatches().is_empty())))
}

fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let sandbox = start(model, args.deny_action, Vec::new())?;
    sandbox.write_state(model)?;
    let mut out = format!(
        "sandbox {} is up (deny action: {}); Ctrl-C to tear it down\n",
        sandbox.run().prefix(),
        DenyAction::from(args.deny_action).as_str()
    );
    for p in &sandbox.plan().pods {
        let ips: Vec<String> = p.ips.iter().map(IpAddr::to_string).collect();
        out.push_str(&format!(
            "  {:<30} {}{}  netns {}\n",
            model.pod_name(p.pod),
            ips.join(", "),
            if p.assigned { " (assigned)" } else { "" },
            sandbox.pod_netns(p.pod)
        ));
    }
    out.push_str(&format!(
        "probe with: palisade sandbox probe --run {} --from NS/POD --to NS/POD --port PORT\n",
        sandbox.run().prefix()
    ));
    emit(&out)?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn probe(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let protocol = protocol(&args.protocol)?;
    let run = match args.run {
        Some(r) => r,
        None => {
            let runs = palisade_sandbox::recorded_runs();
            match runs.as_slice() {
                [one] => one.clone(),
                [] => bail!("no sandbox is running: start one with `palisade sandbox up PATHS`"),
                _ => bail!(
                    "several sandboxes are running ({}): pick one with --run",
                    runs.join(", ")
                ),
            }
        }
    };
    let pods = palisade_sandbox::read_state(&run)?;
    let src = pods
        .iter()
        .find(|p| p.name == args.from)
        .with_context(|| format!("no pod `{}` in sandbox {run}", args.from))?;
    let dst: IpAddr = match args.to.parse() {
        Ok(ip) => ip,
        Err(_) => {
            let dst = pods
                .iter()
                .find(|p| p.name == args.to)
                .with_context(|| format!("no pod `{}` in sandbox {run}", args.to))?;
            [false, true]
                .into_iter()
                .find_map(|v6| {
                    let s = src.ips.iter().any(|ip| ip.is_ipv6() == v6);
                    let d = dst.ips.iter().copied().find(|ip| ip.is_ipv6() == v6);
                    d.filter(|_| s)
                })
                .with_context(|| format!("{} and {} share no address family", args.from, args.to))?
        }
    };
    let outcome = palisade_sandbox::probe_from(
        &src.netns,
        SocketAddr::new(dst, args.port),
        protocol,
        Duration::from_millis(args.timeout_ms),
    )?;
    emit(&format!(
        "{} -> {} ({dst}) {}/{protocol}: {}\n",
        args.from,
        args.to,
        args.port,
        outcome.as_str()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn down(args: DownArgs) -> anyhow::Result<ExitCode> {
    palisade_sandbox::check_environment()?;
    let swept = palisade_sandbox::sweep(args.run.as_deref())?;
    let mut out = format!("removed {} network namespace(s)\n", swept.deleted.len());
    for n in &swept.deleted {
        out.push_str(&format!("  {n}\n"));
    }
    if !swept.live.is_empty() {
        out.push_str(&format!(
            "kept {} namespace(s) of running sandboxes (stop them with Ctrl-C, or `palisade sandbox down RUN`)\n",
            swept.live.len()
        ));
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn fuzz_run(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    palisade_sandbox::check_environment()?;
    palisade_sandbox::install_signal_cleanup()?;
    let deny: DenyAction = args.probe.deny_action.into();
    let timeout = Duration::from_millis(args.probe.timeout_ms);
    let started = Instant::now();
    let (mut probes, mut failing) = (0usize, 0usize);
    let mut transient = Vec::new();
    // One set of namespaces for the whole run: each case only swaps the rulesets.
    let mut sandbox = fuzz::FuzzSandbox::up(args.pods as usize)?;
    for i in 0..args.cases {
        let seed = args.seed.wrapping_add(i);
        let text = fuzz::generate_case(&mut Rng::new(seed), args.pods as usize);
        let model = fuzz::load_case(&text)
            .map_err(|e| anyhow::anyhow!("seed {seed}: the generator wrote invalid input: {e}"))?;
        let report = sandbox.run_case(&model, deny, timeout)?;
        probes += report.probes;
        for t in &report.transient {
            crate::output::emit_err(
                &format!("seed {seed}: transient (agreed when asked again): {t}\n"),
                Style::PLAIN,
            );
        }
        transient.extend(report.transient);
        if (i + 1) % 500 == 0 && i + 1 < args.cases {
            crate::output::emit_err(
                &format!(
                    "{} of {} cases, {probes} probes, {failing} failing, {:.1?}\n",
                    i + 1,
                    args.cases,
                    started.elapsed()
                ),
                Style::PLAIN,
            );
        }
        if !report.mismatches.is_empty() {
            failing += 1;
            let minimal = fuzz::minimize(&mut sandbox, &text, deny, timeout)?;
            let dir = std::path::Path::new(&args.out).join(format!("seed-{seed}"));
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("cluster.yaml"), &minimal)?;
            std::fs::write(dir.join("original.yaml"), &text)?;
            let lines: Vec<String> = report.mismatches.iter().map(|m| format!("{m}\n")).collect();
            std::fs::write(dir.join("mismatches.txt"), lines.concat())?;
            crate::output::emit_err(
                &format!(
                    "seed {seed}: {} mismatch(es), saved to {}\n",
                    report.mismatches.len(),
                    dir.display()
                ),
                Style::PLAIN,
            );
        }
    }
    sandbox.down()?;
    emit(&format!(
        "{} cases, {probes} probes checked (deny action {}), {failing} failing case(s), {} transient disagreement(s) resolved by asking again, {:.1?}\n",
        args.cases,
        deny.as_str(),
        transient.len(),
        started.elapsed()
    ))?;
    Ok(exit(failing == 0))
}

/// The demo's kernel step: the intended connections probed on a real dataplane (as root),
/// or how to see that.
pub fn demo_step(
    model: &Model,
    shown: &str,
    intended: &[(&str, &str, u16, Protocol)],
    style: palisade_render::Style,
    out: &mut String,
) -> anyhow::Result<()> {
    use palisade_engine::Endpoint;
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{} Proof on a real kernel: every pod a network namespace, the policies compiled to nftables, real handshakes:\n   $ sudo palisade sandbox run {shown}\n",
        style.blue("9.")
    );
    if let Err(e) = palisade_sandbox::check_environment() {
        let _ = writeln!(
            out,
            "   (skipped: {e}.)\n   Run `sudo palisade demo` or `sudo palisade sandbox run {shown}` to see it; `palisade sandbox compile {shown}` shows the rulesets without root.\n"
        );
        return Ok(());
    }
    let mut pairs = Vec::new();
    let mut external = Vec::new();
    let mut external_ports = Vec::new();
    for &(from, to, port, protocol) in intended {
        let first = |name: &str| {
            palisade_engine::resolve_endpoints(model, name).and_then(|e| e.first().copied())
        };
        let (Some(Endpoint::Pod(src)), Some(dst)) = (first(from), first(to)) else {
            continue;
        };
        if let Endpoint::External(ip) = dst {
            external.push(ip);
            external_ports.push((port, protocol));
        }
        pairs.push((from, to, src, dst, port, protocol));
    }
    palisade_sandbox::install_signal_cleanup()?;
    let sandbox = Sandbox::up(
        model,
        SandboxOptions {
            deny: DenyAction::Drop,
            external,
            // The external peer's server; pods serve their declared ports.
            extra_ports: external_ports,
        },
    )?;
    // Pairs without a shared address family cannot be probed: left out.
    let pairs: Vec<_> = pairs
        .into_iter()
        .filter_map(|(from, to, src, dst, port, protocol)| {
            let address = match dst {
                Endpoint::Pod(p) => palisade_sandbox::matrix::probe_address(&sandbox, src, p)?,
                Endpoint::External(ip) => ip,
            };
            Some((from, to, src, dst, address, port, protocol))
        })
        .collect();
    let engine = palisade_engine::Engine::new(model);
    let predicted: Vec<bool> = pairs
        .iter()
        .map(|&(_, _, src, dst, _, port, protocol)| {
            engine
                .verdict(
                    engine.entity(&Endpoint::Pod(src)),
                    engine.entity(&dst),
                    protocol,
                    port,
                )
                .allowed
        })
        .collect();
    let probes: Vec<palisade_sandbox::Probe> = pairs
        .iter()
        .map(
            |&(_, _, src, _, dst, port, protocol)| palisade_sandbox::Probe {
                src: palisade_sandbox::Source::Pod(src),
                dst,
                port,
                protocol,
            },
        )
        .collect();
    let outcomes = sandbox.probe_confirmed(&probes, Duration::from_secs(1), &predicted)?;
    sandbox.down()?;
    let mut agree = 0;
    for ((from, to, _, _, _, port, protocol), (outcome, predicted)) in
        pairs.iter().zip(outcomes.iter().zip(&predicted))
    {
        if outcome.allowed() == Some(*predicted) {
            agree += 1;
        }
        let shown_outcome = match outcome {
            palisade_sandbox::Outcome::Accepted => style.green(outcome.as_str()),
            _ => style.red(outcome.as_str()),
        };
        let _ = writeln!(out, "   {from} -> {to} {port}/{protocol}: {shown_outcome}");
    }
    let _ = writeln!(
        out,
        "\n   The kernel agrees with the engine on {agree} of {} intended connections; checkout -> payments-api times out on the wire too.\n",
        pairs.len()
    );
    Ok(())
}

/// Sandbox reports carry no colour of their own; everything printed is still sanitized.
fn emit(text: &str) -> anyhow::Result<()> {
    crate::output::emit(text, Style::PLAIN)
}
