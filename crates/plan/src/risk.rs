//! Security classification of a change: weakening, strengthening or neutral,
//! with a one-line reason and the benchmark controls it touches.
//!
//! Every setting's rule and reasons are in the field catalog
//! (`ssprctl_model::catalog`); this module only reads a rule the right way
//! round. It fails closed: a change whose direction cannot be told (a live value
//! of an unexpected form) or a path the catalog does not know is weakening, so
//! it needs `--allow-weakening` and a reviewer's eye.

use serde_json::Value;
use ssprctl_model::catalog::{self, Compare, Effect, Field, RiskRule};

use crate::types::Risk;

/// The model's name for every user as a method target.
const ALL_USERS: &str = "allUsers";

/// The classification of one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Effect on security.
    pub risk: Risk,
    /// Why.
    pub reason: String,
    /// The controls it touches, joined for one line.
    pub control: Option<String>,
}

fn risk_of(effect: Effect) -> Risk {
    match effect {
        Effect::Weakening => Risk::Weakening,
        Effect::Strengthening => Risk::Strengthening,
    }
}

/// Classifies setting `path` changing from `before` to `after`.
pub fn classify(path: &str, before: &Value, after: &Value) -> Classification {
    match catalog::by_path(path) {
        Some(field) => classify_field(field, before, after),
        None => Classification {
            risk: Risk::Weakening,
            reason: "ssprctl has no rule for this setting; treated as weakening".to_string(),
            control: None,
        },
    }
}

/// Classifies a change of one catalog field.
pub fn classify_field(field: &Field, before: &Value, after: &Value) -> Classification {
    let (risk, reason) = decide(field, before, after);
    Classification {
        risk,
        reason,
        control: field.controls_line(),
    }
}

/// The reason given when the direction cannot be told.
fn undecidable(before: &Value, after: &Value) -> (Risk, String) {
    (
        Risk::Weakening,
        format!("the direction of {before} -> {after} cannot be told; treated as weakening"),
    )
}

fn decide(field: &Field, before: &Value, after: &Value) -> (Risk, String) {
    match field.risk {
        RiskRule::Switch {
            on,
            why_on,
            why_off,
        } => match switched_on(after) {
            Some(true) => (risk_of(on), why_on.to_string()),
            Some(false) => (risk_of(on.opposite()), why_off.to_string()),
            None => undecidable(before, after),
        },
        RiskRule::Number {
            up,
            why_up,
            why_down,
        } => match (before.as_f64(), after.as_f64()) {
            (Some(b), Some(a)) if a > b => (risk_of(up), why_up.to_string()),
            (Some(b), Some(a)) if a < b => (risk_of(up.opposite()), why_down.to_string()),
            _ => undecidable(before, after),
        },
        RiskRule::Interval {
            why_sooner,
            why_later,
        } => {
            // 0 means never: the longest interval of all.
            let days = |v: &Value| v.as_f64().map(|d| if d == 0.0 { f64::INFINITY } else { d });
            match (days(before), days(after)) {
                (Some(b), Some(a)) if a < b => (Risk::Strengthening, why_sooner.to_string()),
                (Some(b), Some(a)) if a > b => (Risk::Weakening, why_later.to_string()),
                _ => undecidable(before, after),
            }
        }
        RiskRule::Ranked {
            order,
            up,
            why_up,
            why_down,
        } => {
            let rank = |v: &Value| v.as_str().and_then(|s| order.iter().position(|o| *o == s));
            match (rank(before), rank(after)) {
                (Some(b), Some(a)) if a > b => (risk_of(up), why_up.to_string()),
                (Some(b), Some(a)) if a < b => (risk_of(up.opposite()), why_down.to_string()),
                _ => undecidable(before, after),
            }
        }
        RiskRule::Members {
            added,
            why_added,
            why_removed,
        } => {
            let fold = matches!(
                field.compare,
                Compare::CaseInsensitiveSet | Compare::Targets
            );
            let (Some(b), Some(a)) = (members(before, fold), members(after, fold)) else {
                return undecidable(before, after);
            };
            let plus = a.iter().filter(|t| !b.contains(t)).count();
            let minus = b.iter().filter(|t| !a.contains(t)).count();
            let counts = match (plus, minus) {
                (0, m) => format!("{m} removed"),
                (p, 0) => format!("{p} added"),
                (p, m) => format!("{p} added, {m} removed"),
            };
            let all = |list: &[String]| list.iter().any(|t| t == &ALL_USERS.to_lowercase());
            let (widens, narrows) = match field.compare {
                // allUsers covers every group: it decides the direction alone.
                Compare::Targets if all(&a) != all(&b) => (all(&a), all(&b)),
                Compare::Exact
                | Compare::Set
                | Compare::CaseInsensitiveSet
                | Compare::GroupReference
                | Compare::Targets => (plus > 0, minus > 0),
            };
            // A change that adds and removes is judged by its weakening half.
            let effects = [widens.then_some(added), narrows.then_some(added.opposite())];
            let effect = if effects.contains(&Some(Effect::Weakening)) {
                Some(Effect::Weakening)
            } else if effects.contains(&Some(Effect::Strengthening)) {
                Some(Effect::Strengthening)
            } else {
                None
            };
            match effect {
                Some(e) if e == added => (risk_of(e), format!("{why_added} ({counts})")),
                Some(e) => (risk_of(e), format!("{why_removed} ({counts})")),
                None => (
                    Risk::Neutral,
                    "the same members in another order or case".to_string(),
                ),
            }
        }
        RiskRule::Neutral { why } => (Risk::Neutral, why.to_string()),
    }
}

/// Whether a switch value means on: `true` / `"enabled"` on, `false` /
/// `"disabled"` off.
fn switched_on(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "enabled" => Some(true),
        Value::String(s) if s == "disabled" => Some(false),
        _ => None,
    }
}

/// A list's members as comparable strings; a missing list has none.
fn members(v: &Value, fold: bool) -> Option<Vec<String>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(|s| {
                    if fold {
                        s.to_lowercase()
                    } else {
                        s.to_string()
                    }
                })
            })
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ssprctl_model::catalog::{FIELDS, FieldId};

    use Risk::{Neutral, Strengthening as S, Weakening as W};

    /// The decisions, written out by hand for every field (one direction; the
    /// reverse must be the opposite, except for neutral fields). This table is
    /// the specification a reviewer reads: the catalog must agree with it.
    const DECISIONS: &[(FieldId, Value0, Value0, Risk)] = &[
        (FieldId::SsprEnabledFor, V::S("none"), V::S("all"), S),
        (FieldId::SsprGroup, V::Group("a"), V::Group("b"), Neutral),
        (FieldId::SsprMethodsRequired, V::N(1), V::N(2), S),
        (FieldId::SsprMethodEmail, V::B(false), V::B(true), W),
        (FieldId::SsprMethodMobilePhone, V::B(false), V::B(true), W),
        (FieldId::SsprMethodOfficePhone, V::B(false), V::B(true), W),
        (
            FieldId::SsprMethodSecurityQuestions,
            V::B(false),
            V::B(true),
            W,
        ),
        (
            FieldId::SsprMethodAuthenticatorNotification,
            V::B(false),
            V::B(true),
            S,
        ),
        (
            FieldId::SsprMethodAuthenticatorCode,
            V::B(false),
            V::B(true),
            S,
        ),
        (FieldId::SsprQuestionsToRegister, V::N(3), V::N(5), Neutral),
        (FieldId::SsprQuestionsToReset, V::N(3), V::N(5), S),
        (
            FieldId::SsprQuestions,
            V::L(&["A?"]),
            V::L(&["A?", "B?"]),
            Neutral,
        ),
        (FieldId::SsprRequireRegistration, V::B(false), V::B(true), S),
        (FieldId::SsprReconfirmDays, V::N(180), V::N(0), W),
        (FieldId::SsprSkipRegistration, V::B(false), V::B(true), W),
        (FieldId::SsprSkipRegistrationDays, V::N(7), V::N(14), W),
        (FieldId::SsprNotifyUsers, V::B(true), V::B(false), W),
        (FieldId::SsprNotifyAdmins, V::B(true), V::B(false), W),
        (
            FieldId::SsprHelpdeskCustomLink,
            V::B(false),
            V::B(true),
            Neutral,
        ),
        (
            FieldId::SsprHelpdeskContact,
            V::S(""),
            V::S("https://help.example"),
            Neutral,
        ),
        (FieldId::OnPremPasswordWriteback, V::B(false), V::B(true), W),
        (
            FieldId::OnPremUnlockWithoutReset,
            V::B(false),
            V::B(true),
            W,
        ),
        (FieldId::AdminSspr, V::B(false), V::B(true), W),
        (
            FieldId::MigrationState,
            V::S("preMigration"),
            V::S("migrationComplete"),
            S,
        ),
        (FieldId::CampaignState, V::S("disabled"), V::S("enabled"), S),
        (FieldId::CampaignSnoozeDays, V::N(1), V::N(14), W),
        (FieldId::CampaignEnforce, V::B(true), V::B(false), W),
        (FieldId::CampaignInclude, V::L(&[]), V::L(&["allUsers"]), S),
        (FieldId::CampaignExclude, V::L(&[]), V::L(&["g1"]), W),
        (FieldId::EmailState, V::S("disabled"), V::S("enabled"), W),
        (
            FieldId::EmailInclude,
            V::L(&["g1"]),
            V::L(&["g1", "allUsers"]),
            W,
        ),
        (FieldId::EmailExclude, V::L(&[]), V::L(&["g1"]), S),
        (
            FieldId::EmailExternalUsers,
            V::S("disabled"),
            V::S("enabled"),
            W,
        ),
        (FieldId::SmsState, V::S("disabled"), V::S("enabled"), W),
        (FieldId::SmsInclude, V::L(&[]), V::L(&["allUsers"]), W),
        (FieldId::SmsExclude, V::L(&["g1"]), V::L(&[]), W),
        (FieldId::VoiceState, V::S("disabled"), V::S("enabled"), W),
        (FieldId::VoiceInclude, V::L(&[]), V::L(&["g1"]), W),
        (FieldId::VoiceExclude, V::L(&[]), V::L(&["g1"]), S),
        (FieldId::VoiceOfficePhone, V::B(false), V::B(true), W),
        (
            FieldId::AuthenticatorState,
            V::S("disabled"),
            V::S("enabled"),
            S,
        ),
        (
            FieldId::AuthenticatorInclude,
            V::L(&["allUsers"]),
            V::L(&["g1"]),
            W,
        ),
        (FieldId::AuthenticatorExclude, V::L(&[]), V::L(&["g1"]), W),
        (FieldId::AuthenticatorOtp, V::B(false), V::B(true), W),
        (
            FieldId::AuthenticatorShowApp,
            V::S("default"),
            V::S("enabled"),
            S,
        ),
        (
            FieldId::AuthenticatorShowLocation,
            V::S("enabled"),
            V::S("disabled"),
            W,
        ),
        (
            FieldId::SoftwareOathState,
            V::S("disabled"),
            V::S("enabled"),
            W,
        ),
        (FieldId::SoftwareOathInclude, V::L(&[]), V::L(&["g1"]), W),
        (FieldId::SoftwareOathExclude, V::L(&[]), V::L(&["g1"]), S),
        (
            FieldId::HardwareOathState,
            V::S("disabled"),
            V::S("enabled"),
            W,
        ),
        (FieldId::HardwareOathInclude, V::L(&[]), V::L(&["g1"]), W),
        (FieldId::HardwareOathExclude, V::L(&[]), V::L(&["g1"]), S),
        (FieldId::TapState, V::S("disabled"), V::S("enabled"), W),
        (FieldId::TapInclude, V::L(&["g1"]), V::L(&["allUsers"]), W),
        (FieldId::TapExclude, V::L(&[]), V::L(&["admins"]), S),
        (FieldId::TapDefaultLifetime, V::N(60), V::N(480), W),
        (FieldId::TapMinimumLifetime, V::N(60), V::N(10), S),
        (FieldId::TapMaximumLifetime, V::N(480), V::N(43200), W),
        (FieldId::TapLength, V::N(8), V::N(16), S),
        (FieldId::TapOneTimeUse, V::B(false), V::B(true), S),
        (FieldId::Fido2State, V::S("disabled"), V::S("enabled"), S),
        (FieldId::Fido2Include, V::L(&[]), V::L(&["allUsers"]), S),
        (FieldId::Fido2Exclude, V::L(&[]), V::L(&["g1"]), W),
        (FieldId::Fido2SelfService, V::B(true), V::B(false), W),
        (FieldId::Fido2Attestation, V::B(true), V::B(false), W),
        (FieldId::X509State, V::S("enabled"), V::S("disabled"), W),
        (FieldId::X509Include, V::L(&[]), V::L(&["g1"]), S),
        (FieldId::X509Exclude, V::L(&["g1"]), V::L(&[]), S),
        (FieldId::LockoutThreshold, V::N(10), V::N(50), W),
        (FieldId::LockoutDuration, V::N(60), V::N(300), S),
        (FieldId::EnforceBannedPasswords, V::B(true), V::B(false), W),
        (FieldId::BannedPasswords, V::L(&["contoso"]), V::L(&[]), W),
        (FieldId::OnPremProtection, V::B(false), V::B(true), S),
        (
            FieldId::OnPremProtectionMode,
            V::S("enforce"),
            V::S("audit"),
            W,
        ),
    ];

    /// A value written compactly in the table above.
    #[derive(Clone, Copy, Debug)]
    enum V {
        B(bool),
        N(u64),
        S(&'static str),
        L(&'static [&'static str]),
        Group(&'static str),
    }
    type Value0 = V;

    impl V {
        fn json(self) -> Value {
            match self {
                V::B(b) => json!(b),
                V::N(n) => json!(n),
                V::S(s) => json!(s),
                V::L(items) => json!(items),
                V::Group(id) => json!({"id": id, "displayName": id}),
            }
        }
    }

    fn opposite(r: Risk) -> Risk {
        match r {
            W => S,
            S => W,
            Neutral => Neutral,
        }
    }

    #[test]
    fn every_field_has_a_written_decision() {
        for f in &FIELDS {
            let n = DECISIONS.iter().filter(|(id, ..)| *id == f.id).count();
            assert_eq!(n, 1, "{} has {n} rows in DECISIONS", f.path);
        }
    }

    #[test]
    fn every_field_is_classified_as_decided_in_both_directions() {
        for (id, before, after, expected) in DECISIONS {
            let f = id.spec();
            let forward = classify(f.path, &before.json(), &after.json());
            assert_eq!(
                forward.risk, *expected,
                "{}: {before:?} -> {after:?}",
                f.path
            );
            assert!(!forward.reason.is_empty(), "{}: no reason", f.path);
            assert_eq!(forward.control, f.controls_line(), "{}", f.path);
            let back = classify(f.path, &after.json(), &before.json());
            assert_eq!(
                back.risk,
                opposite(*expected),
                "{}: {after:?} -> {before:?}",
                f.path
            );
            assert_ne!(forward.reason, "", "{}", f.path);
            if *expected != Neutral {
                assert_ne!(
                    forward.reason, back.reason,
                    "{}: one reason for both ways",
                    f.path
                );
            }
        }
    }

    #[test]
    fn an_unknown_path_or_an_unreadable_direction_fails_closed() {
        assert_eq!(classify("nope.x", &json!(1), &json!(2)).risk, W);
        let k = classify(
            "selfServicePasswordReset.methodsRequired",
            &Value::Null,
            &json!(1),
        );
        assert_eq!(k.risk, W);
        assert!(k.reason.contains("cannot be told"), "{}", k.reason);
        assert_eq!(
            classify(
                "authenticationMethods.sms.state",
                &Value::Null,
                &json!("bogus")
            )
            .risk,
            W
        );
    }

    #[test]
    fn reconfirm_zero_means_never() {
        let path = "selfServicePasswordReset.registration.reconfirmAfterDays";
        assert_eq!(classify(path, &json!(0), &json!(730)).risk, S);
        assert_eq!(classify(path, &json!(90), &json!(180)).risk, W);
    }

    #[test]
    fn a_list_change_that_adds_and_removes_is_judged_by_its_weakening_half() {
        let k = classify(
            "passwordProtection.bannedPasswords",
            &json!(["contoso", "fabrikam"]),
            &json!(["contoso", "northwind", "tailspin"]),
        );
        assert_eq!(k.risk, W);
        assert!(k.reason.ends_with("(2 added, 1 removed)"), "{}", k.reason);
        // Swapping which group may use SMS might widen it: weakening.
        let k = classify(
            "authenticationMethods.sms.include",
            &json!(["g1"]),
            &json!(["g2"]),
        );
        assert_eq!(k.risk, W);
        // Case alone is no change for case-insensitive lists.
        let k = classify(
            "passwordProtection.bannedPasswords",
            &json!(["Contoso"]),
            &json!(["contoso"]),
        );
        assert_eq!(k.risk, Neutral);
    }

    #[test]
    fn controls_are_named_with_their_benchmark() {
        let k = classify(
            "selfServicePasswordReset.methodsRequired",
            &json!(2),
            &json!(1),
        );
        assert_eq!(
            k.control.as_deref(),
            Some("CIS Azure 6.5: number of methods required to reset is 2")
        );
        let k = classify(
            "authenticationMethods.sms.state",
            &json!("disabled"),
            &json!("enabled"),
        );
        assert_eq!(
            k.control.as_deref(),
            Some(
                "CISA SCuBA MS.AAD.3.5: SMS, voice call and email one-time passcode disabled; CIS M365 5.2.3.5: weak authentication methods disabled"
            )
        );
    }
}
