//! CLI ergonomics: the default desired-state file, a YAML file where a plan
//! goes, `apply` without arguments, log levels, unknown `login --tenant`
//! names, help texts that describe their own command, counts in plan output.

use std::path::Path;

use crate::support::{Isolated, repo};

/// A temporary working directory with `examples/<example>` copied in as `name`.
fn dir_with(example: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(repo().join("examples").join(example), dir.path().join(name)).expect("copy");
    dir
}

fn run(dir: &Path, args: &[&str]) -> crate::support::Run {
    Isolated::new(dir, &dir.join("home")).run(args)
}

#[test]
fn config_defaults_to_ssprctl_yaml_in_the_current_directory() {
    let dir = dir_with("quickstart.yaml", "ssprctl.yaml");
    let out = run(dir.path(), &["validate"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(
        out.stdout.contains("ssprctl.yaml is valid"),
        "{}",
        out.transcript()
    );
    // plan (and every other command with --config) uses it too.
    let out = run(dir.path(), &["plan"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(out.stdout.contains("contoso"), "{}", out.transcript());
    // export reads the default file's tenants when no --tenant-id is given.
    let out = run(dir.path(), &["export"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(out.stdout.contains("name: contoso"), "{}", out.transcript());
}

#[test]
fn ssprctl_config_names_the_file_and_config_overrides_it() {
    let dir = dir_with("quickstart.yaml", "fleet.yaml");
    let with_env = |args: &[&str]| {
        Isolated::new(dir.path(), &dir.path().join("home"))
            .env("SSPRCTL_CONFIG", "fleet.yaml")
            .run(args)
    };
    let out = with_env(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(
        out.stdout.contains("fleet.yaml is valid"),
        "{}",
        out.transcript()
    );
    let out = with_env(&["validate", "--config", "missing.yaml"]);
    assert_eq!(out.code, 1, "{}", out.transcript());
    assert!(out.stderr.contains("missing.yaml"), "{}", out.transcript());
}

#[test]
fn without_a_config_the_default_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(dir.path(), &["validate"]);
    assert_eq!(out.code, 1, "{}", out.transcript());
    assert!(out.stderr.contains("ssprctl.yaml"), "{}", out.transcript());
}

#[test]
fn a_yaml_file_where_the_plan_goes_points_to_config() {
    let dir = dir_with("quickstart.yaml", "quickstart.yaml");
    for args in [
        &["apply", "quickstart.yaml"][..],
        &["apply", "quickstart.yaml", "--auto-approve"][..],
    ] {
        let out = run(dir.path(), args);
        assert_eq!(out.code, 1, "{}", out.transcript());
        assert!(
            out.stderr
                .contains("not a saved plan: use `ssprctl apply --config quickstart.yaml`"),
            "{}",
            out.transcript()
        );
    }
    // Nothing was started: no emulator state was created.
    assert!(!dir.path().join(".ssprctl").exists());
}

#[test]
fn apply_without_arguments_shows_both_forms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(dir.path(), &["apply"]);
    assert_eq!(out.code, 1, "{}", out.transcript());
    assert!(
        out.stderr.contains("`ssprctl apply PLANFILE`"),
        "{}",
        out.transcript()
    );
    assert!(
        out.stderr.contains("`ssprctl apply --config FILE`"),
        "{}",
        out.transcript()
    );
}

#[test]
fn ssprctl_config_is_apply_s_default_file_but_not_a_saved_plan_s() {
    let dir = dir_with("quickstart.yaml", "fleet.yaml");
    let with_env = |config: &str, args: &[&str]| {
        Isolated::new(dir.path(), &dir.path().join("home"))
            .env("SSPRCTL_CONFIG", config)
            .run(args)
    };
    // No PLANFILE: SSPRCTL_CONFIG is the file (planned, then refused for want
    // of a terminal or --auto-approve).
    let out = with_env("fleet.yaml", &["apply"]);
    assert_eq!(out.code, 4, "{}", out.transcript());
    assert!(
        out.stderr.contains("--auto-approve"),
        "{}",
        out.transcript()
    );
    // A saved plan finds its own desired-state file, whatever SSPRCTL_CONFIG says.
    let out = run(
        dir.path(),
        &["plan", "--config", "fleet.yaml", "--out", "fleet.plan"],
    );
    assert_eq!(out.code, 0, "{}", out.transcript());
    let out = with_env("elsewhere.yaml", &["apply", "fleet.plan"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
}

#[test]
fn an_unknown_log_level_is_rejected_with_the_valid_ones() {
    let dir = dir_with("quickstart.yaml", "ssprctl.yaml");
    let out = run(dir.path(), &["--log-level", "verbose", "validate"]);
    assert_eq!(out.code, 2, "{}", out.transcript());
    for level in ["error", "warn", "info", "debug", "trace"] {
        assert!(out.stderr.contains(level), "{level}: {}", out.transcript());
    }
    let out = run(dir.path(), &["--log-level", "debug", "validate"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
}

#[test]
fn login_with_an_unknown_tenant_lists_the_file_s_tenants() {
    let dir = dir_with("quickstart.yaml", "ssprctl.yaml");
    let out = run(dir.path(), &["login", "--tenant", "fabrikam"]);
    assert_eq!(out.code, 1, "{}", out.transcript());
    assert!(
        out.stderr
            .contains("no tenant named fabrikam in the file; its tenants: contoso"),
        "{}",
        out.transcript()
    );
}

#[test]
fn help_of_commands_that_write_nothing_does_not_speak_of_applying() {
    let dir = tempfile::tempdir().expect("temp dir");
    for command in [
        "validate", "lint", "show", "login", "doctor", "export", "report", "schema", "emulator",
    ] {
        let out = run(dir.path(), &[command, "--help"]);
        assert_eq!(out.code, 0, "{}", out.transcript());
        let help = out.stdout.to_lowercase();
        assert!(!help.contains("(and apply)"), "{command}: {}", out.stdout);
        assert!(
            !help.contains("the plan on stdout"),
            "{command}: {}",
            out.stdout
        );
    }
    let out = run(dir.path(), &["login", "--help"]);
    assert!(
        !out.stdout.to_lowercase().contains("apply"),
        "{}",
        out.stdout
    );
    let out = run(dir.path(), &["rollback", "--help"]);
    assert!(
        !out.stdout.contains("journal of the apply here"),
        "{}",
        out.stdout
    );
}

#[test]
fn one_preflight_error_blocks_apply_in_the_singular() {
    let dir = dir_with("hybrid-writeback.yaml", "ssprctl.yaml");
    let out = run(dir.path(), &["plan"]);
    assert_eq!(out.code, 1, "{}", out.transcript());
    assert!(
        out.stdout.contains(" 1 error blocks apply."),
        "{}",
        out.transcript()
    );
    let out = run(dir.path(), &["plan", "--markdown"]);
    assert_eq!(out.code, 1, "{}", out.transcript());
    assert!(
        out.stdout.contains("**1 preflight error** blocks apply"),
        "{}",
        out.transcript()
    );
}
