//! The plan: a value, computed once, reviewed, then executed as is.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssprctl_model::Api;

/// What ssprctl would change, per tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Version of this structure (bumped on breaking changes).
    pub format_version: u32,
    /// One entry per tenant, in file order.
    pub tenants: Vec<TenantPlan>,
}

impl Plan {
    /// Number of changes across all tenants.
    pub fn change_count(&self) -> usize {
        self.tenants.iter().map(|t| t.changes.len()).sum()
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantPlan {
    /// The tenant's short name from the file.
    pub name: String,
    /// The directory id.
    pub tenant_id: String,
    /// Changes, sorted by API surface (in write order), then path.
    pub changes: Vec<Change>,
    /// Managed settings whose live value could not be read: unknown, not drift.
    pub unknown: Vec<Unknown>,
    /// Checks that found something worth saying.
    pub findings: Vec<Finding>,
    /// Managed settings that already have their desired value.
    pub unchanged: usize,
    /// Live settings read but not managed by the file (left alone).
    pub unmanaged: usize,
}

/// One setting to change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
}

/// What happens to a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Managed settings of one surface that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unknown {
    /// The surface.
    pub api: Api,
    /// The managed paths it serves.
    pub paths: Vec<String>,
    /// Why the read failed.
    pub reason: String,
}

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// Blocks apply.
    Error,
    /// Worth a look; does not block.
    Warning,
}

/// Something a plan-time check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// The setting it is about.
    pub path: String,
    /// What was found and what to do.
    pub message: String,
}
