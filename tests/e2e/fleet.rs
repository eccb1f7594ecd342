//! Fleet-sized output: tenants with identical plans grouped (`plan --group`,
//! the Markdown plan), the closing summary across tenants, and progress on
//! stderr that never reaches stdout.

use crate::support::Env;

/// Progress on, a line for every tenant done.
const SHOWN: &[(&str, &str)] = &[
    ("SSPRCTL_NO_PROGRESS", "0"),
    ("SSPRCTL_PROGRESS_INTERVAL_MS", "0"),
];

const TENANTS: [&str; 3] = [
    "0a000000-0000-4000-8000-000000000001",
    "0a000000-0000-4000-8000-000000000002",
    "0a000000-0000-4000-8000-000000000003",
];

/// Three tenants with the same desired settings (one change each on a new
/// tenant), or `n` of them.
fn fleet(n: usize) -> String {
    let mut yaml = String::from("version: 1\ntenants:\n");
    for (i, id) in TENANTS.iter().take(n).enumerate() {
        yaml.push_str(&format!(
            "  - name: customer-{i}\n    tenantId: {id}\n    endpoint: local\n    settings:\n      administratorPasswordReset:\n        enabled: false\n"
        ));
    }
    yaml
}

fn without_time(mut plan: serde_json::Value) -> serde_json::Value {
    if let Some(o) = plan.as_object_mut() {
        o.remove("created_at");
    }
    plan
}

#[test]
fn progress_lines_go_to_stderr_and_the_json_plan_on_stdout_is_unchanged() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &fleet(3));
    let cfg = cfg.to_str().expect("utf-8");
    // The harness turns progress off (SSPRCTL_NO_PROGRESS=1).
    let quiet = env.run(&["plan", "--config", cfg, "--json"]);
    assert_eq!(quiet.code, 0, "{}", quiet.transcript());
    assert!(
        !quiet.stderr.contains("tenants read"),
        "{}",
        quiet.transcript()
    );
    let shown = env.run_env(&["plan", "--config", cfg, "--json"], SHOWN);
    assert_eq!(shown.code, 0, "{}", shown.transcript());
    assert!(
        shown
            .stderr
            .contains("plan: 3 of 3 tenants read (0 unreadable, 3 with changes)"),
        "{}",
        shown.transcript()
    );
    assert!(
        !shown.stdout.contains("tenants read"),
        "{}",
        shown.transcript()
    );
    let parse = |s: &str| -> serde_json::Value { serde_json::from_str(s).expect("JSON plan") };
    assert_eq!(
        without_time(parse(&shown.stdout)),
        without_time(parse(&quiet.stdout))
    );
}

#[test]
fn a_single_tenant_shows_no_progress() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &fleet(1));
    let out = env.run_env(&["plan", "--config", cfg.to_str().expect("utf-8")], SHOWN);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(!out.stderr.contains("tenants read"), "{}", out.transcript());
    assert!(!out.stdout.contains("tenants:"), "{}", out.transcript());
}

#[test]
fn grouped_plans_and_the_closing_summaries_of_a_fleet() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &fleet(3));
    let cfg = cfg.to_str().expect("utf-8");
    let grouped = env.run(&["plan", "--config", cfg, "--group"]);
    assert_eq!(grouped.code, 0, "{}", grouped.transcript());
    insta::assert_snapshot!("grouped_human_plan", grouped.stdout);
    let plain = env.run(&["plan", "--config", cfg]);
    assert_eq!(plain.stdout.matches("Tenant customer-").count(), 3);
    assert!(
        plain
            .stdout
            .ends_with("3 tenants: 3 with changes, 0 unchanged, 0 unknown, 0 refused.\n"),
        "{}",
        plain.transcript()
    );
    let md = env.run(&["plan", "--config", cfg, "--markdown"]);
    assert_eq!(md.code, 0, "{}", md.transcript());
    insta::assert_snapshot!("grouped_markdown_plan", md.stdout);
    let short = env.run(&[
        "plan",
        "--config",
        cfg,
        "--markdown",
        "--markdown-limit",
        "700",
    ]);
    assert!(
        short
            .stdout
            .contains(":scissors: **Shortened to fit 700 characters**"),
        "{}",
        short.transcript()
    );
    let apply = env.run_env(&["apply", "--config", cfg, "--auto-approve"], SHOWN);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(
        apply.stdout.contains(
            "3 tenants with changes: 3 written and verified, 0 not applied (refused), 0 failed, 0 with settings unknown."
        ),
        "{}",
        apply.transcript()
    );
    assert!(
        apply
            .stderr
            .contains("apply: 3 of 3 tenants applied (0 failed, 3 written)"),
        "{}",
        apply.transcript()
    );
    assert!(
        !apply.stdout.contains("tenants applied ("),
        "{}",
        apply.transcript()
    );
}

#[test]
fn the_plan_is_the_same_on_one_thread_and_on_several_and_zero_threads_is_refused() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &fleet(3));
    let cfg = cfg.to_str().expect("utf-8");
    let parse = |s: &str| -> serde_json::Value { serde_json::from_str(s).expect("JSON plan") };
    // The default for plan is one thread; the variable sets it like the flag.
    let one = env.run(&["plan", "--config", cfg, "--json"]);
    assert_eq!(one.code, 0, "{}", one.transcript());
    let four = env.run(&["plan", "--config", cfg, "--json", "--threads", "4"]);
    assert_eq!(four.code, 0, "{}", four.transcript());
    let by_env = env.run_env(
        &["plan", "--config", cfg, "--json"],
        &[("SSPRCTL_THREADS", "3")],
    );
    assert_eq!(by_env.code, 0, "{}", by_env.transcript());
    assert_eq!(
        without_time(parse(&one.stdout)),
        without_time(parse(&four.stdout))
    );
    assert_eq!(
        without_time(parse(&one.stdout)),
        without_time(parse(&by_env.stdout))
    );
    let zero = env.run(&["plan", "--config", cfg, "--threads", "0"]);
    assert_eq!(zero.code, 2, "{}", zero.transcript());
    assert!(zero.stderr.contains("--threads"), "{}", zero.transcript());
}
