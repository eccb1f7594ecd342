//! Access tokens per tenant and audience: fetched by the tenant's credential,
//! cached until shortly before they expire, and `doctor`'s look at them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use ssprctl_model::{Api, Tenant};
use tokio::sync::Mutex;

use super::{Connection, HttpProvider};
use crate::credentials::{PortalCredential, Secret, token_claims};
use crate::error::ProviderError;

/// Which service a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Audience {
    Graph,
    Portal,
}

struct CachedToken {
    access: Secret,
    refresh_at: Instant,
}

/// Tokens by tenant id and audience.
#[derive(Default)]
pub(crate) struct TokenCache(Mutex<HashMap<(String, Audience), CachedToken>>);

/// When to fetch a new token: five minutes before expiry (or halfway, for
/// short tokens).
fn refresh_after(expires_in: u64) -> Duration {
    let margin = 300.min(expires_in / 2);
    Duration::from_secs(expires_in - margin)
}

impl HttpProvider {
    /// The tenant's token for `audience`, from the cache or newly fetched. A
    /// rotated refresh token is kept (and saved to the token store).
    pub(crate) async fn token(
        &self,
        conn: &Connection,
        audience: Audience,
        api: Api,
    ) -> Result<Secret, ProviderError> {
        let key = (conn.tenant_id.clone(), audience);
        if let Some(t) = self.tokens.0.lock().await.get(&key)
            && Instant::now() < t.refresh_at
        {
            return Ok(t.access.clone());
        }
        let fetched = match audience {
            Audience::Graph => self.graph_token(conn, api).await?,
            Audience::Portal => self.portal_token(conn, api).await?,
        };
        if let Some(rotated) = fetched.refresh {
            self.keep_rotated(conn, rotated).await;
        }
        let refresh_at = Instant::now() + refresh_after(fetched.expires_in);
        let access = fetched.access;
        self.tokens.0.lock().await.insert(
            key,
            CachedToken {
                access: access.clone(),
                refresh_at,
            },
        );
        Ok(access)
    }

    /// Forgets the tenant's cached access tokens (both audiences): for a run
    /// that is done with the tenant, so that a plan of thousands of tenants
    /// does not hold a pair of tokens per tenant until it ends, nor its
    /// rotated refresh token. A later request for the tenant fetches new
    /// ones with the refresh token it was configured with.
    pub async fn release(&self, tenant: &Tenant) {
        let Some(conn) = self.connections.get(&tenant.name) else {
            return;
        };
        let mut tokens = self.tokens.0.lock().await;
        for audience in [Audience::Graph, Audience::Portal] {
            tokens.remove(&(conn.tenant_id.clone(), audience));
        }
        drop(tokens);
        // Its rotated refresh token too: it was saved to the credential
        // store as it came (when the tenant signs in from one), and nothing
        // of this run asks for the tenant again.
        self.rotated.lock().await.remove(&conn.tenant_id);
    }

    /// Drops the tenant's cached token for `audience` (the service refused it).
    pub(crate) async fn forget_token(&self, conn: &Connection, audience: Audience) {
        self.tokens
            .0
            .lock()
            .await
            .remove(&(conn.tenant_id.clone(), audience));
    }

    async fn keep_rotated(&self, conn: &Connection, rotated: Secret) {
        self.rotated
            .lock()
            .await
            .insert(conn.tenant_id.clone(), rotated.clone());
        if let Ok(PortalCredential {
            client_id,
            store: Some(store),
            ..
        }) = &*conn.portal
            && let Err(e) = store.save_portal(&conn.tenant_id, client_id, &rotated, None)
        {
            tracing::warn!("could not save the rotated refresh token: {e}");
        }
    }

    /// Gets a Graph token and a portal token for the tenant and reports what
    /// each carries (for `doctor`). Never returns the tokens.
    pub async fn check_tokens(&self, tenant: &Tenant) -> (TokenCheck, TokenCheck) {
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
        (TokenCheck::of(graph), TokenCheck::of(portal))
    }
}

/// What `doctor` learns about one tenant's credentials.
#[derive(Debug)]
pub struct TokenCheck {
    /// Whether a token was obtained, and its claims if so.
    pub result: Result<TokenFacts, String>,
}

impl TokenCheck {
    fn of(token: Result<Secret, ProviderError>) -> TokenCheck {
        TokenCheck {
            result: token
                .map_err(|e| e.detail())
                .map(|t| TokenFacts::from_claims(&token_claims(t.expose()).unwrap_or(Value::Null))),
        }
    }
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

impl TokenFacts {
    fn from_claims(claims: &Value) -> TokenFacts {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_refresh_five_minutes_early_or_halfway_when_short() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3300));
        assert_eq!(refresh_after(120), Duration::from_secs(60));
        assert_eq!(refresh_after(1), Duration::from_secs(1));
    }

    #[test]
    fn scopes_are_space_separated_roles_a_list() {
        let facts = TokenFacts::from_claims(&serde_json::json!({
            "roles": ["Policy.Read.All"], "scp": "a b", "unique_name": "admin@contoso",
        }));
        assert_eq!(facts.roles, ["Policy.Read.All"]);
        assert_eq!(facts.scopes, ["a", "b"]);
        assert_eq!(facts.user.as_deref(), Some("admin@contoso"));
        assert!(facts.wids.is_empty());
    }
}
