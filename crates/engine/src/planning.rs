//! Reading every tenant concurrently and planning, readiness included. `plan`,
//! `apply --config` and the recomputation of a saved plan all come here.

use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::{Arc, PoisonError};

use ssprctl_model::shared::Shared;
use ssprctl_model::{Config, ObservedTenant};
use ssprctl_plan::lint::LintFinding;
use ssprctl_plan::{Plan, PlanMeta, readiness};
use ssprctl_provider::{HttpProvider, Provider};

use crate::TOOL_VERSION;
use crate::progress::{Phase, Progress};

/// Reads every tenant of `config`, up to `parallelism` at a time, and plans,
/// readiness included, telling `progress` of each tenant whose read has
/// finished ([`crate::progress::Phase::Plan`]). `config_path` is recorded in
/// the plan as [`recorded_config_path`] gives it relative to `cwd`.
pub async fn make_plan(
    config: &Arc<Config>,
    config_path: &Path,
    cwd: &Path,
    provider: &Arc<HttpProvider>,
    parallelism: usize,
    progress: &dyn Progress,
) -> Plan {
    let meta = meta(config, &recorded_config_path(config_path, cwd));
    compute(
        config,
        &meta,
        provider,
        parallelism,
        progress,
        Keep::Nothing,
    )
    .await
    .0
}

/// The plan's metadata for `config`, made now.
pub(crate) fn meta(config: &Config, config_path: &str) -> PlanMeta {
    PlanMeta {
        tool_version: TOOL_VERSION.to_string(),
        config_digest: config.digest.clone(),
        config_path: config_path.to_string(),
        created_at: jiff::Timestamp::now().to_string(),
    }
}

/// How a plan records its desired-state file: relative to `cwd` when the file
/// lies inside it (so `apply PLANFILE` run from the same directory finds it),
/// else as given (then `apply` needs `--config`).
pub fn recorded_config_path(path: &Path, cwd: &Path) -> String {
    let plain = |p: &Path| {
        p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    };
    if path.is_relative() && plain(path) {
        return path.display().to_string();
    }
    let (Ok(file), Ok(dir)) = (path.canonicalize(), cwd.canonicalize()) else {
        return path.display().to_string();
    };
    match file.strip_prefix(&dir) {
        Ok(inside) if plain(inside) && !inside.as_os_str().is_empty() => {
            inside.display().to_string()
        }
        _ => path.display().to_string(),
    }
}

/// Whether [`compute`] returns what it read of each tenant (an apply writes
/// from it and compares it; a plan only prints, so each tenant's reads are
/// dropped as soon as it is planned, which keeps a run of thousands small).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Return every tenant's [`ObservedTenant`], in plan order.
    Observed,
    /// Return none.
    Nothing,
}

/// Reads every tenant and plans: the plan, and (with [`Keep::Observed`]) what
/// was read of each tenant, in plan order.
///
/// Each tenant is read, planned, given its readiness figures (a second read,
/// only when the plan changes who may reset or how many methods) and linted
/// in one task of its own (on a runtime with several worker threads,
/// decoding answers, planning and lint use each of them, not only the thread
/// that waits for the whole run), so nothing waits for the slowest tenant and
/// a tenant's reads can be dropped as soon as it is planned.
pub(crate) async fn compute(
    config: &Arc<Config>,
    meta: &PlanMeta,
    provider: &Arc<HttpProvider>,
    parallelism: usize,
    progress: &dyn Progress,
    keep: Keep,
) -> (Plan, Vec<ObservedTenant>) {
    use futures_util::StreamExt;
    progress.start(Phase::Plan, config.tenants.len());
    // Lint of what the plan leaves behind, judged on the day the plan is made.
    let today: Arc<str> = crate::linting::day_of(&meta.created_at).into();
    let interned = Arc::new(Interned::default());
    let sides = Arc::new(ssprctl_plan::DesiredSides::default());
    // Each result goes straight to its tenant's slot: no vector grown by
    // doubling (at 10,000 tenants its spare half and the copy of each
    // regrowth were megabytes at the run's peak) and no reordering copy.
    // The slots start as empty plans (which allocate nothing), so the
    // finished vector is the plan's own: no second vector of every tenant's
    // plan is made at the end of the run, which was the run's peak.
    let n = config.tenants.len();
    let mut plans: Vec<ssprctl_plan::TenantPlan> = Vec::with_capacity(n);
    plans.resize_with(n, ssprctl_plan::TenantPlan::default);
    let mut observed: Vec<Option<Box<ObservedTenant>>> = Vec::new();
    if keep == Keep::Observed {
        observed.resize_with(n, || None);
    }
    futures_util::stream::iter(0..n)
        .map(|index| {
            let task = plan_one(
                Arc::clone(config),
                index,
                Arc::clone(provider),
                Arc::clone(&interned),
                Arc::clone(&sides),
                Arc::clone(&today),
                keep,
            );
            let task = Spawned(tokio::spawn(task));
            async move { (index, task.await) }
        })
        .buffer_unordered(parallelism.max(1))
        .for_each(|(index, (read, planned))| {
            crate::progress::tenant_planned(progress, &planned);
            plans[index] = planned;
            if let Some(slot) = observed.get_mut(index) {
                *slot = read;
            }
            std::future::ready(())
        })
        .await;
    progress.finish();
    // Every slot was filled: each index was given to exactly one task.
    let plan = ssprctl_plan::plan_of(plans, meta);
    (plan, observed.into_iter().flatten().map(|o| *o).collect())
}

/// What one tenant's task gives back: what was read of it (with
/// [`Keep::Observed`]) and its plan.
type Planned = (Option<Box<ObservedTenant>>, ssprctl_plan::TenantPlan);

/// Reads, plans, gives readiness figures to and lints tenant `index` of
/// `config`: one task of [`compute`].
async fn plan_one(
    config: Arc<Config>,
    index: usize,
    provider: Arc<HttpProvider>,
    interned: Arc<Interned>,
    sides: Arc<ssprctl_plan::DesiredSides>,
    today: Arc<str>,
    keep: Keep,
) -> Planned {
    let tenant = &config.tenants[index];
    let observed = provider.read(tenant).await;
    // The lint of what the plan leaves behind does not depend on the
    // readiness figures: planned and linted from one JSON form of the settings.
    let (mut planned, lint) =
        ssprctl_plan::plan_and_lint(&config, tenant, &observed, &today, &sides);
    if readiness::needed(&planned) {
        // The population also gives the findings that need it (licensed seats).
        let groups = readiness::groups_needed(&planned, &observed);
        match provider.population(tenant, &groups).await {
            Ok(population) => {
                planned.readiness = readiness::readiness(&planned, &observed, &population);
                let findings = readiness::findings(&planned, &observed, &population);
                planned.findings.extend(findings);
            }
            Err(e) => planned.readiness = vec![format!("figures unavailable: {e}")],
        }
    }
    planned.lint = interned.intern(lint);
    let observed = match keep {
        Keep::Observed => Some(Box::new(observed)),
        Keep::Nothing => {
            // Done with the tenant: its tokens need not live until the end.
            provider.release(tenant).await;
            None
        }
    };
    (observed, planned)
}

/// A spawned task whose result is awaited like a future: a panic in it
/// resumes in the awaiting task (as if it had run there), and dropping it
/// (the run was given up) aborts the task instead of leaving it running.
struct Spawned<T>(tokio::task::JoinHandle<T>);

impl<T> std::future::Future for Spawned<T> {
    type Output = T;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| match joined {
                Ok(value) => value,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            })
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One shared copy of each distinct lint finding across a run's tenants: a
/// fleet on one baseline has the same few findings in every tenant, and
/// thousands of copies of their texts were most of a large plan's memory.
/// Kept per rule, so that each rule has [`Shared::VARIANTS`] of its own.
#[derive(Default)]
struct Interned(std::sync::Mutex<HashMap<String, Shared<LintFinding>>>);

impl Interned {
    fn intern(&self, findings: Vec<LintFinding>) -> Vec<Arc<LintFinding>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut shared = Vec::with_capacity(findings.len());
        // Pushed one by one: a `collect` would reuse the findings' own (much
        // larger) buffer in place and keep it alive for each tenant.
        shared.extend(findings.into_iter().map(|finding| {
            let variants = match map.get_mut(finding.rule.as_str()) {
                Some(variants) => variants,
                None => map.entry(finding.rule.clone()).or_default(),
            };
            variants.share(finding)
        }));
        shared
    }
}

/// Runs `f` on every item, up to `parallelism` at a time, taking the next
/// item as soon as any one finishes (a slow tenant holds back no other), and
/// returns the results in the items' order.
pub(crate) async fn concurrently<T, R, Fut>(
    items: impl IntoIterator<Item = T>,
    parallelism: usize,
    mut f: impl FnMut(T) -> Fut,
) -> Vec<R>
where
    Fut: std::future::Future<Output = R>,
{
    use futures_util::StreamExt;
    let mut done: Vec<(usize, R)> = futures_util::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let fut = f(item);
            // Boxed: the stream keeps each finished task's slot for as long as
            // a waker of it lives on (a pooled connection, a timer), and a
            // tenant's whole read inline would keep kilobytes per tenant.
            Box::pin(async move { (i, fut.await) })
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(value: serde_json::Value) -> LintFinding {
        LintFinding {
            rule: "SSPR002".into(),
            level: ssprctl_plan::lint::LintLevel::Warning,
            status: ssprctl_plan::lint::LintStatus::Open,
            path: "selfServicePasswordReset.methodsRequired".into(),
            value,
            recommended: ">= 2".into(),
            rationale: "r".into(),
            controls: vec!["EIDSCA AP01".into()],
            location: None,
            exception: None,
        }
    }

    #[test]
    fn equal_lint_findings_of_different_tenants_share_one_copy_and_others_do_not() {
        let interned = Interned::default();
        let a = interned.intern(vec![finding(1.into())]);
        let b = interned.intern(vec![finding(1.into())]);
        let c = interned.intern(vec![finding(0.into())]);
        assert!(Arc::ptr_eq(&a[0], &b[0]));
        assert!(!Arc::ptr_eq(&a[0], &c[0]));
        assert_eq!(*c[0], finding(0.into()));
        // Past the cap, findings are still returned, just not shared.
        for n in 0..(Shared::<LintFinding>::VARIANTS as i64 + 5) {
            let got = interned.intern(vec![finding(json_n(n + 10))]);
            assert_eq!(*got[0], finding(json_n(n + 10)));
        }
    }

    fn json_n(n: i64) -> serde_json::Value {
        serde_json::Value::from(n)
    }

    #[tokio::test]
    async fn a_slow_item_holds_back_no_other_and_the_order_is_kept() {
        use std::sync::Mutex;
        use std::time::Duration;
        let finished = Mutex::new(Vec::new());
        let out = concurrently([300u64, 1, 2, 3], 2, |ms| {
            let finished = &finished;
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                finished.lock().unwrap_or_else(|p| p.into_inner()).push(ms);
                ms * 10
            }
        })
        .await;
        assert_eq!(out, vec![3000, 10, 20, 30]);
        // The others passed the slow first item in its window of two.
        assert_eq!(
            *finished.lock().unwrap_or_else(|p| p.into_inner()),
            vec![1, 2, 3, 300]
        );
    }

    #[test]
    fn a_file_inside_the_work_dir_is_recorded_relative_to_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("sub").join("c.yaml");
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, "version: 1\n").expect("write");
        assert_eq!(
            recorded_config_path(&file, dir.path()),
            Path::new("sub").join("c.yaml").display().to_string()
        );
        assert_eq!(
            recorded_config_path(Path::new("c.yaml"), dir.path()),
            "c.yaml"
        );
        let elsewhere = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            recorded_config_path(&file, elsewhere.path()),
            file.display().to_string(),
            "outside the work dir it stays as given"
        );
    }
}
