//! Refusals: a safety gate said no, and nothing was written.

use serde_json::Value;

/// Why apply refused. Nothing was written to any tenant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The saved plan differs from the plan recomputed from the configuration
    /// and the live tenants, though nothing the plan read has moved: it was
    /// edited (or made from other inputs).
    #[error(
        "the plan does not match what the configuration and the live tenants give now (was the file edited?)"
    )]
    PlanEdited {
        /// Each difference.
        differences: Vec<Difference>,
    },
    /// A live object the plan read has moved since (or its digest in the plan
    /// was edited).
    #[error("the plan is stale: the live settings moved since it was made")]
    Stale {
        /// One line per moved object, naming tenant, API and settings.
        moved: Vec<String>,
        /// The differences of the changes that follow from it.
        differences: Vec<Difference>,
    },
    /// The plan was made by another ssprctl version.
    #[error("it was made by ssprctl {plan}, this is {this}; plan again")]
    ToolVersion {
        /// The plan's `tool_version`.
        plan: String,
        /// This version.
        this: String,
    },
    /// The desired-state file's bytes differ from the plan's `config_digest`.
    #[error("the desired-state file changed since the plan was made; plan again")]
    ConfigChanged {
        /// The file that was checked.
        path: String,
    },
    /// The plan's `config_path` is not a file inside the current directory.
    #[error(
        "the plan's config_path {path:?} {rule}; a saved plan may only name a relative path inside the current directory without `..` (or pass --config FILE)"
    )]
    ConfigOutsideWorkdir {
        /// The `config_path` as written in the plan (shown escaped).
        path: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The plan has weakening changes and `--allow-weakening` was not given.
    #[error(
        "the plan has {count} weakening change{} (marked above); nothing was applied. Pass --allow-weakening to apply them.",
        if *.count == 1 { "" } else { "s" }
    )]
    Weakening {
        /// How many.
        count: usize,
    },
    /// A preflight finding of severity `error` forbids applying.
    #[error("the plan has errors (above); nothing was applied.")]
    BlockingFindings {
        /// How many.
        count: usize,
    },
    /// There is no terminal to confirm on and `--auto-approve` was not given.
    #[error("apply needs confirmation: run it on a terminal, or pass --auto-approve.")]
    NeedsConfirmation,
    /// The person at the terminal did not answer "yes".
    #[error("apply cancelled; nothing was changed.")]
    Declined,
    /// A rollback: settings no longer have the value the journaled apply
    /// wrote (someone changed them since), or cannot be read to tell.
    #[error(
        "refusing to roll back: {} setting{} changed since the apply (or cannot be read); nothing was written",
        .settings.len(),
        if .settings.len() == 1 { "" } else { "s" }
    )]
    ChangedSince {
        /// One line per setting: tenant, path, what the apply wrote, what is live.
        settings: Vec<String>,
    },
    /// The emulator was asked to listen beyond loopback.
    #[error("the emulator listens on loopback only; {address} is not a loopback address")]
    NotLoopback {
        /// The address asked for.
        address: String,
    },
}

/// One way a saved plan differs from the recomputed one.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// The plan names a tenant the configuration does not have (by name and id).
    TenantNotInConfig {
        /// The name in the plan.
        name: String,
        /// The tenant id in the plan.
        tenant_id: String,
    },
    /// The configuration has a tenant the plan does not name.
    TenantNotInPlan {
        /// The name in the configuration.
        name: String,
        /// The tenant id in the configuration.
        tenant_id: String,
    },
    /// A change differs on (path, before, after), or is in one plan only.
    Change {
        /// The tenant.
        tenant: String,
        /// The setting.
        path: String,
        /// The change in the saved plan; `None`: no such change there.
        planned: Option<Box<BeforeAfter>>,
        /// The change recomputed; `None`: no such change now.
        recomputed: Option<Box<BeforeAfter>>,
    },
}

/// The compared values of a change.
#[derive(Debug, Clone, PartialEq)]
pub struct BeforeAfter {
    /// The live value.
    pub before: Value,
    /// The value to write.
    pub after: Value,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |c: &Option<Box<BeforeAfter>>| match c {
            Some(c) => format!("{} -> {}", c.before, c.after),
            None => "no change".to_string(),
        };
        match self {
            Difference::TenantNotInConfig { name, tenant_id } => write!(
                f,
                "tenant {name} ({tenant_id}) is in the plan but not in the configuration"
            ),
            Difference::TenantNotInPlan { name, tenant_id } => write!(
                f,
                "tenant {name} ({tenant_id}) is in the configuration but not in the plan"
            ),
            Difference::Change {
                tenant,
                path,
                planned,
                recomputed,
            } => match planned {
                Some(_) => write!(
                    f,
                    "tenant {tenant}: {path}: the plan says {}, the configuration and live tenant give {}",
                    side(planned),
                    side(recomputed)
                ),
                None => write!(
                    f,
                    "tenant {tenant}: {path}: the plan has no change, the configuration and live tenant give {}",
                    side(recomputed)
                ),
            },
        }
    }
}
