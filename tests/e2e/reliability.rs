//! Round trips, and riding out what the emulator injects (docs/emulator.md):
//! throttling, 5xx bursts, exhausted retries, dropped
//! connections, stale reads after writes, latency with jitter. Faults are
//! deterministic (`failNext`, or a `seed` chosen for the draws a test needs).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ssprctl_emulator::LOCAL_CLIENT_ID;
use ssprctl_provider::clouds::PORTAL_CLIENT_ID;

use crate::support::{CONTOSO, Env, Run, matching};

const FABRIKAM: &str = "0b7d3e1f-5a6c-4d8e-9f0a-1b2c3d4e5f60";

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn plan(env: &Env, cfg: &Path) -> Run {
    env.run(&["plan", "--config", path_str(cfg)])
}

fn apply(env: &Env, cfg: &Path) -> Run {
    env.run(&["apply", "--config", path_str(cfg), "--auto-approve"])
}

/// Runs and times `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// (status, fault) of every log entry whose path starts with `prefix`, in
/// order, `$batch` sub-requests included where they ran.
fn attempts(log: &[Value], method: &str, prefix: &str) -> Vec<(u64, Option<String>)> {
    let mut out = Vec::new();
    let mut visit = |r: &Value| {
        if r["method"] == method && r["path"].as_str().is_some_and(|p| p.starts_with(prefix)) {
            out.push((
                r["status"].as_u64().unwrap_or(0),
                r["fault"].as_str().map(str::to_string),
            ));
        }
    };
    for r in log {
        visit(r);
        for s in r["subRequests"].as_array().into_iter().flatten() {
            visit(s);
        }
    }
    out
}

const METHODS_2: &str = "      selfServicePasswordReset:\n        methodsRequired: 2\n        methods: { email: true, mobilePhone: true }\n";
const ADMIN_RESET_OFF: &str = "      administratorPasswordReset:\n        enabled: false\n";

fn yaml(body: &str) -> String {
    format!(
        "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n{body}"
    )
}

// 1. Round trips --------------------------------------------------------------

/// Per tenant id: (token requests by app, `$batch` envelopes, portal GETs,
/// other requests).
#[derive(Debug, Default, PartialEq)]
struct Cost {
    tokens: BTreeMap<String, usize>,
    batches: usize,
    batch_sub_requests: usize,
    portal_gets: usize,
    other: Vec<String>,
}

fn cost_by_tenant(log: &[Value]) -> BTreeMap<String, Cost> {
    let mut out: BTreeMap<String, Cost> = BTreeMap::new();
    for r in log {
        let tenant = r["tenant"].as_str().unwrap_or("?").to_string();
        let path = r["path"].as_str().unwrap_or_default();
        let c = out.entry(tenant).or_default();
        if path.ends_with("/oauth2/v2.0/token") {
            *c.tokens
                .entry(r["app"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        } else if path == "/v1.0/$batch" {
            c.batches += 1;
            c.batch_sub_requests += r["subRequests"].as_array().map_or(0, Vec::len);
        } else if path.starts_with("/api/PasswordReset/") && r["method"] == "GET" {
            c.portal_gets += 1;
        } else {
            c.other
                .push(format!("{} {path}", r["method"].as_str().unwrap_or("?")));
        }
    }
    out
}

/// What one converged quickstart-like tenant costs to plan.
fn one_tenant_cost() -> Cost {
    Cost {
        tokens: BTreeMap::from([
            (LOCAL_CLIENT_ID.to_string(), 1),
            (PORTAL_CLIENT_ID.to_string(), 1),
        ]),
        batches: 1,
        // authorization, methods, password rules + template, organization, SKUs
        batch_sub_requests: 6,
        portal_gets: 1,
        other: Vec::new(),
    }
}

#[test]
fn a_plan_costs_one_token_per_audience_one_batch_and_one_portal_read_per_tenant() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    // Converged first: a plan that widens who may reset also reads the
    // registration report for its readiness figures.
    assert_eq!(apply(&env, &cfg).code, 0);
    env.clear_requests();
    let run = plan(&env, &cfg);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let log = env.requests();
    let costs = cost_by_tenant(&log);
    assert_eq!(
        costs,
        BTreeMap::from([(CONTOSO.to_string(), one_tenant_cost())]),
        "{log:#?}"
    );
    let portal = matching(&log, "/api/PasswordReset/");
    assert_eq!(
        portal[0]["path"],
        "/api/PasswordReset/PasswordResetPolicies"
    );

    // A second tenant in the same file costs exactly as much again.
    let quickstart =
        std::fs::read_to_string(crate::support::repo().join("examples/quickstart.yaml"))
            .expect("example");
    let (_, tenant_block) = quickstart.split_once("tenants:\n").expect("tenants");
    let second = tenant_block
        .replace("name: contoso", "name: fabrikam")
        .replace(CONTOSO, FABRIKAM);
    let two = env.config(
        "two.yaml",
        &format!("version: 1\ntenants:\n{tenant_block}{second}"),
    );
    assert_eq!(apply(&env, &two).code, 0);
    env.clear_requests();
    let run = plan(&env, &two);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("Tenant fabrikam"), "{}", run.stdout);
    let log = env.requests();
    assert_eq!(
        cost_by_tenant(&log),
        BTreeMap::from([
            (CONTOSO.to_string(), one_tenant_cost()),
            (FABRIKAM.to_string(), one_tenant_cost()),
        ]),
        "{log:#?}"
    );
}

// 2. Throttling ---------------------------------------------------------------

#[test]
fn a_throttling_storm_is_ridden_out_honouring_retry_after() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let calm = plan(&env, &cfg);
    assert_eq!(calm.code, 0, "{}", calm.transcript());
    // Four resource units and one a second: the batch's first four reads
    // pass, the organization and SKU reads (1 and 2 RU) are throttled.
    env.set_faults(json!({ "throttle": { "capacity": 4, "refillPerSecond": 1 } }));
    env.clear_requests();
    let (run, took) = timed(|| plan(&env, &cfg));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        run.stdout, calm.stdout,
        "the same plan as without throttling"
    );

    let log = env.requests();
    let batch = matching(&log, "/v1.0/$batch");
    assert_eq!(batch.len(), 1, "{log:#?}");
    let subs = batch[0]["subRequests"].as_array().expect("sub-requests");
    let throttled: Vec<&Value> = subs.iter().filter(|s| s["status"] == 429).collect();
    assert!(
        !throttled.is_empty(),
        "the storm throttled something: {subs:#?}"
    );
    let mut longest = 0;
    for t in &throttled {
        assert_eq!(t["fault"], "throttle", "{t:#?}");
        let after = t["retryAfter"].as_u64().expect("Retry-After");
        longest = longest.max(after);
        // Each throttled read is retried on its own until it succeeds.
        let path = t["path"].as_str().expect("path");
        let tries = attempts(&log, "GET", path);
        assert_eq!(
            tries.last().map(|t| t.0),
            Some(200),
            "{path} ends in success: {tries:?}"
        );
        assert!(tries.len() >= 2, "{path}: {tries:?}");
    }
    assert!(
        took >= Duration::from_secs(longest),
        "no retry before Retry-After ({longest} s); the run took {took:?}"
    );
}

#[test]
fn a_429_on_the_batch_and_on_a_sub_request_are_retried_after_retry_after() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(ADMIN_RESET_OFF));
    env.set_faults(json!({ "failNext": [
        { "status": 429, "count": 1, "pathPrefix": "/v1.0/$batch", "retryAfterSeconds": 1 },
        { "status": 429, "count": 1, "pathPrefix": "/v1.0/policies/authorizationPolicy", "method": "GET", "retryAfterSeconds": 1 }
    ]}));
    env.clear_requests();
    let (run, took) = timed(|| plan(&env, &cfg));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("~ administratorPasswordReset.enabled: true -> false"),
        "{}",
        run.stdout
    );
    let log = env.requests();
    let batches = matching(&log, "/v1.0/$batch");
    assert_eq!(
        batches
            .iter()
            .map(|b| (b["status"].clone(), b["retryAfter"].clone()))
            .collect::<Vec<_>>(),
        vec![(json!(429), json!(1)), (json!(200), Value::Null)],
        "{log:#?}"
    );
    assert_eq!(
        attempts(&log, "GET", "/v1.0/policies/authorizationPolicy"),
        vec![(429, Some("failNext".into())), (200, None)],
        "throttled inside the batch, then retried alone: {log:#?}"
    );
    // The sub-request's 429 only exists once the envelope's retry ran: two
    // Retry-After waits one after the other.
    assert!(
        took >= Duration::from_secs(2),
        "retries came before their Retry-After: {took:?}"
    );
}

// 3, 4. 5xx bursts and exhausted retries ---------------------------------------

#[test]
fn a_503_burst_on_the_portal_write_is_retried_until_the_put_lands() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(METHODS_2));
    env.set_faults(json!({ "failNext": [
        { "status": 503, "count": 3, "pathPrefix": "/api/PasswordReset", "method": "PUT", "retryAfterSeconds": 1 }
    ]}));
    env.clear_requests();
    let (run, took) = timed(|| apply(&env, &cfg));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("contoso: applied 1 change, verified by reading back."),
        "{}",
        run.stdout
    );
    let log = env.requests();
    assert_eq!(
        attempts(&log, "PUT", "/api/PasswordReset/PasswordResetPolicies"),
        vec![
            (503, Some("failNext".into())),
            (503, Some("failNext".into())),
            (503, Some("failNext".into())),
            (200, None)
        ],
        "{log:#?}"
    );
    assert!(took >= Duration::from_secs(3), "{took:?}");
    let (_, live) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    assert_eq!(live["numberOfAuthenticationMethodsRequired"], 2);
}

#[test]
fn exhausted_read_retries_leave_the_setting_unknown_with_the_status() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(&format!("{METHODS_2}{ADMIN_RESET_OFF}")));
    env.set_faults(json!({ "failNext": [
        { "status": 503, "count": 20, "pathPrefix": "/api/PasswordReset", "method": "GET", "retryAfterSeconds": 1 }
    ]}));
    env.clear_requests();
    let run = plan(&env, &cfg);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("? portal PasswordResetPolicies"))
        .unwrap_or_else(|| panic!("no unknown line:\n{}", run.stdout));
    assert!(line.contains("managed setting"), "{line}");
    assert!(line.contains("HTTP 503"), "{line}");
    assert!(
        !run.stdout
            .contains("selfServicePasswordReset.methodsRequired: 1 -> 2"),
        "an unreadable setting is never drift:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("~ administratorPasswordReset.enabled: true -> false"),
        "the readable surface is still planned:\n{}",
        run.stdout
    );
    let tries = attempts(
        &env.requests(),
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
    );
    assert!(
        (2..=6).contains(&tries.len()) && tries.iter().all(|t| t.0 == 503),
        "retried, but a bounded number of times: {tries:?}"
    );
    let left = env.faults()["failNext"][0]["count"]
        .as_u64()
        .expect("count");
    assert_eq!(left as usize, 20 - tries.len());
}

#[test]
fn exhausted_write_retries_fail_apply_saying_what_was_written() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    // One of four surfaces (methods, portal, authorization, password rules).
    env.set_faults(json!({ "failNext": [
        { "status": 503, "count": 20, "pathPrefix": "/v1.0/policies/authorizationPolicy", "method": "PATCH", "retryAfterSeconds": 1 }
    ]}));
    env.clear_requests();
    let run = apply(&env, &cfg);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("error: tenant contoso: writing administratorPasswordReset.enabled failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("caused by: Graph authorizationPolicy: HTTP 503"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("contoso after the failure (read back):"),
        "{}",
        run.stderr
    );
    // Surfaces are written in independent lanes: only the failed one is missing.
    for line in [
        "applied: authenticationMethods.sms.state",
        "applied: selfServicePasswordReset.methodsRequired",
        "not applied: administratorPasswordReset.enabled",
        "applied: passwordProtection.bannedPasswords",
    ] {
        assert!(run.stderr.contains(line), "{line}:\n{}", run.stderr);
    }
    let log = env.requests();
    let tries = attempts(&log, "PATCH", "/v1.0/policies/authorizationPolicy");
    assert!(
        (2..=6).contains(&tries.len()) && tries.iter().all(|t| t.0 == 503),
        "{tries:?}"
    );
    assert_eq!(
        attempts(&log, "POST", "/v1.0/groupSettings").len(),
        1,
        "the independent password-rule surface is still written: {log:#?}"
    );
    let (_, authz) = env.call(CONTOSO, "GET", "/v1.0/policies/authorizationPolicy", None);
    assert_eq!(authz["allowedToUseSSPR"], true, "not written");
    let (_, portal) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    assert_eq!(
        portal["numberOfAuthenticationMethodsRequired"], 2,
        "written"
    );

    // Once the service recovers, apply converges with only what is left.
    env.clear_faults();
    env.clear_requests();
    let again = apply(&env, &cfg);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_eq!(
        env.writes(),
        vec![(
            "PATCH".to_string(),
            "/v1.0/policies/authorizationPolicy".to_string()
        )]
    );
}

// 5. Dropped connections -------------------------------------------------------

/// The emulator's fault dice (SplitMix64, docs/emulator.md `seed`): whether
/// each of the first draws drops a connection at `rate`.
fn drops(seed: u64, rate: f64, n: usize) -> Vec<bool> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
        })
        .collect()
}

/// The first seed whose draws follow `pattern` (true = drop).
fn seed_for(pattern: &[bool], rate: f64) -> u64 {
    (1..100_000)
        .find(|s| drops(*s, rate, pattern.len()) == pattern)
        .expect("a seed exists")
}

#[test]
fn dropped_connections_on_reads_are_unknown_not_drift() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(&format!("{METHODS_2}{ADMIN_RESET_OFF}")));
    env.set_faults(json!({ "dropRate": 1.0 }));
    env.clear_requests();
    let run = env.run(&["plan", "--config", path_str(&cfg), "--detailed-exitcode"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stdout.contains("? portal PasswordResetPolicies"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("? Graph authorizationPolicy"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(" -> "),
        "no change proposed:\n{}",
        run.stdout
    );
    let log = env.requests();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|r| r["fault"] == "drop" && r["status"] == 0),
        "{log:#?}"
    );

    env.clear_faults();
    let run = env.run(&["plan", "--config", path_str(&cfg), "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stdout.contains("Plan: 2 to change"), "{}", run.stdout);
}

#[test]
fn dropped_connections_on_the_batch_after_a_token_are_unknown() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(ADMIN_RESET_OFF));
    // Graph only, so the requests come one after another: the token gets
    // through, every attempt at the `$batch` is dropped.
    let pattern = [false, true, true, true, true, true, true];
    env.set_faults(json!({ "seed": seed_for(&pattern, 0.5), "dropRate": 0.5 }));
    env.clear_requests();
    let run = plan(&env, &cfg);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("? Graph authorizationPolicy"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(line.contains("$batch failed: request to"), "{line}");
    assert!(!run.stdout.contains(" -> "), "{}", run.stdout);
    let log = env.requests();
    let tries = attempts(&log, "POST", "/v1.0/$batch");
    assert!(
        tries.len() >= 2 && tries.iter().all(|t| t == &(0, Some("drop".into()))),
        "retried, every attempt dropped: {log:#?}"
    );
}

#[test]
fn a_dropped_write_fails_apply_with_a_clear_error_and_writes_nothing() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(ADMIN_RESET_OFF));
    // Graph only, sequential: token, `$batch` read, then the PATCH and every
    // retry of it dropped before the emulator handles it.
    let pattern = [false, false, true, true, true, true, true, true];
    env.set_faults(json!({ "seed": seed_for(&pattern, 0.5), "dropRate": 0.5 }));
    env.clear_requests();
    let run = apply(&env, &cfg);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("error: tenant contoso: writing administratorPasswordReset.enabled failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "caused by: Graph authorizationPolicy: request to {}/v1.0/policies/authorizationPolicy failed",
            env.url
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("not applied: administratorPasswordReset.enabled"),
        "{}",
        run.stderr
    );
    let log = env.requests();
    let tries = attempts(&log, "PATCH", "/v1.0/policies/authorizationPolicy");
    assert!(
        tries.len() >= 2 && tries.iter().all(|t| t == &(0, Some("drop".into()))),
        "{log:#?}"
    );
    env.clear_faults();
    let (_, authz) = env.call(CONTOSO, "GET", "/v1.0/policies/authorizationPolicy", None);
    assert_eq!(
        authz["allowedToUseSSPR"], true,
        "a dropped request is not applied"
    );
    let again = apply(&env, &cfg);
    assert_eq!(again.code, 0, "{}", again.transcript());
}

// 6, 7. Stale reads, latency -----------------------------------------------------

#[test]
fn apply_verification_waits_out_a_stale_read_window() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    env.set_faults(json!({ "staleReadsMs": 1200 }));
    env.clear_requests();
    let (run, took) = timed(|| apply(&env, &cfg));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("contoso: applied 13 changes, verified by reading back."),
        "{}",
        run.stdout
    );
    let log = env.requests();
    let reads = matching(&log, "/v1.0/$batch").len();
    assert!(
        reads >= 3,
        "the plan's read, then more than one read back: {reads} batches"
    );
    assert!(took >= Duration::from_millis(1200), "{took:?}");
    // Once the window has passed, a plan sees the applied values.
    env.clear_faults();
    let after = plan(&env, &cfg);
    assert_eq!(after.code, 0, "{}", after.transcript());
    assert!(after.stdout.contains("No changes."), "{}", after.stdout);
}

#[test]
fn latency_with_jitter_still_converges() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    env.set_faults(json!({ "seed": 7, "latencyMs": 50, "jitterMs": 20 }));
    env.clear_requests();
    let run = apply(&env, &cfg);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let again = env.run(&["plan", "--config", path_str(&cfg), "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let log = env.requests();
    let latencies: Vec<u64> = log.iter().filter_map(|r| r["latencyMs"].as_u64()).collect();
    assert!(
        latencies.iter().all(|l| *l >= 50),
        "every request waited: {latencies:?}"
    );
    assert!(
        latencies.iter().min() != latencies.iter().max(),
        "with jitter: {latencies:?}"
    );
}

#[test]
fn a_throttled_token_endpoint_is_retried() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    env.set_faults(json!({ "failNext": [
        { "status": 503, "count": 2, "pathPrefix": "/6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b/oauth2", "method": "POST" }
    ]}));
    env.clear_requests();
    let run = env.run(&["plan", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let failed = env
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("oauth2")) && r["status"] == 503)
        .count();
    assert_eq!(failed, 2, "both 503s were met and ridden out");
}

#[test]
fn a_revoked_token_is_replaced_once() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    // The portal answers 401 once, as for a token revoked after it was issued.
    env.set_faults(json!({ "failNext": [
        { "status": 401, "count": 1, "pathPrefix": "/api/PasswordReset/PasswordResetPolicies", "method": "GET" }
    ]}));
    env.clear_requests();
    let run = env.run(&["plan", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let log = env.requests();
    let tokens = log
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("oauth2")))
        .count();
    assert_eq!(
        tokens, 3,
        "Graph, portal, and one new portal token after the 401"
    );
    let portal: Vec<u64> = log
        .iter()
        .filter(|r| r["path"] == "/api/PasswordReset/PasswordResetPolicies")
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(portal, [401, 200]);
}

#[test]
fn a_second_401_is_not_retried_again() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    env.set_faults(json!({ "failNext": [
        { "status": 401, "count": 5, "pathPrefix": "/api/PasswordReset/PasswordResetPolicies", "method": "GET" }
    ]}));
    env.clear_requests();
    let run = env.run(&[
        "plan",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--detailed-exitcode",
    ]);
    assert_eq!(
        run.code,
        2,
        "Graph changes remain; the portal part is unknown:\n{}",
        run.transcript()
    );
    assert!(
        run.stdout.contains("? portal PasswordResetPolicies"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("HTTP 401"), "{}", run.stdout);
    let tries = env
        .requests()
        .iter()
        .filter(|r| r["path"] == "/api/PasswordReset/PasswordResetPolicies")
        .count();
    assert_eq!(tries, 2);
}
