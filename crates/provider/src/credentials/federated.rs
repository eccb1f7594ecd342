//! Workload identity federation: the assertion is a token the platform issued,
//! read from a file (Kubernetes, Azure workload identity) or requested from the
//! GitHub Actions runner.

use std::path::Path;

use serde_json::Value;
use ssprctl_model::Api;

use super::Secret;
use crate::client::HttpProvider;
use crate::client::transport::encode;
use crate::error::one_line;

/// The federated token in `path` (re-read for every token: the platform
/// rotates it). The error says what to fix.
pub(crate) async fn token_file(path: &Path) -> Result<String, String> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        format!(
            "cannot read the federated token file {}: {e}",
            path.display()
        )
    })?;
    Ok(text.trim().to_string())
}

/// The runner's token URL with the audience asked for.
fn github_request_url(request_url: &str, audience: &str) -> String {
    let sep = if request_url.contains('?') { '&' } else { '?' };
    format!("{request_url}{sep}audience={}", encode(audience))
}

impl HttpProvider {
    /// The GitHub Actions runner's OIDC token for `audience`. The error says
    /// what went wrong, for a credential error.
    pub(crate) async fn github_oidc_token(
        &self,
        api: Api,
        audience: &str,
        request_url: &str,
        request_token: &Secret,
    ) -> Result<String, String> {
        let url = github_request_url(request_url, audience);
        let (_, body) = self
            .send_checked(
                api,
                self.http.get(&url).bearer_auth(request_token.expose()),
                &url,
            )
            .await
            .map_err(|e| {
                format!(
                    "the GitHub Actions runner refused the OIDC token request: {}",
                    one_line(&e)
                )
            })?;
        body.get("value")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "the runner's OIDC answer has no `value`".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_joins_the_runners_query() {
        assert_eq!(
            github_request_url(
                "https://runner/token?api-version=2.0",
                "api://AzureADTokenExchange"
            ),
            "https://runner/token?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"
        );
        assert_eq!(
            github_request_url("https://runner/token", "x"),
            "https://runner/token?audience=x"
        );
    }
}
