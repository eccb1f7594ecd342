//! ssprctl's applier: executes a [`Plan`] through a [`Provider`].
//!
//! For each tenant it writes the planned values surface by surface, in the
//! plan's order, then reads the tenant back and verifies that every planned
//! setting now has its planned value. It acts only on the plan's contents: it
//! makes no choices of its own.
//!
//! Lost updates: each write is given the object the plan was computed from
//! (what the tenant's [`ObservedTenant`] holds), so a full-object write can
//! refuse when a managed setting moved since, and keep and report what
//! another writer changed ([`Concurrent`]). The read-back compares again, and
//! reports what a write replaced without having seen it.
//!
//! Read-back under read-after-write lag: a write's request is applied all at
//! once or not at all, so a read that shows one of a request's values shows
//! the whole request ([`ssprctl_provider::client::concurrent::request_groups`]).
//! A setting is "not applied" only when such a read shows another value; a
//! read showing none of a request's values may be stale, and is read again
//! (backing off) until it is not or the tries run out: then the setting is
//! unknown ("not visible yet"), never "not applied".
//!
//! Stopping ([`Stop`], [`apply_watched`]): once a stop is asked for, no new
//! write starts; writes in flight and the reads back get its grace period. A
//! stop during the read-back ends it after at most one more read, with what
//! the reads showed: a setting no read showed is unknown, as when the tries
//! run out. A [`Watch`] (the journal) is told of every write before it starts
//! and after it ends, with what the write found another writer changed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use ssprctl_model::{Api, ObservedTenant, Tenant};
use ssprctl_plan::{Change, Plan, TenantPlan};
use ssprctl_provider::client::concurrent;
use ssprctl_provider::{ConcurrentChange, Provider, ProviderError, wire};

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
    /// Settings another writer changed on a written full-object surface, in
    /// the order they were found.
    pub concurrent: Vec<Concurrent>,
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
    /// A read that shows the write (or, for a surface not written, any read)
    /// shows another value; or nothing was sent to the tenant (a stop before
    /// its first write).
    NotApplied,
    /// The setting could not be read back, or no read showed the write yet
    /// (the tries ran out, or a stop ended the read-back first).
    Unknown {
        /// Why reading it back failed, or that it is not visible yet.
        reason: String,
    },
}

/// A change by another writer to a setting the plan did not change, on a
/// full-object surface this apply wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Concurrent {
    /// The setting (or wire field) and its values.
    pub change: ConcurrentChange,
    /// When it was seen, and what the write did to it.
    pub seen: Seen,
}

/// When a concurrent change was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Between the plan's read and the pre-write read: the write was built
    /// from the newer read and kept the other writer's value.
    BeforeWrite,
    /// In a read-back that did not show the write yet, so between the
    /// pre-write read and the write: the write replaced the other writer's
    /// value with `before` (a lost update; reads are assumed not to go back
    /// in time).
    Overwritten,
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
    /// A setting the file manages on a full-object surface changed between
    /// the plan's read and the write; the surface was not written (the plan
    /// was reviewed against the old value). Later surfaces of its lane were
    /// not written either.
    #[error("{api} changed since the plan was read; it was not written: {}", moved_list(.moved))]
    Moved {
        /// The surface refused.
        api: Api,
        /// Everything that moved on it, with both values.
        moved: Vec<ConcurrentChange>,
    },
    /// The write was accepted but a read that shows it shows other values.
    #[error("read-back verification failed: {}", .mismatches.join("; "))]
    Verify {
        /// `path: expected X, found Y` for each setting that did not take.
        mismatches: Vec<String>,
    },
    /// The writes were accepted but no read showed some of them (within the
    /// tries, or before a stop ended the read-back): their state is unknown,
    /// not "not applied".
    #[error("written, but not visible when read back yet: {}", .settings.join(", "))]
    NotVisible {
        /// The settings not seen.
        settings: Vec<String>,
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

/// `field: before -> after`, `; `-separated, for the managed ones first.
fn moved_list(moved: &[ConcurrentChange]) -> String {
    let mut list: Vec<&ConcurrentChange> = moved.iter().filter(|m| m.managed).collect();
    list.extend(moved.iter().filter(|m| !m.managed));
    list.iter()
        .map(|m| format!("{}: {} -> {}", m.field, m.before, m.after))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The pauses between read-back attempts (backing off; the first read is at
/// once): 0.25 + 0.5 + 1 + 2 + 4 s, so a lag of up to ~7.7 s is waited out.
const READ_BACK_PAUSES: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

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

    /// Completes once a stop is asked for (never, if none is).
    async fn asked(&self) {
        let mut rx = self.tx.subscribe();
        if rx.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
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
    Ok {
        /// Unmanaged fields of a full-object surface another writer changed
        /// since the plan's read, which the write kept (empty otherwise).
        concurrent: &'a [ConcurrentChange],
    },
    /// It failed (for a full-object surface refused because a managed setting
    /// moved, [`ProviderError::Moved`] lists what moved; nothing was sent).
    Failed(&'a ProviderError),
    /// It was in flight at a stop and did not finish within the grace period;
    /// it may or may not have landed.
    Abandoned,
}

/// Told of each write before it starts and after it ends (the journal).
/// Both are awaited: a journal makes its record durable before the write
/// starts (and before the lane goes on), without blocking other tenants
/// meanwhile, so that records of many tenants can share one fsync.
pub trait Watch: Sync {
    /// Called before `api` of `tenant` is written with these changes; the
    /// write starts once it completes. An error stops the tenant's lane
    /// before the write, with this reason.
    fn before_write(
        &self,
        tenant: &Tenant,
        api: Api,
        changes: &[&Change],
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// Called when the write has ended.
    fn after_write(
        &self,
        tenant: &Tenant,
        api: Api,
        result: WriteResult<'_>,
    ) -> impl Future<Output = ()> + Send;
    /// Called when a tenant's apply has ended (read back included), with its
    /// outcome: for progress across tenants.
    fn tenant_done(&self, _outcome: &TenantOutcome) {}
}

/// A [`Watch`] that watches nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unwatched;

impl Watch for Unwatched {
    async fn before_write(&self, _: &Tenant, _: Api, _: &[&Change]) -> Result<(), String> {
        Ok(())
    }
    async fn after_write(&self, _: &Tenant, _: Api, _: WriteResult<'_>) {}
}

/// Applies every tenant's changes, up to `parallelism` tenants at a time (each
/// tenant's surfaces in order, then its read-back), starting the next tenant
/// as soon as any one ends (a slow tenant holds back no other); tenants
/// without changes are skipped and outcomes come back in plan order.
/// `observed` is what the plan was computed from, in the order of `tenants`
/// (a tenant without it is written without the lost-update check). `watch` is told of every write;
/// once `stop` is asked for, no new write starts, writes in flight and the
/// reads back get the stop's grace period, and each tenant's outcome says what
/// is live.
pub async fn apply_watched<P: Provider, W: Watch>(
    plan: &Plan,
    tenants: &[Tenant],
    observed: &[ObservedTenant],
    provider: &P,
    parallelism: usize,
    watch: &W,
    stop: &Stop,
) -> Vec<TenantOutcome> {
    use futures_util::StreamExt;
    // By name, so that finding each planned tenant's entry is not a scan of
    // every tenant (thousands of tenants).
    let index: std::collections::HashMap<&str, usize> = tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .rev()
        .collect();
    let index = &index;
    let todo = plan.tenants.iter().filter(|t| !t.changes.is_empty());
    let mut done: Vec<(usize, TenantOutcome)> = futures_util::stream::iter(todo.enumerate())
        .map(|(k, tp)| {
            // Boxed: a finished tenant's slot in the stream lives on as long as
            // a waker of it does (a pooled connection, a timer).
            Box::pin(async move {
                let outcome = match index.get(tp.name.as_str()).copied() {
                    Some(i) => {
                        let basis = observed.get(i);
                        apply_tenant(tp, &tenants[i], basis, provider, watch, stop).await
                    }
                    None => TenantOutcome {
                        name: tp.name.clone(),
                        written: Vec::new(),
                        settings: every(tp, &SettingState::NotApplied),
                        concurrent: Vec::new(),
                        error: Some(ApplyError::UnknownTenant {
                            name: tp.name.clone(),
                        }),
                    },
                };
                watch.tenant_done(&outcome);
                (k, outcome)
            })
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    done.sort_unstable_by_key(|(k, _)| *k);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// What one lane wrote, and how it stopped.
#[derive(Default)]
struct Lane {
    /// Whether a write was started (its intent recorded).
    attempted: bool,
    written: Vec<Api>,
    /// The surface whose write was in flight at a stop and abandoned.
    abandoned: Option<Api>,
    built_from: Vec<(Api, Value)>,
    concurrent: Vec<ConcurrentChange>,
    failure: Option<ApplyError>,
}

async fn apply_tenant<P: Provider, W: Watch>(
    tp: &TenantPlan,
    tenant: &Tenant,
    basis: Option<&ObservedTenant>,
    provider: &P,
    watch: &W,
    stop: &Stop,
) -> TenantOutcome {
    // Independent surfaces are written at the same time; a lane's surfaces one
    // after another (see `lanes`). A lane stops at its first failure, and
    // before any write once a stop is asked for.
    let results = futures_util::future::join_all(lanes(by_surface(&tp.changes)).into_iter().map(
        |lane| async move {
            let mut out = Lane::default();
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
                    out.failure = Some(stopped(format!("interrupted ({reason})")));
                    return out;
                }
                if let Err(reason) = watch.before_write(tenant, api, changes).await {
                    out.failure = Some(stopped(reason));
                    return out;
                }
                out.attempted = true;
                let partial = partial_section(api, changes);
                let planned_from = basis.and_then(|o| o.objects.get(&api));
                let write = provider.write(tenant, api, &partial, planned_from);
                match stop.bounded(write).await {
                    Some(Ok(w)) => {
                        let concurrent = &w.concurrent;
                        watch
                            .after_write(tenant, api, WriteResult::Ok { concurrent })
                            .await;
                        out.written.push(api);
                        out.concurrent.extend(w.concurrent);
                        if let Some(object) = w.built_from {
                            out.built_from.push((api, object));
                        }
                    }
                    Some(Err(source)) => {
                        watch
                            .after_write(tenant, api, WriteResult::Failed(&source))
                            .await;
                        out.failure = Some(match source {
                            ProviderError::Moved { api, moved } => ApplyError::Moved { api, moved },
                            source => ApplyError::Write {
                                settings: changes.iter().map(|c| c.path.clone()).collect(),
                                source,
                            },
                        });
                        return out;
                    }
                    None => {
                        watch
                            .after_write(tenant, api, WriteResult::Abandoned)
                            .await;
                        out.abandoned = Some(api);
                        out.failure = Some(ApplyError::Stopped {
                            settings: rest(i),
                            in_flight: true,
                            reason: format!(
                                "interrupted ({}); the write did not finish in time and may or may not have landed",
                                stop.reason().unwrap_or_default()
                            ),
                        });
                        return out;
                    }
                }
            }
            out
        },
    ))
    .await;
    let mut attempted = false;
    let mut written = Vec::new();
    let mut abandoned = Vec::new();
    let mut built_from = Vec::new();
    let mut concurrent: Vec<Concurrent> = Vec::new();
    let mut failure = None;
    for lane in results {
        attempted |= lane.attempted;
        written.extend(lane.written);
        abandoned.extend(lane.abandoned);
        built_from.extend(lane.built_from);
        concurrent.extend(lane.concurrent.into_iter().map(|change| Concurrent {
            change,
            seen: Seen::BeforeWrite,
        }));
        if failure.is_none() {
            failure = lane.failure;
        }
    }
    if !attempted {
        // Nothing was sent to this tenant (a stop, or the journal, before its
        // first write): none of its planned values was written by this apply.
        return TenantOutcome {
            name: tp.name.clone(),
            written,
            settings: every(tp, &SettingState::NotApplied),
            concurrent,
            error: failure,
        };
    }
    let sent = Sent {
        written: &written,
        abandoned: &abandoned,
    };
    let back = read_back(tp, tenant, provider, stop, &sent, &built_from).await;
    for c in back.concurrent {
        if !concurrent.contains(&c) {
            concurrent.push(c);
        }
    }
    let error = match failure {
        Some(error) => Some(error),
        None if !back.mismatches.is_empty() => Some(ApplyError::Verify {
            mismatches: back.mismatches,
        }),
        None if !back.not_visible.is_empty() => Some(ApplyError::NotVisible {
            settings: back.not_visible,
        }),
        None => None,
    };
    TenantOutcome {
        name: tp.name.clone(),
        written,
        settings: back.settings,
        concurrent,
        error,
    }
}

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

/// The surfaces a tenant's writes were sent to.
struct Sent<'a> {
    /// Written successfully.
    written: &'a [Api],
    /// In flight at a stop and abandoned: they may or may not have landed.
    abandoned: &'a [Api],
}

impl Sent<'_> {
    fn contains(&self, api: Api) -> bool {
        self.written.contains(&api) || self.abandoned.contains(&api)
    }
}

/// What the read-back found.
struct ReadBack {
    /// Every planned setting with its state.
    settings: Vec<SettingOutcome>,
    /// `path: expected X, found Y` for each setting a read showing the write
    /// (or, for a surface not written, any read) shows with another value.
    mismatches: Vec<String>,
    /// Settings of written surfaces no read showed yet.
    not_visible: Vec<String>,
    /// Concurrent changes seen on written full-object surfaces.
    concurrent: Vec<Concurrent>,
}

/// One planned setting in one read.
enum Look {
    /// The read shows the planned value.
    Shown,
    /// The read shows this value instead.
    Other(Value),
    /// The surface could not be read.
    Unreadable(String),
}

/// How the read-back ended, for the reason of a setting no read showed.
enum Ended {
    /// Every setting settled, or the tries ran out, after this many reads.
    Tries(usize),
    /// A stop ended it after this many reads.
    Stopped {
        /// Reads made.
        reads: usize,
        /// Why the apply was stopped.
        reason: String,
    },
}

/// The reason of a setting that could not be read back before the deadline.
const NOT_READ_IN_TIME: &str = "interrupted: not read back within the grace period";

/// Reads the tenant back until every planned setting shows its planned value,
/// or the tries run out, or a stop ends it, and says per setting what the last
/// read shows (see the crate docs for when a setting is "not applied").
/// `sent` are the surfaces written successfully or abandoned at a stop;
/// `built_from` the objects the full-object writes were built from, which
/// reads are compared with for lost updates ([`concurrent_in_read`]).
///
/// Once a stop is asked for, the read under way (or, during a pause, one more
/// read) is the last; a read still unanswered at the end of the grace period
/// leaves the last complete read's account, or every setting unknown.
async fn read_back<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
    stop: &Stop,
    sent: &Sent<'_>,
    built_from: &[(Api, Value)],
) -> ReadBack {
    let mut concurrent: Vec<Concurrent> = Vec::new();
    let mut last: Option<(Vec<Look>, Vec<bool>)> = None;
    let mut reads = 0;
    loop {
        let Some(observed) = stop.bounded(provider.read(tenant)).await else {
            let reason = stop.reason().unwrap_or_default();
            return match last {
                Some((looks, seen)) => {
                    let ended = Ended::Stopped { reads, reason };
                    account(tp, sent, &looks, &seen, &ended, concurrent)
                }
                None => ReadBack {
                    settings: every(
                        tp,
                        &SettingState::Unknown {
                            reason: NOT_READ_IN_TIME.to_string(),
                        },
                    ),
                    mismatches: Vec::new(),
                    not_visible: tp
                        .changes
                        .iter()
                        .filter(|c| sent.written.contains(&c.api))
                        .map(|c| c.path.clone())
                        .collect(),
                    concurrent,
                },
            };
        };
        reads += 1;
        let again = ssprctl_plan::plan_tenant(tenant, &observed);
        let looks: Vec<Look> = tp
            .changes
            .iter()
            .map(|c| {
                if let Some(u) = again.unknown.iter().find(|u| u.paths.contains(&c.path)) {
                    Look::Unreadable(u.reason.clone())
                } else if let Some(u) = observed.unreadable.iter().find(|u| u.api == c.api) {
                    Look::Unreadable(u.reason.clone())
                } else if let Some(n) = again.changes.iter().find(|n| n.path == c.path) {
                    Look::Other(n.before.clone())
                } else {
                    Look::Shown
                }
            })
            .collect();
        let seen = requests_seen(tp, sent, &looks);
        concurrent_in_read(tp, tenant, &observed, &looks, built_from, &mut concurrent);
        // Settled: every setting shown, or shown otherwise by a read that
        // shows its request, or unreadable on a surface not sent (a failed
        // write is read once).
        let settled = tp
            .changes
            .iter()
            .zip(&looks)
            .zip(&seen)
            .all(|((c, l), seen)| match l {
                Look::Shown => true,
                Look::Other(_) => *seen && !sent.contains(c.api),
                Look::Unreadable(_) => !sent.contains(c.api),
            });
        if settled || reads > READ_BACK_PAUSES.len() {
            return account(tp, sent, &looks, &seen, &Ended::Tries(reads), concurrent);
        }
        if let Some(reason) = stop.reason() {
            let ended = Ended::Stopped { reads, reason };
            return account(tp, sent, &looks, &seen, &ended, concurrent);
        }
        last = Some((looks, seen));
        // A stop cuts the pause short: one more read, then the account.
        tokio::select! {
            () = tokio::time::sleep(READ_BACK_PAUSES[reads - 1]) => {}
            () = stop.asked() => {}
        }
    }
}

/// Compares a read-back's full-object surfaces that do not show the write
/// yet with the objects the writes were built from, on the settings the file
/// does not manage: a field that moved there was changed between the
/// pre-write read and the write, and the write replaced it (a lost update).
/// A read that shows the write is not compared: what moved there overwrote
/// nothing, and the service's own consequences of the write (the SSPR group
/// is cleared unless `enabledFor` is `selected`) would look like another
/// writer's change.
fn concurrent_in_read(
    tp: &TenantPlan,
    tenant: &Tenant,
    observed: &ObservedTenant,
    looks: &[Look],
    built_from: &[(Api, Value)],
    found: &mut Vec<Concurrent>,
) {
    for (api, base) in built_from {
        let Some(now) = observed.objects.get(api) else {
            continue;
        };
        let visible = tp
            .changes
            .iter()
            .zip(looks)
            .any(|(c, l)| c.api == *api && matches!(l, Look::Shown));
        if visible {
            continue;
        }
        let managed = concurrent::managed_paths(*api, &tenant.settings);
        for change in concurrent::moved(*api, base, now, &managed) {
            let c = Concurrent {
                change,
                seen: Seen::Overwritten,
            };
            if !c.change.managed && !found.contains(&c) {
                found.push(c);
            }
        }
    }
}

/// For each planned setting, whether the read shows its request: a value of
/// the same request is shown. A surface nothing was sent to has no request to
/// wait for: any read of it counts.
fn requests_seen(tp: &TenantPlan, sent: &Sent<'_>, looks: &[Look]) -> Vec<bool> {
    let shown: BTreeSet<&str> = tp
        .changes
        .iter()
        .zip(looks)
        .filter(|(_, l)| matches!(l, Look::Shown))
        .map(|(c, _)| c.path.as_str())
        .collect();
    let mut seen = vec![false; tp.changes.len()];
    for (api, changes) in by_surface(&tp.changes) {
        if !sent.contains(api) {
            for (i, c) in tp.changes.iter().enumerate() {
                if c.api == api {
                    seen[i] = true;
                }
            }
            continue;
        }
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        for group in concurrent::request_groups(api, &paths) {
            if group.iter().any(|p| shown.contains(p.as_str())) {
                for (i, c) in tp.changes.iter().enumerate() {
                    if group.contains(&c.path) {
                        seen[i] = true;
                    }
                }
            }
        }
    }
    seen
}

/// The account of the last read: per setting applied, not applied (only
/// where the read shows the write, see [`requests_seen`]), or unknown.
fn account(
    tp: &TenantPlan,
    sent: &Sent<'_>,
    looks: &[Look],
    seen: &[bool],
    ended: &Ended,
    concurrent: Vec<Concurrent>,
) -> ReadBack {
    let mut back = ReadBack {
        settings: Vec::new(),
        mismatches: Vec::new(),
        not_visible: Vec::new(),
        concurrent,
    };
    for ((c, look), seen) in tp.changes.iter().zip(looks).zip(seen) {
        let written = sent.written.contains(&c.api);
        let state = match look {
            Look::Shown => SettingState::Applied,
            Look::Unreadable(reason) => {
                if written {
                    back.mismatches
                        .push(format!("{}: could not be read back ({reason})", c.path));
                }
                SettingState::Unknown {
                    reason: reason.clone(),
                }
            }
            Look::Other(found) if *seen => {
                if written {
                    back.mismatches
                        .push(format!("{}: expected {}, found {found}", c.path, c.after));
                }
                SettingState::NotApplied
            }
            Look::Other(_) => {
                let reason = if sent.abandoned.contains(&c.api) {
                    format!(
                        "the write was in flight at the interrupt and did not finish in time; no read showed it ({} reads): it may or may not have landed; plan again to see it",
                        match ended {
                            Ended::Tries(reads) | Ended::Stopped { reads, .. } => reads,
                        }
                    )
                } else {
                    back.not_visible.push(c.path.clone());
                    match ended {
                        Ended::Tries(reads) => format!(
                            "written, but no read showed it yet ({reads} reads): reads may lag behind writes; plan again later to see it"
                        ),
                        Ended::Stopped { reads, reason } => format!(
                            "written, but no read showed it yet ({reads} reads, then the read-back was interrupted ({reason})): reads may lag behind writes; plan again later to see it"
                        ),
                    }
                };
                SettingState::Unknown { reason }
            }
        };
        back.settings.push(SettingOutcome {
            path: c.path.clone(),
            state,
        });
    }
    back
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
    use serde_json::json;
    use ssprctl_plan::{Action, Risk};
    use ssprctl_provider::Written;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    fn tenant_plan(changes: Vec<Change>) -> TenantPlan {
        TenantPlan {
            name: "t".into(),
            tenant_id: "x".into(),
            changes,
            ..Default::default()
        }
    }

    fn states(back: &ReadBack) -> Vec<(&str, &str)> {
        outcome_states(&back.settings)
    }

    fn outcome_states(settings: &[SettingOutcome]) -> Vec<(&str, &str)> {
        settings
            .iter()
            .map(|s| {
                let state = match &s.state {
                    SettingState::Applied => "applied",
                    SettingState::NotApplied => "not applied",
                    SettingState::Unknown { .. } => "unknown",
                };
                (s.path.as_str(), state)
            })
            .collect()
    }

    #[test]
    fn not_applied_only_from_a_read_that_shows_the_request() {
        let tp = tenant_plan(vec![
            change(
                Api::PortalPasswordReset,
                "selfServicePasswordReset.methodsRequired",
            ),
            change(
                Api::PortalPasswordReset,
                "selfServicePasswordReset.methods.email",
            ),
            change(
                Api::PortalOnPremises,
                "onPremisesIntegration.passwordWriteback",
            ),
            change(
                Api::PortalOnPremises,
                "onPremisesIntegration.unlockWithoutReset",
            ),
        ]);
        let written = [Api::PortalPasswordReset, Api::PortalOnPremises];
        let sent = Sent {
            written: &written,
            abandoned: &[],
        };
        // The full-object PUT shows one value: the read shows the PUT, the
        // other value did not take. Of the on-premises flags (one PUT each),
        // neither shows: that read may be stale.
        let looks = vec![
            Look::Shown,
            Look::Other(Value::Bool(false)),
            Look::Other(Value::Bool(false)),
            Look::Other(Value::Bool(false)),
        ];
        let seen = requests_seen(&tp, &sent, &looks);
        assert_eq!(seen, vec![true, true, false, false]);
        let back = account(&tp, &sent, &looks, &seen, &Ended::Tries(6), Vec::new());
        assert_eq!(
            states(&back),
            vec![
                ("selfServicePasswordReset.methodsRequired", "applied"),
                ("selfServicePasswordReset.methods.email", "not applied"),
                ("onPremisesIntegration.passwordWriteback", "unknown"),
                ("onPremisesIntegration.unlockWithoutReset", "unknown"),
            ]
        );
        assert_eq!(back.mismatches.len(), 1, "{:?}", back.mismatches);
        assert_eq!(
            back.not_visible,
            vec![
                "onPremisesIntegration.passwordWriteback",
                "onPremisesIntegration.unlockWithoutReset"
            ]
        );
        // One flag shows: its PUT landed; the other flag's PUT is its own.
        let looks = vec![
            Look::Shown,
            Look::Shown,
            Look::Shown,
            Look::Other(Value::Bool(false)),
        ];
        assert_eq!(
            requests_seen(&tp, &sent, &looks),
            vec![true, true, true, false]
        );
    }

    #[test]
    fn a_surface_not_written_is_judged_by_any_read() {
        let tp = tenant_plan(vec![change(
            Api::GraphAuthorizationPolicy,
            "administratorPasswordReset.enabled",
        )]);
        let sent = Sent {
            written: &[],
            abandoned: &[],
        };
        let looks = vec![Look::Other(Value::Bool(true))];
        let seen = requests_seen(&tp, &sent, &looks);
        let back = account(&tp, &sent, &looks, &seen, &Ended::Tries(1), Vec::new());
        assert_eq!(
            states(&back),
            vec![("administratorPasswordReset.enabled", "not applied")]
        );
        assert!(back.mismatches.is_empty() && back.not_visible.is_empty());
    }

    #[test]
    fn an_abandoned_write_is_not_applied_only_from_a_read_that_shows_it() {
        let tp = tenant_plan(vec![change(
            Api::GraphAuthorizationPolicy,
            "administratorPasswordReset.enabled",
        )]);
        let sent = Sent {
            written: &[],
            abandoned: &[Api::GraphAuthorizationPolicy],
        };
        let looks = vec![Look::Other(Value::Bool(true))];
        let seen = requests_seen(&tp, &sent, &looks);
        assert_eq!(seen, vec![false], "it may still land");
        let ended = Ended::Stopped {
            reads: 1,
            reason: "SIGINT".into(),
        };
        let back = account(&tp, &sent, &looks, &seen, &ended, Vec::new());
        assert_eq!(
            states(&back),
            vec![("administratorPasswordReset.enabled", "unknown")]
        );
    }

    /// A provider whose calls are recorded; with `hang`, nothing it is asked
    /// ever answers. Reads show `shows`; a write of the SSPR policy answers
    /// `portal` (kept concurrent changes, or refused with what moved).
    #[derive(Default)]
    struct Fake {
        writes: std::sync::Mutex<Vec<Api>>,
        reads: AtomicUsize,
        hang: bool,
        shows: ObservedTenant,
        portal: Option<Result<Vec<ConcurrentChange>, Vec<ConcurrentChange>>>,
    }

    impl Provider for Fake {
        fn read(&self, _: &Tenant) -> impl Future<Output = ObservedTenant> + Send {
            let hang = self.hang;
            let shows = self.shows.clone();
            self.reads.fetch_add(1, Ordering::SeqCst);
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                shows
            }
        }

        fn write(
            &self,
            _: &Tenant,
            api: Api,
            _: &Value,
            _: Option<&Value>,
        ) -> impl Future<Output = Result<Written, ProviderError>> + Send {
            if let Ok(mut w) = self.writes.lock() {
                w.push(api);
            }
            let hang = self.hang;
            let answer = match (&self.portal, api) {
                (Some(Ok(kept)), Api::PortalPasswordReset) => Ok(Written {
                    concurrent: kept.clone(),
                    built_from: None,
                }),
                (Some(Err(moved)), Api::PortalPasswordReset) => Err(ProviderError::Moved {
                    api,
                    moved: moved.clone(),
                }),
                _ => Ok(Written::default()),
            };
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                answer
            }
        }
    }

    /// Records what a watch is told.
    #[derive(Default)]
    struct Log(std::sync::Mutex<Vec<String>>);

    impl Watch for Log {
        async fn before_write(&self, _: &Tenant, api: Api, _: &[&Change]) -> Result<(), String> {
            if let Ok(mut l) = self.0.lock() {
                l.push(format!("intent {api:?}"));
            }
            Ok(())
        }
        async fn after_write(&self, _: &Tenant, api: Api, result: WriteResult<'_>) {
            let result = match result {
                WriteResult::Ok { concurrent } => format!(
                    "Ok {:?}",
                    concurrent.iter().map(|c| &c.field).collect::<Vec<_>>()
                ),
                WriteResult::Failed(ProviderError::Moved { moved, .. }) => format!(
                    "Moved {:?}",
                    moved.iter().map(|c| &c.field).collect::<Vec<_>>()
                ),
                WriteResult::Failed(e) => format!("Failed {e}"),
                WriteResult::Abandoned => "Abandoned".to_string(),
            };
            if let Ok(mut l) = self.0.lock() {
                l.push(format!("result {api:?} {result}"));
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
            ..Default::default()
        };
        let plan = Plan {
            format_version: String::new(),
            tool_version: String::new(),
            config_digest: String::new(),
            config_path: String::new(),
            created_at: String::new(),
            tenants: vec![tp],
            selection: None,
            merged: None,
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

    fn other_writer(field: &str, managed: bool) -> ConcurrentChange {
        ConcurrentChange {
            api: Api::PortalPasswordReset,
            field: field.into(),
            managed,
            before: json!(true),
            after: json!(false),
        }
    }

    #[tokio::test]
    async fn after_a_stop_no_write_starts_and_nothing_is_read() {
        let (plan, tenants) = two_surface_plan();
        let fake = Fake::default();
        let log = Log::default();
        let stop = Stop::new(Duration::ZERO);
        stop.stop("SIGINT");
        let out = apply_watched(&plan, &tenants, &[], &fake, 4, &log, &stop).await;
        assert!(fake.writes.lock().map(|w| w.is_empty()).unwrap_or(false));
        assert_eq!(fake.reads.load(Ordering::SeqCst), 0);
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
            apply_watched(&plan, &tenants, &[], &fake, 4, &log, &stop),
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

    #[tokio::test]
    async fn a_stop_during_the_read_back_ends_it_unknown_never_not_applied() {
        // Every read is stale: it shows the value from before the write.
        let path = "administratorPasswordReset.enabled";
        let settings = |enabled: bool| -> ssprctl_model::Settings {
            serde_json::from_value(json!({ "administratorPasswordReset": { "enabled": enabled } }))
                .unwrap_or_default()
        };
        let (mut plan, mut tenants) = two_surface_plan();
        plan.tenants[0].changes = vec![change(Api::GraphAuthorizationPolicy, path)];
        tenants[0].settings = settings(false).into();
        let fake = Fake {
            shows: ObservedTenant {
                settings: settings(true),
                ..ObservedTenant::default()
            },
            ..Fake::default()
        };
        let stop = Stop::new(Duration::from_secs(3600));
        let (out, ()) = tokio::join!(
            apply_watched(&plan, &tenants, &[], &fake, 4, &Unwatched, &stop),
            async {
                while fake.reads.load(Ordering::SeqCst) == 0 {
                    tokio::task::yield_now().await;
                }
                stop.stop("SIGINT");
            }
        );
        let reads = fake.reads.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&reads),
            "at most one read after the stop, not the whole back-off: {reads}"
        );
        assert_eq!(outcome_states(&out[0].settings), [(path, "unknown")]);
        match &out[0].settings[0].state {
            SettingState::Unknown { reason } => {
                assert!(reason.contains("interrupted (SIGINT)"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &out[0].error,
            Some(ApplyError::NotVisible { settings }) if settings == &[path]
        ));
    }

    #[tokio::test]
    async fn the_watch_is_told_what_a_write_kept_and_what_refused_it() {
        let (plan, tenants) = two_surface_plan();
        let kept = other_writer("selfServicePasswordReset.notifications.notifyUsers", false);
        let fake = Fake {
            portal: Some(Ok(vec![kept.clone()])),
            ..Fake::default()
        };
        let log = Log::default();
        let stop = Stop::new(Duration::ZERO);
        let out = apply_watched(&plan, &tenants, &[], &fake, 4, &log, &stop).await;
        let lines = log.0.lock().map(|l| l.clone()).unwrap_or_default();
        assert_eq!(
            lines[3],
            "result PortalPasswordReset Ok [\"selfServicePasswordReset.notifications.notifyUsers\"]"
        );
        assert_eq!(
            out[0].concurrent,
            [Concurrent {
                change: kept,
                seen: Seen::BeforeWrite
            }]
        );

        let moved = other_writer("selfServicePasswordReset.methodsRequired", true);
        let fake = Fake {
            portal: Some(Err(vec![moved])),
            ..Fake::default()
        };
        let log = Log::default();
        let out = apply_watched(&plan, &tenants, &[], &fake, 4, &log, &stop).await;
        let lines = log.0.lock().map(|l| l.clone()).unwrap_or_default();
        assert_eq!(
            lines[3],
            "result PortalPasswordReset Moved [\"selfServicePasswordReset.methodsRequired\"]"
        );
        assert!(matches!(
            &out[0].error,
            Some(ApplyError::Moved { api: Api::PortalPasswordReset, moved }) if moved.len() == 1
        ));
        assert_eq!(out[0].written, [Api::GraphAuthenticationMethods]);
    }

    /// A [`Fake`] whose writes to the tenant named `slow` wait until three
    /// other tenants have ended.
    struct Held {
        inner: Fake,
        others_done: tokio::sync::Semaphore,
    }

    impl Provider for Held {
        fn read(&self, tenant: &Tenant) -> impl Future<Output = ObservedTenant> + Send {
            self.inner.read(tenant)
        }

        fn write(
            &self,
            tenant: &Tenant,
            api: Api,
            partial: &Value,
            planned_from: Option<&Value>,
        ) -> impl Future<Output = Result<Written, ProviderError>> + Send {
            let slow = tenant.name == "slow";
            let answer = self.inner.write(tenant, api, partial, planned_from);
            async move {
                if slow {
                    let _held = self.others_done.acquire_many(3).await;
                }
                answer.await
            }
        }
    }

    /// Records the order in which tenants end, and lets the slow one go on
    /// once three others have.
    struct Ends<'a> {
        order: std::sync::Mutex<Vec<String>>,
        others_done: &'a tokio::sync::Semaphore,
    }

    impl Watch for Ends<'_> {
        async fn before_write(&self, _: &Tenant, _: Api, _: &[&Change]) -> Result<(), String> {
            Ok(())
        }
        async fn after_write(&self, _: &Tenant, _: Api, _: WriteResult<'_>) {}
        fn tenant_done(&self, outcome: &TenantOutcome) {
            if let Ok(mut order) = self.order.lock() {
                order.push(outcome.name.clone());
            }
            if outcome.name != "slow" {
                self.others_done.add_permits(1);
            }
        }
    }

    #[tokio::test]
    async fn a_slow_tenant_holds_back_no_other_and_outcomes_keep_plan_order() {
        // Two at a time: `slow` waits for three others to end, which only
        // happens if each freed slot takes the next tenant (in plan order, it
        // would wait for `slow` forever).
        let names = ["slow", "a", "b", "c"];
        let plan = Plan {
            format_version: String::new(),
            tool_version: String::new(),
            config_digest: String::new(),
            config_path: String::new(),
            created_at: String::new(),
            tenants: names
                .iter()
                .map(|name| TenantPlan {
                    name: (*name).into(),
                    ..tenant_plan(vec![change(
                        Api::GraphAuthorizationPolicy,
                        "administratorPasswordReset.enabled",
                    )])
                })
                .collect(),
            selection: None,
            merged: None,
        };
        let tenants: Vec<Tenant> = names
            .iter()
            .enumerate()
            .map(|(index, name)| Tenant {
                name: (*name).into(),
                tenant_id: format!("t{index}"),
                endpoint: ssprctl_model::Endpoint::Local,
                settings: Default::default(),
                credentials: None,
                index,
            })
            .collect();
        let held = Held {
            inner: Fake::default(),
            others_done: tokio::sync::Semaphore::new(0),
        };
        let ends = Ends {
            order: std::sync::Mutex::new(Vec::new()),
            others_done: &held.others_done,
        };
        let stop = Stop::new(Duration::ZERO);
        let out = apply_watched(&plan, &tenants, &[], &held, 2, &ends, &stop).await;
        let order = ends.order.lock().map(|o| o.clone()).unwrap_or_default();
        assert_eq!(order.last().map(String::as_str), Some("slow"), "{order:?}");
        assert_eq!(
            out.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
            names
        );
        assert!(
            out.iter()
                .all(|o| o.written == [Api::GraphAuthorizationPolicy])
        );
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
