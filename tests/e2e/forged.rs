//! A saved plan is a reviewed expectation, never an instruction: every edit of
//! a plan file between `plan --out` and `apply PLANFILE` is refused (exit 4)
//! with nothing written, and the gates use the recomputed plan.

use serde_json::{Value, json};

use crate::support::{CONTOSO, Env, Run};

fn yaml(body: &str) -> String {
    format!(
        "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n{body}"
    )
}

/// One strengthening change (methods required 1 -> 2) and one neutral one.
const TWO_CHANGES: &str = "      selfServicePasswordReset:\n        methodsRequired: 2\n        methods: { email: true, mobilePhone: true }\n        registration: { reconfirmAfterDays: 30 }\n";

/// Writes `c.yaml` (named relatively, so the plan records `c.yaml`), saves its
/// plan to `p.json` and returns the plan.
fn saved_plan(env: &Env, body: &str) -> Value {
    env.config("c.yaml", &yaml(body));
    let plan = env.run(&["plan", "--config", "c.yaml", "--out", "p.json"]);
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(env.dir.path().join("p.json")).expect("read plan"),
    )
    .expect("plan json");
    // A plan with a blocking preflight error is saved, and plan exits 1.
    let blocking = saved["tenants"][0]["findings"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f["severity"] == "error"));
    assert_eq!(
        plan.code,
        if blocking { 1 } else { 0 },
        "{}",
        plan.transcript()
    );
    assert_eq!(saved["config_path"], "c.yaml");
    saved
}

/// Saves `plan` as `p.json`.
fn save(env: &Env, plan: &Value) {
    std::fs::write(
        env.dir.path().join("p.json"),
        serde_json::to_vec_pretty(plan).expect("serialise"),
    )
    .expect("write plan");
}

/// Saves `plan` as `p.json`, applies it and checks it is refused with nothing
/// written; returns the run.
fn refused(env: &Env, plan: &Value, args: &[&str]) -> Run {
    save(env, plan);
    env.clear_requests();
    let mut all = vec!["apply", "p.json"];
    all.extend_from_slice(args);
    let run = env.run(&all);
    assert_eq!(run.code, 4, "refused:\n{}", run.transcript());
    assert!(
        env.writes().is_empty(),
        "nothing written: {:?}\n{}",
        env.writes(),
        run.transcript()
    );
    run
}

fn change_mut<'a>(plan: &'a mut Value, path: &str) -> &'a mut Value {
    plan["tenants"][0]["changes"]
        .as_array_mut()
        .expect("changes")
        .iter_mut()
        .find(|c| c["path"] == path)
        .expect("change exists")
}

fn assert_says(run: &Run, text: &str) {
    assert!(run.stderr.contains(text), "{text}:\n{}", run.transcript());
}

#[test]
fn an_edited_after_is_refused_naming_both_sides() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    change_mut(&mut plan, "selfServicePasswordReset.methodsRequired")["after"] = json!(1);
    let run = refused(&env, &plan, &[]);
    assert_says(
        &run,
        "tenant contoso: selfServicePasswordReset.methodsRequired: the plan says 1 -> 1, the configuration and live tenant give 1 -> 2",
    );
    assert_says(&run, "was the file edited?");
    assert_says(&run, "Plan again");
}

#[test]
fn an_edited_before_is_refused() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    change_mut(&mut plan, "selfServicePasswordReset.methodsRequired")["before"] = json!(3);
    let run = refused(&env, &plan, &[]);
    assert_says(
        &run,
        "selfServicePasswordReset.methodsRequired: the plan says 3 -> 2, the configuration and live tenant give 1 -> 2",
    );
}

#[test]
fn a_relabelled_weakening_change_still_needs_allow_weakening() {
    let env = Env::new();
    let mut plan = saved_plan(
        &env,
        "      passwordProtection:\n        lockoutThreshold: 20\n",
    );
    let change = change_mut(&mut plan, "passwordProtection.lockoutThreshold");
    assert_eq!(change["risk"], "weakening");
    change["risk"] = json!("strengthening");
    change["reason"] = json!("harmless");
    let run = refused(&env, &plan, &[]);
    assert_says(&run, "1 weakening change");
    assert_says(&run, "--allow-weakening");
    assert!(
        run.stdout
            .contains("! weakening: more password guesses before lockout"),
        "the recomputed labels are shown:\n{}",
        run.stdout
    );
}

#[test]
fn a_removed_blocking_finding_still_blocks() {
    let env = Env::new();
    let mut plan = saved_plan(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: selected\n        group: { displayName: Duplicate Name }\n",
    );
    let findings = plan["tenants"][0]["findings"]
        .as_array_mut()
        .expect("findings");
    assert!(
        findings.iter().any(|f| f["severity"] == "error"),
        "{findings:?}"
    );
    findings.clear();
    let run = refused(&env, &plan, &["--allow-weakening"]);
    assert_says(&run, "the plan has errors");
}

#[test]
fn an_edited_prior_digest_is_refused() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    plan["tenants"][0]["prior"]["portalPasswordReset"] = json!("0".repeat(64));
    let run = refused(&env, &plan, &[]);
    assert_says(&run, "the plan is stale");
    assert_says(
        &run,
        "contoso: portal PasswordResetPolicies changed since the plan was made",
    );
}

#[test]
fn an_added_change_is_refused() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    plan["tenants"][0]["changes"]
        .as_array_mut()
        .expect("changes")
        .push(json!({
            "path": "administratorPasswordReset.enabled",
            "api": "graphAuthorizationPolicy",
            "action": "update",
            "before": true,
            "after": false,
            "risk": "neutral",
            "reason": "routine"
        }));
    let run = refused(&env, &plan, &[]);
    assert_says(
        &run,
        "tenant contoso: administratorPasswordReset.enabled: the plan says true -> false, the configuration and live tenant give no change",
    );
}

#[test]
fn a_removed_change_is_refused() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    let changes = plan["tenants"][0]["changes"]
        .as_array_mut()
        .expect("changes");
    assert_eq!(changes.len(), 2, "{changes:?}");
    changes.retain(|c| c["path"] != "selfServicePasswordReset.methodsRequired");
    let run = refused(&env, &plan, &[]);
    assert_says(
        &run,
        "tenant contoso: selfServicePasswordReset.methodsRequired: the plan has no change, the configuration and live tenant give 1 -> 2",
    );
}

#[test]
fn an_added_or_renamed_tenant_is_refused() {
    let env = Env::new();
    let original = saved_plan(&env, TWO_CHANGES);

    let mut added = original.clone();
    let mut extra = added["tenants"][0].clone();
    extra["name"] = json!("fabrikam");
    extra["tenant_id"] = json!("0b7e4f1a-8c2d-4a6b-9e3f-5d1c7a9b2e40");
    added["tenants"]
        .as_array_mut()
        .expect("tenants")
        .push(extra);
    let run = refused(&env, &added, &[]);
    assert_says(
        &run,
        "tenant fabrikam (0b7e4f1a-8c2d-4a6b-9e3f-5d1c7a9b2e40) is in the plan but not in the configuration",
    );

    let mut renamed = original.clone();
    renamed["tenants"][0]["name"] = json!("contoso-prod");
    let run = refused(&env, &renamed, &[]);
    assert_says(&run, "tenant contoso-prod");
    assert_says(
        &run,
        &format!("tenant contoso ({CONTOSO}) is in the configuration but not in the plan"),
    );
}

#[test]
fn config_path_must_stay_inside_the_work_dir() {
    let env = Env::new();
    let original = saved_plan(&env, TWO_CHANGES);
    let config = env.dir.path().join("c.yaml");

    // Even the right file, named absolutely, is refused: the rule is checked
    // before anything is read.
    for (named, rule) in [
        (config.to_str().expect("utf-8").to_string(), "is absolute"),
        ("/etc/passwd".to_string(), "is absolute"),
        (
            format!(
                "../{}/c.yaml",
                env.dir
                    .path()
                    .file_name()
                    .and_then(|n| n.to_str())
                    .expect("dir name")
            ),
            "contains `..`",
        ),
    ] {
        let mut plan = original.clone();
        plan["config_path"] = json!(named);
        let run = refused(&env, &plan, &[]);
        assert_says(&run, rule);
        assert_says(&run, "--config FILE");
        assert!(!run.stderr.contains("root:"), "{}", run.transcript());
    }
}

#[cfg(unix)]
#[test]
fn a_config_path_symlinked_out_of_the_work_dir_is_refused() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    // The same bytes, outside the work dir: the digest would match.
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::copy(env.dir.path().join("c.yaml"), outside.path().join("c.yaml")).expect("copy");
    std::os::unix::fs::symlink(
        outside.path().join("c.yaml"),
        env.dir.path().join("link.yaml"),
    )
    .expect("symlink");
    plan["config_path"] = json!("link.yaml");
    let run = refused(&env, &plan, &[]);
    assert_says(&run, "outside the current directory");
}

#[test]
fn a_file_whose_bytes_differ_from_the_digest_is_not_parsed_or_shown() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    std::fs::write(
        env.dir.path().join("notes.txt"),
        "root:x:0:0:root:/root:/bin/bash\nSECRET-MARKER-7431: [unterminated\n",
    )
    .expect("write");
    plan["config_path"] = json!("notes.txt");
    let run = refused(&env, &plan, &[]);
    assert_says(
        &run,
        "the desired-state file changed since the plan was made",
    );
    for leaked in ["root:x", "SECRET-MARKER-7431", "unterminated"] {
        assert!(
            !run.stdout.contains(leaked) && !run.stderr.contains(leaked),
            "{leaked}:\n{}",
            run.transcript()
        );
    }
}

#[test]
fn an_untouched_plan_applies_in_any_change_order() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    plan["tenants"][0]["changes"]
        .as_array_mut()
        .expect("changes")
        .reverse();
    save(&env, &plan);
    env.clear_requests();
    let run = env.run(&["apply", "p.json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("contoso: applied 2 changes, verified by reading back."),
        "{}",
        run.stdout
    );
    assert_eq!(env.writes().len(), 1, "{:?}", env.writes());
}

#[test]
fn with_config_given_the_plans_config_path_is_not_used_but_the_digest_still_is() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    plan["config_path"] = json!("/etc/passwd");
    save(&env, &plan);

    // Another file given with --config: its digest differs, refused.
    env.config(
        "other.yaml",
        &yaml("      passwordProtection:\n        lockoutThreshold: 5\n"),
    );
    env.clear_requests();
    let other = env.run(&["apply", "p.json", "--config", "other.yaml"]);
    assert_eq!(other.code, 4, "{}", other.transcript());
    assert_says(
        &other,
        "the desired-state file changed since the plan was made",
    );
    assert!(env.writes().is_empty(), "{:?}", env.writes());

    // The file the plan was made from, given with --config: applied.
    let run = env.run(&["apply", "p.json", "--config", "c.yaml"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(env.writes().len(), 1, "{:?}", env.writes());
}

#[test]
fn a_prior_digest_that_is_not_one_makes_the_plan_unreadable() {
    let env = Env::new();
    let mut plan = saved_plan(&env, TWO_CHANGES);
    plan["tenants"][0]["prior"]["portalPasswordReset"] = json!("edited");
    save(&env, &plan);
    env.clear_requests();
    let run = env.run(&["apply", "p.json"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(env.writes().is_empty(), "{}", run.transcript());
    assert_says(&run, "p.json");
    assert_says(&run, "64 hexadecimal digits");
}
