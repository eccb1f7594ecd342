//! Preflight checks: named steps that look at the desired settings and the
//! tenant's read-only facts, and report findings. Errors block apply.

use ssprctl_model::{
    Api, EnabledFor, MigrationState, ObservedTenant, ReadFailure, Settings, Tenant,
};

use serde_json::Value;

use crate::types::{Finding, Severity};

/// Runs every check.
pub fn run(tenant: &Tenant, observed: &ObservedTenant, out: &mut Vec<Finding>) {
    let after = after_apply(&tenant.settings, observed);
    run_after(tenant, observed, &after, out);
}

/// Runs every check, given the tenant's settings after an apply (what
/// [`after_apply`] returns): the planner already has them in hand.
pub fn run_after(
    tenant: &Tenant,
    observed: &ObservedTenant,
    after: &Settings,
    out: &mut Vec<Finding>,
) {
    licences(&tenant.settings, observed, out);
    writeback(&tenant.settings, observed, out);
    unlock_without_writeback(&tenant.settings, after, observed, out);
    synced_without_writeback(&tenant.settings, after, observed, out);
    semantic_after_apply(&tenant.settings, after, observed, out);
    legacy_methods(&tenant.settings, observed, out);
    methods_available(&tenant.settings, observed, out);
    portal_credential(&tenant.settings, observed, out);
}

fn finding(out: &mut Vec<Finding>, severity: Severity, check: &str, path: &str, message: String) {
    out.push(Finding {
        severity,
        check: check.into(),
        path: path.into(),
        message,
    });
}

/// What each feature needs (Microsoft Learn, "Licensing requirements for
/// Microsoft Entra self-service password reset"; the SKU table is the
/// provider's `licensing` module).
#[derive(Clone, Copy)]
enum Need {
    /// SSPR for cloud-only users: Entra ID P1/P2, Microsoft 365 Business
    /// Standard or Business Premium.
    CloudReset,
    /// Writeback and unlock: Entra ID P1/P2 or Microsoft 365 Business Premium.
    Writeback,
    /// Custom banned passwords, password protection for AD: Entra ID P1/P2.
    Premium,
}

impl Need {
    fn met(self, l: &ssprctl_model::Licences) -> bool {
        match self {
            Need::CloudReset => l.sspr_for_cloud_users(),
            Need::Writeback => l.writeback(),
            Need::Premium => l.p1 || l.p2,
        }
    }
    fn which(self) -> &'static str {
        match self {
            Need::CloudReset => {
                "Microsoft Entra ID P1 or P2, or Microsoft 365 Business Standard or Business Premium"
            }
            Need::Writeback => "Microsoft Entra ID P1 or P2, or Microsoft 365 Business Premium",
            Need::Premium => "Microsoft Entra ID P1 or P2",
        }
    }
}

/// Each feature the desired state turns on needs a licence the tenant has.
fn licences(s: &Settings, observed: &ObservedTenant, out: &mut Vec<Finding>) {
    let mut needs = Vec::new();
    if let Some(sspr) = &s.self_service_password_reset
        && matches!(
            sspr.enabled_for,
            Some(EnabledFor::Selected | EnabledFor::All)
        )
    {
        needs.push((
            "selfServicePasswordReset.enabledFor",
            "self-service password reset for users",
            Need::CloudReset,
        ));
    }
    if let Some(op) = &s.on_premises_integration
        && (op.password_writeback == Some(true) || op.unlock_without_reset == Some(true))
    {
        needs.push((
            "onPremisesIntegration",
            "password writeback",
            Need::Writeback,
        ));
    }
    if let Some(pp) = &s.password_protection {
        if pp.banned_passwords.as_ref().is_some_and(|l| !l.is_empty())
            || pp.enforce_banned_passwords == Some(true)
        {
            needs.push((
                "passwordProtection.bannedPasswords",
                "a custom banned-password list",
                Need::Premium,
            ));
        }
        if pp.on_premises_enabled == Some(true) {
            needs.push((
                "passwordProtection.onPremisesEnabled",
                "password protection for on-premises AD",
                Need::Premium,
            ));
        }
    }
    if needs.is_empty() {
        return;
    }
    match &observed.facts.licences {
        Some(l) => {
            for (path, what, need) in needs {
                if !need.met(l) {
                    finding(
                        out,
                        Severity::Error,
                        "licence",
                        path,
                        format!(
                            "{what} needs {}, and the tenant has none of them (subscribedSkus)",
                            need.which()
                        ),
                    );
                }
            }
        }
        None => finding(
            out,
            Severity::Warning,
            "licence",
            needs[0].0,
            "could not read the tenant's licences (subscribedSkus) to check for Entra ID P1/P2"
                .into(),
        ),
    }
}

/// Writeback needs Entra Connect or Cloud Sync with a registered writeback client.
fn writeback(s: &Settings, observed: &ObservedTenant, out: &mut Vec<Finding>) {
    let Some(op) = &s.on_premises_integration else {
        return;
    };
    let wanted = op.password_writeback == Some(true) || op.unlock_without_reset == Some(true);
    if wanted && observed.facts.writeback_client == Some(false) {
        let sync = match observed.facts.directory_sync {
            Some(true) => "directory sync is on, but",
            Some(false) | None => "the tenant is not synchronised from on-premises and",
        };
        finding(
            out,
            Severity::Error,
            "writeback",
            "onPremisesIntegration.passwordWriteback",
            format!(
                "{sync} no Entra Connect or Cloud Sync writeback client is registered; enable writeback on the sync server first"
            ),
        );
    }
}

/// Once the migration to the authentication-methods policy is complete, the
/// service ignores the legacy SSPR method toggles.
fn legacy_methods(s: &Settings, observed: &ObservedTenant, out: &mut Vec<Finding>) {
    let managed = s
        .self_service_password_reset
        .as_ref()
        .and_then(|x| x.methods.as_ref())
        .is_some();
    let state = s
        .authentication_methods
        .as_ref()
        .and_then(|a| a.migration_state)
        .or(observed.facts.migration_state);
    if managed && state == Some(MigrationState::MigrationComplete) {
        finding(
            out,
            Severity::Warning,
            "legacy-methods",
            "selfServicePasswordReset.methods",
            "the authentication-methods policy migration is complete, so the service ignores these legacy toggles; manage methods under authenticationMethods".into(),
        );
    }
}

/// More methods required than the tenant can offer.
fn methods_available(s: &Settings, observed: &ObservedTenant, out: &mut Vec<Finding>) {
    let Some(sspr) = &s.self_service_password_reset else {
        return;
    };
    let Some(required) = sspr.methods_required else {
        return;
    };
    let Some(allowed) = &observed.facts.reset_methods_allowed else {
        return;
    };
    let live = observed
        .settings
        .self_service_password_reset
        .as_ref()
        .and_then(|x| x.methods.clone())
        .unwrap_or_default();
    let desired = sspr.methods.clone().unwrap_or_default();
    let pick = |d: Option<bool>, l: Option<bool>| d.or(l).unwrap_or(false);
    let effective = [
        ("email", pick(desired.email, live.email)),
        ("mobilePhone", pick(desired.mobile_phone, live.mobile_phone)),
        ("officePhone", pick(desired.office_phone, live.office_phone)),
        (
            "securityQuestions",
            pick(desired.security_questions, live.security_questions),
        ),
        (
            "authenticatorNotification",
            pick(
                desired.authenticator_notification,
                live.authenticator_notification,
            ),
        ),
        (
            "authenticatorCode",
            pick(desired.authenticator_code, live.authenticator_code),
        ),
    ];
    let usable = effective
        .iter()
        .filter(|(name, on)| *on && allowed.iter().any(|a| a == name))
        .count();
    if usable < usize::from(required) {
        finding(
            out,
            Severity::Error,
            "methods-available",
            "selfServicePasswordReset.methodsRequired",
            format!(
                "{required} methods would be required but only {usable} enabled method{} offered by the tenant (the others are not allowed here, e.g. owned by the authentication-methods policy)",
                if usable == 1 { " is" } else { "s are" }
            ),
        );
    }
}

/// The portal surfaces need a delegated administrator sign-in.
fn portal_credential(s: &Settings, observed: &ObservedTenant, out: &mut Vec<Finding>) {
    for api in [Api::PortalPasswordReset, Api::PortalOnPremises] {
        let managed = match api {
            Api::PortalPasswordReset => s.self_service_password_reset.is_some(),
            Api::PortalOnPremises => s.on_premises_integration.is_some(),
            Api::GraphAuthorizationPolicy
            | Api::GraphAuthenticationMethods
            | Api::GraphPasswordRuleSettings => false,
        };
        if let Some(u) = observed.unreadable.iter().find(|u| u.api == api)
            && managed
            && u.failure == ReadFailure::NoCredential
        {
            finding(
                out,
                Severity::Warning,
                "portal-credential",
                api.section(),
                format!("{}: {}", api.label(), u.reason),
            );
        }
    }
}

/// What the tenant will have after apply: the desired settings deep-merged
/// over the live ones (a section that was not read contributes nothing).
pub fn after_apply(desired: &Settings, observed: &ObservedTenant) -> Settings {
    let mut merged = serde_json::to_value(&observed.settings).unwrap_or(Value::Null);
    if !merged.is_object() {
        merged = Value::Object(serde_json::Map::new());
    }
    let desired = serde_json::to_value(desired).unwrap_or(Value::Null);
    ssprctl_model::config::deep_merge(&mut merged, &desired);
    settings_of(&merged, &desired)
}

/// The settings of `merged` (the live settings with the desired ones merged
/// over them, as JSON). Both halves are valid settings, so their merge is;
/// fall back to the desired state alone (`desired`, as JSON) rather than guess.
pub(crate) fn settings_of(merged: &Value, desired: &Value) -> Settings {
    use serde::Deserialize;
    Settings::deserialize(merged)
        .unwrap_or_else(|_| Settings::deserialize(desired).unwrap_or_default())
}

/// Where a value comes from, for messages: `(live)` when the file does not set it.
fn origin(desired_sets: bool) -> &'static str {
    if desired_sets { "" } else { " (live)" }
}

/// Unlocking without a reset goes through writeback: with writeback off
/// (desired or live) the service cannot do it.
fn unlock_without_writeback(
    desired: &Settings,
    after: &Settings,
    _observed: &ObservedTenant,
    out: &mut Vec<Finding>,
) {
    let Some(op) = &after.on_premises_integration else {
        return;
    };
    if op.unlock_without_reset != Some(true) || op.password_writeback == Some(true) {
        return;
    }
    let d = desired.on_premises_integration.as_ref();
    let unlock_set = d.and_then(|o| o.unlock_without_reset).is_some();
    let writeback_set = d.and_then(|o| o.password_writeback).is_some();
    if !unlock_set && !writeback_set {
        return; // neither is managed: the plan does not cause it
    }
    let writeback = match op.password_writeback {
        Some(false) => "false",
        Some(true) | None => "not set",
    };
    finding(
        out,
        Severity::Error,
        "writeback",
        "onPremisesIntegration.unlockWithoutReset",
        format!(
            "unlockWithoutReset: true{} needs password writeback, and passwordWriteback is {writeback}{}; turn writeback on, or unlockWithoutReset off",
            origin(unlock_set),
            origin(writeback_set)
        ),
    );
}

/// A tenant synchronised from on-premises, with SSPR on and writeback off:
/// synced users' resets cannot complete.
fn synced_without_writeback(
    desired: &Settings,
    after: &Settings,
    observed: &ObservedTenant,
    out: &mut Vec<Finding>,
) {
    if observed.facts.directory_sync != Some(true) {
        return;
    }
    let enabled_for = after
        .self_service_password_reset
        .as_ref()
        .and_then(|x| x.enabled_for);
    let scope = match enabled_for {
        Some(EnabledFor::All) => "every synchronised user",
        Some(EnabledFor::Selected) => "the synchronised members of the SSPR group",
        Some(EnabledFor::None) | None => return,
    };
    let writeback = after
        .on_premises_integration
        .as_ref()
        .and_then(|o| o.password_writeback);
    if writeback == Some(true) {
        return;
    }
    let managed =
        desired.self_service_password_reset.is_some() || desired.on_premises_integration.is_some();
    if !managed {
        return;
    }
    finding(
        out,
        Severity::Warning,
        "synced-writeback",
        "onPremisesIntegration.passwordWriteback",
        format!(
            "the tenant is synchronised from on-premises and SSPR is on (enabledFor: {}), but password writeback is off: {scope} in scope cannot complete a reset (their password is mastered on-premises); enable writeback, or scope SSPR to cloud-only users",
            match enabled_for {
                Some(EnabledFor::All) => "all",
                Some(EnabledFor::Selected) => "selected",
                Some(EnabledFor::None) | None => "none",
            }
        ),
    );
}

/// The file's semantic rules (`validate`), evaluated on what the tenant will
/// have after apply. Only what the merge adds is reported: the file alone was
/// validated at load, and what the live tenant already has is not the plan's
/// doing.
fn semantic_after_apply(
    desired: &Settings,
    after: &Settings,
    observed: &ObservedTenant,
    out: &mut Vec<Finding>,
) {
    use ssprctl_model::validate;
    // Most tenants' settings after apply break no rule, or only the rules
    // the file or the live tenant already break: then neither side's own
    // issues nor the JSON forms for a message are needed (at thousands of
    // tenants they were a visible share of a plan's CPU).
    let issues = validate::settings(after);
    if !issues.is_empty() {
        let key = |i: &validate::Issue| (i.path.clone(), i.message.clone());
        let own: std::collections::BTreeSet<_> =
            validate::settings(desired).iter().map(key).collect();
        let live: std::collections::BTreeSet<_> = validate::settings(&observed.settings)
            .iter()
            .map(key)
            .collect();
        // Only for an issue that is reported (most are the file's or the
        // live tenant's own, and skipped).
        let mut json: Option<(Value, Value)> = None;
        for issue in issues {
            let k = key(&issue);
            let reported = out
                .iter()
                .any(|f| f.path == issue.path && f.severity == Severity::Error);
            if own.contains(&k) || live.contains(&k) || reported {
                continue;
            }
            let (desired_json, live_json) = json.get_or_insert_with(|| {
                (
                    serde_json::to_value(desired).unwrap_or(Value::Null),
                    serde_json::to_value(&observed.settings).unwrap_or(Value::Null),
                )
            });
            let kept = live_values(&issue.path, desired_json, live_json);
            finding(
                out,
                Severity::Error,
                "after-apply",
                &issue.path,
                format!("after apply, {}: with the live {kept}", issue.message),
            );
        }
    }
    security_questions_offered(desired, after, observed, out);
}

/// The live values a rule at `path` reads that the file does not set: the
/// leaves of the rule's section (the SSPR method rules read the method
/// toggles and methodsRequired together).
fn live_values(path: &str, desired: &Value, live: &Value) -> String {
    const SSPR: &str = "selfServicePasswordReset";
    let method_rule =
        path == format!("{SSPR}.methodsRequired") || path.starts_with(&format!("{SSPR}.methods."));
    let sections: Vec<String> = if method_rule {
        vec![format!("{SSPR}.methodsRequired"), format!("{SSPR}.methods")]
    } else {
        match path.rsplit_once('.') {
            Some((parent, _)) if parent != SSPR => vec![parent.to_string()],
            Some(_) | None => vec![path.to_string()],
        }
    };
    let at = |v: &'_ Value, p: &str| v.pointer(&format!("/{}", p.replace('.', "/"))).cloned();
    let mut leaves = Vec::new();
    for section in &sections {
        if let Some(v) = at(live, section) {
            collect_leaves(section, &v, &mut leaves);
        }
    }
    let kept: Vec<String> = leaves
        .into_iter()
        .filter(|(p, _)| at(desired, p).is_none())
        .map(|(p, v)| format!("{p}: {v}"))
        .collect();
    if kept.is_empty() {
        "settings".into()
    } else {
        kept.join(", ")
    }
}

fn collect_leaves(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                collect_leaves(&format!("{path}.{k}"), v, out);
            }
        }
        Value::Array(items) => out.push((path.to_string(), format!("{} item(s)", items.len()))),
        other => out.push((path.to_string(), other.to_string())),
    }
}

/// Security questions switched on while the tenant offers fewer questions
/// than users must register.
fn security_questions_offered(
    desired: &Settings,
    after: &Settings,
    observed: &ObservedTenant,
    out: &mut Vec<Finding>,
) {
    let on = |s: &Settings| {
        s.self_service_password_reset
            .as_ref()
            .and_then(|x| x.methods.as_ref())
            .and_then(|m| m.security_questions)
            == Some(true)
    };
    if !on(after) || on(&observed.settings) || !on(desired) {
        return;
    }
    let Some(q) = after
        .self_service_password_reset
        .as_ref()
        .and_then(|x| x.security_questions.as_ref())
    else {
        return;
    };
    let register = q.number_to_register.unwrap_or(0);
    let offered = q.questions.as_ref().map_or(0, Vec::len);
    if offered < usize::from(register) {
        let own = desired
            .self_service_password_reset
            .as_ref()
            .and_then(|x| x.security_questions.as_ref());
        finding(
            out,
            Severity::Error,
            "after-apply",
            "selfServicePasswordReset.methods.securityQuestions",
            format!(
                "security questions would be on, but users must register {register}{} questions and the tenant offers {offered}{}; define the questions (securityQuestions.questions) first",
                origin(own.and_then(|q| q.number_to_register).is_some()),
                origin(own.and_then(|q| q.questions.as_ref()).is_some()),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use ssprctl_model::Licences;

    use crate::planner::plan_tenant;
    use crate::planner::tests::{new_tenant, tenant};
    use crate::types::{Finding, Severity};

    fn findings(
        desired: serde_json::Value,
        live: impl FnOnce(&mut ssprctl_model::ObservedTenant),
    ) -> Vec<Finding> {
        let mut observed = new_tenant();
        observed.facts.licences = Some(Licences {
            p1: true,
            p2: true,
            business_standard: false,
            sspr_seats: 25,
        });
        live(&mut observed);
        plan_tenant(&tenant(desired), &observed).findings
    }

    fn one<'a>(f: &'a [Finding], check: &str) -> Vec<&'a Finding> {
        f.iter().filter(|x| x.check == check).collect()
    }

    #[test]
    fn unlock_without_writeback_is_an_error_whether_writeback_is_desired_or_live() {
        let desired_off = findings(
            json!({"onPremisesIntegration": {"passwordWriteback": false, "unlockWithoutReset": true}}),
            |_| {},
        );
        let e = one(&desired_off, "writeback");
        assert_eq!(e.len(), 1, "{desired_off:?}");
        assert_eq!(e[0].severity, Severity::Error);
        assert!(
            e[0].message.contains("passwordWriteback is false;"),
            "{}",
            e[0].message
        );

        let live_off = findings(
            json!({"onPremisesIntegration": {"unlockWithoutReset": true}}),
            |o| {
                o.facts.writeback_client = Some(true);
                o.settings.on_premises_integration = Some(Default::default());
                if let Some(op) = o.settings.on_premises_integration.as_mut() {
                    op.password_writeback = Some(false);
                }
            },
        );
        let e = one(&live_off, "writeback");
        assert_eq!(e.len(), 1, "{live_off:?}");
        assert!(
            e[0].message.contains("passwordWriteback is false (live)"),
            "{}",
            e[0].message
        );

        let fine = findings(
            json!({"onPremisesIntegration": {"passwordWriteback": true, "unlockWithoutReset": true}}),
            |o| o.facts.writeback_client = Some(true),
        );
        assert!(one(&fine, "writeback").is_empty(), "{fine:?}");
    }

    #[test]
    fn a_synced_tenant_with_sspr_on_and_writeback_off_is_warned() {
        let f = findings(
            json!({"selfServicePasswordReset": {"enabledFor": "all"}}),
            |o| {
                o.facts.directory_sync = Some(true);
            },
        );
        let w = one(&f, "synced-writeback");
        assert_eq!(w.len(), 1, "{f:?}");
        assert_eq!(w[0].severity, Severity::Warning);
        assert!(
            w[0].message.contains("every synchronised user"),
            "{}",
            w[0].message
        );

        let cloud = findings(
            json!({"selfServicePasswordReset": {"enabledFor": "all"}}),
            |o| {
                o.facts.directory_sync = Some(false);
            },
        );
        assert!(one(&cloud, "synced-writeback").is_empty());
    }

    #[test]
    fn business_standard_licenses_reset_but_not_writeback() {
        let standard = |o: &mut ssprctl_model::ObservedTenant| {
            o.facts.writeback_client = Some(true);
            o.facts.licences = Some(Licences {
                business_standard: true,
                sspr_seats: 10,
                ..Default::default()
            });
        };
        let reset = findings(
            json!({"selfServicePasswordReset": {"enabledFor": "all"}}),
            standard,
        );
        assert!(one(&reset, "licence").is_empty(), "{reset:?}");
        let writeback = findings(
            json!({"onPremisesIntegration": {"passwordWriteback": true}}),
            standard,
        );
        let e = one(&writeback, "licence");
        assert_eq!(e.len(), 1, "{writeback:?}");
        assert!(
            e[0].message.contains("Business Premium"),
            "{}",
            e[0].message
        );
    }

    #[test]
    fn semantic_rules_run_on_the_desired_state_over_the_live_one() {
        // Notification only, while the tenant still requires one method.
        let f = findings(
            json!({"selfServicePasswordReset": {"methods": {"authenticatorNotification": true}}}),
            |_| {},
        );
        let e = one(&f, "after-apply");
        assert_eq!(e.len(), 1, "{f:?}");
        assert_eq!(
            e[0].path,
            "selfServicePasswordReset.methods.authenticatorNotification"
        );
        assert!(
            e[0].message
                .contains("selfServicePasswordReset.methodsRequired: 1"),
            "names the live value: {}",
            e[0].message
        );
        // Security questions switched on with none defined in the tenant.
        let f = findings(
            json!({"selfServicePasswordReset": {"methods": {"securityQuestions": true}}}),
            |o| {
                if let Some(m) = o
                    .settings
                    .self_service_password_reset
                    .as_mut()
                    .and_then(|x| x.methods.as_mut())
                {
                    m.security_questions = Some(false);
                }
            },
        );
        let e = one(&f, "after-apply");
        assert_eq!(e.len(), 1, "{f:?}");
        assert!(e[0].message.contains("offers 0 (live)"), "{}", e[0].message);
        // The file alone, and the live tenant alone, are not the plan's doing.
        let none = findings(
            json!({"selfServicePasswordReset": {"methodsRequired": 1}}),
            |_| {},
        );
        assert!(one(&none, "after-apply").is_empty(), "{none:?}");
    }
}
