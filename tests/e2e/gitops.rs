//! Saved plans, the stale-plan guard, risk gates, exit codes, machine and PR output.

use serde_json::{Value, json};

use crate::support::{CONTOSO, Env, repo};

fn yaml(body: &str) -> String {
    format!(
        "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n{body}"
    )
}

const METHODS_2: &str = "      selfServicePasswordReset:\n        methodsRequired: 2\n        methods: { email: true, mobilePhone: true }\n";

#[test]
fn a_saved_plan_is_applied_exactly_and_owner_readable_only() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(METHODS_2));
    let cfg = cfg.to_str().expect("utf-8");
    let plan = env.run(&["plan", "--config", cfg, "--out", "p.json"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let path = env.dir.path().join("p.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("plan file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(
        saved["tenants"][0]["changes"][0]["path"],
        "selfServicePasswordReset.methodsRequired"
    );
    assert!(
        saved["tenants"][0]["prior"]["portalPasswordReset"]
            .as_str()
            .is_some_and(|d| d.len() == 64)
    );

    env.clear_requests();
    let apply = env.run(&["apply", "p.json"]);
    assert_eq!(
        apply.code,
        0,
        "a saved plan needs no second confirmation:\n{}",
        apply.transcript()
    );
    assert_eq!(
        env.writes(),
        vec![(
            "PUT".to_string(),
            "/api/PasswordReset/PasswordResetPolicies".to_string()
        )]
    );
    let (_, live) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    assert_eq!(live["numberOfAuthenticationMethodsRequired"], 2);

    let show = env.run(&["show", "p.json"]);
    assert_eq!(show.code, 0);
    assert!(
        show.stdout
            .contains("~ selfServicePasswordReset.methodsRequired: 1 -> 2"),
        "{}",
        show.stdout
    );
}

#[test]
fn a_stale_plan_is_refused_naming_what_moved() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(METHODS_2));
    let plan = env.run(&[
        "plan",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--out",
        "p.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    // Someone changes the tenant in the portal after the review.
    let (_, mut live) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    live["emailOptionEnabled"] = json!(false);
    let (status, _) = env.call(
        CONTOSO,
        "PUT",
        "/api/PasswordReset/PasswordResetPolicies",
        Some(live),
    );
    assert_eq!(status, 200);
    env.clear_requests();
    let apply = env.run(&["apply", "p.json"]);
    assert_eq!(apply.code, 4, "{}", apply.transcript());
    assert!(
        apply.stderr.contains("the plan is stale"),
        "{}",
        apply.stderr
    );
    assert!(
        apply
            .stderr
            .contains("portal PasswordResetPolicies changed since the plan was made: selfServicePasswordReset.methods.email now differs too (live false)"),
        "{}",
        apply.stderr
    );
    assert!(
        env.writes().is_empty(),
        "nothing written: {:?}",
        env.writes()
    );
}

#[test]
fn a_plan_of_another_config_is_refused() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(METHODS_2));
    env.run(&[
        "plan",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--out",
        "p.json",
    ]);
    env.config(
        "c.yaml",
        &yaml("      administratorPasswordReset:\n        enabled: false\n"),
    );
    let apply = env.run(&["apply", "p.json"]);
    assert_eq!(apply.code, 4, "{}", apply.transcript());
    assert!(
        apply
            .stderr
            .contains("the desired-state file changed since the plan was made"),
        "{}",
        apply.stderr
    );
}

#[test]
fn weakening_changes_need_allow_weakening() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml("      administratorPasswordReset:\n        enabled: true\n      passwordProtection:\n        lockoutThreshold: 20\n"));
    let cfg = cfg.to_str().expect("utf-8");
    let refused = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(refused.code, 4, "{}", refused.transcript());
    assert!(
        refused
            .stdout
            .contains("! weakening: more password guesses before lockout"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains("--allow-weakening"),
        "{}",
        refused.stderr
    );
    assert!(env.writes().is_empty());
    let allowed = env.run(&[
        "apply",
        "--config",
        cfg,
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(allowed.code, 0, "{}", allowed.transcript());
}

#[test]
fn drift_unknown_and_clean_have_distinct_exit_codes() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(METHODS_2));
    let cfg = cfg.to_str().expect("utf-8");
    assert_eq!(
        env.run(&["plan", "--config", cfg, "--detailed-exitcode"])
            .code,
        2,
        "drift"
    );
    assert_eq!(
        env.run(&["apply", "--config", cfg, "--auto-approve"]).code,
        0
    );
    assert_eq!(
        env.run(&["plan", "--config", cfg, "--detailed-exitcode"])
            .code,
        0,
        "clean"
    );

    // A tenant in the public cloud without credentials: every read fails.
    let cloud = env.dir.path().join("cloud.yaml");
    std::fs::write(
        &cloud,
        yaml(METHODS_2).replace("endpoint: local", "endpoint: public"),
    )
    .expect("write");
    let run = env.run(&[
        "plan",
        "--config",
        cloud.to_str().expect("utf-8"),
        "--detailed-exitcode",
    ]);
    assert_eq!(run.code, 3, "unknown, not drift:\n{}", run.transcript());
    assert!(
        run.stdout
            .contains("No changes found, but not every managed setting could be read."),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("The live settings match"),
        "nothing read is not a match:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("SSPRCTL_PORTAL_REFRESH_TOKEN"),
        "says how to sign in:\n{}",
        run.stdout
    );
    // The preflight finding for the missing portal credential, in the JSON plan too.
    assert!(
        run.stdout.contains(
            "warning: selfServicePasswordReset: portal PasswordResetPolicies: no credential"
        ),
        "{}",
        run.stdout
    );
    let json = env.run(&["plan", "--config", cloud.to_str().expect("utf-8"), "--json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("json");
    let checks: Vec<&str> = plan["tenants"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert!(checks.contains(&"portal-credential"), "{checks:?}");
}

#[test]
fn json_plan_validates_against_the_published_schema() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let run = env.run(&["plan", "--config", cfg.to_str().expect("utf-8"), "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan: Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/plan.schema.json")).expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::draft7::new(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(plan["format_version"], "1.2");
    assert_eq!(
        plan["tenants"][0]["changes"].as_array().map(Vec::len),
        Some(13)
    );
}

#[test]
fn markdown_plan_for_a_pull_request() {
    let env = Env::new();
    let cfg = env.config(
        "c.yaml",
        &yaml("      selfServicePasswordReset:\n        methodsRequired: 2\n        registration: { reconfirmAfterDays: 0 }\n      administratorPasswordReset:\n        enabled: false\n      passwordProtection:\n        bannedPasswords: [contoso, fabrikam]\n"),
    );
    let summary = env.dir.path().join("summary.md");
    let out = env.run_env(
        &[
            "plan",
            "--config",
            cfg.to_str().expect("utf-8"),
            "--markdown",
        ],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8"))],
    );
    let md = out.stdout.clone();
    assert!(md.starts_with("<!-- ssprctl-plan -->"));
    assert!(md.contains(":warning: **1 weakening change**"), "{md}");
    assert_eq!(
        std::fs::read_to_string(&summary).expect("job summary written"),
        md
    );
    insta::assert_snapshot!("markdown_plan", md);
}
