//! JSON batching: `POST /{version}/$batch` (docs/api-surfaces.md §9).
//!
//! Each sub-request runs through the same dispatcher as a request from the
//! socket, with the caller's `Authorization` header, and is logged as a
//! sub-request of the batch. So each one is throttled (a 429 sub-response
//! with its own `Retry-After`), permission-checked and fault-injected on its
//! own, while the envelope stays `200`.

use serde_json::{Map, Value, json};

use crate::quirks;
use crate::server::{Call, LogEntry, dispatch};
use crate::wire::{ApiError, Req, Resp};

/// Most requests in one batch.
pub(crate) const MAX_BATCH_REQUESTS: usize = 20;

/// One validated sub-request.
struct SubRequest {
    id: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn parse_requests(body: &Value) -> Result<Vec<SubRequest>, ApiError> {
    let Some(requests) = body.get("requests").and_then(Value::as_array) else {
        return Err(ApiError::bad_request(
            "Invalid batch payload format: the body must be an object with a 'requests' array.",
        ));
    };
    if requests.len() > MAX_BATCH_REQUESTS {
        return Err(ApiError::bad_request(quirks::batch_limit_message(
            requests.len(),
        )));
    }
    let mut out: Vec<SubRequest> = Vec::with_capacity(requests.len());
    for r in requests {
        let field = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ApiError::bad_request(
                    "Invalid batch payload format: every request needs an 'id'.",
                ));
            }
        };
        if out.iter().any(|s| s.id == id) {
            return Err(ApiError::bad_request(format!(
                "Invalid batch payload format: the request id '{id}' is used more than once."
            )));
        }
        let (Some(method), Some(url)) = (field("method"), field("url")) else {
            return Err(ApiError::bad_request(format!(
                "Invalid batch payload format: request '{id}' needs a 'method' and a 'url'."
            )));
        };
        let headers = r
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let depends_on = r
            .get("dependsOn")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.push(SubRequest {
            id,
            method,
            url,
            headers,
            body: r.get("body").cloned(),
            depends_on,
        });
    }
    Ok(out)
}

/// `POST /$batch`: runs each sub-request in order and collects the responses.
pub(crate) fn run(call: &Call<'_>, log: &mut Vec<LogEntry>) -> Result<Resp, ApiError> {
    let body = call.req.json_body()?;
    let requests = parse_requests(&body)?;
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut responses = Vec::with_capacity(requests.len());
    for sub in &requests {
        let resp = run_one(call, sub, &statuses, log);
        statuses.push((sub.id.clone(), resp.status));
        let mut headers = Map::new();
        for (k, v) in &resp.headers {
            headers.insert(batch_header_name(k), json!(v));
        }
        let mut item = Map::new();
        item.insert("id".into(), json!(sub.id));
        item.insert("status".into(), json!(resp.status));
        item.insert("headers".into(), Value::Object(headers));
        if let Some(b) = resp.body {
            item.insert("body".into(), b);
        }
        responses.push(Value::Object(item));
    }
    Ok(Resp::json(200, json!({"responses": responses})))
}

/// Graph writes a few well-known headers in canonical case inside batches.
fn batch_header_name(lower: &str) -> String {
    match lower {
        "content-type" => "Content-Type".to_string(),
        "cache-control" => "Cache-Control".to_string(),
        "location" => "Location".to_string(),
        "www-authenticate" => "WWW-Authenticate".to_string(),
        "retry-after" => "Retry-After".to_string(),
        other => other.to_string(),
    }
}

fn run_one(
    call: &Call<'_>,
    sub: &SubRequest,
    done: &[(String, u16)],
    log: &mut Vec<LogEntry>,
) -> Resp {
    let error = |e: ApiError| {
        let body = e.body(
            &uuid::Uuid::new_v4().to_string(),
            call.req.header("client-request-id").unwrap_or(""),
            &crate::wire::Clock::now(),
        );
        Resp::json(e.status, body).with_header("content-type", "application/json")
    };
    for dep in &sub.depends_on {
        match done.iter().find(|(id, _)| id == dep) {
            Some((_, status)) if (200..300).contains(status) => {}
            Some(_) => {
                return error(ApiError::new(
                    424,
                    "FailedDependency",
                    format!(
                        "Request '{}' depends on request '{dep}', which failed.",
                        sub.id
                    ),
                ));
            }
            None => {
                return error(ApiError::bad_request(format!(
                    "Request '{}' depends on '{dep}', which does not come before it in the batch.",
                    sub.id
                )));
            }
        }
    }
    if sub.body.is_some()
        && !sub.headers.iter().any(|(k, _)| k == "content-type")
        && quirks::BATCH_BODY_NEEDS_CONTENT_TYPE
    {
        return error(ApiError::bad_request(format!(
            "Request '{}' has a body but no Content-Type header.",
            sub.id
        )));
    }
    if sub.url.contains("://") {
        return error(ApiError::bad_request(format!(
            "Request '{}' has an absolute URL; batch request URLs must be relative to the version, like '/policies/authorizationPolicy'.",
            sub.id
        )));
    }
    let target = format!("/{}/{}", call.version, sub.url.trim_start_matches('/'));
    let mut headers = sub.headers.clone();
    headers.retain(|(k, _)| k != "authorization");
    if let Some(auth) = call.req.header("authorization") {
        headers.push(("authorization".into(), auth.to_string()));
    }
    // The envelope's host, so that next links point back at the emulator.
    if let Some(host) = call.req.header("host")
        && !headers.iter().any(|(k, _)| k == "host")
    {
        headers.push(("host".into(), host.to_string()));
    }
    let body = sub
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let req = Req::new(&sub.method, &target, headers, body);
    let started = std::time::Instant::now();
    let mut entry = LogEntry::for_request(&req);
    let resp = dispatch(call.ctx, &req, &mut entry, true);
    entry.finish(&resp, started);
    log.push(entry);
    // Headers that make no sense inside a batch item are dropped.
    let mut resp = resp;
    resp.headers
        .retain(|(k, _)| k != "client-request-id" && k != "x-ms-resource-unit");
    resp
}
