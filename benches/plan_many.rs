//! Benchmark: `ssprctl apply` of N fresh tenants, then `ssprctl plan` of the
//! same N converged tenants, against the emulator with injected latency, as
//! ratios to the physical lower bounds of docs/api-surfaces.md §11.
//!
//! Lower bound for a cold plan: every tenant needs 2 sequential round-trip
//! levels (tokens, then one Graph `$batch` in parallel with the portal reads),
//! and C tenants are in flight at once: `ceil(N / C) · 2 · L`. The app-wide
//! Graph quota bound is `N · 8 RU / 7,500 RU/s`; the bound is the larger of
//! the two. The plan row also prints a stricter floor from the plan's own
//! demand, counted like apply's below: `max(ceil(N / C) · 2 · L,
//! (N · RU − 7,000) / 7,500)`, and the ratio to it. Apply from fresh tenants: the larger of its round-trip bound and
//! its quota bound. Round trips: `ceil(N / C) · 8 · L`, the 8 levels of one
//! tenant's critical path that ssprctl's safety rules require (traced in the
//! request log of N = 1): tokens; the reads; the registration report (the
//! plan widens who may reset); then the authentication-methods policy lane,
//! in order: its pre-write read, its write, the portal policy's pre-write
//! read (a full-object PUT re-reads right before writing), the portal write;
//! then the read-back. Other surfaces are written in parallel with that lane.
//! Quota: apply's own demand, counted from the run's request log with the
//! client's cost table (`ssprctl_provider::client::pacing::resource_units`,
//! each `$batch` sub-request on its own, the envelope free; every Graph
//! request other than a GET is one write), per logged tenant and times N:
//! `max((N · RU − B_RU) / 7,500, (N · W − B_W) / 233)`, Graph's sustained
//! rates after the burst the client may take at once (its limiters start
//! full): B_RU = 7,000 RU (one second of the default `--graph-budget`) and
//! B_W = 35,000 writes (175 s of the default `--graph-write-budget`, half of
//! Graph's write bucket). The client's limiters never admit more than that
//! burst plus their budget (below Graph's rates) per second, so no run of
//! ssprctl at the defaults beats the bound; it does not count the rest of
//! Graph's buckets (150,000 RU, 70,000 writes), which the client leaves to
//! the app's other users. When the request log held its maximum (the row
//! says so), the per-tenant demand is over what it still holds and so too
//! low (its round-trip part is not).
//!
//! Per case it prints the wall time, the bound and the ratio; HTTP requests
//! per tenant and round-trip levels per tenant, both from the emulator's
//! request log (`GET /_emulator/requests`, cleared before each run); and the
//! child process's peak RSS (its `VmHWM`, sampled every 2 ms until it exits)
//! and CPU time (user + system, from the `cutime`/`cstime` of this process
//! around the run) per tenant. Levels: each logged request is an interval (`startedUs`,
//! `latencyMs`); a request's level is 1 + the highest level among the same
//! tenant's requests that had ended before it started (requests without a
//! tenant, if any, are left out); a tenant's levels are its highest request
//! level, i.e. the length of its critical path in round trips. The figure is
//! the mean over tenants (and the maximum). The last column ends with the
//! number of 429 answers the emulator gave during the run
//! (`GET /_emulator/stats`, reset before each run).
//!
//! Run: `cargo bench --bench plan_many` (release build; add
//! `SSPRCTL_BENCH_LARGE=1` for N = 10,000). `SSPRCTL_BENCH_ONLY=N` runs only
//! the in-process case of N tenants; `SSPRCTL_BENCH_NO_STANDALONE=1` leaves
//! out the standalone-emulator case; `SSPRCTL_BENCH_SERVE=1` (for profiling)
//! stops after the first case's apply and keeps its emulator serving the N
//! converged tenants, printing the configuration to plan them with. Each case applies the
//! quick-start settings first, so the plan is the steady-state drift check
//! an MSP schedules nightly. The emulator runs in this process on loopback
//! (so the child's RSS and CPU are ssprctl's only), except for the last case,
//! which runs the standalone `ssprctl emulator --state FILE` as a second
//! child process; the binary is the real `ssprctl`.

#![allow(clippy::print_stdout, missing_docs)]

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

const LATENCY_MS: u64 = 100;
const CASES: &[(usize, usize)] = &[(1, 1), (100, 64), (1000, 256)];
/// Added with `SSPRCTL_BENCH_LARGE=1` (a few minutes: the apply of 10,000
/// tenants comes first).
const LARGE: (usize, usize) = (10_000, 256);
/// The case run against the standalone emulator with a state file.
const STANDALONE: (usize, usize) = (200, 64);

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

/// One run of the binary: exit code, wall seconds, and the child's own
/// resource use.
struct Run {
    code: i32,
    secs: f64,
    /// Peak resident set size, bytes.
    max_rss: u64,
    /// User + system CPU seconds.
    cpu_secs: f64,
}

/// Peak RSS of a running process so far (`VmHWM`, the kernel's own
/// high-water mark), bytes.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU seconds (user + system) of this process's reaped children so far
/// (`cutime` and `cstime` of /proc/self/stat).
fn children_cpu() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    });
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is
    // field 3, cutime 16 and cstime 17.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let at = |field: usize| fields.get(field - 3).copied().unwrap_or(0.0);
    (at(16) + at(17)) / ticks
}

fn ssprctl(dir: &Path, args: &[&str]) -> Run {
    let cpu_before = children_cpu();
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssprctl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ssprctl");
    // VmHWM only grows, so sampling it every few milliseconds misses only
    // growth in the child's last milliseconds.
    let mut max_rss = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ssprctl") {
            break status;
        }
        max_rss = max_rss.max(vm_hwm(child.id()).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    Run {
        code: status.code().unwrap_or(-1),
        secs: start.elapsed().as_secs_f64(),
        max_rss,
        cpu_secs: children_cpu() - cpu_before,
    }
}

/// Requests and round-trip levels per tenant, from the request log.
struct Traffic {
    requests: f64,
    /// Graph resource units per tenant, at the client's cost table.
    units: f64,
    /// Graph writes per tenant.
    writes: f64,
    levels_mean: f64,
    levels_max: usize,
    /// The log held its maximum: the oldest entries were dropped, so the
    /// figures are over the tenants still (partly) logged.
    truncated: bool,
}

fn traffic(log: &Value, n: usize) -> Traffic {
    let entries = log.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut by_tenant: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
    let (mut units, mut writes) = (0u64, 0u64);
    for e in entries {
        let Some(tenant) = e["tenant"].as_str() else {
            continue;
        };
        let (u, w) = graph_charge(e);
        units += u;
        writes += w;
        let start = e["startedUs"].as_u64().unwrap_or(0);
        let end = start + e["latencyMs"].as_u64().unwrap_or(0) * 1000;
        by_tenant.entry(tenant).or_default().push((start, end));
    }
    let mut levels_sum = 0;
    let mut levels_max = 0;
    let mut requests = 0;
    for intervals in by_tenant.values_mut() {
        intervals.sort_unstable();
        requests += intervals.len();
        let mut level = vec![0usize; intervals.len()];
        for i in 0..intervals.len() {
            let (start, _) = intervals[i];
            let before = (0..i)
                .filter(|&j| intervals[j].1 <= start)
                .map(|j| level[j])
                .max()
                .unwrap_or(0);
            level[i] = before + 1;
        }
        let path = level.iter().copied().max().unwrap_or(0);
        levels_sum += path;
        levels_max = levels_max.max(path);
    }
    let tenants = by_tenant.len().max(1);
    Traffic {
        requests: requests as f64 / tenants as f64,
        units: units as f64 / tenants as f64,
        writes: writes as f64 / tenants as f64,
        levels_mean: levels_sum as f64 / tenants as f64,
        levels_max,
        truncated: entries.len() >= 100_000 || by_tenant.len() < n,
    }
}

/// The Graph RU and writes a logged request cost the app-wide quota: each
/// `$batch` sub-request on its own (the envelope is free; sub-requests are
/// logged with the version too); portal and token requests, and requests
/// refused with 429, nothing.
fn graph_charge(e: &Value) -> (u64, u64) {
    let path = e["path"].as_str().unwrap_or_default();
    let Some(below) = ["/v1.0", "/beta"]
        .iter()
        .find_map(|v| path.strip_prefix(v).filter(|p| p.starts_with('/')))
    else {
        return (0, 0);
    };
    if below.eq_ignore_ascii_case("/$batch") {
        let subs = e["subRequests"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        return subs.iter().fold((0, 0), |(u, w), sub| {
            let (su, sw) = graph_charge(sub);
            (u + su, w + sw)
        });
    }
    if e["status"].as_u64() == Some(429) {
        return (0, 0);
    }
    let query = e["query"].as_str().unwrap_or_default();
    let target = if query.is_empty() {
        below.to_string()
    } else {
        format!("{below}?{query}")
    };
    let units = u64::from(ssprctl_provider::client::pacing::resource_units(&target));
    (units, u64::from(e["method"].as_str() != Some("GET")))
}

/// The emulator of one case: in this process, or a standalone child.
enum Emulator {
    InProcess(ssprctl_emulator::Handle),
    Standalone(std::process::Child, String),
}

impl Emulator {
    fn url(&self) -> String {
        match self {
            Emulator::InProcess(h) => h.base_url(),
            Emulator::Standalone(_, url) => url.clone(),
        }
    }
}

fn http(
    rt: &tokio::runtime::Runtime,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("emulator control request");
        resp.json::<Value>().await.unwrap_or(Value::Null)
    })
}

fn report(n: usize, c: usize, run: &Run, lb: f64, traffic: &Traffic, what: &str) {
    println!(
        "{n:>6} {c:>4} {:>8.2}s {lb:>7.2}s {:>6.2}x {:>8.2} {:>6.2} {:>4} {:>7.1} {:>8.3}   {what}{}",
        run.secs,
        run.secs / lb,
        traffic.requests,
        traffic.levels_mean,
        traffic.levels_max,
        run.max_rss as f64 / 1e6,
        run.cpu_secs * 1000.0 / n as f64,
        if traffic.truncated {
            " (request log truncated)"
        } else {
            ""
        },
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fault_json = serde_json::json!({ "latencyMs": LATENCY_MS, "seed": 1 });
    let faults: ssprctl_emulator::FaultConfig =
        serde_json::from_value(fault_json.clone()).expect("fault config");
    println!("emulator latency L = {LATENCY_MS} ms per request");
    println!(
        "{:>6} {:>4} {:>9} {:>8} {:>7} {:>8} {:>6} {:>4} {:>7} {:>8}   what",
        "N", "C", "wall", "bound", "ratio", "req/ten", "levels", "max", "RSS MB", "CPU ms/t"
    );
    let mut cases: Vec<(usize, usize, bool)> = CASES.iter().map(|&(n, c)| (n, c, false)).collect();
    if std::env::var_os("SSPRCTL_BENCH_LARGE").is_some() {
        cases.push((LARGE.0, LARGE.1, false));
    }
    if std::env::var_os("SSPRCTL_BENCH_NO_STANDALONE").is_none() {
        cases.push((STANDALONE.0, STANDALONE.1, true));
    }
    if let Some(only) = std::env::var_os("SSPRCTL_BENCH_ONLY") {
        let only: usize = only
            .to_str()
            .and_then(|s| s.parse().ok())
            .expect("SSPRCTL_BENCH_ONLY=N");
        cases.retain(|&(n, _, standalone)| n == only && !standalone);
        if only == LARGE.0 && cases.is_empty() {
            cases.push((LARGE.0, LARGE.1, false));
        }
    }
    for (n, c, standalone) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let emulator = if standalone {
            let state = dir.path().join("emulator-state.json");
            let mut child = Command::new(env!("CARGO_BIN_EXE_ssprctl"))
                .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
                .arg(&state)
                .current_dir(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("standalone emulator");
            let stdout = child.stdout.take().expect("stdout");
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .expect("emulator banner");
            let url = line
                .trim()
                .rsplit(' ')
                .next()
                .expect("emulator url")
                .to_string();
            http(
                &rt,
                reqwest::Method::PUT,
                &format!("{url}/_emulator/faults"),
                Some(fault_json.clone()),
            );
            Emulator::Standalone(child, url)
        } else {
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
            Emulator::InProcess(handle)
        };
        let url = emulator.url();
        let log_url = format!("{url}/_emulator/requests");
        let stats_url = format!("{url}/_emulator/stats");
        // 429 answers of a run, app-wide and per tenant (the emulator models
        // Graph's app-wide quota; ssprctl paces itself below it).
        let throttled = || {
            http(&rt, reqwest::Method::GET, &stats_url, None)["throttledTotal"]
                .as_u64()
                .unwrap_or(0)
        };
        let cfg = dir.path().join("bench.yaml");
        std::fs::write(&cfg, config(&url, n)).expect("write config");
        let cfg = cfg.to_str().expect("utf-8");
        let par = c.to_string();
        let suffix = if standalone {
            ", standalone emulator --state FILE"
        } else {
            ""
        };

        http(&rt, reqwest::Method::DELETE, &log_url, None);
        http(&rt, reqwest::Method::DELETE, &stats_url, None);
        let apply = ssprctl(
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
        assert_eq!(apply.code, 0, "apply from fresh tenants");
        if std::env::var_os("SSPRCTL_BENCH_SERVE").is_some() {
            // For profiling: keep the emulator with N converged tenants up
            // and say where its configuration is, until killed.
            println!("serving {n} converged tenants: --config {cfg}");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        let apply_traffic = traffic(&http(&rt, reqwest::Method::GET, &log_url, None), n);
        let apply_429 = throttled();

        http(&rt, reqwest::Method::DELETE, &log_url, None);
        http(&rt, reqwest::Method::DELETE, &stats_url, None);
        let plan = ssprctl(
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
        assert_eq!(plan.code, 0, "the plan finds the tenants converged");
        let plan_traffic = traffic(&http(&rt, reqwest::Method::GET, &log_url, None), n);
        let plan_429 = throttled();

        let waves = n.div_ceil(c) as f64;
        let l = LATENCY_MS as f64 / 1000.0;
        let quota = n as f64 * 8.0 / 7500.0;
        let apply_quota = ((n as f64 * apply_traffic.units - 7_000.0) / 7500.0)
            .max((n as f64 * apply_traffic.writes - 35_000.0) / 233.0);
        let apply_lb = (waves * 8.0 * l).max(apply_quota);
        let plan_lb = (waves * 2.0 * l).max(quota);
        // The plan's own demand after the client's one-second burst: a
        // stricter floor than the 8 RU per tenant of the bound (a plan asks
        // `subscribedSkus` with `$select`, 7 RU in all), printed beside it.
        let plan_floor = (waves * 2.0 * l).max((n as f64 * plan_traffic.units - 7_000.0) / 7500.0);
        report(
            n,
            c,
            &apply,
            apply_lb,
            &apply_traffic,
            &format!(
                "apply, from fresh tenants{suffix}, {apply_429} x 429, {:.1} RU and {:.2} writes per tenant",
                apply_traffic.units, apply_traffic.writes
            ),
        );
        report(
            n,
            c,
            &plan,
            plan_lb,
            &plan_traffic,
            &format!(
                "plan, converged (drift check){suffix}, {plan_429} x 429, {:.1} RU per tenant, {:.2}x of its own floor {:.2} s",
                plan_traffic.units,
                plan.secs / plan_floor,
                plan_floor
            ),
        );
        match emulator {
            Emulator::InProcess(handle) => rt.block_on(handle.shutdown()),
            Emulator::Standalone(mut child, _) => {
                // SIGINT: the emulator shuts down cleanly on Ctrl-C.
                let _ = Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status();
                let _ = child.wait();
            }
        }
    }
}
