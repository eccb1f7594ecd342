//! Pacing and deadlines at fleet scale: a run paced below the emulator's
//! app-wide Graph quota gets no 429 at all, a run above it rides out the
//! app-wide 429s, and a hung surface costs only its own tenant, reported
//! unknown with the deadline as reason.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::Env;

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A tenant id of its own for tenant `i`.
fn tenant_id(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-{i:012x}")
}

/// `n` tenants, each with Graph settings only (5 sub-requests, 6 RU a read).
fn fleet(n: usize) -> String {
    let mut yaml = String::from("version: 1\ntenants:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - name: t{i:03}\n    tenantId: {}\n    endpoint: local\n    settings:\n      administratorPasswordReset:\n        enabled: false\n      passwordProtection:\n        lockoutThreshold: 10\n",
            tenant_id(i)
        ));
    }
    yaml
}

/// The emulator's 429 counters (`GET /_emulator/stats`).
fn throttled(env: &Env) -> Value {
    let (status, stats) = env.get("/_emulator/stats", None);
    assert_eq!(status, 200, "{stats}");
    stats
}

/// A tiny app-wide quota: 200 RU, refilled at 100 RU/s.
fn tiny_app_quota(env: &Env) {
    env.set_faults(json!({"appThrottle": {"capacity": 200, "refillPerSecond": 100}}));
}

#[test]
fn paced_below_the_app_wide_quota_a_fleet_plan_gets_zero_429s() {
    let env = Env::new();
    tiny_app_quota(&env);
    // 50 tenants x 6 RU = 300 RU, more than the 200 the quota holds.
    let cfg = env.config("fleet.yaml", &fleet(50));
    let run = env.run(&[
        "plan",
        "--config",
        path_str(&cfg),
        "--graph-budget",
        "80",
        "--throttle-priority",
        "low",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("in 50 of 50 tenants"),
        "{}",
        run.transcript()
    );
    // Nothing unknown: the fleet line counts none, and no tenant says so.
    assert!(
        run.stdout.contains(" 0 unknown, ") && run.stdout.matches("unknown").count() == 1,
        "{}",
        run.transcript()
    );
    let stats = throttled(&env);
    assert_eq!(stats["throttledTotal"], 0, "{stats}");
    // Every Graph request and sub-request said its priority.
    let log = env.requests();
    let batches: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/$batch")))
        .collect();
    assert_eq!(batches.len(), 50);
    for b in batches {
        assert_eq!(b["priority"], "Low", "{b}");
        for sub in b["subRequests"].as_array().into_iter().flatten() {
            assert_eq!(sub["priority"], "Low", "{sub}");
        }
    }
}

#[test]
fn above_the_app_wide_quota_the_429s_are_ridden_out() {
    let env = Env::new();
    // 30 RU at once, 150 RU/s: the 300 RU of the fleet need about 2 s.
    env.set_faults(json!({"appThrottle": {"capacity": 30, "refillPerSecond": 150}}));
    let cfg = env.config("fleet.yaml", &fleet(50));
    // The default budget (7,000 RU/s) is far above this quota.
    let run = env.run(&["plan", "--config", path_str(&cfg)]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // Nothing unknown: the fleet line counts none, and no tenant says so.
    assert!(
        run.stdout.contains(" 0 unknown, ") && run.stdout.matches("unknown").count() == 1,
        "{}",
        run.transcript()
    );
    let stats = throttled(&env);
    assert!(
        stats["throttled"]["application"].as_u64() > Some(0),
        "the quota was reached: {stats}"
    );
    assert_eq!(stats["throttled"]["tenantApplication"], 0, "{stats}");
}

#[test]
fn a_hung_surface_costs_its_tenant_the_deadline_and_no_other_tenant_anything() {
    // `hung` lives on an emulator whose portal API never answers in time;
    // the two others on a healthy one.
    let slow = Env::new();
    let healthy = Env::new();
    let tenant = |name: &str, i: usize, url: &str| {
        format!(
            "  - name: {name}\n    tenantId: {}\n    endpoint: {url}\n    settings:\n      administratorPasswordReset:\n        enabled: false\n      selfServicePasswordReset:\n        methodsRequired: 2\n",
            tenant_id(i)
        )
    };
    let yaml = format!(
        "version: 1\ntenants:\n{}{}{}",
        tenant("hung", 1, &slow.url),
        tenant("north", 2, &healthy.url),
        tenant("south", 3, &healthy.url),
    );
    let cfg = slow.config("fleet.yaml", &yaml);
    let cfg = path_str(&cfg);
    let applied = slow.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());

    slow.set_faults(json!({"delays": [{"pathPrefix": "/api/PasswordReset", "delayMs": 20000}]}));
    let run = slow.run(&[
        "plan",
        "--config",
        cfg,
        "--detailed-exitcode",
        "--tenant-deadline",
        "2",
    ]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let section = |name: &str| {
        let start = run
            .stdout
            .find(&format!("Tenant {name} "))
            .unwrap_or_else(|| panic!("tenant {name} in the plan: {}", run.transcript()));
        let rest = &run.stdout[start..];
        let end = rest[1..].find("\nTenant ").map_or(rest.len(), |i| i + 1);
        rest[..end].to_string()
    };
    let hung = section("hung");
    assert!(
        hung.contains("unknown") && hung.contains("no answer within the 2 s deadline"),
        "{hung}"
    );
    // Its Graph surface answered in time and is planned.
    assert!(!hung.contains("Graph authorizationPolicy — "), "{hung}");
    for name in ["north", "south"] {
        let s = section(name);
        assert!(s.contains("No changes."), "{s}");
    }
    slow.clear_faults();
}
