//! The reverse of a journaled apply.
//!
//! A rollback is planned as a desired state: for each setting the journaled
//! apply wrote, its prior value, for the tenants of the configuration (which
//! gives endpoints and credentials; the journal names no file that is
//! opened). That desired state is an ordinary desired-state file's text, so
//! the rollback goes through the same plan, gates, confirmation, journal and
//! saved-plan recomputation as any apply.
//!
//! Which settings: those the account says were applied; and, when the account
//! says unknown (or there is none: the apply was killed outright), those whose
//! write was started. Before anything is planned every one of them is read
//! live: if it no longer has the value the apply wrote (someone changed it
//! since), the rollback is refused naming each, unless it already has its
//! prior value (then there is nothing to undo for it).

use serde_json::Value;
use ssprctl_model::{Config, ConfigFile, Settings, Tenant};
use ssprctl_provider::{HttpProvider, Provider};

use crate::journal::{JournalError, JournalRead, State};
use crate::{EngineError, Refusal};

/// What a rollback will do.
#[derive(Clone, Debug)]
pub struct Rollback {
    /// The desired-state text to apply (`None`: nothing to roll back).
    pub desired: Option<String>,
    /// Settings left as they are, one line each (`tenant: path: why`).
    pub notes: Vec<String>,
}

/// Why a setting of the journal is or is not part of the rollback.
enum Candidate {
    /// The account says its value was applied: it must still be live.
    Applied,
    /// Its write was started but the account does not say it landed.
    Maybe,
}

/// Plans the reverse of `journal` against the live tenants of `config`
/// (read up to `parallelism` at a time): the desired-state text restoring each
/// written setting, or a [`Refusal::ChangedSince`] naming every setting that
/// no longer has the value the apply wrote.
pub async fn prepare(
    journal: &JournalRead,
    config: &Config,
    provider: &HttpProvider,
    parallelism: usize,
) -> Result<Rollback, EngineError> {
    let invalid = |problem: String| JournalError::Invalid {
        path: "the journal".into(),
        line: 1,
        problem: ssprctl_model::text::escape_controls(&problem),
    };
    let mut notes = Vec::new();
    // Per tenant of the journal: the configuration's tenant and the settings
    // to check, with their recorded values.
    let mut work = Vec::new();
    for st in &journal.start.tenants {
        let Some(tenant) = config
            .tenants
            .iter()
            .find(|t| t.name == st.name && t.tenant_id.eq_ignore_ascii_case(&st.tenant_id))
        else {
            return Err(EngineError::RollbackTenant {
                name: st.name.clone(),
                tenant_id: st.tenant_id.clone(),
            });
        };
        let account = journal
            .account
            .as_ref()
            .and_then(|a| a.tenants.iter().find(|t| t.name == st.name));
        let mut candidates = Vec::new();
        for p in &st.settings {
            let state = account
                .and_then(|a| a.settings.iter().find(|s| s.path == p.path))
                .map(|s| s.state);
            let started = journal.intended.contains(&(st.name.clone(), p.api));
            let candidate = match state {
                Some(State::Applied) => Candidate::Applied,
                Some(State::NotApplied) => continue,
                Some(State::Unknown) | None if started => Candidate::Maybe,
                Some(State::Unknown) | None => continue,
            };
            candidates.push((p, candidate));
        }
        if candidates.is_empty() {
            continue;
        }
        let with = |pick: fn(&crate::journal::Prior) -> &Value| -> Result<Tenant, JournalError> {
            let mut tree = Value::Object(serde_json::Map::new());
            for (p, _) in &candidates {
                let v = pick(p);
                if !v.is_null() {
                    ssprctl_provider::wire::set_dotted(&mut tree, &p.path, v.clone());
                }
            }
            let settings: Settings = serde_json::from_value(tree)
                .map_err(|e| invalid(format!("tenant {}: {e}", st.name)))?;
            Ok(Tenant {
                settings: settings.into(),
                ..tenant.clone()
            })
        };
        let wrote = with(|p| &p.after)?;
        let prior = with(|p| &p.before)?;
        work.push((st, tenant, candidates, wrote, prior));
    }

    let observed: Vec<_> =
        crate::planning::concurrently(&work, parallelism, |(_, _, _, wrote, _)| {
            provider.read(wrote)
        })
        .await;

    let mut changed = Vec::new();
    let mut restore = Vec::new();
    for ((st, tenant, candidates, wrote, prior), seen) in work.iter().zip(&observed) {
        let vs_wrote = ssprctl_plan::plan_tenant(wrote, seen);
        let vs_prior = ssprctl_plan::plan_tenant(prior, seen);
        let mut tree = Value::Object(serde_json::Map::new());
        let mut any = false;
        for (p, candidate) in candidates {
            let live = ssprctl_plan::observed_value(seen, &p.path);
            if let Some(u) = vs_wrote.unknown.iter().find(|u| u.paths.contains(&p.path)) {
                changed.push(format!(
                    "{}: {}: could not be read ({}), so it cannot be checked",
                    st.name, p.path, u.reason
                ));
                continue;
            }
            let still_written = !vs_wrote.changes.iter().any(|c| c.path == p.path);
            let at_prior = if p.before.is_null() {
                live.is_null()
            } else {
                !vs_prior.changes.iter().any(|c| c.path == p.path)
            };
            if still_written && !at_prior {
                if p.before.is_null() {
                    notes.push(format!(
                        "{}: {}: had no value before the apply; it cannot be restored",
                        st.name, p.path
                    ));
                } else {
                    ssprctl_provider::wire::set_dotted(&mut tree, &p.path, p.before.clone());
                    any = true;
                }
            } else if at_prior {
                notes.push(format!(
                    "{}: {}: already has its value from before the apply",
                    st.name, p.path
                ));
            } else {
                let how = match candidate {
                    Candidate::Applied => "the apply wrote",
                    Candidate::Maybe => "the apply may have written",
                };
                changed.push(format!(
                    "{}: {}: {how} {}, it is now {live} (before the apply: {})",
                    st.name, p.path, p.after, p.before
                ));
            }
        }
        if any {
            restore.push((*tenant, tree));
        }
    }
    if !changed.is_empty() {
        return Err(Refusal::ChangedSince { settings: changed }.into());
    }
    if restore.is_empty() {
        return Ok(Rollback {
            desired: None,
            notes,
        });
    }
    let mut entries = Vec::new();
    for (tenant, tree) in restore {
        let Some(entry) = config.file.tenants.get(tenant.index) else {
            continue;
        };
        let settings: Settings =
            serde_json::from_value(tree).map_err(|e| invalid(format!("{}: {e}", tenant.name)))?;
        entries.push(ssprctl_model::TenantEntry {
            settings: settings.into(),
            ..entry.clone()
        });
    }
    let file = ConfigFile {
        version: ssprctl_model::config::FORMAT_VERSION,
        baseline: Settings::default(),
        // The file's accepted exceptions still say what is accepted (lint only).
        exceptions: config.file.exceptions.clone(),
        tenants: entries,
    };
    let body = serde_json::to_string_pretty(&file).map_err(|e| invalid(e.to_string()))?;
    let id: String = journal
        .start
        .id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    Ok(Rollback {
        desired: Some(format!(
            "# Desired state of `ssprctl rollback` of journal {id}: each setting that\n\
             # apply wrote, with its value from before it. Made by ssprctl {}.\n{body}\n",
            crate::TOOL_VERSION
        )),
        notes,
    })
}
