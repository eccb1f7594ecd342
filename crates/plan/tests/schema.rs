//! The checked-in plan and lint schemas are current.

use std::path::Path;

#[test]
fn checked_in_plan_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/plan.schema.json");
    let generated = ssprctl_plan::plan_schema_json();
    if std::env::var_os("SSPRCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/plan.schema.json is stale: regenerate it with \
         `cargo run -- schema --plan > schemas/plan.schema.json`"
    );
}

#[test]
fn checked_in_lint_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/lint.schema.json");
    let generated = ssprctl_plan::lint_schema_json();
    if std::env::var_os("SSPRCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/lint.schema.json is stale: regenerate it with \
         `cargo run -- schema --lint > schemas/lint.schema.json`"
    );
}
