//! The directory audit log (docs/api-surfaces.md §7b): `GET /{version}/auditLogs/directoryAudits`
//! with `$filter` (`eq` on strings, `ge` / `le` / `gt` / `lt` on
//! `activityDateTime`, joined by `and`), `$top` and `@odata.nextLink` pages.
//!
//! Like the registration report, the events are generated, not stored: for
//! each of the last [`quirks::AUDIT_HISTORY_DAYS`] whole UTC days before today
//! a deterministic set of self-service password reset events (resets, unlocks,
//! blocked users, flow progress) plus unrelated directory events, derived only
//! from the tenant's population seed (by default from the tenant id) and how
//! many days ago the day is. Today has no events, so a report over the last
//! N days sees the same figures whatever the time of day. Newest first.

use serde_json::{Map, Value, json};

use crate::faults::SplitMix64;
use crate::quirks;
use crate::report::{domain, encode, fnv1a, guid, page_window, skiptoken};
use crate::server::Call;
use crate::wire::{ApiError, Clock, Resp, odata_context};

const PATH: &str = "auditLogs/directoryAudits";
const ENTITY: &str = "microsoft.graph.directoryAudit";

/// One generated event, before it becomes JSON.
#[derive(Debug, Clone)]
struct Event {
    secs: i64,
    nanos: u32,
    id: String,
    activity: &'static str,
    service: &'static str,
    category: &'static str,
    result: &'static str,
    reason: &'static str,
    target_id: String,
    target_upn: String,
}

impl Event {
    fn json(&self) -> Value {
        let when = Clock {
            secs: self.secs,
            nanos: self.nanos,
        }
        .rfc3339_7();
        json!({
            "id": self.id,
            "category": self.category,
            "correlationId": self.id,
            "result": self.result,
            "resultReason": self.reason,
            "activityDisplayName": self.activity,
            "activityDateTime": when,
            "loggedByService": self.service,
            "operationType": "Update",
            "initiatedBy": {
                "app": null,
                "user": {
                    "id": self.target_id,
                    "displayName": null,
                    "userPrincipalName": self.target_upn,
                    "ipAddress": "",
                    "userType": null,
                    "homeTenantId": null,
                    "homeTenantName": null
                }
            },
            "targetResources": [{
                "id": self.target_id,
                "displayName": null,
                "type": "User",
                "userPrincipalName": self.target_upn,
                "groupType": null,
                "modifiedProperties": []
            }],
            "additionalDetails": []
        })
    }
}

/// The events of the day `days_ago` days before `today` (days since the epoch).
fn day_events(seed: u64, today: i64, days_ago: i64, users: u32, domain: &str) -> Vec<Event> {
    let mut rng = SplitMix64::new(Some(
        seed ^ (days_ago as u64).wrapping_mul(0xd1b5_4a32_d192_ed03) ^ 0x5555_aaaa_0000_ffff,
    ));
    let start = (today - days_ago) * 86_400;
    let width = users.to_string().len().max(4);
    let mut out = Vec::new();
    let mut push = |rng: &mut SplitMix64,
                    activity: &'static str,
                    service: &'static str,
                    result: &'static str,
                    reason: &'static str| {
        let user = 1 + rng.below(u64::from(users.max(1)));
        let id = guid(rng.next_u64(), rng.next_u64());
        let target_id = guid(rng.next_u64(), rng.next_u64());
        let category = if service == quirks::SSPR_SERVICE {
            "UserManagement"
        } else {
            "Core Directory"
        };
        out.push(Event {
            secs: start + rng.below(86_400) as i64,
            nanos: (rng.below(10_000_000) * 100) as u32,
            id,
            activity,
            service,
            category,
            result,
            reason,
            target_id,
            target_upn: format!("user{user:0width$}@{domain}"),
        });
    };
    for _ in 0..2 + rng.below(5) {
        if rng.chance(0.8) {
            push(
                &mut rng,
                quirks::ACTIVITY_RESET,
                quirks::SSPR_SERVICE,
                "success",
                "",
            );
        } else {
            let reason = quirks::RESET_FAILURE_REASONS
                [rng.below(quirks::RESET_FAILURE_REASONS.len() as u64) as usize];
            push(
                &mut rng,
                quirks::ACTIVITY_RESET,
                quirks::SSPR_SERVICE,
                "failure",
                reason,
            );
        }
    }
    for _ in 0..rng.below(3) {
        let (result, reason) = if rng.chance(0.9) {
            ("success", "")
        } else {
            ("failure", quirks::RESET_FAILURE_REASONS[0])
        };
        push(
            &mut rng,
            quirks::ACTIVITY_UNLOCK,
            quirks::SSPR_SERVICE,
            result,
            reason,
        );
    }
    if rng.chance(0.15) {
        push(
            &mut rng,
            quirks::ACTIVITY_BLOCKED,
            quirks::SSPR_SERVICE,
            "failure",
            quirks::BLOCKED_REASON,
        );
    }
    for _ in 0..1 + rng.below(3) {
        push(
            &mut rng,
            quirks::ACTIVITY_PROGRESS,
            quirks::SSPR_SERVICE,
            "success",
            "",
        );
    }
    push(&mut rng, "Update user", "Core Directory", "success", "");
    out
}

/// A parsed `$filter` clause.
#[derive(Debug, PartialEq)]
enum Clause {
    /// `prop eq 'text'` (case-insensitive, as Graph compares these).
    Eq { prop: &'static str, value: String },
    /// `activityDateTime op instant`, in seconds since the epoch.
    Time { op: &'static str, secs: i64 },
}

fn bad_filter(filter: &str) -> ApiError {
    ApiError::new(
        400,
        quirks::UNSUPPORTED_FILTER_CODE,
        format!(
            "Invalid filter clause: the emulator supports 'property eq value' and 'activityDateTime ge|le|gt|lt instant' joined with 'and', got: {filter}"
        ),
    )
}

/// Words of a filter, a quoted literal (with `''` for a quote) being one word.
fn words(filter: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut text = String::from("'");
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        text.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => text.push(c),
                    None => return None,
                }
            }
            out.push(text);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word);
        }
    }
    Some(out)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-01T00:00:00Z` (optionally with a fraction) to seconds since the epoch.
fn parse_instant(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'))?;
    let (date, time) = text.split_once(['T', 't'])?;
    let mut d = date.split('-').map(str::parse::<i64>);
    let (y, mo, da) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(str::parse::<i64>);
    let (h, mi, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s)
}

fn unknown_property(name: &str) -> ApiError {
    ApiError::request_bad_request(format!(
        "Could not find a property named '{name}' on type '{ENTITY}'."
    ))
}

/// Parses the `$filter` forms ssprctl sends (and a few more).
fn parse_filter(filter: &str) -> Result<Vec<Clause>, ApiError> {
    let words = words(filter).ok_or_else(|| bad_filter(filter))?;
    let mut clauses = Vec::new();
    for chunk in words.split(|w| w.eq_ignore_ascii_case("and")) {
        let [prop, op, literal] = chunk else {
            return Err(bad_filter(filter));
        };
        let op = op.to_ascii_lowercase();
        if prop.eq_ignore_ascii_case("activityDateTime") {
            let op = match op.as_str() {
                "ge" => "ge",
                "le" => "le",
                "gt" => "gt",
                "lt" => "lt",
                "eq" => "eq",
                _ => return Err(bad_filter(filter)),
            };
            let secs = parse_instant(literal).ok_or_else(|| bad_filter(filter))?;
            clauses.push(Clause::Time { op, secs });
            continue;
        }
        let prop = [
            "loggedByService",
            "activityDisplayName",
            "category",
            "result",
            "correlationId",
        ]
        .into_iter()
        .find(|p| p.eq_ignore_ascii_case(prop))
        .ok_or_else(|| unknown_property(prop))?;
        let Some(value) = literal.strip_prefix('\'') else {
            return Err(bad_filter(filter));
        };
        if op != "eq" {
            return Err(bad_filter(filter));
        }
        clauses.push(Clause::Eq {
            prop,
            value: value.to_string(),
        });
    }
    if clauses.is_empty() {
        return Err(bad_filter(filter));
    }
    Ok(clauses)
}

fn matches(e: &Event, clauses: &[Clause]) -> bool {
    clauses.iter().all(|c| match c {
        Clause::Eq { prop, value } => {
            let have = match *prop {
                "loggedByService" => e.service,
                "activityDisplayName" => e.activity,
                "category" => e.category,
                "result" => e.result,
                _ => e.id.as_str(),
            };
            have.eq_ignore_ascii_case(value)
        }
        Clause::Time { op, secs } => match *op {
            "ge" => e.secs >= *secs,
            "gt" => e.secs > *secs,
            "le" => e.secs <= *secs,
            "lt" => e.secs < *secs,
            _ => e.secs == *secs,
        },
    })
}

/// Every generated event of the tenant, newest first.
fn all_events(seed: u64, users: u32, domain: &str, now: &Clock) -> Vec<Event> {
    let today = now.secs.div_euclid(86_400);
    let mut events: Vec<Event> = (1..=quirks::AUDIT_HISTORY_DAYS)
        .flat_map(|d| day_events(seed, today, d, users, domain))
        .collect();
    events.sort_by(|a, b| (b.secs, b.nanos, &b.id).cmp(&(a.secs, a.nanos, &a.id)));
    events
}

/// `GET …/auditLogs/directoryAudits`.
pub(crate) fn list(call: &Call<'_>) -> Result<Resp, ApiError> {
    let req = call.req;
    let (top, offset) = page_window(req)?;
    let page_size = top.min(quirks::AUDIT_PAGE_SIZE);
    let filter = req.query_param("$filter");
    let clauses = match filter {
        Some(f) => parse_filter(f)?,
        None => Vec::new(),
    };
    let tid = call.p.tid.clone();
    let (seed, users, domain) = call.read(|t| {
        Ok((
            t.population.seed.unwrap_or_else(|| fnv1a(&tid)),
            t.population.users,
            domain(&tid, t),
        ))
    })?;
    let matching: Vec<Event> = all_events(seed, users, &domain, &Clock::now())
        .into_iter()
        .filter(|e| matches(e, &clauses))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(Event::json)
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(odata_context(call.version, PATH)),
    );
    if offset + page_size < matching.len() {
        let base = req
            .header("host")
            .map(|h| format!("http://{h}"))
            .unwrap_or_else(|| "https://graph.microsoft.com".to_string());
        let mut link = format!("{base}/{}/{PATH}?", call.version);
        if let Some(f) = filter {
            link.push_str(&format!("$filter={}&", encode(f)));
        }
        if req.query_param("$top").is_some() {
            link.push_str(&format!("$top={top}&"));
        }
        link.push_str(&format!("$skiptoken={}", skiptoken(offset + page_size)));
        body.insert("@odata.nextLink".into(), json!(link));
    }
    body.insert("value".into(), Value::Array(page));
    Ok(Resp::json(200, Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Clock {
        // 2026-11-30T13:00:00Z
        Clock {
            secs: days_from_civil(2026, 11, 30) * 86_400 + 13 * 3600,
            nanos: 0,
        }
    }

    #[test]
    fn events_are_deterministic_newest_first_and_before_today() {
        let a = all_events(42, 500, "d.example", &now());
        let b = all_events(42, 500, "d.example", &now());
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.id == y.id && x.secs == y.secs)
        );
        assert!(a.windows(2).all(|w| w[0].secs >= w[1].secs));
        let today = days_from_civil(2026, 11, 30) * 86_400;
        assert!(a.iter().all(|e| e.secs < today));
        assert!(a.iter().all(|e| e.secs >= today - 60 * 86_400));
        // Every day has resets; some events are not the SSPR service's.
        assert!(a.iter().any(|e| e.service != quirks::SSPR_SERVICE));
        assert!(a.iter().any(|e| e.activity == quirks::ACTIVITY_BLOCKED));
        let other = all_events(43, 500, "d.example", &now());
        assert_ne!(a[0].id, other[0].id);
    }

    #[test]
    fn the_filter_ssprctl_sends_parses_and_selects() {
        let clauses = parse_filter(
            "loggedByService eq 'Self-service Password Management' and activityDateTime ge 2026-11-20T00:00:00Z",
        )
        .expect("parses");
        assert_eq!(
            clauses[0],
            Clause::Eq {
                prop: "loggedByService",
                value: "Self-service Password Management".into()
            }
        );
        let since = days_from_civil(2026, 11, 20) * 86_400;
        assert_eq!(
            clauses[1],
            Clause::Time {
                op: "ge",
                secs: since
            }
        );
        let events = all_events(42, 500, "d.example", &now());
        let kept: Vec<&Event> = events.iter().filter(|e| matches(e, &clauses)).collect();
        assert!(!kept.is_empty());
        assert!(
            kept.iter()
                .all(|e| e.service == quirks::SSPR_SERVICE && e.secs >= since)
        );
        assert!(parse_filter("loggedByService ne 'x'").is_err());
        assert!(parse_filter("nope eq 'x'").is_err());
        assert!(parse_filter("activityDateTime ge yesterday").is_err());
        assert!(parse_filter("loggedByService eq 'unterminated").is_err());
        assert_eq!(
            words("a eq 'it''s x'"),
            Some(vec!["a".into(), "eq".into(), "'it's x".into()])
        );
        assert_eq!(parse_instant("1970-01-02T00:00:01.5Z"), Some(86_401));
    }
}
