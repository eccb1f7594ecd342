//! The server: shared context (state, state file, request log, faults,
//! throttling buckets, pending device codes), the accept loop, routing,
//! authentication and permission checks.
//!
//! Routing is done here by hand rather than with axum's router, so that
//! `$batch` sub-requests go through exactly the same dispatcher, faults,
//! throttling, logging and error rendering as requests from the socket.
//!
//! The accept loop is hyper's own (not `axum::serve`) because fault
//! injection must be able to close a connection without answering: a
//! service error makes hyper drop the connection with no response.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle as ThreadHandle;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::faults::{FaultConfig, Faults, Injected, SocketPlan};
use crate::lockfile::{self, StateLock};
use crate::persist::{Store, WRITE_INTERVAL};
use crate::stale::StaleReads;
use crate::state::{self, GithubOidc, ManagedIdentity, State, Tenant};
use crate::throttle::{Buckets, Charge};
use crate::token::{self, AadError, IdType, Principal};
use crate::wire::{ApiError, Clock, Req, Resp};
use crate::{
    Error, Options, PORTAL_AUDIENCE, audit, batch, control, devicecode, directory, github, imds,
    policies, portal, quirks, report, settings,
};

/// Largest request body accepted, in bytes.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Most request-log entries kept; the oldest are dropped first.
const MAX_LOG_ENTRIES: usize = 100_000;

/// How long shutdown waits for in-flight connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Content type of Graph JSON responses.
const GRAPH_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Content type of portal and token-endpoint JSON responses.
const PLAIN_JSON: &str = "application/json; charset=utf-8";

/// One entry of the request log (`GET /_emulator/requests`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogEntry {
    /// HTTP method.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query string, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Response status; 0 when the connection was dropped before handling.
    pub status: u16,
    /// Tenant the request concerned, when known.
    pub tenant: Option<String>,
    /// Client (application) id of the caller, when known.
    pub app: Option<String>,
    /// `Retry-After` seconds sent with a 429 or 503.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Milliseconds from receiving the request to answering it (injected
    /// latency included).
    pub latency_ms: u64,
    /// When the request was received, in microseconds since the Unix epoch
    /// (with `latency_ms`, the request's interval: the benchmark derives the
    /// round-trip levels per tenant from it).
    pub started_us: u64,
    /// Which fault shaped the response: `failNext`, `errorRate`, `throttle`,
    /// `drop` (closed before handling) or `dropAfter` (handled, then closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'static str>,
    /// `$batch` sub-requests, in the order they ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_requests: Vec<LogEntry>,
    /// The request's `x-ms-throttle-priority`, if it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
}

impl LogEntry {
    /// A blank entry for `req`.
    pub(crate) fn for_request(req: &Req) -> Self {
        LogEntry {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.raw_query.clone(),
            status: 0,
            tenant: None,
            app: None,
            retry_after: None,
            latency_ms: 0,
            started_us: 0,
            fault: None,
            sub_requests: Vec::new(),
            priority: req.header("x-ms-throttle-priority").map(str::to_string),
        }
    }

    /// Records the response's status and, for 429/503, its `Retry-After`.
    pub(crate) fn finish(&mut self, resp: &Resp, started: Instant) {
        self.status = resp.status;
        let elapsed = started.elapsed();
        self.latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.started_us = std::time::SystemTime::now()
            .checked_sub(elapsed)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| u64::try_from(d.as_micros()).ok())
            .unwrap_or(0);
        if matches!(resp.status, 429 | 503) {
            self.retry_after = resp
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| v.trim().parse().ok());
        }
    }
}

/// State shared by every request.
pub(crate) struct Ctx {
    store: Arc<Store>,
    auto_create: bool,
    log: Mutex<VecDeque<LogEntry>>,
    faults: Faults,
    buckets: Mutex<Buckets>,
    stale: Mutex<StaleReads>,
    device_codes: Mutex<devicecode::DeviceCodes>,
    github_secret: [u8; 32],
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a half-written tenant:
    // writes swap in a fully built clone. So a poisoned lock is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads tenant `tid` from `stale` (a pre-write copy) if given, else live.
pub(crate) fn read_view<T>(
    ctx: &Ctx,
    tid: &str,
    stale: Option<&Tenant>,
    f: impl FnOnce(&Tenant) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    match stale {
        Some(t) => f(t),
        None => ctx.read_tenant(tid, f),
    }
}

impl Ctx {
    fn new(store: Arc<Store>, auto_create: bool, faults: FaultConfig) -> Result<Self, Error> {
        let mut github_secret = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut github_secret)
            .map_err(|_| Error::Random)?;
        Ok(Ctx {
            store,
            auto_create,
            log: Mutex::new(VecDeque::new()),
            faults: Faults::new(faults),
            buckets: Mutex::new(Buckets::default()),
            stale: Mutex::new(StaleReads::default()),
            device_codes: Mutex::new(devicecode::DeviceCodes::default()),
            github_secret,
        })
    }

    /// Whether tenant `tid` exists, creating it when auto-creation is on
    /// (saved by the write-behind writer). `Err` carries a message if the
    /// state file cannot be written at the moment: nothing is created then.
    pub(crate) fn tenant_exists_or_create(&self, tid: &str) -> Result<bool, String> {
        let mut live = self.store.lock();
        if live.state.tenants.contains_key(tid) {
            return Ok(true);
        }
        if !self.auto_create || !quirks::tenant_id_can_be_auto_created(tid) {
            return Ok(false);
        }
        if let Some(reason) = self.store.failure() {
            return Err(format!("could not persist the emulator state: {reason}"));
        }
        live.state.tenants.insert(
            tid.to_string(),
            Arc::new(crate::defaults::fresh_tenant(tid)),
        );
        live.changed();
        drop(live);
        self.store.wake();
        tracing::info!(tenant = tid, "created a fresh tenant");
        Ok(true)
    }

    /// Runs `f` on tenant `tid`.
    pub(crate) fn read_tenant<T>(
        &self,
        tid: &str,
        f: impl FnOnce(&Tenant) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let live = self.store.lock();
        let tenant = live.state.tenants.get(tid).ok_or_else(unknown_tenant)?;
        f(tenant)
    }

    /// Tenant `tid` as it is now (a shared copy), if it exists.
    pub(crate) fn tenant_snapshot(&self, tid: &str) -> Option<Arc<Tenant>> {
        self.store.lock().state.tenants.get(tid).cloned()
    }

    /// Runs `f` on a copy of tenant `tid`; if it succeeds and changed
    /// anything, the copy replaces the tenant and the write-behind writer
    /// is told (the state file follows within the write interval). On any
    /// error nothing changes. While the state file cannot be written, every
    /// write is refused (500) and changes nothing.
    pub(crate) fn write_tenant<T>(
        &self,
        tid: &str,
        f: impl FnOnce(&mut Tenant) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        if let Some(reason) = self.store.failure() {
            return Err(ApiError::internal(format!(
                "The emulator could not persist its state: {reason}"
            )));
        }
        let mut live = self.store.lock();
        let original = Arc::clone(live.state.tenants.get(tid).ok_or_else(unknown_tenant)?);
        let mut updated = Tenant::clone(&original);
        let out = f(&mut updated)?;
        if updated == *original {
            return Ok(out);
        }
        live.state
            .tenants
            .insert(tid.to_string(), Arc::new(updated));
        live.changed();
        drop(live);
        self.store.wake();
        Ok(out)
    }

    /// Every managed identity with its tenant id, in tenant order.
    pub(crate) fn managed_identities(&self) -> Vec<(String, ManagedIdentity)> {
        self.store
            .lock()
            .state
            .tenants
            .iter()
            .flat_map(|(tid, t)| {
                t.managed_identities
                    .iter()
                    .map(move |mi| (tid.clone(), mi.clone()))
            })
            .collect()
    }

    /// The fake GitHub OIDC service's settings.
    pub(crate) fn github_oidc(&self) -> GithubOidc {
        self.store
            .lock()
            .state
            .github_oidc
            .clone()
            .unwrap_or_default()
    }

    /// The per-emulator secret of the fake GitHub OIDC tokens.
    pub(crate) fn github_secret(&self) -> &[u8] {
        &self.github_secret
    }

    /// The pending device codes.
    pub(crate) fn device_codes(&self) -> MutexGuard<'_, devicecode::DeviceCodes> {
        lock(&self.device_codes)
    }

    /// The live fault configuration.
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the fault configuration; throttling buckets start full again
    /// and pending stale-read windows end.
    pub(crate) fn replace_faults(&self, config: FaultConfig) {
        self.faults.replace(config);
        lock(&self.buckets).clear();
        lock(&self.stale).clear();
    }

    fn record(&self, entry: LogEntry) {
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOG_ENTRIES {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// The request log as JSON.
    pub(crate) fn log_json(&self) -> Value {
        let log = lock(&self.log);
        json!(log.iter().collect::<Vec<_>>())
    }

    /// Empties the request log.
    pub(crate) fn clear_log(&self) {
        lock(&self.log).clear();
    }

    /// Charges a Graph request to its (app, tenant) and app-wide buckets.
    fn charge(&self, p: &Principal, cost: u32, write: bool) -> Charge {
        let (cfg, app) = (self.faults.throttle(), self.faults.app_throttle());
        lock(&self.buckets).charge(&cfg, &app, &p.appid, &p.tid, cost, write, Instant::now())
    }

    /// The 429s the throttling buckets answered, by scope.
    pub(crate) fn throttled(&self) -> crate::throttle::Throttled {
        lock(&self.buckets).throttled()
    }

    /// Sets the 429 counters back to zero.
    pub(crate) fn reset_throttled(&self) {
        lock(&self.buckets).reset_counters();
    }

    /// The pre-write copy reads of `family` in `tid` must see now, if any.
    fn stale_view(&self, tid: &str, family: &str) -> Option<Arc<Tenant>> {
        lock(&self.stale).view(tid, family, Instant::now())
    }

    fn record_stale(&self, tid: &str, family: &'static str, before: Arc<Tenant>, window: Duration) {
        lock(&self.stale).record(tid, family, before, Instant::now() + window);
    }
}

fn unknown_tenant() -> ApiError {
    ApiError::unauthenticated(quirks::UNKNOWN_TENANT_IN_TOKEN_MESSAGE)
}

/// A running emulator. Dropping it without [`Handle::close`] or
/// [`Handle::shutdown`] also stops the server (the shutdown signal's sender
/// is dropped) without waiting for requests in flight, and writes the state
/// file once more if anything changed (blocking the dropping thread for that
/// write), then releases the state file's lock.
pub struct Handle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    store: Arc<Store>,
    writer: Option<ThreadHandle<std::io::Result<()>>>,
    lock: Option<StateLock>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("addr", &self.addr)
            .field("state_file", &self.store.path())
            .finish_non_exhaustive()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(writer) = self.writer.take() {
            self.store.stop();
            match writer.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "could not save the emulator state");
                }
                Err(_) => tracing::error!("the emulator's state writer panicked"),
            }
        }
    }
}

impl Handle {
    /// The address the server listens on (with the real port when `:0` was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, usable as the base of every endpoint (token endpoint,
    /// portal API, Graph, IMDS and the `/_emulator/` endpoints). An
    /// unspecified listen address is shown as loopback.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Stops accepting connections, lets in-flight requests finish (for up
    /// to ten seconds), waits for the server task, writes the state file if
    /// anything changed since its last write, and releases the state file's
    /// lock. Like [`Handle::close`], but a failed last write is only logged:
    /// use `close` where it must be reported.
    pub async fn shutdown(self) {
        if let Err(e) = self.close().await {
            tracing::error!(error = %e, "could not save the emulator state");
        }
    }

    /// [`Handle::shutdown`], returning the error of the state file's last
    /// write ([`Error::StateWrite`]): the changes it held are lost.
    pub async fn close(mut self) -> Result<(), Error> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the emulator task ended abnormally");
        }
        let result = match self.writer.take() {
            Some(writer) => {
                self.store.stop();
                let joined = tokio::task::spawn_blocking(move || writer.join()).await;
                match joined {
                    Ok(Ok(result)) => result.map_err(|source| self.write_error(source)),
                    _ => Err(self.write_error(std::io::Error::other(
                        "the emulator's state writer panicked",
                    ))),
                }
            }
            None => Ok(()),
        };
        self.lock.take();
        result
    }

    /// Writes the state file now if anything changed since its last write
    /// (the write-behind writer does so within [`WRITE_INTERVAL`] anyway).
    /// Nothing to do for an in-memory emulator.
    pub async fn flush(&self) -> Result<(), Error> {
        let store = Arc::clone(&self.store);
        let result = tokio::task::spawn_blocking(move || store.flush())
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("the state write panicked")));
        result.map_err(|source| self.write_error(source))
    }

    /// The state file, if the state is saved to one.
    pub fn state_file(&self) -> Option<&std::path::Path> {
        self.store.path()
    }

    fn write_error(&self, source: std::io::Error) -> Error {
        Error::StateWrite {
            path: self.store.path().map(PathBuf::from).unwrap_or_default(),
            source,
        }
    }
}

/// Binds `options.listen`, loads the state file and serves in a background
/// task. Faults come from the state file's `faults` (none if absent).
pub async fn spawn(options: Options) -> Result<Handle, Error> {
    start(options, None).await
}

/// Like [`spawn`], with `faults` instead of the state file's `faults`. They
/// can still be replaced at run time with `PUT /_emulator/faults`.
pub async fn spawn_with(options: Options, faults: FaultConfig) -> Result<Handle, Error> {
    start(options, Some(faults)).await
}

async fn start(options: Options, faults: Option<FaultConfig>) -> Result<Handle, Error> {
    // The lock first: a state file in use is not even read.
    let lock = options
        .state_file
        .as_deref()
        .map(lockfile::acquire)
        .transpose()?;
    let state = match &options.state_file {
        Some(path) => state::load(path)?,
        None => State::default(),
    };
    let faults = faults.or_else(|| state.faults.clone()).unwrap_or_default();
    faults
        .validate()
        .map_err(|reason| Error::InvalidFaults { reason })?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: options.listen,
        source,
    })?;
    let store = Arc::new(Store::new(state, options.state_file, WRITE_INTERVAL));
    let ctx = Arc::new(Ctx::new(
        Arc::clone(&store),
        options.auto_create_tenants,
        faults,
    )?);
    let writer = store
        .start_writer()
        .map_err(|source| Error::Writer { source })?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(accept_loop(listener, ctx, rx));
    tracing::info!(%addr, "emulator listening");
    Ok(Handle {
        addr,
        shutdown: Some(tx),
        task: Some(task),
        store,
        writer,
        lock,
    })
}

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    ctx: Arc<Ctx>,
    mut stop: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let ctx = Arc::clone(&ctx);
                    let service = hyper::service::service_fn(move |request| {
                        serve(Arc::clone(&ctx), request)
                    });
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = &mut stop => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
}

fn lower_segments(req: &Req) -> Vec<String> {
    req.segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect()
}

/// One request from a connection: collect it, apply socket-level faults,
/// dispatch it (on the async worker: it never waits for the file system),
/// log it and render it.
async fn serve(
    ctx: Arc<Ctx>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<axum::response::Response, DropConnection> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(Body::new(body), MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => return Ok(plain_status(StatusCode::PAYLOAD_TOO_LARGE)),
    };
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    // HTTP/2 carries the host in `:authority`; handlers read `host`.
    if let Some(authority) = parts.uri.authority()
        && !parts.headers.contains_key("host")
    {
        headers.push(("host".into(), authority.to_string()));
    }
    let req = Req::new(parts.method.as_str(), &target, headers, bytes);
    let lower = lower_segments(&req);
    if control::is_control(&lower) {
        let mut resp = control::handle(&ctx, &req, &lower);
        if resp.body.is_some() {
            resp.headers
                .push(("content-type".into(), PLAIN_JSON.into()));
        }
        return Ok(to_http(resp));
    }
    let plan = if is_emulator_path(&lower) {
        SocketPlan::default()
    } else {
        ctx.faults().socket_plan(&req.method, &req.path)
    };
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.drop_before {
        let mut entry = LogEntry::for_request(&req);
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        peek_caller(&req, surface_of(&lower, false), &mut entry);
        entry.fault = Some("drop");
        entry.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        ctx.record(entry);
        return Err(DropConnection);
    }
    // On this worker, not the blocking pool: dispatch only computes, holding
    // short-lived locks (the state file is written behind, by its own
    // thread). A handoff to the blocking pool per request cost more CPU than
    // the request itself. A panic still answers 500, as it did there.
    let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut entry = LogEntry::for_request(&req);
        let resp = dispatch(&ctx, &req, &mut entry, false);
        (resp, entry)
    }));
    let Ok((resp, mut entry)) = handled else {
        return Ok(plain_status(StatusCode::INTERNAL_SERVER_ERROR));
    };
    entry.finish(&resp, started);
    if plan.drop_after {
        entry.fault = Some("dropAfter");
        ctx.record(entry);
        return Err(DropConnection);
    }
    ctx.record(entry);
    Ok(to_http(resp))
}

fn is_emulator_path(lower: &[String]) -> bool {
    lower.first().is_some_and(|s| s == "_emulator")
}

fn plain_status(status: StatusCode) -> axum::response::Response {
    let mut r = axum::response::Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

fn to_http(resp: Resp) -> axum::response::Response {
    let body = match &resp.body {
        Some(v) => Body::from(serde_json::to_vec(v).unwrap_or_default()),
        None => Body::empty(),
    };
    let mut r = axum::response::Response::new(body);
    *r.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in &resp.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            r.headers_mut().append(name, value);
        }
    }
    r
}

/// Which family of API a path belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// The token and device-code endpoints (Entra ID error shape).
    Token,
    /// The portal-internal API.
    Portal,
    /// Microsoft Graph (and unknown paths).
    Graph,
    /// The managed-identity endpoint (IMDS error shape).
    Imds,
    /// The fake GitHub OIDC service.
    Github,
}

fn surface_of(lower: &[&str], in_batch: bool) -> Surface {
    match lower {
        [_, "oauth2", "v2.0", "token" | "devicecode"] | [_, "oauth2", "token"] if !in_batch => {
            Surface::Token
        }
        ["api", "passwordreset", _] if !in_batch => Surface::Portal,
        ["metadata", "identity", "oauth2", "token"] if !in_batch => Surface::Imds,
        ["_emulator", "github", "oidc"] if !in_batch => Surface::Github,
        _ => Surface::Graph,
    }
}

/// An injected fault's response, in the surface's error shape.
fn injected_response(
    surface: Surface,
    inj: Injected,
    now: &Clock,
    request_id: &str,
    client_request_id: &str,
    correlation: Option<&str>,
) -> Resp {
    let mut resp = match surface {
        Surface::Token => {
            let (error, code, text) = quirks::injected_token_error(inj.status);
            AadError::new(inj.status, error, code, text)
                .into_resp(now, correlation)
                .with_header("content-type", PLAIN_JSON)
        }
        Surface::Imds => {
            let (error, text) = quirks::injected_imds_error(inj.status);
            Resp::json(
                inj.status,
                json!({"error": error, "error_description": text}),
            )
        }
        Surface::Graph | Surface::Portal | Surface::Github => {
            let (code, message) = quirks::injected_graph_error(inj.status);
            Resp::json(
                inj.status,
                ApiError::new(inj.status, code, message).body(request_id, client_request_id, now),
            )
        }
    };
    if let Some(secs) = inj.retry_after {
        resp.headers.push(("retry-after".into(), secs.to_string()));
    }
    resp
}

/// Fills the log entry's tenant and app without judging the request: from
/// the path and form for the token endpoint, from the bearer token otherwise.
fn peek_caller(req: &Req, surface: Surface, entry: &mut LogEntry) {
    if surface == Surface::Token {
        entry.tenant = req.segments.first().map(|t| t.to_ascii_lowercase());
        entry.app = token::Form::parse(req).get("client_id").map(str::to_string);
        return;
    }
    let raw = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .map(|(_, t)| t);
    if let Some(p) = raw.and_then(|t| token::parse(t, Clock::now().secs).ok()) {
        entry.tenant = Some(p.tid);
        entry.app = Some(p.appid);
    }
}

/// Dispatches one request (from the socket or from `$batch`), filling in the
/// log entry's tenant, app, fault and sub-requests. Always returns a
/// complete response.
pub(crate) fn dispatch(ctx: &Ctx, req: &Req, entry: &mut LogEntry, in_batch: bool) -> Resp {
    let now = Clock::now();
    let request_id = Uuid::new_v4().to_string();
    let client_request_id = req
        .header("client-request-id")
        .or_else(|| req.header("x-ms-client-request-id"))
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let lower = lower_segments(req);
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let surface = surface_of(&lower, in_batch);

    if surface != Surface::Github
        && let Some(inj) = ctx.faults().injected_error(&req.method, &req.path)
    {
        entry.fault = Some(inj.source);
        peek_caller(req, surface, entry);
        let mut resp = injected_response(
            surface,
            inj,
            &now,
            &request_id,
            &client_request_id,
            req.header("client-request-id"),
        );
        finish_headers(
            &mut resp,
            surface,
            &lower,
            req,
            request_id,
            client_request_id,
        );
        return resp;
    }

    let result = match (surface, lower.as_slice()) {
        (Surface::Token, segments) => {
            let v1 = segments.len() == 3;
            let device = segments.last() == Some(&"devicecode");
            if req.method != "POST" {
                Err(method_not_allowed())
            } else {
                let (resp, tenant, app) = if device {
                    devicecode::start(ctx, req, &req.segments[0])
                } else {
                    token::token_endpoint(ctx, req, &req.segments[0], v1)
                };
                entry.tenant = tenant;
                entry.app = app;
                return resp.with_header("content-type", PLAIN_JSON);
            }
        }
        (Surface::Imds, _) => {
            let (resp, tenant, app) = imds::token(ctx, req);
            entry.tenant = tenant;
            entry.app = app;
            return resp.with_header("content-type", PLAIN_JSON);
        }
        (Surface::Github, _) => {
            return github::token(ctx, req).with_header("content-type", PLAIN_JSON);
        }
        (
            Surface::Portal,
            [
                "api",
                "passwordreset",
                which @ ("passwordresetpolicies" | "onpremisespasswordresetpolicies"),
            ],
        ) => {
            let onprem = *which == "onpremisespasswordresetpolicies";
            portal_route(ctx, req, entry, onprem)
        }
        (_, [version @ ("v1.0" | "beta"), rest @ ..]) => {
            let version = if *version == "beta" { "beta" } else { "v1.0" };
            graph_route(ctx, req, entry, version, rest, in_batch)
        }
        _ => Err(ApiError::new(
            404,
            quirks::UNKNOWN_ROUTE_CODE,
            format!(
                "Resource not found for the segment '{}'.",
                req.segments.last().map(String::as_str).unwrap_or("")
            ),
        )),
    };

    let mut resp = match result {
        Ok(resp) => resp,
        Err(e) => {
            let mut r = Resp::json(e.status, e.body(&request_id, &client_request_id, &now));
            r.headers.extend(e.headers.iter().cloned());
            if e.status == 401 {
                r = r.with_header(
                    "www-authenticate",
                    format!(
                        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"{}\"",
                        token::GRAPH_APP_ID
                    ),
                );
            }
            r
        }
    };
    finish_headers(
        &mut resp,
        surface,
        &lower,
        req,
        request_id,
        client_request_id,
    );
    resp
}

/// Content type, request ids and (Graph) the resource-unit cost.
fn finish_headers(
    resp: &mut Resp,
    surface: Surface,
    lower: &[&str],
    req: &Req,
    request_id: String,
    client_request_id: String,
) {
    let graph = surface == Surface::Graph;
    if resp.body.is_some()
        && !resp
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        let ct = if graph {
            GRAPH_CONTENT_TYPE
        } else {
            PLAIN_JSON
        };
        resp.headers.push(("content-type".into(), ct.into()));
    }
    if matches!(surface, Surface::Graph | Surface::Portal) {
        resp.headers.push(("request-id".into(), request_id));
        resp.headers
            .push(("client-request-id".into(), client_request_id));
    }
    if graph {
        let rest = lower.get(1..).unwrap_or_default();
        resp.headers.push((
            "x-ms-resource-unit".into(),
            resource_units(req, rest).to_string(),
        ));
    }
}

/// Graph's throttling cost of a request (docs/api-surfaces.md §9):
/// 1 by default; `subscribedSkus` 3, `users` 2, group `members` 3,
/// `transitiveMembers` 5; `$select` −1, `$expand` +1, `$top` below 20 −1;
/// never below 1. `rest` is the lower-cased path after the version.
fn resource_units(req: &Req, rest: &[&str]) -> u32 {
    let base: i64 = match rest {
        [.., "subscribedskus"] => 3,
        ["users", ..] => 2,
        ["groups", _, "members", ..] => 3,
        ["groups", _, "transitivemembers", ..] => 5,
        _ => 1,
    };
    let mut cost = base;
    if req.query_param("$select").is_some() {
        cost -= 1;
    }
    if req.query_param("$expand").is_some() {
        cost += 1;
    }
    if req
        .query_param("$top")
        .and_then(|t| t.trim().parse::<u32>().ok())
        .is_some_and(|t| t < 20)
    {
        cost -= 1;
    }
    u32::try_from(cost.max(1)).unwrap_or(1)
}

fn method_not_allowed() -> ApiError {
    ApiError::new(
        405,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    )
}

/// Checks the bearer token of a request for a surface's audience rules.
fn authenticate(req: &Req, surface: Surface) -> Result<Principal, ApiError> {
    let header = req.header("authorization").unwrap_or("");
    let raw = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or(if header.trim().is_empty() { "" } else { header });
    let p =
        token::parse(raw, Clock::now().secs).map_err(|r| ApiError::unauthenticated(r.message()))?;
    match surface {
        Surface::Portal => {
            if !p.aud.eq_ignore_ascii_case(PORTAL_AUDIENCE) {
                return Err(ApiError::unauthenticated(
                    "Access token validation failure. Invalid audience.",
                ));
            }
            if p.idtyp != IdType::User {
                return Err(ApiError::unauthenticated(quirks::PORTAL_APP_TOKEN_MESSAGE));
            }
        }
        Surface::Graph => {
            if !token::is_graph_audience(&p.aud) {
                return Err(ApiError::unauthenticated(
                    "Access token validation failure. Invalid audience.",
                ));
            }
        }
        Surface::Token | Surface::Imds | Surface::Github => {}
    }
    Ok(p)
}

/// What a route requires of the caller: any one of these application
/// permissions (app tokens); user tokens need Global Administrator.
pub(crate) struct Need {
    /// Application permissions, any one of which suffices (docs/api-surfaces.md §10).
    /// Empty means "any authenticated caller".
    pub app_roles: &'static [&'static str],
}

/// Graph read/write permission sets (docs/api-surfaces.md §10, permission matrix).
/// A `X.ReadWrite.Y` grant also satisfies `X.Read.Y` ([`quirks::role_implies`]),
/// so reads list only the read permission plus cross-family grants.
mod needs {
    use super::Need;
    pub const AUTHZ_READ: Need = Need {
        app_roles: &["Policy.Read.All", "Policy.ReadWrite.Authorization"],
    };
    pub const AUTHZ_WRITE: Need = Need {
        app_roles: &["Policy.ReadWrite.Authorization"],
    };
    pub const METHODS_READ: Need = Need {
        app_roles: &["Policy.Read.AuthenticationMethod", "Policy.Read.All"],
    };
    pub const METHODS_WRITE: Need = Need {
        app_roles: &["Policy.ReadWrite.AuthenticationMethod"],
    };
    pub const SETTINGS_READ: Need = Need {
        app_roles: &["Directory.Read.All"],
    };
    pub const SETTINGS_WRITE: Need = Need {
        app_roles: &["Directory.ReadWrite.All"],
    };
    pub const ORGANIZATION_READ: Need = Need {
        app_roles: &["Organization.Read.All", "Directory.Read.All"],
    };
    pub const GROUPS_READ: Need = Need {
        app_roles: &[
            "Group.Read.All",
            "GroupMember.Read.All",
            "Directory.Read.All",
        ],
    };
    pub const REPORT_READ: Need = Need {
        app_roles: &["AuditLog.Read.All"],
    };
    pub const AUDIT_READ: Need = Need {
        app_roles: &["AuditLog.Read.All"],
    };
    pub const PORTAL: Need = Need { app_roles: &[] };
    pub const BATCH: Need = Need { app_roles: &[] };
}

/// Permission enforcement. An app token (client credentials, certificate,
/// federated credential or managed identity) must carry one of
/// `need.app_roles` in `roles`; a user token must carry Global
/// Administrator in `wids`. Otherwise `403 Authorization_RequestDenied`.
fn authorize(p: &Principal, need: &Need) -> Result<(), ApiError> {
    if need.app_roles.is_empty() {
        return Ok(());
    }
    let allowed = match p.idtyp {
        IdType::App => need.app_roles.iter().any(|needed| {
            p.roles
                .iter()
                .any(|granted| quirks::role_implies(granted, needed))
        }),
        IdType::User => p.wids.iter().any(|w| {
            quirks::DELEGATED_GRAPH_ROLES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(w))
        }),
    };
    if allowed {
        Ok(())
    } else {
        tracing::debug!(tenant = %p.tid, app = %p.appid, needs = ?need.app_roles, has = ?p.roles, "permission denied");
        Err(ApiError::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ))
    }
}

fn portal_route(
    ctx: &Ctx,
    req: &Req,
    entry: &mut LogEntry,
    onprem: bool,
) -> Result<Resp, ApiError> {
    if req.method != "GET" && req.method != "PUT" {
        return Err(method_not_allowed());
    }
    let p = authenticate(req, Surface::Portal)?;
    entry.tenant = Some(p.tid.clone());
    entry.app = Some(p.appid.clone());
    authorize(&p, &needs::PORTAL)?;
    let family = if onprem {
        "onPremisesPasswordResetPolicies"
    } else {
        "passwordResetPolicies"
    };
    let consistency = Consistency::begin(ctx, &p.tid, Some(family), req.method != "GET");
    let result = match (onprem, req.method.as_str()) {
        (false, "GET") => portal::get_policies(ctx, req, &p, consistency.view()),
        (false, _) => portal::put_policies(ctx, req, &p),
        (true, "GET") => portal::get_onprem(ctx, &p, consistency.view()),
        (true, _) => portal::put_onprem(ctx, req, &p),
    };
    consistency.end(ctx, &p.tid, &result);
    result
}

/// Stale reads (fault `staleReadsMs`) around one request: a pre-write copy
/// taken before a write, or the copy a read must be answered from.
enum Consistency {
    /// Nothing to do (no window, or an object without staleness).
    Fresh,
    /// A read inside a window: answer from this copy.
    Stale(Arc<Tenant>),
    /// A write: on success, reads of `family` see `before` for `window`.
    Write {
        family: &'static str,
        before: Arc<Tenant>,
        window: Duration,
    },
}

impl Consistency {
    fn begin(ctx: &Ctx, tid: &str, family: Option<&'static str>, write: bool) -> Self {
        let window = ctx.faults().stale_reads();
        let Some(family) = family.filter(|_| !window.is_zero()) else {
            return Consistency::Fresh;
        };
        if !write {
            return ctx
                .stale_view(tid, family)
                .map_or(Consistency::Fresh, Consistency::Stale);
        }
        match ctx.tenant_snapshot(tid) {
            Some(before) => Consistency::Write {
                family,
                before,
                window,
            },
            None => Consistency::Fresh,
        }
    }

    fn view(&self) -> Option<&Tenant> {
        match self {
            Consistency::Stale(t) => Some(t),
            _ => None,
        }
    }

    fn end(self, ctx: &Ctx, tid: &str, result: &Result<Resp, ApiError>) {
        if let (
            Consistency::Write {
                family,
                before,
                window,
            },
            Ok(resp),
        ) = (self, result)
            && (200..300).contains(&resp.status)
        {
            ctx.record_stale(tid, family, before, window);
        }
    }
}

/// Everything a Graph handler needs.
pub(crate) struct Call<'a> {
    /// Shared context.
    pub ctx: &'a Ctx,
    /// The request.
    pub req: &'a Req,
    /// The authenticated caller.
    pub p: &'a Principal,
    /// `v1.0` or `beta`.
    pub version: &'static str,
    /// A pre-write copy of the tenant that reads must be answered from
    /// (fault `staleReadsMs`), if a stale window is open.
    pub stale: Option<&'a Tenant>,
}

impl Call<'_> {
    /// Runs `f` on the caller's tenant as this request must see it: the
    /// stale copy inside a stale-read window, the live tenant otherwise.
    pub fn read<T>(&self, f: impl FnOnce(&Tenant) -> Result<T, ApiError>) -> Result<T, ApiError> {
        read_view(self.ctx, &self.p.tid, self.stale, f)
    }
}

fn graph_route(
    ctx: &Ctx,
    req: &Req,
    entry: &mut LogEntry,
    version: &'static str,
    rest: &[&str],
    in_batch: bool,
) -> Result<Resp, ApiError> {
    // Original-case segments after the version, for ids.
    let orig = &req.segments[1..];
    let id = |i: usize| orig.get(i).cloned().unwrap_or_default();
    let beta = version == "beta";
    let m = req.method.as_str();
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum R {
        Authz,
        AuthzItem,
        Methods,
        MethodConfigs,
        MethodConfig,
        GroupSettings,
        GroupSetting,
        Templates,
        Template,
        Organization,
        OrganizationItem,
        Skus,
        Groups,
        Group,
        Report,
        ReportItem,
        Members,
        Audits,
        Summary,
        Batch,
    }
    let route = match rest {
        ["policies", "authorizationpolicy"] => R::Authz,
        ["policies", "authorizationpolicy", _] if beta => R::AuthzItem,
        ["policies", "authenticationmethodspolicy"] => R::Methods,
        [
            "policies",
            "authenticationmethodspolicy",
            "authenticationmethodconfigurations",
        ] => R::MethodConfigs,
        [
            "policies",
            "authenticationmethodspolicy",
            "authenticationmethodconfigurations",
            _,
        ] => R::MethodConfig,
        ["groupsettings"] => R::GroupSettings,
        ["settings"] if beta => R::GroupSettings,
        ["groupsettings", _] => R::GroupSetting,
        ["settings", _] if beta => R::GroupSetting,
        ["groupsettingtemplates"] => R::Templates,
        ["directorysettingtemplates"] if beta => R::Templates,
        ["groupsettingtemplates", _] => R::Template,
        ["directorysettingtemplates", _] if beta => R::Template,
        ["organization"] => R::Organization,
        ["organization", _] => R::OrganizationItem,
        ["subscribedskus"] => R::Skus,
        ["groups"] => R::Groups,
        ["groups", _] => R::Group,
        ["groups", _, "transitivemembers"] => R::Members,
        ["groups", _, "transitivemembers", "microsoft.graph.user"] => R::Members,
        [
            "reports",
            "authenticationmethods",
            "userregistrationdetails",
        ] => R::Report,
        [
            "reports",
            "authenticationmethods",
            "userregistrationdetails",
            _,
        ] => R::ReportItem,
        ["reports", "authenticationmethods", f] if report::summary_kind(f).is_some() => R::Summary,
        ["auditlogs", "directoryaudits"] => R::Audits,
        ["$batch"] => R::Batch,
        _ => {
            let segment = orig.last().map(String::as_str).unwrap_or(version);
            return Err(ApiError::new(
                404,
                quirks::UNKNOWN_ROUTE_CODE,
                format!("Resource not found for the segment '{segment}'."),
            ));
        }
    };
    let allowed: &[&str] = match route {
        R::Authz if beta => quirks::BETA_AUTHORIZATION_POLICY_COLLECTION_METHODS,
        R::Authz | R::AuthzItem | R::Methods => &["GET", "PATCH"],
        R::MethodConfig | R::GroupSetting => &["GET", "PATCH", "DELETE"],
        R::GroupSettings => &["GET", "POST"],
        R::Batch => &["POST"],
        _ => &["GET"],
    };
    if !allowed.contains(&m) {
        return Err(method_not_allowed());
    }
    let p = authenticate(req, Surface::Graph)?;
    entry.tenant = Some(p.tid.clone());
    entry.app = Some(p.appid.clone());
    let write = m != "GET";
    let need = match route {
        R::Authz | R::AuthzItem if write => &needs::AUTHZ_WRITE,
        R::Authz | R::AuthzItem => &needs::AUTHZ_READ,
        R::Methods | R::MethodConfigs | R::MethodConfig if write => &needs::METHODS_WRITE,
        R::Methods | R::MethodConfigs | R::MethodConfig => &needs::METHODS_READ,
        R::GroupSettings | R::GroupSetting if write => &needs::SETTINGS_WRITE,
        R::GroupSettings | R::GroupSetting | R::Templates | R::Template => &needs::SETTINGS_READ,
        R::Organization | R::OrganizationItem | R::Skus => &needs::ORGANIZATION_READ,
        R::Groups | R::Group | R::Members => &needs::GROUPS_READ,
        R::Report | R::ReportItem | R::Summary => &needs::REPORT_READ,
        R::Audits => &needs::AUDIT_READ,
        R::Batch => &needs::BATCH,
    };
    authorize(&p, need)?;

    // Throttling: every request but the `$batch` envelope (its sub-requests
    // are charged one by one).
    let mut limit_percentage = None;
    if route != R::Batch {
        match ctx.charge(&p, resource_units(req, rest), write) {
            Charge::Allowed {
                limit_percentage: pct,
            } => limit_percentage = pct,
            Charge::Throttled {
                retry_after,
                scope,
                information,
            } => {
                entry.fault = Some("throttle");
                let (code, message) = quirks::throttled_error(retry_after);
                return Err(ApiError::new(429, code, message)
                    .with_header("retry-after", retry_after.to_string())
                    .with_header("x-ms-throttle-scope", scope)
                    .with_header("x-ms-throttle-information", information));
            }
        }
    }

    let family = match route {
        R::Authz | R::AuthzItem => Some("authorizationPolicy"),
        R::Methods | R::MethodConfigs | R::MethodConfig => Some("authenticationMethodsPolicy"),
        R::GroupSettings | R::GroupSetting => Some("groupSettings"),
        _ => None,
    };
    let consistency = Consistency::begin(ctx, &p.tid, family, write);
    let call = Call {
        ctx,
        req,
        p: &p,
        version,
        stale: consistency.view(),
    };
    let result = match (route, m) {
        (R::Authz, "GET") => policies::get_authorization_policy(&call),
        (R::Authz, _) => policies::patch_authorization_policy(&call),
        (R::AuthzItem, "GET") => policies::get_authorization_policy_item(&call, &id(2)),
        (R::AuthzItem, _) => policies::patch_authorization_policy_item(&call, &id(2)),
        (R::Methods, "GET") => policies::get_methods_policy(&call),
        (R::Methods, _) => policies::patch_methods_policy(&call),
        (R::MethodConfigs, _) => policies::list_method_configurations(&call),
        (R::MethodConfig, "GET") => policies::get_method_configuration(&call, &id(3)),
        (R::MethodConfig, "PATCH") => policies::patch_method_configuration(&call, &id(3)),
        (R::MethodConfig, _) => policies::delete_method_configuration(&call, &id(3)),
        (R::GroupSettings, "GET") => settings::list(&call),
        (R::GroupSettings, _) => settings::create(&call),
        (R::GroupSetting, "GET") => settings::get(&call, &id(1)),
        (R::GroupSetting, "PATCH") => settings::update(&call, &id(1)),
        (R::GroupSetting, _) => settings::delete(&call, &id(1)),
        (R::Templates, _) => settings::list_templates(&call),
        (R::Template, _) => settings::get_template(&call, &id(1)),
        (R::Organization, _) => directory::list_organization(&call),
        (R::OrganizationItem, _) => directory::get_organization(&call, &id(1)),
        (R::Skus, _) => directory::list_subscribed_skus(&call),
        (R::Groups, _) => directory::list_groups(&call),
        (R::Group, _) => directory::get_group(&call, &id(1)),
        (R::Report, _) => report::list(&call),
        (R::ReportItem, _) => report::get(&call, &id(3)),
        (R::Members, _) => report::transitive_members(&call, &id(1)),
        (R::Audits, _) => audit::list(&call),
        (R::Summary, _) => report::summary(&call, &id(2)),
        (R::Batch, _) if in_batch => Err(ApiError::bad_request(quirks::NESTED_BATCH_MESSAGE)),
        (R::Batch, _) => batch::run(&call, &mut entry.sub_requests),
    };
    consistency.end(ctx, &p.tid, &result);
    result.map(|mut resp| {
        if let Some(pct) = limit_percentage {
            resp.headers
                .push(("x-ms-throttle-limit-percentage".into(), format!("{pct:.2}")));
        }
        resp
    })
}
