use std::collections::BTreeSet;

use serde_json::{Value, json};
use ssprctl_model::Api;

use super::*;

/// A portal `PasswordResetPolicies` object as the service returns it.
fn portal() -> Value {
    json!({
        "objectId": "default",
        "enablementType": 2,
        "numberOfAuthenticationMethodsRequired": 1,
        "emailOptionEnabled": true,
        "mobilePhoneOptionEnabled": true,
        "officePhoneOptionEnabled": false,
        "securityQuestionsOptionEnabled": false,
        "mobileAppNotificationEnabled": false,
        "mobileAppCodeEnabled": false,
        "numberOfQuestionsToRegister": 3,
        "numberOfQuestionsToReset": 3,
        "registrationRequiredOnSignIn": true,
        "registrationReconfirmIntevalInDays": 180,
        "skipRegistrationAllowed": true,
        "skipRegistrationMaxAllowedDays": 7,
        "customizeHelpdeskLink": false,
        "customHelpdeskEmailOrUrl": "",
        "notifyUsersOnPasswordReset": true,
        "notifyOnAdminPasswordReset": true,
        "passwordResetEnabledGroupIds": [],
        "passwordResetEnabledGroupName": "",
        "securityQuestions": [],
        "registrationConditionalAccessPolicies": [],
        "emailOptionAllowed": true
    })
}

fn managed(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| (*p).to_string()).collect()
}

#[test]
fn nothing_moved_is_nothing_to_report() {
    let m = managed(&["selfServicePasswordReset.methodsRequired"]);
    assert_eq!(
        check_before_write(Api::PortalPasswordReset, &portal(), &portal(), &m),
        Ok(Vec::new())
    );
}

#[test]
fn an_unmanaged_catalog_setting_that_moved_is_kept_and_reported_in_model_terms() {
    let mut now = portal();
    now["notifyOnAdminPasswordReset"] = json!(false);
    let m = managed(&["selfServicePasswordReset.methodsRequired"]);
    let kept = check_before_write(Api::PortalPasswordReset, &portal(), &now, &m)
        .expect("an unmanaged change does not refuse");
    assert_eq!(
        kept,
        vec![ConcurrentChange {
            api: Api::PortalPasswordReset,
            field: "selfServicePasswordReset.notifications.notifyAdminsOnAdminReset".into(),
            managed: false,
            before: json!(true),
            after: json!(false),
        }]
    );
    // The body is built from the newer read: the other writer's value stays.
    let writes = super::super::write::portal_password_reset(&json!({ "methodsRequired": 2 }), &now)
        .expect("writable");
    assert_eq!(writes.requests[0].body["notifyOnAdminPasswordReset"], false);
    assert_eq!(
        writes.requests[0].body["numberOfAuthenticationMethodsRequired"],
        2
    );
}

#[test]
fn a_wire_field_outside_the_catalog_is_compared_by_its_wire_name() {
    // A field the portal serves that no catalog entry maps.
    let mut before = portal();
    before["someFutureSetting"] = json!(7);
    let mut now = before.clone();
    now["someFutureSetting"] = json!(14);
    let moved = check_before_write(Api::PortalPasswordReset, &before, &now, &managed(&[]))
        .expect("unmanaged");
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].field, "someFutureSetting");
    assert_eq!(
        (moved[0].before.clone(), moved[0].after.clone()),
        (json!(7), json!(14))
    );
}

#[test]
fn server_computed_fields_are_not_compared() {
    let mut now = portal();
    now["passwordResetEnabledGroupName"] = json!("Renamed");
    now["emailOptionAllowed"] = json!(false);
    now["@odata.context"] = json!("x");
    assert_eq!(
        check_before_write(Api::PortalPasswordReset, &portal(), &now, &managed(&[])),
        Ok(Vec::new())
    );
}

#[test]
fn a_managed_setting_that_moved_refuses_the_surface_with_everything_that_moved() {
    let mut now = portal();
    now["emailOptionEnabled"] = json!(false);
    now["notifyUsersOnPasswordReset"] = json!(false);
    let m = managed(&[
        "selfServicePasswordReset.methodsRequired",
        "selfServicePasswordReset.methods.email",
    ]);
    let refused = check_before_write(Api::PortalPasswordReset, &portal(), &now, &m)
        .expect_err("a managed setting moved");
    let fields: Vec<(&str, bool)> = refused
        .iter()
        .map(|c| (c.field.as_str(), c.managed))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("selfServicePasswordReset.methods.email", true),
            (
                "selfServicePasswordReset.notifications.notifyUsersOnReset",
                false
            ),
        ]
    );
}

#[test]
fn password_rules_compare_the_flat_values() {
    let base = json!({ "LockoutThreshold": "10", "BannedPasswordList": "a\tb", "Other": "x" });
    let now = json!({ "LockoutThreshold": "20", "BannedPasswordList": "a\tb", "Other": "y" });
    let m = managed(&["passwordProtection.bannedPasswords"]);
    let moved = check_before_write(Api::GraphPasswordRuleSettings, &base, &now, &m)
        .expect("unmanaged only");
    let fields: Vec<&str> = moved.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["passwordProtection.lockoutThreshold", "Other"]);
    assert_eq!(moved[0].before, json!(10));
    assert_eq!(moved[0].after, json!(20));
}

#[test]
fn managed_paths_are_the_catalog_settings_the_desired_state_names() {
    let settings: ssprctl_model::Settings = serde_json::from_value(json!({
        "selfServicePasswordReset": { "methodsRequired": 2, "methods": { "email": true } }
    }))
    .expect("settings");
    assert_eq!(
        managed_paths(Api::PortalPasswordReset, &settings),
        managed(&[
            "selfServicePasswordReset.methodsRequired",
            "selfServicePasswordReset.methods.email",
        ])
    );
    assert!(managed_paths(Api::GraphPasswordRuleSettings, &settings).is_empty());
}

#[test]
fn request_groups_follow_the_write_rules() {
    let one = request_groups(
        Api::PortalPasswordReset,
        &[
            "selfServicePasswordReset.methodsRequired",
            "selfServicePasswordReset.methods.email",
        ],
    );
    assert_eq!(one.len(), 1);
    let flags = request_groups(
        Api::PortalOnPremises,
        &[
            "onPremisesIntegration.passwordWriteback",
            "onPremisesIntegration.unlockWithoutReset",
        ],
    );
    assert_eq!(flags.len(), 2);
    let methods = request_groups(
        Api::GraphAuthenticationMethods,
        &[
            "authenticationMethods.sms.state",
            "authenticationMethods.sms.include",
            "authenticationMethods.email.state",
        ],
    );
    assert_eq!(
        methods,
        vec![
            vec![
                "authenticationMethods.sms.state".to_string(),
                "authenticationMethods.sms.include".to_string()
            ],
            vec!["authenticationMethods.email.state".to_string()],
        ]
    );
}

#[test]
fn only_the_portal_policy_and_the_password_rules_are_full_object_writes() {
    let full: Vec<Api> = Api::ALL.into_iter().filter(|a| full_object(*a)).collect();
    assert_eq!(
        full,
        vec![Api::PortalPasswordReset, Api::GraphPasswordRuleSettings]
    );
}
