//! `lint`: offline and `--live`, human, JSON and SARIF (validated against the
//! SARIF 2.1.0 schema), accepted exceptions, and the lint lines of `plan`.

use serde_json::{Value, json};

use crate::support::{CONTOSO, Env, repo, run_in};

/// A weak file: admin SSPR on, one method, a lockout threshold of 20
/// accepted until far ahead, and a legacy method toggle (a note).
const WEAK: &str = "version: 1
baseline:
  selfServicePasswordReset:
    enabledFor: all
    methodsRequired: 1
  administratorPasswordReset:
    enabled: true
  passwordProtection:
    lockoutThreshold: 20
exceptions:
  - setting: passwordProtection.lockoutThreshold
    value: 20
    reason: shared kiosks
    owner: identity team
    expires: 2999-01-31
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
    settings:
      selfServicePasswordReset:
        methods:
          email: true
";

#[test]
fn the_cis_baseline_lints_clean_offline() {
    let run = run_in(
        &repo(),
        &["lint", "--config", "examples/baselines/cis.yaml"],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("Lint of the file's settings: no findings."),
        "{}",
        run.stdout
    );
}

#[test]
fn a_weak_file_gets_located_findings_with_control_ids_and_exit_2() {
    let env = Env::new();
    env.config("weak.yaml", WEAK);
    let run = env.run(&["lint", "--config", "weak.yaml"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    insta::assert_snapshot!(
        "lint_weak_human",
        run.transcript().replace(&env.url, "http://EMULATOR")
    );
    let out = &run.stdout;
    // Each finding: level, rule id, setting, value, recommendation, position
    // of the value that wins (the baseline here), controls.
    assert!(
        out.contains(
            "error: SSPR002 selfServicePasswordReset.methodsRequired = 1, recommended >= 2  weak.yaml:5:22"
        ),
        "{out}"
    );
    assert!(
        out.contains("[CIS Azure 6.5: number of methods required to reset is 2]"),
        "{out}"
    );
    assert!(
        out.contains("[EIDSCA AP01: SSPR for administrators disabled]"),
        "{out}"
    );
    // The tenant's own value is located in the tenant.
    assert!(out.contains("SSPR003 selfServicePasswordReset.methods.email = true, recommended = false  weak.yaml:23:18"), "{out}");
    assert!(
        out.contains("accepted: SSPR031 passwordProtection.lockoutThreshold = 20"),
        "{out}"
    );
    assert!(
        out.contains("accepted until 2999-01-31 (shared kiosks; owner: identity team)"),
        "{out}"
    );
    assert!(
        out.contains("rules not checked: the file does not manage their settings"),
        "{out}"
    );
}

#[test]
fn only_notes_and_accepted_findings_exit_0() {
    let env = Env::new();
    env.config(
        "notes.yaml",
        "version: 1
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
    settings:
      selfServicePasswordReset:
        methods:
          email: true
",
    );
    let run = env.run(&["lint", "--config", "notes.yaml"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("0 errors, 0 warnings, 1 note"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_expired_exception_is_an_error_finding_and_a_validate_warning() {
    let env = Env::new();
    env.config("expired.yaml", &WEAK.replace("2999-01-31", "2001-01-31"));
    let validate = env.run(&["validate", "--config", "expired.yaml"]);
    assert_eq!(validate.code, 0, "{}", validate.transcript());
    assert!(
        validate.stderr.contains(
            "warning: expired.yaml:15:14: exceptions[0].expires: the exception for passwordProtection.lockoutThreshold expired on 2001-01-31"
        ),
        "{}",
        validate.stderr
    );
    let run = env.run(&["lint", "--config", "expired.yaml", "--json"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let finding = report["tenants"][0]["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule"] == "SSPR031"))
        .cloned()
        .expect("the lockout finding");
    assert_eq!(finding["status"], "expired");
    assert_eq!(finding["level"], "error");
    assert_eq!(finding["exception"]["owner"], "identity team");

    // plan says so, without changing its exit code.
    let plan = env.run(&["plan", "--config", "expired.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(
        plan.stdout.contains(
            "lint: error SSPR031 passwordProtection.lockoutThreshold = 20, recommended <= 10 [EIDSCA PR06] (the exception of identity team expired on 2001-01-31)"
        ),
        "{}",
        plan.stdout
    );
}

#[test]
fn json_report_is_versioned_and_validates_against_its_schema() {
    let env = Env::new();
    env.config("weak.yaml", WEAK);
    let run = env.run(&["lint", "--config", "weak.yaml", "--json"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["format_version"], "1.0");
    assert_eq!(report["subject"], "desired");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/lint.schema.json")).expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::draft7::new(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let findings = report["tenants"][0]["findings"]
        .as_array()
        .expect("findings");
    let admin = findings
        .iter()
        .find(|f| f["rule"] == "SSPR014")
        .expect("admin SSPR finding");
    assert_eq!(
        admin["location"],
        json!({"file": "weak.yaml", "line": 7, "column": 14})
    );
    assert_eq!(
        admin["controls"],
        json!(["EIDSCA AP01: SSPR for administrators disabled"])
    );
}

/// The SARIF 2.1.0 schema as published (vendored unchanged from the
/// serde-sarif crate, which ships it), compiled for validation.
fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/sarif-schema-2.1.0.json"))
        .expect("vendored SARIF schema");
    // The published `run.language` pattern has a stray `]`, a literal only in
    // ECMA-262's legacy syntax, which Rust's regex engine refuses; read it as
    // the language tag it means. No other part of the schema is touched.
    let stray = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(text.contains(stray), "the vendored schema changed");
    let text = text.replace(stray, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
    let schema: Value = serde_json::from_str(&text).expect("schema json");
    jsonschema::draft7::new(&schema).expect("valid schema")
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema_with_located_results_and_suppressions() {
    let env = Env::new();
    env.config("weak.yaml", WEAK);
    let run = env.run(&["lint", "--config", "weak.yaml", "--format", "sarif"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let log: Value = serde_json::from_str(&run.stdout).expect("SARIF is JSON");
    let schema = sarif_schema();
    assert!(
        !schema.is_valid(&json!({"version": "2.0.0", "runs": []})),
        "the schema checks"
    );
    let errors: Vec<String> = schema
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(log["version"], "2.1.0");
    let run0 = &log["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.len() >= 30, "{}", rules.len());
    let sspr002 = rules
        .iter()
        .find(|r| r["id"] == "SSPR002")
        .expect("SSPR002");
    assert!(
        sspr002["help"]["text"]
            .as_str()
            .is_some_and(|t| t.contains(">= 2"))
    );
    assert_eq!(sspr002["defaultConfiguration"]["level"], "error");
    assert!(
        sspr002["properties"]["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("CIS Azure 6.5"))),
        "{sspr002}"
    );
    let results = run0["results"].as_array().expect("results");
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "weak.yaml", "{r}");
        assert!(
            loc["region"]["startLine"].as_u64().is_some_and(|l| l > 0),
            "{r}"
        );
        assert!(
            loc["region"]["startColumn"].as_u64().is_some_and(|c| c > 0),
            "{r}"
        );
        let rule = &rules[r["ruleIndex"].as_u64().expect("ruleIndex") as usize];
        assert_eq!(rule["id"], r["ruleId"]);
    }
    let methods = results
        .iter()
        .find(|r| r["ruleId"] == "SSPR002")
        .expect("SSPR002 result");
    assert_eq!(
        methods["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
    let accepted = results
        .iter()
        .find(|r| r["ruleId"] == "SSPR031")
        .expect("accepted result");
    assert_eq!(accepted["suppressions"][0]["kind"], "inSource");
    assert_eq!(accepted["suppressions"][0]["status"], "accepted");
    assert!(
        accepted["suppressions"][0]["justification"]
            .as_str()
            .is_some_and(|j| j.contains("shared kiosks")),
        "{accepted}"
    );
    assert_eq!(
        accepted["suppressions"][0]["location"]["physicalLocation"]["region"]["startLine"],
        11
    );
}

#[test]
fn sarif_of_the_clean_cis_baseline_has_rules_and_no_results() {
    let run = run_in(
        &repo(),
        &[
            "lint",
            "--config",
            "examples/baselines/cis.yaml",
            "--format",
            "sarif",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let log: Value = serde_json::from_str(&run.stdout).expect("SARIF is JSON");
    let schema = sarif_schema();
    assert!(
        !schema.is_valid(&json!({"version": "2.0.0", "runs": []})),
        "the schema checks"
    );
    let errors: Vec<String> = schema.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(log["runs"][0]["results"], json!([]));
}

#[test]
fn live_lint_checks_settings_the_file_does_not_manage_and_locates_those_it_does() {
    let env = Env::new();
    let cfg = env.config(
        "one.yaml",
        "version: 1
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
    settings:
      selfServicePasswordReset:
        methodsRequired: 1
",
    );
    let cfg = cfg.to_str().expect("utf-8");
    let offline = env.run(&["lint", "--config", cfg, "--json"]);
    let offline: Value = serde_json::from_str(&offline.stdout).expect("JSON");
    assert_eq!(
        offline["tenants"][0]["findings"].as_array().map(Vec::len),
        Some(1)
    );

    let run = env.run(&["lint", "--config", cfg, "--live", "--json"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["subject"], "live");
    let findings = report["tenants"][0]["findings"]
        .as_array()
        .expect("findings");
    let rule = |id: &str| findings.iter().find(|f| f["rule"] == id).cloned();
    // A fresh tenant: admin SSPR on (unmanaged: no location), one method (managed: located).
    let admin = rule("SSPR014").expect("admin SSPR is checked live");
    assert_eq!(admin["value"], true);
    assert!(admin.get("location").is_none(), "{admin}");
    let methods = rule("SSPR002").expect("methods required");
    assert_eq!(methods["location"]["line"], 8);
    assert_eq!(report["tenants"][0]["not_checked"], json!([]));
    assert_eq!(report["tenants"][0]["unknown"], json!([]));
}

#[test]
fn live_lint_of_an_applied_cis_baseline_is_clean_and_an_unreadable_surface_is_unknown_exit_3() {
    // Licensed for the whole population, so no seats warning either.
    let env = Env::with_state(Some(crate::support::licensed_state(
        crate::support::CONTOSO,
        1000,
    )));
    let cfg = env.config(
        "cis.yaml",
        &std::fs::read_to_string(repo().join("examples/baselines/cis.yaml")).expect("example"),
    );
    let cfg = cfg.to_str().expect("utf-8");
    let apply = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(!apply.stdout.contains("warning:"), "{}", apply.stdout);
    let clean = env.run(&["lint", "--config", cfg, "--live"]);
    assert_eq!(clean.code, 0, "{}", clean.transcript());
    assert!(
        clean
            .stdout
            .contains("Lint of the live tenants: no findings."),
        "{}",
        clean.stdout
    );

    env.set_faults(json!({ "failNext": [
        { "status": 503, "count": 50, "pathPrefix": "/api/PasswordReset", "method": "GET", "retryAfterSeconds": 1 }
    ]}));
    let run = env.run(&["lint", "--config", cfg, "--live"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("unknown: portal PasswordResetPolicies"))
        .unwrap_or_else(|| panic!("no unknown line:\n{}", run.stdout));
    assert!(line.contains("rules not checked"), "{line}");
    assert!(line.contains("503"), "{line}");
}

#[test]
fn plan_lists_lint_findings_after_the_changes_without_changing_the_exit_code() {
    let env = Env::new();
    let cfg = env.config("weak.yaml", WEAK);
    let cfg = cfg.to_str().expect("utf-8");
    let run = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(
        run.code,
        2,
        "changes, as without lint:\n{}",
        run.transcript()
    );
    let out = &run.stdout;
    let changes_end = out.find("lint:").expect("lint lines");
    assert!(
        out[..changes_end].contains("selfServicePasswordReset.enabledFor"),
        "{out}"
    );
    assert!(
        out.contains("lint: error SSPR002 selfServicePasswordReset.methodsRequired = 1, recommended >= 2 [CIS Azure 6.5]"),
        "{out}"
    );
    assert!(out.contains("lint: 1 accepted by an exception"), "{out}");

    // Apply (the weakening lockout needs the flag: lint does not gate it), then
    // a plan with no changes still lists the weak settings and exits 0.
    let apply = env.run(&[
        "apply",
        "--config",
        cfg,
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let again = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert!(
        again
            .stdout
            .contains("lint: error SSPR014 administratorPasswordReset.enabled = true"),
        "{}",
        again.stdout
    );

    let json_run = env.run(&["plan", "--config", cfg, "--json"]);
    let plan: Value = serde_json::from_str(&json_run.stdout).expect("JSON");
    assert_eq!(plan["format_version"], "1.2");
    let lint = plan["tenants"][0]["lint"]
        .as_array()
        .expect("lint in the plan");
    assert!(
        lint.iter()
            .any(|f| f["rule"] == "SSPR002" && f["status"] == "open")
    );
    assert!(
        lint.iter()
            .any(|f| f["rule"] == "SSPR031" && f["status"] == "accepted")
    );

    let md = env.run(&["plan", "--config", cfg, "--markdown"]);
    assert!(
        md.stdout
            .contains("**Lint** (after the changes; does not block apply):"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("SSPR014"), "{}", md.stdout);
}

#[test]
fn an_accepted_value_is_still_monitored_a_live_move_away_is_drift_and_a_finding() {
    let env = Env::new();
    let cfg = env.config("weak.yaml", WEAK);
    let cfg = cfg.to_str().expect("utf-8");
    let apply = env.run(&[
        "apply",
        "--config",
        cfg,
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());

    // Someone moves the accepted lockout threshold (20) to 50 behind ssprctl's back.
    let (_, settings) = env.call(CONTOSO, "GET", "/v1.0/groupSettings", None);
    let id = settings["value"][0]["id"]
        .as_str()
        .expect("setting id")
        .to_string();
    let mut values = settings["value"][0]["values"].clone();
    for v in values.as_array_mut().expect("values") {
        if v["name"] == "LockoutThreshold" {
            v["value"] = json!("50");
        }
    }
    let (status, _) = env.call(
        CONTOSO,
        "PATCH",
        &format!("/v1.0/groupSettings/{id}"),
        Some(json!({ "values": values })),
    );
    assert!(status < 300, "PATCH: {status}");

    let plan = env.run(&["plan", "--config", cfg, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "drift:\n{}", plan.transcript());
    assert!(
        plan.stdout
            .contains("passwordProtection.lockoutThreshold: 50 -> 20"),
        "{}",
        plan.stdout
    );
    let live = env.run(&["lint", "--config", cfg, "--live", "--json"]);
    let report: Value = serde_json::from_str(&live.stdout).expect("JSON");
    let lockout = report["tenants"][0]["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule"] == "SSPR031"))
        .cloned()
        .expect("the lockout finding");
    assert_eq!(lockout["status"], "open", "{lockout}");
    assert_eq!(lockout["value"], 50);
}

#[test]
fn sarif_names_a_file_outside_the_working_directory_by_a_file_uri() {
    let env = Env::new();
    let cfg = env.config("weak.yaml", WEAK);
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let run = run_in(
        elsewhere.path(),
        &[
            "lint",
            "--config",
            cfg.to_str().expect("utf-8"),
            "--format",
            "sarif",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    let log: Value = serde_json::from_str(&run.stdout).expect("SARIF is JSON");
    let uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .expect("a uri");
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/weak.yaml"),
        "{uri}"
    );
    let errors: Vec<String> = sarif_schema()
        .iter_errors(&log)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
