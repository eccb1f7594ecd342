//! The plan: a value, computed once, reviewed, saved, then executed as is.
//!
//! This is also the documented, versioned JSON format of `plan --json`, of
//! `plan --out FILE` and of `show --json` (docs/plan-format.md, JSON Schema at
//! schemas/plan.schema.json). Additive changes bump the minor version of
//! [`FORMAT_VERSION`]; breaking changes bump the major version.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssprctl_model::Api;

/// Version of the plan format.
pub const FORMAT_VERSION: &str = "1.2";

/// What ssprctl would change, per tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "ssprctl plan")]
pub struct Plan {
    /// Version of this format, `MAJOR.MINOR`.
    pub format_version: String,
    /// The ssprctl version that made the plan. `apply` refuses a plan made by
    /// another version.
    pub tool_version: String,
    /// SHA-256 of the desired-state file the plan was made from. `apply` refuses
    /// a plan whose file has changed since.
    pub config_digest: String,
    /// The desired-state file, relative to the directory the plan was made in
    /// when it is inside it. `apply` reads it only from a relative path inside
    /// its working directory (or from `--config`), and only if its bytes match
    /// `config_digest`.
    pub config_path: String,
    /// When the plan was made (RFC 3339). Informational: it must not influence apply.
    pub created_at: String,
    /// One entry per tenant, in file order.
    pub tenants: Vec<TenantPlan>,
    /// The tenants of the file the plan covers, when `--tenant` or `--shard`
    /// chose some (absent: every tenant). `apply PLANFILE` recomputes the plan
    /// with the same selection; it decides nothing else (the recomputation
    /// does). Added in format 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// Set on a plan made by `ssprctl merge` from several plans: for reading,
    /// never for applying (`apply` refuses it). Added in format 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
}

/// Which tenants of the desired-state file a plan covers (`--tenant`,
/// `--shard`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Selection {
    /// The `--tenant` patterns as given (globs on the tenant's `name`); a
    /// tenant is selected when any matches. Empty: every tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// The `--shard`, if one was given: applied after the patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The position (0-based) in the file's `tenants` list of each tenant of
    /// the plan, in plan order: `merge` restores file order with it.
    /// Informational: `apply` recomputes the selection.
    pub positions: Vec<usize>,
    /// How many tenants the file has.
    pub file_tenants: usize,
}

/// One shard of `n` (`--shard i/n`): the tenants whose stable hash assigns
/// them to shard `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    /// 1-based: `1..=count`.
    pub index: u32,
    /// How many shards the tenants are split into.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a merged plan was made from (`ssprctl merge`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Merged {
    /// How many plans were merged.
    pub plans: usize,
    /// The shard count when they were the shards `1/n..n/n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
}

impl Plan {
    /// Number of changes across all tenants.
    pub fn change_count(&self) -> usize {
        self.tenants.iter().map(|t| t.changes.len()).sum()
    }
    /// Number of weakening changes across all tenants.
    pub fn weakening_count(&self) -> usize {
        self.tenants
            .iter()
            .flat_map(|t| &t.changes)
            .filter(|c| c.risk == Risk::Weakening)
            .count()
    }
    /// Whether any setting could not be read.
    pub fn has_unknown(&self) -> bool {
        self.tenants.iter().any(|t| !t.unknown.is_empty())
    }
    /// Whether a finding forbids applying this plan.
    pub fn has_blocking_findings(&self) -> bool {
        self.tenants
            .iter()
            .flat_map(|t| &t.findings)
            .any(|f| f.severity == Severity::Error)
    }
}

/// The plan of one tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TenantPlan {
    /// The tenant's short name from the file.
    pub name: String,
    /// The directory id.
    pub tenant_id: String,
    /// Changes, sorted by API surface (in write order), then path.
    pub changes: Vec<Change>,
    /// Managed settings whose live value could not be read: unknown, not drift.
    pub unknown: Vec<Unknown>,
    /// What the preflight checks found.
    pub findings: Vec<Finding>,
    /// The effect of the changes on people, when the plan changes who may reset
    /// or how many methods they need.
    #[serde(default)]
    pub readiness: Vec<String>,
    /// Lint findings for what the plan leaves behind (desired values over the
    /// live ones), unchanged weak settings included. Informational: they
    /// neither block apply nor change exit codes, and a saved plan's are not
    /// compared (they are recomputed). Added in format 1.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lint: Vec<std::sync::Arc<crate::lint::LintFinding>>,
    /// Managed settings that already have their desired value.
    pub unchanged: usize,
    /// Live settings read but not managed by the file (left alone).
    pub unmanaged: usize,
    /// SHA-256 of each live object read, by API. `apply` re-reads and refuses
    /// when any of them moved (the stale-plan guard).
    pub prior: BTreeMap<Api, ssprctl_model::Digest>,
}

/// One setting to change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// Dotted model path, e.g. `selfServicePasswordReset.methodsRequired`.
    pub path: String,
    /// The API that serves it.
    pub api: Api,
    /// What happens to it.
    pub action: Action,
    /// The live value (`null` when the tenant has none).
    pub before: Value,
    /// The desired value, exactly as it will be written (group references
    /// resolved to object ids at plan time).
    pub after: Value,
    /// Effect on security.
    pub risk: Risk,
    /// Why, in one line.
    pub reason: String,
    /// The CIS or CISA SCuBA control the setting touches, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
}

/// What happens to a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// The setting exists and gets a new value.
    Update,
}

impl Action {
    /// The symbol shown in front of the setting.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Update => "~",
        }
    }
}

/// A change's effect on security.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Risk {
    /// Lowers the tenant's security; needs `--allow-weakening` at apply.
    Weakening,
    /// Raises it.
    Strengthening,
    /// Neither.
    Neutral,
}

/// Managed settings of one surface that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Unknown {
    /// The surface.
    pub api: Api,
    /// The managed paths it serves.
    pub paths: Vec<String>,
    /// Why the read failed.
    pub reason: String,
}

/// How much a finding matters.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// Blocks apply.
    Error,
    /// Worth a look; does not block.
    Warning,
}

/// Something a preflight check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// Which check found it (stable identifier, e.g. `licence`, `group`).
    pub check: String,
    /// The setting it is about.
    pub path: String,
    /// What was found and what to do.
    pub message: String,
}
