//! Every UNCONFIRMED guess the emulator makes, in one place.
//!
//! `docs/api-surfaces.md` marks facts nobody has verified against
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
//!   [`PORTAL_BAD_REQUEST_CODE`]; the real shape is unknown (docs/api-surfaces.md §1a
//!   "Concurrency and errors").
//! * The portal API takes any delegated admin token: no directory role is
//!   checked there (only on Graph, see [`DELEGATED_GRAPH_ROLES`]).
//! * Throttling is evaluated after authentication and the permission check,
//!   so a 403 costs nothing and a 429 needs a valid, permitted token.
//! * A client assertion's `jti` must be present but is not checked for
//!   replay; certificate assertions are checked in the order thumbprint,
//!   signature, `aud`, `jti`, lifetime; federated ones in the order issuer,
//!   subject, audience, signature, lifetime.
//! * Device-code tokens carry no `id_token`; a device-code request asking only
//!   for OIDC scopes (`openid profile offline_access`) gets a Graph token.
//! * Managed-identity tokens carry `appidacr` "2", `idtyp` "app" and the
//!   identity's `roles`, and live `tokenLifetimeSeconds` like every token of
//!   the tenant (real IMDS tokens live about 24 h).
//! * Registration report: `$filter` supports `eq` on any top-level boolean or
//!   string column joined with `and` (whether Graph supports combined
//!   filters is UNCONFIRMED, docs/api-surfaces.md §7a); `$top` must be 1..=999 and
//!   defaults to 100; `@odata.nextLink` points at the emulator (`http://` +
//!   the request's `Host`), not at graph.microsoft.com.
//! * Report columns: `isSsprRegistered` counts the registered methods the
//!   *current* portal policy offers (email, mobile phone, the Authenticator
//!   app counted once; security questions are not modelled) against
//!   `numberOfAuthenticationMethodsRequired`; admins use the same count (the
//!   real admin policy is stricter). `isSsprEnabled` for admins follows
//!   `allowedToUseSSPR`, for others `enablementType` (0 nobody, 1 members
//!   of the selected group, 2 everyone). `isMfaCapable` = `isMfaRegistered`
//!   (Authenticator or phone); `systemPreferredAuthenticationMethods` is
//!   `["push"]`, `["sms"]` or `[]`; `userType` is always `member`.

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
/// service principals (docs/api-surfaces.md §1a "App-only is not supported"; the real
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
/// with 400 (docs/api-surfaces.md §9 says the header is required; how the service
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

/// Properties beta's authorizationPolicy has that v1.0 lacks, as the
/// emulator serves them on beta: `enabledPreviewFeatures` empty, and
/// `permissionGrantPolicyIdsAssignedToDefaultUserRole` equal to the stored
/// v1.0 `defaultUserRolePermissions.permissionGrantPoliciesAssigned` (both
/// name the default user role's grant policies; that they always agree is
/// UNCONFIRMED). Both are read-only in the emulator: a beta PATCH naming
/// them fails as an unknown property.
pub(crate) fn beta_authorization_policy_extras(
    v1_grant_policies: Option<Value>,
) -> Vec<(String, Value)> {
    vec![
        ("enabledPreviewFeatures".into(), json!([])),
        (
            "permissionGrantPolicyIdsAssignedToDefaultUserRole".into(),
            v1_grant_policies.unwrap_or_else(|| json!([])),
        ),
    ]
}

/// On beta, `policies/authorizationPolicy` is a collection: the emulator
/// answers `PATCH` on the collection (rather than on
/// `policies/authorizationPolicy/authorizationPolicy`) with 405, like any
/// method a route does not allow. What real beta answers is UNCONFIRMED.
pub(crate) const BETA_AUTHORIZATION_POLICY_COLLECTION_METHODS: &[&str] = &["GET"];

// ---------------------------------------------------------------------------
// authenticationMethodsPolicy (§3)
// ---------------------------------------------------------------------------

/// v1.0 serves `registrationEnforcement.authenticationMethodsRegistrationCampaign.enforceRegistrationAfterAllowedSnoozes`.
/// Microsoft's v1.0 metadata (msgraph-metadata f54f11b) lacks it; only beta
/// declares it. ssprctl reads and writes it through v1.0
/// (`authenticationMethods.registrationCampaign.enforceAfterSnoozes`), so the
/// emulator keeps serving it there until a live v1.0 read settles it.
pub(crate) const V1_SERVES_CAMPAIGN_ENFORCE_AFTER_SNOOZES: bool = true;

/// v1.0 lists the `HardwareOath` configuration among
/// `authenticationMethodConfigurations` and serves it by id, although the v1.0
/// metadata (msgraph-metadata f54f11b) has no
/// `hardwareOathAuthenticationMethodConfiguration` type (beta does). ssprctl
/// manages `authenticationMethods.hardwareOath` through v1.0; whether real
/// v1.0 returns, omits or rejects it is UNCONFIRMED.
pub(crate) const V1_SERVES_HARDWARE_OATH: bool = true;

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
/// the booleans' `True`/`true` (docs/api-surfaces.md §5 says compare case-insensitively).
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

// ---------------------------------------------------------------------------
// Permissions (§10)
// ---------------------------------------------------------------------------

/// Whether the granted application permission `granted` satisfies `needed`:
/// the same name (case-insensitive), or `X.ReadWrite.Y` for `X.Read.Y` (a
/// write permission implies the read of its family, as the Graph permission
/// pages list ReadWrite as "higher privileged"). Cross-family implications
/// (e.g. `Policy.ReadWrite.Authorization` reading authorizationPolicy) are
/// listed per route in `server::needs` instead. UNCONFIRMED in general.
pub(crate) fn role_implies(granted: &str, needed: &str) -> bool {
    if granted.eq_ignore_ascii_case(needed) {
        return true;
    }
    let g: Vec<&str> = granted.split('.').collect();
    let n: Vec<&str> = needed.split('.').collect();
    matches!((g.as_slice(), n.as_slice()),
        ([gf, gw, gs @ ..], [nf, nw, ns @ ..])
            if gf.eq_ignore_ascii_case(nf)
                && gw.eq_ignore_ascii_case("ReadWrite")
                && nw.eq_ignore_ascii_case("Read")
                && gs.len() == ns.len()
                && gs.iter().zip(ns).all(|(a, b)| a.eq_ignore_ascii_case(b)))
}

/// Directory roles (`wids`) that let a delegated token use any Graph route
/// here: Global Administrator only. Real Graph also takes narrower roles
/// (Global Reader, Security Reader, Authentication Policy Administrator,
/// Reports Reader…) plus the matching delegated `scp`; neither is modelled,
/// and `scp` is not checked at all.
pub(crate) const DELEGATED_GRAPH_ROLES: &[&str] = &[crate::token::GLOBAL_ADMIN_ROLE];

// ---------------------------------------------------------------------------
// Client assertions (§10: certificate and workload identity federation)
// ---------------------------------------------------------------------------

/// `client_assertion_type` other than jwt-bearer. The code is a guess.
pub(crate) const UNSUPPORTED_ASSERTION_TYPE: (u32, &str) = (
    7_000_219,
    "The 'client_assertion_type' is not supported. Use 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
);

/// AADSTS code for an assertion that is not a usable JWT (no thumbprint,
/// unsupported `alg`, missing `exp` or `jti`). AADSTS50027 is quoted for a
/// missing thumbprint; the other reasons' codes are guesses.
pub(crate) const MALFORMED_ASSERTION_CODE: u32 = 50_027;

/// The reason text quoted with AADSTS50027 in public reports.
pub(crate) const ASSERTION_NO_THUMBPRINT: &str =
    "Invalid JWT token. No certificate thumbprint specified in token header.";

/// Certificate assertions are RS256 only (real Entra ID also takes PS256).
/// Tolerated clock skew on `exp`/`nbf`, in seconds (Entra's is undocumented).
pub(crate) const ASSERTION_CLOCK_SKEW_SECS: i64 = 300;

/// Longest accepted assertion lifetime (`exp - now`), in seconds, so that a
/// client writing milliseconds is caught. Whether Entra ID bounds it is unknown.
pub(crate) const ASSERTION_MAX_LIFETIME_SECS: i64 = 3600;

/// Expired, not yet valid or too long-lived assertion (AADSTS700024 is the
/// real code for the first two).
pub(crate) const ASSERTION_TIME_RANGE_ERROR: (u32, &str) = (
    700_024,
    "Client assertion is not within its valid time range.",
);

/// `iss` is the client id but `sub` is not.
pub(crate) const ASSERTION_SUBJECT_MISMATCH: (u32, &str) = (
    700_021,
    "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
);

/// `aud` is not this tenant's token endpoint. Any scheme and host are
/// accepted (only the path is checked), and so is the v1 endpoint path.
pub(crate) const ASSERTION_AUDIENCE_MISMATCH: (u32, &str) = (
    700_023,
    "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
);

/// AADSTS700027, for both an unknown thumbprint and a bad signature.
pub(crate) const ASSERTION_SIGNATURE_CODE: u32 = 700_027;

/// The thumbprint in the header matches no registered certificate. Real
/// messages print the SHA-1 thumbprint in hex; the emulator prints whichever
/// thumbprint the header carried.
pub(crate) fn assertion_key_not_found(thumbprint_hex: &str, client_id: &str) -> String {
    format!(
        "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint_hex}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
    )
}

/// The certificate was found but the signature does not verify with it.
pub(crate) fn assertion_bad_signature(thumbprint_hex: &str) -> String {
    format!(
        "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint_hex}']"
    )
}

/// No federated credential matches the assertion's `kind` ("issuer",
/// "subject" or "audience"; AADSTS700211 / 700213 / 700212).
pub(crate) fn fic_no_match(kind: &str, value: &str) -> String {
    format!(
        "No matching federated identity record found for presented assertion {kind} '{value}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
    )
}

/// The subject matches a credential only case-insensitively (AADSTS7002138;
/// subject matching is case-sensitive since 2024).
pub(crate) fn fic_case_mismatch(subject: &str) -> String {
    format!(
        "No matching federated identity record found for presented assertion subject '{subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion."
    )
}

/// A federated assertion whose signature the emulator cannot verify: unsigned
/// (`alg: none`), or signed by anything but the emulator's fake GitHub OIDC
/// service. Real Entra ID fetches the issuer's keys; AADSTS7000272 is its
/// code for "signing key not in the issuer's metadata".
pub(crate) fn fic_bad_signature(kid: &str, issuer: &str) -> (u32, String) {
    (
        7_000_272,
        format!(
            "The certificate with identifier {kid} used to sign the federated credential could not be found in the metadata of identity provider {issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token."
        ),
    )
}

/// Lifetime of fake GitHub OIDC tokens (`exp - iat`), as in GitHub's docs example.
pub(crate) const GITHUB_OIDC_LIFETIME_SECS: i64 = 300;

/// How far fake GitHub OIDC tokens back-date `nbf`, as in GitHub's docs example.
pub(crate) const GITHUB_OIDC_NBF_BACKDATE_SECS: i64 = 600;

// ---------------------------------------------------------------------------
// Device code
// ---------------------------------------------------------------------------

/// Polling interval the device-code response asks for. Real Entra ID says 5;
/// 1 keeps unattended sign-ins against the emulator fast.
pub(crate) const DEVICE_CODE_INTERVAL_SECS: u64 = 1;

/// With `autoApproveDeviceCode`, the poll that succeeds (the first one
/// answers `authorization_pending`).
pub(crate) const DEVICE_CODE_AUTO_APPROVE_POLL: u32 = 2;

/// An unknown, already redeemed, or other client's / tenant's device code.
pub(crate) const DEVICE_CODE_INVALID_ERROR: (u32, &str) =
    (70_000, "Provided grant is invalid or malformed.");

/// A device-code sign-in approved in a tenant without admins.
pub(crate) const DEVICE_CODE_NO_ADMIN_ERROR: (u32, &str) = (
    50_034,
    "The user account does not exist in the directory. To sign into this application, the account must be added to the directory.",
);

// ---------------------------------------------------------------------------
// Managed identity (IMDS)
// ---------------------------------------------------------------------------

/// No `Metadata: true` header.
pub(crate) const IMDS_NO_METADATA_HEADER: &str = "Required metadata header not specified";

/// No `api-version` query parameter.
pub(crate) const IMDS_NO_API_VERSION: &str = "Required query variable 'api-version' is missing";

/// No `resource` query parameter.
pub(crate) const IMDS_NO_RESOURCE: &str = "Required audience parameter not specified";

/// `client_id` names no managed identity (or there is none). Only
/// `client_id` selects an identity; `object_id` and `msi_res_id` are ignored.
pub(crate) const IMDS_IDENTITY_NOT_FOUND: &str = "Identity not found";

/// No `client_id` while more than one managed identity exists.
pub(crate) const IMDS_AMBIGUOUS_IDENTITY: &str = "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request";

// ---------------------------------------------------------------------------
// Throttling and injected errors (§9)
// ---------------------------------------------------------------------------

/// Usage above which responses carry `x-ms-throttle-limit-percentage`
/// (formatted with two decimals, e.g. `0.85`).
pub(crate) const THROTTLE_PERCENTAGE_THRESHOLD: f64 = 0.8;

/// Body of a throttled Graph request. Throttled requests are not charged to
/// the bucket (Microsoft says they count against usage, without saying how),
/// and the identity reports' separate limit (5 requests / 10 s) is not
/// modelled: the report costs 1 RU in the same bucket.
pub(crate) fn throttled_error(retry_after: u64) -> (&'static str, String) {
    (
        "Request_ThrottledTemporarily",
        format!("Your request is throttled temporarily. Please try after {retry_after} seconds."),
    )
}

/// Graph/portal `error.code` and message for an injected status.
pub(crate) fn injected_graph_error(status: u16) -> (&'static str, &'static str) {
    match status {
        429 => ("TooManyRequests", "Too many requests."),
        500 => ("InternalServerError", "Internal server error."),
        502 => ("BadGateway", "Bad gateway."),
        503 => (
            "ServiceUnavailable",
            "The service is temporarily unavailable.",
        ),
        504 => ("GatewayTimeout", "The gateway timed out."),
        507 => ("InsufficientStorage", "Insufficient storage."),
        404 => ("Request_ResourceNotFound", "Resource does not exist."),
        409 => (
            "Directory_ConcurrencyViolation",
            "A conflicting operation is in progress. Retry the request.",
        ),
        412 => ("PreconditionFailed", "Precondition failed."),
        403 => (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        401 => (
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        _ if status >= 500 => ("UnknownError", "Injected server error."),
        _ => ("BadRequest", "Injected client error."),
    }
}

/// Token-endpoint `error`, AADSTS code and text for an injected status.
pub(crate) fn injected_token_error(status: u16) -> (&'static str, u32, &'static str) {
    match status {
        429 => (
            "temporarily_unavailable",
            90_033,
            "A transient error has occurred. Please try again. (Too many requests.)",
        ),
        400 => (
            "invalid_grant",
            50_196,
            "The server terminated an operation because it encountered a client request loop.",
        ),
        401 => (
            "invalid_client",
            7_000_215,
            "Invalid client secret provided.",
        ),
        _ if status >= 500 => (
            "temporarily_unavailable",
            90_033,
            "A transient error has occurred. Please try again.",
        ),
        _ => ("invalid_request", 90_033, "Injected client error."),
    }
}

/// IMDS `error` and text for an injected status.
pub(crate) fn injected_imds_error(status: u16) -> (&'static str, &'static str) {
    match status {
        429 => ("too_many_requests", "Too many requests"),
        _ if status >= 500 => (
            "unknown",
            "An unexpected error occured while fetching the AAD Token.",
        ),
        _ => ("invalid_request", "Injected client error."),
    }
}

// ---------------------------------------------------------------------------
// Registration report (§7a)
// ---------------------------------------------------------------------------

/// The report without an Entra ID P1/P2 service plan in `subscribedSkus`
/// (the code Graph's sign-in and audit reports use for this).
pub(crate) const REPORT_WITHOUT_PREMIUM: (&str, &str) = (
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    "Neither tenant is B2C or tenant doesn't have premium license",
);

// ---------------------------------------------------------------------------
// Audit log (docs/api-surfaces.md §7b): directoryAudits of the SSPR service
// ---------------------------------------------------------------------------

/// `loggedByService` of self-service password reset events (docs/api-surfaces.md §7b,
/// from public labs; not in Microsoft's reference).
pub(crate) const SSPR_SERVICE: &str = "Self-service Password Management";

/// `activityDisplayName` of a self-service reset (UNCONFIRMED: the Entra
/// audit-activity list is not quoted in the reference).
pub(crate) const ACTIVITY_RESET: &str = "Reset password (self-service)";

/// `activityDisplayName` of a self-service account unlock (UNCONFIRMED).
pub(crate) const ACTIVITY_UNLOCK: &str = "Unlock user account (self-service)";

/// `activityDisplayName` of a user blocked from SSPR after too many attempts
/// (UNCONFIRMED); logged with `result` "failure".
pub(crate) const ACTIVITY_BLOCKED: &str = "Blocked from self-service password reset";

/// `activityDisplayName` of an intermediate step of the reset flow
/// (UNCONFIRMED); a report must not count it as a reset.
pub(crate) const ACTIVITY_PROGRESS: &str = "Self-service password reset flow activity progress";

/// `resultReason` texts of failed resets and unlocks (UNCONFIRMED; Graph
/// documents `resultReason` only as free text).
pub(crate) const RESET_FAILURE_REASONS: [&str; 3] = [
    "User did not pass verification",
    "On-premises password policy rejected the password",
    "User is not enabled for self-service password reset",
];

/// `resultReason` of a blocked user (UNCONFIRMED).
pub(crate) const BLOCKED_REASON: &str = "User exceeded the number of reset attempts allowed";

/// Server-driven page size of `directoryAudits`: a page never holds more
/// than this many events, whatever `$top` asks for (Graph may page below
/// `$top`; the emulator always does, so clients must follow `@odata.nextLink`).
pub(crate) const AUDIT_PAGE_SIZE: usize = 50;

/// How many days back the generated SSPR activity reaches.
pub(crate) const AUDIT_HISTORY_DAYS: i64 = 60;

/// The answer to an application token on `usersRegisteredByFeature` /
/// `usersRegisteredByMethod`: Microsoft documents both as delegated-only
/// ("Application: Not supported"); the status and code it answers are
/// UNCONFIRMED.
pub(crate) const SUMMARY_WITH_APP_TOKEN: (&str, &str) = (
    "Authorization_RequestDenied",
    "This API does not support application permissions; sign in as a user.",
);
