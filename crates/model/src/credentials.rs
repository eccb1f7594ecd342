//! How ssprctl signs in to a tenant. Only *where* to find secrets is written in
//! the file (environment variable names); the secrets themselves never are —
//! an inline secret is a validation error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Credentials of one tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// How to get app-only tokens for the Microsoft Graph surfaces. Default:
    /// `clientSecret` with `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<GraphCredential>,
    /// How to get a delegated administrator token for the portal surfaces
    /// (`selfServicePasswordReset`, `onPremisesIntegration`). Default: the
    /// refresh token in `SSPRCTL_PORTAL_REFRESH_TOKEN`, else the one stored by
    /// `ssprctl login`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal: Option<PortalCredential>,
}

/// An app-only credential for Microsoft Graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "camelCase", deny_unknown_fields)]
pub enum GraphCredential {
    /// A client secret, read from an environment variable.
    #[serde(rename_all = "camelCase")]
    ClientSecret {
        /// Application (client) id; default `AZURE_CLIENT_ID` from the environment.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = crate::GUID_PATTERN))]
        client_id: Option<String>,
        /// Environment variable holding the secret (default `AZURE_CLIENT_SECRET`).
        #[serde(skip_serializing_if = "Option::is_none")]
        secret_env: Option<String>,
    },
    /// A certificate: a signed JWT client assertion. The certificate and its
    /// private key come from a PEM or PFX file named by an environment variable.
    #[serde(rename_all = "camelCase")]
    Certificate {
        /// Application (client) id; default `AZURE_CLIENT_ID` from the environment.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = crate::GUID_PATTERN))]
        client_id: Option<String>,
        /// Environment variable holding the path of the PEM or PFX file
        /// (default `AZURE_CLIENT_CERTIFICATE_PATH`).
        #[serde(skip_serializing_if = "Option::is_none")]
        path_env: Option<String>,
        /// Environment variable holding the PFX password, if any
        /// (default `AZURE_CLIENT_CERTIFICATE_PASSWORD`).
        #[serde(skip_serializing_if = "Option::is_none")]
        password_env: Option<String>,
    },
    /// Workload identity federation with a token file (Kubernetes, other CI).
    #[serde(rename_all = "camelCase")]
    WorkloadIdentity {
        /// Application (client) id; default `AZURE_CLIENT_ID` from the environment.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = crate::GUID_PATTERN))]
        client_id: Option<String>,
        /// Environment variable holding the federated token file's path
        /// (default `AZURE_FEDERATED_TOKEN_FILE`).
        #[serde(skip_serializing_if = "Option::is_none")]
        token_file_env: Option<String>,
    },
    /// Workload identity federation with GitHub Actions' OIDC token, requested
    /// from the runner (the job needs `permissions: id-token: write`).
    #[serde(rename_all = "camelCase")]
    GithubActions {
        /// Application (client) id; default `AZURE_CLIENT_ID` from the environment.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = crate::GUID_PATTERN))]
        client_id: Option<String>,
        /// The audience the app's federated credential expects
        /// (default `api://AzureADTokenExchange`).
        #[serde(skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
    /// An Azure managed identity (system-assigned, or user-assigned by client id).
    #[serde(rename_all = "camelCase")]
    ManagedIdentity {
        /// Client id of a user-assigned identity.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = crate::GUID_PATTERN))]
        client_id: Option<String>,
    },
    /// The Azure CLI's signed-in account (`az login`), for a person at a laptop.
    AzureCli,
}

/// A delegated administrator credential for the portal API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "camelCase", deny_unknown_fields)]
pub enum PortalCredential {
    /// A refresh token read from an environment variable (CI).
    #[serde(rename_all = "camelCase")]
    RefreshToken {
        /// Environment variable holding it (default `SSPRCTL_PORTAL_REFRESH_TOKEN`).
        #[serde(skip_serializing_if = "Option::is_none")]
        env: Option<String>,
    },
    /// The refresh token stored by `ssprctl login` for this tenant.
    SignedIn,
}

/// Field names that would hold a secret inline; each is refused with a hint.
pub const INLINE_SECRET_FIELDS: &[&str] = &[
    "secret",
    "clientSecret",
    "password",
    "certificatePassword",
    "refreshToken",
    "accessToken",
    "token",
    "privateKey",
];
