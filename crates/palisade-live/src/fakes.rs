//! Loopback fakes that speak the real protocols, for tests: a Kubernetes API server (HTTP,
//! JSON list responses with `limit`/`continue` pagination, 403 `Status` bodies, 404 for an
//! absent CRD) and a Hubble Relay (a tonic `Observer` server generated from the same proto
//! as the client).
//!
//! Neither is a real component: no kube-apiserver or Relay can run where the tests run.
//! The API server serves files in the shape `kubectl get --raw` returns; the Relay streams
//! responses built from a capture.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio_stream::Stream;

use crate::proto::flow::{self, Flow, LostEvent, layer4};
use crate::proto::observer::observer_server::{Observer, ObserverServer};
use crate::proto::observer::{
    GetFlowsRequest, GetFlowsResponse, get_flows_response::ResponseTypes,
};
use palisade_flows::{EventKind, FlowEvent, FlowReader, L4, ReadOptions, Record};

/// A runtime on its own thread, kept alive as long as the fake is.
struct Background {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime for the fake")
}

/// A server certificate for a fake that speaks TLS (PEM), and optionally the CA whose
/// client certificates it requires (mutual TLS).
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The server's certificate chain (PEM).
    pub cert_pem: String,
    /// Its private key (PEM).
    pub key_pem: String,
    /// When set, clients must present a certificate signed by this CA (PEM).
    pub client_ca_pem: Option<String>,
}

/// TLS on a loopback listener for axum (the API server fake): a failed handshake is the
/// client's problem and never stops the server.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(5), handshake).await
            {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

fn rustls_server_config(tls: &ServerTls) -> Result<tokio_rustls::rustls::ServerConfig, String> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("server certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| format!("server key: {e}"))?;
    // The process's crypto provider, as tonic's own server TLS picks it (ring: the only one
    // this workspace compiles in).
    let builder = rustls::ServerConfig::builder();
    let builder = match &tls.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots
                    .add(cert.map_err(|e| format!("client CA: {e}"))?)
                    .map_err(|e| format!("client CA: {e}"))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder(roots.into())
                .build()
                .map_err(|e| e.to_string())?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

// ---------------------------------------------------------------------------------------
// Kubernetes API server

/// How the fake API server behaves.
#[derive(Clone, Debug, Default)]
pub struct ApiServerConfig {
    /// Directory of list responses: `api/v1/pods.json`, `apis/apps/v1/deployments.json` …
    /// (the all-namespaces list; namespaced requests get the items of that namespace).
    pub root: PathBuf,
    /// Resources (plural names) answered with 403 Forbidden.
    pub forbidden: BTreeSet<String>,
    /// Resources (plural names) answered with 404 NotFound even when a file exists: a
    /// cluster without that CRD.
    pub absent: BTreeSet<String>,
    /// At most this many items per page, whatever `limit` asks (servers may return fewer);
    /// a list without `limit` is never split, as on a real API server.
    pub max_page: usize,
    /// Answer the first request carrying a `continue` token with 410 Gone (`Expired`), as
    /// an API server does once etcd compacted the revision the token points into.
    pub expire_first_continue: bool,
}

#[derive(Clone)]
struct ApiState {
    config: Arc<ApiServerConfig>,
    requests: Arc<Mutex<Vec<String>>>,
    expired_one: Arc<std::sync::atomic::AtomicBool>,
}

/// A running fake API server.
pub struct FakeApiServer {
    /// Where it listens (`http://` or, with TLS, `https://` + this is the kubeconfig's
    /// `server`).
    pub addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<String>>>,
    _bg: Background,
}

impl FakeApiServer {
    /// Starts serving plain HTTP on a free loopback port.
    pub fn start(config: ApiServerConfig) -> FakeApiServer {
        Self::start_with(config, None)
    }

    /// Starts serving HTTPS with this certificate (and client-certificate check, if set).
    ///
    /// # Panics
    /// When the certificate or key cannot be used (a broken test fixture).
    pub fn start_tls(config: ApiServerConfig, tls: ServerTls) -> FakeApiServer {
        Self::start_with(config, Some(tls))
    }

    fn start_with(config: ApiServerConfig, tls: Option<ServerTls>) -> FakeApiServer {
        let rt = runtime();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = ApiState {
            config: Arc::new(config),
            requests: requests.clone(),
            expired_one: Arc::default(),
        };
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let app = axum::Router::new().fallback(api).with_state(state);
        let with_tls = tls.is_some();
        match tls {
            None => {
                rt.spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
            }
            Some(tls) => {
                let config = rustls_server_config(&tls).expect("a usable test certificate");
                let listener = TlsListener {
                    tcp: listener,
                    acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
                };
                rt.spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
            }
        }
        FakeApiServer {
            addr,
            tls: with_tls,
            requests,
            _bg: Background { runtime: Some(rt) },
        }
    }

    /// Every request received, as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A kubeconfig with two contexts: `fake` (current, namespace `shop`) pointing here, and
    /// `elsewhere` pointing at a closed port. With TLS, it trusts no CA of its own (see
    /// [`FakeApiServer::kubeconfig_trusting`]).
    pub fn kubeconfig(&self) -> String {
        self.kubeconfig_with("")
    }

    /// [`FakeApiServer::kubeconfig`] whose cluster entry trusts this CA
    /// (`certificate-authority-data`, base64 of the PEM, as kubeadm and kind write it) and,
    /// when given, whose user presents this client certificate and key (PEM).
    pub fn kubeconfig_trusting(&self, ca_pem: &str, client: Option<(&str, &str)>) -> String {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut text = self.kubeconfig_with(&format!(
            "    certificate-authority-data: {}\n",
            b64(ca_pem)
        ));
        if let Some((cert, key)) = client {
            text = text.replace(
                "    token: fake-token\n",
                &format!(
                    "    client-certificate-data: {}\n    client-key-data: {}\n",
                    b64(cert),
                    b64(key)
                ),
            );
        }
        text
    }

    fn kubeconfig_with(&self, cluster_extra: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {scheme}://{}\n{cluster_extra}- name: elsewhere\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: reader\n    namespace: shop\n- name: elsewhere\n  context:\n    cluster: elsewhere\n    user: reader\nusers:\n- name: reader\n  user:\n    token: fake-token\n",
            self.addr
        )
    }
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    });
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Splits `/api/v1/namespaces/ns/pods` into (`api/v1`, Some(ns), `pods`).
fn parse_path(path: &str) -> Option<(String, Option<String>, String)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (gv_len, rest) = match parts.first() {
        Some(&"api") if parts.len() >= 3 => (2, &parts[2..]),
        Some(&"apis") if parts.len() >= 4 => (3, &parts[3..]),
        _ => return None,
    };
    let gv = parts[..gv_len].join("/");
    match rest {
        [plural] => Some((gv, None, plural.to_string())),
        ["namespaces", ns, plural] => Some((gv, Some(ns.to_string()), plural.to_string())),
        _ => None,
    }
}

async fn api(
    State(state): State<ApiState>,
    uri: Uri,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let shown = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    state
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(shown);
    let Some((gv, namespace, plural)) = parse_path(uri.path()) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
        );
    };
    if state.config.forbidden.contains(&plural) {
        let scope = match &namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".into(),
        };
        let group = gv
            .strip_prefix("apis/")
            .and_then(|g| g.split('/').next())
            .unwrap_or("");
        return status(
            403,
            "Forbidden",
            format!(
                "{plural} is forbidden: User \"system:serviceaccount:palisade:reader\" cannot list resource \"{plural}\" in API group \"{group}\" {scope}"
            ),
        );
    }
    let file = state.config.root.join(format!("{gv}/{plural}.json"));
    let text = if state.config.absent.contains(&plural) {
        Err(std::io::Error::from(std::io::ErrorKind::NotFound))
    } else {
        std::fs::read_to_string(&file)
    };
    let Ok(text) = text else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
        );
    };
    let Ok(mut list) = serde_json::from_str::<Value>(&text) else {
        return status(
            500,
            "InternalError",
            format!("bad fixture {}", file.display()),
        );
    };
    let items: Vec<Value> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| match &namespace {
            Some(ns) => i.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns),
            None => true,
        })
        .collect();
    // Without `limit` the API server never paginates.
    let limit = match query.get("limit").and_then(|l| l.parse::<usize>().ok()) {
        Some(l) => l.min(state.config.max_page.max(1)),
        None => usize::MAX,
    };
    let start = match query.get("continue") {
        None => 0,
        Some(_)
            if state.config.expire_first_continue
                && !state
                    .expired_one
                    .swap(true, std::sync::atomic::Ordering::SeqCst) =>
        {
            return status(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".into(),
            );
        }
        Some(token) => match continue_offset(token) {
            Some(o) => o,
            None => {
                return status(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result.".into(),
                );
            }
        },
    };
    let end = (start + limit).min(items.len());
    list["items"] = Value::Array(items[start.min(end)..end].to_vec());
    if end < items.len() {
        list["metadata"]["continue"] = Value::from(continue_token(end));
        list["metadata"]["remainingItemCount"] = Value::from(items.len() - end);
    }
    ([("content-type", "application/json")], list.to_string()).into_response()
}

/// Tokens look like the API server's (base64 with `+`, `/`, `=`), so clients must encode them.
fn continue_token(offset: usize) -> String {
    format!("eyJ2IjoibWV0YS5rOHMuaW8vdjEi+/{offset}==")
}

fn continue_offset(token: &str) -> Option<usize> {
    token
        .strip_prefix("eyJ2IjoibWV0YS5rOHMuaW8vdjEi+/")?
        .strip_suffix("==")?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------
// Hubble Relay

/// What the fake Relay streams and how it misbehaves.
#[derive(Clone, Debug, Default)]
pub struct RelayScript {
    /// The responses, in order (flows and lost-events messages).
    pub responses: Vec<GetFlowsResponse>,
    /// Break the first stream with UNAVAILABLE after this many responses.
    pub disconnect_after: Option<usize>,
    /// After the last response, keep the stream open (as Relay does with `follow`) instead
    /// of ending it.
    pub hold_open: bool,
    /// Hold the responses from this one on back until the test opens the gate (traffic that
    /// comes later, in a test that looks at the state in between).
    pub gate: Option<RelayGate>,
    /// Stream at most this many responses per second (in batches of 1,000), as a busy
    /// Relay would; None: as fast as the client reads.
    pub rate: Option<u64>,
}

/// See [`RelayScript::gate`].
#[derive(Clone, Debug, Default)]
pub struct RelayGate {
    /// Index of the first response held back.
    pub at: usize,
    /// Set it to let the rest through.
    pub open: Arc<std::sync::atomic::AtomicBool>,
}

/// A running fake Relay.
pub struct FakeRelay {
    /// Where it listens (`HOST:PORT` for `--hubble-relay`).
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<GetFlowsRequest>>>,
    _bg: Background,
}

impl FakeRelay {
    /// Starts serving the script on a free loopback port (plain HTTP/2).
    pub fn start(script: RelayScript) -> FakeRelay {
        Self::start_with(script, None)
    }

    /// Starts serving the script over TLS, as Relay does with `hubble-relay` TLS enabled
    /// (and mutual TLS when `client_ca_pem` is set).
    ///
    /// # Panics
    /// When the certificate or key cannot be used (a broken test fixture).
    pub fn start_tls(script: RelayScript, tls: ServerTls) -> FakeRelay {
        Self::start_with(script, Some(tls))
    }

    fn start_with(script: RelayScript, tls: Option<ServerTls>) -> FakeRelay {
        let rt = runtime();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let service = ObserverServer::new(FakeObserver {
            script: Arc::new(script),
            requests: requests.clone(),
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            let mut config = tonic::transport::ServerTlsConfig::new().identity(
                tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem),
            );
            if let Some(ca) = &tls.client_ca_pem {
                config = config.client_ca_root(tonic::transport::Certificate::from_pem(ca));
            }
            server = server
                .tls_config(config)
                .expect("a usable test certificate");
        }
        rt.spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let _ = server
                .add_service(service)
                .serve_with_incoming(incoming)
                .await;
        });
        FakeRelay {
            addr,
            requests,
            _bg: Background { runtime: Some(rt) },
        }
    }

    /// Every `GetFlows` request received.
    pub fn requests(&self) -> Vec<GetFlowsRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

struct FakeObserver {
    script: Arc<RelayScript>,
    requests: Arc<Mutex<Vec<GetFlowsRequest>>>,
}

type FlowStream = Pin<Box<dyn Stream<Item = Result<GetFlowsResponse, tonic::Status>> + Send>>;

fn ns_of(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1_000_000_000 + i64::from(t.nanos)
}

#[tonic::async_trait]
impl Observer for FakeObserver {
    type GetFlowsStream = FlowStream;

    async fn get_flows(
        &self,
        request: tonic::Request<GetFlowsRequest>,
    ) -> Result<tonic::Response<Self::GetFlowsStream>, tonic::Status> {
        let req = request.into_inner();
        let first_call = {
            let mut reqs = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
            reqs.push(req.clone());
            reqs.len() == 1
        };
        let since = req.since.as_ref().map(ns_of);
        let until = req.until.as_ref().map(ns_of);
        let mut out: Vec<Result<GetFlowsResponse, tonic::Status>> = Vec::new();
        for (i, r) in self.script.responses.iter().enumerate() {
            if first_call && self.script.disconnect_after == Some(i) {
                out.push(Err(tonic::Status::unavailable("relay restarting")));
                return Ok(tonic::Response::new(Box::pin(tokio_stream::iter(out))));
            }
            let t = r.time.as_ref().map(ns_of);
            if let (Some(t), Some(s)) = (t, since)
                && t < s
            {
                continue;
            }
            if let (Some(t), Some(u)) = (t, until)
                && t >= u
            {
                continue;
            }
            out.push(Ok(r.clone()));
        }
        if self.script.gate.is_some() || self.script.rate.is_some() {
            let (tx, rx) = tokio::sync::mpsc::channel(1024);
            let hold_open = self.script.hold_open;
            let gate = self.script.gate.clone();
            let rate = self.script.rate;
            tokio::spawn(async move {
                const BATCH: u64 = 1_000;
                let started = tokio::time::Instant::now();
                for (i, item) in out.into_iter().enumerate() {
                    if let Some(gate) = &gate {
                        while i >= gate.at && !gate.open.load(std::sync::atomic::Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                    }
                    if let Some(rate) = rate.filter(|r| *r > 0)
                        && (i as u64).is_multiple_of(BATCH)
                    {
                        // Batch n is due n·BATCH/rate seconds after the start.
                        let due = std::time::Duration::from_secs_f64(i as f64 / rate as f64);
                        tokio::time::sleep_until(started + due).await;
                    }
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
                if hold_open {
                    tx.closed().await;
                }
            });
            return Ok(tonic::Response::new(Box::pin(
                tokio_stream::wrappers::ReceiverStream::new(rx),
            )));
        }
        let stream = tokio_stream::iter(out);
        if self.script.hold_open {
            let pending = tokio_stream::pending();
            Ok(tonic::Response::new(Box::pin(
                tokio_stream::StreamExt::chain(stream, pending),
            )))
        } else {
            Ok(tonic::Response::new(Box::pin(stream)))
        }
    }
}

/// The responses Relay would stream for a Hubble JSON capture: each flow as a proto `Flow`
/// (the fields replay reads), each `lost_events` line as a `LostEvent`.
pub fn responses_from_capture(path: &Path) -> Result<Vec<GetFlowsResponse>, palisade_flows::Error> {
    let reader = FlowReader::open(path, &ReadOptions::default())?;
    responses_from_reader(reader)
}

/// [`responses_from_capture`] for any reader.
pub fn responses_from_reader(
    mut reader: FlowReader<'_>,
) -> Result<Vec<GetFlowsResponse>, palisade_flows::Error> {
    let mut out = Vec::new();
    reader.read(|record| match record {
        Record::Flow(e) => out.push(response_from_event(e)),
        Record::Gap(g) => out.push(GetFlowsResponse {
            response_types: Some(ResponseTypes::LostEvents(LostEvent {
                source: flow::LostEventSource::from_str_name(&g.source).unwrap_or_default() as i32,
                num_events_lost: g.lost,
                cpu: None,
            })),
            node_name: g.node.clone().unwrap_or_default(),
            time: g.time_ns.map(timestamp),
        }),
    })?;
    Ok(out)
}

fn timestamp(ns: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ns.div_euclid(1_000_000_000),
        nanos: ns.rem_euclid(1_000_000_000) as i32,
    }
}

/// One flow event as the proto `Flow` Relay would send.
pub fn response_from_event(e: &FlowEvent<'_>) -> GetFlowsResponse {
    let mut f = Flow {
        time: Some(timestamp(e.time_ns)),
        ip: Some(flow::Ip {
            source: e.src.to_string(),
            destination: e.dst.to_string(),
            ip_version: if e.src.is_ipv4() { 1 } else { 2 },
        }),
        node_name: e.node.as_deref().unwrap_or_default().to_string(),
        is_reply: e.is_reply,
        ..Default::default()
    };
    let (sp, dp) = (u32::from(e.src_port), u32::from(e.dst_port));
    f.l4 = Some(flow::Layer4 {
        protocol: match e.l4 {
            L4::Tcp(flags) => Some(layer4::Protocol::Tcp(flow::Tcp {
                source_port: sp,
                destination_port: dp,
                flags: Some(flow::TcpFlags {
                    fin: flags.has(palisade_flows::TcpFlags::FIN),
                    syn: flags.has(palisade_flows::TcpFlags::SYN),
                    rst: flags.has(palisade_flows::TcpFlags::RST),
                    psh: flags.has(palisade_flows::TcpFlags::PSH),
                    ack: flags.has(palisade_flows::TcpFlags::ACK),
                    urg: flags.has(palisade_flows::TcpFlags::URG),
                    ece: flags.has(palisade_flows::TcpFlags::ECE),
                    cwr: flags.has(palisade_flows::TcpFlags::CWR),
                    ns: flags.has(palisade_flows::TcpFlags::NS),
                }),
            })),
            L4::Udp => Some(layer4::Protocol::Udp(flow::Udp {
                source_port: sp,
                destination_port: dp,
            })),
            L4::Sctp(_) => Some(layer4::Protocol::Sctp(flow::Sctp {
                source_port: sp,
                destination_port: dp,
            })),
            L4::Icmp(i) if i.v6 => Some(layer4::Protocol::IcmPv6(flow::IcmPv6 {
                r#type: u32::from(i.icmp_type),
                code: u32::from(i.code),
            })),
            L4::Icmp(i) => Some(layer4::Protocol::IcmPv4(flow::IcmPv4 {
                r#type: u32::from(i.icmp_type),
                code: u32::from(i.code),
            })),
            L4::Other(_) => None,
        },
    });
    let endpoint = |ep: &palisade_flows::Endpoint<'_>| flow::Endpoint {
        namespace: ep.namespace.to_string(),
        pod_name: ep.pod_name.to_string(),
        labels: ep.labels.iter().map(|l| l.into_owned()).collect(),
        ..Default::default()
    };
    f.source = e.src_endpoint.as_ref().map(endpoint);
    f.destination = e.dst_endpoint.as_ref().map(endpoint);
    if let EventKind::Hubble(h) = &e.kind {
        use palisade_flows::Verdict as V;
        f.verdict = match h.verdict {
            V::Unknown => flow::Verdict::Unknown,
            V::Forwarded => flow::Verdict::Forwarded,
            V::Dropped => flow::Verdict::Dropped,
            V::Error => flow::Verdict::Error,
            V::Audit => flow::Verdict::Audit,
            V::Redirected => flow::Verdict::Redirected,
            V::Traced => flow::Verdict::Traced,
            V::Translated => flow::Verdict::Translated,
        } as i32;
        f.drop_reason = h.drop_reason_code;
        f.drop_reason_desc = h
            .drop_reason
            .as_deref()
            .and_then(flow::DropReason::from_str_name)
            .map_or(0, |d| d as i32);
        f.traffic_direction = match h.direction {
            None => 0,
            Some(palisade_flows::TrafficDirection::Ingress) => 1,
            Some(palisade_flows::TrafficDirection::Egress) => 2,
        };
        let policies = |list: &palisade_flows::PolicyList<'_>| -> Vec<flow::Policy> {
            list.iter()
                .map(|p| flow::Policy {
                    name: p.name.into_owned(),
                    namespace: p.namespace.into_owned(),
                    kind: p.kind.into_owned(),
                    ..Default::default()
                })
                .collect()
        };
        f.ingress_denied_by = policies(&h.ingress_denied_by);
        f.egress_denied_by = policies(&h.egress_denied_by);
    }
    GetFlowsResponse {
        node_name: f.node_name.clone(),
        time: f.time,
        response_types: Some(ResponseTypes::Flow(f)),
    }
}
