//! The ONE mapping between model names and the APIs' wire names.
//!
//! Every field of the catalog (`ssprctl_model::catalog`) has exactly one wire
//! mapping here, [`wire`], an exhaustive `match` on [`FieldId`]: where the value
//! lives on the wire (a JSON pointer into the surface's object, or into one
//! method configuration of the authentication-methods policy) and how it
//! converts. Reading a surface walks its catalog fields wire -> model; writing
//! walks them model -> wire, overlaying only the fields present in the partial
//! settings onto the body it is given (the current object for the portal's full
//! PUT, an empty object for Graph's PATCH).
//!
//! Misspellings are the real wire names (`registrationReconfirmIntevalInDays`).
//! UNCONFIRMED facts of docs/api-surfaces.md are marked where they are used.

use serde_json::{Map, Value, json};
use ssprctl_model::catalog::{self, FieldId};
use ssprctl_model::{Api, Field};

/// How a value converts between model and wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
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

/// Where a field lives on the wire.
#[derive(Clone, Copy, Debug)]
pub enum Loc {
    /// A JSON pointer into the surface's object (for the password rules, into
    /// the flat `{name: value}` object of [`setting_values`]).
    Object(&'static str),
    /// A JSON pointer into one method configuration of the
    /// authentication-methods policy.
    Method(&'static MethodConfig, &'static str),
}

/// The wire mapping of one catalog field.
#[derive(Clone, Copy, Debug)]
pub struct Wire {
    /// Where it lives.
    pub loc: Loc,
    /// How it converts.
    pub conv: Conv,
}

impl Wire {
    /// The wire name for documentation, e.g. `registrationReconfirmIntevalInDays`
    /// or `Sms: includeTargets`.
    pub fn name(&self) -> String {
        match self.loc {
            Loc::Object(p) => p.trim_start_matches('/').to_string(),
            Loc::Method(m, p) => format!("{}: {}", m.id, p.trim_start_matches('/')),
        }
    }
}

/// One method configuration of the authentication-methods policy.
#[derive(Debug)]
pub struct MethodConfig {
    /// Model key under `authenticationMethods`.
    pub model: &'static str,
    /// The configuration id on the wire.
    pub id: &'static str,
    /// The `@odata.type` a PATCH must carry.
    pub odata_type: &'static str,
}

const fn method(model: &'static str, id: &'static str, odata_type: &'static str) -> MethodConfig {
    MethodConfig {
        model,
        id,
        odata_type,
    }
}

static EMAIL: MethodConfig = method(
    "email",
    "Email",
    "#microsoft.graph.emailAuthenticationMethodConfiguration",
);
static SMS: MethodConfig = method(
    "sms",
    "Sms",
    "#microsoft.graph.smsAuthenticationMethodConfiguration",
);
static VOICE: MethodConfig = method(
    "voice",
    "Voice",
    "#microsoft.graph.voiceAuthenticationMethodConfiguration",
);
static AUTHENTICATOR: MethodConfig = method(
    "microsoftAuthenticator",
    "MicrosoftAuthenticator",
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
);
static SOFTWARE_OATH: MethodConfig = method(
    "softwareOath",
    "SoftwareOath",
    "#microsoft.graph.softwareOathAuthenticationMethodConfiguration",
);
static HARDWARE_OATH: MethodConfig = method(
    "hardwareOath",
    "HardwareOath",
    "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration",
);
static TAP: MethodConfig = method(
    "temporaryAccessPass",
    "TemporaryAccessPass",
    "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
);
static FIDO2: MethodConfig = method(
    "fido2",
    "Fido2",
    "#microsoft.graph.fido2AuthenticationMethodConfiguration",
);
static X509: MethodConfig = method(
    "x509Certificate",
    "X509Certificate",
    "#microsoft.graph.x509CertificateAuthenticationMethodConfiguration",
);

/// Every method configuration ssprctl manages.
pub static METHODS: [&MethodConfig; 9] = [
    &EMAIL,
    &SMS,
    &VOICE,
    &AUTHENTICATOR,
    &SOFTWARE_OATH,
    &HARDWARE_OATH,
    &TAP,
    &FIDO2,
    &X509,
];

/// A new include target's defaults, per method family.
const INCLUDE_DEFAULT: &str = r#"{"targetType":"group","isRegistrationRequired":false}"#;
const AUTHENTICATOR_INCLUDE_DEFAULT: &str =
    r#"{"targetType":"group","isRegistrationRequired":false,"authenticationMode":"any"}"#;
const EXCLUDE_DEFAULT: &str = r#"{"targetType":"group"}"#;
const CAMPAIGN_INCLUDE_DEFAULT: &str =
    r#"{"targetType":"group","targetedAuthenticationMethod":"microsoftAuthenticator"}"#;

const fn at(pointer: &'static str, conv: Conv) -> Wire {
    Wire {
        loc: Loc::Object(pointer),
        conv,
    }
}
const fn plain(pointer: &'static str) -> Wire {
    at(pointer, Conv::Plain)
}
const fn of(m: &'static MethodConfig, pointer: &'static str, conv: Conv) -> Wire {
    Wire {
        loc: Loc::Method(m, pointer),
        conv,
    }
}
const fn state(m: &'static MethodConfig) -> Wire {
    of(m, "/state", Conv::Plain)
}
const fn include(m: &'static MethodConfig) -> Wire {
    of(m, "/includeTargets", Conv::Targets(INCLUDE_DEFAULT))
}
const fn exclude(m: &'static MethodConfig) -> Wire {
    of(m, "/excludeTargets", Conv::Targets(EXCLUDE_DEFAULT))
}

/// The wire mapping of every catalog field (docs/api-surfaces.md §1a portal policy,
/// §1b on-premises policy, §2 authorization policy, §3 methods policy, §5
/// password rule settings).
pub fn wire(id: FieldId) -> Wire {
    use Conv::*;
    use FieldId as F;
    match id {
        F::SsprEnabledFor => at("/enablementType", EnablementType),
        F::SsprGroup => at("/passwordResetEnabledGroupIds", SsprGroup),
        F::SsprMethodsRequired => plain("/numberOfAuthenticationMethodsRequired"),
        F::SsprMethodEmail => plain("/emailOptionEnabled"),
        F::SsprMethodMobilePhone => plain("/mobilePhoneOptionEnabled"),
        F::SsprMethodOfficePhone => plain("/officePhoneOptionEnabled"),
        F::SsprMethodSecurityQuestions => plain("/securityQuestionsOptionEnabled"),
        F::SsprMethodAuthenticatorNotification => plain("/mobileAppNotificationEnabled"),
        F::SsprMethodAuthenticatorCode => plain("/mobileAppCodeEnabled"),
        F::SsprQuestionsToRegister => plain("/numberOfQuestionsToRegister"),
        F::SsprQuestionsToReset => plain("/numberOfQuestionsToReset"),
        // UNCONFIRMED: only `questionText` is known of a question item.
        F::SsprQuestions => at("/securityQuestions", QuestionTexts),
        F::SsprRequireRegistration => plain("/registrationRequiredOnSignIn"),
        // sic: the real wire name is misspelled "Inteval".
        F::SsprReconfirmDays => plain("/registrationReconfirmIntevalInDays"),
        F::SsprSkipRegistration => plain("/skipRegistrationAllowed"),
        F::SsprSkipRegistrationDays => plain("/skipRegistrationMaxAllowedDays"),
        F::SsprNotifyUsers => plain("/notifyUsersOnPasswordReset"),
        F::SsprNotifyAdmins => plain("/notifyOnAdminPasswordReset"),
        F::SsprHelpdeskCustomLink => plain("/customizeHelpdeskLink"),
        F::SsprHelpdeskContact => plain("/customHelpdeskEmailOrUrl"),
        F::OnPremPasswordWriteback => plain("/passwordWritebackSupported"),
        F::OnPremUnlockWithoutReset => plain("/accountUnlockEnabled"),
        F::AdminSspr => plain("/allowedToUseSSPR"),
        F::MigrationState => plain("/policyMigrationState"),
        F::CampaignState => plain(concat!(
            "/registrationEnforcement/authenticationMethodsRegistrationCampaign",
            "/state"
        )),
        F::CampaignSnoozeDays => plain(concat!(
            "/registrationEnforcement/authenticationMethodsRegistrationCampaign",
            "/snoozeDurationInDays"
        )),
        F::CampaignEnforce => plain(concat!(
            "/registrationEnforcement/authenticationMethodsRegistrationCampaign",
            "/enforceRegistrationAfterAllowedSnoozes"
        )),
        F::CampaignInclude => at(
            concat!(
                "/registrationEnforcement/authenticationMethodsRegistrationCampaign",
                "/includeTargets"
            ),
            Targets(CAMPAIGN_INCLUDE_DEFAULT),
        ),
        F::CampaignExclude => at(
            concat!(
                "/registrationEnforcement/authenticationMethodsRegistrationCampaign",
                "/excludeTargets"
            ),
            Targets(EXCLUDE_DEFAULT),
        ),
        F::EmailState => state(&EMAIL),
        F::EmailInclude => include(&EMAIL),
        F::EmailExclude => exclude(&EMAIL),
        F::EmailExternalUsers => of(&EMAIL, "/allowExternalIdToUseEmailOtp", Plain),
        F::SmsState => state(&SMS),
        F::SmsInclude => include(&SMS),
        F::SmsExclude => exclude(&SMS),
        F::VoiceState => state(&VOICE),
        F::VoiceInclude => include(&VOICE),
        F::VoiceExclude => exclude(&VOICE),
        F::VoiceOfficePhone => of(&VOICE, "/isOfficePhoneAllowed", Plain),
        F::AuthenticatorState => state(&AUTHENTICATOR),
        F::AuthenticatorInclude => of(
            &AUTHENTICATOR,
            "/includeTargets",
            Targets(AUTHENTICATOR_INCLUDE_DEFAULT),
        ),
        F::AuthenticatorExclude => exclude(&AUTHENTICATOR),
        F::AuthenticatorOtp => of(&AUTHENTICATOR, "/isSoftwareOathEnabled", Plain),
        F::AuthenticatorShowApp => of(
            &AUTHENTICATOR,
            "/featureSettings/displayAppInformationRequiredState/state",
            Plain,
        ),
        F::AuthenticatorShowLocation => of(
            &AUTHENTICATOR,
            "/featureSettings/displayLocationInformationRequiredState/state",
            Plain,
        ),
        F::SoftwareOathState => state(&SOFTWARE_OATH),
        F::SoftwareOathInclude => include(&SOFTWARE_OATH),
        F::SoftwareOathExclude => exclude(&SOFTWARE_OATH),
        F::HardwareOathState => state(&HARDWARE_OATH),
        F::HardwareOathInclude => include(&HARDWARE_OATH),
        F::HardwareOathExclude => exclude(&HARDWARE_OATH),
        F::TapState => state(&TAP),
        F::TapInclude => include(&TAP),
        F::TapExclude => exclude(&TAP),
        F::TapDefaultLifetime => of(&TAP, "/defaultLifetimeInMinutes", Plain),
        F::TapMinimumLifetime => of(&TAP, "/minimumLifetimeInMinutes", Plain),
        F::TapMaximumLifetime => of(&TAP, "/maximumLifetimeInMinutes", Plain),
        F::TapLength => of(&TAP, "/defaultLength", Plain),
        F::TapOneTimeUse => of(&TAP, "/isUsableOnce", Plain),
        F::Fido2State => state(&FIDO2),
        F::Fido2Include => include(&FIDO2),
        F::Fido2Exclude => exclude(&FIDO2),
        F::Fido2SelfService => of(&FIDO2, "/isSelfServiceRegistrationAllowed", Plain),
        F::Fido2Attestation => of(&FIDO2, "/isAttestationEnforced", Plain),
        F::X509State => state(&X509),
        F::X509Include => include(&X509),
        F::X509Exclude => exclude(&X509),
        F::LockoutThreshold => at("/LockoutThreshold", IntString),
        F::LockoutDuration => at("/LockoutDurationInSeconds", IntString),
        F::EnforceBannedPasswords => at("/EnableBannedPasswordCheck", BoolString),
        F::BannedPasswords => at("/BannedPasswordList", TabList),
        F::OnPremProtection => at("/EnableBannedPasswordCheckOnPremises", BoolString),
        // "Enforce", not Microsoft365DSC's old "Enforced".
        F::OnPremProtectionMode => at("/BannedPasswordCheckOnPremisesMode", ModeString),
    }
}

/// The "Password Rule Settings" directory-setting template (docs/api-surfaces.md §5).
pub const PASSWORD_RULE_TEMPLATE_ID: &str = "5cf42378-d67d-4f36-ba46-e8b86229381d";

/// The portal's `enablementType` values (docs/api-surfaces.md §1a).
const ENABLEMENT: [(&str, i64); 3] = [("none", 0), ("selected", 1), ("all", 2)];

/// The wire id of the "all users" pseudo-group.
const ALL_USERS_WIRE: &str = "all_users";
/// The model's name for it.
const ALL_USERS_MODEL: &str = "allUsers";

/// A model value the wire cannot carry.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write {value} to the API: expected {expected}")]
pub struct WireError {
    /// The setting.
    pub path: &'static str,
    /// The value that could not be converted.
    pub value: Value,
    /// What the conversion needs.
    pub expected: &'static str,
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

/// The licences of `subscribedSkus` (the table lives in [`crate::licensing`]).
pub use crate::licensing::licences;

/// SHA-256 of a live object, ignoring OData annotations that carry no state:
/// of its compact JSON text without the `@odata.context` members. The text is
/// hashed as it is produced (no stripped copy of the object, no string of
/// it): one digest per surface and tenant adds up at thousands of tenants.
pub fn digest(object: &Value) -> ssprctl_model::Digest {
    use serde::ser::{SerializeMap, Serializer};
    use sha2::{Digest as _, Sha256};

    /// `v` as `serde_json` writes it, less the `@odata.context` members.
    struct Stripped<'a>(&'a Value);
    impl serde::Serialize for Stripped<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                Value::Object(map) => {
                    let mut m = s.serialize_map(None)?;
                    for (k, v) in map.iter().filter(|(k, _)| !k.contains("@odata.context")) {
                        m.serialize_entry(k, &Stripped(v))?;
                    }
                    m.end()
                }
                Value::Array(items) => s.collect_seq(items.iter().map(Stripped)),
                other => other.serialize(s),
            }
        }
    }
    /// Feeds what is written to the hash.
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Buffered: `serde_json` writes a few bytes at a time (a quote, a
    // colon), and each hash update of its own costs more than the bytes.
    let mut buffered = std::io::BufWriter::with_capacity(4096, Hashing(Sha256::new()));
    let written = serde_json::to_writer(&mut buffered, &Stripped(object)).is_ok();
    let hash = match buffered.into_inner() {
        Ok(Hashing(hash)) if written => hash,
        // Unreachable for a `Value` (hashing never fails); as before, the
        // digest of no text.
        Ok(_) | Err(_) => Sha256::new(),
    };
    ssprctl_model::Digest(hash.finalize().into())
}

/// The model paths (relative to the section) of a surface's fields, in
/// catalog order.
pub fn model_fields(api: Api) -> impl Iterator<Item = &'static str> {
    catalog::of_api(api).map(Field::relative_path)
}

// ---------------------------------------------------------------- reading

/// Reads a surface's wire object into its model section (a JSON object in model
/// names). For `GraphAuthenticationMethods`, method configurations are read from
/// the auto-expanded `authenticationMethodConfigurations`. For
/// `GraphPasswordRuleSettings`, pass the flat object of [`setting_values`].
/// A value of an unexpected form is left out (the section then fails to
/// decode, or the planner sees no live value), never guessed.
pub fn observe(api: Api, object: &Value) -> Value {
    let mut section = Value::Object(Map::new());
    for field in catalog::of_api(api) {
        let w = wire(field.id);
        let (holder, pointer) = match w.loc {
            Loc::Object(p) => (Some(object), p),
            Loc::Method(m, p) => (method_config(object, m.id), p),
        };
        let Some(raw) = holder.and_then(|h| pointer_at(h, pointer)) else {
            continue;
        };
        if let Some(v) = read_value(w.conv, raw, holder.unwrap_or(&Value::Null)) {
            set_dotted(&mut section, field.relative_path(), v);
        }
    }
    section
}

/// [`Value::pointer`], without its allocations for pointers that escape
/// nothing (every pointer of the wire table): `observe` looks up each field
/// of each surface of each tenant.
fn pointer_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.contains('~') {
        return v.pointer(pointer);
    }
    if pointer.is_empty() {
        return Some(v);
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(v, |cur, token| match cur {
        Value::Object(map) => map.get(token),
        Value::Array(items) => array_index(token).and_then(|i| items.get(i)),
        _ => None,
    })
}

/// An array index token as [`Value::pointer`] reads it (no `+`, no leading zero).
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

/// The method configuration `id` in a policy's `authenticationMethodConfigurations`.
fn method_config<'a>(policy: &'a Value, id: &str) -> Option<&'a Value> {
    policy
        .get("authenticationMethodConfigurations")?
        .as_array()?
        .iter()
        .find(|c| id_matches(c, id))
}

fn read_value(conv: Conv, raw: &Value, holder: &Value) -> Option<Value> {
    match conv {
        Conv::Plain => Some(raw.clone()),
        Conv::EnablementType => raw
            .as_i64()
            .and_then(|n| ENABLEMENT.iter().find(|(_, v)| *v == n))
            .map(|(name, _)| json!(name)),
        Conv::SsprGroup => raw.get(0).and_then(Value::as_str).map(|id| {
            let name = holder
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
        Conv::ModeString => raw.as_str().and_then(|s| {
            if s.eq_ignore_ascii_case("audit") {
                Some(json!("audit"))
            } else if s.eq_ignore_ascii_case("enforce") {
                Some(json!("enforce"))
            } else {
                None
            }
        }),
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

/// Overlays the policy-level fields present in `partial` (a model section)
/// onto `body`, reading `current` (the live wire object) for entries to
/// preserve. Method configurations are written by [`method_patches`]. Returns
/// whether anything was written.
pub fn overlay(
    api: Api,
    partial: &Value,
    current: &Value,
    body: &mut Value,
) -> Result<bool, WireError> {
    let mut wrote = false;
    for field in catalog::of_api(api) {
        let Loc::Object(pointer) = wire(field.id).loc else {
            continue;
        };
        let Some(v) = get_dotted(partial, field.relative_path()) else {
            continue;
        };
        let value = write_value(field, v, current.pointer(pointer), body)?;
        set_pointer(body, current, pointer, value);
        wrote = true;
    }
    Ok(wrote)
}

/// For each method configuration with fields in `partial`, the PATCH body
/// (`@odata.type` first, then the changed fields) and its configuration id.
pub fn method_patches(
    partial: &Value,
    policy: &Value,
) -> Result<Vec<(&'static str, Value)>, WireError> {
    let mut out: Vec<(&'static str, Value)> = Vec::new();
    for field in catalog::of_api(Api::GraphAuthenticationMethods) {
        let Loc::Method(m, pointer) = wire(field.id).loc else {
            continue;
        };
        let Some(v) = get_dotted(partial, field.relative_path()) else {
            continue;
        };
        let current = method_config(policy, m.id).cloned().unwrap_or(Value::Null);
        let index = match out.iter().position(|(id, _)| *id == m.id) {
            Some(i) => i,
            None => {
                out.push((m.id, json!({ "@odata.type": m.odata_type })));
                out.len() - 1
            }
        };
        let body = &mut out[index].1;
        let value = write_value(field, v, current.pointer(pointer), body)?;
        set_pointer(body, &current, pointer, value);
    }
    Ok(out)
}

/// The wire form of one model value; `existing` is the live wire value (for
/// list entries whose other members must be kept).
fn write_value(
    field: &Field,
    v: &Value,
    existing: Option<&Value>,
    body: &mut Value,
) -> Result<Value, WireError> {
    let fail = |expected: &'static str| WireError {
        path: field.path,
        value: v.clone(),
        expected,
    };
    let strings = |expected: &'static str| -> Result<Vec<&str>, WireError> {
        v.as_array()
            .ok_or_else(|| fail(expected))?
            .iter()
            .map(|i| i.as_str().ok_or_else(|| fail(expected)))
            .collect()
    };
    let old = || {
        existing
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    Ok(match wire(field.id).conv {
        Conv::Plain => v.clone(),
        Conv::EnablementType => {
            let n = v
                .as_str()
                .and_then(|s| ENABLEMENT.iter().find(|(name, _)| *name == s))
                .map(|(_, n)| *n)
                .ok_or_else(|| fail("none, selected or all"))?;
            json!(n)
        }
        Conv::SsprGroup => {
            // The planner resolves the group to its object id before apply.
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| fail("a group with its object id"))?;
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
            let old = old();
            Value::Array(
                strings("a list of question texts")?
                    .into_iter()
                    .map(|text| {
                        old.iter()
                            .find(|q| q.get("questionText").and_then(Value::as_str) == Some(text))
                            .cloned()
                            .unwrap_or_else(|| json!({ "questionText": text }))
                    })
                    .collect(),
            )
        }
        Conv::Targets(default) => {
            let old = old();
            let template: Value = serde_json::from_str(default).map_err(|_| fail("targets"))?;
            Value::Array(
                strings("a list of allUsers or group object ids")?
                    .into_iter()
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
                                let mut t = template.clone();
                                t["id"] = json!(wire_id);
                                t
                            })
                    })
                    .collect(),
            )
        }
        Conv::IntString => json!(
            v.as_u64()
                .ok_or_else(|| fail("a whole number"))?
                .to_string()
        ),
        Conv::BoolString => match v.as_bool().ok_or_else(|| fail("true or false"))? {
            true => json!("True"),
            false => json!("False"),
        },
        Conv::TabList => {
            let terms = strings("a list of terms")?;
            if terms.iter().any(|t| t.contains('\t')) {
                return Err(fail("terms without a TAB (TAB separates them on the wire)"));
            }
            json!(terms.join("\t"))
        }
        Conv::ModeString => match v.as_str() {
            Some("audit") => json!("Audit"),
            Some("enforce") => json!("Enforce"),
            _ => return Err(fail("audit or enforce")),
        },
    })
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
            match obj.get_mut(*part) {
                Some(slot) => *slot = value,
                None => {
                    obj.insert((*part).to_string(), value);
                }
            }
            return;
        }
        // Looked up before a key is made: the key exists for all but the
        // first field of a section, and making it costs an allocation.
        if !obj.contains_key(*part) {
            obj.insert((*part).to_string(), Value::Object(Map::new()));
        }
        cur = match obj.get_mut(*part) {
            Some(next) => next,
            None => return, // inserted just above
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_at_agrees_with_value_pointer() {
        let v = json!({
            "a": {"b": [10, {"c": true}], "": 1, "x~y": 2, "p/q": 3},
            "0": "zero",
            "list": [1, 2, 3]
        });
        for p in [
            "",
            "/",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1/c",
            "/a/b/2",
            "/a/b/01",
            "/a/b/+1",
            "/a/b/-1",
            "/a/",
            "/a/x~0y",
            "/a/p~1q",
            "/0",
            "/list/2",
            "/list/3",
            "a",
            "/missing",
            "/a/b/1/c/d",
            "/list/00",
        ] {
            assert_eq!(pointer_at(&v, p), v.pointer(p), "pointer {p:?}");
        }
        // Every pointer of the wire table, against an observed surface.
        let policy = json!({"authenticationMethodConfigurations": [], "x": 1});
        for field in catalog::FIELDS.iter() {
            let p = match wire(field.id).loc {
                Loc::Object(p) | Loc::Method(_, p) => p,
            };
            assert_eq!(pointer_at(&policy, p), policy.pointer(p), "pointer {p:?}");
        }
    }

    #[test]
    fn set_dotted_overwrites_and_keeps_key_order() {
        let mut v = json!({});
        set_dotted(&mut v, "a.b", json!(1));
        set_dotted(&mut v, "c", json!(2));
        set_dotted(&mut v, "a.d", json!(3));
        set_dotted(&mut v, "a.b", json!(4));
        set_dotted(&mut v, "c.e", json!(5));
        assert_eq!(
            serde_json::to_string(&v).unwrap_or_default(),
            r#"{"a":{"b":4,"d":3},"c":{"e":5}}"#
        );
    }

    #[test]
    fn a_digest_is_the_sha256_of_the_compact_text_without_odata_context() {
        // The stripped copy the digest was once computed from: the digest of
        // a plan's read must not change with how it is computed.
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
        let object = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x",
            "id": "authenticationMethodsPolicy",
            "n": 1.5, "big": 18446744073709551615u64, "neg": -3, "t": true, "none": null,
            "text": "quote \" and \u{e9}\u{1}",
            "list": [{"a@odata.context": "x", "b": []}, {}, [1, {"c": {}}]],
            "empty": {}
        });
        use sha2::{Digest, Sha256};
        let text = serde_json::to_string(&strip(&object)).expect("text");
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest(&object).to_string(), expected);
        assert_eq!(digest(&json!({})), digest(&json!({"@odata.context": "y"})));
        // Longer than the digest's write buffer: hashed across several flushes.
        let long = json!({"values": (0..400).map(|i| json!({"name": format!("n{i}"), "value": "\u{e9}x".repeat(i % 7)})).collect::<Vec<_>>()});
        let text = serde_json::to_string(&long).expect("text");
        assert!(text.len() > 3 * 4096);
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest(&long).to_string(), expected);
    }

    #[test]
    fn portal_object_maps_both_ways_with_the_misspelled_field() {
        let portal = json!({
            "objectId": "default", "enablementType": 1,
            "passwordResetEnabledGroupIds": ["B6CDB9C3-D660-4558-BCFD-82C14A986B56"],
            "passwordResetEnabledGroupName": "SSPR Pilot",
            "numberOfAuthenticationMethodsRequired": 2,
            "registrationReconfirmIntevalInDays": 180,
            "securityQuestions": [{"questionText": "Q1", "id": "x"}],
            "emailOptionAllowed": true
        });
        let section = observe(Api::PortalPasswordReset, &portal);
        assert_eq!(section["enabledFor"], "selected");
        assert_eq!(
            section["group"],
            json!({"id": "b6cdb9c3-d660-4558-bcfd-82c14a986b56", "displayName": "SSPR Pilot"})
        );
        assert_eq!(section["registration"]["reconfirmAfterDays"], 180);
        assert_eq!(section["securityQuestions"]["questions"], json!(["Q1"]));

        let partial = json!({"enabledFor": "all", "registration": {"reconfirmAfterDays": 90},
                             "securityQuestions": {"questions": ["Q1", "Q2"]}});
        let mut body = portal.clone();
        assert!(overlay(Api::PortalPasswordReset, &partial, &portal, &mut body).expect("converts"));
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
        let patches = method_patches(&partial, &policy).expect("converts");
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
        )
        .expect("converts");
        assert_eq!(body["LockoutThreshold"], "5");
        assert_eq!(body["BannedPasswordCheckOnPremisesMode"], "Enforce");
        assert_eq!(body["EnableBannedPasswordCheck"], "True");
    }
}

/// model -> wire -> model is the identity for every catalog field.
#[cfg(test)]
mod roundtrip {
    use super::*;
    use proptest::prelude::*;
    use ssprctl_model::catalog::{Compare, FIELDS, RiskRule};

    /// Values a field may take, derived from its catalog entry (its default's
    /// type, its ranked values) and its wire conversion.
    fn value_of(field: &'static Field) -> BoxedStrategy<Value> {
        let default: Value = serde_json::from_str(field.default).expect("JSON default");
        let guid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
        match (field.compare, &default) {
            (Compare::GroupReference, _) => (guid, "[A-Za-z][A-Za-z0-9 -]{0,20}")
                .prop_map(|(id, name)| json!({"id": id, "displayName": name}))
                .boxed(),
            (Compare::Targets, _) => {
                let target = prop_oneof![
                    Just(ALL_USERS_MODEL.to_string()),
                    guid.prop_map(String::from)
                ];
                proptest::collection::btree_set(target, 0..4)
                    .prop_map(|s| json!(s.into_iter().collect::<Vec<_>>()))
                    .boxed()
            }
            (Compare::Set | Compare::CaseInsensitiveSet, _) => {
                proptest::collection::btree_set("[a-z0-9]{4,16}", 0..6)
                    .prop_map(|s| json!(s.into_iter().collect::<Vec<_>>()))
                    .boxed()
            }
            (Compare::Exact, Value::Bool(_)) => any::<bool>().prop_map(|b| json!(b)).boxed(),
            (Compare::Exact, Value::Number(_)) => (0u32..50_000).prop_map(|n| json!(n)).boxed(),
            (Compare::Exact, Value::String(_)) => match field.risk {
                RiskRule::Ranked { order, .. } => proptest::sample::select(order.to_vec())
                    .prop_map(|s| json!(s))
                    .boxed(),
                RiskRule::Switch { .. } => proptest::sample::select(vec!["enabled", "disabled"])
                    .prop_map(|s| json!(s))
                    .boxed(),
                RiskRule::Number { .. }
                | RiskRule::Interval { .. }
                | RiskRule::Members { .. }
                | RiskRule::Neutral { .. } => "[ -~]{0,40}".prop_map(|s| json!(s)).boxed(),
            },
            (Compare::Exact, other) => panic!("{}: no generator for {other}", field.path),
        }
    }

    /// A whole surface's section with every field set.
    fn section_of(api: Api) -> BoxedStrategy<Value> {
        let fields: Vec<&'static Field> = catalog::of_api(api).collect();
        let values: Vec<BoxedStrategy<Value>> = fields.iter().map(|f| value_of(f)).collect();
        values
            .prop_map(move |vs| {
                let mut section = json!({});
                for (f, v) in fields.iter().zip(vs) {
                    set_dotted(&mut section, f.relative_path(), v);
                }
                section
            })
            .boxed()
    }

    /// Writes a section the way the provider does, then reads it back.
    fn write_then_read(api: Api, section: &Value) -> Value {
        let mut body = json!({});
        overlay(api, section, &Value::Null, &mut body).expect("converts");
        if api == Api::GraphAuthenticationMethods {
            let configs: Vec<Value> = method_patches(section, &Value::Null)
                .expect("converts")
                .into_iter()
                .map(|(id, mut patch)| {
                    patch["id"] = json!(id);
                    patch
                })
                .collect();
            body["authenticationMethodConfigurations"] = json!(configs);
        }
        observe(api, &body)
    }

    proptest! {
        #[test]
        fn every_field_round_trips_through_its_wire_mapping(
            sspr in section_of(Api::PortalPasswordReset),
            onprem in section_of(Api::PortalOnPremises),
            authz in section_of(Api::GraphAuthorizationPolicy),
            methods in section_of(Api::GraphAuthenticationMethods),
            rules in section_of(Api::GraphPasswordRuleSettings),
        ) {
            for (api, section) in [
                (Api::PortalPasswordReset, sspr),
                (Api::PortalOnPremises, onprem),
                (Api::GraphAuthorizationPolicy, authz),
                (Api::GraphAuthenticationMethods, methods),
                (Api::GraphPasswordRuleSettings, rules),
            ] {
                prop_assert_eq!(write_then_read(api, &section), section);
            }
        }
    }

    #[test]
    fn every_field_has_a_generator_and_method_fields_live_in_a_method_configuration() {
        for f in &FIELDS {
            let _ = value_of(f);
            let in_method = matches!(wire(f.id).loc, Loc::Method(..));
            let is_method = f.api == Api::GraphAuthenticationMethods
                && METHODS
                    .iter()
                    .any(|m| f.relative_path().starts_with(&format!("{}.", m.model)));
            assert_eq!(in_method, is_method, "{}", f.path);
            if let Loc::Method(m, _) = wire(f.id).loc {
                assert!(
                    f.relative_path().starts_with(&format!("{}.", m.model)),
                    "{}",
                    f.path
                );
            }
        }
    }

    #[test]
    fn a_value_the_wire_cannot_carry_is_an_error_not_a_blank() {
        let mut body = json!({});
        let err = overlay(
            Api::GraphPasswordRuleSettings,
            &json!({"lockoutThreshold": "ten"}),
            &Value::Null,
            &mut body,
        )
        .expect_err("a string is not a whole number");
        assert_eq!(err.path, "passwordProtection.lockoutThreshold");
        assert_eq!(body, json!({}), "nothing is written");
        let err = overlay(
            Api::GraphPasswordRuleSettings,
            &json!({"bannedPasswords": ["a\tb"]}),
            &Value::Null,
            &mut json!({}),
        )
        .expect_err("a TAB would split the term");
        assert!(err.to_string().contains("TAB"), "{err}");
    }
}
