//! Lost updates on full-object writes, sans-IO.
//!
//! Two surfaces are written as a whole: the portal `PasswordResetPolicies`
//! (one PUT of the full object) and the Password Rule Settings (every value
//! in one PATCH or POST). A body built from an old read sends the old value
//! of every field it does not change, and so reverts whatever another writer
//! changed since. No ETag is known for either (docs/api-surfaces.md §1a, §9), so the
//! write compares instead:
//!
//! - before the write, the pre-write read with the read the plan was
//!   computed from ([`moved`]): a field the desired state manages that moved
//!   refuses the surface (the reviewed plan was computed against the old
//!   value; nothing is written); a field it does not manage that moved is a
//!   concurrent change that is kept: the body is built from the newer read;
//! - after the write, the apply compares each read-back that does not show
//!   the write yet with the object the write was built from: an unmanaged
//!   field that moved there was changed between the pre-write read and the
//!   write, which replaced it (a lost update, reported; see `ssprctl-apply`).
//!
//! Fields the service computes and ignores on a PUT (the portal's
//! `passwordResetEnabledGroupName` and `*OptionAllowed` flags, OData
//! annotations) are not compared: a write cannot revert them.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;
use ssprctl_model::{Api, Settings, catalog};

use crate::wire::{self, Loc};

/// Whether a surface's write sends the whole object (so a stale read would
/// revert fields it does not change).
pub fn full_object(api: Api) -> bool {
    match api {
        Api::PortalPasswordReset | Api::GraphPasswordRuleSettings => true,
        Api::PortalOnPremises | Api::GraphAuthorizationPolicy | Api::GraphAuthenticationMethods => {
            false
        }
    }
}

/// A field of a surface that another writer changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConcurrentChange {
    /// The surface.
    pub api: Api,
    /// The dotted model path of a catalog setting
    /// (`selfServicePasswordReset.methods.email`), or the wire name of a
    /// field outside the catalog (`registrationConditionalAccessPolicies`).
    pub field: String,
    /// Whether the desired-state file manages the setting.
    pub managed: bool,
    /// Its value in the read the write was based on (model form for a catalog
    /// setting, wire form otherwise; `null` when absent).
    pub before: Value,
    /// The other writer's value.
    pub after: Value,
}

/// The model paths (`section.relative`) of the catalog settings of `api` that
/// `settings` (a tenant's desired state) manages.
pub fn managed_paths(api: Api, settings: &Settings) -> BTreeSet<String> {
    let wanted = serde_json::to_value(settings).unwrap_or(Value::Null);
    let section = wanted.get(api.section()).cloned().unwrap_or(Value::Null);
    catalog::of_api(api)
        .filter(|f| wire::get_dotted(&section, f.relative_path()).is_some())
        .map(|f| f.path.to_string())
        .collect()
}

/// Every field of `api` whose value differs between `base` and `now` (two
/// reads of the surface's wire object; for the Password Rule Settings the
/// flat `{name: value}` object): catalog settings by model path and in model
/// form, then wire fields outside the catalog by name. `managed` is what
/// [`managed_paths`] gives.
pub fn moved(
    api: Api,
    base: &Value,
    now: &Value,
    managed: &BTreeSet<String>,
) -> Vec<ConcurrentChange> {
    let mut out = Vec::new();
    let (was, is) = (wire::observe(api, base), wire::observe(api, now));
    let mut covered = BTreeSet::new();
    for field in catalog::of_api(api) {
        if let Loc::Object(pointer) = wire::wire(field.id).loc
            && let Some(top) = pointer.trim_start_matches('/').split('/').next()
        {
            covered.insert(top.to_string());
        }
        let before = wire::get_dotted(&was, field.relative_path());
        let after = wire::get_dotted(&is, field.relative_path());
        if before != after {
            out.push(ConcurrentChange {
                api,
                field: field.path.to_string(),
                managed: managed.contains(field.path),
                before: before.cloned().unwrap_or(Value::Null),
                after: after.cloned().unwrap_or(Value::Null),
            });
        }
    }
    let keys: BTreeSet<&String> = [base, now]
        .into_iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys())
        .filter(|k| !covered.contains(k.as_str()) && !server_computed(k))
        .collect();
    for key in keys {
        let (before, after) = (base.get(key), now.get(key));
        if before != after {
            out.push(ConcurrentChange {
                api,
                field: key.clone(),
                managed: false,
                before: before.cloned().unwrap_or(Value::Null),
                after: after.cloned().unwrap_or(Value::Null),
            });
        }
    }
    out
}

/// Fields the service computes and ignores on a write (docs/api-surfaces.md §1a), and
/// OData annotations.
fn server_computed(key: &str) -> bool {
    key.contains("@odata.")
        || key.eq_ignore_ascii_case("passwordResetEnabledGroupName")
        || key.to_ascii_lowercase().ends_with("optionallowed")
}

/// The check before a full-object write: what moved between the read the
/// plan was computed from (`planned_from`) and the pre-write read
/// (`current`). `Err` with every moved field when a managed setting moved
/// (the surface must not be written); else the unmanaged fields that moved,
/// which the write keeps by building its body from `current`.
pub fn check_before_write(
    api: Api,
    planned_from: &Value,
    current: &Value,
    managed: &BTreeSet<String>,
) -> Result<Vec<ConcurrentChange>, Vec<ConcurrentChange>> {
    let moved = moved(api, planned_from, current, managed);
    if moved.iter().any(|m| m.managed) {
        Err(moved)
    } else {
        Ok(moved)
    }
}

/// The settings each request of a write carries, as groups of the given
/// changed model paths: a group is applied all at once or not at all, so a
/// read that shows one of a group's values shows the write of the whole
/// group. One group for a single-request write; one per flag for the
/// on-premises object; for the authentication-methods policy, the
/// policy-level fields, then one group per method configuration.
pub fn request_groups(api: Api, paths: &[&str]) -> Vec<Vec<String>> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for path in paths {
        let key = match api {
            Api::PortalOnPremises => (*path).to_string(),
            Api::GraphAuthenticationMethods => {
                match catalog::by_path(path).map(|f| wire::wire(f.id).loc) {
                    Some(Loc::Method(m, _)) => m.id.to_string(),
                    Some(Loc::Object(_)) | None => String::new(),
                }
            }
            Api::PortalPasswordReset
            | Api::GraphAuthorizationPolicy
            | Api::GraphPasswordRuleSettings => String::new(),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push((*path).to_string()),
            None => groups.push((key, vec![(*path).to_string()])),
        }
    }
    groups.into_iter().map(|(_, list)| list).collect()
}

#[cfg(test)]
#[path = "concurrent_tests.rs"]
mod tests;
