//! `validate`: every problem with file:line:column, all in one run.

use crate::support::{Env, run_in};

#[test]
fn every_example_validates() {
    for ex in [
        "quickstart.yaml",
        "pilot-rollout.yaml",
        "hybrid-writeback.yaml",
        "msp-baseline.yaml",
        "baselines/cis.yaml",
    ] {
        let run = run_in(
            &crate::support::repo(),
            &["validate", "--config", &format!("examples/{ex}")],
        );
        assert_eq!(run.code, 0, "{ex}: {}", run.transcript());
        assert!(run.stdout.contains("is valid"), "{}", run.stdout);
    }
}

#[test]
fn schema_errors_are_all_reported_with_positions_and_suggestions() {
    let env = Env::new();
    env.config(
        "bad.yaml",
        "version: 1
baseline:
  selfServicePasswordReset:
    enabledFor: everyone
    methodsRequird: 2
    registration:
      reconfirmAfterDays: 900
tenants:
  - name: contoso
    tenantId: not-a-guid
    endpoint: http://10.0.0.1:80
    settings:
      passwordProtection:
        bannedPasswords: [abc, okayterm]
        lockoutThreshold: ten
",
    );
    let run = env.run(&["validate", "--config", "bad.yaml"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.matches("error: bad.yaml:").count(),
        7,
        "{}",
        run.stderr
    );
    insta::assert_snapshot!("validate_schema_errors", run.transcript());
}

#[test]
fn semantic_errors_point_at_the_value_that_breaks_the_rule() {
    let env = Env::new();
    env.config(
        "sem.yaml",
        "version: 1
baseline:
  selfServicePasswordReset:
    enabledFor: selected
    methodsRequired: 2
    methods: { email: true, mobilePhone: false, officePhone: false, securityQuestions: false, authenticatorNotification: false, authenticatorCode: false }
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
    settings:
      selfServicePasswordReset:
        helpdesk: { customLink: true, contact: \"ftp://help\" }
        securityQuestions: { numberToRegister: 3, numberToReset: 4 }
      authenticationMethods:
        temporaryAccessPass: { minimumLifetimeMinutes: 60, maximumLifetimeMinutes: 30 }
        fido2: { exclude: [allUsers] }
      passwordProtection:
        bannedPasswords: [okayterm, OKAYTERM]
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
",
    );
    let run = env.run(&["validate", "--config", "sem.yaml"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("error: sem.yaml:4:17: baseline.selfServicePasswordReset.enabledFor:"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!("validate_semantic_errors", run.transcript());
}

/// Control characters, numbers serde would refuse, a pasted secret and a
/// semantic problem, all in one run, each at its value; nothing raw reaches the
/// terminal and the secret is never shown.
#[test]
fn input_hygiene_problems_are_located_at_the_value_in_one_run() {
    let env = Env::new();
    env.config(
        "hygiene.yaml",
        "version: 1
baseline:
  selfServicePasswordReset:
    securityQuestions:
      numberToRegister: 3
      questions: [\"Name of your first pet?\\u202E\", \"City you were born in?\"]
  passwordProtection:
    bannedPasswords: [\"contoso\\e[2J\", \"fab\\trikam\"]
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
    credentials:
      graph: { method: clientSecret, secretEnv: \"Qx8~s3cr3t.Value\" }
    \"notes\\a\": hello
    settings:
      selfServicePasswordReset:
        methodsRequired: 2.5
      passwordProtection:
        lockoutThreshold: 1180591620717411303424
  - name: fabrikam
    tenantId: 0b8f3c1a-2d4e-4f6a-8b9c-1d2e3f4a5b6c
    endpoint: local
    settings:
      authenticationMethods:
        temporaryAccessPass: { minimumLifetimeMinutes: 60, maximumLifetimeMinutes: 30 }
",
    );
    let run = env.run(&["validate", "--config", "hygiene.yaml"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    let raw = |c: char| ssprctl_model::text::is_control(c) && c != '\n';
    assert!(!run.stderr.contains(raw), "{:?}", run.stderr);
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
    // The semantic problems of the second tenant (its own and the baseline's)
    // are reported with the rest.
    for path in [
        "tenants[1].settings.authenticationMethods.temporaryAccessPass.minimumLifetimeMinutes",
        "baseline.selfServicePasswordReset.securityQuestions.questions:",
    ] {
        assert!(run.stderr.contains(path), "{path}: {}", run.stderr);
    }
    insta::assert_snapshot!("validate_input_hygiene", run.transcript());
}

#[test]
fn yaml_syntax_error_has_a_position() {
    let env = Env::new();
    env.config("syntax.yaml", "version: 1\ntenants:\n  - name: [unclosed\n");
    let run = env.run(&["validate", "--config", "syntax.yaml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error: syntax.yaml:"), "{}", run.stderr);
    assert!(run.stderr.contains("invalid YAML"), "{}", run.stderr);
}

#[test]
fn a_missing_file_says_so() {
    let env = Env::new();
    let run = env.run(&["validate", "--config", "nope.yaml"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot read nope.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn skip_registration_settings_plan_apply_and_are_range_checked() {
    let env = Env::new();
    let tenant = crate::support::CONTOSO;
    let yaml = |body: &str| {
        format!(
            "version: 1\ntenants:\n  - name: contoso\n    tenantId: {tenant}\n    endpoint: local\n    settings:\n      selfServicePasswordReset:\n        registration:\n{body}"
        )
    };
    env.config(
        "range.yaml",
        &yaml("          skipAllowed: true\n          skipMaxDays: 0\n"),
    );
    let run = env.run(&["validate", "--config", "range.yaml"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("skipMaxDays"), "{}", run.stderr);

    env.config(
        "skip.yaml",
        &yaml("          skipAllowed: false\n          skipMaxDays: 3\n"),
    );
    let plan = env.run(&["plan", "--config", "skip.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(
        plan.stdout
            .contains("selfServicePasswordReset.registration.skipAllowed: true -> false"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("selfServicePasswordReset.registration.skipMaxDays: 7 -> 3"),
        "{}",
        plan.stdout
    );
    let apply = env.run(&["apply", "--config", "skip.yaml", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let (_, live) = env.call(
        tenant,
        "GET",
        "/api/PasswordReset/PasswordResetPolicies",
        None,
    );
    assert_eq!(live["skipRegistrationAllowed"], false);
    assert_eq!(live["skipRegistrationMaxAllowedDays"], 3);
    let again = env.run(&["plan", "--config", "skip.yaml", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
}
