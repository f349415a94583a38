//! Following Hubble Relay (Cilium's observer gRPC API, `Observer.GetFlows`).
//!
//! The client is generated from `proto/` (tonic + prost). Each response is written as the
//! JSON line `hubble observe -o json` prints for it, and [`RelayFeed`] serves those lines
//! through [`std::io::Read`], so `palisade_flows::FlowReader` reads Relay exactly as it reads
//! a file: same parser, same sessions, lost events become gaps. The gRPC side runs on its
//! own thread; a bounded queue sits between the two.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::error::{Error, error_chain, tls_hint};
use crate::proto::flow::{self, Flow, FlowFilter, LostEvent, layer4};
use crate::proto::observer::{
    GetFlowsRequest, GetFlowsResponse, get_flows_response::ResponseTypes,
    observer_client::ObserverClient,
};

/// Where Relay is and how to talk to it (hubble CLI's flags).
#[derive(Clone, Debug, Default)]
pub struct RelayOptions {
    /// `HOST:PORT` (hubble's `--server`; `HUBBLE_SERVER`).
    pub address: String,
    /// `--tls`: connect with TLS.
    pub tls: bool,
    /// `--tls-ca-cert-files`: CA certificates (PEM) to verify Relay with, instead of the
    /// system roots.
    pub tls_ca_cert_files: Vec<PathBuf>,
    /// `--tls-client-cert-file`: client certificate (PEM) for mutual TLS.
    pub tls_client_cert_file: Option<PathBuf>,
    /// `--tls-client-key-file`: its key (PEM).
    pub tls_client_key_file: Option<PathBuf>,
    /// `--tls-server-name`: the name to verify in Relay's certificate.
    pub tls_server_name: Option<String>,
}

/// What to ask Relay for.
#[derive(Clone, Debug, Default)]
pub struct FlowQuery {
    /// Flows at or after this time (ns since the epoch).
    pub since_ns: Option<i64>,
    /// Flows before this time (ns since the epoch).
    pub until_ns: Option<i64>,
    /// Keep streaming new flows (and reconnect when the stream ends).
    pub follow: bool,
    /// Server-side filters (OR-ed; see [`ServerFilter::to_flow_filters`]).
    pub filters: Vec<FlowFilter>,
}

/// What happens when flows arrive faster than they are consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backpressure {
    /// Wait for the consumer (nothing is lost; Relay's own buffers absorb the delay). For
    /// replays of a bounded time range.
    Wait,
    /// Never make Relay wait: drop what does not fit in the queue, count it, and report a
    /// gap. For follow mode and watch.
    Drop,
}

/// Counters shared between the gRPC thread and the consumer (watch exports them).
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Flows received from Relay.
    pub flows: AtomicU64,
    /// Events Relay reported lost (`lost_events`).
    pub lost_events: AtomicU64,
    /// Flows Palisade dropped because its queue was full.
    pub dropped: AtomicU64,
    /// Times the stream was (re)connected after a failure or an end.
    pub reconnects: AtomicU64,
}

/// Something the user should hear about while following (the binary logs these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The stream failed or ended; retrying after `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next attempt is.
        retry_in: Duration,
    },
    /// The stream is (again) delivering.
    Connected,
    /// Flows were dropped because the consumer did not keep up.
    Overloaded {
        /// How many so far in this burst.
        dropped: u64,
    },
}

/// Replay filters expressed as Hubble's server-side flow filters.
///
/// A session needs both directions of its flows (the SYN and the SYN-ACK), so every
/// constraint is sent for the request direction and, mirrored, for the reply direction; the
/// client still applies its own filter to the sessions. Peers are `ip`, `cidr`, `ns/` or
/// `ns/name-prefix` as `hubble observe --from-pod` takes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFilter {
    /// Source peers (IP, CIDR: `source_ip`; `ns/name`: `source_pod`).
    pub from: Vec<String>,
    /// Destination peers.
    pub to: Vec<String>,
    /// Either end in one of these namespaces.
    pub namespaces: Vec<String>,
    /// Destination ports.
    pub ports: Vec<u16>,
    /// Protocols, lowercase (`tcp`, `udp`, `sctp`).
    pub protocols: Vec<String>,
}

impl ServerFilter {
    /// The `whitelist` filters for `GetFlowsRequest` (empty: everything).
    ///
    /// Namespaces are sent only when neither `from` nor `to` is set: a flow filter ANDs its
    /// fields and ORs the values of one field, so `source_pod: [a/, ns/]` would widen rather
    /// than narrow. Protocols bring ICMP along, since ICMP errors decide UDP outcomes.
    pub fn to_flow_filters(&self) -> Vec<FlowFilter> {
        if self == &ServerFilter::default() {
            return Vec::new();
        }
        let split = |peers: &[String]| -> (Vec<String>, Vec<String>) {
            let (mut ips, mut pods) = (Vec::new(), Vec::new());
            for p in peers {
                if p.contains('/') && p.parse::<std::net::IpAddr>().is_err() && !is_cidr(p) {
                    pods.push(p.clone());
                } else {
                    ips.push(p.clone());
                }
            }
            (ips, pods)
        };
        let (from_ip, from_pod) = split(&self.from);
        let (to_ip, to_pod) = split(&self.to);
        let mut protocols = self.protocols.clone();
        if !protocols.is_empty() {
            protocols.extend(["icmpv4".to_string(), "icmpv6".to_string()]);
        }
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        let mut filters = Vec::new();
        for reply in [false, true] {
            // ICMP errors carry no ports: a port filter would hide them, so the port is sent
            // only when no protocol brings ICMP along and the filter is on TCP-like traffic.
            let mut f = FlowFilter {
                protocol: protocols.clone(),
                ..Default::default()
            };
            let (src_ip, src_pod, dst_ip, dst_pod) = if reply {
                (&to_ip, &to_pod, &from_ip, &from_pod)
            } else {
                (&from_ip, &from_pod, &to_ip, &to_pod)
            };
            f.source_ip = src_ip.clone();
            f.source_pod = src_pod.clone();
            f.destination_ip = dst_ip.clone();
            f.destination_pod = dst_pod.clone();
            if reply {
                f.source_port = ports.clone();
            } else {
                f.destination_port = ports.clone();
            }
            if self.from.is_empty() && self.to.is_empty() && !self.namespaces.is_empty() {
                let pods: Vec<String> = self
                    .namespaces
                    .iter()
                    .map(|n| format!("{}/", n.trim_end_matches('/')))
                    .collect();
                let mut a = f.clone();
                a.source_pod = pods.clone();
                let mut b = f;
                b.destination_pod = pods;
                filters.push(a);
                filters.push(b);
            } else {
                filters.push(f);
            }
        }
        filters
    }
}

fn is_cidr(s: &str) -> bool {
    s.split_once('/').is_some_and(|(ip, len)| {
        ip.parse::<std::net::IpAddr>().is_ok() && len.parse::<u8>().is_ok()
    })
}

fn timestamp(ns: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ns.div_euclid(1_000_000_000),
        nanos: ns.rem_euclid(1_000_000_000) as i32,
    }
}

fn ns_of(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(t.nanos))
}

/// Connects to Relay with the TLS options.
pub async fn channel(opts: &RelayOptions) -> Result<Channel, Error> {
    let config_err = |detail: String| Error::RelayConfig {
        address: opts.address.clone(),
        detail,
    };
    let tls = opts.tls
        || !opts.tls_ca_cert_files.is_empty()
        || opts.tls_client_cert_file.is_some()
        || opts.tls_server_name.is_some();
    let scheme = if tls { "https" } else { "http" };
    let address = opts
        .address
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{address}"))
        .map_err(|e| config_err(format!("not a HOST:PORT address ({e})")))?
        .connect_timeout(Duration::from_secs(10));
    if tls {
        let mut config = ClientTlsConfig::new();
        if opts.tls_ca_cert_files.is_empty() {
            config = config.with_native_roots();
        }
        for file in &opts.tls_ca_cert_files {
            let pem = std::fs::read(file).map_err(|source| Error::Io {
                what: format!("--tls-ca-cert-files `{}`", file.display()),
                source,
            })?;
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        match (&opts.tls_client_cert_file, &opts.tls_client_key_file) {
            (Some(cert), Some(key)) => {
                let read = |p: &PathBuf, flag: &str| {
                    std::fs::read(p).map_err(|source| Error::Io {
                        what: format!("{flag} `{}`", p.display()),
                        source,
                    })
                };
                config = config.identity(Identity::from_pem(
                    read(cert, "--tls-client-cert-file")?,
                    read(key, "--tls-client-key-file")?,
                ));
            }
            (None, None) => {}
            _ => {
                return Err(config_err(
                    "--tls-client-cert-file and --tls-client-key-file go together".into(),
                ));
            }
        }
        if let Some(name) = &opts.tls_server_name {
            config = config.domain_name(name.clone());
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| config_err(format!("TLS configuration: {e}")))?;
    }
    endpoint.connect().await.map_err(|e| {
        let chain = error_chain(&e);
        let hint = tls_hint(
            &chain,
            "--tls-ca-cert-files (without it, the system's roots)",
            "--tls-server-name (without it, the HOST of the address)",
        );
        Error::Relay {
            address: opts.address.clone(),
            detail: match hint {
                Some(h) => format!("cannot connect: {chain} ({h})"),
                None => format!("cannot connect: {chain}"),
            },
        }
    })
}

/// Chunks of JSON lines, or the end of the stream (with the error that ended it).
enum Chunk {
    Lines(Vec<u8>),
    Notice(Notice),
    End(Option<String>),
}

/// A [`Read`] over Relay's flows as Hubble JSON lines; see the module docs.
pub struct RelayFeed {
    rx: mpsc::Receiver<Chunk>,
    buf: Vec<u8>,
    pos: usize,
    stats: Arc<RelayStats>,
    on_notice: Box<dyn FnMut(&Notice) + Send>,
    ended: bool,
    _thread: std::thread::JoinHandle<()>,
}

impl RelayFeed {
    /// Starts following: connects on a background thread and streams. Connection problems
    /// surface as a read error (or, when following, as [`Notice`]s and retries).
    pub fn start(
        opts: RelayOptions,
        query: FlowQuery,
        backpressure: Backpressure,
        on_notice: Box<dyn FnMut(&Notice) + Send>,
    ) -> Result<RelayFeed, Error> {
        let stats = Arc::new(RelayStats::default());
        let (tx, rx) = mpsc::channel(QUEUE_CHUNKS);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                what: "starting the gRPC runtime".into(),
                source,
            })?;
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("hubble-relay".into())
            .spawn(move || {
                runtime.block_on(stream_loop(opts, query, backpressure, tx, thread_stats));
            })
            .map_err(|source| Error::Io {
                what: "starting the gRPC thread".into(),
                source,
            })?;
        Ok(RelayFeed {
            rx,
            buf: Vec::new(),
            pos: 0,
            stats,
            on_notice,
            ended: false,
            _thread: thread,
        })
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<RelayStats> {
        self.stats.clone()
    }
}

impl Read for RelayFeed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.buf.len() {
                let n = out.len().min(self.buf.len() - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Chunk::Lines(lines)) => {
                    self.buf = lines;
                    self.pos = 0;
                }
                Some(Chunk::Notice(n)) => (self.on_notice)(&n),
                Some(Chunk::End(None)) | None => {
                    self.ended = true;
                    return Ok(0);
                }
                Some(Chunk::End(Some(err))) => {
                    self.ended = true;
                    return Err(io::Error::other(err));
                }
            }
        }
    }
}

/// Queue length in chunks; a chunk holds up to [`CHUNK_BYTES`] of lines (about 200 flows),
/// so the queue bounds memory at a few MiB whatever the flow rate.
const QUEUE_CHUNKS: usize = 64;
const CHUNK_BYTES: usize = 64 * 1024;

/// How long a partial chunk waits for more flows before it is handed over.
const FLUSH_AFTER: Duration = Duration::from_millis(20);

/// How many times a bounded (non-follow) read reconnects before giving up.
const MAX_RETRIES_BOUNDED: u32 = 5;

struct Sender {
    tx: mpsc::Sender<Chunk>,
    backpressure: Backpressure,
    pending: Vec<u8>,
    pending_flows: u64,
    dropped_burst: u64,
    stats: Arc<RelayStats>,
}

impl Sender {
    /// Sends the pending chunk; false when the consumer is gone.
    async fn flush(&mut self) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let chunk = std::mem::take(&mut self.pending);
        match self.backpressure {
            Backpressure::Wait => self.tx.send(Chunk::Lines(chunk)).await.is_ok(),
            Backpressure::Drop => match self.tx.try_send(Chunk::Lines(chunk)) {
                Ok(()) => {
                    self.pending_flows = 0;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let n = std::mem::take(&mut self.pending_flows);
                    self.stats.dropped.fetch_add(n, Ordering::Relaxed);
                    if self.dropped_burst == 0 {
                        let _ = self
                            .tx
                            .try_send(Chunk::Notice(Notice::Overloaded { dropped: n }));
                    }
                    self.dropped_burst += n;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            },
        }
    }

    /// Appends one line; flushes when the chunk is full.
    async fn line(&mut self, line: &[u8], is_flow: bool) -> bool {
        if self.dropped_burst > 0 && self.backpressure == Backpressure::Drop {
            // Tell the reader about the flows it never saw, as a gap, before anything else.
            let gap = format!(
                "{{\"lost_events\":{{\"source\":\"PALISADE_QUEUE_FULL\",\"num_events_lost\":{}}}}}\n",
                self.dropped_burst
            );
            if self.tx.try_send(Chunk::Lines(gap.into_bytes())).is_ok() {
                self.dropped_burst = 0;
            }
        }
        self.pending.extend_from_slice(line);
        if is_flow {
            self.pending_flows += 1;
        }
        if self.pending.len() >= CHUNK_BYTES {
            return self.flush().await;
        }
        true
    }

    async fn notice(&mut self, n: Notice) -> bool {
        if !self.flush().await {
            return false;
        }
        self.tx.send(Chunk::Notice(n)).await.is_ok()
    }
}

async fn stream_loop(
    opts: RelayOptions,
    mut query: FlowQuery,
    backpressure: Backpressure,
    tx: mpsc::Sender<Chunk>,
    stats: Arc<RelayStats>,
) {
    let mut out = Sender {
        tx: tx.clone(),
        backpressure,
        pending: Vec::with_capacity(CHUNK_BYTES + 4096),
        pending_flows: 0,
        dropped_burst: 0,
        stats: stats.clone(),
    };
    let mut last = Resume::default();
    let mut failures = 0u32;
    let mut line = Vec::with_capacity(1024);
    loop {
        let result = stream_once(&opts, &query, &mut out, &mut last, &mut line, &stats).await;
        if !out.flush().await {
            return;
        }
        let reason = match result {
            Ok(Outcome::Ended) if !query.follow => {
                let _ = tx.send(Chunk::End(None)).await;
                return;
            }
            Ok(Outcome::ConsumerGone) => return,
            Ok(Outcome::Ended) => "the stream ended".to_string(),
            Err(e) => e,
        };
        failures += 1;
        if !query.follow && failures > MAX_RETRIES_BOUNDED {
            let _ = tx
                .send(Chunk::End(Some(format!(
                    "Hubble Relay `{}`: {reason} (gave up after {MAX_RETRIES_BOUNDED} retries)",
                    opts.address
                ))))
                .await;
            return;
        }
        let retry_in = Duration::from_millis((100u64 << failures.min(6)).min(5_000));
        if !out.notice(Notice::Disconnected { reason, retry_in }).await {
            return;
        }
        stats.reconnects.fetch_add(1, Ordering::Relaxed);
        // Resume where the stream broke, skipping the flows already delivered (those before
        // the last time, and as many at it as were seen). The break is marked as a gap of
        // unknown size.
        if let Some(t) = last.time_ns {
            query.since_ns = Some(t);
            let gap = format!(
                "{{\"lost_events\":{{\"source\":\"RELAY_RECONNECT\",\"num_events_lost\":0}},\"time\":\"{}\"}}\n",
                palisade_flows::format_rfc3339(t)
            );
            if !out.line(gap.as_bytes(), false).await {
                return;
            }
        }
        tokio::time::sleep(retry_in).await;
    }
}

enum Outcome {
    Ended,
    ConsumerGone,
}

/// Where a broken stream resumes: the last flow time delivered, and how many flows with
/// exactly that time were delivered (flows can share a timestamp).
#[derive(Clone, Debug, Default)]
struct Resume {
    time_ns: Option<i64>,
    seen_at_time: usize,
}

async fn stream_once(
    opts: &RelayOptions,
    query: &FlowQuery,
    out: &mut Sender,
    last: &mut Resume,
    line: &mut Vec<u8>,
    stats: &RelayStats,
) -> Result<Outcome, String> {
    let channel = channel(opts).await.map_err(|e| e.to_string())?;
    let mut client = ObserverClient::new(channel).max_decoding_message_size(16 * 1024 * 1024);
    let request = GetFlowsRequest {
        follow: query.follow,
        since: query.since_ns.map(timestamp),
        until: query.until_ns.map(timestamp),
        whitelist: query.filters.clone(),
        // Without since/until/follow Relay returns only the last `number` flows.
        number: if query.since_ns.is_none() && query.until_ns.is_none() && !query.follow {
            u64::MAX >> 1
        } else {
            0
        },
        ..Default::default()
    };
    let mut stream = client
        .get_flows(request)
        .await
        .map_err(|s| format!("GetFlows: {}", s.message()))?
        .into_inner();
    if !out.notice(Notice::Connected).await {
        return Ok(Outcome::ConsumerGone);
    }
    let resume = last.clone();
    let mut skipped_at_last = 0usize;
    loop {
        // Hand over a partial chunk as soon as Relay pauses, so a quiet stream is not held back.
        let next = if out.pending.is_empty() {
            stream.message().await
        } else {
            match tokio::time::timeout(FLUSH_AFTER, stream.message()).await {
                Ok(next) => next,
                Err(_) => {
                    if !out.flush().await {
                        return Ok(Outcome::ConsumerGone);
                    }
                    continue;
                }
            }
        };
        let response = match next {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(Outcome::Ended),
            Err(s) => return Err(format!("stream broken: {} ({:?})", s.message(), s.code())),
        };
        line.clear();
        let is_flow = match &response.response_types {
            Some(ResponseTypes::Flow(f)) => {
                let t = f.time.as_ref().map(ns_of);
                if let (Some(t), Some(after)) = (t, resume.time_ns) {
                    if t < after {
                        continue;
                    }
                    if t == after && skipped_at_last < resume.seen_at_time {
                        skipped_at_last += 1;
                        continue;
                    }
                }
                if let Some(t) = t {
                    if last.time_ns == Some(t) {
                        last.seen_at_time += 1;
                    } else {
                        *last = Resume {
                            time_ns: Some(t),
                            seen_at_time: 1,
                        };
                    }
                }
                stats.flows.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(ResponseTypes::LostEvents(l)) => {
                stats
                    .lost_events
                    .fetch_add(l.num_events_lost, Ordering::Relaxed);
                false
            }
            None => continue,
        };
        write_response_json(&response, line);
        if !out.line(line, is_flow).await {
            return Ok(Outcome::ConsumerGone);
        }
    }
}

/// Writes one response as the line `hubble observe -o json` prints (protojson with the
/// proto field names), followed by a newline. Responses without a flow or lost-events part
/// write nothing.
pub fn write_response_json(r: &GetFlowsResponse, out: &mut Vec<u8>) {
    // Relay stamps the response with the flow's time: format it once for both.
    let mut flow_time: Option<(prost_types::Timestamp, String)> = None;
    match &r.response_types {
        Some(ResponseTypes::Flow(f)) => {
            out.extend_from_slice(b"{\"flow\":");
            flow_time = f
                .time
                .map(|t| (t, palisade_flows::format_rfc3339(ns_of(&t))));
            write_flow(f, flow_time.as_ref().map(|(_, text)| text.as_str()), out);
        }
        Some(ResponseTypes::LostEvents(l)) => {
            out.extend_from_slice(b"{\"lost_events\":");
            write_lost(l, out);
        }
        None => return,
    }
    if !r.node_name.is_empty() {
        out.extend_from_slice(b",\"node_name\":");
        string(&r.node_name, out);
    }
    if let Some(t) = &r.time {
        out.extend_from_slice(b",\"time\":");
        match &flow_time {
            Some((ft, text)) if ft == t => string(text, out),
            _ => string(&palisade_flows::format_rfc3339(ns_of(t)), out),
        }
    }
    out.extend_from_slice(b"}\n");
}

fn string(s: &str, out: &mut Vec<u8>) {
    // Names, labels and addresses rarely need escaping: copy those as they are (a measured
    // tenth of the client's time went to escaping). Anything else goes through serde_json,
    // which escapes exactly as JSON requires; writing to a Vec cannot fail.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

fn key(first: &mut bool, k: &str, out: &mut Vec<u8>) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn write_lost(l: &LostEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"source\":");
    let source = flow::LostEventSource::try_from(l.source)
        .map(|s| s.as_str_name().to_string())
        .unwrap_or_else(|_| l.source.to_string());
    string(&source, out);
    out.extend_from_slice(format!(",\"num_events_lost\":{}", l.num_events_lost).as_bytes());
    if let Some(cpu) = l.cpu {
        out.extend_from_slice(format!(",\"cpu\":{{\"value\":{cpu}}}").as_bytes());
    }
    out.push(b'}');
}

/// `time_text`: `f.time` already formatted (RFC 3339), when it is set.
fn write_flow(f: &Flow, time_text: Option<&str>, out: &mut Vec<u8>) {
    use std::io::Write;
    out.push(b'{');
    let mut first = true;
    if let Some(text) = time_text {
        key(&mut first, "time", out);
        string(text, out);
    }
    if let Ok(v) = flow::Verdict::try_from(f.verdict)
        && f.verdict != 0
    {
        key(&mut first, "verdict", out);
        string(v.as_str_name(), out);
    }
    if f.drop_reason != 0 {
        key(&mut first, "drop_reason", out);
        let _ = write!(out, "{}", f.drop_reason);
    }
    if f.drop_reason_desc != 0 {
        key(&mut first, "drop_reason_desc", out);
        match flow::DropReason::try_from(f.drop_reason_desc) {
            Ok(d) => string(d.as_str_name(), out),
            Err(_) => string(&format!("DROP_REASON_{}", f.drop_reason_desc), out),
        }
    }
    if let Some(ip) = &f.ip {
        key(&mut first, "IP", out);
        out.extend_from_slice(b"{\"source\":");
        string(&ip.source, out);
        out.extend_from_slice(b",\"destination\":");
        string(&ip.destination, out);
        out.push(b'}');
    }
    if let Some(l4) = f.l4.as_ref().and_then(|l| l.protocol.as_ref()) {
        key(&mut first, "l4", out);
        match l4 {
            layer4::Protocol::Tcp(t) => {
                let _ = write!(
                    out,
                    "{{\"TCP\":{{\"source_port\":{},\"destination_port\":{}",
                    t.source_port, t.destination_port
                );
                if let Some(fl) = &t.flags {
                    out.extend_from_slice(b",\"flags\":{");
                    let mut ff = true;
                    for (set, name) in [
                        (fl.fin, "FIN"),
                        (fl.syn, "SYN"),
                        (fl.rst, "RST"),
                        (fl.psh, "PSH"),
                        (fl.ack, "ACK"),
                        (fl.urg, "URG"),
                        (fl.ece, "ECE"),
                        (fl.cwr, "CWR"),
                        (fl.ns, "NS"),
                    ] {
                        if set {
                            key(&mut ff, name, out);
                            out.extend_from_slice(b"true");
                        }
                    }
                    out.push(b'}');
                }
                out.extend_from_slice(b"}}");
            }
            layer4::Protocol::Udp(u) => {
                let _ = write!(
                    out,
                    "{{\"UDP\":{{\"source_port\":{},\"destination_port\":{}}}}}",
                    u.source_port, u.destination_port
                );
            }
            layer4::Protocol::Sctp(s) => {
                let _ = write!(
                    out,
                    "{{\"SCTP\":{{\"source_port\":{},\"destination_port\":{}}}}}",
                    s.source_port, s.destination_port
                );
            }
            layer4::Protocol::IcmPv4(i) => {
                let _ = write!(
                    out,
                    "{{\"ICMPv4\":{{\"type\":{},\"code\":{}}}}}",
                    i.r#type, i.code
                );
            }
            layer4::Protocol::IcmPv6(i) => {
                let _ = write!(
                    out,
                    "{{\"ICMPv6\":{{\"type\":{},\"code\":{}}}}}",
                    i.r#type, i.code
                );
            }
        }
    }
    for (name, ep) in [("source", &f.source), ("destination", &f.destination)] {
        if let Some(ep) = ep {
            key(&mut first, name, out);
            let _ = write!(out, "{{\"identity\":{}", ep.identity);
            if !ep.namespace.is_empty() {
                out.extend_from_slice(b",\"namespace\":");
                string(&ep.namespace, out);
            }
            if !ep.pod_name.is_empty() {
                out.extend_from_slice(b",\"pod_name\":");
                string(&ep.pod_name, out);
            }
            if !ep.labels.is_empty() {
                out.extend_from_slice(b",\"labels\":[");
                for (i, l) in ep.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    string(l, out);
                }
                out.push(b']');
            }
            out.push(b'}');
        }
    }
    if !f.node_name.is_empty() {
        key(&mut first, "node_name", out);
        string(&f.node_name, out);
    }
    if let Ok(d) = flow::TrafficDirection::try_from(f.traffic_direction)
        && f.traffic_direction != 0
    {
        key(&mut first, "traffic_direction", out);
        string(d.as_str_name(), out);
    }
    if let Some(r) = f.is_reply {
        key(&mut first, "is_reply", out);
        out.extend_from_slice(if r { b"true" } else { b"false" });
    }
    for (name, list) in [
        ("ingress_denied_by", &f.ingress_denied_by),
        ("egress_denied_by", &f.egress_denied_by),
    ] {
        if list.is_empty() {
            continue;
        }
        key(&mut first, name, out);
        out.push(b'[');
        for (i, p) in list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"kind\":");
            string(&p.kind, out);
            out.extend_from_slice(b",\"namespace\":");
            string(&p.namespace, out);
            out.extend_from_slice(b",\"name\":");
            string(&p.name, out);
            out.push(b'}');
        }
        out.push(b']');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copy-as-is fast path and serde_json's escaping give the same JSON: every string
    /// reads back as written.
    #[test]
    fn strings_read_back_as_written() {
        for text in [
            "frontend-7d9c6b5f4-x2mzq",
            "k8s:app.kubernetes.io/name=shop",
            "quote\" backslash\\ newline\n tab\t bell\u{7} nul\u{0}",
            "ünïcödé → ✓",
            "",
        ] {
            let mut out = Vec::new();
            string(text, &mut out);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, text);
        }
        let r = GetFlowsResponse {
            response_types: Some(ResponseTypes::Flow(Flow {
                time: Some(timestamp(1_790_000_000_123_456_789)),
                node_name: "kind/\"worker\"".into(),
                ..Default::default()
            })),
            node_name: "kind/\"worker\"".into(),
            time: Some(timestamp(1_790_000_000_123_456_789)),
        };
        let mut out = Vec::new();
        write_response_json(&r, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["flow"]["time"], v["time"]);
        assert_eq!(v["flow"]["node_name"], "kind/\"worker\"");
    }

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// The wire numbers that matter for denials, as upstream Cilium's
    /// `api/v1/flow/flow.proto` has them: `Flow.egress_denied_by = 21004`,
    /// `Flow.ingress_denied_by = 21005` (repeated `Policy`) and `Policy.kind = 5` (string);
    /// a renumbering in `proto/` would make every real Relay's denials vanish silently.
    #[test]
    fn denied_by_fields_have_upstreams_numbers() {
        use prost::Message;
        let policy = |kind: &str| flow::Policy {
            kind: kind.into(),
            ..Default::default()
        };
        let egress = Flow {
            egress_denied_by: vec![policy("K")],
            ..Default::default()
        };
        let mut want = Vec::new();
        varint((21004 << 3) | 2, &mut want);
        want.extend([3, (5 << 3) | 2, 1, b'K']);
        assert_eq!(egress.encode_to_vec(), want);
        let ingress = Flow {
            ingress_denied_by: vec![policy("C")],
            ..Default::default()
        };
        let mut want = Vec::new();
        varint((21005 << 3) | 2, &mut want);
        want.extend([3, (5 << 3) | 2, 1, b'C']);
        assert_eq!(ingress.encode_to_vec(), want);
        // And the other Policy fields: name 1, namespace 2, labels 3, revision 4 (varint).
        let full = flow::Policy {
            name: "n".into(),
            namespace: "s".into(),
            labels: vec!["l".into()],
            revision: 7,
            kind: String::new(),
        };
        assert_eq!(
            full.encode_to_vec(),
            [0x0a, 1, b'n', 0x12, 1, b's', 0x1a, 1, b'l', 0x20, 7]
        );
    }

    #[test]
    fn filters_cover_both_directions() {
        let f = ServerFilter {
            from: vec!["shop/frontend".into()],
            to: vec!["10.0.0.0/16".into()],
            ports: vec![8080],
            protocols: vec!["tcp".into()],
            ..Default::default()
        };
        let filters = f.to_flow_filters();
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0].source_pod, ["shop/frontend"]);
        assert_eq!(filters[0].destination_ip, ["10.0.0.0/16"]);
        assert_eq!(filters[0].destination_port, ["8080"]);
        assert!(filters[0].source_port.is_empty());
        assert_eq!(filters[1].destination_pod, ["shop/frontend"]);
        assert_eq!(filters[1].source_ip, ["10.0.0.0/16"]);
        assert_eq!(filters[1].source_port, ["8080"]);
        assert_eq!(filters[0].protocol, ["tcp", "icmpv4", "icmpv6"]);
    }

    #[test]
    fn namespaces_are_sent_for_either_end_only_without_peers() {
        let f = ServerFilter {
            namespaces: vec!["shop".into()],
            ..Default::default()
        };
        let filters = f.to_flow_filters();
        assert_eq!(filters.len(), 4);
        assert!(filters.iter().any(|f| f.source_pod == ["shop/"]));
        assert!(filters.iter().any(|f| f.destination_pod == ["shop/"]));
        let with_peer = ServerFilter {
            namespaces: vec!["shop".into()],
            from: vec!["10.0.0.1".into()],
            ..Default::default()
        };
        assert!(
            with_peer
                .to_flow_filters()
                .iter()
                .all(|f| f.source_pod.is_empty() && f.destination_pod.is_empty())
        );
        assert!(ServerFilter::default().to_flow_filters().is_empty());
    }
}
