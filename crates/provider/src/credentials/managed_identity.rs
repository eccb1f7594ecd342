//! Azure managed identity: a token from the instance metadata service (IMDS).

use serde_json::Value;
use ssprctl_model::Api;

use super::Fetched;
use crate::client::transport::encode;
use crate::client::{Connection, HttpProvider};
use crate::error::ProviderError;

/// The IMDS request for a Graph token.
fn imds_url(endpoint: &str, graph_scope: &str, client_id: Option<&str>) -> String {
    let resource = graph_scope.trim_end_matches("/.default").to_string() + "/";
    let mut url = format!(
        "{endpoint}?api-version=2018-02-01&resource={}",
        encode(&resource)
    );
    if let Some(id) = client_id {
        url.push_str(&format!("&client_id={}", encode(id)));
    }
    url
}

impl HttpProvider {
    /// A Graph token for the VM's (or a user-assigned) managed identity.
    pub(crate) async fn managed_identity_token(
        &self,
        conn: &Connection,
        api: Api,
        client_id: Option<&str>,
        endpoint: &str,
    ) -> Result<Fetched, ProviderError> {
        let url = imds_url(endpoint, &conn.hosts.graph_scope, client_id);
        let (_, body): (_, Value) = self
            .send_checked(api, self.http.get(&url).header("Metadata", "true"), &url)
            .await
            .map_err(|e| ProviderError::Credential {
                method: "managed identity",
                detail: format!("the instance metadata service refused: {}", e.detail()),
            })?;
        Fetched::from_json(api, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imds_asks_for_the_graph_resource_with_a_trailing_slash() {
        assert_eq!(
            imds_url(
                "http://169.254.169.254/metadata/identity/oauth2/token",
                "https://graph.microsoft.com/.default",
                Some("c1"),
            ),
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fgraph.microsoft.com%2F&client_id=c1"
        );
    }
}
