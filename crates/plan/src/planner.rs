//! The planner: `(desired, observed) -> TenantPlan`, a pure function.
//!
//! It compares every managed leaf of the desired settings with the live value at
//! the same path. Lists compare as sets (the APIs do not keep order). A section
//! whose surface could not be read yields `Unknown` entries, never changes.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use ssprctl_model::{Api, GroupRef, ObservedTenant, Tenant};

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

/// Plans every tenant.
pub fn plan(tenants: &[(&Tenant, &ObservedTenant)], meta: &PlanMeta) -> Plan {
    Plan {
        format_version: FORMAT_VERSION.to_string(),
        tool_version: meta.tool_version.clone(),
        config_digest: meta.config_digest.clone(),
        config_path: meta.config_path.clone(),
        created_at: meta.created_at.clone(),
        tenants: tenants.iter().map(|(t, o)| plan_tenant(t, o)).collect(),
    }
}

const GROUP_PATH: &str = "selfServicePasswordReset.group";

/// Plans one tenant.
pub fn plan_tenant(tenant: &Tenant, observed: &ObservedTenant) -> TenantPlan {
    let desired = to_object(&tenant.settings);
    let live = to_object(&observed.settings);
    let mut out = TenantPlan {
        name: tenant.name.clone(),
        tenant_id: tenant.tenant_id.clone(),
        changes: Vec::new(),
        unknown: Vec::new(),
        findings: Vec::new(),
        readiness: Vec::new(),
        unchanged: 0,
        unmanaged: 0,
        prior: observed.digests.clone(),
    };

    for (section, wanted) in &desired {
        let Some(api) = Api::for_path(section) else {
            continue;
        };
        let mut leaves = BTreeMap::new();
        flatten(section, wanted, &mut leaves);
        let Some(have) = live.get(section) else {
            let reason = observed
                .unreadable
                .iter()
                .find(|u| u.api == api)
                .map(|u| u.reason.clone())
                .unwrap_or_else(|| "not read".to_string());
            out.unknown.push(Unknown {
                api,
                paths: leaves.into_keys().collect(),
                reason,
            });
            continue;
        };
        let mut live_leaves = BTreeMap::new();
        flatten(section, have, &mut live_leaves);
        out.unmanaged += live_leaves
            .keys()
            .filter(|p| !leaves.contains_key(*p))
            .count();

        for (path, after) in leaves {
            let before = live_leaves.get(&path).cloned().unwrap_or(Value::Null);
            let after = if path == GROUP_PATH {
                match resolve_group(&after, observed, &mut out.findings) {
                    Some(v) => v,
                    None => continue,
                }
            } else {
                after
            };
            if same(&path, &before, &after) {
                out.unchanged += 1;
            } else {
                let class = risk::classify(&path, &before, &after);
                out.changes.push(Change {
                    path,
                    api,
                    action: Action::Update,
                    before,
                    after,
                    risk: class.risk,
                    reason: class.reason,
                    control: class.control.map(str::to_string),
                });
            }
        }
    }
    preflight::run(tenant, observed, &mut out.findings);
    // Write order first (the order of Api::ALL), then path.
    out.changes.sort_by(|a, b| {
        let rank = |api: Api| Api::ALL.iter().position(|x| *x == api);
        (rank(a.api), &a.path).cmp(&(rank(b.api), &b.path))
    });
    out.unknown
        .sort_by_key(|u| Api::ALL.iter().position(|x| *x == u.api));
    out.findings
        .sort_by(|a, b| (a.severity, &a.path).cmp(&(b.severity, &b.path)));
    out
}

/// The live value of a setting path in what was observed (`null` if absent).
pub fn observed_value(observed: &ObservedTenant, path: &str) -> Value {
    let live = Value::Object(to_object(&observed.settings));
    let pointer = format!("/{}", path.replace('.', "/"));
    live.pointer(&pointer).cloned().unwrap_or(Value::Null)
}

fn to_object<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Collects the leaves under `prefix`: scalars and lists; mappings recurse,
/// except the group reference, which is one value.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if prefix != GROUP_PATH => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// Whether the live value already is the desired one.
/// Lists whose items compare case-insensitively: banned terms (Entra matches
/// them without regard to case) and targets (group object ids).
fn case_insensitive_list(path: &str) -> bool {
    path == "passwordProtection.bannedPasswords"
        || path.ends_with(".include")
        || path.ends_with(".exclude")
}

fn same(path: &str, before: &Value, after: &Value) -> bool {
    match (before, after) {
        (Value::Array(a), Value::Array(b)) => {
            let fold = case_insensitive_list(path);
            let key = |v: &Value| match v {
                Value::String(s) if fold => s.to_lowercase(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut a: Vec<String> = a.iter().map(key).collect();
            let mut b: Vec<String> = b.iter().map(key).collect();
            a.sort();
            b.sort();
            a == b
        }
        (b, a) if path == GROUP_PATH => b.get("id") == a.get("id"),
        (b, a) => b == a,
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_compare_as_sets_and_only_banned_terms_and_targets_ignore_case() {
        let q = "selfServicePasswordReset.securityQuestions.questions";
        assert!(same(q, &json!(["A?", "B?"]), &json!(["B?", "A?"])));
        assert!(!same(
            q,
            &json!(["what was your first car?"]),
            &json!(["What was your first car?"])
        ));
        let banned = "passwordProtection.bannedPasswords";
        assert!(same(banned, &json!(["Contoso"]), &json!(["contoso"])));
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
}
