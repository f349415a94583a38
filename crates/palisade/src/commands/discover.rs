//! What `map`, `generate` and `harden` share: reading captures into replayed sessions, the
//! session filters (shared with `replay`), and turning flags into the library's options.

use crate::args::DenyActionArg;
use crate::discover_args::{
    CaptureArgs, DnsArg, GenerateFlags, LearnArg, ModeArg, SessionFilterArgs,
};
use crate::input::{input, load_checked, protocol};
use anyhow::{Context, bail};
use palisade_discover::{
    DnsMode, GenerateMode, GenerateOptions, KnownNetworks, LearnMode, MapOptions,
};
use palisade_flows::{
    FlowReader, Format, Observed, ReadOptions, ReadReport, SessionConfig, Sessionizer,
};
use palisade_load::Loaded;
use palisade_model::Model;
use palisade_model::{LabelSelector, PortArg, PortRef};
use palisade_replay::{
    DenyAction, Filter, HubbleFilter, PeerMatch, Replayed, Replayer, TimeBound, parse_duration_ns,
};
use std::io::Read;
use std::time::Duration;

/// Builds the session filter from the flags (`replay` uses it too).
/// The `--port` values when all are plain numbers.
fn plain_ports(ports: &[String]) -> Option<Vec<u16>> {
    ports
        .iter()
        .map(|p| match PortArg::parse(p) {
            Ok(PortArg {
                port: PortRef::Number(n),
                protocol: None,
            }) => Some(n),
            _ => None,
        })
        .collect()
}

/// hubble observe's filters (and `--port` when it names a port or a protocol).
pub fn hubble_filter(args: &SessionFilterArgs) -> anyhow::Result<HubbleFilter> {
    let h = &args.hubble;
    let pods = |flag: &str, v: &[String]| -> anyhow::Result<Vec<PeerMatch>> {
        v.iter()
            .map(|s| {
                let (ns, name) = s.split_once('/').unwrap_or(("default", s.as_str()));
                if ns.is_empty() || name.is_empty() || name.contains('/') {
                    bail!("{flag}: `{s}` is not `[namespace/]pod-name-prefix`");
                }
                Ok(PeerMatch::Name(ns.to_string(), name.to_string()))
            })
            .collect()
    };
    let ips = |flag: &str, v: &[String]| -> anyhow::Result<Vec<PeerMatch>> {
        v.iter()
            .map(|s| match PeerMatch::parse(s) {
                Ok(m @ (PeerMatch::Ip(_) | PeerMatch::Net(_))) => Ok(m),
                _ => bail!("{flag}: `{s}` is not an IP address or CIDR"),
            })
            .collect()
    };
    let labels = |flag: &str, v: &[String]| -> anyhow::Result<Vec<LabelSelector>> {
        v.iter()
            .map(|s| {
                LabelSelector::parse_kubectl(&s.replace("k8s:", ""))
                    .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
            })
            .collect()
    };
    let mut verdict = Vec::new();
    for v in &h.verdict {
        match v.to_ascii_uppercase().as_str() {
            "FORWARDED" => verdict.push(Observed::Accepted),
            "DROPPED" => verdict.extend([Observed::Refused, Observed::TimedOut]),
            _ => bail!("--verdict: `{v}`: expected FORWARDED or DROPPED"),
        }
    }
    let port = if plain_ports(&args.port).is_some() {
        Vec::new()
    } else {
        args.port
            .iter()
            .map(|p| PortArg::parse(p).map_err(|e| anyhow::anyhow!("--port: {e}")))
            .collect::<anyhow::Result<_>>()?
    };
    Ok(HubbleFilter {
        verdict,
        from_pod: pods("--from-pod", &h.from_pod)?,
        to_pod: pods("--to-pod", &h.to_pod)?,
        from_namespace: h.from_namespace.clone(),
        to_namespace: h.to_namespace.clone(),
        from_label: labels("--from-label", &h.from_label)?,
        to_label: labels("--to-label", &h.to_label)?,
        from_ip: ips("--from-ip", &h.from_ip)?,
        to_ip: ips("--to-ip", &h.to_ip)?,
        port,
        selection: match &args.pods.selector {
            None => None,
            // One -n value narrows the selected end; several stay alternatives of the
            // session filter.
            Some(_) => Some(crate::select::selection(
                match args.namespace.as_slice() {
                    [one] => Some(one.as_str()),
                    _ => None,
                },
                Some(&args.pods),
            )?),
        },
    })
}

pub fn session_filter(args: &SessionFilterArgs) -> anyhow::Result<Filter> {
    let peers = |flag: &str, v: &[String]| -> anyhow::Result<Vec<PeerMatch>> {
        v.iter()
            .map(|s| PeerMatch::parse(s).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
            .collect()
    };
    let mut f = Filter {
        from: peers("--from", &args.from)?,
        to: peers("--to", &args.to)?,
        namespace: args.namespace.clone(),
        // Plain numbers stay in the reader's filter (Relay filters them server-side); names
        // and NUM/PROTO need the destination pod, in the hubble filter.
        port: plain_ports(&args.port).unwrap_or_default(),
        protocol: args
            .protocol
            .iter()
            .map(|p| protocol(p))
            .collect::<anyhow::Result<_>>()?,
        ..Filter::default()
    };
    for o in &args.outcome {
        if o.eq_ignore_ascii_case("mismatch") {
            f.mismatch_only = true;
        } else {
            match Observed::parse(o) {
                Some(v) => f.outcome.push(v),
                None => bail!(
                    "--outcome: unknown outcome `{o}`: expected accepted, refused, timed-out, unknown or mismatch"
                ),
            }
        }
    }
    let bound = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<TimeBound>> {
        v.as_deref()
            .map(|s| TimeBound::parse(s).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
            .transpose()
    };
    f.since = bound("--since", &args.since)?;
    f.until = bound("--until", &args.until)?;
    Ok(f)
}

/// `--format`.
/// The last event time of the captures, when `--since`/`--until` count back from it (a
/// first pass over each file; stdin cannot be read twice).
pub fn capture_end_ns(
    filter: &Filter,
    captures: &[String],
    format: Option<Format>,
) -> anyhow::Result<Option<i64>> {
    if !filter.since.is_some_and(|b| b.needs_end()) && !filter.until.is_some_and(|b| b.needs_end())
    {
        return Ok(None);
    }
    let mut end: Option<i64> = None;
    for capture in captures {
        if capture == "-" {
            bail!(
                "--since/--until: a duration counts back from the capture's end, which stdin cannot give before it is read; give an RFC 3339 time or +DURATION (after the capture's start)"
            );
        }
        let file =
            std::fs::File::open(capture).with_context(|| format!("cannot open `{capture}`"))?;
        let mut reader = FlowReader::new(
            capture.clone(),
            std::io::BufReader::with_capacity(1 << 20, file),
            &ReadOptions {
                format,
                ..ReadOptions::default()
            },
        )?;
        reader.read(|record| {
            if let palisade_flows::Record::Flow(ev) = record {
                end = Some(end.map_or(ev.time_ns, |e| e.max(ev.time_ns)));
            }
        })?;
    }
    Ok(end)
}

pub fn capture_format(format: &Option<String>) -> anyhow::Result<Option<Format>> {
    match format {
        None => Ok(None),
        Some(f) => match Format::parse(f) {
            Some(f) => Ok(Some(f)),
            None => bail!(
                "--format: unknown format `{f}`: expected hubble, pcap, pcapng, vpc, csv or jsonl"
            ),
        },
    }
}

/// Loads `--cluster`, with the usual reporting.
pub fn load_cluster(args: &CaptureArgs) -> anyhow::Result<Loaded> {
    let inputs: Vec<_> = args.cluster.iter().map(|p| input(p)).collect();
    let loaded =
        load_checked(&inputs, &args.default_namespace, &args.load, None).context("--cluster")?;
    if !loaded.model.pods.iter().any(|p| !p.ips.is_empty()) {
        crate::output::eprintln_sanitized!(
            "palisade: note: no pod in the cluster manifests has an IP (status.podIP); endpoints are mapped by Hubble's pod names only, other addresses count as external"
        );
    }
    Ok(loaded)
}

/// Grouping options from the flags (reads `--known-networks`).
pub fn map_options(args: &CaptureArgs) -> anyhow::Result<MapOptions> {
    let known = match &args.known_networks {
        None => KnownNetworks::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--known-networks: cannot read `{path}`"))?;
            KnownNetworks::parse(&text)
                .map_err(|e| anyhow::anyhow!("{path}:{}: {}", e.line, e.message))?
        }
    };
    Ok(MapOptions {
        cidr_prefix_v4: args.cidr_prefix,
        cidr_prefix_v6: args.cidr_prefix_v6,
        known,
        ..MapOptions::default()
    })
}

/// Generation options from the flags.
pub fn generate_options(
    flags: &GenerateFlags,
    captures: &[String],
) -> (LearnMode, GenerateOptions) {
    let learn = match flags.learn {
        LearnArg::Accepted => LearnMode::Accepted,
        LearnArg::Attempted => LearnMode::Attempted,
    };
    let names: Vec<&str> = captures
        .iter()
        .map(|c| {
            if c == "-" {
                "<stdin>"
            } else {
                std::path::Path::new(c)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(c)
            }
        })
        .collect();
    let options = GenerateOptions {
        mode: match flags.mode {
            ModeArg::Replace => GenerateMode::Replace,
            ModeArg::Add => GenerateMode::Add,
        },
        dns: match flags.dns {
            DnsArg::All => DnsMode::All,
            DnsArg::Observed => DnsMode::Observed,
            DnsArg::None => DnsMode::None,
        },
        default_deny: flags.default_deny,
        merge_ports: flags.merge_ports,
        generated_from: names.join(", "),
        ..GenerateOptions::default()
    };
    (learn, options)
}

/// Reads every capture, replays its sessions against `model` (and `proposed`), and hands
/// each to `on` with whether the filters keep it. Returns what each reader noticed; reader
/// problems are printed to stderr.
pub fn read_captures(
    args: &CaptureArgs,
    model: &Model,
    proposed: Option<&Model>,
    mut on: impl FnMut(&Replayed, bool),
) -> anyhow::Result<Vec<ReadReport>> {
    let mut filter = session_filter(&args.filter)?;
    let hubble = hubble_filter(&args.filter)?;
    let format = capture_format(&args.format)?;
    filter.end_ns = capture_end_ns(&filter, &args.captures, format)?;
    let timeout = match parse_duration_ns(&args.timeout) {
        Some(ns) if ns > 0 => ns,
        _ => bail!(
            "--timeout: `{}` is not a duration (e.g. 3s, 500ms, 1m)",
            args.timeout
        ),
    };
    if args.captures.iter().filter(|c| *c == "-").count() > 1 {
        bail!("stdin (`-`) can be read only once");
    }
    let deny = match args.deny_action {
        DenyActionArg::Drop => DenyAction::Drop,
        DenyActionArg::Reject => DenyAction::Reject,
    };
    let mut replayer = Replayer::new(model, deny);
    if let Some(p) = proposed {
        replayer = replayer.with_proposed(p);
    }
    let mut reports = Vec::new();
    for capture in &args.captures {
        let raw: Box<dyn Read> = if capture == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(
                std::fs::File::open(capture).with_context(|| format!("cannot open `{capture}`"))?,
            )
        };
        let mut reader = FlowReader::new(
            capture.clone(),
            std::io::BufReader::with_capacity(1 << 20, raw),
            &ReadOptions {
                format,
                strict: args.strict,
                ..ReadOptions::default()
            },
        )?;
        let first_ns: std::cell::Cell<Option<i64>> = std::cell::Cell::new(None);
        let mut sessionizer = Sessionizer::new(SessionConfig {
            timeout: Duration::from_nanos(timeout as u64),
            ..SessionConfig::default()
        });
        let mut on_session = |s: palisade_flows::Session| {
            let r = replayer.replay(s);
            let keep = (filter.is_empty() || filter.matches(&r, first_ns.get()))
                && (hubble.is_empty() || hubble.matches(model, &r));
            on(&r, keep);
        };
        reader.read(|record| {
            if let palisade_flows::Record::Flow(ev) = record
                && first_ns.get().is_none()
            {
                first_ns.set(Some(ev.time_ns));
            }
            sessionizer.push_record(record, &mut on_session);
        })?;
        sessionizer.finish(&mut on_session);
        let report = reader.into_report();
        let style = args.load.color.style(true);
        for d in report.diagnostics() {
            crate::output::emit_err(
                &palisade_render::diagnostics::human(&d, &model.sources, style),
                style,
            );
        }
        reports.push(report);
    }
    Ok(reports)
}
