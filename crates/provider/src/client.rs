//! The HTTP provider: tokens, Graph `$batch` reads, portal reads in parallel,
//! writes by each API's rules, bounded retries.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssprctl_model::{Api, GroupInfo, ObservedTenant, Settings, Tenant, Unreadable};
use tokio::sync::Mutex;

use crate::Provider;
use crate::clouds::{Hosts, PORTAL_CLIENT_ID, PORTAL_RESOURCE};
use crate::error::{ProviderError, one_line};
use crate::wire;

/// A secret string: never printed, never serialised.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An app registration's credential, for the Graph surfaces (app-only).
#[derive(Clone, Debug)]
pub enum AppCredential {
    /// Client id and client secret.
    ClientSecret {
        /// Application (client) id.
        client_id: String,
        /// The secret.
        secret: Secret,
    },
}

/// A delegated administrator's refresh token, for the portal surfaces.
#[derive(Clone, Debug)]
pub struct PortalCredential {
    /// The public client the token was issued to.
    pub client_id: String,
    /// The refresh token.
    pub refresh_token: Secret,
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
            }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Audience {
    Graph,
    Portal,
}

struct CachedToken {
    access: Secret,
    refresh_at: Instant,
}

/// The GET sub-requests of one read, each with an id and the surface it serves.
#[derive(Default)]
struct ReadBatch {
    requests: Vec<(String, Api, String)>,
}

impl ReadBatch {
    fn add(&mut self, id: &str, api: Api, url: &str) {
        self.requests.push((id.to_string(), api, url.to_string()));
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
        let url = format!("{}/{}/oauth2/v2.0/token", conn.hosts.login, conn.tenant_id);
        let mut form: Vec<(&str, String)> = Vec::new();
        let purpose = match audience {
            Audience::Graph => {
                let cred = conn
                    .graph
                    .as_ref()
                    .map_err(|hint| ProviderError::NoCredential {
                        api,
                        hint: hint.clone(),
                    })?;
                match cred {
                    AppCredential::ClientSecret { client_id, secret } => {
                        form.push(("grant_type", "client_credentials".into()));
                        form.push(("client_id", client_id.clone()));
                        form.push(("client_secret", secret.expose().to_string()));
                        form.push(("scope", conn.hosts.graph_scope.clone()));
                    }
                }
                "Microsoft Graph"
            }
            Audience::Portal => {
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
                form.push(("grant_type", "refresh_token".into()));
                form.push(("client_id", cred.client_id.clone()));
                form.push(("refresh_token", refresh.expose().to_string()));
                form.push((
                    "scope",
                    format!("{PORTAL_RESOURCE}/.default offline_access"),
                ));
                "the Entra portal API"
            }
        };
        let resp = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|source| ProviderError::Transport {
                api,
                url: url.clone(),
                source,
            })?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
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
        let access = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Unexpected {
                api,
                detail: "token response without access_token".into(),
            })?;
        let expires_in = body
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(3599);
        if let Some(r) = body.get("refresh_token").and_then(Value::as_str) {
            self.rotated
                .lock()
                .await
                .insert(conn.tenant_id.clone(), Secret::new(r));
        }
        let token = Secret::new(access);
        // Refresh five minutes before expiry.
        let refresh_at = Instant::now() + Duration::from_secs(expires_in.saturating_sub(300));
        self.tokens.lock().await.insert(
            key,
            CachedToken {
                access: token.clone(),
                refresh_at,
            },
        );
        Ok(token)
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
    ) -> Result<(StatusCode, Value), ProviderError> {
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
            return Err(api_error(api, status.as_u16(), &json));
        }
    }

    async fn graph_batch(
        &self,
        conn: &Connection,
        requests: &[(String, Api, String)],
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
                for (id, api, _) in requests {
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
            let body = json!({ "requests": chunk.iter().map(|(id, _, u)| json!({"id": id, "method": "GET", "url": u})).collect::<Vec<_>>() });
            match self
                .call(first_api, &token, Method::POST, &url, Some(&body))
                .await
            {
                Ok((_, resp)) => {
                    let responses = resp
                        .get("responses")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for (id, api, _) in chunk {
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
                                } else {
                                    Err(api_error(*api, status, &body))
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
                    for (id, api, _) in chunk {
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

    async fn portal_get(&self, conn: &Connection, api: Api) -> Result<Value, ProviderError> {
        let token = self.token(conn, Audience::Portal, api).await?;
        let url = portal_url(conn, api, true);
        self.call(api, &token, Method::GET, &url, None)
            .await
            .map(|(_, v)| v)
    }

    async fn portal_put(
        &self,
        conn: &Connection,
        api: Api,
        body: &Value,
    ) -> Result<(), ProviderError> {
        let token = self.token(conn, Audience::Portal, api).await?;
        tracing::info!(api = %api, "write");
        let url = portal_url(conn, api, false);
        self.call(api, &token, Method::PUT, &url, Some(body))
            .await
            .map(|_| ())
    }

    async fn graph_get(
        &self,
        conn: &Connection,
        api: Api,
        path: &str,
    ) -> Result<Value, ProviderError> {
        let token = self.token(conn, Audience::Graph, api).await?;
        let url = format!("{}/v1.0{path}", conn.hosts.graph);
        self.call(api, &token, Method::GET, &url, None)
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
        let token = self.token(conn, Audience::Graph, api).await?;
        let url = format!("{}/v1.0{path}", conn.hosts.graph);
        tracing::info!(api = %api, %method, path, "write");
        self.call(api, &token, method, &url, Some(body))
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
            batch.add(
                "organization",
                Api::GraphAuthorizationPolicy,
                "/organization?$select=id,onPremisesSyncEnabled,onPremisesLastSyncDateTime",
            );
            batch.add(
                "skus",
                Api::GraphAuthorizationPolicy,
                "/subscribedSkus?$select=skuId,skuPartNumber,capabilityStatus,servicePlans",
            );
        }
        let group = tenant
            .settings
            .self_service_password_reset
            .as_ref()
            .and_then(|s| s.group.clone());
        let select = "$select=id,displayName,securityEnabled";
        match group.as_ref().map(|g| (&g.id, &g.display_name)) {
            Some((Some(id), _)) => batch.add(
                "group-id",
                Api::PortalPasswordReset,
                &format!("/groups/{id}?{select}"),
            ),
            Some((None, Some(name))) => {
                let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
                batch.add(
                    "group-name",
                    Api::PortalPasswordReset,
                    &format!("/groups?$filter={}&{select}", encode(&filter)),
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
        if let Some(Ok(g)) = graph.remove("group-id")
            && let Some(info) = group_info(&g)
        {
            observed.groups_by_id.insert(info.id.clone(), info);
        }
        if let (Some(Ok(list)), Some(name)) = (
            graph.remove("group-name"),
            group.as_ref().and_then(|g| g.display_name.clone()),
        ) {
            let found = list
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            observed
                .groups_by_name
                .insert(name, found.filter_map(group_info).collect());
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
                wire::overlay(api, partial, &current, &mut body);
                self.portal_put(conn, api, &body).await?;
            }
            Api::PortalOnPremises => {
                // One PUT per flag (api-surface §1b: a combined PUT is not picked up).
                let current = self.portal_get(conn, api).await?;
                for key in wire::model_fields(api) {
                    let Some(v) = partial.get(key) else { continue };
                    let mut body = json!({});
                    wire::overlay(api, &json!({ key: v }), &current, &mut body);
                    self.portal_put(conn, api, &body).await?;
                }
            }
            Api::GraphAuthorizationPolicy => {
                let mut body = json!({});
                wire::overlay(api, partial, &Value::Null, &mut body);
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
                let mut body = json!({});
                if wire::overlay(api, partial, &current, &mut body) {
                    self.graph_send(
                        conn,
                        api,
                        Method::PATCH,
                        "/policies/authenticationMethodsPolicy",
                        &body,
                    )
                    .await?;
                }
                for (id, body) in wire::method_patches(partial, &current) {
                    self.graph_send(conn, api, Method::PATCH, &format!("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}"), &body).await?;
                }
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
                wire::overlay(api, partial, &current, &mut flat);
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

impl Provider for HttpProvider {
    async fn read(&self, tenant: &Tenant) -> ObservedTenant {
        self.read_tenant(tenant).await
    }

    async fn write(&self, tenant: &Tenant, api: Api, partial: &Value) -> Result<(), ProviderError> {
        self.write_surface(tenant, api, partial).await
    }
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

fn api_error(api: Api, status: u16, body: &Value) -> ProviderError {
    let err = body.get("error");
    let code = err
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            body.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| match body {
            Value::String(s) if !s.is_empty() => s.chars().take(200).collect(),
            _ => "no error body".to_string(),
        });
    let request_id = err
        .and_then(|e| e.get("innerError"))
        .and_then(|i| i.get("request-id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    ProviderError::Api {
        api,
        status,
        code,
        message,
        request_id,
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
