//! Lint: the settings of each tenant checked against the catalog's rules.
//!
//! Pure like the planner: the caller gives the settings (desired, live, or
//! what a plan leaves behind), the tenant's accepted exceptions and today's
//! date (`YYYY-MM-DD`); no clock, no I/O. A setting the values do not hold is
//! not checked (offline: the file does not manage it; live: its surface could
//! not be read).
//!
//! A failing value equal to an accepted exception's value is *accepted* until
//! the exception's `expires` day, then it is an *expired* finding at error
//! level. A value that moved away from the accepted one is an ordinary
//! finding: an exception covers one value, not the setting.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssprctl_model::catalog::{self, Field, Level, Rule};
use ssprctl_model::{Api, Config, ObservedTenant, SourceLocation, Tenant, TenantException};

use crate::planner::{same, to_object, value_at};
use crate::types::Unknown;

/// Version of the `lint --json` format (additive changes bump the minor).
pub const LINT_FORMAT_VERSION: &str = "1.0";

/// What was linted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Subject {
    /// The effective settings of the file (settings it does not manage are
    /// not checked).
    Desired,
    /// What the tenants actually have, managed by the file or not.
    Live,
}

/// How much a lint finding matters (the SARIF levels).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum LintLevel {
    /// A setting that opens an account-takeover path, or an expired exception.
    Error,
    /// Below the benchmarks' recommendation.
    Warning,
    /// Worth knowing; often a deliberate choice.
    Note,
}

impl LintLevel {
    /// `error`, `warning` or `note`.
    pub fn label(self) -> &'static str {
        match self {
            LintLevel::Error => "error",
            LintLevel::Warning => "warning",
            LintLevel::Note => "note",
        }
    }
}

impl From<Level> for LintLevel {
    fn from(level: Level) -> LintLevel {
        match level {
            Level::Error => LintLevel::Error,
            Level::Warning => LintLevel::Warning,
            Level::Note => LintLevel::Note,
        }
    }
}

/// Whether a finding stands, is accepted, or was accepted until a past day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum LintStatus {
    /// A finding.
    Open,
    /// The value is an accepted exception that has not expired: reported as
    /// accepted, not as a finding.
    Accepted,
    /// The value is an accepted exception that has expired: an error.
    Expired,
}

/// The exception that accepts (or accepted) a finding's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AcceptedBy {
    /// Why it is accepted.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// The last day it is accepted (`YYYY-MM-DD`).
    pub expires: String,
    /// Where the exception is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
}

/// One setting that does not meet its rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LintFinding {
    /// The rule's stable id, e.g. `SSPR002`.
    pub rule: String,
    /// How much it matters (`error` for an expired exception whatever the rule's level).
    pub level: LintLevel,
    /// Open, accepted or expired.
    pub status: LintStatus,
    /// Dotted model path of the setting.
    pub path: String,
    /// The value checked.
    pub value: Value,
    /// The recommended value, e.g. `>= 2`.
    pub recommended: String,
    /// Why the rule recommends it.
    pub rationale: String,
    /// The benchmark controls of the setting.
    pub controls: Vec<String>,
    /// Where the file sets the setting (the tenant's own value, else the
    /// baseline's); absent when the file does not set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// The exception that accepts (or accepted) this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<AcceptedBy>,
}

impl LintFinding {
    /// Whether it counts against the tenant (open or expired; accepted ones do not).
    pub fn counts(&self) -> bool {
        self.status != LintStatus::Accepted
    }
}

/// The lint of one tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TenantLint {
    /// The tenant's short name from the file.
    pub name: String,
    /// The directory id.
    pub tenant_id: String,
    /// Where the tenant's entry is in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// Settings that do not meet their rule, accepted ones included (by level, then path).
    pub findings: Vec<LintFinding>,
    /// Rules met.
    pub passed: usize,
    /// Rules not checked because the file does not manage their setting
    /// (offline only), by path.
    pub not_checked: Vec<String>,
    /// Rules that do not apply because another setting makes them moot (the
    /// legacy SSPR method toggles once the migration is complete), by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moot: Vec<String>,
    /// Surfaces that could not be read (live only): their rules are unknown.
    pub unknown: Vec<Unknown>,
}

/// The lint of every tenant of a file (the `lint --json` format).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "ssprctl lint report")]
pub struct LintReport {
    /// Version of this format, `MAJOR.MINOR`.
    pub format_version: String,
    /// The ssprctl version.
    pub tool_version: String,
    /// Desired (offline) or live.
    pub subject: Subject,
    /// The day exceptions were judged against (`YYYY-MM-DD`).
    pub today: String,
    /// One entry per tenant, in file order.
    pub tenants: Vec<TenantLint>,
}

impl LintReport {
    /// Findings that count (open or expired), across all tenants.
    pub fn counted(&self) -> impl Iterator<Item = &LintFinding> {
        self.tenants
            .iter()
            .flat_map(|t| &t.findings)
            .filter(|f| f.counts())
    }
    /// Whether a counted finding is at warning level or above.
    pub fn fails(&self) -> bool {
        self.counted().any(|f| f.level <= LintLevel::Warning)
    }
    /// Whether a rule's setting could not be read.
    pub fn has_unknown(&self) -> bool {
        self.tenants.iter().any(|t| !t.unknown.is_empty())
    }
}

/// Every field with a lint rule, in catalog order.
pub fn rules() -> impl Iterator<Item = (&'static Field, &'static Rule)> {
    catalog::FIELDS
        .iter()
        .filter_map(|f| f.lint.rule().map(|r| (f, r)))
}

/// What [`check`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checked {
    /// Settings that miss their rule, accepted ones included (by level, then path).
    pub findings: Vec<LintFinding>,
    /// Rules met.
    pub passed: usize,
    /// Paths of the rules whose setting the values do not hold.
    pub not_checked: Vec<String>,
    /// Paths of the rules another setting makes moot.
    pub moot: Vec<String>,
}

/// Checks `values` (a settings object in model terms) against every rule.
/// Rules whose setting `values` does not hold are returned as not checked.
pub fn check(
    values: &Value,
    exceptions: &[TenantException],
    today: &str,
    locate: &dyn Fn(&str) -> Option<SourceLocation>,
) -> Checked {
    let mut findings = Vec::new();
    let mut passed = 0;
    let mut not_checked = Vec::new();
    let mut moot = Vec::new();
    for (field, rule) in rules() {
        // A moot rule does not apply, whatever the setting's value (or its absence).
        if let Some(m) = rule.moot_when
            && value_at(values, m.path).is_some_and(|v| m.holds(v))
        {
            moot.push(field.path.to_string());
            continue;
        }
        let Some(value) = value_at(values, field.path) else {
            not_checked.push(field.path.to_string());
            continue;
        };
        if rule.expect.holds(value) {
            passed += 1;
            continue;
        }
        let accepted = exceptions
            .iter()
            .find(|e| e.exception.setting == field.path)
            .filter(|e| same(field.compare, value, &e.exception.value));
        let status = match accepted {
            None => LintStatus::Open,
            Some(e) if e.exception.expires.as_str() < today => LintStatus::Expired,
            Some(_) => LintStatus::Accepted,
        };
        findings.push(LintFinding {
            rule: rule.id.to_string(),
            level: match status {
                LintStatus::Expired => LintLevel::Error,
                LintStatus::Open | LintStatus::Accepted => rule.level.into(),
            },
            status,
            path: field.path.to_string(),
            value: value.clone(),
            recommended: rule.expect.describe(),
            rationale: rule.rationale.to_string(),
            controls: field.controls.iter().map(ToString::to_string).collect(),
            location: locate(field.path),
            exception: accepted.map(|e| AcceptedBy {
                reason: e.exception.reason.clone(),
                owner: e.exception.owner.clone(),
                expires: e.exception.expires.clone(),
                location: e.location.clone(),
            }),
        });
    }
    findings.sort_by(|a, b| (a.level, &a.path).cmp(&(b.level, &b.path)));
    Checked {
        findings,
        passed,
        not_checked,
        moot,
    }
}

/// Lints one tenant of `config`: its effective settings (`observed: None`)
/// or what it has live.
pub fn lint_tenant(
    config: &Config,
    tenant: &Tenant,
    observed: Option<&ObservedTenant>,
    today: &str,
) -> TenantLint {
    let values = match observed {
        Some(o) => Value::Object(to_object(&o.settings)),
        None => Value::Object(to_object(&tenant.settings)),
    };
    let exceptions = config.exceptions_for(tenant.index);
    let locate = |path: &str| config.setting_location(tenant.index, path);
    let Checked {
        findings,
        passed,
        not_checked,
        moot,
    } = check(&values, &exceptions, today, &locate);
    let mut out = TenantLint {
        name: tenant.name.clone(),
        tenant_id: tenant.tenant_id.clone(),
        location: config.location(&format!("tenants[{}]", tenant.index)),
        findings,
        passed,
        not_checked: Vec::new(),
        moot,
        unknown: Vec::new(),
    };
    match observed {
        None => out.not_checked = not_checked,
        Some(o) => {
            for api in Api::ALL {
                let paths: Vec<String> = not_checked
                    .iter()
                    .filter(|p| Api::for_path(p) == Some(api))
                    .cloned()
                    .collect();
                if paths.is_empty() {
                    continue;
                }
                let reason = o
                    .unreadable
                    .iter()
                    .find(|u| u.api == api)
                    .map(|u| u.reason.clone())
                    .unwrap_or_else(|| "not read".to_string());
                out.unknown.push(Unknown { api, paths, reason });
            }
        }
    }
    out
}

/// The lint of what a plan leaves behind: the desired value of every managed
/// setting over the live value of the rest (unchanged weak settings included).
/// A setting of an unreadable surface is checked only if the file manages it.
pub fn lint_after_plan(
    config: &Config,
    tenant: &Tenant,
    observed: &ObservedTenant,
    today: &str,
) -> Vec<LintFinding> {
    let mut values = Value::Object(to_object(&observed.settings));
    ssprctl_model::config::deep_merge(&mut values, &Value::Object(to_object(&tenant.settings)));
    lint_merged(config, tenant, &values, today)
}

/// [`lint_after_plan`] of the merged settings in hand (live, desired merged
/// over them, as JSON).
pub(crate) fn lint_merged(
    config: &Config,
    tenant: &Tenant,
    values: &Value,
    today: &str,
) -> Vec<LintFinding> {
    let exceptions = config.exceptions_for(tenant.index);
    let locate = |path: &str| config.setting_location(tenant.index, path);
    check(values, &exceptions, today, &locate).findings
}

/// The lines a plan shows for a tenant's lint findings (plain text, not
/// escaped): one per finding at warning level or above and per expired
/// exception, then the number of notes and of accepted findings.
pub fn plan_lines<F: std::ops::Deref<Target = LintFinding>>(findings: &[F]) -> Vec<String> {
    let findings: Vec<&LintFinding> = findings.iter().map(|f| &**f).collect();
    let tags = |f: &LintFinding| {
        let ids: Vec<&str> = f
            .controls
            .iter()
            .map(|c| c.split(':').next().unwrap_or(c))
            .collect();
        if ids.is_empty() {
            String::new()
        } else {
            format!(" [{}]", ids.join("; "))
        }
    };
    let mut lines = Vec::new();
    for f in findings
        .iter()
        .copied()
        .filter(|f| f.counts() && f.level <= LintLevel::Warning)
    {
        let mut line = format!(
            "{} {} {} = {}, recommended {}{}",
            f.level.label(),
            f.rule,
            f.path,
            f.value,
            f.recommended,
            tags(f)
        );
        if let (LintStatus::Expired, Some(e)) = (f.status, &f.exception) {
            line.push_str(&format!(
                " (the exception of {} expired on {})",
                e.owner, e.expires
            ));
        }
        lines.push(line);
    }
    let notes = findings
        .iter()
        .filter(|f| f.counts() && f.level == LintLevel::Note)
        .count();
    let accepted = findings.iter().filter(|f| !f.counts()).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if notes > 0 {
        lines.push(format!(
            "{notes} note{} (see ssprctl lint --live)",
            plural(notes)
        ));
    }
    if accepted > 0 {
        lines.push(format!(
            "{accepted} accepted by an exception{}",
            if accepted == 1 { "" } else { "s" }
        ));
    }
    lines
}

/// The report of every tenant.
pub fn report(
    subject: Subject,
    today: &str,
    tool_version: &str,
    tenants: Vec<TenantLint>,
) -> LintReport {
    LintReport {
        format_version: LINT_FORMAT_VERSION.to_string(),
        tool_version: tool_version.to_string(),
        subject,
        today: today.to_string(),
        tenants,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ssprctl_model::Exception;

    const TODAY: &str = "2026-11-30";

    fn exception(setting: &str, value: Value, expires: &str) -> TenantException {
        TenantException {
            exception: Exception {
                setting: setting.into(),
                value,
                reason: "kiosks".into(),
                owner: "identity team".into(),
                expires: expires.into(),
            },
            location: None,
        }
    }

    fn run(
        values: Value,
        exceptions: &[TenantException],
    ) -> (Vec<LintFinding>, usize, Vec<String>) {
        let c = check(&values, exceptions, TODAY, &|_| None);
        (c.findings, c.passed, c.not_checked)
    }

    fn one(values: Value) -> Vec<(String, LintLevel, String)> {
        run(values, &[])
            .0
            .into_iter()
            .map(|f| (f.rule, f.level, f.recommended))
            .collect()
    }

    #[test]
    fn each_kind_of_rule_finds_what_misses_it_and_passes_what_meets_it() {
        // equals
        let ssp = |k: &str, v: Value| json!({"selfServicePasswordReset": {k: v}});
        assert_eq!(
            one(json!({"administratorPasswordReset": {"enabled": true}})),
            [("SSPR014".into(), LintLevel::Error, "= false".into())]
        );
        assert!(one(json!({"administratorPasswordReset": {"enabled": false}})).is_empty());
        // at least
        assert_eq!(
            one(ssp("methodsRequired", json!(1))),
            [("SSPR002".into(), LintLevel::Error, ">= 2".into())]
        );
        assert!(one(ssp("methodsRequired", json!(2))).is_empty());
        // at most
        let pp = |k: &str, v: Value| json!({"passwordProtection": {k: v}});
        assert_eq!(
            one(pp("lockoutThreshold", json!(11))),
            [("SSPR031".into(), LintLevel::Warning, "<= 10".into())]
        );
        assert!(one(pp("lockoutThreshold", json!(10))).is_empty());
        // not empty
        assert_eq!(
            one(pp("bannedPasswords", json!([]))),
            [("SSPR034".into(), LintLevel::Warning, "not empty".into())]
        );
        assert!(one(pp("bannedPasswords", json!(["contoso"]))).is_empty());
        // one of
        let campaign =
            |s: &str| json!({"authenticationMethods": {"registrationCampaign": {"state": s}}});
        assert_eq!(one(campaign("disabled"))[0].0, "SSPR016");
        assert!(one(campaign("default")).is_empty());
        // reconfirm: not 0
        let reconfirm = |d: u64| json!({"selfServicePasswordReset": {"registration": {"reconfirmAfterDays": d}}});
        assert_eq!(one(reconfirm(0))[0].0, "SSPR010");
        assert!(one(reconfirm(180)).is_empty());
    }

    #[test]
    fn a_legacy_method_toggle_is_moot_once_the_migration_is_complete() {
        let email = |state: &str| {
            json!({
                "selfServicePasswordReset": {"methods": {"email": true}},
                "authenticationMethods": {"migrationState": state}
            })
        };
        let rules = |v| {
            run(v, &[])
                .0
                .into_iter()
                .map(|f| f.rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(rules(email("migrationInProgress")), ["SSPR015", "SSPR003"]);
        assert!(rules(email("migrationComplete")).is_empty());
        let c = check(&email("migrationComplete"), &[], TODAY, &|_| None);
        // Every legacy toggle's rule, whether the values hold the toggle or not.
        assert_eq!(c.moot.len(), 6, "{:?}", c.moot);
        assert!(
            c.moot
                .iter()
                .all(|p| p.starts_with("selfServicePasswordReset.methods."))
        );
    }

    #[test]
    fn settings_the_values_do_not_hold_are_not_checked() {
        let (findings, passed, not_checked) = run(
            json!({"selfServicePasswordReset": {"methodsRequired": 2}}),
            &[],
        );
        assert!(findings.is_empty());
        assert_eq!(passed, 1);
        assert_eq!(not_checked.len(), rules().count() - 1);
        assert!(
            !not_checked
                .iter()
                .any(|p| p == "selfServicePasswordReset.methodsRequired")
        );
    }

    #[test]
    fn an_accepted_value_is_reported_as_accepted_until_its_expiry_day_then_as_an_error() {
        let values = json!({"passwordProtection": {"lockoutThreshold": 20}});
        let path = "passwordProtection.lockoutThreshold";
        for (expires, status, level) in [
            ("2026-12-31", LintStatus::Accepted, LintLevel::Warning),
            (TODAY, LintStatus::Accepted, LintLevel::Warning),
            ("2026-11-29", LintStatus::Expired, LintLevel::Error),
        ] {
            let (findings, ..) = run(values.clone(), &[exception(path, json!(20), expires)]);
            assert_eq!(findings.len(), 1);
            assert_eq!(
                (findings[0].status, findings[0].level),
                (status, level),
                "{expires}"
            );
            let by = findings[0]
                .exception
                .as_ref()
                .expect("the exception is named");
            assert_eq!(
                (by.owner.as_str(), by.expires.as_str()),
                ("identity team", expires)
            );
        }
    }

    #[test]
    fn a_value_that_moved_away_from_the_accepted_one_is_a_finding_again() {
        let path = "passwordProtection.lockoutThreshold";
        let accepted = [exception(path, json!(20), "2027-01-01")];
        let (findings, ..) = run(
            json!({"passwordProtection": {"lockoutThreshold": 50}}),
            &accepted,
        );
        assert_eq!(findings[0].status, LintStatus::Open);
        assert!(findings[0].exception.is_none());
        // Back to the recommendation: nothing to report.
        let (findings, passed, _) = run(
            json!({"passwordProtection": {"lockoutThreshold": 5}}),
            &accepted,
        );
        assert!(findings.is_empty());
        assert_eq!(passed, 1);
    }

    #[test]
    fn an_accepted_list_matches_as_the_catalog_compares_it() {
        let path = "passwordProtection.bannedPasswords";
        // The failing value (an empty list) is accepted as written.
        let accepted = [exception(path, json!([]), "2027-01-01")];
        let (findings, ..) = run(
            json!({"passwordProtection": {"bannedPasswords": []}}),
            &accepted,
        );
        assert_eq!(findings[0].status, LintStatus::Accepted);
    }

    #[test]
    fn a_report_fails_on_counted_warnings_not_on_notes_or_accepted_findings() {
        let tenant = |findings: Vec<LintFinding>| TenantLint {
            name: "t".into(),
            tenant_id: "id".into(),
            location: None,
            findings,
            passed: 0,
            not_checked: Vec::new(),
            moot: Vec::new(),
            unknown: Vec::new(),
        };
        let notes = run(
            json!({"selfServicePasswordReset": {"methods": {"email": true}}}),
            &[],
        )
        .0;
        assert_eq!(notes[0].level, LintLevel::Note);
        assert!(!report(Subject::Desired, TODAY, "0", vec![tenant(notes)]).fails());
        let path = "passwordProtection.lockoutThreshold";
        let values = json!({"passwordProtection": {"lockoutThreshold": 20}});
        let accepted = run(values.clone(), &[exception(path, json!(20), "2027-01-01")]).0;
        assert!(!report(Subject::Desired, TODAY, "0", vec![tenant(accepted)]).fails());
        let open = run(values, &[]).0;
        assert!(report(Subject::Desired, TODAY, "0", vec![tenant(open)]).fails());
    }
}
