//! The journal of an apply: what it will touch, each write's intent and
//! result, and its final account, as JSON lines fsync'd as they happen
//! (records of many tenants written at the same time share one fsync: group
//! commit; no caller goes on before its own record is durable).
//!
//! Record order (docs/journal.md): one `start` (the format version, and for
//! every tenant the paths, live values, planned values and digests of the
//! settings the apply will touch), then per write an `intent` before it is
//! sent and a `result` after it ends, then one `account` (per planned setting:
//! applied, not applied or unknown; whether the apply was interrupted). The
//! account is always the last record: once it is written the journal is
//! closed. A journal holds setting values, tenant names and ids, never a
//! secret or a token; its file and directory are readable by their owner only.
//!
//! [`read`] reads a journal back for `rollback`, as untrusted input.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssprctl_apply::{Seen, SettingState, Watch, WriteResult};
use ssprctl_model::{Api, Tenant};
use ssprctl_plan::{Change, Plan};
use ssprctl_provider::{ConcurrentChange, ProviderError};

use crate::{ApplyReport, EngineError, TOOL_VERSION};

/// Version of the journal's record format, `MAJOR.MINOR`, in the `start` record.
pub const JOURNAL_VERSION: &str = "1.1";

/// Where journals go unless `--journal-dir` says otherwise.
pub const DEFAULT_DIR: &str = ".ssprctl/journal";

/// The largest journal `rollback` reads.
const MAX_JOURNAL_BYTES: u64 = 16 * 1024 * 1024;

/// One line of a journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "record", rename_all = "snake_case")]
#[schemars(title = "ssprctl journal record")]
pub enum Record {
    /// The first record, written and fsync'd before any write.
    Start(Start),
    /// A write about to be sent.
    Intent(Intent),
    /// How a write ended.
    Result(WriteRecord),
    /// The final account; always the last record.
    Account(Account),
}

/// What an apply is about to do, and the values it will replace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// Version of the record format, `MAJOR.MINOR` (this version writes `1.1`).
    pub journal_version: String,
    /// The ssprctl version that applied.
    pub tool_version: String,
    /// The journal's id (also the end of its file name).
    pub id: String,
    /// An apply, or a rollback of another journal.
    pub kind: Kind,
    /// For a rollback: the id of the journal it reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolls_back: Option<String>,
    /// When the apply started (RFC 3339).
    pub started_at: String,
    /// The desired-state file, as the plan records it (informational:
    /// `rollback` never opens it).
    pub config_path: String,
    /// SHA-256 of the desired-state file.
    pub config_digest: String,
    /// Every tenant with changes, in plan order.
    pub tenants: Vec<StartTenant>,
}

/// Whether a journal records an apply or a rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `apply`.
    Apply,
    /// `rollback`.
    Rollback,
}

/// A tenant the apply will write to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTenant {
    /// Its name in the file.
    pub name: String,
    /// Its directory id.
    pub tenant_id: String,
    /// SHA-256 of each live object read before the apply, by API.
    pub prior: BTreeMap<Api, ssprctl_model::Digest>,
    /// Every setting the apply will touch.
    pub settings: Vec<Prior>,
}

/// One setting the apply will touch: its live value before, and the planned one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prior {
    /// Dotted model path.
    pub path: String,
    /// The API that serves it.
    pub api: Api,
    /// The live value before the apply (`null`: the tenant had none).
    pub before: Value,
    /// The value the apply will write.
    pub after: Value,
}

/// A write about to be sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// When (RFC 3339).
    pub at: String,
    /// The tenant's name.
    pub tenant: String,
    /// The surface written.
    pub surface: Api,
    /// The settings and values the write carries.
    pub settings: Vec<SettingValue>,
}

/// A setting and a value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingValue {
    /// Dotted model path.
    pub path: String,
    /// The value.
    pub value: Value,
}

/// How a write ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteRecord {
    /// When (RFC 3339).
    pub at: String,
    /// The tenant's name.
    pub tenant: String,
    /// The surface written.
    pub surface: Api,
    /// Accepted, failed, or abandoned at an interrupt.
    pub result: WriteOutcome,
    /// The HTTP status of a failure, when the service answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What failed, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fields of a full-object surface that another writer changed between
    /// the read the plan was computed from and the read right before this
    /// write (since format 1.1). With `ok`: fields the file does not manage,
    /// which the write kept. With `error`: every field that moved, when a
    /// managed one among them refused the write (nothing was sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concurrent: Vec<ConcurrentField>,
}

/// A field another writer changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcurrentField {
    /// The dotted model path of a setting, or the wire name of a field
    /// ssprctl does not manage.
    pub field: String,
    /// Whether the desired-state file manages it.
    pub managed: bool,
    /// Its value in the read the plan was computed from (`null`: absent).
    pub before: Value,
    /// The other writer's value.
    pub after: Value,
}

impl ConcurrentField {
    fn of(change: &ConcurrentChange) -> ConcurrentField {
        ConcurrentField {
            field: change.field.clone(),
            managed: change.managed,
            before: change.before.clone(),
            after: change.after.clone(),
        }
    }
}

/// A lost update: a field the file does not manage that another writer
/// changed between the read right before a full-object write and the write,
/// which replaced it (seen in the read-back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LostUpdate {
    /// The surface written.
    pub surface: Api,
    /// The dotted model path of a setting, or the wire name of a field
    /// ssprctl does not manage.
    pub field: String,
    /// The other writer's value, which the write replaced.
    pub theirs: Value,
    /// The value the write put back (from the read it was built from).
    pub written: Value,
}

/// How a write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteOutcome {
    /// The service accepted it.
    Ok,
    /// It failed.
    Error,
    /// In flight at an interrupt and not finished within the grace period: it
    /// may or may not have landed.
    Abandoned,
}

/// The apply's final account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// When (RFC 3339).
    pub at: String,
    /// Set when the apply was interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interrupted>,
    /// Every tenant of the `start` record, every planned setting with its state.
    pub tenants: Vec<AccountTenant>,
}

/// How an apply was interrupted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interrupted {
    /// The signal (`SIGINT`, `SIGTERM`).
    pub signal: String,
    /// `true` when a second signal made ssprctl exit at once: nothing was read
    /// back, and writes in flight were not waited for.
    pub exited_at_once: bool,
}

/// One tenant's account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountTenant {
    /// Its name.
    pub name: String,
    /// Its directory id.
    pub tenant_id: String,
    /// Every planned setting.
    pub settings: Vec<AccountSetting>,
    /// Why the tenant's apply stopped, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Lost updates the read-back found (since format 1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost_updates: Vec<LostUpdate>,
}

/// One planned setting after the apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSetting {
    /// Dotted model path.
    pub path: String,
    /// Whether its planned value is live.
    pub state: State,
    /// Why it is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whether a planned value is live after the apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Read back with its planned value.
    Applied,
    /// Read back with another value, or never written.
    NotApplied,
    /// Not read back.
    Unknown,
}

/// The JSON Schema of a journal record, as checked in at
/// `schemas/journal.schema.json`.
pub fn journal_schema_json() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Record>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A journal being written. Every record is one complete line, written under
/// a lock, so a process that exits between two records leaves only complete
/// ones. Intents and results are made durable by group commit: a record's
/// writer waits (asynchronously) until an fsync that began after its line was
/// written has ended; one fsync covers every line written before it began,
/// so an apply of thousands of tenants needs far fewer fsyncs than records,
/// and no write starts before its intent is durable.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    id: String,
    start: Start,
    inner: Mutex<Inner>,
    /// Held by the one task whose fsync is under way; the others wait in
    /// line, and usually find their record durable by their turn.
    syncing: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Inner {
    /// `None` once the account is written.
    file: Option<Arc<std::fs::File>>,
    /// (tenant, surface) of every intent recorded.
    intended: HashSet<(String, Api)>,
    /// Lines written so far.
    written: u64,
    /// Lines known durable (written before an fsync that has ended).
    durable: u64,
}

impl Journal {
    /// Creates the journal of applying `plan` in `dir` (created owner-only if
    /// missing) and writes and fsyncs its `start` record. Nothing may be
    /// written to a tenant unless this succeeds.
    pub fn create(
        dir: &Path,
        plan: &Plan,
        kind: Kind,
        rolls_back: Option<String>,
    ) -> Result<Journal, EngineError> {
        let now = jiff::Timestamp::now();
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let name = format!("{}-{id}.jsonl", now.strftime("%Y%m%dT%H%M%SZ"));
        let path = dir.join(name);
        let start = Start {
            journal_version: JOURNAL_VERSION.to_string(),
            tool_version: TOOL_VERSION.to_string(),
            id: id.clone(),
            kind,
            rolls_back,
            started_at: now.to_string(),
            config_path: plan.config_path.clone(),
            config_digest: plan.config_digest.clone(),
            tenants: plan
                .tenants
                .iter()
                .filter(|t| !t.changes.is_empty())
                .map(|t| StartTenant {
                    name: t.name.clone(),
                    tenant_id: t.tenant_id.clone(),
                    prior: t.prior.clone(),
                    settings: t
                        .changes
                        .iter()
                        .map(|c| Prior {
                            path: c.path.clone(),
                            api: c.api,
                            before: c.before.clone(),
                            after: c.after.clone(),
                        })
                        .collect(),
                })
                .collect(),
        };
        let fail = |source| EngineError::Journal {
            path: path.display().to_string(),
            source,
        };
        private_dir(dir).map_err(|source| EngineError::Journal {
            path: dir.display().to_string(),
            source,
        })?;
        let file = private_file(&path).map_err(fail)?;
        append(&file, &Record::Start(start.clone())).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        sync_dir(dir).map_err(fail)?;
        Ok(Journal {
            path,
            id,
            start,
            inner: Mutex::new(Inner {
                file: Some(Arc::new(file)),
                intended: HashSet::new(),
                written: 1,
                durable: 1,
            }),
            syncing: tokio::sync::Mutex::new(()),
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Writes the final account from an apply's report and closes the journal.
    /// Settings the report does not mention are accounted as not applied.
    pub fn finish(&self, report: &ApplyReport) -> Result<(), EngineError> {
        let interrupted = report.interrupted.as_ref().map(|signal| Interrupted {
            signal: signal.clone(),
            exited_at_once: false,
        });
        // By name: finding each tenant's outcome must not scan them all.
        let by_name: std::collections::HashMap<&str, &crate::TenantApplied> = report
            .tenants
            .iter()
            .rev()
            .map(|t| (t.name.as_str(), t))
            .collect();
        let tenants = self
            .start
            .tenants
            .iter()
            .map(|st| {
                let applied = by_name.get(st.name.as_str()).copied();
                AccountTenant {
                    name: st.name.clone(),
                    tenant_id: st.tenant_id.clone(),
                    settings: st
                        .settings
                        .iter()
                        .map(|p| {
                            let state = applied
                                .and_then(|t| t.settings.iter().find(|s| s.path == p.path))
                                .map(|s| &s.state);
                            let (state, reason) = match state {
                                Some(SettingState::Applied) => (State::Applied, None),
                                Some(SettingState::NotApplied) | None => (State::NotApplied, None),
                                Some(SettingState::Unknown { reason }) => {
                                    (State::Unknown, Some(reason.clone()))
                                }
                            };
                            AccountSetting {
                                path: p.path.clone(),
                                state,
                                reason,
                            }
                        })
                        .collect(),
                    error: applied
                        .and_then(|t| t.error.as_ref())
                        .map(|e| ssprctl_provider::error::one_line(e)),
                    lost_updates: applied
                        .map(|t| {
                            t.concurrent
                                .iter()
                                .filter(|c| c.seen == Seen::Overwritten)
                                .map(|c| LostUpdate {
                                    surface: c.change.api,
                                    field: c.change.field.clone(),
                                    theirs: c.change.after.clone(),
                                    written: c.change.before.clone(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
        self.close_with(Account {
            at: jiff::Timestamp::now().to_string(),
            interrupted,
            tenants,
        })
    }

    /// At a second signal, just before exiting at once: writes an account in
    /// which every setting whose write was started is unknown (not read
    /// back) and every other one not applied, and closes the journal. Any
    /// record being written finishes first; none follows.
    pub fn abort(&self, signal: &str) -> Result<(), EngineError> {
        let intended = self.lock().intended.clone();
        let tenants = self
            .start
            .tenants
            .iter()
            .map(|st| AccountTenant {
                name: st.name.clone(),
                tenant_id: st.tenant_id.clone(),
                settings: st
                    .settings
                    .iter()
                    .map(|p| {
                        if intended.contains(&(st.name.clone(), p.api)) {
                            AccountSetting {
                                path: p.path.clone(),
                                state: State::Unknown,
                                reason: Some(format!(
                                    "written or being written when a second {signal} made ssprctl exit at once; not read back"
                                )),
                            }
                        } else {
                            AccountSetting {
                                path: p.path.clone(),
                                state: State::NotApplied,
                                reason: None,
                            }
                        }
                    })
                    .collect(),
                error: None,
                lost_updates: Vec::new(),
            })
            .collect();
        self.close_with(Account {
            at: jiff::Timestamp::now().to_string(),
            interrupted: Some(Interrupted {
                signal: signal.to_string(),
                exited_at_once: true,
            }),
            tenants,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at most a line unwritten:
        // the state is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends the account, fsyncs (making every earlier line durable too)
    /// and closes; a closed journal stays as it is.
    fn close_with(&self, account: Account) -> Result<(), EngineError> {
        let mut inner = self.lock();
        let Some(file) = inner.file.take() else {
            return Ok(());
        };
        let fail = |source| EngineError::Journal {
            path: self.path.display().to_string(),
            source,
        };
        append(&file, &Record::Account(account)).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        inner.written += 1;
        inner.durable = inner.written;
        Ok(())
    }

    /// Appends a record unless the journal is closed, and returns once it is
    /// durable.
    async fn record(&self, record: &Record, intent: Option<(String, Api)>) -> Result<(), String> {
        let fail =
            |e: std::io::Error| format!("cannot write the journal {}: {e}", self.path.display());
        let line = {
            let mut inner = self.lock();
            let Some(file) = inner.file.as_ref() else {
                return Err(format!("the journal {} is closed", self.path.display()));
            };
            append(file, record).map_err(fail)?;
            inner.written += 1;
            inner.written
        };
        self.durable(line).await.map_err(fail)?;
        if let Some(key) = intent {
            self.lock().intended.insert(key);
        }
        Ok(())
    }

    /// Returns once line `line` is durable: at its turn, a task whose line is
    /// not durable yet fsyncs every line written so far (on a blocking
    /// thread, so that other tenants go on meanwhile).
    async fn durable(&self, line: u64) -> std::io::Result<()> {
        let _turn = self.syncing.lock().await;
        let (file, upto) = {
            let inner = self.lock();
            if inner.durable >= line {
                return Ok(());
            }
            match &inner.file {
                Some(file) => (Arc::clone(file), inner.written),
                // Closed since: the account's fsync covered every line.
                None => return Ok(()),
            }
        };
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(std::io::Error::other)??;
        let mut inner = self.lock();
        inner.durable = inner.durable.max(upto);
        Ok(())
    }
}

impl Watch for Journal {
    async fn before_write(
        &self,
        tenant: &Tenant,
        api: Api,
        changes: &[&Change],
    ) -> Result<(), String> {
        let record = Record::Intent(Intent {
            at: jiff::Timestamp::now().to_string(),
            tenant: tenant.name.clone(),
            surface: api,
            settings: changes
                .iter()
                .map(|c| SettingValue {
                    path: c.path.clone(),
                    value: c.after.clone(),
                })
                .collect(),
        });
        self.record(&record, Some((tenant.name.clone(), api))).await
    }

    async fn after_write(&self, tenant: &Tenant, api: Api, result: WriteResult<'_>) {
        let fields = |changes: &[ConcurrentChange]| -> Vec<ConcurrentField> {
            changes.iter().map(ConcurrentField::of).collect()
        };
        let (result, status, error, concurrent) = match result {
            WriteResult::Ok { concurrent } => (WriteOutcome::Ok, None, None, fields(concurrent)),
            WriteResult::Failed(e) => {
                let moved = if let ProviderError::Moved { moved, .. } = e {
                    fields(moved)
                } else {
                    Vec::new()
                };
                (
                    WriteOutcome::Error,
                    e.status(),
                    Some(ssprctl_provider::error::one_line(e)),
                    moved,
                )
            }
            WriteResult::Abandoned => (WriteOutcome::Abandoned, None, None, Vec::new()),
        };
        let record = Record::Result(WriteRecord {
            at: jiff::Timestamp::now().to_string(),
            tenant: tenant.name.clone(),
            surface: api,
            result,
            status,
            error,
            concurrent,
        });
        if let Err(e) = self.record(&record, None).await {
            tracing::warn!("{e}");
        }
    }
}

/// Writes one record as one line (in one `write`), not yet durable.
fn append(mut file: &std::fs::File, record: &Record) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)
}

/// Creates `dir` (and its parents) if missing; the directory itself is made
/// owner-only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates a new owner-only file (never an existing one).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a new file's directory entry durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}

/// A journal read back, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalRead {
    /// Its `start` record.
    pub start: Start,
    /// (tenant, surface) of every `intent` record.
    pub intended: HashSet<(String, Api)>,
    /// Its `account`, if it has one (a journal without one is from an apply
    /// that was killed outright).
    pub account: Option<Account>,
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// It could not be read.
    #[error("cannot read the journal {path}")]
    Read {
        /// The file as named.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// It is not a journal ssprctl can use.
    #[error("{path} is not a valid journal: line {line}: {problem}")]
    Invalid {
        /// The file as named.
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong (escaped).
        problem: String,
    },
}

/// Reads and checks a journal: a `start` record first with a format this
/// version reads, every line a complete record, intents and results only for
/// the start's tenants and surfaces, settings only paths of the catalog served
/// by the API the record names, the account (if any) last. Nothing in it is
/// trusted beyond that: it names no file ssprctl opens.
pub fn read(path: &Path) -> Result<JournalRead, JournalError> {
    let name = path.display().to_string();
    let read_err = |source| JournalError::Read {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_JOURNAL_BYTES + 1),
        &mut text,
    )
    .map_err(read_err)?;
    let invalid = |line: usize, problem: String| JournalError::Invalid {
        path: name.clone(),
        line,
        problem: ssprctl_model::text::escape_controls(&problem),
    };
    if text.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(invalid(0, "larger than 16 MiB".into()));
    }
    let mut start: Option<Start> = None;
    let mut intended = HashSet::new();
    let mut account = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if account.is_some() {
            return Err(invalid(n, "a record after the account".into()));
        }
        if start.is_none() {
            let value: Value = serde_json::from_str(line).map_err(|e| invalid(n, e.to_string()))?;
            let version = value
                .get("journal_version")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let major = |v: &str| v.split('.').next().unwrap_or_default().to_string();
            if value.get("record").and_then(Value::as_str) != Some("start") {
                return Err(invalid(n, "the first record is not a start record".into()));
            }
            if major(version) != major(JOURNAL_VERSION) {
                return Err(invalid(
                    n,
                    format!(
                        "journal format {}; this ssprctl reads {JOURNAL_VERSION}",
                        version.chars().take(32).collect::<String>()
                    ),
                ));
            }
        }
        let record: Record = serde_json::from_str(line).map_err(|e| invalid(n, e.to_string()))?;
        match (record, &start) {
            (Record::Start(s), None) => {
                check_start(&s).map_err(|p| invalid(n, p))?;
                start = Some(s);
            }
            (Record::Start(_), Some(_)) => return Err(invalid(n, "a second start record".into())),
            (_, None) => return Err(invalid(n, "a record before the start record".into())),
            (Record::Intent(intent), Some(s)) => {
                let tenant = find_tenant(s, &intent.tenant).map_err(|p| invalid(n, p))?;
                for v in &intent.settings {
                    if !tenant
                        .settings
                        .iter()
                        .any(|p| p.path == v.path && p.api == intent.surface)
                    {
                        return Err(invalid(
                            n,
                            format!(
                                "intent for {} of {}, which the start record does not plan",
                                v.path, intent.tenant
                            ),
                        ));
                    }
                }
                intended.insert((intent.tenant, intent.surface));
            }
            (Record::Result(result), Some(s)) => {
                find_tenant(s, &result.tenant).map_err(|p| invalid(n, p))?;
                if !intended.contains(&(result.tenant.clone(), result.surface)) {
                    return Err(invalid(n, "a result without an intent".into()));
                }
            }
            (Record::Account(a), Some(s)) => {
                for t in &a.tenants {
                    let tenant = find_tenant(s, &t.name).map_err(|p| invalid(n, p))?;
                    if let Some(bad) = t
                        .settings
                        .iter()
                        .find(|x| !tenant.settings.iter().any(|p| p.path == x.path))
                    {
                        return Err(invalid(
                            n,
                            format!(
                                "account of {}, which the start record does not plan",
                                bad.path
                            ),
                        ));
                    }
                }
                account = Some(a);
            }
        }
    }
    let start = start.ok_or_else(|| invalid(1, "empty".into()))?;
    Ok(JournalRead {
        start,
        intended,
        account,
    })
}

/// The start record's tenants are distinct and well-formed, and every setting
/// is a catalog path served by the API it names.
fn check_start(start: &Start) -> Result<(), String> {
    let mut names = HashSet::new();
    for t in &start.tenants {
        if !names.insert(&t.name) {
            return Err(format!("tenant {} appears twice", t.name));
        }
        if !valid_name(&t.name) {
            return Err(format!("{:?} is not a tenant name", t.name));
        }
        let mut paths = HashSet::new();
        for p in &t.settings {
            match ssprctl_model::catalog::by_path(&p.path) {
                Some(field) if field.api == p.api => {}
                Some(_) => return Err(format!("{} is not served by {}", p.path, p.api.label())),
                None => return Err(format!("{} is not a setting ssprctl manages", p.path)),
            }
            if !paths.insert(&p.path) {
                return Err(format!("{} appears twice for {}", p.path, t.name));
            }
        }
    }
    Ok(())
}

/// A tenant name as the desired-state file allows it.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn find_tenant<'a>(start: &'a Start, name: &str) -> Result<&'a StartTenant, String> {
    start
        .tenants
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| format!("tenant {name}, which the start record does not name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ssprctl_apply::SettingOutcome;
    use ssprctl_plan::{Action, Risk, TenantPlan};

    use crate::TenantApplied;

    const SMS: &str = "authenticationMethods.sms.state";
    const REQUIRED: &str = "selfServicePasswordReset.methodsRequired";

    fn change(path: &str, api: Api, before: Value, after: Value) -> Change {
        Change {
            path: path.into(),
            api,
            action: Action::Update,
            before,
            after,
            risk: Risk::Neutral,
            reason: String::new(),
            control: None,
        }
    }

    fn plan() -> Plan {
        Plan {
            format_version: ssprctl_plan::FORMAT_VERSION.into(),
            tool_version: TOOL_VERSION.into(),
            config_digest: "d".into(),
            config_path: "c.yaml".into(),
            created_at: String::new(),
            tenants: vec![TenantPlan {
                name: "contoso".into(),
                tenant_id: "t1".into(),
                changes: vec![
                    change(
                        SMS,
                        Api::GraphAuthenticationMethods,
                        json!("enabled"),
                        json!("disabled"),
                    ),
                    change(REQUIRED, Api::PortalPasswordReset, json!(1), json!(2)),
                ],
                prior: [(Api::PortalPasswordReset, ssprctl_model::Digest([0xa; 32]))].into(),
                ..Default::default()
            }],
            selection: None,
            merged: None,
        }
    }

    fn tenant() -> Tenant {
        Tenant {
            name: "contoso".into(),
            tenant_id: "t1".into(),
            endpoint: ssprctl_model::Endpoint::Local,
            settings: Default::default(),
            credentials: None,
            index: 0,
        }
    }

    async fn one_write(journal: &Journal) {
        let p = plan();
        let sms = [&p.tenants[0].changes[0]];
        assert_eq!(
            journal
                .before_write(&tenant(), Api::GraphAuthenticationMethods, &sms)
                .await,
            Ok(())
        );
        journal
            .after_write(
                &tenant(),
                Api::GraphAuthenticationMethods,
                WriteResult::Ok { concurrent: &[] },
            )
            .await;
    }

    #[tokio::test]
    async fn a_journal_reads_back_as_written_and_the_account_closes_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let jdir = dir.path().join("j");
        let journal = Journal::create(&jdir, &plan(), Kind::Apply, None).expect("create");
        one_write(&journal).await;
        let report = ApplyReport {
            interrupted: Some("SIGTERM".into()),
            tenants: vec![TenantApplied {
                name: "contoso".into(),
                written: vec![Api::GraphAuthenticationMethods],
                settings: vec![
                    SettingOutcome {
                        path: SMS.into(),
                        state: SettingState::Applied,
                    },
                    SettingOutcome {
                        path: REQUIRED.into(),
                        state: SettingState::Unknown {
                            reason: "not read".into(),
                        },
                    },
                ],
                concurrent: Vec::new(),
                error: None,
            }],
        };
        journal.finish(&report).expect("finish");
        // Closed: no record follows the account.
        let p = plan();
        assert!(
            journal
                .before_write(
                    &tenant(),
                    Api::PortalPasswordReset,
                    &[&p.tenants[0].changes[1]]
                )
                .await
                .is_err()
        );

        let read = read(journal.path()).expect("read");
        assert_eq!(read.start.journal_version, JOURNAL_VERSION);
        assert_eq!(read.start.tenants[0].settings[1].before, json!(1));
        assert!(
            read.intended
                .contains(&("contoso".to_string(), Api::GraphAuthenticationMethods))
        );
        let account = read.account.expect("account");
        assert_eq!(
            account.interrupted,
            Some(Interrupted {
                signal: "SIGTERM".into(),
                exited_at_once: false
            })
        );
        let states: Vec<(State, Option<String>)> = account.tenants[0]
            .settings
            .iter()
            .map(|s| (s.state, s.reason.clone()))
            .collect();
        assert_eq!(
            states,
            [
                (State::Applied, None),
                (State::Unknown, Some("not read".into()))
            ]
        );
    }

    #[tokio::test]
    async fn concurrent_changes_are_journaled_with_the_write_and_lost_updates_in_the_account() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = Journal::create(dir.path(), &plan(), Kind::Apply, None).expect("create");
        let p = plan();
        let other = |field: &str, managed: bool| ConcurrentChange {
            api: Api::PortalPasswordReset,
            field: field.into(),
            managed,
            before: json!(true),
            after: json!(false),
        };
        let kept = other("selfServicePasswordReset.notifications.notifyUsers", false);
        let required = [&p.tenants[0].changes[1]];
        assert_eq!(
            journal
                .before_write(&tenant(), Api::PortalPasswordReset, &required)
                .await,
            Ok(())
        );
        journal
            .after_write(
                &tenant(),
                Api::PortalPasswordReset,
                WriteResult::Ok {
                    concurrent: std::slice::from_ref(&kept),
                },
            )
            .await;
        let refused = ProviderError::Moved {
            api: Api::PortalPasswordReset,
            moved: vec![other(REQUIRED, true)],
        };
        assert_eq!(
            journal
                .before_write(&tenant(), Api::PortalPasswordReset, &required)
                .await,
            Ok(())
        );
        journal
            .after_write(
                &tenant(),
                Api::PortalPasswordReset,
                WriteResult::Failed(&refused),
            )
            .await;
        let lost = other("registrationConditionalAccessPolicies", false);
        let report = ApplyReport {
            interrupted: None,
            tenants: vec![TenantApplied {
                name: "contoso".into(),
                written: vec![Api::PortalPasswordReset],
                settings: Vec::new(),
                concurrent: vec![
                    ssprctl_apply::Concurrent {
                        change: kept,
                        seen: Seen::BeforeWrite,
                    },
                    ssprctl_apply::Concurrent {
                        change: lost,
                        seen: Seen::Overwritten,
                    },
                ],
                error: None,
            }],
        };
        journal.finish(&report).expect("finish");

        let text = std::fs::read_to_string(journal.path()).expect("journal");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(
            lines[2]["concurrent"],
            json!([{
                "field": "selfServicePasswordReset.notifications.notifyUsers",
                "managed": false, "before": true, "after": false
            }])
        );
        assert_eq!(lines[4]["result"], "error");
        assert_eq!(
            lines[4]["concurrent"],
            json!([{ "field": REQUIRED, "managed": true, "before": true, "after": false }])
        );
        let read = read(journal.path()).expect("read");
        let account = read.account.expect("account");
        assert_eq!(
            account.tenants[0].lost_updates,
            [LostUpdate {
                surface: Api::PortalPasswordReset,
                field: "registrationConditionalAccessPolicies".into(),
                theirs: json!(false),
                written: json!(true),
            }]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_written_at_the_same_time_are_each_durable_before_their_writer_goes_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = Journal::create(dir.path(), &plan(), Kind::Apply, None).expect("create");
        let journal = std::sync::Arc::new(journal);
        let writers: Vec<_> = (0..64)
            .map(|_| {
                let journal = std::sync::Arc::clone(&journal);
                tokio::spawn(async move {
                    let p = plan();
                    let sms = [&p.tenants[0].changes[0]];
                    let intent = journal
                        .before_write(&tenant(), Api::GraphAuthenticationMethods, &sms)
                        .await;
                    // Gone on: the intent is durable (group commit).
                    let durable = journal.lock().durable;
                    (intent, durable)
                })
            })
            .collect();
        let mut lines = Vec::new();
        for writer in writers {
            let (intent, durable) = writer.await.expect("writer");
            assert_eq!(intent, Ok(()));
            lines.push(durable);
        }
        // The start record and 64 intents, every one durable and complete.
        assert!(lines.iter().all(|&d| d >= 2), "{lines:?}");
        assert_eq!(journal.lock().durable, 65);
        let text = std::fs::read_to_string(journal.path()).expect("journal");
        assert_eq!(text.lines().count(), 65);
        let read = read(journal.path()).expect("every line a complete record");
        assert_eq!(read.intended.len(), 1);
    }

    #[tokio::test]
    async fn exiting_at_once_leaves_started_writes_unknown_and_the_rest_not_applied() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = Journal::create(dir.path(), &plan(), Kind::Apply, None).expect("create");
        one_write(&journal).await;
        journal.abort("SIGINT").expect("abort");
        // A second close changes nothing.
        journal.abort("SIGINT").expect("abort again");
        let read = read(journal.path()).expect("read");
        let account = read.account.expect("account");
        assert_eq!(account.interrupted.map(|i| i.exited_at_once), Some(true));
        let states: Vec<State> = account.tenants[0]
            .settings
            .iter()
            .map(|s| s.state)
            .collect();
        assert_eq!(states, [State::Unknown, State::NotApplied]);
    }

    #[tokio::test]
    async fn a_journal_that_breaks_a_rule_is_refused_with_its_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = Journal::create(dir.path(), &plan(), Kind::Apply, None).expect("create");
        one_write(&journal).await;
        let text = std::fs::read_to_string(journal.path()).expect("journal");
        let lines: Vec<&str> = text.lines().collect();
        let start = lines[0];
        let intent = lines[1];
        let result = lines[2];
        let account = r#"{"record":"account","at":"x","tenants":[]}"#;
        let cases: Vec<(String, usize, &str)> = vec![
            (String::new(), 1, "empty"),
            (intent.to_string(), 1, "not a start record"),
            (
                start.replace(&format!("\"{JOURNAL_VERSION}\""), "\"2.0\""),
                1,
                "journal format 2.0",
            ),
            (
                start.replace(SMS, "authenticationMethods.nope"),
                1,
                "not a setting",
            ),
            (
                start.replace(
                    "\"api\":\"graphAuthenticationMethods\"",
                    "\"api\":\"portalOnPremises\"",
                ),
                1,
                "is not served by",
            ),
            (
                format!("{start}\n{result}"),
                2,
                "a result without an intent",
            ),
            (format!("{start}\n{start}"), 2, "a second start record"),
            (
                format!("{start}\n{}", intent.replace("contoso", "fabrikam")),
                2,
                "does not name",
            ),
            (
                format!("{start}\n{account}\n{intent}"),
                3,
                "after the account",
            ),
            (
                format!("{start}\n{}", &intent[..intent.len() / 2]),
                2,
                "EOF",
            ),
            (
                start.replace("contoso", "bad\\u001bname"),
                1,
                "not a tenant name",
            ),
        ];
        for (i, (text, line, needle)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("case{i}.jsonl"));
            std::fs::write(&path, text).expect("write");
            match super::read(&path) {
                Err(JournalError::Invalid {
                    line: got, problem, ..
                }) => {
                    assert_eq!(got, line, "case {i}: {problem}");
                    assert!(problem.contains(needle), "case {i}: {problem}");
                    assert!(!problem.contains('\u{1b}'), "case {i}: escaped");
                }
                other => panic!("case {i}: {other:?}"),
            }
        }
    }
}
