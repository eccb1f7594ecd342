//! ssprctl's applier: executes a [`Plan`] through a [`Provider`].
//!
//! For each tenant it writes the planned values surface by surface, in the
//! plan's order, then reads the tenant back and verifies that every planned
//! setting now has its planned value. It acts only on the plan's contents: it
//! makes no choices of its own (STYLE.md §2, rule 3).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use ssprctl_model::{Api, ObservedTenant, Tenant};
use ssprctl_plan::{Change, Plan, TenantPlan};
use ssprctl_provider::{Provider, ProviderError, wire};

/// What happened to one tenant.
#[derive(Debug)]
pub struct TenantOutcome {
    /// The tenant's name.
    pub name: String,
    /// Surfaces written successfully, in order.
    pub written: Vec<Api>,
    /// Every planned setting of the tenant, in plan order, with its state
    /// after the apply (read back, never guessed).
    pub settings: Vec<SettingOutcome>,
    /// Why the tenant's apply stopped, if it did.
    pub error: Option<ApplyError>,
}

/// One planned setting after an apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingOutcome {
    /// The dotted model path of the setting.
    pub path: String,
    /// Whether its planned value is live.
    pub state: SettingState,
}

/// Whether a planned value is live after an apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingState {
    /// Reading back shows the planned value.
    Applied,
    /// Reading back shows another value (or nothing was written).
    NotApplied,
    /// The setting could not be read back.
    Unknown {
        /// Why reading it back failed.
        reason: String,
    },
}

/// Why applying to a tenant stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A write failed; later surfaces of this lane were not written. The
    /// tenant was read again: [`TenantOutcome::settings`] says exactly which
    /// planned settings are live.
    #[error("writing {} failed", .settings.join(", "))]
    Write {
        /// The settings of the surface whose write failed.
        settings: Vec<String>,
        /// The provider's error.
        #[source]
        source: ProviderError,
    },
    /// The write was accepted but reading back shows other values.
    #[error("read-back verification failed: {}", .mismatches.join("; "))]
    Verify {
        /// `path: expected X, found Y` for each setting that did not take.
        mismatches: Vec<String>,
    },
    /// The apply was stopped (an interrupt, or the intent of the next write
    /// could not be recorded) before these settings were written, or while
    /// their write was in flight and did not finish within the grace period.
    #[error("stopped before {} {}: {reason}", if *.in_flight { "finishing the write of" } else { "writing" }, .settings.join(", "))]
    Stopped {
        /// The settings not written (or whose write was abandoned).
        settings: Vec<String>,
        /// Whether a write of them was in flight and abandoned.
        in_flight: bool,
        /// Why.
        reason: String,
    },
    /// The plan names a tenant the configuration does not have.
    #[error("the plan names tenant {name}, which the configuration does not define")]
    UnknownTenant {
        /// The tenant name.
        name: String,
    },
}

/// Read-back attempts before verification gives up (tolerates read-after-write
/// staleness), and the pause between them.
const VERIFY_ATTEMPTS: u32 = 5;
const VERIFY_PAUSE: Duration = Duration::from_millis(500);

/// A request to stop an apply, shared between whoever asks (the binary, on a
/// signal) and the apply. Once stopped, no new write starts; writes in flight
/// get until [`Stop::deadline`] to finish, and so do the reads back.
#[derive(Clone, Debug)]
pub struct Stop {
    tx: Arc<tokio::sync::watch::Sender<Option<(tokio::time::Instant, String)>>>,
    grace: Duration,
}

impl Stop {
    /// A stop that has not been asked for; once asked, in-flight work gets
    /// `grace` more.
    pub fn new(grace: Duration) -> Stop {
        Stop {
            tx: Arc::new(tokio::sync::watch::Sender::new(None)),
            grace,
        }
    }

    /// Asks the apply to stop, saying why (e.g. `SIGINT`). The first reason stays.
    pub fn stop(&self, reason: &str) {
        self.tx.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some((tokio::time::Instant::now(), reason.to_string()));
            true
        });
    }

    /// Why the apply was asked to stop, if it was.
    pub fn reason(&self) -> Option<String> {
        self.tx.borrow().as_ref().map(|(_, r)| r.clone())
    }

    /// Completes at the end of the grace period after a stop (never, if no
    /// stop is asked for).
    pub async fn deadline(&self) {
        let mut rx = self.tx.subscribe();
        let at = match rx.wait_for(Option::is_some).await {
            Ok(slot) => slot.as_ref().map(|(at, _)| *at + self.grace),
            Err(_) => None,
        };
        match at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// Runs `work` to its end, or until the grace period after a stop is over.
    async fn bounded<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            out = work => Some(out),
            () = self.deadline() => None,
        }
    }
}

/// How one write ended, for a [`Watch`].
#[derive(Debug)]
pub enum WriteResult<'a> {
    /// The service accepted it.
    Ok,
    /// It failed.
    Failed(&'a ProviderError),
    /// It was in flight at a stop and did not finish within the grace period;
    /// it may or may not have landed.
    Abandoned,
}

/// Told of each write before it starts and after it ends (the journal).
pub trait Watch: Sync {
    /// Called before `api` of `tenant` is written with these changes. An
    /// error stops the tenant's lane before the write, with this reason.
    fn before_write(&self, tenant: &Tenant, api: Api, changes: &[&Change]) -> Result<(), String>;
    /// Called when the write has ended.
    fn after_write(&self, tenant: &Tenant, api: Api, result: WriteResult<'_>);
}

/// A [`Watch`] that watches nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unwatched;

impl Watch for Unwatched {
    fn before_write(&self, _: &Tenant, _: Api, _: &[&Change]) -> Result<(), String> {
        Ok(())
    }
    fn after_write(&self, _: &Tenant, _: Api, _: WriteResult<'_>) {}
}

/// Applies every tenant's changes, up to `parallelism` tenants at a time (each
/// tenant's surfaces in order, then its read-back). Tenants without changes
/// are skipped. Outcomes come back in plan order.
pub async fn apply<P: Provider>(
    plan: &Plan,
    tenants: &[Tenant],
    provider: &P,
    parallelism: usize,
) -> Vec<TenantOutcome> {
    apply_watched(
        plan,
        tenants,
        provider,
        parallelism,
        &Unwatched,
        &Stop::new(Duration::ZERO),
    )
    .await
}

/// [`apply`], telling `watch` of every write and heeding `stop`: once it is
/// asked for, no new write starts, writes in flight and the reads back get
/// the stop's grace period, and each tenant's outcome says what is live.
pub async fn apply_watched<P: Provider, W: Watch>(
    plan: &Plan,
    tenants: &[Tenant],
    provider: &P,
    parallelism: usize,
    watch: &W,
    stop: &Stop,
) -> Vec<TenantOutcome> {
    use futures_util::StreamExt;
    futures_util::stream::iter(plan.tenants.iter().filter(|t| !t.changes.is_empty()))
        .map(|tp| async move {
            match tenants.iter().find(|t| t.name == tp.name) {
                Some(tenant) => apply_tenant(tp, tenant, provider, watch, stop).await,
                None => TenantOutcome {
                    name: tp.name.clone(),
                    written: Vec::new(),
                    settings: every(tp, &SettingState::NotApplied),
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

async fn apply_tenant<P: Provider, W: Watch>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
    watch: &W,
    stop: &Stop,
) -> TenantOutcome {
    let mut outcome = TenantOutcome {
        name: tp.name.clone(),
        written: Vec::new(),
        settings: Vec::new(),
        error: None,
    };
    // Independent surfaces are written at the same time; a lane's surfaces one
    // after another (see `lanes`). A lane stops at its first failure, and
    // before any write once a stop is asked for.
    let results = futures_util::future::join_all(lanes(by_surface(&tp.changes)).into_iter().map(
        |lane| async move {
            let mut written = Vec::new();
            let mut attempted = false;
            let rest = |from: usize| -> Vec<String> {
                lane[from..]
                    .iter()
                    .flat_map(|(_, changes)| changes.iter().map(|c| c.path.clone()))
                    .collect()
            };
            for (i, (api, changes)) in lane.iter().enumerate() {
                let api = *api;
                let stopped = |reason: String| ApplyError::Stopped {
                    settings: rest(i),
                    in_flight: false,
                    reason,
                };
                if let Some(reason) = stop.reason() {
                    return (written, attempted, Some(stopped(format!("interrupted ({reason})"))));
                }
                if let Err(reason) = watch.before_write(tenant, api, changes) {
                    return (written, attempted, Some(stopped(reason)));
                }
                attempted = true;
                let partial = partial_section(api, changes);
                match stop.bounded(provider.write(tenant, api, &partial)).await {
                    Some(Ok(())) => watch.after_write(tenant, api, WriteResult::Ok),
                    Some(Err(source)) => {
                        watch.after_write(tenant, api, WriteResult::Failed(&source));
                        let settings = changes.iter().map(|c| c.path.clone()).collect();
                        return (
                            written,
                            attempted,
                            Some(ApplyError::Write { settings, source }),
                        );
                    }
                    None => {
                        watch.after_write(tenant, api, WriteResult::Abandoned);
                        let reason = format!(
                            "interrupted ({}); the write did not finish in time and may or may not have landed",
                            stop.reason().unwrap_or_default()
                        );
                        return (
                            written,
                            attempted,
                            Some(ApplyError::Stopped {
                                settings: rest(i),
                                in_flight: true,
                                reason,
                            }),
                        );
                    }
                }
                written.push(api);
            }
            (written, attempted, None)
        },
    ))
    .await;
    let mut failure = None;
    let mut attempted = false;
    for (written, tried, error) in results {
        outcome.written.extend(written);
        attempted |= tried;
        if failure.is_none() {
            failure = error;
        }
    }
    if let Some(error) = failure {
        outcome.settings = if attempted {
            state_after_failure(tp, tenant, provider, stop).await
        } else {
            // Nothing was sent to this tenant: none of its planned values was
            // written by this apply.
            every(tp, &SettingState::NotApplied)
        };
        outcome.error = Some(error);
        return outcome;
    }
    match verify(tp, tenant, provider, stop).await {
        Ok(()) => outcome.settings = every(tp, &SettingState::Applied),
        Err((settings, e)) => {
            outcome.settings = settings;
            outcome.error = Some(e);
        }
    }
    outcome
}

/// Reads the tenant, within the grace period once a stop is asked for.
async fn read_back<P: Provider>(
    tenant: &Tenant,
    provider: &P,
    stop: &Stop,
) -> Option<ObservedTenant> {
    stop.bounded(provider.read(tenant)).await
}

/// The reason of a setting that could not be read back before the deadline.
const NOT_READ_IN_TIME: &str = "interrupted: not read back within the grace period";

/// Every planned setting of a tenant in one state.
fn every(tp: &TenantPlan, state: &SettingState) -> Vec<SettingOutcome> {
    tp.changes
        .iter()
        .map(|c| SettingOutcome {
            path: c.path.clone(),
            state: state.clone(),
        })
        .collect()
}

/// After a failed write: which planned settings are live now. A write can fail
/// after the service applied it (a dropped connection), or half-way (one PUT
/// per on-premises flag), so the tenant is read rather than guessed.
async fn state_after_failure<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
    stop: &Stop,
) -> Vec<SettingOutcome> {
    let Some(observed) = read_back(tenant, provider, stop).await else {
        return every(
            tp,
            &SettingState::Unknown {
                reason: NOT_READ_IN_TIME.to_string(),
            },
        );
    };
    let again = ssprctl_plan::plan_tenant(tenant, &observed);
    tp.changes
        .iter()
        .map(|c| {
            let state = if let Some(u) = observed.unreadable.iter().find(|u| u.api == c.api) {
                SettingState::Unknown {
                    reason: u.reason.clone(),
                }
            } else if again.changes.iter().any(|n| n.path == c.path) {
                SettingState::NotApplied
            } else {
                SettingState::Applied
            };
            SettingOutcome {
                path: c.path.clone(),
                state,
            }
        })
        .collect()
}

/// Re-reads the tenant until every planned value is live, or gives up with
/// each setting's state and the mismatches.
async fn verify<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
    stop: &Stop,
) -> Result<(), (Vec<SettingOutcome>, ApplyError)> {
    let mut last = (Vec::new(), Vec::new());
    for attempt in 1..=VERIFY_ATTEMPTS {
        let Some(observed) = read_back(tenant, provider, stop).await else {
            let unknown = SettingState::Unknown {
                reason: NOT_READ_IN_TIME.to_string(),
            };
            let mismatches = vec![format!("not read back: {NOT_READ_IN_TIME}")];
            return Err((every(tp, &unknown), ApplyError::Verify { mismatches }));
        };
        let again = ssprctl_plan::plan_tenant(tenant, &observed);
        let mut settings = Vec::new();
        let mut mismatches = Vec::new();
        for c in &tp.changes {
            let state = if let Some(u) = again.unknown.iter().find(|u| u.paths.contains(&c.path)) {
                mismatches.push(format!("{}: could not be read back ({})", c.path, u.reason));
                SettingState::Unknown {
                    reason: u.reason.clone(),
                }
            } else if let Some(n) = again.changes.iter().find(|n| n.path == c.path) {
                mismatches.push(format!(
                    "{}: expected {}, found {}",
                    c.path, n.after, n.before
                ));
                SettingState::NotApplied
            } else {
                SettingState::Applied
            };
            settings.push(SettingOutcome {
                path: c.path.clone(),
                state,
            });
        }
        if mismatches.is_empty() {
            return Ok(());
        }
        last = (settings, mismatches);
        // After a stop, one read back is all there is time for.
        if stop.reason().is_some() {
            break;
        }
        if attempt < VERIFY_ATTEMPTS {
            tokio::time::sleep(VERIFY_PAUSE).await;
        }
    }
    let (settings, mismatches) = last;
    Err((settings, ApplyError::Verify { mismatches }))
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

    /// A provider whose calls are recorded; with `hang`, nothing it is asked
    /// ever answers.
    #[derive(Default)]
    struct Fake {
        writes: std::sync::Mutex<Vec<Api>>,
        hang: bool,
    }

    impl Provider for Fake {
        fn read(&self, _: &Tenant) -> impl Future<Output = ObservedTenant> + Send {
            let hang = self.hang;
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                ObservedTenant::default()
            }
        }

        fn write(
            &self,
            _: &Tenant,
            api: Api,
            _: &Value,
        ) -> impl Future<Output = Result<(), ProviderError>> + Send {
            if let Ok(mut w) = self.writes.lock() {
                w.push(api);
            }
            let hang = self.hang;
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                Ok(())
            }
        }
    }

    /// Records what a watch is told.
    #[derive(Default)]
    struct Log(std::sync::Mutex<Vec<String>>);

    impl Watch for Log {
        fn before_write(&self, _: &Tenant, api: Api, _: &[&Change]) -> Result<(), String> {
            if let Ok(mut l) = self.0.lock() {
                l.push(format!("intent {api:?}"));
            }
            Ok(())
        }
        fn after_write(&self, _: &Tenant, api: Api, result: WriteResult<'_>) {
            if let Ok(mut l) = self.0.lock() {
                l.push(format!("result {api:?} {result:?}"));
            }
        }
    }

    fn two_surface_plan() -> (Plan, Vec<Tenant>) {
        let tp = TenantPlan {
            name: "contoso".into(),
            tenant_id: "t1".into(),
            changes: vec![
                change(
                    Api::GraphAuthenticationMethods,
                    "authenticationMethods.sms.state",
                ),
                change(
                    Api::PortalPasswordReset,
                    "selfServicePasswordReset.methodsRequired",
                ),
            ],
            unknown: Vec::new(),
            findings: Vec::new(),
            readiness: Vec::new(),
            lint: Vec::new(),
            unchanged: 0,
            unmanaged: 0,
            prior: Default::default(),
        };
        let plan = Plan {
            format_version: String::new(),
            tool_version: String::new(),
            config_digest: String::new(),
            config_path: String::new(),
            created_at: String::new(),
            tenants: vec![tp],
        };
        let tenant = Tenant {
            name: "contoso".into(),
            tenant_id: "t1".into(),
            endpoint: ssprctl_model::Endpoint::Local,
            settings: Default::default(),
            credentials: None,
            index: 0,
        };
        (plan, vec![tenant])
    }

    #[tokio::test]
    async fn after_a_stop_no_write_starts_and_nothing_is_read() {
        let (plan, tenants) = two_surface_plan();
        let fake = Fake::default();
        let log = Log::default();
        let stop = Stop::new(Duration::ZERO);
        stop.stop("SIGINT");
        let out = apply_watched(&plan, &tenants, &fake, 4, &log, &stop).await;
        assert!(fake.writes.lock().map(|w| w.is_empty()).unwrap_or(false));
        assert!(log.0.lock().map(|l| l.is_empty()).unwrap_or(false));
        assert!(
            out[0]
                .settings
                .iter()
                .all(|s| s.state == SettingState::NotApplied)
        );
        assert!(matches!(
            &out[0].error,
            Some(ApplyError::Stopped { settings, in_flight: false, reason })
                if settings.len() == 2 && reason == "interrupted (SIGINT)"
        ));
    }

    #[tokio::test]
    async fn a_write_in_flight_past_the_grace_period_is_abandoned_and_unknown() {
        let (plan, tenants) = two_surface_plan();
        let fake = Fake {
            hang: true,
            ..Fake::default()
        };
        let log = Log::default();
        let stop = Stop::new(Duration::ZERO);
        let (out, ()) = tokio::join!(
            apply_watched(&plan, &tenants, &fake, 4, &log, &stop),
            async {
                while fake.writes.lock().map(|w| w.is_empty()).unwrap_or(true) {
                    tokio::task::yield_now().await;
                }
                stop.stop("SIGTERM");
            }
        );
        let writes = fake.writes.lock().map(|w| w.clone()).unwrap_or_default();
        assert_eq!(
            writes,
            [Api::GraphAuthenticationMethods],
            "the next one never started"
        );
        let log = log.0.lock().map(|l| l.clone()).unwrap_or_default();
        assert_eq!(
            log,
            [
                "intent GraphAuthenticationMethods",
                "result GraphAuthenticationMethods Abandoned"
            ]
        );
        assert!(
            out[0]
                .settings
                .iter()
                .all(|s| matches!(&s.state, SettingState::Unknown { .. }))
        );
        assert!(matches!(
            &out[0].error,
            Some(ApplyError::Stopped {
                in_flight: true,
                ..
            })
        ));
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
