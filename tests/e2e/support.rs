//! Test harness: an emulator on loopback, the binary, the request log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

    /// Runs `ssprctl ARGS` in the work dir, without colour or a terminal.
    pub fn run(&self, args: &[&str]) -> Run {
        run_in(self.dir.path(), args)
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

pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_ssprctl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("SSPRCTL_PORTAL_REFRESH_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ssprctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
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
/// a token store; `Env::run_env` clears them all before setting its own.
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
];

impl Env {
    /// Runs `ssprctl ARGS` in the work dir like [`Env::run`], with every
    /// credential variable cleared and then `envs` set. Unless `envs` names
    /// `SSPRCTL_CONFIG_DIR`, the token store is an empty directory of the
    /// work dir, never the user's own.
    pub fn run_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssprctl"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null());
        for name in CREDENTIAL_ENV {
            cmd.env_remove(name);
        }
        if !envs.iter().any(|(k, _)| *k == "SSPRCTL_CONFIG_DIR") {
            cmd.env("SSPRCTL_CONFIG_DIR", self.dir.path().join("no-token-store"));
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out: Output = cmd.output().expect("run ssprctl");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
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
