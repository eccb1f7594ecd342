//! What a read asks for, and how its answers decode.

use serde_json::{Value, json};
use ssprctl_model::{Api, Settings};

use super::*;
use crate::error::ProviderError;

fn settings(v: Value) -> Settings {
    serde_json::from_value(v).expect("test settings are valid")
}

fn ids(plan: &ReadPlan) -> Vec<&str> {
    plan.batch.iter().map(|r| r.id.as_str()).collect()
}

fn denied(api: Api) -> ProviderError {
    ProviderError::Api {
        api,
        status: 403,
        code: Some("Authorization_RequestDenied".into()),
        message: "Insufficient privileges".into(),
        request_id: None,
    }
}

fn not_found(api: Api) -> ProviderError {
    ProviderError::Api {
        api,
        status: 404,
        code: Some("Request_ResourceNotFound".into()),
        message: "gone".into(),
        request_id: None,
    }
}

#[test]
fn nothing_managed_reads_nothing() {
    let plan = ReadPlan::for_settings(&Settings::default());
    assert!(plan.needed.is_empty());
    assert!(plan.batch.is_empty());
    assert!(plan.portal.is_empty());
}

#[test]
fn each_surface_reads_its_objects_and_every_read_reads_the_facts() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "administratorPasswordReset": {"enabled": false},
        "passwordProtection": {"lockoutThreshold": 10},
        "onPremisesIntegration": {"passwordWriteback": true},
    })));
    assert_eq!(
        ids(&plan),
        ["authz", "settings", "template", "organization", "skus"]
    );
    assert_eq!(plan.portal, [Api::PortalOnPremises]);
    assert_eq!(
        plan.batch[2].path,
        "/groupSettingTemplates/5cf42378-d67d-4f36-ba46-e8b86229381d"
    );
}

#[test]
fn legacy_reset_methods_also_read_the_methods_policy_for_its_migration_state() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "selfServicePasswordReset": {"methods": {"email": true}},
    })));
    assert_eq!(ids(&plan), ["methods", "organization", "skus"]);
    assert_eq!(plan.portal, [Api::PortalPasswordReset]);
    assert!(!plan.needed.contains(&Api::GraphAuthenticationMethods));
}

#[test]
fn the_sspr_group_is_looked_up_by_id_or_by_quoted_encoded_name() {
    let by_id = ReadPlan::for_settings(&settings(json!({
        "selfServicePasswordReset": {"group": {"id": "b6cdb9c3-d660-4558-bcfd-82c14a986b56", "displayName": "Pilot"}},
    })));
    let lookup = by_id.batch.last().expect("a group lookup");
    assert_eq!(lookup.id, "group-id");
    assert_eq!(
        lookup.path,
        "/groups/b6cdb9c3-d660-4558-bcfd-82c14a986b56?$select=id,displayName,securityEnabled"
    );
    let by_name = ReadPlan::for_settings(&settings(json!({
        "selfServicePasswordReset": {"group": {"displayName": "O'Neil's"}},
    })));
    let lookup = by_name.batch.last().expect("a group lookup");
    assert_eq!(lookup.id, "group-name");
    assert_eq!(
        lookup.path,
        "/groups?$filter=displayName%20eq%20%27O%27%27Neil%27%27s%27&$select=id,displayName,securityEnabled"
    );
    assert_eq!(by_name.group_name.as_deref(), Some("O'Neil's"));
}

#[test]
fn a_refused_surface_is_unreadable_with_the_error_but_not_its_surface() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "administratorPasswordReset": {"enabled": false},
        "onPremisesIntegration": {"passwordWriteback": true},
    })));
    let mut answers = ReadAnswers::default();
    answers
        .batch
        .insert("authz".into(), Err(denied(Api::GraphAuthorizationPolicy)));
    answers.portal.push((
        Api::PortalOnPremises,
        Ok(
            json!({"passwordWritebackSupported": true, "accountUnlockEnabled": false,
                  "enablementForTenant": true}),
        ),
    ));
    let observed = decode(&plan, answers);
    assert_eq!(observed.unreadable.len(), 1);
    assert_eq!(observed.unreadable[0].api, Api::GraphAuthorizationPolicy);
    assert_eq!(
        observed.unreadable[0].reason,
        "HTTP 403 Authorization_RequestDenied: Insufficient privileges"
    );
    let onprem = observed
        .settings
        .on_premises_integration
        .as_ref()
        .expect("the on-premises section was read");
    assert_eq!(onprem.password_writeback, Some(true));
    assert_eq!(observed.facts.writeback_client, Some(true));
    assert!(observed.digests.contains_key(&Api::PortalOnPremises));
    assert!(
        !observed
            .digests
            .contains_key(&Api::GraphAuthorizationPolicy)
    );
}

#[test]
fn without_a_setting_object_the_template_defaults_are_observed() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "passwordProtection": {"lockoutThreshold": 5},
    })));
    let mut answers = ReadAnswers::default();
    answers
        .batch
        .insert("settings".into(), Ok(json!({"value": []})));
    answers.batch.insert(
        "template".into(),
        Ok(json!({"values": [{"name": "LockoutThreshold", "defaultValue": "10"}]})),
    );
    let observed = decode(&plan, answers);
    assert!(observed.unreadable.is_empty(), "{:?}", observed.unreadable);
    let rules = observed
        .settings
        .password_protection
        .as_ref()
        .expect("the template was read");
    assert_eq!(rules.lockout_threshold, Some(10));
}

#[test]
fn a_missing_group_is_not_a_lookup_error_a_refused_lookup_is() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "selfServicePasswordReset": {"group": {"id": "b6cdb9c3-d660-4558-bcfd-82c14a986b56"}},
    })));
    let mut answers = ReadAnswers::default();
    answers
        .batch
        .insert("group-id".into(), Err(not_found(Api::PortalPasswordReset)));
    let observed = decode(&plan, answers);
    assert_eq!(observed.group_lookup_error, None);
    assert!(observed.groups_by_id.is_empty());

    let mut answers = ReadAnswers::default();
    answers
        .batch
        .insert("group-id".into(), Err(denied(Api::PortalPasswordReset)));
    let observed = decode(&plan, answers);
    assert_eq!(
        observed.group_lookup_error.as_deref(),
        Some("HTTP 403 Authorization_RequestDenied: Insufficient privileges")
    );
}

#[test]
fn groups_found_by_name_are_listed_under_the_desired_name_with_lowercase_ids() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "selfServicePasswordReset": {"group": {"displayName": "Pilot"}},
    })));
    let mut answers = ReadAnswers::default();
    answers.batch.insert(
        "group-name".into(),
        Ok(
            json!({"value": [{"id": "B6CDB9C3-D660-4558-BCFD-82C14A986B56", "displayName": "Pilot",
                             "securityEnabled": true}]}),
        ),
    );
    let observed = decode(&plan, answers);
    let found = &observed.groups_by_name["Pilot"];
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "b6cdb9c3-d660-4558-bcfd-82c14a986b56");
    assert!(found[0].security_enabled);
}

#[test]
fn an_unexpected_live_value_costs_only_its_section() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "administratorPasswordReset": {"enabled": false},
        "onPremisesIntegration": {"passwordWriteback": true},
    })));
    let mut answers = ReadAnswers::default();
    answers
        .batch
        .insert("authz".into(), Ok(json!({"allowedToUseSSPR": "sometimes"})));
    answers.portal.push((
        Api::PortalOnPremises,
        Ok(json!({"passwordWritebackSupported": false})),
    ));
    let observed = decode(&plan, answers);
    assert_eq!(observed.unreadable.len(), 1);
    assert_eq!(observed.unreadable[0].api, Api::GraphAuthorizationPolicy);
    assert!(
        observed.unreadable[0]
            .reason
            .starts_with("the live value has an unexpected form:")
    );
    assert!(observed.settings.on_premises_integration.is_some());
}

#[test]
fn no_connection_makes_every_managed_surface_unreadable() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "administratorPasswordReset": {"enabled": false},
        "onPremisesIntegration": {"passwordWriteback": true},
    })));
    let observed = unreadable(
        &plan,
        &ProviderError::NoCredential {
            api: Api::GraphAuthorizationPolicy,
            hint: "no connection configured for tenant contoso".into(),
        },
    );
    let apis: Vec<Api> = observed.unreadable.iter().map(|u| u.api).collect();
    assert_eq!(apis, [Api::PortalOnPremises, Api::GraphAuthorizationPolicy]);
    assert_eq!(
        observed.unreadable[0].reason,
        "no credential: no connection configured for tenant contoso"
    );
}

#[test]
fn facts_come_from_the_organization_and_the_skus() {
    let plan = ReadPlan::for_settings(&settings(json!({
        "administratorPasswordReset": {"enabled": false},
    })));
    let mut answers = ReadAnswers::default();
    answers.batch.insert(
        "organization".into(),
        Ok(json!({"value": [{"id": "o", "onPremisesSyncEnabled": true}]})),
    );
    answers
        .batch
        .insert("skus".into(), Err(denied(Api::GraphAuthorizationPolicy)));
    let observed = decode(&plan, answers);
    assert_eq!(observed.facts.directory_sync, Some(true));
    assert_eq!(observed.facts.licences, None, "a refused fact is not read");
}

#[test]
fn an_export_read_of_every_surface_asks_for_each_object_and_nothing_else() {
    let all: std::collections::BTreeSet<Api> = Api::ALL.into_iter().collect();
    let plan = ReadPlan::for_surfaces(&all);
    assert_eq!(ids(&plan), ["authz", "methods", "settings", "template"]);
    assert_eq!(
        plan.portal,
        [Api::PortalPasswordReset, Api::PortalOnPremises]
    );
    assert_eq!(plan.group_name, None);
}

#[test]
fn an_export_read_of_one_surface_reads_only_that_surface() {
    let plan = ReadPlan::for_surfaces(&[Api::GraphAuthorizationPolicy].into_iter().collect());
    assert_eq!(ids(&plan), ["authz"]);
    assert!(plan.portal.is_empty());
}

#[test]
fn group_lookups_skip_non_guids_and_quote_names() {
    let ids_in = vec![
        "allUsers".to_string(),
        "B6CDB9C3-D660-4558-BCFD-82C14A986B56".to_string(),
    ];
    let names = vec!["O'Brien's team".to_string()];
    let requests = group_requests(&ids_in, &names);
    let got: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, ["gid-0", "gname-0"]);
    assert!(
        requests[0]
            .path
            .starts_with("/groups/B6CDB9C3-D660-4558-BCFD-82C14A986B56?")
    );
    assert!(
        requests[1]
            .path
            .contains("%27O%27%27Brien%27%27s%20team%27"),
        "a quote in the name is doubled inside the quoted filter: {}",
        requests[1].path
    );
}

#[test]
fn group_lookup_answers_keep_not_found_apart_from_failures() {
    let ids_in = vec![
        "b6cdb9c3-d660-4558-bcfd-82c14a986b56".to_string(),
        "c6cdb9c3-d660-4558-bcfd-82c14a986b56".to_string(),
        "d6cdb9c3-d660-4558-bcfd-82c14a986b56".to_string(),
    ];
    let names = vec!["Pilot".to_string()];
    let mut answers = Answers::new();
    answers.insert(
        "gid-0".into(),
        Ok(json!({"id": "B6CDB9C3-D660-4558-BCFD-82C14A986B56", "displayName": "Pilot", "securityEnabled": true})),
    );
    answers.insert("gid-1".into(), Err(not_found(Api::PortalPasswordReset)));
    answers.insert("gid-2".into(), Err(denied(Api::PortalPasswordReset)));
    answers.insert(
        "gname-0".into(),
        Ok(json!({"value": [
            {"id": "b6cdb9c3-d660-4558-bcfd-82c14a986b56", "displayName": "Pilot"},
            {"id": "e6cdb9c3-d660-4558-bcfd-82c14a986b56", "displayName": "Pilot"}
        ]})),
    );
    let lookup = decode_group_lookup(&ids_in, &names, answers);
    assert_eq!(lookup.by_id.len(), 1);
    assert_eq!(
        lookup.by_id["b6cdb9c3-d660-4558-bcfd-82c14a986b56"].display_name,
        "Pilot"
    );
    assert_eq!(lookup.by_name["Pilot"].len(), 2);
    assert_eq!(lookup.failed.keys().collect::<Vec<_>>(), [&ids_in[2]]);
}

#[test]
fn what_a_read_needs_agrees_with_the_sections_the_settings_serialise() {
    // `for_settings` looks at the typed settings; it used to look at their
    // JSON form: both must name the same surfaces and legacy-methods read.
    let cases = [
        json!({}),
        json!({"selfServicePasswordReset": {}}),
        json!({"selfServicePasswordReset": {"enabledFor": "all"}}),
        json!({"selfServicePasswordReset": {"methods": {"email": true}}}),
        json!({"onPremisesIntegration": {"passwordWriteback": true}}),
        json!({"administratorPasswordReset": {"enabled": false}}),
        json!({"authenticationMethods": {}}),
        json!({"passwordProtection": {"lockoutThreshold": 10}}),
        json!({
            "selfServicePasswordReset": {"methodsRequired": 2, "methods": {"email": true}},
            "onPremisesIntegration": {},
            "administratorPasswordReset": {"enabled": true},
            "authenticationMethods": {},
            "passwordProtection": {},
        }),
    ];
    for case in cases {
        let typed = settings(case.clone());
        let wanted = serde_json::to_value(&typed).expect("settings serialise");
        let plan = ReadPlan::for_settings(&typed);
        for api in Api::ALL {
            assert_eq!(
                plan.needed.contains(&api),
                wanted.get(api.section()).is_some(),
                "{api:?} of {case}"
            );
        }
        let legacy = wanted
            .pointer("/selfServicePasswordReset/methods")
            .is_some();
        assert_eq!(
            ids(&plan).contains(&"methods"),
            legacy || plan.needed.contains(&Api::GraphAuthenticationMethods),
            "{case}"
        );
    }
}

#[test]
fn each_section_is_decoded_once_into_the_same_settings_as_all_at_once() {
    // The observed settings are now built section by section from each
    // section's own decoding; they equal the old decoding of every readable
    // section together.
    let plan = ReadPlan::for_settings(&settings(json!({
        "administratorPasswordReset": {"enabled": false},
        "onPremisesIntegration": {"passwordWriteback": true},
    })));
    let mut answers = ReadAnswers::default();
    answers.batch.insert(
        "authz".into(),
        Ok(json!({"allowedToUseSSPR": true, "unknownField": [1, 2]})),
    );
    answers.portal.push((
        Api::PortalOnPremises,
        Ok(json!({"enablementForTenant": true, "passwordWritebackSupported": false})),
    ));
    let observed = decode(&plan, answers);
    let mut all = serde_json::Map::new();
    all.insert(
        Api::GraphAuthorizationPolicy.section().into(),
        wire::observe(
            Api::GraphAuthorizationPolicy,
            &json!({"allowedToUseSSPR": true, "unknownField": [1, 2]}),
        ),
    );
    all.insert(
        Api::PortalOnPremises.section().into(),
        wire::observe(
            Api::PortalOnPremises,
            &json!({"enablementForTenant": true, "passwordWritebackSupported": false}),
        ),
    );
    let old: Settings = serde_json::from_value(Value::Object(all)).expect("sections decode");
    assert_eq!(observed.settings, old);
    assert!(observed.settings.administrator_password_reset.is_some());
    assert!(observed.settings.on_premises_integration.is_some());
}
