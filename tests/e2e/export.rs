//! `export` -> `plan` is "No changes": fresh, applied and randomly modified
//! emulator tenants, one tenant or many; groups by unique name or by id; a
//! surface that cannot be read exports nothing (exit 3).

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{CONTOSO, Env};

const PILOT: &str = "b6cdb9c3-d660-4558-bcfd-82c14a986b56";
const MARKETING: &str = "d97d81ce-74be-46a4-ba6e-62eed46fabb9";
/// The emulator has two groups with the display name "Duplicate Name".
const DUPLICATE: &str = "18c6ce0e-243f-4130-ad7d-d9049806df0e";

/// Exports `args` (plus `--out export.yaml`) and returns the file's text.
fn export(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["export", "--out", "export.yaml"];
    all.extend_from_slice(args);
    let run = env.run(&all);
    assert_eq!(run.code, 0, "{}", run.transcript());
    std::fs::read_to_string(env.dir.path().join("export.yaml")).expect("export written")
}

/// `plan --detailed-exitcode` with the export: no changes.
fn plans_no_changes(env: &Env, exported: &str) {
    let valid = env.run(&["validate", "--config", "export.yaml"]);
    assert_eq!(valid.code, 0, "{}\n{exported}", valid.transcript());
    let plan = env.run(&["plan", "--config", "export.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{exported}", plan.transcript());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

fn export_tenant(env: &Env, tenant: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--tenant-id",
        tenant,
        "--endpoint",
        &env.url,
        "--name",
        "contoso",
    ];
    args.extend_from_slice(extra);
    export(env, &args)
}

#[test]
fn a_fresh_tenant_exports_to_a_file_that_plans_no_changes() {
    let env = Env::new();
    env.clear_requests();
    let text = export_tenant(&env, CONTOSO, &[]);
    assert_eq!(
        env.writes(),
        Vec::<(String, String)>::new(),
        "export never writes"
    );
    assert!(
        text.starts_with("# yaml-language-server: $schema=../schemas/ssprctl.schema.json\n"),
        "{text}"
    );
    assert!(text.contains("# Exported by ssprctl "), "{text}");
    assert!(!text.contains("emulator-not-a-secret") && !text.contains("refresh-token"));
    assert!(
        !text.contains("onPremisesIntegration"),
        "not by default: {text}"
    );
    plans_no_changes(&env, &text);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.dir.path().join("export.yaml"))
            .expect("export")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
    }
    let all = export_tenant(&env, CONTOSO, &["--all-settings"]);
    assert!(all.contains("onPremisesIntegration"), "{all}");
    plans_no_changes(&env, &all);
    let slim = export_tenant(&env, CONTOSO, &["--all-settings", "--omit-defaults"]);
    assert!(slim.len() < all.len(), "{slim}");
    plans_no_changes(&env, &slim);
}

#[test]
fn export_prints_to_stdout_without_out() {
    let env = Env::new();
    let run = env.run(&["export", "--tenant-id", CONTOSO, "--endpoint", &env.url]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.starts_with("# yaml-language-server: $schema="),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  - name: tenant\n"), "{}", run.stdout);
}

#[test]
fn an_applied_quickstart_exports_what_was_applied() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8 path");
    let apply = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    // The file gives the tenant list; its settings do not limit what is read.
    let text = export(&env, &["--config", cfg, "--all-settings"]);
    assert!(text.contains("methodsRequired: 2"), "{text}");
    assert!(text.contains("onPremisesIntegration"), "{text}");
    plans_no_changes(&env, &text);
}

#[test]
fn three_msp_tenants_export_as_a_baseline_and_overrides() {
    let env = Env::new();
    let cfg = env.example("msp-baseline.yaml");
    let cfg = cfg.to_str().expect("utf-8 path");
    let apply = env.run(&[
        "apply",
        "--config",
        cfg,
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let text = export(&env, &["--config", cfg]);
    let config = ssprctl_model::load_str("export.yaml", &text).expect("loads");
    let baseline = serde_json::to_value(&config.file.baseline).expect("json");
    assert_eq!(
        baseline["selfServicePasswordReset"]["enabledFor"], "all",
        "{text}"
    );
    assert_eq!(
        baseline["administratorPasswordReset"]["enabled"], false,
        "{text}"
    );
    assert!(
        baseline["selfServicePasswordReset"]
            .get("methodsRequired")
            .is_none(),
        "tailspin differs: {text}"
    );
    let tailspin = serde_json::to_value(&config.file.tenants[1].settings).expect("json");
    assert_eq!(
        tailspin["selfServicePasswordReset"]["methodsRequired"], 1,
        "{text}"
    );
    let northwind = serde_json::to_value(&config.file.tenants[0].settings).expect("json");
    assert_eq!(
        northwind["passwordProtection"]["bannedPasswords"],
        json!(["password", "welcome", "northwind"]),
        "{text}"
    );
    plans_no_changes(&env, &text);
}

/// Sets the SSPR policy's fields through the portal API (a full-object PUT).
fn set_portal(env: &Env, tenant: &str, change: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let path = "/api/PasswordReset/PasswordResetPolicies";
    let (status, live) = env.call(tenant, "GET", path, None);
    assert_eq!(status, 200, "{live}");
    let Value::Object(mut policy) = live else {
        panic!("policy is an object: {live}")
    };
    change(&mut policy);
    let (status, body) = env.call(tenant, "PUT", path, Some(Value::Object(policy)));
    assert!((200..300).contains(&status), "PUT refused: {status} {body}");
}

fn select_group(env: &Env, id: &str, name: &str) {
    set_portal(env, CONTOSO, |p| {
        p.insert("enablementType".into(), json!(1));
        p.insert("passwordResetEnabledGroupIds".into(), json!([id]));
        p.insert("passwordResetEnabledGroupName".into(), json!(name));
    });
}

#[test]
fn a_unique_group_is_exported_by_name_and_a_shared_name_by_id() {
    let env = Env::new();
    select_group(&env, PILOT, "SSPR Pilot");
    let text = export_tenant(&env, CONTOSO, &[]);
    assert!(
        text.contains(&format!("displayName: SSPR Pilot  # object id {PILOT}")),
        "{text}"
    );
    plans_no_changes(&env, &text);

    select_group(&env, DUPLICATE, "Duplicate Name");
    let text = export_tenant(&env, CONTOSO, &[]);
    assert!(
        text.contains(&format!(
            "id: {DUPLICATE}  # Duplicate Name (by id: 2 groups have this display name)"
        )),
        "{text}"
    );
    plans_no_changes(&env, &text);
}

#[test]
fn an_unreadable_surface_exports_nothing_and_says_which() {
    let env = Env::new();
    let yaml = format!(
        "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    credentials:\n      portal:\n        method: refreshToken\n        env: SSPRCTL_TEST_NO_SUCH_TOKEN\n"
    );
    let cfg = env.config("c.yaml", &yaml);
    let cfg = cfg.to_str().expect("utf-8 path");
    let run = env.run_env(&["export", "--config", cfg, "--out", "export.yaml"], &[]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("tenant contoso: cannot read portal PasswordResetPolicies"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing was exported"),
        "{}",
        run.stderr
    );
    assert!(!env.dir.path().join("export.yaml").exists());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

// ------------------------------------------------------------------ random live states

const QUESTIONS: &[&str] = &[
    "What was your first pet's name?",
    "Q: yes or no?",
    "1.0",
    "no",
    "Where # were you born?",
];
const CONTACTS: &[&str] = &[
    "https://help.example.com/sspr#start",
    "helpdesk@example.com",
];
const TERMS: &[&str] = &["contoso", "Winter2026", "yes!", "null", "p@ss: word"];
const GROUPS: &[(&str, &str)] = &[
    (PILOT, "SSPR Pilot"),
    (DUPLICATE, "Duplicate Name"),
    (MARKETING, "Marketing Team"),
];
/// Method configurations set at random, with their `@odata.type`.
const METHODS: &[(&str, &str)] = &[
    (
        "Sms",
        "#microsoft.graph.smsAuthenticationMethodConfiguration",
    ),
    (
        "Voice",
        "#microsoft.graph.voiceAuthenticationMethodConfiguration",
    ),
    (
        "Fido2",
        "#microsoft.graph.fido2AuthenticationMethodConfiguration",
    ),
    (
        "TemporaryAccessPass",
        "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
    ),
];

/// A random live state of the surfaces, and how to export it.
#[derive(Clone, Debug)]
struct Live {
    enablement: u8,
    group: usize,
    required: u8,
    toggles: [bool; 6],
    registration: (bool, u16),
    notify: (bool, bool),
    helpdesk: (bool, Option<usize>),
    questions: (u8, u8, usize),
    admin_sspr: bool,
    methods: [(bool, Option<usize>); 4],
    lockout: (u32, u32, bool),
    banned: Vec<usize>,
    export: (bool, bool),
}

fn live_state() -> impl Strategy<Value = Live> {
    let sspr = (
        0u8..3,
        0..GROUPS.len(),
        1u8..3,
        any::<[bool; 6]>(),
        (any::<bool>(), 0u16..731),
        (any::<bool>(), any::<bool>()),
        (any::<bool>(), proptest::option::of(0..CONTACTS.len())),
        (3u8..6, 3u8..6, 0..=QUESTIONS.len()),
    );
    let rest = (
        any::<bool>(),
        any::<[(bool, Option<usize>); 4]>()
            .prop_map(|ms| ms.map(|(on, g)| (on, g.map(|i| i % GROUPS.len())))),
        (1u32..50, 1u32..600, any::<bool>()),
        proptest::sample::subsequence((0..TERMS.len()).collect::<Vec<_>>(), 0..=TERMS.len()),
        (any::<bool>(), any::<bool>()),
    );
    (sspr, rest).prop_map(
        |(
            (enablement, group, required, toggles, registration, notify, helpdesk, questions),
            (admin_sspr, methods, lockout, banned, export),
        )| Live {
            enablement,
            group,
            required,
            toggles,
            registration,
            notify,
            helpdesk,
            questions,
            admin_sspr,
            methods,
            lockout,
            banned,
            export,
        },
    )
}

/// Sets `live` on the emulator tenant through its HTTP endpoints, keeping to
/// what the services accept.
fn set_live(env: &Env, tenant: &str, live: &Live) {
    let l = live.clone();
    set_portal(env, tenant, move |p| {
        let (gid, gname) = GROUPS[l.group];
        p.insert("enablementType".into(), json!(l.enablement));
        let (ids, name) = if l.enablement == 1 {
            (json!([gid]), gname)
        } else {
            (json!([]), "")
        };
        p.insert("passwordResetEnabledGroupIds".into(), ids);
        p.insert("passwordResetEnabledGroupName".into(), json!(name));
        let mut toggles = l.toggles;
        if toggles.iter().filter(|t| **t).count() < usize::from(l.required) {
            toggles[0] = true;
            toggles[1] = true;
        }
        for (key, on) in [
            "emailOptionEnabled",
            "mobilePhoneOptionEnabled",
            "officePhoneOptionEnabled",
            "securityQuestionsOptionEnabled",
            "mobileAppNotificationEnabled",
            "mobileAppCodeEnabled",
        ]
        .into_iter()
        .zip(toggles)
        {
            p.insert(key.into(), json!(on));
        }
        p.insert(
            "numberOfAuthenticationMethodsRequired".into(),
            json!(l.required),
        );
        p.insert(
            "registrationRequiredOnSignIn".into(),
            json!(l.registration.0),
        );
        p.insert(
            "registrationReconfirmIntevalInDays".into(),
            json!(l.registration.1),
        );
        p.insert("notifyUsersOnPasswordReset".into(), json!(l.notify.0));
        p.insert("notifyOnAdminPasswordReset".into(), json!(l.notify.1));
        let contact = l.helpdesk.1.map(|i| CONTACTS[i]).unwrap_or_default();
        p.insert(
            "customizeHelpdeskLink".into(),
            json!(l.helpdesk.0 && !contact.is_empty()),
        );
        p.insert("customHelpdeskEmailOrUrl".into(), json!(contact));
        let (register, reset, count) = l.questions;
        p.insert("numberOfQuestionsToRegister".into(), json!(register));
        p.insert(
            "numberOfQuestionsToReset".into(),
            json!(reset.min(register)),
        );
        let questions: Vec<Value> = QUESTIONS[..count]
            .iter()
            .map(|q| json!({ "questionText": q }))
            .collect();
        p.insert("securityQuestions".into(), Value::Array(questions));
    });
    let (status, body) = env.call(
        tenant,
        "PATCH",
        "/v1.0/policies/authorizationPolicy",
        Some(json!({ "allowedToUseSSPR": live.admin_sspr })),
    );
    assert!((200..300).contains(&status), "{status} {body}");
    for ((id, odata), (on, group)) in METHODS.iter().zip(live.methods) {
        let target = group.map_or("all_users", |g| GROUPS[g].0);
        let body = json!({
            "@odata.type": odata,
            "state": if on { "enabled" } else { "disabled" },
            "includeTargets": [{ "id": target, "targetType": "group", "isRegistrationRequired": false }],
        });
        let path = format!(
            "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}"
        );
        let (status, answer) = env.call(tenant, "PATCH", &path, Some(body));
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
    }
    let (threshold, duration, enforce) = live.lockout;
    let banned: Vec<&str> = live.banned.iter().map(|i| TERMS[*i]).collect();
    let bool_str = |b: bool| if b { "True" } else { "False" };
    let (status, body) = env.call(
        tenant,
        "POST",
        "/v1.0/groupSettings",
        Some(json!({
            "templateId": "5cf42378-d67d-4f36-ba46-e8b86229381d",
            "values": [
                {"name": "LockoutThreshold", "value": threshold.to_string()},
                {"name": "LockoutDurationInSeconds", "value": duration.to_string()},
                {"name": "EnableBannedPasswordCheck", "value": bool_str(enforce)},
                {"name": "BannedPasswordList", "value": banned.join("\t")},
                {"name": "EnableBannedPasswordCheckOnPremises", "value": "False"},
                {"name": "BannedPasswordCheckOnPremisesMode", "value": "Audit"}
            ]
        })),
    );
    assert!((200..300).contains(&status), "{status} {body}");
}

/// A second emulator tenant for the two-tenant cases.
const FABRIKAM: &str = "0b7e4f1a-8c2d-4a6b-9e3f-5d1c7a9b2e40";

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        failure_persistence: None,
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    /// Random live states of one tenant, or of two (then exported as a
    /// baseline plus overrides), exported with the default selection or every
    /// setting, with or without defaults: plan with the export is "No changes".
    #[test]
    fn any_live_state_exports_to_a_file_that_plans_no_changes(
        live in live_state(),
        second in proptest::option::of(live_state()),
    ) {
        let env = Env::new();
        set_live(&env, CONTOSO, &live);
        let mut args = Vec::new();
        if live.export.0 {
            args.push("--all-settings");
        }
        if live.export.1 {
            args.push("--omit-defaults");
        }
        let text = match &second {
            None => export_tenant(&env, CONTOSO, &args),
            Some(other) => {
                set_live(&env, FABRIKAM, other);
                let yaml = format!(
                    "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n  - name: fabrikam\n    tenantId: {FABRIKAM}\n    endpoint: local\n"
                );
                env.config("tenants.yaml", &yaml);
                args.extend(["--config", "tenants.yaml"]);
                export(&env, &args)
            }
        };
        // The random state is what was exported (a value that is not the
        // default is never left out).
        let threshold = live.lockout.0;
        if threshold != 10 {
            prop_assert!(text.contains(&format!("lockoutThreshold: {threshold}\n")), "{}", text);
        }
        plans_no_changes(&env, &text);
    }
}
