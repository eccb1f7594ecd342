//! Each API's write rule: the exact requests for a change and a live object.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;

const GROUP: &str = "b6cdb9c3-d660-4558-bcfd-82c14a986b56";

fn portal_reset_object() -> Value {
    json!({
        "objectId": "default", "enablementType": 1,
        "passwordResetEnabledGroupIds": [GROUP],
        "passwordResetEnabledGroupName": "SSPR Pilot",
        "numberOfAuthenticationMethodsRequired": 1,
        "registrationReconfirmIntevalInDays": 180,
        "emailOptionEnabled": true,
        "emailOptionAllowed": true,
    })
}

fn methods_policy() -> Value {
    json!({
        "id": "authenticationMethodsPolicy",
        "policyMigrationState": "migrationInProgress",
        "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {
            "state": "default", "snoozeDurationInDays": 1,
            "includeTargets": [], "excludeTargets": []}},
        "authenticationMethodConfigurations": [
            {"id": "Email", "state": "disabled", "allowExternalIdToUseEmailOtp": "default",
             "includeTargets": [], "excludeTargets": []},
            {"id": "Sms", "state": "enabled",
             "includeTargets": [{"id": "all_users", "targetType": "group", "isRegistrationRequired": false}],
             "excludeTargets": []},
        ],
    })
}

fn values(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

#[test]
fn portal_reset_policy_is_one_put_of_the_whole_object_with_the_change_overlaid() {
    let current = portal_reset_object();
    let writes = portal_password_reset(
        &json!({"enabledFor": "all", "registration": {"reconfirmAfterDays": 90}}),
        &current,
    )
    .expect("converts");
    let mut expected = current.clone();
    expected["enablementType"] = json!(2);
    expected["registrationReconfirmIntevalInDays"] = json!(90);
    assert_eq!(
        writes,
        Writes {
            requests: vec![Request {
                service: Service::Portal,
                method: Method::PUT,
                path: "/api/PasswordReset/PasswordResetPolicies".into(),
                body: expected,
            }],
            order: Order::Sequential,
        }
    );
    assert_eq!(
        writes.requests[0].body["emailOptionAllowed"], true,
        "fields ssprctl does not manage go back unchanged"
    );
}

#[test]
fn on_premises_policy_is_one_put_per_flag_in_field_order() {
    let current = json!({"passwordWritebackSupported": false, "accountUnlockEnabled": false,
                         "enablementForTenant": true});
    let writes = portal_on_premises(
        &json!({"unlockWithoutReset": true, "passwordWriteback": true}),
        &current,
    )
    .expect("converts");
    let put = |body: Value| Request {
        service: Service::Portal,
        method: Method::PUT,
        path: "/api/PasswordReset/OnPremisesPasswordResetPolicies".into(),
        body,
    };
    assert_eq!(writes.order, Order::Sequential);
    assert_eq!(
        writes.requests,
        [
            put(json!({"passwordWritebackSupported": true})),
            put(json!({"accountUnlockEnabled": true})),
        ]
    );
    assert!(
        portal_on_premises(&json!({}), &current)
            .expect("converts")
            .requests
            .is_empty()
    );
}

#[test]
fn authorization_policy_is_one_patch_of_only_the_changed_field() {
    let writes = authorization_policy(&json!({"enabled": false})).expect("converts");
    assert_eq!(
        writes.requests,
        [Request {
            service: Service::Graph,
            method: Method::PATCH,
            path: "/policies/authorizationPolicy".into(),
            body: json!({"allowedToUseSSPR": false}),
        }]
    );
}

#[test]
fn methods_policy_patches_each_changed_configuration_with_its_odata_type_first() {
    let writes = authentication_methods(
        &json!({"email": {"state": "enabled"}, "sms": {"state": "disabled"}}),
        &methods_policy(),
    )
    .expect("converts");
    assert_eq!(writes.order, Order::Concurrent);
    let paths: Vec<&str> = writes.requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email",
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms",
        ],
        "no policy-level field changed: the policy itself is not patched"
    );
    for request in &writes.requests {
        assert_eq!(request.method, Method::PATCH);
        assert_eq!(request.service, Service::Graph);
        let first = request
            .body
            .as_object()
            .and_then(|o| o.keys().next().cloned());
        assert_eq!(first.as_deref(), Some("@odata.type"));
    }
    assert_eq!(
        writes.requests[0].body,
        json!({"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "state": "enabled"})
    );
}

#[test]
fn methods_policy_is_patched_only_when_a_policy_level_field_changes() {
    let writes = authentication_methods(
        &json!({"registrationCampaign": {"snoozeDays": 3}, "sms": {"state": "disabled"}}),
        &methods_policy(),
    )
    .expect("converts");
    assert_eq!(writes.requests.len(), 2);
    assert_eq!(
        writes.requests[0].path,
        "/policies/authenticationMethodsPolicy"
    );
    assert_eq!(
        writes.requests[0].body,
        json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {
            "state": "default", "snoozeDurationInDays": 3,
            "includeTargets": [], "excludeTargets": []}}}),
        "the campaign is a complex member: it is sent whole, with the change"
    );
    assert_eq!(
        writes.requests[1].path,
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms"
    );
}

#[test]
fn password_rules_patch_the_existing_object_with_all_values() {
    let existing = json!({
        "id": "0b0a4b5e-0000-4000-8000-000000000001",
        "templateId": crate::wire::PASSWORD_RULE_TEMPLATE_ID,
        "values": values(&[("LockoutThreshold", "10"), ("EnableBannedPasswordCheck", "False"),
                           ("BannedPasswordList", "")]),
    });
    let writes = password_rule_settings(
        &json!({"lockoutThreshold": 5}),
        &PasswordRules::Existing(existing),
    )
    .expect("converts");
    assert_eq!(
        writes.requests,
        [Request {
            service: Service::Graph,
            method: Method::PATCH,
            path: "/groupSettings/0b0a4b5e-0000-4000-8000-000000000001".into(),
            body: json!({"values": values(&[("LockoutThreshold", "5"),
                ("EnableBannedPasswordCheck", "False"), ("BannedPasswordList", "")])}),
        }]
    );
}

#[test]
fn password_rules_are_created_from_the_template_with_every_value() {
    let template = json!({
        "id": crate::wire::PASSWORD_RULE_TEMPLATE_ID,
        "values": [
            {"name": "LockoutThreshold", "type": "System.Int32", "defaultValue": "10"},
            {"name": "EnableBannedPasswordCheck", "type": "System.Boolean", "defaultValue": "True"},
        ],
    });
    let writes = password_rule_settings(
        &json!({"enforceBannedPasswords": false}),
        &PasswordRules::Template(template),
    )
    .expect("converts");
    assert_eq!(
        writes.requests,
        [Request {
            service: Service::Graph,
            method: Method::POST,
            path: "/groupSettings".into(),
            body: json!({
                "templateId": crate::wire::PASSWORD_RULE_TEMPLATE_ID,
                "values": values(&[("LockoutThreshold", "10"), ("EnableBannedPasswordCheck", "False")]),
            }),
        }]
    );
}

#[test]
fn a_value_the_api_cannot_carry_builds_no_request() {
    let template = json!({"values": [{"name": "LockoutThreshold", "defaultValue": "10"}]});
    let err = password_rule_settings(
        &json!({"lockoutThreshold": -1}),
        &PasswordRules::Template(template),
    )
    .expect_err("-1 is not a whole number");
    assert_eq!(err.path, "passwordProtection.lockoutThreshold");
    let err = portal_password_reset(&json!({"enabledFor": "everyone"}), &json!({}))
        .expect_err("not an enablement type");
    assert!(err.to_string().contains("none, selected or all"), "{err}");
}

// Full-object writes checked against the plan's read (lost updates) ---------

fn managed(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| (*p).to_string()).collect()
}

#[test]
fn a_checked_portal_put_is_built_from_the_newer_read_and_reports_what_moved() {
    let planned_from = portal_reset_object();
    let mut current = portal_reset_object();
    current["emailOptionEnabled"] = json!(false);
    let partial = json!({ "registration": { "reconfirmAfterDays": 90 } });
    let m = managed(&["selfServicePasswordReset.registration.reconfirmAfterDays"]);
    let (writes, written) = checked_full_object(
        Api::PortalPasswordReset,
        current.clone(),
        Some(&planned_from),
        &m,
        || portal_password_reset(&partial, &current),
    )
    .expect("an unmanaged change does not refuse");
    let body = &writes.requests[0].body;
    assert_eq!(body["registrationReconfirmIntevalInDays"], 90);
    assert_eq!(
        body["emailOptionEnabled"], false,
        "the other writer's value"
    );
    assert_eq!(written.built_from.as_ref(), Some(&current));
    let moved: Vec<(&str, bool)> = written
        .concurrent
        .iter()
        .map(|c| (c.field.as_str(), c.managed))
        .collect();
    assert_eq!(
        moved,
        vec![("selfServicePasswordReset.methods.email", false)]
    );
}

#[test]
fn a_checked_portal_put_is_refused_when_a_managed_setting_moved() {
    let planned_from = portal_reset_object();
    let mut current = portal_reset_object();
    current["registrationReconfirmIntevalInDays"] = json!(30);
    let partial = json!({ "registration": { "reconfirmAfterDays": 90 } });
    let m = managed(&["selfServicePasswordReset.registration.reconfirmAfterDays"]);
    let refused = checked_full_object(
        Api::PortalPasswordReset,
        current.clone(),
        Some(&planned_from),
        &m,
        || portal_password_reset(&partial, &current),
    )
    .expect_err("the plan was reviewed against 180");
    assert_eq!(
        refused.to_string(),
        "portal PasswordResetPolicies: nothing was written: changed since the plan was read: selfServicePasswordReset.registration.reconfirmAfterDays: 180 -> 30"
    );
}

#[test]
fn a_checked_password_rule_write_compares_the_flat_values() {
    let live = PasswordRules::Existing(json!({
        "id": "s1",
        "templateId": wire::PASSWORD_RULE_TEMPLATE_ID,
        "values": [
            { "name": "LockoutThreshold", "value": "10" },
            { "name": "BannedPasswordList", "value": "" }
        ]
    }));
    let planned_from = json!({ "LockoutThreshold": "5", "BannedPasswordList": "" });
    let partial = json!({ "bannedPasswords": ["contoso"] });
    let m = managed(&["passwordProtection.bannedPasswords"]);
    let (writes, written) = checked_full_object(
        Api::GraphPasswordRuleSettings,
        live.values(),
        Some(&planned_from),
        &m,
        || password_rule_settings(&partial, &live),
    )
    .expect("the threshold is not managed");
    assert_eq!(
        writes.requests[0].body["values"][0],
        json!({ "name": "LockoutThreshold", "value": "10" }),
        "kept"
    );
    assert_eq!(written.concurrent.len(), 1);
    assert_eq!(
        written.concurrent[0].field,
        "passwordProtection.lockoutThreshold"
    );
    assert_eq!(
        (&written.concurrent[0].before, &written.concurrent[0].after),
        (&json!(5), &json!(10))
    );
}
