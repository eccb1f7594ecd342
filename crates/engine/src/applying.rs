//! The gates and the apply itself.

use ssprctl_apply::{ApplyError, SettingOutcome, Stop};
use ssprctl_model::{Api, Config};
use ssprctl_plan::Plan;
use ssprctl_provider::HttpProvider;

use crate::{Journal, Refusal};

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
    /// Why the tenant's apply stopped, if it did.
    pub error: Option<ApplyError>,
}

/// Applies a plan that passed [`check_gates`] (and, for a saved plan,
/// [`crate::prepare_apply`]), up to `parallelism` tenants at a time.
pub async fn execute(
    plan: &Plan,
    config: &Config,
    provider: &HttpProvider,
    parallelism: usize,
) -> ApplyReport {
    let outcomes = ssprctl_apply::apply(plan, &config.tenants, provider, parallelism).await;
    report(outcomes, None)
}

/// [`execute`] with a journal: each write's intent is recorded (and fsync'd)
/// before it is sent and its result after; no write starts once `stop` is
/// asked for, and writes in flight and the reads back get its grace period.
/// The caller writes the account with [`Journal::finish`] once it has the
/// report.
pub async fn execute_journaled(
    plan: &Plan,
    config: &Config,
    provider: &HttpProvider,
    parallelism: usize,
    journal: &Journal,
    stop: &Stop,
) -> ApplyReport {
    let outcomes =
        ssprctl_apply::apply_watched(plan, &config.tenants, provider, parallelism, journal, stop)
            .await;
    report(outcomes, stop.reason())
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
                error: o.error,
            })
            .collect(),
    }
}
