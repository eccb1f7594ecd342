//! The desired-state settings of one tenant, in the names a person understands.
//!
//! Every field is an `Option`: `None` means "not managed" — ssprctl neither reads
//! it into the plan nor writes it. Never give a managed field `#[serde(default)]`:
//! that would turn "omitted" into "reset to a default" (the safety rules in README.md).
//!
//! The same types describe what was *observed* on a tenant (see [`crate::observed`]);
//! there every field of a section that was read is `Some`.
//!
//! Wire names (the API's own spellings, misspellings included) never appear here:
//! the one model <-> wire mapping lives in `ssprctl-provider::wire`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// All settings groups ssprctl manages for one tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// The "Password reset" blade of the Entra admin center: who may reset, with
    /// which methods, registration, notifications and the helpdesk link.
    /// Served by the Entra portal API (undocumented, delegated admin sign-in only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_service_password_reset: Option<SelfServicePasswordReset>,
    /// Password reset "On-premises integration": password writeback and unlock
    /// without reset. Served by the Entra portal API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_premises_integration: Option<OnPremisesIntegration>,
    /// Whether administrators may use self-service password reset.
    /// Microsoft Graph `authorizationPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub administrator_password_reset: Option<AdministratorPasswordReset>,
    /// The authentication-methods policy: migration state, each method's state,
    /// targets and settings, and the registration campaign.
    /// Microsoft Graph `authenticationMethodsPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_methods: Option<AuthenticationMethods>,
    /// Password protection: smart lockout and banned passwords.
    /// Microsoft Graph directory setting "Password Rule Settings".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_protection: Option<PasswordProtection>,
}

/// Who may use self-service password reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EnabledFor {
    /// Nobody (administrators follow their own policy).
    None,
    /// Only the members of one group (`group`).
    Selected,
    /// Every user.
    All,
}

/// The "Password reset" blade.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelfServicePasswordReset {
    /// Who may reset their own password: `none`, `selected` (one group) or `all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_for: Option<EnabledFor>,
    /// The group whose members may reset, when `enabledFor: selected`.
    /// Give its object id, its display name, or both (the id pins it; the name is
    /// then checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupRef>,
    /// How many methods a user must pass to reset: 1 or 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2))]
    pub methods_required: Option<u8>,
    /// The methods users may use to reset (the legacy SSPR method toggles; once the
    /// authentication-methods policy migration is complete, that policy decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<ResetMethods>,
    /// Security questions: how many to register and to answer, and which questions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_questions: Option<SecurityQuestions>,
    /// Registration: prompt users to register at sign-in, and how often to reconfirm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
    /// Notifications sent on password resets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    /// The helpdesk link shown on the reset page ("Customization").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helpdesk: Option<Helpdesk>,
}

/// A reference to an Entra ID group: by object id, by display name, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRef {
    /// The group's object id (a GUID). Pins the group exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = crate::GUID_PATTERN))]
    pub id: Option<String>,
    /// The group's display name. Display names are not unique: ssprctl refuses a
    /// name that matches no group or more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub display_name: Option<String>,
}

/// The legacy SSPR method toggles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetMethods {
    /// A code sent to the user's alternate email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<bool>,
    /// A text message or call to the user's mobile phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<bool>,
    /// A call to the user's office phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office_phone: Option<bool>,
    /// Security questions (weak: CIS and CISA recommend against them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_questions: Option<bool>,
    /// A notification to the Microsoft Authenticator app (needs `methodsRequired: 2`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator_notification: Option<bool>,
    /// A code from the Microsoft Authenticator app or a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator_code: Option<bool>,
}

/// Security-question settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityQuestions {
    /// How many questions a user must register: 3 to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3, max = 5))]
    pub number_to_register: Option<u8>,
    /// How many questions a user must answer to reset: 3 to 5, at most
    /// `numberToRegister`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3, max = 5))]
    pub number_to_reset: Option<u8>,
    /// The questions users choose from (their text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub questions: Option<Vec<String>>,
}

/// Registration settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Registration {
    /// Require users to register when they sign in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_on_sign_in: Option<bool>,
    /// Days before users are asked to reconfirm their authentication information:
    /// 0 to 730; 0 means never.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 730))]
    pub reconfirm_after_days: Option<u16>,
    /// Let users skip registration at sign-in ("skip now") for up to
    /// `skipMaxDays` days (portal `skipRegistrationAllowed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_allowed: Option<bool>,
    /// The most days users may put registration off when skipping is
    /// allowed (portal `skipRegistrationMaxAllowedDays`): 1 to 30.
    ///
    /// UNCONFIRMED range: Microsoft documents neither the field nor its
    /// bounds; only the value 7 has been seen (docs/api-surfaces.md §1a). This
    /// attribute is the one place the guess lives: widen it when a tenant
    /// shows otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 30))]
    pub skip_max_days: Option<u8>,
}

/// Notification settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Notifications {
    /// Notify users when their password is reset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_users_on_reset: Option<bool>,
    /// Notify all administrators when another administrator resets their password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_admins_on_admin_reset: Option<bool>,
}

/// The helpdesk link ("Customize helpdesk link").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Helpdesk {
    /// Show a custom helpdesk link instead of "contact your administrator".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_link: Option<bool>,
    /// The helpdesk's https URL or email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// Password reset on-premises integration (Entra Connect / Cloud Sync).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnPremisesIntegration {
    /// Write passwords reset in the cloud back to on-premises Active Directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_writeback: Option<bool>,
    /// Let users unlock their on-premises account without resetting the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlock_without_reset: Option<bool>,
}

/// Self-service password reset for administrators.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdministratorPasswordReset {
    /// Whether administrators may reset their own password (Microsoft's fixed
    /// two-gate policy). CIS / EIDSCA.AP01 recommend `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// The tenant's migration from the legacy MFA/SSPR method policies to the
/// authentication-methods policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MigrationState {
    /// The policy governs sign-in only; legacy SSPR toggles still apply.
    PreMigration,
    /// The policy governs sign-in and SSPR; legacy toggles are still respected.
    MigrationInProgress,
    /// The policy governs everything; legacy SSPR toggles are ignored.
    MigrationComplete,
}

/// A three-way state used by several settings ("Microsoft managed" = `default`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FeatureState {
    /// Microsoft decides.
    Default,
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

/// Whether an authentication method is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MethodState {
    /// Users in the include targets may use it.
    Enabled,
    /// Nobody may use it.
    Disabled,
}

/// The authentication-methods policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticationMethods {
    /// `preMigration`, `migrationInProgress` or `migrationComplete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_state: Option<MigrationState>,
    /// The Microsoft Authenticator registration campaign (nudge at sign-in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_campaign: Option<RegistrationCampaign>,
    /// Email one-time passcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailMethod>,
    /// Text message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<BasicMethod>,
    /// Voice call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceMethod>,
    /// Microsoft Authenticator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microsoft_authenticator: Option<AuthenticatorMethod>,
    /// Software OATH tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_oath: Option<BasicMethod>,
    /// Hardware OATH tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware_oath: Option<BasicMethod>,
    /// Temporary Access Pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_access_pass: Option<TemporaryAccessPassMethod>,
    /// Passkeys (FIDO2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fido2: Option<Fido2Method>,
    /// Certificate-based authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509_certificate: Option<BasicMethod>,
}

/// A method target: `allUsers` or a group's object id.
pub type Target = String;

/// The Microsoft Authenticator registration campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationCampaign {
    /// `default` (Microsoft managed), `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<FeatureState>,
    /// Days a user may postpone registration: 0 to 14 (0 asks at every sign-in).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 14))]
    pub snooze_days: Option<u8>,
    /// Require registration once the allowed snoozes are used up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_after_snoozes: Option<bool>,
    /// Who is nudged: `allUsers` or group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Target>>,
    /// Who is never nudged: group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<Target>>,
}

/// A method with only the common settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicMethod {
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<MethodState>,
    /// Who may use it: `allUsers` or group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Target>>,
    /// Who may not: group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<Target>>,
}

/// Email one-time passcode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailMethod {
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<MethodState>,
    /// Who may use it: `allUsers` or group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Target>>,
    /// Who may not: group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<Target>>,
    /// Whether external (B2B) users may sign in with an email one-time passcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_users_otp: Option<FeatureState>,
}

/// Voice call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoiceMethod {
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<MethodState>,
    /// Who may use it: `allUsers` or group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Target>>,
    /// Who may not: group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<Target>>,
    /// Allow calls to the office phone as well as the mobile phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office_phone_allowed: Option<bool>,
}

/// Microsoft Authenticator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticatorMethod {
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<MethodState>,
    /// Who may use it: `allUsers` or group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Target>>,
    /// Who may not: group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<Target>>,
    /// Allow the app's one-time codes (software OATH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_oath_allowed: Option<bool>,
    /// Show the application name in push notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_application_name: Option<FeatureState>,
    /// Show the sign-in location in push notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_location: Option<FeatureState>,
}

/// Temporary Access Pass.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemporaryAccessPassMethod {
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<MethodState>,
    /// Who may use it: `allUsers` or group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Target>>,
    /// Who may not: group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<Target>>,
    /// Lifetime of a new pass, in minutes: between the minimum and the maximum.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 43200))]
    pub default_lifetime_minutes: Option<u32>,
    /// Shortest lifetime, in minutes: 10 to 43200.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 43200))]
    pub minimum_lifetime_minutes: Option<u32>,
    /// Longest lifetime, in minutes: 10 to 43200.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 43200))]
    pub maximum_lifetime_minutes: Option<u32>,
    /// Length of a pass: 8 to 48 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 8, max = 48))]
    pub length: Option<u8>,
    /// A pass can be used only once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_use: Option<bool>,
}

/// Passkeys (FIDO2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fido2Method {
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<MethodState>,
    /// Who may use it: `allUsers` or group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Target>>,
    /// Who may not: group object ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<Target>>,
    /// Users may register passkeys themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_service_registration: Option<bool>,
    /// Require attestation of the authenticator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_attestation: Option<bool>,
}

/// Password protection and smart lockout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordProtection {
    /// Failed sign-ins before the first lockout.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub lockout_threshold: Option<u32>,
    /// Length of the first lockout, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub lockout_duration_seconds: Option<u32>,
    /// Enforce the custom banned-password list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_banned_passwords: Option<bool>,
    /// Custom banned terms: each 4 to 16 characters, at most 1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000), inner(length(min = 4, max = 16)))]
    pub banned_passwords: Option<Vec<String>>,
    /// Enable password protection for Windows Server Active Directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_premises_enabled: Option<bool>,
    /// On-premises mode: `audit` or `enforce`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_premises_mode: Option<OnPremisesMode>,
}

/// Password protection mode for Windows Server Active Directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnPremisesMode {
    /// Log what would be rejected.
    Audit,
    /// Reject banned passwords.
    Enforce,
}
