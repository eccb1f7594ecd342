//! Every UNCONFIRMED guess the emulator makes, in one place.
//!
//! `shared/reference/api-surface.md` marks facts nobody has verified against
//! the live service as UNCONFIRMED. Where the emulator needed one, it follows
//! the reference's best guess, and the guess lives here as a named constant
//! or a commented function, so that a live check can correct it in one edit.
//! Error *texts* that the reference does not quote are guesses too; only the
//! ones a client might match on are collected here.
//!
//! Guesses built into control flow rather than a value:
//!
//! * `$batch` runs sub-requests one after another, in array order (Graph may
//!   run independent ones in any order); `dependsOn` on a failed request
//!   gives `424`.
//! * PATCH bodies merge nested objects key by key and replace arrays (OData
//!   semantics for complex properties and collections).
//! * Include targets written to a method configuration get defaults for
//!   omitted properties: `targetType` "group", `isRegistrationRequired`
//!   false, plus [`target_defaults`].
//! * Group ids in method targets and in the registration campaign are not
//!   checked for existence.
//! * Portal (main.iam) errors use the Graph error shape with code
//!   [`PORTAL_BAD_REQUEST_CODE`]; the real shape is unknown (api-surface §1a
//!   "Concurrency and errors").

use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Tokens and routing
// ---------------------------------------------------------------------------

/// Only GUID tenant ids are auto-created. A domain name (or `common`,
/// `organizations`) in the token URL is answered with AADSTS90002.
pub(crate) fn tenant_id_can_be_auto_created(tid: &str) -> bool {
    crate::wire::is_guid(tid)
}

/// AADSTS error for a refresh token the tenant never issued (or that was
/// revoked by hand-editing the state file). Real services answer with one of
/// several `invalid_grant` codes; this one is the generic "malformed" one.
pub(crate) const UNKNOWN_REFRESH_TOKEN_ERROR: (u32, &str) = (
    9_002_313,
    "Invalid request. Request is malformed or invalid. The provided value for the input parameter 'refresh_token' is not valid.",
);

/// The refresh-token grant accepts any `client_id` (public clients such as
/// Azure PowerShell send no secret); a secret, if sent for one of the
/// tenant's own apps, must be right.
pub(crate) const REFRESH_GRANT_CHECKS_SECRET_OF_KNOWN_APPS: bool = true;

/// 401 message when a well-formed token names a tenant the emulator does not
/// have (for example, after the state file was edited).
pub(crate) const UNKNOWN_TENANT_IN_TOKEN_MESSAGE: &str =
    "Access token validation failure. The token's tenant does not exist.";

/// 401 message when an app-only token calls the portal API, which refuses
/// service principals (api-surface §1a "App-only is not supported"; the real
/// response is not documented).
pub(crate) const PORTAL_APP_TOKEN_MESSAGE: &str = "Access token validation failure. This API accepts only delegated user tokens; service principals (client credentials) are not supported.";

/// `error.code` for a path no route matches (the brief asks for 404; real
/// Graph often answers 400 "Resource not found for the segment").
pub(crate) const UNKNOWN_ROUTE_CODE: &str = "NotFound";

/// Message for a `$batch` nested inside a `$batch`.
pub(crate) const NESTED_BATCH_MESSAGE: &str =
    "A batch request cannot contain another batch request.";

/// Message for a batch with more than 20 requests.
pub(crate) fn batch_limit_message(count: usize) -> String {
    format!(
        "Invalid batch payload format: the number of batch requests ({count}) exceeds the limit of {}.",
        crate::batch::MAX_BATCH_REQUESTS
    )
}

/// A sub-request with a `body` but no `Content-Type` header fails on its own
/// with 400 (api-surface §9 says the header is required; how the service
/// reports the omission is unknown).
pub(crate) const BATCH_BODY_NEEDS_CONTENT_TYPE: bool = true;

// ---------------------------------------------------------------------------
// Portal: PasswordResetPolicies (§1a)
// ---------------------------------------------------------------------------

/// `error.code` of portal validation failures (400).
pub(crate) const PORTAL_BAD_REQUEST_CODE: &str = "BadRequest";

/// Status of a successful portal PUT (O365Essentials discards the response).
pub(crate) const PORTAL_PUT_STATUS: u16 = 200;

/// Portal JSON keys bind case-insensitively, like ASP.NET model binding
/// (suggested by O365Essentials' `passwordWriteBackSupported`). Applied to
/// both portal objects.
pub(crate) const PORTAL_KEYS_CASE_INSENSITIVE: bool = true;

/// Unknown keys in a portal PUT are ignored rather than rejected.
pub(crate) const PORTAL_PUT_IGNORES_UNKNOWN_FIELDS: bool = true;

/// `passwordResetEnabledGroupName` is filled only with
/// `?getPasswordResetEnabledGroup=true`, and is "" otherwise.
pub(crate) const PORTAL_GROUP_NAME_ONLY_WITH_FLAG: bool = true;

/// Group ids sent with `enablementType` 0 or 2 are stored as given rather
/// than cleared.
pub(crate) const PORTAL_KEEPS_GROUP_IDS_UNLESS_SELECTED: bool = true;

/// Security-question counts (register/reset 3..=5, reset <= register) are
/// validated even while security questions are disabled.
pub(crate) const PORTAL_VALIDATES_QUESTIONS_WHEN_DISABLED: bool = true;

/// The `*OptionAllowed` flags of a fresh tenant. They are server-computed:
/// stored, served, and never changed by a PUT (edit the state file to flip them).
pub(crate) const FRESH_OPTION_ALLOWED: bool = true;

// ---------------------------------------------------------------------------
// Portal: OnPremisesPasswordResetPolicies (§1b)
// ---------------------------------------------------------------------------

/// `objectId` of a fresh, never-integrated tenant's on-premises object.
pub(crate) const FRESH_ONPREM_OBJECT_ID: Option<&str> = None;

/// A partial PUT that names no writable flag is a 200 no-op (read-only and
/// unknown keys are ignored). Writes are accepted even when neither
/// `enablementForTenant` nor `cloudProvisioningEnablementForTenant` is true.
pub(crate) const ONPREM_PUT_WITHOUT_WRITABLE_FIELD_IS_NOOP: bool = true;

// ---------------------------------------------------------------------------
// authorizationPolicy (§2)
// ---------------------------------------------------------------------------

/// `displayName` of the authorization policy.
pub(crate) const AUTHORIZATION_POLICY_DISPLAY_NAME: &str = "Authorization Policy";

/// `description` of the authorization policy.
pub(crate) const AUTHORIZATION_POLICY_DESCRIPTION: &str =
    "Used to manage authorization related settings across the company.";

// ---------------------------------------------------------------------------
// authenticationMethodsPolicy (§3)
// ---------------------------------------------------------------------------

/// Policy-level properties a PATCH may set. `policyMigrationState` on v1.0
/// is UNCONFIRMED (the 2024 v1.0 update page lists only
/// `registrationEnforcement`); `systemCredentialPreferences` and
/// `reportSuspiciousActivitySettings` are rejected as read-only.
pub(crate) const METHODS_POLICY_PATCHABLE: &[&str] =
    &["policyMigrationState", "registrationEnforcement"];

/// Method states of a fresh tenant. The learn.microsoft.com v1.0 GET example
/// exists in two revisions: the 2022 one (a near-fresh tenant: Email and Sms
/// enabled, Fido2, Microsoft Authenticator and TAP disabled) and the 2025-12
/// one (a configured tenant, with every method listed). The states follow
/// the 2022 revision; methods it does not list are disabled. The fields and
/// the other defaults follow the 2025-12 revision.
pub(crate) const FRESH_METHOD_STATES: [(&str, &str); 9] = [
    ("Fido2", "disabled"),
    ("MicrosoftAuthenticator", "disabled"),
    ("Sms", "enabled"),
    ("TemporaryAccessPass", "disabled"),
    ("HardwareOath", "disabled"),
    ("SoftwareOath", "disabled"),
    ("Voice", "disabled"),
    ("Email", "enabled"),
    ("X509Certificate", "disabled"),
];

/// Include targets of the fresh Email configuration: none (the 2022 docs
/// example; Email OTP then serves external users only). Every other method
/// targets `all_users`.
pub(crate) const FRESH_EMAIL_TARGETS_ALL_USERS: bool = false;

/// `error.code` when a method PATCH lacks `@odata.type` (the message is ours).
pub(crate) const METHOD_ODATA_TYPE_MISSING_CODE: &str = "BadRequest";

/// `error.code` for an unknown method configuration id.
pub(crate) const METHOD_NOT_FOUND_CODE: &str = "NotFound";

/// Defaults filled into include targets written without them, per method.
pub(crate) fn target_defaults(method_id: &str) -> Vec<(String, Value)> {
    match method_id {
        "MicrosoftAuthenticator" => vec![("authenticationMode".into(), json!("any"))],
        "Sms" => vec![("isUsableForSignIn".into(), json!(true))],
        "Fido2" => vec![("allowedPasskeyProfiles".into(), json!([]))],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Password Rule Settings (§5)
// ---------------------------------------------------------------------------

/// Template default of `EnableBannedPasswordCheck`.
pub(crate) const DEFAULT_ENABLE_BANNED_PASSWORD_CHECK: &str = "True";

/// Template default of `EnableBannedPasswordCheckOnPremises`.
pub(crate) const DEFAULT_ENABLE_BANNED_PASSWORD_CHECK_ON_PREMISES: &str = "True";

/// Template default of `BannedPasswordCheckOnPremisesMode` ("(bg)").
pub(crate) const DEFAULT_BANNED_PASSWORD_CHECK_ON_PREMISES_MODE: &str = "Audit";

/// The template's description text.
pub(crate) const PASSWORD_RULE_TEMPLATE_DESCRIPTION: &str =
    "Settings for managing tenant-wide password rule settings.";

/// Smallest accepted `LockoutThreshold` (the real minimum is unknown).
pub(crate) const MIN_LOCKOUT_THRESHOLD: i64 = 1;

/// Smallest accepted `LockoutDurationInSeconds` (the real minimum is unknown).
pub(crate) const MIN_LOCKOUT_DURATION_SECONDS: i64 = 1;

/// Accepted `BannedPasswordCheckOnPremisesMode` values. `Enforced` (the old
/// Microsoft365DSC spelling) is rejected.
pub(crate) const ON_PREMISES_MODES: &[&str] = &["Audit", "Enforce"];

/// Whether a given enum-like setting value matches: case-insensitively, like
/// the booleans' `True`/`true` (api-surface §5 says compare case-insensitively).
pub(crate) fn setting_enum_matches(expected: &str, given: &str) -> bool {
    expected.eq_ignore_ascii_case(given.trim())
}

/// Message for a setting value the template does not define.
pub(crate) fn unknown_setting_value_message(name: &str, template_id: &str) -> String {
    format!(
        "The property '{name}' is not defined in template with SettingTemplateId '{template_id}'."
    )
}

/// Message for a `templateId` that names no template.
pub(crate) fn unknown_template_message(id: &str) -> String {
    format!("The setting template with id '{id}' was not found.")
}

// ---------------------------------------------------------------------------
// Licences and groups (§6, §8)
// ---------------------------------------------------------------------------

/// SKU id of the standalone Entra ID P2 licence ("(bg)" in the reference).
pub(crate) const ENTRA_ID_P2_SKU_ID: &str = "84a661c4-e949-4bd2-a560-ed7766fcaf2b";

/// `displayName eq '…'` compares case-insensitively, as directory string
/// comparisons do.
pub(crate) const GROUP_DISPLAY_NAME_FILTER_CASE_INSENSITIVE: bool = true;

/// `error.code` for a `$filter` the emulator does not support.
pub(crate) const UNSUPPORTED_FILTER_CODE: &str = "Request_UnsupportedQuery";
