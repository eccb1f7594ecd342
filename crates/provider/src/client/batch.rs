//! Graph `$batch`: up to twenty GETs in one round trip. A sub-request that is
//! throttled or unavailable alone is retried alone, after its own Retry-After.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use ssprctl_model::Api;

use super::api_error::api_error;
use super::pacing;
use super::tokens::Audience;
use super::transport::{MAX_RETRY_AFTER, Need, backoff, is_retried_status};
use super::{Connection, HttpProvider};
use crate::credentials::Secret;
use crate::error::ProviderError;

/// Graph's limit of sub-requests per `$batch`.
const BATCH_LIMIT: usize = 20;

/// One GET of a `$batch`: its id, the surface it serves, the path below
/// `/v1.0`, and the permission a 403 should name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRequest {
    /// The id its answer carries.
    pub id: String,
    /// The surface it serves (its errors are that surface's).
    pub api: Api,
    /// The path and query below `/v1.0`.
    pub path: String,
    pub(crate) need: Need,
}

/// The answers of a `$batch`, by request id.
pub(crate) type Answers = HashMap<String, Result<Value, ProviderError>>;

/// What a sub-response says: an answer, or "try this one again after".
enum SubAnswer {
    Done(Result<Value, ProviderError>),
    /// Retry after this wait; `true` when the app-wide quota refused it.
    RetryAfter(Duration, bool),
}

/// Reads one request's sub-response out of a `$batch` answer's `responses`,
/// taking it out (its body is moved, not copied: a read's bodies are most of
/// what a tenant costs to decode). Request ids are unique within a `$batch`.
fn sub_answer(request: &BatchRequest, responses: &mut Vec<Value>) -> SubAnswer {
    let Some(at) = responses
        .iter()
        .position(|r| r.get("id").and_then(Value::as_str) == Some(request.id.as_str()))
    else {
        return SubAnswer::Done(Err(ProviderError::Unexpected {
            api: request.api,
            detail: format!("$batch response has no answer for request {}", request.id),
        }));
    };
    let mut r = responses.swap_remove(at);
    let status = r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
    let body = r
        .as_object_mut()
        .and_then(|o| o.remove("body"))
        .unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        SubAnswer::Done(Ok(body))
    } else if is_retried_status(status) {
        let after = r
            .pointer("/headers/Retry-After")
            .or_else(|| r.pointer("/headers/retry-after"))
            .and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(backoff(1), Duration::from_secs)
            .min(MAX_RETRY_AFTER);
        let app_wide = r
            .get("headers")
            .and_then(Value::as_object)
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-ms-throttle-scope"))
            })
            .and_then(|(_, v)| v.as_str())
            .is_some_and(pacing::is_application_scope);
        SubAnswer::RetryAfter(after, app_wide)
    } else {
        SubAnswer::Done(Err(api_error(request.api, status, &body, request.need)))
    }
}

/// Every request fails with the same earlier failure.
fn all_unavailable(requests: &[BatchRequest], reason: &str, out: &mut Answers) {
    for r in requests {
        out.insert(
            r.id.clone(),
            Err(ProviderError::Unavailable {
                api: r.api,
                reason: reason.to_string(),
            }),
        );
    }
}

impl HttpProvider {
    /// Sends `requests` as `$batch`es (one per twenty) with one Graph token and
    /// returns each answer by id. A failed token or `$batch` fails each of its
    /// requests with the reason.
    pub(crate) async fn graph_batch(
        &self,
        conn: &Connection,
        requests: &[BatchRequest],
    ) -> Answers {
        let mut out = Answers::new();
        let Some(first) = requests.first() else {
            return out;
        };
        let token = match self.token(conn, Audience::Graph, first.api).await {
            Ok(t) => t,
            Err(e) => {
                all_unavailable(requests, &e.detail(), &mut out);
                return out;
            }
        };
        for chunk in requests.chunks(BATCH_LIMIT) {
            self.batch_chunk(conn, first.api, &token, chunk, &mut out)
                .await;
        }
        out
    }

    /// One `$batch` (sent as the surface of the first request of the read).
    async fn batch_chunk(
        &self,
        conn: &Connection,
        api: Api,
        token: &Secret,
        chunk: &[BatchRequest],
        out: &mut Answers,
    ) {
        let url = format!("{}/v1.0/$batch", conn.hosts.graph);
        // The priority goes on each sub-request too: Graph throttles each one
        // on its own (whether it reads the header there is UNCONFIRMED).
        let priority = self.options.priority.header_value();
        let body = json!({ "requests": chunk.iter().map(|r| json!({"id": r.id, "method": "GET", "url": r.path, "headers": {"x-ms-throttle-priority": priority}})).collect::<Vec<_>>() });
        let sent = self
            .call(api, token, Method::POST, &url, Some(&body), Need::Read)
            .await;
        let resp = match sent {
            Ok((_, resp)) => resp,
            Err(e) => {
                all_unavailable(chunk, &format!("$batch failed: {}", e.detail()), out);
                return;
            }
        };
        let mut responses = match resp {
            Value::Object(mut answer) => match answer.remove("responses") {
                Some(Value::Array(responses)) => responses,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        for request in chunk {
            let result = match sub_answer(request, &mut responses) {
                SubAnswer::Done(result) => result,
                SubAnswer::RetryAfter(after, app_wide) => {
                    if app_wide {
                        self.pacer.pause(after);
                    }
                    if pacing::past_deadline(after) {
                        out.insert(
                            request.id.clone(),
                            Err(ProviderError::Unavailable {
                                api: request.api,
                                reason: format!(
                                    "throttled, and its Retry-After of {} s ends past the tenant's deadline",
                                    after.as_secs()
                                ),
                            }),
                        );
                        continue;
                    }
                    tokio::time::sleep(after).await;
                    let url = format!("{}/v1.0{}", conn.hosts.graph, request.path);
                    self.call(request.api, token, Method::GET, &url, None, request.need)
                        .await
                        .map(|(_, v)| v)
                }
            };
            out.insert(request.id.clone(), result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str) -> BatchRequest {
        BatchRequest {
            id: id.into(),
            api: Api::GraphAuthorizationPolicy,
            path: "/policies/authorizationPolicy".into(),
            need: Need::Read,
        }
    }

    #[test]
    fn a_sub_response_is_found_by_id_and_its_error_is_typed() {
        let mut responses = vec![
            json!({"id": "a", "status": 200, "body": {"x": 1}}),
            json!({"id": "b", "status": 404, "body": {"error": {"code": "NotFound", "message": "gone"}}}),
            json!({"id": "d", "status": 200}),
            json!("not an object"),
        ];
        assert!(
            matches!(sub_answer(&request("a"), &mut responses), SubAnswer::Done(Ok(v)) if v == json!({"x": 1}))
        );
        match sub_answer(&request("b"), &mut responses) {
            SubAnswer::Done(Err(e)) => assert!(e.is_not_found()),
            _ => panic!("a 404 is an answer"),
        }
        assert!(
            matches!(
                sub_answer(&request("d"), &mut responses),
                SubAnswer::Done(Ok(Value::Null))
            ),
            "an answer without a body is null"
        );
        match sub_answer(&request("c"), &mut responses) {
            SubAnswer::Done(Err(e)) => assert!(e.detail().contains("no answer for request c")),
            _ => panic!("a missing answer is an error"),
        }
    }

    #[test]
    fn a_throttled_sub_request_waits_its_own_retry_after_capped() {
        let mut responses = vec![
            json!({"id": "a", "status": 429, "headers": {"Retry-After": "2"}}),
            json!({"id": "b", "status": 503, "headers": {"retry-after": 3600}}),
        ];
        assert!(
            matches!(sub_answer(&request("a"), &mut responses), SubAnswer::RetryAfter(d, false) if d == Duration::from_secs(2))
        );
        assert!(
            matches!(sub_answer(&request("b"), &mut responses), SubAnswer::RetryAfter(d, false) if d == MAX_RETRY_AFTER)
        );
    }
}
