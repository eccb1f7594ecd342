//! The `ssprctl` command: argument parsing, rendering and exit codes. The only
//! crate that prints; it exits once, from `main`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod doctor;
mod targets;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use ssprctl_model::{Config, LoadError};
use ssprctl_plan::render::{self, RenderOpts};
use ssprctl_plan::{Plan, PlanMeta, readiness};
use ssprctl_provider::{HttpProvider, Provider};

use args::{
    ApplyArgs, Cli, ColorChoice, Command, ConfigArgs, DoctorArgs, EmulatorArgs, FormatArgs,
    LoginArgs, PlanArgs, ShowArgs,
};

/// The exit codes (DESIGN.md), defined once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    Ok = 0,
    Error = 1,
    Changes = 2,
    Unknown = 3,
    Refused = 4,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_level);
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Error as u8);
        }
    };
    let exit = runtime.block_on(async {
        let result = match cli.command {
            Command::Validate(a) => validate(&a),
            Command::Plan(a) => plan(&a, color).await,
            Command::Apply(a) => apply(&a, color).await,
            Command::Show(a) => show(&a, color),
            Command::Login(a) => login(&a).await,
            Command::Doctor(a) => run_doctor(&a).await,
            Command::Schema(a) => {
                if a.plan {
                    print!("{}", ssprctl_plan::plan_schema_json());
                } else {
                    print!("{}", ssprctl_model::schema::config_schema_json());
                }
                Ok(Exit::Ok)
            }
            Command::Emulator(a) => emulator(&a).await,
        };
        result.unwrap_or_else(|err| {
            report(&*err);
            Exit::Error
        })
    });
    ExitCode::from(exit as u8)
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Prints an error and its chain of causes to stderr.
fn report(err: &(dyn std::error::Error + 'static)) {
    if let Some(LoadError::Invalid { problems, .. }) = err.downcast_ref::<LoadError>() {
        for p in problems {
            eprintln!("error: {p}");
        }
    }
    eprintln!("error: {err}");
    print_causes(err);
}

/// Prints the chain of causes below an error already printed.
fn print_causes(err: &(dyn std::error::Error + 'static)) {
    let mut source = err.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}

/// The exit code of a run that changed nothing more: unknown settings are
/// not success (exit 3), never drift.
fn settled(plan: &Plan) -> Exit {
    if plan.has_unknown() {
        Exit::Unknown
    } else {
        Exit::Ok
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn validate(args: &ConfigArgs) -> Result<Exit> {
    let config = ssprctl_model::load_file(&args.config)?;
    println!(
        "{} is valid: {} tenant{}.",
        args.config.display(),
        config.tenants.len(),
        if config.tenants.len() == 1 { "" } else { "s" }
    );
    Ok(Exit::Ok)
}

/// Reads every tenant, up to `parallelism` at a time, and plans.
async fn make_plan(
    config: &Config,
    config_path: &Path,
    provider: &HttpProvider,
    parallelism: usize,
) -> Plan {
    use futures_util::StreamExt;
    let observed: Vec<_> = futures_util::stream::iter(&config.tenants)
        .map(|tenant| provider.read(tenant))
        .buffered(parallelism.max(1))
        .collect()
        .await;
    let pairs: Vec<_> = config.tenants.iter().zip(observed.iter()).collect();
    let meta = PlanMeta {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        config_digest: config.digest.clone(),
        config_path: config_path.display().to_string(),
        created_at: jiff::Timestamp::now().to_string(),
    };
    let mut plan = ssprctl_plan::plan(&pairs, &meta);
    // Readiness: only when a plan changes who may reset or how many methods;
    // read concurrently like the tenants themselves.
    let figures: Vec<Option<Vec<String>>> =
        futures_util::stream::iter(plan.tenants.iter().zip(pairs.iter()))
            .map(|(tp, (tenant, observed))| async move {
                if !readiness::needed(tp) {
                    return None;
                }
                let groups = readiness::groups_needed(tp, observed);
                Some(match provider.population(tenant, &groups).await {
                    Ok(population) => readiness::readiness(tp, observed, &population),
                    Err(e) => vec![format!("figures unavailable: {e}")],
                })
            })
            .buffered(parallelism.max(1))
            .collect()
            .await;
    for (tp, lines) in plan.tenants.iter_mut().zip(figures) {
        if let Some(lines) = lines {
            tp.readiness = lines;
        }
    }
    plan
}

/// Prints a plan in the chosen format.
fn print_plan(plan: &Plan, format: &FormatArgs, color: bool) -> Result<()> {
    if format.json {
        println!("{}", serde_json::to_string_pretty(plan)?);
    } else if format.markdown {
        let md = ssprctl_plan::markdown::markdown(plan);
        print!("{md}");
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(summary)?;
            f.write_all(md.as_bytes())?;
        }
    } else {
        print!("{}", render::human(plan, &RenderOpts { color }));
    }
    Ok(())
}

async fn plan(args: &PlanArgs, color: bool) -> Result<Exit> {
    let config = ssprctl_model::load_file(&args.config.config)?;
    let session = targets::Session::start(&config, &args.target).await?;
    let plan = make_plan(
        &config,
        &args.config.config,
        &session.provider,
        args.target.parallelism,
    )
    .await;
    session.stop().await;
    print_plan(&plan, &args.format, color)?;
    if let Some(out) = &args.out {
        write_private(out, &serde_json::to_vec_pretty(&plan)?)?;
        eprintln!(
            "Saved the plan to {}; apply exactly this plan with: ssprctl apply {}",
            out.display(),
            out.display()
        );
    }
    Ok(if args.detailed_exitcode && plan.change_count() > 0 {
        Exit::Changes
    } else {
        settled(&plan)
    })
}

/// Writes a file readable by its owner only (plans name tenants and settings).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
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
    f.write_all(bytes)?;
    Ok(())
}

fn read_plan(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read plan {}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a plan file: {e}", path.display()))?;
    let version = value
        .get("format_version")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    let major = |v: &str| v.split('.').next().unwrap_or_default().to_string();
    if major(version) != major(ssprctl_plan::FORMAT_VERSION) {
        return Err(format!(
            "{} has plan format {version}; this ssprctl reads {}",
            path.display(),
            ssprctl_plan::FORMAT_VERSION
        )
        .into());
    }
    Ok(serde_json::from_value(value)
        .map_err(|e| format!("{} is not a valid plan: {e}", path.display()))?)
}

fn show(args: &ShowArgs, color: bool) -> Result<Exit> {
    let plan = read_plan(&args.plan)?;
    print_plan(&plan, &args.format, color)?;
    Ok(Exit::Ok)
}

async fn apply(args: &ApplyArgs, color: bool) -> Result<Exit> {
    let saved = args.plan.as_deref().map(read_plan).transpose()?;
    let config_path: PathBuf = match (&args.config, &saved) {
        (Some(c), _) => c.clone(),
        (None, Some(p)) => PathBuf::from(&p.config_path),
        (None, None) => return Err("apply needs --config FILE or a saved plan".into()),
    };
    let config = ssprctl_model::load_file(&config_path)?;
    if let Some(plan) = &saved
        && let Some(reason) = saved_plan_mismatch(plan, &config)
    {
        eprintln!(
            "error: refusing to apply {}: {reason}",
            args.plan.as_deref().unwrap_or(Path::new("")).display()
        );
        return Ok(Exit::Refused);
    }
    let session = targets::Session::start(&config, &args.target).await?;
    let exit = apply_with(args, color, &config, &config_path, saved, &session.provider).await;
    session.stop().await;
    exit
}

/// Why a saved plan does not belong to this tool and configuration, if it does not.
fn saved_plan_mismatch(plan: &Plan, config: &Config) -> Option<String> {
    if plan.tool_version != env!("CARGO_PKG_VERSION") {
        return Some(format!(
            "it was made by ssprctl {}, this is {}; plan again",
            plan.tool_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    if plan.config_digest != config.digest {
        return Some("the desired-state file changed since the plan was made; plan again".into());
    }
    for tp in &plan.tenants {
        match config.tenants.iter().find(|t| t.name == tp.name) {
            Some(t) if t.tenant_id == tp.tenant_id => {}
            _ => {
                return Some(format!(
                    "tenant {} ({}) is not in the desired-state file",
                    tp.name, tp.tenant_id
                ));
            }
        }
    }
    None
}

async fn apply_with(
    args: &ApplyArgs,
    color: bool,
    config: &Config,
    config_path: &Path,
    saved: Option<Plan>,
    provider: &HttpProvider,
) -> Result<Exit> {
    let from_file = saved.is_some();
    let plan = match saved {
        Some(plan) => {
            if let Err(stale) = ssprctl_apply::check_fresh(
                &plan,
                &config.tenants,
                provider,
                args.target.parallelism,
            )
            .await
            {
                eprintln!("error: refusing to apply: {stale}");
                for m in &stale.moved {
                    eprintln!("  - {m}");
                }
                eprintln!("  Plan again, review, and apply the new plan.");
                return Ok(Exit::Refused);
            }
            plan
        }
        None => make_plan(config, config_path, provider, args.target.parallelism).await,
    };
    print!("{}", render::human(&plan, &RenderOpts { color }));
    if plan.has_blocking_findings() {
        eprintln!("error: the plan has errors (above); nothing was applied.");
        return Ok(Exit::Refused);
    }
    if plan.change_count() == 0 {
        return Ok(settled(&plan));
    }
    let weakening = plan.weakening_count();
    if weakening > 0 && !args.allow_weakening {
        eprintln!(
            "error: the plan has {weakening} weakening change{} (marked above); nothing was applied. Pass --allow-weakening to apply them.",
            if weakening == 1 { "" } else { "s" }
        );
        return Ok(Exit::Refused);
    }
    if !args.auto_approve && !from_file {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: apply needs confirmation: run it on a terminal, or pass --auto-approve."
            );
            return Ok(Exit::Refused);
        }
        print!("\nApply these changes? Only 'yes' will be accepted: ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("Apply cancelled; nothing was changed.");
            return Ok(Exit::Refused);
        }
    }
    println!();
    let outcomes =
        ssprctl_apply::apply(&plan, &config.tenants, provider, args.target.parallelism).await;
    let mut failed = false;
    for outcome in &outcomes {
        let count = plan
            .tenants
            .iter()
            .find(|t| t.name == outcome.name)
            .map_or(0, |t| t.changes.len());
        match &outcome.error {
            None => println!(
                "{}: applied {count} change{}, verified by reading back.",
                outcome.name,
                if count == 1 { "" } else { "s" }
            ),
            Some(e) => {
                failed = true;
                let written: Vec<&str> = outcome.written.iter().map(|a| a.label()).collect();
                eprintln!("error: tenant {}: {e}", outcome.name);
                print_causes(e);
                if let ssprctl_apply::ApplyError::Write { after_failure, .. } = e {
                    eprintln!("  {} after the failure (read back):", outcome.name);
                    for line in after_failure {
                        eprintln!("    {line}");
                    }
                } else if written.is_empty() {
                    eprintln!("  nothing was written to {}.", outcome.name);
                } else {
                    eprintln!("  written to {}: {}.", outcome.name, written.join(", "));
                }
            }
        }
    }
    Ok(if failed { Exit::Error } else { settled(&plan) })
}

async fn login(args: &LoginArgs) -> Result<Exit> {
    let config = ssprctl_model::load_file(&args.config.config)?;
    let session = targets::Session::start(&config, &args.target).await?;
    let result = doctor::login(&config, &session, &args.tenant, |name| {
        session.hosts.get(name).cloned()
    })
    .await;
    session.stop().await;
    print!("{}", result?);
    Ok(Exit::Ok)
}

async fn run_doctor(args: &DoctorArgs) -> Result<Exit> {
    let config = ssprctl_model::load_file(&args.config.config)?;
    let session = targets::Session::start(&config, &args.target).await?;
    let (report, healthy) = doctor::doctor(&config, &session).await;
    session.stop().await;
    print!("{report}");
    Ok(if healthy { Exit::Ok } else { Exit::Error })
}

async fn emulator(args: &EmulatorArgs) -> Result<Exit> {
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "error: the emulator listens on loopback only; {} is not a loopback address",
            args.listen
        );
        return Ok(Exit::Refused);
    }
    if let Some(dir) = args.state.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let handle = ssprctl_emulator::spawn(ssprctl_emulator::Options {
        listen: args.listen,
        state_file: Some(args.state.clone()),
        auto_create_tenants: !args.no_auto_tenants,
    })
    .await?;
    // A reader that goes away must not stop the emulator: ignore write errors.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ssprctl emulator listening on {}", handle.base_url());
    let _ = writeln!(out, "state file: {}", args.state.display());
    let _ = out.flush();
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(Exit::Ok)
}
