//! Error bodies into typed errors, with what to do about the common ones.

use serde_json::Value;
use ssprctl_model::Api;

use super::transport::Need;
use crate::error::ProviderError;

/// The error for a failed answer. Graph: `{"error": {"code", "message",
/// "innerError"}}`; OAuth and IMDS: `{"error": "invalid_request",
/// "error_description": "..."}`; portal: `{"message"}`; else the text.
pub(crate) fn api_error(api: Api, status: u16, body: &Value, need: Need) -> ProviderError {
    let err = body.get("error");
    let code = err
        .and_then(|e| e.get("code").and_then(Value::as_str).or_else(|| e.as_str()))
        .map(str::to_string);
    let message = err
        .and_then(|e| e.get("message"))
        .or_else(|| body.get("error_description"))
        .or_else(|| body.get("message"))
        .and_then(Value::as_str)
        .map(|m| m.lines().next().unwrap_or_default().to_string())
        .unwrap_or_else(|| match body {
            Value::String(s) if !s.is_empty() => s.chars().take(200).collect(),
            _ => "no error body".to_string(),
        });
    let request_id = err
        .and_then(|e| e.get("innerError"))
        .and_then(|i| i.get("request-id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let message = match hint(api, status, code.as_deref(), need) {
        Some(h) => format!("{message} — {h}"),
        None => message,
    };
    ProviderError::Api {
        api,
        status,
        code,
        message,
        request_id,
    }
}

/// What to do about an error, when the status and code say.
fn hint(api: Api, status: u16, code: Option<&str>, need: Need) -> Option<String> {
    let grant =
        |p: &str| format!("grant the app the application permission {p} (with admin consent)");
    match (status, code, need) {
        (403, Some(c), _) if c.contains("License") || c.contains("license") || c.contains("NonPremium") => {
            Some("this needs a Microsoft Entra ID P1 or P2 licence".into())
        }
        // Lookups, facts and reports name their own permission, whatever
        // surface they serve.
        (403, _, Need::Permission(p)) => Some(grant(p)),
        (403, _, _) if !api.documented() => Some(
            "the signed-in account needs an administrator role (Global Administrator is known to work) and must pass MFA and Conditional Access".into(),
        ),
        (403, Some("Authorization_RequestDenied"), Need::Read) => {
            crate::permissions::needed(api).map(|n| grant(n.read[0]))
        }
        (403, Some("Authorization_RequestDenied"), _) => crate::permissions::needed(api).map(|n| grant(n.write)),
        (401, _, _) if !api.documented() => {
            Some("the portal API refuses app-only tokens and expired sign-ins: run `ssprctl login` again".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graph_errors_keep_code_message_and_request_id() {
        let body = json!({"error": {"code": "Request_BadRequest", "message": "bad\nmore",
            "innerError": {"request-id": "r-9"}}});
        let e = api_error(Api::GraphAuthorizationPolicy, 400, &body, Need::Write);
        assert_eq!(
            e.detail(),
            "HTTP 400 Request_BadRequest: bad (request-id r-9)"
        );
    }

    #[test]
    fn a_denied_read_names_the_read_permission_and_a_lookup_its_own() {
        let denied = json!({"error": {"code": "Authorization_RequestDenied", "message": "no"}});
        let read = api_error(Api::GraphAuthorizationPolicy, 403, &denied, Need::Read);
        let needed = crate::permissions::needed(Api::GraphAuthorizationPolicy)
            .expect("a documented surface has permissions");
        assert!(read.detail().contains(needed.read[0]), "{}", read.detail());
        let lookup = api_error(
            Api::PortalPasswordReset,
            403,
            &denied,
            Need::Permission("Group.Read.All"),
        );
        assert!(lookup.detail().ends_with(
            "grant the app the application permission Group.Read.All (with admin consent)"
        ));
    }

    #[test]
    fn portal_and_oauth_bodies_and_plain_text_give_a_message() {
        let portal = api_error(
            Api::PortalOnPremises,
            500,
            &json!({"message": "boom"}),
            Need::Read,
        );
        assert_eq!(portal.detail(), "HTTP 500: boom");
        let oauth = json!({"error": "invalid_request", "error_description": "AADSTS1"});
        let e = api_error(Api::GraphAuthorizationPolicy, 400, &oauth, Need::Read);
        assert_eq!(e.detail(), "HTTP 400 invalid_request: AADSTS1");
        let text = api_error(
            Api::GraphAuthorizationPolicy,
            502,
            &json!("gateway"),
            Need::Read,
        );
        assert_eq!(text.detail(), "HTTP 502: gateway");
        let none = api_error(Api::GraphAuthorizationPolicy, 502, &Value::Null, Need::Read);
        assert_eq!(none.detail(), "HTTP 502: no error body");
    }
}
