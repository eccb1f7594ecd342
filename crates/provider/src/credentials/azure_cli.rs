//! The Azure CLI's signed-in account: `az account get-access-token`.

use serde_json::Value;

use super::{Fetched, Secret};
use crate::client::Connection;
use crate::error::ProviderError;

/// A Graph token from `az`, for the tenant.
pub(crate) async fn token(conn: &Connection) -> Result<Fetched, ProviderError> {
    let resource = conn
        .hosts
        .graph_scope
        .trim_end_matches("/.default")
        .to_string();
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
            failed(format!(
                "cannot run `az` ({e}); install the Azure CLI and run `az login`"
            ))
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(failed(format!(
            "`az account get-access-token` failed: {}; run `az login --tenant {}`",
            err.lines().next().unwrap_or("no output"),
            conn.tenant_id
        )));
    }
    let body: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| failed(format!("unexpected output from az: {e}")))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    from_output(&body, now)
}

fn failed(detail: String) -> ProviderError {
    ProviderError::Credential {
        method: "Azure CLI",
        detail,
    }
}

/// The token in `az`'s JSON; `expires_on` (seconds since the epoch, maybe a
/// string) against `now` gives its lifetime.
fn from_output(body: &Value, now: u64) -> Result<Fetched, ProviderError> {
    let access = body
        .get("accessToken")
        .and_then(Value::as_str)
        .ok_or_else(|| failed("no accessToken in az output".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_comes_from_expires_on_with_a_floor_of_a_minute() {
        let body = serde_json::json!({ "accessToken": "t", "expires_on": "1900" });
        let fetched = from_output(&body, 1000).expect("az output with a token");
        assert_eq!(fetched.expires_in, 900);
        let soon = serde_json::json!({ "accessToken": "t", "expires_on": 1010 });
        assert_eq!(from_output(&soon, 1000).expect("token").expires_in, 60);
        assert!(from_output(&serde_json::json!({}), 0).is_err());
    }
}
