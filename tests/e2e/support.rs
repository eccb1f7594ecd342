//! Test harness: an emulator on loopback, the binary, the request log.
//!
//! Every run of the binary goes through [`Isolated`]: it sees none of the
//! machine's environment (its own home, XDG and temp directories inside the
//! test's temp dir, no credential, token store, log filter or colour setting
//! from the machine), and a run that does not finish within the hang guard's
//! limit ([`run_limit`]) is killed and fails the test with what it printed.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const CONTOSO: &str = "6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";

/// An emulator on 127.0.0.1:0 with a temporary state file, and a work directory.
pub struct Env {
    rt: tokio::runtime::Runtime,
    emulator: Option<ssprctl_emulator::Handle>,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env::with_state(None)
    }

    /// An emulator whose state file starts as `state` (see docs/emulator.md).
    pub fn with_state(state: Option<Value>) -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(state) = state {
            std::fs::write(dir.path().join("emulator-state.json"), state.to_string())
                .expect("seed state");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let handle = rt
            .block_on(ssprctl_emulator::spawn(ssprctl_emulator::Options {
                listen: ([127, 0, 0, 1], 0).into(),
                state_file: Some(dir.path().join("emulator-state.json")),
                auto_create_tenants: true,
            }))
            .expect("emulator starts");
        let url = handle.base_url();
        Env {
            rt,
            emulator: Some(handle),
            url,
            dir,
        }
    }

    /// Copies an example into the work dir, pointing its tenants at this emulator.
    pub fn example(&self, name: &str) -> PathBuf {
        let text =
            std::fs::read_to_string(repo().join("examples").join(name)).expect("example exists");
        self.config(name, &text)
    }

    /// Writes a config into the work dir; `endpoint: local` becomes this emulator.
    pub fn config(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let text = yaml.replace("endpoint: local", &format!("endpoint: {}", self.url));
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Runs `ssprctl ARGS` in the work dir, isolated (see [`Isolated`]), its
    /// home `home/` of the work dir, kept from one run to the next.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// The emulator's state file as of now (it is written behind, so the
    /// emulator saves what changed first).
    pub fn saved_state(&self) -> Value {
        if let Some(handle) = &self.emulator {
            self.rt
                .block_on(handle.flush())
                .expect("emulator state saved");
        }
        let text = std::fs::read_to_string(self.dir.path().join("emulator-state.json"))
            .expect("emulator state file");
        serde_json::from_str(&text).expect("emulator state is JSON")
    }

    /// The emulator's request log.
    pub fn requests(&self) -> Vec<Value> {
        let url = format!("{}/_emulator/requests", self.url);
        self.rt.block_on(async {
            reqwest::get(&url)
                .await
                .expect("log")
                .json::<Vec<Value>>()
                .await
                .expect("log json")
        })
    }

    pub fn clear_requests(&self) {
        let url = format!("{}/_emulator/requests", self.url);
        self.rt.block_on(async {
            reqwest::Client::new()
                .delete(&url)
                .send()
                .await
                .expect("clear log");
        });
    }

    /// Writes: (method, path) of every request that changed something.
    pub fn writes(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .filter_map(|r| {
                let m = r["method"].as_str()?.to_string();
                let p = r["path"].as_str()?.to_string();
                (m != "GET" && !p.contains("$batch") && !p.contains("oauth2")).then_some((m, p))
            })
            .collect()
    }

    /// A request to the emulator as the tenant's admin (portal) or app (Graph).
    pub fn call(
        &self,
        tenant: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let portal = path.starts_with("/api/");
        let url = self.url.clone();
        self.rt.block_on(async move {
            let http = reqwest::Client::new();
            let form: Vec<(&str, &str)> = if portal {
                vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", "1950a258-227b-4e31-a9cf-717495945fc2"),
                    ("refresh_token", ssprctl_emulator::LOCAL_ADMIN_REFRESH_TOKEN),
                    (
                        "scope",
                        "74658136-14ec-4630-ad9b-26e160ff0fc6/.default offline_access",
                    ),
                ]
            } else {
                vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", ssprctl_emulator::LOCAL_CLIENT_ID),
                    ("client_secret", ssprctl_emulator::LOCAL_CLIENT_SECRET),
                    ("scope", "https://graph.microsoft.com/.default"),
                ]
            };
            let tok: Value = http
                .post(format!("{url}/{tenant}/oauth2/v2.0/token"))
                .form(&form)
                .send()
                .await
                .expect("token")
                .json()
                .await
                .expect("token json");
            let token = tok["access_token"]
                .as_str()
                .expect("access token")
                .to_string();
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut req = http
                .request(method, format!("{url}{path}"))
                .bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(h) = self.emulator.take() {
            self.rt.block_on(h.shutdown());
        }
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code, stdout and stderr together, for snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `ssprctl ARGS` in `dir`, isolated (see [`Isolated`]), with a fresh
/// home of its own that is removed afterwards (`dir` may be the repository).
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("temp home");
    Isolated::new(dir, home.path()).run(args)
}

/// How long one run may take before the hang guard kills it: 120 s, or
/// `SSPRCTL_TEST_TIMEOUT_SECS`. A guard against a run that never ends, never
/// an assertion that something is fast.
pub fn run_limit() -> Duration {
    match std::env::var(TIMEOUT_VAR) {
        Err(_) => Duration::from_secs(120),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => panic!("{TIMEOUT_VAR}={v:?}: expected a whole number of seconds above 0"),
        },
    }
}

/// The variable that overrides [`run_limit`].
pub const TIMEOUT_VAR: &str = "SSPRCTL_TEST_TIMEOUT_SECS";

/// One run of the binary that sees nothing of the machine it runs on.
///
/// The child's environment starts empty. It gets a home of its own (`HOME`,
/// `USERPROFILE`, every `XDG_*_HOME`, `APPDATA`, `LOCALAPPDATA` and the temp
/// directory point inside it), `PATH` names an empty directory of that home
/// (so no `az` or other program of the machine is found unless the test puts
/// it on `PATH`), `NO_COLOR=1` and `SSPRCTL_NO_PROGRESS=1` (a progress line
/// appears once an interval has passed, so a slow machine would otherwise
/// change a transcript; tests of progress set it to 0). From the test process it inherits only
/// what cannot change the binary's behaviour: coverage instrumentation,
/// `RUST_BACKTRACE`, and on Windows what the system needs to open a socket.
/// Every credential, token-store location, log filter or colour setting the
/// machine has is gone; a test sets what it wants with [`Isolated::env`].
pub struct Isolated {
    cmd: Command,
}

/// Variables the child inherits from the test process; none of them changes
/// what a run that does not panic does.
const INHERITED: &[&str] = &[
    "LLVM_PROFILE_FILE",
    "RUST_BACKTRACE",
    #[cfg(windows)]
    "SYSTEMROOT",
    #[cfg(windows)]
    "WINDIR",
    #[cfg(windows)]
    "PATH",
];

impl Isolated {
    /// `ssprctl` in `cwd`, with its home (and XDG, app-data and temp
    /// directories) inside `home`, which is created if missing.
    pub fn new(cwd: &Path, home: &Path) -> Isolated {
        Isolated::program(OsString::from(env!("CARGO_BIN_EXE_ssprctl")), cwd, home)
    }

    /// Any `program`, isolated the same way (the e2e binary itself, for one).
    pub fn program(program: impl Into<OsString>, cwd: &Path, home: &Path) -> Isolated {
        let dirs = [
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_STATE_HOME", ".local/state"),
            ("XDG_RUNTIME_DIR", ".run"),
            ("APPDATA", "AppData/Roaming"),
            ("LOCALAPPDATA", "AppData/Local"),
            ("TMPDIR", "tmp"),
            ("TEMP", "tmp"),
            ("TMP", "tmp"),
            ("PATH", "bin"),
        ];
        let mut cmd = Command::new(program.into());
        cmd.current_dir(cwd).env_clear();
        for (name, sub) in dirs {
            let dir = home.join(sub);
            std::fs::create_dir_all(&dir).expect("isolated home");
            cmd.env(name, dir);
        }
        cmd.env("HOME", home)
            .env("USERPROFILE", home)
            .env("NO_COLOR", "1")
            .env("SSPRCTL_NO_PROGRESS", "1");
        for name in INHERITED {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        Isolated { cmd }
    }

    /// Sets one variable for the child (after the defaults, so it wins).
    pub fn env(mut self, name: &str, value: impl Into<OsString>) -> Isolated {
        self.cmd.env(name, value.into());
        self
    }

    /// Runs with `args`, stdin closed, within [`run_limit`].
    pub fn run(self, args: &[&str]) -> Run {
        self.run_within(args, run_limit())
    }

    /// Removes one variable the defaults set (e.g. `NO_COLOR`).
    pub fn env_remove(mut self, name: &str) -> Isolated {
        self.cmd.env_remove(name);
        self
    }

    /// Runs with `args`, stdin closed. A run still going after `limit` is
    /// killed and the test fails, naming the command and showing what it
    /// printed so far.
    pub fn run_within(self, args: &[&str], limit: Duration) -> Run {
        self.spawn(args).finish_within(limit)
    }

    /// Starts with `args` without waiting: stdin closed, stdout and stderr
    /// collected (take `stdout`/`stderr` from [`Started::child`] first to
    /// read or close them yourself).
    pub fn spawn(mut self, args: &[&str]) -> Started {
        self.cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = format!(
            "`{} {}` (in {})",
            Path::new(self.cmd.get_program())
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
            args.join(" "),
            self.cmd
                .get_current_dir()
                .unwrap_or(Path::new("."))
                .display()
        );
        let child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Started { child, what }
    }
}

/// A run started by [`Isolated::spawn`].
pub struct Started {
    /// The process; its pipes are still here until taken.
    pub child: std::process::Child,
    what: String,
}

impl Started {
    /// The process id (to send it a signal).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the run within [`run_limit`]; see [`Started::finish_within`].
    pub fn finish(self) -> Run {
        self.finish_within(run_limit())
    }

    /// Waits for the run to end. A run still going after `limit` is killed
    /// and the test fails, naming the command and showing what it printed.
    pub fn finish_within(mut self, limit: Duration) -> Run {
        let what = self.what;
        let stdout = Collector::start(self.child.stdout.take());
        let stderr = Collector::start(self.child.stderr.take());
        let child = &mut self.child;
        let status = match wait_within(child, limit) {
            Some(status) => status,
            None => {
                let killed = child.kill().and_then(|()| child.wait());
                panic!(
                    "{what} did not finish within {} s ({TIMEOUT_VAR} sets the limit) and {}; it printed so far:\n--- stdout\n{}\n--- stderr\n{}",
                    limit.as_secs(),
                    match killed {
                        Ok(_) => "was killed".to_string(),
                        Err(e) => format!("could not be killed: {e}"),
                    },
                    stdout.so_far(),
                    stderr.so_far(),
                )
            }
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.finish(),
            stderr: stderr.finish(),
        }
    }
}

/// Polls `ready` until it holds; the test fails after [`run_limit`], saying
/// what it waited for (a hang guard, not a speed assertion).
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + run_limit();
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "waited {} s for {what} ({TIMEOUT_VAR} sets the limit)",
            run_limit().as_secs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child` to exit, up to `limit`: `None` if it is still running.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Ok(None) => return None,
            Err(e) => panic!("waiting for the child: {e}"),
        }
    }
}

/// A child's output pipe, read on a thread into a buffer that can be looked
/// at before the pipe closes.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Collector {
    fn start(pipe: Option<impl Read + Send + 'static>) -> Collector {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let reader = pipe.map(|mut pipe| {
            let buf = Arc::clone(&buf);
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    buf.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&chunk[..n]);
                }
            })
        });
        Collector { buf, reader }
    }

    /// What was read so far.
    fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Everything, once the pipe has closed.
    fn finish(mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("output reader");
        }
        self.so_far()
    }
}

/// Emulator state of a synchronised tenant with a registered writeback client.
pub fn hybrid_state(tenant_id: &str) -> Value {
    serde_json::json!({
        "formatVersion": 1,
        "tenants": { tenant_id: {
            "onPremisesPasswordResetPolicies": {
                "objectId": null,
                "passwordWritebackSupported": false,
                "accountUnlockSupported": true,
                "accountUnlockEnabled": false,
                "enablementForTenant": true,
                "cloudProvisioningEnablementForTenant": false
            }
        }}
    })
}

/// Every environment variable through which the binary finds a credential or
/// a token store. No run sees them unless its test sets them ([`Isolated`]);
/// `isolation` sets them all in the test process to show that.
pub const CREDENTIAL_ENV: &[&str] = &[
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SSPRCTL_IMDS_ENDPOINT",
    "SSPRCTL_PORTAL_REFRESH_TOKEN",
    "SSPRCTL_CONFIG_DIR",
    "XDG_CONFIG_HOME",
    "HOME",
];

impl Env {
    /// The home every run of this environment gets (`home/` of the work dir).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Runs `ssprctl ARGS` in the work dir like [`Env::run`], with `envs` set
    /// on top of the isolated environment (see [`Isolated`]).
    pub fn run_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        envs.iter()
            .fold(
                Isolated::new(self.dir.path(), &self.home()),
                |cmd, (k, v)| cmd.env(k, v),
            )
            .run(args)
    }

    /// Replaces the emulator's fault configuration (`PUT /_emulator/faults`).
    pub fn set_faults(&self, faults: Value) {
        let url = format!("{}/_emulator/faults", self.url);
        self.rt.block_on(async {
            let resp = reqwest::Client::new()
                .put(&url)
                .json(&faults)
                .send()
                .await
                .expect("set faults");
            assert!(
                resp.status().is_success(),
                "faults refused: {}",
                resp.text().await.unwrap_or_default()
            );
        });
    }

    /// Clears every fault (`DELETE /_emulator/faults`).
    pub fn clear_faults(&self) {
        let url = format!("{}/_emulator/faults", self.url);
        self.rt.block_on(async {
            reqwest::Client::new()
                .delete(&url)
                .send()
                .await
                .expect("clear faults");
        });
    }

    /// The current fault configuration, with what is left of each `failNext`.
    pub fn faults(&self) -> Value {
        let url = format!("{}/_emulator/faults", self.url);
        self.rt.block_on(async {
            reqwest::get(&url)
                .await
                .expect("faults")
                .json::<Value>()
                .await
                .expect("faults json")
        })
    }

    /// `GET path` on the emulator, with a bearer token if given: (status, JSON).
    pub fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        self.rt.block_on(async move {
            let mut req = reqwest::Client::new().get(&url);
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    /// A form `POST` to a tenant's v2 token endpoint: (status, JSON).
    pub fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.url);
        self.rt.block_on(async move {
            let resp = reqwest::Client::new()
                .post(&url)
                .form(form)
                .send()
                .await
                .expect("token request");
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }
}

/// Entries of a request log whose path contains `part`, `$batch` sub-requests
/// not included.
pub fn matching<'a>(log: &'a [Value], part: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(part)))
        .collect()
}

/// Emulator state of a tenant licensed for its whole generated population:
/// one Entra ID P2 SKU with `seats` seats (a fresh emulator tenant has 25
/// for 500 users, which `plan` warns about).
pub fn licensed_state(tenant_id: &str, seats: u64) -> Value {
    let plan = |id: &str, name: &str| serde_json::json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"});
    serde_json::json!({
        "formatVersion": 1,
        "tenants": { tenant_id: {
            "subscribedSkus": [{
                "accountName": "Emulator",
                "accountId": tenant_id,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": 1,
                "id": format!("{tenant_id}_84a661c4-e949-4bd2-a560-ed7766fcaf2b"),
                "skuId": "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
                "skuPartNumber": "AAD_PREMIUM_P2",
                "subscriptionIds": [],
                "prepaidUnits": {"enabled": seats, "suspended": 0, "warning": 0, "lockedOut": 0},
                "servicePlans": [
                    plan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"),
                    plan("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2")
                ]
            }]
        }}
    })
}
