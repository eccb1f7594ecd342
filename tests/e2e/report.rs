//! `report`: registration coverage and a month of self-service password
//! reset usage on the quick-start tenant, with the exact figures of the
//! emulator's deterministic population and audit log (both derived from the
//! tenant id; the audit log's days are counted back from today, so the
//! figures do not depend on the date); JSON against its schema; paging; a
//! part that cannot be read is unknown, never zero.

use serde_json::{Value, json};

use crate::support::{Env, repo};

#[test]
fn report_on_the_quick_start_tenant_shows_coverage_and_a_month_of_usage() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    env.clear_requests();
    let run = env.run(&["report", "--config", cfg]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let line = |start: &str| {
        run.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no {start} line:\n{}", run.stdout))
    };
    assert!(run.stdout.contains("(30 days)"), "{}", run.stdout);
    assert_eq!(line("in the report"), "in the report 496 4");
    assert_eq!(line("SSPR registered"), "SSPR registered 236 47.6% 3 75.0%");
    assert_eq!(line("SSPR enabled"), "SSPR enabled 0 0.0% 4 100.0%");
    assert_eq!(
        line("microsoftAuthenticatorPush"),
        "microsoftAuthenticatorPush 294 2"
    );
    assert_eq!(line("password resets"), "password resets 87 27");
    assert_eq!(line("account unlocks"), "account unlocks 24 3");
    assert_eq!(line("users blocked"), "users blocked 5");
    assert_eq!(
        line("13 "),
        "13 User did not pass verification",
        "the most frequent failure reason first"
    );
    let days = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("20") && l.contains('/'))
        .count();
    assert_eq!(days, 30, "every day of the window:\n{}", run.stdout);

    // The audit log is read filtered to the SSPR service since the window's
    // first day, page after page (the emulator pages at 50 events).
    let log = env.requests();
    let audits: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"] == "/v1.0/auditLogs/directoryAudits")
        .collect();
    assert!(audits.len() > 2, "paged: {audits:?}");
    let first = audits[0]["query"].as_str().expect("query");
    assert!(
        first.contains("loggedByService") && first.contains("activityDateTime"),
        "{first}"
    );
    assert!(
        audits[1..]
            .iter()
            .all(|r| r["query"].as_str().is_some_and(|q| q.contains("skiptoken"))),
        "{audits:?}"
    );
    assert!(audits.iter().all(|r| r["status"] == 200), "{audits:?}");
}

#[test]
fn report_json_validates_against_its_schema_and_markdown_has_the_tables() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    let run = env.run(&["report", "--config", cfg, "--json", "--days", "7"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/report.schema.json")).expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::draft7::new(&schema).expect("valid schema");
    assert!(validator.is_valid(&report), "{report}");
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["days"], 7);
    let tenant = &report["tenants"][0];
    assert_eq!(tenant["coverage"]["status"], "known");
    assert_eq!(tenant["coverage"]["value"]["users"]["total"], 496);
    assert_eq!(tenant["usage"]["status"], "known");
    assert_eq!(
        tenant["usage"]["value"]["by_day"].as_array().map(Vec::len),
        Some(7)
    );
    let schema_out = env.run(&["schema", "--report"]);
    assert_eq!(schema_out.code, 0, "{}", schema_out.transcript());
    assert_eq!(
        serde_json::from_str::<Value>(&schema_out.stdout).expect("schema"),
        schema
    );

    let md = env.run(&["report", "--config", cfg, "--markdown"]);
    assert_eq!(md.code, 0, "{}", md.transcript());
    assert!(
        md.stdout.contains("| password resets | 87 | 27 |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| in the report | 496 | 4 |"),
        "{}",
        md.stdout
    );
}

#[test]
fn an_audit_log_that_cannot_be_read_is_unknown_naming_the_permission_not_zero() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    env.set_faults(json!({ "failNext": [
        { "status": 403, "count": 10, "pathPrefix": "/v1.0/auditLogs" }
    ]}));
    let run = env.run(&["report", "--config", cfg]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let usage = run
        .stdout
        .lines()
        .find(|l| l.contains("Usage: unknown"))
        .unwrap_or_else(|| panic!("no unknown usage:\n{}", run.stdout));
    assert!(usage.contains("AuditLog.Read.All"), "{usage}");
    assert!(!run.stdout.contains("password resets"), "{}", run.stdout);
    // Coverage was read all the same.
    assert!(run.stdout.contains("in the report"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("warning: tenant contoso: usage unknown"),
        "{}",
        run.stderr
    );

    let json = env.run(&["report", "--config", cfg, "--json"]);
    let report: Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(report["tenants"][0]["usage"]["status"], "unknown");
    assert!(report["tenants"][0]["usage"].get("value").is_none());
}

#[test]
fn coverage_follows_an_apply_and_throttled_audit_pages_are_retried() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    let apply = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    env.set_faults(json!({ "failNext": [
        { "status": 429, "count": 2, "pathPrefix": "/v1.0/auditLogs", "retryAfterSeconds": 1 }
    ]}));
    let run = env.run(&["report", "--config", cfg, "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let coverage = &report["tenants"][0]["coverage"]["value"];
    // enabledFor: all; administrators may not reset (administratorPasswordReset.enabled: false).
    assert_eq!(coverage["users"]["enabled"], 496, "{coverage}");
    assert_eq!(coverage["admins"]["enabled"], 0, "{coverage}");
    // Two methods required: registered and capable move with the policy.
    assert_eq!(coverage["users"]["registered"], 112, "{coverage}");
    assert_eq!(coverage["users"]["capable"], 112, "{coverage}");
    assert_eq!(
        coverage["users"]["enabled_not_registered"], 384,
        "{coverage}"
    );
    let usage = &report["tenants"][0]["usage"]["value"];
    assert_eq!(
        usage["resets"],
        json!({"succeeded": 87, "failed": 27}),
        "{usage}"
    );
    assert_eq!(
        usage["unlocks"],
        json!({"succeeded": 24, "failed": 3}),
        "{usage}"
    );
    assert_eq!(usage["blocked"], 5, "{usage}");
    let throttled = env
        .requests()
        .iter()
        .filter(|r| r["path"] == "/v1.0/auditLogs/directoryAudits" && r["status"] == 429)
        .count();
    assert_eq!(throttled, 2);
}

#[test]
fn every_tenant_of_a_fleet_is_reported_in_file_order_each_with_its_own_figures() {
    let env = Env::new();
    let cfg = env.example("msp-baseline.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    let run = env.run(&["report", "--config", cfg, "--json", "--parallelism", "2"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let tenants = report["tenants"].as_array().expect("tenants");
    let names: Vec<&str> = tenants.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["northwind", "tailspin", "woodgrove"]);
    let resets: Vec<&Value> = tenants
        .iter()
        .map(|t| &t["usage"]["value"]["resets"])
        .collect();
    assert!(
        resets
            .iter()
            .all(|r| r["succeeded"].as_u64().is_some_and(|n| n > 0))
    );
    assert_ne!(resets[0], resets[1], "each tenant's own audit log");
}
