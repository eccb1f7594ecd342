//! Graph policy singletons: `policies/authorizationPolicy` (docs/api-surfaces.md §2)
//! and `policies/authenticationMethodsPolicy` with its per-method
//! configurations (§3).

use serde_json::{Map, Value, json};

use crate::defaults;
use crate::quirks;
use crate::server::Call;
use crate::shapes;
use crate::wire::{ApiError, Clock, Resp, json_type, merge, odata_context};

// ---------------------------------------------------------------------------
// Shared validation helpers
// ---------------------------------------------------------------------------

/// How a property is checked on PATCH.
#[derive(Clone, Copy)]
enum Rule {
    Bool,
    Int,
    Str,
    NullableStr,
    Enum(&'static [&'static str]),
    StrArray,
    Object,
    Array,
    Any,
    /// Microsoft Authenticator `featureSettings`.
    FeatureSettings,
    /// FIDO2 `keyRestrictions`.
    KeyRestrictions,
}

const STATE_DEFAULT_ENABLED_DISABLED: &[&str] = &["default", "enabled", "disabled"];

fn invalid_value(prop: &str, owner: &str, v: &Value) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid value specified for property '{prop}' of resource '{owner}': {} is not allowed.",
        short(v)
    ))
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("a {} value", json_type(v))
    } else {
        s
    }
}

fn unknown_property(prop: &str, type_name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Property '{prop}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use property names that are defined by the type."
    ))
}

fn read_only_property(prop: &str, type_name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Property '{prop}' on type 'microsoft.graph.{type_name}' is read-only and cannot be set."
    ))
}

fn check(rule: Rule, prop: &str, owner: &str, v: &Value) -> Result<(), ApiError> {
    let ok = match rule {
        Rule::Bool => v.is_boolean(),
        Rule::Int => v.as_i64().is_some(),
        Rule::Str => v.is_string(),
        Rule::NullableStr => v.is_string() || v.is_null(),
        Rule::Enum(allowed) => v.as_str().is_some_and(|s| allowed.contains(&s)),
        Rule::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        Rule::Object => v.is_object(),
        Rule::Array => v.is_array(),
        Rule::Any => true,
        Rule::FeatureSettings => return check_feature_settings(v, owner),
        Rule::KeyRestrictions => return check_key_restrictions(v, owner),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid_value(prop, owner, v))
    }
}

fn check_target_ref(v: &Value, prop: &str, owner: &str) -> Result<(), ApiError> {
    let Some(obj) = v.as_object() else {
        return Err(invalid_value(prop, owner, v));
    };
    for (k, val) in obj {
        match k.as_str() {
            "id" => check(Rule::Str, "id", owner, val)?,
            "targetType" => check(Rule::Enum(&["group", "user"]), "targetType", owner, val)?,
            k if k.starts_with("@odata.") => {}
            other => return Err(unknown_property(other, "featureTarget")),
        }
    }
    Ok(())
}

fn check_feature_settings(v: &Value, owner: &str) -> Result<(), ApiError> {
    const FEATURES: &[&str] = &[
        "companionAppAllowedState",
        "numberMatchingRequiredState",
        "displayAppInformationRequiredState",
        "displayLocationInformationRequiredState",
    ];
    let Some(obj) = v.as_object() else {
        return Err(invalid_value("featureSettings", owner, v));
    };
    for (feature, setting) in obj {
        if feature.starts_with("@odata.") {
            continue;
        }
        if !FEATURES.contains(&feature.as_str()) {
            return Err(unknown_property(
                feature,
                "microsoftAuthenticatorFeatureSettings",
            ));
        }
        let Some(setting) = setting.as_object() else {
            return Err(invalid_value(feature, owner, setting));
        };
        for (k, val) in setting {
            match k.as_str() {
                "state" => check(
                    Rule::Enum(STATE_DEFAULT_ENABLED_DISABLED),
                    "state",
                    owner,
                    val,
                )?,
                "includeTarget" | "excludeTarget" => check_target_ref(val, k, owner)?,
                k if k.starts_with("@odata.") => {}
                other => {
                    return Err(unknown_property(
                        other,
                        "authenticationMethodFeatureConfiguration",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_key_restrictions(v: &Value, owner: &str) -> Result<(), ApiError> {
    let Some(obj) = v.as_object() else {
        return Err(invalid_value("keyRestrictions", owner, v));
    };
    for (k, val) in obj {
        match k.as_str() {
            "isEnforced" => check(Rule::Bool, k, owner, val)?,
            "enforcementType" => check(Rule::Enum(&["allow", "block"]), k, owner, val)?,
            "aaGuids" => check(Rule::StrArray, k, owner, val)?,
            k if k.starts_with("@odata.") => {}
            other => return Err(unknown_property(other, "fido2KeyRestrictions")),
        }
    }
    Ok(())
}

/// Checks `@odata.type` in a PATCH body where it is optional but, if given,
/// must name the resource's own type.
fn check_optional_odata_type(body: &Map<String, Value>, type_name: &str) -> Result<(), ApiError> {
    if let Some(t) = body.get("@odata.type") {
        let expected = format!("#microsoft.graph.{type_name}");
        if !t
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(&expected))
        {
            return Err(ApiError::bad_request(format!(
                "The @odata.type {} does not match the resource type '{expected}'.",
                short(t)
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// authorizationPolicy
// ---------------------------------------------------------------------------

const AUTHZ_TYPE: &str = "authorizationPolicy";

const AUTHZ_WRITABLE: &[(&str, Rule)] = &[
    ("displayName", Rule::Str),
    ("description", Rule::Str),
    ("allowedToSignUpEmailBasedSubscriptions", Rule::Bool),
    ("allowedToUseSSPR", Rule::Bool),
    ("allowEmailVerifiedUsersToJoinOrganization", Rule::Bool),
    (
        "allowInvitesFrom",
        Rule::Enum(&[
            "none",
            "adminsAndGuestInviters",
            "adminsGuestInvitersAndAllMembers",
            "everyone",
        ]),
    ),
    ("allowUserConsentForRiskyApps", Rule::Bool),
    ("blockMsolPowerShell", Rule::Bool),
    (
        "guestUserRoleId",
        Rule::Enum(&[
            "a0b1b346-4d3e-4e8b-98f8-753987be4970",
            "10dae51f-b6af-4016-8d66-8c2a99b929b3",
            "2af84b1e-32c8-42b7-82bc-daa82404023b",
        ]),
    ),
];

const DEFAULT_USER_ROLE_PERMISSIONS: &[(&str, Rule)] = &[
    ("allowedToCreateApps", Rule::Bool),
    ("allowedToCreateSecurityGroups", Rule::Bool),
    ("allowedToCreateTenants", Rule::Bool),
    ("allowedToReadBitlockerKeysForOwnedDevice", Rule::Bool),
    ("allowedToReadOtherUsers", Rule::Bool),
    ("permissionGrantPoliciesAssigned", Rule::StrArray),
];

/// `GET /policies/authorizationPolicy`: the singleton on v1.0; on beta a
/// collection holding the one policy (beta's metadata declares
/// `policyRoot.authorizationPolicy` a collection).
pub(crate) fn get_authorization_policy(call: &Call<'_>) -> Result<Resp, ApiError> {
    let mut stored = call.read(|t| Ok(t.authorization_policy.clone()))?;
    shapes::authorization_policy(call.version, &mut stored);
    if call.version == "beta" {
        return Ok(Resp::json(
            200,
            json!({
                "@odata.context": odata_context(call.version, "policies/authorizationPolicy"),
                "value": [Value::Object(stored)]
            }),
        ));
    }
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(odata_context(
            call.version,
            "policies/authorizationPolicy/$entity"
        )),
    );
    out.extend(stored);
    Ok(Resp::json(200, Value::Object(out)))
}

/// `GET /beta/policies/authorizationPolicy/{id}`: the one policy of the
/// beta collection, addressed by its id `authorizationPolicy`.
pub(crate) fn get_authorization_policy_item(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let mut stored = call.read(|t| Ok(t.authorization_policy.clone()))?;
    if !stored
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|sid| sid.eq_ignore_ascii_case(id))
    {
        return Err(ApiError::resource_not_found(id));
    }
    shapes::authorization_policy(call.version, &mut stored);
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(odata_context(
            call.version,
            "policies/authorizationPolicy/$entity"
        )),
    );
    out.extend(stored);
    Ok(Resp::json(200, Value::Object(out)))
}

/// `PATCH /beta/policies/authorizationPolicy/{id}`: the beta form of
/// [`patch_authorization_policy`].
pub(crate) fn patch_authorization_policy_item(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let known = call.read(|t| {
        Ok(t.authorization_policy
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|sid| sid.eq_ignore_ascii_case(id)))
    })?;
    if !known {
        return Err(ApiError::resource_not_found(id));
    }
    patch_authorization_policy(call)
}

/// `PATCH /policies/authorizationPolicy` (v1.0): partial update, 204.
pub(crate) fn patch_authorization_policy(call: &Call<'_>) -> Result<Resp, ApiError> {
    let body = call.req.json_object()?;
    check_optional_odata_type(&body, AUTHZ_TYPE)?;
    let bad = |m: String| ApiError::request_bad_request(m);
    for (k, v) in &body {
        if k.starts_with("@odata.") {
            continue;
        }
        if k == "id" {
            return Err(bad(read_only_property(k, AUTHZ_TYPE).message));
        }
        if k == "defaultUserRolePermissions" {
            let Some(perms) = v.as_object() else {
                return Err(bad(invalid_value(k, "AuthorizationPolicy", v).message));
            };
            for (pk, pv) in perms {
                if pk.starts_with("@odata.") {
                    continue;
                }
                let Some((_, rule)) = DEFAULT_USER_ROLE_PERMISSIONS
                    .iter()
                    .find(|(n, _)| n == pk)
                    .filter(|_| {
                        shapes::authorization_policy_property_exists(
                            call.version,
                            &["defaultUserRolePermissions", pk],
                        )
                    })
                else {
                    return Err(bad(
                        unknown_property(pk, "defaultUserRolePermissions").message
                    ));
                };
                check(*rule, pk, "AuthorizationPolicy", pv).map_err(|e| bad(e.message))?;
            }
            continue;
        }
        let Some((_, rule)) = AUTHZ_WRITABLE.iter().find(|(n, _)| n == k) else {
            return Err(bad(unknown_property(k, AUTHZ_TYPE).message));
        };
        check(*rule, k, "AuthorizationPolicy", v).map_err(|e| bad(e.message))?;
    }
    call.ctx.write_tenant(&call.p.tid, |t| {
        let mut current = Value::Object(std::mem::take(&mut t.authorization_policy));
        let patch: Map<String, Value> = body
            .iter()
            .filter(|(k, _)| !k.starts_with("@odata."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        merge(&mut current, &Value::Object(patch));
        if let Value::Object(map) = current {
            t.authorization_policy = map;
        }
        Ok(())
    })?;
    Ok(Resp::no_content())
}

// ---------------------------------------------------------------------------
// authenticationMethodsPolicy
// ---------------------------------------------------------------------------

const METHODS_TYPE: &str = "authenticationMethodsPolicy";
const CONFIGS: &str = "authenticationMethodConfigurations";

/// Renders the policy as Graph sends it: annotations added, configurations expanded.
fn render_methods_policy(version: &str, policy: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(odata_context(version, "authenticationMethodsPolicy")),
    );
    for (k, v) in policy {
        if k != CONFIGS {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert(
        format!("{CONFIGS}@odata.context"),
        json!(odata_context(
            version,
            "policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
        )),
    );
    let configs: Vec<Value> = policy
        .get(CONFIGS)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|c| shapes::method_served(version, c))
                .map(|c| render_config_body(version, c))
                .collect()
        })
        .unwrap_or_default();
    out.insert(CONFIGS.into(), Value::Array(configs));
    shapes::methods_policy(version, &mut out);
    Value::Object(out)
}

/// A configuration with `includeTargets@odata.context` placed before `includeTargets`.
fn render_config_body(version: &str, config: &Value) -> Value {
    let Some(obj) = config.as_object() else {
        return config.clone();
    };
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
    let type_name = obj
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches('#');
    let mut out = Map::new();
    for (k, v) in obj {
        if k == "includeTargets" {
            out.insert(
                "includeTargets@odata.context".into(),
                json!(odata_context(
                    version,
                    &format!(
                        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations('{id}')/{type_name}/includeTargets"
                    )
                )),
            );
        }
        out.insert(k.clone(), v.clone());
    }
    shapes::method_configuration(version, &mut out);
    Value::Object(out)
}

/// `GET /policies/authenticationMethodsPolicy` (configurations auto-expanded).
pub(crate) fn get_methods_policy(call: &Call<'_>) -> Result<Resp, ApiError> {
    let policy = call.read(|t| Ok(t.authentication_methods_policy.clone()))?;
    Ok(Resp::json(
        200,
        render_methods_policy(call.version, &policy),
    ))
}

fn check_campaign(v: &Value) -> Result<(), ApiError> {
    const OWNER: &str = "AuthenticationMethodsRegistrationCampaign";
    let Some(obj) = v.as_object() else {
        return Err(invalid_value(
            "authenticationMethodsRegistrationCampaign",
            OWNER,
            v,
        ));
    };
    for (k, val) in obj {
        match k.as_str() {
            "snoozeDurationInDays" => {
                if !val.as_i64().is_some_and(|d| (0..=14).contains(&d)) {
                    return Err(ApiError::bad_request(format!(
                        "Invalid value specified for property 'snoozeDurationInDays' of resource '{OWNER}': it must be an integer between 0 and 14, got {}.",
                        short(val)
                    )));
                }
            }
            "enforceRegistrationAfterAllowedSnoozes" => check(Rule::Bool, k, OWNER, val)?,
            "state" => check(Rule::Enum(STATE_DEFAULT_ENABLED_DISABLED), k, OWNER, val)?,
            "includeTargets" => {
                let Some(items) = val.as_array() else {
                    return Err(invalid_value(k, OWNER, val));
                };
                for item in items {
                    let Some(t) = item.as_object() else {
                        return Err(invalid_value(k, OWNER, item));
                    };
                    for (tk, tv) in t {
                        match tk.as_str() {
                            "id" => check(Rule::Str, tk, OWNER, tv)?,
                            "targetType" => check(Rule::Enum(&["group", "user"]), tk, OWNER, tv)?,
                            "targetedAuthenticationMethod" => {
                                check(Rule::Enum(&["microsoftAuthenticator"]), tk, OWNER, tv)?
                            }
                            tk if tk.starts_with("@odata.") => {}
                            other => {
                                return Err(unknown_property(
                                    other,
                                    "authenticationMethodsRegistrationCampaignIncludeTarget",
                                ));
                            }
                        }
                    }
                    if !t.get("id").is_some_and(Value::is_string) {
                        return Err(ApiError::bad_request(
                            "Every include target of the registration campaign needs an 'id'.",
                        ));
                    }
                }
            }
            "excludeTargets" => check_exclude_targets(val, OWNER)?,
            k if k.starts_with("@odata.") => {}
            other => {
                return Err(unknown_property(
                    other,
                    "authenticationMethodsRegistrationCampaign",
                ));
            }
        }
    }
    Ok(())
}

fn check_exclude_targets(v: &Value, owner: &str) -> Result<(), ApiError> {
    let Some(items) = v.as_array() else {
        return Err(invalid_value("excludeTargets", owner, v));
    };
    for item in items {
        let Some(t) = item.as_object() else {
            return Err(invalid_value("excludeTargets", owner, item));
        };
        for (k, val) in t {
            match k.as_str() {
                "id" => check(Rule::Str, k, owner, val)?,
                "targetType" => check(Rule::Enum(&["group", "user"]), k, owner, val)?,
                k if k.starts_with("@odata.") => {}
                other => return Err(unknown_property(other, "excludeTarget")),
            }
        }
        if !t.get("id").is_some_and(Value::is_string) {
            return Err(ApiError::bad_request("Every exclude target needs an 'id'."));
        }
    }
    Ok(())
}

/// `PATCH /policies/authenticationMethodsPolicy`: 200 with the updated policy.
pub(crate) fn patch_methods_policy(call: &Call<'_>) -> Result<Resp, ApiError> {
    let body = call.req.json_object()?;
    check_optional_odata_type(&body, METHODS_TYPE)?;
    for (k, v) in &body {
        if k.starts_with("@odata.") {
            continue;
        }
        if !quirks::METHODS_POLICY_PATCHABLE.contains(&k.as_str()) {
            let read_only = [
                "id",
                "displayName",
                "description",
                "lastModifiedDateTime",
                "policyVersion",
                CONFIGS,
                "systemCredentialPreferences",
                "reportSuspiciousActivitySettings",
            ];
            let known = shapes::methods_policy_property_exists(call.version, k);
            return Err(if known && read_only.contains(&k.as_str()) {
                read_only_property(k, METHODS_TYPE)
            } else {
                unknown_property(k, METHODS_TYPE)
            });
        }
        match k.as_str() {
            "policyMigrationState" => check(
                Rule::Enum(&["preMigration", "migrationInProgress", "migrationComplete"]),
                k,
                "AuthenticationMethodsPolicy",
                v,
            )?,
            "registrationEnforcement" => {
                let Some(obj) = v.as_object() else {
                    return Err(invalid_value(k, "AuthenticationMethodsPolicy", v));
                };
                for (rk, rv) in obj {
                    match rk.as_str() {
                        "authenticationMethodsRegistrationCampaign" => check_campaign(rv)?,
                        rk if rk.starts_with("@odata.") => {}
                        other => return Err(unknown_property(other, "registrationEnforcement")),
                    }
                }
            }
            _ => check(Rule::Any, k, "AuthenticationMethodsPolicy", v)?,
        }
    }
    let now = Clock::now();
    let policy = call.ctx.write_tenant(&call.p.tid, |t| {
        let mut current = Value::Object(std::mem::take(&mut t.authentication_methods_policy));
        let patch: Map<String, Value> = body
            .iter()
            .filter(|(k, _)| !k.starts_with("@odata."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        merge(&mut current, &Value::Object(patch));
        if let Value::Object(mut map) = current {
            map.insert("lastModifiedDateTime".into(), json!(now.rfc3339_7()));
            t.authentication_methods_policy = map;
        }
        Ok(t.authentication_methods_policy.clone())
    })?;
    Ok(Resp::json(
        200,
        render_methods_policy(call.version, &policy),
    ))
}

// ---------------------------------------------------------------------------
// authenticationMethodConfigurations/{id}
// ---------------------------------------------------------------------------

/// Method-specific properties of one configuration type.
struct MethodSpec {
    type_name: &'static str,
    fields: &'static [(&'static str, Rule)],
    target_extras: &'static [(&'static str, Rule)],
}

const MODE_STATES: Rule = Rule::Enum(STATE_DEFAULT_ENABLED_DISABLED);

const METHOD_SPECS: &[MethodSpec] = &[
    MethodSpec {
        type_name: "emailAuthenticationMethodConfiguration",
        fields: &[(
            "allowExternalIdToUseEmailOtp",
            Rule::Enum(STATE_DEFAULT_ENABLED_DISABLED),
        )],
        target_extras: &[],
    },
    MethodSpec {
        type_name: "smsAuthenticationMethodConfiguration",
        fields: &[],
        target_extras: &[("isUsableForSignIn", Rule::Bool)],
    },
    MethodSpec {
        type_name: "voiceAuthenticationMethodConfiguration",
        fields: &[
            ("isOfficePhoneAllowed", Rule::Bool),
            ("callerIdNumber", Rule::NullableStr),
        ],
        target_extras: &[],
    },
    MethodSpec {
        type_name: "microsoftAuthenticatorAuthenticationMethodConfiguration",
        fields: &[
            ("isSoftwareOathEnabled", Rule::Bool),
            ("featureSettings", Rule::FeatureSettings),
        ],
        target_extras: &[
            (
                "authenticationMode",
                Rule::Enum(&["any", "push", "deviceBasedPush"]),
            ),
            ("outlookMobileAllowedState", MODE_STATES),
            ("displayAppInformationRequiredState", MODE_STATES),
            ("numberMatchingRequiredState", MODE_STATES),
        ],
    },
    MethodSpec {
        type_name: "softwareOathAuthenticationMethodConfiguration",
        fields: &[],
        target_extras: &[],
    },
    MethodSpec {
        type_name: "hardwareOathAuthenticationMethodConfiguration",
        fields: &[],
        target_extras: &[],
    },
    MethodSpec {
        type_name: "temporaryAccessPassAuthenticationMethodConfiguration",
        fields: &[
            ("defaultLifetimeInMinutes", Rule::Int),
            ("defaultLength", Rule::Int),
            ("minimumLifetimeInMinutes", Rule::Int),
            ("maximumLifetimeInMinutes", Rule::Int),
            ("isUsableOnce", Rule::Bool),
        ],
        target_extras: &[],
    },
    MethodSpec {
        type_name: "fido2AuthenticationMethodConfiguration",
        fields: &[
            ("isSelfServiceRegistrationAllowed", Rule::Bool),
            ("isAttestationEnforced", Rule::Bool),
            ("keyRestrictions", Rule::KeyRestrictions),
            ("defaultPasskeyProfile", Rule::Any),
            ("passkeyProfiles", Rule::Array),
        ],
        target_extras: &[("allowedPasskeyProfiles", Rule::Array)],
    },
    MethodSpec {
        type_name: "x509CertificateAuthenticationMethodConfiguration",
        fields: &[
            ("certificateUserBindings", Rule::Array),
            ("authenticationModeConfiguration", Rule::Object),
            ("issuerHintsConfiguration", Rule::Object),
            ("crlValidationConfiguration", Rule::Object),
        ],
        target_extras: &[],
    },
    MethodSpec {
        type_name: "externalAuthenticationMethodConfiguration",
        fields: &[
            ("displayName", Rule::Str),
            ("appId", Rule::Str),
            ("openIdConnectSetting", Rule::Object),
        ],
        target_extras: &[],
    },
];

fn spec_for(odata_type: &str) -> Option<&'static MethodSpec> {
    let name = odata_type
        .trim_start_matches('#')
        .trim_start_matches("microsoft.graph.");
    METHOD_SPECS
        .iter()
        .find(|s| s.type_name.eq_ignore_ascii_case(name))
}

fn method_not_found(id: &str) -> ApiError {
    ApiError::new(
        404,
        quirks::METHOD_NOT_FOUND_CODE,
        format!("The authentication method configuration '{id}' was not found."),
    )
}

fn find_config<'a>(policy: &'a Map<String, Value>, id: &str) -> Option<(usize, &'a Value)> {
    policy
        .get(CONFIGS)
        .and_then(Value::as_array)?
        .iter()
        .enumerate()
        .find(|(_, c)| {
            c.get("id")
                .and_then(Value::as_str)
                .is_some_and(|cid| cid.eq_ignore_ascii_case(id))
        })
}

/// `GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations`.
pub(crate) fn list_method_configurations(call: &Call<'_>) -> Result<Resp, ApiError> {
    let policy = call.read(|t| Ok(t.authentication_methods_policy.clone()))?;
    let value: Vec<Value> = policy
        .get(CONFIGS)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|c| shapes::method_served(call.version, c))
                .map(|c| render_config_body(call.version, c))
                .collect()
        })
        .unwrap_or_default();
    Ok(Resp::json(
        200,
        json!({
            "@odata.context": odata_context(call.version, "policies/authenticationMethodsPolicy/authenticationMethodConfigurations"),
            "value": value
        }),
    ))
}

/// `GET …/authenticationMethodConfigurations/{id}` (id case-insensitive).
pub(crate) fn get_method_configuration(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let config = call.read(|t| {
        find_config(&t.authentication_methods_policy, id)
            .map(|(_, c)| c.clone())
            .filter(|c| shapes::method_served(call.version, c))
            .ok_or_else(|| method_not_found(id))
    })?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(odata_context(
            call.version,
            "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity"
        )),
    );
    if let Value::Object(body) = render_config_body(call.version, &config) {
        out.extend(body);
    }
    Ok(Resp::json(200, Value::Object(out)))
}

fn check_include_targets(
    v: &Value,
    spec: Option<&MethodSpec>,
    owner: &str,
) -> Result<(), ApiError> {
    let Some(items) = v.as_array() else {
        return Err(invalid_value("includeTargets", owner, v));
    };
    for item in items {
        let Some(t) = item.as_object() else {
            return Err(invalid_value("includeTargets", owner, item));
        };
        for (k, val) in t {
            match k.as_str() {
                "id" => check(Rule::Str, k, owner, val)?,
                "targetType" => check(Rule::Enum(&["group", "user"]), k, owner, val)?,
                "isRegistrationRequired" => check(Rule::Bool, k, owner, val)?,
                k if k.starts_with("@odata.") => {}
                other => {
                    let extra =
                        spec.and_then(|s| s.target_extras.iter().find(|(n, _)| *n == other));
                    match extra {
                        Some((_, rule)) => check(*rule, other, owner, val)?,
                        None => return Err(unknown_property(other, "authenticationMethodTarget")),
                    }
                }
            }
        }
        if t.get("id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(
                "Every include target needs a non-empty 'id' (a group id, a user id or 'all_users').",
            ));
        }
    }
    Ok(())
}

/// Include targets with the defaults the service fills in for omitted properties.
fn fill_target_defaults(v: &Value, method_id: &str) -> Value {
    let Some(items) = v.as_array() else {
        return v.clone();
    };
    let filled = items
        .iter()
        .map(|item| {
            let Some(t) = item.as_object() else {
                return item.clone();
            };
            let mut out = Map::new();
            out.insert(
                "targetType".into(),
                t.get("targetType")
                    .cloned()
                    .unwrap_or_else(|| json!("group")),
            );
            out.insert("id".into(), t.get("id").cloned().unwrap_or(Value::Null));
            out.insert(
                "isRegistrationRequired".into(),
                t.get("isRegistrationRequired")
                    .cloned()
                    .unwrap_or(json!(false)),
            );
            for (k, val) in t {
                if !k.starts_with("@odata.") && !out.contains_key(k) {
                    out.insert(k.clone(), val.clone());
                }
            }
            for (k, default) in quirks::target_defaults(method_id) {
                out.entry(k).or_insert(default);
            }
            Value::Object(out)
        })
        .collect();
    Value::Array(filled)
}

/// Range checks that need the merged configuration (TAP lifetimes and length).
fn check_merged(config: &Map<String, Value>, type_name: &str) -> Result<(), ApiError> {
    if type_name != "temporaryAccessPassAuthenticationMethodConfiguration" {
        return Ok(());
    }
    let int = |k: &str| config.get(k).and_then(Value::as_i64);
    let owner = "TemporaryAccessPassAuthenticationMethodConfiguration";
    if let Some(len) = int("defaultLength")
        && !(8..=48).contains(&len)
    {
        return Err(ApiError::bad_request(format!(
            "Invalid value specified for property 'defaultLength' of resource '{owner}': it must be between 8 and 48, got {len}."
        )));
    }
    for k in ["minimumLifetimeInMinutes", "maximumLifetimeInMinutes"] {
        if let Some(m) = int(k)
            && !(10..=43_200).contains(&m)
        {
            return Err(ApiError::bad_request(format!(
                "Invalid value specified for property '{k}' of resource '{owner}': it must be between 10 and 43200, got {m}."
            )));
        }
    }
    if let (Some(min), Some(max), Some(def)) = (
        int("minimumLifetimeInMinutes"),
        int("maximumLifetimeInMinutes"),
        int("defaultLifetimeInMinutes"),
    ) {
        if min > max {
            return Err(ApiError::bad_request(format!(
                "Invalid value specified for resource '{owner}': minimumLifetimeInMinutes ({min}) cannot exceed maximumLifetimeInMinutes ({max})."
            )));
        }
        if def < min || def > max {
            return Err(ApiError::bad_request(format!(
                "Invalid value specified for property 'defaultLifetimeInMinutes' of resource '{owner}': it must be between minimumLifetimeInMinutes ({min}) and maximumLifetimeInMinutes ({max}), got {def}."
            )));
        }
    }
    Ok(())
}

/// `PATCH …/authenticationMethodConfigurations/{id}`: `@odata.type` required; 204.
pub(crate) fn patch_method_configuration(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let body = call.req.json_object()?;
    let now = Clock::now();
    let version = call.version;
    call.ctx.write_tenant(&call.p.tid, |t| {
        let policy = &mut t.authentication_methods_policy;
        let (index, current) = find_config(policy, id).ok_or_else(|| method_not_found(id))?;
        let canonical_id = current.get("id").and_then(Value::as_str).unwrap_or(id).to_string();
        let stored_type = current
            .get("@odata.type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(given_type) = body.get("@odata.type") else {
            return Err(ApiError::new(
                400,
                quirks::METHOD_ODATA_TYPE_MISSING_CODE,
                format!(
                    "The request body must include '@odata.type' set to '{stored_type}': authenticationMethodConfiguration is an abstract type, so the configuration '{canonical_id}' cannot be updated without its derived type."
                ),
            ));
        };
        if !given_type.as_str().is_some_and(|g| g.eq_ignore_ascii_case(&stored_type)) {
            return Err(ApiError::bad_request(format!(
                "The @odata.type {} does not match the type '{stored_type}' of the authentication method configuration '{canonical_id}'.",
                short(given_type)
            )));
        }
        let spec = spec_for(&stored_type);
        let type_name = spec.map(|s| s.type_name).unwrap_or("authenticationMethodConfiguration");
        let owner = type_name;
        for (k, v) in &body {
            match k.as_str() {
                k if k.starts_with("@odata.") || k.ends_with("@odata.context") => {}
                "id" => {
                    if !v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&canonical_id)) {
                        return Err(read_only_property("id", type_name));
                    }
                }
                "state" => check(Rule::Enum(&["enabled", "disabled"]), k, owner, v)?,
                "includeTargets" => check_include_targets(v, spec, owner)?,
                "excludeTargets" => check_exclude_targets(v, owner)?,
                other => {
                    let field = spec
                        .and_then(|s| s.fields.iter().find(|(n, _)| *n == other))
                        .filter(|_| shapes::method_property_exists(version, type_name, other));
                    if other == "featureSettings"
                        && let Some(features) = v.as_object()
                        && let Some(missing) = features.keys().find(|f| {
                            !f.starts_with("@odata.")
                                && !shapes::method_nested_property_exists(
                                    version,
                                    type_name,
                                    &["featureSettings", f.as_str()],
                                )
                        })
                    {
                        return Err(unknown_property(
                            missing,
                            "microsoftAuthenticatorFeatureSettings",
                        ));
                    }
                    match field {
                        Some((_, rule)) => check(*rule, other, owner, v)?,
                        None => return Err(unknown_property(other, type_name)),
                    }
                }
            }
        }
        let mut updated = current.clone();
        let patch: Map<String, Value> = body
            .iter()
            .filter(|(k, _)| !k.starts_with("@odata.") && !k.ends_with("@odata.context") && k.as_str() != "id")
            .map(|(k, v)| {
                if k == "includeTargets" {
                    (k.clone(), fill_target_defaults(v, &canonical_id))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        merge(&mut updated, &Value::Object(patch));
        if let Some(obj) = updated.as_object() {
            check_merged(obj, type_name)?;
        }
        if let Some(configs) = policy.get_mut(CONFIGS).and_then(Value::as_array_mut)
            && let Some(slot) = configs.get_mut(index)
        {
            *slot = updated;
        }
        policy.insert("lastModifiedDateTime".into(), json!(now.rfc3339_7()));
        Ok(())
    })?;
    Ok(Resp::no_content())
}

/// `DELETE …/authenticationMethodConfigurations/{id}`: reverts a built-in
/// method to its default configuration (204).
pub(crate) fn delete_method_configuration(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let now = Clock::now();
    call.ctx.write_tenant(&call.p.tid, |t| {
        let policy = &mut t.authentication_methods_policy;
        let (index, current) = find_config(policy, id).ok_or_else(|| method_not_found(id))?;
        let canonical_id = current.get("id").and_then(Value::as_str).unwrap_or(id).to_string();
        let Some(default) = defaults::method_configuration(&canonical_id) else {
            return Err(ApiError::bad_request(format!(
                "The authentication method configuration '{canonical_id}' has no default to revert to."
            )));
        };
        if let Some(configs) = policy.get_mut(CONFIGS).and_then(Value::as_array_mut)
            && let Some(slot) = configs.get_mut(index)
        {
            *slot = default;
        }
        policy.insert("lastModifiedDateTime".into(), json!(now.rfc3339_7()));
        Ok(())
    })?;
    Ok(Resp::no_content())
}
