//! Graph versions: each object is served per Microsoft's published v1.0 and
//! beta metadata (see the emulator's `shapes` module); writes naming a
//! property the version lacks fail as unknown properties.

use super::*;

const METHODS: &str = "policies/authenticationMethodsPolicy";

async fn get(emu: &Emu, t: &str, path: &str) -> Value {
    let (status, body) = emu.call("GET", path, Some(t), None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

fn config<'a>(policy: &'a Value, id: &str) -> &'a Value {
    policy["authenticationMethodConfigurations"]
        .as_array()
        .expect("configurations")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("configuration {id} is served"))
}

#[tokio::test]
async fn voice_caller_id_is_beta_only_and_custom_greeting_is_in_neither_version() {
    let emu = start().await;
    let t = emu.app_token().await;
    let v1 = get(
        &emu,
        &t,
        &format!("/v1.0/{METHODS}/authenticationMethodConfigurations/Voice"),
    )
    .await;
    let beta = get(
        &emu,
        &t,
        &format!("/beta/{METHODS}/authenticationMethodConfigurations/Voice"),
    )
    .await;
    assert!(v1.get("callerIdNumber").is_none(), "{v1}");
    assert!(beta.get("callerIdNumber").is_some(), "{beta}");
    for body in [&v1, &beta] {
        assert!(body.get("isCustomGreetingEnabled").is_none(), "{body}");
        assert_eq!(body["isOfficePhoneAllowed"], false);
    }
    // The expanded policy serves the same shape as the item.
    let policy = get(&emu, &t, &format!("/v1.0/{METHODS}")).await;
    assert!(config(&policy, "Voice").get("callerIdNumber").is_none());

    let patch = |prop: &str| json!({"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", prop: "+15550100"});
    let path = |v: &str| format!("/{v}/{METHODS}/authenticationMethodConfigurations/Voice");
    let (status, err) = emu
        .call(
            "PATCH",
            &path("v1.0"),
            Some(&t),
            Some(patch("callerIdNumber")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&err, "BadRequest", "callerIdNumber");
    let (status, _) = emu
        .call(
            "PATCH",
            &path("beta"),
            Some(&t),
            Some(patch("callerIdNumber")),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let beta = get(&emu, &t, &path("beta")).await;
    assert_eq!(beta["callerIdNumber"], "+15550100");
    for v in ["v1.0", "beta"] {
        let body = json!({"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "isCustomGreetingEnabled": true});
        let (status, err) = emu.call("PATCH", &path(v), Some(&t), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_graph_error(&err, "BadRequest", "isCustomGreetingEnabled");
    }
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn organization_directory_size_quota_is_beta_only() {
    let emu = start().await;
    let t = emu.app_token().await;
    let v1 = get(&emu, &t, "/v1.0/organization").await;
    let beta = get(&emu, &t, "/beta/organization").await;
    assert!(v1["value"][0].get("directorySizeQuota").is_none(), "{v1}");
    assert!(
        beta["value"][0]["directorySizeQuota"]["total"].is_number(),
        "{beta}"
    );
    // ssprctl's own v1.0 reads are still there.
    assert!(v1["value"][0].get("onPremisesSyncEnabled").is_some());
    assert!(v1["value"][0]["assignedPlans"].is_array());
    let item = get(&emu, &t, &format!("/v1.0/organization/{TENANT}")).await;
    assert!(item.get("directorySizeQuota").is_none(), "{item}");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn beta_authorization_policy_is_a_collection_addressed_by_id() {
    let emu = start().await;
    let t = emu.app_token().await;
    let v1 = get(&emu, &t, "/v1.0/policies/authorizationPolicy").await;
    assert_eq!(v1["id"], "authorizationPolicy");
    assert!(v1.get("value").is_none());
    assert!(v1["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"].is_array());
    assert!(v1.get("enabledPreviewFeatures").is_none());

    let beta = get(&emu, &t, "/beta/policies/authorizationPolicy").await;
    assert_eq!(
        beta["@odata.context"],
        "https://graph.microsoft.com/beta/$metadata#policies/authorizationPolicy"
    );
    let items = beta["value"].as_array().expect("beta serves a collection");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "authorizationPolicy");
    assert_eq!(items[0]["allowedToUseSSPR"], true);
    assert!(
        items[0]["defaultUserRolePermissions"]
            .get("permissionGrantPoliciesAssigned")
            .is_none()
    );
    assert_eq!(
        items[0]["permissionGrantPolicyIdsAssignedToDefaultUserRole"],
        v1["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"]
    );

    let item_path = "/beta/policies/authorizationPolicy/authorizationPolicy";
    let item = get(&emu, &t, item_path).await;
    assert_eq!(item["id"], "authorizationPolicy");
    assert_eq!(
        item["@odata.context"],
        "https://graph.microsoft.com/beta/$metadata#policies/authorizationPolicy/$entity"
    );
    let (status, err) = emu
        .call(
            "GET",
            "/beta/policies/authorizationPolicy/other",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    // v1.0 has no item route under the singleton.
    let (status, _) = emu
        .call(
            "GET",
            "/v1.0/policies/authorizationPolicy/authorizationPolicy",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Writes on beta go to the item; the collection takes none.
    let body = json!({"allowedToUseSSPR": false});
    let (status, _) = emu
        .call(
            "PATCH",
            "/beta/policies/authorizationPolicy",
            Some(&t),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = emu.call("PATCH", item_path, Some(&t), Some(body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let v1 = get(&emu, &t, "/v1.0/policies/authorizationPolicy").await;
    assert_eq!(v1["allowedToUseSSPR"], false);
    let grants = json!({"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned": []}});
    let (status, err) = emu.call("PATCH", item_path, Some(&t), Some(grants)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(
        &err,
        "Request_BadRequest",
        "permissionGrantPoliciesAssigned",
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn methods_policy_beta_only_settings_are_left_out_of_v1() {
    let emu = start().await;
    let t = emu.app_token().await;
    let v1 = get(&emu, &t, &format!("/v1.0/{METHODS}")).await;
    let beta = get(&emu, &t, &format!("/beta/{METHODS}")).await;
    for prop in [
        "systemCredentialPreferences",
        "reportSuspiciousActivitySettings",
    ] {
        assert!(v1.get(prop).is_none(), "v1.0 {prop}");
        assert!(beta.get(prop).is_some(), "beta {prop}");
    }
    // Microsoft Authenticator: two feature settings are beta-only.
    let v1_features = &config(&v1, "MicrosoftAuthenticator")["featureSettings"];
    let beta_features = &config(&beta, "MicrosoftAuthenticator")["featureSettings"];
    for f in ["companionAppAllowedState", "numberMatchingRequiredState"] {
        assert!(v1_features.get(f).is_none(), "v1.0 {f}");
        assert!(beta_features.get(f).is_some(), "beta {f}");
    }
    assert!(
        v1_features
            .get("displayAppInformationRequiredState")
            .is_some()
    );
    // X.509: the CRL validation configuration is v1.0-only.
    assert!(
        config(&v1, "X509Certificate")
            .get("crlValidationConfiguration")
            .is_some()
    );
    assert!(
        config(&beta, "X509Certificate")
            .get("crlValidationConfiguration")
            .is_none()
    );
    // Kept on v1.0 though its metadata lacks them (quirks): ssprctl reads them.
    assert!(
        v1["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"]
            .get("enforceRegistrationAfterAllowedSnoozes")
            .is_some()
    );
    config(&v1, "HardwareOath");

    // A v1.0 write naming a beta-only property is an unknown property.
    let (status, err) = emu
        .call(
            "PATCH",
            &format!("/v1.0/{METHODS}"),
            Some(&t),
            Some(json!({"systemCredentialPreferences": {"state": "enabled"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&err, "BadRequest", "does not exist");
    let (status, err) = emu
        .call(
            "PATCH",
            &format!("/beta/{METHODS}"),
            Some(&t),
            Some(json!({"systemCredentialPreferences": {"state": "enabled"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&err, "BadRequest", "read-only");
    let feature = json!({
        "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
        "featureSettings": {"numberMatchingRequiredState": {"state": "enabled", "includeTarget": {"targetType": "group", "id": "all_users"}}}
    });
    let path = |v: &str| {
        format!("/{v}/{METHODS}/authenticationMethodConfigurations/MicrosoftAuthenticator")
    };
    let (status, err) = emu
        .call("PATCH", &path("v1.0"), Some(&t), Some(feature.clone()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&err, "BadRequest", "numberMatchingRequiredState");
    let (status, err) = emu
        .call("PATCH", &path("beta"), Some(&t), Some(feature))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{err}");
    emu.handle.shutdown().await;
}
