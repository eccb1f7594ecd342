//! The portal-internal SSPR API (`main.iam.ad.ext.azure.com/api/PasswordReset/…`,
//! docs/api-surfaces.md §1a and §1b): the password reset policy (full-object PUT) and
//! the on-premises integration object (partial PUT).
//!
//! Both are reached only with a delegated (user) token whose audience is
//! [`crate::PORTAL_AUDIENCE`]; the server layer enforces that.

use serde_json::{Map, Value};

use crate::quirks;
use crate::server::{Ctx, read_view};
use crate::state::Tenant;
use crate::token::Principal;
use crate::wire::{ApiError, Req, Resp, get_ci, json_type};

/// JSON kinds of portal fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Str,
    StrArray,
    Array,
}

/// Every client-writable field of `PasswordResetPolicies` with its type
/// (AzRanger `PasswordResetPolicies.cs`, O365Essentials' PUT body), in wire order.
/// `passwordResetEnabledGroupName` and the `*OptionAllowed` flags are not
/// here: the server computes them and ignores them on PUT.
const WRITABLE: &[(&str, Kind)] = &[
    ("objectId", Kind::Str),
    ("enablementType", Kind::Int),
    ("numberOfAuthenticationMethodsRequired", Kind::Int),
    ("emailOptionEnabled", Kind::Bool),
    ("mobilePhoneOptionEnabled", Kind::Bool),
    ("officePhoneOptionEnabled", Kind::Bool),
    ("securityQuestionsOptionEnabled", Kind::Bool),
    ("mobileAppNotificationEnabled", Kind::Bool),
    ("mobileAppCodeEnabled", Kind::Bool),
    ("numberOfQuestionsToRegister", Kind::Int),
    ("numberOfQuestionsToReset", Kind::Int),
    ("registrationRequiredOnSignIn", Kind::Bool),
    ("registrationReconfirmIntevalInDays", Kind::Int),
    ("skipRegistrationAllowed", Kind::Bool),
    ("skipRegistrationMaxAllowedDays", Kind::Int),
    ("customizeHelpdeskLink", Kind::Bool),
    ("customHelpdeskEmailOrUrl", Kind::Str),
    ("notifyUsersOnPasswordReset", Kind::Bool),
    ("notifyOnAdminPasswordReset", Kind::Bool),
    ("passwordResetEnabledGroupIds", Kind::StrArray),
    ("securityQuestions", Kind::Array),
    ("registrationConditionalAccessPolicies", Kind::Array),
];

/// The methods a user can be offered; each enabled one counts toward
/// `numberOfAuthenticationMethodsRequired` (security questions included).
const METHOD_FLAGS: &[&str] = &[
    "emailOptionEnabled",
    "mobilePhoneOptionEnabled",
    "officePhoneOptionEnabled",
    "securityQuestionsOptionEnabled",
    "mobileAppNotificationEnabled",
    "mobileAppCodeEnabled",
];

/// Writable fields of `OnPremisesPasswordResetPolicies` (docs/api-surfaces.md §1b).
const ONPREM_WRITABLE: &[&str] = &["passwordWritebackSupported", "accountUnlockEnabled"];

fn portal_error(message: impl Into<String>) -> ApiError {
    ApiError::new(400, quirks::PORTAL_BAD_REQUEST_CODE, message)
}

fn kind_matches(kind: Kind, v: &Value) -> bool {
    match kind {
        Kind::Bool => v.is_boolean(),
        Kind::Int => v.as_i64().is_some(),
        Kind::Str => v.is_string(),
        Kind::Array => v.is_array(),
        Kind::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "a boolean",
        Kind::Int => "an integer",
        Kind::Str => "a string",
        Kind::Array => "an array",
        Kind::StrArray => "an array of strings",
    }
}

/// `GET /api/PasswordReset/PasswordResetPolicies[?getPasswordResetEnabledGroup=true]`.
/// `stale` is a pre-write copy of the tenant to answer from (fault `staleReadsMs`).
pub(crate) fn get_policies(
    ctx: &Ctx,
    req: &Req,
    p: &Principal,
    stale: Option<&Tenant>,
) -> Result<Resp, ApiError> {
    let resolve = req
        .query_param("getPasswordResetEnabledGroup")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let body = read_view(ctx, &p.tid, stale, |t| {
        let mut obj = t.password_reset_policies.clone();
        let name = if resolve || !quirks::PORTAL_GROUP_NAME_ONLY_WITH_FLAG {
            first_group_name(&obj, &t.groups)
        } else {
            String::new()
        };
        obj.insert("passwordResetEnabledGroupName".into(), Value::String(name));
        Ok(Value::Object(obj))
    })?;
    Ok(Resp::json(200, body))
}

/// Display name of the first selected group, or "".
fn first_group_name(obj: &Map<String, Value>, groups: &[Value]) -> String {
    let Some(id) = obj
        .get("passwordResetEnabledGroupIds")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    else {
        return String::new();
    };
    find_group(groups, id)
        .and_then(|g| g.get("displayName"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn find_group<'a>(groups: &'a [Value], id: &str) -> Option<&'a Value> {
    groups.iter().find(|g| {
        g.get("id")
            .and_then(Value::as_str)
            .is_some_and(|gid| gid.eq_ignore_ascii_case(id))
    })
}

fn lookup<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if quirks::PORTAL_KEYS_CASE_INSENSITIVE {
        get_ci(body, key)
    } else {
        body.get(key)
    }
}

/// `PUT /api/PasswordReset/PasswordResetPolicies` with the full object.
pub(crate) fn put_policies(ctx: &Ctx, req: &Req, p: &Principal) -> Result<Resp, ApiError> {
    let body = req.json_object().map_err(|e| portal_error(e.message))?;

    if !quirks::PORTAL_PUT_IGNORES_UNKNOWN_FIELDS
        && let Some(unknown) = body.keys().find(|k| {
            !WRITABLE.iter().any(|(n, _)| n.eq_ignore_ascii_case(k))
                && !k.eq_ignore_ascii_case("passwordResetEnabledGroupName")
                && !k.to_ascii_lowercase().ends_with("optionallowed")
        })
    {
        return Err(portal_error(format!(
            "The request is invalid: unknown property '{unknown}'."
        )));
    }
    // Presence and types of every writable field.
    let mut given = Map::new();
    for (name, kind) in WRITABLE {
        let Some(v) = lookup(&body, name) else {
            return Err(portal_error(format!(
                "The request is invalid: the required property '{name}' is missing. The password reset policy must be sent as a full object."
            )));
        };
        if !kind_matches(*kind, v) {
            return Err(portal_error(format!(
                "The request is invalid: '{name}' must be {}, got {}.",
                kind_name(*kind),
                json_type(v)
            )));
        }
        given.insert((*name).to_string(), v.clone());
    }
    let int = |k: &str| given.get(k).and_then(Value::as_i64).unwrap_or_default();
    let flag = |k: &str| given.get(k).and_then(Value::as_bool).unwrap_or_default();
    let text = |k: &str| {
        given
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };

    if text("objectId") != "default" {
        return Err(portal_error(format!(
            "The request is invalid: objectId must be 'default', got '{}'.",
            text("objectId")
        )));
    }
    let enablement = int("enablementType");
    if !(0..=2).contains(&enablement) {
        return Err(portal_error(format!(
            "The request is invalid: enablementType must be 0 (None), 1 (Selected) or 2 (All), got {enablement}."
        )));
    }
    let required = int("numberOfAuthenticationMethodsRequired");
    if !(1..=2).contains(&required) {
        return Err(portal_error(format!(
            "The request is invalid: numberOfAuthenticationMethodsRequired must be 1 or 2, got {required}."
        )));
    }
    let group_ids: Vec<String> = given
        .get("passwordResetEnabledGroupIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let enabled_methods = METHOD_FLAGS.iter().filter(|m| flag(m)).count();
    if enabled_methods < usize::try_from(required).unwrap_or(usize::MAX) {
        return Err(portal_error(format!(
            "The request is invalid: {required} authentication method(s) are required but only {enabled_methods} are enabled."
        )));
    }
    let register = int("numberOfQuestionsToRegister");
    let reset = int("numberOfQuestionsToReset");
    if quirks::PORTAL_VALIDATES_QUESTIONS_WHEN_DISABLED || flag("securityQuestionsOptionEnabled") {
        if !(3..=5).contains(&register) {
            return Err(portal_error(format!(
                "The request is invalid: numberOfQuestionsToRegister must be between 3 and 5, got {register}."
            )));
        }
        if !(3..=5).contains(&reset) {
            return Err(portal_error(format!(
                "The request is invalid: numberOfQuestionsToReset must be between 3 and 5, got {reset}."
            )));
        }
        if reset > register {
            return Err(portal_error(format!(
                "The request is invalid: numberOfQuestionsToReset ({reset}) cannot exceed numberOfQuestionsToRegister ({register})."
            )));
        }
    }
    let reconfirm = int("registrationReconfirmIntevalInDays");
    if !(0..=730).contains(&reconfirm) {
        return Err(portal_error(format!(
            "The request is invalid: registrationReconfirmIntevalInDays must be between 0 and 730, got {reconfirm}."
        )));
    }
    if flag("customizeHelpdeskLink") && text("customHelpdeskEmailOrUrl").trim().is_empty() {
        return Err(portal_error(
            "The request is invalid: customHelpdeskEmailOrUrl is required when customizeHelpdeskLink is true.",
        ));
    }

    let stored = ctx.write_tenant(&p.tid, |t| {
        if enablement == 1 {
            if group_ids.len() != 1 {
                return Err(portal_error(format!(
                    "The request is invalid: enablementType 1 (Selected) requires exactly one group in passwordResetEnabledGroupIds, got {}.",
                    group_ids.len()
                )));
            }
            if find_group(&t.groups, &group_ids[0]).is_none() {
                return Err(portal_error(format!(
                    "The request is invalid: the group '{}' does not exist in this directory.",
                    group_ids[0]
                )));
            }
        }
        let obj = &mut t.password_reset_policies;
        for (name, _) in WRITABLE {
            if let Some(v) = given.get(*name) {
                obj.insert((*name).to_string(), v.clone());
            }
        }
        if enablement != 1 && !quirks::PORTAL_KEEPS_GROUP_IDS_UNLESS_SELECTED {
            obj.insert("passwordResetEnabledGroupIds".into(), Value::Array(Vec::new()));
        }
        obj.insert("passwordResetEnabledGroupName".into(), Value::String(String::new()));
        Ok(obj.clone())
    })?;
    Ok(Resp::json(quirks::PORTAL_PUT_STATUS, Value::Object(stored)))
}

/// `GET /api/PasswordReset/OnPremisesPasswordResetPolicies`.
/// `stale` is a pre-write copy of the tenant to answer from (fault `staleReadsMs`).
pub(crate) fn get_onprem(
    ctx: &Ctx,
    p: &Principal,
    stale: Option<&Tenant>,
) -> Result<Resp, ApiError> {
    let body = read_view(ctx, &p.tid, stale, |t| {
        Ok(Value::Object(t.on_premises_password_reset_policies.clone()))
    })?;
    Ok(Resp::json(200, body))
}

/// `PUT /api/PasswordReset/OnPremisesPasswordResetPolicies` with a partial
/// body; keys bind case-insensitively (`passwordWriteBackSupported` works).
pub(crate) fn put_onprem(ctx: &Ctx, req: &Req, p: &Principal) -> Result<Resp, ApiError> {
    let body = req.json_object().map_err(|e| portal_error(e.message))?;
    let mut updates = Vec::new();
    for name in ONPREM_WRITABLE {
        if let Some(v) = lookup(&body, name) {
            let Some(b) = v.as_bool() else {
                return Err(portal_error(format!(
                    "The request is invalid: '{name}' must be a boolean, got {}.",
                    json_type(v)
                )));
            };
            updates.push((*name, b));
        }
    }
    if updates.is_empty() && !quirks::ONPREM_PUT_WITHOUT_WRITABLE_FIELD_IS_NOOP {
        return Err(portal_error(
            "The request is invalid: no writable property was given.",
        ));
    }
    let stored = ctx.write_tenant(&p.tid, |t| {
        let obj = &mut t.on_premises_password_reset_policies;
        for (name, b) in &updates {
            obj.insert((*name).to_string(), Value::Bool(*b));
        }
        Ok(obj.clone())
    })?;
    Ok(Resp::json(200, Value::Object(stored)))
}
