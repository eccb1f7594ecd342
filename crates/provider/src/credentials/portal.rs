//! The portal API's credential: a delegated administrator's refresh token,
//! from `ssprctl login` (device-code sign-in) or the configuration.

use std::time::{Duration, Instant};

use serde_json::Value;
use ssprctl_model::Api;

use super::{Fetched, Secret, token_url};
use crate::client::{Connection, HttpProvider};
use crate::clouds::{Hosts, PORTAL_CLIENT_ID, PORTAL_RESOURCE};
use crate::error::ProviderError;
use crate::store::TokenStore;

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

/// What the portal token is for, in sign-in errors.
const PURPOSE: &str = "the Entra portal API";

fn portal_scope() -> String {
    format!("{PORTAL_RESOURCE}/.default offline_access")
}

/// What the device-code endpoint asked the user to do.
struct DeviceCode {
    device_code: String,
    message: String,
    interval: u64,
    expires_in: u64,
}

impl DeviceCode {
    fn from_json(start: &Value) -> DeviceCode {
        let text = |k: &str| start.get(k).and_then(Value::as_str);
        let message = text("message").map(str::to_string).unwrap_or_else(|| {
            format!(
                "To sign in, open {} and enter the code {}",
                text("verification_uri").unwrap_or("https://microsoft.com/devicelogin"),
                text("user_code").unwrap_or("?")
            )
        });
        DeviceCode {
            device_code: text("device_code").unwrap_or_default().to_string(),
            message,
            interval: start
                .get("interval")
                .and_then(Value::as_u64)
                .unwrap_or(5)
                .max(1),
            expires_in: start
                .get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(900),
        }
    }
}

impl HttpProvider {
    /// A portal token from the tenant's refresh token (the latest rotated one
    /// if the token endpoint rotated it).
    pub(crate) async fn portal_token(
        &self,
        conn: &Connection,
        api: Api,
    ) -> Result<Fetched, ProviderError> {
        let cred = (*conn.portal)
            .as_ref()
            .map_err(|hint| ProviderError::NoCredential {
                api,
                hint: hint.clone(),
            })?;
        let refresh = match self.rotated.lock().await.get(&conn.tenant_id) {
            Some(r) => r.clone(),
            None => cred.refresh_token.clone(),
        };
        let form: Vec<(&str, String)> = vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", cred.client_id.clone()),
            ("refresh_token", refresh.expose().to_string()),
            ("scope", portal_scope()),
        ];
        let url = token_url(&conn.hosts.login, &conn.tenant_id);
        self.token_endpoint(api, PURPOSE, &url, &form).await
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
        let url = format!("{}/{tenant_id}/oauth2/v2.0/devicecode", hosts.login);
        let form = [
            ("client_id", PORTAL_CLIENT_ID.to_string()),
            ("scope", portal_scope()),
        ];
        let (_, start) = self
            .send_checked(api, self.http.post(&url).form(&form), &url)
            .await?;
        let code = DeviceCode::from_json(&start);
        prompt(&code.message);
        let token_url = token_url(&hosts.login, tenant_id);
        let deadline = Instant::now() + Duration::from_secs(code.expires_in);
        let form = [
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:device_code".to_string(),
            ),
            ("client_id", PORTAL_CLIENT_ID.to_string()),
            ("device_code", code.device_code),
        ];
        loop {
            tokio::time::sleep(Duration::from_secs(code.interval)).await;
            match self.token_endpoint(api, PURPOSE, &token_url, &form).await {
                Ok(fetched) => {
                    let refresh = fetched.refresh.ok_or_else(|| ProviderError::Unexpected {
                        api,
                        detail: "the sign-in returned no refresh token".into(),
                    })?;
                    let user = super::token_claims(fetched.access.expose())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_code_without_a_message_says_where_to_go() {
        let code = DeviceCode::from_json(&serde_json::json!({
            "device_code": "d", "user_code": "ABC", "interval": 0,
        }));
        assert_eq!(
            code.message,
            "To sign in, open https://microsoft.com/devicelogin and enter the code ABC"
        );
        assert_eq!(code.interval, 1);
        assert_eq!(code.expires_in, 900);
    }
}
