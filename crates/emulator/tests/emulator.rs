//! Integration tests: a real emulator on 127.0.0.1:0 with a temporary state
//! file, driven over HTTP with reqwest. One binary for the whole crate.
//!
//! Sections: tokens; portal SSPR API; Graph policies; directory settings;
//! groups and directory reads; `$batch`; persistence and the request log;
//! application permissions; certificate and federated assertions, the fake
//! GitHub OIDC service and managed identity; device code and token
//! lifetime; throttling; fault injection; the registration report.
//!
//! `tests/fixtures/` holds a test-only RSA key pair and certificate (see its
//! README) for the certificate-assertion tests.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use ssprctl_emulator::{
    Handle, LOCAL_ADMIN_REFRESH_TOKEN, LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, Options,
    PORTAL_AUDIENCE,
};

const TENANT: &str = "11111111-2222-4333-8444-555555555555";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const SSPR_PILOT: &str = "b6cdb9c3-d660-4558-bcfd-82c14a986b56";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

#[path = "emulator/versions.rs"]
mod versions;

struct Emu {
    handle: Handle,
    client: Client,
    state_file: PathBuf,
    _dir: tempfile::TempDir,
}

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("reqwest client builds")
}

async fn start_with(dir: tempfile::TempDir, auto_create: bool) -> Emu {
    let state_file = dir.path().join("state.json");
    let handle = ssprctl_emulator::spawn(Options {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        state_file: Some(state_file.clone()),
        auto_create_tenants: auto_create,
    })
    .await
    .expect("emulator starts");
    Emu {
        handle,
        client: client(),
        state_file,
        _dir: dir,
    }
}

async fn start() -> Emu {
    start_with(tempfile::tempdir().expect("temp dir"), true).await
}

impl Emu {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    async fn token_raw(&self, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/token")))
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = resp.status();
        (status, resp.json().await.expect("token response is JSON"))
    }

    async fn app_token(&self) -> String {
        let (status, body) = self
            .token_raw(
                TENANT,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", LOCAL_CLIENT_ID),
                    ("client_secret", LOCAL_CLIENT_SECRET),
                    ("scope", GRAPH_SCOPE),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    async fn admin_token(&self, scope: &str) -> String {
        let (status, body) = self
            .token_raw(
                TENANT,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", "1950a258-227b-4e31-a9cf-717495945fc2"),
                    ("refresh_token", LOCAL_ADMIN_REFRESH_TOKEN),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    async fn portal_token(&self) -> String {
        self.admin_token(&format!("{PORTAL_AUDIENCE}/.default offline_access"))
            .await
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, value)
    }
}

fn claims(token: &str) -> Value {
    let middle = token.split('.').nth(1).expect("three segments");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(middle).expect("base64url"))
        .expect("claims JSON")
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

fn assert_graph_error(body: &Value, code: &str, message_part: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains(message_part),
        "{message:?} should contain {message_part:?}"
    );
    let inner = &body["error"]["innerError"];
    assert!(is_guid(inner["request-id"].as_str().expect("request-id")));
    assert!(
        inner["date"]
            .as_str()
            .is_some_and(|d| d.len() == 19 && d.contains('T'))
    );
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

#[tokio::test]
async fn client_credentials_grant_issues_an_app_token_with_the_apps_roles() {
    let emu = start().await;
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", LOCAL_CLIENT_ID),
                ("client_secret", LOCAL_CLIENT_SECRET),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body.get("refresh_token").is_none());
    let c = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(c["tid"], TENANT);
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["appid"], LOCAL_CLIENT_ID);
    assert_eq!(c["idtyp"], "app");
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        3599
    );
    let roles: Vec<&str> = c["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(roles.len(), 9);
    for r in [
        "Policy.ReadWrite.Authorization",
        "Policy.ReadWrite.AuthenticationMethod",
        "Directory.ReadWrite.All",
        "AuditLog.Read.All",
    ] {
        assert!(roles.contains(&r), "missing {r}");
    }
    // The portal GUID scope gives the GUID audience.
    let (_, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", LOCAL_CLIENT_ID),
                ("client_secret", LOCAL_CLIENT_SECRET),
                ("scope", &format!("{PORTAL_AUDIENCE}/.default")),
            ],
        )
        .await;
    assert_eq!(
        claims(body["access_token"].as_str().expect("token"))["aud"],
        PORTAL_AUDIENCE
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client_7000215() {
    let emu = start().await;
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", LOCAL_CLIENT_ID),
                ("client_secret", "wrong"),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    let description = body["error_description"].as_str().expect("description");
    assert!(
        description.starts_with("AADSTS7000215: Invalid client secret provided."),
        "{description}"
    );
    assert!(is_guid(body["trace_id"].as_str().expect("trace_id")));
    assert!(is_guid(
        body["correlation_id"].as_str().expect("correlation_id")
    ));
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));

    // Unknown app, missing scope suffix and unsupported grant are refused too.
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "nope"),
                ("client_secret", "x"),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"], json!([700016]));
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", LOCAL_CLIENT_ID),
                ("client_secret", LOCAL_CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/Policy.Read.All"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
    let (status, body) = emu.token_raw(TENANT, &[("grant_type", "password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn unknown_tenant_is_aadsts90002_when_auto_creation_is_off() {
    let emu = start_with(tempfile::tempdir().expect("temp dir"), false).await;
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", LOCAL_CLIENT_ID),
                ("client_secret", LOCAL_CLIENT_SECRET),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"], json!([90002]));
    assert!(
        body["error_description"]
            .as_str()
            .expect("text")
            .contains(&format!("Tenant '{TENANT}' not found"))
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn refresh_grant_rotates_the_refresh_token_and_keeps_the_old_one_valid() {
    let emu = start().await;
    let form = |rt: &str| {
        vec![
            ("grant_type", "refresh_token".to_string()),
            (
                "client_id",
                "1950a258-227b-4e31-a9cf-717495945fc2".to_string(),
            ),
            ("refresh_token", rt.to_string()),
            (
                "scope",
                format!("{PORTAL_AUDIENCE}/.default offline_access"),
            ),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let fields: Vec<(&str, String)> = f;
        let client = emu.client.clone();
        let url = emu.url(&format!("/{TENANT}/oauth2/v2.0/token"));
        async move {
            let r = client
                .post(url)
                .form(&fields)
                .send()
                .await
                .expect("token request");
            let status = r.status();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let (status, first) = post(form(LOCAL_ADMIN_REFRESH_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let new_rt = first["refresh_token"]
        .as_str()
        .expect("rotated refresh token")
        .to_string();
    assert_ne!(new_rt, LOCAL_ADMIN_REFRESH_TOKEN);
    let c = claims(first["access_token"].as_str().expect("token"));
    assert_eq!(c["aud"], PORTAL_AUDIENCE);
    assert_eq!(c["idtyp"], "user");
    assert_eq!(c["scp"], "user_impersonation");
    assert_eq!(c["wids"], json!([GLOBAL_ADMIN]));
    assert!(
        c["upn"]
            .as_str()
            .is_some_and(|u| u.starts_with("admin@") && u.ends_with(".onmicrosoft.com"))
    );

    let (status, second) = post(form(&new_rt)).await;
    assert_eq!(status, StatusCode::OK, "the rotated token works");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (status, _) = post(form(LOCAL_ADMIN_REFRESH_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "the old token stays valid");
    let (status, bad) = post(form("not-a-token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"], "invalid_grant");

    emu.handle.flush().await.expect("state saved");
    let saved = std::fs::read_to_string(&emu.state_file).expect("state file written");
    assert!(saved.contains(&new_rt), "rotation is persisted");

    // Issued tokens are bounded per admin: after eight more, the first
    // issued one is gone; the well-known token stays.
    for _ in 0..8 {
        let (status, _) = post(form(LOCAL_ADMIN_REFRESH_TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, gone) = post(form(&new_rt)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{gone}");
    assert_eq!(gone["error"], "invalid_grant");
    let Emu {
        handle, state_file, ..
    } = emu;
    handle.close().await.expect("closed and saved");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).expect("state file"))
            .expect("JSON");
    let tokens = saved["tenants"][TENANT]["admins"][0]["refreshTokens"]
        .as_array()
        .expect("tokens")
        .clone();
    assert_eq!(tokens.len(), 1 + 8, "{tokens:?}");
    assert_eq!(tokens[0], LOCAL_ADMIN_REFRESH_TOKEN);
}

#[tokio::test]
async fn a_state_file_in_use_is_refused_and_free_again_after_close() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let options = || Options {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        state_file: Some(path.clone()),
        auto_create_tenants: true,
    };
    let first = ssprctl_emulator::spawn(options()).await.expect("starts");
    let emu = Emu {
        handle: first,
        client: client(),
        state_file: path.clone(),
        _dir: tempfile::tempdir().expect("temp dir"),
    };
    let t = emu.app_token().await;
    let (status, _) = emu
        .call(
            "PATCH",
            "/v1.0/policies/authorizationPolicy",
            Some(&t),
            Some(json!({"allowedToUseSSPR": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let err = ssprctl_emulator::spawn(options())
        .await
        .expect_err("a second emulator on the same file is refused");
    let message = err.to_string();
    assert!(
        matches!(err, ssprctl_emulator::Error::StateLocked { .. }),
        "{err:?}"
    );
    assert!(
        message.contains(&format!("in use by process {}", std::process::id())),
        "names the holder: {message}"
    );

    // Closing saves the last write (made well within the write interval)
    // and frees the file; the next emulator sees the write.
    emu.handle.close().await.expect("closed and saved");
    let again = ssprctl_emulator::spawn(options())
        .await
        .expect("free again");
    let emu = Emu {
        handle: again,
        client: client(),
        state_file: path.clone(),
        _dir: tempfile::tempdir().expect("temp dir"),
    };
    let t = emu.app_token().await;
    let (_, policy) = emu
        .call("GET", "/v1.0/policies/authorizationPolicy", Some(&t), None)
        .await;
    assert_eq!(policy["allowedToUseSSPR"], false);
    emu.handle.close().await.expect("closed");
}

#[tokio::test]
async fn an_in_memory_emulator_writes_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let handle = ssprctl_emulator::spawn(Options {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        state_file: None,
        auto_create_tenants: true,
    })
    .await
    .expect("starts");
    let emu = Emu {
        handle,
        client: client(),
        state_file: dir.path().join("unused.json"),
        _dir: tempfile::tempdir().expect("temp dir"),
    };
    let t = emu.app_token().await;
    let (status, _) = emu
        .call(
            "PATCH",
            "/v1.0/policies/authorizationPolicy",
            Some(&t),
            Some(json!({"allowedToUseSSPR": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(emu.handle.state_file().is_none());
    emu.handle.close().await.expect("nothing to save");
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .collect();
    assert!(files.is_empty(), "{files:?}");
}

// ---------------------------------------------------------------------------
// Portal SSPR API
// ---------------------------------------------------------------------------

const PORTAL: &str = "/api/PasswordReset/PasswordResetPolicies";
const ONPREM: &str = "/api/PasswordReset/OnPremisesPasswordResetPolicies";

#[tokio::test]
async fn portal_refuses_app_tokens_and_graph_refuses_portal_tokens() {
    let emu = start().await;
    let app_portal = {
        let (_, body) = emu
            .token_raw(
                TENANT,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", LOCAL_CLIENT_ID),
                    ("client_secret", LOCAL_CLIENT_SECRET),
                    ("scope", &format!("{PORTAL_AUDIENCE}/.default")),
                ],
            )
            .await;
        body["access_token"].as_str().expect("token").to_string()
    };
    let (status, body) = emu.call("GET", PORTAL, Some(&app_portal), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(&body, "InvalidAuthenticationToken", "service principals");

    let graph_user = emu.admin_token(GRAPH_SCOPE).await;
    let (status, body) = emu.call("GET", PORTAL, Some(&graph_user), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(&body, "InvalidAuthenticationToken", "Invalid audience");

    let portal = emu.portal_token().await;
    let (status, body) = emu
        .call(
            "GET",
            "/v1.0/policies/authorizationPolicy",
            Some(&portal),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(&body, "InvalidAuthenticationToken", "Invalid audience");

    let (status, body) = emu
        .call("GET", "/v1.0/policies/authorizationPolicy", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(
        &body,
        "InvalidAuthenticationToken",
        "Access token is empty.",
    );
    let (status, body) = emu
        .call(
            "GET",
            "/v1.0/policies/authorizationPolicy",
            Some("garbage"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(
        &body,
        "InvalidAuthenticationToken",
        "JWT is not well formed",
    );

    // A user token for Graph works on Graph.
    let (status, _) = emu
        .call(
            "GET",
            "/v1.0/policies/authorizationPolicy",
            Some(&graph_user),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn portal_policy_get_put_roundtrip_with_group_name_resolution() {
    let emu = start().await;
    let t = emu.portal_token().await;
    let (status, fresh) = emu.call("GET", PORTAL, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fresh["objectId"], "default");
    assert_eq!(fresh["enablementType"], 0);
    assert_eq!(fresh["numberOfAuthenticationMethodsRequired"], 1);
    assert_eq!(fresh["emailOptionEnabled"], true);
    assert_eq!(fresh["mobilePhoneOptionEnabled"], true);
    assert_eq!(fresh["officePhoneOptionEnabled"], false);
    assert_eq!(fresh["numberOfQuestionsToRegister"], 5);
    assert_eq!(fresh["numberOfQuestionsToReset"], 3);
    assert_eq!(fresh["registrationReconfirmIntevalInDays"], 180);
    assert_eq!(fresh["skipRegistrationMaxAllowedDays"], 7);
    assert_eq!(fresh["mobileAppCodeOptionAllowed"], true);
    assert_eq!(fresh["passwordResetEnabledGroupName"], "");

    let mut desired = fresh.clone();
    desired["enablementType"] = json!(1);
    desired["passwordResetEnabledGroupIds"] = json!([SSPR_PILOT]);
    desired["numberOfAuthenticationMethodsRequired"] = json!(2);
    desired["mobileAppCodeEnabled"] = json!(true);
    desired["registrationReconfirmIntevalInDays"] = json!(90);
    desired["customizeHelpdeskLink"] = json!(true);
    desired["customHelpdeskEmailOrUrl"] = json!("https://help.example.com");
    // Server-computed flags are ignored on PUT.
    desired["emailOptionAllowed"] = json!(false);
    let (status, stored) = emu.call("PUT", PORTAL, Some(&t), Some(desired)).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["enablementType"], 1);
    assert_eq!(stored["registrationReconfirmIntevalInDays"], 90);
    assert_eq!(stored["emailOptionAllowed"], true);

    let (_, plain) = emu.call("GET", PORTAL, Some(&t), None).await;
    assert_eq!(plain["passwordResetEnabledGroupIds"], json!([SSPR_PILOT]));
    assert_eq!(plain["passwordResetEnabledGroupName"], "");
    assert_eq!(
        plain["customHelpdeskEmailOrUrl"],
        "https://help.example.com"
    );
    let (_, named) = emu
        .call(
            "GET",
            &format!("{PORTAL}?getPasswordResetEnabledGroup=true"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(named["passwordResetEnabledGroupName"], "SSPR Pilot");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn portal_put_rejects_each_invalid_policy_and_stores_nothing() {
    let emu = start().await;
    let t = emu.portal_token().await;
    let (_, fresh) = emu.call("GET", PORTAL, Some(&t), None).await;
    type Mutation = fn(&mut Value);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "missing field",
            |v| {
                v.as_object_mut()
                    .expect("object")
                    .remove("notifyUsersOnPasswordReset");
            },
            "notifyUsersOnPasswordReset",
        ),
        (
            "wrong type",
            |v| v["emailOptionEnabled"] = json!("yes"),
            "emailOptionEnabled",
        ),
        ("objectId", |v| v["objectId"] = json!("other"), "objectId"),
        (
            "enablementType",
            |v| v["enablementType"] = json!(3),
            "enablementType",
        ),
        (
            "methods required",
            |v| v["numberOfAuthenticationMethodsRequired"] = json!(3),
            "numberOfAuthenticationMethodsRequired",
        ),
        (
            "selected without group",
            |v| v["enablementType"] = json!(1),
            "exactly one group",
        ),
        (
            "selected with two groups",
            |v| {
                v["enablementType"] = json!(1);
                v["passwordResetEnabledGroupIds"] =
                    json!([SSPR_PILOT, "3ee3a9de-0a86-4e12-a287-9769accf1ba2"]);
            },
            "exactly one group",
        ),
        (
            "selected with unknown group",
            |v| {
                v["enablementType"] = json!(1);
                v["passwordResetEnabledGroupIds"] = json!(["00000000-1111-4222-8333-444444444444"]);
            },
            "does not exist",
        ),
        (
            "too few methods",
            |v| {
                v["numberOfAuthenticationMethodsRequired"] = json!(2);
                v["mobilePhoneOptionEnabled"] = json!(false);
            },
            "only 1 are enabled",
        ),
        (
            "questions to register",
            |v| v["numberOfQuestionsToRegister"] = json!(6),
            "numberOfQuestionsToRegister",
        ),
        (
            "questions to reset",
            |v| v["numberOfQuestionsToReset"] = json!(2),
            "numberOfQuestionsToReset",
        ),
        (
            "reset above register",
            |v| {
                v["numberOfQuestionsToRegister"] = json!(3);
                v["numberOfQuestionsToReset"] = json!(4);
            },
            "cannot exceed",
        ),
        (
            "reconfirm days",
            |v| v["registrationReconfirmIntevalInDays"] = json!(731),
            "registrationReconfirmIntevalInDays",
        ),
        (
            "helpdesk link without contact",
            |v| v["customizeHelpdeskLink"] = json!(true),
            "customHelpdeskEmailOrUrl",
        ),
    ];
    for (name, mutate, expected) in cases {
        let mut body = fresh.clone();
        mutate(&mut body);
        let (status, err) = emu.call("PUT", PORTAL, Some(&t), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "case {name}: {err}");
        let message = err["error"]["message"].as_str().expect("message");
        assert!(message.contains(expected), "case {name}: {message}");
    }
    // Security questions count as a method.
    let mut body = fresh.clone();
    body["numberOfAuthenticationMethodsRequired"] = json!(2);
    body["mobilePhoneOptionEnabled"] = json!(false);
    body["securityQuestionsOptionEnabled"] = json!(true);
    let (status, _) = emu.call("PUT", PORTAL, Some(&t), Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = emu.call("GET", PORTAL, Some(&t), None).await;
    assert_eq!(after["securityQuestionsOptionEnabled"], true);
    assert_eq!(after["enablementType"], 0, "no rejected PUT was stored");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn onprem_put_is_partial_and_binds_keys_case_insensitively() {
    let emu = start().await;
    let t = emu.portal_token().await;
    let (status, fresh) = emu.call("GET", ONPREM, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fresh["passwordWritebackSupported"], false);
    assert_eq!(fresh["accountUnlockSupported"], true);
    assert_eq!(fresh["accountUnlockEnabled"], false);
    assert_eq!(fresh["enablementForTenant"], false);

    let (status, stored) = emu
        .call(
            "PUT",
            ONPREM,
            Some(&t),
            Some(json!({"passwordWriteBackSupported": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["passwordWritebackSupported"], true);
    assert_eq!(stored["accountUnlockEnabled"], false);
    let (_, stored) = emu
        .call(
            "PUT",
            ONPREM,
            Some(&t),
            Some(json!({"accountUnlockEnabled": true, "accountUnlockSupported": false})),
        )
        .await;
    assert_eq!(stored["accountUnlockEnabled"], true);
    assert_eq!(
        stored["accountUnlockSupported"], true,
        "read-only flag is ignored"
    );
    assert_eq!(
        stored["passwordWritebackSupported"], true,
        "earlier write kept"
    );
    let (status, _) = emu
        .call(
            "PUT",
            ONPREM,
            Some(&t),
            Some(json!({"accountUnlockEnabled": "yes"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Graph policies
// ---------------------------------------------------------------------------

#[tokio::test]
async fn authorization_policy_patch_is_partial_and_strict() {
    let emu = start().await;
    let t = emu.app_token().await;
    const P: &str = "/v1.0/policies/authorizationPolicy";
    let (status, fresh) = emu.call("GET", P, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        fresh["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity"
    );
    assert_eq!(fresh["allowedToUseSSPR"], true);
    assert_eq!(fresh["allowInvitesFrom"], "everyone");

    let (status, body) = emu
        .call(
            "PATCH",
            P,
            Some(&t),
            Some(json!({"allowedToUseSSPR": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    let (_, after) = emu.call("GET", P, Some(&t), None).await;
    assert_eq!(after["allowedToUseSSPR"], false);
    assert_eq!(after["allowInvitesFrom"], "everyone");
    assert_eq!(
        after["defaultUserRolePermissions"],
        fresh["defaultUserRolePermissions"]
    );

    let (status, body) = emu
        .call(
            "PATCH",
            P,
            Some(&t),
            Some(json!({"allowedToUseSspr": false})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, "Request_BadRequest", "allowedToUseSspr");
    let (status, body) = emu
        .call("PATCH", P, Some(&t), Some(json!({"id": "x"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, "Request_BadRequest", "read-only");
    let (status, body) = emu
        .call(
            "PATCH",
            P,
            Some(&t),
            Some(json!({"allowInvitesFrom": "nobody"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, "Request_BadRequest", "allowInvitesFrom");
    let (status, _) = emu
        .call(
            "PATCH",
            P,
            Some(&t),
            Some(json!({"defaultUserRolePermissions": {"allowedToCreateApps": false}})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = emu.call("GET", P, Some(&t), None).await;
    assert_eq!(
        after["defaultUserRolePermissions"]["allowedToCreateApps"],
        false
    );
    assert_eq!(
        after["defaultUserRolePermissions"]["allowedToReadOtherUsers"], true,
        "nested merge"
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn methods_policy_get_expands_configurations_and_patch_validates() {
    let emu = start().await;
    let t = emu.app_token().await;
    const P: &str = "/v1.0/policies/authenticationMethodsPolicy";
    let (status, policy) = emu.call("GET", P, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy["policyMigrationState"], "preMigration");
    assert_eq!(
        policy["authenticationMethodConfigurations@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
    );
    let ids: Vec<&str> = policy["authenticationMethodConfigurations"]
        .as_array()
        .expect("configs")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "Fido2",
            "MicrosoftAuthenticator",
            "Sms",
            "TemporaryAccessPass",
            "HardwareOath",
            "SoftwareOath",
            "Voice",
            "Email",
            "X509Certificate"
        ]
    );
    let email = &policy["authenticationMethodConfigurations"][7];
    assert_eq!(
        email["@odata.type"],
        "#microsoft.graph.emailAuthenticationMethodConfiguration"
    );
    assert!(
        email["includeTargets@odata.context"]
            .as_str()
            .is_some_and(|c| c.contains("('Email')"))
    );

    let (status, updated) = emu
        .call(
            "PATCH",
            P,
            Some(&t),
            Some(json!({
                "policyMigrationState": "migrationComplete",
                "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": 3, "state": "enabled"}}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["policyMigrationState"], "migrationComplete");
    let campaign = &updated["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"];
    assert_eq!(campaign["snoozeDurationInDays"], 3);
    assert_eq!(campaign["state"], "enabled");
    assert_eq!(
        campaign["includeTargets"][0]["id"], "all_users",
        "merge keeps omitted properties"
    );
    assert_ne!(
        updated["lastModifiedDateTime"],
        policy["lastModifiedDateTime"]
    );

    let bad = [
        json!({"policyMigrationState": "premigration"}),
        json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": 15}}}),
        json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"state": "on"}}}),
        json!({"policyVersion": "2.0"}),
    ];
    for body in bad {
        let (status, err) = emu.call("PATCH", P, Some(&t), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {err}");
    }
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn method_configuration_patch_requires_odata_type_and_bumps_the_policy() {
    let emu = start().await;
    let t = emu.app_token().await;
    const BASE: &str = "/v1.0/policies/authenticationMethodsPolicy";
    let email = format!("{BASE}/authenticationMethodConfigurations/email");
    let (status, before) = emu.call("GET", &email, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK, "ids are case-insensitive");
    assert_eq!(before["id"], "Email");
    assert_eq!(before["state"], "enabled");
    assert_eq!(before["includeTargets"], json!([]));
    assert!(before["includeTargets@odata.context"].is_string());

    let (status, err) = emu
        .call("PATCH", &email, Some(&t), Some(json!({"state": "enabled"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(
        &err,
        "BadRequest",
        "#microsoft.graph.emailAuthenticationMethodConfiguration",
    );
    let (status, err) = emu
        .call("PATCH", &email, Some(&t), Some(json!({"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "enabled"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&err, "BadRequest", "does not match");

    let (_, policy_before) = emu.call("GET", BASE, Some(&t), None).await;
    let (status, body) = emu
        .call(
            "PATCH",
            &email,
            Some(&t),
            Some(json!({
                "@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration",
                "state": "disabled",
                "includeTargets": [{"targetType": "group", "id": SSPR_PILOT}]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, after) = emu.call("GET", &email, Some(&t), None).await;
    assert_eq!(after["state"], "disabled");
    assert_eq!(
        after["includeTargets"],
        json!([{"targetType": "group", "id": SSPR_PILOT, "isRegistrationRequired": false}])
    );
    let (_, policy_after) = emu.call("GET", BASE, Some(&t), None).await;
    assert_ne!(
        policy_after["lastModifiedDateTime"],
        policy_before["lastModifiedDateTime"]
    );

    let tap = format!("{BASE}/authenticationMethodConfigurations/TemporaryAccessPass");
    let tap_type = "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration";
    for (body, expected) in [
        (
            json!({"@odata.type": tap_type, "defaultLength": 7}),
            "defaultLength",
        ),
        (
            json!({"@odata.type": tap_type, "maximumLifetimeInMinutes": 43201}),
            "maximumLifetimeInMinutes",
        ),
        (
            json!({"@odata.type": tap_type, "defaultLifetimeInMinutes": 600}),
            "defaultLifetimeInMinutes",
        ),
        (json!({"@odata.type": tap_type, "state": "on"}), "state"),
        (json!({"@odata.type": tap_type, "bogus": 1}), "bogus"),
    ] {
        let (status, err) = emu.call("PATCH", &tap, Some(&t), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_graph_error(&err, "BadRequest", expected);
    }
    let (status, _) = emu
        .call("PATCH", &tap, Some(&t), Some(json!({"@odata.type": tap_type, "defaultLength": 12, "maximumLifetimeInMinutes": 720})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, tap_after) = emu.call("GET", &tap, Some(&t), None).await;
    assert_eq!(tap_after["defaultLength"], 12);
    assert_eq!(tap_after["maximumLifetimeInMinutes"], 720);

    let (status, err) = emu
        .call(
            "GET",
            &format!("{BASE}/authenticationMethodConfigurations/Nope"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Nope"))
    );
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Directory settings
// ---------------------------------------------------------------------------

const TEMPLATE: &str = "5cf42378-d67d-4f36-ba46-e8b86229381d";

fn password_rule_values(mode: &str) -> Value {
    json!([
        {"name": "LockoutThreshold", "value": "10"},
        {"name": "LockoutDurationInSeconds", "value": "60"},
        {"name": "EnableBannedPasswordCheck", "value": "True"},
        {"name": "BannedPasswordList", "value": "contoso\tfabrikam"},
        {"name": "EnableBannedPasswordCheckOnPremises", "value": "True"},
        {"name": "BannedPasswordCheckOnPremisesMode", "value": mode}
    ])
}

#[tokio::test]
async fn group_settings_create_requires_every_value_and_is_unique_per_template() {
    let emu = start().await;
    let t = emu.app_token().await;
    let (status, templates) = emu
        .call("GET", "/v1.0/groupSettingTemplates", Some(&t), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let template = &templates["value"][0];
    assert_eq!(template["id"], TEMPLATE);
    assert_eq!(template["displayName"], "Password Rule Settings");
    let names: Vec<&str> = template["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(names.len(), 6);
    assert_eq!(template["values"][0]["defaultValue"], "10");
    let (status, single) = emu
        .call(
            "GET",
            &format!("/v1.0/groupSettingTemplates/{TEMPLATE}"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(single["values"], template["values"]);

    let (_, list) = emu.call("GET", "/v1.0/groupSettings", Some(&t), None).await;
    assert_eq!(
        list["value"],
        json!([]),
        "fresh tenant has no setting object"
    );

    let mut partial = password_rule_values("Enforce");
    partial.as_array_mut().expect("array").pop();
    let (status, err) = emu
        .call(
            "POST",
            "/v1.0/groupSettings",
            Some(&t),
            Some(json!({"templateId": TEMPLATE, "values": partial})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(
        &err,
        "Request_BadRequest",
        &format!(
            "The expected property 'BannedPasswordCheckOnPremisesMode' defined in template with SettingTemplateId '{TEMPLATE}' was not provided"
        ),
    );

    let (status, created) = emu
        .call(
            "POST",
            "/v1.0/groupSettings",
            Some(&t),
            Some(json!({"templateId": TEMPLATE, "values": password_rule_values("Enforce")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(is_guid(&id));
    assert_eq!(created["templateId"], TEMPLATE);
    assert_eq!(
        created["values"][5],
        json!({"name": "BannedPasswordCheckOnPremisesMode", "value": "Enforce"})
    );

    let (status, err) = emu
        .call(
            "POST",
            "/v1.0/groupSettings",
            Some(&t),
            Some(json!({"templateId": TEMPLATE, "values": password_rule_values("Audit")})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(
        &err,
        "Request_BadRequest",
        "Another object with the same value for property templateId already exists.",
    );

    // PATCH needs the full set too.
    let setting = format!("/v1.0/groupSettings/{id}");
    let (status, err) = emu
        .call(
            "PATCH",
            &setting,
            Some(&t),
            Some(json!({"values": [{"name": "LockoutThreshold", "value": "5"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&err, "Request_BadRequest", "was not provided");
    let mut full = password_rule_values("Audit");
    full[0]["value"] = json!("5");
    let (status, body) = emu
        .call("PATCH", &setting, Some(&t), Some(json!({"values": full})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, got) = emu.call("GET", &setting, Some(&t), None).await;
    assert_eq!(got["values"][0]["value"], "5");
    assert_eq!(got["values"][5]["value"], "Audit");

    for (index, value, expected) in [
        (0, "ten", "LockoutThreshold"),
        (2, "yes", "EnableBannedPasswordCheck"),
        (3, "abc\tfabrikam", "between 4 and 16"),
        (3, "averyveryverylongterm", "between 4 and 16"),
        (5, "Enforced", "Audit or Enforce"),
    ] {
        let mut values = password_rule_values("Audit");
        values[index]["value"] = json!(value);
        let (status, err) = emu
            .call("PATCH", &setting, Some(&t), Some(json!({"values": values})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
        assert_graph_error(&err, "Request_BadRequest", expected);
    }
    let too_many: Vec<String> = (0..1001).map(|i| format!("term{i:04}")).collect();
    let mut values = password_rule_values("Audit");
    values[3]["value"] = json!(too_many.join("\t"));
    let (status, _) = emu
        .call("PATCH", &setting, Some(&t), Some(json!({"values": values})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = emu.call("DELETE", &setting, Some(&t), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = emu.call("GET", &setting, Some(&t), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_graph_error(&err, "Request_ResourceNotFound", &id);
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Groups, organization, licences
// ---------------------------------------------------------------------------

#[tokio::test]
async fn group_filter_finds_zero_one_or_two_matches() {
    let emu = start().await;
    let t = emu.app_token().await;
    let groups = |filter: &str, select: Option<&str>| {
        let mut query = vec![("$filter", filter.to_string())];
        if let Some(s) = select {
            query.push(("$select", s.to_string()));
        }
        let client = emu.client.clone();
        let url = emu.url("/v1.0/groups");
        let token = t.clone();
        async move {
            let r = client
                .get(url)
                .query(&query)
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            let status = r.status();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let (status, one) = groups(
        "displayName eq 'SSPR Pilot'",
        Some("id,displayName,securityEnabled"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        one["value"],
        json!([{"id": SSPR_PILOT, "displayName": "SSPR Pilot", "securityEnabled": true}])
    );
    assert_eq!(
        one["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#groups(id,displayName,securityEnabled)"
    );

    let (_, two) = groups("displayName eq 'Duplicate Name'", None).await;
    assert_eq!(two["value"].as_array().expect("array").len(), 2);
    let (_, none) = groups("displayName eq 'O''Brien''s team'", None).await;
    assert_eq!(none["value"], json!([]));
    let (_, m365) = groups("displayName eq 'Marketing Team'", None).await;
    assert_eq!(m365["value"][0]["groupTypes"], json!(["Unified"]));
    assert_eq!(m365["value"][0]["securityEnabled"], false);

    let (status, err) = groups("startswith(displayName,'SSPR')", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "Request_UnsupportedQuery");
    let (status, _) = groups("displayName eq 'SSPR Pilot'", Some("nonsense")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, g) = emu
        .call(
            "GET",
            &format!("/v1.0/groups/{SSPR_PILOT}?$select=displayName"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(g["displayName"], "SSPR Pilot");
    assert!(g.get("id").is_none());
    let (status, err) = emu
        .call(
            "GET",
            "/v1.0/groups/00000000-1111-4222-8333-444444444444",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_graph_error(
        &err,
        "Request_ResourceNotFound",
        "00000000-1111-4222-8333-444444444444",
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn organization_and_subscribed_skus_describe_a_premium_cloud_only_tenant() {
    let emu = start().await;
    let t = emu.app_token().await;
    let (status, org) = emu.call("GET", "/v1.0/organization", Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    let org = &org["value"].as_array().expect("one organization")[0];
    assert_eq!(org["id"], TENANT);
    assert!(org["displayName"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(org["onPremisesSyncEnabled"], Value::Null);
    assert_eq!(org["onPremisesLastSyncDateTime"], Value::Null);

    let (status, skus) = emu
        .call("GET", "/v1.0/subscribedSkus", Some(&t), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let sku = &skus["value"][0];
    assert_eq!(sku["capabilityStatus"], "Enabled");
    let plans = sku["servicePlans"].as_array().expect("plans");
    for (id, name) in [
        ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"),
        ("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2"),
    ] {
        let plan = plans
            .iter()
            .find(|p| p["servicePlanId"] == id)
            .expect("plan present");
        assert_eq!(plan["servicePlanName"], name);
        assert_eq!(plan["provisioningStatus"], "Success");
    }
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_graph_error_shape() {
    let emu = start().await;
    let t = emu.app_token().await;
    let (status, err) = emu.call("GET", "/v1.0/nothingHere", Some(&t), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_graph_error(&err, "NotFound", "nothingHere");
    let (status, err) = emu
        .call(
            "DELETE",
            "/v1.0/policies/authorizationPolicy",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_graph_error(&err, "Request_BadRequest", "not allowed");
    // beta serves the same resources (authorizationPolicy as a collection:
    // see versions.rs).
    let (status, policy) = emu
        .call("GET", "/beta/policies/authorizationPolicy", Some(&t), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        policy["@odata.context"]
            .as_str()
            .is_some_and(|c| c.contains("/beta/"))
    );
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// $batch
// ---------------------------------------------------------------------------

#[tokio::test]
async fn batch_runs_each_request_with_the_callers_token() {
    let emu = start().await;
    let t = emu.app_token().await;
    let (status, _) = emu.call("DELETE", "/_emulator/requests", None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = emu
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&t),
            Some(json!({"requests": [
                {"id": "1", "method": "PATCH", "url": "/policies/authorizationPolicy",
                 "headers": {"Content-Type": "application/json"}, "body": {"allowedToUseSSPR": false}},
                {"id": "2", "method": "GET", "url": "/policies/authorizationPolicy", "dependsOn": ["1"]},
                {"id": "3", "method": "GET", "url": "groups?$filter=displayName eq 'SSPR Pilot'&$select=id"}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let responses = body["responses"].as_array().expect("responses");
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0]["id"], "1");
    assert_eq!(responses[0]["status"], 204);
    assert_eq!(responses[1]["status"], 200);
    assert_eq!(responses[1]["body"]["allowedToUseSSPR"], false);
    assert!(responses[1]["headers"]["Content-Type"].is_string());
    assert_eq!(responses[2]["body"]["value"], json!([{"id": SSPR_PILOT}]));

    let (_, log) = emu.call("GET", "/_emulator/requests", None, None).await;
    let batch = log
        .as_array()
        .expect("log")
        .iter()
        .find(|e| e["path"] == "/v1.0/$batch")
        .expect("batch logged");
    assert_eq!(batch["status"], 200);
    assert_eq!(batch["tenant"], TENANT);
    let subs = batch["subRequests"].as_array().expect("subRequests");
    assert_eq!(subs.len(), 3);
    assert_eq!(subs[0]["method"], "PATCH");
    assert_eq!(subs[0]["path"], "/v1.0/policies/authorizationPolicy");
    assert_eq!(subs[0]["status"], 204);
    assert_eq!(subs[0]["tenant"], TENANT);

    let requests: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    let (status, err) = emu
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&t),
            Some(json!({"requests": requests})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&err, "BadRequest", "21");
    let (status, _) = emu
        .call("POST", "/v1.0/$batch", None, Some(json!({"requests": []})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Persistence and the request log
// ---------------------------------------------------------------------------

#[tokio::test]
async fn state_survives_a_restart_even_without_auto_creation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir_path = dir.path().to_path_buf();
    let emu = start_with(dir, true).await;
    let t = emu.app_token().await;
    let (status, _) = emu
        .call(
            "PATCH",
            "/v1.0/policies/authorizationPolicy",
            Some(&t),
            Some(json!({"allowedToUseSSPR": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, created) = emu
        .call(
            "POST",
            "/v1.0/groupSettings",
            Some(&t),
            Some(json!({"templateId": TEMPLATE, "values": password_rule_values("Enforce")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let Emu {
        handle, state_file, ..
    } = emu;
    handle.shutdown().await;

    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).expect("state file"))
            .expect("JSON");
    assert_eq!(saved["formatVersion"], 1);
    assert_eq!(
        saved["tenants"][TENANT]["authorizationPolicy"]["allowedToUseSSPR"],
        false
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir_path)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state.json" && n != "state.json.lock")
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );

    let handle = ssprctl_emulator::spawn(Options {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        state_file: Some(state_file.clone()),
        auto_create_tenants: false,
    })
    .await
    .expect("restarts");
    let emu2 = Emu {
        handle,
        client: client(),
        state_file,
        _dir: tempfile::tempdir().expect("temp dir"),
    };
    let t = emu2.app_token().await;
    let (_, policy) = emu2
        .call("GET", "/v1.0/policies/authorizationPolicy", Some(&t), None)
        .await;
    assert_eq!(policy["allowedToUseSSPR"], false);
    let (_, list) = emu2
        .call("GET", "/v1.0/groupSettings", Some(&t), None)
        .await;
    assert_eq!(list["value"][0]["id"], created["id"]);
    emu2.handle.shutdown().await;
    drop(dir_path);
}

#[tokio::test]
async fn hand_written_state_declares_tenants_apps_and_admins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let tenant = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    std::fs::write(
        &path,
        json!({"tenants": {tenant: {
            "displayName": "Fabrikam",
            "apps": [{"clientId": "reader", "clientSecret": "s3cret", "roles": ["Policy.Read.All", "Organization.Read.All"]}],
            "admins": [{"userPrincipalName": "ops@fabrikam.example", "refreshTokens": ["fab-rt"]}]
        }}})
        .to_string(),
    )
    .expect("write state");
    let handle = ssprctl_emulator::spawn(Options {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        state_file: Some(path.clone()),
        auto_create_tenants: false,
    })
    .await
    .expect("starts");
    let emu = Emu {
        handle,
        client: client(),
        state_file: path,
        _dir: dir,
    };
    let (status, body) = emu
        .token_raw(
            tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "reader"),
                ("client_secret", "s3cret"),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token").to_string();
    assert_eq!(
        claims(&token)["roles"],
        json!(["Policy.Read.All", "Organization.Read.All"])
    );
    let (_, org) = emu
        .call("GET", "/v1.0/organization", Some(&token), None)
        .await;
    assert_eq!(org["value"][0]["displayName"], "Fabrikam");
    let (status, body) = emu
        .token_raw(
            tenant,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "any"),
                ("refresh_token", "fab-rt"),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        claims(body["access_token"].as_str().expect("token"))["upn"],
        "ops@fabrikam.example"
    );
    // The local app is not in this hand-written tenant.
    let (status, _) = emu
        .token_raw(
            tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", LOCAL_CLIENT_ID),
                ("client_secret", LOCAL_CLIENT_SECRET),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn corrupt_state_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{not json").expect("write");
    let err = ssprctl_emulator::spawn(Options {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        state_file: Some(path.clone()),
        auto_create_tenants: true,
    })
    .await
    .expect_err("corrupt state is refused");
    assert!(
        matches!(err, ssprctl_emulator::Error::StateCorrupt { ref path, .. } if path.ends_with("broken.json"))
    );
    assert!(err.to_string().contains("broken.json"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn request_log_records_method_path_status_and_tenant() {
    let emu = start().await;
    let t = emu.app_token().await;
    let p = emu.portal_token().await;
    let (status, _) = emu.call("DELETE", "/_emulator/requests", None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    emu.call("GET", "/v1.0/policies/authorizationPolicy", Some(&t), None)
        .await;
    emu.call("GET", PORTAL, Some(&p), None).await;
    emu.call(
        "GET",
        "/v1.0/groups?$filter=displayName%20eq%20'x'",
        Some(&t),
        None,
    )
    .await;
    emu.call("GET", "/v1.0/policies/authorizationPolicy", None, None)
        .await;
    let (status, log) = emu.call("GET", "/_emulator/requests", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut log = log;
    let mut last_start = 0;
    for entry in log.as_array_mut().expect("log array") {
        let entry = entry.as_object_mut().expect("entry");
        let ms = entry
            .remove("latencyMs")
            .expect("every entry has latencyMs");
        assert!(ms.is_u64(), "{ms}");
        // Sequential requests: each started after the one before.
        let started = entry
            .remove("startedUs")
            .and_then(|v| v.as_u64())
            .expect("every entry has startedUs");
        assert!(started >= last_start, "{started} after {last_start}");
        last_start = started;
    }
    assert_eq!(
        log,
        json!([
            {"method": "GET", "path": "/v1.0/policies/authorizationPolicy", "status": 200, "tenant": TENANT, "app": LOCAL_CLIENT_ID},
            {"method": "GET", "path": PORTAL, "status": 200, "tenant": TENANT, "app": "1950a258-227b-4e31-a9cf-717495945fc2"},
            {"method": "GET", "path": "/v1.0/groups", "query": "$filter=displayName%20eq%20%27x%27", "status": 200, "tenant": TENANT, "app": LOCAL_CLIENT_ID},
            {"method": "GET", "path": "/v1.0/policies/authorizationPolicy", "status": 401, "tenant": null, "app": null}
        ])
    );
    emu.call("POST", &format!("/{TENANT}/oauth2/v2.0/token"), None, None)
        .await;
    let (_, log) = emu.call("GET", "/_emulator/requests", None, None).await;
    let last = log.as_array().and_then(|a| a.last()).expect("entry");
    assert_eq!(last["path"], format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(last["status"], 400);
    assert_eq!(last["tenant"], TENANT);
    emu.call("DELETE", "/_emulator/requests", None, None).await;
    let (_, log) = emu.call("GET", "/_emulator/requests", None, None).await;
    assert_eq!(log, json!([]));
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Helpers for the sections below: hand-written state, faults, assertions
// ---------------------------------------------------------------------------

/// Starts an emulator on a state file holding `state`.
async fn start_state(state: Value) -> Emu {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("state.json"), state.to_string()).expect("write state");
    start_with(dir, true).await
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("fixture exists")
}

/// The DER of a single-block PEM file.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body is base64")
}

/// base64url(SHA-256(DER)) of the fixture certificate: its `x5t#S256`.
fn fixture_thumbprint_sha256() -> String {
    let der = pem_der(&fixture("assertion-cert.pem"));
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &der))
}

/// An RS256 JWT over `header` and `claims`, signed with the PKCS#8 key `key_pem`.
fn sign_rs256(header: &Value, claims: &Value, key_pem: &str) -> String {
    let key = ring::signature::RsaKeyPair::from_pkcs8(&pem_der(key_pem))
        .expect("fixture key is PKCS#8 RSA");
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .expect("signing works");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

impl Emu {
    async fn put_faults(&self, faults: Value) {
        let (status, body) = self
            .call("PUT", "/_emulator/faults", None, Some(faults))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A client-credentials token of `client_id` with `secret` in `tenant`.
    async fn secret_token(&self, tenant: &str, client_id: &str, secret: &str) -> String {
        let (status, body) = self
            .token_raw(
                tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", GRAPH_SCOPE),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_string()
    }

    async fn assertion_token(&self, client_id: &str, assertion: &str) -> (StatusCode, Value) {
        self.token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await
    }

    async fn log(&self) -> Vec<Value> {
        let (_, log) = self.call("GET", "/_emulator/requests", None, None).await;
        log.as_array().expect("log array").clone()
    }
}

fn assert_aad_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with(&format!("AADSTS{code}: "))),
        "{body}"
    );
}

// ---------------------------------------------------------------------------
// Application permissions on Graph
// ---------------------------------------------------------------------------

#[tokio::test]
async fn graph_enforces_application_permissions_per_surface() {
    let emu = start_state(json!({"tenants": {TENANT: {
        "apps": [
            {"clientId": "policy-reader", "clientSecret": "s1", "roles": ["Policy.Read.All"]},
            {"clientId": "methods-writer", "clientSecret": "s2", "roles": ["Policy.ReadWrite.AuthenticationMethod"]},
            {"clientId": "directory-writer", "clientSecret": "s3", "roles": ["Directory.ReadWrite.All"]}
        ],
        "admins": [
            {"userPrincipalName": "ga@contoso.example", "refreshTokens": ["ga-rt"]},
            {"userPrincipalName": "helpdesk@contoso.example",
             "roleTemplateIds": ["729827e3-9c14-49f7-bb1b-9608f156bbb8"], "refreshTokens": ["hd-rt"]}
        ]
    }}}))
    .await;
    let reader = emu.secret_token(TENANT, "policy-reader", "s1").await;
    let authz = "/v1.0/policies/authorizationPolicy";
    let methods = "/v1.0/policies/authenticationMethodsPolicy";
    let denied = |status: StatusCode, body: &Value| {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_graph_error(
            body,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    };

    // Policy.Read.All reads both policies but writes neither, and reads
    // nothing of the directory.
    let (status, _) = emu.call("GET", authz, Some(&reader), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = emu.call("GET", methods, Some(&reader), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = emu
        .call(
            "PATCH",
            authz,
            Some(&reader),
            Some(json!({"allowedToUseSSPR": false})),
        )
        .await;
    denied(status, &body);
    let (status, body) = emu
        .call(
            "PATCH",
            methods,
            Some(&reader),
            Some(json!({"registrationEnforcement": {}})),
        )
        .await;
    denied(status, &body);
    for path in [
        "/v1.0/groupSettings",
        "/v1.0/groupSettingTemplates",
        "/v1.0/organization",
        "/v1.0/subscribedSkus",
        "/v1.0/groups",
        "/v1.0/reports/authenticationMethods/userRegistrationDetails",
    ] {
        let (status, body) = emu.call("GET", path, Some(&reader), None).await;
        denied(status, &body);
    }
    // Nothing was written by the refused PATCH.
    let (_, policy) = emu.call("GET", authz, Some(&reader), None).await;
    assert_eq!(policy["allowedToUseSSPR"], true);

    // ReadWrite implies Read of its own family only.
    let writer = emu.secret_token(TENANT, "methods-writer", "s2").await;
    let (status, _) = emu.call("GET", methods, Some(&writer), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = emu.call("GET", authz, Some(&writer), None).await;
    denied(status, &body);
    let directory = emu.secret_token(TENANT, "directory-writer", "s3").await;
    for path in [
        "/v1.0/groupSettings",
        "/v1.0/groupSettingTemplates",
        "/v1.0/organization",
        "/v1.0/groups",
    ] {
        let (status, body) = emu.call("GET", path, Some(&directory), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }

    // Inside $batch each sub-request is checked on its own; the envelope is 200.
    let (status, body) = emu
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&reader),
            Some(json!({"requests": [
                {"id": "1", "method": "GET", "url": "/policies/authorizationPolicy"},
                {"id": "2", "method": "GET", "url": "/groupSettings"}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["responses"][0]["status"], 200);
    assert_eq!(body["responses"][1]["status"], 403);
    assert_eq!(
        body["responses"][1]["body"]["error"]["code"],
        "Authorization_RequestDenied"
    );

    // Delegated tokens: Global Administrator passes, another role does not.
    let user_token = |rt: &'static str| {
        let emu = &emu;
        async move {
            let (status, body) = emu
                .token_raw(
                    TENANT,
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", "1950a258-227b-4e31-a9cf-717495945fc2"),
                        ("refresh_token", rt),
                        ("scope", GRAPH_SCOPE),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["access_token"].as_str().expect("token").to_string()
        }
    };
    let ga = user_token("ga-rt").await;
    let (status, _) = emu
        .call(
            "PATCH",
            authz,
            Some(&ga),
            Some(json!({"allowedToUseSSPR": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let helpdesk = user_token("hd-rt").await;
    let (status, body) = emu.call("GET", authz, Some(&helpdesk), None).await;
    denied(status, &body);
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Certificate and federated client assertions, GitHub OIDC, managed identity
// ---------------------------------------------------------------------------

const CERT_APP: &str = "c3c3c3c3-0000-4000-8000-00000000ce27";

fn cert_claims(aud: &str, exp: i64) -> Value {
    json!({
        "aud": aud, "iss": CERT_APP, "sub": CERT_APP,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now_secs() - 5, "exp": exp
    })
}

#[tokio::test]
async fn certificate_assertions_are_verified_against_the_registered_key() {
    let emu = start_state(json!({"tenants": {TENANT: {
        "apps": [{
            "clientId": CERT_APP,
            "roles": ["Policy.Read.All"],
            "certificates": [{
                "thumbprintSha256": fixture_thumbprint_sha256(),
                "publicKeyPem": fixture("assertion-pubkey.pem")
            }]
        }]
    }}}))
    .await;
    let key = fixture("assertion-key.pem");
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t#S256": fixture_thumbprint_sha256()});
    let aud = format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token");

    // The registered key: a token with the app's roles, appidacr 2.
    let good = sign_rs256(&header, &cert_claims(&aud, now_secs() + 600), &key);
    let (status, body) = emu.assertion_token(CERT_APP, &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(c["appid"], CERT_APP);
    assert_eq!(c["appidacr"], "2");
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["roles"], json!(["Policy.Read.All"]));
    assert_eq!(c["tid"], TENANT);
    let (status, _) = emu
        .call(
            "GET",
            "/v1.0/policies/authorizationPolicy",
            body["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Any host is fine as long as the path is this tenant's token endpoint.
    let local_aud = format!("{}/{TENANT}/oauth2/v2.0/token", emu.handle.base_url());
    let local = sign_rs256(&header, &cert_claims(&local_aud, now_secs() + 600), &key);
    let (status, _) = emu.assertion_token(CERT_APP, &local).await;
    assert_eq!(status, StatusCode::OK);

    // Signed by another key with the registered thumbprint: bad signature.
    let forged = sign_rs256(
        &header,
        &cert_claims(&aud, now_secs() + 600),
        &fixture("other-key.pem"),
    );
    let (status, body) = emu.assertion_token(CERT_APP, &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_aad_error(&body, "invalid_client", 700_027);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("did not match the expected signature value")),
        "{body}"
    );

    // A thumbprint the app does not have: key not found.
    let unknown_header =
        json!({"alg": "RS256", "typ": "JWT", "x5t#S256": URL_SAFE_NO_PAD.encode([7u8; 32])});
    let unknown = sign_rs256(&unknown_header, &cert_claims(&aud, now_secs() + 600), &key);
    let (status, body) = emu.assertion_token(CERT_APP, &unknown).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_aad_error(&body, "invalid_client", 700_027);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("The key was not found")),
        "{body}"
    );

    // Another tenant's endpoint as audience; an expired assertion; no thumbprint.
    let other_aud = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
    let wrong_aud = sign_rs256(&header, &cert_claims(other_aud, now_secs() + 600), &key);
    let (_, body) = emu.assertion_token(CERT_APP, &wrong_aud).await;
    assert_aad_error(&body, "invalid_client", 700_023);
    let expired = sign_rs256(&header, &cert_claims(&aud, now_secs() - 3600), &key);
    let (_, body) = emu.assertion_token(CERT_APP, &expired).await;
    assert_aad_error(&body, "invalid_client", 700_024);
    let bare = sign_rs256(
        &json!({"alg": "RS256"}),
        &cert_claims(&aud, now_secs() + 600),
        &key,
    );
    let (_, body) = emu.assertion_token(CERT_APP, &bare).await;
    assert_aad_error(&body, "invalid_client", 50_027);
    emu.handle.shutdown().await;
}

const FIC_APP: &str = "f1c0f1c0-0000-4000-8000-0000000000f1";
const GITHUB_SUBJECT: &str = "repo:contoso/identity-config:ref:refs/heads/main";

#[tokio::test]
async fn federated_assertions_from_the_fake_github_service() {
    let fic = |subject: &str, audiences: Value| json!({"issuer": "https://token.actions.githubusercontent.com", "subject": subject, "audiences": audiences});
    let emu = start_state(json!({
        "githubOidc": {"requestToken": "rt-123", "subject": GITHUB_SUBJECT},
        "tenants": {TENANT: {"apps": [
            {"clientId": FIC_APP, "roles": ["Policy.ReadWrite.Authorization"],
             "federatedCredentials": [fic(GITHUB_SUBJECT, json!(["api://AzureADTokenExchange"]))]},
            {"clientId": "other-branch", "federatedCredentials": [fic("repo:contoso/identity-config:ref:refs/heads/release", json!(["api://AzureADTokenExchange"]))]},
            {"clientId": "case-differs", "federatedCredentials": [fic("repo:Contoso/identity-config:ref:refs/heads/main", json!(["api://AzureADTokenExchange"]))]},
            {"clientId": "custom-audience", "federatedCredentials": [fic(GITHUB_SUBJECT, json!(["api://custom"]))]}
        ]}}
    }))
    .await;
    let github = |token: &'static str, audience: &'static str| {
        let emu = &emu;
        async move {
            let resp = emu
                .client
                .get(emu.url(&format!(
                    "/_emulator/github/oidc?api-version=2.0&audience={audience}"
                )))
                .header("authorization", format!("bearer {token}"))
                .send()
                .await
                .expect("github request");
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("JSON"))
        }
    };

    let (status, _) = github("wrong", "api://AzureADTokenExchange").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = github("rt-123", "api://AzureADTokenExchange").await;
    assert_eq!(status, StatusCode::OK);
    let oidc = body["value"].as_str().expect("value").to_string();
    let gh = claims(&oidc);
    assert_eq!(gh["iss"], "https://token.actions.githubusercontent.com");
    assert_eq!(gh["sub"], GITHUB_SUBJECT);
    assert_eq!(gh["aud"], "api://AzureADTokenExchange");
    assert_eq!(gh["repository"], "contoso/identity-config");
    assert!(gh["exp"].as_i64().expect("exp") > now_secs());

    // Good: subject, issuer and audience match.
    let (status, body) = emu.assertion_token(FIC_APP, &oidc).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(c["appid"], FIC_APP);
    assert_eq!(c["roles"], json!(["Policy.ReadWrite.Authorization"]));
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["appidacr"], "2");

    // Wrong subject, subject differing only in case, wrong audience.
    let (status, body) = emu.assertion_token("other-branch", &oidc).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_aad_error(&body, "invalid_client", 700_213);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains(GITHUB_SUBJECT))
    );
    let (_, body) = emu.assertion_token("case-differs", &oidc).await;
    assert_aad_error(&body, "invalid_client", 7_002_138);
    let (_, body) = emu.assertion_token("custom-audience", &oidc).await;
    assert_aad_error(&body, "invalid_client", 700_212);
    // …which a token asked for that audience satisfies.
    let (_, custom) = github("rt-123", "api://custom").await;
    let (status, _) = emu
        .assertion_token("custom-audience", custom["value"].as_str().expect("value"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // The same claims unsigned, or from an issuer no credential trusts.
    let mut parts = oidc.split('.');
    let (_, claims_b64) = (parts.next(), parts.next().expect("claims"));
    let unsigned = format!(
        "{}.{claims_b64}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string())
    );
    let (_, body) = emu.assertion_token(FIC_APP, &unsigned).await;
    assert_aad_error(&body, "invalid_client", 7_000_272);
    let mut foreign = gh.clone();
    foreign["iss"] = json!("https://token.example.com");
    let forged = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256"}).to_string()),
        URL_SAFE_NO_PAD.encode(foreign.to_string())
    );
    let (_, body) = emu.assertion_token(FIC_APP, &forged).await;
    assert_aad_error(&body, "invalid_client", 700_211);

    // The fake GitHub service is logged (the control endpoints are not).
    let log = emu.log().await;
    assert!(
        log.iter()
            .any(|e| e["path"] == "/_emulator/github/oidc" && e["status"] == 401)
    );
    assert!(!log.iter().any(|e| e["path"] == "/_emulator/requests"));
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn managed_identity_tokens_come_from_imds() {
    let mi = "4a4a4a4a-0000-4000-8000-00000000004a";
    let emu = start_state(json!({"tenants": {TENANT: {
        "managedIdentities": [{"clientId": mi, "roles": ["Policy.Read.All"]}]
    }}}))
    .await;
    let imds = |metadata: bool, query: &'static str| {
        let emu = &emu;
        async move {
            let mut req = emu
                .client
                .get(emu.url(&format!("/metadata/identity/oauth2/token?{query}")));
            if metadata {
                req = req.header("Metadata", "true");
            }
            let resp = req.send().await.expect("imds request");
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("JSON"))
        }
    };
    let query = "api-version=2018-02-01&resource=https://graph.microsoft.com/";
    let (status, body) = imds(false, query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    let (status, body) = imds(true, query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], "3599");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], "https://graph.microsoft.com/");
    assert_eq!(body["client_id"], mi);
    let expires_on: i64 = body["expires_on"]
        .as_str()
        .expect("expires_on is a string")
        .parse()
        .expect("epoch seconds");
    assert!((expires_on - now_secs() - 3599).abs() <= 2);
    let token = body["access_token"].as_str().expect("token").to_string();
    let c = claims(&token);
    assert_eq!(c["tid"], TENANT);
    assert_eq!(c["appid"], mi);
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["roles"], json!(["Policy.Read.All"]));
    let (status, _) = emu
        .call(
            "GET",
            "/v1.0/policies/authorizationPolicy",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = emu
        .call("GET", "/v1.0/groupSettings", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = imds(true, "api-version=2018-02-01&resource=https://graph.microsoft.com&client_id=4a4a4a4a-0000-4000-8000-00000000004a").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = imds(
        true,
        "api-version=2018-02-01&resource=https://graph.microsoft.com&client_id=nope",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "Identity not found");
    let (status, _) = imds(true, "resource=https://graph.microsoft.com").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let log = emu.log().await;
    let last_ok = log
        .iter()
        .find(|e| e["path"] == "/metadata/identity/oauth2/token" && e["status"] == 200)
        .expect("logged");
    assert_eq!(last_ok["app"], mi);
    assert_eq!(last_ok["tenant"], TENANT);
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Device code and token lifetime
// ---------------------------------------------------------------------------

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const AZ_CLI: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

impl Emu {
    async fn device_code(&self, tenant: &str) -> Value {
        let resp = self
            .client
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/devicecode")))
            .form(&[
                ("client_id", AZ_CLI),
                (
                    "scope",
                    "https://graph.microsoft.com/.default offline_access",
                ),
            ])
            .send()
            .await
            .expect("devicecode request");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.expect("JSON")
    }

    async fn poll(&self, tenant: &str, device_code: &str) -> (StatusCode, Value) {
        self.token_raw(
            tenant,
            &[
                ("grant_type", DEVICE_GRANT),
                ("client_id", AZ_CLI),
                ("device_code", device_code),
            ],
        )
        .await
    }
}

#[tokio::test]
async fn device_code_sign_in_is_pending_until_approved() {
    let emu = start_state(json!({"tenants": {TENANT: {
        "autoApproveDeviceCode": false,
        "admins": [{"userPrincipalName": "ops@contoso.example", "refreshTokens": []}]
    }}}))
    .await;
    let dc = emu.device_code(TENANT).await;
    assert_eq!(dc["verification_uri"], "https://microsoft.com/devicelogin");
    assert_eq!(dc["expires_in"], 900);
    assert_eq!(dc["interval"], 1);
    let user_code = dc["user_code"].as_str().expect("user_code").to_string();
    assert_eq!(user_code.len(), 9);
    assert!(
        dc["message"]
            .as_str()
            .expect("message")
            .contains(&user_code)
    );
    let device_code = dc["device_code"].as_str().expect("device_code").to_string();

    for _ in 0..3 {
        let (status, body) = emu.poll(TENANT, &device_code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_aad_error(&body, "authorization_pending", 70_016);
    }
    let (status, _) = emu
        .call(
            "POST",
            "/_emulator/devicecode/approve",
            None,
            Some(json!({"userCode": "no-such"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = emu
        .call(
            "POST",
            "/_emulator/devicecode/approve",
            None,
            Some(json!({"userCode": user_code.to_lowercase()})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, body) = emu.poll(TENANT, &device_code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let c = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(c["upn"], "ops@contoso.example");
    assert_eq!(c["idtyp"], "user");
    assert_eq!(c["wids"], json!([GLOBAL_ADMIN]));
    assert_eq!(c["appid"], AZ_CLI);
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["scp"], "user_impersonation");
    // The refresh token works for the portal resource.
    let refresh = body["refresh_token"].as_str().expect("refresh_token");
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", AZ_CLI),
                ("refresh_token", refresh),
                ("scope", &format!("{PORTAL_AUDIENCE}/.default")),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A device code is redeemed once.
    let (status, body) = emu.poll(TENANT, &device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_aad_error(&body, "invalid_grant", 70_000);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn device_code_is_auto_approved_on_the_second_poll_by_default() {
    let emu = start().await;
    let dc = emu.device_code(TENANT).await;
    let device_code = dc["device_code"].as_str().expect("device_code");
    let (status, body) = emu.poll(TENANT, device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending");
    let (status, body) = emu.poll(TENANT, device_code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        claims(body["access_token"].as_str().expect("token"))["upn"]
            .as_str()
            .is_some_and(|u| u.starts_with("admin@"))
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn short_token_lifetime_expires_and_refresh_recovers() {
    let emu = start_state(json!({"tenants": {TENANT: {"tokenLifetimeSeconds": 1}}})).await;
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", AZ_CLI),
                ("refresh_token", LOCAL_ADMIN_REFRESH_TOKEN),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().expect("token").to_string();
    let c = claims(&token);
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        1
    );
    let app = emu.app_token().await;
    assert_eq!(
        claims(&app)["exp"].as_i64().expect("exp") - claims(&app)["iat"].as_i64().expect("iat"),
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = emu
        .call(
            "GET",
            "/v1.0/policies/authorizationPolicy",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_graph_error(&body, "InvalidAuthenticationToken", "expired");
    // A new token from the refresh token, minted after the old one expired,
    // works again. A one-second token also expires when the clock's second
    // turns between minting and use, however fast the machine: then a newer
    // one is taken. A refusal for any other reason fails at once.
    let mut refused = Vec::new();
    loop {
        let renewed = emu.admin_token(GRAPH_SCOPE).await;
        assert!(
            claims(&renewed)["iat"].as_i64() >= c["exp"].as_i64(),
            "minted after the old token expired"
        );
        let (status, body) = emu
            .call(
                "GET",
                "/v1.0/policies/authorizationPolicy",
                Some(&renewed),
                None,
            )
            .await;
        if status == StatusCode::OK {
            break;
        }
        assert_graph_error(&body, "InvalidAuthenticationToken", "expired");
        refused.push(body);
        assert!(
            refused.len() < 10,
            "every renewed token expired: {refused:#?}"
        );
    }
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Throttling
// ---------------------------------------------------------------------------

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn throttling_storm_answers_429_with_graph_headers() {
    let emu = start().await;
    let t = emu.app_token().await;
    emu.put_faults(json!({"throttle": {"capacity": 5, "refillPerSecond": 0.01}}))
        .await;
    let get = || {
        emu.client
            .get(emu.url("/v1.0/policies/authorizationPolicy"))
            .bearer_auth(&t)
            .send()
    };
    let mut percentages = Vec::new();
    for _ in 0..5 {
        let resp = get().await.expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "x-ms-resource-unit"), Some("1"));
        percentages.push(header(&resp, "x-ms-throttle-limit-percentage").map(str::to_string));
    }
    assert_eq!(
        percentages,
        vec![None, None, None, None, Some("1.00".to_string())]
    );
    let resp = get().await.expect("request");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "retry-after"), Some("100"));
    assert_eq!(
        header(&resp, "x-ms-throttle-scope"),
        Some(format!("Tenant_Application/ReadWrite/{LOCAL_CLIENT_ID}/{TENANT}").as_str())
    );
    assert_eq!(
        header(&resp, "x-ms-throttle-information"),
        Some("ResourceUnitLimitExceeded")
    );
    let body: Value = resp.json().await.expect("JSON");
    assert_graph_error(&body, "Request_ThrottledTemporarily", "100 seconds");
    let log = emu.log().await;
    let throttled = log.last().expect("entry");
    assert_eq!(throttled["status"], 429);
    assert_eq!(throttled["retryAfter"], 100);
    assert_eq!(throttled["fault"], "throttle");
    assert_eq!(throttled["app"], LOCAL_CLIENT_ID);

    // $batch: sub-requests are charged one by one; the over-limit one gets
    // its own 429 with Retry-After inside a 200 envelope.
    emu.put_faults(json!({"throttle": {"capacity": 4, "refillPerSecond": 0.01}}))
        .await;
    let (status, body) = emu
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&t),
            Some(json!({"requests": [
                {"id": "a", "method": "GET", "url": "/policies/authorizationPolicy"},
                {"id": "b", "method": "GET", "url": "/subscribedSkus"},
                {"id": "c", "method": "GET", "url": "/organization"}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<&Value> = body["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, vec![&json!(200), &json!(200), &json!(429)]);
    assert_eq!(body["responses"][2]["headers"]["Retry-After"], "100");
    assert_eq!(
        body["responses"][2]["body"]["error"]["code"],
        "Request_ThrottledTemporarily"
    );
    let log = emu.log().await;
    let batch = log.last().expect("batch entry");
    assert_eq!(batch["status"], 200);
    let subs = batch["subRequests"].as_array().expect("subRequests");
    assert_eq!(
        subs.iter().map(|s| s["status"].clone()).collect::<Vec<_>>(),
        vec![json!(200), json!(200), json!(429)]
    );
    assert_eq!(subs[2]["retryAfter"], 100);

    // Writes have their own bucket.
    emu.put_faults(json!({"throttle": {"capacity": 100, "refillPerSecond": 1, "writeCapacity": 1, "writeRefillPerSecond": 0.01}}))
        .await;
    let patch = || {
        emu.client
            .patch(emu.url("/v1.0/policies/authorizationPolicy"))
            .bearer_auth(&t)
            .json(&json!({"allowedToUseSSPR": true}))
            .send()
    };
    assert_eq!(
        patch().await.expect("patch").status(),
        StatusCode::NO_CONTENT
    );
    let resp = patch().await.expect("patch");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&resp, "x-ms-throttle-information"),
        Some("WriteLimitExceeded")
    );
    assert_eq!(
        header(&resp, "x-ms-throttle-scope"),
        Some(format!("Tenant_Application/Write/{LOCAL_CLIENT_ID}/{TENANT}").as_str())
    );
    let resp = get().await.expect("reads still pass");
    assert_eq!(resp.status(), StatusCode::OK);
    emu.handle.shutdown().await;
}

// ---------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------

#[tokio::test]
async fn fail_next_burst_fails_exactly_n_matching_requests() {
    let emu = start().await;
    let t = emu.app_token().await;
    emu.put_faults(json!({"failNext": [
        {"status": 503, "count": 3, "pathPrefix": "/v1.0/policies", "method": "GET", "retryAfterSeconds": 2},
        {"status": 429, "count": 1, "pathPrefix": format!("/{TENANT}/oauth2"), "retryAfterSeconds": 60}
    ]}))
    .await;
    let authz = "/v1.0/policies/authorizationPolicy";
    // Other paths and methods are untouched.
    let (status, _) = emu.call("GET", "/v1.0/organization", Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..3 {
        let resp = emu
            .client
            .get(emu.url(authz))
            .bearer_auth(&t)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&resp, "retry-after"), Some("2"));
        let body: Value = resp.json().await.expect("JSON");
        assert_graph_error(&body, "ServiceUnavailable", "");
    }
    let (status, _) = emu.call("GET", authz, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    // The token endpoint fails in its own error shape.
    let (status, body) = emu
        .token_raw(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", LOCAL_CLIENT_ID),
                ("client_secret", LOCAL_CLIENT_SECRET),
                ("scope", GRAPH_SCOPE),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "temporarily_unavailable");
    let _ = emu.app_token().await;

    let (_, faults) = emu.call("GET", "/_emulator/faults", None, None).await;
    assert_eq!(faults["failNext"][0]["count"], 0);
    assert_eq!(faults["failNext"][1]["count"], 0);
    let log = emu.log().await;
    let failed: Vec<&Value> = log.iter().filter(|e| e["fault"] == "failNext").collect();
    assert_eq!(failed.len(), 4);
    assert_eq!(failed[0]["retryAfter"], 2);
    assert_eq!(failed[0]["tenant"], TENANT);
    assert_eq!(failed[0]["app"], LOCAL_CLIENT_ID);
    assert_eq!(failed[3]["status"], 429);
    assert_eq!(failed[3]["retryAfter"], 60);
    assert_eq!(failed[3]["tenant"], TENANT);
    assert_eq!(failed[3]["app"], LOCAL_CLIENT_ID);

    // An always-firing error rate never touches /_emulator/*.
    emu.put_faults(json!({"seed": 1, "errorRates": [{"status": 500, "rate": 1.0}]}))
        .await;
    let (status, _) = emu.call("GET", authz, Some(&t), None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _) = emu.call("GET", "/_emulator/requests", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = emu.call("DELETE", "/_emulator/faults", None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = emu.call("GET", authz, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    // Invalid configurations are refused and change nothing.
    let (status, body) = emu
        .call(
            "PUT",
            "/_emulator/faults",
            None,
            Some(json!({"dropRate": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = emu
        .call(
            "PUT",
            "/_emulator/faults",
            None,
            Some(json!({"latencyMS": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn seeded_error_rates_are_reproducible() {
    let emu = start().await;
    let t = emu.app_token().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        emu.put_faults(json!({"seed": 42, "errorRates": [{"status": 503, "rate": 0.5, "pathPrefix": "/v1.0"}]}))
            .await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let (status, _) = emu.call("GET", "/v1.0/organization", Some(&t), None).await;
            statuses.push(status.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&503) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn drop_rate_closes_the_connection_without_a_response() {
    let emu = start().await;
    let t = emu.app_token().await;
    let authz = "/v1.0/policies/authorizationPolicy";
    emu.put_faults(json!({"dropRate": 1.0})).await;
    let err = emu
        .client
        .get(emu.url(authz))
        .bearer_auth(&t)
        .send()
        .await
        .expect_err("no response");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");

    // dropAfterRate: the write is applied, the answer is lost.
    emu.put_faults(json!({"dropAfterRate": 1.0})).await;
    let err = emu
        .client
        .patch(emu.url(authz))
        .bearer_auth(&t)
        .json(&json!({"allowedToUseSSPR": false}))
        .send()
        .await
        .expect_err("no response");
    assert!(!err.is_status(), "{err:?}");
    emu.call("DELETE", "/_emulator/faults", None, None).await;
    let (status, policy) = emu.call("GET", authz, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy["allowedToUseSSPR"], false);

    let log = emu.log().await;
    let dropped: Vec<&Value> = log.iter().filter(|e| e["fault"].is_string()).collect();
    assert_eq!(dropped.len(), 2);
    assert_eq!(dropped[0]["fault"], "drop");
    assert_eq!(dropped[0]["status"], 0);
    assert_eq!(dropped[0]["app"], LOCAL_CLIENT_ID);
    assert_eq!(dropped[1]["fault"], "dropAfter");
    assert_eq!(dropped[1]["status"], 204);
    assert_eq!(dropped[1]["method"], "PATCH");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn stale_reads_return_the_pre_write_value_for_the_window() {
    let emu = start().await;
    let t = emu.app_token().await;
    let p = emu.portal_token().await;
    let authz = "/v1.0/policies/authorizationPolicy";
    let patch = |value: bool| {
        emu.call(
            "PATCH",
            authz,
            Some(&t),
            Some(json!({ "allowedToUseSSPR": value })),
        )
    };
    // Once the window has been waited out, reads see the write.
    emu.put_faults(json!({"staleReadsMs": 1500})).await;
    assert_eq!(patch(false).await.0, StatusCode::NO_CONTENT);
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let (_, fresh) = emu.call("GET", authz, Some(&t), None).await;
    assert_eq!(fresh["allowedToUseSSPR"], false, "read after the window");
    // Inside the window (an hour, so however slow the machine), reads see
    // the value from before the write.
    emu.put_faults(json!({"staleReadsMs": 3_600_000})).await;
    assert_eq!(patch(true).await.0, StatusCode::NO_CONTENT);
    let (_, stale) = emu.call("GET", authz, Some(&t), None).await;
    assert_eq!(stale["allowedToUseSSPR"], false, "read inside the window");
    // Other objects are not affected.
    let (_, portal) = emu.call("GET", PORTAL, Some(&p), None).await;
    assert_eq!(portal["enablementType"], 0);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn latency_delays_requests_but_not_control_endpoints() {
    let emu = start().await;
    let t = emu.app_token().await;
    emu.put_faults(json!({"latencyMs": 400, "jitterMs": 100, "seed": 3}))
        .await;
    emu.call("DELETE", "/_emulator/requests", None, None).await;
    let started = std::time::Instant::now();
    let (status, _) = emu
        .call("GET", "/v1.0/policies/authorizationPolicy", Some(&t), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    let log = emu.log().await;
    assert_eq!(log.len(), 1, "control requests are not logged: {log:#?}");
    let ms = log[0]["latencyMs"].as_u64().expect("latencyMs");
    assert!(ms >= 400, "{ms}");
    // With an hour of latency, control endpoints still answer: were they
    // delayed, the guard (a hang guard, not a speed limit) would fail the test.
    emu.put_faults(json!({"latencyMs": 3_600_000})).await;
    let log = tokio::time::timeout(std::time::Duration::from_secs(120), emu.log())
        .await
        .expect("the request log was delayed by the injected latency");
    assert_eq!(log.len(), 1, "{log:#?}");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn start_time_faults_come_from_spawn_with_or_the_state_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let handle = ssprctl_emulator::spawn_with(
        Options {
            listen: "127.0.0.1:0".parse().expect("literal address"),
            state_file: None,
            auto_create_tenants: true,
        },
        ssprctl_emulator::FaultConfig {
            fail_next: vec![ssprctl_emulator::FailNext {
                status: 502,
                count: 1,
                path_prefix: Some("/v1.0".into()),
                method: None,
                retry_after_seconds: None,
            }],
            ..Default::default()
        },
    )
    .await
    .expect("starts");
    let emu = Emu {
        handle,
        client: client(),
        state_file: dir.path().join("unused"),
        _dir: dir,
    };
    let t = emu.app_token().await;
    let (status, _) = emu.call("GET", "/v1.0/organization", Some(&t), None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (status, _) = emu.call("GET", "/v1.0/organization", Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    emu.handle.shutdown().await;

    let emu = start_state(
        json!({"faults": {"failNext": [{"status": 504, "count": 1, "pathPrefix": "/v1.0"}]}}),
    )
    .await;
    let t = emu.app_token().await;
    let (status, _) = emu.call("GET", "/v1.0/organization", Some(&t), None).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    emu.handle.shutdown().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    std::fs::write(&path, json!({"faults": {"dropRate": 3}}).to_string()).expect("write");
    let err = ssprctl_emulator::spawn(Options {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        state_file: Some(path),
        auto_create_tenants: true,
    })
    .await
    .expect_err("invalid faults are refused");
    assert!(
        matches!(err, ssprctl_emulator::Error::InvalidFaults { .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Registration report
// ---------------------------------------------------------------------------

const REPORT: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";

/// Every row of the report, following `@odata.nextLink`.
async fn all_rows(emu: &Emu, token: &str, query: &str) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut next = Some(emu.url(&format!("{REPORT}{query}")));
    while let Some(url) = next {
        let resp = emu
            .client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("report page");
        assert_eq!(resp.status(), StatusCode::OK);
        let page: Value = resp.json().await.expect("JSON");
        rows.extend(page["value"].as_array().expect("value").iter().cloned());
        pages += 1;
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    (rows, pages)
}

#[tokio::test]
async fn registration_report_pages_filters_and_follows_the_policy() {
    let no_licence = "99999999-2222-4333-8444-555555555555";
    let emu = start_state(json!({"tenants": {
        TENANT: {"population": {"users": 250, "seed": 11}},
        no_licence: {"subscribedSkus": []}
    }}))
    .await;
    let t = emu.app_token().await;
    let p = emu.portal_token().await;

    // Paging: 100 per page by default, through nextLinks back to the emulator.
    let (status, first) = emu.call("GET", REPORT, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["value"].as_array().expect("value").len(), 100);
    let next = first["@odata.nextLink"].as_str().expect("nextLink");
    assert!(next.starts_with(&emu.handle.base_url()), "{next}");
    assert!(next.contains("$skiptoken="), "{next}");
    assert_eq!(
        first["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails"
    );
    let (rows, pages) = all_rows(&emu, &t, "").await;
    assert_eq!((rows.len(), pages), (250, 3));
    let ids: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), 250);
    assert_eq!(
        rows[0]["userPrincipalName"]
            .as_str()
            .expect("upn")
            .split('@')
            .next(),
        Some("user0001")
    );
    assert_eq!(rows[0]["userType"], "member");
    let (rows_999, pages) = all_rows(&emu, &t, "?$top=999").await;
    assert_eq!((rows_999.len(), pages), (250, 1));
    assert_eq!(rows_999, rows, "the population is deterministic");
    let (rows_top, pages) = all_rows(&emu, &t, "?$top=60").await;
    assert_eq!((rows_top.len(), pages), (250, 5));
    let (status, _) = emu
        .call("GET", &format!("{REPORT}?$top=1000"), Some(&t), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Fresh policy: SSPR for nobody but admins (allowedToUseSSPR true);
    // registered = email or mobile phone (the methods the policy offers).
    let admins = rows.iter().filter(|r| r["isAdmin"] == true).count();
    assert!(admins > 0, "seed 11 has admins");
    for r in &rows {
        let methods = r["methodsRegistered"].as_array().expect("methods");
        let offered = methods.contains(&json!("email")) || methods.contains(&json!("mobilePhone"));
        assert_eq!(r["isSsprRegistered"], offered, "{r}");
        assert_eq!(r["isSsprEnabled"], r["isAdmin"], "{r}");
        assert_eq!(
            r["isSsprCapable"],
            json!(r["isSsprRegistered"] == true && r["isSsprEnabled"] == true)
        );
    }

    // $filter with eq on booleans, joined with and.
    let unregistered = rows
        .iter()
        .filter(|r| r["isSsprRegistered"] == false)
        .count();
    let (filtered, _) = all_rows(&emu, &t, "?$filter=isSsprRegistered%20eq%20false&$top=50").await;
    assert_eq!(filtered.len(), unregistered);
    assert!(filtered.iter().all(|r| r["isSsprRegistered"] == false));
    let (both, _) = all_rows(
        &emu,
        &t,
        "?$filter=isSsprRegistered%20eq%20false%20and%20isAdmin%20eq%20true",
    )
    .await;
    assert_eq!(
        both.len(),
        rows.iter()
            .filter(|r| r["isSsprRegistered"] == false && r["isAdmin"] == true)
            .count()
    );
    let (status, body) = emu
        .call(
            "GET",
            &format!("{REPORT}?$filter=isAdmin%20ne%20true"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A portal PUT to "All" with two methods required changes the report.
    let (_, mut policy) = emu.call("GET", PORTAL, Some(&p), None).await;
    policy["enablementType"] = json!(2);
    policy["numberOfAuthenticationMethodsRequired"] = json!(2);
    let (status, _) = emu
        .call("PUT", PORTAL, Some(&p), Some(policy.clone()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (rows, _) = all_rows(&emu, &t, "?$top=999").await;
    assert!(rows.iter().all(|r| r["isSsprEnabled"] == true));
    for r in &rows {
        let methods = r["methodsRegistered"].as_array().expect("methods");
        let both = methods.contains(&json!("email")) && methods.contains(&json!("mobilePhone"));
        assert_eq!(r["isSsprRegistered"], both, "{r}");
    }
    // "Selected" SSPR Pilot: only its members (about 5%), plus admins.
    policy["enablementType"] = json!(1);
    policy["passwordResetEnabledGroupIds"] = json!([SSPR_PILOT]);
    let (status, _) = emu.call("PUT", PORTAL, Some(&p), Some(policy)).await;
    assert_eq!(status, StatusCode::OK);
    let (rows, _) = all_rows(&emu, &t, "?$top=999").await;
    let members = rows
        .iter()
        .filter(|r| r["isAdmin"] == false && r["isSsprEnabled"] == true)
        .count();
    assert!((1..40).contains(&members), "{members} pilot members");
    // Admins follow allowedToUseSSPR.
    emu.call(
        "PATCH",
        "/v1.0/policies/authorizationPolicy",
        Some(&t),
        Some(json!({"allowedToUseSSPR": false})),
    )
    .await;
    let (admin_rows, _) = all_rows(&emu, &t, "?$filter=isAdmin%20eq%20true").await;
    assert_eq!(admin_rows.len(), admins);
    assert!(admin_rows.iter().all(|r| r["isSsprEnabled"] == false));

    // One user by id; an unknown id; a tenant without P1/P2.
    let id = rows[3]["id"].as_str().expect("id");
    let (status, one) = emu
        .call("GET", &format!("{REPORT}/{id}"), Some(&t), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["userPrincipalName"], rows[3]["userPrincipalName"]);
    let (status, _) = emu
        .call(
            "GET",
            &format!("{REPORT}/00000000-0000-4000-8000-000000000000"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = emu
        .secret_token(no_licence, LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET)
        .await;
    let (status, body) = emu.call("GET", REPORT, Some(&other), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(
        &body,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "premium",
    );
    emu.handle.shutdown().await;
}

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";

/// Every event of the audit log for `query`, following `@odata.nextLink`.
async fn all_events(emu: &Emu, token: &str, query: &str) -> (Vec<Value>, usize) {
    let mut events = Vec::new();
    let mut pages = 0;
    let mut next = Some(emu.url(&format!("{AUDITS}{query}")));
    while let Some(url) = next {
        let resp = emu
            .client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("audit page");
        assert_eq!(resp.status(), StatusCode::OK);
        let page: Value = resp.json().await.expect("JSON");
        let value = page["value"].as_array().expect("value");
        assert!(value.len() <= 50, "server-driven pages of at most 50");
        events.extend(value.iter().cloned());
        pages += 1;
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    (events, pages)
}

#[tokio::test]
async fn audit_log_serves_deterministic_sspr_activity_filtered_and_paged() {
    let emu =
        start_state(json!({"tenants": {TENANT: {"population": {"users": 250, "seed": 11}}}})).await;
    let t = emu.app_token().await;

    let (all, pages) = all_events(&emu, &t, "?$top=999").await;
    assert!(pages > 1, "paged");
    let (again, _) = all_events(&emu, &t, "").await;
    assert_eq!(all, again, "deterministic, whatever the page size");
    let times: Vec<&str> = all
        .iter()
        .map(|e| e["activityDateTime"].as_str().expect("time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(all.iter().any(|e| e["loggedByService"] == "Core Directory"));
    for e in &all {
        for field in [
            "id",
            "category",
            "result",
            "activityDisplayName",
            "loggedByService",
            "initiatedBy",
            "targetResources",
        ] {
            assert!(e.get(field).is_some(), "{field} in {e}");
        }
    }

    // The filter ssprctl sends: the SSPR service since an instant.
    let since = times[times.len() / 2];
    let since = &since[..10];
    let filter = format!(
        "loggedByService eq 'Self-service Password Management' and activityDateTime ge {since}T00:00:00Z"
    );
    let (sspr, _) = all_events(
        &emu,
        &t,
        &format!("?$filter={}", filter.replace(' ', "%20")),
    )
    .await;
    assert!(!sspr.is_empty());
    assert!(sspr.len() < all.len());
    assert!(
        sspr.iter()
            .all(|e| e["loggedByService"] == "Self-service Password Management")
    );
    assert!(
        sspr.iter()
            .all(|e| e["activityDateTime"].as_str().is_some_and(|d| d >= since))
    );
    assert!(sspr.iter().any(
        |e| e["activityDisplayName"] == "Reset password (self-service)" && e["result"] == "failure"
    ));

    let (status, body) = emu
        .call(
            "GET",
            &format!("{AUDITS}?$filter=result%20ne%20'x'"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn registration_summaries_count_the_population_for_signed_in_users_only() {
    let emu =
        start_state(json!({"tenants": {TENANT: {"population": {"users": 250, "seed": 11}}}})).await;
    let app = emu.app_token().await;
    let user = emu
        .admin_token("https://graph.microsoft.com/.default")
        .await;
    let feature = "/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')";
    let (status, _) = emu.call("GET", feature, Some(&app), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "delegated only");
    let (status, summary) = emu.call("GET", feature, Some(&user), None).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["totalUserCount"], 250);
    let (rows, _) = all_rows(&emu, &app, "").await;
    let registered = rows
        .iter()
        .filter(|r| r["isSsprRegistered"] == true)
        .count();
    let counts = summary["userRegistrationFeatureCounts"]
        .as_array()
        .expect("counts");
    assert!(
        counts.contains(&json!({"feature": "ssprRegistered", "userCount": registered})),
        "{summary}"
    );

    let method = "/v1.0/reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='all',includedUserRoles='admin')";
    let (status, summary) = emu.call("GET", method, Some(&user), None).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let admins = rows.iter().filter(|r| r["isAdmin"] == true).count();
    assert_eq!(summary["totalUserCount"], admins);
    assert_eq!(summary["userRoles"], "admin");
}
