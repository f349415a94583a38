//! `palisade watch`: follow Hubble Relay and the cluster; export Prometheus metrics of what
//! the traffic does against what the policies (and a proposal) say; log deny spikes.
//!
//! Three threads: the gRPC thread (palisade-live) never waits for anyone and drops flows
//! when its bounded queue is full; the reader thread parses flows and builds sessions; the
//! main thread predicts, counts and re-reads the cluster every `--reload-every`.

use crate::args::{DenyActionArg, WatchArgs};
use crate::input::{input, load_checked};
use anyhow::{Context, bail};
use palisade_flows::{
    FlowReader, Format, ReadOptions, Record, Session, SessionConfig, Sessionizer,
};
use palisade_live::metrics::{Family, Registry};
use palisade_live::relay::{Backpressure, FlowQuery};
use palisade_load::Input;
use palisade_model::Model;
use palisade_replay::{
    Change, DenyAction, Replayed, Replayer, SlidingSpikes, SpikeBasis, SpikeChange, SpikeConfig,
    parse_duration_ns,
};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const fn family(name: &'static str, help: &'static str, kind: &'static str) -> Family {
    Family { name, help, kind }
}

/// Sessions by observed and predicted outcome and namespace pair.
pub const SESSIONS: Family = family(
    "palisade_sessions_total",
    "Connection attempts decided, by observed and predicted outcome and namespace pair.",
    "counter",
);
/// Observed differs from predicted.
pub const DRIFT: Family = family(
    "palisade_drift_sessions_total",
    "Sessions whose observed outcome differs from the predicted one, by likely cause (drift, address, deny-action, no-listener) and namespace pair.",
    "counter",
);
/// Would break under --proposed.
pub const WOULD_BREAK: Family = family(
    "palisade_would_break_sessions_total",
    "Sessions the current policies allow and the --proposed policies would deny, by namespace pair.",
    "counter",
);
/// Would open under --proposed.
pub const WOULD_OPEN: Family = family(
    "palisade_would_open_sessions_total",
    "Sessions the current policies deny and the --proposed policies would allow, by namespace pair.",
    "counter",
);
/// Spike state.
pub const SPIKE: Family = family(
    "palisade_deny_spike",
    "1 while the namespace pair is in a deny spike (observed denials above median + k*MAD of the earlier windows), else 0.",
    "gauge",
);
/// Spikes started.
pub const SPIKES: Family = family(
    "palisade_deny_spikes_total",
    "Deny spikes started, by namespace pair.",
    "counter",
);
/// Flows from Relay.
pub const FLOWS: Family = family(
    "palisade_flows_total",
    "Flows received from Hubble Relay.",
    "counter",
);
/// Dropped for overload.
pub const DROPPED: Family = family(
    "palisade_flows_dropped_total",
    "Flows dropped because they arrived faster than Palisade processed them (Relay is never held up).",
    "counter",
);
/// Relay's lost events.
pub const LOST: Family = family(
    "palisade_lost_events_total",
    "Events Hubble reported lost (lost_events messages).",
    "counter",
);
/// Gaps.
pub const GAPS: Family = family(
    "palisade_reader_gaps_total",
    "Gaps in the flow record (Hubble lost events, Palisade's own drops, reconnections); sessions around them may be misjudged.",
    "counter",
);
/// Reconnects.
pub const RECONNECTS: Family = family(
    "palisade_relay_reconnects_total",
    "Times the Relay stream was re-established.",
    "counter",
);
/// Model reloads.
pub const RELOADS: Family = family(
    "palisade_model_reloads_total",
    "Times the cluster model was re-read, by result (ok, error).",
    "counter",
);
/// Model size.
pub const MODEL_OBJECTS: Family = family(
    "palisade_model_objects",
    "Objects in the current model, by kind (pods, policies).",
    "gauge",
);

const EXTERNAL: &str = "(external)";

struct Models {
    current: Model,
    proposed: Option<Model>,
}

/// What the reload thread needs to read the models again.
#[derive(Clone)]
struct Sources {
    cluster: Vec<String>,
    proposed: Vec<String>,
    default_namespace: String,
    load: crate::args::LoadArgs,
}

impl Sources {
    fn load(&self) -> anyhow::Result<Models> {
        let mut inputs: Vec<Input> = self.cluster.iter().map(|p| input(p)).collect();
        inputs.extend(crate::live::live_inputs(&self.load, None)?);
        let current = load_checked(&inputs, &self.default_namespace, &self.load, None)
            .context("the cluster")?
            .model;
        let proposed = if self.proposed.is_empty() {
            None
        } else {
            let inputs: Vec<Input> = self.proposed.iter().map(|p| input(p)).collect();
            Some(
                load_checked(
                    &inputs,
                    &self.default_namespace,
                    &self.load,
                    Some("the proposed policies (--proposed)"),
                )?
                .model,
            )
        };
        Ok(Models { current, proposed })
    }
}

fn duration(flag: &str, s: &str) -> anyhow::Result<i64> {
    match parse_duration_ns(s) {
        Some(ns) if ns > 0 => Ok(ns),
        _ => bail!("{flag}: `{s}` is not a duration (e.g. 3s, 500ms, 1m)"),
    }
}

fn namespace(peer: &palisade_replay::Peer) -> &str {
    peer.namespace.as_deref().unwrap_or(EXTERNAL)
}

pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let timeout = duration("--timeout", &args.timeout)?;
    let window = duration("--spike-window", &args.spike_window)?;
    let reload_every = Duration::from_nanos(duration("--reload-every", &args.reload_every)? as u64);
    let metrics_addr: std::net::SocketAddr = args.metrics.parse().with_context(|| {
        format!(
            "--metrics: `{}` is not an address like 127.0.0.1:9464",
            args.metrics
        )
    })?;
    let deny = match args.deny_action {
        DenyActionArg::Drop => DenyAction::Drop,
        DenyActionArg::Reject => DenyAction::Reject,
    };
    let sources = Sources {
        cluster: args.cluster.clone(),
        proposed: args.proposed.clone(),
        default_namespace: args.default_namespace.clone(),
        load: args.load.clone(),
    };
    let mut models = sources.load()?;

    let registry = Registry::default();
    for f in [
        SESSIONS,
        DRIFT,
        WOULD_BREAK,
        WOULD_OPEN,
        SPIKE,
        SPIKES,
        FLOWS,
        DROPPED,
        LOST,
        GAPS,
        RECONNECTS,
        RELOADS,
        MODEL_OBJECTS,
    ] {
        registry.declare(f);
    }
    let set_model_gauges = |m: &Model| {
        registry.set(MODEL_OBJECTS, &[("kind", "pods")], m.pods.len() as f64);
        registry.set(
            MODEL_OBJECTS,
            &[("kind", "policies")],
            m.policies.len() as f64,
        );
    };
    set_model_gauges(&models.current);
    let bound = palisade_live::metrics::serve(metrics_addr, registry.clone())?;
    eprintln!("palisade: serving metrics on http://{bound}/metrics");

    // Relay → reader thread (flows → sessions) → this thread.
    let (name, feed) = super::relay::start(
        &args.relay,
        FlowQuery {
            follow: true,
            ..FlowQuery::default()
        },
        Backpressure::Drop,
    )?;
    let stats = feed.stats();
    let (session_tx, session_rx) = mpsc::sync_channel::<Session>(1 << 14);
    let reader_registry = registry.clone();
    let reader = std::thread::Builder::new()
        .name("flows".into())
        .spawn(move || -> anyhow::Result<()> {
            let mut reader = FlowReader::new(
                name,
                std::io::BufReader::with_capacity(1 << 20, feed),
                &ReadOptions {
                    format: Some(Format::Hubble),
                    ..ReadOptions::default()
                },
            )?;
            let mut sessionizer = Sessionizer::new(SessionConfig {
                timeout: Duration::from_nanos(timeout as u64),
                ..SessionConfig::default()
            });
            let mut send = |s: Session| {
                let _ = session_tx.send(s);
            };
            reader.read(|record| {
                if let Record::Gap(_) = record {
                    reader_registry.add(GAPS, &[], 1.0);
                }
                sessionizer.push_record(record, &mut send);
            })?;
            sessionizer.finish(&mut send);
            Ok(())
        })
        .context("cannot start the reader thread")?;

    // Re-reading the cluster, in the background.
    let (reload_tx, reload_rx) = mpsc::channel::<anyhow::Result<Models>>();
    {
        let sources = sources.clone();
        std::thread::Builder::new()
            .name("reload".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(reload_every);
                    if reload_tx.send(sources.load()).is_err() {
                        return;
                    }
                }
            })
            .context("cannot start the reload thread")?;
    }

    let mut spikes: SlidingSpikes<(String, String)> = SlidingSpikes::new(
        SpikeConfig {
            window_ns: window,
            basis: SpikeBasis::Observed,
            k: args.spike_k,
            threshold: args.spike_threshold,
            baseline_windows: args.spike_history,
            ..SpikeConfig::default()
        },
        4096,
        ("(other)".into(), "(other)".into()),
    );
    let mut changes = Vec::new();
    let mut stdout = std::io::stdout().lock();
    let mut last_stats = Instant::now();
    loop {
        let mut replayer = Replayer::new(&models.current, deny);
        if let Some(p) = &models.proposed {
            replayer = replayer.with_proposed(p);
        }
        let reloaded = loop {
            match session_rx.recv_timeout(Duration::from_millis(500)) {
                Ok(s) => {
                    let r = replayer.replay(s);
                    count(&registry, &r, &mut spikes, &mut changes);
                    if args.jsonl {
                        // Names from the capture: C1 controls and bidi overrides pass
                        // through JSON raw, so the line is sanitized like all output.
                        let line = palisade_render::replay::jsonl_line(&r);
                        stdout.write_all(
                            palisade_render::escape::sanitize_output(&line, false).as_bytes(),
                        )?;
                        stdout.flush()?;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    mirror(&registry, &stats);
                    return match reader.join() {
                        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
                        Ok(Err(e)) => Err(e),
                        Err(_) => bail!("the reader thread failed"),
                    };
                }
            }
            for c in changes.drain(..) {
                log_spike(&registry, &c, window);
            }
            if last_stats.elapsed() >= Duration::from_millis(500) {
                mirror(&registry, &stats);
                last_stats = Instant::now();
            }
            match reload_rx.try_recv() {
                Ok(Ok(m)) => {
                    registry.add(RELOADS, &[("result", "ok")], 1.0);
                    break m;
                }
                Ok(Err(e)) => {
                    registry.add(RELOADS, &[("result", "error")], 1.0);
                    eprintln!(
                        "palisade: warning: re-reading the cluster failed (keeping the previous model): {e:#}"
                    );
                }
                Err(_) => {}
            }
        };
        drop(replayer);
        models = reloaded;
        set_model_gauges(&models.current);
    }
}

/// Counts one decided session.
fn count(
    registry: &Registry,
    r: &Replayed,
    spikes: &mut SlidingSpikes<(String, String)>,
    changes: &mut Vec<SpikeChange<(String, String)>>,
) {
    let (src, dst) = (namespace(&r.src), namespace(&r.dst));
    let pair = [("src_namespace", src), ("dst_namespace", dst)];
    registry.add(
        SESSIONS,
        &[
            ("observed", r.session.observed.as_str()),
            ("predicted", r.predicted.as_str()),
            pair[0],
            pair[1],
        ],
        1.0,
    );
    if let Some(m) = &r.mismatch {
        registry.add(DRIFT, &[("kind", m.kind.as_str()), pair[0], pair[1]], 1.0);
    }
    match r.change {
        Some(Change::Break) => registry.add(WOULD_BREAK, &pair, 1.0),
        Some(Change::Open) => registry.add(WOULD_OPEN, &pair, 1.0),
        None => {}
    }
    let key = (src.to_string(), dst.to_string());
    let was = spikes.is_spiking(&key);
    spikes.add(
        key.clone(),
        r.session.start_ns,
        r.denied(SpikeBasis::Observed),
        changes,
    );
    spikes.tick(r.session.decided_ns, changes);
    if !was && registry.get(SPIKE, &pair).is_none() {
        registry.set(SPIKE, &pair, 0.0);
    }
}

fn log_spike(registry: &Registry, c: &SpikeChange<(String, String)>, window: i64) {
    let stamp = palisade_flows::format_rfc3339;
    match c {
        SpikeChange::Started {
            key: (src, dst),
            window_start_ns,
            denied,
            threshold,
        } => {
            let pair = [
                ("src_namespace", src.as_str()),
                ("dst_namespace", dst.as_str()),
            ];
            registry.set(SPIKE, &pair, 1.0);
            registry.add(SPIKES, &pair, 1.0);
            eprintln!(
                "palisade: deny spike started: {src} → {dst}: {denied} denied sessions in the window from {} (threshold {threshold:.1})",
                stamp(*window_start_ns)
            );
        }
        SpikeChange::Ended {
            key: (src, dst),
            window_start_ns,
        } => {
            let pair = [
                ("src_namespace", src.as_str()),
                ("dst_namespace", dst.as_str()),
            ];
            registry.set(SPIKE, &pair, 0.0);
            eprintln!(
                "palisade: deny spike ended: {src} → {dst} (window from {} back under its threshold)",
                stamp(*window_start_ns + window)
            );
        }
    }
}

/// Copies the Relay counters into the registry.
fn mirror(registry: &Registry, stats: &palisade_live::relay::RelayStats) {
    registry.set(FLOWS, &[], stats.flows.load(Ordering::Relaxed) as f64);
    registry.set(DROPPED, &[], stats.dropped.load(Ordering::Relaxed) as f64);
    registry.set(LOST, &[], stats.lost_events.load(Ordering::Relaxed) as f64);
    registry.set(
        RECONNECTS,
        &[],
        stats.reconnects.load(Ordering::Relaxed) as f64,
    );
}
