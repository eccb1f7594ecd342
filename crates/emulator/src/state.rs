//! The emulator's whole state (every tenant) as one serialisable value, and
//! its state file: loading with defaults filled in, and atomic writes (when
//! to write is the `persist` module's business).
//!
//! The format is documented in the crate documentation (`lib.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;
use crate::defaults;
use crate::faults::FaultConfig;

/// Version written to, and accepted in, the state file's `formatVersion`.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Every tenant the emulator knows, keyed by lower-case tenant id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct State {
    /// Format of this file; see [`FORMAT_VERSION`].
    #[serde(default = "format_version")]
    pub format_version: u32,
    /// The fake GitHub Actions OIDC service; omitted means [`GithubOidc::default`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_oidc: Option<GithubOidc>,
    /// Fault injection at start; omitted means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultConfig>,
    /// The tenants. Shared, so that a snapshot for the state file copies
    /// pointers, not policies; a write swaps in a whole new tenant.
    #[serde(default)]
    pub tenants: BTreeMap<String, Arc<Tenant>>,
}

/// The fake GitHub Actions OIDC service (`GET /_emulator/github/oidc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GithubOidc {
    /// The bearer token a job presents (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    #[serde(default = "default_request_token")]
    pub request_token: String,
    /// The `sub` claim of every token issued.
    #[serde(default = "default_subject")]
    pub subject: String,
}

fn default_request_token() -> String {
    "emulator-actions-request-token".to_string()
}

fn default_subject() -> String {
    "repo:contoso/identity-config:ref:refs/heads/main".to_string()
}

impl Default for GithubOidc {
    fn default() -> Self {
        GithubOidc {
            request_token: default_request_token(),
            subject: default_subject(),
        }
    }
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

impl Default for State {
    fn default() -> Self {
        State {
            format_version: FORMAT_VERSION,
            github_oidc: None,
            faults: None,
            tenants: BTreeMap::new(),
        }
    }
}

/// One tenant. The JSON objects are stored in their wire shape, minus
/// `@odata.context` annotations and values the server computes on read
/// (the organization's `id` and `displayName`, the portal's group name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tenant {
    /// The tenant's display name (served as the organization's `displayName`).
    pub display_name: String,
    /// Portal `PasswordReset/PasswordResetPolicies` object.
    pub password_reset_policies: Map<String, Value>,
    /// Portal `PasswordReset/OnPremisesPasswordResetPolicies` object.
    pub on_premises_password_reset_policies: Map<String, Value>,
    /// Graph `policies/authorizationPolicy`.
    pub authorization_policy: Map<String, Value>,
    /// Graph `policies/authenticationMethodsPolicy`, with its
    /// `authenticationMethodConfigurations` array inline.
    pub authentication_methods_policy: Map<String, Value>,
    /// Graph `groupSettings` objects (`{id, displayName, templateId, values}`).
    pub group_settings: Vec<Value>,
    /// Graph `organization` object.
    pub organization: Map<String, Value>,
    /// Graph `subscribedSkus` items.
    pub subscribed_skus: Vec<Value>,
    /// Graph `groups`.
    pub groups: Vec<Value>,
    /// App registrations that may use the client-credentials grant.
    pub apps: Vec<App>,
    /// Administrators whose refresh tokens the refresh-token grant accepts;
    /// the first one signs in through the device-code flow.
    pub admins: Vec<Admin>,
    /// Managed identities living in this tenant (the IMDS endpoint).
    #[serde(default)]
    pub managed_identities: Vec<ManagedIdentity>,
    /// The generated user population behind the registration report.
    #[serde(default)]
    pub population: Population,
    /// Device-code sign-ins are approved on the second poll without
    /// `POST /_emulator/devicecode/approve`.
    #[serde(default = "yes")]
    pub auto_approve_device_code: bool,
    /// Lifetime of every access token issued for this tenant (`expires_in`).
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_seconds: i64,
}

fn yes() -> bool {
    true
}

/// Default access-token lifetime, in seconds.
pub(crate) const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 3599;

fn default_token_lifetime() -> i64 {
    DEFAULT_TOKEN_LIFETIME_SECS
}

/// An app registration: its credentials and granted application permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct App {
    /// Application (client) id.
    pub client_id: String,
    /// Its client secret, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Granted application permissions, e.g. `Policy.Read.All` (the token's `roles`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Certificates whose keys may sign client assertions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// Federated identity credentials (workload identity federation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub federated_credentials: Vec<FederatedCredential>,
}

/// A certificate credential. It is found by the assertion header's
/// `x5t#S256` (matched against `thumbprintSha256`) or `x5t` (matched against
/// `thumbprint`); with `certificatePem`, both thumbprints are computed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Certificate {
    /// base64url (or hex) SHA-256 of the certificate's DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint_sha256: Option<String>,
    /// hex (or base64url) SHA-1 of the certificate's DER, as the portal shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// The certificate itself (`-----BEGIN CERTIFICATE-----`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_pem: Option<String>,
    /// The RSA public key (`-----BEGIN PUBLIC KEY-----`, SPKI) that verifies
    /// the assertion's signature.
    pub public_key_pem: String,
}

/// A federated identity credential: which external tokens the app trusts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FederatedCredential {
    /// A label, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's `iss`, exactly.
    pub issuer: String,
    /// The token's `sub`, exactly (case-sensitive).
    pub subject: String,
    /// Accepted `aud` values.
    #[serde(default = "default_fic_audiences")]
    pub audiences: Vec<String>,
}

/// The audience GitHub tokens for Entra ID are requested with.
pub(crate) const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

fn default_fic_audiences() -> Vec<String> {
    vec![TOKEN_EXCHANGE_AUDIENCE.to_string()]
}

/// A managed identity and its granted application permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ManagedIdentity {
    /// The identity's client id (its token's `appid`).
    pub client_id: String,
    /// Granted application permissions (the token's `roles`).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The generated users behind `reports/authenticationMethods/userRegistrationDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Population {
    /// How many users.
    #[serde(default = "default_users")]
    pub users: u32,
    /// Seed of the generator; omitted means one derived from the tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn default_users() -> u32 {
    500
}

impl Default for Population {
    fn default() -> Self {
        Population {
            users: default_users(),
            seed: None,
        }
    }
}

/// A directory administrator who signs in with a refresh token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Admin {
    /// The admin's user principal name (the token's `upn`).
    pub user_principal_name: String,
    /// Directory role template ids (the token's `wids`); Global Administrator by default.
    #[serde(default = "default_admin_roles")]
    pub role_template_ids: Vec<String>,
    /// Every refresh token issued to this admin that is still valid.
    #[serde(default)]
    pub refresh_tokens: Vec<String>,
}

fn default_admin_roles() -> Vec<String> {
    vec![crate::token::GLOBAL_ADMIN_ROLE.to_string()]
}

/// Loads the state file; a missing file is an empty state. Each tenant
/// object is laid over a fresh tenant, so a hand-written tenant may give only
/// the keys it cares about.
pub(crate) fn load(path: &Path) -> Result<State, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
        Err(source) => {
            return Err(Error::StateUnreadable {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse(&text).map_err(|source| Error::StateCorrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// The on-disk shape before defaults are filled in.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawState {
    #[serde(default = "format_version")]
    format_version: u32,
    #[serde(default)]
    github_oidc: Option<GithubOidc>,
    #[serde(default)]
    faults: Option<FaultConfig>,
    #[serde(default)]
    tenants: BTreeMap<String, Map<String, Value>>,
}

/// Parses state-file text, filling every omitted tenant key with its default.
pub(crate) fn parse(text: &str) -> Result<State, serde_json::Error> {
    let raw: RawState = serde_json::from_str(text)?;
    let mut tenants = BTreeMap::new();
    for (id, given) in raw.tenants {
        let id = id.to_ascii_lowercase();
        let mut merged = match serde_json::to_value(defaults::fresh_tenant(&id))? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        for (k, v) in given {
            merged.insert(k, v);
        }
        let tenant: Tenant = serde_json::from_value(Value::Object(merged))?;
        tenants.insert(id, Arc::new(tenant));
    }
    Ok(State {
        format_version: raw.format_version,
        github_oidc: raw.github_oidc,
        faults: raw.faults,
        tenants,
    })
}

/// The state file's text, as `serde_json::to_vec_pretty(state)` writes it,
/// reusing the text of every tenant that is still the same [`Arc`] as in
/// `cache` (and leaving in `cache` the text of every current tenant): a
/// write after a few changes serialises those tenants only.
pub(crate) fn render(
    state: &State,
    cache: &mut BTreeMap<String, (Arc<Tenant>, Arc<str>)>,
) -> serde_json::Result<Vec<u8>> {
    /// Every field of [`State`] but `tenants`, in the same order.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Head<'a> {
        format_version: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        github_oidc: &'a Option<GithubOidc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        faults: &'a Option<FaultConfig>,
    }
    let head = serde_json::to_string_pretty(&Head {
        format_version: state.format_version,
        github_oidc: &state.github_oidc,
        faults: &state.faults,
    })?;
    // `{\n  "formatVersion": 1,\n …\n}`: reopen it for `tenants`.
    let head = head.strip_suffix("\n}").unwrap_or(&head);
    let mut out = Vec::with_capacity(
        head.len()
            + cache
                .values()
                .map(|(_, text)| text.len() + 64)
                .sum::<usize>(),
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b",\n  \"tenants\": ");
    let mut fresh = BTreeMap::new();
    if state.tenants.is_empty() {
        out.extend_from_slice(b"{}");
    } else {
        out.extend_from_slice(b"{");
        for (i, (id, tenant)) in state.tenants.iter().enumerate() {
            let text = match cache.get(id) {
                Some((cached, text)) if Arc::ptr_eq(cached, tenant) => Arc::clone(text),
                _ => {
                    // A tenant inside `tenants` sits 4 spaces deep; its
                    // strings hold no raw newline, so indenting lines is exact.
                    let alone = serde_json::to_string_pretty(&**tenant)?;
                    Arc::from(alone.replace('\n', "\n    "))
                }
            };
            out.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            serde_json::to_writer(&mut out, id)?;
            out.extend_from_slice(b": ");
            out.extend_from_slice(text.as_bytes());
            fresh.insert(id.clone(), (Arc::clone(tenant), text));
        }
        out.extend_from_slice(b"\n  }");
    }
    out.extend_from_slice(b"\n}");
    *cache = fresh;
    Ok(out)
}

/// Writes `bytes` (and a final newline) atomically: a temporary file in the
/// same directory, flushed and fsync'd, then renamed over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state.json".to_string());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_tenant_gets_defaults_for_omitted_keys() {
        let text = r#"{"tenants":{"AAAAAAAA-0000-4000-8000-000000000001":{
            "displayName":"Fabrikam",
            "apps":[{"clientId":"c1","clientSecret":"s1"}],
            "admins":[{"userPrincipalName":"a@fabrikam.example","refreshTokens":["rt"]}]}}}"#;
        let state = parse(text).expect("valid state");
        let t = state
            .tenants
            .get("aaaaaaaa-0000-4000-8000-000000000001")
            .expect("tenant id is lower-cased");
        assert_eq!(t.display_name, "Fabrikam");
        assert_eq!(t.apps.len(), 1);
        assert!(t.apps[0].roles.is_empty());
        assert_eq!(
            t.admins[0].role_template_ids,
            vec![crate::token::GLOBAL_ADMIN_ROLE]
        );
        assert_eq!(
            t.password_reset_policies.get("objectId"),
            Some(&Value::from("default"))
        );
        assert!(!t.groups.is_empty());
    }

    #[test]
    fn rendering_with_cached_tenants_is_exactly_the_pretty_json() {
        let mut state = parse(
            r#"{"githubOidc":{"subject":"repo:x/y:ref:refs/heads/main"},
                "faults":{"latencyMs":5},
                "tenants":{"aaaaaaaa-0000-4000-8000-000000000001":{"displayName":"Line\nbreak \"quoted\""},
                           "aaaaaaaa-0000-4000-8000-000000000002":{}}}"#,
        )
        .expect("valid state");
        let mut cache = BTreeMap::new();
        let first = render(&state, &mut cache).expect("renders");
        let expected = serde_json::to_vec_pretty(&state).expect("pretty");
        assert_eq!(
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&expected)
        );

        // One tenant replaced: rendered anew, the other from the cache.
        let id = "aaaaaaaa-0000-4000-8000-000000000002";
        let mut changed = Tenant::clone(&state.tenants[id]);
        changed.display_name = "Changed".into();
        state.tenants.insert(id.into(), Arc::new(changed));
        let second = render(&state, &mut cache).expect("renders");
        let expected = serde_json::to_vec_pretty(&state).expect("pretty");
        assert_eq!(
            String::from_utf8_lossy(&second),
            String::from_utf8_lossy(&expected)
        );

        let empty = State::default();
        let rendered = render(&empty, &mut cache).expect("renders");
        assert_eq!(rendered, serde_json::to_vec_pretty(&empty).expect("pretty"));
        assert!(
            cache.is_empty(),
            "tenants gone from the state leave the cache"
        );
    }

    #[test]
    fn non_object_tenant_is_an_error() {
        assert!(parse(r#"{"tenants":{"x":[]}}"#).is_err());
        assert!(parse("not json").is_err());
    }
}
