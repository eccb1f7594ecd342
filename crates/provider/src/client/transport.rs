//! Sending one request: the URL check, bounded retries on throttling and
//! transient failures (honouring Retry-After, else exponential backoff with
//! jitter), the 401 refresh, and typed errors from error bodies.
//!
//! Every Graph request first takes its cost from the run's budget
//! ([`super::pacing`]) and carries `x-ms-throttle-priority`; a 429 from the
//! app-wide scope pauses all Graph requests of the run. Timeouts are the
//! client's (see `HttpProvider::with_options`); a retry whose wait would end
//! past the tenant's deadline is not made.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use ssprctl_model::Api;

use super::api_error::api_error;
use super::pacing;
use super::tokens::Audience;
use super::{Connection, HttpProvider};
use crate::credentials::Secret;
use crate::error::ProviderError;

/// Attempts per request, the first included.
pub(crate) const MAX_ATTEMPTS: u32 = 4;
/// How many times one request waits out Graph's app-wide quota (a 429 with
/// an `Application` throttle scope) without using up its own attempts: the
/// app's quota, shared by every tenant of the run, ran out, which says
/// nothing about this request. Still never past the tenant's deadline.
pub(crate) const MAX_APP_WIDE_WAITS: u32 = 16;
const BASE_BACKOFF: Duration = Duration::from_millis(400);
/// The longest a Retry-After is honoured for.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Which permission a request needs: named in the hint of a 403.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// The surface's read permission.
    Read,
    /// The surface's write permission.
    Write,
    /// A permission of its own (lookups, facts, reports).
    Permission(&'static str),
}

impl Need {
    fn for_method(method: &Method) -> Need {
        if *method == Method::GET {
            Need::Read
        } else {
            Need::Write
        }
    }
}

/// The wait before attempt `attempt + 1`: exponential, with up to half again
/// of jitter.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF * 2u32.pow(attempt.saturating_sub(1));
    // Jitter from a random uuid's low bits.
    let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    base + base / 2 * jitter / 1000
}

/// Whether a Graph or portal answer is retried: throttled or unavailable.
pub(crate) fn is_retried_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// Whether a token endpoint answer is retried.
fn is_retried_token_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 503 | 504)
}

/// How long to wait before trying again, or `None` not to: a retried status
/// waits its Retry-After (seconds, at most [`MAX_RETRY_AFTER`]) or backs off;
/// a request that did not complete backs off.
fn retry_wait(sent: &Result<Response, reqwest::Error>, attempt: u32) -> Option<Duration> {
    let after = match sent {
        Ok(resp) if is_retried_status(resp.status().as_u16()) => resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs),
        Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => None,
        _ => return None,
    };
    Some(
        after
            .unwrap_or_else(|| backoff(attempt))
            .min(MAX_RETRY_AFTER),
    )
}

/// Whether plain http may be used: https anywhere; plain http only to
/// loopback, or to the instance metadata service.
pub fn allowed_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    host == "localhost"
        || host == "[::1]"
        || host == "169.254.169.254"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Refuses plain http except to loopback (the emulator) and IMDS.
fn check_url(api: Api, url: &str) -> Result<(), ProviderError> {
    if allowed_url(url) {
        Ok(())
    } else {
        Err(ProviderError::Unexpected {
            api,
            detail: format!("refusing to call {url}: plain http is only used for loopback"),
        })
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A body as JSON: null when empty, the text itself when not JSON.
fn parse_body(text: String) -> Value {
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

impl HttpProvider {
    /// Sends a non-Graph request (runner OIDC, IMDS, device code) and returns
    /// its JSON, or an error with the status.
    pub(crate) async fn send_checked(
        &self,
        api: Api,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(StatusCode, Value), ProviderError> {
        let (status, body) = self.send_json(api, req, url).await?;
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(api_error(api, status.as_u16(), &body, Need::Read))
        }
    }

    /// Sends one request (no retries) and reads its JSON body (null if none).
    async fn send_json(
        &self,
        api: Api,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(StatusCode, Value), ProviderError> {
        let (status, body) = self.send_bytes(api, req, url).await?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    /// Sends one request (no retries) and reads its body as it came (empty if
    /// it could not be read).
    async fn send_bytes(
        &self,
        api: Api,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        check_url(api, url)?;
        let resp = req
            .send()
            .await
            .map_err(|source| ProviderError::Transport {
                api,
                url: url.to_string(),
                source,
            })?;
        let status = resp.status();
        Ok((
            status,
            resp.bytes().await.map(Vec::from).unwrap_or_default(),
        ))
    }

    /// Posts a form to a token endpoint, retrying while it is throttled or
    /// briefly unavailable. Any answer is returned with its status and its
    /// body as it came (the caller decodes it straight into what it needs).
    pub(crate) async fn send_form_retrying(
        &self,
        api: Api,
        url: &str,
        form: &[(&str, String)],
    ) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        let mut attempt = 1;
        loop {
            let sent = self
                .send_bytes(api, self.http.post(url).form(form), url)
                .await;
            let transient = match &sent {
                Ok((status, _)) => is_retried_token_status(status.as_u16()),
                Err(ProviderError::Transport { .. }) => true,
                Err(_) => false,
            };
            if !transient || attempt >= MAX_ATTEMPTS {
                return sent;
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// One request with bounded retries on 429/503/504 and connection failures,
    /// honouring Retry-After. Returns the status and the JSON body (or null).
    pub(crate) async fn call(
        &self,
        api: Api,
        token: &Secret,
        method: Method,
        url: &str,
        body: Option<&Value>,
        need: Need,
    ) -> Result<(StatusCode, Value), ProviderError> {
        check_url(api, url)?;
        let graph = pacing::graph_path(url).map(|path| pacing::charge_of(&method, path, body));
        let mut attempt = 0;
        let mut app_wide_waits = 0;
        let resp = loop {
            attempt += 1;
            if let Some((units, writes)) = graph {
                self.pacer.admit(units, writes).await;
            }
            let sent = self
                .request(api, token, method.clone(), url, body)
                .send()
                .await;
            let wait = retry_wait(&sent, attempt);
            if let (Ok(resp), Some(wait)) = (&sent, wait)
                && resp
                    .headers()
                    .get("x-ms-throttle-scope")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(pacing::is_application_scope)
            {
                tracing::warn!(%url, wait_ms = wait.as_millis() as u64, "app-wide Graph quota reached: pausing every Graph request");
                self.pacer.pause(wait);
                if app_wide_waits < MAX_APP_WIDE_WAITS {
                    app_wide_waits += 1;
                    attempt -= 1;
                }
            }
            match wait {
                Some(wait) if attempt < MAX_ATTEMPTS && !pacing::past_deadline(wait) => {
                    tracing::debug!(%url, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                }
                _ => break sent,
            }
        };
        let transport = |source| ProviderError::Transport {
            api,
            url: url.to_string(),
            source,
        };
        let resp = resp.map_err(transport)?;
        let status = resp.status();
        let json = parse_body(resp.text().await.map_err(transport)?);
        if status.is_success() {
            Ok((status, json))
        } else {
            Err(api_error(api, status.as_u16(), &json, need))
        }
    }

    /// A request with the token, a client request id, and the portal's
    /// `X-Requested-With`.
    fn request(
        &self,
        api: Api,
        token: &Secret,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(token.expose())
            .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string());
        if !api.documented() {
            req = req.header("X-Requested-With", "XMLHttpRequest");
        }
        if pacing::graph_path(url).is_some() {
            req = req.header(
                "x-ms-throttle-priority",
                self.options.priority.header_value(),
            );
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req
    }

    /// A request with the tenant's token for `audience`. A 401 (a token revoked
    /// or expired early) drops the cached token and retries once with a new one.
    pub(crate) async fn authed(
        &self,
        conn: &Connection,
        audience: Audience,
        api: Api,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ProviderError> {
        let token = self.token(conn, audience, api).await?;
        let need = Need::for_method(&method);
        match self
            .call(api, &token, method.clone(), url, body, need)
            .await
        {
            Err(ProviderError::Api { status: 401, .. }) => {
                self.forget_token(conn, audience).await;
                let token = self.token(conn, audience, api).await?;
                self.call(api, &token, method, url, body, need).await
            }
            other => other,
        }
    }

    /// A Graph v1.0 GET with the tenant's Graph token.
    pub(crate) async fn graph_get(
        &self,
        conn: &Connection,
        api: Api,
        path: &str,
    ) -> Result<Value, ProviderError> {
        let url = format!("{}/v1.0{path}", conn.hosts.graph);
        self.authed(conn, Audience::Graph, api, Method::GET, &url, None)
            .await
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_imds() {
        assert!(allowed_url("https://graph.microsoft.com/v1.0"));
        assert!(allowed_url("http://127.0.0.1:8400/v1.0"));
        assert!(allowed_url(crate::credentials::IMDS_ENDPOINT));
        assert!(!allowed_url("http://graph.microsoft.com/v1.0"));
        assert!(!allowed_url("http://10.1.2.3:80/"));
        assert!(!allowed_url("ftp://127.0.0.1/"));
    }

    #[test]
    fn backoff_doubles_and_jitters_by_at_most_half() {
        for attempt in 1..=3 {
            let base = BASE_BACKOFF * 2u32.pow(attempt - 1);
            let wait = backoff(attempt);
            assert!(wait >= base && wait <= base + base / 2, "{wait:?}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode("displayName eq 'a b'"),
            "displayName%20eq%20%27a%20b%27"
        );
        assert_eq!(encode("A-z_0.~"), "A-z_0.~");
    }

    #[test]
    fn empty_bodies_are_null_and_non_json_is_kept_as_text() {
        assert_eq!(parse_body(" ".into()), Value::Null);
        assert_eq!(parse_body("oops".into()), Value::String("oops".into()));
        assert_eq!(parse_body(r#"{"a":1}"#.into()), serde_json::json!({"a": 1}));
    }
}
