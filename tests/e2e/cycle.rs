//! plan -> apply -> plan converges.

use crate::support::{CONTOSO, Env, run_in};

const FABRIKAM: &str = "0b7e4f1a-8c2d-4a6b-9e3f-5d1c7a9b2e40";

fn converges(example: &str) -> Env {
    converges_in(Env::new(), example, &[])
}

/// plan, apply (with `apply_flags`), plan again: no changes.
fn converges_in(env: Env, example: &str, apply_flags: &[&str]) -> Env {
    let cfg = env.example(example);
    let cfg = cfg.to_str().expect("utf-8 path");

    let plan = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "changes expected:\n{}", plan.transcript());
    assert!(plan.stdout.contains("Plan: "), "{}", plan.stdout);

    let mut args = vec!["apply", "--config", cfg, "--auto-approve"];
    args.extend_from_slice(apply_flags);
    let apply = env.run(&args);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(
        apply.stdout.contains("verified by reading back"),
        "{}",
        apply.stdout
    );

    let again = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "converged:\n{}", again.transcript());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    env
}

#[test]
fn quickstart_plan_shows_each_change_then_converges() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8 path");
    let plan = env.run(&["plan", "--config", cfg]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    // Invariant beside the snapshot: the fresh tenant differs in these many settings.
    assert!(
        plan.stdout.contains("Plan: 13 to change in 1 of 1 tenant."),
        "{}",
        plan.stdout
    );
    insta::assert_snapshot!("quickstart_plan", plan.transcript());
    drop(env);
    converges("quickstart.yaml");
}

#[test]
fn pilot_rollout_resolves_the_group_by_name_and_converges() {
    let env = converges("pilot-rollout.yaml");
    let (_, live) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    assert_eq!(live["enablementType"], 1);
    let ids = live["passwordResetEnabledGroupIds"]
        .as_array()
        .expect("ids");
    assert_eq!(ids.len(), 1);
}

#[test]
fn hybrid_writeback_converges() {
    let env = Env::with_state(Some(crate::support::hybrid_state(FABRIKAM)));
    // Writeback, unlock without reset and office-phone resets are weakening
    // (docs/settings.md): the example turns them on deliberately.
    converges_in(env, "hybrid-writeback.yaml", &["--allow-weakening"]);
}

#[test]
fn cis_baseline_applies_without_preflight_warnings_and_converges() {
    // Licensed for the whole population, so no seats warning either.
    let env = Env::with_state(Some(crate::support::licensed_state(
        crate::support::CONTOSO,
        1000,
    )));
    let text = std::fs::read_to_string(crate::support::repo().join("examples/baselines/cis.yaml"))
        .expect("example exists");
    let cfg = env.config("cis.yaml", &text);
    let cfg = cfg.to_str().expect("utf-8 path");
    let plan = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "changes expected:\n{}", plan.transcript());
    assert!(!plan.stdout.contains("warning:"), "{}", plan.stdout);
    let apply = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let again = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "converged:\n{}", again.transcript());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert!(
        !again.stdout.contains("lint:"),
        "the baseline lints clean: {}",
        again.stdout
    );
}

#[test]
fn msp_baseline_converges_for_every_tenant() {
    let env = Env::new();
    let cfg = env.example("msp-baseline.yaml");
    let cfg = cfg.to_str().expect("utf-8 path");
    let plan = env.run(&["plan", "--config", cfg]);
    assert!(plan.stdout.contains("in 3 of 3 tenants"), "{}", plan.stdout);
    insta::assert_snapshot!("msp_plan", plan.transcript());
    let apply = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    for t in ["northwind", "tailspin", "woodgrove"] {
        assert!(
            apply.stdout.contains(&format!("{t}: applied")),
            "{}",
            apply.stdout
        );
    }
    // The override won over the baseline for tailspin only.
    let (_, tailspin) = env.call(
        "2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e",
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    let (_, northwind) = env.call(
        "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d",
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    assert_eq!(tailspin["numberOfAuthenticationMethodsRequired"], 1);
    assert_eq!(northwind["numberOfAuthenticationMethodsRequired"], 2);
    let again = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
}

#[test]
fn local_endpoint_runs_the_emulator_in_process_with_state_in_the_work_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("quickstart.yaml");
    std::fs::copy(
        crate::support::repo().join("examples/quickstart.yaml"),
        &cfg,
    )
    .expect("copy");
    let cfg = cfg.to_str().expect("utf-8 path");
    let plan = run_in(
        dir.path(),
        &["plan", "--config", cfg, "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    let apply = run_in(dir.path(), &["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(dir.path().join(".ssprctl/emulator-state.json").exists());
    let again = run_in(
        dir.path(),
        &["plan", "--config", cfg, "--detailed-exitcode"],
    );
    assert_eq!(
        again.code,
        0,
        "state persisted between runs:\n{}",
        again.transcript()
    );
}

#[test]
fn omitted_settings_are_left_alone() {
    let env = Env::new();
    let (_, before) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    let cfg = env.config(
        "one.yaml",
        &format!(
            "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n      selfServicePasswordReset:\n        registration:\n          reconfirmAfterDays: 30\n"
        ),
    );
    let apply = env.run(&[
        "apply",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--auto-approve",
    ]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(apply.stdout.contains("1 to change"), "{}", apply.stdout);
    let (_, after) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    let mut expected = before.clone();
    expected["registrationReconfirmIntevalInDays"] = 30.into();
    assert_eq!(after, expected, "only the managed field changed");
}

#[test]
fn ambiguous_group_name_blocks_apply() {
    let env = Env::new();
    let cfg = env.config(
        "dup.yaml",
        &format!(
            "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n      selfServicePasswordReset:\n        enabledFor: selected\n        group: {{ displayName: Duplicate Name }}\n"
        ),
    );
    let cfg = cfg.to_str().expect("utf-8");
    let plan = env.run(&["plan", "--config", cfg]);
    assert!(
        plan.stdout
            .contains("2 groups are named \"Duplicate Name\""),
        "{}",
        plan.stdout
    );
    let apply = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 4, "{}", apply.transcript());
    assert!(
        env.writes().is_empty(),
        "nothing written: {:?}",
        env.writes()
    );
}
