//! The lint decision of every catalog field: a rule (stable id, level, the
//! recommended value, rationale) or "no rule, because …".
//!
//! [`decision`] is an exhaustive `match` on [`FieldId`] with no default arm,
//! so a new field does not compile until it states its decision. A rule's
//! controls are its field's [`Field::controls`](super::Field::controls); the
//! direction it recommends agrees with the field's risk rule (a test checks
//! it). Rule ids are stable: never renumber or reuse one.

use serde_json::Value;

use super::FieldId;

/// How much a lint finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A setting that directly opens an account-takeover path.
    Error,
    /// A setting below the benchmarks' recommendation.
    Warning,
    /// Worth knowing; often a deliberate choice.
    Note,
}

impl Level {
    /// `error`, `warning` or `note` (the SARIF names).
    pub fn label(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

/// The recommended value of a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this value (JSON in model terms, e.g. `false`, `"enabled"`).
    Equals(&'static str),
    /// A whole number of at least this.
    AtLeast(u64),
    /// A whole number of at most this.
    AtMost(u64),
    /// A whole number in this inclusive range.
    Between(u64, u64),
    /// A list with at least one member.
    NotEmpty,
    /// One of these string values.
    OneOf(&'static [&'static str]),
}

impl Expect {
    /// Whether a value meets the recommendation. A value of an unexpected form
    /// does not.
    pub fn holds(&self, value: &Value) -> bool {
        match *self {
            Expect::Equals(json) => serde_json::from_str::<Value>(json).is_ok_and(|v| v == *value),
            Expect::AtLeast(min) => value.as_u64().is_some_and(|n| n >= min),
            Expect::AtMost(max) => value.as_u64().is_some_and(|n| n <= max),
            Expect::Between(min, max) => value.as_u64().is_some_and(|n| (min..=max).contains(&n)),
            Expect::NotEmpty => value.as_array().is_some_and(|a| !a.is_empty()),
            Expect::OneOf(values) => value.as_str().is_some_and(|s| values.contains(&s)),
        }
    }

    /// The recommendation in words, e.g. `= false`, `>= 2`, `one of enabled, default`.
    pub fn describe(&self) -> String {
        match *self {
            Expect::Equals(json) => format!("= {json}"),
            Expect::AtLeast(min) => format!(">= {min}"),
            Expect::AtMost(max) => format!("<= {max}"),
            Expect::Between(min, max) => format!("between {min} and {max}"),
            Expect::NotEmpty => "not empty".to_string(),
            Expect::OneOf(values) => format!("one of {}", values.join(", ")),
        }
    }
}

/// A lint rule of one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable identifier, `SSPR` and three digits.
    pub id: &'static str,
    /// How much a finding matters.
    pub level: Level,
    /// The recommended value.
    pub expect: Expect,
    /// Why, in one line.
    pub rationale: &'static str,
    /// When the rule does not apply: another setting's value that makes this
    /// one moot (the legacy SSPR method toggles once the authentication-methods
    /// migration is complete, which the service then ignores).
    pub moot_when: Option<Moot>,
}

/// Another setting's value under which a rule does not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moot {
    /// The other setting's dotted path.
    pub path: &'static str,
    /// Its value (JSON in model terms) that makes the rule moot.
    pub equals: &'static str,
    /// Why, in one line.
    pub why: &'static str,
}

impl Moot {
    /// Whether `value` (of [`Moot::path`]) makes the rule moot.
    pub fn holds(&self, value: &Value) -> bool {
        Expect::Equals(self.equals).holds(value)
    }
}

/// What lint does with a field. Every catalog entry states one; there is no
/// default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lint {
    /// The field is checked against a rule.
    Rule(Rule),
    /// The field is not checked; the reason says why.
    NoRule {
        /// Why there is no rule.
        why: &'static str,
    },
}

impl Lint {
    /// The rule, if there is one.
    pub fn rule(&self) -> Option<&Rule> {
        match self {
            Lint::Rule(rule) => Some(rule),
            Lint::NoRule { .. } => None,
        }
    }
}

const fn rule(id: &'static str, level: Level, expect: Expect, rationale: &'static str) -> Lint {
    Lint::Rule(Rule {
        id,
        level,
        expect,
        rationale,
        moot_when: None,
    })
}

/// The migration makes the legacy SSPR method toggles moot.
const LEGACY_METHODS: Moot = Moot {
    path: "authenticationMethods.migrationState",
    equals: r#""migrationComplete""#,
    why: "the migration is complete: the service ignores the legacy SSPR method toggles and the authentication-methods policy decides",
};

/// A rule of a legacy SSPR method toggle.
const fn legacy(id: &'static str, level: Level, expect: Expect, rationale: &'static str) -> Lint {
    Lint::Rule(Rule {
        id,
        level,
        expect,
        rationale,
        moot_when: Some(LEGACY_METHODS),
    })
}

const fn none(why: &'static str) -> Lint {
    Lint::NoRule { why }
}

use Expect::{AtLeast, AtMost, Equals, NotEmpty, OneOf};
use Level::{Error, Note, Warning};

const TARGETS: &str = "who a method reaches is a deployment choice; the method's state carries the rule (targets of a disabled method have no effect)";

/// The lint decision of a field.
pub const fn decision(id: FieldId) -> Lint {
    match id {
        FieldId::SsprEnabledFor => rule(
            "SSPR001",
            Warning,
            Equals(r#""all""#),
            "every user can recover their account without a helpdesk call that can be social-engineered",
        ),
        FieldId::SsprGroup => {
            none("which group is in scope when enabledFor is selected; enabledFor carries the rule")
        }
        FieldId::SsprMethodsRequired => rule(
            "SSPR002",
            Error,
            AtLeast(2),
            "with one method required, one compromised method resets the password",
        ),
        FieldId::SsprMethodEmail => legacy(
            "SSPR003",
            Note,
            Equals("false"),
            "an alternate mailbox is often less protected than the account it resets",
        ),
        FieldId::SsprMethodMobilePhone => legacy(
            "SSPR004",
            Note,
            Equals("false"),
            "text and call codes to a mobile phone are open to SIM swap and phishing",
        ),
        FieldId::SsprMethodOfficePhone => legacy(
            "SSPR005",
            Warning,
            Equals("false"),
            "office phones are often shared or forwarded",
        ),
        FieldId::SsprMethodSecurityQuestions => legacy(
            "SSPR006",
            Warning,
            Equals("false"),
            "answers to security questions can be guessed, researched or phished",
        ),
        FieldId::SsprMethodAuthenticatorNotification => legacy(
            "SSPR007",
            Note,
            Equals("true"),
            "a strong reset method, so that users need not fall back on weaker ones",
        ),
        FieldId::SsprMethodAuthenticatorCode => legacy(
            "SSPR008",
            Note,
            Equals("true"),
            "a strong reset method, so that users need not fall back on text messages",
        ),
        FieldId::SsprQuestionsToRegister => none(
            "matters only when security questions reset passwords, which SSPR006 advises against",
        ),
        FieldId::SsprQuestionsToReset => none(
            "matters only when security questions reset passwords, which SSPR006 advises against",
        ),
        FieldId::SsprQuestions => {
            none("which questions users choose from; whether questions reset at all is SSPR006")
        }
        FieldId::SsprRequireRegistration => rule(
            "SSPR009",
            Warning,
            Equals("true"),
            "users register their reset methods before an attacker who signs in first can",
        ),
        FieldId::SsprReconfirmDays => rule(
            "SSPR010",
            Warning,
            AtLeast(1),
            "0 means reset methods are never reconfirmed, so stale phone numbers and mailboxes stay",
        ),
        FieldId::SsprSkipRegistration => none(
            "a rollout choice (\"skip now\" eases a first wave); requiring registration at sign-in is SSPR009, and skipMaxDays bounds the delay",
        ),
        FieldId::SsprSkipRegistrationDays => {
            none("matters only when skipping is allowed; no benchmark sets a bound")
        }
        FieldId::SsprNotifyUsers => rule(
            "SSPR011",
            Warning,
            Equals("true"),
            "users learn of resets they did not make",
        ),
        FieldId::SsprNotifyAdmins => rule(
            "SSPR012",
            Warning,
            Equals("true"),
            "all admins learn when another admin resets a password",
        ),
        FieldId::SsprHelpdeskCustomLink => {
            none("where users are sent for help changes nothing about who can reset or how")
        }
        FieldId::SsprHelpdeskContact => {
            none("the helpdesk address changes nothing about who can reset or how")
        }
        FieldId::OnPremPasswordWriteback => none(
            "hybrid tenants need writeback for cloud resets to reach Active Directory; the risk gate marks turning it on",
        ),
        FieldId::OnPremUnlockWithoutReset => rule(
            "SSPR013",
            Note,
            Equals("false"),
            "an account locked on-premises by password guessing should need a new password",
        ),
        FieldId::AdminSspr => rule(
            "SSPR014",
            Error,
            Equals("false"),
            "with admin SSPR, one phished method can reset an administrator's password",
        ),
        FieldId::MigrationState => rule(
            "SSPR015",
            Warning,
            Equals(r#""migrationComplete""#),
            "until migration completes, the legacy MFA and SSPR method policies still apply",
        ),
        FieldId::CampaignState => rule(
            "SSPR016",
            Note,
            OneOf(&["enabled", "default"]),
            "users are nudged to register Microsoft Authenticator",
        ),
        FieldId::CampaignSnoozeDays => none(
            "how long a user may postpone registration; whether registration is enforced carries the rule (SSPR017)",
        ),
        FieldId::CampaignEnforce => rule(
            "SSPR017",
            Note,
            Equals("true"),
            "registration becomes required once the snoozes are used up",
        ),
        FieldId::CampaignInclude => none(
            "who the campaign nudges is a deployment choice; the campaign's state carries the rule",
        ),
        FieldId::CampaignExclude => none(
            "who the campaign skips is a deployment choice; the campaign's state carries the rule",
        ),
        FieldId::EmailState => rule(
            "SSPR018",
            Warning,
            Equals(r#""disabled""#),
            "email one-time passcodes are phishable and mailboxes are often less protected",
        ),
        FieldId::EmailInclude | FieldId::EmailExclude => none(TARGETS),
        FieldId::EmailExternalUsers => none(
            "guests without a home directory need a way to sign in; the risk gate marks turning it on",
        ),
        FieldId::SmsState => rule(
            "SSPR019",
            Warning,
            Equals(r#""disabled""#),
            "text messages are open to SIM swap and phishing",
        ),
        FieldId::SmsInclude | FieldId::SmsExclude => none(TARGETS),
        FieldId::VoiceState => rule(
            "SSPR020",
            Warning,
            Equals(r#""disabled""#),
            "voice calls are open to SIM swap, forwarding and social engineering",
        ),
        FieldId::VoiceInclude | FieldId::VoiceExclude => none(TARGETS),
        FieldId::VoiceOfficePhone => rule(
            "SSPR021",
            Note,
            Equals("false"),
            "office phones are often shared or forwarded",
        ),
        FieldId::AuthenticatorState => rule(
            "SSPR022",
            Warning,
            Equals(r#""enabled""#),
            "Microsoft Authenticator is the strong method most users can register",
        ),
        FieldId::AuthenticatorInclude | FieldId::AuthenticatorExclude => none(TARGETS),
        FieldId::AuthenticatorOtp => rule(
            "SSPR023",
            Note,
            Equals("false"),
            "the app's one-time codes can be phished and relayed; push with context cannot as easily",
        ),
        FieldId::AuthenticatorShowApp => rule(
            "SSPR024",
            Warning,
            Equals(r#""enabled""#),
            "push prompts that name the application resist MFA fatigue",
        ),
        FieldId::AuthenticatorShowLocation => rule(
            "SSPR025",
            Warning,
            Equals(r#""enabled""#),
            "push prompts that show the sign-in location resist MFA fatigue",
        ),
        FieldId::SoftwareOathState => none(
            "OATH tokens are phishable but not SIM-swappable; whether they are an acceptable fallback is a deployment choice the risk gate marks",
        ),
        FieldId::SoftwareOathInclude | FieldId::SoftwareOathExclude => none(TARGETS),
        FieldId::HardwareOathState => none(
            "hardware tokens are a fallback for users without a phone; the risk gate marks turning them on",
        ),
        FieldId::HardwareOathInclude | FieldId::HardwareOathExclude => none(TARGETS),
        FieldId::TapState => none(
            "a Temporary Access Pass onboards passwordless users but signs in whoever obtains it; the risk gate marks turning it on, and SSPR026 and SSPR027 check its lifetime and reuse",
        ),
        FieldId::TapInclude | FieldId::TapExclude => none(TARGETS),
        FieldId::TapDefaultLifetime => none(
            "the lifetime of a new pass is bounded by maximumLifetimeMinutes, which the issuing admin sees",
        ),
        FieldId::TapMinimumLifetime => {
            none("a lower bound on lifetimes does not make a pass easier to misuse")
        }
        FieldId::TapMaximumLifetime => rule(
            "SSPR026",
            Note,
            AtMost(480),
            "a pass that lives for days is a long-lived bearer credential",
        ),
        FieldId::TapLength => {
            none("Entra enforces at least 8 characters, enough against online guessing")
        }
        FieldId::TapOneTimeUse => rule(
            "SSPR027",
            Note,
            Equals("true"),
            "a leaked pass is useless after its first use",
        ),
        FieldId::Fido2State => rule(
            "SSPR028",
            Warning,
            Equals(r#""enabled""#),
            "passkeys are phishing-resistant",
        ),
        FieldId::Fido2Include | FieldId::Fido2Exclude => none(TARGETS),
        FieldId::Fido2SelfService => rule(
            "SSPR029",
            Note,
            Equals("true"),
            "users can register passkeys without waiting for an admin",
        ),
        FieldId::Fido2Attestation => rule(
            "SSPR030",
            Note,
            Equals("true"),
            "only authenticators that prove their make and model are accepted",
        ),
        FieldId::X509State => none(
            "certificate-based authentication needs a public key infrastructure that not every tenant has",
        ),
        FieldId::X509Include | FieldId::X509Exclude => none(TARGETS),
        FieldId::LockoutThreshold => rule(
            "SSPR031",
            Warning,
            AtMost(10),
            "more failed sign-ins before lockout give password guessing more tries",
        ),
        FieldId::LockoutDuration => rule(
            "SSPR032",
            Note,
            AtLeast(60),
            "shorter lockouts speed up password guessing",
        ),
        FieldId::EnforceBannedPasswords => rule(
            "SSPR033",
            Warning,
            Equals("true"),
            "the custom banned-password list refuses guessable terms only when it is enforced",
        ),
        FieldId::BannedPasswords => rule(
            "SSPR034",
            Warning,
            NotEmpty,
            "an empty list refuses none of the organisation's guessable terms",
        ),
        FieldId::OnPremProtection => rule(
            "SSPR035",
            Warning,
            Equals("true"),
            "domain controllers check new passwords against the banned lists",
        ),
        FieldId::OnPremProtectionMode => rule(
            "SSPR036",
            Warning,
            Equals(r#""enforce""#),
            "in audit mode banned passwords are only logged on-premises, not refused",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Compare, Effect, FIELDS, RiskRule};
    use super::*;
    use serde_json::json;

    #[test]
    fn every_field_states_a_lint_decision_with_its_reason() {
        // `decision` is exhaustive (no default arm): a field without a
        // decision does not compile. This checks what the compiler cannot.
        for f in &FIELDS {
            assert_eq!(f.lint, decision(f.id), "{}: Field.lint is stale", f.path);
            match f.lint {
                Lint::Rule(r) => assert!(r.rationale.len() > 20, "{}: rationale", f.path),
                Lint::NoRule { why } => assert!(why.len() > 20, "{}: a reason", f.path),
            }
        }
    }

    #[test]
    fn a_moot_condition_names_a_catalog_setting_and_one_of_its_values() {
        for f in &FIELDS {
            let Some(m) = f.lint.rule().and_then(|r| r.moot_when) else {
                continue;
            };
            assert!(
                super::super::by_path(m.path).is_some(),
                "{}: {}",
                f.path,
                m.path
            );
            let v: Value = serde_json::from_str(m.equals).expect("JSON");
            let doc = m
                .path
                .rsplit('.')
                .fold(v, |inner, key| json!({ key: inner }));
            assert!(
                serde_json::from_value::<crate::Settings>(doc).is_ok(),
                "{}",
                f.path
            );
        }
    }

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = FIELDS
            .iter()
            .filter_map(|f| f.lint.rule())
            .map(|r| r.id)
            .collect();
        for id in &ids {
            assert!(
                id.len() == 7
                    && id.starts_with("SSPR")
                    && id[4..].chars().all(|c| c.is_ascii_digit()),
                "{id}"
            );
        }
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "a rule id is used twice");
    }

    /// The value a rule recommends, or one that meets it.
    fn a_passing_value(expect: &Expect) -> Value {
        match *expect {
            Expect::Equals(j) => serde_json::from_str(j).expect("JSON"),
            Expect::AtLeast(n) | Expect::Between(n, _) => json!(n),
            Expect::AtMost(n) => json!(n),
            Expect::NotEmpty => json!(["contoso"]),
            Expect::OneOf(v) => json!(v[0]),
        }
    }

    #[test]
    fn every_recommended_value_is_a_valid_value_of_its_setting() {
        for f in &FIELDS {
            let Some(r) = f.lint.rule() else { continue };
            let v = a_passing_value(&r.expect);
            assert!(r.expect.holds(&v), "{}", f.path);
            let doc = f
                .path
                .rsplit('.')
                .fold(v, |inner, key| json!({ key: inner }));
            assert!(
                serde_json::from_value::<crate::Settings>(doc).is_ok(),
                "{}: recommended {} is not a value of the setting",
                f.path,
                r.expect.describe()
            );
        }
    }

    #[test]
    fn every_rule_recommends_the_direction_its_risk_rule_calls_strengthening() {
        let on = |v: &Value| *v == json!(true) || *v == json!("enabled");
        for f in &FIELDS {
            let Some(r) = f.lint.rule() else {
                continue;
            };
            let ok = match (f.risk, r.expect) {
                (RiskRule::Switch { on: e, .. }, Expect::Equals(j)) => {
                    let v: Value = serde_json::from_str(j).expect("JSON");
                    on(&v) == (e == Effect::Strengthening)
                }
                (RiskRule::Number { up, .. }, Expect::AtLeast(_)) => up == Effect::Strengthening,
                (RiskRule::Number { up, .. }, Expect::AtMost(_)) => up == Effect::Weakening,
                (RiskRule::Interval { .. }, Expect::AtLeast(1)) => true,
                (RiskRule::Ranked { order, up, .. }, Expect::Equals(j)) => {
                    let v: Value = serde_json::from_str(j).expect("JSON");
                    let strongest = match up {
                        Effect::Strengthening => order.last(),
                        Effect::Weakening => order.first(),
                    };
                    strongest.is_some_and(|s| v == json!(s))
                }
                (RiskRule::Ranked { order, up, .. }, Expect::OneOf(values)) => {
                    // Every accepted value is in the stronger half of the order.
                    values.iter().all(|v| {
                        order.iter().position(|o| o == v).is_some_and(|i| match up {
                            Effect::Strengthening => 2 * i >= order.len() - 1,
                            Effect::Weakening => 2 * i < order.len(),
                        })
                    })
                }
                (RiskRule::Members { added, .. }, Expect::NotEmpty) => {
                    added == Effect::Strengthening
                }
                (RiskRule::Neutral { .. }, _) => false,
                _ => false,
            };
            assert!(
                ok,
                "{}: rule {} ({}) contradicts the risk rule",
                f.path,
                r.id,
                r.expect.describe()
            );
            assert_ne!(f.compare, Compare::GroupReference, "{}", f.path);
        }
    }

    #[test]
    fn each_kind_of_recommendation_holds_and_fails_as_it_says() {
        assert!(Expect::Equals("false").holds(&json!(false)));
        assert!(!Expect::Equals("false").holds(&json!(true)));
        assert!(Expect::AtLeast(2).holds(&json!(2)));
        assert!(!Expect::AtLeast(2).holds(&json!(1)));
        assert!(!Expect::AtLeast(2).holds(&json!("2")));
        assert!(Expect::AtMost(10).holds(&json!(10)));
        assert!(!Expect::AtMost(10).holds(&json!(11)));
        assert!(Expect::Between(1, 3).holds(&json!(3)));
        assert!(!Expect::Between(1, 3).holds(&json!(0)));
        assert!(Expect::NotEmpty.holds(&json!(["a"])));
        assert!(!Expect::NotEmpty.holds(&json!([])));
        assert!(Expect::OneOf(&["a", "b"]).holds(&json!("b")));
        assert!(!Expect::OneOf(&["a", "b"]).holds(&json!("c")));
    }
}
