//! The `ssprctl` command: argument dispatch, views (human, JSON, Markdown) and
//! the mapping of outcomes to exit codes. Everything else (reading tenants,
//! planning, saved-plan checks, gates, apply) is `ssprctl-engine`. The only
//! crate that prints; it exits once, from `main`.

/// mimalloc instead of the system allocator: a plan of thousands of tenants
/// spends about a third of its CPU time in glibc's malloc and free, and its
/// per-thread arenas fragment (see the README's benchmark). Tuned by
/// [`ssprctl_alloc::return_freed_memory_promptly`], first thing in `main`.
#[global_allocator]
static GLOBAL: ssprctl_alloc::MiMalloc = ssprctl_alloc::MiMalloc;

mod args;
mod doctor;
mod lint;
mod out;
mod progress;
mod report;
mod report_html;
mod shell;

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Parser;
use ssprctl_engine::journal::Kind;
use ssprctl_engine::{
    ApplyInputs, ApplyReport, EngineError, Journal, Prepared, Refusal, Session, SettingState, Stop,
    Targets, apply_inputs,
};
use ssprctl_model::{Config, LoadError};
use ssprctl_plan::Plan;
use ssprctl_plan::render::{self, RenderOpts};

use args::{
    ApplyArgs, Cli, ColorChoice, Command, ConfigArgs, DEFAULT_CONFIG, DoctorArgs, EmulatorArgs,
    ExportArgs, FormatArgs, LintArgs, LintFormat, LoginArgs, MergeArgs, PlanArgs, ReportArgs,
    RollbackArgs, ShowArgs, TargetArgs,
};
use out::{errln, escape_controls, escape_lines, out, outln};

/// The exit codes, defined once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    Ok = 0,
    Error = 1,
    Changes = 2,
    Unknown = 3,
    Refused = 4,
    Interrupted = 130,
    Terminated = 143,
}

/// A signal that interrupts an apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// How a command ended, before it becomes an exit code in [`exit_code`].
#[derive(Debug)]
enum Outcome {
    /// Done, nothing more to say.
    Done,
    /// A plan was made or shown.
    Planned {
        /// It has changes.
        changes: bool,
        /// A setting could not be read.
        unknown: bool,
        /// `--detailed-exitcode` was given.
        detailed: bool,
        /// A preflight error would make apply refuse the plan.
        blocking: bool,
    },
    /// An apply ran (or had nothing to do).
    Applied {
        /// A tenant's apply failed.
        failed: bool,
        /// A surface was refused: a managed setting moved since the plan's read.
        refused: bool,
        /// A setting could not be read.
        unknown: bool,
    },
    /// A safety gate refused; nothing was written.
    Refused(Refusal),
    /// An apply was interrupted by a signal (its account is printed and journaled).
    Interrupted(Signal),
    /// `doctor` found problems.
    Unhealthy,
    /// A live read failed, so nothing was exported (reported already).
    ExportUnknown,
    /// A lint ran.
    Linted {
        /// A finding at warning level or above (not accepted).
        fails: bool,
        /// A rule's setting could not be read (`--live`).
        unknown: bool,
    },
    /// A report was printed.
    Reported {
        /// A part of a tenant could not be read.
        unknown: bool,
    },
    /// An error, already reported.
    Failed,
}

/// The one mapping of outcomes to exit codes: 0 success / no changes,
/// 1 error (a plan with a blocking preflight error included, after it is
/// printed, with or without `--detailed-exitcode`), 2 changes (with
/// --detailed-exitcode) or lint findings at warning or above, 3 unknown (a read
/// failed, or an apply's writes were not visible yet), 4 refused (a gate, or a
/// managed setting that moved before a full-object write), 130 / 143 an apply
/// interrupted by SIGINT / SIGTERM (whatever else its account says).
fn exit_code(outcome: &Outcome) -> Exit {
    match outcome {
        Outcome::Done => Exit::Ok,
        Outcome::Planned { blocking: true, .. } => Exit::Error,
        Outcome::Planned {
            changes: true,
            detailed: true,
            ..
        } => Exit::Changes,
        Outcome::Planned { unknown: true, .. } => Exit::Unknown,
        Outcome::Planned { .. } => Exit::Ok,
        Outcome::Applied { failed: true, .. } => Exit::Error,
        Outcome::Applied { refused: true, .. } => Exit::Refused,
        Outcome::Applied { unknown: true, .. } => Exit::Unknown,
        Outcome::Applied { .. } => Exit::Ok,
        Outcome::Linted { fails: true, .. } => Exit::Changes,
        Outcome::Linted { unknown: true, .. } => Exit::Unknown,
        Outcome::Linted { .. } => Exit::Ok,
        Outcome::Reported { unknown: true } => Exit::Unknown,
        Outcome::Reported { unknown: false } => Exit::Ok,
        Outcome::Refused(_) => Exit::Refused,
        Outcome::ExportUnknown => Exit::Unknown,
        Outcome::Interrupted(Signal::Interrupt) => Exit::Interrupted,
        Outcome::Interrupted(Signal::Terminate) => Exit::Terminated,
        Outcome::Unhealthy | Outcome::Failed => Exit::Error,
    }
}

/// What the binary itself could not do (the engine's errors are its own).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// `--out FILE` could not be written.
    #[error("cannot write the plan to {}", .path.display())]
    WritePlan {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `export --out FILE` could not be written.
    #[error("cannot write the export to {}", .path.display())]
    WriteExport {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `report --html FILE` could not be written.
    #[error("cannot write the HTML report to {}", .path.display())]
    WriteHtml {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The GitHub job summary could not be appended to.
    #[error("cannot write the job summary {}", .path.display())]
    WriteSummary {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The directory of the emulator's `--state` file could not be created.
    #[error("cannot create the directory {} of the state file", .path.display())]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing to stdout failed (a closed pipe is not a failure).
    #[error("cannot write to stdout")]
    Stdout {
        #[source]
        source: std::io::Error,
    },
    /// The answer to the confirmation could not be read.
    #[error("cannot read the answer from the terminal")]
    Stdin {
        #[source]
        source: std::io::Error,
    },
}

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;

fn main() -> ExitCode {
    ssprctl_alloc::return_freed_memory_promptly();
    let cli = Cli::parse();
    let wants_color = |is_terminal: bool| match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    };
    init_logging(
        cli.log_level.directive(),
        wants_color(std::io::stderr().is_terminal()),
    );
    let color = wants_color(std::io::stdout().is_terminal());
    let progress = progress::Reporter::new(cli.no_progress, std::io::stderr().is_terminal());
    let threads = cli
        .threads
        .map_or_else(|| default_threads(&cli.command), usize::from);
    let runtime = match runtime(threads) {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the async runtime");
            errln!("  caused by: {e}");
            return ExitCode::from(exit_code(&Outcome::Failed) as u8);
        }
    };
    let outcome = runtime.block_on(async {
        let command = async {
            match cli.command {
                Command::Validate(a) => validate(&a),
                Command::Plan(a) => plan(&a, color, &progress).await,
                Command::Lint(a) => run_lint(&a, color).await,
                Command::Apply(a) => apply(&a, color, &progress).await,
                Command::Show(a) => show(&a, color),
                Command::Merge(a) => merge(&a, color),
                Command::Rollback(a) => rollback(&a, color).await,
                Command::Login(a) => login(&a).await,
                Command::Doctor(a) => run_doctor(&a).await,
                Command::Export(a) => export(&a).await,
                Command::Report(a) => run_report(&a).await,
                Command::Schema(a) => if a.plan {
                    out!("{}", ssprctl_plan::plan_schema_json())
                } else if a.journal {
                    out!("{}", ssprctl_engine::journal::journal_schema_json())
                } else if a.lint {
                    out!("{}", ssprctl_plan::lint_schema_json())
                } else if a.report {
                    out!("{}", ssprctl_engine::report::report_schema_json())
                } else {
                    out!("{}", ssprctl_model::schema::config_schema_json())
                }
                .map(|()| Outcome::Done)
                .map_err(Error::from),
                Command::Emulator(a) => emulator(&a).await,
                Command::Completions(a) => shell::completions(a.shell),
                Command::Man(a) => shell::man(a.dir.as_deref()),
            }
        };
        // A second signal during an apply ends the command at once (its
        // journal already closed); see `watch_signals`.
        let result = tokio::select! {
            result = command => result,
            signal = exit_at_once() => Ok(Outcome::Interrupted(signal)),
        };
        let outcome = result.unwrap_or_else(failed);
        if let Outcome::Refused(refusal) = &outcome {
            render_refusal(refusal);
        }
        outcome
    });
    if let Outcome::Interrupted(_) = outcome {
        // Requests still in flight are not waited for.
        runtime.shutdown_timeout(Duration::from_millis(500));
    }
    ExitCode::from(exit_code(&outcome) as u8)
}

/// How many threads run `command` when `--threads` is not given: one for
/// the commands that only read or print (a plan of 10,000 tenants is paced by
/// Graph's quota, and one thread keeps up with it on less CPU and memory:
/// no work stealing, no cross-thread wake-ups, one allocator heap), one per
/// core for those that write or serve.
fn default_threads(command: &Command) -> usize {
    match command {
        Command::Apply(_) | Command::Rollback(_) | Command::Emulator(_) => {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }
        Command::Validate(_)
        | Command::Plan(_)
        | Command::Lint(_)
        | Command::Show(_)
        | Command::Merge(_)
        | Command::Login(_)
        | Command::Doctor(_)
        | Command::Export(_)
        | Command::Report(_)
        | Command::Schema(_)
        | Command::Completions(_)
        | Command::Man(_) => 1,
    }
}

/// The async runtime: on the main thread alone for one thread, else with
/// `threads` worker threads.
fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

/// Set by a second signal during an apply: the command ends at once.
static EXIT_AT_ONCE: tokio::sync::Notify = tokio::sync::Notify::const_new();
/// The signal that asked for it.
static EXIT_SIGNAL: OnceLock<Signal> = OnceLock::new();

/// Completes when a second signal asks to exit at once, with that signal.
async fn exit_at_once() -> Signal {
    loop {
        EXIT_AT_ONCE.notified().await;
        if let Some(signal) = EXIT_SIGNAL.get() {
            return *signal;
        }
    }
}

/// Logs go to stderr, coloured only when `ansi` (from `--color` and whether
/// stderr is a terminal).
fn init_logging(level: &str, ansi: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// A command's error: a refusal, or an error reported here.
fn failed(err: Error) -> Outcome {
    let err = match err.downcast::<EngineError>() {
        Ok(engine) => match *engine {
            EngineError::Refused { refusal } => return Outcome::Refused(refusal),
            other => Box::new(other) as Error,
        },
        Err(err) => err,
    };
    let err = match err.downcast::<Refusal>() {
        Ok(refusal) => return Outcome::Refused(*refusal),
        Err(err) => err,
    };
    report(&*err);
    Outcome::Failed
}

/// Prints an error and its chain of causes to stderr, control characters escaped.
fn report(err: &(dyn std::error::Error + 'static)) {
    let problems = match err.downcast_ref::<EngineError>() {
        Some(EngineError::Load {
            source: LoadError::Invalid { problems, .. },
        }) => Some(problems),
        _ => match err.downcast_ref::<LoadError>() {
            Some(LoadError::Invalid { problems, .. }) => Some(problems),
            _ => None,
        },
    };
    for p in problems.into_iter().flatten() {
        errln!("error: {}", escape_lines(&p.to_string()));
    }
    errln!("error: {}", escape_controls(&err.to_string()));
    print_causes(err);
}

/// Prints the chain of causes below an error already printed.
fn print_causes(err: &(dyn std::error::Error + 'static)) {
    let mut source = err.source();
    while let Some(cause) = source {
        errln!("  caused by: {}", escape_controls(&cause.to_string()));
        source = cause.source();
    }
}

/// Prints why a gate refused, with what to do next.
fn render_refusal(refusal: &Refusal) {
    match refusal {
        Refusal::PlanEdited { differences } => {
            errln!("error: refusing to apply: {refusal}");
            for d in differences {
                errln!("  - {}", escape_controls(&d.to_string()));
            }
            errln!("  Plan again, review, and apply the new plan.");
        }
        Refusal::Stale { moved, differences } => {
            errln!("error: refusing to apply: {refusal}");
            for m in moved {
                errln!("  - {}", escape_controls(m));
            }
            for d in differences {
                errln!("  - {}", escape_controls(&d.to_string()));
            }
            errln!("  Plan again, review, and apply the new plan.");
        }
        Refusal::ChangedSince { settings } => {
            errln!("error: {refusal}");
            for s in settings {
                errln!("  - {}", escape_controls(s));
            }
            errln!(
                "  Review the live values; to set values anyway, write them in the desired-state file and apply it."
            );
        }
        Refusal::ToolVersion { .. }
        | Refusal::ConfigChanged { .. }
        | Refusal::ConfigOutsideWorkdir { .. } => {
            errln!(
                "error: refusing to apply: {}",
                escape_controls(&refusal.to_string())
            );
        }
        Refusal::Declined => {
            let _ = outln!("Apply cancelled; nothing was changed.");
        }
        Refusal::Weakening { .. }
        | Refusal::BlockingFindings { .. }
        | Refusal::NeedsConfirmation
        | Refusal::NotLoopback { .. } => errln!("error: {refusal}"),
    }
}

fn targets(args: &TargetArgs) -> Targets {
    Targets {
        local: args.local,
        local_state: args.local_state.clone(),
        parallelism: args.parallelism,
        client: ssprctl_provider::ClientOptions {
            graph_budget: args.graph_budget,
            write_budget: args.graph_write_budget,
            priority: match args.throttle_priority {
                args::ThrottlePriorityArg::Low => ssprctl_provider::ThrottlePriority::Low,
                args::ThrottlePriorityArg::Normal => ssprctl_provider::ThrottlePriority::Normal,
            },
            request_timeout: std::time::Duration::from_secs(args.request_timeout),
            tenant_deadline: std::time::Duration::from_secs(args.tenant_deadline),
        },
    }
}

fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().map_err(|source| EngineError::WorkDir { source }.into())
}

/// Today (UTC, `YYYY-MM-DD`): the day accepted exceptions are judged
/// against. Read once per command; the libraries take it as a value.
fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

fn validate(args: &ConfigArgs) -> Result<Outcome> {
    let config = ssprctl_model::load_file(&args.config)?;
    for w in config.warnings(&today()) {
        errln!("warning: {}", escape_lines(&w.to_string()));
    }
    outln!(
        "{} is valid: {} tenant{}.",
        args.config.display(),
        config.tenants.len(),
        if config.tenants.len() == 1 { "" } else { "s" }
    )?;
    Ok(Outcome::Done)
}

/// Prints a plan in the chosen format.
fn print_plan(plan: &Plan, format: &FormatArgs, color: bool) -> Result<()> {
    if format.json {
        // One copy of the text, however large the plan (no second `format!`).
        let mut text = serde_json::to_string_pretty(plan)?;
        text.push('\n');
        out::write_out(&text)?;
    } else if format.markdown {
        let md = ssprctl_plan::markdown::markdown_with(
            plan,
            &ssprctl_plan::markdown::MarkdownOpts {
                limit: format.markdown_limit,
            },
        );
        out!("{md}")?;
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            let path = PathBuf::from(summary);
            append(&path, md.as_bytes())
                .map_err(|source| CliError::WriteSummary { path, source })?;
        }
    } else {
        print_human(plan, color, format.group)?;
    }
    Ok(())
}

/// The human plan, printed as it is rendered (a fleet's is megabytes of
/// text); a selection with no tenant (an empty shard) says so.
fn print_human(plan: &Plan, color: bool, group: bool) -> Result<()> {
    match &plan.selection {
        Some(selection) if plan.tenants.is_empty() => match selection.shard {
            Some(shard) => out!("No tenants in shard {shard}.\n")?,
            None => out!("No tenants selected.\n")?,
        },
        _ => render::human_in_pieces(plan, &RenderOpts { color, group }, out::write_out)?,
    }
    Ok(())
}

fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(bytes)
}

async fn plan(args: &PlanArgs, color: bool, progress: &progress::Reporter) -> Result<Outcome> {
    let config = ssprctl_model::load_file(&args.config.config)?;
    let (config, selection) = ssprctl_engine::select::select(config, &args.select.select())?;
    let config = std::sync::Arc::new(config);
    let cwd = current_dir()?;
    let targets = targets(&args.target);
    let session = Session::start(&config, &targets).await?;
    let mut plan = ssprctl_engine::make_plan(
        &config,
        &args.config.config,
        &cwd,
        &session.provider,
        targets.parallelism,
        progress,
    )
    .await;
    session.stop().await?;
    plan.selection = selection;
    print_plan(&plan, &args.format, color)?;
    if let Some(out) = &args.out {
        write_private(out, &serde_json::to_vec_pretty(&plan)?).map_err(|source| {
            CliError::WritePlan {
                path: out.clone(),
                source,
            }
        })?;
        errln!(
            "Saved the plan to {}; apply exactly this plan with: ssprctl apply {}",
            out.display(),
            out.display()
        );
    }
    Ok(Outcome::Planned {
        changes: plan.change_count() > 0,
        unknown: plan.has_unknown(),
        detailed: args.detailed_exitcode,
        blocking: plan.has_blocking_findings(),
    })
}

async fn run_lint(args: &LintArgs, color: bool) -> Result<Outcome> {
    let config = ssprctl_model::load_file(&args.config.config)?;
    let (config, _) = ssprctl_engine::select::select(config, &args.select.select())?;
    let today = today();
    for w in config.warnings(&today) {
        errln!("warning: {}", escape_lines(&w.to_string()));
    }
    let report = if args.live {
        let targets = targets(&args.target);
        let session = Session::start(&config, &targets).await?;
        let report =
            ssprctl_engine::lint_live(&config, &session.provider, targets.parallelism, &today)
                .await;
        session.stop().await?;
        report
    } else {
        ssprctl_engine::lint_desired(&config, &today)
    };
    let format = if args.json {
        LintFormat::Json
    } else {
        args.format
    };
    match format {
        LintFormat::Human => out!("{}", lint::human(&report, color))?,
        LintFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?)?,
        LintFormat::Sarif => {
            // Code scanning wants the file relative to the repository root,
            // which is where the workflow runs; a file outside the working
            // directory is named by an absolute file URI.
            let recorded = ssprctl_engine::planning::recorded_config_path(
                &args.config.config,
                &current_dir()?,
            )
            .replace('\\', "/");
            let uri = if Path::new(&recorded).is_absolute() {
                format!(
                    "file:///{}",
                    recorded.trim_start_matches('/').replace(' ', "%20")
                )
            } else {
                recorded
            };
            out!(
                "{}",
                lint::sarif(&report, &uri, ssprctl_engine::TOOL_VERSION)?
            )?
        }
    }
    Ok(Outcome::Linted {
        fails: report.fails(),
        unknown: report.has_unknown(),
    })
}

/// Writes a file readable by its owner only (plans name tenants and settings).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)
}

fn show(args: &ShowArgs, color: bool) -> Result<Outcome> {
    let plan = ssprctl_engine::read_plan(&args.plan)?;
    print_plan(&plan, &args.format, color)?;
    Ok(Outcome::Done)
}

/// `merge`: the shards' plans as one, with one exit code as
/// `plan --detailed-exitcode` gives it.
fn merge(args: &MergeArgs, color: bool) -> Result<Outcome> {
    use ssprctl_engine::merge::PlanFile;
    let files = args
        .plans
        .iter()
        .map(|path| {
            ssprctl_engine::read_plan(path).map(|plan| PlanFile {
                path: path.clone(),
                plan,
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let plan = ssprctl_engine::merge::merge(&files).map_err(EngineError::from)?;
    print_plan(&plan, &args.format, color)?;
    let tenants = plan.tenants.len();
    match plan.merged.as_ref().and_then(|m| m.shards) {
        Some(n) => errln!(
            "Merged shards 1/{n} to {n}/{n}: {tenants} tenant{}.",
            if tenants == 1 { "" } else { "s" }
        ),
        None => errln!(
            "Merged {} plans: {tenants} tenant{}.",
            files.len(),
            if tenants == 1 { "" } else { "s" }
        ),
    }
    Ok(Outcome::Planned {
        changes: plan.change_count() > 0,
        unknown: plan.has_unknown(),
        detailed: true,
        blocking: plan.has_blocking_findings(),
    })
}

/// `--config` when given, else SSPRCTL_CONFIG, else ./ssprctl.yaml (for the
/// commands whose `--config` clap cannot default).
fn config_or_default(given: Option<&Path>) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("SSPRCTL_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
}

/// Whether a file given where a saved plan goes is a desired-state file
/// instead: named .yaml/.yml, or YAML text with a `tenants:` key (a plan is JSON).
fn looks_like_desired_state(path: &Path) -> bool {
    let yaml_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    yaml_name
        || std::fs::read_to_string(path).is_ok_and(|text| {
            !text.trim_start().starts_with('{') && text.lines().any(|l| l.starts_with("tenants:"))
        })
}

/// What `apply` works from: the arguments, else ./ssprctl.yaml if it exists.
fn apply_config(args: &ApplyArgs) -> Result<Option<PathBuf>> {
    if let Some(plan) = &args.plan {
        if looks_like_desired_state(plan) {
            let name = escape_controls(&plan.display().to_string());
            return Err(format!(
                "{name} is a desired-state file, not a saved plan: use `ssprctl apply --config {name}` \
                 (or save a plan with `ssprctl plan --config {name} --out PLANFILE` and apply that)"
            )
            .into());
        }
        return Ok(args.config.clone());
    }
    let config = config_or_default(args.config.as_deref());
    if args.config.is_none() && config == Path::new(DEFAULT_CONFIG) && !config.is_file() {
        return Err(format!(
            "apply needs a saved plan or a desired-state file: `ssprctl apply PLANFILE` (a plan \
             saved with `ssprctl plan --out PLANFILE`) or `ssprctl apply --config FILE` (no \
             --config or SSPRCTL_CONFIG given, and no ./{DEFAULT_CONFIG} here)"
        )
        .into());
    }
    Ok(Some(config))
}

async fn apply(args: &ApplyArgs, color: bool, progress: &progress::Reporter) -> Result<Outcome> {
    let cwd = current_dir()?;
    let config = apply_config(args)?;
    let inputs = apply_inputs(
        args.plan.as_deref(),
        config.as_deref(),
        &cwd,
        &args.select.select(),
    )?;
    let targets = targets(&args.target);
    let session = Session::start(&inputs.config, &targets).await?;
    let result = async {
        let prepared = ssprctl_engine::prepare_apply(
            &inputs,
            &cwd,
            &session.provider,
            targets.parallelism,
            progress,
        )
        .await?;
        let plan = &prepared.plan;
        print_human(plan, color, false)?;
        ssprctl_engine::check_gates(plan, args.allow_weakening)?;
        if plan.change_count() == 0 {
            return Ok(Outcome::Applied {
                failed: false,
                refused: false,
                unknown: plan.has_unknown(),
            });
        }
        // A saved plan was confirmed by its review; it is not asked again.
        if !args.auto_approve && inputs.saved.is_none() {
            confirm()?;
        }
        outln!()?;
        let journal = Journaled {
            dir: &args.journal.journal_dir,
            kind: Kind::Apply,
            rolls_back: None,
        };
        run_apply(
            &prepared,
            &inputs.config,
            &session,
            targets.parallelism,
            journal,
            progress,
        )
        .await
    }
    .await;
    after_stop(result, session.stop().await)
}

/// A command's result once its session has stopped: if the local emulator
/// could not save its state, the command fails (after what it printed), and
/// if the command failed too, that error is printed here and the command's
/// own error is returned.
fn after_stop(
    result: Result<Outcome>,
    stopped: std::result::Result<(), ssprctl_engine::SessionError>,
) -> Result<Outcome> {
    match (result, stopped) {
        (result, Ok(())) => result,
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(err), Err(e)) => {
            report(&e);
            Err(err)
        }
    }
}

/// How long writes in flight, and the reads back, may take after a first
/// SIGINT or SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

/// Where and as what an apply is journaled.
struct Journaled<'a> {
    dir: &'a Path,
    kind: Kind,
    rolls_back: Option<String>,
}

/// Writes a plan that passed the gates (and was confirmed), journaled: the
/// journal is created (its prior values fsync'd) before any write, or the
/// apply does not start. A first SIGINT/SIGTERM stops new writes (see
/// [`watch_signals`]); the account is printed and journaled.
async fn run_apply(
    prepared: &Prepared,
    config: &Config,
    session: &Session,
    parallelism: usize,
    journaled: Journaled<'_>,
    progress: &dyn ssprctl_engine::Progress,
) -> Result<Outcome> {
    let stop = Stop::new(GRACE);
    let seen = Arc::new(OnceLock::new());
    let signals = Signals::listen()?;
    let journal = Arc::new(Journal::create(
        journaled.dir,
        &prepared.plan,
        journaled.kind,
        journaled.rolls_back,
    )?);
    let watcher = tokio::spawn(watch_signals(
        signals,
        stop.clone(),
        Arc::clone(&journal),
        Arc::clone(&seen),
    ));
    let report = ssprctl_engine::execute_journaled(
        prepared,
        config,
        &session.provider,
        parallelism,
        &journal,
        &stop,
        progress,
    )
    .await;
    let finished = journal.finish(&report);
    watcher.abort();
    // The local emulator's state file is written behind: saved before the
    // account says anything succeeded, a failure reported after it.
    let saved = session.flush().await;
    print_report(&report)?;
    outln!(
        "Journal: {} (undo with: ssprctl rollback {} --config FILE)",
        escape_controls(&journal.path().display().to_string()),
        escape_controls(&journal.path().display().to_string())
    )?;
    finished?;
    saved?;
    Ok(match seen.get() {
        Some(signal) => Outcome::Interrupted(*signal),
        None => Outcome::Applied {
            failed: report.failed(),
            refused: report.refused(),
            unknown: prepared.plan.has_unknown() || report.has_unknown(),
        },
    })
}

/// The signals that interrupt an apply, listened for from before its first
/// write (from then on they no longer end the process by themselves).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Signal::Interrupt,
                _ = self.terminate.recv() => Signal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }
}

/// The first signal asks the apply to stop (no new write; writes in flight
/// and the reads back get [`GRACE`]); the second closes the journal with an
/// account saying so and ends the command at once ([`exit_at_once`]), which
/// exits with the signal's exit code.
async fn watch_signals(
    mut signals: Signals,
    stop: Stop,
    journal: Arc<Journal>,
    seen: Arc<OnceLock<Signal>>,
) {
    let first = signals.next().await;
    let _ = seen.set(first);
    stop.stop(first.name());
    errln!(
        "\n{}: starting no new write; waiting up to {}s for writes in flight, then reading back. Press Ctrl-C again to exit at once.",
        first.name(),
        GRACE.as_secs()
    );
    let second = signals.next().await;
    let path = escape_controls(&journal.path().display().to_string());
    match journal.abort(second.name()) {
        Ok(()) => errln!(
            "{}: exiting at once; settings being written are unknown. Journal: {path}",
            second.name()
        ),
        Err(e) => errln!("{}: exiting at once; error: {e}", second.name()),
    }
    let _ = EXIT_SIGNAL.set(second);
    EXIT_AT_ONCE.notify_one();
}

async fn rollback(args: &RollbackArgs, color: bool) -> Result<Outcome> {
    let cwd = current_dir()?;
    let journal = ssprctl_engine::journal::read(&args.journal)?;
    let config = ssprctl_model::load_file(&args.config)?;
    let targets = targets(&args.target);
    let session = Session::start(&config, &targets).await?;
    let result = async {
        let rollback = ssprctl_engine::rollback::prepare(
            &journal,
            &config,
            &session.provider,
            targets.parallelism,
        )
        .await?;
        for note in &rollback.notes {
            errln!("note: {}", escape_controls(note));
        }
        let Some(text) = rollback.desired else {
            outln!("Nothing to roll back: no setting of the journal has the value that apply wrote.")?;
            return Ok(Outcome::Done);
        };
        let desired_path = match &args.out {
            Some(out) => {
                let path = desired_file(out);
                write_private(&path, text.as_bytes()).map_err(|source| CliError::WritePlan {
                    path: path.clone(),
                    source,
                })?;
                path
            }
            None => args.config.clone(),
        };
        let inputs = ApplyInputs {
            config: ssprctl_model::load_str(&desired_path.display().to_string(), &text)?.into(),
            selection: None,
            config_path: desired_path.clone(),
            saved: None,
        };
        let prepared =
            ssprctl_engine::prepare_apply(
                &inputs,
                &cwd,
                &session.provider,
                targets.parallelism,
                &ssprctl_engine::NoProgress,
            )
            .await?;
        let plan = &prepared.plan;
        let opts = RenderOpts {
            color,
            group: false,
        };
        render::human_in_pieces(plan, &opts, out::write_out)?;
        if let Some(out) = &args.out {
            write_private(out, &serde_json::to_vec_pretty(plan)?).map_err(|source| {
                CliError::WritePlan {
                    path: out.clone(),
                    source,
                }
            })?;
            errln!(
                "Saved the rollback plan to {} and its desired state to {}; apply exactly this plan with: ssprctl apply {}",
                out.display(),
                desired_path.display(),
                out.display()
            );
            return Ok(Outcome::Planned {
                changes: plan.change_count() > 0,
                unknown: plan.has_unknown(),
                detailed: false,
                blocking: false,
            });
        }
        ssprctl_engine::check_gates(plan, args.allow_weakening)?;
        if plan.change_count() == 0 {
            return Ok(Outcome::Applied {
                failed: false,
                refused: false,
                unknown: plan.has_unknown(),
            });
        }
        if !args.auto_approve {
            confirm()?;
        }
        outln!()?;
        let journaled = Journaled {
            dir: &args.journal_dir.journal_dir,
            kind: Kind::Rollback,
            rolls_back: Some(journal.start.id.clone()),
        };
        run_apply(
            &prepared,
            &inputs.config,
            &session,
            targets.parallelism,
            journaled,
            &ssprctl_engine::NoProgress,
        )
        .await
    }
    .await;
    after_stop(result, session.stop().await)
}

/// Where `rollback --out FILE` saves the desired state its plan is made from.
fn desired_file(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".desired.yaml");
    PathBuf::from(name)
}

/// Asks for "yes" on the terminal.
fn confirm() -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Refusal::NeedsConfirmation.into());
    }
    out!("\nApply these changes? Only 'yes' will be accepted: ")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|source| CliError::Stdin { source })?;
    if answer.trim() != "yes" {
        return Err(Refusal::Declined.into());
    }
    Ok(())
}

/// One line per tenant applied; for a failed tenant, the error and the state
/// of every planned setting (on stderr); then what other writers changed.
fn print_report(report: &ApplyReport) -> Result<()> {
    if let Some(signal) = &report.interrupted {
        errln!(
            "Interrupted by {}: no write was started after it. What is live now, per planned setting:",
            escape_controls(signal)
        );
    }
    for tenant in &report.tenants {
        let name = escape_controls(&tenant.name);
        let Some(e) = &tenant.error else {
            let count = tenant.settings.len();
            outln!(
                "{name}: applied {count} change{}, verified by reading back.",
                if count == 1 { "" } else { "s" }
            )?;
            print_concurrent(&name, &tenant.concurrent);
            continue;
        };
        errln!("error: tenant {name}: {}", escape_controls(&e.to_string()));
        print_causes(e);
        let when = match e {
            ssprctl_engine::ApplyError::Write { .. } | ssprctl_engine::ApplyError::Moved { .. } => {
                Some("after the failure")
            }
            ssprctl_engine::ApplyError::Verify { .. }
            | ssprctl_engine::ApplyError::NotVisible { .. } => Some("after the apply"),
            ssprctl_engine::ApplyError::Stopped { .. } => Some("after the stop"),
            ssprctl_engine::ApplyError::UnknownTenant { .. } => None,
        };
        match when {
            Some(when) => {
                errln!("  {name} {when} (read back):");
                for s in &tenant.settings {
                    match &s.state {
                        SettingState::Applied => errln!("    applied: {}", s.path),
                        SettingState::NotApplied => errln!("    not applied: {}", s.path),
                        SettingState::Unknown { reason } => {
                            errln!("    unknown: {} ({})", s.path, escape_controls(reason))
                        }
                    }
                }
            }
            None => errln!("  nothing was written to {name}."),
        }
        if !tenant.written.is_empty() {
            let written: Vec<&str> = tenant.written.iter().map(|a| a.label()).collect();
            errln!("  written to {name}: {}.", written.join(", "));
        }
        print_concurrent(&name, &tenant.concurrent);
    }
    if report.tenants.len() > 1 {
        outln!("{}", apply_summary(report))?;
    }
    Ok(())
}

/// The closing line of an apply of several tenants: how many were written
/// and verified, not applied (refused: a managed setting moved), failed, and
/// left with a setting whose state is unknown.
fn apply_summary(report: &ApplyReport) -> String {
    use ssprctl_plan::group::thousands;
    let (mut written, mut refused, mut failed, mut unknown) = (0, 0, 0, 0);
    for t in &report.tenants {
        let mut unknown_setting = t
            .settings
            .iter()
            .any(|s| matches!(s.state, SettingState::Unknown { .. }));
        match &t.error {
            None => written += 1,
            Some(ssprctl_engine::ApplyError::Moved { .. }) => refused += 1,
            Some(ssprctl_engine::ApplyError::NotVisible { .. }) => unknown_setting = true,
            Some(_) => failed += 1,
        }
        if unknown_setting {
            unknown += 1;
        }
    }
    format!(
        "{} tenants with changes: {} written and verified, {} not applied (refused), {} failed, {} with settings unknown.",
        thousands(report.tenants.len()),
        thousands(written),
        thousands(refused),
        thousands(failed),
        thousands(unknown)
    )
}

/// Changes by other writers to settings the file does not manage, on the
/// full-object surfaces written (stderr: they need a look).
fn print_concurrent(name: &str, concurrent: &[ssprctl_engine::Concurrent]) {
    for c in concurrent {
        let ch = &c.change;
        let (field, before, after) = (&ch.field, &ch.before, &ch.after);
        let line = match c.seen {
            ssprctl_engine::Seen::BeforeWrite => {
                format!("{field}: {before} -> {after} (changed since the plan was read; kept)")
            }
            ssprctl_engine::Seen::Overwritten => format!(
                "{field}: another writer's {after} was replaced with {before} by this apply (a lost update: set it again if it was wanted)"
            ),
        };
        errln!(
            "warning: {name}: concurrent change on {}: {}",
            ch.api,
            escape_controls(&line)
        );
    }
}

async fn login(args: &LoginArgs) -> Result<Outcome> {
    let config = ssprctl_model::load_file(&args.config.config)?;
    let session = Session::start(&config, &targets(&args.target)).await?;
    let result = ssprctl_engine::doctor::login(&config, &session, &args.tenant, |message| {
        errln!("{}", escape_lines(message))
    })
    .await;
    session.stop().await?;
    out!("{}", escape_lines(&doctor::render_login(&result?)))?;
    Ok(Outcome::Done)
}

async fn run_doctor(args: &DoctorArgs) -> Result<Outcome> {
    let config = ssprctl_model::load_file(&args.config.config)?;
    let (config, _) = ssprctl_engine::select::select(config, &args.select.select())?;
    let session = Session::start(&config, &targets(&args.target)).await?;
    let report = ssprctl_engine::doctor::doctor(&config, &session).await;
    session.stop().await?;
    out!("{}", escape_lines(&doctor::render_doctor(&report)))?;
    Ok(if report.healthy() {
        Outcome::Done
    } else {
        Outcome::Unhealthy
    })
}

async fn export(args: &ExportArgs) -> Result<Outcome> {
    use ssprctl_engine::export::{self, ExportError, ExportOptions};
    let default_config = match (&args.config, &args.tenant_id) {
        (None, None) => Some(config_or_default(None)),
        _ => None,
    };
    let (config, source) = match (
        args.config.as_ref().or(default_config.as_ref()),
        &args.tenant_id,
        &args.endpoint,
    ) {
        (Some(path), _, _) => (
            ssprctl_model::load_file(path)?,
            format!("the tenants of {}", path.display()),
        ),
        (None, Some(id), Some(endpoint)) => (
            // A bad --name is listed like a file's problems.
            export::command_line_tenant(&args.name, id, endpoint).map_err(|e| match e {
                ExportError::Tenant { source } => Error::from(source),
                other => Error::from(other),
            })?,
            format!("tenant {id} at {endpoint}"),
        ),
        (None, _, _) => {
            return Err("export needs --config FILE, or --tenant-id ID with --endpoint".into());
        }
    };
    let source = if args.target.local {
        format!("{source} (run against the built-in emulator: --local)")
    } else {
        source
    };
    let options = ExportOptions {
        all_settings: args.all_settings,
        omit_defaults: args.omit_defaults,
        schema: args.schema.clone(),
        source,
        exported_at: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    };
    let targets = targets(&args.target);
    let session = Session::start(&config, &targets).await?;
    let result = export::export(&config, &session.provider, targets.parallelism, &options).await;
    session.stop().await?;
    let exported = match result {
        Ok(exported) => exported,
        Err(ExportError::Unreadable { failures }) => {
            for f in &failures {
                for u in &f.surfaces {
                    errln!(
                        "error: tenant {}: cannot read {}: {}",
                        escape_controls(&f.tenant),
                        u.api.label(),
                        escape_controls(&u.reason)
                    );
                }
            }
            errln!("error: {}", ExportError::Unreadable { failures });
            return Ok(Outcome::ExportUnknown);
        }
        Err(e) => return Err(e.into()),
    };
    for l in &exported.left_out {
        errln!(
            "warning: tenant {}: {} left out (unmanaged): {}",
            escape_controls(&l.tenant),
            l.path,
            escape_controls(&l.reason)
        );
    }
    match &args.out {
        Some(path) => {
            write_private(path, exported.yaml.as_bytes()).map_err(|source| {
                CliError::WriteExport {
                    path: path.clone(),
                    source,
                }
            })?;
            errln!(
                "Exported {} tenant{} to {}; review it, then: ssprctl plan --config {}",
                exported.tenants,
                if exported.tenants == 1 { "" } else { "s" },
                path.display(),
                path.display()
            );
        }
        None => out!("{}", exported.yaml)?,
    }
    Ok(Outcome::Done)
}

async fn run_report(args: &ReportArgs) -> Result<Outcome> {
    use ssprctl_engine::report::{Readout, ReportOptions};
    let config = ssprctl_model::load_file(&args.config.config)?;
    let (config, _) = ssprctl_engine::select::select(config, &args.select.select())?;
    // The saved plan is read before any tenant is, so a bad path fails fast.
    let plan = match &args.plan {
        Some(path) => Some(ssprctl_engine::read_plan(path)?),
        None => None,
    };
    let now = jiff::Timestamp::now();
    let options = ReportOptions {
        days: args.days,
        today: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
        generated_at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let targets = targets(&args.target);
    let session = Session::start(&config, &targets).await?;
    let made =
        ssprctl_engine::report::report(&config, &session.provider, targets.parallelism, &options)
            .await;
    session.stop().await?;
    for t in &made.tenants {
        let parts = [
            ("coverage", unknown_reason(&t.coverage)),
            ("usage", unknown_reason(&t.usage)),
        ];
        for (part, reason) in parts {
            if let Some(reason) = reason {
                errln!(
                    "warning: tenant {}: {part} unknown: {}",
                    escape_controls(&t.name),
                    escape_controls(reason)
                );
            }
        }
    }
    fn unknown_reason<T>(r: &Readout<T>) -> Option<&str> {
        match r {
            Readout::Unknown { reason } => Some(reason),
            Readout::Known { .. } => None,
        }
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&made)?)?;
    } else if args.markdown {
        out!("{}", report::markdown(&made))?;
    } else {
        out!("{}", report::human(&made))?;
    }
    if let Some(path) = &args.html {
        write_private(path, report_html::html(&made, plan.as_ref()).as_bytes()).map_err(
            |source| CliError::WriteHtml {
                path: path.clone(),
                source,
            },
        )?;
        errln!("Wrote the HTML report to {}", path.display());
    }
    Ok(Outcome::Reported {
        unknown: made.has_unknown(),
    })
}

async fn emulator(args: &EmulatorArgs) -> Result<Outcome> {
    if !args.listen.ip().is_loopback() {
        return Ok(Outcome::Refused(Refusal::NotLoopback {
            address: args.listen.to_string(),
        }));
    }
    let state_file = ssprctl_engine::state_file(&args.state);
    if let Some(dir) = state_file
        .as_deref()
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| CliError::StateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let handle = ssprctl_emulator::spawn(ssprctl_emulator::Options {
        listen: args.listen,
        state_file: state_file.clone(),
        auto_create_tenants: !args.no_auto_tenants,
    })
    .await?;
    // Listening for signals before the address is printed: whoever reads it
    // may stop the emulator at once, and must find it saving on SIGTERM.
    let mut signals = Signals::listen()?;
    // A reader that goes away must not stop the emulator: write errors of
    // stdout are dropped by `out`.
    let _ = outln!("ssprctl emulator listening on {}", handle.base_url());
    let _ = match &state_file {
        Some(path) => outln!(
            "state file: {} (written at most every {} ms, and on exit)",
            escape_controls(&path.display().to_string()),
            ssprctl_emulator::WRITE_INTERVAL.as_millis()
        ),
        None => outln!("state: in memory only (--state none); nothing is saved"),
    };
    let signal = signals.next().await;
    tracing::info!(signal = signal.name(), "stopping the emulator");
    // The last changes are saved before the state file's lock is released.
    handle.close().await?;
    Ok(Outcome::Done)
}
