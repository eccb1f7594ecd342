//! The ONE mapping between model names and the APIs' wire names.
//!
//! Each surface has a table of fields: the model path, the wire location (a JSON
//! pointer into the API's object) and how the value converts. Reading a surface
//! walks its table wire -> model; writing walks it model -> wire, overlaying only
//! the fields present in the partial settings onto the body it is given (the
//! current object for the portal's full PUT, an empty object for Graph's PATCH).
//!
//! Misspellings are the real wire names (`registrationReconfirmIntevalInDays`).
//! UNCONFIRMED facts of reference/api-surface.md are marked where they are used.

use serde_json::{Map, Value, json};
use ssprctl_model::Api;

/// How a value converts between model and wire.
#[derive(Clone, Copy, Debug)]
enum Conv {
    /// Same JSON on both sides.
    Plain,
    /// `enabledFor` none/selected/all <-> `enablementType` 0/1/2.
    EnablementType,
    /// Model `{id, displayName}` <-> `passwordResetEnabledGroupIds[0]` (+ name).
    SsprGroup,
    /// Model list of question texts <-> `[{questionText, ...}]`.
    QuestionTexts,
    /// Model list of `allUsers`/group ids <-> `[{id, targetType, ...}]`; the
    /// value is the JSON of a new entry's defaults.
    Targets(&'static str),
    /// Model integer <-> directory-setting string.
    IntString,
    /// Model bool <-> directory-setting "True"/"False" (read case-insensitively).
    BoolString,
    /// Model list <-> tab-separated directory-setting string.
    TabList,
    /// Model `audit`/`enforce` <-> "Audit"/"Enforce".
    ModeString,
}

/// One field of a surface.
#[derive(Clone, Copy, Debug)]
struct Field {
    /// Dotted model path below the section, e.g. `registration.reconfirmAfterDays`.
    model: &'static str,
    /// JSON pointer into the wire object.
    wire: &'static str,
    conv: Conv,
}

const fn f(model: &'static str, wire: &'static str, conv: Conv) -> Field {
    Field { model, wire, conv }
}

/// Portal `PasswordReset/PasswordResetPolicies` (api-surface §1a).
const PASSWORD_RESET: &[Field] = &[
    f("enabledFor", "/enablementType", Conv::EnablementType),
    f("group", "/passwordResetEnabledGroupIds", Conv::SsprGroup),
    f(
        "methodsRequired",
        "/numberOfAuthenticationMethodsRequired",
        Conv::Plain,
    ),
    f("methods.email", "/emailOptionEnabled", Conv::Plain),
    f(
        "methods.mobilePhone",
        "/mobilePhoneOptionEnabled",
        Conv::Plain,
    ),
    f(
        "methods.officePhone",
        "/officePhoneOptionEnabled",
        Conv::Plain,
    ),
    f(
        "methods.securityQuestions",
        "/securityQuestionsOptionEnabled",
        Conv::Plain,
    ),
    f(
        "methods.authenticatorNotification",
        "/mobileAppNotificationEnabled",
        Conv::Plain,
    ),
    f(
        "methods.authenticatorCode",
        "/mobileAppCodeEnabled",
        Conv::Plain,
    ),
    f(
        "securityQuestions.numberToRegister",
        "/numberOfQuestionsToRegister",
        Conv::Plain,
    ),
    f(
        "securityQuestions.numberToReset",
        "/numberOfQuestionsToReset",
        Conv::Plain,
    ),
    // UNCONFIRMED: only `questionText` is known of a question item.
    f(
        "securityQuestions.questions",
        "/securityQuestions",
        Conv::QuestionTexts,
    ),
    f(
        "registration.requireOnSignIn",
        "/registrationRequiredOnSignIn",
        Conv::Plain,
    ),
    // sic: the real wire name is misspelled "Inteval".
    f(
        "registration.reconfirmAfterDays",
        "/registrationReconfirmIntevalInDays",
        Conv::Plain,
    ),
    f(
        "notifications.notifyUsersOnReset",
        "/notifyUsersOnPasswordReset",
        Conv::Plain,
    ),
    f(
        "notifications.notifyAdminsOnAdminReset",
        "/notifyOnAdminPasswordReset",
        Conv::Plain,
    ),
    f("helpdesk.customLink", "/customizeHelpdeskLink", Conv::Plain),
    f("helpdesk.contact", "/customHelpdeskEmailOrUrl", Conv::Plain),
];

/// Portal `PasswordReset/OnPremisesPasswordResetPolicies` (api-surface §1b).
const ON_PREMISES: &[Field] = &[
    f(
        "passwordWriteback",
        "/passwordWritebackSupported",
        Conv::Plain,
    ),
    f("unlockWithoutReset", "/accountUnlockEnabled", Conv::Plain),
];

/// Graph `policies/authorizationPolicy` (api-surface §2).
const AUTHORIZATION: &[Field] = &[f("enabled", "/allowedToUseSSPR", Conv::Plain)];

/// Graph `policies/authenticationMethodsPolicy`, policy level (api-surface §3).
const METHODS_POLICY: &[Field] = &[
    f("migrationState", "/policyMigrationState", Conv::Plain),
    f(
        "registrationCampaign.state",
        "/registrationEnforcement/authenticationMethodsRegistrationCampaign/state",
        Conv::Plain,
    ),
    f(
        "registrationCampaign.snoozeDays",
        "/registrationEnforcement/authenticationMethodsRegistrationCampaign/snoozeDurationInDays",
        Conv::Plain,
    ),
    f(
        "registrationCampaign.enforceAfterSnoozes",
        "/registrationEnforcement/authenticationMethodsRegistrationCampaign/enforceRegistrationAfterAllowedSnoozes",
        Conv::Plain,
    ),
    f(
        "registrationCampaign.include",
        "/registrationEnforcement/authenticationMethodsRegistrationCampaign/includeTargets",
        Conv::Targets(
            r#"{"targetType":"group","targetedAuthenticationMethod":"microsoftAuthenticator"}"#,
        ),
    ),
    f(
        "registrationCampaign.exclude",
        "/registrationEnforcement/authenticationMethodsRegistrationCampaign/excludeTargets",
        Conv::Targets(r#"{"targetType":"group"}"#),
    ),
];

const INCLUDE_DEFAULT: &str = r#"{"targetType":"group","isRegistrationRequired":false}"#;
const EXCLUDE_DEFAULT: &str = r#"{"targetType":"group"}"#;

/// One method configuration of the authentication-methods policy.
#[derive(Debug)]
pub struct MethodConfig {
    /// Model key under `authenticationMethods`.
    pub model: &'static str,
    /// The configuration id on the wire.
    pub id: &'static str,
    /// The `@odata.type` a PATCH must carry.
    pub odata_type: &'static str,
    fields: &'static [Field],
}

macro_rules! common {
    ($include:expr) => {
        [
            f("state", "/state", Conv::Plain),
            f("include", "/includeTargets", Conv::Targets($include)),
            f("exclude", "/excludeTargets", Conv::Targets(EXCLUDE_DEFAULT)),
        ]
    };
}

const COMMON: [Field; 3] = common!(INCLUDE_DEFAULT);
const AUTHENTICATOR_FIELDS: [Field; 6] = {
    let c = common!(
        r#"{"targetType":"group","isRegistrationRequired":false,"authenticationMode":"any"}"#
    );
    [
        c[0],
        c[1],
        c[2],
        f("softwareOathAllowed", "/isSoftwareOathEnabled", Conv::Plain),
        f(
            "showApplicationName",
            "/featureSettings/displayAppInformationRequiredState/state",
            Conv::Plain,
        ),
        f(
            "showLocation",
            "/featureSettings/displayLocationInformationRequiredState/state",
            Conv::Plain,
        ),
    ]
};
const EMAIL_FIELDS: [Field; 4] = [
    COMMON[0],
    COMMON[1],
    COMMON[2],
    f(
        "externalUsersOtp",
        "/allowExternalIdToUseEmailOtp",
        Conv::Plain,
    ),
];
const VOICE_FIELDS: [Field; 4] = [
    COMMON[0],
    COMMON[1],
    COMMON[2],
    f("officePhoneAllowed", "/isOfficePhoneAllowed", Conv::Plain),
];
const TAP_FIELDS: [Field; 8] = [
    COMMON[0],
    COMMON[1],
    COMMON[2],
    f(
        "defaultLifetimeMinutes",
        "/defaultLifetimeInMinutes",
        Conv::Plain,
    ),
    f(
        "minimumLifetimeMinutes",
        "/minimumLifetimeInMinutes",
        Conv::Plain,
    ),
    f(
        "maximumLifetimeMinutes",
        "/maximumLifetimeInMinutes",
        Conv::Plain,
    ),
    f("length", "/defaultLength", Conv::Plain),
    f("oneTimeUse", "/isUsableOnce", Conv::Plain),
];
const FIDO2_FIELDS: [Field; 5] = [
    COMMON[0],
    COMMON[1],
    COMMON[2],
    f(
        "selfServiceRegistration",
        "/isSelfServiceRegistrationAllowed",
        Conv::Plain,
    ),
    f("enforceAttestation", "/isAttestationEnforced", Conv::Plain),
];

/// Every method configuration ssprctl manages.
pub const METHODS: &[MethodConfig] = &[
    MethodConfig {
        model: "email",
        id: "Email",
        odata_type: "#microsoft.graph.emailAuthenticationMethodConfiguration",
        fields: &EMAIL_FIELDS,
    },
    MethodConfig {
        model: "sms",
        id: "Sms",
        odata_type: "#microsoft.graph.smsAuthenticationMethodConfiguration",
        fields: &COMMON,
    },
    MethodConfig {
        model: "voice",
        id: "Voice",
        odata_type: "#microsoft.graph.voiceAuthenticationMethodConfiguration",
        fields: &VOICE_FIELDS,
    },
    MethodConfig {
        model: "microsoftAuthenticator",
        id: "MicrosoftAuthenticator",
        odata_type: "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
        fields: &AUTHENTICATOR_FIELDS,
    },
    MethodConfig {
        model: "softwareOath",
        id: "SoftwareOath",
        odata_type: "#microsoft.graph.softwareOathAuthenticationMethodConfiguration",
        fields: &COMMON,
    },
    MethodConfig {
        model: "hardwareOath",
        id: "HardwareOath",
        odata_type: "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration",
        fields: &COMMON,
    },
    MethodConfig {
        model: "temporaryAccessPass",
        id: "TemporaryAccessPass",
        odata_type: "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        fields: &TAP_FIELDS,
    },
    MethodConfig {
        model: "fido2",
        id: "Fido2",
        odata_type: "#microsoft.graph.fido2AuthenticationMethodConfiguration",
        fields: &FIDO2_FIELDS,
    },
    MethodConfig {
        model: "x509Certificate",
        id: "X509Certificate",
        odata_type: "#microsoft.graph.x509CertificateAuthenticationMethodConfiguration",
        fields: &COMMON,
    },
];

/// The "Password Rule Settings" directory-setting template (api-surface §5).
pub const PASSWORD_RULE_TEMPLATE_ID: &str = "5cf42378-d67d-4f36-ba46-e8b86229381d";

/// Directory setting values, read as a flat `{name: value}` object.
const PASSWORD_RULES: &[Field] = &[
    f("lockoutThreshold", "/LockoutThreshold", Conv::IntString),
    f(
        "lockoutDurationSeconds",
        "/LockoutDurationInSeconds",
        Conv::IntString,
    ),
    f(
        "enforceBannedPasswords",
        "/EnableBannedPasswordCheck",
        Conv::BoolString,
    ),
    f("bannedPasswords", "/BannedPasswordList", Conv::TabList),
    f(
        "onPremisesEnabled",
        "/EnableBannedPasswordCheckOnPremises",
        Conv::BoolString,
    ),
    // "Enforce", not Microsoft365DSC's old "Enforced".
    f(
        "onPremisesMode",
        "/BannedPasswordCheckOnPremisesMode",
        Conv::ModeString,
    ),
];

/// The portal's `enablementType` values (api-surface §1a).
const ENABLEMENT: [(&str, i64); 3] = [("none", 0), ("selected", 1), ("all", 2)];

/// The wire id of the "all users" pseudo-group.
const ALL_USERS_WIRE: &str = "all_users";
/// The model's name for it.
const ALL_USERS_MODEL: &str = "allUsers";

fn table(api: Api) -> &'static [Field] {
    match api {
        Api::PortalPasswordReset => PASSWORD_RESET,
        Api::PortalOnPremises => ON_PREMISES,
        Api::GraphAuthorizationPolicy => AUTHORIZATION,
        Api::GraphAuthenticationMethods => METHODS_POLICY,
        Api::GraphPasswordRuleSettings => PASSWORD_RULES,
    }
}

/// The portal's read-only `*OptionAllowed` flags, by model method name
/// (UNCONFIRMED meaning: whether the tenant offers the method at all).
const RESET_METHOD_ALLOWED: [(&str, &str); 6] = [
    ("email", "emailOptionAllowed"),
    ("mobilePhone", "mobilePhoneOptionAllowed"),
    ("officePhone", "officePhoneOptionAllowed"),
    ("securityQuestions", "securityQuestionsOptionAllowed"),
    (
        "authenticatorNotification",
        "mobileAppNotificationOptionAllowed",
    ),
    ("authenticatorCode", "mobileAppCodeOptionAllowed"),
];

/// The SSPR methods the portal object says the tenant offers.
pub fn reset_methods_allowed(portal: &Value) -> Vec<String> {
    RESET_METHOD_ALLOWED
        .iter()
        .filter(|(_, wire)| portal.get(*wire).and_then(Value::as_bool) == Some(true))
        .map(|(model, _)| (*model).to_string())
        .collect()
}

/// Whether the on-premises object says a writeback client is registered
/// (Entra Connect: `enablementForTenant`; Cloud Sync:
/// `cloudProvisioningEnablementForTenant`; both UNCONFIRMED meanings).
pub fn writeback_client(on_premises: &Value) -> bool {
    [
        "enablementForTenant",
        "cloudProvisioningEnablementForTenant",
    ]
    .iter()
    .any(|k| on_premises.get(*k).and_then(Value::as_bool) == Some(true))
}

/// Entra ID P1 and P2 service plans (api-surface §6).
const AAD_PREMIUM_P1: &str = "41781fb2-bc02-4b7c-bd55-b576c07bb09d";
const AAD_PREMIUM_P2: &str = "eec0eb4f-6444-4f95-aba0-50c24d67f998";

/// Premium licences from `subscribedSkus`: a SKU that is Enabled or in Warning
/// with the service plan provisioned (`Success`). P2 implies P1.
pub fn licences(skus: &Value) -> ssprctl_model::Licences {
    let mut found = ssprctl_model::Licences::default();
    for sku in skus
        .get("value")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let status = sku
            .get("capabilityStatus")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(status, "Enabled" | "Warning") {
            continue;
        }
        for plan in sku
            .get("servicePlans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if plan.get("provisioningStatus").and_then(Value::as_str) != Some("Success") {
                continue;
            }
            match plan.get("servicePlanId").and_then(Value::as_str) {
                Some(AAD_PREMIUM_P1) => found.p1 = true,
                Some(AAD_PREMIUM_P2) => {
                    found.p1 = true;
                    found.p2 = true;
                }
                _ => {}
            }
        }
    }
    found
}

/// SHA-256 of a live object, ignoring OData annotations that carry no state.
pub fn digest(object: &Value) -> String {
    use sha2::{Digest, Sha256};
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| !k.contains("@odata.context"))
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    let text = serde_json::to_string(&strip(object)).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The model fields of a surface's policy-level table, in table order.
pub fn model_fields(api: Api) -> impl Iterator<Item = &'static str> {
    table(api).iter().map(|f| f.model)
}

// ---------------------------------------------------------------- reading

/// Reads a surface's wire object into its model section (a JSON object in model
/// names). For `GraphAuthenticationMethods`, method configurations are read from
/// the auto-expanded `authenticationMethodConfigurations`. For
/// `GraphPasswordRuleSettings`, pass the flat object of [`setting_values`].
pub fn observe(api: Api, wire: &Value) -> Value {
    let mut section = Value::Object(Map::new());
    read_fields(table(api), wire, &mut section, "");
    if api == Api::GraphAuthenticationMethods {
        let configs = wire
            .get("authenticationMethodConfigurations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for m in METHODS {
            if let Some(cfg) = configs.iter().find(|c| id_matches(c, m.id)) {
                read_fields(m.fields, cfg, &mut section, m.model);
            }
        }
    }
    section
}

fn read_fields(fields: &[Field], wire: &Value, section: &mut Value, prefix: &str) {
    for field in fields {
        let Some(raw) = wire.pointer(field.wire) else {
            continue;
        };
        let value = match field.conv {
            Conv::Plain => Some(raw.clone()),
            Conv::EnablementType => raw
                .as_i64()
                .and_then(|n| ENABLEMENT.iter().find(|(_, v)| *v == n))
                .map(|(name, _)| json!(name)),
            Conv::SsprGroup => raw.get(0).and_then(Value::as_str).map(|id| {
                let name = wire
                    .get("passwordResetEnabledGroupName")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty());
                let mut g = json!({ "id": id.to_lowercase() });
                if let Some(name) = name {
                    g["displayName"] = json!(name);
                }
                g
            }),
            Conv::QuestionTexts => raw.as_array().map(|items| {
                Value::Array(
                    items
                        .iter()
                        .filter_map(|q| q.get("questionText").cloned())
                        .collect(),
                )
            }),
            Conv::Targets(_) => raw.as_array().map(|items| {
                Value::Array(
                    items
                        .iter()
                        .filter_map(|t| t.get("id").and_then(Value::as_str))
                        .map(|id| {
                            json!(if id == ALL_USERS_WIRE {
                                ALL_USERS_MODEL.to_string()
                            } else {
                                id.to_lowercase()
                            })
                        })
                        .collect(),
                )
            }),
            Conv::IntString => raw
                .as_str()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(|n| json!(n)),
            Conv::BoolString => raw.as_str().and_then(|s| {
                if s.eq_ignore_ascii_case("true") {
                    Some(json!(true))
                } else if s.eq_ignore_ascii_case("false") {
                    Some(json!(false))
                } else {
                    None
                }
            }),
            Conv::TabList => raw.as_str().map(|s| {
                Value::Array(
                    s.split('\t')
                        .filter(|t| !t.is_empty())
                        .map(|t| json!(t))
                        .collect(),
                )
            }),
            Conv::ModeString => raw.as_str().map(|s| json!(s.to_lowercase())),
        };
        if let Some(v) = value {
            let path = if prefix.is_empty() {
                field.model.to_string()
            } else {
                format!("{prefix}.{}", field.model)
            };
            set_dotted(section, &path, v);
        }
    }
}

/// The directory setting's `values` array as a flat `{name: value}` object.
pub fn setting_values(values: &Value) -> Value {
    let mut flat = Map::new();
    for v in values.as_array().into_iter().flatten() {
        if let (Some(name), Some(value)) = (v.get("name").and_then(Value::as_str), v.get("value")) {
            flat.insert(name.to_string(), value.clone());
        }
    }
    Value::Object(flat)
}

/// A template's defaults as a flat `{name: value}` object.
pub fn template_defaults(template: &Value) -> Value {
    let mut flat = Map::new();
    for v in template
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(value)) =
            (v.get("name").and_then(Value::as_str), v.get("defaultValue"))
        {
            flat.insert(name.to_string(), value.clone());
        }
    }
    Value::Object(flat)
}

/// A flat `{name: value}` object back to the `values` array, in the object's
/// order (the live setting's, or the template's for a new one).
pub fn setting_values_array(flat: &Value) -> Value {
    Value::Array(
        flat.as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect(),
    )
}

fn id_matches(cfg: &Value, id: &str) -> bool {
    cfg.get("id")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case(id))
}

// ---------------------------------------------------------------- writing

/// Overlays the fields present in `partial` (a model section) onto `body`,
/// reading `current` (the live wire object) for entries to preserve. Returns
/// whether anything was written.
pub fn overlay(api: Api, partial: &Value, current: &Value, body: &mut Value) -> bool {
    write_fields(table(api), partial, current, body)
}

/// For each method configuration with fields in `partial`, the PATCH body
/// (`@odata.type` first, then the changed fields) and its configuration id.
pub fn method_patches(partial: &Value, policy: &Value) -> Vec<(&'static str, Value)> {
    let configs = policy
        .get("authenticationMethodConfigurations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for m in METHODS {
        let Some(section) = partial.get(m.model) else {
            continue;
        };
        let current = configs
            .iter()
            .find(|c| id_matches(c, m.id))
            .cloned()
            .unwrap_or(Value::Null);
        let mut body = json!({ "@odata.type": m.odata_type });
        if write_fields(m.fields, section, &current, &mut body) {
            out.push((m.id, body));
        }
    }
    out
}

fn write_fields(fields: &[Field], partial: &Value, current: &Value, body: &mut Value) -> bool {
    let mut wrote = false;
    for field in fields {
        let Some(v) = get_dotted(partial, field.model) else {
            continue;
        };
        let existing = current.pointer(field.wire);
        let wire_value = match field.conv {
            Conv::Plain => v.clone(),
            Conv::EnablementType => {
                let n = v
                    .as_str()
                    .and_then(|s| ENABLEMENT.iter().find(|(name, _)| *name == s))
                    .map(|(_, n)| *n);
                match n {
                    Some(n) => json!(n),
                    None => continue,
                }
            }
            Conv::SsprGroup => {
                let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
                let name = v
                    .get("displayName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if let Some(obj) = body.as_object_mut() {
                    obj.insert("passwordResetEnabledGroupName".into(), json!(name));
                }
                json!([id])
            }
            Conv::QuestionTexts => {
                let old = existing
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                Value::Array(
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .map(|text| {
                            old.iter()
                                .find(|q| q.get("questionText") == Some(text))
                                .cloned()
                                .unwrap_or_else(|| json!({ "questionText": text }))
                        })
                        .collect(),
                )
            }
            Conv::Targets(default) => {
                let old = existing
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                Value::Array(
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|id| {
                            let wire_id = if id == ALL_USERS_MODEL {
                                ALL_USERS_WIRE
                            } else {
                                id
                            };
                            old.iter()
                                .find(|t| {
                                    t.get("id")
                                        .and_then(Value::as_str)
                                        .is_some_and(|o| o.eq_ignore_ascii_case(wire_id))
                                })
                                .cloned()
                                .unwrap_or_else(|| {
                                    let mut t: Value =
                                        serde_json::from_str(default).unwrap_or_else(|_| json!({}));
                                    t["id"] = json!(wire_id);
                                    t
                                })
                        })
                        .collect(),
                )
            }
            Conv::IntString => json!(v.as_u64().map(|n| n.to_string()).unwrap_or_default()),
            Conv::BoolString => json!(if v.as_bool() == Some(true) {
                "True"
            } else {
                "False"
            }),
            Conv::TabList => json!(
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\t")
            ),
            Conv::ModeString => match v.as_str() {
                Some("enforce") => json!("Enforce"),
                _ => json!("Audit"),
            },
        };
        set_pointer(body, current, field.wire, wire_value);
        wrote = true;
    }
    wrote
}

/// Sets `value` at `pointer` in `body`. A complex property that the body does
/// not carry yet is first copied whole from `current`: Graph's PATCH replaces a
/// complex property entirely, so its other members must be sent unchanged.
fn set_pointer(body: &mut Value, current: &Value, pointer: &str, value: Value) {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    if parts.len() > 1
        && let (Some(obj), Some(top)) = (body.as_object_mut(), current.get(parts[0]))
    {
        obj.entry(parts[0].to_string())
            .or_insert_with(|| top.clone());
    }
    set_parts(body, &parts, value);
}

/// The value at a dotted model path.
pub fn get_dotted<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

/// Sets a value at a dotted model path, creating mappings on the way.
pub fn set_dotted(v: &mut Value, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    set_parts(v, &parts, value);
}

/// Sets a value under the keys `parts`, creating mappings on the way.
fn set_parts(v: &mut Value, parts: &[&str], value: Value) {
    let mut cur = v;
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("made an object just above");
        if i == parts.len() - 1 {
            obj.insert((*part).to_string(), value);
            return;
        }
        cur = obj
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_object_maps_both_ways_with_the_misspelled_field() {
        let wire = json!({
            "objectId": "default", "enablementType": 1,
            "passwordResetEnabledGroupIds": ["B6CDB9C3-D660-4558-BCFD-82C14A986B56"],
            "passwordResetEnabledGroupName": "SSPR Pilot",
            "numberOfAuthenticationMethodsRequired": 2,
            "registrationReconfirmIntevalInDays": 180,
            "securityQuestions": [{"questionText": "Q1", "id": "x"}],
            "emailOptionAllowed": true
        });
        let section = observe(Api::PortalPasswordReset, &wire);
        assert_eq!(section["enabledFor"], "selected");
        assert_eq!(
            section["group"],
            json!({"id": "b6cdb9c3-d660-4558-bcfd-82c14a986b56", "displayName": "SSPR Pilot"})
        );
        assert_eq!(section["registration"]["reconfirmAfterDays"], 180);
        assert_eq!(section["securityQuestions"]["questions"], json!(["Q1"]));

        let partial = json!({"enabledFor": "all", "registration": {"reconfirmAfterDays": 90},
                             "securityQuestions": {"questions": ["Q1", "Q2"]}});
        let mut body = wire.clone();
        assert!(overlay(
            Api::PortalPasswordReset,
            &partial,
            &wire,
            &mut body
        ));
        assert_eq!(body["enablementType"], 2);
        assert_eq!(body["registrationReconfirmIntevalInDays"], 90);
        assert_eq!(
            body["securityQuestions"],
            json!([{"questionText": "Q1", "id": "x"}, {"questionText": "Q2"}])
        );
        assert_eq!(
            body["emailOptionAllowed"], true,
            "unmanaged fields round-trip"
        );
    }

    #[test]
    fn method_patch_carries_odata_type_and_keeps_target_details() {
        let policy = json!({"authenticationMethodConfigurations": [{
            "id": "MicrosoftAuthenticator", "state": "disabled",
            "includeTargets": [{"id": "all_users", "targetType": "group", "isRegistrationRequired": true, "authenticationMode": "push"}],
            "featureSettings": {"displayAppInformationRequiredState": {"state": "default", "includeTarget": {"id": "all_users", "targetType": "group"}},
                                "displayLocationInformationRequiredState": {"state": "default"}}
        }]});
        let partial = json!({"microsoftAuthenticator": {"include": ["allUsers", "b6cdb9c3-d660-4558-bcfd-82c14a986b56"], "showLocation": "enabled"}});
        let patches = method_patches(&partial, &policy);
        assert_eq!(patches.len(), 1);
        let (id, body) = &patches[0];
        assert_eq!(*id, "MicrosoftAuthenticator");
        assert_eq!(
            body["@odata.type"],
            "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration"
        );
        assert_eq!(body["includeTargets"][0]["authenticationMode"], "push");
        assert_eq!(
            body["includeTargets"][1]["id"],
            "b6cdb9c3-d660-4558-bcfd-82c14a986b56"
        );
        assert_eq!(
            body["featureSettings"]["displayLocationInformationRequiredState"]["state"],
            "enabled"
        );
        assert_eq!(
            body["featureSettings"]["displayAppInformationRequiredState"]["state"], "default",
            "sibling complex members are sent unchanged"
        );
        assert!(body.get("state").is_none(), "unchanged fields are not sent");
    }

    #[test]
    fn directory_setting_values_are_strings_on_the_wire() {
        let flat = json!({"LockoutThreshold": "10", "EnableBannedPasswordCheck": "true", "BannedPasswordList": "a1b2\tc3d4", "BannedPasswordCheckOnPremisesMode": "Audit"});
        let section = observe(Api::GraphPasswordRuleSettings, &flat);
        assert_eq!(
            section,
            json!({"lockoutThreshold": 10, "enforceBannedPasswords": true, "bannedPasswords": ["a1b2", "c3d4"], "onPremisesMode": "audit"})
        );
        let mut body = flat.clone();
        overlay(
            Api::GraphPasswordRuleSettings,
            &json!({"lockoutThreshold": 5, "onPremisesMode": "enforce", "enforceBannedPasswords": true}),
            &flat,
            &mut body,
        );
        assert_eq!(body["LockoutThreshold"], "5");
        assert_eq!(body["BannedPasswordCheckOnPremisesMode"], "Enforce");
        assert_eq!(body["EnableBannedPasswordCheck"], "True");
    }
}
