//! `palisade replay`: recorded traffic against the current (and a proposed) policy set.

use super::sorted_sessions::SortedSessions;
use crate::args::{DenyActionArg, ReplayArgs, SpikeOnArg};
use crate::input::{input, load_checked};
use crate::output::emit_err;
use crate::progress::Progress;
use anyhow::{Context, bail};
use palisade_columnar::{ParquetFlowReader, SessionParquetWriter};
use palisade_flows::{FlowReader, Format, Observed, ReadOptions, ReadReport, SessionConfig};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Model;
use palisade_render::Style;
use palisade_render::replay::{self as render, Report, SessionFormat};
use palisade_replay::{
    DenyAction, Filter, Replayed, Replayer, SessionContext, SpikeBasis, SpikeConfig, Spikes,
    Summary, WhatIf, parse_duration_ns,
};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Output formats of `replay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Text,
    Json,
    Yaml,
    Jsonl,
    Csv,
    Md,
    /// The session schema (docs/scale-out.md), streamed into a file or a non-terminal stdout.
    Parquet,
}

fn output(s: &str) -> anyhow::Result<Output> {
    Ok(match s {
        // `wide` is the text (no extra columns yet); `yaml` the JSON document as YAML.
        "txt" | "text" | "table" | "human" | "plain" | "wide" => Output::Text,
        "json" => Output::Json,
        "yaml" | "yml" => Output::Yaml,
        "jsonl" | "ndjson" => Output::Jsonl,
        "csv" => Output::Csv,
        "md" | "markdown" => Output::Md,
        "parquet" => Output::Parquet,
        other => {
            bail!(
                "unsupported output format `{other}`: expected one of text, wide, json, yaml, jsonl, csv, md, parquet"
            )
        }
    })
}

/// The longest duration a flag accepts: a year. Anything longer is a typo, and times are
/// nanoseconds in an `i64` (about 292 years), so refusing here keeps every deadline
/// (timestamp + duration) far from overflowing.
const MAX_DURATION_NS: i64 = 366 * 86_400 * 1_000_000_000;

fn duration(flag: &str, s: &str) -> anyhow::Result<i64> {
    match parse_duration_ns(s) {
        Some(ns) if ns > MAX_DURATION_NS => {
            bail!("{flag}: `{s}` is longer than a year; give a duration such as 3s, 500ms or 1m")
        }
        Some(ns) if ns > 0 => Ok(ns),
        _ => bail!("{flag}: `{s}` is not a duration (e.g. 3s, 500ms, 1m)"),
    }
}

fn filter(args: &ReplayArgs) -> anyhow::Result<Filter> {
    let mut f = super::discover::session_filter(&args.filter)?;
    // On a live Relay, relative bounds (`--since 5m`) mean "before now", as in hubble's CLI:
    // make them absolute here so the server-side filter and ours agree.
    if args.relay.hubble_relay.is_some() {
        let now = super::relay::now_ns();
        f.since = super::relay::absolute(f.since, now);
        f.until = super::relay::absolute(f.until, now);
    } else if let Some(capture) = &args.capture {
        // `--since 5m`: the last five minutes of the capture, found by a first pass.
        let (format, parquet) = super::convert::format_arg(args.format.as_deref())?;
        if parquet || super::convert::is_parquet_file(capture) {
            if f.since.is_some_and(|b| b.needs_end()) || f.until.is_some_and(|b| b.needs_end()) {
                bail!(
                    "--since/--until: a duration counting back from the capture's end is not supported on Parquet input; give an RFC 3339 time or +DURATION (after the capture's start)"
                );
            }
        } else {
            f.end_ns = super::discover::capture_end_ns(&f, std::slice::from_ref(capture), format)?;
        }
    }
    Ok(f)
}

/// The proposed model: the --proposed paths, or (with --overlay) them laid over the cluster.
fn load_proposed(args: &ReplayArgs) -> anyhow::Result<Model> {
    let inputs: Vec<Input> = if args.overlay {
        if args.proposed.len() != 1 {
            bail!("--overlay takes one --proposed directory (the changed files)");
        }
        let mut inputs = super::diff::overlay_inputs(&args.cluster[0], &args.proposed[0])
            .context("--proposed")?;
        inputs.extend(args.cluster[1..].iter().map(|p| Input::Path(p.into())));
        inputs
    } else {
        args.proposed.iter().map(|p| input(p)).collect()
    };
    for p in &args.proposed {
        if p != "-" && !std::path::Path::new(p).exists() {
            bail!("--proposed: `{p}` does not exist");
        }
    }
    let what = "the proposed policies (--proposed)";
    Ok(load_checked(&inputs, &args.default_namespace, &args.load, Some(what))?.model)
}

/// Where flows come from: a capture read by `palisade-flows` (text formats, pcap, Relay), or
/// a Parquet file read by `palisade-columnar`.
enum Capture<'r> {
    Flows(FlowReader<'r>),
    Parquet(ParquetFlowReader),
}

impl Capture<'_> {
    fn into_report(self) -> ReadReport {
        match self {
            Capture::Flows(r) => r.into_report(),
            Capture::Parquet(r) => r.into_report(),
        }
    }
}

/// Everything collected while reading.
struct Collected {
    sessions: SortedSessions,
    summary: Summary,
    whatif: Option<WhatIf>,
    spikes: Option<Spikes>,
    read: ReadReport,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_args(&args)?;
    crate::progress::configure(
        args.load.quiet,
        matches!(settings.output, Output::Json | Output::Jsonl | Output::Csv),
    );
    let model = load_cluster(&args)?;
    let proposed = if args.proposed.is_empty() {
        None
    } else {
        Some(load_proposed(&args)?)
    };
    let deny = match args.deny_action {
        DenyActionArg::Drop => DenyAction::Drop,
        DenyActionArg::Reject => DenyAction::Reject,
    };
    let mut replayer = Replayer::new(&model, deny);
    if let Some(p) = &proposed {
        replayer = replayer.with_proposed(p);
    }
    let (mut reader, progress) = open_reader(&args, &settings)?;
    let mut sessions_out = match settings.output {
        Output::Parquet => Some(SessionParquetWriter::new(super::convert::binary_sink(
            args.out_file.as_deref(),
            "--out-file FILE",
        )?)?),
        _ => None,
    };
    let mut collected = Collected::new(&args, settings.output, proposed.is_some(), settings.window);
    // Not locked: the replaying thread may write it.
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let streamed = stream_sessions(
        &args,
        &settings,
        &mut reader,
        &mut replayer,
        progress.as_ref(),
        &mut collected,
        &mut stdout,
        sessions_out.as_mut(),
        args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
            |n| n as usize,
        ),
    );
    drop(progress);
    let write_err = streamed?;
    collected.read = reader.into_report();
    report_read_diagnostics(&args, &model, &collected.read);
    if let Some(e) = write_err {
        return Err(e.into());
    }
    if let Some(w) = sessions_out {
        let what = args.out_file.as_deref().unwrap_or("stdout");
        w.finish()?
            .flush()
            .with_context(|| format!("writing {what}"))?;
        return exit_code(&args, &collected);
    }
    print_report(&args, settings.output, collected, &mut stdout)
}

/// The cluster the capture is replayed against (`--cluster`, live sources), with a note when
/// no pod has an address (endpoints can then be mapped by Hubble's pod names only).
fn load_cluster(args: &ReplayArgs) -> anyhow::Result<Model> {
    let mut cluster_inputs: Vec<Input> = args.cluster.iter().map(|p| input(p)).collect();
    cluster_inputs.extend(crate::live::live_inputs(&args.load, None)?);
    let loaded = load_checked(&cluster_inputs, &args.default_namespace, &args.load, None)
        .context("--cluster")?;
    let model = loaded.model;
    if !model.pods.iter().any(|p| !p.ips.is_empty()) {
        emit_err(
            "palisade: note: no pod in the cluster manifests has an IP (status.podIP); endpoints are mapped by Hubble's pod names only, other addresses count as external\n",
            Style::PLAIN,
        );
    }
    Ok(model)
}

/// The capture's reader: Parquet (by `--format` or the file's magic), a Hubble Relay feed, or
/// a file or stdin in any other format, with a progress bar on a terminal for large files.
fn open_reader(
    args: &ReplayArgs,
    settings: &Settings,
) -> anyhow::Result<(Capture<'static>, Option<Progress>)> {
    let parquet_path = match args.capture.as_deref() {
        Some(path)
            if args.relay.hubble_relay.is_none()
                && (settings.parquet
                    || (settings.format.is_none() && super::convert::is_parquet_file(path))) =>
        {
            if path == "-" {
                bail!(
                    "Parquet cannot be read from standard input (it is read from its end): give a file"
                );
            }
            Some(path)
        }
        _ => None,
    };
    if let Some(path) = parquet_path {
        return Ok((Capture::Parquet(ParquetFlowReader::open(path, None)?), None));
    }
    let (capture_name, input, progress, format) = if args.relay.hubble_relay.is_some() {
        let (name, feed) = super::relay::open(args, &settings.filter)?;
        (name, feed, None, Some(Format::Hubble))
    } else {
        let (input, progress) = open_capture(args)?;
        let name = args.capture.clone().unwrap_or_else(|| "-".into());
        (name, input, progress, settings.format)
    };
    // No `BufReader`: the reader keeps its own window, and the parallel line reader reads
    // chunks straight into its buffers; a buffer in between would copy every byte once more.
    let reader = FlowReader::new(
        capture_name,
        input,
        &ReadOptions {
            format,
            strict: args.strict,
            ..ReadOptions::default()
        },
    )?;
    let resolution = reader.format().timestamp_resolution_ns();
    if args.spikes && settings.window < resolution {
        bail!(
            "--spike-window: `{}` is finer than the capture's timestamps ({} has {}s resolution)",
            args.spike_window,
            reader.format().as_str(),
            resolution / 1_000_000_000
        );
    }
    Ok((Capture::Flows(reader), progress))
}

/// What reading the capture found wrong (malformed lines, gaps), on stderr.
fn report_read_diagnostics(args: &ReplayArgs, model: &Model, read: &ReadReport) {
    let err_style = args.load.color.style(true);
    emit_err(
        &palisade_render::diagnostics::human_bounded(
            &read.diagnostics(),
            &model.sources,
            err_style,
            "",
        ),
        err_style,
    );
}

/// What the arguments ask for, checked before anything is read.
struct Settings {
    output: Output,
    filter: Filter,
    /// hubble observe's filters.
    hubble: palisade_replay::HubbleFilter,
    /// `--timeout`, in nanoseconds.
    timeout: i64,
    /// `--spike-window`, in nanoseconds.
    window: i64,
    format: Option<Format>,
    /// `--format parquet`.
    parquet: bool,
}

impl Settings {
    fn from_args(args: &ReplayArgs) -> anyhow::Result<Settings> {
        let output = output(&args.output)?;
        if args.relay.follow && !matches!(output, Output::Jsonl | Output::Text) {
            bail!("--follow streams the timeline: use -o jsonl (for machines) or -o txt");
        }
        let stdin_users = usize::from(args.capture.as_deref() == Some("-"))
            + args.cluster.iter().filter(|p| *p == "-").count()
            + args.proposed.iter().filter(|p| *p == "-").count();
        if stdin_users > 1 {
            bail!(
                "standard input (`-`) is given {stdin_users} times (capture, --cluster, --proposed); it can be read only once: save all but one to files"
            );
        }
        let filter = filter(args)?;
        let timeout = duration("--timeout", &args.timeout)?;
        let window = duration("--spike-window", &args.spike_window)?;
        if !(args.spike_k.is_finite() && args.spike_k >= 0.0) {
            bail!(
                "--spike-k: `{}` is not a finite number ≥ 0 (e.g. 3 or 4.5)",
                args.spike_k
            );
        }
        let (format, parquet) = super::convert::format_arg(args.format.as_deref())?;
        if args.out_file.is_some() && output != Output::Parquet {
            bail!("--out-file is for -o parquet; redirect the other formats");
        }
        Ok(Settings {
            output,
            filter,
            hubble: super::discover::hubble_filter(&args.filter)?,
            timeout,
            window,
            format,
            parquet,
        })
    }
}

/// The capture (a file or stdin), with a progress bar on a terminal for large files.
fn open_capture(args: &ReplayArgs) -> anyhow::Result<(Box<dyn Read>, Option<Progress>)> {
    let (raw, size): (Box<dyn Read>, Option<u64>) = match args.capture.as_deref() {
        Some("-") | None => (Box::new(std::io::stdin().lock()), None),
        Some(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open `{path}`"))?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size)
        }
    };
    let progress = match size {
        Some(len) if len > (8 << 20) => Some(Progress::bytes("replaying", len)),
        _ => None,
    }
    .filter(|p| !p.is_hidden());
    let input: Box<dyn Read> = match &progress {
        Some(pb) => Box::new(pb.wrap_read(raw)),
        None => raw,
    };
    Ok((input, progress))
}

impl Collected {
    fn new(args: &ReplayArgs, output: Output, what_if: bool, window: i64) -> Collected {
        let format = match output {
            Output::Text => Some(SessionFormat::Text(args.load.color.style(false))),
            Output::Json => Some(SessionFormat::Json),
            Output::Yaml => Some(SessionFormat::Yaml),
            Output::Csv => Some(SessionFormat::Csv),
            Output::Md => Some(SessionFormat::Md),
            Output::Jsonl | Output::Parquet => None,
        };
        // Tests set a small bound to take the on-disk path on small captures.
        let keep = std::env::var("PALISADE_REPLAY_SESSIONS_IN_MEMORY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(SortedSessions::KEEP);
        Collected {
            sessions: SortedSessions::new(format, what_if, keep),
            summary: Summary::default(),
            whatif: what_if.then(WhatIf::default),
            spikes: args.spikes.then(|| {
                Spikes::new(SpikeConfig {
                    window_ns: window,
                    basis: match args.spike_on {
                        SpikeOnArg::Observed => SpikeBasis::Observed,
                        SpikeOnArg::Predicted => SpikeBasis::Predicted,
                    },
                    k: args.spike_k,
                    threshold: args.spike_threshold,
                    ..SpikeConfig::default()
                })
            }),
            read: ReadReport::default(),
        }
    }
}

/// What happens to each session once the sessionizer has decided it: replayed (with the
/// names the capture's DNS answers gave so far), filtered, counted in the summaries, then
/// streamed (jsonl, following) or kept.
struct SessionSink<'a, 'm, W: Write> {
    args: &'a ReplayArgs,
    settings: &'a Settings,
    replayer: &'a mut Replayer<'m>,
    collected: &'a mut Collected,
    stdout: &'a mut W,
    /// `-o parquet`: sessions go to this writer instead of stdout.
    sessions_out: Option<&'a mut SessionParquetWriter<Box<dyn Write + Send>>>,
    /// `-o jsonl`: where the lines are serialized.
    jsonl: JsonlSink,
    stream: bool,
    keep: bool,
    write_err: Option<std::io::Error>,
}

/// Where the sessions of `-o jsonl` are serialized and written.
enum JsonlSink {
    /// On the handling thread, one line at a time, through this reused buffer.
    Here(Vec<u8>),
    /// On a writer thread ([`write_jsonl`]), which receives them in batches, in order.
    Writer {
        batch: Vec<Replayed>,
        to: std::sync::mpsc::SyncSender<Vec<Replayed>>,
    },
}

/// Sessions per batch handed to the `-o jsonl` writer thread.
const JSONL_BATCH: usize = 1024;

/// Batches of sessions waiting for the `-o jsonl` writer thread (≈ 0.5 MB each at most).
const JSONL_QUEUE: usize = 4;

/// Writes `lines` (JSON lines [`render::write_jsonl_line`] wrote: UTF-8) made safe by
/// [`palisade_render::escape::sanitize_output`]. `high`: whether `write_jsonl_line` said a
/// line holds a byte ≥ 0x7F; when none does, there is nothing to escape (JSON escaped every
/// other control character) and the lines are written as they are, unscanned. Else they
/// are checked on the bytes first: lines with nothing to escape (nearly all) are written as
/// they are.
fn write_sanitized(out: &mut impl Write, lines: &[u8], high: bool) -> std::io::Result<()> {
    if !high || !palisade_render::escape::needs_sanitizing(lines) {
        return out.write_all(lines);
    }
    let text = String::from_utf8_lossy(lines);
    out.write_all(palisade_render::escape::sanitize_output(&text, false).as_bytes())
}

/// The `-o jsonl` writer thread: serializes each batch of sessions into one reused buffer,
/// sanitizes and writes it, in the order received (so the output is the one thread's). After
/// a write error it only drains the batches; returns that error.
fn write_jsonl(
    batches: std::sync::mpsc::Receiver<Vec<Replayed>>,
    out: &mut impl Write,
) -> Option<std::io::Error> {
    let mut buf = Vec::with_capacity(JSONL_BATCH * 1024);
    let mut err = None;
    for batch in batches {
        if err.is_none() {
            buf.clear();
            let mut high = false;
            for r in &batch {
                high |= render::write_jsonl_line(r, &mut buf);
            }
            err = write_sanitized(out, &buf, high).err();
        }
    }
    err
}

impl<W: Write> SessionSink<'_, '_, W> {
    /// `cx`: the names the capture's DNS answers gave so far (for domainNames rules) and the
    /// capture's first flow time (for `--since`).
    fn handle(&mut self, s: palisade_flows::Session, cx: SessionContext<'_>) {
        let first_ns = cx.first_ns;
        let r = self.replayer.replay_resolved(s, cx.dns);
        let filter = &self.settings.filter;
        if !filter.is_empty() && !filter.matches(&r, first_ns) {
            return;
        }
        if !self.settings.hubble.is_empty()
            && !self.settings.hubble.matches(self.replayer.model(), &r)
        {
            return;
        }
        let collected = &mut *self.collected;
        collected.summary.add(&r);
        if let Some(w) = &mut collected.whatif {
            w.add(&r);
        }
        if let Some(sp) = &mut collected.spikes {
            sp.add(&r);
        }
        if let Some(w) = self.sessions_out.as_deref_mut() {
            if self.write_err.is_none()
                && let Err(e) = w.push(&r)
            {
                self.write_err = Some(std::io::Error::other(e));
            }
        } else if self.stream {
            if self.settings.output == Output::Jsonl {
                match &mut self.jsonl {
                    JsonlSink::Writer { batch, to } => {
                        batch.push(r);
                        if batch.len() == JSONL_BATCH {
                            let full = std::mem::replace(batch, Vec::with_capacity(JSONL_BATCH));
                            // The writer only stops early by panicking (resumed when joined).
                            let _ = to.send(full);
                        }
                    }
                    JsonlSink::Here(buf) => {
                        if self.write_err.is_none() {
                            buf.clear();
                            let high = render::write_jsonl_line(&r, buf);
                            self.write_err = write_sanitized(self.stdout, buf, high).err();
                        }
                    }
                }
            } else {
                let line =
                    render::timeline(std::slice::from_ref(&r), self.args.load.color.style(false));
                if self.write_err.is_none()
                    && let Err(e) = self.stdout.write_all(
                        palisade_render::escape::sanitize_output(&line, false).as_bytes(),
                    )
                {
                    self.write_err = Some(e);
                }
            }
            // Following: each decided session reaches the reader at once.
            if self.args.relay.follow && self.write_err.is_none() {
                self.write_err = self.stdout.flush().err();
            }
        } else if self.keep {
            collected.sessions.push(r);
        }
    }

    /// Hands the writer thread its last batch (and lets it end once the sink is dropped).
    fn finish(&mut self) {
        if let JsonlSink::Writer { batch, to } = &mut self.jsonl
            && !batch.is_empty()
        {
            let _ = to.send(std::mem::take(batch));
        }
    }
}

/// Reads the capture into sessions, replays each one as it completes and either streams it
/// (jsonl) or collects it; the summaries always see it. Returns the first error writing to
/// stdout, if any (reading goes on so that the summary stays complete).
///
/// With `threads` > 1 (and not following a live source), [`palisade_replay::stream_sessions`]
/// parses Hubble and JSONL lines on `threads` threads, or pipelines
/// reading and replaying for the other formats; the output is the same as on one thread
/// (tested), only sooner. `-o jsonl` is then also serialized and written on a thread of its
/// own, which receives the replayed sessions in batches, in order.
#[allow(clippy::too_many_arguments)]
fn stream_sessions(
    args: &ReplayArgs,
    settings: &Settings,
    reader: &mut Capture<'_>,
    replayer: &mut Replayer<'_>,
    progress: Option<&Progress>,
    collected: &mut Collected,
    stdout: &mut (impl Write + Send),
    sessions_out: Option<&mut SessionParquetWriter<Box<dyn Write + Send>>>,
    threads: usize,
) -> anyhow::Result<Option<std::io::Error>> {
    let follow = args.relay.follow;
    // Following: each decided session reaches the reader at once, so on this thread.
    let threads = if follow { 1 } else { threads };
    if threads <= 1 || settings.output != Output::Jsonl {
        let here = JsonlSink::Here(Vec::with_capacity(1024));
        return deliver(
            args,
            settings,
            reader,
            replayer,
            progress,
            collected,
            stdout,
            sessions_out,
            threads,
            here,
        );
    }
    std::thread::scope(|scope| {
        let (to, batches) = std::sync::mpsc::sync_channel(JSONL_QUEUE);
        let writer = scope.spawn(move || write_jsonl(batches, stdout));
        let batch = Vec::with_capacity(JSONL_BATCH);
        let delivered = deliver(
            args,
            settings,
            reader,
            replayer,
            progress,
            collected,
            &mut std::io::sink(),
            sessions_out,
            threads,
            JsonlSink::Writer { batch, to },
        );
        let write_err = match writer.join() {
            Ok(e) => e,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        delivered.map(|err| err.or(write_err))
    })
}

/// [`stream_sessions`] with the `-o jsonl` lines going to `jsonl`.
#[allow(clippy::too_many_arguments)]
fn deliver(
    args: &ReplayArgs,
    settings: &Settings,
    reader: &mut Capture<'_>,
    replayer: &mut Replayer<'_>,
    progress: Option<&Progress>,
    collected: &mut Collected,
    stdout: &mut (impl Write + Send),
    sessions_out: Option<&mut SessionParquetWriter<Box<dyn Write + Send>>>,
    threads: usize,
    jsonl: JsonlSink,
) -> anyhow::Result<Option<std::io::Error>> {
    let follow = args.relay.follow;
    let stream = settings.output == Output::Jsonl || (follow && settings.output == Output::Text);
    let keep = !stream
        && settings.output != Output::Parquet
        && (!args.summary || matches!(settings.output, Output::Json | Output::Yaml | Output::Csv));
    let mut sink = SessionSink {
        args,
        settings,
        replayer,
        collected,
        stdout,
        sessions_out,
        jsonl,
        stream,
        keep,
        write_err: None,
    };
    let config = SessionConfig {
        timeout: Duration::from_nanos(settings.timeout as u64),
        ..SessionConfig::default()
    };
    let mut seen: u64 = 0;
    let mut on_session = |s: palisade_flows::Session, cx: SessionContext<'_>| {
        seen += 1;
        if let Some(pb) = progress
            && seen.is_multiple_of(65_536)
        {
            pb.set_message(format!("{seen} sessions"));
        }
        sink.handle(s, cx);
    };
    let stats = match reader {
        Capture::Flows(r) => palisade_replay::stream_sessions(r, config, threads, &mut on_session)
            .map_err(anyhow::Error::from),
        Capture::Parquet(r) => {
            palisade_replay::stream_sessions(r, config, threads, &mut on_session)
                .map_err(anyhow::Error::from)
        }
    };
    // The sessions read before an error are written, as on one thread.
    sink.finish();
    let stats = stats?;
    let write_err = sink.write_err;
    if stats.ignored > 0 {
        emit_err(
            &format!(
                "palisade: note: {} event{} formed no connection attempt and were not replayed (ICMP other than unreachables, such as VPC flow log ICMP rows and pings; protocols other than TCP, UDP and SCTP)\n",
                stats.ignored,
                if stats.ignored == 1 { "" } else { "s" }
            ),
            args.load.color.style(true),
        );
    }
    Ok(write_err)
}

/// Renders the collected report and decides the exit code (`--fail-on-break`).
fn print_report(
    args: &ReplayArgs,
    out_format: Output,
    mut collected: Collected,
    stdout: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let spike_report = collected.spikes.as_ref().map(|s| s.report());
    let inputs = [std::mem::take(&mut collected.read)];
    let style: Style = args.load.color.style(false);
    let mut sessions = std::mem::take(&mut collected.sessions);
    if !sessions.in_memory() {
        // Too many sessions for one string: merged from their sorted runs on disk (only
        // reports that list sessions keep them).
        let report = Report {
            sessions: &[],
            summary: &collected.summary,
            inputs: &inputs,
            whatif: collected.whatif.as_ref(),
            spikes: spike_report.as_ref(),
            timeline: !args.summary,
        };
        sessions.write_report(&report, stdout)?;
        stdout.flush()?;
        return exit_code(args, &collected);
    }
    let report = Report {
        sessions: sessions.sorted(),
        summary: &collected.summary,
        inputs: &inputs,
        whatif: collected.whatif.as_ref(),
        spikes: spike_report.as_ref(),
        timeline: !args.summary,
    };
    let text = match out_format {
        Output::Text => render::text(&report, style),
        Output::Json => render::json(&report),
        Output::Yaml => {
            palisade_render::yaml::from_json(&render::json(&report)).map_err(anyhow::Error::msg)?
        }
        Output::Csv => render::csv(&report),
        Output::Md => render::md(&report),
        Output::Jsonl | Output::Parquet => String::new(),
    };
    let printed = match out_format {
        Output::Text => palisade_render::escape::sanitize_output(&text, style.color),
        _ => palisade_render::escape::sanitize_output(&text, false),
    };
    stdout.write_all(printed.as_bytes())?;
    stdout.flush()?;
    exit_code(args, &collected)
}

/// Exit 1 when a session would break under the proposal and `--fail-on-break` asks.
fn exit_code(args: &ReplayArgs, collected: &Collected) -> anyhow::Result<ExitCode> {
    let breaks = collected.whatif.as_ref().map_or(0, |w| w.breaks);
    if args.fail_on_break && breaks > 0 {
        emit_err(
            &format!(
                "palisade: {breaks} session{} would break under the proposed policies\n",
                if breaks == 1 { "" } else { "s" }
            ),
            Style::PLAIN,
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Replays a capture against a model (and a proposal), without filters: for the demo.
fn replay_file(
    path: &std::path::Path,
    model: &Model,
    proposed: Option<&Model>,
) -> anyhow::Result<(Vec<Replayed>, Summary, Option<WhatIf>)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut reader = FlowReader::new(path.display().to_string(), file, &ReadOptions::default())?;
    let mut replayer = Replayer::new(model, DenyAction::Drop);
    if let Some(p) = proposed {
        replayer = replayer.with_proposed(p);
    }
    let mut sessions = Vec::new();
    let mut summary = Summary::default();
    let mut whatif = proposed.map(|_| WhatIf::default());
    palisade_flows::sessionize(&mut reader, SessionConfig::default(), |s| {
        let r = replayer.replay(s);
        summary.add(&r);
        if let Some(w) = &mut whatif {
            w.add(&r);
        }
        sessions.push(r);
    })?;
    sessions.sort_by_key(Replayed::report_order);
    Ok((sessions, summary, whatif))
}

fn indent(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str("   ");
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// Demo steps 5 and 6: replay the example's traffic (`<dir>-traffic/`, next to the example),
/// then replay it against the fixed policies (`<dir>-fixed/`) and a breaking proposal.
pub(crate) fn demo_step(
    dir: &std::path::Path,
    shown: &str,
    style: Style,
    out: &mut String,
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let sibling = |suffix: &str| {
        dir.file_name().and_then(|name| {
            dir.parent()
                .map(|p| p.join(format!("{}{suffix}", name.to_string_lossy())))
                .filter(|p| p.is_dir())
        })
    };
    let Some(traffic) = sibling("-traffic") else {
        return Ok(());
    };
    let capture = traffic.join("capture.pcap");
    if !capture.is_file() {
        return Ok(());
    }
    let cluster = traffic.join("cluster");
    let dir_s = dir.to_string_lossy().into_owned();
    let cluster_s = cluster.to_string_lossy().into_owned();
    let load_model = |inputs: Vec<Input>, what: &str| -> anyhow::Result<Model> {
        let loaded = load(&inputs, &LoadOptions::default());
        if loaded.has_errors() {
            bail!("{what} failed to load");
        }
        Ok(loaded.model)
    };
    let current = load_model(
        vec![Input::Path(dir.into()), Input::Path(cluster.clone())],
        "the example app with its pods",
    )?;
    let cmd = format!(
        "palisade replay {shown}-traffic/capture.pcap --cluster {shown} {shown}-traffic/cluster"
    );
    let (sessions, summary, _) = replay_file(&capture, &current, None)?;
    let t = &summary.total;
    let _ = writeln!(
        out,
        "{} Replaying recorded traffic against the policies (a synthesized capture of the app, {shown}-traffic/):\n   $ {cmd}\n",
        style.blue("5."),
    );
    let _ = writeln!(
        out,
        "   {} sessions observed: {} accepted, {} refused, {} timed out, {} unknown; {} flagged where observation and policies disagree.\n   The ones not accepted, and the flagged ones:\n",
        t.sessions, t.observed[0], t.observed[1], t.observed[2], t.observed[3], t.mismatches
    );
    let shown_sessions: Vec<Replayed> = sessions
        .into_iter()
        .filter(|r| r.session.observed != Observed::Accepted || r.mismatch.is_some())
        .collect();
    indent(out, &render::timeline(&shown_sessions, style));
    let _ = writeln!(
        out,
        "\n   checkout → payments-api timed out in the capture, exactly as the policies predict: the typo, seen on the wire.\n"
    );
    let Some(fixed) = sibling("-fixed") else {
        return Ok(());
    };
    let _ = writeln!(
        out,
        "{} What-if: the same traffic against the fixed policies, before rolling them out:\n   $ {cmd} --proposed {shown}-fixed --overlay\n",
        style.blue("6."),
    );
    let mut inputs = super::diff::overlay_inputs(&dir_s, &fixed.to_string_lossy())?;
    inputs.push(Input::Path(cluster.clone()));
    let proposed = load_model(inputs, "the fixed example app")?;
    let (_, _, whatif) = replay_file(&capture, &current, Some(&proposed))?;
    if let Some(w) = &whatif {
        indent(out, &render::whatif(w, style));
    }
    let breaking = traffic.join("proposal");
    if breaking.is_dir() {
        let _ = writeln!(
            out,
            "\n   And against a proposal that tightens catalog to the frontend only ({shown}-traffic/proposal/):\n   $ {cmd} --proposed {shown}-traffic/proposal --overlay --fail-on-break\n"
        );
        let mut inputs = super::diff::overlay_inputs(&dir_s, &breaking.to_string_lossy())?;
        inputs.push(Input::Path(cluster_s.clone().into()));
        let proposed = load_model(inputs, "the breaking proposal")?;
        let (_, _, whatif) = replay_file(&capture, &current, Some(&proposed))?;
        if let Some(w) = &whatif {
            indent(out, &render::whatif(w, style));
        }
        let _ = writeln!(
            out,
            "\n   With --fail-on-break that exits 1: a CI check for policy pull requests."
        );
    }
    out.push('\n');
    Ok(())
}
