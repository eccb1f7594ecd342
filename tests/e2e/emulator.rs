//! The emulator's state file: one process at a time (the lock, in both
//! directions, and a lock left by a killed process), saved on a graceful
//! stop, and `--state none` / `--local-state none`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::support::{Isolated, Started, repo, run_limit, wait_for};

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A standalone `ssprctl emulator` on a free port, with the URL it printed.
struct Standalone {
    started: Started,
    url: String,
}

impl Standalone {
    fn start(dir: &Path, state: &str) -> Standalone {
        let home = dir.join("home-emulator");
        let mut started = Isolated::new(dir, &home).spawn(&[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--state",
            state,
        ]);
        let stdout = started.child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let second = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = tx.send((first, second));
            // Keep reading so the emulator never blocks on a full pipe.
            for _ in lines {}
        });
        let Ok((first, second)) = rx.recv_timeout(run_limit()) else {
            let _ = started.child.kill();
            panic!("`ssprctl emulator` printed no address");
        };
        let url = first
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{first}");
        assert!(
            second.starts_with("state"),
            "the second line says where the state is kept: {second}"
        );
        Standalone { started, url }
    }

    /// Stops it as Ctrl-C or a service manager would (SIGTERM), and waits.
    #[cfg(unix)]
    fn stop(self) -> crate::support::Run {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.started.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        self.started.finish()
    }
}

/// The quick-start file with its tenant at `endpoint`.
fn config(dir: &Path, endpoint: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/quickstart.yaml")).expect("example");
    let path = dir.join(format!("q-{}.yaml", endpoint.len()));
    std::fs::write(
        &path,
        text.replace("endpoint: local", &format!("endpoint: {endpoint}")),
    )
    .expect("write config");
    path
}

fn run(dir: &Path, args: &[&str]) -> crate::support::Run {
    crate::support::run_in(dir, args)
}

#[cfg(unix)]
#[test]
fn a_local_run_refuses_the_state_file_of_a_running_emulator_which_saves_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    let emulator = Standalone::start(dir.path(), path_str(&state));
    let pid = emulator.started.id();

    // An apply through the running emulator...
    let remote = config(dir.path(), &emulator.url);
    let apply = run(
        dir.path(),
        &["apply", "--config", path_str(&remote), "--auto-approve"],
    );
    assert_eq!(apply.code, 0, "{}", apply.transcript());

    // ...and a local run on the same state file is refused, naming the holder.
    let local = config(dir.path(), "local");
    let refused = run(
        dir.path(),
        &[
            "plan",
            "--config",
            path_str(&local),
            "--local-state",
            path_str(&state),
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    for needle in [
        format!("in use by process {pid} ("),
        "emulator --listen 127.0.0.1:0 --state".to_string(),
        "since 20".to_string(),
        format!("{}.lock", state.display()),
    ] {
        assert!(
            refused.stderr.contains(&needle),
            "names {needle:?}:\n{}",
            refused.stderr
        );
    }
    assert!(!refused.stdout.contains("Plan:"), "{}", refused.stdout);

    // SIGTERM: the emulator saves what is left and ends well...
    let stopped = emulator.stop();
    assert_eq!(stopped.code, 0, "{}", stopped.transcript());
    // ...and the local run now sees the apply: nothing to change.
    let plan = run(
        dir.path(),
        &[
            "plan",
            "--config",
            path_str(&local),
            "--local-state",
            path_str(&state),
            "--detailed-exitcode",
        ],
    );
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[test]
fn an_emulator_refuses_the_state_file_of_a_local_run_until_that_run_is_killed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    // A local tenant, and one whose endpoint accepts connections but never
    // answers: the local run holds its state file until it is killed.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("addr"));
    let quickstart =
        std::fs::read_to_string(repo().join("examples/quickstart.yaml")).expect("example");
    let second = quickstart
        .split_once("tenants:\n")
        .map(|(_, tenants)| tenants)
        .expect("a tenants list")
        .replace("name: contoso", "name: silent")
        .replace(
            "6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
            "0f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
        )
        .replace("endpoint: local", &format!("endpoint: {silent_url}"));
    let cfg = dir.path().join("mixed.yaml");
    std::fs::write(&cfg, format!("{quickstart}{second}")).expect("write config");

    let home = dir.path().join("home-plan");
    let plan = Isolated::new(dir.path(), &home).spawn(&[
        "plan",
        "--config",
        path_str(&cfg),
        "--local-state",
        path_str(&state),
    ]);
    let pid = plan.id();
    let lock_file = dir.path().join("state.json.lock");
    wait_for("the local run to lock its state file", || {
        std::fs::read_to_string(&lock_file)
            .is_ok_and(|text| text.starts_with(&format!("pid {pid}\n")))
    });

    let refused = run(
        dir.path(),
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--state",
            path_str(&state),
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused
            .stderr
            .contains(&format!("in use by process {pid} (")),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(" plan --config "),
        "{}",
        refused.stderr
    );

    // A killed holder leaves its lock file behind, but not its lock.
    let mut plan = plan;
    plan.child.kill().expect("kill the local run");
    let _ = plan.child.wait();
    assert!(lock_file.exists());
    let emulator = Standalone::start(dir.path(), path_str(&state));
    #[cfg(unix)]
    {
        let stopped = emulator.stop();
        assert_eq!(stopped.code, 0, "{}", stopped.transcript());
    }
    #[cfg(not(unix))]
    {
        let mut started = emulator.started;
        let _ = started.child.kill();
        let _ = started.child.wait();
    }
    drop(silent);
}

#[cfg(unix)]
#[test]
fn state_none_keeps_everything_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = Standalone::start(dir.path(), "none");
    let remote = config(dir.path(), &emulator.url);
    let apply = run(
        dir.path(),
        &["apply", "--config", path_str(&remote), "--auto-approve"],
    );
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let plan = run(
        dir.path(),
        &["plan", "--config", path_str(&remote), "--detailed-exitcode"],
    );
    assert_eq!(
        plan.code,
        0,
        "in memory, for the emulator's lifetime:\n{}",
        plan.transcript()
    );
    let stopped = emulator.stop();
    assert_eq!(stopped.code, 0, "{}", stopped.transcript());

    // --local-state none: every run starts from fresh tenants.
    let local = config(dir.path(), "local");
    for _ in 0..2 {
        let apply = run(
            dir.path(),
            &[
                "apply",
                "--config",
                path_str(&local),
                "--local-state",
                "none",
                "--auto-approve",
            ],
        );
        assert_eq!(apply.code, 0, "{}", apply.transcript());
        assert!(
            !apply.stdout.contains("No changes."),
            "a fresh tenant each time:\n{}",
            apply.stdout
        );
    }
    let written: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("home") && !n.ends_with(".yaml"))
        .collect();
    assert_eq!(
        written,
        [".ssprctl"],
        "only the journals: no state file, no `none` file"
    );
    assert!(!dir.path().join(".ssprctl/emulator-state.json").exists());
}
