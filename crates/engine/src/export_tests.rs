//! The shaping of an export: which fields, baseline extraction, defaults,
//! the SSPR group by name or id, quoting. Every shaped file is also loaded
//! back by `shape` itself (a mismatch is an error), so each test that gets
//! `Ok` has checked the round trip.

use serde_json::json;
use ssprctl_model::{Endpoint, GroupInfo, Settings, TenantEntry};

use super::*;

const PILOT: &str = "b6cdb9c3-d660-4558-bcfd-82c14a986b56";
const OTHER: &str = "c6cdb9c3-d660-4558-bcfd-82c14a986b56";

fn opts(all_settings: bool, omit_defaults: bool) -> ExportOptions {
    ExportOptions {
        all_settings,
        omit_defaults,
        schema: DEFAULT_SCHEMA.into(),
        source: "a test".into(),
        exported_at: "2026-11-30T12:00:00Z".into(),
    }
}

fn tenant(name: &str, id_digit: char, settings: serde_json::Value) -> LiveTenant {
    LiveTenant {
        entry: TenantEntry {
            name: name.into(),
            tenant_id: format!(
                "{}-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
                id_digit.to_string().repeat(8)
            ),
            endpoint: Endpoint::Local,
            credentials: None,
            settings: Settings::default().into(),
            exceptions: Vec::new(),
        },
        settings: serde_json::from_value(settings).expect("test settings"),
        groups: GroupLookup::default(),
    }
}

fn group(id: &str, name: &str) -> GroupInfo {
    GroupInfo {
        id: id.into(),
        display_name: name.into(),
        security_enabled: true,
    }
}

fn loaded(yaml: &str) -> ssprctl_model::Config {
    ssprctl_model::load_str("t.yaml", yaml).expect("the export loads")
}

#[test]
fn default_selection_is_decided_for_every_field_and_reads_fewer_surfaces() {
    let default = chosen_fields(false);
    assert!(default.len() < FIELDS.len());
    assert_eq!(chosen_fields(true).len(), FIELDS.len());
    assert!(!surfaces(false).contains(&Api::PortalOnPremises));
    assert_eq!(surfaces(true).len(), Api::ALL.len());
}

#[test]
fn one_tenant_keeps_its_settings_in_catalog_order_with_the_schema_comment_first() {
    let t = tenant(
        "contoso",
        '6',
        json!({
            "selfServicePasswordReset": {"enabledFor": "all", "methodsRequired": 2,
                "methods": {"email": true, "mobilePhone": false}},
            "administratorPasswordReset": {"enabled": false}
        }),
    );
    let out = shape(&[t], &opts(false, false)).expect("shaped");
    assert!(
        out.yaml
            .starts_with("# yaml-language-server: $schema=../schemas/ssprctl.schema.json\n")
    );
    assert!(!out.yaml.contains("baseline:"), "{}", out.yaml);
    let sspr = out.yaml.find("selfServicePasswordReset:").expect("sspr");
    let admin = out.yaml.find("administratorPasswordReset:").expect("admin");
    assert!(sspr < admin, "{}", out.yaml);
    assert!(
        out.yaml
            .contains("        enabledFor: all\n        methodsRequired: 2\n"),
        "{}",
        out.yaml
    );
    let config = loaded(&out.yaml);
    assert_eq!(
        config.tenants[0]
            .settings
            .administrator_password_reset
            .as_ref()
            .and_then(|a| a.enabled),
        Some(false)
    );
}

#[test]
fn shared_values_go_to_the_baseline_and_differences_stay_with_each_tenant() {
    let a = tenant(
        "a",
        '1',
        json!({"selfServicePasswordReset": {"enabledFor": "all", "methodsRequired": 2},
               "passwordProtection": {"lockoutThreshold": 10, "bannedPasswords": ["contoso", "summer"]}}),
    );
    let b = tenant(
        "b",
        '2',
        json!({"selfServicePasswordReset": {"enabledFor": "all", "methodsRequired": 1},
               "passwordProtection": {"lockoutThreshold": 10, "bannedPasswords": ["summer"]}}),
    );
    let out = shape(&[a, b], &opts(false, false)).expect("shaped");
    let file = loaded(&out.yaml).file;
    let base = serde_json::to_value(&file.baseline).expect("json");
    assert_eq!(
        base,
        json!({"selfServicePasswordReset": {"enabledFor": "all"}, "passwordProtection": {"lockoutThreshold": 10}})
    );
    let own_a = serde_json::to_value(&file.tenants[0].settings).expect("json");
    assert_eq!(
        own_a,
        json!({"selfServicePasswordReset": {"methodsRequired": 2},
               "passwordProtection": {"bannedPasswords": ["contoso", "summer"]}})
    );
}

#[test]
fn a_setting_only_some_tenants_have_is_never_in_the_baseline() {
    let a = tenant(
        "a",
        '1',
        json!({"administratorPasswordReset": {"enabled": false}}),
    );
    let b = tenant("b", '2', json!({}));
    let out = shape(&[a, b], &opts(false, false)).expect("shaped");
    let config = loaded(&out.yaml);
    assert_eq!(config.file.baseline, Settings::default());
    assert_eq!(*config.tenants[1].settings, Settings::default());
}

#[test]
fn omit_defaults_leaves_out_values_equal_to_the_catalog_default() {
    let t = tenant(
        "contoso",
        '6',
        json!({"selfServicePasswordReset": {"enabledFor": "none", "methodsRequired": 2},
               "authenticationMethods": {"sms": {"state": "enabled", "include": ["allUsers"]}}}),
    );
    let out = shape(std::slice::from_ref(&t), &opts(true, true)).expect("shaped");
    assert!(
        !out.yaml.contains("enabledFor"),
        "default none: {}",
        out.yaml
    );
    assert!(out.yaml.contains("methodsRequired: 2"), "{}", out.yaml);
    assert!(
        !out.yaml.contains("sms"),
        "sms enabled for allUsers is the default: {}",
        out.yaml
    );
    let full = shape(&[t], &opts(true, false)).expect("shaped");
    assert!(full.yaml.contains("enabledFor: none"), "{}", full.yaml);
}

fn selected(groups: GroupLookup) -> LiveTenant {
    let mut t = tenant(
        "contoso",
        '6',
        json!({"selfServicePasswordReset": {"enabledFor": "selected",
            "group": {"id": PILOT.to_uppercase(), "displayName": "stale portal name"}}}),
    );
    t.groups = groups;
    t
}

#[test]
fn a_unique_group_name_is_exported_by_name_with_the_id_in_a_comment() {
    let mut g = GroupLookup::default();
    g.by_id.insert(PILOT.into(), group(PILOT, "SSPR: Pilot #1"));
    g.by_name.insert(
        "SSPR: Pilot #1".into(),
        vec![group(PILOT, "SSPR: Pilot #1")],
    );
    let out = shape(&[selected(g)], &opts(false, false)).expect("shaped");
    assert!(
        out.yaml.contains(&format!(
            "displayName: \"SSPR: Pilot #1\"  # object id {PILOT}"
        )),
        "{}",
        out.yaml
    );
    let sspr = loaded(&out.yaml).tenants[0]
        .settings
        .self_service_password_reset
        .clone()
        .expect("sspr");
    let group = sspr.group.expect("group");
    assert_eq!(group.display_name.as_deref(), Some("SSPR: Pilot #1"));
    assert_eq!(group.id, None);
}

#[test]
fn a_name_several_groups_share_is_exported_by_id() {
    let mut g = GroupLookup::default();
    g.by_id.insert(PILOT.into(), group(PILOT, "Pilot"));
    g.by_name.insert(
        "Pilot".into(),
        vec![group(PILOT, "Pilot"), group(OTHER, "Pilot")],
    );
    let out = shape(&[selected(g)], &opts(false, false)).expect("shaped");
    assert!(
        out.yaml.contains(&format!(
            "id: {PILOT}  # Pilot (by id: 2 groups have this display name)"
        )),
        "{}",
        out.yaml
    );
}

#[test]
fn a_group_whose_name_could_not_be_checked_is_exported_by_id() {
    let mut g = GroupLookup::default();
    g.by_id.insert(PILOT.into(), group(PILOT, "Pilot"));
    g.failed
        .insert("Pilot".into(), "403 Authorization_RequestDenied".into());
    let out = shape(&[selected(g)], &opts(false, false)).expect("shaped");
    assert!(
        out.yaml
            .contains(&format!("id: {PILOT}  # Pilot (by id: whether")),
        "{}",
        out.yaml
    );
    let out = shape(&[selected(GroupLookup::default())], &opts(false, false)).expect("shaped");
    assert!(
        out.yaml
            .contains(&format!("id: {PILOT}  # no group with this id")),
        "{}",
        out.yaml
    );
}

#[test]
fn a_group_is_exported_only_with_enabled_for_selected() {
    let t = tenant(
        "contoso",
        '6',
        json!({"selfServicePasswordReset": {"enabledFor": "all", "group": {"id": PILOT}}}),
    );
    let out = shape(&[t], &opts(false, false)).expect("shaped");
    assert!(!out.yaml.contains("group"), "{}", out.yaml);
}

#[test]
fn method_targets_stay_ids_with_the_group_name_in_a_comment() {
    let mut t = tenant(
        "contoso",
        '6',
        json!({"authenticationMethods": {"fido2": {"include": [PILOT, OTHER], "exclude": []}}}),
    );
    t.groups
        .by_id
        .insert(PILOT.into(), group(PILOT, "Passkey\npilot"));
    let out = shape(&[t], &opts(true, false)).expect("shaped");
    assert!(
        out.yaml
            .contains(&format!("- {PILOT}  # Passkey\\npilot\n")),
        "{}",
        out.yaml
    );
    assert!(out.yaml.contains(&format!("- {OTHER}\n")), "{}", out.yaml);
    assert!(out.yaml.contains("exclude: []"), "{}", out.yaml);
}

#[test]
fn strings_yaml_would_retype_or_cut_are_quoted_and_load_as_written() {
    for s in [
        "yes",
        "No",
        "on",
        "1.0",
        "0x1F",
        "~",
        "null",
        "",
        " lead",
        "a: b",
        "x #y",
        "-",
        "[a]",
        "{b}",
        "*ref",
        "&a",
        "!tag",
        "%x",
        "@at",
        "`tick`",
        "'q'",
        "\"dq\"",
        "é",
        "2026-11-30",
        "1e3",
        "allUsers",
        "helpdesk@contoso.com",
        PILOT,
    ] {
        let yaml = format!("k: {}\n", yaml_string(s));
        let back: std::collections::BTreeMap<String, String> =
            serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(back["k"], s, "{yaml}");
    }
    assert_eq!(yaml_string("allUsers"), "allUsers");
    assert_eq!(yaml_string("yes"), "\"yes\"");
    assert_eq!(
        yaml_string("https://help.contoso.com/#reset"),
        "\"https://help.contoso.com/#reset\""
    );
}

#[test]
fn live_values_a_file_cannot_hold_are_left_out_and_listed() {
    let t = tenant(
        "contoso",
        '6',
        json!({"selfServicePasswordReset": {
            "enabledFor": "all",
            "helpdesk": {"customLink": true, "contact": ""},
            "securityQuestions": {"numberToRegister": 5, "numberToReset": 3, "questions": []}
        }}),
    );
    let out = shape(&[t], &opts(true, false)).expect("shaped");
    let paths: Vec<&str> = out.left_out.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "selfServicePasswordReset.securityQuestions.questions",
            "selfServicePasswordReset.helpdesk.contact",
            "selfServicePasswordReset.helpdesk.customLink",
        ],
        "{}",
        out.yaml
    );
    assert!(out.yaml.contains("# Left out (unmanaged)"), "{}", out.yaml);
    assert!(out.yaml.contains("numberToRegister: 5"), "{}", out.yaml);
}

#[test]
fn a_helpdesk_url_with_a_hash_and_a_question_with_a_colon_survive() {
    let t = tenant(
        "contoso",
        '6',
        json!({"selfServicePasswordReset": {
            "helpdesk": {"customLink": true, "contact": "https://help.contoso.com/sspr#start"},
            "securityQuestions": {"numberToRegister": 3, "numberToReset": 3,
                "questions": ["Q1: first pet?", "yes", "1.0", "What # is it"]}
        }}),
    );
    let out = shape(&[t], &opts(true, false)).expect("shaped: the round trip is checked");
    assert!(out.left_out.is_empty(), "{:?}", out.left_out);
}

#[test]
fn credentials_of_a_file_are_kept_and_hold_no_secret() {
    let mut t = tenant(
        "contoso",
        '6',
        json!({"administratorPasswordReset": {"enabled": true}}),
    );
    t.entry.endpoint = Endpoint::Cloud(ssprctl_model::Cloud::Public);
    t.entry.credentials = Some(
        serde_json::from_value(json!({"graph": {"method": "clientSecret", "clientId": PILOT, "secretEnv": "MY_SECRET"}}))
            .expect("credentials"),
    );
    let out = shape(&[t], &opts(false, false)).expect("shaped");
    assert!(out.yaml.contains("secretEnv: MY_SECRET"), "{}", out.yaml);
    assert!(out.yaml.contains("endpoint: public"), "{}", out.yaml);
}

#[test]
fn a_tenant_from_the_command_line_is_checked_like_a_file_entry() {
    let config = command_line_tenant("tenant", "6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "local")
        .expect("valid");
    assert_eq!(config.tenants[0].endpoint, Endpoint::Local);
    assert!(matches!(
        command_line_tenant("tenant", "not-a-guid", "local"),
        Err(ExportError::TenantId { .. })
    ));
    assert!(
        command_line_tenant(
            "tenant",
            "6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
            "http://10.0.0.1:1"
        )
        .is_err()
    );
}

#[test]
fn export_doc_lists_the_fields_exported_by_default() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/export.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let begin = "<!-- BEGIN exported-by-default";
    let end = "<!-- END exported-by-default -->";
    let (Some(b), Some(e)) = (text.find(begin), text.find(end)) else {
        panic!("docs/export.md lacks the generated section");
    };
    let start = b + text[b..].find('\n').map_or(0, |n| n + 1);
    let generated = default_fields_markdown();
    if std::env::var_os("SSPRCTL_UPDATE_DOCS").is_some() {
        let updated = format!("{}{}{}", &text[..start], generated, &text[e..]);
        std::fs::write(&path, updated).expect("write docs/export.md");
        return;
    }
    assert!(
        text[start..e] == generated,
        "docs/export.md is stale: regenerate it with \
         `SSPRCTL_UPDATE_DOCS=1 cargo test -p ssprctl-engine --lib export_doc`"
    );
}
