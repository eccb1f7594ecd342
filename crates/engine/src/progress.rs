//! Progress across tenants: the engine tells an observer when each tenant's
//! read (plan) or apply has finished; the CLI draws a bar or writes progress
//! lines from it. The engine itself never prints.

use ssprctl_apply::{SettingState, TenantOutcome};
use ssprctl_plan::TenantPlan;

/// What the tenants of a phase are being done for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading tenants to plan.
    Plan,
    /// Writing planned changes.
    Apply,
}

/// How one tenant's part of a phase ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TenantDone {
    /// Plan: a managed surface could not be read. Apply: the tenant's apply
    /// failed or was refused (not written and verified).
    pub failed: bool,
    /// Plan: the tenant has changes. Apply: something was written.
    pub changed: bool,
}

/// Told of the progress of a phase across tenants. Called from the tasks
/// that read or write tenants, so it must be cheap and never block for long.
pub trait Progress: Sync {
    /// A phase starts with `total` tenants.
    fn start(&self, phase: Phase, total: usize);
    /// One tenant of the phase has finished.
    fn tenant_done(&self, done: TenantDone);
    /// The phase has ended (every tenant done, or stopped).
    fn finish(&self);
}

/// Progress nobody watches.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Phase, _: usize) {}
    fn tenant_done(&self, _: TenantDone) {}
    fn finish(&self) {}
}

/// Reports a tenant whose read has finished, planned: whether a managed
/// surface could not be read and whether it has changes.
pub(crate) fn tenant_planned(progress: &dyn Progress, planned: &TenantPlan) {
    progress.tenant_done(TenantDone {
        failed: !planned.unknown.is_empty(),
        changed: !planned.changes.is_empty(),
    });
}

/// Reports a tenant whose apply has finished.
pub(crate) fn tenant_applied(progress: &dyn Progress, outcome: &TenantOutcome) {
    let unknown = outcome
        .settings
        .iter()
        .any(|s| matches!(s.state, SettingState::Unknown { .. }));
    progress.tenant_done(TenantDone {
        failed: outcome.error.is_some() || unknown,
        changed: !outcome.written.is_empty(),
    });
}
