//! ssprctl's applier: executes a [`Plan`] through a [`Provider`].
//!
//! For each tenant it writes the planned values surface by surface, in the
//! plan's order, then reads the tenant back and verifies that every planned
//! setting now has its planned value. It acts only on the plan's contents: it
//! makes no choices of its own (STYLE.md §2, rule 3).

use std::time::Duration;

use serde_json::{Map, Value};
use ssprctl_model::{Api, Tenant};
use ssprctl_plan::{Change, Plan, TenantPlan};
use ssprctl_provider::{Provider, ProviderError, wire};

/// What happened to one tenant.
#[derive(Debug)]
pub struct TenantOutcome {
    /// The tenant's name.
    pub name: String,
    /// Surfaces written successfully, in order.
    pub written: Vec<Api>,
    /// Why the tenant's apply stopped, if it did.
    pub error: Option<ApplyError>,
}

/// Why applying to a tenant stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A write failed; later surfaces of this tenant were not written. The
    /// tenant was read again to say exactly which planned settings are live.
    #[error("writing {} failed", .settings.join(", "))]
    Write {
        /// The settings of the surface whose write failed.
        settings: Vec<String>,
        /// The provider's error.
        #[source]
        source: ProviderError,
        /// Every planned setting after the failure: `applied: PATH`,
        /// `not applied: PATH` or `unknown: PATH (reason)`.
        after_failure: Vec<String>,
    },
    /// The write was accepted but reading back shows other values.
    #[error("read-back verification failed: {}", .mismatches.join("; "))]
    Verify {
        /// `path: expected X, found Y` for each setting that did not take.
        mismatches: Vec<String>,
    },
    /// The plan names a tenant the configuration does not have.
    #[error("the plan names tenant {name}, which the configuration does not define")]
    UnknownTenant {
        /// The tenant name.
        name: String,
    },
}

/// A saved plan that no longer matches the live tenants.
#[derive(Debug, thiserror::Error)]
#[error("the plan is stale: the live settings moved since it was made")]
pub struct Stale {
    /// One line per moved object or setting, naming tenant, API and path.
    pub moved: Vec<String>,
}

/// The stale-plan guard: re-reads every tenant the plan changes and refuses if
/// any live object it read has moved since (its digest differs), naming what
/// moved.
pub async fn check_fresh<P: Provider>(
    plan: &Plan,
    tenants: &[Tenant],
    provider: &P,
    parallelism: usize,
) -> Result<(), Stale> {
    use futures_util::StreamExt;
    let per_tenant: Vec<Vec<String>> =
        futures_util::stream::iter(plan.tenants.iter().filter(|t| !t.changes.is_empty()))
            .map(|tp| async move { moved_since(tp, tenants, provider).await })
            .buffered(parallelism.max(1))
            .collect()
            .await;
    let moved: Vec<String> = per_tenant.into_iter().flatten().collect();
    if moved.is_empty() {
        Ok(())
    } else {
        Err(Stale { moved })
    }
}

/// What moved in one tenant since its plan was made.
async fn moved_since<P: Provider>(
    tp: &TenantPlan,
    tenants: &[Tenant],
    provider: &P,
) -> Vec<String> {
    let mut moved = Vec::new();
    let Some(tenant) = tenants.iter().find(|t| t.name == tp.name) else {
        moved.push(format!("{}: not in the configuration any more", tp.name));
        return moved;
    };
    let observed = provider.read(tenant).await;
    let again = ssprctl_plan::plan_tenant(tenant, &observed);
    for (api, digest) in &tp.prior {
        match observed.digests.get(api) {
            None => moved.push(format!(
                "{}: {} could not be read again",
                tp.name,
                api.label()
            )),
            Some(now) if now != digest => {
                let mut what = Vec::new();
                for c in tp.changes.iter().filter(|c| c.api == *api) {
                    let live = ssprctl_plan::observed_value(&observed, &c.path);
                    if live != c.before {
                        what.push(format!(
                            "{} was {} when planned, is now {}",
                            c.path, c.before, live
                        ));
                    }
                }
                for n in again.changes.iter().filter(|n| n.api == *api) {
                    if !tp.changes.iter().any(|c| c.path == n.path) {
                        what.push(format!("{} now differs too (live {})", n.path, n.before));
                    }
                }
                let detail = if what.is_empty() {
                    "in settings ssprctl does not manage".to_string()
                } else {
                    what.join(", ")
                };
                moved.push(format!(
                    "{}: {} changed since the plan was made: {detail}",
                    tp.name,
                    api.label()
                ));
            }
            Some(_) => {}
        }
    }
    moved
}

/// Read-back attempts before verification gives up (tolerates read-after-write
/// staleness), and the pause between them.
const VERIFY_ATTEMPTS: u32 = 5;
const VERIFY_PAUSE: Duration = Duration::from_millis(500);

/// Applies every tenant's changes, up to `parallelism` tenants at a time (each
/// tenant's surfaces in order, then its read-back). Tenants without changes
/// are skipped. Outcomes come back in plan order.
pub async fn apply<P: Provider>(
    plan: &Plan,
    tenants: &[Tenant],
    provider: &P,
    parallelism: usize,
) -> Vec<TenantOutcome> {
    use futures_util::StreamExt;
    futures_util::stream::iter(plan.tenants.iter().filter(|t| !t.changes.is_empty()))
        .map(|tp| async move {
            match tenants.iter().find(|t| t.name == tp.name) {
                Some(tenant) => apply_tenant(tp, tenant, provider).await,
                None => TenantOutcome {
                    name: tp.name.clone(),
                    written: Vec::new(),
                    error: Some(ApplyError::UnknownTenant {
                        name: tp.name.clone(),
                    }),
                },
            }
        })
        .buffered(parallelism.max(1))
        .collect()
        .await
}

async fn apply_tenant<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
) -> TenantOutcome {
    let mut outcome = TenantOutcome {
        name: tp.name.clone(),
        written: Vec::new(),
        error: None,
    };
    // Independent surfaces are written at the same time; a lane's surfaces one
    // after another (see `lanes`). A lane stops at its first failure.
    let results = futures_util::future::join_all(lanes(by_surface(&tp.changes)).into_iter().map(
        |lane| async move {
            let mut written = Vec::new();
            for (api, changes) in lane {
                let partial = partial_section(api, &changes);
                if let Err(source) = provider.write(tenant, api, &partial).await {
                    let settings = changes.iter().map(|c| c.path.clone()).collect();
                    return (written, Some((settings, source)));
                }
                written.push(api);
            }
            (written, None)
        },
    ))
    .await;
    let mut failure = None;
    for (written, error) in results {
        outcome.written.extend(written);
        if failure.is_none() {
            failure = error;
        }
    }
    if let Some((settings, source)) = failure {
        outcome.error = Some(ApplyError::Write {
            settings,
            source,
            after_failure: state_after_failure(tp, tenant, provider).await,
        });
        return outcome;
    }
    if let Err(e) = verify(tp, tenant, provider).await {
        outcome.error = Some(e);
    }
    outcome
}

/// After a failed write: which planned settings are live now. A write can fail
/// after the service applied it (a dropped connection), or half-way (one PUT
/// per on-premises flag), so the tenant is read rather than guessed.
async fn state_after_failure<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
) -> Vec<String> {
    let observed = provider.read(tenant).await;
    let again = ssprctl_plan::plan_tenant(tenant, &observed);
    tp.changes
        .iter()
        .map(|c| {
            if let Some(u) = observed.unreadable.iter().find(|u| u.api == c.api) {
                return format!("unknown: {} (could not read it back: {})", c.path, u.reason);
            }
            if again.changes.iter().any(|n| n.path == c.path) {
                format!("not applied: {}", c.path)
            } else {
                format!("applied: {}", c.path)
            }
        })
        .collect()
}

/// Re-reads the tenant until every planned value is live, or gives up.
async fn verify<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
) -> Result<(), ApplyError> {
    let mut mismatches = Vec::new();
    for attempt in 1..=VERIFY_ATTEMPTS {
        let observed = provider.read(tenant).await;
        let again = ssprctl_plan::plan_tenant(tenant, &observed);
        mismatches = tp
            .changes
            .iter()
            .filter_map(|c| {
                if let Some(u) = again.unknown.iter().find(|u| u.paths.contains(&c.path)) {
                    return Some(format!("{}: could not be read back ({})", c.path, u.reason));
                }
                again
                    .changes
                    .iter()
                    .find(|n| n.path == c.path)
                    .map(|n| format!("{}: expected {}, found {}", c.path, n.after, n.before))
            })
            .collect();
        if mismatches.is_empty() {
            return Ok(());
        }
        if attempt < VERIFY_ATTEMPTS {
            tokio::time::sleep(VERIFY_PAUSE).await;
        }
    }
    Err(ApplyError::Verify { mismatches })
}

/// The write lanes of a tenant: surfaces in one lane are written in order,
/// lanes at the same time. The authentication-methods policy goes before the
/// SSPR policy (a method must be on before more methods are required); every
/// other surface is independent.
fn lanes(surfaces: Vec<(Api, Vec<&Change>)>) -> Vec<Vec<(Api, Vec<&Change>)>> {
    let mut ordered = Vec::new();
    let mut alone = Vec::new();
    for surface in surfaces {
        match surface.0 {
            Api::GraphAuthenticationMethods | Api::PortalPasswordReset => ordered.push(surface),
            _ => alone.push(vec![surface]),
        }
    }
    let mut out = Vec::new();
    if !ordered.is_empty() {
        out.push(ordered);
    }
    out.extend(alone);
    out
}

/// Changes grouped by surface, keeping the plan's order.
fn by_surface(changes: &[Change]) -> Vec<(Api, Vec<&Change>)> {
    let mut out: Vec<(Api, Vec<&Change>)> = Vec::new();
    for c in changes {
        match out.iter_mut().find(|(api, _)| *api == c.api) {
            Some((_, list)) => list.push(c),
            None => out.push((c.api, vec![c])),
        }
    }
    out
}

/// The model section holding exactly the planned values of these changes.
fn partial_section(api: Api, changes: &[&Change]) -> Value {
    let mut partial = Value::Object(Map::new());
    let prefix = format!("{}.", api.section());
    for c in changes {
        let rel = c.path.strip_prefix(&prefix).unwrap_or(&c.path);
        wire::set_dotted(&mut partial, rel, c.after.clone());
    }
    partial
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssprctl_plan::{Action, Risk};

    fn change(api: Api, path: &str) -> Change {
        Change {
            path: path.into(),
            api,
            action: Action::Update,
            before: Value::Null,
            after: Value::Bool(true),
            risk: Risk::Neutral,
            reason: String::new(),
            control: None,
        }
    }

    #[test]
    fn methods_are_written_before_the_sspr_policy_and_the_rest_in_parallel() {
        let changes = [
            change(
                Api::GraphAuthenticationMethods,
                "authenticationMethods.sms.state",
            ),
            change(
                Api::PortalPasswordReset,
                "selfServicePasswordReset.methodsRequired",
            ),
            change(
                Api::PortalOnPremises,
                "onPremisesIntegration.passwordWriteback",
            ),
            change(
                Api::GraphAuthorizationPolicy,
                "administratorPasswordReset.enabled",
            ),
        ];
        let lanes: Vec<Vec<Api>> = lanes(by_surface(&changes))
            .into_iter()
            .map(|lane| lane.into_iter().map(|(api, _)| api).collect())
            .collect();
        assert_eq!(
            lanes,
            vec![
                vec![Api::GraphAuthenticationMethods, Api::PortalPasswordReset],
                vec![Api::PortalOnPremises],
                vec![Api::GraphAuthorizationPolicy],
            ]
        );
    }
}
