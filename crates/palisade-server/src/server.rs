//! The HTTP side: routes, the security rules, and the watcher that reloads the inputs.
//!
//! Security model (docs/ui.md): read-only (only `GET`/`HEAD`; nothing writes), loopback by
//! default, a token required on any other address, `Host` checked against the bound
//! address (DNS rebinding), and a strict Content-Security-Policy (no inline script, no
//! third-party origin).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::snapshot::{InputsFn, Options, Snapshot};
use crate::{Error, api, assets};

/// The Content-Security-Policy of every served response.
/// `style-src` allows one inline style by hash: the one-rule stylesheet cytoscape.js 3.34.4
/// injects (`.__________cytoscape_container { position: relative; }`).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8='; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The cookie that carries the token after the first visit with `?token=`.
const TOKEN_COOKIE: &str = "palisade_token";

/// How `palisade serve` was asked to run.
pub struct ServeConfig {
    /// Where to listen (`127.0.0.1:7878` by default; port 0 picks a free one).
    pub addr: SocketAddr,
    /// The access token; required (the caller generates one) when `addr` is not loopback.
    pub token: Option<String>,
    /// Files and directories to watch for changes (`--watch`); empty for no watching.
    pub watch: Vec<PathBuf>,
    /// Produces the inputs on every (re)load.
    pub inputs: InputsFn,
    /// Fixed settings.
    pub options: Options,
}

/// What the handlers share.
struct AppState {
    snapshot: RwLock<Arc<Snapshot>>,
    /// Bumped on every reload attempt, good or bad: the page refetches when it changes.
    generation: AtomicU64,
    /// The last reload's error, shown on the page while the last good snapshot stays.
    reload_error: RwLock<Option<String>>,
    watch: bool,
    token: Option<String>,
    /// Accepted `Host` header values; empty accepts any (an unspecified address, where the
    /// token is what protects).
    hosts: Vec<String>,
}

impl AppState {
    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().expect("not poisoned").clone()
    }
}

/// A bound server, ready to run.
pub struct Server {
    listener: std::net::TcpListener,
    state: Arc<AppState>,
    watch: Vec<PathBuf>,
    inputs: InputsFn,
    options: Options,
}

fn allowed_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let ip = addr.ip();
    if ip.is_unspecified() {
        return Vec::new();
    }
    let mut hosts = vec![addr.to_string()];
    if ip.is_loopback() {
        hosts.push(format!("localhost:{port}"));
    }
    hosts
}

impl Server {
    /// Loads the inputs once and binds the address. Fails on a load error (the caller
    /// decides whether to keep going) or when the address is taken.
    pub fn bind(config: ServeConfig) -> Result<Server, Error> {
        if !config.addr.ip().is_loopback() && config.token.is_none() {
            return Err(Error::TokenRequired(config.addr));
        }
        let inputs = (config.inputs)().map_err(Error::Inputs)?;
        let snapshot = Snapshot::build(&inputs, &config.options)?;
        let listener = std::net::TcpListener::bind(config.addr).map_err(|source| Error::Bind {
            addr: config.addr,
            source,
        })?;
        let bound = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.addr,
            source,
        })?;
        Ok(Server {
            listener,
            state: Arc::new(AppState {
                snapshot: RwLock::new(Arc::new(snapshot)),
                generation: AtomicU64::new(1),
                reload_error: RwLock::new(None),
                watch: !config.watch.is_empty(),
                token: config.token,
                hosts: allowed_hosts(bound),
            }),
            watch: config.watch,
            inputs: config.inputs,
            options: config.options,
        })
    }

    /// The address actually bound (with the chosen port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The URL to open, with the token when there is one.
    pub fn url(&self) -> String {
        let addr = self.local_addr();
        match &self.state.token {
            Some(t) => format!("http://{addr}/?token={t}"),
            None => format!("http://{addr}/"),
        }
    }

    /// The load warnings of the first snapshot (as text), for the caller to print.
    pub fn problems(&self) -> Vec<String> {
        self.state.snapshot().problems.clone()
    }

    /// Serves until the process ends; with `--watch`, reloads on file changes.
    pub fn run(self) -> Result<(), Error> {
        if !self.watch.is_empty() {
            let state = self.state.clone();
            let (paths, inputs, options) = (self.watch, self.inputs, self.options);
            std::thread::spawn(move || watch_loop(&state, &paths, &inputs, &options));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let listener = self.listener;
        let state = self.state;
        runtime.block_on(async move {
            listener.set_nonblocking(true).map_err(Error::Runtime)?;
            let listener = tokio::net::TcpListener::from_std(listener).map_err(Error::Runtime)?;
            axum::serve(listener, router(state))
                .await
                .map_err(Error::Runtime)
        })
    }
}

/// Every file under the watched paths with its modification time and size.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else {
            out.push((p, None, 0));
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else {
            out.push((p, meta.modified().ok(), meta.len()));
        }
    }
    out.sort();
    out
}

/// Polls the watched files (4 times a second) and reloads on a change. A failed reload
/// keeps the last good snapshot and publishes the error.
fn watch_loop(state: &AppState, paths: &[PathBuf], inputs: &InputsFn, options: &Options) {
    let mut last = fingerprint(paths);
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = fingerprint(paths);
        if now == last {
            continue;
        }
        last = now;
        let result = inputs()
            .map_err(Error::Inputs)
            .and_then(|i| Snapshot::build(&i, options));
        match result {
            Ok(snapshot) => {
                *state.snapshot.write().expect("not poisoned") = Arc::new(snapshot);
                *state.reload_error.write().expect("not poisoned") = None;
            }
            Err(e) => {
                let mut text = e.to_string();
                if let Error::Load { problems, .. } = &e {
                    text.push('\n');
                    text.push_str(&problems.concat());
                }
                *state.reload_error.write().expect("not poisoned") = Some(text);
            }
        }
        state.generation.fetch_add(1, Ordering::SeqCst);
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/assets/app.js",
            get(|| asset(assets::APP_JS, "text/javascript")),
        )
        .route(
            "/assets/app.css",
            get(|| asset(assets::APP_CSS, "text/css")),
        )
        .route(
            "/assets/vendor/cytoscape.min.js",
            get(|| asset(assets::CYTOSCAPE_JS, "text/javascript")),
        )
        .route(
            "/assets/vendor/cytoscape-dagre.min.js",
            get(|| asset(assets::CYTOSCAPE_DAGRE_JS, "text/javascript")),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/status", get(status))
        .route("/api/map", get(|s| cached(s, |s| Some(s.map_json.clone()))))
        .route(
            "/api/connectivity",
            get(|s: State<Arc<AppState>>| async move {
                match s.snapshot().connectivity_cut.clone() {
                    Some(why) => json_error(StatusCode::PAYLOAD_TOO_LARGE, &why),
                    None => cached(s, |s| Some(s.connectivity_json.clone())).await,
                }
            }),
        )
        .route(
            "/api/lint",
            get(|s| cached(s, |s| Some(s.lint_json.clone()))),
        )
        .route(
            "/api/audit",
            get(|s| cached(s, |s| Some(s.audit_json.clone()))),
        )
        .route("/api/diff", get(|s| cached(s, |s| s.diff_json.clone())))
        .route("/api/replay", get(|s| cached(s, |s| s.replay_json.clone())))
        .route("/api/check", get(check))
        .route("/api/matrix", get(matrix))
        .route("/api/source", get(source))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn json(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn token_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(q) = query {
        for pair in q.split('&') {
            if let Some(t) = pair.strip_prefix("token=") {
                return Some(t.to_string());
            }
        }
    }
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = auth.strip_prefix("Bearer ")
    {
        return Some(t.to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(TOKEN_COOKIE)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_string)
        })
}

/// Compares without stopping at the first differing byte.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The security rules, in order: read-only methods, `Host`, token; then the headers every
/// response carries.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut r = json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only: only GET and HEAD are served",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return with_security_headers(r);
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !state.hosts.is_empty() && !state.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return with_security_headers(json_error(
            StatusCode::FORBIDDEN,
            &format!(
                "unexpected Host `{host}`: this server answers only to {}",
                state.hosts.join(", ")
            ),
        ));
    }
    let mut set_cookie = None;
    if let Some(expected) = &state.token {
        let given = token_of(request.headers(), request.uri().query());
        if !given.as_deref().is_some_and(|g| same_token(g, expected)) {
            return with_security_headers(json_error(
                StatusCode::UNAUTHORIZED,
                "a token is required: open the URL `palisade serve` printed",
            ));
        }
        set_cookie = Some(format!(
            "{TOKEN_COOKIE}={expected}; HttpOnly; SameSite=Strict; Path=/"
        ));
    }
    let mut response = next.run(request).await;
    if let Some(c) = set_cookie
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    with_security_headers(response)
}

fn with_security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        assets::index_html(),
    )
        .into_response()
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&format!("{content_type}; charset=utf-8"))
                .expect("a valid header value"),
        )],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such endpoint (see docs/ui.md)")
}

#[derive(Serialize)]
struct Status<'a> {
    version: &'static str,
    generation: u64,
    watch: bool,
    /// The last reload's error; the page keeps showing the last good model.
    error: Option<String>,
    /// Warnings from loading, as text.
    problems: &'a [String],
    capture: bool,
    proposed: bool,
    workloads: usize,
    namespaces: usize,
    policies: usize,
}

/// The status document (`GET /api/status`, and inlined in the report).
pub(crate) fn status_json(
    snapshot: &Snapshot,
    generation: u64,
    watch: bool,
    error: Option<String>,
) -> String {
    crate::to_json(&Status {
        version: env!("CARGO_PKG_VERSION"),
        generation,
        watch,
        error,
        problems: &snapshot.problems,
        capture: snapshot.capture.is_some(),
        proposed: snapshot.proposed.is_some(),
        workloads: snapshot
            .connectivity
            .peers
            .iter()
            .filter(|p| !matches!(p.what, palisade_engine::connectivity::PeerRef::External(_)))
            .count(),
        namespaces: snapshot.model.namespaces.len(),
        policies: snapshot.model.policies.len(),
    })
}

async fn status(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.snapshot();
    let error = state.reload_error.read().expect("not poisoned").clone();
    json(status_json(
        &snapshot,
        state.generation.load(Ordering::SeqCst),
        state.watch,
        error,
    ))
}

async fn cached(
    State(state): State<Arc<AppState>>,
    pick: impl Fn(&Snapshot) -> Option<String>,
) -> Response {
    match pick(&state.snapshot()) {
        Some(body) => json(body),
        None => json_error(
            StatusCode::NOT_FOUND,
            "not available: start `palisade serve` with --capture (replay) or --proposed (diff)",
        ),
    }
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Response> {
    params.get(name).map(String::as_str).ok_or_else(|| {
        json_error(
            StatusCode::BAD_REQUEST,
            &format!("missing query parameter `{name}`"),
        )
    })
}

async fn check(State(state): State<Arc<AppState>>, Query(params): Params) -> Response {
    let run = || -> Result<String, Response> {
        let protocol = params.get("protocol").map_or("TCP", String::as_str);
        api::check(
            &state.snapshot(),
            param(&params, "from")?,
            param(&params, "to")?,
            param(&params, "port")?,
            protocol,
        )
        .map_err(|e| json_error(StatusCode::BAD_REQUEST, &e.0))
    };
    match run() {
        Ok(body) => json(body),
        Err(r) => r,
    }
}

async fn matrix(State(state): State<Arc<AppState>>, Query(params): Params) -> Response {
    let state = state.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<String, Response> {
        let protocol = params.get("protocol").map_or("TCP", String::as_str);
        api::matrix(
            &state.snapshot(),
            param(&params, "port")?,
            protocol,
            params.get("namespace").map(String::as_str),
        )
        .map_err(|e| json_error(StatusCode::BAD_REQUEST, &e.0))
    })
    .await;
    match result {
        Ok(Ok(body)) => json(body),
        Ok(Err(r)) => r,
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "the matrix failed"),
    }
}

async fn source(State(state): State<Arc<AppState>>, Query(params): Params) -> Response {
    let file = match param(&params, "file") {
        Ok(f) => f,
        Err(r) => return r,
    };
    let snapshot = state.snapshot();
    match api::source(&snapshot, file) {
        Some(text) => Response::builder()
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(text.to_string()))
            .expect("a valid response"),
        None => json_error(
            StatusCode::NOT_FOUND,
            &format!("`{file}` is not one of the loaded manifest files"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_for_loopback_include_localhost() {
        let hosts = allowed_hosts("127.0.0.1:7878".parse().unwrap());
        assert_eq!(hosts, ["127.0.0.1:7878", "localhost:7878"]);
        let hosts = allowed_hosts("[::1]:80".parse().unwrap());
        assert_eq!(hosts, ["[::1]:80", "localhost:80"]);
        assert!(allowed_hosts("0.0.0.0:80".parse().unwrap()).is_empty());
        assert_eq!(
            allowed_hosts("192.0.2.1:80".parse().unwrap()),
            ["192.0.2.1:80"]
        );
    }

    #[test]
    fn token_is_read_from_query_header_or_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(token_of(&h, Some("a=1&token=abc")), Some("abc".into()));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("x=1; palisade_token=def"),
        );
        assert_eq!(token_of(&h, None), Some("def".into()));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer ghi"),
        );
        assert_eq!(token_of(&h, None), Some("ghi".into()));
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
    }
}
