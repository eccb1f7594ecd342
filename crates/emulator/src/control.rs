//! The emulator's own control endpoints under `/_emulator/`. They need no
//! token, are never subject to fault injection and are not logged:
//!
//! * `GET|DELETE /_emulator/requests`: the request log;
//! * `GET|PUT|DELETE /_emulator/faults`: fault injection at run time;
//! * `GET|DELETE /_emulator/stats`: how many requests the throttling buckets
//!   answered with 429, by scope (`DELETE` sets the counters to zero);
//! * `POST /_emulator/devicecode/approve` `{"userCode": "…"}`.
//!
//! (`GET /_emulator/github/oidc`, the fake GitHub OIDC service, is a service
//! being emulated rather than a control endpoint: it is logged, and lives in
//! the `github` module.)

use serde_json::{Value, json};

use crate::faults::FaultConfig;
use crate::server::Ctx;
use crate::wire::{Req, Resp};

fn error(status: u16, message: impl Into<String>) -> Resp {
    Resp::json(status, json!({"error": message.into()}))
}

fn method_not_allowed(allowed: &str) -> Resp {
    error(405, format!("method not allowed; use {allowed}")).with_header("allow", allowed)
}

/// Whether `lower` (lower-cased path segments) names a control endpoint.
pub(crate) fn is_control(lower: &[String]) -> bool {
    matches!(lower, [first, rest @ ..] if first == "_emulator" && rest != ["github", "oidc"])
}

/// Handles a control request.
pub(crate) fn handle(ctx: &Ctx, req: &Req, lower: &[String]) -> Resp {
    let segments: Vec<&str> = lower.iter().skip(1).map(String::as_str).collect();
    match segments.as_slice() {
        ["requests"] => match req.method.as_str() {
            "GET" => Resp::json(200, ctx.log_json()),
            "DELETE" => {
                ctx.clear_log();
                Resp::no_content()
            }
            _ => method_not_allowed("GET, DELETE"),
        },
        ["faults"] => match req.method.as_str() {
            "GET" => Resp::json(200, faults_json(&ctx.faults().config())),
            "PUT" => {
                let config: FaultConfig = match serde_json::from_slice(&req.body) {
                    Ok(c) => c,
                    Err(e) => return error(400, format!("invalid fault configuration: {e}")),
                };
                if let Err(reason) = config.validate() {
                    return error(400, format!("invalid fault configuration: {reason}"));
                }
                ctx.replace_faults(config.clone());
                Resp::json(200, faults_json(&config))
            }
            "DELETE" => {
                ctx.replace_faults(FaultConfig::default());
                Resp::no_content()
            }
            _ => method_not_allowed("GET, PUT, DELETE"),
        },
        ["stats"] => match req.method.as_str() {
            "GET" => {
                let throttled = ctx.throttled();
                Resp::json(
                    200,
                    json!({
                        "throttled": throttled,
                        "throttledTotal": throttled.tenant_application + throttled.application,
                    }),
                )
            }
            "DELETE" => {
                ctx.reset_throttled();
                Resp::no_content()
            }
            _ => method_not_allowed("GET, DELETE"),
        },
        ["devicecode", "approve"] => {
            if req.method != "POST" {
                return method_not_allowed("POST");
            }
            let code = serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|v| {
                    v.get("userCode")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
            let Some(code) = code else {
                return error(400, "expected a JSON body {\"userCode\": \"…\"}");
            };
            if ctx.device_codes().approve(&code) {
                Resp::no_content()
            } else {
                error(
                    404,
                    format!("no pending device code has the user code '{code}'"),
                )
            }
        }
        _ => error(404, format!("no emulator control endpoint at {}", req.path)),
    }
}

fn faults_json(config: &FaultConfig) -> Value {
    serde_json::to_value(config).unwrap_or_else(|e| json!({"error": e.to_string()}))
}
