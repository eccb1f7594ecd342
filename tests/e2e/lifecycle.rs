//! The whole life of a tenant through the binary: adopt (export), change
//! (apply), undo (rollback); the export taken first plans "No changes" again.

use crate::support::Env;

#[test]
fn an_export_taken_before_an_apply_plans_no_changes_after_its_rollback() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8 path");

    // Adopt: every catalog field of the live tenant, as a desired-state file.
    let export = env.run(&[
        "export",
        "--config",
        cfg,
        "--all-settings",
        "--out",
        "before.yaml",
    ]);
    assert_eq!(export.code, 0, "{}", export.transcript());
    let before = env.run(&["plan", "--config", "before.yaml", "--detailed-exitcode"]);
    assert_eq!(before.code, 0, "{}", before.transcript());

    // Change: the quick start's 13 settings, journaled.
    let apply = env.run(&["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let drift = env.run(&["plan", "--config", "before.yaml", "--detailed-exitcode"]);
    assert_eq!(
        drift.code,
        2,
        "the apply moved the tenant:\n{}",
        drift.transcript()
    );
    assert!(
        drift.stdout.contains("Plan: 13 to change"),
        "{}",
        drift.stdout
    );

    // Undo: the journal of that apply, reversed through the same gates.
    let journal = std::fs::read_dir(env.dir.path().join(".ssprctl/journal"))
        .expect("journal dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("the apply left a journal");
    let undo = env.run(&[
        "rollback",
        journal.to_str().expect("utf-8 path"),
        "--config",
        cfg,
        "--auto-approve",
        "--allow-weakening",
    ]);
    assert_eq!(undo.code, 0, "{}", undo.transcript());

    let after = env.run(&["plan", "--config", "before.yaml", "--detailed-exitcode"]);
    assert_eq!(
        after.code,
        0,
        "back where it started:\n{}",
        after.transcript()
    );
    assert!(after.stdout.contains("No changes."), "{}", after.stdout);
}
