//! Each credential kind against the emulator's token endpoints: the good case
//! works (and the emulator saw the right app), the bad case is an honest
//! "unknown" (exit 3) with the service's reason, and no secret is ever printed.
//!
//! An emulator tenant with a `credentials` block uses exactly the methods it
//! names (without one, the emulator's built-in app and admin), so each test
//! seeds the emulator with the app, identity or admin the method needs.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use ssprctl_emulator::{LOCAL_ADMIN_REFRESH_TOKEN, LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET};

use crate::support::{CONTOSO, Env, Run, matching, repo};

/// Every application permission ssprctl can use.
const ALL_ROLES: &[&str] = &[
    "Policy.Read.All",
    "Policy.ReadWrite.Authorization",
    "Policy.ReadWrite.AuthenticationMethod",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
    "Group.Read.All",
    "AuditLog.Read.All",
];

const SECRET_APP: &str = "5ec2e7a0-0000-4000-8000-0000000005ec";
const SECRET_VALUE: &str = "sekrit-Qx7~value-only-for-tests";
const CERT_APP: &str = "c3c3c3c3-0000-4000-8000-00000000ce27";
const WIF_APP: &str = "f1c0f1c0-0000-4000-8000-0000000000f1";
const OTHER_SUBJECT_APP: &str = "f1c0f1c0-0000-4000-8000-0000000000f2";
const MI_CLIENT_ID: &str = "4a4a4a4a-0000-4000-8000-00000000004a";
const CLI_APP: &str = "a2c1a2c1-0000-4000-8000-00000000a2c1";
const READ_ONLY_APP: &str = "0ead0ead-0000-4000-8000-000000000ead";
const REQUEST_TOKEN: &str = "test-actions-request-token-9f3e";
const SUBJECT: &str = "repo:contoso/identity-config:ref:refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const PFX_PASSWORD: &str = "test-only-password";

/// Graph-backed: the fresh tenant allows admins SSPR, so this is one change.
const ADMIN_RESET_OFF: &str = "      administratorPasswordReset:\n        enabled: false\n";
const ADMIN_RESET_CHANGE: &str = "~ administratorPasswordReset.enabled: true -> false";

/// The emulator's built-in app (the state's `apps` replaces the default whole).
fn local_app() -> Value {
    json!({ "clientId": LOCAL_CLIENT_ID, "clientSecret": LOCAL_CLIENT_SECRET, "roles": ALL_ROLES })
}

/// An emulator state whose Contoso tenant has the built-in app plus `apps`,
/// and `extra` merged into the tenant.
fn state(apps: Vec<Value>, extra: Value) -> Value {
    let mut all = vec![local_app()];
    all.extend(apps);
    let mut tenant = json!({ "apps": all });
    if let (Some(t), Some(e)) = (tenant.as_object_mut(), extra.as_object()) {
        t.extend(e.clone());
    }
    json!({
        "formatVersion": 1,
        "githubOidc": { "requestToken": REQUEST_TOKEN, "subject": SUBJECT },
        "tenants": { CONTOSO: tenant }
    })
}

/// A one-tenant file on the emulator; `credentials` is a YAML flow mapping
/// (or empty for none), `settings` the indented settings block.
fn yaml(credentials: &str, settings: &str) -> String {
    let credentials = if credentials.is_empty() {
        String::new()
    } else {
        format!("    credentials: {credentials}\n")
    };
    format!(
        "version: 1\ntenants:\n  - name: contoso\n    tenantId: {CONTOSO}\n    endpoint: local\n{credentials}    settings:\n{settings}"
    )
}

fn fixture(name: &str) -> PathBuf {
    repo().join("crates/emulator/tests/fixtures").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read fixture")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// No secret value appears in anything the run printed.
fn assert_no_leak(run: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "a secret was printed ({s}):\n{}",
            run.transcript()
        );
    }
}

/// The Graph token requests ssprctl made to Contoso (the portal ones are
/// issued to the portal's public client).
fn graph_token_requests(log: &[Value]) -> Vec<&Value> {
    matching(log, &format!("/{CONTOSO}/oauth2/v2.0/token"))
        .into_iter()
        .filter(|r| r["app"] != ssprctl_provider::clouds::PORTAL_CLIENT_ID)
        .collect()
}

/// The app ids the `$batch` reads ran as.
fn batch_apps(log: &[Value]) -> Vec<String> {
    matching(log, "/v1.0/$batch")
        .iter()
        .map(|r| r["app"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// A plan of `cfg` with `envs` that must show the admin-reset change, run as `app`.
fn assert_plans_as(env: &Env, cfg: &Path, envs: &[(&str, &str)], app: &str) -> Run {
    env.clear_requests();
    let run = env.run_env(&["plan", "--config", path_str(cfg)], envs);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains(ADMIN_RESET_CHANGE), "{}", run.stdout);
    let log = env.requests();
    let tokens = graph_token_requests(&log);
    assert_eq!(tokens.len(), 1, "one Graph token: {log:#?}");
    assert_eq!(tokens[0]["status"], 200, "{:#?}", tokens[0]);
    assert_eq!(tokens[0]["app"], app, "{:#?}", tokens[0]);
    assert_eq!(batch_apps(&log), vec![app.to_string()], "{log:#?}");
    run
}

/// A plan of `cfg` with `envs` that cannot sign in: exit 3, the Graph setting
/// unknown with `reason` on its line, and no change proposed.
fn assert_unknown(env: &Env, cfg: &Path, envs: &[(&str, &str)], reason: &str) -> Run {
    let run = env.run_env(&["plan", "--config", path_str(cfg)], envs);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("? Graph authorizationPolicy"))
        .unwrap_or_else(|| panic!("no unknown line:\n{}", run.stdout));
    assert!(line.contains("1 managed setting unknown"), "{line}");
    assert!(line.contains(reason), "{line}");
    assert!(
        !run.stdout.contains(ADMIN_RESET_CHANGE),
        "a failed sign-in is never drift:\n{}",
        run.stdout
    );
    run
}

// 1. Client secret -----------------------------------------------------------

#[test]
fn client_secret_from_a_named_variable_signs_in_as_that_app() {
    let env = Env::with_state(Some(state(
        vec![json!({ "clientId": SECRET_APP, "clientSecret": SECRET_VALUE, "roles": ALL_ROLES })],
        json!({}),
    )));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: clientSecret, clientId: {SECRET_APP}, secretEnv: CONTOSO_SSPR_SECRET }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    let run = assert_plans_as(
        &env,
        &cfg,
        &[("CONTOSO_SSPR_SECRET", SECRET_VALUE)],
        SECRET_APP,
    );
    assert_no_leak(&run, &[SECRET_VALUE]);
}

#[test]
fn a_wrong_client_secret_is_unknown_with_the_aadsts_reason_and_never_printed() {
    let env = Env::with_state(Some(state(
        vec![json!({ "clientId": SECRET_APP, "clientSecret": SECRET_VALUE, "roles": ALL_ROLES })],
        json!({}),
    )));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: clientSecret, clientId: {SECRET_APP}, secretEnv: CONTOSO_SSPR_SECRET }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    let wrong = "not-the-secret-4b1d~value";
    env.clear_requests();
    let run = assert_unknown(
        &env,
        &cfg,
        &[("CONTOSO_SSPR_SECRET", wrong)],
        "HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided.",
    );
    assert_no_leak(&run, &[wrong, SECRET_VALUE]);
    let log = env.requests();
    let tokens = graph_token_requests(&log);
    assert_eq!(tokens.len(), 1, "a refused secret is not retried: {log:#?}");
    assert_eq!(
        (tokens[0]["status"].clone(), tokens[0]["app"].clone()),
        (json!(401), json!(SECRET_APP))
    );
    assert!(
        batch_apps(&log).is_empty(),
        "no Graph read without a token: {log:#?}"
    );
}

// 2. Certificate -------------------------------------------------------------

fn cert_state() -> Value {
    state(
        vec![json!({
            "clientId": CERT_APP,
            "roles": ALL_ROLES,
            "certificates": [{
                "certificatePem": read(&fixture("assertion-cert.pem")),
                "publicKeyPem": read(&fixture("assertion-pubkey.pem"))
            }]
        })],
        json!({}),
    )
}

fn cert_config(env: &Env) -> PathBuf {
    env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: certificate, clientId: {CERT_APP} }} }}"),
            ADMIN_RESET_OFF,
        ),
    )
}

/// A PEM file of the fixture certificate and `key`.
fn pem_file(env: &Env, key: &str) -> PathBuf {
    let path = env.dir.path().join("credential.pem");
    let text = format!(
        "{}{}",
        read(&fixture("assertion-cert.pem")),
        read(&fixture(key))
    );
    std::fs::write(&path, text).expect("write pem");
    path
}

#[test]
fn certificate_from_a_pem_file_signs_in() {
    let env = Env::with_state(Some(cert_state()));
    let cfg = cert_config(&env);
    let pem = pem_file(&env, "assertion-key.pem");
    let run = assert_plans_as(
        &env,
        &cfg,
        &[("AZURE_CLIENT_CERTIFICATE_PATH", path_str(&pem))],
        CERT_APP,
    );
    let key_body: String = read(&fixture("assertion-key.pem"))
        .lines()
        .nth(1)
        .unwrap_or("?")
        .into();
    assert_no_leak(&run, &[&key_body]);
}

#[test]
fn certificate_from_a_pfx_file_with_its_password_signs_in() {
    // Modern (AES-256 / PBKDF2) and OpenSSL's `-legacy` (RC2-40 for the
    // certificate bag, 3DES for the key, as older Windows and Azure Key Vault
    // exports still produce).
    for file in ["assertion.pfx", "assertion-legacy.pfx"] {
        let env = Env::with_state(Some(cert_state()));
        let cfg = cert_config(&env);
        let pfx = repo().join("tests/fixtures").join(file);
        let run = assert_plans_as(
            &env,
            &cfg,
            &[
                ("AZURE_CLIENT_CERTIFICATE_PATH", path_str(&pfx)),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", PFX_PASSWORD),
            ],
            CERT_APP,
        );
        assert_no_leak(&run, &[PFX_PASSWORD]);
    }
}

#[test]
fn a_pfx_with_the_wrong_password_is_unknown_naming_the_file() {
    let env = Env::with_state(Some(cert_state()));
    let cfg = cert_config(&env);
    let pfx = repo().join("tests/fixtures/assertion.pfx");
    let wrong = "wrong-pfx-password-77";
    env.clear_requests();
    let run = assert_unknown(
        &env,
        &cfg,
        &[
            ("AZURE_CLIENT_CERTIFICATE_PATH", path_str(&pfx)),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", wrong),
        ],
        "not a readable PFX file (wrong password?)",
    );
    assert!(run.stdout.contains("assertion.pfx"), "{}", run.stdout);
    assert_no_leak(&run, &[wrong, PFX_PASSWORD]);
    assert!(
        graph_token_requests(&env.requests()).is_empty(),
        "nothing sent without a usable key"
    );
}

#[test]
fn a_certificate_signed_with_another_key_is_refused() {
    let env = Env::with_state(Some(cert_state()));
    let cfg = cert_config(&env);
    // The registered certificate, but a private key that is not its own.
    let pem = pem_file(&env, "other-key.pem");
    env.clear_requests();
    let run = assert_unknown(
        &env,
        &cfg,
        &[("AZURE_CLIENT_CERTIFICATE_PATH", path_str(&pem))],
        "HTTP 401 invalid_client: AADSTS700027",
    );
    let key_body: String = read(&fixture("other-key.pem"))
        .lines()
        .nth(1)
        .unwrap_or("?")
        .into();
    assert_no_leak(&run, &[&key_body]);
    let log = env.requests();
    let tokens = graph_token_requests(&log);
    assert_eq!(tokens.len(), 1, "{log:#?}");
    assert_eq!(tokens[0]["status"], 401);
    assert_eq!(tokens[0]["app"], CERT_APP);
}

// 3. Workload identity with a federated token file ---------------------------

fn federated_state() -> Value {
    let fic = |subject: &str| json!([{ "name": "ci", "issuer": GITHUB_ISSUER, "subject": subject, "audiences": ["api://AzureADTokenExchange"] }]);
    state(
        vec![
            json!({ "clientId": WIF_APP, "roles": ALL_ROLES, "federatedCredentials": fic(SUBJECT) }),
            json!({
                "clientId": OTHER_SUBJECT_APP,
                "roles": ALL_ROLES,
                "federatedCredentials": fic("repo:contoso/identity-config:environment:entra-production")
            }),
        ],
        json!({}),
    )
}

/// A token from the emulator's GitHub OIDC service, as a runner would get it.
fn github_token(env: &Env) -> String {
    let (status, body) = env.get(
        "/_emulator/github/oidc?audience=api%3A%2F%2FAzureADTokenExchange",
        Some(REQUEST_TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    body["value"].as_str().expect("value").to_string()
}

#[test]
fn workload_identity_token_file_with_the_registered_subject_signs_in() {
    let env = Env::with_state(Some(federated_state()));
    let jwt = github_token(&env);
    let file = env.dir.path().join("federated-token");
    std::fs::write(&file, format!("{jwt}\n")).expect("token file");
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: workloadIdentity, clientId: {WIF_APP} }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    let run = assert_plans_as(
        &env,
        &cfg,
        &[("AZURE_FEDERATED_TOKEN_FILE", path_str(&file))],
        WIF_APP,
    );
    assert_no_leak(&run, &[&jwt]);
}

#[test]
fn workload_identity_for_an_app_trusting_another_subject_is_refused() {
    let env = Env::with_state(Some(federated_state()));
    let jwt = github_token(&env);
    let file = env.dir.path().join("federated-token");
    std::fs::write(&file, &jwt).expect("token file");
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: workloadIdentity, clientId: {OTHER_SUBJECT_APP}, tokenFileEnv: MY_TOKEN_FILE }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    env.clear_requests();
    let run = assert_unknown(
        &env,
        &cfg,
        &[("MY_TOKEN_FILE", path_str(&file))],
        "AADSTS700213",
    );
    assert_no_leak(&run, &[&jwt]);
    let log = env.requests();
    let tokens = graph_token_requests(&log);
    assert_eq!(tokens.len(), 1, "{log:#?}");
    assert_eq!(tokens[0]["status"], 401, "{:#?}", tokens[0]);
    assert_eq!(tokens[0]["app"], OTHER_SUBJECT_APP);
}

// 4. GitHub Actions OIDC -----------------------------------------------------

#[test]
fn github_actions_oidc_plans_and_applies() {
    let env = Env::with_state(Some(federated_state()));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: githubActions, clientId: {WIF_APP} }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    let request_url = format!("{}/_emulator/github/oidc?api-version=2.0", env.url);
    let envs = [
        ("ACTIONS_ID_TOKEN_REQUEST_URL", request_url.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN),
    ];
    let plan = assert_plans_as(&env, &cfg, &envs, WIF_APP);
    assert_no_leak(&plan, &[REQUEST_TOKEN]);
    let log = env.requests();
    let oidc = matching(&log, "/_emulator/github/oidc");
    assert_eq!(oidc.len(), 1, "one runner token request: {log:#?}");
    assert_eq!(oidc[0]["status"], 200);
    assert!(
        oidc[0]["query"]
            .as_str()
            .is_some_and(|q| q.contains("api-version=2.0")
                && q.contains("audience=api%3A%2F%2FAzureADTokenExchange")),
        "{:#?}",
        oidc[0]
    );

    env.clear_requests();
    let apply = env.run_env(
        &["apply", "--config", path_str(&cfg), "--auto-approve"],
        &envs,
    );
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(
        apply
            .stdout
            .contains("contoso: applied 1 change, verified by reading back."),
        "{}",
        apply.stdout
    );
    assert_no_leak(&apply, &[REQUEST_TOKEN]);
    let log = env.requests();
    let patch = matching(&log, "/v1.0/policies/authorizationPolicy");
    assert_eq!(patch.len(), 1, "{log:#?}");
    assert_eq!(
        (
            patch[0]["method"].clone(),
            patch[0]["status"].clone(),
            patch[0]["app"].clone()
        ),
        (json!("PATCH"), json!(204), json!(WIF_APP))
    );
    let (_, live) = env.call(CONTOSO, "GET", "/v1.0/policies/authorizationPolicy", None);
    assert_eq!(live["allowedToUseSSPR"], false);
}

#[test]
fn github_actions_without_the_runner_variables_asks_for_id_token_write() {
    let env = Env::with_state(Some(federated_state()));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: githubActions, clientId: {WIF_APP} }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    env.clear_requests();
    let run = assert_unknown(
        &env,
        &cfg,
        &[],
        "give the job `permissions: id-token: write`",
    );
    assert!(
        run.stdout
            .contains("GitHub Actions OIDC token is not available"),
        "{}",
        run.stdout
    );
    assert!(graph_token_requests(&env.requests()).is_empty());
}

#[test]
fn github_actions_with_a_wrong_request_token_says_the_runner_refused() {
    let env = Env::with_state(Some(federated_state()));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: githubActions, clientId: {WIF_APP} }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    let request_url = format!("{}/_emulator/github/oidc?api-version=2.0", env.url);
    let wrong = "expired-actions-request-token-00";
    env.clear_requests();
    let run = assert_unknown(
        &env,
        &cfg,
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", request_url.as_str()),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", wrong),
        ],
        "the GitHub Actions runner refused the OIDC token request",
    );
    assert!(run.stdout.contains("HTTP 401"), "{}", run.stdout);
    assert!(run.stdout.contains("Bad credentials"), "{}", run.stdout);
    assert_no_leak(&run, &[wrong, REQUEST_TOKEN]);
    let log = env.requests();
    assert_eq!(
        matching(&log, "/_emulator/github/oidc").len(),
        1,
        "{log:#?}"
    );
    assert!(graph_token_requests(&log).is_empty(), "{log:#?}");
}

// 5. Managed identity --------------------------------------------------------

#[test]
fn managed_identity_through_the_metadata_endpoint_signs_in() {
    let env = Env::with_state(Some(state(
        vec![],
        json!({ "managedIdentities": [{ "clientId": MI_CLIENT_ID, "roles": ALL_ROLES }] }),
    )));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: managedIdentity, clientId: {MI_CLIENT_ID} }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    let imds = format!("{}/metadata/identity/oauth2/token", env.url);
    env.clear_requests();
    let run = env.run_env(
        &["plan", "--config", path_str(&cfg)],
        &[("SSPRCTL_IMDS_ENDPOINT", &imds)],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains(ADMIN_RESET_CHANGE), "{}", run.stdout);
    let log = env.requests();
    let mi = matching(&log, "/metadata/identity/oauth2/token");
    assert_eq!(mi.len(), 1, "{log:#?}");
    assert_eq!(
        (
            mi[0]["method"].clone(),
            mi[0]["status"].clone(),
            mi[0]["app"].clone()
        ),
        (json!("GET"), json!(200), json!(MI_CLIENT_ID))
    );
    assert!(
        mi[0]["query"]
            .as_str()
            .is_some_and(|q| q.contains(&format!("client_id={MI_CLIENT_ID}"))),
        "{:#?}",
        mi[0]
    );
    assert!(
        graph_token_requests(&log).is_empty(),
        "no client-credentials grant: {log:#?}"
    );
    assert_eq!(batch_apps(&log), vec![MI_CLIENT_ID.to_string()]);
}

/// A host without the identity the file names.
fn unknown_identity() -> (Env, PathBuf, String) {
    let env = Env::with_state(Some(state(
        vec![],
        json!({ "managedIdentities": [{ "clientId": MI_CLIENT_ID, "roles": ALL_ROLES }] }),
    )));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            "{ graph: { method: managedIdentity, clientId: 4a4a4a4a-0000-4000-8000-0000000000ff } }",
            ADMIN_RESET_OFF,
        ),
    );
    let imds = format!("{}/metadata/identity/oauth2/token", env.url);
    (env, cfg, imds)
}

#[test]
fn an_unknown_managed_identity_is_unknown_with_the_status() {
    let (env, cfg, imds) = unknown_identity();
    let run = assert_unknown(
        &env,
        &cfg,
        &[("SSPRCTL_IMDS_ENDPOINT", &imds)],
        "managed identity credential: the instance metadata service refused:",
    );
    assert!(run.stdout.contains("HTTP 400"), "{}", run.stdout);
}

#[test]
fn an_unknown_managed_identity_gives_the_metadata_services_reason() {
    let (env, cfg, imds) = unknown_identity();
    let run = assert_unknown(
        &env,
        &cfg,
        &[("SSPRCTL_IMDS_ENDPOINT", &imds)],
        "Identity not found",
    );
    assert!(!run.stdout.contains("no error body"), "{}", run.stdout);
}

// 6. Azure CLI ---------------------------------------------------------------

/// A directory holding an executable `az` with `body` as its script.
fn fake_az(env: &Env, body: &str) -> PathBuf {
    let dir = env.dir.path().join("fake-bin");
    std::fs::create_dir_all(&dir).expect("bin dir");
    let az = dir.join("az");
    std::fs::write(&az, format!("#!/bin/sh\n{body}")).expect("write az");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

fn path_with(dir: &Path) -> String {
    match std::env::var("PATH") {
        Ok(p) if !p.is_empty() => format!("{}:{p}", dir.display()),
        _ => dir.display().to_string(),
    }
}

#[test]
#[cfg(unix)]
fn azure_cli_token_is_used_for_graph() {
    let env = Env::with_state(Some(state(
        vec![json!({ "clientId": CLI_APP, "clientSecret": SECRET_VALUE, "roles": ALL_ROLES })],
        json!({}),
    )));
    // What `az account get-access-token` would print: a real emulator token.
    let (status, token) = env.token_request(
        CONTOSO,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLI_APP),
            ("client_secret", SECRET_VALUE),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    );
    assert_eq!(status, 200, "{token}");
    let access = token["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let args_file = env.dir.path().join("az-args");
    let bin = fake_az(
        &env,
        &format!(
            "echo \"$@\" > '{}'\ncat <<'JSON'\n{{\"accessToken\": \"{access}\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": {}, \"subscription\": \"none\", \"tenant\": \"{CONTOSO}\", \"tokenType\": \"Bearer\"}}\nJSON\n",
            args_file.display(),
            now + 3600
        ),
    );
    let cfg = env.config(
        "c.yaml",
        &yaml("{ graph: { method: azureCli } }", ADMIN_RESET_OFF),
    );
    env.clear_requests();
    let run = env.run_env(
        &["plan", "--config", path_str(&cfg)],
        &[("PATH", &path_with(&bin))],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains(ADMIN_RESET_CHANGE), "{}", run.stdout);
    assert_no_leak(&run, &[&access]);
    let args = std::fs::read_to_string(&args_file).expect("az was run");
    assert_eq!(
        args.trim(),
        format!(
            "account get-access-token --resource https://graph.microsoft.com --tenant {CONTOSO} --output json"
        )
    );
    let log = env.requests();
    assert!(
        graph_token_requests(&log).is_empty(),
        "the token came from az: {log:#?}"
    );
    assert_eq!(batch_apps(&log), vec![CLI_APP.to_string()]);
}

#[test]
#[cfg(unix)]
fn a_failing_or_missing_azure_cli_says_what_to_do() {
    let env = Env::new();
    let cfg = env.config(
        "c.yaml",
        &yaml("{ graph: { method: azureCli } }", ADMIN_RESET_OFF),
    );
    let bin = fake_az(
        &env,
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    );
    let run = assert_unknown(
        &env,
        &cfg,
        &[("PATH", &path_with(&bin))],
        &format!(
            "Azure CLI credential: `az account get-access-token` failed: ERROR: Please run 'az login' to setup account.; run `az login --tenant {CONTOSO}`"
        ),
    );
    assert!(
        batch_apps(&env.requests()).is_empty(),
        "no Graph read without a token"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    // No `az` on PATH at all.
    let empty = env.dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).expect("dir");
    assert_unknown(
        &env,
        &cfg,
        &[("PATH", path_str(&empty))],
        "install the Azure CLI and run `az login`",
    );
}

// 7. Missing permissions -----------------------------------------------------

fn read_only_env() -> (Env, PathBuf) {
    let env = Env::with_state(Some(state(
        vec![
            json!({ "clientId": READ_ONLY_APP, "clientSecret": SECRET_VALUE, "roles": ["Policy.Read.All"] }),
        ],
        json!({}),
    )));
    let cfg = env.config(
        "c.yaml",
        &yaml(
            &format!("{{ graph: {{ method: clientSecret, clientId: {READ_ONLY_APP}, secretEnv: RO_SECRET }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    (env, cfg)
}

#[test]
fn a_read_only_app_plans_but_its_write_is_denied_with_403() {
    let (env, cfg) = read_only_env();
    let envs = [("RO_SECRET", SECRET_VALUE)];
    assert_plans_as(&env, &cfg, &envs, READ_ONLY_APP);

    env.clear_requests();
    let apply = env.run_env(
        &["apply", "--config", path_str(&cfg), "--auto-approve"],
        &envs,
    );
    assert_eq!(apply.code, 1, "{}", apply.transcript());
    assert!(
        apply
            .stderr
            .contains("error: tenant contoso: writing administratorPasswordReset.enabled failed"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("HTTP 403 Authorization_RequestDenied: Insufficient privileges to complete the operation."),
        "{}",
        apply.stderr
    );
    assert!(
        apply
            .stderr
            .contains("not applied: administratorPasswordReset.enabled"),
        "{}",
        apply.stderr
    );
    assert_no_leak(&apply, &[SECRET_VALUE]);
    let log = env.requests();
    let patch = matching(&log, "/v1.0/policies/authorizationPolicy");
    assert_eq!(patch.len(), 1, "a 403 is not retried: {log:#?}");
    assert_eq!(
        (patch[0]["status"].clone(), patch[0]["app"].clone()),
        (json!(403), json!(READ_ONLY_APP))
    );
    let (_, live) = env.call(CONTOSO, "GET", "/v1.0/policies/authorizationPolicy", None);
    assert_eq!(live["allowedToUseSSPR"], true, "unchanged");
}

#[test]
fn a_denied_write_names_the_permission_it_needs() {
    let (env, cfg) = read_only_env();
    let apply = env.run_env(
        &["apply", "--config", path_str(&cfg), "--auto-approve"],
        &[("RO_SECRET", SECRET_VALUE)],
    );
    assert_eq!(apply.code, 1, "{}", apply.transcript());
    assert!(
        apply.stderr.contains("Policy.ReadWrite.Authorization"),
        "the 403 should say which application permission to grant:\n{}",
        apply.stderr
    );
}

#[test]
fn doctor_lists_the_missing_write_permission() {
    let (env, cfg) = read_only_env();
    let run = env.run_env(
        &["doctor", "--config", path_str(&cfg)],
        &[("RO_SECRET", SECRET_VALUE)],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains(&format!(
            "graph credential: client secret from RO_SECRET (app {READ_ONLY_APP})"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("token: ok; application permissions: Policy.Read.All"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("missing for administratorPasswordReset (Graph authorizationPolicy): Policy.ReadWrite.Authorization"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Some checks failed (above)."),
        "{}",
        run.stdout
    );
    assert_no_leak(&run, &[SECRET_VALUE]);
}

// 8. Portal without a delegated token ----------------------------------------

const PORTAL_NONE: &str = "{ graph: { method: clientSecret, clientId: e5e5e5e5-0000-4000-8000-00000000c0de, secretEnv: LOCAL_SECRET }, portal: { method: refreshToken, env: NOPE } }";
const SSPR_ALL: &str = "      selfServicePasswordReset:\n        enabledFor: all\n";

#[test]
fn portal_without_a_delegated_token_is_unknown_and_graph_is_still_planned() {
    let env = Env::new();
    let envs = [("LOCAL_SECRET", LOCAL_CLIENT_SECRET)];
    // Graph setting already as desired: the only news is the unknown portal.
    let cfg = env.config(
        "c.yaml",
        &yaml(
            PORTAL_NONE,
            &format!("{SSPR_ALL}      administratorPasswordReset:\n        enabled: true\n"),
        ),
    );
    env.clear_requests();
    let run = env.run_env(
        &["plan", "--config", path_str(&cfg), "--detailed-exitcode"],
        &envs,
    );
    assert_eq!(run.code, 3, "{}", run.transcript());
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("? portal PasswordResetPolicies"))
        .unwrap_or_else(|| panic!("no unknown line:\n{}", run.stdout));
    assert!(line.contains("managed setting"), "{line}");
    assert!(
        line.contains("the portal API accepts only a delegated administrator sign-in"),
        "{line}"
    );
    assert!(
        line.contains("set NOPE to an administrator's refresh token"),
        "{line}"
    );
    assert!(
        !run.stdout.contains("? Graph"),
        "Graph was read:\n{}",
        run.stdout
    );
    assert_no_leak(&run, &[LOCAL_CLIENT_SECRET]);
    let log = env.requests();
    assert!(
        matching(&log, "/api/PasswordReset").is_empty(),
        "no portal call without a token: {log:#?}"
    );
    assert_eq!(batch_apps(&log), vec![LOCAL_CLIENT_ID.to_string()]);

    // A Graph change alongside: planned, and it decides the exit code.
    let cfg = env.config(
        "c.yaml",
        &yaml(PORTAL_NONE, &format!("{SSPR_ALL}{ADMIN_RESET_OFF}")),
    );
    let run = env.run_env(
        &["plan", "--config", path_str(&cfg), "--detailed-exitcode"],
        &envs,
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stdout.contains(ADMIN_RESET_CHANGE), "{}", run.stdout);
    assert!(
        run.stdout.contains("? portal PasswordResetPolicies"),
        "{}",
        run.stdout
    );
    let plain = env.run_env(&["plan", "--config", path_str(&cfg)], &envs);
    assert_eq!(
        plain.code,
        3,
        "unknown without --detailed-exitcode: {}",
        plain.transcript()
    );
}

#[test]
fn the_portal_hint_names_the_variable_the_file_chose() {
    let env = Env::new();
    let cfg = env.config("c.yaml", &yaml(PORTAL_NONE, SSPR_ALL));
    let run = env.run_env(
        &["plan", "--config", path_str(&cfg)],
        &[("LOCAL_SECRET", LOCAL_CLIENT_SECRET)],
    );
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(run.stdout.contains("NOPE"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("SSPRCTL_PORTAL_REFRESH_TOKEN"),
        "{}",
        run.stdout
    );
}

// 9, 10. `ssprctl login`, the token store, rotation ------------------------

/// Runs `ssprctl login` against the emulator with the store in `store_dir`.
fn login(env: &Env, cfg: &Path, store_dir: &Path) -> Run {
    let run = env.run_env(
        &["login", "--config", path_str(cfg)],
        &[("SSPRCTL_CONFIG_DIR", path_str(store_dir))],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    run
}

fn stored_refresh_token(store_dir: &Path) -> String {
    let text = std::fs::read_to_string(store_dir.join("tokens.json")).expect("token store");
    let v: Value = serde_json::from_str(&text).expect("store json");
    v["portal"][CONTOSO]["refreshToken"]
        .as_str()
        .expect("stored refresh token")
        .to_string()
}

#[test]
fn login_stores_an_owner_only_token_that_signed_in_plans_use() {
    let env = Env::new();
    let store = env.dir.path().join("config");
    let cfg = env.config(
        "c.yaml",
        &yaml("{ portal: { method: signedIn } }", SSPR_ALL),
    );
    // Not signed in yet: the portal setting is unknown.
    let before = env.run_env(
        &["plan", "--config", path_str(&cfg)],
        &[("SSPRCTL_CONFIG_DIR", path_str(&store))],
    );
    assert_eq!(before.code, 3, "{}", before.transcript());
    assert!(
        before.stdout.contains("? portal PasswordResetPolicies"),
        "{}",
        before.stdout
    );

    env.clear_requests();
    let run = login(&env, &cfg, &store);
    assert!(
        run.stderr.contains("https://microsoft.com/devicelogin"),
        "the sign-in instructions are shown: {}",
        run.stderr
    );
    assert!(
        run.stdout.contains("contoso: signed in as admin@"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(owner-only)"), "{}", run.stdout);
    let log = env.requests();
    assert_eq!(
        matching(&log, "/oauth2/v2.0/devicecode").len(),
        1,
        "{log:#?}"
    );
    let polls: Vec<_> = matching(&log, "/oauth2/v2.0/token");
    assert_eq!(
        polls
            .iter()
            .map(|r| r["status"].as_u64().unwrap_or(0))
            .collect::<Vec<_>>(),
        vec![400, 200],
        "pending on the first poll, approved on the second: {log:#?}"
    );

    let file = store.join("tokens.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&store), 0o700);
    }
    let token = stored_refresh_token(&store);
    assert!(token.starts_with("emulator-rt-"), "{token}");
    assert_no_leak(&run, &[&token]);

    env.clear_requests();
    let plan = env.run_env(
        &["plan", "--config", path_str(&cfg)],
        &[("SSPRCTL_CONFIG_DIR", path_str(&store))],
    );
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(!plan.stdout.contains("unknown"), "{}", plan.stdout);
    assert_no_leak(&plan, &[&token, &stored_refresh_token(&store)]);
    let log = env.requests();
    let portal = matching(&log, "/api/PasswordReset/PasswordResetPolicies");
    assert_eq!(portal.len(), 1, "{log:#?}");
    assert_eq!(portal[0]["status"], 200);
    assert_eq!(portal[0]["app"], ssprctl_provider::clouds::PORTAL_CLIENT_ID);

    let doctor = env.run_env(
        &["doctor", "--config", path_str(&cfg)],
        &[("SSPRCTL_CONFIG_DIR", path_str(&store))],
    );
    assert!(
        doctor
            .stdout
            .contains("portal credential: signed in with `ssprctl login`"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("(Global Administrator)"),
        "{}",
        doctor.stdout
    );
}

#[test]
fn a_rotated_refresh_token_is_saved_back_to_the_store() {
    let env = Env::new();
    let store = env.dir.path().join("config");
    let cfg = env.config(
        "c.yaml",
        &yaml("{ portal: { method: signedIn } }", SSPR_ALL),
    );
    login(&env, &cfg, &store);
    let first = stored_refresh_token(&store);

    let plan = env.run_env(
        &["plan", "--config", path_str(&cfg)],
        &[("SSPRCTL_CONFIG_DIR", path_str(&store))],
    );
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let second = stored_refresh_token(&store);
    assert_ne!(first, second, "the rotated token was saved back");
    assert!(second.starts_with("emulator-rt-"), "{second}");
    assert_no_leak(&plan, &[&first, &second]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.join("tokens.json"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "still owner-only after the rewrite");
    }
    // The emulator knows the new token as one of its admin's.
    let state = env.saved_state();
    let admin_tokens = state["tenants"][CONTOSO]["admins"][0]["refreshTokens"].clone();
    assert!(
        admin_tokens
            .as_array()
            .is_some_and(|a| a.iter().any(|t| t == second.as_str())),
        "{admin_tokens}"
    );
    // And the next run starts from it.
    let again = env.run_env(
        &["plan", "--config", path_str(&cfg)],
        &[("SSPRCTL_CONFIG_DIR", path_str(&store))],
    );
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_ne!(stored_refresh_token(&store), second);
}

// 11, 12. Inline secrets, doctor --------------------------------------------

#[test]
fn an_inline_secret_is_a_validation_error_with_its_position() {
    let env = Env::new();
    let inline = "inline-secret-value-3141";
    env.config(
        "inline.yaml",
        &yaml(
            &format!("{{ graph: {{ method: clientSecret, clientId: {SECRET_APP}, clientSecret: {inline} }} }}"),
            ADMIN_RESET_OFF,
        ),
    );
    let run = env.run_env(&["validate", "--config", "inline.yaml"], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    // Line 6 of the file; the flow mapping's `clientSecret` key.
    let col = yaml(
        &format!("{{ graph: {{ method: clientSecret, clientId: {SECRET_APP}, clientSecret: {inline} }} }}"),
        ADMIN_RESET_OFF,
    )
    .lines()
    .nth(5)
    .and_then(|l| l.find("clientSecret:"))
    .map(|c| c + 1)
    .expect("column");
    let expected = format!("error: inline.yaml:6:{col}: ");
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("secrets never go in the desired-state file"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        line.starts_with(&expected),
        "expected {expected}…, got {line}"
    );
    assert!(line.contains("`clientSecret`"), "{line}");
    assert!(
        run.stderr.contains("secretEnv"),
        "the hint says what to do: {}",
        run.stderr
    );
    assert_no_leak(&run, &[inline]);
}

#[test]
fn doctor_on_a_healthy_emulator_tenant_passes() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let run = env.run_env(&["doctor", "--config", path_str(&cfg)], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("All checks passed."), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("graph credential: the emulator's built-in app registration"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("portal credential: the emulator's built-in administrator"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("missing for"), "{}", run.stdout);
    assert!(!run.stdout.contains("NOT readable"), "{}", run.stdout);
    assert_no_leak(&run, &[LOCAL_CLIENT_SECRET, LOCAL_ADMIN_REFRESH_TOKEN]);
}

/// An emulator tenant whose built-in administrator holds only `roles`.
fn admin_with_roles(roles: &[&str]) -> Env {
    Env::with_state(Some(serde_json::json!({
        "formatVersion": 1,
        "tenants": { CONTOSO: {
            "admins": [{
                "userPrincipalName": "policy-admin@contoso.onmicrosoft.com",
                "roleTemplateIds": roles,
                "refreshTokens": [LOCAL_ADMIN_REFRESH_TOKEN]
            }]
        }}
    })))
}

#[test]
fn doctor_passes_an_authentication_policy_administrator_that_apply_accepts_with_a_note() {
    let env =
        admin_with_roles(&[ssprctl_provider::permissions::AUTHENTICATION_POLICY_ADMINISTRATOR]);
    let cfg = env.example("quickstart.yaml");
    let doctor = env.run_env(&["doctor", "--config", path_str(&cfg)], &[]);
    assert_eq!(doctor.code, 0, "{}", doctor.transcript());
    assert!(
        doctor.stdout.contains("All checks passed."),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor
            .stdout
            .contains("(Authentication Policy Administrator)\n    note: apply accepts this role, but whether it suffices for the portal API is unconfirmed"),
        "{}",
        doctor.stdout
    );
    let apply = env.run_env(
        &["apply", "--config", path_str(&cfg), "--auto-approve"],
        &[],
    );
    assert_eq!(
        apply.code,
        0,
        "the same sign-in applies: {}",
        apply.transcript()
    );

    let other = admin_with_roles(&["f2ef992c-3afb-46b9-b7cf-a126ee74c451"]);
    let cfg = other.example("quickstart.yaml");
    let doctor = other.run_env(&["doctor", "--config", path_str(&cfg)], &[]);
    assert_eq!(doctor.code, 1, "{}", doctor.transcript());
    assert!(
        doctor.stdout.contains("who holds none of the roles the portal API is expected to accept (Global Administrator, Authentication Policy Administrator)"),
        "{}",
        doctor.stdout
    );
}
