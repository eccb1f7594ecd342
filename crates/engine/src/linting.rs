//! `lint`: the file's effective settings, or what the tenants actually have,
//! checked against the catalog's rules (the checks themselves are
//! `ssprctl_plan::lint`, pure; this reads the tenants).

use ssprctl_model::{Config, ObservedTenant, Tenant};
use ssprctl_plan::lint::{self, LintReport, Subject};
use ssprctl_provider::{HttpProvider, Provider};

use crate::TOOL_VERSION;

/// Lints every tenant of `config` offline: the settings the file manages
/// (the rest are listed as not checked). `today` is `YYYY-MM-DD`.
pub fn lint_desired(config: &Config, today: &str) -> LintReport {
    let tenants = config
        .tenants
        .iter()
        .map(|t| lint::lint_tenant(config, t, None, today))
        .collect();
    lint::report(Subject::Desired, today, TOOL_VERSION, tenants)
}

/// Lints what every tenant of `config` has live, managed or not, reading up
/// to `parallelism` tenants at a time. A surface that cannot be read leaves
/// its rules unknown.
pub async fn lint_live(
    config: &Config,
    provider: &HttpProvider,
    parallelism: usize,
    today: &str,
) -> LintReport {
    // Every surface is read, managed or not: the provider reads a section
    // the settings name, and an empty section names it without managing
    // anything (nothing is written by lint).
    let every_surface: Vec<Tenant> = config
        .tenants
        .iter()
        .map(|t| {
            let mut t = t.clone();
            let s = std::sync::Arc::make_mut(&mut t.settings);
            s.self_service_password_reset
                .get_or_insert_with(Default::default);
            s.on_premises_integration
                .get_or_insert_with(Default::default);
            s.administrator_password_reset
                .get_or_insert_with(Default::default);
            s.authentication_methods
                .get_or_insert_with(Default::default);
            s.password_protection.get_or_insert_with(Default::default);
            t
        })
        .collect();
    let observed: Vec<ObservedTenant> =
        crate::planning::concurrently(&every_surface, parallelism, |tenant| provider.read(tenant))
            .await;
    let tenants = config
        .tenants
        .iter()
        .zip(&observed)
        .map(|(t, o)| lint::lint_tenant(config, t, Some(o), today))
        .collect();
    lint::report(Subject::Live, today, TOOL_VERSION, tenants)
}

/// The day of an RFC 3339 time stamp (`2026-11-30T12:00:00Z` -> `2026-11-30`):
/// a plan judges exceptions on the day it was made.
pub(crate) fn day_of(created_at: &str) -> &str {
    created_at.get(..10).unwrap_or(created_at)
}
