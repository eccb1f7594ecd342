//! Security classification of a change: weakening, strengthening or neutral,
//! with a one-line reason and the benchmark control it touches.
//!
//! Controls cited: CIS Microsoft Azure Foundations Benchmark v4.0 (section 6,
//! "Identity Services", SSPR recommendations), CIS Microsoft 365 Foundations
//! Benchmark, CISA SCuBA Microsoft Entra ID baseline (MS.AAD), and Maester's
//! EIDSCA checks.

use serde_json::Value;

use crate::types::Risk;

/// The classification of one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Effect on security.
    pub risk: Risk,
    /// Why.
    pub reason: String,
    /// The control it touches.
    pub control: Option<&'static str>,
}

const CIS_METHODS: &str = "CIS Azure 6.5: number of methods required to reset is 2";
const CIS_NOTIFY_USERS: &str = "CIS Azure 6.10: notify users on password resets";
const CIS_NOTIFY_ADMINS: &str =
    "CIS Azure: notify all admins when other admins reset their password";
const CIS_RECONFIRM: &str = "CIS Azure: days before users are asked to reconfirm is not 0";
const CIS_SSPR_ALL: &str = "CIS M365: self-service password reset enabled for all";
const EIDSCA_AP01: &str = "EIDSCA.AP01: SSPR for administrators disabled";
const SCUBA_WEAK_METHODS: &str = "CISA SCuBA MS.AAD.3.5: SMS, voice and email OTP disabled";
const SCUBA_CONTEXT: &str = "CISA SCuBA MS.AAD.3.3: Authenticator shows login context";
const SCUBA_MIGRATION: &str = "CISA SCuBA MS.AAD.3.4: authentication methods migration complete";
const CIS_BANNED: &str = "CIS M365: custom banned password list enforced";
const CIS_ONPREM: &str = "CIS M365: password protection enabled for on-premises AD";

fn c(risk: Risk, reason: impl Into<String>, control: Option<&'static str>) -> Classification {
    Classification {
        risk,
        reason: reason.into(),
        control,
    }
}

fn neutral() -> Classification {
    c(Risk::Neutral, "no direct effect on security", None)
}

fn direction(up_is_stronger: bool, before: &Value, after: &Value) -> Option<bool> {
    let (b, a) = (before.as_f64()?, after.as_f64()?);
    if a == b {
        return None;
    }
    Some((a > b) == up_is_stronger)
}

fn stronger_if(
    cond: Option<bool>,
    up: &str,
    down: &str,
    control: Option<&'static str>,
) -> Classification {
    match cond {
        Some(true) => c(Risk::Strengthening, up, control),
        Some(false) => c(Risk::Weakening, down, control),
        None => neutral(),
    }
}

fn turned(after: &Value) -> Option<bool> {
    after.as_bool().or_else(|| match after.as_str() {
        Some("enabled") => Some(true),
        Some("disabled") | Some("default") => Some(false),
        _ => None,
    })
}

/// Classifies setting `path` changing from `before` to `after`.
pub fn classify(path: &str, before: &Value, after: &Value) -> Classification {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let on = turned(after);
    match path {
        "selfServicePasswordReset.enabledFor" => {
            let rank = |v: &Value| match v.as_str() {
                Some("all") => Some(2.0),
                Some("selected") => Some(1.0),
                Some("none") => Some(0.0),
                _ => None,
            };
            let cond = rank(before)
                .zip(rank(after))
                .and_then(|(b, a)| (a != b).then_some(a > b));
            stronger_if(
                cond,
                "more users can recover their account themselves",
                "fewer users can reset their password themselves",
                Some(CIS_SSPR_ALL),
            )
        }
        "selfServicePasswordReset.methodsRequired" => stronger_if(
            direction(true, before, after),
            "an attacker must compromise more methods to reset a password",
            "one compromised method is enough to reset a password",
            Some(CIS_METHODS),
        ),
        "selfServicePasswordReset.methods.securityQuestions" => stronger_if(
            on.map(|o| !o),
            "security questions (guessable) no longer reset passwords",
            "security questions are guessable and phishable",
            None,
        ),
        "selfServicePasswordReset.securityQuestions.numberToReset" => stronger_if(
            direction(true, before, after),
            "more questions must be answered",
            "fewer questions must be answered",
            None,
        ),
        "selfServicePasswordReset.registration.requireOnSignIn" => stronger_if(
            on,
            "users register reset methods before they need them",
            "users may never register reset methods",
            None,
        ),
        "selfServicePasswordReset.registration.reconfirmAfterDays" => {
            let days = |v: &Value| v.as_f64().map(|d| if d == 0.0 { f64::INFINITY } else { d });
            let cond = days(before)
                .zip(days(after))
                .and_then(|(b, a)| (a != b).then_some(a < b));
            stronger_if(
                cond,
                "stale reset methods are reconfirmed sooner",
                "stale reset methods are reconfirmed later (0 = never)",
                Some(CIS_RECONFIRM),
            )
        }
        "selfServicePasswordReset.notifications.notifyUsersOnReset" => stronger_if(
            on,
            "users learn of resets they did not make",
            "users are not told when their password is reset",
            Some(CIS_NOTIFY_USERS),
        ),
        "selfServicePasswordReset.notifications.notifyAdminsOnAdminReset" => stronger_if(
            on,
            "admins learn when another admin resets a password",
            "admin password resets go unnoticed",
            Some(CIS_NOTIFY_ADMINS),
        ),
        "administratorPasswordReset.enabled" => stronger_if(
            on.map(|o| !o),
            "administrators cannot reset their password themselves",
            "administrators can reset their own password with SSPR",
            Some(EIDSCA_AP01),
        ),
        "authenticationMethods.migrationState" => {
            if after.as_str() == Some("migrationComplete") {
                c(
                    Risk::Strengthening,
                    "one policy governs every method",
                    Some(SCUBA_MIGRATION),
                )
            } else if before.as_str() == Some("migrationComplete") {
                c(
                    Risk::Weakening,
                    "legacy method policies apply again",
                    Some(SCUBA_MIGRATION),
                )
            } else {
                neutral()
            }
        }
        "authenticationMethods.sms.state"
        | "authenticationMethods.voice.state"
        | "authenticationMethods.email.state" => stronger_if(
            on.map(|o| !o),
            "a phishable method is turned off",
            "a phishable method is turned on",
            Some(SCUBA_WEAK_METHODS),
        ),
        "authenticationMethods.fido2.state"
        | "authenticationMethods.microsoftAuthenticator.state"
        | "authenticationMethods.x509Certificate.state" => stronger_if(
            on,
            "a strong method becomes available",
            "a strong method is taken away",
            None,
        ),
        "authenticationMethods.microsoftAuthenticator.showApplicationName"
        | "authenticationMethods.microsoftAuthenticator.showLocation" => stronger_if(
            on,
            "push prompts show their context (MFA fatigue)",
            "push prompts hide their context (MFA fatigue)",
            Some(SCUBA_CONTEXT),
        ),
        "authenticationMethods.registrationCampaign.state" => stronger_if(
            on,
            "users are nudged to register Authenticator",
            "users are no longer nudged to register Authenticator",
            None,
        ),
        "authenticationMethods.temporaryAccessPass.oneTimeUse" => stronger_if(
            on,
            "a pass works only once",
            "a pass can be reused until it expires",
            None,
        ),
        "authenticationMethods.temporaryAccessPass.defaultLifetimeMinutes"
        | "authenticationMethods.temporaryAccessPass.maximumLifetimeMinutes" => stronger_if(
            direction(false, before, after),
            "passes expire sooner",
            "passes live longer",
            None,
        ),
        "passwordProtection.lockoutThreshold" => stronger_if(
            direction(false, before, after),
            "fewer guesses before lockout",
            "more guesses before lockout",
            None,
        ),
        "passwordProtection.lockoutDurationSeconds" => stronger_if(
            direction(true, before, after),
            "longer lockouts slow guessing",
            "shorter lockouts speed up guessing",
            None,
        ),
        "passwordProtection.enforceBannedPasswords" => stronger_if(
            on,
            "the custom banned list is enforced",
            "the custom banned list is not enforced",
            Some(CIS_BANNED),
        ),
        "passwordProtection.bannedPasswords" => {
            let set = |v: &Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect()
            };
            let (b, a) = (set(before), set(after));
            let removed = b.iter().filter(|t| !a.contains(t)).count();
            let added = a.iter().filter(|t| !b.contains(t)).count();
            if removed > 0 {
                c(
                    Risk::Weakening,
                    format!(
                        "{removed} banned term{} removed",
                        if removed == 1 { "" } else { "s" }
                    ),
                    Some(CIS_BANNED),
                )
            } else if added > 0 {
                c(
                    Risk::Strengthening,
                    format!(
                        "{added} banned term{} added",
                        if added == 1 { "" } else { "s" }
                    ),
                    Some(CIS_BANNED),
                )
            } else {
                neutral()
            }
        }
        "passwordProtection.onPremisesEnabled" => stronger_if(
            on,
            "domain controllers check banned passwords",
            "domain controllers stop checking banned passwords",
            Some(CIS_ONPREM),
        ),
        "passwordProtection.onPremisesMode" => stronger_if(
            after.as_str().map(|m| m == "enforce"),
            "banned passwords are rejected on-premises",
            "banned passwords are only audited on-premises",
            Some(CIS_ONPREM),
        ),
        _ if leaf == "exclude" => {
            let len = |v: &Value| v.as_array().map_or(0, Vec::len) as f64;
            stronger_if(
                direction(false, &len(before).into(), &len(after).into()),
                "fewer exclusions",
                "more exclusions from the policy",
                None,
            )
        }
        _ => neutral(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fewer_methods_required_is_weakening() {
        let k = classify(
            "selfServicePasswordReset.methodsRequired",
            &json!(2),
            &json!(1),
        );
        assert_eq!(k.risk, Risk::Weakening);
        assert_eq!(k.control, Some(CIS_METHODS));
        assert_eq!(
            classify(
                "selfServicePasswordReset.methodsRequired",
                &json!(1),
                &json!(2)
            )
            .risk,
            Risk::Strengthening
        );
    }

    #[test]
    fn enabling_security_questions_is_weakening() {
        assert_eq!(
            classify(
                "selfServicePasswordReset.methods.securityQuestions",
                &json!(false),
                &json!(true)
            )
            .risk,
            Risk::Weakening
        );
    }

    #[test]
    fn turning_off_admin_notifications_is_weakening() {
        assert_eq!(
            classify(
                "selfServicePasswordReset.notifications.notifyAdminsOnAdminReset",
                &json!(true),
                &json!(false)
            )
            .risk,
            Risk::Weakening
        );
    }

    #[test]
    fn reconfirm_zero_means_never_and_is_weakening() {
        assert_eq!(
            classify(
                "selfServicePasswordReset.registration.reconfirmAfterDays",
                &json!(180),
                &json!(0)
            )
            .risk,
            Risk::Weakening
        );
        assert_eq!(
            classify(
                "selfServicePasswordReset.registration.reconfirmAfterDays",
                &json!(0),
                &json!(180)
            )
            .risk,
            Risk::Strengthening
        );
    }

    #[test]
    fn removing_a_banned_term_is_weakening_even_when_adding_others() {
        let k = classify(
            "passwordProtection.bannedPasswords",
            &json!(["contoso", "fabrikam"]),
            &json!(["contoso", "northwind", "tailspin"]),
        );
        assert_eq!(k.risk, Risk::Weakening);
        assert_eq!(k.reason, "1 banned term removed");
    }

    #[test]
    fn enabling_sms_is_weakening_and_fido2_strengthening() {
        assert_eq!(
            classify(
                "authenticationMethods.sms.state",
                &json!("disabled"),
                &json!("enabled")
            )
            .risk,
            Risk::Weakening
        );
        assert_eq!(
            classify(
                "authenticationMethods.fido2.state",
                &json!("disabled"),
                &json!("enabled")
            )
            .risk,
            Risk::Strengthening
        );
    }

    #[test]
    fn helpdesk_link_is_neutral() {
        assert_eq!(
            classify(
                "selfServicePasswordReset.helpdesk.contact",
                &json!(""),
                &json!("https://x.example")
            )
            .risk,
            Risk::Neutral
        );
    }
}
