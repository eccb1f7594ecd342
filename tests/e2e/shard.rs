//! Scale-out: `--tenant` and `--shard` select tenants for `plan`, `apply`,
//! `lint` and `report`; a saved plan keeps its selection; `merge` combines
//! the shards' JSON plans into the plan of the whole file (the same tenants,
//! changes, findings, human and Markdown output and exit code).

use serde_json::Value;
use ssprctl_emulator::LOCAL_CLIENT_SECRET;

use crate::support::{CONTOSO, Env, Run, repo};

/// The secret of the one tenant that names its credentials.
const ENVS: &[(&str, &str)] = &[("LOCAL_SECRET", LOCAL_CLIENT_SECRET)];

/// Tenant ids `5a4d00NN-0000-4000-8000-0000000000NN`: shards of 3 (pinned by
/// the engine's tests) 2 1 2 2 2 3 3 3 1 3 2 2, so no shard is empty.
fn id(n: usize) -> String {
    format!("{:08x}-0000-4000-8000-{n:012x}", 0x5a4d_0000 + n)
}

/// Twelve tenants under one baseline: `conv-*` (converged once applied),
/// `drift-*` (fresh: drifted), `drift-weak` with a weakening override, and
/// `eu-noportal`, whose portal surface cannot be read (no delegated token).
fn fleet() -> String {
    let mut yaml = String::from(
        "version: 1\nbaseline:\n  selfServicePasswordReset:\n    methodsRequired: 2\n    methods: { email: true, mobilePhone: true }\n  administratorPasswordReset:\n    enabled: false\ntenants:\n",
    );
    let names = [
        "conv-a",
        "drift-a",
        "conv-b",
        "drift-b",
        "conv-c",
        "drift-c",
        "eu-noportal",
        "conv-d",
        "drift-d",
        "conv-e",
        "drift-weak",
        "drift-e",
    ];
    for (n, name) in names.iter().enumerate() {
        yaml.push_str(&format!(
            "  - name: {name}\n    tenantId: {}\n    endpoint: local\n",
            id(n)
        ));
        if *name == "eu-noportal" {
            yaml.push_str("    credentials: { graph: { method: clientSecret, clientId: e5e5e5e5-0000-4000-8000-00000000c0de, secretEnv: LOCAL_SECRET }, portal: { method: refreshToken, env: NOPE } }\n");
        }
        if *name == "drift-weak" {
            yaml.push_str(
                "    settings:\n      passwordProtection:\n        lockoutThreshold: 20\n",
            );
        }
    }
    yaml
}

fn run(env: &Env, args: &[&str]) -> Run {
    env.run_env(args, ENVS)
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}):\n{}", run.transcript()))
}

/// Checks `plan` against the published plan schema.
fn assert_schema_valid(plan: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/plan.schema.json")).expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::draft7::new(&schema).expect("valid schema");
    let errors: Vec<String> = validator.iter_errors(plan).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

fn names(plan: &Value) -> Vec<&str> {
    plan["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect()
}

/// The fleet with `conv-*` applied (which also shows `apply --tenant`).
fn converged_fleet() -> Env {
    let env = Env::new();
    env.config("c.yaml", &fleet());
    let applied = run(
        &env,
        &[
            "apply",
            "--config",
            "c.yaml",
            "--tenant",
            "conv-*",
            "--auto-approve",
            "--allow-weakening",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    assert_eq!(
        applied.stdout.matches(": applied ").count(),
        5,
        "only the conv-* tenants:\n{}",
        applied.stdout
    );
    env
}

#[test]
fn three_shards_merged_equal_the_unsharded_plan() {
    let env = converged_fleet();
    let whole = run(
        &env,
        &[
            "plan",
            "--config",
            "c.yaml",
            "--json",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(whole.code, 2, "changes present:\n{}", whole.transcript());
    let whole_plan = json(&whole);
    assert_eq!(names(&whole_plan).len(), 12);
    assert!(
        whole_plan.get("selection").is_none(),
        "no selection recorded"
    );
    let tenants = whole_plan["tenants"].as_array().expect("tenants");
    let named = |n: &str| {
        tenants
            .iter()
            .find(|t| t["name"] == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    // The mix the test is about: converged, drifted, weakening, unknown.
    assert_eq!(named("conv-c")["changes"], serde_json::json!([]));
    assert!(
        !named("drift-c")["changes"]
            .as_array()
            .expect("c")
            .is_empty()
    );
    assert!(
        named("drift-weak")["changes"]
            .as_array()
            .expect("c")
            .iter()
            .any(|c| c["risk"] == "weakening")
    );
    assert!(
        !named("eu-noportal")["unknown"]
            .as_array()
            .expect("u")
            .is_empty()
    );

    let mut files = Vec::new();
    let mut sizes = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let part = run(
            &env,
            &["plan", "--config", "c.yaml", "--shard", &shard, "--json"],
        );
        assert!(
            [0, 1, 3].contains(&part.code),
            "a shard plan exits as plan does:\n{}",
            part.transcript()
        );
        let plan = json(&part);
        assert_eq!(plan["selection"]["shard"]["index"], k);
        assert_eq!(plan["selection"]["shard"]["count"], 3);
        assert_eq!(plan["selection"]["file_tenants"], 12);
        assert_schema_valid(&plan);
        sizes.push(names(&plan).len());
        let file = format!("shard-{k}.json");
        std::fs::write(env.dir.path().join(&file), &part.stdout).expect("write shard");
        files.push(file);
    }
    assert_eq!(sizes, [2, 6, 4], "assignment by tenant id (pinned)");
    // Given in any order.
    let merge_args = |extra: &[&str]| {
        let mut args = vec!["merge", &files[2], &files[0], &files[1]];
        args.extend_from_slice(extra);
        run(&env, &args)
    };
    let merged = merge_args(&["--json"]);
    assert_eq!(merged.code, whole.code, "{}", merged.transcript());
    assert!(
        merged
            .stderr
            .contains("Merged shards 1/3 to 3/3: 12 tenants."),
        "{}",
        merged.transcript()
    );
    let merged_plan = json(&merged);
    assert_schema_valid(&merged_plan);
    assert_eq!(merged_plan["tenants"], whole_plan["tenants"]);
    assert_eq!(merged_plan["config_digest"], whole_plan["config_digest"]);
    assert_eq!(merged_plan["merged"]["shards"], 3);
    assert!(merged_plan.get("selection").is_none());

    let human = run(&env, &["plan", "--config", "c.yaml"]);
    let merged_human = merge_args(&[]);
    assert_eq!(merged_human.stdout, human.stdout);
    assert_eq!(merged_human.code, 2);
    let markdown = run(&env, &["plan", "--config", "c.yaml", "--markdown"]);
    let merged_markdown = merge_args(&["--markdown"]);
    assert_eq!(merged_markdown.stdout, markdown.stdout);

    // The merged plan is for reading only.
    std::fs::write(env.dir.path().join("merged.json"), &merged.stdout).expect("write");
    env.clear_requests();
    let refused = run(&env, &["apply", "merged.json"]);
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("merged.json is a merged plan"),
        "{}",
        refused.transcript()
    );
    assert!(env.requests().is_empty(), "nothing read");

    // A missing shard is named; the same shard twice is refused.
    let missing = run(&env, &["merge", &files[0], &files[2]]);
    assert_eq!(missing.code, 1, "{}", missing.transcript());
    assert!(
        missing.stderr.contains("shard 2/3 is missing"),
        "{}",
        missing.transcript()
    );
    let twice = run(&env, &["merge", &files[0], &files[1], &files[1], &files[2]]);
    assert_eq!(twice.code, 1, "{}", twice.transcript());
    assert!(
        twice
            .stderr
            .contains("shard 2/3 is in both shard-2.json and shard-2.json"),
        "{}",
        twice.transcript()
    );
    // A plan of another file is refused.
    std::fs::write(env.dir.path().join("whole.json"), &whole.stdout).expect("write");
    let mixed = run(&env, &["merge", "whole.json", &files[0]]);
    assert_eq!(mixed.code, 1, "{}", mixed.transcript());
}

#[test]
fn tenant_patterns_select_by_name_and_a_pattern_matching_nothing_is_named() {
    let env = Env::new();
    env.config("c.yaml", &fleet());
    let plan = run(
        &env,
        &[
            "plan", "--config", "c.yaml", "--tenant", "drift-?", "--tenant", "eu-*", "--json",
        ],
    );
    let plan_json = json(&plan);
    assert_eq!(
        names(&plan_json),
        [
            "drift-a",
            "drift-b",
            "drift-c",
            "eu-noportal",
            "drift-d",
            "drift-e"
        ]
    );
    assert_eq!(
        plan_json["selection"]["tenants"],
        serde_json::json!(["drift-?", "eu-*"])
    );
    assert_eq!(
        plan_json["selection"]["positions"],
        serde_json::json!([1, 3, 5, 6, 8, 11])
    );
    env.clear_requests();
    let wrong = run(
        &env,
        &[
            "plan",
            "--config",
            "c.yaml",
            "--tenant",
            "drift-weka",
            "--tenant",
            "nothing-*",
        ],
    );
    assert_eq!(wrong.code, 1, "{}", wrong.transcript());
    assert!(
        wrong.stderr.contains(
            "error: --tenant drift-weka: matches no tenant name of the file (did you mean `drift-weak`?); --tenant nothing-*: matches no tenant name of the file"
        ),
        "{}",
        wrong.transcript()
    );
    assert!(env.requests().is_empty(), "nothing is read");

    // lint and report take the same selection.
    let lint = run(
        &env,
        &["lint", "--config", "c.yaml", "--tenant", "conv-a", "--json"],
    );
    let lint_json = json(&lint);
    assert_eq!(names(&lint_json), ["conv-a"], "{}", lint.transcript());
    let report = run(
        &env,
        &["report", "--config", "c.yaml", "--shard", "1/3", "--json"],
    );
    let report_json = json(&report);
    assert_eq!(
        names(&report_json),
        ["drift-a", "drift-d"],
        "{}",
        report.transcript()
    );
}

#[test]
fn an_empty_shard_plans_nothing_and_reads_nothing() {
    let env = Env::new();
    env.config(
        "c.yaml",
        &format!("version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n      administratorPasswordReset:\n        enabled: false\n"),
    );
    let empty = run(
        &env,
        &[
            "plan",
            "--config",
            "c.yaml",
            "--shard",
            "2/3",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(empty.code, 0, "{}", empty.transcript());
    assert_eq!(empty.stdout, "No tenants in shard 2/3.\n");
    assert!(env.requests().is_empty(), "nothing is read");
    let bad = run(&env, &["plan", "--config", "c.yaml", "--shard", "4/3"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr
            .contains("shards are numbered 1/3 to 3/3, got 4/3"),
        "{}",
        bad.transcript()
    );
}

#[test]
fn a_saved_shard_plan_applies_with_its_own_selection_and_an_edited_one_is_refused() {
    let env = Env::new();
    env.config("c.yaml", &fleet());
    let saved = run(
        &env,
        &[
            "plan", "--config", "c.yaml", "--tenant", "drift-*", "--shard", "3/3", "--out",
            "p.json",
        ],
    );
    assert_eq!(saved.code, 0, "{}", saved.transcript());
    let path = env.dir.path().join("p.json");
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(names(&plan), ["drift-c"]);

    // The selection edited to another shard (or removed): the recomputation
    // selects other tenants, and the plan is refused with nothing written.
    for edit in [
        serde_json::json!({"tenants": ["drift-*"], "shard": {"index": 1, "count": 3}, "positions": [5], "file_tenants": 12}),
        Value::Null,
    ] {
        let mut forged = plan.clone();
        forged["selection"] = edit;
        std::fs::write(env.dir.path().join("forged.json"), forged.to_string()).expect("write");
        env.clear_requests();
        let refused = run(&env, &["apply", "forged.json", "--allow-weakening"]);
        assert_eq!(refused.code, 4, "{}", refused.transcript());
        assert!(env.writes().is_empty(), "{:?}", env.writes());
    }
    // Another selection on the command line is an error.
    let other = run(&env, &["apply", "p.json", "--shard", "1/3"]);
    assert_eq!(other.code, 1, "{}", other.transcript());
    assert!(
        other
            .stderr
            .contains("was made with another --tenant/--shard selection"),
        "{}",
        other.transcript()
    );

    env.clear_requests();
    let applied = run(&env, &["apply", "p.json", "--allow-weakening"]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    assert!(
        applied.stdout.contains("drift-c: applied"),
        "{}",
        applied.stdout
    );
    let touched: Vec<String> = env
        .requests()
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .filter(|p| p.contains("oauth2"))
        .collect();
    assert!(
        touched.iter().all(|p| p.contains(&id(5))),
        "only drift-c's tenant is signed in to: {touched:?}"
    );
}
