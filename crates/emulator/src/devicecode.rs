//! The device-code flow: `POST /{tenant}/oauth2/v2.0/devicecode` starts a
//! sign-in, the token endpoint's `urn:ietf:params:oauth:grant-type:device_code`
//! grant polls it, and `POST /_emulator/devicecode/approve` (or the tenant's
//! `autoApproveDeviceCode`, on the second poll) stands in for the user typing
//! the code at <https://microsoft.com/devicelogin>. The tenant's first admin
//! is the one who signs in.
//!
//! Pending codes live in memory only: a restart forgets them.

use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;

use crate::quirks;
use crate::server::Ctx;
use crate::token::{AadError, Form};
use crate::wire::{Clock, Req, Resp};

/// Seconds a device code stays valid (`expires_in`).
pub(crate) const DEVICE_CODE_LIFETIME_SECS: i64 = 900;

/// Where the user is sent to enter the code.
pub(crate) const VERIFICATION_URI: &str = "https://microsoft.com/devicelogin";

/// One sign-in waiting for its user.
#[derive(Debug, Clone)]
struct Pending {
    tid: String,
    client_id: String,
    scope: String,
    user_code: String,
    expires_at: i64,
    approved: bool,
    polls: u32,
}

/// Every pending device code, by device code.
#[derive(Debug, Default)]
pub(crate) struct DeviceCodes {
    by_device: HashMap<String, Pending>,
}

impl DeviceCodes {
    /// Approves the sign-in with `user_code` (case and dashes ignored).
    pub fn approve(&mut self, user_code: &str) -> bool {
        let wanted = normalise(user_code);
        match self
            .by_device
            .values_mut()
            .find(|p| normalise(&p.user_code) == wanted)
        {
            Some(p) => {
                p.approved = true;
                true
            }
            None => false,
        }
    }
}

fn normalise(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Nine characters from an alphabet without look-alikes (0/O, 1/I).
fn new_user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(9)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` with `client_id` and `scope`.
/// Returns the response, the tenant and the client id (for the request log).
pub(crate) fn start(ctx: &Ctx, req: &Req, tenant: &str) -> (Resp, Option<String>, Option<String>) {
    let now = Clock::now();
    let tid = tenant.to_ascii_lowercase();
    let form = Form::parse(req);
    let client = form.get("client_id").map(str::to_string);
    let result = begin(ctx, &form, &tid, client.clone(), now.secs);
    let resp = match result {
        Ok(body) => Resp::json(200, body),
        Err(e) => e.into_resp(&now, req.header("client-request-id")),
    };
    (resp, Some(tid), client)
}

fn begin(
    ctx: &Ctx,
    form: &Form,
    tid: &str,
    client: Option<String>,
    now: i64,
) -> Result<serde_json::Value, AadError> {
    let client_id = client.ok_or_else(|| AadError::missing("client_id"))?;
    let scope = form
        .get("scope")
        .ok_or_else(|| AadError::missing("scope"))?;
    let exists = ctx
        .tenant_exists_or_create(tid)
        .map_err(|m| AadError::new(500, "temporarily_unavailable", 90_033, m))?;
    if !exists {
        return Err(AadError::tenant_not_found(tid));
    }
    let device_code = format!("emulator-dc-{}", Uuid::new_v4());
    let user_code = new_user_code();
    ctx.device_codes().by_device.insert(
        device_code.clone(),
        Pending {
            tid: tid.to_string(),
            client_id,
            scope: scope.to_string(),
            user_code: user_code.clone(),
            expires_at: now + DEVICE_CODE_LIFETIME_SECS,
            approved: false,
            polls: 0,
        },
    );
    Ok(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": VERIFICATION_URI,
        "expires_in": DEVICE_CODE_LIFETIME_SECS,
        "interval": quirks::DEVICE_CODE_INTERVAL_SECS,
        "message": format!(
            "To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the code {user_code} to authenticate."
        ),
    }))
}

/// One poll of the device-code grant. `Ok(scope)` once the sign-in is
/// approved (the caller issues the tokens, then calls [`redeemed`]);
/// otherwise the OAuth error to answer with.
pub(crate) fn poll(
    ctx: &Ctx,
    tid: &str,
    client_id: &str,
    device_code: &str,
    now: i64,
) -> Result<String, AadError> {
    let auto = ctx
        .read_tenant(tid, |t| Ok(t.auto_approve_device_code))
        .unwrap_or(false);
    let mut codes = ctx.device_codes();
    let invalid = || {
        let (code, text) = quirks::DEVICE_CODE_INVALID_ERROR;
        AadError::new(400, "invalid_grant", code, text)
    };
    let Some(p) = codes.by_device.get_mut(device_code) else {
        return Err(invalid());
    };
    if !p.tid.eq_ignore_ascii_case(tid) || !p.client_id.eq_ignore_ascii_case(client_id) {
        return Err(invalid());
    }
    if p.expires_at <= now {
        codes.by_device.remove(device_code);
        return Err(AadError::new(
            400,
            "expired_token",
            70_020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        ));
    }
    p.polls += 1;
    if auto && p.polls >= quirks::DEVICE_CODE_AUTO_APPROVE_POLL {
        p.approved = true;
    }
    if !p.approved {
        return Err(AadError::new(
            400,
            "authorization_pending",
            70_016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        ));
    }
    Ok(p.scope.clone())
}

/// Forgets a device code whose tokens were issued: it cannot be redeemed twice.
pub(crate) fn redeemed(ctx: &Ctx, device_code: &str) {
    ctx.device_codes().by_device.remove(device_code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_nine_unambiguous_characters_and_approval_ignores_format() {
        let code = new_user_code();
        assert_eq!(code.len(), 9);
        assert!(
            code.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"01IO".contains(c))
        );
        let mut codes = DeviceCodes::default();
        codes.by_device.insert(
            "d".into(),
            Pending {
                tid: "t".into(),
                client_id: "c".into(),
                scope: "s".into(),
                user_code: "ABCDEFGHJ".into(),
                expires_at: 10,
                approved: false,
                polls: 0,
            },
        );
        assert!(!codes.approve("ZZZ"));
        assert!(codes.approve("abcd-efghj"));
        assert!(codes.by_device["d"].approved);
    }
}
