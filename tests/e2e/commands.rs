//! Other commands, exit codes and safety gates.

use std::io::{BufRead, BufReader};

use crate::support::{CONTOSO, Env, Isolated, repo};

#[test]
fn schema_prints_the_checked_in_schema() {
    let run = crate::support::run_in(&repo(), &["schema"]);
    assert_eq!(run.code, 0);
    let checked_in =
        std::fs::read_to_string(repo().join("schemas/ssprctl.schema.json")).expect("schema");
    assert_eq!(run.stdout, checked_in);
}

#[test]
fn apply_without_a_terminal_or_auto_approve_is_refused() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    env.clear_requests();
    let run = env.run(&["apply", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert!(env.writes().is_empty());
}

#[test]
fn unreachable_tenant_is_unknown_not_drift() {
    let env = Env::new();
    // A loopback address nothing listens on: the emulators of the tests running
    // beside this one bind 127.0.0.1, so a port freed there could be taken by
    // one of them; nothing binds 127.0.0.2.
    let port = std::net::TcpListener::bind("127.0.0.2:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let path = env.dir.path().join("down.yaml");
    std::fs::write(
        &path,
        format!("version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: http://127.0.0.2:{port}\n    settings:\n      administratorPasswordReset:\n        enabled: false\n"),
    )
    .expect("write");
    let run = env.run(&[
        "plan",
        "--config",
        path.to_str().expect("utf-8"),
        "--detailed-exitcode",
    ]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(run.stdout.contains("unknown"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("Plan:"),
        "a failed read is never a change: {}",
        run.stdout
    );
}

#[test]
fn standalone_emulator_serves_until_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    // Isolated like every other run: no environment of the machine, its own home.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut started = Isolated::new(dir.path(), &home).spawn(&[
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--state",
        state.to_str().expect("utf-8"),
    ]);
    let child = &mut started.child;
    // Its first line names the address; a hang guard instead of a blocking read.
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let Ok(line) = rx.recv_timeout(crate::support::run_limit()) else {
        let _ = child.kill();
        panic!("`ssprctl emulator` printed no address");
    };
    let url = line.trim().rsplit(' ').next().expect("address").to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");

    let cfg = dir.path().join("q.yaml");
    let text = std::fs::read_to_string(repo().join("examples/quickstart.yaml")).expect("example");
    std::fs::write(
        &cfg,
        text.replace("endpoint: local", &format!("endpoint: {url}")),
    )
    .expect("write");
    let cfg = cfg.to_str().expect("utf-8");
    let apply = crate::support::run_in(dir.path(), &["apply", "--config", cfg, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let plan = crate::support::run_in(
        dir.path(),
        &["plan", "--config", cfg, "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    child.kill().expect("stop emulator");
    let _ = child.wait();
    assert!(state.exists(), "state persisted");
    assert!(
        !dir.path().join(".ssprctl/emulator-state.json").exists(),
        "no in-process emulator was started"
    );
    assert!(
        dir.path().join(".ssprctl/journal").is_dir(),
        "the apply was journaled"
    );
}

/// Runs the binary in `dir` with its stdout closed before it writes, and
/// stderr captured.
fn run_with_stdout_closed(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let home = tempfile::tempdir().expect("home");
    let mut child = Isolated::new(dir, home.path()).spawn(args);
    // The reader goes away at once, like `| head -0`.
    drop(child.child.stdout.take());
    let out = child.finish();
    (out.code, out.stderr)
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_exit_code_of_the_run() {
    let (code, stderr) = run_with_stdout_closed(&repo(), &["schema"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "quietly: {stderr}");

    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let (code, stderr) = run_with_stdout_closed(
        env.dir.path(),
        &[
            "plan",
            "--config",
            cfg.to_str().expect("utf-8"),
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code, 2, "changes, as without the pipe closed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs `plan` of the quick start on the in-process emulator with info logs,
/// stderr piped, NO_COLOR unset; returns stderr's bytes.
fn logs_with(color: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        repo().join("examples/quickstart.yaml"),
        dir.path().join("q.yaml"),
    )
    .expect("copy");
    let out = Isolated::new(dir.path(), &dir.path().join("home"))
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .run(&[
            "--color",
            color,
            "--log-level",
            "info",
            "plan",
            "--config",
            "q.yaml",
        ]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let stderr = out.stderr.into_bytes();
    assert!(
        String::from_utf8_lossy(&stderr).contains("local emulator started"),
        "{}",
        String::from_utf8_lossy(&stderr)
    );
    stderr
}

#[test]
fn log_lines_follow_color_and_whether_stderr_is_a_terminal() {
    for color in ["never", "auto"] {
        let stderr = logs_with(color);
        assert!(
            !stderr.contains(&0x1b),
            "--color {color}, stderr piped: no escape codes:\n{}",
            String::from_utf8_lossy(&stderr)
        );
    }
    assert!(
        logs_with("always").contains(&0x1b),
        "--color always colours the logs"
    );
}

#[test]
fn failing_to_write_the_plan_or_the_local_state_names_the_path() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let run = env.run(&[
        "plan",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--out",
        "no-such-dir/p.json",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("error: cannot write the plan to no-such-dir/p.json"),
        "{}",
        run.stderr
    );

    std::fs::write(env.dir.path().join("a-file"), "").expect("write");
    let run = env.run(&[
        "plan",
        "--config",
        cfg.to_str().expect("utf-8"),
        "--local",
        "--local-state",
        "a-file/state.json",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("a-file"),
        "names the directory:\n{}",
        run.stderr
    );
}
