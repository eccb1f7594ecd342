//! The journal of every apply, SIGINT mid-apply, and `rollback`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{CONTOSO, Env, Isolated, Run, repo, run_limit, wait_for};

/// Sends `sig` (`-INT`, `-TERM`) to a process.
#[cfg(unix)]
fn signal(sig: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success(), "kill {sig} {pid}");
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The journals in the work dir's default journal directory, oldest first.
pub(crate) fn journals(env: &Env) -> Vec<PathBuf> {
    let dir = env.dir.path().join(".ssprctl/journal");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
}

/// Every record of a journal; each line must be one complete JSON object.
pub(crate) fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every record is complete JSON"))
        .collect()
}

/// The live settings of every surface the file manages, read through the
/// provider (every field of each surface, managed or not), per tenant.
fn live(cfg: &Path) -> Vec<Value> {
    let config = ssprctl_model::load_file(cfg).expect("config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use ssprctl_provider::Provider;
        let targets = ssprctl_engine::Targets {
            local: false,
            local_state: cfg.with_file_name("unused-state.json"),
            parallelism: 4,
            client: Default::default(),
        };
        let session = ssprctl_engine::Session::start(&config, &targets)
            .await
            .expect("session");
        let mut out = Vec::new();
        for t in &config.tenants {
            let seen = session.provider.read(t).await;
            assert!(seen.unreadable.is_empty(), "{:?}", seen.unreadable);
            out.push(serde_json::to_value(&seen.settings).expect("settings"));
        }
        session.stop().await.expect("local emulator stopped");
        out
    })
}

fn apply(env: &Env, cfg: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "--config", path_str(cfg), "--auto-approve"];
    args.extend_from_slice(extra);
    env.run(&args)
}

#[test]
fn apply_journals_prior_values_each_write_and_the_account_owner_only() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let plan = env.run(&["plan", "--config", path_str(&cfg), "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(journals(&env).is_empty(), "a plan writes no journal");
    let planned: Value = serde_json::from_str(&plan.stdout).expect("plan json");

    let run = apply(&env, &cfg, &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let files = journals(&env);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        run.stdout.contains(name),
        "the journal is named: {}",
        run.stdout
    );

    let recs = records(&files[0]);
    let start = &recs[0];
    assert_eq!(start["record"], "start");
    assert_eq!(start["journal_version"], "1.1");
    assert_eq!(start["kind"], "apply");
    let tenant = &start["tenants"][0];
    assert_eq!(tenant["tenant_id"], CONTOSO);
    assert_eq!(tenant["prior"], planned["tenants"][0]["prior"]);
    // Every planned change, with the live value it replaces.
    let changes = planned["tenants"][0]["changes"]
        .as_array()
        .expect("changes");
    let settings = tenant["settings"].as_array().expect("settings");
    assert_eq!(settings.len(), changes.len());
    for c in changes {
        assert!(
            settings.iter().any(|s| s["path"] == c["path"]
                && s["before"] == c["before"]
                && s["after"] == c["after"]),
            "{c}"
        );
    }
    // An intent before each result, one per surface written, all ok.
    let intents: Vec<&Value> = recs.iter().filter(|r| r["record"] == "intent").collect();
    let results: Vec<&Value> = recs.iter().filter(|r| r["record"] == "result").collect();
    assert_eq!(intents.len(), 4, "four surfaces");
    assert_eq!(results.len(), 4);
    for r in &results {
        assert_eq!(r["result"], "ok", "{r}");
        let at = recs.iter().position(|x| x == *r);
        let intent = recs
            .iter()
            .position(|x| x["record"] == "intent" && x["surface"] == r["surface"]);
        assert!(intent < at, "intent before result: {r}");
    }
    // The account is last: every planned setting applied.
    let account = recs.last().expect("records");
    assert_eq!(account["record"], "account");
    assert!(account.get("interrupted").is_none());
    let states = account["tenants"][0]["settings"]
        .as_array()
        .expect("account");
    assert_eq!(states.len(), changes.len());
    assert!(states.iter().all(|s| s["state"] == "applied"), "{states:?}");

    // No secret or token; the file and its directory are the owner's only.
    let text = std::fs::read_to_string(&files[0]).expect("journal");
    for secret in [
        ssprctl_emulator::LOCAL_CLIENT_SECRET,
        ssprctl_emulator::LOCAL_ADMIN_REFRESH_TOKEN,
        "access_token",
        "eyJ",
    ] {
        assert!(!text.contains(secret), "journal holds {secret}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&files[0]), 0o600);
        assert_eq!(mode(files[0].parent().expect("dir")), 0o700);
    }

    // Each record validates against the checked-in schema.
    assert_valid(&recs);
}

/// Every record validates against the checked-in journal schema.
pub(crate) fn assert_valid(recs: &[Value]) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/journal.schema.json")).expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::draft7::new(&schema).expect("valid schema");
    for r in recs {
        assert!(validator.is_valid(r), "{r}");
    }
}

#[test]
fn an_unwritable_journal_dir_stops_the_apply_before_any_write() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    // A file where the directory should be.
    let blocker = env.dir.path().join("blocked");
    std::fs::write(&blocker, "not a directory").expect("write");
    env.clear_requests();
    let run = apply(&env, &cfg, &["--journal-dir", "blocked/journal"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("cannot write the journal blocked/journal"),
        "{}",
        run.stderr
    );
    assert!(
        env.writes().is_empty(),
        "nothing written: {:?}",
        env.writes()
    );
}

/// A file of `n` tenants of this emulator, each with the quickstart's settings.
fn many_tenants(env: &Env, n: usize) -> PathBuf {
    let example = std::fs::read_to_string(repo().join("examples/quickstart.yaml")).expect("ex");
    let settings = example
        .split_once("    settings:\n")
        .map(|(_, s)| s)
        .expect("settings");
    let mut yaml = String::from("version: 1\ntenants:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - name: t{i}\n    tenantId: 00000000-0000-4000-8000-{i:012}\n    endpoint: local\n    settings:\n{settings}"
        ));
    }
    env.config("many.yaml", &yaml)
}

#[cfg(unix)]
#[test]
fn sigint_mid_apply_stops_new_writes_journals_the_account_and_exits_130() {
    let env = Env::new();
    let cfg = many_tenants(&env, 24);
    env.set_faults(json!({ "latencyMs": 150 }));
    env.clear_requests();
    let child = Isolated::new(env.dir.path(), &env.home()).spawn(&[
        "apply",
        "--config",
        path_str(&cfg),
        "--auto-approve",
        "--parallelism",
        "2",
    ]);
    // Wait until the first writes reach the emulator, then interrupt.
    wait_for("the first write", || !env.writes().is_empty());
    signal("-INT", child.id());
    let out = child.finish();
    assert_eq!(out.code, 130, "{}", out.transcript());
    assert!(
        out.stderr.contains("Interrupted by SIGINT"),
        "{}",
        out.stderr
    );
    env.clear_faults();

    let files = journals(&env);
    assert_eq!(files.len(), 1);
    let recs = records(&files[0]);
    let account = recs.last().expect("records");
    assert_eq!(account["record"], "account", "the account is last");
    assert_eq!(account["interrupted"]["signal"], "SIGINT");
    assert_eq!(account["interrupted"]["exited_at_once"], false);
    // Every intent has its result: nothing was left half-recorded.
    let count = |kind: &str| recs.iter().filter(|r| r["record"] == kind).count();
    assert_eq!(count("intent"), count("result"));
    // Some writes landed, and the apply stopped: later tenants were not written.
    let tenants = account["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 24);
    let states = |t: &Value| -> Vec<String> {
        t["settings"]
            .as_array()
            .expect("settings")
            .iter()
            .map(|x| x["state"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    assert!(
        tenants
            .iter()
            .any(|t| states(t).contains(&"applied".to_string())),
        "some setting applied"
    );
    assert!(
        tenants
            .iter()
            .any(|t| states(t).iter().all(|s| s == "not_applied")),
        "a tenant not written at all"
    );

    // The account matches the live state: a plan of the same file still
    // changes exactly the settings not applied.
    let plan = env.run(&["plan", "--config", path_str(&cfg), "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let plan: Value = serde_json::from_str(&plan.stdout).expect("plan");
    for t in tenants {
        let tp = plan["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .find(|p| p["name"] == t["name"])
            .expect("planned tenant");
        for s in t["settings"].as_array().expect("settings") {
            let pending = tp["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .any(|c| c["path"] == s["path"]);
            match s["state"].as_str() {
                Some("applied") => assert!(!pending, "{} {} is live", t["name"], s["path"]),
                Some("not_applied") => assert!(pending, "{} {} is not", t["name"], s["path"]),
                other => panic!("{} {}: {other:?}", t["name"], s["path"]),
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn a_second_sigint_exits_at_once_with_a_complete_journal_that_rollback_reverses() {
    use std::io::BufRead;
    let env = Env::new();
    let cfg = many_tenants(&env, 8);
    env.set_faults(json!({ "latencyMs": 100 }));
    env.clear_requests();
    let mut child = Isolated::new(env.dir.path(), &env.home()).spawn(&[
        "apply",
        "--config",
        path_str(&cfg),
        "--auto-approve",
        "--allow-weakening",
        "--parallelism",
        "2",
    ]);
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.expect("stderr line");
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    wait_for("the first write", || !env.writes().is_empty());
    // From now on every request is slow: the read back after the first
    // interrupt is still waiting when the second one comes.
    env.set_faults(json!({ "latencyMs": 4000 }));
    signal("-INT", child.id());
    while let Ok(line) = rx.recv_timeout(run_limit()) {
        if line.contains("starting no new write") {
            break;
        }
    }
    signal("-INT", child.id());
    let run = child.finish();
    let stderr = reader.join().expect("reader");
    assert_eq!(run.code, 130, "{stderr}");
    assert!(stderr.contains("exiting at once"), "{stderr}");
    env.clear_faults();

    let files = journals(&env);
    assert_eq!(files.len(), 1);
    let recs = records(&files[0]);
    let account = recs.last().expect("records");
    assert_eq!(account["record"], "account", "the account is last");
    assert_eq!(account["interrupted"]["signal"], "SIGINT");
    assert_eq!(account["interrupted"]["exited_at_once"], true);
    // A setting is unknown exactly when its write was started.
    let start = &recs[0];
    for t in account["tenants"].as_array().expect("tenants") {
        let planned = start["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .find(|s| s["name"] == t["name"])
            .expect("planned");
        for s in t["settings"].as_array().expect("settings") {
            let api = planned["settings"]
                .as_array()
                .expect("settings")
                .iter()
                .find(|p| p["path"] == s["path"])
                .map(|p| p["api"].clone())
                .expect("planned setting");
            let started = recs.iter().any(|r| {
                r["record"] == "intent" && r["tenant"] == t["name"] && r["surface"] == api
            });
            let want = if started { "unknown" } else { "not_applied" };
            assert_eq!(s["state"], want, "{} {}", t["name"], s["path"]);
        }
    }

    // Rollback reads what landed and restores it: every tenant is back to
    // needing every change of the file.
    let undo = env.run(&[
        "rollback",
        path_str(&files[0]),
        "--config",
        path_str(&cfg),
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(undo.code, 0, "{}", undo.transcript());
    let plan = env.run(&["plan", "--config", path_str(&cfg), "--json"]);
    let plan: Value = serde_json::from_str(&plan.stdout).expect("plan");
    for tp in plan["tenants"].as_array().expect("tenants") {
        assert_eq!(
            tp["changes"].as_array().map(Vec::len),
            Some(13),
            "{} is back as before",
            tp["name"]
        );
    }
}

#[test]
fn rollback_restores_every_live_value_from_before_the_apply_and_is_journaled() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let before = live(&cfg);
    let run = apply(&env, &cfg, &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_ne!(live(&cfg), before, "the apply changed the tenant");
    let journal = journals(&env).remove(0);

    // Restoring the old values weakens: the gate applies to rollbacks too.
    let refused = env.run(&[
        "rollback",
        path_str(&journal),
        "--config",
        path_str(&cfg),
        "--auto-approve",
    ]);
    assert_eq!(refused.code, 4, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("--allow-weakening"),
        "{}",
        refused.stderr
    );

    let undo = env.run(&[
        "rollback",
        path_str(&journal),
        "--config",
        path_str(&cfg),
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(undo.code, 0, "{}", undo.transcript());
    assert!(
        undo.stdout
            .contains("contoso: applied 13 changes, verified"),
        "{}",
        undo.stdout
    );
    assert_eq!(live(&cfg), before, "every field of every surface as before");

    // The rollback has its own journal, which names the one it reverses.
    let all = journals(&env);
    assert_eq!(all.len(), 2);
    let first = records(&journal);
    let second = records(&all[1]);
    assert_eq!(second[0]["kind"], "rollback");
    assert_eq!(second[0]["rolls_back"], first[0]["id"]);
    assert_eq!(second.last().expect("records")["record"], "account");

    // Nothing is left to undo now.
    let again = env.run(&[
        "rollback",
        path_str(&journal),
        "--config",
        path_str(&cfg),
        "--auto-approve",
    ]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        again.stdout.contains("Nothing to roll back"),
        "{}",
        again.stdout
    );
}

#[test]
fn rollback_is_refused_when_a_setting_changed_since_the_apply() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    assert_eq!(apply(&env, &cfg, &[]).code, 0);
    let journal = journals(&env).remove(0);
    // Someone changes a setting the apply wrote.
    let edited = env.config(
        "edited.yaml",
        &std::fs::read_to_string(&cfg).expect("cfg").replace(
            "contact: https://help.contoso.com/password-reset",
            "contact: https://help.contoso.com/other",
        ),
    );
    assert_eq!(apply(&env, &edited, &[]).code, 0);
    env.clear_requests();
    let run = env.run(&[
        "rollback",
        path_str(&journal),
        "--config",
        path_str(&cfg),
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "contoso: selfServicePasswordReset.helpdesk.contact: the apply wrote \"https://help.contoso.com/password-reset\", it is now \"https://help.contoso.com/other\""
        ),
        "{}",
        run.stderr
    );
    assert!(
        env.writes().is_empty(),
        "nothing written: {:?}",
        env.writes()
    );
}

#[test]
fn a_saved_rollback_plan_applies_like_any_saved_plan() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let before = live(&cfg);
    assert_eq!(apply(&env, &cfg, &[]).code, 0);
    let journal = journals(&env).remove(0);
    let saved = env.run(&[
        "rollback",
        path_str(&journal),
        "--config",
        path_str(&cfg),
        "--out",
        "undo.json",
    ]);
    assert_eq!(saved.code, 0, "{}", saved.transcript());
    assert!(
        saved.stderr.contains("ssprctl apply undo.json"),
        "{}",
        saved.stderr
    );
    assert!(env.dir.path().join("undo.json.desired.yaml").exists());
    let run = env.run(&["apply", "undo.json", "--allow-weakening"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(live(&cfg), before);
}

#[test]
fn a_tampered_journal_is_rejected_and_its_text_escaped() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    assert_eq!(apply(&env, &cfg, &[]).code, 0);
    let journal = journals(&env).remove(0);
    let text = std::fs::read_to_string(&journal).expect("journal");
    let forged = text.replacen(
        "passwordProtection.bannedPasswords",
        "passwordProtection.\\u001b[31mnope",
        1,
    );
    let path = env.dir.path().join("forged.jsonl");
    std::fs::write(&path, forged).expect("write");
    env.clear_requests();
    let run = env.run(&[
        "rollback",
        path_str(&path),
        "--config",
        path_str(&cfg),
        "--auto-approve",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("is not a valid journal: line 1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}'), "escaped: {}", run.stderr);
    assert!(env.requests().is_empty(), "nothing read or written");
}

#[test]
fn rollback_needs_a_configuration_that_defines_the_journals_tenants() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    assert_eq!(apply(&env, &cfg, &[]).code, 0);
    let journal = journals(&env).remove(0);
    let other = env.config(
        "other.yaml",
        &std::fs::read_to_string(&cfg)
            .expect("cfg")
            .replace(CONTOSO, "0b7e4f1a-8c2d-4a6b-9e3f-5d1c7a9b2e40"),
    );
    env.clear_requests();
    let run = env.run(&[
        "rollback",
        path_str(&journal),
        "--config",
        path_str(&other),
        "--auto-approve",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(&format!(
            "the journal's tenant contoso ({CONTOSO}) is not in the configuration"
        )),
        "{}",
        run.stderr
    );
    assert!(env.writes().is_empty());
}

#[cfg(unix)]
#[test]
fn sigterm_mid_apply_exits_143_with_the_account_journaled() {
    let env = Env::new();
    let cfg = many_tenants(&env, 6);
    env.set_faults(json!({ "latencyMs": 150 }));
    env.clear_requests();
    let child = Isolated::new(env.dir.path(), &env.home()).spawn(&[
        "apply",
        "--config",
        path_str(&cfg),
        "--auto-approve",
        "--parallelism",
        "1",
    ]);
    wait_for("the first write", || !env.writes().is_empty());
    signal("-TERM", child.id());
    let out = child.finish();
    assert_eq!(out.code, 143, "{}", out.transcript());
    assert!(
        out.stderr.contains("Interrupted by SIGTERM"),
        "{}",
        out.stderr
    );
    let recs = records(&journals(&env)[0]);
    let account = recs.last().expect("records");
    assert_eq!(account["record"], "account");
    assert_eq!(account["interrupted"]["signal"], "SIGTERM");
}
