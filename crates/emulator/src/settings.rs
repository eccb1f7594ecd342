//! Directory settings (docs/api-surfaces.md §5): `groupSettings` (beta: `settings`)
//! and `groupSettingTemplates` (beta: `directorySettingTemplates`), with the
//! one template ssprctl uses, "Password Rule Settings".
//!
//! A fresh tenant has no setting object: the template's defaults apply until
//! one is created. Create and update must both carry every template value.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::defaults::{
    self, PASSWORD_RULE_TEMPLATE_ID, PASSWORD_RULE_TEMPLATE_NAME, PASSWORD_RULE_VALUES,
};
use crate::quirks;
use crate::server::Call;
use crate::wire::{ApiError, Resp, odata_context};

/// Most custom banned terms (docs/api-surfaces.md §5, bg).
const MAX_BANNED_TERMS: usize = 1000;

/// Banned-term length bounds, in characters (rozemuller).
const BANNED_TERM_CHARS: std::ops::RangeInclusive<usize> = 4..=16;

fn collection_name(version: &str) -> &'static str {
    if version == "beta" {
        "settings"
    } else {
        "groupSettings"
    }
}

fn template_collection_name(version: &str) -> &'static str {
    if version == "beta" {
        "directorySettingTemplates"
    } else {
        "groupSettingTemplates"
    }
}

/// `GET /groupSettings`.
pub(crate) fn list(call: &Call<'_>) -> Result<Resp, ApiError> {
    let items = call.read(|t| Ok(t.group_settings.clone()))?;
    Ok(Resp::json(
        200,
        json!({
            "@odata.context": odata_context(call.version, collection_name(call.version)),
            "value": items
        }),
    ))
}

fn find<'a>(items: &'a [Value], id: &str) -> Option<(usize, &'a Value)> {
    items.iter().enumerate().find(|(_, s)| {
        s.get("id")
            .and_then(Value::as_str)
            .is_some_and(|sid| sid.eq_ignore_ascii_case(id))
    })
}

/// `GET /groupSettings/{id}`.
pub(crate) fn get(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let item = call.read(|t| {
        find(&t.group_settings, id)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| ApiError::resource_not_found(id))
    })?;
    Ok(Resp::json(
        200,
        with_entity_context(call.version, collection_name(call.version), item),
    ))
}

fn with_entity_context(version: &str, collection: &str, item: Value) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(odata_context(version, &format!("{collection}/$entity"))),
    );
    if let Value::Object(obj) = item {
        out.extend(obj);
    }
    Value::Object(out)
}

/// Validates a `values` array against the template: every value present,
/// none unknown, each well-formed. Returns the values in template order with
/// canonical names.
fn validate_values(body: &Map<String, Value>) -> Result<Vec<Value>, ApiError> {
    let given: &[Value] = match body.get("values") {
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ApiError::request_bad_request(
                "Invalid value specified for property 'values' of resource 'DirectorySetting'.",
            ));
        }
        None => &[],
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for item in given {
        let name = item.get("name").and_then(Value::as_str);
        let value = item.get("value");
        let (Some(name), Some(value)) = (name, value) else {
            return Err(ApiError::request_bad_request(
                "Each setting value must have a 'name' and a 'value'.",
            ));
        };
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => {
                return Err(ApiError::request_bad_request(format!(
                    "Invalid value {other} for setting '{name}': setting values are strings."
                )));
            }
        };
        let Some(def) = PASSWORD_RULE_VALUES
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
        else {
            return Err(ApiError::request_bad_request(
                quirks::unknown_setting_value_message(name, PASSWORD_RULE_TEMPLATE_ID),
            ));
        };
        pairs.push((def.name.to_string(), value));
    }
    let mut out = Vec::new();
    for def in &PASSWORD_RULE_VALUES {
        let Some((_, value)) = pairs.iter().rev().find(|(n, _)| n == def.name) else {
            return Err(ApiError::request_bad_request(format!(
                "The expected property '{}' defined in template with SettingTemplateId '{PASSWORD_RULE_TEMPLATE_ID}' was not provided",
                def.name
            )));
        };
        validate_value(def.name, value)?;
        out.push(json!({"name": def.name, "value": value}));
    }
    Ok(out)
}

fn invalid_setting(name: &str, value: &str, why: &str) -> ApiError {
    ApiError::request_bad_request(format!(
        "Invalid value '{value}' for setting '{name}' defined in template with SettingTemplateId '{PASSWORD_RULE_TEMPLATE_ID}': {why}"
    ))
}

fn validate_value(name: &str, value: &str) -> Result<(), ApiError> {
    match name {
        "LockoutThreshold" | "LockoutDurationInSeconds" => {
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| invalid_setting(name, value, "expected an integer."))?;
            let min = if name == "LockoutThreshold" {
                quirks::MIN_LOCKOUT_THRESHOLD
            } else {
                quirks::MIN_LOCKOUT_DURATION_SECONDS
            };
            if n < min || n > i64::from(i32::MAX) {
                return Err(invalid_setting(
                    name,
                    value,
                    &format!("expected an integer of at least {min}."),
                ));
            }
        }
        "EnableBannedPasswordCheck" | "EnableBannedPasswordCheckOnPremises"
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") =>
        {
            return Err(invalid_setting(name, value, "expected True or False."));
        }
        "BannedPasswordCheckOnPremisesMode" => {
            let ok = quirks::ON_PREMISES_MODES
                .iter()
                .any(|m| quirks::setting_enum_matches(m, value));
            if !ok {
                return Err(invalid_setting(name, value, "expected Audit or Enforce."));
            }
        }
        "BannedPasswordList" => {
            let terms: Vec<&str> = value.split('\t').filter(|t| !t.is_empty()).collect();
            if terms.len() > MAX_BANNED_TERMS {
                return Err(invalid_setting(
                    name,
                    &format!("({} terms)", terms.len()),
                    &format!("at most {MAX_BANNED_TERMS} terms are allowed."),
                ));
            }
            if let Some(bad) = terms
                .iter()
                .find(|t| !BANNED_TERM_CHARS.contains(&t.chars().count()))
            {
                return Err(invalid_setting(
                    name,
                    bad,
                    "each banned term must be between 4 and 16 characters long.",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn template_id_of(body: &Map<String, Value>) -> Result<String, ApiError> {
    let Some(id) = body.get("templateId").and_then(Value::as_str) else {
        return Err(ApiError::request_bad_request(
            "The property 'templateId' is required to create a directory setting.",
        ));
    };
    if !id.eq_ignore_ascii_case(PASSWORD_RULE_TEMPLATE_ID) {
        return Err(ApiError::request_bad_request(
            quirks::unknown_template_message(id),
        ));
    }
    Ok(PASSWORD_RULE_TEMPLATE_ID.to_string())
}

/// `POST /groupSettings`: 201 with the new object (id assigned by the server).
pub(crate) fn create(call: &Call<'_>) -> Result<Resp, ApiError> {
    let body = call.req.json_object()?;
    let template_id = template_id_of(&body)?;
    let values = validate_values(&body)?;
    let created = call.ctx.write_tenant(&call.p.tid, |t| {
        let exists = t.group_settings.iter().any(|s| {
            s.get("templateId")
                .and_then(Value::as_str)
                .is_some_and(|tid| tid.eq_ignore_ascii_case(&template_id))
        });
        if exists {
            return Err(ApiError::request_bad_request(
                "Another object with the same value for property templateId already exists.",
            ));
        }
        let item = json!({
            "id": Uuid::new_v4().to_string(),
            "displayName": PASSWORD_RULE_TEMPLATE_NAME,
            "templateId": template_id,
            "values": values
        });
        t.group_settings.push(item.clone());
        Ok(item)
    })?;
    Ok(Resp::json(
        201,
        with_entity_context(call.version, collection_name(call.version), created),
    ))
}

/// `PATCH /groupSettings/{id}`: the full value set is required; 204.
pub(crate) fn update(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let body = call.req.json_object()?;
    if let Some(tid) = body.get("templateId").and_then(Value::as_str)
        && !tid.eq_ignore_ascii_case(PASSWORD_RULE_TEMPLATE_ID)
    {
        return Err(ApiError::request_bad_request(
            "Property 'templateId' is read-only and cannot be changed.",
        ));
    }
    call.ctx.write_tenant(&call.p.tid, |t| {
        let (index, _) =
            find(&t.group_settings, id).ok_or_else(|| ApiError::resource_not_found(id))?;
        let values = validate_values(&body)?;
        if let Some(item) = t.group_settings.get_mut(index) {
            item["values"] = Value::Array(values);
        }
        Ok(())
    })?;
    Ok(Resp::no_content())
}

/// `DELETE /groupSettings/{id}`: defaults apply again; 204.
pub(crate) fn delete(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    call.ctx.write_tenant(&call.p.tid, |t| {
        let (index, _) =
            find(&t.group_settings, id).ok_or_else(|| ApiError::resource_not_found(id))?;
        t.group_settings.remove(index);
        Ok(())
    })?;
    Ok(Resp::no_content())
}

/// `GET /groupSettingTemplates`.
pub(crate) fn list_templates(call: &Call<'_>) -> Result<Resp, ApiError> {
    Ok(Resp::json(
        200,
        json!({
            "@odata.context": odata_context(call.version, template_collection_name(call.version)),
            "value": [defaults::password_rule_template()]
        }),
    ))
}

/// `GET /groupSettingTemplates/{id}`.
pub(crate) fn get_template(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    if !id.eq_ignore_ascii_case(PASSWORD_RULE_TEMPLATE_ID) {
        return Err(ApiError::resource_not_found(id));
    }
    Ok(Resp::json(
        200,
        with_entity_context(
            call.version,
            template_collection_name(call.version),
            defaults::password_rule_template(),
        ),
    ))
}
