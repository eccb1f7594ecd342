//! The server: shared context (state, state file, request log), the HTTP
//! glue (axum), routing, authentication and the placeholder for permission
//! checks.
//!
//! Routing is done here by hand rather than with axum's router, so that
//! `$batch` sub-requests go through exactly the same dispatcher, logging and
//! error rendering as requests from the socket.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::state::{self, State, Tenant};
use crate::token::{self, IdType, Principal};
use crate::wire::{ApiError, Clock, Req, Resp};
use crate::{
    Error, Options, PORTAL_AUDIENCE, batch, directory, policies, portal, quirks, settings,
};

/// Largest request body accepted, in bytes.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Most request-log entries kept; the oldest are dropped first.
const MAX_LOG_ENTRIES: usize = 100_000;

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
    /// Response status.
    pub status: u16,
    /// Tenant the request concerned, when known.
    pub tenant: Option<String>,
    /// `$batch` sub-requests, in the order they ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_requests: Vec<LogEntry>,
}

impl LogEntry {
    fn for_request(req: &Req) -> Self {
        LogEntry {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.raw_query.clone(),
            status: 0,
            tenant: None,
            sub_requests: Vec::new(),
        }
    }
}

/// State shared by every request.
pub(crate) struct Ctx {
    state: Mutex<State>,
    state_file: Option<PathBuf>,
    auto_create: bool,
    log: Mutex<VecDeque<LogEntry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a half-written tenant:
    // writes swap in a fully built clone. So a poisoned lock is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Ctx {
    fn new(state: State, state_file: Option<PathBuf>, auto_create: bool) -> Self {
        Ctx {
            state: Mutex::new(state),
            state_file,
            auto_create,
            log: Mutex::new(VecDeque::new()),
        }
    }

    fn persist(&self, state: &State) -> std::io::Result<()> {
        match &self.state_file {
            Some(path) => state::persist(path, state),
            None => Ok(()),
        }
    }

    /// Whether tenant `tid` exists, creating it (and persisting) when
    /// auto-creation is on. `Err` carries a message if persisting failed.
    pub(crate) fn tenant_exists_or_create(&self, tid: &str) -> Result<bool, String> {
        let mut st = lock(&self.state);
        if st.tenants.contains_key(tid) {
            return Ok(true);
        }
        if !self.auto_create || !quirks::tenant_id_can_be_auto_created(tid) {
            return Ok(false);
        }
        st.tenants
            .insert(tid.to_string(), crate::defaults::fresh_tenant(tid));
        if let Err(e) = self.persist(&st) {
            st.tenants.remove(tid);
            tracing::error!(error = %e, "could not persist the emulator state");
            return Err(format!("could not persist the emulator state: {e}"));
        }
        tracing::info!(tenant = tid, "created a fresh tenant");
        Ok(true)
    }

    /// Runs `f` on tenant `tid`.
    pub(crate) fn read_tenant<T>(
        &self,
        tid: &str,
        f: impl FnOnce(&Tenant) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let st = lock(&self.state);
        let tenant = st.tenants.get(tid).ok_or_else(unknown_tenant)?;
        f(tenant)
    }

    /// Runs `f` on a copy of tenant `tid`; if it succeeds and changed
    /// anything, the copy replaces the tenant and the state is persisted
    /// before the lock is released. On any error nothing changes.
    pub(crate) fn write_tenant<T>(
        &self,
        tid: &str,
        f: impl FnOnce(&mut Tenant) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut st = lock(&self.state);
        let original = st.tenants.get(tid).ok_or_else(unknown_tenant)?.clone();
        let mut updated = original.clone();
        let out = f(&mut updated)?;
        if updated == original {
            return Ok(out);
        }
        st.tenants.insert(tid.to_string(), updated);
        if let Err(e) = self.persist(&st) {
            st.tenants.insert(tid.to_string(), original);
            tracing::error!(error = %e, "could not persist the emulator state");
            return Err(ApiError::internal(format!(
                "The emulator could not persist its state: {e}"
            )));
        }
        Ok(out)
    }

    fn record(&self, entry: LogEntry) {
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOG_ENTRIES {
            log.pop_front();
        }
        log.push_back(entry);
    }
}

fn unknown_tenant() -> ApiError {
    ApiError::unauthenticated(quirks::UNKNOWN_TENANT_IN_TOKEN_MESSAGE)
}

/// A running emulator. Dropping it without [`Handle::shutdown`] also stops
/// the server (the shutdown signal's sender is dropped), without waiting.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Handle {
    /// The address the server listens on (with the real port when `:0` was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, usable as the base of every endpoint (token endpoint,
    /// portal API and Graph). An unspecified listen address is shown as loopback.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Stops accepting connections, lets in-flight requests finish and waits
    /// for the server task. Every successful write was already persisted.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the emulator task ended abnormally");
        }
    }
}

/// Binds `options.listen`, loads the state file and serves in a background task.
pub async fn spawn(options: Options) -> Result<Handle, Error> {
    let state = match &options.state_file {
        Some(path) => state::load(path)?,
        None => State::default(),
    };
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
    let ctx = Arc::new(Ctx::new(
        state,
        options.state_file,
        options.auto_create_tenants,
    ));
    let app = Router::new().fallback(entry).with_state(ctx);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the emulator server failed");
        }
    });
    tracing::info!(%addr, "emulator listening");
    Ok(Handle {
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// The single axum handler: collect the request, dispatch it on a blocking
/// thread (state writes touch the file system), render the response.
async fn entry(
    AxumState(ctx): AxumState<Arc<Ctx>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => return plain_status(StatusCode::PAYLOAD_TOO_LARGE),
    };
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let req = Req::new(parts.method.as_str(), &target, headers, bytes);
    let resp = match tokio::task::spawn_blocking(move || handle(&ctx, &req)).await {
        Ok(resp) => resp,
        Err(_) => return plain_status(StatusCode::INTERNAL_SERVER_ERROR),
    };
    to_http(resp)
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

/// Handles one request from the socket, recording it in the request log
/// (except the log endpoints themselves).
fn handle(ctx: &Ctx, req: &Req) -> Resp {
    let lower: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if lower.len() == 2 && lower[0] == "_emulator" && lower[1] == "requests" {
        return request_log(ctx, req);
    }
    let mut entry = LogEntry::for_request(req);
    let resp = dispatch(ctx, req, &mut entry, false);
    entry.status = resp.status;
    ctx.record(entry);
    resp
}

fn request_log(ctx: &Ctx, req: &Req) -> Resp {
    match req.method.as_str() {
        "GET" => {
            let log = lock(&ctx.log);
            let entries: Vec<&LogEntry> = log.iter().collect();
            Resp::json(200, json!(entries)).with_header("content-type", PLAIN_JSON)
        }
        "DELETE" => {
            lock(&ctx.log).clear();
            Resp::no_content()
        }
        _ => Resp::json(405, json!({"error": "method not allowed"}))
            .with_header("content-type", PLAIN_JSON),
    }
}

/// Which family of API a path belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Token,
    Portal,
    Graph,
}

/// Dispatches one request (from the socket or from `$batch`), filling in the
/// log entry's tenant and sub-requests. Always returns a complete response.
pub(crate) fn dispatch(ctx: &Ctx, req: &Req, entry: &mut LogEntry, in_batch: bool) -> Resp {
    let now = Clock::now();
    let request_id = Uuid::new_v4().to_string();
    let client_request_id = req
        .header("client-request-id")
        .or_else(|| req.header("x-ms-client-request-id"))
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let lower: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();

    let (surface, result) = match lower.as_slice() {
        [_, "oauth2", "v2.0", "token"] | [_, "oauth2", "token"] if !in_batch => {
            let v1 = lower.len() == 3;
            if req.method != "POST" {
                (Surface::Token, Err(method_not_allowed()))
            } else {
                let (resp, tenant) = token::token_endpoint(ctx, req, &req.segments[0], v1);
                entry.tenant = tenant;
                return resp.with_header("content-type", PLAIN_JSON);
            }
        }
        [
            "api",
            "passwordreset",
            which @ ("passwordresetpolicies" | "onpremisespasswordresetpolicies"),
        ] if !in_batch => {
            let onprem = *which == "onpremisespasswordresetpolicies";
            (Surface::Portal, portal_route(ctx, req, entry, onprem))
        }
        [version @ ("v1.0" | "beta"), rest @ ..] => {
            let version = if *version == "beta" { "beta" } else { "v1.0" };
            (
                Surface::Graph,
                graph_route(ctx, req, entry, version, rest, in_batch),
            )
        }
        _ => (
            Surface::Graph,
            Err(ApiError::new(
                404,
                quirks::UNKNOWN_ROUTE_CODE,
                format!(
                    "Resource not found for the segment '{}'.",
                    req.segments.last().map(String::as_str).unwrap_or("")
                ),
            )),
        ),
    };

    let mut resp = match result {
        Ok(resp) => resp,
        Err(e) => {
            let mut r = Resp::json(e.status, e.body(&request_id, &client_request_id, &now));
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
    if resp.body.is_some()
        && !resp
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        let ct = if surface == Surface::Graph {
            GRAPH_CONTENT_TYPE
        } else {
            PLAIN_JSON
        };
        resp.headers.push(("content-type".into(), ct.into()));
    }
    resp.headers.push(("request-id".into(), request_id));
    resp.headers
        .push(("client-request-id".into(), client_request_id));
    if surface == Surface::Graph {
        resp.headers.push((
            "x-ms-resource-unit".into(),
            resource_units(req, &lower).to_string(),
        ));
    }
    resp
}

/// Graph's throttling cost of a request (api-surface §9), for benchmarks.
fn resource_units(req: &Req, lower: &[&str]) -> u32 {
    let base: u32 = if lower.last() == Some(&"subscribedskus") {
        3
    } else {
        1
    };
    if req.query_param("$select").is_some() {
        base.saturating_sub(1).max(1)
    } else {
        base
    }
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
        Surface::Token => {}
    }
    Ok(p)
}

/// What a route requires of the caller: any one of these application
/// permissions (app tokens) or delegated directory roles (user tokens).
pub(crate) struct Need {
    /// Application permissions, any one of which suffices (api-surface §10).
    pub app_roles: &'static [&'static str],
}

/// Graph read/write permission sets (api-surface §10, permission matrix).
mod needs {
    use super::Need;
    pub const AUTHZ_READ: Need = Need {
        app_roles: &["Policy.Read.All", "Policy.ReadWrite.Authorization"],
    };
    pub const AUTHZ_WRITE: Need = Need {
        app_roles: &["Policy.ReadWrite.Authorization"],
    };
    pub const METHODS_READ: Need = Need {
        app_roles: &[
            "Policy.Read.AuthenticationMethod",
            "Policy.ReadWrite.AuthenticationMethod",
            "Policy.Read.All",
        ],
    };
    pub const METHODS_WRITE: Need = Need {
        app_roles: &["Policy.ReadWrite.AuthenticationMethod"],
    };
    pub const SETTINGS_READ: Need = Need {
        app_roles: &["Directory.Read.All", "Directory.ReadWrite.All"],
    };
    pub const SETTINGS_WRITE: Need = Need {
        app_roles: &["Directory.ReadWrite.All"],
    };
    pub const ORGANIZATION_READ: Need = Need {
        app_roles: &[
            "Organization.Read.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    };
    pub const GROUPS_READ: Need = Need {
        app_roles: &[
            "Group.Read.All",
            "GroupMember.Read.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    };
    pub const PORTAL: Need = Need { app_roles: &[] };
    pub const BATCH: Need = Need { app_roles: &[] };
}

/// THE place for permission enforcement. Not enforced yet: every
/// authenticated caller is allowed. When enforced, an app token must carry
/// one of `need.app_roles` and a user token a suitable directory role;
/// otherwise `403 Authorization_RequestDenied` "Insufficient privileges to
/// complete the operation.".
fn authorize(p: &Principal, need: &Need) -> Result<(), ApiError> {
    tracing::trace!(
        tenant = %p.tid,
        needs = ?need.app_roles,
        has = ?p.roles,
        "permission check (not enforced)"
    );
    Ok(())
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
    authorize(&p, &needs::PORTAL)?;
    match (onprem, req.method.as_str()) {
        (false, "GET") => portal::get_policies(ctx, req, &p),
        (false, _) => portal::put_policies(ctx, req, &p),
        (true, "GET") => portal::get_onprem(ctx, &p),
        (true, _) => portal::put_onprem(ctx, req, &p),
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
    #[derive(Clone, Copy)]
    enum R {
        Authz,
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
        Batch,
    }
    let route = match rest {
        ["policies", "authorizationpolicy"] => R::Authz,
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
        R::Authz | R::Methods => &["GET", "PATCH"],
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
    let write = m != "GET";
    let need = match route {
        R::Authz if write => &needs::AUTHZ_WRITE,
        R::Authz => &needs::AUTHZ_READ,
        R::Methods | R::MethodConfigs | R::MethodConfig if write => &needs::METHODS_WRITE,
        R::Methods | R::MethodConfigs | R::MethodConfig => &needs::METHODS_READ,
        R::GroupSettings | R::GroupSetting if write => &needs::SETTINGS_WRITE,
        R::GroupSettings | R::GroupSetting | R::Templates | R::Template => &needs::SETTINGS_READ,
        R::Organization | R::OrganizationItem | R::Skus => &needs::ORGANIZATION_READ,
        R::Groups | R::Group => &needs::GROUPS_READ,
        R::Batch => &needs::BATCH,
    };
    authorize(&p, need)?;
    let call = Call {
        ctx,
        req,
        p: &p,
        version,
    };
    match (route, m) {
        (R::Authz, "GET") => policies::get_authorization_policy(&call),
        (R::Authz, _) => policies::patch_authorization_policy(&call),
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
        (R::Batch, _) if in_batch => Err(ApiError::bad_request(quirks::NESTED_BATCH_MESSAGE)),
        (R::Batch, _) => batch::run(&call, &mut entry.sub_requests),
    }
}
