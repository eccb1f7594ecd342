//! Semantic rules that a schema cannot express, checked on each tenant's
//! effective (merged) settings. Sources: docs/api-surfaces.md §1a, §3, §5.

use crate::settings::{EnabledFor, Settings, Target};

/// A rule broken by a tenant's effective settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Dotted path inside the settings, e.g. `selfServicePasswordReset.group`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

fn issue(path: &str, message: impl Into<String>, help: Option<&str>) -> Issue {
    Issue {
        path: path.to_string(),
        message: message.into(),
        help: help.map(str::to_string),
    }
}

/// A rule broken across tenants (duplicate names or ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantIssue {
    /// Index of the offending tenant entry.
    pub index: usize,
    /// Which field of the entry.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The fields of one tenant entry that the cross-tenant rules compare. The
/// loader fills them from the file as written, so an entry with a problem
/// elsewhere (a bad endpoint, say) is still compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantKeys<'a> {
    /// Index of the entry in the file's `tenants` list.
    pub index: usize,
    /// Its `name`, if it is a string.
    pub name: Option<&'a str>,
    /// Its `tenantId`, if it is a string.
    pub tenant_id: Option<&'a str>,
}

/// Checks the tenant list: names and tenant ids are unique (ids compared
/// without regard to case). Each issue names the first entry it repeats.
/// Linear in the number of entries (files with 10,000 tenants exist).
pub fn tenants(entries: &[TenantKeys<'_>]) -> Vec<TenantIssue> {
    use std::collections::HashMap;
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for t in entries {
        if let Some(name) = t.name {
            match names.get(name) {
                Some(first) => out.push(TenantIssue {
                    index: t.index,
                    field: "name",
                    message: format!("tenant name `{name}` is already used by tenants[{first}]"),
                }),
                None => {
                    names.insert(name, t.index);
                }
            }
        }
        if let Some(id) = t.tenant_id {
            match ids.get(&id.to_ascii_lowercase()) {
                Some(first) => out.push(TenantIssue {
                    index: t.index,
                    field: "tenantId",
                    message: format!(
                        "tenant id {id} is already managed by tenants[{first}]; one tenant, one entry"
                    ),
                }),
                None => {
                    ids.insert(id.to_ascii_lowercase(), t.index);
                }
            }
        }
    }
    out
}

/// Checks one tenant's effective settings.
pub fn settings(s: &Settings) -> Vec<Issue> {
    let mut out = Vec::new();
    if let Some(sspr) = &s.self_service_password_reset {
        sspr_rules(sspr, &mut out);
    }
    if let Some(am) = &s.authentication_methods {
        let p = "authenticationMethods";
        if let Some(c) = &am.registration_campaign {
            targets(
                &format!("{p}.registrationCampaign"),
                c.include.as_deref(),
                c.exclude.as_deref(),
                &mut out,
            );
        }
        macro_rules! method_targets {
            ($($field:ident => $name:literal),*) => {$(
                if let Some(m) = &am.$field {
                    targets(&format!("{p}.{}", $name), m.include.as_deref(), m.exclude.as_deref(), &mut out);
                }
            )*};
        }
        method_targets!(email => "email", sms => "sms", voice => "voice",
            microsoft_authenticator => "microsoftAuthenticator", software_oath => "softwareOath",
            hardware_oath => "hardwareOath", temporary_access_pass => "temporaryAccessPass",
            fido2 => "fido2", x509_certificate => "x509Certificate");
        if let Some(tap) = &am.temporary_access_pass {
            let path = format!("{p}.temporaryAccessPass");
            if let (Some(min), Some(max)) =
                (tap.minimum_lifetime_minutes, tap.maximum_lifetime_minutes)
                && min > max
            {
                out.push(issue(
                    &format!("{path}.minimumLifetimeMinutes"),
                    format!("minimum lifetime {min} is greater than the maximum lifetime {max}"),
                    None,
                ));
            }
            if let Some(d) = tap.default_lifetime_minutes {
                let below = tap.minimum_lifetime_minutes.filter(|min| d < *min);
                let above = tap.maximum_lifetime_minutes.filter(|max| d > *max);
                if let Some(min) = below {
                    out.push(issue(
                        &format!("{path}.defaultLifetimeMinutes"),
                        format!("default lifetime {d} is below the minimum lifetime {min}"),
                        None,
                    ));
                }
                if let Some(max) = above {
                    out.push(issue(
                        &format!("{path}.defaultLifetimeMinutes"),
                        format!("default lifetime {d} is above the maximum lifetime {max}"),
                        None,
                    ));
                }
            }
        }
    }
    if let Some(pp) = &s.password_protection
        && let Some(terms) = &pp.banned_passwords
    {
        let mut seen = std::collections::BTreeMap::new();
        for (i, t) in terms.iter().enumerate() {
            let chars = t.chars().count();
            let path = format!("passwordProtection.bannedPasswords.{i}");
            if !(4..=16).contains(&chars) {
                out.push(issue(
                    &path,
                    format!("banned term `{t}` has {chars} characters; each term needs 4 to 16"),
                    None,
                ));
            }
            if t.contains('\t') {
                out.push(issue(&path, "a banned term cannot contain a tab", None));
            }
            if let Some(first) = seen.insert(t.to_lowercase(), i) {
                out.push(issue(
                    &path,
                    format!("banned term `{t}` is already listed at position {first}"),
                    Some("the list is case-insensitive; remove the duplicate"),
                ));
            }
        }
    }
    out
}

fn sspr_rules(sspr: &crate::settings::SelfServicePasswordReset, out: &mut Vec<Issue>) {
    let p = "selfServicePasswordReset";
    match (sspr.enabled_for, &sspr.group) {
        (Some(EnabledFor::Selected), None) => out.push(issue(
            &format!("{p}.enabledFor"),
            "`enabledFor: selected` needs the group whose members may reset",
            Some("add `group: { displayName: ... }` or `group: { id: ... }`"),
        )),
        (Some(EnabledFor::None | EnabledFor::All), Some(_)) => out.push(issue(
            &format!("{p}.group"),
            "a group is only used with `enabledFor: selected`",
            Some("remove `group`, or set `enabledFor: selected`"),
        )),
        (None, Some(_)) => out.push(issue(
            &format!("{p}.group"),
            "a group is only used with `enabledFor: selected`, which this file does not set",
            Some("add `enabledFor: selected`"),
        )),
        _ => {}
    }
    if let Some(g) = &sspr.group
        && g.id.is_none()
        && g.display_name.is_none()
    {
        out.push(issue(
            &format!("{p}.group"),
            "the group needs an `id` or a `displayName`",
            None,
        ));
    }
    if let (Some(required), Some(m)) = (sspr.methods_required, &sspr.methods) {
        let toggles = [
            m.email,
            m.mobile_phone,
            m.office_phone,
            m.security_questions,
            m.authenticator_notification,
            m.authenticator_code,
        ];
        let on = toggles.iter().filter(|t| **t == Some(true)).count();
        let unmanaged = toggles.iter().filter(|t| t.is_none()).count();
        if on + unmanaged < usize::from(required) {
            out.push(issue(
                &format!("{p}.methodsRequired"),
                format!(
                    "{required} methods are required but only {on} method{} enabled",
                    if on == 1 { " is" } else { "s are" }
                ),
                Some("enable more methods, or lower methodsRequired"),
            ));
        }
    }
    if let Some(m) = &sspr.methods
        && m.authenticator_notification == Some(true)
        && sspr.methods_required == Some(1)
    {
        out.push(issue(
            &format!("{p}.methods.authenticatorNotification"),
            "the Authenticator notification can be used only when 2 methods are required",
            Some("set `methodsRequired: 2`, or use `authenticatorCode`"),
        ));
    }
    if let Some(q) = &sspr.security_questions {
        let qp = format!("{p}.securityQuestions");
        if let (Some(reg), Some(reset)) = (q.number_to_register, q.number_to_reset)
            && reset > reg
        {
            out.push(issue(
                &format!("{qp}.numberToReset"),
                format!("{reset} questions to reset is more than the {reg} a user registers"),
                Some("numberToReset must be at most numberToRegister"),
            ));
        }
        if let (Some(reg), Some(list)) = (q.number_to_register, &q.questions)
            && list.len() < usize::from(reg)
        {
            out.push(issue(
                &format!("{qp}.questions"),
                format!(
                    "users must register {reg} questions but only {} are offered",
                    list.len()
                ),
                None,
            ));
        }
        if let Some(list) = &q.questions {
            for (i, text) in list.iter().enumerate() {
                if text.trim().is_empty() {
                    out.push(issue(
                        &format!("{qp}.questions.{i}"),
                        "a question cannot be empty",
                        None,
                    ));
                }
                if list[..i].contains(text) {
                    out.push(issue(
                        &format!("{qp}.questions.{i}"),
                        "this question is listed twice",
                        None,
                    ));
                }
            }
        }
    }
    if let Some(h) = &sspr.helpdesk {
        let hp = format!("{p}.helpdesk");
        match (&h.custom_link, &h.contact) {
            (Some(true), None) => out.push(issue(
                &format!("{hp}.customLink"),
                "a custom helpdesk link needs `contact` (an https URL or an email address)",
                None,
            )),
            // An empty contact is a tenant's own "none" (a new tenant has it,
            // and a rollback may restore it); a custom link still needs one.
            (Some(true), Some(c)) if c.is_empty() => out.push(issue(
                &format!("{hp}.contact"),
                "a custom helpdesk link needs a non-empty `contact` (an https URL or an email address)",
                None,
            )),
            (_, Some(c)) if !c.is_empty() && !is_https_url(c) && !is_email(c) => out.push(issue(
                &format!("{hp}.contact"),
                format!("`{c}` is neither an https URL nor an email address"),
                Some("e.g. https://help.contoso.com/password or helpdesk@contoso.com"),
            )),
            _ => {}
        }
    }
}

fn targets(
    path: &str,
    include: Option<&[Target]>,
    exclude: Option<&[Target]>,
    out: &mut Vec<Issue>,
) {
    for (i, t) in include.unwrap_or_default().iter().enumerate() {
        if t != "allUsers" && !is_guid(t) {
            out.push(issue(
                &format!("{path}.include.{i}"),
                format!("`{t}` is neither `allUsers` nor a group object id"),
                None,
            ));
        }
    }
    if let Some(inc) = include
        && inc.len() > 1
        && inc.iter().any(|t| t == "allUsers")
    {
        out.push(issue(
            &format!("{path}.include"),
            "`allUsers` already includes every group",
            Some("list `allUsers` alone"),
        ));
    }
    for (i, t) in exclude.unwrap_or_default().iter().enumerate() {
        if t == "allUsers" {
            out.push(issue(
                &format!("{path}.exclude.{i}"),
                "`allUsers` cannot be excluded",
                Some("set `state: disabled` instead"),
            ));
        } else if !is_guid(t) {
            out.push(issue(
                &format!("{path}.exclude.{i}"),
                format!("`{t}` is not a group object id"),
                None,
            ));
        }
    }
}

/// Whether `s` is a GUID in the 8-4-4-4-12 form.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_https_url(s: &str) -> bool {
    s.strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| {
            host.contains('.')
                && !host.contains(' ')
                && !host.starts_with('.')
                && !host.ends_with('.')
        })
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.contains(' ')
                && domain.contains('.')
                && !domain.contains(['@', ' '])
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(entries: &[(&'a str, &'a str)]) -> Vec<TenantKeys<'a>> {
        entries
            .iter()
            .enumerate()
            .map(|(index, (name, id))| TenantKeys {
                index,
                name: Some(name),
                tenant_id: Some(id),
            })
            .collect()
    }

    #[test]
    fn a_repeated_name_or_id_names_the_first_entry() {
        let id = "6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";
        let other = "0b8f3c1a-2d4e-4f6a-8b9c-1d2e3f4a5b6c";
        let upper = id.to_ascii_uppercase();
        let found = tenants(&keys(&[
            ("a", id),
            ("b", other),
            ("a", &upper),
            ("c", other),
        ]));
        let got: Vec<(usize, &str, &str)> = found
            .iter()
            .map(|i| (i.index, i.field, i.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "name", "tenant name `a` is already used by tenants[0]"),
                (
                    2,
                    "tenantId",
                    "tenant id 6F1C9A2E-3B4D-4E5F-8A7B-9C0D1E2F3A4B is already managed by tenants[0]; one tenant, one entry"
                ),
                (
                    3,
                    "tenantId",
                    "tenant id 0b8f3c1a-2d4e-4f6a-8b9c-1d2e3f4a5b6c is already managed by tenants[1]; one tenant, one entry"
                ),
            ]
        );
    }

    #[test]
    fn an_entry_without_a_name_or_id_is_compared_on_what_it_has() {
        let entries = [
            TenantKeys {
                index: 0,
                name: None,
                tenant_id: Some("x"),
            },
            TenantKeys {
                index: 1,
                name: Some("a"),
                tenant_id: None,
            },
            TenantKeys {
                index: 2,
                name: Some("a"),
                tenant_id: Some("X"),
            },
        ];
        let found: Vec<(usize, &str)> = tenants(&entries)
            .iter()
            .map(|i| (i.index, i.field))
            .collect();
        assert_eq!(found, [(2, "name"), (2, "tenantId")]);
    }

    #[test]
    fn helpdesk_contact_accepts_https_and_email_only() {
        assert!(is_https_url("https://help.contoso.com/reset"));
        assert!(!is_https_url("http://help.contoso.com"));
        assert!(!is_https_url("https://localhost"));
        assert!(is_email("helpdesk@contoso.com"));
        assert!(!is_email("helpdesk@contoso"));
        assert!(!is_email("@contoso.com"));
    }

    #[test]
    fn an_empty_helpdesk_contact_is_none_unless_a_custom_link_needs_one() {
        let with = |custom_link: bool| Settings {
            self_service_password_reset: Some(crate::settings::SelfServicePasswordReset {
                helpdesk: Some(crate::settings::Helpdesk {
                    custom_link: Some(custom_link),
                    contact: Some(String::new()),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(settings(&with(false)).is_empty());
        let issues = settings(&with(true));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "selfServicePasswordReset.helpdesk.contact");
    }

    #[test]
    fn guid_shape() {
        assert!(is_guid("b6cdb9c3-d660-4558-bcfd-82c14a986b56"));
        assert!(!is_guid("b6cdb9c3-d660-4558-bcfd-82c14a986b5"));
        assert!(!is_guid("allUsers"));
    }
}
