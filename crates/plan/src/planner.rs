//! The planner: `(desired, observed) -> TenantPlan`, a pure function.
//!
//! It walks the field catalog: every field the desired settings manage is
//! compared with the live value at the same path, the way its catalog entry
//! says (exact, as a set, case-insensitively, by group id), and each change is
//! classified by the entry's risk rule. A section whose surface could not be
//! read yields `Unknown` entries, never changes.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use serde_json::{Map, Value};
use ssprctl_model::catalog::{self, Compare, Field};
use ssprctl_model::{Api, Config, GroupRef, ObservedTenant, Settings, Tenant};

use crate::lint::LintFinding;
use crate::preflight;
use crate::risk;
use crate::types::{Action, Change, FORMAT_VERSION, Finding, Plan, Severity, TenantPlan, Unknown};

/// What the caller knows that the planner must not find out for itself (no
/// clock, no file system): recorded in the plan as is.
#[derive(Clone, Debug, Default)]
pub struct PlanMeta {
    /// The ssprctl version.
    pub tool_version: String,
    /// SHA-256 of the desired-state file.
    pub config_digest: String,
    /// The desired-state file as named by the user.
    pub config_path: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// The plan of tenants planned one by one with [`plan_tenant`] (in file
/// order), as the engine plans each tenant as soon as it is read.
pub fn plan_of(tenants: Vec<TenantPlan>, meta: &PlanMeta) -> Plan {
    Plan {
        format_version: FORMAT_VERSION.to_string(),
        tool_version: meta.tool_version.clone(),
        config_digest: meta.config_digest.clone(),
        config_path: meta.config_path.clone(),
        created_at: meta.created_at.clone(),
        tenants,
        selection: None,
        merged: None,
    }
}

/// The path of the SSPR group (the findings of its resolution name it).
const GROUP_PATH: &str = "selfServicePasswordReset.group";

/// Plans one tenant: every catalog field the desired settings manage is
/// compared with its live value as the catalog says.
pub fn plan_tenant(tenant: &Tenant, observed: &ObservedTenant) -> TenantPlan {
    let desired = Desired::make(&tenant.settings);
    let (planned, _merged) = plan_merged(tenant, observed, &desired);
    planned
}

/// Plans one tenant ([`plan_tenant`]) and lints what the plan leaves behind
/// ([`crate::lint::lint_after_plan`]) from one JSON form of the desired, live
/// and merged settings: at thousands of tenants, serialising each tenant's
/// settings once instead of three times is a visible share of a plan's CPU.
/// The desired side is taken from `sides`, one for the run, so tenants that
/// share their desired settings share it too.
pub fn plan_and_lint(
    config: &Config,
    tenant: &Tenant,
    observed: &ObservedTenant,
    today: &str,
    sides: &DesiredSides,
) -> (TenantPlan, Vec<LintFinding>) {
    let desired = sides.of(&tenant.settings);
    let (planned, merged) = plan_merged(tenant, observed, &desired);
    let lint = crate::lint::lint_merged(config, tenant, &merged, today);
    (planned, lint)
}

/// Plans one tenant and returns the live settings with the desired ones
/// merged over them, as JSON (what an apply leaves behind). The live JSON
/// form is compared first and then merged into in place: no second copy.
fn plan_merged(
    tenant: &Tenant,
    observed: &ObservedTenant,
    desired: &Desired,
) -> (TenantPlan, Value) {
    let mut live = Value::Object(to_object(&observed.settings));
    let mut out = compare(tenant, observed, desired, &live);
    let changed = ssprctl_model::config::deep_merge(&mut live, &desired.json);
    let merged = live;
    // Merging changed nothing (a converged tenant): what an apply leaves
    // behind is the live settings themselves, already typed.
    let after = if changed {
        std::borrow::Cow::Owned(preflight::settings_of(&merged, &desired.json))
    } else {
        std::borrow::Cow::Borrowed(&observed.settings)
    };
    preflight::run_after(tenant, observed, &after, &mut out.findings);
    // Write order first (the order of Api::ALL), then path.
    out.changes.sort_by(|a, b| {
        let rank = |api: Api| Api::ALL.iter().position(|x| *x == api);
        (rank(a.api), &a.path).cmp(&(rank(b.api), &b.path))
    });
    out.findings
        .sort_by(|a, b| (a.severity, &a.path).cmp(&(b.severity, &b.path)));
    (out, merged)
}

/// What a tenant's desired settings alone decide: their JSON form and, per
/// surface, the fields they manage (with the wanted values) and the fields
/// they leave alone. A fleet shares one baseline, so this is made once per
/// distinct desired settings (see [`DesiredSides`]), not once per tenant.
struct Desired {
    json: Value,
    /// In the order of [`Api::ALL`].
    surfaces: Vec<Surface>,
}

/// One surface's share of [`Desired`].
struct Surface {
    api: Api,
    managed: Vec<(&'static Field, Value)>,
    unmanaged: Vec<&'static Field>,
}

/// The desired side of each distinct shared copy of desired settings in a
/// run ([`plan_and_lint`]): a fleet shares one baseline, so tenants with equal
/// effective settings share one copy (`ssprctl_model::Tenant::settings`) and
/// one desired side. Made by the caller for one run and dropped with it; each
/// entry keeps its settings alive, so no other settings can take their
/// address while the entry is kept.
#[derive(Default)]
pub struct DesiredSides(std::sync::Mutex<HashMap<usize, Kept>>);

/// One entry of [`DesiredSides`]: the shared settings (kept alive, so their
/// address stays theirs) and their desired side.
type Kept = (Arc<Settings>, Arc<Desired>);

impl DesiredSides {
    /// The desired side of `settings`, made on first use of its shared copy.
    fn of(&self, settings: &Arc<Settings>) -> Arc<Desired> {
        let key = Arc::as_ptr(settings) as usize;
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, desired) = kept
            .entry(key)
            .or_insert_with(|| (Arc::clone(settings), Arc::new(Desired::make(settings))));
        Arc::clone(desired)
    }
}

impl Desired {
    fn make(settings: &Settings) -> Desired {
        let json = Value::Object(to_object(settings));
        let surfaces = Api::ALL
            .iter()
            .map(|&api| {
                let mut managed = Vec::new();
                let mut unmanaged = Vec::new();
                for f in catalog::of_api(api) {
                    match value_at(&json, f.path) {
                        Some(v) => managed.push((f, v.clone())),
                        None => unmanaged.push(f),
                    }
                }
                Surface {
                    api,
                    managed,
                    unmanaged,
                }
            })
            .collect();
        Desired { json, surfaces }
    }
}

/// `null`, for a live value that is absent.
static NULL: Value = Value::Null;

/// The changes, unknowns and counts of one tenant: every managed field
/// compared with its live value (`live`, the live settings as JSON).
fn compare(
    tenant: &Tenant,
    observed: &ObservedTenant,
    desired: &Desired,
    live: &Value,
) -> TenantPlan {
    let mut out = TenantPlan {
        name: tenant.name.clone(),
        tenant_id: tenant.tenant_id.clone(),
        prior: observed.digests.clone(),
        ..Default::default()
    };

    for Surface {
        api,
        managed,
        unmanaged,
    } in &desired.surfaces
    {
        let api = *api;
        if managed.is_empty() {
            continue;
        }
        if live.get(api.section()).is_none() {
            let reason = observed
                .unreadable
                .iter()
                .find(|u| u.api == api)
                .map(|u| u.reason.clone())
                .unwrap_or_else(|| "not read".to_string());
            out.unknown.push(Unknown {
                api,
                paths: managed.iter().map(|(f, _)| f.path.to_string()).collect(),
                reason,
            });
            continue;
        }
        out.unmanaged += unmanaged
            .iter()
            .filter(|f| value_at(live, f.path).is_some())
            .count();

        for (field, wanted) in managed {
            let before = value_at(live, field.path).unwrap_or(&NULL);
            let resolved;
            let after = match field.compare {
                Compare::GroupReference => {
                    match resolve_group(wanted, observed, &mut out.findings) {
                        Some(v) => {
                            resolved = v;
                            &resolved
                        }
                        None => continue,
                    }
                }
                Compare::Exact | Compare::Set | Compare::CaseInsensitiveSet | Compare::Targets => {
                    wanted
                }
            };
            if same(field.compare, before, after) {
                out.unchanged += 1;
            } else {
                let class = risk::classify_field(field, before, after);
                out.changes.push(Change {
                    path: field.path.to_string(),
                    api,
                    action: Action::Update,
                    before: before.clone(),
                    after: after.clone(),
                    risk: class.risk,
                    reason: class.reason,
                    control: class.control,
                });
            }
        }
    }
    out
}

/// The live value of a setting path in what was observed (`null` if absent).
pub fn observed_value(observed: &ObservedTenant, path: &str) -> Value {
    let live = Value::Object(to_object(&observed.settings));
    value_at(&live, path).cloned().unwrap_or(Value::Null)
}

/// The value at a dotted path, if there is one.
pub(crate) fn value_at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |cur, k| cur.get(k))
        .filter(|v| !v.is_null())
}

pub(crate) fn to_object<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Whether the live value already is the desired one, compared as the
/// catalog says.
pub(crate) fn same(compare: Compare, before: &Value, after: &Value) -> bool {
    let set = |v: &Value, fold: bool| -> Option<Vec<String>> {
        let mut items: Vec<String> = v
            .as_array()?
            .iter()
            .map(|i| match i {
                Value::String(s) if fold => s.to_lowercase(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        items.sort();
        items.dedup();
        Some(items)
    };
    // Equal lists are equal sets: no sorted copies of a converged tenant's lists.
    if matches!(
        compare,
        Compare::Set | Compare::CaseInsensitiveSet | Compare::Targets
    ) && before.is_array()
        && before == after
    {
        return true;
    }
    match compare {
        Compare::Exact => before == after,
        Compare::Set => set(before, false).is_some_and(|b| Some(b) == set(after, false)),
        Compare::CaseInsensitiveSet | Compare::Targets => {
            set(before, true).is_some_and(|b| Some(b) == set(after, true))
        }
        Compare::GroupReference => {
            let id = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_lowercase);
            id(before).is_some() && id(before) == id(after)
        }
    }
}

/// Resolves the desired group reference to `{id, displayName}` using the groups
/// the provider looked up; records a finding when it cannot.
fn resolve_group(
    wanted: &Value,
    observed: &ObservedTenant,
    findings: &mut Vec<Finding>,
) -> Option<Value> {
    let wanted: GroupRef = serde_json::from_value(wanted.clone()).ok()?;
    let mut error = |message: String| {
        findings.push(Finding {
            severity: Severity::Error,
            check: "group".to_string(),
            path: GROUP_PATH.to_string(),
            message,
        });
    };
    if let Some(reason) = &observed.group_lookup_error {
        error(format!("could not look up the group: {reason}"));
        return None;
    }
    let group = match (&wanted.id, &wanted.display_name) {
        (Some(id), name) => {
            let Some(found) = observed.groups_by_id.get(&id.to_lowercase()) else {
                error(format!("no group with id {id} exists in this tenant"));
                return None;
            };
            if let Some(name) = name
                && &found.display_name != name
            {
                error(format!(
                    "group {id} is named \"{}\", not \"{name}\"",
                    found.display_name
                ));
                return None;
            }
            found.clone()
        }
        (None, Some(name)) => {
            let found = observed
                .groups_by_name
                .get(name)
                .cloned()
                .unwrap_or_default();
            match found.as_slice() {
                [one] => one.clone(),
                [] => {
                    error(format!("no group is named \"{name}\""));
                    return None;
                }
                many => {
                    let ids: Vec<&str> = many.iter().map(|g| g.id.as_str()).collect();
                    error(format!(
                        "{} groups are named \"{name}\"; pin the one you mean with `id:` ({})",
                        many.len(),
                        ids.join(", ")
                    ));
                    return None;
                }
            }
        }
        (None, None) => return None,
    };
    if !group.security_enabled {
        findings.push(Finding {
            severity: Severity::Warning,
            check: "group".to_string(),
            path: GROUP_PATH.to_string(),
            message: format!(
                "\"{}\" is not a security group; SSPR scoping expects a security group",
                group.display_name
            ),
        });
    }
    Some(serde_json::json!({ "id": group.id, "displayName": group.display_name }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_compare_as_sets_and_only_banned_terms_and_targets_ignore_case() {
        let q = Compare::Set;
        assert!(same(q, &json!(["A?", "B?"]), &json!(["B?", "A?"])));
        assert!(!same(
            q,
            &json!(["what was your first car?"]),
            &json!(["What was your first car?"])
        ));
        let banned = Compare::CaseInsensitiveSet;
        assert!(same(banned, &json!(["Contoso"]), &json!(["contoso"])));
        assert!(!same(banned, &Value::Null, &json!([])));
    }

    #[test]
    fn omitted_field_is_unmanaged_not_reset() {
        let tenant = Tenant {
            name: "t".into(),
            tenant_id: "x".into(),
            endpoint: ssprctl_model::Endpoint::Local,
            settings: serde_json::from_value(
                json!({"administratorPasswordReset": {"enabled": false}}),
            )
            .expect("settings"),
            credentials: None,
            index: 0,
        };
        let observed = ObservedTenant {
            settings: serde_json::from_value(json!({
                "administratorPasswordReset": {"enabled": true},
                "selfServicePasswordReset": {"methodsRequired": 1}
            }))
            .expect("settings"),
            ..Default::default()
        };
        let plan = plan_tenant(&tenant, &observed);
        let paths: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["administratorPasswordReset.enabled"]);
        assert_eq!(plan.changes[0].risk, crate::types::Risk::Strengthening);
    }

    /// A tenant with Microsoft's defaults for every catalog field (the catalog's
    /// `default`), every surface read.
    pub(crate) fn new_tenant() -> ObservedTenant {
        let mut live = json!({});
        for f in &catalog::FIELDS {
            let v: Value = serde_json::from_str(f.default).expect("JSON default");
            if !v.is_null() {
                let mut at = &mut live;
                let parts: Vec<&str> = f.path.split('.').collect();
                for p in &parts[..parts.len() - 1] {
                    at = at
                        .as_object_mut()
                        .expect("an object")
                        .entry(*p)
                        .or_insert_with(|| json!({}));
                }
                at[parts[parts.len() - 1]] = v;
            }
        }
        let mut observed = ObservedTenant {
            settings: serde_json::from_value(live).expect("the defaults are valid settings"),
            ..Default::default()
        };
        for api in Api::ALL {
            observed
                .digests
                .insert(api, ssprctl_model::Digest([api as u8; 32]));
        }
        observed
    }

    #[test]
    fn plan_and_lint_agree_with_plan_tenant_and_lint_after_plan() {
        let yaml = "version: 1
baseline:
  selfServicePasswordReset:
    enabledFor: all
    methodsRequired: 1
    methods: { email: true, mobilePhone: true }
    registration: { requireOnSignIn: false, reconfirmAfterDays: 0 }
  onPremisesIntegration: { unlockWithoutReset: true }
  administratorPasswordReset: { enabled: false }
  authenticationMethods:
    sms: { state: enabled, include: [allUsers] }
  passwordProtection: { lockoutThreshold: 3, bannedPasswords: [contoso] }
tenants:
  - name: a
    tenantId: 00000000-0000-4000-8000-000000000001
    endpoint: local
  - name: b
    tenantId: 00000000-0000-4000-8000-000000000002
    endpoint: local
    settings:
      selfServicePasswordReset: { methodsRequired: 2 }
";
        let config = ssprctl_model::load_str("c.yaml", yaml).expect("valid");
        let mut unreadable = new_tenant();
        unreadable.settings.authentication_methods = None;
        for observed in [new_tenant(), ObservedTenant::default(), unreadable] {
            for tenant in &config.tenants {
                let (planned, lint) = plan_and_lint(
                    &config,
                    tenant,
                    &observed,
                    "2026-11-30",
                    &DesiredSides::default(),
                );
                let alone = plan_tenant(tenant, &observed);
                let linted = crate::lint::lint_after_plan(&config, tenant, &observed, "2026-11-30");
                assert_eq!(
                    serde_json::to_value(&planned).expect("a plan serialises"),
                    serde_json::to_value(&alone).expect("a plan serialises")
                );
                assert!(!planned.findings.is_empty() || !planned.changes.is_empty());
                assert!(!lint.is_empty());
                assert_eq!(lint, linted);
            }
        }
    }

    #[test]
    fn the_desired_side_is_made_once_per_shared_copy_of_the_settings() {
        let settings = tenant(json!({"passwordProtection": {"lockoutThreshold": 5}})).settings;
        let shared = Arc::clone(&settings);
        let sides = DesiredSides::default();
        let a = sides.of(&settings);
        assert!(Arc::ptr_eq(&a, &sides.of(&shared)));
        // Equal settings in another copy: made again, the same.
        let copy = Arc::new((*settings).clone());
        let b = sides.of(&copy);
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a.json, b.json);
        let other = tenant(json!({"passwordProtection": {"lockoutThreshold": 6}})).settings;
        assert_eq!(
            sides.of(&other).json,
            json!({"passwordProtection": {"lockoutThreshold": 6}})
        );
        let managed = |d: &Desired| -> Vec<(&str, Value)> {
            d.surfaces
                .iter()
                .flat_map(|s| s.managed.iter().map(|(f, v)| (f.path, v.clone())))
                .collect()
        };
        assert_eq!(
            managed(&a),
            [("passwordProtection.lockoutThreshold", json!(5))]
        );
        // Every field of a surface is managed or not, once.
        for s in &a.surfaces {
            assert_eq!(
                s.managed.len() + s.unmanaged.len(),
                catalog::of_api(s.api).count()
            );
        }
    }

    #[test]
    fn a_converged_tenant_is_left_with_its_live_settings() {
        let observed = new_tenant();
        let desired = Tenant {
            settings: Arc::new(observed.settings.clone()),
            ..tenant(json!({}))
        };
        // What the planner takes without decoding the merged settings again.
        assert_eq!(
            preflight::after_apply(&desired.settings, &observed),
            observed.settings
        );
        let plan = plan_tenant(&desired, &observed);
        assert!(plan.changes.is_empty());
        assert!(plan.unchanged > 0);
    }

    pub(crate) fn tenant(settings: Value) -> Tenant {
        Tenant {
            name: "contoso".into(),
            tenant_id: "6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b".into(),
            endpoint: ssprctl_model::Endpoint::Local,
            settings: serde_json::from_value(settings).expect("settings"),
            credentials: None,
            index: 0,
        }
    }

    fn rendered(tp: TenantPlan) -> String {
        let plan = Plan {
            format_version: FORMAT_VERSION.into(),
            tool_version: "test".into(),
            config_digest: "d".into(),
            config_path: "c.yaml".into(),
            created_at: "t".into(),
            tenants: vec![tp],
            selection: None,
            merged: None,
        };
        crate::render::human(
            &plan,
            &crate::render::RenderOpts {
                color: false,
                group: false,
            },
        )
    }

    fn count(tp: &TenantPlan, risk: crate::types::Risk) -> usize {
        tp.changes.iter().filter(|c| c.risk == risk).count()
    }

    #[test]
    fn a_hardening_baseline_on_a_new_tenant_is_all_strengthening() {
        let desired = tenant(json!({
            "selfServicePasswordReset": {
                "enabledFor": "all", "methodsRequired": 2,
                "methods": {"mobilePhone": false, "email": false, "authenticatorCode": true},
                "registration": {"reconfirmAfterDays": 90}
            },
            "administratorPasswordReset": {"enabled": false},
            "authenticationMethods": {
                "migrationState": "migrationComplete",
                "sms": {"state": "disabled"},
                "fido2": {"state": "enabled"},
                "microsoftAuthenticator": {"state": "enabled", "showLocation": "enabled"}
            },
            "passwordProtection": {"lockoutThreshold": 5, "bannedPasswords": ["contoso"]}
        }));
        let tp = plan_tenant(&desired, &new_tenant());
        assert_eq!(tp.changes.len(), 14);
        assert_eq!(count(&tp, crate::types::Risk::Weakening), 0);
        assert_eq!(count(&tp, crate::types::Risk::Neutral), 0);
        insta::assert_snapshot!(rendered(tp));
    }

    #[test]
    fn a_weakening_file_is_marked_at_every_weakening_setting() {
        let desired = tenant(json!({
            "selfServicePasswordReset": {
                "methods": {"officePhone": true, "securityQuestions": true},
                "registration": {"reconfirmAfterDays": 0},
                "notifications": {"notifyAdminsOnAdminReset": false}
            },
            "onPremisesIntegration": {"passwordWriteback": true},
            "authenticationMethods": {
                "voice": {"state": "enabled"},
                "temporaryAccessPass": {"state": "enabled", "maximumLifetimeMinutes": 43200},
                "fido2": {"exclude": ["0b7e4f1a-8c2d-4a6b-9e3f-5d1c7a9b2e40"]},
                "email": {"include": ["allUsers"]}
            },
            "passwordProtection": {"lockoutThreshold": 50, "onPremisesMode": "audit"}
        }));
        let tp = plan_tenant(&desired, &new_tenant());
        // onPremisesMode is already audit: unchanged.
        assert_eq!(tp.changes.len(), 11);
        assert_eq!(count(&tp, crate::types::Risk::Weakening), 11);
        insta::assert_snapshot!(rendered(tp));
    }

    #[test]
    fn an_unreadable_surface_is_unknown_never_a_change_or_a_match() {
        let desired = tenant(json!({"administratorPasswordReset": {"enabled": false}}));
        let mut observed = new_tenant();
        observed.settings.administrator_password_reset = None;
        observed.unreadable.push(ssprctl_model::Unreadable {
            api: Api::GraphAuthorizationPolicy,
            failure: ssprctl_model::ReadFailure::Refused,
            reason: "HTTP 403".into(),
        });
        let tp = plan_tenant(&desired, &observed);
        assert!(tp.changes.is_empty());
        assert_eq!(tp.unknown.len(), 1);
        assert_eq!(tp.unknown[0].paths, ["administratorPasswordReset.enabled"]);
        let text = rendered(tp);
        assert!(!text.contains("live settings match"), "{text}");
    }

    #[test]
    fn control_characters_from_a_live_tenant_are_escaped_in_the_plan() {
        let desired = tenant(
            json!({"selfServicePasswordReset": {"helpdesk": {"contact": "https://help.example"}}}),
        );
        let mut observed = new_tenant();
        if let Some(s) = observed.settings.self_service_password_reset.as_mut() {
            s.helpdesk = Some(ssprctl_model::Helpdesk {
                custom_link: Some(true),
                contact: Some("\u{1b}[2J\u{202e}evil\u{7}".into()),
            });
        }
        let text = rendered(plan_tenant(&desired, &observed));
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(text.contains("\\u{1b}[2J\\u{202e}evil\\u{7}"), "{text}");
    }
}
