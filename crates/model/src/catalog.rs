//! Which API serves each setting. The plan shows it beside every change, so a
//! reviewer knows when a change goes through an undocumented surface.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One API surface ssprctl reads and writes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Api {
    /// Entra portal `PasswordReset/PasswordResetPolicies` (undocumented; full-object PUT).
    PortalPasswordReset,
    /// Entra portal `PasswordReset/OnPremisesPasswordResetPolicies` (undocumented; one PUT per flag).
    PortalOnPremises,
    /// Graph v1.0 `policies/authorizationPolicy` (PATCH of changed fields).
    GraphAuthorizationPolicy,
    /// Graph v1.0 `policies/authenticationMethodsPolicy` and its method configurations.
    GraphAuthenticationMethods,
    /// Graph v1.0 `groupSettings`, template "Password Rule Settings".
    GraphPasswordRuleSettings,
}

impl Api {
    /// Every surface, in the order apply writes them.
    pub const ALL: [Api; 5] = [
        Api::GraphAuthenticationMethods,
        Api::PortalPasswordReset,
        Api::PortalOnPremises,
        Api::GraphAuthorizationPolicy,
        Api::GraphPasswordRuleSettings,
    ];

    /// The model section (top-level key of `Settings`) this surface serves.
    pub fn section(self) -> &'static str {
        match self {
            Api::PortalPasswordReset => "selfServicePasswordReset",
            Api::PortalOnPremises => "onPremisesIntegration",
            Api::GraphAuthorizationPolicy => "administratorPasswordReset",
            Api::GraphAuthenticationMethods => "authenticationMethods",
            Api::GraphPasswordRuleSettings => "passwordProtection",
        }
    }

    /// The surface serving a setting path such as `selfServicePasswordReset.methodsRequired`.
    pub fn for_path(path: &str) -> Option<Api> {
        let section = path.split('.').next()?;
        Api::ALL.into_iter().find(|api| api.section() == section)
    }

    /// Short label for plans: where the write goes.
    pub fn label(self) -> &'static str {
        match self {
            Api::PortalPasswordReset => "portal PasswordResetPolicies",
            Api::PortalOnPremises => "portal OnPremisesPasswordResetPolicies",
            Api::GraphAuthorizationPolicy => "Graph authorizationPolicy",
            Api::GraphAuthenticationMethods => "Graph authenticationMethodsPolicy",
            Api::GraphPasswordRuleSettings => "Graph groupSettings (Password Rule Settings)",
        }
    }

    /// Whether Microsoft documents this API (the portal API is undocumented and
    /// may change without notice).
    pub fn documented(self) -> bool {
        !matches!(self, Api::PortalPasswordReset | Api::PortalOnPremises)
    }

    /// Whether the surface needs a delegated administrator sign-in (no app-only).
    pub fn needs_delegated_admin(self) -> bool {
        !self.documented()
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_maps_to_exactly_one_api() {
        for api in Api::ALL {
            assert_eq!(Api::for_path(&format!("{}.x", api.section())), Some(api));
        }
        assert_eq!(Api::for_path("nope.x"), None);
    }
}
