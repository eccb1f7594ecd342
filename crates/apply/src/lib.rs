//! ssprctl's applier: executes a [`Plan`] through a [`Provider`].
//!
//! For each tenant it writes the planned values surface by surface, in the
//! plan's order, then reads the tenant back and verifies that every planned
//! setting now has its planned value. It acts only on the plan's contents: it
//! makes no choices of its own (STYLE.md §2, rule 3).
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

use std::collections::BTreeSet;
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
    /// shows another value.
    NotApplied,
    /// The setting could not be read back, or no read showed the write yet.
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
    /// The writes were accepted but no read showed some of them within the
    /// tries: their state is unknown, not "not applied".
    #[error("written, but not visible when read back yet: {}", .settings.join(", "))]
    NotVisible {
        /// The settings not seen.
        settings: Vec<String>,
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

/// Applies every tenant's changes, up to `parallelism` tenants at a time (each
/// tenant's surfaces in order, then its read-back). `observed` is what the
/// plan was computed from, in the order of `tenants` (it may be shorter: a
/// tenant without it is written without the lost-update check). Tenants
/// without changes are skipped. Outcomes come back in plan order.
pub async fn apply<P: Provider>(
    plan: &Plan,
    tenants: &[Tenant],
    observed: &[ObservedTenant],
    provider: &P,
    parallelism: usize,
) -> Vec<TenantOutcome> {
    use futures_util::StreamExt;
    futures_util::stream::iter(plan.tenants.iter().filter(|t| !t.changes.is_empty()))
        .map(|tp| async move {
            match tenants.iter().position(|t| t.name == tp.name) {
                Some(i) => apply_tenant(tp, &tenants[i], observed.get(i), provider).await,
                None => TenantOutcome {
                    name: tp.name.clone(),
                    written: Vec::new(),
                    settings: every(tp, &SettingState::NotApplied),
                    concurrent: Vec::new(),
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

/// What one lane wrote, and how it stopped.
#[derive(Default)]
struct Lane {
    written: Vec<Api>,
    built_from: Vec<(Api, Value)>,
    concurrent: Vec<ConcurrentChange>,
    failure: Option<(Vec<String>, ProviderError)>,
}

async fn apply_tenant<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    basis: Option<&ObservedTenant>,
    provider: &P,
) -> TenantOutcome {
    // Independent surfaces are written at the same time; a lane's surfaces one
    // after another (see `lanes`). A lane stops at its first failure.
    let results = futures_util::future::join_all(lanes(by_surface(&tp.changes)).into_iter().map(
        |lane| async move {
            let mut out = Lane::default();
            for (api, changes) in lane {
                let partial = partial_section(api, &changes);
                let planned_from = basis.and_then(|o| o.objects.get(&api));
                match provider.write(tenant, api, &partial, planned_from).await {
                    Ok(w) => {
                        out.written.push(api);
                        out.concurrent.extend(w.concurrent);
                        if let Some(object) = w.built_from {
                            out.built_from.push((api, object));
                        }
                    }
                    Err(source) => {
                        let settings = changes.iter().map(|c| c.path.clone()).collect();
                        out.failure = Some((settings, source));
                        return out;
                    }
                }
            }
            out
        },
    ))
    .await;
    let mut written = Vec::new();
    let mut built_from = Vec::new();
    let mut concurrent: Vec<Concurrent> = Vec::new();
    let mut failure = None;
    for lane in results {
        written.extend(lane.written);
        built_from.extend(lane.built_from);
        concurrent.extend(lane.concurrent.into_iter().map(|change| Concurrent {
            change,
            seen: Seen::BeforeWrite,
        }));
        if failure.is_none() {
            failure = lane.failure;
        }
    }
    let back = read_back(tp, tenant, provider, &written, &built_from).await;
    for c in back.concurrent {
        if !concurrent.contains(&c) {
            concurrent.push(c);
        }
    }
    let error = match failure {
        Some((_, ProviderError::Moved { api, moved })) => Some(ApplyError::Moved { api, moved }),
        Some((settings, source)) => Some(ApplyError::Write { settings, source }),
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

/// Reads the tenant back until every planned setting shows its planned value,
/// or the tries run out, and says per setting what the last read shows (see
/// the crate docs for when a setting is "not applied"). `written` are the
/// surfaces written successfully; `built_from` the objects their full-object
/// writes were built from, which reads are compared with for lost updates
/// ([`concurrent_in_read`]).
async fn read_back<P: Provider>(
    tp: &TenantPlan,
    tenant: &Tenant,
    provider: &P,
    written: &[Api],
    built_from: &[(Api, Value)],
) -> ReadBack {
    let mut concurrent: Vec<Concurrent> = Vec::new();
    let mut attempt = 0;
    loop {
        let observed = provider.read(tenant).await;
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
        let seen = requests_seen(tp, written, &looks);
        concurrent_in_read(tp, tenant, &observed, &looks, built_from, &mut concurrent);
        // Settled: every setting shown, or shown otherwise by a read that
        // shows its request, or unreadable on a surface not written (a failed
        // write is read once).
        let settled = tp
            .changes
            .iter()
            .zip(&looks)
            .zip(&seen)
            .all(|((c, l), seen)| match l {
                Look::Shown => true,
                Look::Other(_) => *seen && !written.contains(&c.api),
                Look::Unreadable(_) => !written.contains(&c.api),
            });
        if settled || attempt >= READ_BACK_PAUSES.len() {
            return account(tp, written, &looks, &seen, attempt + 1, concurrent);
        }
        tokio::time::sleep(READ_BACK_PAUSES[attempt]).await;
        attempt += 1;
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
/// the same request is shown. A surface not written has no request to wait
/// for: any read of it counts.
fn requests_seen(tp: &TenantPlan, written: &[Api], looks: &[Look]) -> Vec<bool> {
    let shown: BTreeSet<&str> = tp
        .changes
        .iter()
        .zip(looks)
        .filter(|(_, l)| matches!(l, Look::Shown))
        .map(|(c, _)| c.path.as_str())
        .collect();
    let mut seen = vec![false; tp.changes.len()];
    for (api, changes) in by_surface(&tp.changes) {
        if !written.contains(&api) {
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
    written: &[Api],
    looks: &[Look],
    seen: &[bool],
    reads: usize,
    concurrent: Vec<Concurrent>,
) -> ReadBack {
    let mut back = ReadBack {
        settings: Vec::new(),
        mismatches: Vec::new(),
        not_visible: Vec::new(),
        concurrent,
    };
    for ((c, look), seen) in tp.changes.iter().zip(looks).zip(seen) {
        let state = match look {
            Look::Shown => SettingState::Applied,
            Look::Unreadable(reason) => {
                if written.contains(&c.api) {
                    back.mismatches
                        .push(format!("{}: could not be read back ({reason})", c.path));
                }
                SettingState::Unknown {
                    reason: reason.clone(),
                }
            }
            Look::Other(found) if *seen => {
                if written.contains(&c.api) {
                    back.mismatches
                        .push(format!("{}: expected {}, found {found}", c.path, c.after));
                }
                SettingState::NotApplied
            }
            Look::Other(_) => {
                back.not_visible.push(c.path.clone());
                SettingState::Unknown {
                    reason: format!(
                        "written, but no read showed it yet ({reads} reads): reads may lag behind writes; plan again later to see it"
                    ),
                }
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

    fn tenant_plan(changes: Vec<Change>) -> TenantPlan {
        TenantPlan {
            name: "t".into(),
            tenant_id: "x".into(),
            changes,
            unknown: vec![],
            findings: vec![],
            readiness: vec![],
            unchanged: 0,
            unmanaged: 0,
            prior: Default::default(),
        }
    }

    fn states(back: &ReadBack) -> Vec<(&str, &str)> {
        back.settings
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
        // The full-object PUT shows one value: the read shows the PUT, the
        // other value did not take. Of the on-premises flags (one PUT each),
        // neither shows: that read may be stale.
        let looks = vec![
            Look::Shown,
            Look::Other(Value::Bool(false)),
            Look::Other(Value::Bool(false)),
            Look::Other(Value::Bool(false)),
        ];
        let seen = requests_seen(&tp, &written, &looks);
        assert_eq!(seen, vec![true, true, false, false]);
        let back = account(&tp, &written, &looks, &seen, 6, Vec::new());
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
            requests_seen(&tp, &written, &looks),
            vec![true, true, true, false]
        );
    }

    #[test]
    fn a_surface_not_written_is_judged_by_any_read() {
        let tp = tenant_plan(vec![change(
            Api::GraphAuthorizationPolicy,
            "administratorPasswordReset.enabled",
        )]);
        let looks = vec![Look::Other(Value::Bool(true))];
        let seen = requests_seen(&tp, &[], &looks);
        let back = account(&tp, &[], &looks, &seen, 1, Vec::new());
        assert_eq!(
            states(&back),
            vec![("administratorPasswordReset.enabled", "not applied")]
        );
        assert!(back.mismatches.is_empty() && back.not_visible.is_empty());
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
