//! Preflight checks: named steps that look at the desired settings and the
//! tenant's read-only facts, and report findings. Errors block apply.

use ssprctl_model::{
    Api, EnabledFor, MigrationState, ObservedTenant, ReadFailure, Settings, Tenant,
};

use crate::types::{Finding, Severity};

/// Runs every check.
pub fn run(tenant: &Tenant, observed: &ObservedTenant, out: &mut Vec<Finding>) {
    licences(&tenant.settings, observed, out);
    writeback(&tenant.settings, observed, out);
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

/// Entra ID P1 is needed for SSPR of cloud users with writeback, custom smart
/// lockout and banned passwords, and the selected-group scoping.
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
        ));
    }
    if let Some(op) = &s.on_premises_integration
        && (op.password_writeback == Some(true) || op.unlock_without_reset == Some(true))
    {
        needs.push(("onPremisesIntegration", "password writeback"));
    }
    if let Some(pp) = &s.password_protection {
        if pp.banned_passwords.as_ref().is_some_and(|l| !l.is_empty())
            || pp.enforce_banned_passwords == Some(true)
        {
            needs.push((
                "passwordProtection.bannedPasswords",
                "a custom banned-password list",
            ));
        }
        if pp.on_premises_enabled == Some(true) {
            needs.push((
                "passwordProtection.onPremisesEnabled",
                "password protection for on-premises AD",
            ));
        }
    }
    if needs.is_empty() {
        return;
    }
    match observed.facts.licences {
        Some(l) if l.p1 || l.p2 => {}
        Some(_) => {
            for (path, what) in needs {
                finding(
                    out,
                    Severity::Error,
                    "licence",
                    path,
                    format!(
                        "{what} needs Microsoft Entra ID P1 or P2, and the tenant has neither (subscribedSkus)"
                    ),
                );
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
