//! Readiness: the effect of a plan on people, when it changes who may reset
//! (`enabledFor`, `group`) or how many methods they need (`methodsRequired`).
//! Pure: the caller reads the registration report and group members.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use ssprctl_model::{ObservedTenant, Population};

use ssprctl_model::FieldId;

use crate::planner::{to_object, value_at};
use crate::types::{Finding, Severity, TenantPlan};

const ENABLED_FOR: &str = "selfServicePasswordReset.enabledFor";
const GROUP: &str = "selfServicePasswordReset.group";
const REQUIRED: &str = "selfServicePasswordReset.methodsRequired";

/// Registered methods that can reset a password. The Authenticator app counts
/// once, whether registered for push, codes or both (reference §7a; the
/// emulator counts the same way).
const RESET_METHODS: &[&[&str]] = &[
    &["email"],
    &["mobilePhone", "alternateMobilePhone"],
    &["officePhone"],
    &["securityQuestion"],
    &[
        "microsoftAuthenticatorPush",
        "softwareOneTimePasscode",
        "microsoftAuthenticatorPasswordless",
    ],
    &["hardwareOneTimePasscode"],
];

/// The legacy SSPR method toggles (catalog fields) and the registered
/// methods of the registration report each one lets a user reset with. The
/// Authenticator's notification and code share one registration, and an
/// OATH hardware token resets as a "mobile app code" (reference §7a).
const TOGGLES: &[(FieldId, &[&str])] = &[
    (FieldId::SsprMethodEmail, &["email"]),
    (
        FieldId::SsprMethodMobilePhone,
        &["mobilePhone", "alternateMobilePhone"],
    ),
    (FieldId::SsprMethodOfficePhone, &["officePhone"]),
    (FieldId::SsprMethodSecurityQuestions, &["securityQuestion"]),
    (
        FieldId::SsprMethodAuthenticatorNotification,
        &[
            "microsoftAuthenticatorPush",
            "softwareOneTimePasscode",
            "microsoftAuthenticatorPasswordless",
        ],
    ),
    (
        FieldId::SsprMethodAuthenticatorCode,
        &[
            "microsoftAuthenticatorPush",
            "softwareOneTimePasscode",
            "microsoftAuthenticatorPasswordless",
            "hardwareOneTimePasscode",
        ],
    ),
];

/// Reset methods turned off by the plan.
fn methods_turned_off(tp: &TenantPlan) -> Vec<&'static str> {
    TOGGLES
        .iter()
        .map(|(id, _)| id.spec().path)
        .filter(|path| {
            tp.changes
                .iter()
                .any(|c| c.path == *path && c.after == Value::Bool(false))
        })
        .collect()
}

/// The authentication-methods policy's methods that can reset a password:
/// their state, include and exclude targets (catalog fields), and the
/// registered methods of the registration report each one lets a user use.
const POLICY_METHODS: &[(FieldId, FieldId, FieldId, &[&str])] = &[
    (
        FieldId::EmailState,
        FieldId::EmailInclude,
        FieldId::EmailExclude,
        &["email"],
    ),
    (
        FieldId::SmsState,
        FieldId::SmsInclude,
        FieldId::SmsExclude,
        &["mobilePhone", "alternateMobilePhone"],
    ),
    (
        FieldId::VoiceState,
        FieldId::VoiceInclude,
        FieldId::VoiceExclude,
        &["mobilePhone", "alternateMobilePhone", "officePhone"],
    ),
    (
        FieldId::AuthenticatorState,
        FieldId::AuthenticatorInclude,
        FieldId::AuthenticatorExclude,
        &[
            "microsoftAuthenticatorPush",
            "softwareOneTimePasscode",
            "microsoftAuthenticatorPasswordless",
        ],
    ),
    (
        FieldId::SoftwareOathState,
        FieldId::SoftwareOathInclude,
        FieldId::SoftwareOathExclude,
        &["softwareOneTimePasscode"],
    ),
    (
        FieldId::HardwareOathState,
        FieldId::HardwareOathInclude,
        FieldId::HardwareOathExclude,
        &["hardwareOneTimePasscode"],
    ),
];

/// The migration state path (the methods policy governs SSPR once the
/// migration is in progress or complete).
const MIGRATION: FieldId = FieldId::MigrationState;

/// Whether the plan changes the state or targets of a policy method that
/// can reset a password.
fn policy_methods_changed(tp: &TenantPlan) -> bool {
    POLICY_METHODS.iter().any(|(state, include, exclude, _)| {
        [state, include, exclude]
            .iter()
            .any(|id| tp.changes.iter().any(|c| c.path == id.spec().path))
    })
}

/// Whether the plan changes who may reset, how many methods are needed,
/// turns a reset method off, or changes a policy method's state or targets.
pub fn needed(tp: &TenantPlan) -> bool {
    tp.changes
        .iter()
        .any(|c| [ENABLED_FOR, GROUP, REQUIRED].contains(&c.path.as_str()))
        || !methods_turned_off(tp).is_empty()
        || policy_methods_changed(tp)
}

/// Whether a target list reaches a user: `allUsers`, or a group the user is
/// a member of (groups whose members were not read reach nobody).
fn targets_reach(targets: &Value, user: &str, pop: &Population) -> bool {
    targets.as_array().into_iter().flatten().any(|t| {
        t.as_str().is_some_and(|t| {
            t == "allUsers"
                || pop
                    .group_members
                    .get(&t.to_lowercase())
                    .is_some_and(|m| m.contains(user))
        })
    })
}

/// How many reset methods a user registered and may use under the methods
/// policy, on one side of the change (`side` gives a path's value).
fn policy_usable(
    user: &ssprctl_model::RegisteredUser,
    side: &dyn Fn(&str) -> Value,
    pop: &Population,
) -> usize {
    RESET_METHODS
        .iter()
        .filter(|kind| {
            kind.iter().any(|m| {
                user.methods.iter().any(|r| r == m)
                    && POLICY_METHODS
                        .iter()
                        .any(|(state, include, exclude, regs)| {
                            regs.contains(m)
                                && side(state.spec().path) == "enabled"
                                && targets_reach(&side(include.spec().path), &user.id, pop)
                                && !targets_reach(&side(exclude.spec().path), &user.id, pop)
                        })
            })
        })
        .count()
}

/// How many reset methods a user has registered among those the methods
/// `on` allow (by catalog path).
fn usable_methods(methods: &[String], on: &dyn Fn(&str) -> bool) -> usize {
    RESET_METHODS
        .iter()
        .filter(|kind| {
            kind.iter().any(|m| {
                methods.iter().any(|r| r == m)
                    && TOGGLES
                        .iter()
                        .any(|(id, regs)| regs.contains(m) && on(id.spec().path))
            })
        })
        .count()
}

/// Preflight findings that need the population: licensed seats fewer than
/// the users in scope after the change.
pub fn findings(tp: &TenantPlan, observed: &ObservedTenant, pop: &Population) -> Vec<Finding> {
    let Some(l) = &observed.facts.licences else {
        return Vec::new();
    };
    let live = live_json(observed);
    let will = in_scope(
        &after(tp, &live, ENABLED_FOR),
        &after(tp, &live, GROUP),
        pop,
    );
    let scope = u64::try_from(will.len()).unwrap_or(u64::MAX);
    if l.sspr_seats == 0 || scope <= l.sspr_seats {
        return Vec::new();
    }
    vec![Finding {
        severity: Severity::Warning,
        check: "licence-seats".into(),
        path: ENABLED_FOR.into(),
        message: format!(
            "{} in scope after the change, but the subscriptions that license SSPR have {} seat{} (subscribedSkus prepaidUnits.enabled); each user who benefits needs a licence",
            users(will.len()),
            count(usize::try_from(l.sspr_seats).unwrap_or(usize::MAX)),
            if l.sspr_seats == 1 { "" } else { "s" }
        ),
    }]
}

/// The group ids whose members the readiness figures need: the live and the
/// planned SSPR group.
pub fn groups_needed(tp: &TenantPlan, observed: &ObservedTenant) -> Vec<String> {
    let live = live_json(observed);
    let mut out = BTreeSet::new();
    for v in [before(tp, &live, GROUP), after(tp, &live, GROUP)] {
        if let Some(id) = v.get("id").and_then(Value::as_str) {
            out.insert(id.to_lowercase());
        }
    }
    if policy_methods_changed(tp) {
        for (_, include, exclude, _) in POLICY_METHODS {
            for id in [include, exclude] {
                let path = id.spec().path;
                for v in [before(tp, &live, path), after(tp, &live, path)] {
                    for t in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if t != "allUsers" {
                            out.insert(t.to_lowercase());
                        }
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

/// The JSON form of the tenant's live settings, made once per question
/// asked of a tenant: the figures ask for setting values per user and method,
/// and converting the observed settings for each of those was most of an
/// apply's CPU (hundreds of users per tenant).
fn live_json(observed: &ObservedTenant) -> Value {
    Value::Object(to_object(&observed.settings))
}

/// A setting's value before the plan: the change's, else the live one.
fn before(tp: &TenantPlan, live: &Value, path: &str) -> Value {
    tp.changes
        .iter()
        .find(|c| c.path == path)
        .map(|c| c.before.clone())
        .unwrap_or_else(|| value_at(live, path).cloned().unwrap_or(Value::Null))
}

/// A setting's value after the plan: the change's, else the live one.
fn after(tp: &TenantPlan, live: &Value, path: &str) -> Value {
    tp.changes
        .iter()
        .find(|c| c.path == path)
        .map(|c| c.after.clone())
        .unwrap_or_else(|| value_at(live, path).cloned().unwrap_or(Value::Null))
}

/// The users of the registration report by id.
fn by_id(pop: &Population) -> HashMap<&str, &ssprctl_model::RegisteredUser> {
    pop.users.iter().map(|u| (u.id.as_str(), u)).collect()
}

/// The user ids who may reset under a scope.
fn in_scope(enabled_for: &Value, group: &Value, pop: &Population) -> BTreeSet<String> {
    let members = group
        .get("id")
        .and_then(Value::as_str)
        .and_then(|g| pop.group_members.get(&g.to_lowercase()));
    pop.users
        .iter()
        .filter(|u| !u.is_admin)
        .filter(|u| match enabled_for.as_str() {
            Some("all") => true,
            Some("selected") => members.is_some_and(|m| m.contains(&u.id)),
            _ => false,
        })
        .map(|u| u.id.clone())
        .collect()
}

/// How many distinct reset methods a user has registered.
pub fn reset_methods(methods: &[String]) -> usize {
    RESET_METHODS
        .iter()
        .filter(|kind| kind.iter().any(|m| methods.iter().any(|r| r == m)))
        .count()
}

fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn users(n: usize) -> String {
    format!("{} user{}", count(n), if n == 1 { "" } else { "s" })
}

/// The readiness sentences of a tenant's plan.
pub fn readiness(tp: &TenantPlan, observed: &ObservedTenant, pop: &Population) -> Vec<String> {
    if !needed(tp) {
        return Vec::new();
    }
    let live = live_json(observed);
    let users_by_id = by_id(pop);
    let required = |v: Value| v.as_u64().unwrap_or(1) as usize;
    let (req_before, req_after) = (
        required(before(tp, &live, REQUIRED)),
        required(after(tp, &live, REQUIRED)),
    );
    let was = in_scope(
        &before(tp, &live, ENABLED_FOR),
        &before(tp, &live, GROUP),
        pop,
    );
    let will = in_scope(
        &after(tp, &live, ENABLED_FOR),
        &after(tp, &live, GROUP),
        pop,
    );
    let methods = |id: &String| {
        users_by_id
            .get(id.as_str())
            .map_or(0, |u| reset_methods(&u.methods))
    };
    let mut out = Vec::new();
    if was.is_empty() && will.is_empty() {
        out.push(
            "SSPR is not enabled for any user before or after the change: nobody is affected"
                .into(),
        );
        return out;
    }

    let gained: Vec<&String> = will.difference(&was).collect();
    let lost = was.difference(&will).count();
    if !gained.is_empty() {
        let unregistered = gained.iter().filter(|id| methods(id) < req_after).count();
        out.push(format!(
            "SSPR enabled for {} more user{}, {} of them not registered for {} method{}",
            count(gained.len()),
            if gained.len() == 1 { "" } else { "s" },
            count(unregistered),
            req_after,
            if req_after == 1 { "" } else { "s" }
        ));
    }
    if lost > 0 {
        out.push(format!(
            "SSPR no longer available to {} (they will need the helpdesk)",
            users(lost)
        ));
    }
    if req_after > req_before {
        let short: usize = will
            .iter()
            .filter(|id| methods(id) < req_after && methods(id) >= req_before)
            .count();
        out.push(format!(
            "methods required {req_before} -> {req_after}: {} in scope {} only {} method{} registered",
            users(short),
            if short == 1 { "has" } else { "have" },
            req_before,
            if req_before == 1 { "" } else { "s" }
        ));
    } else if req_after < req_before {
        let freed = will
            .iter()
            .filter(|id| methods(id) < req_before && methods(id) >= req_after)
            .count();
        out.push(format!(
            "methods required {req_before} -> {req_after}: {} more in scope can reset",
            users(freed)
        ));
    }
    let off = methods_turned_off(tp);
    if !off.is_empty() {
        let on = |path: &str, side: &dyn Fn(&str) -> Value| side(path) == Value::Bool(true);
        let before_on = |p: &str| on(p, &|q| before(tp, &live, q));
        let after_on = |p: &str| on(p, &|q| after(tp, &live, q));
        let enough = |id: &String, allowed: &dyn Fn(&str) -> bool, req: usize| {
            users_by_id
                .get(id.as_str())
                .is_some_and(|u| usable_methods(&u.methods, allowed) >= req)
        };
        let short = will
            .iter()
            .filter(|id| {
                !enough(id, &after_on, req_after)
                    && (!was.contains(*id) || enough(id, &before_on, req_before))
            })
            .count();
        let names: Vec<&str> = off
            .iter()
            .map(|p| p.rsplit('.').next().unwrap_or(p))
            .collect();
        out.push(format!(
            "{} turned off: {} in scope left with fewer than {req_after} registered reset method{} they can use",
            names.join(", "),
            users(short),
            if req_after == 1 { "" } else { "s" }
        ));
    }
    let governs = |v: Value| {
        matches!(
            v.as_str(),
            Some("migrationInProgress" | "migrationComplete")
        )
    };
    if policy_methods_changed(tp) && governs(after(tp, &live, MIGRATION.spec().path)) {
        let governed_before = governs(before(tp, &live, MIGRATION.spec().path));
        let side_before = |p: &str| before(tp, &live, p);
        let side_after = |p: &str| after(tp, &live, p);
        let short = will
            .iter()
            .filter_map(|id| users_by_id.get(id.as_str()).copied())
            .filter(|u| {
                policy_usable(u, &side_after, pop) < req_after
                    && (!was.contains(&u.id)
                        || !governed_before
                        || policy_usable(u, &side_before, pop) >= req_before)
            })
            .count();
        out.push(format!(
            "authentication-methods policy changed: {} in scope left with fewer than {req_after} registered reset method{} the policy lets them use",
            users(short),
            if req_after == 1 { "" } else { "s" }
        ));
    }
    out.push(format!(
        "in scope after the change: {}, {} of them registered",
        users(will.len()),
        count(will.iter().filter(|id| methods(id) >= req_after).count())
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssprctl_model::RegisteredUser;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(1240), "1,240");
        assert_eq!(count(312), "312");
        assert_eq!(count(1_000_000), "1,000,000");
    }

    #[test]
    fn authenticator_push_and_code_count_once() {
        let m = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            reset_methods(&m(&[
                "microsoftAuthenticatorPush",
                "softwareOneTimePasscode"
            ])),
            1
        );
        assert_eq!(
            reset_methods(&m(&["email", "mobilePhone", "windowsHelloForBusiness"])),
            2
        );
    }

    #[test]
    fn enabling_for_all_counts_new_and_unregistered_users() {
        use crate::types::{Action, Change, Risk};
        let user = |id: &str, admin: bool, methods: &[&str]| RegisteredUser {
            id: id.into(),
            is_admin: admin,
            methods: methods.iter().map(|s| s.to_string()).collect(),
        };
        let pop = Population {
            users: vec![
                user("a", false, &["email", "mobilePhone"]),
                user("b", false, &["email"]),
                user("c", false, &[]),
                user("d", true, &["email"]),
            ],
            group_members: Default::default(),
        };
        let change = |path: &str, before: Value, after: Value| Change {
            path: path.into(),
            api: ssprctl_model::Api::PortalPasswordReset,
            action: Action::Update,
            before,
            after,
            risk: Risk::Neutral,
            reason: String::new(),
            control: None,
        };
        let tp = TenantPlan {
            name: "t".into(),
            tenant_id: "x".into(),
            changes: vec![
                change(ENABLED_FOR, "none".into(), "all".into()),
                change(REQUIRED, 1.into(), 2.into()),
            ],
            ..Default::default()
        };
        let lines = readiness(&tp, &ObservedTenant::default(), &pop);
        assert_eq!(
            lines[0],
            "SSPR enabled for 3 more users, 2 of them not registered for 2 methods"
        );
        assert_eq!(
            lines[1],
            "methods required 1 -> 2: 1 user in scope has only 1 method registered"
        );
    }

    #[test]
    fn turning_a_method_off_counts_users_left_short_and_seats_are_compared() {
        use crate::types::{Action, Change, Risk};
        let user = |id: &str, methods: &[&str]| RegisteredUser {
            id: id.into(),
            is_admin: false,
            methods: methods.iter().map(|s| s.to_string()).collect(),
        };
        let pop = Population {
            users: vec![
                user("a", &["email", "mobilePhone"]),
                user("b", &["mobilePhone"]),
                user("c", &["email"]),
            ],
            group_members: Default::default(),
        };
        let observed = ObservedTenant {
            settings: serde_json::from_value(serde_json::json!({
                "selfServicePasswordReset": {"enabledFor": "all", "methodsRequired": 1,
                    "methods": {"email": true, "mobilePhone": true}}
            }))
            .expect("settings"),
            facts: ssprctl_model::Facts {
                licences: Some(ssprctl_model::Licences {
                    p1: true,
                    sspr_seats: 2,
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let path = FieldId::SsprMethodMobilePhone.spec().path;
        let tp = TenantPlan {
            name: "t".into(),
            tenant_id: "x".into(),
            changes: vec![Change {
                path: path.into(),
                api: ssprctl_model::Api::PortalPasswordReset,
                action: Action::Update,
                before: true.into(),
                after: false.into(),
                risk: Risk::Weakening,
                reason: String::new(),
                control: None,
            }],
            ..Default::default()
        };
        assert!(needed(&tp));
        let lines = readiness(&tp, &observed, &pop);
        assert!(
            lines.contains(&"mobilePhone turned off: 1 user in scope left with fewer than 1 registered reset method they can use".to_string()),
            "{lines:?}"
        );
        let f = findings(&tp, &observed, &pop);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.starts_with("3 users in scope after the change, but the subscriptions that license SSPR have 2 seats"), "{}", f[0].message);
    }

    #[test]
    fn narrowing_a_policy_method_counts_users_left_short() {
        use crate::types::{Action, Change, Risk};
        let user = |id: &str, methods: &[&str]| RegisteredUser {
            id: id.into(),
            is_admin: false,
            methods: methods.iter().map(|s| s.to_string()).collect(),
        };
        let group = "0b7e4f1a-8c2d-4a6b-9e3f-5d1c7a9b2e40";
        let pop = Population {
            users: vec![
                user("a", &["email"]),
                user("b", &["email"]),
                user("c", &["mobilePhone"]),
            ],
            group_members: [(group.to_string(), ["a".to_string()].into_iter().collect())]
                .into_iter()
                .collect(),
        };
        let observed = ObservedTenant {
            settings: serde_json::from_value(serde_json::json!({
                "selfServicePasswordReset": {"enabledFor": "all", "methodsRequired": 1},
                "authenticationMethods": {
                    "migrationState": "migrationComplete",
                    "email": {"state": "enabled", "include": ["allUsers"], "exclude": []},
                    "sms": {"state": "enabled", "include": ["allUsers"], "exclude": []}
                }
            }))
            .expect("settings"),
            ..Default::default()
        };
        let path = FieldId::EmailInclude.spec().path;
        let tp = TenantPlan {
            name: "t".into(),
            tenant_id: "x".into(),
            changes: vec![Change {
                path: path.into(),
                api: ssprctl_model::Api::GraphAuthenticationMethods,
                action: Action::Update,
                before: serde_json::json!(["allUsers"]),
                after: serde_json::json!([group]),
                risk: Risk::Weakening,
                reason: String::new(),
                control: None,
            }],
            ..Default::default()
        };
        assert!(needed(&tp));
        assert_eq!(groups_needed(&tp, &observed), [group.to_string()]);
        let lines = readiness(&tp, &observed, &pop);
        assert!(
            lines.contains(&"authentication-methods policy changed: 1 user in scope left with fewer than 1 registered reset method the policy lets them use".to_string()),
            "b loses email, a keeps it through the group, c uses sms: {lines:?}"
        );
    }
}
