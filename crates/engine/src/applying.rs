//! The gates and the apply itself.

use ssprctl_apply::{ApplyError, Concurrent, SettingOutcome, Stop};
use ssprctl_model::{Api, Config};
use ssprctl_plan::Plan;
use ssprctl_provider::HttpProvider;

use crate::progress::{Phase, Progress};
use crate::{Journal, Prepared, Refusal};

/// The gates every apply passes, on the plan that will be applied (never on a
/// saved file's labels): no blocking preflight finding, and no weakening change
/// unless `allow_weakening`. A plan without changes passes.
pub fn check_gates(plan: &Plan, allow_weakening: bool) -> Result<(), Refusal> {
    let blocking = plan
        .tenants
        .iter()
        .flat_map(|t| &t.findings)
        .filter(|f| f.severity == ssprctl_plan::Severity::Error)
        .count();
    if blocking > 0 {
        return Err(Refusal::BlockingFindings { count: blocking });
    }
    let weakening = plan.weakening_count();
    if plan.change_count() > 0 && weakening > 0 && !allow_weakening {
        return Err(Refusal::Weakening { count: weakening });
    }
    Ok(())
}

/// What an apply did, per tenant with changes, in plan order.
#[derive(Debug)]
pub struct ApplyReport {
    /// One entry per tenant that had changes.
    pub tenants: Vec<TenantApplied>,
    /// The reason the apply was asked to stop (e.g. `SIGINT`), if it was.
    pub interrupted: Option<String>,
}

impl ApplyReport {
    /// Whether every tenant's apply went through and verified.
    pub fn succeeded(&self) -> bool {
        self.tenants.iter().all(|t| t.error.is_none())
    }

    /// Whether a tenant's apply failed: an error other than a surface
    /// refused because a managed setting moved ([`ApplyError::Moved`]) or
    /// writes not visible yet ([`ApplyError::NotVisible`]). A stop
    /// ([`ApplyError::Stopped`]) counts: an interrupt is told apart by
    /// [`ApplyReport::interrupted`], a journal that could not be written is a
    /// failure.
    pub fn failed(&self) -> bool {
        self.tenants.iter().any(|t| {
            t.error.as_ref().is_some_and(|e| {
                !matches!(e, ApplyError::Moved { .. } | ApplyError::NotVisible { .. })
            })
        })
    }

    /// Whether a surface was refused because a managed setting moved since
    /// the plan was read.
    pub fn refused(&self) -> bool {
        self.tenants
            .iter()
            .any(|t| matches!(t.error, Some(ApplyError::Moved { .. })))
    }

    /// Whether a setting's state after the apply is unknown.
    pub fn has_unknown(&self) -> bool {
        self.tenants.iter().any(|t| {
            t.settings
                .iter()
                .any(|s| matches!(s.state, ssprctl_apply::SettingState::Unknown { .. }))
        })
    }
}

/// What an apply did to one tenant.
#[derive(Debug)]
pub struct TenantApplied {
    /// The tenant's name.
    pub name: String,
    /// Surfaces written successfully.
    pub written: Vec<Api>,
    /// Every planned setting with its state after the apply (read back).
    pub settings: Vec<SettingOutcome>,
    /// Settings another writer changed on a written full-object surface.
    pub concurrent: Vec<Concurrent>,
    /// Why the tenant's apply stopped, if it did.
    pub error: Option<ApplyError>,
}

/// Applies a plan made by [`crate::prepare_apply`] that passed
/// [`check_gates`], up to `parallelism` tenants at a time, each write checked
/// against the reads the plan was computed from. Every apply is journaled
/// (there is no other way in): each write's intent is recorded (and fsync'd)
/// before it is sent and its result after (with what it found another writer
/// changed); no write starts once `stop` is asked for, and writes in flight
/// and the reads back get its grace period. The caller writes the account
/// with [`Journal::finish`] once it has the report. `progress` is told of
/// each tenant whose apply has ended ([`Phase::Apply`], over the tenants with
/// changes).
pub async fn execute_journaled(
    prepared: &Prepared,
    config: &Config,
    provider: &HttpProvider,
    parallelism: usize,
    journal: &Journal,
    stop: &Stop,
    progress: &dyn Progress,
) -> ApplyReport {
    let total = prepared
        .plan
        .tenants
        .iter()
        .filter(|t| !t.changes.is_empty())
        .count();
    progress.start(Phase::Apply, total);
    let watch = Observed { journal, progress };
    let outcomes = ssprctl_apply::apply_watched(
        &prepared.plan,
        &config.tenants,
        &prepared.observed,
        provider,
        parallelism,
        &watch,
        stop,
    )
    .await;
    progress.finish();
    report(outcomes, stop.reason())
}

/// The journal, with progress told of each tenant's end.
struct Observed<'a> {
    journal: &'a Journal,
    progress: &'a dyn Progress,
}

impl ssprctl_apply::Watch for Observed<'_> {
    async fn before_write(
        &self,
        tenant: &ssprctl_model::Tenant,
        api: Api,
        changes: &[&ssprctl_plan::Change],
    ) -> Result<(), String> {
        self.journal.before_write(tenant, api, changes).await
    }
    async fn after_write(
        &self,
        tenant: &ssprctl_model::Tenant,
        api: Api,
        result: ssprctl_apply::WriteResult<'_>,
    ) {
        self.journal.after_write(tenant, api, result).await;
    }
    fn tenant_done(&self, outcome: &ssprctl_apply::TenantOutcome) {
        crate::progress::tenant_applied(self.progress, outcome);
    }
}

fn report(outcomes: Vec<ssprctl_apply::TenantOutcome>, interrupted: Option<String>) -> ApplyReport {
    ApplyReport {
        interrupted,
        tenants: outcomes
            .into_iter()
            .map(|o| TenantApplied {
                name: o.name,
                written: o.written,
                settings: o.settings,
                concurrent: o.concurrent,
                error: o.error,
            })
            .collect(),
    }
}
