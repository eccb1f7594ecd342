//! Credentials and how each one turns into an access token.
//!
//! Graph (app-only): client secret; certificate (a signed JWT client
//! assertion, from PEM or PFX: [`certificate`]); workload identity federation
//! (a token file, or GitHub Actions' OIDC token requested from the runner:
//! [`federated`]); managed identity ([`managed_identity`]); and the Azure CLI's
//! signed-in account ([`azure_cli`]). The portal API takes only a delegated
//! administrator's refresh token ([`portal`]: refresh and device-code sign-in).
//!
//! Secrets live in [`Secret`], which never prints. Nothing here logs a token.
//! Each kind only says how to get a token; sending, retrying and caching are
//! the client's.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;
use ssprctl_model::Api;

use crate::client::{Connection, HttpProvider};
use crate::error::ProviderError;

pub mod azure_cli;
pub mod certificate;
pub mod federated;
pub mod managed_identity;
pub mod portal;

pub use certificate::{CertificateSigner, CredentialError};
pub use portal::PortalCredential;

/// A secret string: never printed, never serialised.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for the one place that must send it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An app-only credential for the Graph surfaces.
#[derive(Clone, Debug)]
pub enum AppCredential {
    /// Client id and client secret.
    ClientSecret {
        /// Application (client) id.
        client_id: String,
        /// The secret.
        secret: Secret,
    },
    /// Client id and a certificate whose private key signs a client assertion.
    Certificate {
        /// Application (client) id.
        client_id: String,
        /// The signing key and the certificate's thumbprint.
        signer: Arc<CertificateSigner>,
    },
    /// Workload identity federation with a token file (re-read for every token:
    /// the platform rotates it).
    FederatedTokenFile {
        /// Application (client) id.
        client_id: String,
        /// The federated token file.
        path: PathBuf,
    },
    /// Workload identity federation with the GitHub Actions runner's OIDC token.
    GithubActions {
        /// Application (client) id.
        client_id: String,
        /// Audience to request (`api://AzureADTokenExchange` by default).
        audience: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: Secret,
    },
    /// An Azure managed identity, through the instance metadata service.
    ManagedIdentity {
        /// A user-assigned identity's client id.
        client_id: Option<String>,
        /// The token endpoint (IMDS, or an override for tests).
        endpoint: String,
    },
    /// `az account get-access-token`.
    AzureCli,
}

impl AppCredential {
    /// A short name for `doctor` and errors.
    pub fn method(&self) -> &'static str {
        match self {
            AppCredential::ClientSecret { .. } => "client secret",
            AppCredential::Certificate { .. } => "certificate",
            AppCredential::FederatedTokenFile { .. } => "workload identity (token file)",
            AppCredential::GithubActions { .. } => "workload identity (GitHub Actions OIDC)",
            AppCredential::ManagedIdentity { .. } => "managed identity",
            AppCredential::AzureCli => "Azure CLI",
        }
    }
}

/// The instance metadata service's token endpoint (the one plain-http,
/// non-loopback address ssprctl talks to: link-local, inside the VM).
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The assertion type for JWT client assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The claims of a JWT access token, without checking its signature (the
/// issuer does that); used to tell which roles or scopes a token carries.
pub fn token_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A freshly issued token.
pub(crate) struct Fetched {
    pub(crate) access: Secret,
    pub(crate) expires_in: u64,
    pub(crate) refresh: Option<Secret>,
}

impl Fetched {
    /// From a token endpoint's (or IMDS's) JSON; `expires_in` may be a string.
    pub(crate) fn from_json(api: Api, body: &Value) -> Result<Fetched, ProviderError> {
        TokenAnswer::of_json(body).token(api)
    }
}

impl TokenAnswer {
    /// The token it carries (whatever its status).
    fn token(self, api: Api) -> Result<Fetched, ProviderError> {
        let access = self.access_token.ok_or_else(|| ProviderError::Unexpected {
            api,
            detail: "token response without access_token".into(),
        })?;
        let expires_in = self
            .expires_in
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3599)
            .max(1);
        Ok(Fetched {
            access: Secret::new(access),
            expires_in,
            refresh: self.refresh_token.map(Secret::new),
        })
    }
}

/// A token endpoint's answer (a token, or an OAuth error), decoded straight
/// from its bytes: at thousands of tenants two token answers per tenant made
/// into a generic JSON value each were a visible share of a plan's CPU.
///
/// Decoded only when every field it names has the type it expects (a string,
/// each key once); any other answer goes through its generic JSON form
/// ([`TokenAnswer::decode`]), with the same outcome as before.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<Value>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenAnswer {
    /// The answer of a token endpoint whose body is `body`: typed when it is
    /// a JSON object of the expected types, else from its generic JSON form
    /// (`null` when it is not JSON).
    fn decode(body: &[u8]) -> TokenAnswer {
        // A struct also decodes from a JSON array (by position): only an
        // object is taken as one.
        let object = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if object && let Ok(answer) = serde_json::from_slice::<TokenAnswer>(body) {
            return answer;
        }
        TokenAnswer::of_json(&serde_json::from_slice(body).unwrap_or(Value::Null))
    }

    /// The answer from its generic JSON form: a field that is not a string
    /// counts as absent.
    fn of_json(value: &Value) -> TokenAnswer {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        TokenAnswer {
            access_token: text("access_token"),
            // A `null` is no value, as when decoded typed.
            expires_in: value.get("expires_in").filter(|v| !v.is_null()).cloned(),
            refresh_token: text("refresh_token"),
            error: text("error"),
            error_description: text("error_description"),
        }
    }

    /// The token, or the endpoint's error (`status` not a success).
    fn fetched(
        self,
        api: Api,
        purpose: &'static str,
        status: StatusCode,
    ) -> Result<Fetched, ProviderError> {
        if !status.is_success() {
            return Err(ProviderError::Token {
                purpose,
                status: status.as_u16(),
                code: self.error.unwrap_or_else(|| "unknown_error".to_string()),
                description: self
                    .error_description
                    .as_deref()
                    .unwrap_or("no description")
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        self.token(api)
    }
}

/// The token endpoint of a tenant.
pub(crate) fn token_url(login: &str, tenant_id: &str) -> String {
    format!("{login}/{tenant_id}/oauth2/v2.0/token")
}

/// How an app proves itself at the token endpoint, or a token obtained
/// another way (managed identity, Azure CLI).
enum Proof<'a> {
    Secret {
        client_id: &'a str,
        secret: &'a Secret,
    },
    Assertion {
        client_id: &'a str,
        assertion: String,
    },
    Token(Fetched),
}

impl HttpProvider {
    /// A Graph token by the tenant's app credential.
    pub(crate) async fn graph_token(
        &self,
        conn: &Connection,
        api: Api,
    ) -> Result<Fetched, ProviderError> {
        let cred = (*conn.graph)
            .as_ref()
            .map_err(|hint| ProviderError::NoCredential {
                api,
                hint: hint.clone(),
            })?;
        let token_url = token_url(&conn.hosts.login, &conn.tenant_id);
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("scope", conn.hosts.graph_scope.clone()),
        ];
        match self.proof(conn, cred, api, &token_url).await? {
            Proof::Token(fetched) => return Ok(fetched),
            Proof::Secret { client_id, secret } => {
                form.push(("client_secret", secret.expose().to_string()));
                form.push(("client_id", client_id.to_string()));
            }
            Proof::Assertion {
                client_id,
                assertion,
            } => {
                form.push(("client_id", client_id.to_string()));
                form.push(("client_assertion_type", JWT_BEARER.into()));
                form.push(("client_assertion", assertion));
            }
        }
        self.token_endpoint(api, "Microsoft Graph", &token_url, &form)
            .await
    }

    /// What the credential shows the token endpoint (or the token itself).
    async fn proof<'a>(
        &self,
        conn: &Connection,
        cred: &'a AppCredential,
        api: Api,
        token_url: &str,
    ) -> Result<Proof<'a>, ProviderError> {
        let failed = |detail: String| ProviderError::Credential {
            method: cred.method(),
            detail,
        };
        let assertion = |client_id: &'a String, assertion: String| Proof::Assertion {
            client_id,
            assertion,
        };
        Ok(match cred {
            AppCredential::ClientSecret { client_id, secret } => {
                Proof::Secret { client_id, secret }
            }
            AppCredential::Certificate { client_id, signer } => {
                let signed = signer.assertion(client_id, token_url).map_err(failed)?;
                assertion(client_id, signed)
            }
            AppCredential::FederatedTokenFile { client_id, path } => assertion(
                client_id,
                federated::token_file(path).await.map_err(failed)?,
            ),
            AppCredential::GithubActions {
                client_id,
                audience,
                request_url,
                request_token,
            } => {
                let token = self
                    .github_oidc_token(api, audience, request_url, request_token)
                    .await
                    .map_err(failed)?;
                assertion(client_id, token)
            }
            AppCredential::ManagedIdentity {
                client_id,
                endpoint,
            } => Proof::Token(
                self.managed_identity_token(conn, api, client_id.as_deref(), endpoint)
                    .await?,
            ),
            AppCredential::AzureCli => Proof::Token(azure_cli::token(conn).await?),
        })
    }

    /// A token request to an OAuth token endpoint, retried while the endpoint
    /// is throttled or briefly unavailable.
    pub(crate) async fn token_endpoint(
        &self,
        api: Api,
        purpose: &'static str,
        url: &str,
        form: &[(&str, String)],
    ) -> Result<Fetched, ProviderError> {
        let (status, body) = self.send_form_retrying(api, url, form).await?;
        TokenAnswer::decode(&body).fetched(api, purpose, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }

    /// Bodies a token endpoint may give: Entra's and the emulator's shapes,
    /// OAuth errors, and malformed ones.
    const TOKEN_BODIES: [&str; 16] = [
        r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0.e30.sig"}"#,
        r#"{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":"3599","access_token":"a\u0062c","refresh_token":"r1"}"#,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace ID: x","error_codes":[7000215]}"#,
        r#"{"error":"invalid_grant"}"#,
        r#"{"access_token":1,"expires_in":3599}"#,
        r#"{"access_token":"a","refresh_token":null,"expires_in":null}"#,
        r#"{"access_token":"a","expires_in":3599.5}"#,
        r#"{"access_token":"first","access_token":"second"}"#,
        r#"{"error":{"code":"x"},"error_description":["y"]}"#,
        r#"["a", 1, "r", "e", "d"]"#,
        r#"  {"access_token":"a"}  "#,
        r#"{"access_token":"a""#,
        "<html>Service unavailable</html>",
        "",
        "null",
        r#"{"expires_in":"0","access_token":"a","extra":{"nested":[1,2]}}"#,
    ];

    fn outcome(result: Result<Fetched, ProviderError>) -> String {
        match result {
            Ok(f) => format!(
                "ok {} {} {:?}",
                f.access.expose(),
                f.expires_in,
                f.refresh.as_ref().map(Secret::expose)
            ),
            Err(e) => format!("err {e:?}"),
        }
    }

    #[test]
    fn token_answers_decoded_from_bytes_agree_with_their_generic_json_form() {
        for body in TOKEN_BODIES {
            let generic =
                TokenAnswer::of_json(&serde_json::from_str::<Value>(body).unwrap_or(Value::Null));
            let typed = TokenAnswer::decode(body.as_bytes());
            assert_eq!(typed, generic, "{body}");
            // A refusal names the endpoint's error as reading the generic
            // JSON did (a success is `Fetched::from_json`, tested below).
            let status = StatusCode::BAD_REQUEST;
            let api = Api::GraphAuthorizationPolicy;
            assert_eq!(
                outcome(typed.fetched(api, "Microsoft Graph", status)),
                outcome(generic_error(body, status)),
                "{body}"
            );
        }
    }

    /// The error a failed token answer gave when it was read as generic JSON.
    fn generic_error(body: &str, status: StatusCode) -> Result<Fetched, ProviderError> {
        let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        Err(ProviderError::Token {
            purpose: "Microsoft Graph",
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
        })
    }

    #[test]
    fn expires_in_may_be_a_string_and_is_at_least_one_second() {
        let body = serde_json::json!({ "access_token": "a", "expires_in": "0" });
        let fetched = Fetched::from_json(Api::GraphAuthorizationPolicy, &body)
            .expect("a token response with access_token");
        assert_eq!(fetched.expires_in, 1);
        assert!(fetched.refresh.is_none());
        let missing = Fetched::from_json(Api::GraphAuthorizationPolicy, &serde_json::json!({}));
        assert!(matches!(missing, Err(ProviderError::Unexpected { .. })));
    }
}
