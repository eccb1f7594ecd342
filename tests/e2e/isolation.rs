//! The harness keeps the machine out of every run: a token store in the test
//! process's home, or a credential, log filter or colour setting exported in
//! its environment, changes nothing; and a run that never ends is killed and
//! fails its test with what it printed.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use ssprctl_emulator::{LOCAL_ADMIN_REFRESH_TOKEN, LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET};
use ssprctl_provider::clouds::PORTAL_CLIENT_ID;
use ssprctl_provider::{Secret, TokenStore};

use crate::support::{CONTOSO, CREDENTIAL_ENV, Env, Isolated, run_limit};

/// Where the run inside a hostile environment writes what it observed. Set
/// only for that run.
const OBSERVATIONS: &str = "SSPRCTL_E2E_OBSERVATIONS";

/// The test that observes from inside a hostile environment.
const INNER: &str = "isolation::plans_observed_from_a_hostile_environment";

/// Graph through `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET` (the file names neither).
const GRAPH_FROM_ENV: &str = "{ graph: { method: clientSecret } }";
/// The portal through `SSPRCTL_PORTAL_REFRESH_TOKEN`.
const PORTAL_FROM_ENV: &str = "{ portal: { method: refreshToken } }";
/// The portal through the token store at its default location.
const PORTAL_SIGNED_IN: &str = "{ portal: { method: signedIn } }";
/// One Graph-backed and one portal-backed setting.
const SETTINGS: &str = "      administratorPasswordReset:\n        enabled: false\n      selfServicePasswordReset:\n        enabledFor: all\n";

fn config(credentials: &str) -> String {
    format!(
        "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n    credentials: {credentials}\n    settings:\n{SETTINGS}"
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Plans through each way the machine could lend a credential, and a plain
/// plan of the quick start in text and Markdown: for each, the exit code,
/// what was printed (this emulator's address and work dir replaced) and what
/// reached the emulator. Asserts what a machine with none of it gives.
fn observe() -> Value {
    let env = Env::new();
    let files = [
        ("graph-from-env.yaml", config(GRAPH_FROM_ENV)),
        ("portal-from-env.yaml", config(PORTAL_FROM_ENV)),
        ("portal-signed-in.yaml", config(PORTAL_SIGNED_IN)),
    ];
    let mut runs: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|(name, text)| {
            let cfg = env.config(name, text);
            (
                name.to_string(),
                vec!["plan".into(), "--config".into(), path_str(&cfg).into()],
            )
        })
        .collect();
    let quickstart = env.example("quickstart.yaml");
    for extra in [None, Some("--markdown")] {
        let mut args = vec![
            "plan".into(),
            "--config".into(),
            path_str(&quickstart).into(),
        ];
        args.extend(extra.map(String::from));
        runs.push((format!("quickstart {}", extra.unwrap_or("")), args));
    }
    let workdir = path_str(env.dir.path()).to_string();
    let clean = |s: &str| s.replace(&env.url, "EMULATOR").replace(&workdir, "WORKDIR");
    let mut seen = Vec::new();
    for (name, args) in &runs {
        env.clear_requests();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = env.run(&args);
        let mut requests: Vec<Value> = env
            .requests()
            .iter()
            .map(|r| {
                json!([
                    r["method"],
                    r["path"],
                    r["query"],
                    r["status"],
                    r["app"],
                    r["fault"]
                ])
            })
            .collect();
        requests.sort_by_key(Value::to_string);
        seen.push(json!({
            "run": name,
            "exit": run.code,
            "stdout": clean(&run.stdout),
            "stderr": clean(&run.stderr),
            "requests": requests,
        }));
    }

    // What a machine without a credential or store gives: the surface whose
    // credential the file left to the environment is unknown and not called.
    let unknown = |i: usize, line: &str, path: &str| {
        assert_eq!(seen[i]["exit"], 3, "{:#}", seen[i]);
        assert!(
            seen[i]["stdout"].as_str().is_some_and(|s| s.contains(line)),
            "{:#}",
            seen[i]
        );
        assert!(
            !seen[i]["requests"].to_string().contains(path),
            "no call without a credential: {:#}",
            seen[i]
        );
    };
    unknown(0, "? Graph authorizationPolicy", "/v1.0/$batch");
    unknown(1, "? portal PasswordResetPolicies", "/api/PasswordReset");
    unknown(2, "? portal PasswordResetPolicies", "/api/PasswordReset");
    assert_eq!(seen[3]["exit"], 0, "{:#}", seen[3]);
    assert_eq!(seen[4]["exit"], 0, "{:#}", seen[4]);
    Value::Array(seen)
}

#[test]
fn a_token_store_or_credential_of_the_test_process_changes_no_run() {
    let base = tempfile::tempdir().expect("temp dir");
    // The test process's own home, with a valid sign-in in the token store
    // at each place the binary could look for one.
    let home = base.path().join("home");
    let store_dir = base.path().join("ssprctl-config");
    for dir in [
        home.join(".config/ssprctl"),
        home.join("xdg/ssprctl"),
        store_dir.clone(),
    ] {
        TokenStore::at(dir.join("tokens.json"))
            .save_portal(
                CONTOSO,
                PORTAL_CLIENT_ID,
                &Secret::new(LOCAL_ADMIN_REFRESH_TOKEN),
                Some("admin@contoso.example"),
            )
            .expect("token store");
    }
    let summary = base.path().join("step-summary.md");
    let observations = base.path().join("observations.json");

    // This test binary again, running only the observing test, with every
    // credential variable set (valid ones where the emulator would accept
    // them) and a log filter, colour and job summary of the machine's own.
    let mut inner = Isolated::program(
        std::env::current_exe().expect("test binary"),
        base.path(),
        &home,
    );
    for name in CREDENTIAL_ENV {
        inner = inner.env(name, "set-by-the-machine");
    }
    let inner = inner
        .env("AZURE_CLIENT_ID", LOCAL_CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", LOCAL_CLIENT_SECRET)
        .env("SSPRCTL_PORTAL_REFRESH_TOKEN", LOCAL_ADMIN_REFRESH_TOKEN)
        .env("SSPRCTL_CONFIG_DIR", &store_dir)
        .env("XDG_CONFIG_HOME", home.join("xdg"))
        .env("HOME", &home)
        .env("RUST_LOG", "trace")
        .env("TERM", "xterm-256color")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env(OBSERVATIONS, &observations);
    // Several runs of the binary inside: a few hang-guard limits.
    let run = inner.run_within(&[INNER, "--exact", "--ignored"], run_limit() * 8);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("1 passed"),
        "the observing test ran: {}",
        run.transcript()
    );

    let hostile: Value = serde_json::from_str(
        &std::fs::read_to_string(&observations).expect("observations written"),
    )
    .expect("observations json");
    assert_eq!(
        hostile,
        observe(),
        "a run saw the test process's environment"
    );
    assert!(
        !summary.exists(),
        "a run wrote the machine's GITHUB_STEP_SUMMARY"
    );
}

#[test]
#[ignore = "run by a_token_store_or_credential_of_the_test_process_changes_no_run, in a hostile environment"]
fn plans_observed_from_a_hostile_environment() {
    let seen = observe();
    if let Some(out) = std::env::var_os(OBSERVATIONS) {
        std::fs::write(out, seen.to_string()).expect("write observations");
    }
}

#[test]
fn a_run_that_never_ends_is_killed_and_its_output_shown() {
    let home = tempfile::tempdir().expect("temp dir");
    let state = home.path().join("state.json");
    // The standalone emulator serves until it is stopped.
    let hung = std::panic::catch_unwind(|| {
        Isolated::new(home.path(), home.path()).run_within(
            &[
                "emulator",
                "--listen",
                "127.0.0.1:0",
                "--state",
                path_str(&state),
            ],
            Duration::from_secs(3),
        )
    });
    let message = match hung {
        Ok(run) => panic!("a run that never ends came back: {}", run.transcript()),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "(not a string)".into()),
    };
    assert!(
        message.contains("`ssprctl emulator --listen 127.0.0.1:0 --state ")
            && message.contains(
                "did not finish within 3 s (SSPRCTL_TEST_TIMEOUT_SECS sets the limit) and was killed; it printed so far:\n--- stdout\n"
            ),
        "{message}"
    );
    // Whatever address it had printed by then no longer answers. (How much it
    // printed before the limit depends on the machine's speed, so that is not
    // asserted.)
    let printed = message.lines().find_map(|l| {
        l.split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
    });
    if let Some(address) = printed {
        let socket = address.trim_start_matches("http://").trim_end_matches('/');
        assert!(
            std::net::TcpStream::connect(socket).is_err(),
            "the emulator at {socket} was stopped"
        );
    }
}
