//! Command-line arguments (clap derive): one struct per subcommand.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Self-service password reset and password writeback of Microsoft Entra ID, as code.
///
/// A YAML file says how each tenant should be set; `plan` shows what differs
/// from the live tenant, `apply` makes it so, and a scheduled
/// `plan --detailed-exitcode` detects drift.
///
/// Exit codes: 0 success / no changes, 1 error (plan: also a preflight error
/// that would block apply, after the plan is printed), 2 changes present (with
/// --detailed-exitcode; lint: findings at warning or above), 3 a live read
/// failed or an apply's writes were not visible when read back yet (unknown,
/// never reported as drift), 4 refused by a safety gate, 130 / 143 an apply
/// interrupted by SIGINT / SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "ssprctl", version = env!("SSPRCTL_VERSION"), about, long_about)]
pub struct Cli {
    /// When to colour output: what the command prints on stdout and the log
    /// lines on stderr (auto: each when it is a terminal).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Log level for diagnostics on stderr. RUST_LOG overrides it.
    #[arg(long, global = true, value_enum, default_value_t = LogLevel::Warn)]
    pub log_level: LogLevel,
    /// No progress on stderr. Without it, a command that reads or writes
    /// more than one tenant shows a progress bar when stderr is a terminal,
    /// else a progress line every 5 s (SSPRCTL_PROGRESS_INTERVAL_MS changes
    /// the interval). Progress never goes to stdout.
    #[arg(
        long,
        global = true,
        env = "SSPRCTL_NO_PROGRESS",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_progress: bool,
    /// Threads that run the command's work (1 to 256). Default: 1 for
    /// commands that only read or print, one per CPU core for those that
    /// write and for the emulator. A read of thousands of tenants waits on
    /// the network and on Graph's quota, not on the CPU, and one thread keeps
    /// up with it using less CPU and memory than several; give more if a
    /// fleet's plan is CPU-bound.
    #[arg(
        long,
        global = true,
        env = "SSPRCTL_THREADS",
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub threads: Option<u16>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour what goes to a terminal, when NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Log level of the diagnostics on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Also progress.
    Info,
    /// Also each request's outline.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The level as a tracing filter directive.
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The desired-state file when `--config` and SSPRCTL_CONFIG are not given.
pub const DEFAULT_CONFIG: &str = "ssprctl.yaml";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a desired-state file offline: schema and semantic rules, every
    /// problem with file:line:column.
    Validate(ConfigArgs),
    /// Read the live tenants and show what would change.
    Plan(PlanArgs),
    /// Check settings against the lint rules (CIS, CISA SCuBA, EIDSCA): the
    /// file's effective settings offline, or with --live what the tenants have.
    ///
    /// Exit codes: 0 no finding at warning or above (notes and accepted
    /// exceptions do not count), 1 error, 2 findings at warning or above (an
    /// expired exception is an error), 3 with --live: no finding but a surface
    /// could not be read (its rules are unknown).
    Lint(LintArgs),
    /// Apply a saved plan (refusing a stale or edited one), or plan, confirm, write what
    /// changed, then read back and verify. An object written whole is not
    /// written when a managed setting on it moved since the plan's read (exit 4);
    /// what other writers changed meanwhile is kept and reported. Every apply is
    /// journaled (--journal-dir); a first SIGINT/SIGTERM starts no new write, reads
    /// back and exits 130/143 with the account, a second exits at once.
    Apply(ApplyArgs),
    /// Render a saved plan file.
    Show(ShowArgs),
    /// Combine the JSON plans of the shards of one file (`plan --shard i/n
    /// --json` or `--out`, one per job) into one plan, printed for people,
    /// as JSON or as Markdown, with one exit code.
    ///
    /// The plans must come from the same desired-state file and ssprctl
    /// version, name each tenant once and, when sharded, be exactly the shards
    /// 1/n to n/n. The merged plan is for reading: apply each shard's own plan.
    ///
    /// Exit codes (as `plan --detailed-exitcode`): 0 no changes, 1 error or a
    /// preflight error that blocks apply, 2 changes present, 3 nothing changes
    /// but a setting could not be read.
    Merge(MergeArgs),
    /// Undo a journaled apply: plan the prior values of every setting it wrote,
    /// refused (exit 4) if any was changed since; then confirm and apply like
    /// `apply`, or save the plan with --out.
    Rollback(RollbackArgs),
    /// Sign an administrator in for the portal surfaces (device code) and keep
    /// the refresh token in the user's config directory (owner-only file).
    Login(LoginArgs),
    /// Check each tenant's credentials, permissions, roles and surfaces.
    Doctor(DoctorArgs),
    /// Read live tenants and write their settings as a desired-state file
    /// (to adopt a tenant: export, review, commit, plan).
    Export(ExportArgs),
    /// Report per tenant who can use self-service password reset (registration
    /// coverage: enabled, registered, capable, by method, administrators
    /// apart) and how it was used over the last --days (resets and unlocks
    /// succeeded / failed, users blocked, by day and by failure reason).
    /// --html FILE also writes it as one self-contained page with charts
    /// (and, with --plan, each tenant's drift from a saved plan).
    ///
    /// Needs AuditLog.Read.All. Exit codes: 0 every part read, 1 error, 3 a
    /// part of a tenant could not be read (reported as unknown, never as zero).
    Report(ReportArgs),
    /// Print the JSON Schema of the desired-state file (or, with --plan, of the
    /// plan format; with --journal, of a journal record; with --lint, of the
    /// lint report; with --report, of `report --json`).
    Schema(SchemaArgs),
    /// Run the local emulator of the Entra ID endpoints until stopped.
    Emulator(EmulatorArgs),
    /// Print a shell completion script for ssprctl (bash, zsh, fish,
    /// powershell, elvish).
    ///
    /// bash: `source <(ssprctl completions bash)` (or save it in
    /// ~/.local/share/bash-completion/completions/ssprctl); zsh: save it as
    /// `_ssprctl` in a directory of $fpath; fish: save it in
    /// ~/.config/fish/completions/ssprctl.fish; PowerShell:
    /// `ssprctl completions powershell | Out-String | Invoke-Expression` in
    /// $PROFILE.
    Completions(CompletionsArgs),
    /// Print the man page of ssprctl (roff, section 1), generated from the
    /// same definitions as --help: `ssprctl man | man -l -`, or save it as
    /// ssprctl.1 in a man1 directory of the MANPATH. With --dir, write it and
    /// one page per command (ssprctl-plan.1, ...) into a directory instead.
    Man(ManArgs),
}

/// `man` options.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write ssprctl.1 and a page per command (ssprctl-plan.1, ...) into this
    /// directory (created if missing) instead of printing ssprctl.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The desired-state file.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The desired-state YAML file.
    #[arg(short, long, value_name = "FILE", env = "SSPRCTL_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// Options that decide where tenants are read from.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Run every tenant against the built-in emulator (as if `endpoint: local`).
    #[arg(long)]
    pub local: bool,
    /// The built-in emulator's state file for `endpoint: local` tenants
    /// (locked for the run: refused while another ssprctl uses it). `none`:
    /// in memory only, every run starts from fresh tenants.
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".ssprctl/emulator-state.json"
    )]
    pub local_state: PathBuf,
    /// How many tenants to work on at a time.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub parallelism: usize,
    /// Microsoft Graph resource units per second for the whole run, across
    /// all tenants. Graph allows an app 7,500 per second across all tenants;
    /// lower it when other jobs (another shard) share the app registration.
    #[arg(long, value_name = "RU_PER_SECOND", default_value_t = NonZeroU32::new(ssprctl_provider::client::pacing::DEFAULT_GRAPH_BUDGET).unwrap_or(NonZeroU32::MIN))]
    pub graph_budget: NonZeroU32,
    /// Microsoft Graph writes per second for the whole run, with 175
    /// seconds' worth at once (35,000 at the default: half of Graph's bucket
    /// of 70,000 writes per 5 minutes per app across all tenants, which
    /// refills at about 233 per second).
    #[arg(long, value_name = "WRITES_PER_SECOND", default_value_t = NonZeroU32::new(ssprctl_provider::client::pacing::DEFAULT_WRITE_BUDGET).unwrap_or(NonZeroU32::MIN))]
    pub graph_write_budget: NonZeroU32,
    /// The x-ms-throttle-priority of every Graph request: low for scheduled
    /// runs (Graph throttles low first when it must throttle).
    #[arg(long, value_enum, value_name = "PRIORITY", default_value_t = ThrottlePriorityArg::Normal)]
    pub throttle_priority: ThrottlePriorityArg,
    /// The longest one HTTP request may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// The longest one tenant's read (and each surface's pre-write read)
    /// may take, retries included, in seconds. What has not answered by then
    /// is reported unknown for that tenant; other tenants go on.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub tenant_deadline: u64,
}

/// The `x-ms-throttle-priority` to send (never `High`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ThrottlePriorityArg {
    /// Scheduled, unattended runs such as drift checks.
    Low,
    /// Interactive runs.
    Normal,
}

/// Which tenants of the file to work on (after the file is loaded and
/// validated whole, before any tenant is read).
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only the tenants whose `name` matches PATTERN, a glob (`contoso`,
    /// `contoso-*`, `*-eu`); repeat it to add more (any may match). A pattern
    /// that matches no tenant is an error.
    #[arg(long = "tenant", value_name = "PATTERN")]
    pub tenant: Vec<String>,
    /// Only shard I of N (1-based: 1/3, 2/3, 3/3), after --tenant. Each tenant
    /// is in exactly one shard, chosen by a stable hash of its tenant id:
    /// adding a tenant moves no other, changing N moves about 1/N of them.
    /// Combine the shards' JSON plans with `ssprctl merge`.
    #[arg(long, value_name = "I/N", value_parser = ssprctl_engine::select::parse_shard)]
    pub shard: Option<ssprctl_plan::Shard>,
}

impl SelectArgs {
    /// The selection asked for.
    pub fn select(&self) -> ssprctl_engine::select::Select {
        ssprctl_engine::select::Select {
            tenants: self.tenant.clone(),
            shard: self.shard,
        }
    }
}

/// How to print a plan.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Print the plan as JSON (the versioned format of docs/plan-format.md).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the plan as Markdown for a pull-request comment. On GitHub Actions
    /// it is also added to the job summary. Tenants with identical plans are
    /// one group, errors and weakening changes first, and the whole fits
    /// --markdown-limit characters.
    #[arg(long)]
    pub markdown: bool,
    /// The most characters the Markdown plan may have (default: GitHub's
    /// 65,536-character comment limit). Detail is cut to fit, least essential
    /// first (tenant names, lint lists, readiness figures, then the groups
    /// without weakening changes or errors); a weakening change or an error
    /// is never cut, and the plan says what was and that the JSON plan has it.
    #[arg(
        long,
        value_name = "CHARS",
        env = "SSPRCTL_MARKDOWN_LIMIT",
        default_value_t = ssprctl_plan::markdown::DEFAULT_LIMIT,
        value_parser = clap::value_parser!(usize)
    )]
    pub markdown_limit: usize,
    /// Show tenants whose plans are identical once, as a group with their
    /// names (errors and weakening changes first). Every change is still
    /// shown; names beyond 10 per group are left to --json.
    #[arg(long, conflicts_with_all = ["json", "markdown"])]
    pub group: bool,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Save the plan to FILE (owner-readable only) for `ssprctl apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing changes, 2 when something would change, 3 when
    /// nothing changes but a setting could not be read. A preflight error that
    /// would block apply exits 1 with or without this flag.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// How to print a lint report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// For people: grouped by tenant, each finding with its file:line:column.
    Human,
    /// The versioned JSON format of docs/lint.md.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning (`upload-sarif`).
    Sarif,
}

/// `lint` options.
#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Check what the tenants actually have, managed by the file or not
    /// (reads every tenant). Without it, only the settings the file manages are
    /// checked, offline.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,
    /// Print JSON (same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// `apply` options.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`. Nothing in it is trusted: the plan is
    /// made again from the desired-state file and the live tenants, and
    /// applied only if it equals the saved one (else refused, exit 4); no
    /// other change is made.
    #[arg(value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    /// The desired-state file. Default with PLANFILE: the plan's
    /// `config_path`, only if it is a relative path inside the current
    /// directory; either way its digest must match the plan's (SSPRCTL_CONFIG
    /// is not used then). Default without PLANFILE: $SSPRCTL_CONFIG, else
    /// ./ssprctl.yaml.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    // With PLANFILE the plan's own selection is used (--tenant and --shard
    // may be omitted, or must be the same).
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Apply without asking (for CI). Without it, apply asks for "yes" on a
    /// terminal and refuses when there is none. A saved plan is not asked again.
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow changes that weaken security (marked "weakening" in the plan).
    #[arg(long)]
    pub allow_weakening: bool,
    #[command(flatten)]
    pub journal: JournalArgs,
}

/// Where applies are journaled.
#[derive(Debug, Args)]
pub struct JournalArgs {
    /// Journal the writes here (created owner-only). Before any write the
    /// journal records the live values to be replaced, then each write's
    /// intent and result, then the account; `ssprctl rollback JOURNAL`
    /// reverses them. Nothing is written if the journal cannot be.
    #[arg(long, value_name = "DIR", default_value = ".ssprctl/journal")]
    pub journal_dir: PathBuf,
}

/// `rollback` options.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The journal of the apply to undo (see docs/journal.md). It is checked
    /// and names no file that is opened.
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// The desired-state file the apply was made from: its tenants'
    /// endpoints and credentials are used (its settings are not).
    #[arg(short, long, value_name = "FILE", env = "SSPRCTL_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Save the rollback plan to FILE instead of applying it, and the desired
    /// state it was made from to FILE.desired.yaml (both owner-readable only);
    /// `ssprctl apply FILE` applies it like any saved plan.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Apply without asking (for CI). Without it, rollback asks for "yes" on a
    /// terminal and refuses when there is none.
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow restoring values that weaken security.
    #[arg(long)]
    pub allow_weakening: bool,
    #[command(flatten)]
    pub journal_dir: JournalArgs,
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out`.
    #[arg(value_name = "PLANFILE")]
    pub plan: PathBuf,
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `merge` options.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The plans to combine (`plan --json` output or `plan --out` files).
    #[arg(value_name = "PLANFILE", required = true, num_args = 1..)]
    pub plans: Vec<PathBuf>,
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `emulator` options.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8400")]
    pub listen: SocketAddr,
    /// State file: tenants, their settings, app registrations and admins.
    /// Created on first write; written behind (at most every 200 ms, and on
    /// exit: Ctrl-C or SIGTERM). Locked while the emulator runs (FILE.lock):
    /// a second process that asks for it is refused. `none`: in memory only,
    /// nothing read or written.
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".ssprctl/emulator-state.json"
    )]
    pub state: PathBuf,
    /// Answer unknown tenant ids with an error instead of creating them with
    /// realistic defaults.
    #[arg(long)]
    pub no_auto_tenants: bool,
}

/// `export` options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Read the tenants of this desired-state file: its tenant list and
    /// credentials. Its settings do not decide what is read. Default
    /// without --tenant-id: $SSPRCTL_CONFIG, else ./ssprctl.yaml.
    #[arg(
        short,
        long,
        value_name = "FILE",
        conflicts_with_all = ["tenant_id", "endpoint", "name"]
    )]
    pub config: Option<PathBuf>,
    /// Read this tenant (directory id) instead of a file's tenants. Graph
    /// credentials come from AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, the
    /// portal sign-in from SSPRCTL_PORTAL_REFRESH_TOKEN or `ssprctl login`,
    /// as for a tenant of a file that names no credentials.
    #[arg(long, value_name = "ID", requires = "endpoint")]
    pub tenant_id: Option<String>,
    /// Where the --tenant-id tenant lives: local, public, usGovernment,
    /// china or http://127.0.0.1:PORT.
    #[arg(long, value_name = "ENDPOINT", requires = "tenant_id")]
    pub endpoint: Option<String>,
    /// The `name` the --tenant-id tenant gets in the exported file.
    #[arg(long, value_name = "NAME", default_value = "tenant")]
    pub name: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Export every setting ssprctl manages, not only those a file usually
    /// manages (docs/export.md lists both).
    #[arg(long)]
    pub all_settings: bool,
    /// Leave out values equal to Microsoft's default for a new tenant (the
    /// `default` column of docs/settings.md); they are then unmanaged.
    #[arg(long)]
    pub omit_defaults: bool,
    /// Write the file to FILE (owner-readable only) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The `$schema` of the file's first line: a path relative to where the
    /// file will live, or a URL.
    #[arg(long, value_name = "PATH_OR_URL", default_value = ssprctl_engine::export::DEFAULT_SCHEMA)]
    pub schema: String,
}

/// `schema` options.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the schema of the plan format (`plan --json`, `plan --out`) instead.
    #[arg(long, conflicts_with_all = ["journal", "lint", "report"])]
    pub plan: bool,
    /// Print the schema of a journal record (one line of a journal) instead.
    #[arg(long, conflicts_with_all = ["lint", "report"])]
    pub journal: bool,
    /// Print the schema of the lint report (`lint --json`) instead.
    #[arg(long, conflicts_with = "report")]
    pub lint: bool,
    /// Print the schema of the report (`report --json`) instead.
    #[arg(long)]
    pub report: bool,
}

/// `report` options.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Usage over this many days, today (UTC) included. The audit log keeps
    /// 30 days with Entra ID P1/P2 (7 without).
    #[arg(long, value_name = "N", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=365))]
    pub days: u32,
    /// Print the report as JSON (`format_version` 1; schema: `ssprctl schema --report`).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the report as Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Also write the report as one self-contained HTML page (fleet summary,
    /// sortable tenant table, charts; no external resources) to FILE,
    /// readable by its owner only.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// With --html: each tenant's drift (changes, weakening changes,
    /// unreadable settings) from this saved plan (`plan --out`).
    #[arg(long, value_name = "PLANFILE", requires = "html")]
    pub plan: Option<PathBuf>,
}

/// `login` options.
#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Sign in to this tenant only (its `name` in the file); default: every
    /// tenant that manages a portal-backed setting.
    #[arg(long, value_name = "NAME")]
    pub tenant: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}
