//! Lost updates on full-object writes (issue 8, part 7): another writer
//! changes the portal `PasswordResetPolicies` between the apply's plan and its
//! PUT, and read-after-write lag (the emulator's `staleReadsMs`) in the
//! read-back, interrupted or not; and what the journal keeps of each.
//!
//! The other writer acts while the apply waits out a `Retry-After` on the
//! authentication-methods PATCH, which is written before the SSPR policy:
//! after the apply has read the tenant, before it reads the policy again for
//! its PUT.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::journal::{assert_valid, journals, records};
use crate::support::{CONTOSO, Env, Isolated, Run, Started, run_limit, wait_for};

const PORTAL: &str = "/api/PasswordReset/PasswordResetPolicies";

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn yaml(body: &str) -> String {
    format!(
        "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n{body}"
    )
}

/// Manages the SMS method (written first) and the reconfirmation interval;
/// not the notifications.
const METHODS_THEN_SSPR: &str = "      authenticationMethods:\n        sms: { state: disabled }\n      selfServicePasswordReset:\n        registration: { reconfirmAfterDays: 90 }\n";

/// Starts `ssprctl apply --config CFG --auto-approve` without waiting
/// (isolated like every run; `Started::finish` has the hang guard).
fn start_apply(env: &Env, cfg: &Path) -> Started {
    Isolated::new(env.dir.path(), &env.home()).spawn(&[
        "apply",
        "--config",
        path_str(cfg),
        "--auto-approve",
    ])
}

fn finish(child: Started) -> Run {
    child.finish()
}

/// Waits until the apply has been answered 503 on its methods PATCH (it now
/// waits out `Retry-After`), or has ended.
fn wait_for_the_throttled_patch(env: &Env, child: &mut Started) {
    let deadline = std::time::Instant::now() + run_limit();
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the methods PATCH was never throttled"
        );
        let throttled = env.requests().iter().any(|r| {
            r["method"] == "PATCH"
                && r["status"] == 503
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/v1.0/policies/authenticationMethodsPolicy"))
        });
        if throttled {
            return;
        }
        if child.child.try_wait().expect("poll ssprctl").is_some() {
            panic!("the apply ended before its methods PATCH was throttled");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Another writer: the portal object with `field` set, PUT as a whole.
fn other_writer_sets(env: &Env, field: &str, value: Value) {
    let (status, mut live) = env.call(CONTOSO, "GET", PORTAL, None);
    assert_eq!(status, 200);
    live[field] = value;
    let (status, _) = env.call(CONTOSO, "PUT", PORTAL, Some(live));
    assert_eq!(status, 200);
}

/// The records of the newest journal, checked against the schema.
fn last_journal(env: &Env) -> Vec<Value> {
    let files = journals(env);
    let recs = records(files.last().expect("a journal"));
    assert_valid(&recs);
    recs
}

/// The `result` record of the write of the portal SSPR policy.
fn portal_result(recs: &[Value]) -> &Value {
    recs.iter()
        .find(|r| r["record"] == "result" && r["surface"] == "portalPasswordReset")
        .expect("a result for the SSPR policy")
}

/// The account's state of one setting of the only tenant.
fn account_state<'a>(recs: &'a [Value], path: &str) -> &'a Value {
    let account = recs.last().expect("records");
    assert_eq!(account["record"], "account");
    account["tenants"][0]["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .find(|s| s["path"] == path)
        .map(|s| &s["state"])
        .expect("the setting is accounted")
}

fn portal_puts(env: &Env) -> usize {
    env.writes()
        .iter()
        .filter(|(m, p)| m == "PUT" && p == PORTAL)
        .count()
}

fn throttle_the_methods_patch(env: &Env) {
    env.set_faults(json!({ "failNext": [
        { "status": 503, "count": 1, "method": "PATCH",
          "pathPrefix": "/v1.0/policies/authenticationMethodsPolicy", "retryAfterSeconds": 3 }
    ]}));
}

#[test]
fn an_unmanaged_setting_changed_between_plan_and_put_is_kept_and_reported() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(METHODS_THEN_SSPR));
    throttle_the_methods_patch(&env);
    env.clear_requests();
    let mut child = start_apply(&env, &cfg);
    wait_for_the_throttled_patch(&env, &mut child);
    other_writer_sets(&env, "notifyOnAdminPasswordReset", json!(false));
    let run = finish(child);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("contoso: applied 2 changes, verified by reading back."),
        "{}",
        run.transcript()
    );
    assert!(
        run.stderr.contains(
            "warning: contoso: concurrent change on portal PasswordResetPolicies: selfServicePasswordReset.notifications.notifyAdminsOnAdminReset: true -> false (changed since the plan was read; kept)"
        ),
        "{}",
        run.stderr
    );
    let (_, live) = env.call(CONTOSO, "GET", PORTAL, None);
    assert_eq!(live["notifyOnAdminPasswordReset"], false, "not reverted");
    assert_eq!(live["registrationReconfirmIntevalInDays"], 90, "written");
    assert_eq!(portal_puts(&env), 2, "the other writer's PUT and ours");
    // The journal keeps what the write kept.
    let recs = last_journal(&env);
    let result = portal_result(&recs);
    assert_eq!(result["result"], "ok");
    assert_eq!(
        result["concurrent"],
        json!([{
            "field": "selfServicePasswordReset.notifications.notifyAdminsOnAdminReset",
            "managed": false, "before": true, "after": false
        }])
    );
    assert_eq!(
        account_state(
            &recs,
            "selfServicePasswordReset.registration.reconfirmAfterDays"
        ),
        "applied"
    );
}

#[test]
fn a_managed_setting_changed_between_plan_and_put_refuses_that_surface() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(METHODS_THEN_SSPR));
    throttle_the_methods_patch(&env);
    env.clear_requests();
    let mut child = start_apply(&env, &cfg);
    wait_for_the_throttled_patch(&env, &mut child);
    other_writer_sets(&env, "registrationReconfirmIntevalInDays", json!(30));
    let run = finish(child);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "error: tenant contoso: portal PasswordResetPolicies changed since the plan was read; it was not written: selfServicePasswordReset.registration.reconfirmAfterDays: 180 -> 30"
        ),
        "{}",
        run.stderr
    );
    for line in [
        "applied: authenticationMethods.sms.state",
        "not applied: selfServicePasswordReset.registration.reconfirmAfterDays",
        "written to contoso: Graph authenticationMethodsPolicy.",
    ] {
        assert!(run.stderr.contains(line), "{line}:\n{}", run.stderr);
    }
    assert_eq!(portal_puts(&env), 1, "only the other writer's PUT");
    let (_, live) = env.call(CONTOSO, "GET", PORTAL, None);
    assert_eq!(
        live["registrationReconfirmIntevalInDays"], 30,
        "theirs stays"
    );
    // The journal: the write's intent, then its refusal with what moved; the
    // setting not applied, so a rollback would leave it alone.
    let recs = last_journal(&env);
    let result = portal_result(&recs);
    assert_eq!(result["result"], "error");
    assert_eq!(
        result["concurrent"],
        json!([{
            "field": "selfServicePasswordReset.registration.reconfirmAfterDays",
            "managed": true, "before": 180, "after": 30
        }])
    );
    assert_eq!(
        account_state(
            &recs,
            "selfServicePasswordReset.registration.reconfirmAfterDays"
        ),
        "not_applied"
    );
    assert_eq!(
        account_state(&recs, "authenticationMethods.sms.state"),
        "applied"
    );
}

const RECONFIRM_90: &str =
    "      selfServicePasswordReset:\n        registration: { reconfirmAfterDays: 90 }\n";
const ADMIN_NOTIFY_OFF: &str =
    "      selfServicePasswordReset:\n        notifications: { notifyAdminsOnAdminReset: false }\n";

#[test]
fn two_applies_under_read_after_write_lag_both_verify_and_keep_each_other() {
    let env = Env::new();
    let first = env.config("first.yaml", &yaml(RECONFIRM_90));
    let second = env.config("second.yaml", &yaml(ADMIN_NOTIFY_OFF));
    // Longer than the read-back used to wait (5 reads, 2 s).
    env.set_faults(json!({ "staleReadsMs": 3000 }));
    // Notifications off is weakening (docs/settings.md); deliberate here.
    for cfg in [&first, &second] {
        let run = env.run(&[
            "apply",
            "--config",
            path_str(cfg),
            "--auto-approve",
            "--allow-weakening",
        ]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert!(
            run.stdout
                .contains("contoso: applied 1 change, verified by reading back."),
            "{}",
            run.transcript()
        );
        assert!(!run.stderr.contains("not applied"), "{}", run.stderr);
        assert!(!run.stderr.contains("concurrent change"), "{}", run.stderr);
    }
    env.clear_faults();
    let (_, live) = env.call(CONTOSO, "GET", PORTAL, None);
    assert_eq!(
        live["registrationReconfirmIntevalInDays"], 90,
        "the first stays"
    );
    assert_eq!(
        live["notifyOnAdminPasswordReset"], false,
        "the second landed"
    );
}

#[test]
fn lag_beyond_the_read_back_is_unknown_and_a_lost_update_is_reported() {
    let env = Env::new();
    let first = env.config("first.yaml", &yaml(RECONFIRM_90));
    let second = env.config("second.yaml", &yaml(ADMIN_NOTIFY_OFF));
    // Longer than the whole read-back (6 reads over 7.75 s).
    env.set_faults(json!({ "staleReadsMs": 9000 }));
    let run = env.run(&["apply", "--config", path_str(&first), "--auto-approve"]);
    assert_eq!(run.code, 3, "unknown, not failed:\n{}", run.transcript());
    assert!(
        run.stderr.contains(
            "error: tenant contoso: written, but not visible when read back yet: selfServicePasswordReset.registration.reconfirmAfterDays"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("unknown: selfServicePasswordReset.registration.reconfirmAfterDays (written, but no read showed it yet (6 reads)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not applied"), "{}", run.stderr);
    let recs = last_journal(&env);
    assert_eq!(
        account_state(
            &recs,
            "selfServicePasswordReset.registration.reconfirmAfterDays"
        ),
        "unknown"
    );

    // Still inside the window, a second apply reads the policy from before
    // the first: its PUT, built from that read, reverts the first's setting.
    // No read before the PUT can tell; the read-back sees the version the
    // PUT replaced and says so.
    let run = env.run(&[
        "apply",
        "--config",
        path_str(&second),
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert!(!run.stderr.contains("not applied"), "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "warning: contoso: concurrent change on portal PasswordResetPolicies: selfServicePasswordReset.registration.reconfirmAfterDays: another writer's 90 was replaced with 180 by this apply (a lost update: set it again if it was wanted)"
        ),
        "{}",
        run.transcript()
    );
    // The account journals the lost update.
    let recs = last_journal(&env);
    assert_eq!(
        recs.last().expect("account")["tenants"][0]["lost_updates"],
        json!([{
            "surface": "portalPasswordReset",
            "field": "selfServicePasswordReset.registration.reconfirmAfterDays",
            "theirs": 90, "written": 180
        }])
    );
}

/// The apply workflow serialises applies of its desired-state file and never
/// cancels one in progress (docs/gitops.md, "Concurrent applies and lost
/// updates").
#[test]
fn the_apply_workflow_runs_one_apply_per_config_at_a_time() {
    let text =
        std::fs::read_to_string(crate::support::repo().join("examples/github/ssprctl-apply.yml"))
            .expect("the workflow exists");
    let top_level = |key: &str| -> Vec<String> {
        let mut lines = text.lines().skip_while(|l| *l != format!("{key}:"));
        lines.next();
        lines
            .take_while(|l| l.starts_with(' '))
            .map(|l| l.trim().to_string())
            .collect()
    };
    let config = top_level("env")
        .into_iter()
        .find_map(|l| l.strip_prefix("SSPRCTL_CONFIG: ").map(str::to_string))
        .expect("SSPRCTL_CONFIG is set");
    assert_eq!(
        top_level("concurrency"),
        vec![
            format!("group: ssprctl-apply-{config}"),
            "cancel-in-progress: false".to_string()
        ]
    );
}

/// The journal's interrupt and the lost-update read-back together: SIGINT
/// while the read-back waits out read-after-write lag ends it at once (one
/// more read at most) with the setting unknown, never "not applied" from a
/// stale read, and the account journaled.
#[cfg(unix)]
#[test]
fn sigint_during_a_lagging_read_back_ends_it_unknown_never_not_applied() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(RECONFIRM_90));
    // Every read during the test is from before the write.
    env.set_faults(json!({ "staleReadsMs": 3_600_000 }));
    env.clear_requests();
    let mut child = start_apply(&env, &cfg);
    wait_for("the apply's PUT", || {
        assert!(
            child.child.try_wait().expect("poll ssprctl").is_none(),
            "the apply ended before its PUT"
        );
        portal_puts(&env) > 0
    });
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let run = finish(child);
    assert_eq!(run.code, 130, "{}", run.transcript());
    assert!(
        run.stderr.contains("Interrupted by SIGINT"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "unknown: selfServicePasswordReset.registration.reconfirmAfterDays (written, but no read showed it yet ("
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not applied"), "{}", run.stderr);
    // The read-back did not go on backing off: the read under way at the
    // interrupt, or one more.
    let requests = env.requests();
    let put = requests
        .iter()
        .position(|r| r["method"] == "PUT" && r["path"] == PORTAL)
        .expect("the PUT");
    let reads_after = requests[put..]
        .iter()
        .filter(|r| r["method"] == "GET" && r["path"] == PORTAL)
        .count();
    assert!(reads_after <= 2, "{reads_after} reads after the PUT");
    let recs = last_journal(&env);
    assert_eq!(
        recs.last().expect("account")["interrupted"]["signal"],
        "SIGINT"
    );
    assert_eq!(
        account_state(
            &recs,
            "selfServicePasswordReset.registration.reconfirmAfterDays"
        ),
        "unknown"
    );
    // It had landed: once reads catch up, nothing is left to change.
    env.clear_faults();
    let plan = env.run(&["plan", "--config", path_str(&cfg), "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
}
