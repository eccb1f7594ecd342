//! How ssprctl signs in to a tenant. Only *where* to find secrets is written in
//! the file (environment variable names); the secrets themselves never are —
//! an inline secret is a validation error, and so is a value of an
//! environment-variable field that is not a variable name (a pasted secret).

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
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
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
        #[schemars(regex(pattern = ENV_NAME_PATTERN))]
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
        #[schemars(regex(pattern = ENV_NAME_PATTERN))]
        path_env: Option<String>,
        /// Environment variable holding the PFX password, if any
        /// (default `AZURE_CLIENT_CERTIFICATE_PASSWORD`).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = ENV_NAME_PATTERN))]
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
        #[schemars(regex(pattern = ENV_NAME_PATTERN))]
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
        #[schemars(regex(pattern = ENV_NAME_PATTERN))]
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

/// The form of an environment-variable name (POSIX portable: letters, digits
/// and `_`, not starting with a digit). Every field that names a variable has
/// it as its schema `pattern`.
pub const ENV_NAME_PATTERN: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";

/// The fields that name an environment variable. A problem with one of their
/// values never shows the value: it may be a secret pasted in by mistake.
pub const ENV_FIELDS: &[&str] = &["secretEnv", "pathEnv", "passwordEnv", "tokenFileEnv", "env"];

/// Whether `s` is an environment-variable name (see [`ENV_NAME_PATTERN`]).
pub fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn env_names_are_letters_digits_and_underscores_not_starting_with_a_digit() {
        for ok in ["AZURE_CLIENT_SECRET", "_X", "a1", "x"] {
            assert!(is_env_name(ok), "{ok}");
        }
        for bad in [
            "",
            "1X",
            "MY-VAR",
            "MY VAR",
            "s3cr3t~value.xyz",
            "A=B",
            "ÄB",
            "X\u{0}",
        ] {
            assert!(!is_env_name(bad), "{bad}");
        }
    }

    /// Every property of the credentials schema that names an environment
    /// variable (`env`, `…Env`) is listed in ENV_FIELDS and has the pattern,
    /// and every listed field exists.
    #[test]
    fn every_environment_variable_field_is_listed_and_has_the_pattern() {
        let schema = crate::schema::config_schema_value();
        let mut found = Vec::new();
        for name in ["GraphCredential", "PortalCredential"] {
            let def = &schema["definitions"][name];
            let alts = def["oneOf"].as_array().expect("a tagged union");
            for alt in alts {
                let props = alt["properties"].as_object().into_iter().flatten();
                for (key, prop) in props {
                    if key == "env" || key.ends_with("Env") {
                        assert!(
                            ENV_FIELDS.contains(&key.as_str()),
                            "{key} is not in ENV_FIELDS"
                        );
                        assert_eq!(
                            prop.get("pattern").and_then(Value::as_str),
                            Some(ENV_NAME_PATTERN),
                            "{key}"
                        );
                        found.push(key.clone());
                    }
                }
            }
        }
        for field in ENV_FIELDS {
            assert!(
                found.iter().any(|f| f == field),
                "{field} is not in the schema"
            );
        }
    }
}
