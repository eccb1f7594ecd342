//! Benchmark: `ssprctl apply` of N fresh tenants, then `ssprctl plan` of the
//! same N converged tenants, against the emulator with injected latency, as
//! ratios to the physical lower bounds of docs/api-surfaces.md §11.
//!
//! Lower bound for a cold plan: every tenant needs 2 sequential round-trip
//! levels (tokens, then one Graph `$batch` in parallel with the portal reads),
//! and C tenants are in flight at once: `LB = ceil(N / C) · 2 · L`. The
//! app-wide Graph quota term (N · 8 RU / 7,500 RU/s) is below it for every N
//! here and is printed for reference.
//!
//! Run: `cargo bench --bench plan_many` (release build; add
//! `SSPRCTL_BENCH_LARGE=1` for N = 10,000). Each case applies the
//! quick-start settings first (untimed), so the timed plan is the steady-state
//! drift check an MSP schedules nightly. The emulator runs in this process on
//! loopback; the binary is the real `ssprctl`.

#![allow(clippy::print_stdout, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const LATENCY_MS: u64 = 100;
const CASES: &[(usize, usize)] = &[(1, 1), (100, 64), (1000, 256)];
/// Added with `SSPRCTL_BENCH_LARGE=1` (a few minutes: the untimed apply of
/// 10,000 tenants comes first).
const LARGE: (usize, usize) = (10_000, 256);

fn tenant_id(i: usize) -> String {
    format!("b0000000-0000-4000-8000-{i:012}")
}

fn config(url: &str, n: usize) -> String {
    let mut s = String::from(
        "version: 1
baseline:
  selfServicePasswordReset:
    enabledFor: all
    methodsRequired: 2
    methods: { email: true, mobilePhone: true, authenticatorNotification: true, authenticatorCode: true }
    registration: { requireOnSignIn: true, reconfirmAfterDays: 180 }
  administratorPasswordReset: { enabled: false }
  authenticationMethods:
    microsoftAuthenticator: { state: enabled, include: [allUsers] }
    sms: { state: disabled }
  passwordProtection:
    lockoutThreshold: 10
    bannedPasswords: [contoso, fabrikam]
tenants:
",
    );
    for i in 0..n {
        s.push_str(&format!(
            "  - name: t{i}\n    tenantId: {}\n    endpoint: {url}\n",
            tenant_id(i)
        ));
    }
    s
}

fn ssprctl(dir: &Path, args: &[&str]) -> (i32, f64) {
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_ssprctl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run ssprctl");
    (status.code().unwrap_or(-1), start.elapsed().as_secs_f64())
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let faults: ssprctl_emulator::FaultConfig =
        serde_json::from_value(serde_json::json!({ "latencyMs": LATENCY_MS, "seed": 1 }))
            .expect("fault config");
    println!("emulator latency L = {LATENCY_MS} ms per request");
    println!(
        "{:>6} {:>5} {:>10} {:>10} {:>10} {:>7}   what",
        "N", "C", "measured", "LB", "quota LB", "ratio"
    );
    let mut cases = CASES.to_vec();
    if std::env::var_os("SSPRCTL_BENCH_LARGE").is_some() {
        cases.push(LARGE);
    }
    for (n, c) in cases {
        let handle = rt
            .block_on(ssprctl_emulator::spawn_with(
                ssprctl_emulator::Options {
                    listen: ([127, 0, 0, 1], 0).into(),
                    state_file: None,
                    auto_create_tenants: true,
                },
                faults.clone(),
            ))
            .expect("emulator");
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = dir.path().join("bench.yaml");
        std::fs::write(&cfg, config(&handle.base_url(), n)).expect("write config");
        let cfg = cfg.to_str().expect("utf-8");
        let par = c.to_string();
        let (code, apply_secs) = ssprctl(
            dir.path(),
            &[
                "apply",
                "--config",
                cfg,
                "--auto-approve",
                "--parallelism",
                &par,
            ],
        );
        assert_eq!(code, 0, "apply before the timed plan");
        let (code, secs) = ssprctl(
            dir.path(),
            &[
                "plan",
                "--config",
                cfg,
                "--detailed-exitcode",
                "--parallelism",
                &par,
            ],
        );
        assert_eq!(code, 0, "the timed plan finds the tenants converged");
        let levels = 2.0;
        let lb = (n.div_ceil(c) as f64) * levels * LATENCY_MS as f64 / 1000.0;
        let quota = n as f64 * 8.0 / 7500.0;
        // Apply with changes from fresh tenants: at least 4 levels (tokens,
        // reads, writes, read-back), every managed object changed.
        let apply_lb = (n.div_ceil(c) as f64) * 4.0 * LATENCY_MS as f64 / 1000.0;
        println!(
            "{n:>6} {c:>5} {apply_secs:>9.2}s {apply_lb:>9.2}s {quota:>9.2}s {:>6.2}x   apply, from fresh tenants",
            apply_secs / apply_lb.max(quota)
        );
        println!(
            "{n:>6} {c:>5} {secs:>9.2}s {lb:>9.2}s {quota:>9.2}s {:>6.2}x   plan, converged (drift check)",
            secs / lb.max(quota)
        );
        rt.block_on(handle.shutdown());
    }
}
