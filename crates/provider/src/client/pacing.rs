//! Client-side pacing below Graph's app-wide identity quota, the throttle
//! priority header, and the per-tenant deadline.
//!
//! Graph's identity and access limits are per app *across all tenants*:
//! 150,000 resource units (RU) per 20 s, i.e. 7,500 RU/s sustained, and 70,000
//! writes per 5 min (docs/api-surfaces.md §9). A run over thousands of tenants
//! reaches them long before any one tenant's limit, so every Graph request of
//! the run (each `$batch` sub-request on its own; the envelope is free) first
//! takes its cost from one GCRA limiter ([`governor`]). A 429 whose
//! `x-ms-throttle-scope` is `Application/…` pauses every Graph request of the
//! run until its `Retry-After`; other scopes back off only the request that
//! got it (the retry in `transport`).
//!
//! [`resource_units`] is the one place the cost table lives.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// The default read budget, RU per second: below Graph's 7,500 RU/s so that
/// a run leaves some room for the app's other users (another shard, a portal
/// user) and for the clocks of the two sides not agreeing.
pub const DEFAULT_GRAPH_BUDGET: u32 = 7_000;
/// The default write budget, writes per second: 70,000 per 5 min is 233/s;
/// 200/s leaves the same kind of margin.
pub const DEFAULT_WRITE_BUDGET: u32 = 200;
/// Seconds' worth of the write budget that may go at once: 35,000 writes at
/// the default budget, half of Graph's write bucket (70,000, which starts
/// full and refills at about 233/s). An apply of thousands of tenants
/// (about 4 writes each) then writes at the speed of its round trips and is
/// paced at the budget only past the burst, and the other half of Graph's
/// bucket stays for whoever else uses the app. Sending at most the burst
/// plus the budget per second since the start never outruns Graph's bucket
/// (70,000 plus 233 per second), so a run alone on the app gets no 429 for
/// writes; an `Application`-scope 429 (another user of the app took the
/// rest) still pauses every request of the run.
pub const WRITE_BURST_SECONDS: u32 = 175;
/// The default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default deadline of one tenant's read (and of each step of its apply).
pub const DEFAULT_TENANT_DEADLINE: Duration = Duration::from_secs(300);

/// The `x-ms-throttle-priority` sent with every Graph request. Graph throttles
/// `Low` first when it must throttle; it never changes the limits. `High` is
/// deliberately not offered: automation should not claim it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThrottlePriority {
    /// Scheduled, unattended runs (drift checks): throttled first.
    Low,
    /// Interactive runs.
    #[default]
    Normal,
}

impl ThrottlePriority {
    /// The header value.
    pub fn header_value(self) -> &'static str {
        match self {
            ThrottlePriority::Low => "Low",
            ThrottlePriority::Normal => "Normal",
        }
    }
}

/// How the client paces itself and how long it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Graph resource units per second for the whole run (all tenants); the
    /// limiter's burst is one second's worth.
    pub graph_budget: NonZeroU32,
    /// Graph writes per second for the whole run; burst
    /// [`WRITE_BURST_SECONDS`]' worth.
    pub write_budget: NonZeroU32,
    /// The `x-ms-throttle-priority` of every Graph request.
    pub priority: ThrottlePriority,
    /// The longest one HTTP request may take (connect included).
    pub request_timeout: Duration,
    /// The longest one tenant's read (or one step of its apply) may take,
    /// retries included.
    pub tenant_deadline: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            graph_budget: NonZeroU32::new(DEFAULT_GRAPH_BUDGET).unwrap_or(NonZeroU32::MIN),
            write_budget: NonZeroU32::new(DEFAULT_WRITE_BUDGET).unwrap_or(NonZeroU32::MIN),
            priority: ThrottlePriority::Normal,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            tenant_deadline: DEFAULT_TENANT_DEADLINE,
        }
    }
}

/// The Graph resource-unit cost of a GET or write of `path_and_query` (below
/// the version, e.g. `/subscribedSkus?$select=skuId`), as Graph's identity
/// and access cost table gives it (docs/api-surfaces.md §9; the table is
/// Microsoft's and can change): 1 unless listed (`subscribedSkus` 3, `users`
/// 2, `groups/{id}/members` 3, `groups/{id}/transitiveMembers` 5); `$select`
/// −1, `$expand` +1, `$top` below 20 −1; never below 1.
pub fn resource_units(path_and_query: &str) -> u32 {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let base: i64 = match segments.as_slice() {
        [.., "subscribedskus"] => 3,
        ["users", ..] => 2,
        ["groups", _, "members", ..] => 3,
        ["groups", _, "transitivemembers", ..] => 5,
        _ => 1,
    };
    let param = |name: &str| {
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let k = k.replace("%24", "$");
            k.eq_ignore_ascii_case(name).then_some(v)
        })
    };
    let mut cost = base;
    if param("$select").is_some() {
        cost -= 1;
    }
    if param("$expand").is_some() {
        cost += 1;
    }
    if param("$top")
        .and_then(|t| t.trim().parse::<u32>().ok())
        .is_some_and(|t| t < 20)
    {
        cost -= 1;
    }
    u32::try_from(cost.max(1)).unwrap_or(1)
}

/// What one Graph request takes from the budget: its RU and its writes. A
/// `$batch` envelope is free and each sub-request is charged on its own
/// (docs/api-surfaces.md §9), so its cost is the sum over `body.requests`.
pub(crate) fn charge_of(
    method: &reqwest::Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u32, u32) {
    let is_batch = path
        .split('?')
        .next()
        .is_some_and(|p| p.eq_ignore_ascii_case("/$batch"));
    if !is_batch {
        return (
            resource_units(path),
            u32::from(*method != reqwest::Method::GET),
        );
    }
    let subs = body
        .and_then(|b| b.get("requests"))
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    subs.iter().fold((0, 0), |(units, writes), r| {
        let url = r
            .get("url")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("/");
        let get = r
            .get("method")
            .and_then(serde_json::Value::as_str)
            .is_none_or(|m| m.eq_ignore_ascii_case("GET"));
        (units + resource_units(url), writes + u32::from(!get))
    })
}

/// The part of a Graph URL below its version (`/v1.0` or `/beta`), or `None`
/// for a URL that is not a Graph call (the portal API, a token endpoint).
pub(crate) fn graph_path(url: &str) -> Option<&str> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = &after_scheme[after_scheme.find('/')?..];
    ["/v1.0/", "/beta/"]
        .iter()
        .find_map(|v| path.strip_prefix(v.trim_end_matches('/')))
        .filter(|rest| rest.starts_with('/'))
}

/// Whether a 429's `x-ms-throttle-scope` names the app-wide limit.
pub(crate) fn is_application_scope(scope: &str) -> bool {
    scope
        .split('/')
        .next()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("Application"))
}

/// The run's Graph limiters and the app-wide pause.
///
/// Requests that must wait queue in arrival order (a fair mutex per limiter)
/// and only the first of them sleeps on the limiter: with hundreds of tenants
/// in flight at the budget, each admission wakes one task, not all of them.
pub(crate) struct Pacer {
    reads: DefaultDirectRateLimiter,
    read_burst: NonZeroU32,
    read_turn: tokio::sync::Mutex<()>,
    writes: DefaultDirectRateLimiter,
    write_burst: NonZeroU32,
    write_turn: tokio::sync::Mutex<()>,
    clock: DefaultClock,
    paused_until: Mutex<Option<Instant>>,
}

impl Pacer {
    /// Limiters for `options`' budgets, each starting full: one second's
    /// worth of reads, [`WRITE_BURST_SECONDS`]' worth of writes.
    pub fn new(options: &ClientOptions) -> Pacer {
        let write_burst = options
            .write_budget
            .saturating_mul(NonZeroU32::new(WRITE_BURST_SECONDS).unwrap_or(NonZeroU32::MIN));
        Pacer {
            reads: RateLimiter::direct(Quota::per_second(options.graph_budget)),
            read_burst: options.graph_budget,
            read_turn: tokio::sync::Mutex::new(()),
            writes: RateLimiter::direct(
                Quota::per_second(options.write_budget).allow_burst(write_burst),
            ),
            write_burst,
            write_turn: tokio::sync::Mutex::new(()),
            clock: DefaultClock::default(),
            paused_until: Mutex::new(None),
        }
    }

    fn paused(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.paused_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds every Graph request of the run for `wait` (an app-wide 429).
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused();
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// Waits until a Graph request costing `units` RU and `writes` write
    /// units fits the budget and no app-wide pause is in force.
    pub async fn admit(&self, units: u32, writes: u32) {
        self.sit_out_pause().await;
        // A request costlier than the burst could never fit: charge the burst.
        let units = NonZeroU32::new(units.min(self.read_burst.get())).unwrap_or(NonZeroU32::MIN);
        self.take(&self.reads, &self.read_turn, units).await;
        if let Some(writes) = NonZeroU32::new(writes.min(self.write_burst.get())) {
            self.take(&self.writes, &self.write_turn, writes).await;
        }
        // A pause that began while this request waited for its turn.
        self.sit_out_pause().await;
    }

    /// Waits while an app-wide pause is in force.
    async fn sit_out_pause(&self) {
        loop {
            let until = *self.paused();
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
    }

    async fn take(
        &self,
        limiter: &DefaultDirectRateLimiter,
        turn: &tokio::sync::Mutex<()>,
        n: NonZeroU32,
    ) {
        let _turn = turn.lock().await;
        // `n` never exceeds the burst, so `check_n` only ever says "not yet".
        while let Ok(Err(not_until)) = limiter.check_n(n) {
            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
        }
    }
}

tokio::task_local! {
    /// When the current tenant's deadline passes (set by the read and apply
    /// steps around their requests): a retry that would wait past it is not
    /// made.
    static DEADLINE: Instant;
}

/// Runs `fut` with a deadline for its retries; the caller also cuts it at
/// the deadline with [`tokio::time::timeout_at`].
pub(crate) async fn with_deadline<F: std::future::Future>(deadline: Instant, fut: F) -> F::Output {
    DEADLINE.scope(deadline, fut).await
}

/// Whether waiting `wait` before a retry would end past the current
/// tenant's deadline (none set: never).
pub(crate) fn past_deadline(wait: Duration) -> bool {
    DEADLINE
        .try_with(|d| Instant::now() + wait >= *d)
        .unwrap_or(false)
}

/// The reason a surface gets when its tenant's deadline cut its read.
pub(crate) fn deadline_reason(deadline: Duration) -> String {
    format!(
        "no answer within the {} s deadline (--tenant-deadline)",
        deadline.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_table() {
        assert_eq!(resource_units("/policies/authorizationPolicy"), 1);
        assert_eq!(
            resource_units("/subscribedSkus?$select=skuId,skuPartNumber"),
            2
        );
        assert_eq!(resource_units("/subscribedSkus"), 3);
        assert_eq!(resource_units("/users?$top=5"), 1);
        assert_eq!(resource_units("/groups/abc/transitiveMembers"), 5);
        assert_eq!(resource_units("/groups/abc/members?$expand=x"), 4);
        assert_eq!(
            resource_units("/organization?$select=id,onPremisesSyncEnabled"),
            1
        );
        assert_eq!(resource_units("/groups?%24select=id&%24top=999"), 1);
    }

    #[test]
    fn a_batch_costs_the_sum_of_its_sub_requests() {
        let body = serde_json::json!({"requests": [
            {"id": "a", "method": "GET", "url": "/policies/authorizationPolicy"},
            {"id": "b", "method": "GET", "url": "/subscribedSkus?$select=skuId"},
            {"id": "c", "method": "PATCH", "url": "/policies/x"}
        ]});
        assert_eq!(
            charge_of(&reqwest::Method::POST, "/$batch", Some(&body)),
            (4, 1)
        );
        assert_eq!(
            charge_of(&reqwest::Method::PATCH, "/policies/x", None),
            (1, 1)
        );
        assert_eq!(charge_of(&reqwest::Method::GET, "/users", None), (2, 0));
    }

    #[test]
    fn graph_paths_are_found_below_the_version_only() {
        assert_eq!(
            graph_path("https://graph.microsoft.com/v1.0/subscribedSkus?$select=a"),
            Some("/subscribedSkus?$select=a")
        );
        assert_eq!(
            graph_path("http://127.0.0.1:9/beta/policies/x"),
            Some("/policies/x")
        );
        assert_eq!(
            graph_path("https://main.iam.ad.ext.azure.com/api/PasswordReset/PasswordResetPolicies"),
            None
        );
        assert_eq!(graph_path("https://graph.microsoft.com/v1.0x/y"), None);
    }

    #[test]
    fn only_the_application_scope_is_app_wide() {
        assert!(is_application_scope("Application/ReadWrite/app/tid"));
        assert!(!is_application_scope(
            "Tenant_Application/ReadWrite/app/tid"
        ));
        assert!(!is_application_scope("Tenant/Write/app/tid"));
    }

    #[tokio::test]
    async fn the_burst_passes_at_once_and_an_app_wide_pause_holds_every_request() {
        let options = ClientOptions {
            graph_budget: NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN),
            ..ClientOptions::default()
        };
        let pacer = Pacer::new(&options);
        let t0 = Instant::now();
        // Costlier than the burst: charged the burst, not refused forever.
        pacer.admit(5000, 0).await;
        assert!(pacer.reads.check_n(NonZeroU32::MIN).is_ok());
        pacer.pause(Duration::from_millis(50));
        pacer.admit(1, 1).await;
        assert!(Instant::now() >= t0 + Duration::from_millis(50));
    }

    #[test]
    fn the_default_write_burst_is_half_of_graphs_write_bucket_then_the_budget() {
        let pacer = Pacer::new(&ClientOptions::default());
        assert_eq!(pacer.write_burst.get(), 35_000);
        let burst = NonZeroU32::new(35_000).unwrap_or(NonZeroU32::MIN);
        assert!(matches!(pacer.writes.check_n(burst), Ok(Ok(()))));
        // Past the burst, the next write waits for the budget (1/200 s).
        match pacer.writes.check_n(NonZeroU32::MIN) {
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(pacer.clock.now());
                assert!(
                    wait > Duration::ZERO && wait <= Duration::from_millis(5),
                    "{wait:?}"
                );
            }
            other => panic!("the write after the burst was not held: {other:?}"),
        }
    }

    #[tokio::test]
    async fn past_the_burst_concurrent_requests_wait_for_the_budget() {
        let options = ClientOptions {
            graph_budget: NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN),
            ..ClientOptions::default()
        };
        let pacer = Pacer::new(&options);
        let t0 = Instant::now();
        pacer.admit(1000, 0).await;
        // 200 RU more at 1,000 RU/s: about 0.2 s, however they interleave.
        futures_util::future::join_all((0..4).map(|_| pacer.admit(50, 0))).await;
        assert!(
            Instant::now() >= t0 + Duration::from_millis(150),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test]
    async fn a_deadline_says_when_a_retry_would_end_too_late() {
        assert!(!past_deadline(Duration::from_secs(3600)), "no deadline set");
        let deadline = Instant::now() + Duration::from_secs(10);
        with_deadline(deadline, async {
            assert!(!past_deadline(Duration::from_millis(1)));
            assert!(past_deadline(Duration::from_secs(11)));
        })
        .await;
    }
}
