//! `export`: live tenants as a desired-state file.
//!
//! Two halves:
//! - [`export`] reads every tenant (the surfaces of the chosen fields, whatever
//!   the file manages) and the groups its settings refer to;
//! - [`shape`] (pure) turns what was read into YAML: the chosen catalog fields
//!   in catalog order, the SSPR group by display name when that name is unique
//!   (else by id), a `baseline` with what every tenant shares when there are
//!   several, values equal to the catalog's default left out on request, and
//!   every string quoted where YAML would read it as something else. The
//!   result is loaded back and must mean exactly the settings read, or
//!   nothing is returned.
//!
//! Which fields an export holds by default is decided once, in
//! [`exported_by_default`]; `--all-settings` exports every catalog field.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use ssprctl_model::catalog::{Compare, FIELDS, Field, FieldId};
use ssprctl_model::text::{escape_controls, find_control};
use ssprctl_model::{Api, Config, Endpoint, LoadError, Settings, TenantEntry, Unreadable};
use ssprctl_provider::HttpProvider;
use ssprctl_provider::client::GroupLookup;

/// What to export and how.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Every catalog field, not only those of [`exported_by_default`].
    pub all_settings: bool,
    /// Leave out values equal to the catalog's default (Microsoft's value for
    /// a new tenant).
    pub omit_defaults: bool,
    /// The `$schema` of the first line (a path relative to the file, or a URL).
    pub schema: String,
    /// Where the settings came from, for the header comment (e.g. `the
    /// tenants of msp.yaml`). Never a secret.
    pub source: String,
    /// When they were read (RFC 3339), for the header comment.
    pub exported_at: String,
}

/// The schema comment the examples use (relative to a file one directory below
/// the repository root).
pub const DEFAULT_SCHEMA: &str = "../schemas/ssprctl.schema.json";

/// Whether an export holds this field without `--all-settings`: what a file
/// usually manages. Who may reset and how (scope, methods required, the reset
/// methods), registration, notifications and the helpdesk link; SSPR for
/// administrators; the migration state and each authentication method's
/// state; cloud password protection. Left to `--all-settings`: the security
/// questions' settings, on-premises integration and on-premises password
/// protection (hybrid tenants only), the registration campaign, each
/// method's targets and detailed settings, and registration's "skip now"
/// (`skipAllowed`, `skipMaxDays`: rarely changed, and the range of
/// `skipMaxDays` is unconfirmed, so a default export never carries a value
/// the schema may wrongly refuse).
pub fn exported_by_default(id: FieldId) -> bool {
    use FieldId as F;
    match id {
        F::SsprEnabledFor
        | F::SsprGroup
        | F::SsprMethodsRequired
        | F::SsprMethodEmail
        | F::SsprMethodMobilePhone
        | F::SsprMethodOfficePhone
        | F::SsprMethodSecurityQuestions
        | F::SsprMethodAuthenticatorNotification
        | F::SsprMethodAuthenticatorCode
        | F::SsprRequireRegistration
        | F::SsprReconfirmDays
        | F::SsprNotifyUsers
        | F::SsprNotifyAdmins
        | F::SsprHelpdeskCustomLink
        | F::SsprHelpdeskContact
        | F::AdminSspr
        | F::MigrationState
        | F::EmailState
        | F::SmsState
        | F::VoiceState
        | F::AuthenticatorState
        | F::SoftwareOathState
        | F::HardwareOathState
        | F::TapState
        | F::Fido2State
        | F::X509State
        | F::LockoutThreshold
        | F::LockoutDuration
        | F::EnforceBannedPasswords
        | F::BannedPasswords => true,
        F::SsprQuestionsToRegister
        | F::SsprQuestionsToReset
        | F::SsprQuestions
        | F::SsprSkipRegistration
        | F::SsprSkipRegistrationDays
        | F::OnPremPasswordWriteback
        | F::OnPremUnlockWithoutReset
        | F::CampaignState
        | F::CampaignSnoozeDays
        | F::CampaignEnforce
        | F::CampaignInclude
        | F::CampaignExclude
        | F::EmailInclude
        | F::EmailExclude
        | F::EmailExternalUsers
        | F::SmsInclude
        | F::SmsExclude
        | F::VoiceInclude
        | F::VoiceExclude
        | F::VoiceOfficePhone
        | F::AuthenticatorInclude
        | F::AuthenticatorExclude
        | F::AuthenticatorOtp
        | F::AuthenticatorShowApp
        | F::AuthenticatorShowLocation
        | F::SoftwareOathInclude
        | F::SoftwareOathExclude
        | F::HardwareOathInclude
        | F::HardwareOathExclude
        | F::TapInclude
        | F::TapExclude
        | F::TapDefaultLifetime
        | F::TapMinimumLifetime
        | F::TapMaximumLifetime
        | F::TapLength
        | F::TapOneTimeUse
        | F::Fido2Include
        | F::Fido2Exclude
        | F::Fido2SelfService
        | F::Fido2Attestation
        | F::X509Include
        | F::X509Exclude
        | F::OnPremProtection
        | F::OnPremProtectionMode => false,
    }
}

/// The table of docs/export.md: every catalog field and whether it is
/// exported by default.
pub fn default_fields_markdown() -> String {
    let mut out = String::from("| setting | API | exported by default |\n|---|---|---|\n");
    for f in &FIELDS {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            f.path,
            f.api.label(),
            if exported_by_default(f.id) {
                "yes"
            } else {
                "with `--all-settings`"
            }
        ));
    }
    out
}

/// The fields an export holds, in catalog order.
pub fn chosen_fields(all_settings: bool) -> Vec<&'static Field> {
    FIELDS
        .iter()
        .filter(|f| all_settings || exported_by_default(f.id))
        .collect()
}

/// The surfaces an export reads.
pub fn surfaces(all_settings: bool) -> BTreeSet<Api> {
    chosen_fields(all_settings)
        .into_iter()
        .map(|f| f.api)
        .collect()
}

/// One tenant as read for export.
#[derive(Clone, Debug)]
pub struct LiveTenant {
    /// The tenant's entry (name, id, endpoint, credentials); its settings are
    /// not used.
    pub entry: TenantEntry,
    /// The live settings of every surface read.
    pub settings: Settings,
    /// The groups the live settings refer to, and the SSPR group's name.
    pub groups: GroupLookup,
}

/// A setting left out of an export because its live value cannot be written
/// in a valid file (it stays unmanaged, so a plan never touches it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The tenant.
    pub tenant: String,
    /// The setting path.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// An exported file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The YAML text.
    pub yaml: String,
    /// How many tenants it holds.
    pub tenants: usize,
    /// The settings left out (also listed in the file's header comment).
    pub left_out: Vec<LeftOut>,
}

/// The surfaces of one tenant that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantUnreadable {
    /// The tenant's name.
    pub tenant: String,
    /// Each surface, its kind of failure and the reason (status, error code).
    pub surfaces: Vec<Unreadable>,
}

/// Why nothing was exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A surface of a tenant could not be read: nothing is guessed.
    #[error(
        "could not read every surface of {} tenant{}; nothing was exported",
        .failures.len(),
        if .failures.len() == 1 { "" } else { "s" }
    )]
    Unreadable {
        /// Each tenant with a failed surface.
        failures: Vec<TenantUnreadable>,
    },
    /// The YAML made does not load back as the settings read (a defect).
    #[error("the exported file does not load back as the settings read: {detail}")]
    RoundTrip {
        /// What differs, or the load error.
        detail: String,
    },
    /// `--tenant-id` is not a directory id.
    #[error("--tenant-id `{}` is not a directory id (a GUID)", escape_controls(.given))]
    TenantId {
        /// As given.
        given: String,
    },
    /// `--endpoint` is not an endpoint.
    #[error("--endpoint: {}", escape_controls(.reason))]
    Endpoint {
        /// Why (what is accepted).
        reason: String,
    },
    /// The tenant given on the command line is not a valid tenant entry.
    #[error(transparent)]
    Tenant {
        /// Every problem of the entry.
        #[from]
        source: LoadError,
    },
}

/// A one-tenant configuration for a tenant given on the command line
/// (`--tenant-id`, `--endpoint`): credentials from the environment, as for a
/// tenant of a file that names none.
pub fn command_line_tenant(
    name: &str,
    tenant_id: &str,
    endpoint: &str,
) -> Result<Config, ExportError> {
    if !ssprctl_model::validate::is_guid(tenant_id) {
        return Err(ExportError::TenantId {
            given: tenant_id.to_string(),
        });
    }
    Endpoint::try_from(endpoint.to_string()).map_err(|reason| ExportError::Endpoint { reason })?;
    let text = format!(
        "version: 1\ntenants:\n  - name: {}\n    tenantId: {}\n    endpoint: {}\n",
        yaml_string(name),
        yaml_string(tenant_id),
        yaml_string(endpoint)
    );
    Ok(ssprctl_model::load_str("<command line>", &text)?)
}

/// Reads every tenant of `config` (up to `parallelism` at a time) and shapes
/// the export. The file's settings do not decide what is read.
pub async fn export(
    config: &Config,
    provider: &HttpProvider,
    parallelism: usize,
    opts: &ExportOptions,
) -> Result<Exported, ExportError> {
    let apis = surfaces(opts.all_settings);
    let fields = chosen_fields(opts.all_settings);
    let read: Vec<Result<LiveTenant, TenantUnreadable>> = crate::planning::concurrently(
        config.tenants.iter().zip(&config.file.tenants),
        parallelism,
        |(tenant, entry)| {
            let apis = &apis;
            let fields = &fields;
            async move {
                let observed = provider.read_surfaces(tenant, apis).await;
                if !observed.unreadable.is_empty() {
                    return Err(TenantUnreadable {
                        tenant: tenant.name.clone(),
                        surfaces: observed.unreadable,
                    });
                }
                let live = to_value(&observed.settings);
                let ids = referenced_groups(&live, fields);
                let mut groups = provider.lookup_groups(tenant, &ids, &[]).await;
                if let Some(name) = sspr_group(&live)
                    .and_then(|id| groups.by_id.get(&id.to_lowercase()))
                    .map(|g| g.display_name.clone())
                    .filter(|n| !n.is_empty())
                {
                    let by_name = provider
                        .lookup_groups(tenant, &[], std::slice::from_ref(&name))
                        .await;
                    groups.by_name.extend(by_name.by_name);
                    groups.failed.extend(by_name.failed);
                }
                Ok(LiveTenant {
                    entry: entry.clone(),
                    settings: observed.settings,
                    groups,
                })
            }
        },
    )
    .await;
    let mut live = Vec::new();
    let mut failures = Vec::new();
    for r in read {
        match r {
            Ok(t) => live.push(t),
            Err(f) => failures.push(f),
        }
    }
    if !failures.is_empty() {
        return Err(ExportError::Unreadable { failures });
    }
    shape(&live, opts)
}

// ------------------------------------------------------------------ shaping

/// One exported setting of one tenant.
#[derive(Clone, Debug)]
struct Leaf {
    field: &'static Field,
    value: Value,
    /// A comment on the value's line (for a list: on its key's line).
    comment: Option<String>,
    /// For a list: a comment per item.
    items: Vec<Option<String>>,
}

/// Shapes the export of `tenants` (pure): see the module documentation.
pub fn shape(tenants: &[LiveTenant], opts: &ExportOptions) -> Result<Exported, ExportError> {
    let fields = chosen_fields(opts.all_settings);
    let mut left_out = Vec::new();
    let per_tenant: Vec<Vec<Leaf>> = tenants
        .iter()
        .map(|t| tenant_leaves(t, &fields, opts.omit_defaults, &mut left_out))
        .collect();
    let (baseline, own) = split_baseline(&per_tenant);
    let yaml = emit_file(tenants, &baseline, &own, &left_out, opts);
    check_round_trip(&yaml, &per_tenant)?;
    Ok(Exported {
        yaml,
        tenants: tenants.len(),
        left_out,
    })
}

fn to_value(settings: &Settings) -> Value {
    serde_json::to_value(settings).unwrap_or(Value::Null)
}

fn value_at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |cur, k| cur.get(k))
        .filter(|v| !v.is_null())
}

/// The SSPR group's object id, when SSPR is enabled for a selected group.
fn sspr_group(live: &Value) -> Option<&str> {
    let sspr = live.get(Api::PortalPasswordReset.section())?;
    (sspr.get("enabledFor")?.as_str()? == "selected")
        .then(|| sspr.get("group")?.get("id")?.as_str())
        .flatten()
}

/// Every group id the chosen fields refer to (the SSPR group and method
/// targets), `allUsers` not included.
fn referenced_groups(live: &Value, fields: &[&'static Field]) -> Vec<String> {
    let mut ids = BTreeSet::new();
    for f in fields {
        match f.compare {
            Compare::GroupReference => {
                if let Some(id) = sspr_group(live) {
                    ids.insert(id.to_lowercase());
                }
            }
            Compare::Targets => {
                let items = value_at(live, f.path).and_then(Value::as_array);
                for t in items.into_iter().flatten().filter_map(Value::as_str) {
                    if ssprctl_model::validate::is_guid(t) {
                        ids.insert(t.to_lowercase());
                    }
                }
            }
            Compare::Exact | Compare::Set | Compare::CaseInsensitiveSet => {}
        }
    }
    ids.into_iter().collect()
}

/// The exported settings of one tenant, after leaving out what a valid file
/// cannot hold.
fn tenant_leaves(
    tenant: &LiveTenant,
    fields: &[&'static Field],
    omit_defaults: bool,
    left_out: &mut Vec<LeftOut>,
) -> Vec<Leaf> {
    let live = to_value(&tenant.settings);
    let name = &tenant.entry.name;
    let mut leaves = Vec::new();
    for &field in fields {
        let Some(value) = value_at(&live, field.path) else {
            continue;
        };
        let leaf = match field.compare {
            Compare::GroupReference => {
                let Some(id) = sspr_group(&live) else {
                    // Only `enabledFor: selected` uses a group.
                    continue;
                };
                group_reference(id, &tenant.groups)
            }
            Compare::Targets => {
                let items = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        let id = t.as_str().unwrap_or_default().to_lowercase();
                        tenant
                            .groups
                            .by_id
                            .get(&id)
                            .map(|g| escape_controls(&g.display_name))
                    })
                    .collect();
                Leaf {
                    field,
                    value: value.clone(),
                    comment: None,
                    items,
                }
            }
            Compare::Exact | Compare::Set | Compare::CaseInsensitiveSet => Leaf {
                field,
                value: value.clone(),
                comment: None,
                items: Vec::new(),
            },
        };
        if omit_defaults && is_default(field, &leaf.value) {
            continue;
        }
        if let Some(reason) = control_in(&leaf.value) {
            left_out.push(LeftOut {
                tenant: name.clone(),
                path: field.path.to_string(),
                reason,
            });
            continue;
        }
        leaves.push(leaf);
    }
    // A live state can break a rule the file format checks (say, a helpdesk
    // contact that is empty, or fewer questions than users must register):
    // such a setting stays unmanaged rather than making the file invalid.
    // Leaving one out can settle another rule, so repeat.
    loop {
        let issues = ssprctl_model::validate::settings(&settings_of(&leaves));
        let mut removed = false;
        for issue in issues {
            let at = leaves.iter().position(|l| {
                issue.path == l.field.path
                    || issue
                        .path
                        .strip_prefix(l.field.path)
                        .is_some_and(|rest| rest.starts_with('.'))
            });
            if let Some(i) = at {
                let leaf = leaves.remove(i);
                left_out.push(LeftOut {
                    tenant: name.clone(),
                    path: leaf.field.path.to_string(),
                    reason: issue.message,
                });
                removed = true;
                break;
            }
        }
        if !removed {
            break;
        }
    }
    leaves
}

/// The SSPR group: by display name when exactly one group has it (the id in
/// a comment), else by id (with the name, and why, in a comment).
fn group_reference(id: &str, groups: &GroupLookup) -> Leaf {
    let field = FieldId::SsprGroup.spec();
    let id = id.to_lowercase();
    let by_id = |comment: String| Leaf {
        field,
        value: serde_json::json!({ "id": id }),
        comment: Some(comment),
        items: Vec::new(),
    };
    let Some(group) = groups.by_id.get(&id) else {
        return by_id(match groups.failed.get(&id) {
            Some(why) => format!("display name not looked up: {}", escape_controls(why)),
            None => "no group with this id was found".to_string(),
        });
    };
    let name = &group.display_name;
    let shown = escape_controls(name);
    match groups.by_name.get(name).map(Vec::as_slice) {
        Some([only]) if only.id.eq_ignore_ascii_case(&id) && find_control(name).is_none() => Leaf {
            field,
            value: serde_json::json!({ "displayName": name }),
            comment: Some(format!("object id {id}")),
            items: Vec::new(),
        },
        Some(found) if found.len() > 1 => by_id(format!(
            "{shown} (by id: {} groups have this display name)",
            found.len()
        )),
        Some(_) => by_id(shown),
        None => by_id(match groups.failed.get(name) {
            Some(why) => format!(
                "{shown} (by id: whether the name is unique was not checked: {})",
                escape_controls(why)
            ),
            None => shown,
        }),
    }
}

/// Whether `value` is the catalog's default for `field` (lists compared as
/// sets, the way the planner compares them).
fn is_default(field: &Field, value: &Value) -> bool {
    let Ok(default) = serde_json::from_str::<Value>(field.default) else {
        return false;
    };
    match (field.compare, value, &default) {
        (
            Compare::Set | Compare::CaseInsensitiveSet | Compare::Targets,
            Value::Array(a),
            Value::Array(b),
        ) => {
            let fold = !matches!(field.compare, Compare::Set);
            let norm = |v: &Vec<Value>| {
                v.iter()
                    .map(|i| match i.as_str() {
                        Some(s) if fold => s.to_lowercase(),
                        Some(s) => s.to_string(),
                        None => i.to_string(),
                    })
                    .collect::<BTreeSet<String>>()
            };
            norm(a) == norm(b)
        }
        _ => *value == default,
    }
}

/// A control character in a string of the value: a file cannot hold it.
fn control_in(value: &Value) -> Option<String> {
    let strings: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::Object(map) => map.values().filter_map(Value::as_str).collect(),
        Value::Null | Value::Bool(_) | Value::Number(_) => Vec::new(),
    };
    strings.into_iter().find_map(|s| {
        find_control(s).map(|(_, c)| {
            format!(
                "the live value contains the control character `{}`, which a file cannot hold",
                escape_controls(&c.to_string())
            )
        })
    })
}

/// The nested settings object of `leaves`.
fn object_of<'a>(leaves: impl IntoIterator<Item = &'a Leaf>) -> Value {
    let mut root = Value::Object(Map::new());
    for leaf in leaves {
        let mut at = &mut root;
        let mut segments = leaf.field.path.split('.').peekable();
        while let Some(seg) = segments.next() {
            let Value::Object(map) = at else { break };
            if segments.peek().is_none() {
                map.insert(seg.to_string(), leaf.value.clone());
                break;
            }
            at = map
                .entry(seg.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
}

fn settings_of(leaves: &[Leaf]) -> Settings {
    serde_json::from_value(object_of(leaves)).unwrap_or_default()
}

/// With several tenants, the settings every tenant has with the same value go
/// to the baseline; each tenant keeps the rest. One tenant keeps everything.
fn split_baseline(per_tenant: &[Vec<Leaf>]) -> (Vec<Leaf>, Vec<Vec<Leaf>>) {
    if per_tenant.len() < 2 {
        return (Vec::new(), per_tenant.to_vec());
    }
    let shared: Vec<Leaf> = per_tenant[0]
        .iter()
        .filter(|leaf| {
            per_tenant[1..].iter().all(|other| {
                other
                    .iter()
                    .any(|o| o.field.id == leaf.field.id && o.value == leaf.value)
            })
        })
        .map(|leaf| {
            // A comment stays only if every tenant has the same one.
            let same_comments = per_tenant.iter().all(|t| {
                t.iter().any(|o| {
                    o.field.id == leaf.field.id
                        && o.comment == leaf.comment
                        && o.items == leaf.items
                })
            });
            let mut leaf = leaf.clone();
            if !same_comments {
                leaf.comment = None;
                leaf.items = vec![None; leaf.items.len()];
            }
            leaf
        })
        .collect();
    let in_baseline: BTreeSet<FieldId> = shared.iter().map(|l| l.field.id).collect();
    let own = per_tenant
        .iter()
        .map(|t| {
            t.iter()
                .filter(|l| !in_baseline.contains(&l.field.id))
                .cloned()
                .collect()
        })
        .collect();
    (shared, own)
}

/// Loads the text back: each tenant's effective settings must be exactly the
/// settings exported for it.
fn check_round_trip(yaml: &str, per_tenant: &[Vec<Leaf>]) -> Result<(), ExportError> {
    let loaded = ssprctl_model::load_str("export", yaml).map_err(|e| {
        let problems = match &e {
            LoadError::Invalid { problems, .. } => problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        ExportError::RoundTrip { detail: problems }
    })?;
    for (tenant, leaves) in loaded.tenants.iter().zip(per_tenant) {
        let wanted = settings_of(leaves);
        if *tenant.settings != wanted {
            return Err(ExportError::RoundTrip {
                detail: format!(
                    "tenant {} loads as {} instead of {}",
                    escape_controls(&tenant.name),
                    to_value(&tenant.settings),
                    to_value(&wanted)
                ),
            });
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ YAML text

/// A string as a YAML scalar: plain when YAML reads it back as the same
/// string, else double-quoted (JSON string syntax, which YAML's double-quoted
/// scalars accept).
pub fn yaml_string(s: &str) -> String {
    let plain_chars = |s: &str| {
        s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '/' | '+' | ' ')
        }) && !s.ends_with(' ')
    };
    let starts_with_letter = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
    ]
    .iter()
    .any(|w| s.eq_ignore_ascii_case(w));
    let plain =
        (starts_with_letter && plain_chars(s) && !reserved) || ssprctl_model::validate::is_guid(s);
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_string(s),
        Value::Null => "null".to_string(),
        Value::Bool(_) | Value::Number(_) => v.to_string(),
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Array(_) | Value::Object(_) => v.to_string(),
    }
}

fn with_comment(line: String, comment: Option<&str>) -> String {
    match comment {
        Some(c) if !c.is_empty() => format!("{line}  # {c}"),
        Some(_) | None => line,
    }
}

/// The comments of a settings tree, by dotted path ("" for none).
#[derive(Default)]
struct Comments {
    on: BTreeMap<String, String>,
    items: BTreeMap<String, Vec<Option<String>>>,
}

impl Comments {
    fn of(leaves: &[Leaf]) -> Comments {
        let mut out = Comments::default();
        for l in leaves {
            if let Some(c) = &l.comment {
                // A group reference's comment goes on its one inner line.
                let at = match &l.value {
                    Value::Object(map) => match map.keys().next() {
                        Some(k) => format!("{}.{k}", l.field.path),
                        None => l.field.path.to_string(),
                    },
                    Value::Null
                    | Value::Bool(_)
                    | Value::Number(_)
                    | Value::String(_)
                    | Value::Array(_) => l.field.path.to_string(),
                };
                out.on.insert(at, c.clone());
            }
            if l.items.iter().any(Option::is_some) {
                out.items.insert(l.field.path.to_string(), l.items.clone());
            }
        }
        out
    }
}

/// Writes a mapping at `indent`, block style.
fn emit_map(
    out: &mut String,
    map: &Map<String, Value>,
    indent: usize,
    path: &str,
    comments: &Comments,
) {
    let pad = " ".repeat(indent);
    for (key, value) in map {
        let here = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let comment = comments.on.get(&here).map(String::as_str);
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push_str(&with_comment(
                    format!("{pad}{}:", yaml_string(key)),
                    comment,
                ));
                out.push('\n');
                emit_map(out, inner, indent + 2, &here, comments);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str(&with_comment(
                    format!("{pad}{}:", yaml_string(key)),
                    comment,
                ));
                out.push('\n');
                let item_comments = comments.items.get(&here);
                for (i, item) in items.iter().enumerate() {
                    let c = item_comments
                        .and_then(|c| c.get(i))
                        .and_then(Option::as_deref);
                    out.push_str(&with_comment(format!("{pad}  - {}", scalar(item)), c));
                    out.push('\n');
                }
            }
            other => {
                out.push_str(&with_comment(
                    format!("{pad}{}: {}", yaml_string(key), scalar(other)),
                    comment,
                ));
                out.push('\n');
            }
        }
    }
}

fn emit_file(
    tenants: &[LiveTenant],
    baseline: &[Leaf],
    own: &[Vec<Leaf>],
    left_out: &[LeftOut],
    opts: &ExportOptions,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# yaml-language-server: $schema={}\n#\n",
        escape_controls(&opts.schema)
    ));
    out.push_str(&format!(
        "# Exported by ssprctl {} at {} from {}:\n",
        crate::TOOL_VERSION,
        escape_controls(&opts.exported_at),
        escape_controls(&opts.source)
    ));
    out.push_str(&format!(
        "# {}{}.\n",
        if opts.all_settings {
            "every setting ssprctl manages"
        } else {
            "the settings a file usually manages (--all-settings for every one)"
        },
        if opts.omit_defaults {
            ", values equal to Microsoft's default left out"
        } else {
            ""
        }
    ));
    out.push_str("# Review it, commit it, then `ssprctl plan --config FILE` shows no changes.\n");
    if !left_out.is_empty() {
        out.push_str("#\n# Left out (unmanaged), because a file cannot hold the live value:\n");
        for l in left_out {
            out.push_str(&format!(
                "#   {}: {}: {}\n",
                escape_controls(&l.tenant),
                l.path,
                escape_controls(&l.reason)
            ));
        }
    }
    out.push_str("version: 1\n");
    if let Value::Object(map) = object_of(baseline)
        && !map.is_empty()
    {
        out.push_str("baseline:\n");
        emit_map(&mut out, &map, 2, "", &Comments::of(baseline));
    }
    out.push_str("tenants:\n");
    for (tenant, leaves) in tenants.iter().zip(own) {
        let e = &tenant.entry;
        out.push_str(&format!("  - name: {}\n", yaml_string(&e.name)));
        out.push_str(&format!("    tenantId: {}\n", yaml_string(&e.tenant_id)));
        out.push_str(&format!(
            "    endpoint: {}\n",
            yaml_string(&String::from(e.endpoint.clone()))
        ));
        if let Some(creds) = &e.credentials
            && let Ok(Value::Object(map)) = serde_json::to_value(creds)
            && !map.is_empty()
        {
            out.push_str("    credentials:\n");
            emit_map(&mut out, &map, 6, "", &Comments::default());
        }
        if let Value::Object(map) = object_of(leaves)
            && !map.is_empty()
        {
            out.push_str("    settings:\n");
            emit_map(&mut out, &map, 6, "", &Comments::of(leaves));
        }
    }
    out
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
