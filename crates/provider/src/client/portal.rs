//! The Entra portal API (`main.iam.ad.ext.azure.com`): its URLs, and GET and
//! PUT with the tenant's delegated token.

use reqwest::Method;
use serde_json::Value;
use ssprctl_model::Api;

use super::tokens::Audience;
use super::{Connection, HttpProvider};
use crate::error::ProviderError;

/// The path of a portal surface's object; a read asks for the SSPR group's
/// name too.
pub(crate) fn portal_path(api: Api, read: bool) -> String {
    let object = match api {
        Api::PortalOnPremises => "OnPremisesPasswordResetPolicies",
        Api::PortalPasswordReset
        | Api::GraphAuthorizationPolicy
        | Api::GraphAuthenticationMethods
        | Api::GraphPasswordRuleSettings => "PasswordResetPolicies",
    };
    let query = if read && api == Api::PortalPasswordReset {
        "?getPasswordResetEnabledGroup=true"
    } else {
        ""
    };
    format!("/api/PasswordReset/{object}{query}")
}

impl HttpProvider {
    /// Reads a portal surface's object.
    pub(crate) async fn portal_get(
        &self,
        conn: &Connection,
        api: Api,
    ) -> Result<Value, ProviderError> {
        let url = format!("{}{}", conn.hosts.portal, portal_path(api, true));
        self.authed(conn, Audience::Portal, api, Method::GET, &url, None)
            .await
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_policy_is_read_with_its_group_and_written_without() {
        assert_eq!(
            portal_path(Api::PortalPasswordReset, true),
            "/api/PasswordReset/PasswordResetPolicies?getPasswordResetEnabledGroup=true"
        );
        assert_eq!(
            portal_path(Api::PortalPasswordReset, false),
            "/api/PasswordReset/PasswordResetPolicies"
        );
        assert_eq!(
            portal_path(Api::PortalOnPremises, true),
            "/api/PasswordReset/OnPremisesPasswordResetPolicies"
        );
    }
}
