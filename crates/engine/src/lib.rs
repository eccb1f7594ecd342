//! ssprctl's engine: everything between the command line and the views.
//!
//! - [`session`]: the provider for a file's tenants (credentials, the
//!   in-process emulator for `endpoint: local`).
//! - [`planning`]: reading every tenant concurrently, planning, readiness.
//! - [`saved`]: applying a saved plan safely: the file it names, its digest,
//!   and the plan recomputed from the configuration and the live tenants and
//!   compared with the saved one. A saved plan is a reviewed expectation, never
//!   an instruction.
//! - [`applying`]: the gates (blocking findings, weakening changes) and the
//!   apply itself, with a typed report per planned setting.
//! - [`doctor`]: the checks of `doctor` and the sign-in of `login`.
//! - [`export`]: live tenants as a desired-state file (`export`).
//! - [`journal`]: the journal of every apply (prior values, each write's
//!   intent and result, the final account), and reading one back.
//! - [`rollback`]: the reverse of a journaled apply, as a desired state that
//!   goes through the same gates as any apply.
//! - [`linting`]: `lint`, offline or against the live tenants.
//! - [`select`]: the tenants a command works on (`--tenant`, `--shard`).
//! - [`merge`]: several plans (the shards of one) as one plan, for reading.
//! - [`report`]: registration coverage and self-service password reset usage
//!   per tenant (`report`), as one serialisable value.
//!
//! The engine never prints and never exits: it returns values ([`Refusal`],
//! [`ApplyReport`], …) that the binary renders and maps to exit codes.
//! Interactive confirmation stays in the binary.
#![deny(missing_docs)]

pub mod applying;
pub mod doctor;
pub mod export;
pub mod journal;
pub mod linting;
pub mod merge;
pub mod planning;
pub mod progress;
pub mod report;
pub mod rollback;
pub mod saved;
pub mod select;
pub mod session;

mod refusal;

pub use applying::{ApplyReport, TenantApplied, check_gates, execute_journaled};
pub use journal::Journal;
pub use linting::{lint_desired, lint_live};
pub use planning::make_plan;
pub use progress::{NoProgress, Phase, Progress, TenantDone};
pub use refusal::{BeforeAfter, Difference, Refusal};
pub use saved::{ApplyInputs, Prepared, SavedPlan, apply_inputs, prepare_apply, read_plan};
pub use session::{IN_MEMORY_STATE, Session, SessionError, Targets, state_file};
pub use ssprctl_apply::{ApplyError, Concurrent, Seen, SettingOutcome, SettingState, Stop};
pub use ssprctl_provider::ConcurrentChange;

/// The ssprctl version that makes and applies plans.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why the engine could not do what was asked (as opposed to refusing it:
/// see [`Refusal`]).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A safety gate refused; nothing was written.
    #[error(transparent)]
    Refused {
        /// Which gate, and why.
        #[from]
        refusal: Refusal,
    },
    /// The desired-state file could not be loaded.
    #[error(transparent)]
    Load {
        /// Why (every problem of the file).
        #[from]
        source: ssprctl_model::LoadError,
    },
    /// A plan file could not be read.
    #[error("cannot read plan {path}")]
    ReadPlan {
        /// The plan file as named.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A plan file is larger than [`saved::MAX_PLAN_BYTES`].
    #[error("{path} is larger than {limit} bytes: not read as a plan")]
    PlanTooLarge {
        /// The plan file as named.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// A merged plan was given to `apply`.
    #[error(
        "{path} is a merged plan (ssprctl merge), for reading only: apply the plan of each shard (ssprctl apply SHARDPLAN)"
    )]
    MergedPlan {
        /// The plan file as named.
        path: String,
    },
    /// `--tenant`/`--shard` given with a saved plan made with another selection.
    #[error(
        "{path} was made with another --tenant/--shard selection: a saved plan is applied with its own (omit --tenant and --shard)"
    )]
    SelectionMismatch {
        /// The plan file as named.
        path: String,
    },
    /// `--tenant` or `--shard` cannot select.
    #[error(transparent)]
    Select {
        /// Why.
        #[from]
        source: select::SelectError,
    },
    /// `merge` refused its plans.
    #[error(transparent)]
    Merge {
        /// Why.
        #[from]
        source: merge::MergeError,
    },
    /// A plan file is not a plan.
    #[error("{path} is not a valid plan file")]
    NotAPlan {
        /// The plan file as named.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A plan file has a format this version does not read.
    #[error("{path} has plan format {found}; this ssprctl reads {reads}")]
    PlanFormat {
        /// The plan file as named.
        path: String,
        /// Its `format_version`.
        found: String,
        /// The version this ssprctl reads.
        reads: &'static str,
    },
    /// Apply was asked for neither a configuration nor a saved plan.
    #[error("apply needs --config FILE or a saved plan")]
    NothingToApply,
    /// The desired-state file named by a plan could not be read.
    #[error("cannot read the desired-state file {path}")]
    ReadConfig {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The current directory could not be found.
    #[error("cannot determine the current directory")]
    WorkDir {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The journal could not be written (before any write: the apply does
    /// not start).
    #[error("cannot write the journal {path}")]
    Journal {
        /// The journal file (or its directory).
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A journal given to `rollback` cannot be used.
    #[error(transparent)]
    BadJournal {
        /// Why.
        #[from]
        source: journal::JournalError,
    },
    /// A tenant of the journal is not in the configuration given to `rollback`.
    #[error(
        "the journal's tenant {name} ({tenant_id}) is not in the configuration; pass the file it was applied from"
    )]
    RollbackTenant {
        /// The tenant's name in the journal.
        name: String,
        /// Its id in the journal.
        tenant_id: String,
    },
    /// The session (credentials, emulator) could not start.
    #[error(transparent)]
    Session {
        /// Why.
        #[from]
        source: SessionError,
    },
}
