//! Applying a saved plan: a reviewed expectation, never an instruction.
//!
//! Nothing in the file is trusted: the desired-state file it names must lie
//! inside the current directory (or be given with `--config`) and have the
//! bytes the plan's digest says; the plan is then recomputed from that file
//! and the live tenants, and the saved plan must equal the recomputed one on
//! its tenants, its changes' (path, before, after) and its `prior` digests.
//! Risk labels, findings and readiness always come from the recomputation,
//! which is also what is applied.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use ssprctl_model::{Config, ObservedTenant};
use ssprctl_plan::{Change, Plan, Selection, TenantPlan};
use ssprctl_provider::HttpProvider;

use crate::planning::{compute, meta};
use crate::select::{Select, select};
use crate::{BeforeAfter, Difference, EngineError, Refusal, TOOL_VERSION};

/// The largest plan file read (`apply`, `show`, `merge`, `report --plan`):
/// plan files are untrusted input. A plan of 10,000 tenants is far below it.
pub const MAX_PLAN_BYTES: u64 = 256 * 1024 * 1024;

/// A plan file, read.
#[derive(Clone, Debug)]
pub struct SavedPlan {
    /// The file as named.
    pub path: PathBuf,
    /// Its contents.
    pub plan: Plan,
}

/// What `apply` works from, checked offline.
#[derive(Clone, Debug)]
pub struct ApplyInputs {
    /// The desired-state file (its digest already checked against a saved
    /// plan), its tenants narrowed to the selection.
    pub config: Arc<Config>,
    /// The tenants selected (`--tenant`, `--shard`, or a saved plan's
    /// selection); `None`: every tenant.
    pub selection: Option<Selection>,
    /// Where it was read from.
    pub config_path: PathBuf,
    /// The saved plan, if one was given.
    pub saved: Option<SavedPlan>,
}

/// Reads a plan file, refusing another major format version and a file
/// larger than [`MAX_PLAN_BYTES`].
pub fn read_plan(path: &Path) -> Result<Plan, EngineError> {
    use std::io::Read;
    let name = path.display().to_string();
    let read_error = |source| EngineError::ReadPlan {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    // The length first (a regular file), then a bounded read (a pipe).
    let too_large = || EngineError::PlanTooLarge {
        path: name.clone(),
        limit: MAX_PLAN_BYTES,
    };
    if file.metadata().is_ok_and(|m| m.len() > MAX_PLAN_BYTES) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_PLAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e.utf8_error(),
        ))
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| EngineError::NotAPlan {
            path: name.clone(),
            source,
        })?;
    let version = value
        .get("format_version")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    let major = |v: &str| v.split('.').next().unwrap_or_default().to_string();
    if major(version) != major(ssprctl_plan::FORMAT_VERSION) {
        return Err(EngineError::PlanFormat {
            path: name,
            found: version.chars().take(32).collect(),
            reads: ssprctl_plan::FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|source| EngineError::NotAPlan { path: name, source })
}

/// The offline part of `apply`: reads the saved plan (if any), checks its tool
/// version, finds the desired-state file (`config`, else the plan's
/// `config_path` if [`config_path_rule`] allows it), checks the file's bytes
/// against the plan's digest BEFORE parsing them, loads it, and narrows it to
/// the selection: `wanted` (`--tenant`, `--shard`) without a saved plan; with
/// one, the plan's own selection (`wanted` must then be empty or the same).
pub fn apply_inputs(
    plan_file: Option<&Path>,
    config: Option<&Path>,
    cwd: &Path,
    wanted: &Select,
) -> Result<ApplyInputs, EngineError> {
    let saved = plan_file
        .map(|path| {
            read_plan(path).map(|plan| SavedPlan {
                path: path.to_path_buf(),
                plan,
            })
        })
        .transpose()?;
    let Some(saved) = saved else {
        let path = config.ok_or(EngineError::NothingToApply)?;
        let (config, selection) = select(ssprctl_model::load_file(path)?, wanted)?;
        return Ok(ApplyInputs {
            config: config.into(),
            selection,
            config_path: path.to_path_buf(),
            saved: None,
        });
    };
    if saved.plan.merged.is_some() {
        return Err(EngineError::MergedPlan {
            path: saved.path.display().to_string(),
        });
    }
    let recorded = saved
        .plan
        .selection
        .as_ref()
        .map(Select::of)
        .unwrap_or_default();
    if !wanted.is_all() && *wanted != recorded {
        return Err(EngineError::SelectionMismatch {
            path: saved.path.display().to_string(),
        });
    }
    if saved.plan.tool_version != TOOL_VERSION {
        return Err(Refusal::ToolVersion {
            plan: saved.plan.tool_version.chars().take(64).collect(),
            this: TOOL_VERSION.to_string(),
        }
        .into());
    }
    let path = match config {
        Some(path) => path.to_path_buf(),
        None => config_path_rule(&saved.plan.config_path, cwd)?,
    };
    let name = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|source| EngineError::ReadConfig {
        path: name.clone(),
        source,
    })?;
    if ssprctl_model::load::sha256_hex(&bytes) != saved.plan.config_digest {
        return Err(Refusal::ConfigChanged { path: name }.into());
    }
    // The digest matched: these are the bytes the plan was made from.
    let text = String::from_utf8_lossy(&bytes);
    let config = ssprctl_model::load_str(&name, &text)?;
    // The plan's selection, recomputed on the file: a forged one selects
    // other tenants, which the comparison with the saved plan refuses.
    let (config, selection) = select(config, &recorded)?;
    Ok(ApplyInputs {
        config: config.into(),
        selection,
        config_path: path,
        saved: Some(saved),
    })
}

/// Where a saved plan's `config_path` may point: a relative path without `..`
/// or a root, that resolves (symlinks followed) inside `cwd`. Returns the
/// resolved path.
pub fn config_path_rule(named: &str, cwd: &Path) -> Result<PathBuf, Refusal> {
    let refuse = |rule: &'static str| Refusal::ConfigOutsideWorkdir {
        path: named.chars().take(256).collect(),
        rule,
    };
    let path = Path::new(named);
    if named.is_empty() {
        return Err(refuse("is empty"));
    }
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(refuse("contains `..`")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("is absolute")),
        }
    }
    let (Ok(dir), Ok(file)) = (cwd.canonicalize(), cwd.join(path).canonicalize()) else {
        return Err(refuse(
            "does not name an existing file in the current directory",
        ));
    };
    if !file.starts_with(&dir) {
        return Err(refuse(
            "resolves (through a symbolic link) outside the current directory",
        ));
    }
    Ok(file)
}

/// The plan to apply and what it was computed from.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The recomputed plan: its risk labels, findings and readiness are the
    /// ones the gates use, and it is what is applied.
    pub plan: Plan,
    /// What was read of each tenant to compute it, in the configuration's
    /// tenant order: each write is checked against it for concurrent changes.
    pub observed: Vec<ObservedTenant>,
}

/// Plans again from the configuration and the live tenants. Without a saved
/// plan that is the plan to apply; with one, the saved plan must equal it
/// (tenants, changes on path/before/after, `prior` digests) or apply is
/// refused naming every difference. The plan returned is always the
/// recomputed one, with the reads it was computed from. `progress` is told of
/// each tenant whose read has finished ([`crate::progress::Phase::Plan`]).
pub async fn prepare_apply(
    inputs: &ApplyInputs,
    cwd: &Path,
    provider: &Arc<HttpProvider>,
    parallelism: usize,
    progress: &dyn crate::progress::Progress,
) -> Result<Prepared, EngineError> {
    let recorded = match &inputs.saved {
        Some(saved) => saved.plan.config_path.clone(),
        None => crate::planning::recorded_config_path(&inputs.config_path, cwd),
    };
    let meta = meta(&inputs.config, &recorded);
    let (mut fresh, observed) = compute(
        &inputs.config,
        &meta,
        provider,
        parallelism,
        progress,
        crate::planning::Keep::Observed,
    )
    .await;
    fresh.selection = inputs.selection.clone();
    if let Some(saved) = &inputs.saved {
        compare(&saved.plan, &fresh, &observed)?;
    }
    Ok(Prepared {
        plan: fresh,
        observed,
    })
}

/// Requires the saved plan to equal the recomputed one; see [`prepare_apply`].
pub(crate) fn compare(
    saved: &Plan,
    fresh: &Plan,
    observed: &[ObservedTenant],
) -> Result<(), Refusal> {
    let mut differences = Vec::new();
    let mut moved = Vec::new();
    let same = |a: &TenantPlan, b: &TenantPlan| a.name == b.name && a.tenant_id == b.tenant_id;
    for tp in &saved.tenants {
        if !fresh.tenants.iter().any(|f| same(f, tp)) {
            differences.push(Difference::TenantNotInConfig {
                name: tp.name.clone(),
                tenant_id: tp.tenant_id.clone(),
            });
        }
    }
    // A tenant named twice in the plan is one too many.
    for (i, tp) in saved.tenants.iter().enumerate() {
        if saved.tenants[..i].iter().any(|t| same(t, tp)) {
            differences.push(Difference::TenantNotInConfig {
                name: tp.name.clone(),
                tenant_id: tp.tenant_id.clone(),
            });
        }
    }
    for (fp, seen) in fresh.tenants.iter().zip(observed) {
        let Some(sp) = saved.tenants.iter().find(|s| same(s, fp)) else {
            differences.push(Difference::TenantNotInPlan {
                name: fp.name.clone(),
                tenant_id: fp.tenant_id.clone(),
            });
            continue;
        };
        differences.extend(change_differences(sp, fp));
        moved.extend(moved_surfaces(sp, fp, seen));
    }
    if !moved.is_empty() {
        Err(Refusal::Stale { moved, differences })
    } else if !differences.is_empty() {
        Err(Refusal::PlanEdited { differences })
    } else {
        Ok(())
    }
}

/// The changes of one tenant that differ on (path, before, after), in any order.
fn change_differences(saved: &TenantPlan, fresh: &TenantPlan) -> Vec<Difference> {
    let pair = |c: &Change| {
        Box::new(BeforeAfter {
            before: c.before.clone(),
            after: c.after.clone(),
        })
    };
    let mut left: Vec<&Change> = saved.changes.iter().collect();
    let mut out = Vec::new();
    for f in &fresh.changes {
        let planned = left
            .iter()
            .position(|s| s.path == f.path)
            .map(|i| left.remove(i));
        if planned.is_some_and(|s| s.before == f.before && s.after == f.after) {
            continue;
        }
        out.push(Difference::Change {
            tenant: fresh.name.clone(),
            path: f.path.clone(),
            planned: planned.map(pair),
            recomputed: Some(pair(f)),
        });
    }
    for s in left {
        out.push(Difference::Change {
            tenant: fresh.name.clone(),
            path: s.path.clone(),
            planned: Some(pair(s)),
            recomputed: None,
        });
    }
    out
}

/// The live objects whose digest differs from the saved plan's `prior`, each
/// with what moved in the settings it serves.
fn moved_surfaces(saved: &TenantPlan, fresh: &TenantPlan, seen: &ObservedTenant) -> Vec<String> {
    let mut moved = Vec::new();
    for (api, digest) in &saved.prior {
        match fresh.prior.get(api) {
            None => moved.push(format!(
                "{}: {} could not be read again",
                saved.name,
                api.label()
            )),
            Some(now) if now != digest => {
                let mut what = Vec::new();
                for c in saved.changes.iter().filter(|c| c.api == *api) {
                    let live = ssprctl_plan::observed_value(seen, &c.path);
                    if live != c.before {
                        what.push(format!(
                            "{} was {} when planned, is now {}",
                            c.path, c.before, live
                        ));
                    }
                }
                for n in fresh.changes.iter().filter(|n| n.api == *api) {
                    if !saved.changes.iter().any(|c| c.path == n.path) {
                        what.push(format!("{} now differs too (live {})", n.path, n.before));
                    }
                }
                let detail = if what.is_empty() {
                    "in settings ssprctl does not manage (or the plan's digest was edited)"
                        .to_string()
                } else {
                    what.join(", ")
                };
                moved.push(format!(
                    "{}: {} changed since the plan was made: {detail}",
                    saved.name,
                    api.label()
                ));
            }
            Some(_) => {}
        }
    }
    for api in fresh.prior.keys() {
        if !saved.prior.contains_key(api) {
            moved.push(format!(
                "{}: {} is read now but has no digest in the plan",
                saved.name,
                api.label()
            ));
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ssprctl_model::Api;
    use ssprctl_plan::{Action, Risk};

    fn change(path: &str, before: serde_json::Value, after: serde_json::Value) -> Change {
        Change {
            path: path.into(),
            api: Api::PortalPasswordReset,
            action: Action::Update,
            before,
            after,
            risk: Risk::Neutral,
            reason: String::new(),
            control: None,
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: ssprctl_plan::FORMAT_VERSION.into(),
            tool_version: TOOL_VERSION.into(),
            config_digest: "d".into(),
            config_path: "c.yaml".into(),
            created_at: String::new(),
            tenants: vec![TenantPlan {
                name: "contoso".into(),
                tenant_id: "t1".into(),
                changes,
                prior: [(Api::PortalPasswordReset, ssprctl_model::Digest([0xa; 32]))].into(),
                ..Default::default()
            }],
            selection: None,
            merged: None,
        }
    }

    fn two() -> Vec<Change> {
        vec![
            change("s.methodsRequired", json!(1), json!(2)),
            change("s.registration", json!(180), json!(30)),
        ]
    }

    #[test]
    fn equal_plans_pass_in_any_order_whatever_their_labels() {
        let fresh = plan(two());
        let mut saved = plan(two().into_iter().rev().collect());
        saved.tenants[0].changes[0].risk = Risk::Strengthening;
        saved.tenants[0].changes[0].reason = "edited".into();
        saved.tenants[0].findings.clear();
        saved.created_at = "another time".into();
        assert_eq!(compare(&saved, &fresh, &[Default::default()]), Ok(()));
    }

    #[test]
    fn lint_findings_are_recomputed_not_compared() {
        let fresh = plan(two());
        let mut saved = plan(two());
        saved.tenants[0]
            .lint
            .push(std::sync::Arc::new(ssprctl_plan::lint::LintFinding {
                rule: "SSPR002".into(),
                level: ssprctl_plan::lint::LintLevel::Error,
                status: ssprctl_plan::lint::LintStatus::Open,
                path: "selfServicePasswordReset.methodsRequired".into(),
                value: json!(1),
                recommended: ">= 2".into(),
                rationale: "edited".into(),
                controls: Vec::new(),
                location: None,
                exception: None,
            }));
        assert_eq!(compare(&saved, &fresh, &[Default::default()]), Ok(()));
    }

    #[test]
    fn an_edited_value_or_an_extra_change_is_named() {
        let fresh = plan(two());
        let mut saved = plan(two());
        saved.tenants[0].changes[0].after = json!(1);
        saved.tenants[0].changes.push(two().remove(1));
        let Err(Refusal::PlanEdited { differences }) =
            compare(&saved, &fresh, &[Default::default()])
        else {
            panic!("refused as edited")
        };
        let lines: Vec<String> = differences.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "tenant contoso: s.methodsRequired: the plan says 1 -> 1, the configuration and live tenant give 1 -> 2",
                "tenant contoso: s.registration: the plan says 180 -> 30, the configuration and live tenant give no change",
            ]
        );
    }

    #[test]
    fn a_different_prior_digest_is_stale() {
        let fresh = plan(two());
        let mut saved = plan(two());
        saved.tenants[0]
            .prior
            .insert(Api::PortalPasswordReset, ssprctl_model::Digest([0xb; 32]));
        assert!(matches!(
            compare(&saved, &fresh, &[Default::default()]),
            Err(Refusal::Stale { moved, differences }) if moved.len() == 1 && differences.is_empty()
        ));
    }

    #[test]
    fn a_tenant_named_twice_or_renamed_is_named() {
        let fresh = plan(two());
        let mut saved = plan(two());
        let copy = saved.tenants[0].clone();
        saved.tenants.push(copy);
        assert!(matches!(
            compare(&saved, &fresh, &[Default::default()]),
            Err(Refusal::PlanEdited { differences }) if differences.len() == 1
        ));
        let mut renamed = plan(two());
        renamed.tenants[0].tenant_id = "t2".into();
        assert!(matches!(
            compare(&renamed, &fresh, &[Default::default()]),
            Err(Refusal::PlanEdited { differences }) if differences.len() == 2
        ));
    }

    #[test]
    fn config_path_must_be_relative_plain_and_inside_the_work_dir() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("c.yaml"), "version: 1\n").expect("write");
        assert!(config_path_rule("c.yaml", dir.path()).is_ok());
        assert!(config_path_rule("./c.yaml", dir.path()).is_ok());
        for (named, rule) in [
            ("/etc/passwd", "is absolute"),
            ("../c.yaml", "contains `..`"),
            ("sub/../c.yaml", "contains `..`"),
            ("", "is empty"),
            (
                "missing.yaml",
                "does not name an existing file in the current directory",
            ),
        ] {
            match config_path_rule(named, dir.path()) {
                Err(Refusal::ConfigOutsideWorkdir { rule: got, .. }) => {
                    assert_eq!(got, rule, "{named}")
                }
                other => panic!("{named}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_plan_file_over_the_limit_is_not_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.json");
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(MAX_PLAN_BYTES + 1).expect("sparse file");
        assert!(matches!(
            read_plan(&path),
            Err(EngineError::PlanTooLarge {
                limit: MAX_PLAN_BYTES,
                ..
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_work_dir_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::write(outside.path().join("secret"), "x\n").expect("write");
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("c.yaml"))
            .expect("symlink");
        assert!(matches!(
            config_path_rule("c.yaml", dir.path()),
            Err(Refusal::ConfigOutsideWorkdir { .. })
        ));
    }
}
