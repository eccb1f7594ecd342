//! Provider errors. Each keeps the service's error body as fields, so the CLI
//! can say which setting, which status, which Graph code and request-id.

use ssprctl_model::Api;

/// Something that went wrong talking to a tenant.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The API answered with an error.
    #[error("{api}: HTTP {status}{}: {message}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), request_id.as_deref().map(|r| format!(" (request-id {r})")).unwrap_or_default())]
    Api {
        /// Which surface.
        api: Api,
        /// HTTP status.
        status: u16,
        /// The service's error code (`Authorization_RequestDenied`, …).
        code: Option<String>,
        /// The service's message.
        message: String,
        /// Graph's request id, for support cases.
        request_id: Option<String>,
    },
    /// The token endpoint refused.
    #[error("sign-in for {purpose} failed: HTTP {status} {code}: {description}")]
    Token {
        /// What the token was for (Graph, or the portal API).
        purpose: &'static str,
        /// HTTP status.
        status: u16,
        /// OAuth error (`invalid_client`, …).
        code: String,
        /// The AADSTS description.
        description: String,
    },
    /// A credential could not produce a token.
    #[error("{method} credential: {detail}")]
    Credential {
        /// The credential method.
        method: &'static str,
        /// What went wrong and what to do.
        detail: String,
    },
    /// No credential is configured for this surface.
    #[error("{api}: no credential: {hint}")]
    NoCredential {
        /// Which surface.
        api: Api,
        /// What to set.
        hint: String,
    },
    /// The request did not complete (connection refused, reset, timeout).
    #[error("{api}: request to {url} failed")]
    Transport {
        /// Which surface.
        api: Api,
        /// Where.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The surface could not be reached because an earlier step failed (for
    /// example its token); `reason` says which.
    #[error("{api}: {reason}")]
    Unavailable {
        /// Which surface.
        api: Api,
        /// The earlier failure, in one line.
        reason: String,
    },
    /// A desired value the API cannot carry; nothing was sent for it.
    #[error("{api}: nothing was written")]
    Unwritable {
        /// Which surface.
        api: Api,
        /// Which setting and value.
        #[source]
        source: crate::wire::WireError,
    },
    /// The answer was not what the API documents.
    #[error("{api}: unexpected response: {detail}")]
    Unexpected {
        /// Which surface.
        api: Api,
        /// What was wrong with it.
        detail: String,
    },
}

/// An error and its causes in one line: `outer: cause: root cause`.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
