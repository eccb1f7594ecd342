//! Provider errors. Each keeps the service's error body as fields, so the CLI
//! can say which setting, which status, which Graph code and request-id.
//!
//! Callers classify an error with [`ProviderError::is_transient`],
//! [`ProviderError::is_not_found`] and [`ProviderError::status`], and render it
//! without its surface (when the plan already names the surface) with
//! [`ProviderError::detail`]: never by taking the message apart.

use ssprctl_model::Api;

/// Something that went wrong talking to a tenant.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The API answered with an error.
    #[error("{api}: {}", api_detail(*.status, .code.as_deref(), .message, .request_id.as_deref()))]
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
    /// A setting the desired state manages changed between the read the plan
    /// was computed from and the read right before a full-object write: the
    /// reviewed plan no longer holds, so nothing was written to the surface.
    #[error("{api}: nothing was written: changed since the plan was read: {}", moved_list(.moved))]
    Moved {
        /// Which surface.
        api: Api,
        /// Every field that moved (managed or not), with both values.
        moved: Vec<crate::client::ConcurrentChange>,
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

/// `field: before -> after` for each moved field, `; `-separated.
fn moved_list(moved: &[crate::client::ConcurrentChange]) -> String {
    moved
        .iter()
        .map(|m| format!("{}: {} -> {}", m.field, m.before, m.after))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The part of an API error's message after the surface.
fn api_detail(status: u16, code: Option<&str>, message: &str, request_id: Option<&str>) -> String {
    let code = code.map(|c| format!(" {c}")).unwrap_or_default();
    let request_id = request_id
        .map(|r| format!(" (request-id {r})"))
        .unwrap_or_default();
    format!("HTTP {status}{code}: {message}{request_id}")
}

impl ProviderError {
    /// The HTTP status the service answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::Api { status, .. } | ProviderError::Token { status, .. } => {
                Some(*status)
            }
            ProviderError::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            ProviderError::Credential { .. }
            | ProviderError::NoCredential { .. }
            | ProviderError::Unavailable { .. }
            | ProviderError::Unwritable { .. }
            | ProviderError::Moved { .. }
            | ProviderError::Unexpected { .. } => None,
        }
    }

    /// Whether trying again later may succeed: throttled (429), a server error
    /// (5xx), or a request that did not complete.
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::Transport { .. } => true,
            ProviderError::Api { status, .. } | ProviderError::Token { status, .. } => {
                is_transient_status(*status)
            }
            ProviderError::Credential { .. }
            | ProviderError::NoCredential { .. }
            | ProviderError::Unavailable { .. }
            | ProviderError::Unwritable { .. }
            | ProviderError::Moved { .. }
            | ProviderError::Unexpected { .. } => false,
        }
    }

    /// The kind of read failure this is, for an unreadable surface.
    pub fn read_failure(&self) -> ssprctl_model::ReadFailure {
        use ssprctl_model::ReadFailure;
        match self {
            ProviderError::NoCredential { .. } => ReadFailure::NoCredential,
            ProviderError::Token { .. } | ProviderError::Credential { .. } => ReadFailure::Refused,
            ProviderError::Api {
                status: 401 | 403, ..
            } => ReadFailure::Refused,
            ProviderError::Unexpected { .. } => ReadFailure::UnexpectedForm,
            e if e.is_transient() => ReadFailure::Transient,
            ProviderError::Api { .. }
            | ProviderError::Transport { .. }
            | ProviderError::Unavailable { .. }
            | ProviderError::Unwritable { .. }
            | ProviderError::Moved { .. } => ReadFailure::Other,
        }
    }

    /// Whether the API said the object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ProviderError::Api { status: 404, .. })
    }

    /// The surface the error is about, when it is about one.
    pub fn api(&self) -> Option<Api> {
        match self {
            ProviderError::Api { api, .. }
            | ProviderError::NoCredential { api, .. }
            | ProviderError::Transport { api, .. }
            | ProviderError::Unavailable { api, .. }
            | ProviderError::Unwritable { api, .. }
            | ProviderError::Moved { api, .. }
            | ProviderError::Unexpected { api, .. } => Some(*api),
            ProviderError::Token { .. } | ProviderError::Credential { .. } => None,
        }
    }

    /// The error and its causes in one line, without the leading surface (for
    /// places that already say which surface, such as a plan's unreadable list).
    pub fn detail(&self) -> String {
        let head = match self {
            ProviderError::Api {
                status,
                code,
                message,
                request_id,
                ..
            } => api_detail(*status, code.as_deref(), message, request_id.as_deref()),
            ProviderError::NoCredential { hint, .. } => format!("no credential: {hint}"),
            ProviderError::Transport { url, .. } => format!("request to {url} failed"),
            ProviderError::Unavailable { reason, .. } => reason.clone(),
            ProviderError::Unexpected { detail, .. } => format!("unexpected response: {detail}"),
            ProviderError::Unwritable { .. } => "nothing was written".to_string(),
            ProviderError::Moved { moved, .. } => format!(
                "nothing was written: changed since the plan was read: {}",
                moved_list(moved)
            ),
            ProviderError::Token { .. } | ProviderError::Credential { .. } => self.to_string(),
        };
        with_causes(head, std::error::Error::source(self))
    }
}

/// Whether an HTTP status says "try again later".
pub(crate) fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// An error and its causes in one line: `outer: cause: root cause`.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    with_causes(err.to_string(), err.source())
}

/// `head`, then each cause not already said, separated by `: `.
fn with_causes(head: String, mut source: Option<&(dyn std::error::Error + 'static)>) -> String {
    let mut out = head;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(status: u16) -> ProviderError {
        ProviderError::Api {
            api: Api::GraphAuthorizationPolicy,
            status,
            code: Some("Authorization_RequestDenied".into()),
            message: "Insufficient privileges".into(),
            request_id: Some("r-1".into()),
        }
    }

    #[test]
    fn detail_is_the_message_without_its_surface() {
        let e = api_error(403);
        assert_eq!(
            e.to_string(),
            "Graph authorizationPolicy: HTTP 403 Authorization_RequestDenied: Insufficient privileges (request-id r-1)"
        );
        assert_eq!(
            e.detail(),
            "HTTP 403 Authorization_RequestDenied: Insufficient privileges (request-id r-1)"
        );
        let none = ProviderError::NoCredential {
            api: Api::PortalOnPremises,
            hint: "run `ssprctl login`".into(),
        };
        assert_eq!(none.detail(), "no credential: run `ssprctl login`");
        let token = ProviderError::Token {
            purpose: "Microsoft Graph",
            status: 401,
            code: "invalid_client".into(),
            description: "AADSTS7000215".into(),
        };
        assert_eq!(token.detail(), token.to_string());
    }

    #[test]
    fn throttling_and_server_errors_are_transient_refusals_are_not() {
        assert!(api_error(429).is_transient());
        assert!(api_error(503).is_transient());
        assert!(api_error(500).is_transient());
        assert!(!api_error(403).is_transient());
        assert!(!api_error(404).is_transient());
        assert!(api_error(404).is_not_found());
        assert!(!api_error(400).is_not_found());
        assert_eq!(api_error(409).status(), Some(409));
        let gone = ProviderError::Unavailable {
            api: Api::PortalPasswordReset,
            reason: "no token".into(),
        };
        assert_eq!(gone.status(), None);
        assert!(!gone.is_transient());
    }
}
