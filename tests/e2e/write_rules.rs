//! Each API's write rule, asserted from the emulator's request log.

use crate::support::{CONTOSO, Env};

/// Applies a config; the gates are tested elsewhere (gitops.rs), so weakening
/// changes (writeback, unlock) are allowed here.
fn apply(env: &Env, cfg: &std::path::Path) {
    let run = env.run(&[
        "apply",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

fn count(writes: &[(String, String)], method: &str, path_start: &str) -> usize {
    writes
        .iter()
        .filter(|(m, p)| m == method && p.starts_with(path_start))
        .count()
}

#[test]
fn portal_policy_is_one_full_object_put() {
    let env = Env::new();
    let cfg = env.example("pilot-rollout.yaml");
    env.clear_requests();
    apply(&env, &cfg);
    let writes = env.writes();
    assert_eq!(
        writes,
        vec![(
            "PUT".to_string(),
            "/api/PasswordReset/PasswordResetPolicies".to_string()
        )]
    );
}

#[test]
fn on_premises_flags_are_one_put_each() {
    let env = Env::with_state(Some(crate::support::hybrid_state(CONTOSO)));
    let cfg = env.config(
        "onprem.yaml",
        &format!("version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n      onPremisesIntegration:\n        passwordWriteback: true\n        unlockWithoutReset: true\n"),
    );
    env.clear_requests();
    apply(&env, &cfg);
    assert_eq!(
        count(
            &env.writes(),
            "PUT",
            "/api/PasswordReset/OnPremisesPasswordResetPolicies"
        ),
        2
    );
    let (_, live) = env.call(
        CONTOSO,
        "GET",
        "/api/PasswordReset/OnPremisesPasswordResetPolicies",
        None,
    );
    assert_eq!(live["passwordWritebackSupported"], true);
    assert_eq!(live["accountUnlockEnabled"], true);
}

#[test]
fn graph_policies_are_patched_with_changed_fields_only() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    env.clear_requests();
    apply(&env, &cfg);
    let writes = env.writes();
    assert_eq!(
        count(&writes, "PATCH", "/v1.0/policies/authorizationPolicy"),
        1
    );
    for method in ["MicrosoftAuthenticator", "Sms", "TemporaryAccessPass"] {
        assert_eq!(
            count(
                &writes,
                "PATCH",
                &format!(
                    "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{method}"
                )
            ),
            1,
            "{method}: {writes:?}"
        );
    }
    let (_, authz) = env.call(CONTOSO, "GET", "/v1.0/policies/authorizationPolicy", None);
    assert_eq!(authz["allowedToUseSSPR"], false);
    let (_, tap) = env.call(CONTOSO, "GET", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass", None);
    assert_eq!(
        tap["state"], "disabled",
        "unchanged: the example keeps passes off"
    );
    assert_eq!(tap["isUsableOnce"], true);
    assert_eq!(tap["defaultLifetimeInMinutes"], 60);
}

#[test]
fn password_rule_setting_is_created_with_all_values_then_patched() {
    let env = Env::new();
    let yaml = |threshold: u32| {
        format!(
            "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    settings:\n      passwordProtection:\n        lockoutThreshold: {threshold}\n        bannedPasswords: [contoso, fabrikam]\n"
        )
    };
    env.clear_requests();
    apply(&env, &env.config("pp.yaml", &yaml(7)));
    assert_eq!(
        count(&env.writes(), "POST", "/v1.0/groupSettings"),
        1,
        "{:?}",
        env.writes()
    );
    let (_, list) = env.call(CONTOSO, "GET", "/v1.0/groupSettings", None);
    let values = list["value"][0]["values"]
        .as_array()
        .expect("values")
        .clone();
    assert_eq!(
        values.len(),
        6,
        "create sends every template value: {values:?}"
    );
    assert!(
        values
            .iter()
            .any(|v| v["name"] == "BannedPasswordList" && v["value"] == "contoso\tfabrikam")
    );

    env.clear_requests();
    apply(&env, &env.config("pp.yaml", &yaml(5)));
    let writes = env.writes();
    assert_eq!(
        count(&writes, "POST", "/v1.0/groupSettings"),
        0,
        "{writes:?}"
    );
    assert_eq!(
        count(&writes, "PATCH", "/v1.0/groupSettings/"),
        1,
        "{writes:?}"
    );
    let (_, list) = env.call(CONTOSO, "GET", "/v1.0/groupSettings", None);
    assert!(
        list["value"][0]["values"]
            .as_array()
            .expect("values")
            .iter()
            .any(|v| v["name"] == "LockoutThreshold" && v["value"] == "5")
    );
}

#[test]
fn a_plan_reads_graph_in_one_batch_and_the_portal_in_parallel() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    // Converge first: a plan that changes who may reset also reads the
    // registration report (readiness), which is not what this test counts.
    let applied = env.run(&[
        "apply",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--auto-approve",
    ]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    env.clear_requests();
    let run = env.run(&["plan", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let log = env.requests();
    let non_token: Vec<_> = log
        .iter()
        .filter(|r| !r["path"].as_str().unwrap_or_default().contains("oauth2"))
        .collect();
    let paths: Vec<&str> = non_token
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert_eq!(
        paths.iter().filter(|p| p.contains("$batch")).count(),
        1,
        "{paths:?}"
    );
    assert_eq!(paths.len(), 2, "one $batch + one portal read: {paths:?}");
}
