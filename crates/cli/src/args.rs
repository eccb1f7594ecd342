//! Command-line arguments (clap derive): one struct per subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Self-service password reset and password writeback of Microsoft Entra ID, as code.
///
/// A YAML file says how each tenant should be set; `plan` shows what differs
/// from the live tenant, `apply` makes it so, and a scheduled
/// `plan --detailed-exitcode` detects drift.
///
/// Exit codes: 0 success / no changes, 1 error, 2 changes present (with
/// --detailed-exitcode), 3 a live read failed or an apply's writes were not
/// visible when read back yet (unknown, never reported as drift), 4 refused by
/// a safety gate.
#[derive(Debug, Parser)]
#[command(name = "ssprctl", version, about, long_about)]
pub struct Cli {
    /// When to colour output: the plan on stdout and the log lines on stderr
    /// (auto: each when it is a terminal).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Log level for diagnostics on stderr (error, warn, info, debug, trace).
    /// RUST_LOG overrides it.
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
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

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a desired-state file offline: schema and semantic rules, every
    /// problem with file:line:column.
    Validate(ConfigArgs),
    /// Read the live tenants and show what would change.
    Plan(PlanArgs),
    /// Apply a saved plan (refusing a stale or edited one), or plan, confirm, write what
    /// changed, then read back and verify. An object written whole is not
    /// written when a managed setting on it moved since the plan's read (exit 4);
    /// what other writers changed meanwhile is kept and reported.
    Apply(ApplyArgs),
    /// Render a saved plan file.
    Show(ShowArgs),
    /// Sign an administrator in for the portal surfaces (device code) and keep
    /// the refresh token in the user's config directory (owner-only file).
    Login(LoginArgs),
    /// Check each tenant's credentials, permissions, roles and surfaces.
    Doctor(DoctorArgs),
    /// Print the JSON Schema of the desired-state file (or, with --plan, of the
    /// plan format).
    Schema(SchemaArgs),
    /// Run the local emulator of the Entra ID endpoints until stopped.
    Emulator(EmulatorArgs),
}

/// The desired-state file.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The desired-state YAML file.
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Options that decide where tenants are read from.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Run every tenant against the built-in emulator (as if `endpoint: local`).
    #[arg(long)]
    pub local: bool,
    /// The built-in emulator's state file for `endpoint: local` tenants.
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".ssprctl/emulator-state.json"
    )]
    pub local_state: PathBuf,
    /// How many tenants to read (and apply) at a time.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub parallelism: usize,
}

/// How to print a plan.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Print the plan as JSON (the versioned format of docs/plan-format.md).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the plan as Markdown for a pull-request comment. On GitHub Actions
    /// it is also added to the job summary.
    #[arg(long)]
    pub markdown: bool,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Save the plan to FILE (owner-readable only) for `ssprctl apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing changes, 2 when something would change, 3 when
    /// nothing changes but a setting could not be read.
    #[arg(long)]
    pub detailed_exitcode: bool,
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
    /// directory; either way its digest must match the plan's.
    #[arg(short, long, value_name = "FILE", required_unless_present = "plan")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Apply without asking (for CI). Without it, apply asks for "yes" on a
    /// terminal and refuses when there is none. A saved plan is not asked again.
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow changes that weaken security (marked "weakening" in the plan).
    #[arg(long)]
    pub allow_weakening: bool,
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

/// `emulator` options.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8400")]
    pub listen: SocketAddr,
    /// State file: tenants, their settings, app registrations and admins.
    /// Created on first write.
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

/// `schema` options.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the schema of the plan format (`plan --json`, `plan --out`) instead.
    #[arg(long)]
    pub plan: bool,
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
    pub target: TargetArgs,
}
