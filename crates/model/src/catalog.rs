//! The field catalog: every setting ssprctl manages, known once.
//!
//! One entry per managed leaf of the desired-state schema ([`FIELDS`]): its YAML
//! path, the API that serves it, how a live value compares with the desired one,
//! the security effect of changing it (a [`RiskRule`] every entry must state,
//! with its reasons), the benchmark controls it touches, Microsoft's default for
//! a new tenant and a one-line description. The planner, the risk gate, the
//! renderings and `docs/settings.md` read from it; the provider's wire mapping
//! is keyed by the same [`FieldId`] (an exhaustive `match`, so a new field does
//! not compile until it has a wire mapping).
//!
//! Adding a setting: add a `FieldId` variant, its entry here (the order of
//! [`FIELDS`] is the order of `FieldId`), its wire mapping in
//! `ssprctl-provider::wire`, and its field in `settings`; the tests of this
//! module fail until the schema, the catalog and the docs agree. Its lint
//! decision goes in [`lint::decision`] (an exhaustive match: no field compiles
//! without one).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod lint;
pub use lint::{Expect, Level, Lint, Moot, Rule};

/// One API surface ssprctl reads and writes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Api {
    /// Entra portal `PasswordReset/PasswordResetPolicies` (undocumented; full-object PUT).
    PortalPasswordReset,
    /// Entra portal `PasswordReset/OnPremisesPasswordResetPolicies` (undocumented; one PUT per flag).
    PortalOnPremises,
    /// Graph v1.0 `policies/authorizationPolicy` (PATCH of changed fields).
    GraphAuthorizationPolicy,
    /// Graph v1.0 `policies/authenticationMethodsPolicy` and its method configurations.
    GraphAuthenticationMethods,
    /// Graph v1.0 `groupSettings`, template "Password Rule Settings".
    GraphPasswordRuleSettings,
}

impl Api {
    /// Every surface, in the order apply writes them.
    pub const ALL: [Api; 5] = [
        Api::GraphAuthenticationMethods,
        Api::PortalPasswordReset,
        Api::PortalOnPremises,
        Api::GraphAuthorizationPolicy,
        Api::GraphPasswordRuleSettings,
    ];

    /// The model section (top-level key of `Settings`) this surface serves.
    pub fn section(self) -> &'static str {
        match self {
            Api::PortalPasswordReset => "selfServicePasswordReset",
            Api::PortalOnPremises => "onPremisesIntegration",
            Api::GraphAuthorizationPolicy => "administratorPasswordReset",
            Api::GraphAuthenticationMethods => "authenticationMethods",
            Api::GraphPasswordRuleSettings => "passwordProtection",
        }
    }

    /// Whether `settings` manage anything this surface serves (its section is
    /// given).
    pub fn managed_in(self, settings: &crate::settings::Settings) -> bool {
        match self {
            Api::PortalPasswordReset => settings.self_service_password_reset.is_some(),
            Api::PortalOnPremises => settings.on_premises_integration.is_some(),
            Api::GraphAuthorizationPolicy => settings.administrator_password_reset.is_some(),
            Api::GraphAuthenticationMethods => settings.authentication_methods.is_some(),
            Api::GraphPasswordRuleSettings => settings.password_protection.is_some(),
        }
    }

    /// The surface serving a setting path such as `selfServicePasswordReset.methodsRequired`.
    pub fn for_path(path: &str) -> Option<Api> {
        let section = path.split('.').next()?;
        Api::ALL.into_iter().find(|api| api.section() == section)
    }

    /// Short label for plans: where the write goes.
    pub fn label(self) -> &'static str {
        match self {
            Api::PortalPasswordReset => "portal PasswordResetPolicies",
            Api::PortalOnPremises => "portal OnPremisesPasswordResetPolicies",
            Api::GraphAuthorizationPolicy => "Graph authorizationPolicy",
            Api::GraphAuthenticationMethods => "Graph authenticationMethodsPolicy",
            Api::GraphPasswordRuleSettings => "Graph groupSettings (Password Rule Settings)",
        }
    }

    /// Whether Microsoft documents this API (the portal API is undocumented and
    /// may change without notice).
    pub fn documented(self) -> bool {
        !matches!(self, Api::PortalPasswordReset | Api::PortalOnPremises)
    }

    /// Whether the surface needs a delegated administrator sign-in (no app-only).
    pub fn needs_delegated_admin(self) -> bool {
        !self.documented()
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

// ------------------------------------------------------------------ the catalog

/// How a live value is compared with the desired one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Equal JSON values.
    Exact,
    /// Lists equal as sets (the API does not keep order); items compare exactly.
    Set,
    /// Lists equal as sets, items compared without regard to case (banned terms,
    /// which Entra matches case-insensitively, and group object ids).
    CaseInsensitiveSet,
    /// A group reference `{id, displayName}`: equal when the object ids are.
    GroupReference,
    /// Method targets: `allUsers` or group object ids, compared as a set without
    /// regard to case; `allUsers` covers every group (for risk, adding it
    /// widens and removing it narrows, whatever groups change beside it).
    Targets,
}

impl Compare {
    /// A short name for documentation.
    pub fn label(self) -> &'static str {
        match self {
            Compare::Exact => "exact",
            Compare::Set => "set",
            Compare::CaseInsensitiveSet => "set, ignoring case",
            Compare::GroupReference => "group object id",
            Compare::Targets => "set of targets, ignoring case",
        }
    }
}

/// The security effect of a move in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Lowers the tenant's security (apply needs `--allow-weakening`).
    Weakening,
    /// Raises it.
    Strengthening,
}

impl Effect {
    /// The other direction's effect.
    pub const fn opposite(self) -> Effect {
        match self {
            Effect::Weakening => Effect::Strengthening,
            Effect::Strengthening => Effect::Weakening,
        }
    }

    /// `weakening` or `strengthening`.
    pub fn label(self) -> &'static str {
        match self {
            Effect::Weakening => "weakening",
            Effect::Strengthening => "strengthening",
        }
    }
}

/// How a change of one setting is classified. Every catalog entry states one,
/// with the reason for each direction; there is no default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskRule {
    /// An on/off setting: a boolean, or a method state `enabled` / `disabled`.
    Switch {
        /// The effect of turning it on (turning it off has the opposite effect).
        on: Effect,
        /// Why turning it on has that effect.
        why_on: &'static str,
        /// Why turning it off has the opposite one.
        why_off: &'static str,
    },
    /// A number.
    Number {
        /// The effect of a higher value (a lower one has the opposite effect).
        up: Effect,
        /// Why a higher value has that effect.
        why_up: &'static str,
        /// Why a lower one has the opposite effect.
        why_down: &'static str,
    },
    /// A number of days where 0 means never: sooner is stronger.
    Interval {
        /// Why a shorter interval is stronger.
        why_sooner: &'static str,
        /// Why a longer one (or never) is weaker.
        why_later: &'static str,
    },
    /// A value from an ordered set, weakest-to-strongest or the reverse as `up` says.
    Ranked {
        /// The values in order; a move to a later value is "up".
        order: &'static [&'static str],
        /// The effect of moving up (moving down has the opposite effect).
        up: Effect,
        /// Why moving up has that effect.
        why_up: &'static str,
        /// Why moving down has the opposite one.
        why_down: &'static str,
    },
    /// A list of members (targets, banned terms): adding has one effect and
    /// removing the opposite one; a change that does both is classified by
    /// the weakening half.
    Members {
        /// The effect of adding members.
        added: Effect,
        /// Why adding has that effect.
        why_added: &'static str,
        /// Why removing has the opposite one.
        why_removed: &'static str,
    },
    /// No direct effect on security; the reason says why.
    Neutral {
        /// Why it is neutral.
        why: &'static str,
    },
}

/// A benchmark that publishes controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Framework {
    /// CIS Microsoft 365 Foundations Benchmark.
    CisM365,
    /// CIS Microsoft Azure Foundations Benchmark.
    CisAzure,
    /// CISA Secure Cloud Business Applications baseline for Microsoft Entra ID.
    CisaScuba,
    /// Entra ID Security Config Analyzer checks, as run by Maester.
    Eidsca,
}

impl Framework {
    /// The short name used in plans.
    pub fn label(self) -> &'static str {
        match self {
            Framework::CisM365 => "CIS M365",
            Framework::CisAzure => "CIS Azure",
            Framework::CisaScuba => "CISA SCuBA",
            Framework::Eidsca => "EIDSCA",
        }
    }
}

/// One benchmark control a setting touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    /// Which benchmark.
    pub framework: Framework,
    /// Its identifier in that benchmark (empty when the benchmark numbers it
    /// differently between versions and the title identifies it).
    pub id: &'static str,
    /// What it asks for.
    pub title: &'static str,
}

impl std::fmt::Display for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.framework.label())?;
        if !self.id.is_empty() {
            write!(f, " {}", self.id)?;
        }
        write!(f, ": {}", self.title)
    }
}

const fn ctl(framework: Framework, id: &'static str, title: &'static str) -> Control {
    Control {
        framework,
        id,
        title,
    }
}

use Framework::{CisAzure, CisM365, CisaScuba, Eidsca};

const CIS_AZ_METHODS: Control = ctl(CisAzure, "6.5", "number of methods required to reset is 2");
const CIS_AZ_RECONFIRM: Control = ctl(
    CisAzure,
    "",
    "days before users are asked to reconfirm their authentication information is not 0",
);
const CIS_AZ_NOTIFY_USERS: Control = ctl(CisAzure, "6.10", "notify users on password resets");
const CIS_AZ_NOTIFY_ADMINS: Control = ctl(
    CisAzure,
    "",
    "notify all admins when other admins reset their password",
);
const CIS_SSPR_ALL: Control = ctl(
    CisM365,
    "5.2.4.1",
    "self-service password reset enabled for all",
);
const CIS_FATIGUE: Control = ctl(
    CisM365,
    "5.2.3.1",
    "Microsoft Authenticator protects against MFA fatigue",
);
const CIS_BANNED: Control = ctl(CisM365, "5.2.3.2", "custom banned password list used");
const CIS_ONPREM: Control = ctl(
    CisM365,
    "5.2.3.3",
    "password protection enabled for on-premises Active Directory",
);
const CIS_WEAK_METHODS: Control = ctl(CisM365, "5.2.3.5", "weak authentication methods disabled");
const SCUBA_CONTEXT: Control = ctl(
    CisaScuba,
    "MS.AAD.3.3",
    "Microsoft Authenticator shows login context",
);
const SCUBA_MIGRATION: Control = ctl(
    CisaScuba,
    "MS.AAD.3.4",
    "authentication methods migration complete",
);
const SCUBA_WEAK_METHODS: Control = ctl(
    CisaScuba,
    "MS.AAD.3.5",
    "SMS, voice call and email one-time passcode disabled",
);
const EIDSCA_AP01: Control = ctl(Eidsca, "AP01", "SSPR for administrators disabled");
const EIDSCA_AG01: Control = ctl(
    Eidsca,
    "AG01",
    "authentication methods policy migration state",
);
const EIDSCA_AM01: Control = ctl(Eidsca, "AM01", "Microsoft Authenticator state");
const EIDSCA_AM02: Control = ctl(Eidsca, "AM02", "Microsoft Authenticator one-time codes");
const EIDSCA_AM06: Control = ctl(Eidsca, "AM06", "Authenticator shows the application name");
const EIDSCA_AM09: Control = ctl(Eidsca, "AM09", "Authenticator shows the sign-in location");
const EIDSCA_AF01: Control = ctl(Eidsca, "AF01", "passkey (FIDO2) state");
const EIDSCA_AF02: Control = ctl(Eidsca, "AF02", "passkey self-service registration");
const EIDSCA_AF03: Control = ctl(Eidsca, "AF03", "passkey attestation enforced");
const EIDSCA_AT01: Control = ctl(Eidsca, "AT01", "Temporary Access Pass state");
const EIDSCA_AV01: Control = ctl(Eidsca, "AV01", "voice call disabled");
const EIDSCA_PR01: Control = ctl(
    Eidsca,
    "PR01",
    "on-premises password protection mode Enforce",
);
const EIDSCA_PR02: Control = ctl(
    Eidsca,
    "PR02",
    "password protection for on-premises enabled",
);
const EIDSCA_PR03: Control = ctl(Eidsca, "PR03", "custom banned password list enforced");
const EIDSCA_PR05: Control = ctl(Eidsca, "PR05", "smart lockout duration");
const EIDSCA_PR06: Control = ctl(Eidsca, "PR06", "smart lockout threshold");

/// Declares [`FieldId`] and its list of every variant in one place.
macro_rules! field_ids {
    ($($(#[$doc:meta])* $v:ident),* $(,)?) => {
        /// The identity of one managed setting. The order is the order of
        /// [`FIELDS`] and of `docs/settings.md`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FieldId { $($(#[$doc])* $v),* }

        impl FieldId {
            /// Every field, in catalog order.
            pub const ALL: [FieldId; [$(FieldId::$v),*].len()] = [$(FieldId::$v),*];
        }
    };
}

field_ids! {
    /// `selfServicePasswordReset.enabledFor`
    SsprEnabledFor,
    /// `selfServicePasswordReset.group`
    SsprGroup,
    /// `selfServicePasswordReset.methodsRequired`
    SsprMethodsRequired,
    /// `selfServicePasswordReset.methods.email`
    SsprMethodEmail,
    /// `selfServicePasswordReset.methods.mobilePhone`
    SsprMethodMobilePhone,
    /// `selfServicePasswordReset.methods.officePhone`
    SsprMethodOfficePhone,
    /// `selfServicePasswordReset.methods.securityQuestions`
    SsprMethodSecurityQuestions,
    /// `selfServicePasswordReset.methods.authenticatorNotification`
    SsprMethodAuthenticatorNotification,
    /// `selfServicePasswordReset.methods.authenticatorCode`
    SsprMethodAuthenticatorCode,
    /// `selfServicePasswordReset.securityQuestions.numberToRegister`
    SsprQuestionsToRegister,
    /// `selfServicePasswordReset.securityQuestions.numberToReset`
    SsprQuestionsToReset,
    /// `selfServicePasswordReset.securityQuestions.questions`
    SsprQuestions,
    /// `selfServicePasswordReset.registration.requireOnSignIn`
    SsprRequireRegistration,
    /// `selfServicePasswordReset.registration.reconfirmAfterDays`
    SsprReconfirmDays,
    /// `selfServicePasswordReset.registration.skipAllowed`
    SsprSkipRegistration,
    /// `selfServicePasswordReset.registration.skipMaxDays`
    SsprSkipRegistrationDays,
    /// `selfServicePasswordReset.notifications.notifyUsersOnReset`
    SsprNotifyUsers,
    /// `selfServicePasswordReset.notifications.notifyAdminsOnAdminReset`
    SsprNotifyAdmins,
    /// `selfServicePasswordReset.helpdesk.customLink`
    SsprHelpdeskCustomLink,
    /// `selfServicePasswordReset.helpdesk.contact`
    SsprHelpdeskContact,
    /// `onPremisesIntegration.passwordWriteback`
    OnPremPasswordWriteback,
    /// `onPremisesIntegration.unlockWithoutReset`
    OnPremUnlockWithoutReset,
    /// `administratorPasswordReset.enabled`
    AdminSspr,
    /// `authenticationMethods.migrationState`
    MigrationState,
    /// `authenticationMethods.registrationCampaign.state`
    CampaignState,
    /// `authenticationMethods.registrationCampaign.snoozeDays`
    CampaignSnoozeDays,
    /// `authenticationMethods.registrationCampaign.enforceAfterSnoozes`
    CampaignEnforce,
    /// `authenticationMethods.registrationCampaign.include`
    CampaignInclude,
    /// `authenticationMethods.registrationCampaign.exclude`
    CampaignExclude,
    /// `authenticationMethods.email.state`
    EmailState,
    /// `authenticationMethods.email.include`
    EmailInclude,
    /// `authenticationMethods.email.exclude`
    EmailExclude,
    /// `authenticationMethods.email.externalUsersOtp`
    EmailExternalUsers,
    /// `authenticationMethods.sms.state`
    SmsState,
    /// `authenticationMethods.sms.include`
    SmsInclude,
    /// `authenticationMethods.sms.exclude`
    SmsExclude,
    /// `authenticationMethods.voice.state`
    VoiceState,
    /// `authenticationMethods.voice.include`
    VoiceInclude,
    /// `authenticationMethods.voice.exclude`
    VoiceExclude,
    /// `authenticationMethods.voice.officePhoneAllowed`
    VoiceOfficePhone,
    /// `authenticationMethods.microsoftAuthenticator.state`
    AuthenticatorState,
    /// `authenticationMethods.microsoftAuthenticator.include`
    AuthenticatorInclude,
    /// `authenticationMethods.microsoftAuthenticator.exclude`
    AuthenticatorExclude,
    /// `authenticationMethods.microsoftAuthenticator.softwareOathAllowed`
    AuthenticatorOtp,
    /// `authenticationMethods.microsoftAuthenticator.showApplicationName`
    AuthenticatorShowApp,
    /// `authenticationMethods.microsoftAuthenticator.showLocation`
    AuthenticatorShowLocation,
    /// `authenticationMethods.softwareOath.state`
    SoftwareOathState,
    /// `authenticationMethods.softwareOath.include`
    SoftwareOathInclude,
    /// `authenticationMethods.softwareOath.exclude`
    SoftwareOathExclude,
    /// `authenticationMethods.hardwareOath.state`
    HardwareOathState,
    /// `authenticationMethods.hardwareOath.include`
    HardwareOathInclude,
    /// `authenticationMethods.hardwareOath.exclude`
    HardwareOathExclude,
    /// `authenticationMethods.temporaryAccessPass.state`
    TapState,
    /// `authenticationMethods.temporaryAccessPass.include`
    TapInclude,
    /// `authenticationMethods.temporaryAccessPass.exclude`
    TapExclude,
    /// `authenticationMethods.temporaryAccessPass.defaultLifetimeMinutes`
    TapDefaultLifetime,
    /// `authenticationMethods.temporaryAccessPass.minimumLifetimeMinutes`
    TapMinimumLifetime,
    /// `authenticationMethods.temporaryAccessPass.maximumLifetimeMinutes`
    TapMaximumLifetime,
    /// `authenticationMethods.temporaryAccessPass.length`
    TapLength,
    /// `authenticationMethods.temporaryAccessPass.oneTimeUse`
    TapOneTimeUse,
    /// `authenticationMethods.fido2.state`
    Fido2State,
    /// `authenticationMethods.fido2.include`
    Fido2Include,
    /// `authenticationMethods.fido2.exclude`
    Fido2Exclude,
    /// `authenticationMethods.fido2.selfServiceRegistration`
    Fido2SelfService,
    /// `authenticationMethods.fido2.enforceAttestation`
    Fido2Attestation,
    /// `authenticationMethods.x509Certificate.state`
    X509State,
    /// `authenticationMethods.x509Certificate.include`
    X509Include,
    /// `authenticationMethods.x509Certificate.exclude`
    X509Exclude,
    /// `passwordProtection.lockoutThreshold`
    LockoutThreshold,
    /// `passwordProtection.lockoutDurationSeconds`
    LockoutDuration,
    /// `passwordProtection.enforceBannedPasswords`
    EnforceBannedPasswords,
    /// `passwordProtection.bannedPasswords`
    BannedPasswords,
    /// `passwordProtection.onPremisesEnabled`
    OnPremProtection,
    /// `passwordProtection.onPremisesMode`
    OnPremProtectionMode,
}

/// Everything ssprctl knows about one managed setting.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Its identity (the key of the wire mapping).
    pub id: FieldId,
    /// The dotted YAML path below a tenant's settings, e.g.
    /// `selfServicePasswordReset.methodsRequired`.
    pub path: &'static str,
    /// The API that serves it.
    pub api: Api,
    /// How a live value compares with the desired one.
    pub compare: Compare,
    /// The security effect of changing it.
    pub risk: RiskRule,
    /// The benchmark controls it touches.
    pub controls: &'static [Control],
    /// Microsoft's value for a new tenant, as JSON in model terms (`null`:
    /// none). Public sources do not confirm every one (docs/settings.md).
    pub default: &'static str,
    /// What it is, in one line.
    pub description: &'static str,
    /// What `lint` checks: a rule with its recommended value, or why there is
    /// none (stated for every field in [`lint::decision`]).
    pub lint: Lint,
}

impl FieldId {
    /// The catalog entry of this field.
    pub fn spec(self) -> &'static Field {
        // FIELDS is in FieldId order (a test checks it).
        &FIELDS[self as usize]
    }
}

/// The catalog entry of a dotted path, if ssprctl manages it.
pub fn by_path(path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.path == path)
}

/// The catalog entries of one API surface, in catalog order.
pub fn of_api(api: Api) -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(move |f| f.api == api)
}

impl Field {
    /// The path below the section, e.g. `methods.email` for
    /// `selfServicePasswordReset.methods.email`.
    pub fn relative_path(&self) -> &'static str {
        self.path
            .strip_prefix(self.api.section())
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(self.path)
    }

    /// The controls, joined for one line.
    pub fn controls_line(&self) -> Option<String> {
        (!self.controls.is_empty()).then(|| {
            self.controls
                .iter()
                .map(Control::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

use Api::{
    GraphAuthenticationMethods as METHODS, GraphAuthorizationPolicy as AUTHZ,
    GraphPasswordRuleSettings as RULES, PortalOnPremises as ONPREM, PortalPasswordReset as SSPR,
};
use Compare::{CaseInsensitiveSet, Exact, GroupReference, Set, Targets};
use Effect::{Strengthening, Weakening};

const fn switch(on: Effect, why_on: &'static str, why_off: &'static str) -> RiskRule {
    RiskRule::Switch {
        on,
        why_on,
        why_off,
    }
}
const fn number(up: Effect, why_up: &'static str, why_down: &'static str) -> RiskRule {
    RiskRule::Number {
        up,
        why_up,
        why_down,
    }
}
const fn ranked(
    order: &'static [&'static str],
    up: Effect,
    why_up: &'static str,
    why_down: &'static str,
) -> RiskRule {
    RiskRule::Ranked {
        order,
        up,
        why_up,
        why_down,
    }
}
const fn members(added: Effect, why_added: &'static str, why_removed: &'static str) -> RiskRule {
    RiskRule::Members {
        added,
        why_added,
        why_removed,
    }
}
const fn neutral(why: &'static str) -> RiskRule {
    RiskRule::Neutral { why }
}

/// `default` (Microsoft managed) ranks between off and on.
const FEATURE_ORDER: &[&str] = &["disabled", "default", "enabled"];

#[allow(clippy::too_many_arguments)]
const fn field(
    id: FieldId,
    path: &'static str,
    api: Api,
    compare: Compare,
    risk: RiskRule,
    controls: &'static [Control],
    default: &'static str,
    description: &'static str,
) -> Field {
    Field {
        id,
        path,
        api,
        compare,
        risk,
        controls,
        default,
        description,
        lint: lint::decision(id),
    }
}

// Shared reasons of the method configurations.
const WEAK_ON: &str = "a phishable or SIM-swappable method becomes available";
const WEAK_OFF: &str = "a phishable or SIM-swappable method is turned off";
const WEAK_WIDER: &str = "more users may use a phishable or SIM-swappable method";
const WEAK_NARROWER: &str = "fewer users may use a phishable or SIM-swappable method";
const WEAK_EXCLUDED: &str = "more users are kept from a phishable method";
const WEAK_UNEXCLUDED: &str = "fewer users are kept from a phishable method";
const OTP_ON: &str = "one-time codes can be phished and relayed";
const OTP_OFF: &str = "a phishable one-time-code method is turned off";
const OTP_WIDER: &str = "more users may sign in with phishable one-time codes";
const OTP_NARROWER: &str = "fewer users may sign in with phishable one-time codes";
const OTP_EXCLUDED: &str = "more users are kept from phishable one-time codes";
const OTP_UNEXCLUDED: &str = "fewer users are kept from phishable one-time codes";
const STRONG_ON: &str = "a strong method becomes available";
const STRONG_OFF: &str = "a strong method is taken away; users fall back on weaker ones";
const STRONG_WIDER: &str = "more users may use a strong method";
const STRONG_NARROWER: &str = "fewer users may use a strong method";
const STRONG_EXCLUDED: &str = "more users are kept from a strong method";
const STRONG_UNEXCLUDED: &str = "fewer users are kept from a strong method";

/// The catalog: one entry per managed setting, in [`FieldId`] order.
pub static FIELDS: [Field; FieldId::ALL.len()] = [
    field(
        FieldId::SsprEnabledFor,
        "selfServicePasswordReset.enabledFor",
        SSPR,
        Exact,
        ranked(
            &["none", "selected", "all"],
            Strengthening,
            "more users can recover their account themselves instead of through a helpdesk that can be social-engineered",
            "fewer users can reset their password themselves",
        ),
        &[CIS_SSPR_ALL],
        r#""none""#,
        "Who may reset their own password: none, the members of one group, or all users.",
    ),
    field(
        FieldId::SsprGroup,
        "selfServicePasswordReset.group",
        SSPR,
        GroupReference,
        neutral(
            "which group is in scope, not how resets are verified; readiness shows the users it adds or removes",
        ),
        &[],
        "null",
        "The group whose members may reset when enabledFor is selected.",
    ),
    field(
        FieldId::SsprMethodsRequired,
        "selfServicePasswordReset.methodsRequired",
        SSPR,
        Exact,
        number(
            Strengthening,
            "an attacker must compromise more methods to reset a password",
            "one compromised method is enough to reset a password",
        ),
        &[CIS_AZ_METHODS],
        "1",
        "How many methods a user must pass to reset (1 or 2).",
    ),
    field(
        FieldId::SsprMethodEmail,
        "selfServicePasswordReset.methods.email",
        SSPR,
        Exact,
        switch(
            Weakening,
            "a code to an alternate mailbox resets the password; that mailbox is often less protected",
            "email codes, often to less protected mailboxes, no longer reset passwords",
        ),
        &[CIS_WEAK_METHODS],
        "true",
        "Reset with a code sent to the alternate email address.",
    ),
    field(
        FieldId::SsprMethodMobilePhone,
        "selfServicePasswordReset.methods.mobilePhone",
        SSPR,
        Exact,
        switch(
            Weakening,
            "a text or call to a mobile phone resets the password (SIM swap, phishing)",
            "SIM-swappable text and call codes no longer reset passwords",
        ),
        &[CIS_WEAK_METHODS],
        "true",
        "Reset with a text message or call to the mobile phone.",
    ),
    field(
        FieldId::SsprMethodOfficePhone,
        "selfServicePasswordReset.methods.officePhone",
        SSPR,
        Exact,
        switch(
            Weakening,
            "a call to an office phone resets the password (phone forwarding, social engineering)",
            "office-phone calls no longer reset passwords",
        ),
        &[CIS_WEAK_METHODS],
        "false",
        "Reset with a call to the office phone.",
    ),
    field(
        FieldId::SsprMethodSecurityQuestions,
        "selfServicePasswordReset.methods.securityQuestions",
        SSPR,
        Exact,
        switch(
            Weakening,
            "security questions are guessable and can be researched or phished",
            "security questions (guessable) no longer reset passwords",
        ),
        &[],
        "false",
        "Reset by answering security questions.",
    ),
    field(
        FieldId::SsprMethodAuthenticatorNotification,
        "selfServicePasswordReset.methods.authenticatorNotification",
        SSPR,
        Exact,
        switch(
            Strengthening,
            "users can reset with an Authenticator notification instead of weaker methods",
            "a strong reset method is taken away; users fall back on weaker ones",
        ),
        &[],
        "false",
        "Reset with a Microsoft Authenticator notification (needs methodsRequired 2).",
    ),
    field(
        FieldId::SsprMethodAuthenticatorCode,
        "selfServicePasswordReset.methods.authenticatorCode",
        SSPR,
        Exact,
        switch(
            Strengthening,
            "users can reset with an Authenticator or token code instead of text messages",
            "a stronger reset method is taken away; users fall back on weaker ones",
        ),
        &[],
        "false",
        "Reset with a code from Microsoft Authenticator or a hardware token.",
    ),
    field(
        FieldId::SsprQuestionsToRegister,
        "selfServicePasswordReset.securityQuestions.numberToRegister",
        SSPR,
        Exact,
        neutral(
            "how many questions a user registers; how many must be answered (numberToReset) decides the strength",
        ),
        &[],
        "5",
        "How many security questions a user registers (3 to 5).",
    ),
    field(
        FieldId::SsprQuestionsToReset,
        "selfServicePasswordReset.securityQuestions.numberToReset",
        SSPR,
        Exact,
        number(
            Strengthening,
            "more questions must be answered to reset",
            "fewer questions must be answered to reset",
        ),
        &[],
        "3",
        "How many security questions a user answers to reset (3 to 5).",
    ),
    field(
        FieldId::SsprQuestions,
        "selfServicePasswordReset.securityQuestions.questions",
        SSPR,
        Set,
        neutral(
            "which questions users choose from; whether questions reset passwords at all is methods.securityQuestions",
        ),
        &[],
        "[]",
        "The custom security questions users choose from.",
    ),
    field(
        FieldId::SsprRequireRegistration,
        "selfServicePasswordReset.registration.requireOnSignIn",
        SSPR,
        Exact,
        switch(
            Strengthening,
            "users register reset methods before an attacker can register them",
            "users may never register reset methods; an attacker who signs in first can",
        ),
        &[],
        "true",
        "Ask users to register their reset methods when they sign in.",
    ),
    field(
        FieldId::SsprReconfirmDays,
        "selfServicePasswordReset.registration.reconfirmAfterDays",
        SSPR,
        Exact,
        RiskRule::Interval {
            why_sooner: "stale reset methods are reconfirmed sooner",
            why_later: "stale reset methods are reconfirmed later (0 = never)",
        },
        &[CIS_AZ_RECONFIRM],
        "180",
        "Days before users reconfirm their authentication information (0 = never).",
    ),
    field(
        FieldId::SsprSkipRegistration,
        "selfServicePasswordReset.registration.skipAllowed",
        SSPR,
        Exact,
        switch(
            Weakening,
            "users may put off registering reset methods (\"skip now\"), and an attacker who signs in first can register them",
            "users asked to register must register their reset methods then",
        ),
        &[],
        "true",
        "Let users skip registration at sign-in for up to skipMaxDays days.",
    ),
    field(
        FieldId::SsprSkipRegistrationDays,
        "selfServicePasswordReset.registration.skipMaxDays",
        SSPR,
        Exact,
        number(
            Weakening,
            "users may put off registering reset methods for longer",
            "users register reset methods sooner",
        ),
        &[],
        "7",
        "The most days users may put registration off when skipping is allowed (1 to 30, range unconfirmed).",
    ),
    field(
        FieldId::SsprNotifyUsers,
        "selfServicePasswordReset.notifications.notifyUsersOnReset",
        SSPR,
        Exact,
        switch(
            Strengthening,
            "users learn of resets they did not make",
            "users are not told when their password is reset",
        ),
        &[CIS_AZ_NOTIFY_USERS],
        "true",
        "Notify users when their password is reset.",
    ),
    field(
        FieldId::SsprNotifyAdmins,
        "selfServicePasswordReset.notifications.notifyAdminsOnAdminReset",
        SSPR,
        Exact,
        switch(
            Strengthening,
            "all admins learn when another admin resets a password",
            "admin password resets go unnoticed",
        ),
        &[CIS_AZ_NOTIFY_ADMINS],
        "true",
        "Notify all administrators when another administrator resets their password.",
    ),
    field(
        FieldId::SsprHelpdeskCustomLink,
        "selfServicePasswordReset.helpdesk.customLink",
        SSPR,
        Exact,
        neutral("where users are sent for help; it changes nothing about who can reset or how"),
        &[],
        "false",
        "Show a custom helpdesk link instead of \"contact your administrator\".",
    ),
    field(
        FieldId::SsprHelpdeskContact,
        "selfServicePasswordReset.helpdesk.contact",
        SSPR,
        Exact,
        neutral(
            "the helpdesk address shown to users; it changes nothing about who can reset or how",
        ),
        &[],
        r#""""#,
        "The helpdesk's https URL or email address.",
    ),
    field(
        FieldId::OnPremPasswordWriteback,
        "onPremisesIntegration.passwordWriteback",
        ONPREM,
        Exact,
        switch(
            Weakening,
            "a password reset in the cloud also changes the on-premises password: a compromised reset reaches Active Directory",
            "cloud resets no longer change on-premises passwords",
        ),
        &[],
        "false",
        "Write passwords reset in the cloud back to on-premises Active Directory.",
    ),
    field(
        FieldId::OnPremUnlockWithoutReset,
        "onPremisesIntegration.unlockWithoutReset",
        ONPREM,
        Exact,
        switch(
            Weakening,
            "an account locked on-premises (for example by password guessing) can be unlocked without a new password",
            "an on-premises lockout needs a new password to end",
        ),
        &[],
        "false",
        "Let users unlock their on-premises account without resetting the password.",
    ),
    field(
        FieldId::AdminSspr,
        "administratorPasswordReset.enabled",
        AUTHZ,
        Exact,
        switch(
            Weakening,
            "administrators can reset their own password with SSPR: one phished method reaches an admin account",
            "administrators cannot reset their password themselves",
        ),
        &[EIDSCA_AP01],
        "true",
        "Whether administrators may use self-service password reset.",
    ),
    field(
        FieldId::MigrationState,
        "authenticationMethods.migrationState",
        METHODS,
        Exact,
        ranked(
            &["preMigration", "migrationInProgress", "migrationComplete"],
            Strengthening,
            "the authentication-methods policy governs more; the legacy method policies count less",
            "the legacy method policies apply again",
        ),
        &[SCUBA_MIGRATION, EIDSCA_AG01],
        r#""preMigration""#,
        "Migration from the legacy MFA and SSPR method policies to the authentication-methods policy.",
    ),
    field(
        FieldId::CampaignState,
        "authenticationMethods.registrationCampaign.state",
        METHODS,
        Exact,
        ranked(
            FEATURE_ORDER,
            Strengthening,
            "users are nudged to register Microsoft Authenticator",
            "users are no longer nudged to register Microsoft Authenticator",
        ),
        &[],
        r#""disabled""#,
        "The Microsoft Authenticator registration campaign (default = Microsoft managed).",
    ),
    field(
        FieldId::CampaignSnoozeDays,
        "authenticationMethods.registrationCampaign.snoozeDays",
        METHODS,
        Exact,
        number(
            Weakening,
            "users may put off registering a strong method for longer",
            "users register a strong method sooner",
        ),
        &[],
        "1",
        "Days a user may postpone registration (0 to 14; 0 asks at every sign-in).",
    ),
    field(
        FieldId::CampaignEnforce,
        "authenticationMethods.registrationCampaign.enforceAfterSnoozes",
        METHODS,
        Exact,
        switch(
            Strengthening,
            "registration is required once the snoozes are used up",
            "users may postpone registration forever",
        ),
        &[],
        "true",
        "Require registration once the allowed snoozes are used up.",
    ),
    field(
        FieldId::CampaignInclude,
        "authenticationMethods.registrationCampaign.include",
        METHODS,
        Targets,
        members(
            Strengthening,
            "more users are nudged to register a strong method",
            "fewer users are nudged to register a strong method",
        ),
        &[],
        r#"["allUsers"]"#,
        "Who the registration campaign nudges: allUsers or group object ids.",
    ),
    field(
        FieldId::CampaignExclude,
        "authenticationMethods.registrationCampaign.exclude",
        METHODS,
        Targets,
        members(
            Weakening,
            "more users are exempt from the registration campaign",
            "fewer users are exempt from the registration campaign",
        ),
        &[],
        "[]",
        "Who the registration campaign never nudges: group object ids.",
    ),
    field(
        FieldId::EmailState,
        "authenticationMethods.email.state",
        METHODS,
        Exact,
        switch(Weakening, WEAK_ON, WEAK_OFF),
        &[SCUBA_WEAK_METHODS, CIS_WEAK_METHODS],
        r#""enabled""#,
        "Email one-time passcode as an authentication method.",
    ),
    field(
        FieldId::EmailInclude,
        "authenticationMethods.email.include",
        METHODS,
        Targets,
        members(Weakening, WEAK_WIDER, WEAK_NARROWER),
        &[SCUBA_WEAK_METHODS],
        "[]",
        "Who may use email one-time passcodes: allUsers or group object ids.",
    ),
    field(
        FieldId::EmailExclude,
        "authenticationMethods.email.exclude",
        METHODS,
        Targets,
        members(Strengthening, WEAK_EXCLUDED, WEAK_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use email one-time passcodes: group object ids.",
    ),
    field(
        FieldId::EmailExternalUsers,
        "authenticationMethods.email.externalUsersOtp",
        METHODS,
        Exact,
        ranked(
            FEATURE_ORDER,
            Weakening,
            "guests may sign in with a phishable email one-time passcode",
            "guests may no longer sign in with an email one-time passcode",
        ),
        &[],
        r#""default""#,
        "Whether external (B2B) users may sign in with an email one-time passcode.",
    ),
    field(
        FieldId::SmsState,
        "authenticationMethods.sms.state",
        METHODS,
        Exact,
        switch(Weakening, WEAK_ON, WEAK_OFF),
        &[SCUBA_WEAK_METHODS, CIS_WEAK_METHODS],
        r#""enabled""#,
        "Text message as an authentication method.",
    ),
    field(
        FieldId::SmsInclude,
        "authenticationMethods.sms.include",
        METHODS,
        Targets,
        members(Weakening, WEAK_WIDER, WEAK_NARROWER),
        &[SCUBA_WEAK_METHODS],
        r#"["allUsers"]"#,
        "Who may use text messages: allUsers or group object ids.",
    ),
    field(
        FieldId::SmsExclude,
        "authenticationMethods.sms.exclude",
        METHODS,
        Targets,
        members(Strengthening, WEAK_EXCLUDED, WEAK_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use text messages: group object ids.",
    ),
    field(
        FieldId::VoiceState,
        "authenticationMethods.voice.state",
        METHODS,
        Exact,
        switch(Weakening, WEAK_ON, WEAK_OFF),
        &[SCUBA_WEAK_METHODS, CIS_WEAK_METHODS, EIDSCA_AV01],
        r#""disabled""#,
        "Voice call as an authentication method.",
    ),
    field(
        FieldId::VoiceInclude,
        "authenticationMethods.voice.include",
        METHODS,
        Targets,
        members(Weakening, WEAK_WIDER, WEAK_NARROWER),
        &[SCUBA_WEAK_METHODS],
        r#"["allUsers"]"#,
        "Who may use voice calls: allUsers or group object ids.",
    ),
    field(
        FieldId::VoiceExclude,
        "authenticationMethods.voice.exclude",
        METHODS,
        Targets,
        members(Strengthening, WEAK_EXCLUDED, WEAK_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use voice calls: group object ids.",
    ),
    field(
        FieldId::VoiceOfficePhone,
        "authenticationMethods.voice.officePhoneAllowed",
        METHODS,
        Exact,
        switch(
            Weakening,
            "calls may also go to office phones, which are often shared or forwarded",
            "calls go to mobile phones only",
        ),
        &[],
        "false",
        "Allow voice calls to the office phone as well as the mobile phone.",
    ),
    field(
        FieldId::AuthenticatorState,
        "authenticationMethods.microsoftAuthenticator.state",
        METHODS,
        Exact,
        switch(Strengthening, STRONG_ON, STRONG_OFF),
        &[EIDSCA_AM01],
        r#""disabled""#,
        "Microsoft Authenticator as an authentication method.",
    ),
    field(
        FieldId::AuthenticatorInclude,
        "authenticationMethods.microsoftAuthenticator.include",
        METHODS,
        Targets,
        members(Strengthening, STRONG_WIDER, STRONG_NARROWER),
        &[],
        r#"["allUsers"]"#,
        "Who may use Microsoft Authenticator: allUsers or group object ids.",
    ),
    field(
        FieldId::AuthenticatorExclude,
        "authenticationMethods.microsoftAuthenticator.exclude",
        METHODS,
        Targets,
        members(Weakening, STRONG_EXCLUDED, STRONG_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use Microsoft Authenticator: group object ids.",
    ),
    field(
        FieldId::AuthenticatorOtp,
        "authenticationMethods.microsoftAuthenticator.softwareOathAllowed",
        METHODS,
        Exact,
        switch(Weakening, OTP_ON, OTP_OFF),
        &[EIDSCA_AM02],
        "false",
        "Allow the Authenticator app's one-time codes.",
    ),
    field(
        FieldId::AuthenticatorShowApp,
        "authenticationMethods.microsoftAuthenticator.showApplicationName",
        METHODS,
        Exact,
        ranked(
            FEATURE_ORDER,
            Strengthening,
            "push prompts show which application asks (against MFA fatigue)",
            "push prompts no longer show which application asks (MFA fatigue)",
        ),
        &[SCUBA_CONTEXT, CIS_FATIGUE, EIDSCA_AM06],
        r#""default""#,
        "Show the application name in Authenticator push notifications.",
    ),
    field(
        FieldId::AuthenticatorShowLocation,
        "authenticationMethods.microsoftAuthenticator.showLocation",
        METHODS,
        Exact,
        ranked(
            FEATURE_ORDER,
            Strengthening,
            "push prompts show where the sign-in comes from (against MFA fatigue)",
            "push prompts no longer show where the sign-in comes from (MFA fatigue)",
        ),
        &[SCUBA_CONTEXT, CIS_FATIGUE, EIDSCA_AM09],
        r#""default""#,
        "Show the sign-in location in Authenticator push notifications.",
    ),
    field(
        FieldId::SoftwareOathState,
        "authenticationMethods.softwareOath.state",
        METHODS,
        Exact,
        switch(Weakening, OTP_ON, OTP_OFF),
        &[],
        r#""disabled""#,
        "Software OATH tokens as an authentication method.",
    ),
    field(
        FieldId::SoftwareOathInclude,
        "authenticationMethods.softwareOath.include",
        METHODS,
        Targets,
        members(Weakening, OTP_WIDER, OTP_NARROWER),
        &[],
        r#"["allUsers"]"#,
        "Who may use software OATH tokens: allUsers or group object ids.",
    ),
    field(
        FieldId::SoftwareOathExclude,
        "authenticationMethods.softwareOath.exclude",
        METHODS,
        Targets,
        members(Strengthening, OTP_EXCLUDED, OTP_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use software OATH tokens: group object ids.",
    ),
    field(
        FieldId::HardwareOathState,
        "authenticationMethods.hardwareOath.state",
        METHODS,
        Exact,
        switch(Weakening, OTP_ON, OTP_OFF),
        &[],
        r#""disabled""#,
        "Hardware OATH tokens as an authentication method.",
    ),
    field(
        FieldId::HardwareOathInclude,
        "authenticationMethods.hardwareOath.include",
        METHODS,
        Targets,
        members(Weakening, OTP_WIDER, OTP_NARROWER),
        &[],
        r#"["allUsers"]"#,
        "Who may use hardware OATH tokens: allUsers or group object ids.",
    ),
    field(
        FieldId::HardwareOathExclude,
        "authenticationMethods.hardwareOath.exclude",
        METHODS,
        Targets,
        members(Strengthening, OTP_EXCLUDED, OTP_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use hardware OATH tokens: group object ids.",
    ),
    field(
        FieldId::TapState,
        "authenticationMethods.temporaryAccessPass.state",
        METHODS,
        Exact,
        switch(
            Weakening,
            "whoever can issue or obtain a pass (a helpdesk that is social-engineered) can sign in as the user without their methods",
            "no pass can sign anyone in without their own methods",
        ),
        &[EIDSCA_AT01],
        r#""disabled""#,
        "Temporary Access Pass as an authentication method.",
    ),
    field(
        FieldId::TapInclude,
        "authenticationMethods.temporaryAccessPass.include",
        METHODS,
        Targets,
        members(
            Weakening,
            "more users can be signed in with an issued pass",
            "fewer users can be signed in with an issued pass",
        ),
        &[],
        r#"["allUsers"]"#,
        "Who may use a Temporary Access Pass: allUsers or group object ids.",
    ),
    field(
        FieldId::TapExclude,
        "authenticationMethods.temporaryAccessPass.exclude",
        METHODS,
        Targets,
        members(
            Strengthening,
            "more users (for example administrators) can never be signed in with an issued pass",
            "fewer users are kept from issued passes",
        ),
        &[],
        "[]",
        "Who may not use a Temporary Access Pass: group object ids.",
    ),
    field(
        FieldId::TapDefaultLifetime,
        "authenticationMethods.temporaryAccessPass.defaultLifetimeMinutes",
        METHODS,
        Exact,
        number(
            Weakening,
            "a new pass stays usable for longer",
            "a new pass expires sooner",
        ),
        &[],
        "60",
        "Lifetime of a new pass, in minutes.",
    ),
    field(
        FieldId::TapMinimumLifetime,
        "authenticationMethods.temporaryAccessPass.minimumLifetimeMinutes",
        METHODS,
        Exact,
        number(
            Weakening,
            "no pass can be issued for less than a longer time",
            "short-lived passes become possible",
        ),
        &[],
        "60",
        "Shortest lifetime a pass may have, in minutes.",
    ),
    field(
        FieldId::TapMaximumLifetime,
        "authenticationMethods.temporaryAccessPass.maximumLifetimeMinutes",
        METHODS,
        Exact,
        number(
            Weakening,
            "passes may be issued for longer",
            "no pass may live as long as before",
        ),
        &[],
        "480",
        "Longest lifetime a pass may have, in minutes.",
    ),
    field(
        FieldId::TapLength,
        "authenticationMethods.temporaryAccessPass.length",
        METHODS,
        Exact,
        number(
            Strengthening,
            "longer passes are harder to guess",
            "shorter passes are easier to guess",
        ),
        &[],
        "8",
        "Length of a pass, in characters (8 to 48).",
    ),
    field(
        FieldId::TapOneTimeUse,
        "authenticationMethods.temporaryAccessPass.oneTimeUse",
        METHODS,
        Exact,
        switch(
            Strengthening,
            "a pass works only once; a leaked pass is useless after first use",
            "a pass can be reused until it expires",
        ),
        &[],
        "false",
        "A pass can be used only once.",
    ),
    field(
        FieldId::Fido2State,
        "authenticationMethods.fido2.state",
        METHODS,
        Exact,
        switch(
            Strengthening,
            "phishing-resistant passkeys become available",
            "phishing-resistant passkeys are taken away; users fall back on weaker methods",
        ),
        &[EIDSCA_AF01],
        r#""disabled""#,
        "Passkeys (FIDO2) as an authentication method.",
    ),
    field(
        FieldId::Fido2Include,
        "authenticationMethods.fido2.include",
        METHODS,
        Targets,
        members(Strengthening, STRONG_WIDER, STRONG_NARROWER),
        &[],
        r#"["allUsers"]"#,
        "Who may use passkeys: allUsers or group object ids.",
    ),
    field(
        FieldId::Fido2Exclude,
        "authenticationMethods.fido2.exclude",
        METHODS,
        Targets,
        members(Weakening, STRONG_EXCLUDED, STRONG_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use passkeys: group object ids.",
    ),
    field(
        FieldId::Fido2SelfService,
        "authenticationMethods.fido2.selfServiceRegistration",
        METHODS,
        Exact,
        switch(
            Strengthening,
            "users can register passkeys themselves",
            "users cannot register passkeys themselves, which slows phishing-resistant sign-in",
        ),
        &[EIDSCA_AF02],
        "true",
        "Users may register passkeys themselves.",
    ),
    field(
        FieldId::Fido2Attestation,
        "authenticationMethods.fido2.enforceAttestation",
        METHODS,
        Exact,
        switch(
            Strengthening,
            "only authenticators that prove their make and model are accepted",
            "any authenticator is accepted, unverified",
        ),
        &[EIDSCA_AF03],
        "true",
        "Require attestation of the passkey's authenticator.",
    ),
    field(
        FieldId::X509State,
        "authenticationMethods.x509Certificate.state",
        METHODS,
        Exact,
        switch(
            Strengthening,
            "phishing-resistant certificate sign-in becomes available",
            "phishing-resistant certificate sign-in is taken away; users fall back on weaker methods",
        ),
        &[],
        r#""disabled""#,
        "Certificate-based authentication.",
    ),
    field(
        FieldId::X509Include,
        "authenticationMethods.x509Certificate.include",
        METHODS,
        Targets,
        members(Strengthening, STRONG_WIDER, STRONG_NARROWER),
        &[],
        r#"["allUsers"]"#,
        "Who may use certificate-based authentication: allUsers or group object ids.",
    ),
    field(
        FieldId::X509Exclude,
        "authenticationMethods.x509Certificate.exclude",
        METHODS,
        Targets,
        members(Weakening, STRONG_EXCLUDED, STRONG_UNEXCLUDED),
        &[],
        "[]",
        "Who may not use certificate-based authentication: group object ids.",
    ),
    field(
        FieldId::LockoutThreshold,
        "passwordProtection.lockoutThreshold",
        RULES,
        Exact,
        number(
            Weakening,
            "more password guesses before lockout",
            "fewer password guesses before lockout",
        ),
        &[EIDSCA_PR06],
        "10",
        "Failed sign-ins before the first smart lockout.",
    ),
    field(
        FieldId::LockoutDuration,
        "passwordProtection.lockoutDurationSeconds",
        RULES,
        Exact,
        number(
            Strengthening,
            "longer lockouts slow password guessing",
            "shorter lockouts speed up password guessing",
        ),
        &[EIDSCA_PR05],
        "60",
        "Length of the first smart lockout, in seconds.",
    ),
    field(
        FieldId::EnforceBannedPasswords,
        "passwordProtection.enforceBannedPasswords",
        RULES,
        Exact,
        switch(
            Strengthening,
            "the custom banned-password list is enforced",
            "the custom banned-password list is not enforced",
        ),
        &[CIS_BANNED, EIDSCA_PR03],
        "true",
        "Enforce the custom banned-password list.",
    ),
    field(
        FieldId::BannedPasswords,
        "passwordProtection.bannedPasswords",
        RULES,
        CaseInsensitiveSet,
        members(
            Strengthening,
            "more guessable terms are refused in new passwords",
            "passwords containing the removed terms are accepted again",
        ),
        &[CIS_BANNED],
        "[]",
        "Custom banned terms (4 to 16 characters each, at most 1000).",
    ),
    field(
        FieldId::OnPremProtection,
        "passwordProtection.onPremisesEnabled",
        RULES,
        Exact,
        switch(
            Strengthening,
            "domain controllers check new passwords against the banned lists",
            "domain controllers stop checking new passwords against the banned lists",
        ),
        &[CIS_ONPREM, EIDSCA_PR02],
        "true",
        "Enable password protection for Windows Server Active Directory.",
    ),
    field(
        FieldId::OnPremProtectionMode,
        "passwordProtection.onPremisesMode",
        RULES,
        Exact,
        ranked(
            &["audit", "enforce"],
            Strengthening,
            "banned passwords are rejected on-premises",
            "banned passwords are only logged on-premises, not rejected",
        ),
        &[CIS_ONPREM, EIDSCA_PR01],
        r#""audit""#,
        "On-premises password protection mode: audit or enforce.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn every_section_maps_to_exactly_one_api() {
        for api in Api::ALL {
            assert_eq!(Api::for_path(&format!("{}.x", api.section())), Some(api));
        }
        assert_eq!(Api::for_path("nope.x"), None);
    }

    #[test]
    fn fields_are_in_field_id_order_and_paths_are_unique() {
        for (i, id) in FieldId::ALL.iter().enumerate() {
            assert_eq!(FIELDS[i].id, *id, "FIELDS[{i}] is out of order");
            assert_eq!(id.spec().id, *id);
        }
        let mut paths: Vec<&str> = FIELDS.iter().map(|f| f.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), FIELDS.len(), "a path is listed twice");
    }

    #[test]
    fn every_field_belongs_to_the_section_of_its_api() {
        for f in &FIELDS {
            assert_eq!(Api::for_path(f.path), Some(f.api), "{}", f.path);
            assert_ne!(f.relative_path(), f.path, "{}", f.path);
            assert!(!f.description.is_empty(), "{} has no description", f.path);
        }
    }

    /// The leaves of the generated schema below a tenant's settings: scalars,
    /// lists, and the group reference (one value).
    fn schema_leaves() -> Vec<String> {
        let schema = crate::schema::config_schema_value();
        let defs = schema.get("definitions").cloned().unwrap_or(Value::Null);
        fn resolve<'a>(defs: &'a Value, node: &'a Value) -> (&'a Value, Option<&'a str>) {
            let mut node = node;
            if let Some(all) = node.get("allOf").and_then(Value::as_array)
                && all.len() == 1
            {
                node = &all[0];
            }
            match node.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let name = r.rsplit('/').next().expect("a $ref has a name");
                    (&defs[name], Some(name))
                }
                None => (node, None),
            }
        }
        fn walk(defs: &Value, node: &Value, path: &str, out: &mut Vec<String>) {
            let (node, name) = resolve(defs, node);
            match node.get("properties").and_then(Value::as_object) {
                Some(props) if name != Some("GroupRef") => {
                    for (k, v) in props {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        walk(defs, v, &p, out);
                    }
                }
                _ => out.push(path.to_string()),
            }
        }
        let mut out = Vec::new();
        walk(&defs, &defs["Settings"], "", &mut out);
        out
    }

    #[test]
    fn every_schema_leaf_has_exactly_one_catalog_entry_and_no_entry_is_extra() {
        let leaves = schema_leaves();
        assert!(leaves.len() > 60, "the schema walk found too few leaves");
        for leaf in &leaves {
            let n = FIELDS.iter().filter(|f| f.path == leaf).count();
            assert_eq!(n, 1, "schema leaf {leaf} has {n} catalog entries");
        }
        for f in &FIELDS {
            assert!(
                leaves.iter().any(|l| l == f.path),
                "catalog entry {} is not a leaf of the schema",
                f.path
            );
        }
    }

    /// `{section: {a: {b: value}}}` for a path `section.a.b`.
    fn settings_with(path: &str, value: Value) -> Value {
        path.rsplit('.')
            .fold(value, |inner, key| serde_json::json!({ key: inner }))
    }

    fn accepts(path: &str, value: Value) -> bool {
        serde_json::from_value::<crate::Settings>(settings_with(path, value)).is_ok()
    }

    #[test]
    fn every_default_is_a_valid_value_of_its_setting() {
        for f in &FIELDS {
            let value: Value = serde_json::from_str(f.default)
                .unwrap_or_else(|e| panic!("{}: default is not JSON: {e}", f.path));
            if value.is_null() {
                continue; // no value (no group)
            }
            assert!(
                accepts(f.path, value),
                "{}: default {} is not valid",
                f.path,
                f.default
            );
        }
    }

    #[test]
    fn every_risk_rule_fits_the_kind_of_its_setting() {
        for f in &FIELDS {
            let default: Value = serde_json::from_str(f.default).expect("JSON default");
            match f.risk {
                RiskRule::Switch { .. } => assert!(
                    default.is_boolean()
                        || (accepts(f.path, "enabled".into())
                            && accepts(f.path, "disabled".into())),
                    "{}: a switch must be a boolean or a method state",
                    f.path
                ),
                RiskRule::Number { .. } | RiskRule::Interval { .. } => {
                    assert!(default.is_u64(), "{}: not a number", f.path)
                }
                RiskRule::Ranked { order, .. } => {
                    for v in order {
                        assert!(
                            accepts(f.path, (*v).into()),
                            "{}: {v} is not a value",
                            f.path
                        );
                    }
                }
                RiskRule::Members { .. } => {
                    assert!(default.is_array(), "{}: not a list", f.path);
                    assert_ne!(
                        f.compare,
                        Compare::Exact,
                        "{}: lists compare as sets",
                        f.path
                    );
                }
                RiskRule::Neutral { why } => {
                    assert!(
                        why.len() > 20,
                        "{}: a neutral rule needs its reason",
                        f.path
                    )
                }
            }
        }
    }
}
