//! Integration tests: a real emulator on 127.0.0.1:0 with a temporary state
//! file, driven over HTTP with reqwest. One binary for the whole crate.
//!
//! Sections: tokens; portal SSPR API; Graph policies; directory settings;
//! groups and directory reads; `$batch`; persistence and the request log.

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

    let saved = std::fs::read_to_string(&emu.state_file).expect("state file written");
    assert!(saved.contains(&new_rt), "rotation is persisted");
    emu.handle.shutdown().await;
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
    // beta serves the same resources.
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
        .filter(|n| n != "state.json")
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
            "apps": [{"clientId": "reader", "clientSecret": "s3cret", "roles": ["Policy.Read.All"]}],
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
    assert_eq!(claims(&token)["roles"], json!(["Policy.Read.All"]));
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
    assert_eq!(
        log,
        json!([
            {"method": "GET", "path": "/v1.0/policies/authorizationPolicy", "status": 200, "tenant": TENANT},
            {"method": "GET", "path": PORTAL, "status": 200, "tenant": TENANT},
            {"method": "GET", "path": "/v1.0/groups", "query": "$filter=displayName%20eq%20%27x%27", "status": 200, "tenant": TENANT},
            {"method": "GET", "path": "/v1.0/policies/authorizationPolicy", "status": 401, "tenant": null}
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
