//! The HTTP provider: tokens, Graph `$batch` reads, portal reads in parallel,
//! writes by each API's rules, bounded retries.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssprctl_model::{
    Api, GroupInfo, ObservedTenant, Population, RegisteredUser, Settings, Tenant, Unreadable,
};
use tokio::sync::Mutex;

use crate::Provider;
use crate::auth::{AppCredential, JWT_BEARER, Secret, allowed_url};
use crate::clouds::{Hosts, PORTAL_CLIENT_ID, PORTAL_RESOURCE};
use crate::error::{ProviderError, one_line};
use crate::store::TokenStore;
use crate::wire;

/// A delegated administrator's refresh token, for the portal surfaces.
#[derive(Clone, Debug)]
pub struct PortalCredential {
    /// The public client the token was issued to.
    pub client_id: String,
    /// The refresh token.
    pub refresh_token: Secret,
    /// Where rotated refresh tokens are saved back (`ssprctl login` tokens).
    pub store: Option<TokenStore>,
}

/// Everything needed to talk to one tenant.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The directory id.
    pub tenant_id: String,
    /// Its hosts.
    pub hosts: Hosts,
    /// Credential for Graph, or why there is none.
    pub graph: Result<AppCredential, String>,
    /// Credential for the portal API, or why there is none.
    pub portal: Result<PortalCredential, String>,
}

impl Connection {
    /// A connection to an emulator, with the emulator's well-known development
    /// credentials (not secrets: every emulator tenant has them).
    pub fn emulator(
        tenant_id: &str,
        base_url: &str,
        client_id: &str,
        client_secret: &str,
        admin_refresh_token: &str,
    ) -> Connection {
        Connection {
            tenant_id: tenant_id.to_string(),
            hosts: Hosts::emulator(base_url),
            graph: Ok(AppCredential::ClientSecret {
                client_id: client_id.into(),
                secret: Secret::new(client_secret),
            }),
            portal: Ok(PortalCredential {
                client_id: PORTAL_CLIENT_ID.into(),
                refresh_token: Secret::new(admin_refresh_token),
                store: None,
            }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Audience {
    Graph,
    Portal,
}

/// A freshly issued token.
struct Fetched {
    access: Secret,
    expires_in: u64,
    refresh: Option<Secret>,
}

impl Fetched {
    /// From a token endpoint's (or IMDS's) JSON; `expires_in` may be a string.
    fn from_json(api: Api, body: &Value) -> Result<Fetched, ProviderError> {
        let access = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Unexpected {
                api,
                detail: "token response without access_token".into(),
            })?;
        let expires_in = body
            .get("expires_in")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3599)
            .max(1);
        Ok(Fetched {
            access: Secret::new(access),
            expires_in,
            refresh: body
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(Secret::new),
        })
    }
}

struct CachedToken {
    access: Secret,
    refresh_at: Instant,
}

/// Group lookups (the SSPR group by id or name).
const GROUP_READ: Need = Need::Permission("Group.Read.All");

/// Which permission a request needs: named in the hint of a 403.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// The surface's read permission.
    Read,
    /// The surface's write permission.
    Write,
    /// A permission of its own (lookups, facts, reports).
    Permission(&'static str),
}

impl Need {
    fn for_method(method: &Method) -> Need {
        if *method == Method::GET {
            Need::Read
        } else {
            Need::Write
        }
    }
}

/// The GET sub-requests of one read, each with an id and the surface it serves.
#[derive(Default)]
struct ReadBatch {
    requests: Vec<(String, Api, String, Need)>,
}

impl ReadBatch {
    fn add(&mut self, id: &str, api: Api, url: &str) {
        self.add_needing(id, api, url, Need::Read);
    }

    /// A sub-request that needs a permission other than the surface's read.
    fn add_needing(&mut self, id: &str, api: Api, url: &str, need: Need) {
        self.requests
            .push((id.to_string(), api, url.to_string(), need));
    }
}

/// Retry policy for throttling and transient failures.
const MAX_ATTEMPTS: u32 = 4;
const BASE_BACKOFF: Duration = Duration::from_millis(400);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The real HTTP provider (Graph + portal), used for Microsoft clouds and the
/// emulator alike.
pub struct HttpProvider {
    http: reqwest::Client,
    connections: HashMap<String, Connection>,
    tokens: Mutex<HashMap<(String, Audience), CachedToken>>,
    /// Refresh tokens rotated by the token endpoint, per tenant.
    rotated: Mutex<HashMap<String, Secret>>,
}

impl HttpProvider {
    /// A provider for these tenants, keyed by tenant name.
    pub fn new(connections: HashMap<String, Connection>) -> Result<HttpProvider, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("ssprctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .https_only(false)
            .build()?;
        Ok(HttpProvider {
            http,
            connections,
            tokens: Mutex::new(HashMap::new()),
            rotated: Mutex::new(HashMap::new()),
        })
    }

    fn conn(&self, tenant: &Tenant, api: Api) -> Result<&Connection, ProviderError> {
        self.connections
            .get(&tenant.name)
            .ok_or_else(|| ProviderError::NoCredential {
                api,
                hint: format!("no connection configured for tenant {}", tenant.name),
            })
    }

    async fn token(
        &self,
        conn: &Connection,
        audience: Audience,
        api: Api,
    ) -> Result<Secret, ProviderError> {
        let key = (conn.tenant_id.clone(), audience);
        if let Some(t) = self.tokens.lock().await.get(&key)
            && Instant::now() < t.refresh_at
        {
            return Ok(t.access.clone());
        }
        let fetched = match audience {
            Audience::Graph => self.graph_token(conn, api).await?,
            Audience::Portal => self.portal_token(conn, api).await?,
        };
        if let Some(rotated) = fetched.refresh {
            self.rotated
                .lock()
                .await
                .insert(conn.tenant_id.clone(), rotated.clone());
            if let Ok(PortalCredential {
                client_id,
                store: Some(store),
                ..
            }) = &conn.portal
                && let Err(e) = store.save_portal(&conn.tenant_id, client_id, &rotated, None)
            {
                tracing::warn!("could not save the rotated refresh token: {e}");
            }
        }
        // Refresh five minutes before expiry (or halfway, for short tokens).
        let margin = 300.min(fetched.expires_in / 2);
        let refresh_at = Instant::now() + Duration::from_secs(fetched.expires_in - margin);
        let access = fetched.access;
        self.tokens.lock().await.insert(
            key,
            CachedToken {
                access: access.clone(),
                refresh_at,
            },
        );
        Ok(access)
    }

    async fn graph_token(&self, conn: &Connection, api: Api) -> Result<Fetched, ProviderError> {
        let cred = conn
            .graph
            .as_ref()
            .map_err(|hint| ProviderError::NoCredential {
                api,
                hint: hint.clone(),
            })?;
        let token_url = format!("{}/{}/oauth2/v2.0/token", conn.hosts.login, conn.tenant_id);
        let credential_error = |detail: String| ProviderError::Credential {
            method: cred.method(),
            detail,
        };
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("scope", conn.hosts.graph_scope.clone()),
        ];
        let (client_id, assertion) = match cred {
            AppCredential::ClientSecret { client_id, secret } => {
                form.push(("client_secret", secret.expose().to_string()));
                (client_id, None)
            }
            AppCredential::Certificate { client_id, signer } => (
                client_id,
                Some(
                    signer
                        .assertion(client_id, &token_url)
                        .map_err(credential_error)?,
                ),
            ),
            AppCredential::FederatedTokenFile { client_id, path } => {
                let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                    credential_error(format!(
                        "cannot read the federated token file {}: {e}",
                        path.display()
                    ))
                })?;
                (client_id, Some(text.trim().to_string()))
            }
            AppCredential::GithubActions {
                client_id,
                audience,
                request_url,
                request_token,
            } => {
                let sep = if request_url.contains('?') { '&' } else { '?' };
                let url = format!("{request_url}{sep}audience={}", encode(audience));
                let (_, body) = self
                    .send_checked(
                        api,
                        self.http.get(&url).bearer_auth(request_token.expose()),
                        &url,
                    )
                    .await
                    .map_err(|e| {
                        credential_error(format!(
                            "the GitHub Actions runner refused the OIDC token request: {}",
                            one_line(&e)
                        ))
                    })?;
                let value = body.get("value").and_then(Value::as_str).ok_or_else(|| {
                    credential_error("the runner's OIDC answer has no `value`".into())
                })?;
                (client_id, Some(value.to_string()))
            }
            AppCredential::ManagedIdentity {
                client_id,
                endpoint,
            } => {
                return self
                    .managed_identity_token(conn, api, client_id.as_deref(), endpoint)
                    .await;
            }
            AppCredential::AzureCli => return self.azure_cli_token(conn).await,
        };
        form.push(("client_id", client_id.clone()));
        if let Some(assertion) = assertion {
            form.push(("client_assertion_type", JWT_BEARER.into()));
            form.push(("client_assertion", assertion));
        }
        self.oauth(api, "Microsoft Graph", &token_url, &form).await
    }

    async fn portal_token(&self, conn: &Connection, api: Api) -> Result<Fetched, ProviderError> {
        let cred = conn
            .portal
            .as_ref()
            .map_err(|hint| ProviderError::NoCredential {
                api,
                hint: hint.clone(),
            })?;
        let refresh = match self.rotated.lock().await.get(&conn.tenant_id) {
            Some(r) => r.clone(),
            None => cred.refresh_token.clone(),
        };
        let token_url = format!("{}/{}/oauth2/v2.0/token", conn.hosts.login, conn.tenant_id);
        let form: Vec<(&str, String)> = vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", cred.client_id.clone()),
            ("refresh_token", refresh.expose().to_string()),
            (
                "scope",
                format!("{PORTAL_RESOURCE}/.default offline_access"),
            ),
        ];
        self.oauth(api, "the Entra portal API", &token_url, &form)
            .await
    }

    /// A token request to an OAuth token endpoint.
    async fn oauth(
        &self,
        api: Api,
        purpose: &'static str,
        url: &str,
        form: &[(&str, String)],
    ) -> Result<Fetched, ProviderError> {
        // The token endpoint can be throttled or briefly unavailable too.
        let mut attempt = 1;
        let (status, body) = loop {
            let sent = self
                .send_json(api, self.http.post(url).form(form), url)
                .await;
            let transient = match &sent {
                Ok((status, _)) => matches!(status.as_u16(), 429 | 500 | 503 | 504),
                Err(ProviderError::Transport { .. }) => true,
                Err(_) => false,
            };
            if transient && attempt < MAX_ATTEMPTS {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                continue;
            }
            break sent?;
        };
        if !status.is_success() {
            return Err(ProviderError::Token {
                purpose,
                status: status.as_u16(),
                code: body
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown_error")
                    .to_string(),
                description: body
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("no description")
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Fetched::from_json(api, &body)
    }

    async fn managed_identity_token(
        &self,
        conn: &Connection,
        api: Api,
        client_id: Option<&str>,
        endpoint: &str,
    ) -> Result<Fetched, ProviderError> {
        let resource = conn
            .hosts
            .graph_scope
            .trim_end_matches("/.default")
            .to_string()
            + "/";
        let mut url = format!(
            "{endpoint}?api-version=2018-02-01&resource={}",
            encode(&resource)
        );
        if let Some(id) = client_id {
            url.push_str(&format!("&client_id={}", encode(id)));
        }
        let (_, body) = self
            .send_checked(api, self.http.get(&url).header("Metadata", "true"), &url)
            .await
            .map_err(|e| ProviderError::Credential {
                method: "managed identity",
                detail: format!(
                    "the instance metadata service refused: {}",
                    strip_api_prefix(&one_line(&e))
                ),
            })?;
        Fetched::from_json(api, &body)
    }

    async fn azure_cli_token(&self, conn: &Connection) -> Result<Fetched, ProviderError> {
        let resource = conn
            .hosts
            .graph_scope
            .trim_end_matches("/.default")
            .to_string();
        let fail = |detail: String| ProviderError::Credential {
            method: "Azure CLI",
            detail,
        };
        let out = tokio::process::Command::new("az")
            .args([
                "account",
                "get-access-token",
                "--resource",
                &resource,
                "--tenant",
                &conn.tenant_id,
                "--output",
                "json",
            ])
            .output()
            .await
            .map_err(|e| {
                fail(format!(
                    "cannot run `az` ({e}); install the Azure CLI and run `az login`"
                ))
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(fail(format!(
                "`az account get-access-token` failed: {}; run `az login --tenant {}`",
                err.lines().next().unwrap_or("no output"),
                conn.tenant_id
            )));
        }
        let body: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| fail(format!("unexpected output from az: {e}")))?;
        let access = body
            .get("accessToken")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("no accessToken in az output".into()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let expires_on = body.get("expires_on").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        Ok(Fetched {
            access: Secret::new(access),
            expires_in: expires_on.map_or(600, |t| t.saturating_sub(now)).max(60),
            refresh: None,
        })
    }

    /// Sends a non-Graph request (runner OIDC, IMDS) and returns its JSON, or
    /// an error with the status.
    async fn send_checked(
        &self,
        api: Api,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(StatusCode, Value), ProviderError> {
        let (status, body) = self.send_json(api, req, url).await?;
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(api_error(api, status.as_u16(), &body, Need::Read))
        }
    }

    /// Sends one request (no retries) and reads its JSON body (null if none).
    async fn send_json(
        &self,
        api: Api,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(StatusCode, Value), ProviderError> {
        check_url(api, url)?;
        let resp = req
            .send()
            .await
            .map_err(|source| ProviderError::Transport {
                api,
                url: url.to_string(),
                source,
            })?;
        let status = resp.status();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// One request with bounded retries on 429/503/504 and connection failures,
    /// honouring Retry-After. Returns the status and the JSON body (or null).
    async fn call(
        &self,
        api: Api,
        token: &Secret,
        method: Method,
        url: &str,
        body: Option<&Value>,
        need: Need,
    ) -> Result<(StatusCode, Value), ProviderError> {
        check_url(api, url)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.expose())
                .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string());
            if !api.documented() {
                req = req.header("X-Requested-With", "XMLHttpRequest");
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let result = req.send().await;
            let retry_after = match &result {
                Ok(resp) if matches!(resp.status().as_u16(), 429 | 503 | 504) => Some(
                    resp.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs),
                ),
                Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => Some(None),
                _ => None,
            };
            if let (Some(after), true) = (retry_after, attempt < MAX_ATTEMPTS) {
                let wait = after
                    .unwrap_or_else(|| backoff(attempt))
                    .min(MAX_RETRY_AFTER);
                tracing::debug!(%url, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            let resp = result.map_err(|source| ProviderError::Transport {
                api,
                url: url.to_string(),
                source,
            })?;
            let status = resp.status();
            let text = resp
                .text()
                .await
                .map_err(|source| ProviderError::Transport {
                    api,
                    url: url.to_string(),
                    source,
                })?;
            let json: Value = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            if status.is_success() {
                return Ok((status, json));
            }
            return Err(api_error(api, status.as_u16(), &json, need));
        }
    }

    async fn graph_batch(
        &self,
        conn: &Connection,
        requests: &[(String, Api, String, Need)],
    ) -> HashMap<String, Result<Value, ProviderError>> {
        let mut out = HashMap::new();
        if requests.is_empty() {
            return out;
        }
        let first_api = requests[0].1;
        let token = match self.token(conn, Audience::Graph, first_api).await {
            Ok(t) => t,
            Err(e) => {
                let reason = strip_api_prefix(&one_line(&e));
                for (id, api, _, _) in requests {
                    out.insert(
                        id.clone(),
                        Err(ProviderError::Unavailable {
                            api: *api,
                            reason: reason.clone(),
                        }),
                    );
                }
                return out;
            }
        };
        let url = format!("{}/v1.0/$batch", conn.hosts.graph);
        for chunk in requests.chunks(20) {
            let body = json!({ "requests": chunk.iter().map(|(id, _, u, _)| json!({"id": id, "method": "GET", "url": u})).collect::<Vec<_>>() });
            match self
                .call(
                    first_api,
                    &token,
                    Method::POST,
                    &url,
                    Some(&body),
                    Need::Read,
                )
                .await
            {
                Ok((_, resp)) => {
                    let responses = resp
                        .get("responses")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for (id, api, _, need) in chunk {
                        let r = responses
                            .iter()
                            .find(|r| r.get("id").and_then(Value::as_str) == Some(id));
                        let result = match r {
                            Some(r) => {
                                let status =
                                    r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
                                let body = r.get("body").cloned().unwrap_or(Value::Null);
                                if (200..300).contains(&status) {
                                    Ok(body)
                                } else if matches!(status, 429 | 503 | 504) {
                                    // Throttled or unavailable alone: retry this one alone,
                                    // after its own Retry-After.
                                    let after = r
                                        .pointer("/headers/Retry-After")
                                        .or_else(|| r.pointer("/headers/retry-after"))
                                        .and_then(|v| {
                                            v.as_str()
                                                .map(str::to_string)
                                                .or_else(|| v.as_u64().map(|n| n.to_string()))
                                        })
                                        .and_then(|v| v.trim().parse::<u64>().ok())
                                        .map_or(backoff(1), Duration::from_secs)
                                        .min(MAX_RETRY_AFTER);
                                    tokio::time::sleep(after).await;
                                    let url = format!(
                                        "{}/v1.0{}",
                                        conn.hosts.graph,
                                        chunk
                                            .iter()
                                            .find(|(i, _, _, _)| i == id)
                                            .map(|(_, _, u, _)| u.as_str())
                                            .unwrap_or_default()
                                    );
                                    self.call(*api, &token, Method::GET, &url, None, *need)
                                        .await
                                        .map(|(_, v)| v)
                                } else {
                                    Err(api_error(*api, status, &body, *need))
                                }
                            }
                            None => Err(ProviderError::Unexpected {
                                api: *api,
                                detail: format!("$batch response has no answer for request {id}"),
                            }),
                        };
                        out.insert(id.clone(), result);
                    }
                }
                Err(e) => {
                    let reason = format!("$batch failed: {}", strip_api_prefix(&one_line(&e)));
                    for (id, api, _, _) in chunk {
                        out.insert(
                            id.clone(),
                            Err(ProviderError::Unavailable {
                                api: *api,
                                reason: reason.clone(),
                            }),
                        );
                    }
                }
            }
        }
        out
    }

    /// A request with the tenant's token for `audience`. A 401 (a token revoked
    /// or expired early) drops the cached token and retries once with a new one.
    async fn authed(
        &self,
        conn: &Connection,
        audience: Audience,
        api: Api,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ProviderError> {
        let token = self.token(conn, audience, api).await?;
        let need = Need::for_method(&method);
        match self
            .call(api, &token, method.clone(), url, body, need)
            .await
        {
            Err(ProviderError::Api { status: 401, .. }) => {
                self.tokens
                    .lock()
                    .await
                    .remove(&(conn.tenant_id.clone(), audience));
                let token = self.token(conn, audience, api).await?;
                self.call(api, &token, method, url, body, need).await
            }
            other => other,
        }
    }

    async fn portal_get(&self, conn: &Connection, api: Api) -> Result<Value, ProviderError> {
        let url = portal_url(conn, api, true);
        self.authed(conn, Audience::Portal, api, Method::GET, &url, None)
            .await
            .map(|(_, v)| v)
    }

    async fn portal_put(
        &self,
        conn: &Connection,
        api: Api,
        body: &Value,
    ) -> Result<(), ProviderError> {
        tracing::info!(api = %api, "write");
        let url = portal_url(conn, api, false);
        self.authed(conn, Audience::Portal, api, Method::PUT, &url, Some(body))
            .await
            .map(|_| ())
    }

    async fn graph_get(
        &self,
        conn: &Connection,
        api: Api,
        path: &str,
    ) -> Result<Value, ProviderError> {
        let url = format!("{}/v1.0{path}", conn.hosts.graph);
        self.authed(conn, Audience::Graph, api, Method::GET, &url, None)
            .await
            .map(|(_, v)| v)
    }

    async fn graph_send(
        &self,
        conn: &Connection,
        api: Api,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<(), ProviderError> {
        let url = format!("{}/v1.0{path}", conn.hosts.graph);
        tracing::info!(api = %api, %method, path, "write");
        self.authed(conn, Audience::Graph, api, method, &url, Some(body))
            .await
            .map(|_| ())
    }

    async fn read_tenant(&self, tenant: &Tenant) -> ObservedTenant {
        let mut observed = ObservedTenant::default();
        let wanted = serde_json::to_value(&tenant.settings).unwrap_or(Value::Null);
        let needed: BTreeSet<Api> = Api::ALL
            .into_iter()
            .filter(|a| wanted.get(a.section()).is_some())
            .collect();
        let conn = match self.conn(tenant, Api::GraphAuthorizationPolicy) {
            Ok(c) => c,
            Err(e) => {
                for api in needed {
                    let reason = strip_api_prefix(&one_line(&e));
                    observed.unreadable.push(Unreadable { api, reason });
                }
                return observed;
            }
        };

        // Graph: one $batch for everything, groups and preflight facts included.
        let mut batch = ReadBatch::default();
        if needed.contains(&Api::GraphAuthorizationPolicy) {
            batch.add(
                "authz",
                Api::GraphAuthorizationPolicy,
                "/policies/authorizationPolicy",
            );
        }
        let legacy_methods_managed = wanted
            .pointer("/selfServicePasswordReset/methods")
            .is_some();
        if needed.contains(&Api::GraphAuthenticationMethods) || legacy_methods_managed {
            // Also read for the migration state when legacy toggles are managed.
            batch.add(
                "methods",
                Api::GraphAuthenticationMethods,
                "/policies/authenticationMethodsPolicy",
            );
        }
        if needed.contains(&Api::GraphPasswordRuleSettings) {
            batch.add("settings", Api::GraphPasswordRuleSettings, "/groupSettings");
            let template = format!("/groupSettingTemplates/{}", wire::PASSWORD_RULE_TEMPLATE_ID);
            batch.add("template", Api::GraphPasswordRuleSettings, &template);
        }
        if !needed.is_empty() {
            let org = Need::Permission("Organization.Read.All");
            batch.add_needing(
                "organization",
                Api::GraphAuthorizationPolicy,
                "/organization?$select=id,onPremisesSyncEnabled,onPremisesLastSyncDateTime",
                org,
            );
            batch.add_needing(
                "skus",
                Api::GraphAuthorizationPolicy,
                "/subscribedSkus?$select=skuId,skuPartNumber,capabilityStatus,servicePlans",
                org,
            );
        }
        let group = tenant
            .settings
            .self_service_password_reset
            .as_ref()
            .and_then(|s| s.group.clone());
        let select = "$select=id,displayName,securityEnabled";
        match group.as_ref().map(|g| (&g.id, &g.display_name)) {
            Some((Some(id), _)) => batch.add_needing(
                "group-id",
                Api::PortalPasswordReset,
                &format!("/groups/{id}?{select}"),
                GROUP_READ,
            ),
            Some((None, Some(name))) => {
                let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
                batch.add_needing(
                    "group-name",
                    Api::PortalPasswordReset,
                    &format!("/groups?$filter={}&{select}", encode(&filter)),
                    GROUP_READ,
                );
            }
            _ => {}
        }

        let needed_ref = &needed;
        let portal_read = |api: Api| async move {
            if needed_ref.contains(&api) {
                Some(self.portal_get(conn, api).await)
            } else {
                None
            }
        };
        let (mut graph, reset, onprem) = tokio::join!(
            self.graph_batch(conn, &batch.requests),
            portal_read(Api::PortalPasswordReset),
            portal_read(Api::PortalOnPremises)
        );

        // Each surface: the wire object (for the digest) and its model section.
        let mut wire_objects: Vec<(Api, Result<Value, ProviderError>)> = Vec::new();
        if let Some(r) = reset {
            if let Ok(w) = &r {
                observed.facts.reset_methods_allowed = Some(wire::reset_methods_allowed(w));
            }
            wire_objects.push((Api::PortalPasswordReset, r));
        }
        if let Some(r) = onprem {
            if let Ok(w) = &r {
                observed.facts.writeback_client = Some(wire::writeback_client(w));
            }
            wire_objects.push((Api::PortalOnPremises, r));
        }
        if let Some(r) = graph.remove("authz") {
            wire_objects.push((Api::GraphAuthorizationPolicy, r));
        }
        if let Some(r) = graph.remove("methods") {
            if let Ok(w) = &r {
                observed.facts.migration_state = w
                    .get("policyMigrationState")
                    .and_then(|v| serde_json::from_value(v.clone()).ok());
            }
            if needed.contains(&Api::GraphAuthenticationMethods) {
                wire_objects.push((Api::GraphAuthenticationMethods, r));
            }
        }
        if let (Some(settings), Some(template)) =
            (graph.remove("settings"), graph.remove("template"))
        {
            // No setting object yet: the template's defaults are in force.
            let flat = settings.and_then(|list| match find_password_rules(&list) {
                Some(s) => Ok(wire::setting_values(
                    s.get("values").unwrap_or(&Value::Null),
                )),
                None => template.map(|t| wire::template_defaults(&t)),
            });
            wire_objects.push((Api::GraphPasswordRuleSettings, flat));
        }
        if let Some(Ok(org)) = graph.remove("organization") {
            observed.facts.directory_sync = org
                .get("value")
                .and_then(|v| v.get(0))
                .map(|o| o.get("onPremisesSyncEnabled").and_then(Value::as_bool) == Some(true));
        }
        if let Some(Ok(skus)) = graph.remove("skus") {
            observed.facts.licences = Some(wire::licences(&skus));
        }
        match graph.remove("group-id") {
            Some(Ok(g)) => {
                if let Some(info) = group_info(&g) {
                    observed.groups_by_id.insert(info.id.clone(), info);
                }
            }
            // Not found: the planner says the group does not exist.
            Some(Err(ProviderError::Api { status: 404, .. })) | None => {}
            Some(Err(e)) => observed.group_lookup_error = Some(strip_api_prefix(&one_line(&e))),
        }
        match (
            graph.remove("group-name"),
            group.as_ref().and_then(|g| g.display_name.clone()),
        ) {
            (Some(Ok(list)), Some(name)) => {
                let found = list
                    .get("value")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                observed
                    .groups_by_name
                    .insert(name, found.filter_map(group_info).collect());
            }
            (Some(Err(e)), _) => {
                observed.group_lookup_error = Some(strip_api_prefix(&one_line(&e)))
            }
            _ => {}
        }

        // Each section is decoded on its own, so one unexpected value costs only
        // that section.
        let mut settings = serde_json::Map::new();
        for (api, result) in wire_objects {
            let object = match result {
                Ok(object) => object,
                Err(e) => {
                    let reason = strip_api_prefix(&one_line(&e));
                    observed.unreadable.push(Unreadable { api, reason });
                    continue;
                }
            };
            let section = wire::observe(api, &object);
            let single = json!({ api.section(): section.clone() });
            match serde_json::from_value::<Settings>(single) {
                Ok(_) => {
                    observed.digests.insert(api, wire::digest(&object));
                    settings.insert(api.section().to_string(), section);
                }
                Err(e) => observed.unreadable.push(Unreadable {
                    api,
                    reason: format!("the live value has an unexpected form: {e}"),
                }),
            }
        }
        observed.settings = serde_json::from_value(Value::Object(settings)).unwrap_or_default();
        observed
    }

    async fn write_surface(
        &self,
        tenant: &Tenant,
        api: Api,
        partial: &Value,
    ) -> Result<(), ProviderError> {
        let conn = self.conn(tenant, api)?;
        match api {
            Api::PortalPasswordReset => {
                let current = self.portal_get(conn, api).await?;
                let mut body = current.clone();
                wire::overlay(api, partial, &current, &mut body).map_err(unwritable(api))?;
                self.portal_put(conn, api, &body).await?;
            }
            Api::PortalOnPremises => {
                // One PUT per flag (api-surface §1b: a combined PUT is not picked up).
                let current = self.portal_get(conn, api).await?;
                for key in wire::model_fields(api) {
                    let Some(v) = partial.get(key) else { continue };
                    let mut body = json!({});
                    wire::overlay(api, &json!({ key: v }), &current, &mut body)
                        .map_err(unwritable(api))?;
                    self.portal_put(conn, api, &body).await?;
                }
            }
            Api::GraphAuthorizationPolicy => {
                let mut body = json!({});
                wire::overlay(api, partial, &Value::Null, &mut body).map_err(unwritable(api))?;
                self.graph_send(
                    conn,
                    api,
                    Method::PATCH,
                    "/policies/authorizationPolicy",
                    &body,
                )
                .await?;
            }
            Api::GraphAuthenticationMethods => {
                let current = self
                    .graph_get(conn, api, "/policies/authenticationMethodsPolicy")
                    .await?;
                // The policy and each method configuration are separate
                // objects: PATCH them at the same time.
                let mut patches = Vec::new();
                let mut body = json!({});
                if wire::overlay(api, partial, &current, &mut body).map_err(unwritable(api))? {
                    patches.push(("/policies/authenticationMethodsPolicy".to_string(), body));
                }
                for (id, body) in
                    wire::method_patches(partial, &current).map_err(unwritable(api))?
                {
                    patches.push((
                        format!("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}"),
                        body,
                    ));
                }
                let sent = futures_util::future::join_all(
                    patches
                        .iter()
                        .map(|(path, body)| self.graph_send(conn, api, Method::PATCH, path, body)),
                )
                .await;
                sent.into_iter().collect::<Result<Vec<()>, _>>()?;
            }
            Api::GraphPasswordRuleSettings => {
                let list = self.graph_get(conn, api, "/groupSettings").await?;
                let existing = find_password_rules(&list).cloned();
                let current = match &existing {
                    Some(s) => wire::setting_values(s.get("values").unwrap_or(&Value::Null)),
                    None => {
                        let template = self
                            .graph_get(
                                conn,
                                api,
                                &format!(
                                    "/groupSettingTemplates/{}",
                                    wire::PASSWORD_RULE_TEMPLATE_ID
                                ),
                            )
                            .await?;
                        wire::template_defaults(&template)
                    }
                };
                let mut flat = current.clone();
                wire::overlay(api, partial, &current, &mut flat).map_err(unwritable(api))?;
                let values = wire::setting_values_array(&flat);
                match existing.as_ref().and_then(|s| s.get("id")).and_then(Value::as_str) {
                    // Update: always the full set of values.
                    Some(id) => self.graph_send(conn, api, Method::PATCH, &format!("/groupSettings/{id}"), &json!({ "values": values })).await?,
                    // Create: every template value must be present.
                    None => self.graph_send(conn, api, Method::POST, "/groupSettings", &json!({ "templateId": wire::PASSWORD_RULE_TEMPLATE_ID, "values": values })).await?,
                }
            }
        }
        Ok(())
    }
}

/// What `doctor` learns about one tenant's credentials.
#[derive(Debug)]
pub struct TokenCheck {
    /// Whether a token was obtained, and its claims if so.
    pub result: Result<TokenFacts, String>,
}

/// The claims of an access token that say what it may do.
#[derive(Debug, Default)]
pub struct TokenFacts {
    /// Application permissions (app-only tokens).
    pub roles: Vec<String>,
    /// Delegated scopes (user tokens).
    pub scopes: Vec<String>,
    /// Directory role template ids of the signed-in user.
    pub wids: Vec<String>,
    /// The signed-in user, if any.
    pub user: Option<String>,
}

impl HttpProvider {
    /// Gets a Graph token and a portal token for the tenant and reports what
    /// each carries (for `doctor`). Never returns the tokens.
    pub async fn check_tokens(&self, tenant: &Tenant) -> (TokenCheck, TokenCheck) {
        let facts = |t: Result<Secret, ProviderError>| TokenCheck {
            result: t.map_err(|e| strip_api_prefix(&one_line(&e))).map(|t| {
                let claims = crate::auth::token_claims(t.expose()).unwrap_or(Value::Null);
                let list = |k: &str| -> Vec<String> {
                    match claims.get(k) {
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                        Some(Value::String(s)) => s.split(' ').map(str::to_string).collect(),
                        _ => Vec::new(),
                    }
                };
                TokenFacts {
                    roles: list("roles"),
                    scopes: list("scp"),
                    wids: list("wids"),
                    user: claims
                        .get("upn")
                        .or_else(|| claims.get("unique_name"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }
            }),
        };
        let Ok(conn) = self.conn(tenant, Api::GraphAuthorizationPolicy) else {
            let none = || TokenCheck {
                result: Err("no connection".into()),
            };
            return (none(), none());
        };
        let graph = self
            .token(conn, Audience::Graph, Api::GraphAuthorizationPolicy)
            .await;
        let portal = self
            .token(conn, Audience::Portal, Api::PortalPasswordReset)
            .await;
        (facts(graph), facts(portal))
    }

    /// Reads the registration report and the members of `groups` (for the
    /// readiness figures), following `@odata.nextLink` pages. The error is one
    /// line saying what could not be read and what to do.
    pub async fn population(
        &self,
        tenant: &Tenant,
        groups: &[String],
    ) -> Result<Population, String> {
        self.read_population(tenant, groups).await.map_err(|e| {
            format!(
                "reading the registration report: {}",
                strip_api_prefix(&one_line(&e))
            )
        })
    }

    async fn read_population(
        &self,
        tenant: &Tenant,
        groups: &[String],
    ) -> Result<Population, ProviderError> {
        let api = Api::GraphAuthenticationMethods;
        let conn = self.conn(tenant, api)?;
        let token = self.token(conn, Audience::Graph, api).await?;
        let base = &conn.hosts.graph;
        let mut population = Population::default();
        let report = format!(
            "{base}/v1.0/reports/authenticationMethods/userRegistrationDetails?$select=id,isAdmin,methodsRegistered&$top=999"
        );
        let report_need = Need::Permission("AuditLog.Read.All");
        for row in self.all_pages(api, &token, report, report_need).await? {
            population.users.push(RegisteredUser {
                id: row
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase(),
                is_admin: row.get("isAdmin").and_then(Value::as_bool).unwrap_or(false),
                methods: row
                    .get("methodsRegistered")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            });
        }
        for group in groups {
            let url = format!(
                "{base}/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user?$select=id&$top=999"
            );
            let members = self
                .all_pages(api, &token, url, Need::Permission("GroupMember.Read.All"))
                .await?
                .iter()
                .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_lowercase))
                .collect();
            population
                .group_members
                .insert(group.to_lowercase(), members);
        }
        Ok(population)
    }

    async fn all_pages(
        &self,
        api: Api,
        token: &Secret,
        first: String,
        need: Need,
    ) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let (_, page) = self.call(api, token, Method::GET, &url, None, need).await?;
            out.extend(
                page.get("value")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Ok(out)
    }

    /// Signs an administrator in with the device-code flow for the portal API;
    /// `prompt` shows the sign-in instructions. Returns the refresh token and
    /// the user's name.
    pub async fn device_code_sign_in(
        &self,
        hosts: &Hosts,
        tenant_id: &str,
        prompt: impl Fn(&str),
    ) -> Result<(Secret, Option<String>), ProviderError> {
        let api = Api::PortalPasswordReset;
        let scope = format!("{PORTAL_RESOURCE}/.default offline_access");
        let url = format!("{}/{tenant_id}/oauth2/v2.0/devicecode", hosts.login);
        let form = [
            ("client_id", PORTAL_CLIENT_ID.to_string()),
            ("scope", scope.clone()),
        ];
        let (_, start) = self
            .send_checked(api, self.http.post(&url).form(&form), &url)
            .await?;
        let device_code = start
            .get("device_code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let message = start
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "To sign in, open {} and enter the code {}",
                    start
                        .get("verification_uri")
                        .and_then(Value::as_str)
                        .unwrap_or("https://microsoft.com/devicelogin"),
                    start
                        .get("user_code")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                )
            });
        prompt(&message);
        let interval = start
            .get("interval")
            .and_then(Value::as_u64)
            .unwrap_or(5)
            .max(1);
        let expires = start
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(900);
        let token_url = format!("{}/{tenant_id}/oauth2/v2.0/token", hosts.login);
        let deadline = Instant::now() + Duration::from_secs(expires);
        let form = [
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:device_code".to_string(),
            ),
            ("client_id", PORTAL_CLIENT_ID.to_string()),
            ("device_code", device_code),
        ];
        loop {
            tokio::time::sleep(Duration::from_secs(interval)).await;
            match self
                .oauth(api, "the Entra portal API", &token_url, &form)
                .await
            {
                Ok(fetched) => {
                    let refresh = fetched.refresh.ok_or_else(|| ProviderError::Unexpected {
                        api,
                        detail: "the sign-in returned no refresh token".into(),
                    })?;
                    let user = crate::auth::token_claims(fetched.access.expose())
                        .and_then(|c| c.get("upn").and_then(Value::as_str).map(str::to_string));
                    return Ok((refresh, user));
                }
                Err(ProviderError::Token { code, .. })
                    if (code == "authorization_pending" || code == "slow_down")
                        && Instant::now() < deadline => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Provider for HttpProvider {
    async fn read(&self, tenant: &Tenant) -> ObservedTenant {
        self.read_tenant(tenant).await
    }

    async fn write(&self, tenant: &Tenant, api: Api, partial: &Value) -> Result<(), ProviderError> {
        self.write_surface(tenant, api, partial).await
    }
}

/// Wraps a conversion failure of `api`'s write.
fn unwritable(api: Api) -> impl Fn(wire::WireError) -> ProviderError {
    move |source| ProviderError::Unwritable { api, source }
}

fn portal_url(conn: &Connection, api: Api, read: bool) -> String {
    let object = match api {
        Api::PortalOnPremises => "OnPremisesPasswordResetPolicies",
        _ => "PasswordResetPolicies",
    };
    let query = if read && api == Api::PortalPasswordReset {
        "?getPasswordResetEnabledGroup=true"
    } else {
        ""
    };
    format!("{}/api/PasswordReset/{object}{query}", conn.hosts.portal)
}

fn find_password_rules(list: &Value) -> Option<&Value> {
    list.get("value")
        .and_then(Value::as_array)?
        .iter()
        .find(|s| {
            s.get("templateId")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(wire::PASSWORD_RULE_TEMPLATE_ID))
        })
}

fn group_info(g: &Value) -> Option<GroupInfo> {
    Some(GroupInfo {
        id: g.get("id")?.as_str()?.to_lowercase(),
        display_name: g
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        security_enabled: g
            .get("securityEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn api_error(api: Api, status: u16, body: &Value, need: Need) -> ProviderError {
    let err = body.get("error");
    // Graph: {"error": {"code", "message", "innerError"}}; OAuth and IMDS:
    // {"error": "invalid_request", "error_description": "..."}; portal: {"message"}.
    let code = err
        .and_then(|e| e.get("code").and_then(Value::as_str).or_else(|| e.as_str()))
        .map(str::to_string);
    let message = err
        .and_then(|e| e.get("message"))
        .or_else(|| body.get("error_description"))
        .or_else(|| body.get("message"))
        .and_then(Value::as_str)
        .map(|m| m.lines().next().unwrap_or_default().to_string())
        .unwrap_or_else(|| match body {
            Value::String(s) if !s.is_empty() => s.chars().take(200).collect(),
            _ => "no error body".to_string(),
        });
    let request_id = err
        .and_then(|e| e.get("innerError"))
        .and_then(|i| i.get("request-id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let message = match hint(api, status, code.as_deref(), need) {
        Some(h) => format!("{message} — {h}"),
        None => message,
    };
    ProviderError::Api {
        api,
        status,
        code,
        message,
        request_id,
    }
}

/// What to do about an error, when the status and code say.
fn hint(api: Api, status: u16, code: Option<&str>, need: Need) -> Option<String> {
    let grant =
        |p: &str| format!("grant the app the application permission {p} (with admin consent)");
    match (status, code, need) {
        (403, Some(c), _) if c.contains("License") || c.contains("license") || c.contains("NonPremium") => {
            Some("this needs a Microsoft Entra ID P1 or P2 licence".into())
        }
        // Lookups, facts and reports name their own permission, whatever
        // surface they serve.
        (403, _, Need::Permission(p)) => Some(grant(p)),
        (403, _, _) if !api.documented() => Some(
            "the signed-in account needs an administrator role (Global Administrator is known to work) and must pass MFA and Conditional Access".into(),
        ),
        (403, Some("Authorization_RequestDenied"), Need::Read) => {
            crate::permissions::needed(api).map(|n| grant(n.read[0]))
        }
        (403, Some("Authorization_RequestDenied"), _) => crate::permissions::needed(api).map(|n| grant(n.write)),
        (401, _, _) if !api.documented() => {
            Some("the portal API refuses app-only tokens and expired sign-ins: run `ssprctl login` again".into())
        }
        _ => None,
    }
}

/// The message of an error without its leading "<api>: " (the plan already says
/// which surface).
fn strip_api_prefix(msg: &str) -> String {
    for api in Api::ALL {
        if let Some(rest) = msg.strip_prefix(&format!("{}: ", api.label())) {
            return rest.to_string();
        }
    }
    msg.to_string()
}

fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF * 2u32.pow(attempt.saturating_sub(1));
    // Jitter: up to half the base again, from a random uuid's low bits.
    let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    base + base / 2 * jitter / 1000
}

/// Refuses plain http except to loopback (the emulator) and IMDS.
fn check_url(api: Api, url: &str) -> Result<(), ProviderError> {
    if allowed_url(url) {
        Ok(())
    } else {
        Err(ProviderError::Unexpected {
            api,
            detail: format!("refusing to call {url}: plain http is only used for loopback"),
        })
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
