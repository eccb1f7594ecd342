//! The JSON Schema of the desired-state file, generated from the types.
//!
//! Draft-07, because the YAML language server behind editors validates with
//! draft-07 semantics. `Option<T>` fields are emitted without a `null` type:
//! a managed field needs a value, and schema errors then point inside nested
//! mappings instead of stopping at an `anyOf`.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::config::ConfigFile;

/// The schema as pretty JSON, exactly as checked in at `schemas/ssprctl.schema.json`.
pub fn config_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&config_schema_value())
        .expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// The schema as a JSON value (generated once).
pub fn config_schema_value() -> Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let schema = SchemaSettings::draft07()
                .into_generator()
                .into_root_schema_for::<ConfigFile>();
            let mut value = schema.to_value();
            strip_null(&mut value);
            value
        })
        .clone()
}

/// Removes the `null` alternative schemars adds for `Option<T>` (see the module doc).
fn strip_null(v: &mut Value) {
    let is_null = |s: &Value| s.get("type").and_then(Value::as_str) == Some("null");
    if let Value::Object(obj) = v {
        if let Some(Value::Array(types)) = obj.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types.remove(0);
                obj.insert("type".into(), only);
            }
        }
        let single = match obj.get("anyOf") {
            Some(Value::Array(alts)) if alts.len() == 2 && alts.iter().any(is_null) => {
                alts.iter().find(|a| !is_null(a)).cloned()
            }
            _ => None,
        };
        if let Some(Value::Object(inner)) = single {
            obj.remove("anyOf");
            for (k, val) in inner {
                obj.entry(k).or_insert(val);
            }
        }
        for child in obj.values_mut() {
            strip_null(child);
        }
    } else if let Value::Array(items) = v {
        for item in items {
            strip_null(item);
        }
    }
}
