//! Preflight findings, each from an emulator state that triggers it.

use serde_json::json;

use crate::support::{CONTOSO, Env};

fn config(env: &Env, body: &str) -> String {
    let path = env.config(
        "c.yaml",
        &format!("version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n{body}"),
    );
    path.to_str().expect("utf-8").to_string()
}

fn tenant_state(fields: serde_json::Value) -> Option<serde_json::Value> {
    Some(json!({ "formatVersion": 1, "tenants": { CONTOSO: fields } }))
}

#[test]
fn writeback_without_a_sync_client_blocks_apply() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      onPremisesIntegration:\n        passwordWriteback: true\n",
    );
    let run = env.run(&["apply", "--config", &cfg, "--auto-approve"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("error: onPremisesIntegration.passwordWriteback:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("no Entra Connect or Cloud Sync writeback client is registered"),
        "{}",
        run.stdout
    );
}

#[test]
fn missing_premium_licence_blocks_apply() {
    let env = Env::with_state(tenant_state(json!({ "subscribedSkus": [] })));
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: all\n",
    );
    let run = env.run(&["apply", "--config", &cfg, "--auto-approve"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(
        run.stdout.contains("needs Microsoft Entra ID P1 or P2"),
        "{}",
        run.stdout
    );
}

#[test]
fn legacy_toggles_after_migration_are_flagged() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      authenticationMethods:\n        migrationState: migrationComplete\n      selfServicePasswordReset:\n        methods: { email: true }\n",
    );
    let run = env.run(&["plan", "--config", &cfg]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("warning: selfServicePasswordReset.methods: the authentication-methods policy migration is complete"), "{}", run.stdout);
}

#[test]
fn more_methods_required_than_offered_blocks_apply() {
    let env = Env::new();
    let (_, mut live) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    assert_eq!(live["mobilePhoneOptionAllowed"], true);
    live["mobilePhoneOptionAllowed"] = json!(false);
    let state = tenant_state(json!({ "passwordResetPolicies": live }));
    drop(env);
    let env = Env::with_state(state);
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        methodsRequired: 2\n        methods: { email: true, mobilePhone: true, officePhone: false, securityQuestions: false, authenticatorNotification: false, authenticatorCode: false }\n",
    );
    let run = env.run(&["apply", "--config", &cfg, "--auto-approve"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("2 methods would be required but only 1 enabled method is offered"),
        "{}",
        run.stdout
    );
}

#[test]
fn group_that_is_not_a_security_group_is_a_warning() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: selected\n        group: { displayName: Marketing Team }\n",
    );
    let run = env.run(&["plan", "--config", &cfg]);
    assert!(
        run.stdout
            .contains("\"Marketing Team\" is not a security group"),
        "{}",
        run.stdout
    );
}

#[test]
fn missing_group_blocks_apply() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: selected\n        group: { displayName: No Such Group }\n",
    );
    let run = env.run(&["apply", "--config", &cfg, "--auto-approve"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(
        run.stdout.contains("no group is named \"No Such Group\""),
        "{}",
        run.stdout
    );
}

#[test]
fn readiness_figures_come_from_the_registration_report() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: selected\n        group: { displayName: SSPR Users }\n        methodsRequired: 2\n",
    );
    let run = env.run(&["plan", "--config", &cfg, "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let lines: Vec<&str> = plan["tenants"][0]["readiness"]
        .as_array()
        .expect("readiness")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    // The emulator's generated population (500 users, ~40% in "SSPR Users") is
    // deterministic per tenant id, so the figures are exact.
    assert_eq!(
        lines,
        [
            "SSPR enabled for 201 more users, 159 of them not registered for 2 methods",
            "methods required 1 -> 2: 134 users in scope have only 1 method registered",
            "in scope after the change: 201 users, 42 of them registered",
        ]
    );
    let log = env.requests();
    assert!(log.iter().any(|r| {
        r["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("userRegistrationDetails"))
    }));
    assert!(log.iter().any(|r| {
        r["path"]
            .as_str()
            .is_some_and(|p| p.contains("transitiveMembers"))
    }));
}

#[test]
fn readiness_follows_every_page_of_a_large_population() {
    let env = Env::with_state(tenant_state(json!({ "population": { "users": 2500 } })));
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: all\n",
    );
    env.clear_requests();
    let run = env.run(&["plan", "--config", &cfg]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let pages = env
        .requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("userRegistrationDetails"))
        })
        .count();
    assert_eq!(pages, 3, "2,500 users in pages of 999");
    let in_scope = run
        .stdout
        .lines()
        .find(|l| l.contains("in scope after the change"))
        .expect("readiness line");
    assert!(
        in_scope.contains("2,4") || in_scope.contains("2,5"),
        "{in_scope}"
    );
}

#[test]
fn readiness_is_not_read_when_scope_does_not_change() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        notifications: { notifyUsersOnReset: false }\n",
    );
    env.clear_requests();
    let run = env.run(&["plan", "--config", &cfg]);
    assert!(!run.stdout.contains("readiness:"), "{}", run.stdout);
    assert!(!env.requests().iter().any(|r| {
        r["path"]
            .as_str()
            .is_some_and(|p| p.contains("userRegistrationDetails"))
    }));
}

#[test]
fn a_group_lookup_that_fails_is_not_reported_as_a_missing_group() {
    const APP: &str = "a1a1a1a1-0000-4000-8000-00000000000a";
    let env = Env::with_state(tenant_state(json!({
        "apps": [{ "clientId": APP, "clientSecret": "test-only-secret", "roles": ["Policy.Read.All", "Organization.Read.All"] }]
    })));
    let path = env.config(
        "c.yaml",
        &format!(
            "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    credentials:\n      graph: {{ method: clientSecret, clientId: {APP}, secretEnv: APP_SECRET }}\n      portal: {{ method: refreshToken, env: ADMIN_TOKEN }}\n    settings:\n      selfServicePasswordReset:\n        enabledFor: selected\n        group: {{ displayName: SSPR Pilot }}\n"
        ),
    );
    let run = env.run_env(
        &["plan", "--config", path.to_str().expect("utf-8")],
        &[
            ("APP_SECRET", "test-only-secret"),
            ("ADMIN_TOKEN", ssprctl_emulator::LOCAL_ADMIN_REFRESH_TOKEN),
        ],
    );
    assert!(
        run.stdout.contains("could not look up the group"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("403"),
        "the status is named:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("grant the app the application permission Group.Read.All"),
        "the lookup's own permission is named, not the SSPR policy's:\n{}",
        run.stdout
    );
    assert!(!run.stdout.contains("no group is named"), "{}", run.stdout);
    // The readiness figures need the registration report and its own permission.
    assert!(
        run.stdout
            .contains("figures unavailable: reading the registration report: HTTP 403"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("application permission AuditLog.Read.All"),
        "{}",
        run.stdout
    );
}

#[test]
fn plan_with_a_blocking_preflight_error_exits_1_after_printing_the_plan() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      onPremisesIntegration:\n        passwordWriteback: true\n",
    );
    for detailed in [false, true] {
        let out = env.dir.path().join(format!("p-{detailed}.plan"));
        let out = out.to_str().expect("utf-8");
        let mut args = vec!["plan", "--config", &cfg, "--out", out];
        if detailed {
            args.push("--detailed-exitcode");
        }
        let run = env.run(&args);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(
            run.stdout
                .contains("onPremisesIntegration.passwordWriteback"),
            "the plan is printed: {}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains("error: onPremisesIntegration.passwordWriteback:"),
            "{}",
            run.stdout
        );
        assert!(std::path::Path::new(out).exists(), "the plan is saved");
    }
}

fn hybrid(extra: serde_json::Value) -> Option<serde_json::Value> {
    let mut state = crate::support::hybrid_state(CONTOSO);
    if let (Some(t), Some(extra)) = (state["tenants"][CONTOSO].as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            t.insert(k.clone(), v.clone());
        }
    }
    Some(state)
}

#[test]
fn unlock_without_writeback_blocks_the_plan() {
    let env = Env::with_state(hybrid(json!({})));
    let cfg = config(
        &env,
        "      onPremisesIntegration:\n        unlockWithoutReset: true\n",
    );
    let run = env.run(&["plan", "--config", &cfg]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains("error: onPremisesIntegration.unlockWithoutReset: unlockWithoutReset: true needs password writeback, and passwordWriteback is false (live)"),
        "{}",
        run.stdout
    );
    let fixed = config(
        &env,
        "      onPremisesIntegration:\n        passwordWriteback: true\n        unlockWithoutReset: true\n",
    );
    let run = env.run(&["plan", "--config", &fixed]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn a_synced_tenant_with_sspr_on_and_writeback_off_is_warned() {
    let env = Env::with_state(hybrid(json!({
        "organization": {"id": CONTOSO, "displayName": "Contoso", "onPremisesSyncEnabled": true}
    })));
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: all\n",
    );
    let run = env.run(&["plan", "--config", &cfg]);
    assert_eq!(
        run.code,
        0,
        "a warning does not block: {}",
        run.transcript()
    );
    assert!(
        run.stdout.contains("warning: onPremisesIntegration.passwordWriteback: the tenant is synchronised from on-premises and SSPR is on (enabledFor: all), but password writeback is off: every synchronised user in scope cannot complete a reset"),
        "{}",
        run.stdout
    );
}

#[test]
fn business_standard_licenses_cloud_reset_but_not_writeback() {
    let env = Env::with_state(hybrid(json!({
        "subscribedSkus": [{
            "skuId": "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
            "skuPartNumber": "O365_BUSINESS_PREMIUM",
            "capabilityStatus": "Enabled",
            "appliesTo": "User",
            "consumedUnits": 10,
            "prepaidUnits": {"enabled": 1000, "suspended": 0, "warning": 0, "lockedOut": 0},
            "servicePlans": []
        }]
    })));
    let reset = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: all\n",
    );
    let run = env.run(&["plan", "--config", &reset]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stdout.contains("error:"), "{}", run.stdout);
    let writeback = config(
        &env,
        "      onPremisesIntegration:\n        passwordWriteback: true\n",
    );
    let run = env.run(&["plan", "--config", &writeback]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains("password writeback needs Microsoft Entra ID P1 or P2, or Microsoft 365 Business Premium, and the tenant has none of them"),
        "{}",
        run.stdout
    );
}

#[test]
fn fewer_seats_than_users_in_scope_is_a_warning_with_both_numbers() {
    // The fresh emulator tenant has one Entra ID P2 SKU with 25 seats and a
    // generated population of 500 users.
    let env = Env::new();
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: all\n",
    );
    let run = env.run(&["plan", "--config", &cfg, "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let seats: Vec<&serde_json::Value> = plan["tenants"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == "licence-seats")
        .collect();
    assert_eq!(seats.len(), 1, "{}", run.stdout);
    assert_eq!(seats[0]["severity"], "warning");
    let message = seats[0]["message"].as_str().expect("message");
    assert!(
        message.contains(
            "users in scope after the change, but the subscriptions that license SSPR have 25 seats"
        ),
        "{message}"
    );
}

#[test]
fn readiness_counts_users_a_turned_off_method_leaves_short() {
    let env = Env::new();
    let cfg = config(
        &env,
        "      selfServicePasswordReset:\n        enabledFor: all\n        methods: { mobilePhone: false }\n",
    );
    let run = env.run(&["plan", "--config", &cfg, "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let lines: Vec<&str> = plan["tenants"][0]["readiness"]
        .as_array()
        .expect("readiness")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let line = lines
        .iter()
        .find(|l| l.starts_with("mobilePhone turned off: "))
        .unwrap_or_else(|| panic!("no line for the method: {lines:?}"));
    assert!(
        line.ends_with("in scope left with fewer than 1 registered reset method they can use"),
        "{line}"
    );
}
