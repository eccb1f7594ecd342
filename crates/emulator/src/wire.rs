//! Request and response plumbing shared by every surface: the emulator's own
//! view of an HTTP request and response, the Graph error shape, URL decoding,
//! small JSON helpers and the clock.
//!
//! Everything here is transport-neutral so that `$batch` sub-requests run
//! through exactly the same code as requests that arrive over the socket.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// One request, as the dispatcher sees it.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    /// Upper-case HTTP method.
    pub method: String,
    /// The raw path, without the query string (as logged).
    pub path: String,
    /// The raw query string, if any (without `?`).
    pub raw_query: Option<String>,
    /// Percent-decoded, non-empty path segments.
    pub segments: Vec<String>,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
}

impl Req {
    /// Builds a request from its parts; `target` is a path with an optional query.
    pub fn new(method: &str, target: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        let (path, raw_query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect();
        let query = raw_query
            .as_deref()
            .map(parse_urlencoded)
            .unwrap_or_default();
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Req {
            method: method.to_ascii_uppercase(),
            path,
            raw_query,
            segments,
            query,
            headers,
            body,
        }
    }

    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter with this (case-insensitive) name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; Graph's "Unable to read JSON request payload" otherwise.
    pub fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|_| {
            ApiError::new(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )
        })
    }

    /// The body parsed as a JSON object.
    pub fn json_object(&self) -> Result<Map<String, Value>, ApiError> {
        match self.json_body()? {
            Value::Object(map) => Ok(map),
            _ => Err(ApiError::new(
                400,
                "BadRequest",
                "The request payload must be a JSON object.",
            )),
        }
    }
}

/// One response, before it is turned into HTTP (or into a `$batch` item).
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    /// HTTP status code.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// Extra headers (the dispatcher adds request ids and content type).
    pub headers: Vec<(String, String)>,
}

impl Resp {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Self {
        Resp {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Resp {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// A Graph-style error, rendered by the dispatcher as
/// `{"error":{"code","message","innerError":{…}}}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// Extra response headers (`Retry-After`, throttling headers).
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// `400 Request_BadRequest`, the directory services' validation error.
    pub fn request_bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "Request_BadRequest", message)
    }

    /// `400 BadRequest`, the generic Graph validation error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// `401 InvalidAuthenticationToken`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(401, "InvalidAuthenticationToken", message)
    }

    /// `404 Request_ResourceNotFound` for a directory object id.
    pub fn resource_not_found(id: &str) -> Self {
        Self::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// `500` for failures of the emulator itself (for example, the state file).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "UnknownError", message)
    }

    /// The Graph error body.
    pub fn body(&self, request_id: &str, client_request_id: &str, now: &Clock) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": now.graph_date(),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                }
            }
        })
    }
}

/// A point in time, read once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Clock {
    /// The current time.
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Clock {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            Err(_) => Clock { secs: 0, nanos: 0 },
        }
    }

    fn civil(&self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let hh = (rem / 3600) as u32;
        let mm = ((rem % 3600) / 60) as u32;
        let ss = (rem % 60) as u32;
        (y, m, d, hh, mm, ss)
    }

    /// `2024-04-26T12:44:42.0858664Z` (seven fractional digits, as Graph writes).
    pub fn rfc3339_7(&self) -> String {
        let (y, m, d, hh, mm, ss) = self.civil();
        format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:07}Z",
            self.nanos / 100
        )
    }

    /// `2024-04-26T12:44:42Z`.
    pub fn rfc3339(&self) -> String {
        let (y, m, d, hh, mm, ss) = self.civil();
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    }

    /// `2021-10-10T17:32:51`, as in Graph's `innerError.date`.
    pub fn graph_date(&self) -> String {
        let (y, m, d, hh, mm, ss) = self.civil();
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}")
    }

    /// `2023-11-09 10:41:28Z`, as in Entra ID token-endpoint errors.
    pub fn aad_timestamp(&self) -> String {
        let (y, m, d, hh, mm, ss) = self.civil();
        format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}Z")
    }
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`).
/// Invalid escapes are kept literally; invalid UTF-8 is replaced.
pub(crate) fn percent_decode(input: &str, plus_as_space: bool) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let decoded = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match decoded {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `application/x-www-form-urlencoded` text (also used for query strings).
pub(crate) fn parse_urlencoded(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(pair, true), String::new()),
        })
        .collect()
}

/// Looks a key up in a JSON object: exact match first, then ASCII case-insensitive.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Merges `patch` into `target`: objects merge key by key (recursively),
/// everything else (arrays included) is replaced.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The `https://graph.microsoft.com/{version}/$metadata#…` context URL.
pub(crate) fn odata_context(version: &str, fragment: &str) -> String {
    format!("https://graph.microsoft.com/{version}/$metadata#{fragment}")
}

/// Short name of a JSON value's type, for error messages.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `s` is a GUID in the 8-4-4-4-12 hex form.
pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_instants() {
        let c = Clock {
            secs: 1_714_135_482,
            nanos: 85_866_400,
        };
        assert_eq!(c.rfc3339_7(), "2024-04-26T12:44:42.0858664Z");
        assert_eq!(c.graph_date(), "2024-04-26T12:44:42");
        assert_eq!(c.aad_timestamp(), "2024-04-26 12:44:42Z");
        let epoch = Clock { secs: 0, nanos: 0 };
        assert_eq!(epoch.rfc3339(), "1970-01-01T00:00:00Z");
        let leap = Clock {
            secs: 951_782_400,
            nanos: 0,
        };
        assert_eq!(leap.rfc3339(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn urlencoded_decodes_plus_and_escapes() {
        let pairs = parse_urlencoded("a=b+c&%24filter=displayName%20eq%20%27x%27&flag&bad=%zz");
        assert_eq!(pairs[0], ("a".into(), "b c".into()));
        assert_eq!(pairs[1], ("$filter".into(), "displayName eq 'x'".into()));
        assert_eq!(pairs[2], ("flag".into(), String::new()));
        assert_eq!(pairs[3], ("bad".into(), "%zz".into()));
    }

    #[test]
    fn merge_recurses_into_objects_and_replaces_arrays() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": [1, 2]});
        merge(&mut t, &json!({"a": {"c": 3}, "d": [9]}));
        assert_eq!(t, json!({"a": {"b": 1, "c": 3}, "d": [9]}));
    }

    #[test]
    fn guid_shape_is_checked() {
        assert!(is_guid("b6cdb9c3-d660-4558-bcfd-82c14a986b56"));
        assert!(!is_guid("b6cdb9c3-d660-4558-bcfd-82c14a986b5"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
    }
}
