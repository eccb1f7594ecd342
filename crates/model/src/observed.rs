//! What was read from a tenant, in model terms.
//!
//! A surface that could not be read is *unknown*, never "different": the planner
//! reports it and makes no change from it (DESIGN.md: a read failure is never drift).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Api;
use crate::settings::Settings;

/// The live state of one tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedTenant {
    /// Every section that was read, fully populated; sections not read are `None`.
    pub settings: Settings,
    /// Surfaces that could not be read, with the reason.
    pub unreadable: Vec<Unreadable>,
    /// Groups found for each display name the desired state refers to.
    pub groups_by_name: BTreeMap<String, Vec<GroupInfo>>,
    /// Groups found for each group id the desired or live state refers to.
    pub groups_by_id: BTreeMap<String, GroupInfo>,
}

/// A surface whose read failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreadable {
    /// Which surface.
    pub api: Api,
    /// Why, in one line (status, error code, what to do).
    pub reason: String,
}

/// A group, as far as ssprctl needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Whether it is a security group.
    pub security_enabled: bool,
}
