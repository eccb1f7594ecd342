//! Managed identity through the Azure Instance Metadata Service (IMDS):
//! `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id=…]`
//! with `Metadata: true` (docs/api-surfaces.md §10).
//!
//! The identities are the tenants' `managedIdentities`; a token is issued in
//! the identity's own tenant. IMDS answers in its own shape: `expires_in`
//! and `expires_on` are strings, errors are `{"error","error_description"}`.

use serde_json::json;

use crate::quirks;
use crate::server::Ctx;
use crate::state::ManagedIdentity;
use crate::token::{self, IdType, Principal};
use crate::wire::{Clock, Req, Resp};

fn error(status: u16, error: &str, description: impl Into<String>) -> Resp {
    Resp::json(
        status,
        json!({"error": error, "error_description": description.into()}),
    )
}

/// The IMDS token endpoint. Returns the response, and the tenant and client
/// id of the identity (for the request log).
pub(crate) fn token(ctx: &Ctx, req: &Req) -> (Resp, Option<String>, Option<String>) {
    if req.method != "GET" {
        return (
            error(405, "invalid_request", "The request method must be GET."),
            None,
            None,
        );
    }
    if !req
        .header("metadata")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        return (
            error(400, "invalid_request", quirks::IMDS_NO_METADATA_HEADER),
            None,
            None,
        );
    }
    if req.query_param("api-version").is_none_or(str::is_empty) {
        return (
            error(400, "invalid_request", quirks::IMDS_NO_API_VERSION),
            None,
            None,
        );
    }
    let Some(resource) = req.query_param("resource").filter(|r| !r.is_empty()) else {
        return (
            error(400, "invalid_request", quirks::IMDS_NO_RESOURCE),
            None,
            None,
        );
    };
    let wanted = req.query_param("client_id").filter(|c| !c.is_empty());
    let all: Vec<(String, ManagedIdentity)> = ctx.managed_identities();
    let chosen: Vec<&(String, ManagedIdentity)> = match wanted {
        Some(id) => all
            .iter()
            .filter(|(_, mi)| mi.client_id.eq_ignore_ascii_case(id))
            .collect(),
        None => all.iter().collect(),
    };
    let (tid, mi) = match chosen.as_slice() {
        [one] => (one.0.clone(), one.1.clone()),
        [] => {
            return (
                error(400, "invalid_request", quirks::IMDS_IDENTITY_NOT_FOUND),
                None,
                wanted.map(str::to_string),
            );
        }
        _ => {
            return (
                error(400, "invalid_request", quirks::IMDS_AMBIGUOUS_IDENTITY),
                None,
                None,
            );
        }
    };
    let Some(aud) = token::audience_for(resource) else {
        return (
            error(
                400,
                "invalid_resource",
                format!(
                    "AADSTS500011: The resource principal named {resource} was not found in the tenant named {tid}."
                ),
            ),
            Some(tid),
            Some(mi.client_id),
        );
    };
    let now = Clock::now().secs;
    let lifetime = token::lifetime(ctx, &tid);
    let principal = Principal {
        tid: tid.clone(),
        aud,
        appid: mi.client_id.clone(),
        appidacr: "2".to_string(),
        idtyp: IdType::App,
        roles: mi.roles.clone(),
        scp: None,
        wids: Vec::new(),
        upn: None,
        exp: now + lifetime,
    };
    let body = json!({
        "access_token": token::mint(&principal, now),
        "client_id": mi.client_id,
        "expires_in": lifetime.to_string(),
        "expires_on": (now + lifetime).to_string(),
        "ext_expires_in": lifetime.to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    (Resp::json(200, body), Some(tid), Some(mi.client_id))
}
