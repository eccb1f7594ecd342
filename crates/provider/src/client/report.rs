//! The reads behind `ssprctl report`: every row of the registration report
//! (SSPR columns, methods, admins) and the self-service password reset events
//! of the directory audit log since a given instant, both following
//! `@odata.nextLink` pages through the shared transport (retries, throttling,
//! a 403 naming `AuditLog.Read.All`).
//!
//! Building the requests and decoding the answers are pure functions, tested
//! without a network. Every name and shape not confirmed by Microsoft's Graph
//! reference lives in [`unconfirmed`].

use serde_json::Value;
use ssprctl_model::{Api, Tenant};

use super::HttpProvider;
use super::tokens::Audience;
use super::transport::Need;
use crate::error::ProviderError;

/// Names and shapes of the audit log that Microsoft's reference does not
/// confirm (docs/api-surfaces.md §7b): one edit here corrects them everywhere.
pub mod unconfirmed {
    /// `loggedByService` of self-service password reset events (public labs
    /// filter on it; the reference does not list service names).
    pub const SSPR_SERVICE: &str = "Self-service Password Management";
    /// `activityDisplayName` of a self-service password reset.
    pub const ACTIVITY_RESET: &str = "Reset password (self-service)";
    /// `activityDisplayName` of a self-service account unlock.
    pub const ACTIVITY_UNLOCK: &str = "Unlock user account (self-service)";
    /// `activityDisplayName` of a user blocked from self-service password
    /// reset (too many attempts); counted as blocked whatever its `result`.
    pub const ACTIVITY_BLOCKED: &str = "Blocked from self-service password reset";
}

/// The registration report's row of one user, as far as the report needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRow {
    /// `isAdmin`.
    pub is_admin: bool,
    /// `isSsprEnabled`: the policy lets the user reset.
    pub sspr_enabled: bool,
    /// `isSsprRegistered`: the user registered enough methods.
    pub sspr_registered: bool,
    /// `isSsprCapable`: both.
    pub sspr_capable: bool,
    /// `methodsRegistered`, as Graph names them.
    pub methods: Vec<String>,
}

/// What a self-service password reset event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsprActivity {
    /// A password reset.
    Reset,
    /// An account unlock.
    Unlock,
    /// The user was blocked from self-service password reset.
    Blocked,
}

/// One self-service password reset event of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsprEvent {
    /// What it was.
    pub activity: SsprActivity,
    /// `result` is `success`.
    pub succeeded: bool,
    /// `activityDateTime` as Graph wrote it (RFC 3339, UTC).
    pub at: String,
    /// `resultReason` of an event that did not succeed, if any.
    pub reason: Option<String>,
}

/// The first page of the registration report, with the columns the report uses.
pub fn registration_url(graph_base: &str) -> String {
    format!(
        "{graph_base}/v1.0/reports/authenticationMethods/userRegistrationDetails?$select=id,isAdmin,isSsprEnabled,isSsprRegistered,isSsprCapable,methodsRegistered&$top=999"
    )
}

/// The first page of the service's audit events at or after `since`
/// (RFC 3339, UTC, e.g. `2026-10-31T00:00:00Z`).
pub fn audit_url(graph_base: &str, since: &str) -> String {
    let service = unconfirmed::SSPR_SERVICE.replace('\'', "''");
    let filter = format!("loggedByService eq '{service}' and activityDateTime ge {since}");
    format!(
        "{graph_base}/v1.0/auditLogs/directoryAudits?$filter={}&$top=999",
        filter.replace(' ', "%20")
    )
}

/// Decodes one row of the registration report; a missing flag reads as false.
pub fn decode_registration(row: &Value) -> RegistrationRow {
    let flag = |k: &str| row.get(k).and_then(Value::as_bool).unwrap_or(false);
    RegistrationRow {
        is_admin: flag("isAdmin"),
        sspr_enabled: flag("isSsprEnabled"),
        sspr_registered: flag("isSsprRegistered"),
        sspr_capable: flag("isSsprCapable"),
        methods: row
            .get("methodsRegistered")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    }
}

/// Decodes one audit event; `None` for events that are not a reset, an
/// unlock or a block (flow progress, other services) or have no time.
pub fn decode_audit(row: &Value) -> Option<SsprEvent> {
    let name = row.get("activityDisplayName").and_then(Value::as_str)?;
    let activity = if name.eq_ignore_ascii_case(unconfirmed::ACTIVITY_RESET) {
        SsprActivity::Reset
    } else if name.eq_ignore_ascii_case(unconfirmed::ACTIVITY_UNLOCK) {
        SsprActivity::Unlock
    } else if name.eq_ignore_ascii_case(unconfirmed::ACTIVITY_BLOCKED) {
        SsprActivity::Blocked
    } else {
        return None;
    };
    let at = row.get("activityDateTime").and_then(Value::as_str)?;
    let succeeded = row
        .get("result")
        .and_then(Value::as_str)
        .is_some_and(|r| r.eq_ignore_ascii_case("success"));
    let reason = row
        .get("resultReason")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty() && !succeeded)
        .map(str::to_string);
    Some(SsprEvent {
        activity,
        succeeded,
        at: at.to_string(),
        reason,
    })
}

impl HttpProvider {
    /// Every row of the registration report. The error is one line saying
    /// what could not be read and what to do (a 403 names `AuditLog.Read.All`).
    pub async fn registration_details(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<RegistrationRow>, String> {
        self.report_pages(tenant, registration_url)
            .await
            .map(|rows| rows.iter().map(decode_registration).collect())
            .map_err(|e| format!("reading the registration report: {}", e.detail()))
    }

    /// The self-service password reset events at or after `since` (RFC 3339,
    /// UTC). The error is one line, like [`Self::registration_details`].
    pub async fn sspr_audit_events(
        &self,
        tenant: &Tenant,
        since: &str,
    ) -> Result<Vec<SsprEvent>, String> {
        self.report_pages(tenant, |base| audit_url(base, since))
            .await
            .map(|rows| rows.iter().filter_map(decode_audit).collect())
            .map_err(|e| format!("reading the audit log: {}", e.detail()))
    }

    async fn report_pages(
        &self,
        tenant: &Tenant,
        first: impl FnOnce(&str) -> String,
    ) -> Result<Vec<Value>, ProviderError> {
        let api = Api::GraphAuthenticationMethods;
        let conn = self.conn(tenant, api)?;
        let token = self.token(conn, Audience::Graph, api).await?;
        let url = first(&conn.hosts.graph);
        self.all_pages(api, &token, url, Need::Permission("AuditLog.Read.All"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_select_the_sspr_columns_and_filter_the_service_since_an_instant() {
        assert_eq!(
            registration_url("https://graph.example"),
            "https://graph.example/v1.0/reports/authenticationMethods/userRegistrationDetails?$select=id,isAdmin,isSsprEnabled,isSsprRegistered,isSsprCapable,methodsRegistered&$top=999"
        );
        assert_eq!(
            audit_url("https://graph.example", "2026-10-31T00:00:00Z"),
            "https://graph.example/v1.0/auditLogs/directoryAudits?$filter=loggedByService%20eq%20'Self-service%20Password%20Management'%20and%20activityDateTime%20ge%202026-10-31T00:00:00Z&$top=999"
        );
    }

    #[test]
    fn registration_rows_decode_and_missing_flags_read_false() {
        let row = json!({"id": "x", "isAdmin": true, "isSsprEnabled": true, "isSsprRegistered": false,
            "isSsprCapable": false, "methodsRegistered": ["email", "mobilePhone"]});
        assert_eq!(
            decode_registration(&row),
            RegistrationRow {
                is_admin: true,
                sspr_enabled: true,
                sspr_registered: false,
                sspr_capable: false,
                methods: vec!["email".into(), "mobilePhone".into()],
            }
        );
        assert_eq!(
            decode_registration(&json!({})).methods,
            Vec::<String>::new()
        );
    }

    #[test]
    fn audit_events_decode_by_activity_and_others_are_skipped() {
        let failed = json!({"activityDisplayName": "Reset password (self-service)",
            "activityDateTime": "2026-11-02T10:00:00.1234567Z", "result": "failure",
            "resultReason": "User did not pass verification"});
        assert_eq!(
            decode_audit(&failed),
            Some(SsprEvent {
                activity: SsprActivity::Reset,
                succeeded: false,
                at: "2026-11-02T10:00:00.1234567Z".into(),
                reason: Some("User did not pass verification".into()),
            })
        );
        let unlocked = json!({"activityDisplayName": "Unlock user account (self-service)",
            "activityDateTime": "2026-11-02T10:00:00Z", "result": "success", "resultReason": "ignored"});
        let e = decode_audit(&unlocked).expect("an unlock");
        assert!(e.succeeded && e.reason.is_none() && e.activity == SsprActivity::Unlock);
        let blocked = json!({"activityDisplayName": "Blocked from self-service password reset",
            "activityDateTime": "2026-11-02T10:00:00Z", "result": "success"});
        assert_eq!(
            decode_audit(&blocked).map(|e| e.activity),
            Some(SsprActivity::Blocked)
        );
        let progress = json!({"activityDisplayName": "Self-service password reset flow activity progress",
            "activityDateTime": "2026-11-02T10:00:00Z", "result": "success"});
        assert_eq!(decode_audit(&progress), None);
        assert_eq!(
            decode_audit(&json!({"activityDisplayName": "Reset password (self-service)"})),
            None
        );
    }
}
