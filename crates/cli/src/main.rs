//! The `ssprctl` command: argument parsing, rendering and exit codes. The only
//! crate that prints; it exits once, from `main`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod targets;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use ssprctl_model::{Config, LoadError};
use ssprctl_plan::Plan;
use ssprctl_plan::render::{self, RenderOpts};
use ssprctl_provider::{HttpProvider, Provider};

use args::{ApplyArgs, Cli, ColorChoice, Command, ConfigArgs, EmulatorArgs, PlanArgs};

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
            Command::Schema => {
                print!("{}", ssprctl_model::schema::config_schema_json());
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
    let mut source = err.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn load(args: &ConfigArgs) -> std::result::Result<Config, LoadError> {
    ssprctl_model::load_file(&args.config)
}

fn validate(args: &ConfigArgs) -> Result<Exit> {
    let config = load(args)?;
    println!(
        "{} is valid: {} tenant{}.",
        args.config.display(),
        config.tenants.len(),
        if config.tenants.len() == 1 { "" } else { "s" }
    );
    Ok(Exit::Ok)
}

async fn make_plan(config: &Config, provider: &HttpProvider) -> Plan {
    let mut observed = Vec::new();
    for tenant in &config.tenants {
        observed.push(provider.read(tenant).await);
    }
    let pairs: Vec<_> = config.tenants.iter().zip(observed.iter()).collect();
    ssprctl_plan::plan(&pairs)
}

async fn plan(args: &PlanArgs, color: bool) -> Result<Exit> {
    let config = load(&args.config)?;
    let session = targets::Session::start(&config, &args.target).await?;
    let plan = make_plan(&config, &session.provider).await;
    print!("{}", render::human(&plan, &RenderOpts { color }));
    session.stop().await;
    Ok(if args.detailed_exitcode && plan.change_count() > 0 {
        Exit::Changes
    } else if plan.has_unknown() {
        Exit::Unknown
    } else {
        Exit::Ok
    })
}

async fn apply(args: &ApplyArgs, color: bool) -> Result<Exit> {
    let config = load(&args.config)?;
    let session = targets::Session::start(&config, &args.target).await?;
    let exit = apply_with(args, color, &config, &session.provider).await;
    session.stop().await;
    exit
}

async fn apply_with(
    args: &ApplyArgs,
    color: bool,
    config: &Config,
    provider: &HttpProvider,
) -> Result<Exit> {
    let plan = make_plan(config, provider).await;
    print!("{}", render::human(&plan, &RenderOpts { color }));
    if plan.has_blocking_findings() {
        eprintln!("error: the plan has errors (above); nothing was applied.");
        return Ok(Exit::Refused);
    }
    if plan.change_count() == 0 {
        return Ok(if plan.has_unknown() {
            Exit::Unknown
        } else {
            Exit::Ok
        });
    }
    if !args.auto_approve {
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
    let outcomes = ssprctl_apply::apply(&plan, &config.tenants, provider).await;
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
                let mut source = std::error::Error::source(e);
                while let Some(cause) = source {
                    eprintln!("  caused by: {cause}");
                    source = cause.source();
                }
                if written.is_empty() {
                    eprintln!("  nothing was written to {}.", outcome.name);
                } else {
                    eprintln!(
                        "  already written to {}: {}.",
                        outcome.name,
                        written.join(", ")
                    );
                }
            }
        }
    }
    Ok(if failed {
        Exit::Error
    } else if plan.has_unknown() {
        Exit::Unknown
    } else {
        Exit::Ok
    })
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
