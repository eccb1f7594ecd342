//! Provider tests against the emulator over loopback HTTP: what the provider
//! sends (round trips, write rules) and that what it writes reads back.
//! One binary for the crate (compile time); no in-process fakes.

use std::collections::HashMap;

use serde_json::{Value, json};
use ssprctl_model::{Api, Endpoint, ObservedTenant, Settings, Tenant};
use ssprctl_provider::{Connection, HttpProvider, Provider};

const TENANT_ID: &str = "0c0ffee0-1111-4222-8333-444455556666";

/// An emulator on 127.0.0.1:0 (state in memory) and a provider for one
/// tenant on it.
struct Env {
    emulator: Option<ssprctl_emulator::Handle>,
    url: String,
    provider: HttpProvider,
}

impl Env {
    async fn new() -> Env {
        let handle = ssprctl_emulator::spawn(ssprctl_emulator::Options {
            listen: ([127, 0, 0, 1], 0).into(),
            state_file: None,
            auto_create_tenants: true,
        })
        .await
        .expect("emulator starts");
        let url = handle.base_url();
        let conn = Connection::emulator(
            TENANT_ID,
            &url,
            ssprctl_emulator::LOCAL_CLIENT_ID,
            ssprctl_emulator::LOCAL_CLIENT_SECRET,
            ssprctl_emulator::LOCAL_ADMIN_REFRESH_TOKEN,
        );
        let provider =
            HttpProvider::new(HashMap::from([("contoso".to_string(), conn)])).expect("http client");
        Env {
            emulator: Some(handle),
            url,
            provider,
        }
    }

    fn tenant(&self, settings: Value) -> Tenant {
        Tenant {
            name: "contoso".into(),
            tenant_id: TENANT_ID.into(),
            endpoint: Endpoint::Emulator(self.url.clone()),
            settings: serde_json::from_value(settings).expect("test settings are valid"),
            credentials: None,
            index: 0,
        }
    }

    /// The emulator's request log since the last clear: `METHOD path`, with
    /// the sub-requests of a `$batch` after it, indented.
    async fn requests(&self) -> Vec<String> {
        let url = format!("{}/_emulator/requests", self.url);
        let log: Vec<Value> = reqwest::get(&url)
            .await
            .expect("request log")
            .json()
            .await
            .expect("request log is JSON");
        let line = |r: &Value| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or("?"),
                r["path"].as_str().unwrap_or("?")
            )
        };
        let mut out = Vec::new();
        for r in &log {
            out.push(line(r));
            for sub in r["subRequests"].as_array().into_iter().flatten() {
                out.push(format!("  {}", line(sub)));
            }
        }
        out
    }

    /// Replaces the emulator's fault configuration.
    async fn faults(&self, config: Value) {
        let url = format!("{}/_emulator/faults", self.url);
        let resp = reqwest::Client::new()
            .put(&url)
            .json(&config)
            .send()
            .await
            .expect("set faults");
        assert!(
            resp.status().is_success(),
            "faults refused: {}",
            resp.status()
        );
    }

    async fn clear_requests(&self) {
        let url = format!("{}/_emulator/requests", self.url);
        reqwest::Client::new()
            .delete(&url)
            .send()
            .await
            .expect("clear the request log");
    }

    async fn shutdown(mut self) {
        if let Some(h) = self.emulator.take() {
            h.shutdown().await;
        }
    }
}

fn section(observed: &ObservedTenant, api: Api) -> Value {
    serde_json::to_value(&observed.settings).expect("settings serialise")[api.section()].clone()
}

fn desired() -> Value {
    json!({
        "selfServicePasswordReset": {"registration": {"reconfirmAfterDays": 90}},
        "administratorPasswordReset": {"enabled": false},
        "authenticationMethods": {"email": {"state": "enabled"}, "sms": {"state": "disabled"}},
        "passwordProtection": {"lockoutThreshold": 5},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_is_one_token_per_audience_one_batch_and_the_portal_reads() {
    let env = Env::new().await;
    let tenant = env.tenant(desired());
    let observed = env.provider.read(&tenant).await;
    assert!(observed.unreadable.is_empty(), "{:?}", observed.unreadable);
    let log = env.requests().await;
    let tokens = log
        .iter()
        .filter(|l| l.ends_with("/oauth2/v2.0/token"))
        .count();
    assert_eq!(tokens, 2, "{log:#?}");
    assert_eq!(
        log.iter().filter(|l| *l == "POST /v1.0/$batch").count(),
        1,
        "{log:#?}"
    );
    let subs: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("  GET "))
        .map(|p| p.split('?').next().unwrap_or(p))
        .collect();
    assert_eq!(
        subs,
        [
            "/v1.0/policies/authorizationPolicy",
            "/v1.0/policies/authenticationMethodsPolicy",
            "/v1.0/groupSettings",
            "/v1.0/groupSettingTemplates/5cf42378-d67d-4f36-ba46-e8b86229381d",
            "/v1.0/organization",
            "/v1.0/subscribedSkus",
        ]
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("GET /api/PasswordReset/"))
            .count(),
        1,
        "{log:#?}"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_reused_until_the_tenant_is_released_then_fetched_anew() {
    let env = Env::new().await;
    let tenant = env.tenant(desired());
    let token_requests = |log: Vec<String>| {
        log.iter()
            .filter(|l| l.ends_with("/oauth2/v2.0/token"))
            .count()
    };
    env.provider.read(&tenant).await;
    env.clear_requests().await;
    let again = env.provider.read(&tenant).await;
    assert!(again.unreadable.is_empty(), "{:?}", again.unreadable);
    assert_eq!(
        token_requests(env.requests().await),
        0,
        "cached tokens are reused"
    );
    env.provider.release(&tenant).await;
    env.clear_requests().await;
    let after = env.provider.read(&tenant).await;
    assert!(after.unreadable.is_empty(), "{:?}", after.unreadable);
    assert_eq!(
        token_requests(env.requests().await),
        2,
        "one new token per audience"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_surface_writes_by_its_rule_and_reads_back() {
    let env = Env::new().await;
    let want = desired();
    let tenant = env.tenant(want.clone());
    // Tokens first, so the log below holds only the writes.
    let before = env.provider.read(&tenant).await;
    assert!(before.unreadable.is_empty(), "{:?}", before.unreadable);
    let expected_requests: [(Api, &[&str]); 4] = [
        (
            Api::PortalPasswordReset,
            &[
                "GET /api/PasswordReset/PasswordResetPolicies",
                "PUT /api/PasswordReset/PasswordResetPolicies",
            ],
        ),
        (
            Api::GraphAuthorizationPolicy,
            &["PATCH /v1.0/policies/authorizationPolicy"],
        ),
        (
            Api::GraphAuthenticationMethods,
            &[
                "GET /v1.0/policies/authenticationMethodsPolicy",
                "PATCH /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email",
                "PATCH /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms",
            ],
        ),
        (
            Api::GraphPasswordRuleSettings,
            &[
                "GET /v1.0/groupSettings",
                "GET /v1.0/groupSettingTemplates/5cf42378-d67d-4f36-ba46-e8b86229381d",
                "POST /v1.0/groupSettings",
            ],
        ),
    ];
    for (api, expected) in expected_requests {
        env.clear_requests().await;
        env.provider
            .write(&tenant, api, &want[api.section()], None)
            .await
            .unwrap_or_else(|e| panic!("{api} write: {e}"));
        let mut log: Vec<String> = env
            .requests()
            .await
            .into_iter()
            .map(|l| l.split('?').next().unwrap_or(&l).to_string())
            .collect();
        // The method configurations are patched at the same time: any order.
        log.sort();
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(log, expected, "{api}");
    }
    let after = env.provider.read(&tenant).await;
    assert!(after.unreadable.is_empty(), "{:?}", after.unreadable);
    let settings: Settings = serde_json::from_value(want.clone()).expect("valid");
    let want = serde_json::to_value(settings).expect("serialise");
    for api in [
        Api::PortalPasswordReset,
        Api::GraphAuthorizationPolicy,
        Api::GraphAuthenticationMethods,
        Api::GraphPasswordRuleSettings,
    ] {
        let got = section(&after, api);
        for (key, value) in want[api.section()].as_object().into_iter().flatten() {
            let got = &got[key];
            assert!(
                contains(got, value),
                "{api}: {key} is {got}, wanted {value}"
            );
        }
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_premises_flags_are_put_one_at_a_time() {
    let env = Env::new().await;
    let partial = json!({"passwordWriteback": true, "unlockWithoutReset": true});
    let tenant = env.tenant(json!({ "onPremisesIntegration": partial }));
    env.clear_requests().await;
    env.provider
        .write(&tenant, Api::PortalOnPremises, &partial, None)
        .await
        .expect("the emulator accepts writes without a writeback client");
    let log = env.requests().await;
    let puts: Vec<&String> = log.iter().filter(|l| l.starts_with("PUT ")).collect();
    assert_eq!(
        puts,
        [
            "PUT /api/PasswordReset/OnPremisesPasswordResetPolicies",
            "PUT /api/PasswordReset/OnPremisesPasswordResetPolicies",
        ],
        "{log:#?}"
    );
    let after = env.provider.read(&tenant).await;
    assert_eq!(section(&after, Api::PortalOnPremises), partial);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_write_is_sent_again_after_retry_after() {
    let env = Env::new().await;
    let tenant = env.tenant(json!({"administratorPasswordReset": {"enabled": false}}));
    env.faults(
        json!({"failNext": [{"status": 429, "count": 1, "method": "PATCH",
        "pathPrefix": "/v1.0/policies/authorizationPolicy", "retryAfterSeconds": 1}]}),
    )
    .await;
    env.provider
        .write(
            &tenant,
            Api::GraphAuthorizationPolicy,
            &json!({"enabled": false}),
            None,
        )
        .await
        .expect("the second attempt succeeds");
    let patches = env
        .requests()
        .await
        .into_iter()
        .filter(|l| l == "PATCH /v1.0/policies/authorizationPolicy")
        .count();
    assert_eq!(patches, 2);
    let after = env.provider.read(&tenant).await;
    assert_eq!(
        section(&after, Api::GraphAuthorizationPolicy),
        json!({"enabled": false})
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tenant_makes_every_managed_surface_unreadable() {
    let env = Env::new().await;
    let mut tenant = env.tenant(desired());
    tenant.name = "fabrikam".into();
    let observed = env.provider.read(&tenant).await;
    assert_eq!(observed.unreadable.len(), 4);
    for u in &observed.unreadable {
        assert_eq!(
            u.reason,
            "no credential: no connection configured for tenant fabrikam"
        );
    }
    assert!(env.requests().await.is_empty());
    env.shutdown().await;
}

/// Whether `got` holds everything in `want` (objects compared by `want`'s keys).
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| contains(gv, v))),
        _ => got == want,
    }
}

/// Lost updates: a full-object write compares the read the plan was computed
/// from with its pre-write read. Another writer (here another desired state,
/// written through the same provider) changes the policy in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_object_write_keeps_and_reports_what_another_writer_changed() {
    let env = Env::new().await;
    let partial = json!({"registration": {"reconfirmAfterDays": 90}});
    let ours = env.tenant(json!({ "selfServicePasswordReset": partial }));
    let planned = env.provider.read(&ours).await;
    let planned_from = planned
        .objects
        .get(&Api::PortalPasswordReset)
        .expect("the plan's read keeps the full object")
        .clone();
    // Another writer turns off admin notifications, which our file does not manage.
    let theirs = json!({"notifications": {"notifyAdminsOnAdminReset": false}});
    let other = env.tenant(json!({ "selfServicePasswordReset": theirs }));
    env.provider
        .write(&other, Api::PortalPasswordReset, &theirs, None)
        .await
        .expect("the other write");
    let written = env
        .provider
        .write(
            &ours,
            Api::PortalPasswordReset,
            &partial,
            Some(&planned_from),
        )
        .await
        .expect("an unmanaged change does not stop the write");
    let moved: Vec<(String, bool, Value, Value)> = written
        .concurrent
        .iter()
        .map(|c| {
            (
                c.field.clone(),
                c.managed,
                c.before.clone(),
                c.after.clone(),
            )
        })
        .collect();
    assert_eq!(
        moved,
        vec![(
            "selfServicePasswordReset.notifications.notifyAdminsOnAdminReset".to_string(),
            false,
            json!(true),
            json!(false)
        )]
    );
    let after = env.provider.read(&ours).await;
    let sspr = serde_json::to_value(&after.objects[&Api::PortalPasswordReset]).expect("json");
    assert_eq!(
        sspr["registrationReconfirmIntevalInDays"], 90,
        "ours landed"
    );
    assert_eq!(
        sspr["notifyOnAdminPasswordReset"], false,
        "theirs was not reverted"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_setting_that_moved_stops_the_full_object_write_before_it_is_sent() {
    let env = Env::new().await;
    let partial = json!({"registration": {"reconfirmAfterDays": 90}});
    let ours = env.tenant(json!({ "selfServicePasswordReset": partial }));
    let planned = env.provider.read(&ours).await;
    let planned_from = planned.objects[&Api::PortalPasswordReset].clone();
    let theirs = json!({"registration": {"reconfirmAfterDays": 30}});
    let other = env.tenant(json!({ "selfServicePasswordReset": theirs }));
    env.provider
        .write(&other, Api::PortalPasswordReset, &theirs, None)
        .await
        .expect("the other write");
    env.clear_requests().await;
    let refused = env
        .provider
        .write(
            &ours,
            Api::PortalPasswordReset,
            &partial,
            Some(&planned_from),
        )
        .await
        .expect_err("the reviewed plan no longer holds");
    let ssprctl_provider::ProviderError::Moved { api, moved } = &refused else {
        panic!("not a refusal: {refused}");
    };
    assert_eq!(*api, Api::PortalPasswordReset);
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0].managed);
    assert_eq!(
        refused.to_string(),
        "portal PasswordResetPolicies: nothing was written: changed since the plan was read: selfServicePasswordReset.registration.reconfirmAfterDays: 180 -> 30"
    );
    let log = env.requests().await;
    assert!(
        log.iter().all(|l| !l.starts_with("PUT ")),
        "nothing is sent: {log:#?}"
    );
    env.shutdown().await;
}
