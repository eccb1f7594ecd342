//! The checked-in journal and report schemas are current.

use std::path::Path;

#[test]
fn checked_in_journal_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/journal.schema.json");
    let generated = ssprctl_engine::journal::journal_schema_json();
    if std::env::var_os("SSPRCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/journal.schema.json is stale: regenerate it with \
         `cargo run -- schema --journal > schemas/journal.schema.json`"
    );
}

#[test]
fn checked_in_report_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/report.schema.json");
    let generated = ssprctl_engine::report::report_schema_json();
    if std::env::var_os("SSPRCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/report.schema.json is stale: regenerate it with \
         `cargo run -- schema --report > schemas/report.schema.json`"
    );
}
