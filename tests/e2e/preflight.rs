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
