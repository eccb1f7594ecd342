//! Read-only directory data: `organization` (docs/api-surfaces.md §4b),
//! `subscribedSkus` (§6) and `groups` (§8) with the `$filter` and `$select`
//! forms ssprctl uses.

use serde_json::{Map, Value, json};

use crate::quirks;
use crate::server::Call;
use crate::shapes;
use crate::state::Tenant;
use crate::wire::{ApiError, Resp, is_guid, odata_context};

fn organization_item(version: &str, tid: &str, t: &Tenant) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(tid));
    out.insert("displayName".into(), json!(t.display_name));
    for (k, v) in &t.organization {
        if k != "id" && k != "displayName" {
            out.insert(k.clone(), v.clone());
        }
    }
    shapes::organization(version, &mut out);
    Value::Object(out)
}

/// `GET /organization`: a collection with the tenant's one organization.
pub(crate) fn list_organization(call: &Call<'_>) -> Result<Resp, ApiError> {
    let tid = call.p.tid.clone();
    let item = call.read(|t| Ok(organization_item(call.version, &tid, t)))?;
    Ok(Resp::json(
        200,
        json!({"@odata.context": odata_context(call.version, "organization"), "value": [item]}),
    ))
}

/// `GET /organization/{id}`.
pub(crate) fn get_organization(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    if !id.eq_ignore_ascii_case(&call.p.tid) {
        return Err(ApiError::resource_not_found(id));
    }
    let tid = call.p.tid.clone();
    let item = call.read(|t| Ok(organization_item(call.version, &tid, t)))?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(odata_context(call.version, "organization/$entity")),
    );
    if let Value::Object(obj) = item {
        out.extend(obj);
    }
    Ok(Resp::json(200, Value::Object(out)))
}

/// `GET /subscribedSkus`.
pub(crate) fn list_subscribed_skus(call: &Call<'_>) -> Result<Resp, ApiError> {
    let skus = call.read(|t| Ok(t.subscribed_skus.clone()))?;
    Ok(Resp::json(
        200,
        json!({"@odata.context": odata_context(call.version, "subscribedSkus"), "value": skus}),
    ))
}

/// A parsed `$filter` the emulator supports.
#[derive(Debug, PartialEq, Eq)]
enum GroupFilter {
    /// `displayName eq '…'`.
    DisplayName(String),
    /// `id eq '…'`.
    Id(String),
}

fn unsupported_filter(filter: &str) -> ApiError {
    ApiError::new(
        400,
        quirks::UNSUPPORTED_FILTER_CODE,
        format!(
            "Unsupported or invalid query filter clause specified for resource 'Group': {filter}"
        ),
    )
}

/// Parses `prop eq 'value'` with `''` as an escaped quote.
fn parse_filter(filter: &str) -> Result<GroupFilter, ApiError> {
    let trimmed = filter.trim();
    let (prop, after) = trimmed
        .split_once(char::is_whitespace)
        .ok_or_else(|| unsupported_filter(filter))?;
    let (op, rest) = after
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(|| unsupported_filter(filter))?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported_filter(filter));
    }
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .filter(|_| rest.len() >= 2)
        .ok_or_else(|| unsupported_filter(filter))?;
    // Every quote inside must be doubled.
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next_if_eq(&'\'').is_none() {
            return Err(unsupported_filter(filter));
        }
        value.push(c);
    }
    if prop.eq_ignore_ascii_case("displayName") {
        Ok(GroupFilter::DisplayName(value))
    } else if prop.eq_ignore_ascii_case("id") {
        Ok(GroupFilter::Id(value))
    } else {
        Err(unsupported_filter(filter))
    }
}

/// Parses `$select` into canonical property names (checked against `sample`).
fn parse_select(
    select: Option<&str>,
    sample: &Map<String, Value>,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(select) = select else {
        return Ok(None);
    };
    let mut props = Vec::new();
    for raw in select.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some(name) = sample.keys().find(|k| k.eq_ignore_ascii_case(raw)) else {
            return Err(ApiError::new(
                400,
                "Request_BadRequest",
                format!("Could not find a property named '{raw}' on type 'microsoft.graph.group'."),
            ));
        };
        if !props.contains(name) {
            props.push(name.clone());
        }
    }
    Ok(Some(props))
}

fn project(group: &Value, select: Option<&[String]>) -> Value {
    match (select, group.as_object()) {
        (Some(props), Some(obj)) => {
            let mut out = Map::new();
            for p in props {
                if let Some(v) = obj.get(p) {
                    out.insert(p.clone(), v.clone());
                }
            }
            Value::Object(out)
        }
        _ => group.clone(),
    }
}

fn select_context(version: &str, base: &str, select: Option<&[String]>) -> String {
    match select {
        Some(props) => odata_context(version, &format!("{base}({})", props.join(","))),
        None => odata_context(version, base),
    }
}

fn sample_group(groups: &[Value]) -> Map<String, Value> {
    groups
        .first()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(
            || match crate::defaults::groups("example.onmicrosoft.com").first() {
                Some(Value::Object(o)) => o.clone(),
                _ => Map::new(),
            },
        )
}

fn group_matches(g: &Value, filter: &GroupFilter) -> bool {
    match filter {
        GroupFilter::DisplayName(name) => {
            g.get("displayName")
                .and_then(Value::as_str)
                .is_some_and(|n| {
                    if quirks::GROUP_DISPLAY_NAME_FILTER_CASE_INSENSITIVE {
                        n.to_lowercase() == name.to_lowercase()
                    } else {
                        n == name
                    }
                })
        }
        GroupFilter::Id(id) => g
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|gid| gid.eq_ignore_ascii_case(id)),
    }
}

/// `GET /groups[?$filter=displayName eq '…'][&$select=…]`.
pub(crate) fn list_groups(call: &Call<'_>) -> Result<Resp, ApiError> {
    let filter = call
        .req
        .query_param("$filter")
        .map(parse_filter)
        .transpose()?;
    let groups = call.read(|t| Ok(t.groups.clone()))?;
    let select = parse_select(call.req.query_param("$select"), &sample_group(&groups))?;
    let value: Vec<Value> = groups
        .iter()
        .filter(|g| filter.as_ref().is_none_or(|f| group_matches(g, f)))
        .map(|g| project(g, select.as_deref()))
        .collect();
    Ok(Resp::json(
        200,
        json!({
            "@odata.context": select_context(call.version, "groups", select.as_deref()),
            "value": value
        }),
    ))
}

/// `GET /groups/{id}[?$select=…]`.
pub(crate) fn get_group(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    if !is_guid(id) {
        return Err(ApiError::request_bad_request(format!(
            "Invalid object identifier '{id}'."
        )));
    }
    let groups = call.read(|t| Ok(t.groups.clone()))?;
    let select = parse_select(call.req.query_param("$select"), &sample_group(&groups))?;
    let group = groups
        .iter()
        .find(|g| group_matches(g, &GroupFilter::Id(id.to_string())))
        .ok_or_else(|| ApiError::resource_not_found(id))?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(select_context(call.version, "groups", select.as_deref()) + "/$entity"),
    );
    if let Value::Object(obj) = project(group, select.as_deref()) {
        out.extend(obj);
    }
    Ok(Resp::json(200, Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_with_doubled_quotes() {
        assert_eq!(
            parse_filter("displayName eq 'O''Brien''s team'").ok(),
            Some(GroupFilter::DisplayName("O'Brien's team".into()))
        );
        assert_eq!(
            parse_filter("  DisplayName  EQ 'x'").ok(),
            Some(GroupFilter::DisplayName("x".into()))
        );
        assert!(parse_filter("displayName eq 'O'Brien'").is_err());
        assert!(parse_filter("startswith(displayName,'x')").is_err());
        assert!(parse_filter("mail eq 'x'").is_err());
        assert!(parse_filter("displayName eq '").is_err());
    }
}
