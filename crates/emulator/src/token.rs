//! Access tokens (minting and parsing) and the token endpoint
//! `POST /{tenant}/oauth2/v2.0/token` (plus the v1 `/{tenant}/oauth2/token`)
//! with its grants: `client_credentials` (client secret, or a certificate or
//! federated client assertion checked by the `assertion` module),
//! `refresh_token`, and the device-code grant (see the `devicecode` module).
//!
//! Tokens are JWT-shaped but not signed:
//! `base64url(header).base64url(claims).base64url("emulator-signature")`.
//! The server decodes the claims to authenticate requests; anything that is
//! not a token this module minted is rejected. Every token's lifetime is its
//! tenant's `tokenLifetimeSeconds`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::PORTAL_AUDIENCE;
use crate::quirks;
use crate::server::Ctx;
use crate::state::{App, Tenant};
use crate::wire::{Clock, Req, Resp, is_guid};

/// Directory role template id of Global Administrator (the `wids` value).
pub(crate) const GLOBAL_ADMIN_ROLE: &str = "62e90394-69f5-4237-9190-012177145e10";

/// Microsoft Graph's resource URI.
pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// Microsoft Graph's application id, also accepted as an audience.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The portal host's URL. Tokens for it can be minted, but the portal API
/// refuses them: its audience must be [`PORTAL_AUDIENCE`] (docs/api-surfaces.md §1a).
pub(crate) const MAIN_IAM_RESOURCE: &str = "https://main.iam.ad.ext.azure.com";

/// The fixed third segment of every token, before base64url encoding.
const SIGNATURE: &[u8] = b"emulator-signature";

/// The delegated scope every user token carries.
const USER_SCOPE: &str = "user_impersonation";

/// Who a token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdType {
    /// An application (client-credentials grant); `idtyp` "app".
    App,
    /// A signed-in user (refresh-token grant); `idtyp` "user".
    User,
}

/// The claims the emulator reads back from a token.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    /// Tenant id (`tid`).
    pub tid: String,
    /// Audience (`aud`).
    pub aud: String,
    /// Client application id (`appid`).
    pub appid: String,
    /// How the client authenticated (`appidacr`): "0" public client, "1"
    /// secret, "2" certificate, federated credential or managed identity.
    pub appidacr: String,
    /// App or user.
    pub idtyp: IdType,
    /// Application permissions (`roles`; app tokens).
    pub roles: Vec<String>,
    /// Delegated scopes (`scp`; user tokens).
    pub scp: Option<String>,
    /// Directory role template ids (`wids`; user tokens).
    pub wids: Vec<String>,
    /// User principal name (`upn`; user tokens).
    pub upn: Option<String>,
    /// Expiry, seconds since the epoch (`exp`).
    pub exp: i64,
}

/// Why a bearer token was refused. Messages are Graph's real ones where known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRejection {
    /// No token at all.
    Empty,
    /// Not a token this emulator minted.
    Malformed,
    /// Past its `exp`.
    Expired,
}

impl TokenRejection {
    /// The `error.message` Graph sends.
    pub fn message(self) -> &'static str {
        match self {
            TokenRejection::Empty => "Access token is empty.",
            TokenRejection::Malformed => {
                "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format."
            }
            TokenRejection::Expired => "Lifetime validation failed, the token is expired.",
        }
    }
}

/// Encodes a principal as an access token issued at `now`.
pub(crate) fn mint(p: &Principal, now: i64) -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "emulator"});
    let mut claims = Map::new();
    claims.insert("aud".into(), json!(p.aud));
    claims.insert(
        "iss".into(),
        json!(format!("https://sts.windows.net/{}/", p.tid)),
    );
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(p.exp));
    claims.insert("appid".into(), json!(p.appid));
    claims.insert("appidacr".into(), json!(p.appidacr));
    match p.idtyp {
        IdType::App => {
            claims.insert("idtyp".into(), json!("app"));
            claims.insert("roles".into(), json!(p.roles));
        }
        IdType::User => {
            claims.insert("amr".into(), json!(["pwd", "mfa"]));
            claims.insert("idtyp".into(), json!("user"));
            claims.insert("scp".into(), json!(p.scp));
        }
    }
    claims.insert("tid".into(), json!(p.tid));
    if let Some(upn) = &p.upn {
        claims.insert("upn".into(), json!(upn));
        claims.insert("unique_name".into(), json!(upn));
    }
    claims.insert("ver".into(), json!("1.0"));
    if p.idtyp == IdType::User {
        claims.insert("wids".into(), json!(p.wids));
    }
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(&header),
        enc(&Value::Object(claims)),
        URL_SAFE_NO_PAD.encode(SIGNATURE)
    )
}

/// Decodes and checks a token minted by [`mint`].
pub(crate) fn parse(token: &str, now: i64) -> Result<Principal, TokenRejection> {
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenRejection::Empty);
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(TokenRejection::Malformed);
    };
    let decode = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TokenRejection::Malformed)
    };
    if decode(signature)? != SIGNATURE {
        return Err(TokenRejection::Malformed);
    }
    let header: Value =
        serde_json::from_slice(&decode(header)?).map_err(|_| TokenRejection::Malformed)?;
    if !header.is_object() {
        return Err(TokenRejection::Malformed);
    }
    let claims: Value =
        serde_json::from_slice(&decode(claims)?).map_err(|_| TokenRejection::Malformed)?;
    let str_claim = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let list_claim = |k: &str| -> Vec<String> {
        claims
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let idtyp = match str_claim("idtyp").as_deref() {
        Some("app") => IdType::App,
        Some("user") => IdType::User,
        _ => return Err(TokenRejection::Malformed),
    };
    let principal = Principal {
        tid: str_claim("tid").ok_or(TokenRejection::Malformed)?,
        aud: str_claim("aud").ok_or(TokenRejection::Malformed)?,
        appid: str_claim("appid").ok_or(TokenRejection::Malformed)?,
        appidacr: str_claim("appidacr").unwrap_or_default(),
        idtyp,
        roles: list_claim("roles"),
        scp: str_claim("scp"),
        wids: list_claim("wids"),
        upn: str_claim("upn"),
        exp: claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(TokenRejection::Malformed)?,
    };
    if principal.exp <= now {
        return Err(TokenRejection::Expired);
    }
    Ok(principal)
}

/// Whether `aud` is Microsoft Graph.
pub(crate) fn is_graph_audience(aud: &str) -> bool {
    let aud = aud.trim_end_matches('/');
    aud.eq_ignore_ascii_case(GRAPH_RESOURCE) || aud.eq_ignore_ascii_case(GRAPH_APP_ID)
}

/// An Entra ID token-endpoint error (`{"error","error_description",…}`).
#[derive(Debug, Clone)]
pub(crate) struct AadError {
    /// HTTP status.
    pub status: u16,
    /// OAuth error (`invalid_client`, `invalid_grant`, …).
    pub error: &'static str,
    /// AADSTS number.
    pub code: u32,
    /// Description, without the `AADSTSnnn: ` prefix and trace suffix.
    pub description: String,
}

impl AadError {
    /// An error with its status, OAuth error, AADSTS number and description.
    pub(crate) fn new(
        status: u16,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        AadError {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    /// `AADSTS900144`: a required parameter is missing.
    pub(crate) fn missing(param: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{param}'."),
        )
    }

    /// `AADSTS90002`: no such tenant.
    pub(crate) fn tenant_not_found(tenant: &str) -> Self {
        Self::new(
            400,
            "invalid_request",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// The response, with fresh trace and correlation ids.
    pub(crate) fn into_resp(self, now: &Clock, correlation: Option<&str>) -> Resp {
        let trace_id = Uuid::new_v4().to_string();
        let correlation_id = correlation
            .filter(|c| is_guid(c))
            .map(str::to_string)
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let timestamp = now.aad_timestamp();
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        Resp::json(self.status, body)
    }
}

/// The resource (audience) named by a scope list, ignoring OIDC scopes.
/// `https://graph.microsoft.com/.default` gives `https://graph.microsoft.com`.
fn resource_of_scopes(scopes: &str) -> Option<(String, bool)> {
    scopes
        .split_whitespace()
        .filter(|s| {
            !matches!(
                s.to_ascii_lowercase().as_str(),
                "openid" | "profile" | "offline_access" | "email"
            )
        })
        .find_map(|s| {
            let (resource, perm) = s.rsplit_once('/')?;
            Some((resource.to_string(), perm == ".default"))
        })
}

/// Canonical audience for a requested resource, if it is one the emulator serves.
pub(crate) fn audience_for(resource: &str) -> Option<String> {
    let r = resource.trim_end_matches('/');
    if r.eq_ignore_ascii_case(GRAPH_RESOURCE) {
        Some(GRAPH_RESOURCE.to_string())
    } else if r.eq_ignore_ascii_case(GRAPH_APP_ID) {
        Some(GRAPH_APP_ID.to_string())
    } else if r.eq_ignore_ascii_case(PORTAL_AUDIENCE) {
        Some(PORTAL_AUDIENCE.to_string())
    } else if r.eq_ignore_ascii_case(MAIN_IAM_RESOURCE) {
        Some(MAIN_IAM_RESOURCE.to_string())
    } else {
        None
    }
}

/// The `client_assertion_type` of JWT client assertions.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The device-code grant type.
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A parsed `application/x-www-form-urlencoded` body.
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses the request body.
    pub fn parse(req: &Req) -> Self {
        Form {
            pairs: crate::wire::parse_urlencoded(&String::from_utf8_lossy(&req.body)),
        }
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// `client_secret_basic`: `Authorization: Basic base64(id:secret)`.
fn basic_credentials(req: &Req) -> Option<(String, String)> {
    let h = req.header("authorization")?;
    let b = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))?;
    let text = String::from_utf8(STANDARD.decode(b.trim()).ok()?).ok()?;
    text.split_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))
}

/// The lifetime of tokens issued for tenant `tid` (at least one second).
pub(crate) fn lifetime(ctx: &Ctx, tid: &str) -> i64 {
    ctx.read_tenant(tid, |t| Ok(t.token_lifetime_seconds))
        .unwrap_or(crate::state::DEFAULT_TOKEN_LIFETIME_SECS)
        .max(1)
}

/// `POST /{tenant}/oauth2/v2.0/token` (`v1` for `/{tenant}/oauth2/token`).
/// Returns the response, and the tenant id and client id it concerned (for
/// the request log).
pub(crate) fn token_endpoint(
    ctx: &Ctx,
    req: &Req,
    tenant: &str,
    v1: bool,
) -> (Resp, Option<String>, Option<String>) {
    let now = Clock::now();
    let correlation = req.header("client-request-id");
    let tid = tenant.to_ascii_lowercase();
    let form = Form::parse(req);
    let basic = basic_credentials(req);
    let client = form
        .get("client_id")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()));
    let resp = match issue(ctx, &form, basic, &tid, v1, &now) {
        Ok(body) => Resp::json(200, body)
            .with_header("cache-control", "no-store, no-cache")
            .with_header("pragma", "no-cache"),
        Err(e) => e.into_resp(&now, correlation),
    };
    (resp, Some(tid), client)
}

fn internal(e: crate::wire::ApiError) -> AadError {
    AadError::new(500, "temporarily_unavailable", 90_033, e.message)
}

fn invalid_secret(client_id: &str) -> AadError {
    AadError::new(
        401,
        "invalid_client",
        7_000_215,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ),
    )
}

fn issue(
    ctx: &Ctx,
    form: &Form,
    basic: Option<(String, String)>,
    tid: &str,
    v1: bool,
    now: &Clock,
) -> Result<Value, AadError> {
    let client_id = form
        .get("client_id")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()));
    let client_secret = form
        .get("client_secret")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|(_, s)| s.clone()));

    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| AadError::missing("grant_type"))?;
    if !matches!(
        grant_type,
        "client_credentials" | "refresh_token" | DEVICE_CODE_GRANT
    ) {
        return Err(AadError::new(
            400,
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let client_id = client_id.ok_or_else(|| AadError::missing("client_id"))?;

    // The device-code grant may omit the scope: the device-code request named it.
    let pending_scope = if grant_type == DEVICE_CODE_GRANT {
        let code = form
            .get("device_code")
            .ok_or_else(|| AadError::missing("device_code"))?;
        Some(crate::devicecode::poll(
            ctx, tid, &client_id, code, now.secs,
        )?)
    } else {
        None
    };

    // The audience: v2 uses `scope`, v1 uses `resource`.
    let (resource, is_default) = if v1 {
        let r = form
            .get("resource")
            .ok_or_else(|| AadError::missing("resource"))?;
        (r.to_string(), true)
    } else {
        let scope = match (form.get("scope"), pending_scope.as_deref()) {
            (Some(s), _) => s.to_string(),
            (None, Some(s)) => s.to_string(),
            (None, None) => return Err(AadError::missing("scope")),
        };
        match resource_of_scopes(&scope) {
            Some(r) => r,
            // A device-code sign-in asking only for OIDC scopes gets a Graph token.
            None if pending_scope.is_some() => (GRAPH_RESOURCE.to_string(), true),
            None => {
                return Err(AadError::new(
                    400,
                    "invalid_scope",
                    70_011,
                    format!(
                        "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
                    ),
                ));
            }
        }
    };
    if grant_type == "client_credentials" && !is_default {
        return Err(AadError::new(
            400,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {resource} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    }

    let exists = ctx
        .tenant_exists_or_create(tid)
        .map_err(|message| AadError::new(500, "temporarily_unavailable", 90_033, message))?;
    if !exists {
        return Err(AadError::tenant_not_found(tid));
    }
    let aud = audience_for(&resource).ok_or_else(|| resource_not_found(&resource, tid))?;
    let lifetime = lifetime(ctx, tid);
    let exp = now.secs + lifetime;

    match grant_type {
        "client_credentials" => {
            let app = ctx
                .read_tenant(tid, |t| Ok(find_app(t, &client_id)))
                .map_err(internal)?
                .ok_or_else(|| {
                    AadError::new(
                        400,
                        "unauthorized_client",
                        700_016,
                        format!(
                            "Application with identifier '{client_id}' was not found in the directory '{tid}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                        ),
                    )
                })?;
            let appidacr = match (form.get("client_assertion_type"), client_secret) {
                (Some(kind), _) => {
                    if kind != JWT_BEARER {
                        let (code, text) = quirks::UNSUPPORTED_ASSERTION_TYPE;
                        return Err(AadError::new(400, "invalid_request", code, text));
                    }
                    let assertion = form
                        .get("client_assertion")
                        .ok_or_else(|| AadError::missing("client_assertion"))?;
                    crate::assertion::authenticate(
                        &app,
                        tid,
                        assertion,
                        now.secs,
                        ctx.github_secret(),
                    )?;
                    "2"
                }
                (None, Some(secret)) => {
                    if app.client_secret.as_deref() != Some(secret.as_str()) {
                        return Err(invalid_secret(&client_id));
                    }
                    "1"
                }
                (None, None) => {
                    return Err(AadError::new(
                        401,
                        "invalid_client",
                        7_000_218,
                        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                    ));
                }
            };
            let principal = Principal {
                tid: tid.to_string(),
                aud,
                appid: app.client_id.clone(),
                appidacr: appidacr.to_string(),
                idtyp: IdType::App,
                roles: app.roles.clone(),
                scp: None,
                wids: Vec::new(),
                upn: None,
                exp,
            };
            Ok(json!({
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": mint(&principal, now.secs),
            }))
        }
        "refresh_token" => {
            let refresh_token = form
                .get("refresh_token")
                .ok_or_else(|| AadError::missing("refresh_token"))?
                .to_string();
            if quirks::REFRESH_GRANT_CHECKS_SECRET_OF_KNOWN_APPS {
                let app = ctx
                    .read_tenant(tid, |t| Ok(find_app(t, &client_id)))
                    .map_err(internal)?;
                if let (Some(app), Some(secret)) = (app, client_secret.as_deref())
                    && app.client_secret.as_deref() != Some(secret)
                {
                    return Err(invalid_secret(&client_id));
                }
            }
            user_tokens(ctx, tid, &client_id, &aud, now, lifetime, |t| {
                t.admins
                    .iter_mut()
                    .find(|a| a.refresh_tokens.contains(&refresh_token))
            })?
            .ok_or_else(|| {
                let (code, description) = quirks::UNKNOWN_REFRESH_TOKEN_ERROR;
                AadError::new(400, "invalid_grant", code, description)
            })
        }
        _ => {
            // Device code, approved (poll returned the pending scope).
            let tokens = user_tokens(ctx, tid, &client_id, &aud, now, lifetime, |t| {
                t.admins.first_mut()
            })?
            .ok_or_else(|| {
                let (code, description) = quirks::DEVICE_CODE_NO_ADMIN_ERROR;
                AadError::new(400, "invalid_grant", code, description)
            })?;
            if let Some(code) = form.get("device_code") {
                crate::devicecode::redeemed(ctx, code);
            }
            Ok(tokens)
        }
    }
}

fn resource_not_found(resource: &str, tid: &str) -> AadError {
    AadError::new(
        400,
        "invalid_resource",
        500_011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {tid}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
        ),
    )
}

/// The prefix of every refresh token the emulator issues.
const ISSUED_REFRESH_TOKEN_PREFIX: &str = "emulator-rt-";

/// How many refresh tokens issued by the emulator each admin keeps: a new
/// one beyond these invalidates the oldest. Tokens written in the state
/// file by hand (and [`crate::LOCAL_ADMIN_REFRESH_TOKEN`]) never expire.
/// Entra ID keeps old refresh tokens valid until they expire; the emulator
/// bounds them so the state file does not grow with every sign-in.
pub(crate) const MAX_ISSUED_REFRESH_TOKENS: usize = 8;

/// Adds `token` to `tokens`, dropping the oldest issued tokens beyond
/// [`MAX_ISSUED_REFRESH_TOKENS`]; hand-written tokens stay.
fn add_refresh_token(tokens: &mut Vec<String>, token: String) {
    tokens.push(token);
    let issued = tokens
        .iter()
        .filter(|t| t.starts_with(ISSUED_REFRESH_TOKEN_PREFIX))
        .count();
    let mut excess = issued.saturating_sub(MAX_ISSUED_REFRESH_TOKENS);
    tokens.retain(|t| {
        if excess > 0 && t.starts_with(ISSUED_REFRESH_TOKEN_PREFIX) {
            excess -= 1;
            false
        } else {
            true
        }
    });
}

/// Issues a delegated access token and a new refresh token for the admin
/// `pick` chooses; `None` when it chooses nobody. The redeemed token stays
/// valid (within [`MAX_ISSUED_REFRESH_TOKENS`]).
fn user_tokens(
    ctx: &Ctx,
    tid: &str,
    client_id: &str,
    aud: &str,
    now: &Clock,
    lifetime: i64,
    pick: impl FnOnce(&mut Tenant) -> Option<&mut crate::state::Admin>,
) -> Result<Option<Value>, AadError> {
    let new_refresh = format!("{ISSUED_REFRESH_TOKEN_PREFIX}{}", Uuid::new_v4());
    let chosen = ctx
        .write_tenant(tid, |t| {
            Ok(pick(t).map(|a| {
                add_refresh_token(&mut a.refresh_tokens, new_refresh.clone());
                (a.user_principal_name.clone(), a.role_template_ids.clone())
            }))
        })
        .map_err(internal)?;
    let Some((upn, wids)) = chosen else {
        return Ok(None);
    };
    let principal = Principal {
        tid: tid.to_string(),
        aud: aud.to_string(),
        appid: client_id.to_string(),
        appidacr: "0".to_string(),
        idtyp: IdType::User,
        roles: Vec::new(),
        scp: Some(USER_SCOPE.to_string()),
        wids,
        upn: Some(upn),
        exp: now.secs + lifetime,
    };
    Ok(Some(json!({
        "token_type": "Bearer",
        "scope": format!("{aud}/{USER_SCOPE}"),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": mint(&principal, now.secs),
        "refresh_token": new_refresh,
    })))
}

fn find_app(t: &Tenant, client_id: &str) -> Option<App> {
    t.apps
        .iter()
        .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(exp: i64) -> Principal {
        Principal {
            tid: "t".into(),
            aud: GRAPH_RESOURCE.into(),
            appid: "a".into(),
            appidacr: "1".into(),
            idtyp: IdType::App,
            roles: vec!["Policy.Read.All".into()],
            scp: None,
            wids: Vec::new(),
            upn: None,
            exp,
        }
    }

    #[test]
    fn minted_tokens_parse_back() {
        let token = mint(&principal(2000), 1000);
        let p = parse(&token, 1500).expect("valid");
        assert_eq!(p.tid, "t");
        assert_eq!(p.roles, vec!["Policy.Read.All"]);
        assert_eq!(p.idtyp, IdType::App);
    }

    #[test]
    fn expired_garbled_and_empty_tokens_are_refused() {
        let token = mint(&principal(2000), 1000);
        assert_eq!(parse(&token, 2000).err(), Some(TokenRejection::Expired));
        assert_eq!(parse("abc", 0).err(), Some(TokenRejection::Malformed));
        let forged = token
            .rsplit_once('.')
            .map(|(a, _)| format!("{a}.c2lnbg"))
            .expect("dots");
        assert_eq!(parse(&forged, 1500).err(), Some(TokenRejection::Malformed));
        assert_eq!(parse("  ", 0).err(), Some(TokenRejection::Empty));
    }

    #[test]
    fn issued_refresh_tokens_are_bounded_and_hand_written_ones_stay() {
        let mut tokens = vec![
            crate::LOCAL_ADMIN_REFRESH_TOKEN.to_string(),
            "my-own-token".to_string(),
        ];
        for i in 0..20 {
            add_refresh_token(&mut tokens, format!("{ISSUED_REFRESH_TOKEN_PREFIX}{i}"));
        }
        let issued: Vec<String> = (12..20)
            .map(|i| format!("{ISSUED_REFRESH_TOKEN_PREFIX}{i}"))
            .collect();
        let mut expected = vec![
            crate::LOCAL_ADMIN_REFRESH_TOKEN.to_string(),
            "my-own-token".to_string(),
        ];
        expected.extend(issued);
        assert_eq!(
            tokens, expected,
            "the newest {MAX_ISSUED_REFRESH_TOKENS} issued ones"
        );
    }

    #[test]
    fn scopes_name_their_resource() {
        assert_eq!(
            resource_of_scopes("offline_access https://graph.microsoft.com/.default"),
            Some((GRAPH_RESOURCE.to_string(), true))
        );
        assert_eq!(
            resource_of_scopes("74658136-14ec-4630-ad9b-26e160ff0fc6/user_impersonation"),
            Some((PORTAL_AUDIENCE.to_string(), false))
        );
        assert_eq!(resource_of_scopes("openid"), None);
    }
}
