//! `report`: per tenant, who can use self-service password reset (the
//! registration report) and how it was used over the last days (the
//! directory audit log), as one serialisable [`Report`] that the binary
//! renders (human, JSON, Markdown; further views build on the same value).
//!
//! A part that cannot be read is [`Readout::Unknown`] with the reason, never
//! zeros. The figures are computed by pure functions ([`coverage`],
//! [`usage`]) from what the provider decoded.

use std::collections::BTreeMap;

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ssprctl_model::{Config, Tenant};
use ssprctl_provider::HttpProvider;
use ssprctl_provider::client::report::{RegistrationRow, SsprActivity, SsprEvent};

use crate::TOOL_VERSION;

/// The report format this ssprctl writes (`format_version`).
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// What `report` was asked for.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// How many calendar days of usage, today (UTC) included; at least 1.
    pub days: u32,
    /// Today (UTC): the last day of the usage window.
    pub today: Date,
    /// When the report is made (RFC 3339, UTC), written into it.
    pub generated_at: String,
}

/// The whole report: one entry per tenant, in the file's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The report format (currently 1).
    pub format_version: u32,
    /// The ssprctl version that made it.
    pub tool_version: String,
    /// When it was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The usage window in days, today included.
    pub days: u32,
    /// The first day of the usage window (`YYYY-MM-DD`, UTC).
    pub since: String,
    /// The last day of the usage window (today, UTC).
    pub until: String,
    /// Every tenant of the file.
    pub tenants: Vec<TenantReport>,
}

impl Report {
    /// Whether any tenant has a part that could not be read.
    pub fn has_unknown(&self) -> bool {
        self.tenants
            .iter()
            .any(|t| t.coverage.is_unknown() || t.usage.is_unknown())
    }
}

/// One tenant's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantReport {
    /// The tenant's name in the file.
    pub name: String,
    /// The directory id.
    pub tenant_id: String,
    /// Registration coverage, from the registration report.
    pub coverage: Readout<Coverage>,
    /// Self-service password reset usage in the window, from the audit log.
    pub usage: Readout<Usage>,
}

/// A part of the report: its figures, or why they could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum Readout<T> {
    /// Read.
    Known {
        /// The figures.
        value: T,
    },
    /// Not read: nothing is known (not zero).
    Unknown {
        /// Why, one line (a missing permission is named).
        reason: String,
    },
}

impl<T> Readout<T> {
    /// Whether this part could not be read.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Readout::Unknown { .. })
    }

    /// The figures, if read.
    pub fn known(&self) -> Option<&T> {
        match self {
            Readout::Known { value } => Some(value),
            Readout::Unknown { .. } => None,
        }
    }

    fn of(read: Result<T, String>) -> Readout<T> {
        match read {
            Ok(value) => Readout::Known { value },
            Err(reason) => Readout::Unknown { reason },
        }
    }
}

/// Registration coverage: users and administrators counted separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Users who are not administrators.
    pub users: Counts,
    /// Administrators (`isAdmin`; the administrator policy applies to them).
    pub admins: Counts,
    /// Registered methods, most registered first.
    pub by_method: Vec<MethodCount>,
}

/// The SSPR columns of the registration report, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Rows in the report.
    pub total: u64,
    /// The policy lets them reset (`isSsprEnabled`).
    pub enabled: u64,
    /// They registered enough methods (`isSsprRegistered`).
    pub registered: u64,
    /// Both: they can reset today (`isSsprCapable`).
    pub capable: u64,
    /// Enabled but not registered: who to chase to register.
    pub enabled_not_registered: u64,
}

/// How many users registered one method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodCount {
    /// The method as Graph names it (`methodsRegistered`).
    pub method: String,
    /// Users (not administrators) with it.
    pub users: u64,
    /// Administrators with it.
    pub admins: u64,
}

/// Self-service password reset usage in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Password resets.
    pub resets: Outcomes,
    /// Account unlocks.
    pub unlocks: Outcomes,
    /// Users blocked from self-service password reset.
    pub blocked: u64,
    /// Every day of the window, oldest first (days without activity too).
    pub by_day: Vec<DayUsage>,
    /// Why resets and unlocks failed or users were blocked, most frequent first.
    pub by_reason: Vec<ReasonCount>,
}

/// Succeeded and failed attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
}

/// One day's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DayUsage {
    /// The day (`YYYY-MM-DD`, UTC).
    pub date: String,
    /// Password resets.
    pub resets: Outcomes,
    /// Account unlocks.
    pub unlocks: Outcomes,
    /// Users blocked.
    pub blocked: u64,
}

/// How often one failure reason occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonCount {
    /// The audit log's `resultReason` (or "(no reason given)").
    pub reason: String,
    /// Events with it.
    pub count: u64,
}

/// Counts the registration report's rows.
pub fn coverage(rows: &[RegistrationRow]) -> Coverage {
    let mut users = Counts::default();
    let mut admins = Counts::default();
    let mut methods: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for row in rows {
        let counts = if row.is_admin {
            &mut admins
        } else {
            &mut users
        };
        counts.total += 1;
        counts.enabled += u64::from(row.sspr_enabled);
        counts.registered += u64::from(row.sspr_registered);
        counts.capable += u64::from(row.sspr_capable);
        counts.enabled_not_registered += u64::from(row.sspr_enabled && !row.sspr_registered);
        for m in &row.methods {
            let entry = methods.entry(m.as_str()).or_default();
            if row.is_admin {
                entry.1 += 1;
            } else {
                entry.0 += 1;
            }
        }
    }
    let mut by_method: Vec<MethodCount> = methods
        .into_iter()
        .map(|(method, (users, admins))| MethodCount {
            method: method.to_string(),
            users,
            admins,
        })
        .collect();
    by_method.sort_by_key(|m| std::cmp::Reverse(m.users + m.admins));
    Coverage {
        users,
        admins,
        by_method,
    }
}

/// The first day of a `days`-day window ending `today`.
pub fn window_start(today: Date, days: u32) -> Date {
    let back = i64::from(days.max(1)) - 1;
    today
        .checked_sub(jiff::Span::new().days(back))
        .unwrap_or(today)
}

/// Counts the audit events of the window `since..=until` (days outside it are
/// left out), every day listed.
pub fn usage(events: &[SsprEvent], since: Date, until: Date) -> Usage {
    let mut days: BTreeMap<String, DayUsage> = BTreeMap::new();
    let mut day = since;
    while day <= until {
        let date = day.to_string();
        days.insert(
            date.clone(),
            DayUsage {
                date,
                resets: Outcomes::default(),
                unlocks: Outcomes::default(),
                blocked: 0,
            },
        );
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    let mut resets = Outcomes::default();
    let mut unlocks = Outcomes::default();
    let mut blocked = 0;
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for e in events {
        let Some(d) = e.at.get(..10).and_then(|d| days.get_mut(d)) else {
            continue;
        };
        let (total, daily) = match e.activity {
            SsprActivity::Reset => (&mut resets, &mut d.resets),
            SsprActivity::Unlock => (&mut unlocks, &mut d.unlocks),
            SsprActivity::Blocked => {
                blocked += 1;
                d.blocked += 1;
                *reasons.entry(reason_text(e.reason.as_deref())).or_default() += 1;
                continue;
            }
        };
        if e.succeeded {
            total.succeeded += 1;
            daily.succeeded += 1;
        } else {
            total.failed += 1;
            daily.failed += 1;
            *reasons.entry(reason_text(e.reason.as_deref())).or_default() += 1;
        }
    }
    let mut by_reason: Vec<ReasonCount> = reasons
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    by_reason.sort_by_key(|r| std::cmp::Reverse(r.count));
    Usage {
        resets,
        unlocks,
        blocked,
        by_day: days.into_values().collect(),
        by_reason,
    }
}

fn reason_text(reason: Option<&str>) -> String {
    reason.unwrap_or("(no reason given)").to_string()
}

async fn tenant_report(
    tenant: &Tenant,
    provider: &HttpProvider,
    since: Date,
    until: Date,
) -> TenantReport {
    let since_instant = format!("{since}T00:00:00Z");
    let (rows, events) = futures_util::future::join(
        provider.registration_details(tenant),
        provider.sspr_audit_events(tenant, &since_instant),
    )
    .await;
    TenantReport {
        name: tenant.name.clone(),
        tenant_id: tenant.tenant_id.clone(),
        coverage: Readout::of(rows.map(|r| coverage(&r))),
        usage: Readout::of(events.map(|e| usage(&e, since, until))),
    }
}

/// Reports on every tenant of `config`, reading up to `parallelism` tenants
/// at a time (each tenant's two parts concurrently).
pub async fn report(
    config: &Config,
    provider: &HttpProvider,
    parallelism: usize,
    options: &ReportOptions,
) -> Report {
    let until = options.today;
    let since = window_start(until, options.days);
    let tenants = crate::planning::concurrently(&config.tenants, parallelism, |t| {
        tenant_report(t, provider, since, until)
    })
    .await;
    Report {
        format_version: REPORT_FORMAT_VERSION,
        tool_version: TOOL_VERSION.to_string(),
        generated_at: options.generated_at.clone(),
        days: options.days.max(1),
        since: since.to_string(),
        until: until.to_string(),
        tenants,
    }
}

/// The JSON Schema of `report --json`, as checked in at
/// `schemas/report.schema.json`.
pub fn report_schema_json() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Report>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(admin: bool, enabled: bool, registered: bool, methods: &[&str]) -> RegistrationRow {
        RegistrationRow {
            is_admin: admin,
            sspr_enabled: enabled,
            sspr_registered: registered,
            sspr_capable: enabled && registered,
            methods: methods.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn event(activity: SsprActivity, ok: bool, at: &str, reason: Option<&str>) -> SsprEvent {
        SsprEvent {
            activity,
            succeeded: ok,
            at: at.into(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn coverage_counts_users_and_admins_apart() {
        let c = coverage(&[
            row(false, true, true, &["email", "mobilePhone"]),
            row(false, true, false, &[]),
            row(false, false, true, &["email"]),
            row(true, true, true, &["mobilePhone"]),
        ]);
        assert_eq!(
            c.users,
            Counts {
                total: 3,
                enabled: 2,
                registered: 2,
                capable: 1,
                enabled_not_registered: 1
            }
        );
        assert_eq!(c.admins.total, 1);
        assert_eq!(c.admins.capable, 1);
        assert_eq!(c.by_method[0].method, "email");
        assert_eq!(
            c.by_method[1],
            MethodCount {
                method: "mobilePhone".into(),
                users: 1,
                admins: 1
            }
        );
    }

    #[test]
    fn usage_lists_every_day_of_the_window_and_counts_by_outcome_and_reason() {
        let today: Date = "2026-11-30".parse().expect("date");
        let since = window_start(today, 3);
        assert_eq!(since.to_string(), "2026-11-28");
        let u = usage(
            &[
                event(SsprActivity::Reset, true, "2026-11-28T10:00:00Z", None),
                event(
                    SsprActivity::Reset,
                    false,
                    "2026-11-29T10:00:00Z",
                    Some("bad"),
                ),
                event(SsprActivity::Unlock, true, "2026-11-29T11:00:00Z", None),
                event(
                    SsprActivity::Blocked,
                    false,
                    "2026-11-30T01:00:00Z",
                    Some("bad"),
                ),
                event(SsprActivity::Reset, true, "2026-11-27T23:59:59Z", None),
            ],
            since,
            today,
        );
        assert_eq!(
            u.resets,
            Outcomes {
                succeeded: 1,
                failed: 1
            }
        );
        assert_eq!(u.unlocks.succeeded, 1);
        assert_eq!(u.blocked, 1);
        assert_eq!(u.by_day.len(), 3);
        assert_eq!(u.by_day[0].date, "2026-11-28");
        assert_eq!(u.by_day[2].blocked, 1);
        assert_eq!(
            u.by_reason,
            vec![ReasonCount {
                reason: "bad".into(),
                count: 2
            }]
        );
    }

    #[test]
    fn an_unknown_part_is_not_zero() {
        let r: Readout<Usage> = Readout::of(Err("HTTP 403".into()));
        assert!(r.is_unknown());
        assert!(r.known().is_none());
        let json = serde_json::to_value(&r).expect("serialises");
        assert_eq!(json["status"], "unknown");
    }
}
