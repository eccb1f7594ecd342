//! What was read from a tenant, in model terms.
//!
//! A surface that could not be read is *unknown*, never "different": the planner
//! reports it and makes no change from it (a read failure is never drift).

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
    /// Why the desired group could not be looked up, if the lookup failed
    /// (as opposed to finding no such group).
    pub group_lookup_error: Option<String>,
    /// A digest of each live object read, for the stale-plan guard.
    pub digests: BTreeMap<Api, String>,
    /// The live wire object of each full-object surface read (the portal
    /// `PasswordResetPolicies`; the Password Rule Settings as a flat
    /// `{name: value}` object), exactly as read: what a plan was computed from,
    /// which the write compares with its pre-write read to find concurrent
    /// changes. Never serialised.
    #[serde(skip)]
    pub objects: BTreeMap<Api, serde_json::Value>,
    /// Read-only facts the preflight checks use.
    pub facts: Facts,
}

/// Read-only facts about a tenant; `None` means "not read" (or the read failed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Entra ID premium licences present (from `subscribedSkus`).
    pub licences: Option<Licences>,
    /// Whether directory synchronisation from on-premises is enabled.
    pub directory_sync: Option<bool>,
    /// Whether a password-writeback client (Entra Connect or Cloud Sync) is registered.
    pub writeback_client: Option<bool>,
    /// The authentication-methods policy migration state.
    pub migration_state: Option<crate::settings::MigrationState>,
    /// The SSPR methods the tenant offers at all (the portal's `*OptionAllowed`
    /// flags), in model names such as `email` or `authenticatorCode`.
    pub reset_methods_allowed: Option<Vec<String>>,
}

/// The licences that matter to SSPR (the table and its source are in the
/// provider's `licensing` module).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Licences {
    /// Entra ID P1 (or a plan that includes it, e.g. Microsoft 365 Business Premium).
    pub p1: bool,
    /// Entra ID P2.
    pub p2: bool,
    /// Microsoft 365 Business Standard: SSPR for cloud-only users, no writeback.
    #[serde(default)]
    pub business_standard: bool,
    /// Seats of the subscriptions that license SSPR: the sum of their
    /// `prepaidUnits.enabled`.
    #[serde(default)]
    pub sspr_seats: u64,
}

impl Licences {
    /// Whether cloud-only users may reset their password (Entra ID P1/P2,
    /// Microsoft 365 Business Standard or Business Premium).
    pub fn sspr_for_cloud_users(&self) -> bool {
        self.p1 || self.p2 || self.business_standard
    }
    /// Whether password writeback (and unlock) is licensed (Entra ID P1/P2,
    /// Microsoft 365 Business Premium, which includes P1).
    pub fn writeback(&self) -> bool {
        self.p1 || self.p2
    }
}

/// A surface whose read failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreadable {
    /// Which surface.
    pub api: Api,
    /// What kind of failure it was.
    pub failure: ReadFailure,
    /// Why, in one line (status, error code, what to do).
    pub reason: String,
}

/// Why a surface could not be read, for the checks that act on the kind of
/// failure rather than on its wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReadFailure {
    /// No credential is configured for the surface.
    NoCredential,
    /// Signing in failed, or the service refused the request (401, 403).
    Refused,
    /// Throttled, a server error, or a request that did not complete.
    Transient,
    /// The service answered with something ssprctl cannot read.
    UnexpectedForm,
    /// Anything else.
    Other,
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

/// Who is registered for what: the tenant's users from the registration report,
/// and the members of the groups a plan scopes SSPR to (for readiness figures).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Population {
    /// Every user of the registration report.
    pub users: Vec<RegisteredUser>,
    /// Member user ids of each group asked for, by group id (lower-case).
    pub group_members: BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// One user of the registration report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredUser {
    /// Object id (lower-case).
    pub id: String,
    /// Whether the user holds an admin role (admins follow their own SSPR policy).
    pub is_admin: bool,
    /// The report's `methodsRegistered`.
    pub methods: Vec<String>,
}
