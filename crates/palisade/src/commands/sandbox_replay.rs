//! `palisade sandbox replay`: every recorded session re-enacted with real packets (same
//! source pod, destination address, port and protocol) on the kernel, next to the recorded
//! outcome and the engine's prediction.

use crate::args::LoadArgs;
use crate::commands::sandbox::DenyArg;
use crate::input::{input, load_checked};
use crate::output::emit;
use anyhow::{Context, bail};
use clap::Args;
use palisade_flows::{FlowReader, ReadOptions, SessionConfig, Sessionizer};
use palisade_model::{Model, PodId, Protocol};
use palisade_render::sandbox::{KernelReplayRow, render_replay};
use palisade_replay::{DenyAction as ReplayDeny, Replayed, Replayer};
use palisade_sandbox::{Probe, Sandbox, SandboxOptions, Source};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

/// `palisade sandbox replay`.
#[derive(Debug, Args)]
pub struct SandboxReplayArgs {
    /// The capture (Hubble JSON, pcap/pcapng, VPC flow logs, CSV/JSONL; gzip).
    #[arg(value_name = "CAPTURE")]
    pub capture: String,
    /// The cluster's manifests.
    #[arg(long, required = true, num_args = 1.., value_name = "PATHS")]
    pub cluster: Vec<String>,
    /// Proposed policy set (a complete set of manifests): the kernel enforces it instead.
    #[arg(long, num_args = 1.., value_name = "PATHS")]
    pub proposed: Vec<String>,
    /// Namespace for objects that do not name one.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// How denied connections behave.
    #[arg(long, value_enum, default_value_t = DenyArg::Drop)]
    pub deny_action: DenyArg,
    /// Probe timeout in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout_ms: u64,
    /// Output format: text, wide, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// How to load manifests.
    #[command(flatten)]
    pub load: LoadArgs,
}

fn read_sessions(path: &str, replayer: &mut Replayer<'_>) -> anyhow::Result<Vec<Replayed>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open `{path}`"))?;
    let mut reader = FlowReader::new(
        path.to_string(),
        std::io::BufReader::new(file),
        &ReadOptions::default(),
    )?;
    let mut sessionizer = Sessionizer::new(SessionConfig::default());
    let mut out = Vec::new();
    {
        let mut on_session = |s| out.push(replayer.replay(s));
        reader.read(|record| sessionizer.push_record(record, &mut on_session))?;
        sessionizer.finish(&mut on_session);
    }
    out.sort_by_key(Replayed::report_order);
    Ok(out)
}

pub fn run(args: SandboxReplayArgs) -> anyhow::Result<ExitCode> {
    let yaml = palisade_render::OutputFormat::canonical_name(&args.output) == "yaml";
    let json = match palisade_render::OutputFormat::canonical_name(&args.output) {
        "text" | "wide" => false,
        "json" | "yaml" => true,
        other => bail!("unsupported output format `{other}`: expected text, wide, json or yaml"),
    };
    let inputs: Vec<_> = args.cluster.iter().map(|p| input(p)).collect();
    let current = load_checked(
        &inputs,
        &args.namespace,
        &args.load,
        Some("the cluster (--cluster)"),
    )?
    .model;
    let proposed: Option<Model> = if args.proposed.is_empty() {
        None
    } else {
        let inputs: Vec<_> = args.proposed.iter().map(|p| input(p)).collect();
        Some(
            load_checked(
                &inputs,
                &args.namespace,
                &args.load,
                Some("the proposal (--proposed)"),
            )?
            .model,
        )
    };
    let deny = match args.deny_action {
        DenyArg::Drop => ReplayDeny::Drop,
        DenyArg::Reject => ReplayDeny::Reject,
    };
    let mut replayer = Replayer::new(&current, deny);
    if let Some(p) = &proposed {
        replayer = replayer.with_proposed(p);
    }
    let sessions = read_sessions(&args.capture, &mut replayer)?;
    if sessions.is_empty() {
        bail!("no session in `{}`", args.capture);
    }
    // The kernel enforces the proposal when there is one; pods are matched by name.
    let kernel_model = proposed.as_ref().unwrap_or(&current);
    let by_name: HashMap<String, PodId> = kernel_model
        .pod_ids()
        .map(|p| (kernel_model.pod_name(p), p))
        .collect();
    let kernel_pod =
        |pod: Option<PodId>| pod.and_then(|p| by_name.get(&current.pod_name(p)).copied());
    let external: BTreeSet<IpAddr> = sessions
        .iter()
        .flat_map(|r| {
            [
                (kernel_pod(r.src.pod), r.session.src.ip()),
                (kernel_pod(r.dst.pod), r.session.dst.ip()),
            ]
        })
        .filter(|(pod, _)| pod.is_none())
        .map(|(_, ip)| ip)
        .collect();
    let ports: BTreeSet<(u16, Protocol)> = sessions
        .iter()
        .map(|r| (r.session.dst.port(), r.session.proto))
        .collect();
    palisade_sandbox::install_signal_cleanup()?;
    let sandbox = Sandbox::up(
        kernel_model,
        SandboxOptions {
            deny: args.deny_action.into(),
            external: external.into_iter().collect(),
            extra_ports: ports.into_iter().collect(),
        },
    )?;
    // One probe per distinct (source, destination address, port, protocol).
    let mut index: HashMap<(Source, IpAddr, u16, Protocol), usize> = HashMap::new();
    let mut probes = Vec::new();
    let mut expect = Vec::new();
    let mut slot = Vec::new();
    for r in &sessions {
        let src = match kernel_pod(r.src.pod) {
            Some(p) => Source::Pod(p),
            None => Source::External(r.session.src.ip()),
        };
        let v6 = r.session.dst.ip().is_ipv6();
        let dst = match kernel_pod(r.dst.pod) {
            Some(p) => sandbox
                .plan()
                .pod(p)
                .ip(v6)
                .or_else(|| sandbox.plan().pod(p).ip(!v6)),
            None => Some(r.session.dst.ip()),
        };
        let expected = match &r.proposed {
            Some(p) => p.predicted.allowed(),
            None => r.predicted.allowed(),
        };
        slot.push(dst.map(|dst| {
            let key = (src, dst, r.session.dst.port(), r.session.proto);
            *index.entry(key).or_insert_with(|| {
                probes.push(Probe {
                    src,
                    dst,
                    port: key.2,
                    protocol: key.3,
                });
                expect.push(expected);
                probes.len() - 1
            })
        }));
    }
    let outcomes =
        sandbox.probe_confirmed(&probes, Duration::from_millis(args.timeout_ms), &expect)?;
    sandbox.down()?;
    let rows: Vec<KernelReplayRow> = sessions
        .iter()
        .zip(slot)
        .map(|(r, slot)| {
            let name = |peer: &palisade_replay::Peer, addr: std::net::SocketAddr| {
                peer.name
                    .as_deref()
                    .map_or_else(|| addr.ip().to_string(), str::to_string)
            };
            let expected = match &r.proposed {
                Some(p) => p.predicted.allowed(),
                None => r.predicted.allowed(),
            };
            KernelReplayRow {
                src: name(&r.src, r.session.src),
                dst: name(&r.dst, r.session.dst),
                dst_addr: r.session.dst.ip(),
                port: r.session.dst.port(),
                protocol: r.session.proto,
                recorded: r.observed().as_str(),
                predicted: r.predicted.as_str(),
                proposed: r.proposed.as_ref().map(|p| p.predicted.as_str()),
                kernel: slot.map(|i| outcomes[i]),
                expected_allowed: expected,
            }
        })
        .collect();
    let text = render_replay(&rows, json);
    let text = if yaml {
        palisade_render::yaml::from_json(&text).map_err(anyhow::Error::msg)?
    } else {
        text
    };
    emit(&text, palisade_render::Style::PLAIN)?;
    let disagree = rows.iter().any(KernelReplayRow::disagrees);
    Ok(if disagree {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
