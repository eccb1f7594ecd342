//! Fault injection: latency, random and scheduled error statuses, dropped
//! connections, stale reads after writes, and the throttling bucket sizes.
//!
//! The configuration comes from the state file's top-level `faults` (or
//! [`crate::spawn_with`]) and can be replaced at run time with
//! `PUT /_emulator/faults`. Nothing here ever applies to `/_emulator/*`.
//!
//! Random faults draw from a small seeded generator, so a `seed` makes a
//! sequential test run reproducible. Concurrent requests draw in arrival
//! order, which the emulator does not control.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Fault injection settings. Every field is optional in JSON; the default is
/// "no faults" with the default throttling bucket.
///
/// ```json
/// {
///   "seed": 7,
///   "latencyMs": 100, "jitterMs": 50,
///   "errorRates": [{"status": 503, "rate": 0.2, "pathPrefix": "/v1.0", "method": "GET", "retryAfterSeconds": 2}],
///   "failNext": [{"status": 503, "count": 3, "pathPrefix": "/v1.0/policies"}],
///   "dropRate": 0.0, "dropAfterRate": 0.0,
///   "staleReadsMs": 2000,
///   "delays": [{"pathPrefix": "/api/PasswordReset", "delayMs": 600000}],
///   "throttle": {"capacity": 3500, "refillPerSecond": 350},
///   "appThrottle": {"capacity": 150000, "refillPerSecond": 7500}
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Seed of the generator behind `jitterMs`, `errorRates`, `dropRate` and
    /// `dropAfterRate`; without it every start draws a fresh seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Delay added before every request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Extra random delay, uniform in `0..=jitterMs` milliseconds.
    pub jitter_ms: u64,
    /// Random error statuses; the first matching rule that fires wins.
    pub error_rates: Vec<ErrorRate>,
    /// The next `count` matching requests fail; checked before `errorRates`.
    /// Counts go down as requests match (`GET /_emulator/faults` shows what is left).
    pub fail_next: Vec<FailNext>,
    /// Probability (0..=1) of closing the connection without a response
    /// *before* the request is handled: nothing is applied.
    pub drop_rate: f64,
    /// Probability (0..=1) of closing the connection without a response
    /// *after* the request was handled: a write is applied but the client
    /// never learns it (the "ambiguous write").
    pub drop_after_rate: f64,
    /// After a successful write, reads of the written object return the
    /// value from before the write for this many milliseconds.
    pub stale_reads_ms: u64,
    /// Graph throttling bucket per app and tenant; omitted means
    /// [`ThrottleConfig::default`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleConfig>,
    /// Graph throttling bucket per app across all tenants; omitted means
    /// [`AppThrottleConfig::default`] (Graph's own sizes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_throttle: Option<AppThrottleConfig>,
    /// Extra delays for matching requests (e.g. a surface that hangs), on
    /// top of `latencyMs`; every matching rule adds its delay.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delays: Vec<Delay>,
}

/// A delay for matching requests: a slow or hung surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delay {
    /// Milliseconds to wait before the request is handled.
    pub delay_ms: u64,
    /// Only requests whose path starts with this (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Only requests with this method (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A random error status for matching requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorRate {
    /// HTTP status to answer with (400..=599).
    pub status: u16,
    /// Probability (0..=1) that a matching request gets it.
    pub rate: f64,
    /// Only requests whose path starts with this (case-insensitive), e.g. `/v1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Only requests with this method (case-insensitive), e.g. `GET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Adds `Retry-After: N` to the error response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// A deterministic burst: the next `count` matching requests fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailNext {
    /// HTTP status to answer with (400..=599).
    pub status: u16,
    /// How many matching requests still fail.
    pub count: u32,
    /// Only requests whose path starts with this (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Only requests with this method (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Adds `Retry-After: N` to the error response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// Token buckets of Graph's identity throttling, one pair per (app, tenant).
/// Every Graph request takes its resource-unit cost from the first bucket;
/// writes also take one unit from the second (docs/api-surfaces.md §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Resource units the bucket holds when full.
    pub capacity: u32,
    /// Resource units added back per second.
    pub refill_per_second: f64,
    /// Write units the write bucket holds when full.
    #[serde(default = "default_write_capacity")]
    pub write_capacity: u32,
    /// Write units added back per second.
    #[serde(default = "default_write_refill")]
    pub write_refill_per_second: f64,
}

fn default_write_capacity() -> u32 {
    3000
}

fn default_write_refill() -> f64 {
    20.0
}

impl Default for ThrottleConfig {
    /// A small tenant's limits: 3,500 RU per 10 s and 3,000 writes per
    /// 2 min 30 s (docs/api-surfaces.md §9), far above what a normal test sends.
    fn default() -> Self {
        ThrottleConfig {
            capacity: 3500,
            refill_per_second: 350.0,
            write_capacity: default_write_capacity(),
            write_refill_per_second: default_write_refill(),
        }
    }
}

/// Token buckets of Graph's identity throttling per app across all tenants:
/// every Graph request must fit both this pair and its (app, tenant) pair
/// (docs/api-surfaces.md §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppThrottleConfig {
    /// Resource units the app-wide bucket holds when full.
    pub capacity: u32,
    /// Resource units added back per second.
    pub refill_per_second: f64,
    /// Write units the app-wide write bucket holds when full.
    #[serde(default = "default_app_write_capacity")]
    pub write_capacity: u32,
    /// Write units added back per second.
    #[serde(default = "default_app_write_refill")]
    pub write_refill_per_second: f64,
}

fn default_app_write_capacity() -> u32 {
    70_000
}

fn default_app_write_refill() -> f64 {
    70_000.0 / 300.0
}

impl Default for AppThrottleConfig {
    /// Graph's app-wide limits: 150,000 RU per 20 s (7,500 RU/s) and 70,000
    /// writes per 5 min; both buckets start full (docs/api-surfaces.md §9).
    fn default() -> Self {
        AppThrottleConfig {
            capacity: 150_000,
            refill_per_second: 7_500.0,
            write_capacity: default_app_write_capacity(),
            write_refill_per_second: default_app_write_refill(),
        }
    }
}

impl FaultConfig {
    /// Checks ranges that serde cannot: probabilities, statuses, bucket sizes.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let probability = |name: &str, p: f64| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                Err(format!("{name} must be between 0 and 1, got {p}"))
            }
        };
        let status = |s: u16| {
            if (400..=599).contains(&s) {
                Ok(())
            } else {
                Err(format!("an injected status must be 400..=599, got {s}"))
            }
        };
        probability("dropRate", self.drop_rate)?;
        probability("dropAfterRate", self.drop_after_rate)?;
        for rule in &self.error_rates {
            probability("errorRates[].rate", rule.rate)?;
            status(rule.status)?;
        }
        for rule in &self.fail_next {
            status(rule.status)?;
        }
        if let Some(t) = &self.throttle {
            if t.capacity == 0 || t.write_capacity == 0 {
                return Err("throttle capacities must be at least 1".into());
            }
            if !(t.refill_per_second > 0.0 && t.write_refill_per_second > 0.0) {
                return Err("throttle refill rates must be greater than 0".into());
            }
        }
        if let Some(t) = &self.app_throttle {
            if t.capacity == 0 || t.write_capacity == 0 {
                return Err("appThrottle capacities must be at least 1".into());
            }
            if !(t.refill_per_second > 0.0 && t.write_refill_per_second > 0.0) {
                return Err("appThrottle refill rates must be greater than 0".into());
            }
        }
        Ok(())
    }
}

/// What to do with a request at the socket, before it is dispatched.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SocketPlan {
    /// Delay before handling.
    pub latency: Duration,
    /// Close the connection without handling the request.
    pub drop_before: bool,
    /// Handle the request, then close the connection without answering.
    pub drop_after: bool,
}

/// An error status to answer with instead of handling the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Injected {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After` seconds, if configured.
    pub retry_after: Option<u64>,
    /// `failNext` or `errorRate`, for the request log.
    pub source: &'static str,
}

/// The live fault configuration and its random generator.
pub(crate) struct Faults {
    inner: Mutex<Live>,
}

struct Live {
    config: FaultConfig,
    rng: SplitMix64,
}

fn matches(path_prefix: Option<&str>, method: Option<&str>, req_method: &str, path: &str) -> bool {
    let path_ok = path_prefix.is_none_or(|p| {
        path.len() >= p.len() && path.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    });
    path_ok && method.is_none_or(|m| m.eq_ignore_ascii_case(req_method))
}

impl Faults {
    /// Starts with `config` (already validated).
    pub fn new(config: FaultConfig) -> Self {
        let rng = SplitMix64::new(config.seed);
        Faults {
            inner: Mutex::new(Live { config, rng }),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current configuration (with what is left of each `failNext`).
    pub fn config(&self) -> FaultConfig {
        self.live().config.clone()
    }

    /// Replaces the configuration and reseeds the generator.
    pub fn replace(&self, config: FaultConfig) {
        let mut live = self.live();
        live.rng = SplitMix64::new(config.seed);
        live.config = config;
    }

    /// The throttling buckets' sizes.
    pub fn throttle(&self) -> ThrottleConfig {
        self.live().config.throttle.clone().unwrap_or_default()
    }

    /// The app-wide throttling buckets' sizes.
    pub fn app_throttle(&self) -> AppThrottleConfig {
        self.live().config.app_throttle.clone().unwrap_or_default()
    }

    /// The stale-read window after writes.
    pub fn stale_reads(&self) -> Duration {
        Duration::from_millis(self.live().config.stale_reads_ms)
    }

    /// Latency (`latencyMs`, jitter and matching `delays`) and connection
    /// drops for one request `method path` from the socket.
    pub fn socket_plan(&self, method: &str, path: &str) -> SocketPlan {
        let mut live = self.live();
        let Live { config, rng } = &mut *live;
        let jitter = if config.jitter_ms > 0 {
            rng.below(config.jitter_ms.saturating_add(1))
        } else {
            0
        };
        let drop_before = config.drop_rate > 0.0 && rng.chance(config.drop_rate);
        let drop_after =
            !drop_before && config.drop_after_rate > 0.0 && rng.chance(config.drop_after_rate);
        let delayed = config
            .delays
            .iter()
            .filter(|d| matches(d.path_prefix.as_deref(), d.method.as_deref(), method, path))
            .fold(0u64, |sum, d| sum.saturating_add(d.delay_ms));
        SocketPlan {
            latency: Duration::from_millis(
                config
                    .latency_ms
                    .saturating_add(jitter)
                    .saturating_add(delayed),
            ),
            drop_before,
            drop_after,
        }
    }

    /// An error to answer `method path` with, if a `failNext` burst or an
    /// `errorRates` rule says so. Consumes one unit of a matching burst.
    pub fn injected_error(&self, method: &str, path: &str) -> Option<Injected> {
        let mut live = self.live();
        let Live { config, rng } = &mut *live;
        if let Some(rule) = config.fail_next.iter_mut().find(|r| {
            r.count > 0 && matches(r.path_prefix.as_deref(), r.method.as_deref(), method, path)
        }) {
            rule.count -= 1;
            return Some(Injected {
                status: rule.status,
                retry_after: rule.retry_after_seconds,
                source: "failNext",
            });
        }
        for rule in &config.error_rates {
            if matches(
                rule.path_prefix.as_deref(),
                rule.method.as_deref(),
                method,
                path,
            ) && rng.chance(rule.rate)
            {
                return Some(Injected {
                    status: rule.status,
                    retry_after: rule.retry_after_seconds,
                    source: "errorRate",
                });
            }
        }
        None
    }
}

/// SplitMix64: tiny, seedable, good enough for fault dice.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded generator; `None` seeds from a random UUID.
    pub fn new(seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| {
            let bytes = uuid::Uuid::new_v4().into_bytes();
            u64::from_le_bytes(bytes[..8].try_into().unwrap_or([7; 8]))
        });
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0.0..1.0`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p >= 1.0 || self.unit() < p
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generators_repeat_and_rates_are_roughly_honoured() {
        let mut a = SplitMix64::new(Some(42));
        let mut b = SplitMix64::new(Some(42));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut r = SplitMix64::new(Some(1));
        let hits = (0..10_000).filter(|_| r.chance(0.2)).count();
        assert!((1_800..2_200).contains(&hits), "{hits}");
    }

    #[test]
    fn fail_next_counts_down_and_matches_prefix_and_method() {
        let faults = Faults::new(FaultConfig {
            fail_next: vec![FailNext {
                status: 503,
                count: 2,
                path_prefix: Some("/V1.0/policies".into()),
                method: Some("get".into()),
                retry_after_seconds: Some(3),
            }],
            ..FaultConfig::default()
        });
        assert!(faults.injected_error("PATCH", "/v1.0/policies/x").is_none());
        assert!(faults.injected_error("GET", "/v1.0/groups").is_none());
        let hit = faults
            .injected_error("GET", "/v1.0/policies/authorizationPolicy")
            .expect("first of two");
        assert_eq!((hit.status, hit.retry_after), (503, Some(3)));
        assert!(faults.injected_error("GET", "/v1.0/policies/a").is_some());
        assert!(faults.injected_error("GET", "/v1.0/policies/a").is_none());
        assert_eq!(faults.config().fail_next[0].count, 0);
    }

    #[test]
    fn delays_add_to_latency_for_matching_requests_only() {
        let faults = Faults::new(FaultConfig {
            latency_ms: 5,
            delays: vec![Delay {
                delay_ms: 1000,
                path_prefix: Some("/api/PasswordReset".into()),
                method: None,
            }],
            ..FaultConfig::default()
        });
        let hung = faults.socket_plan("GET", "/api/passwordreset/PasswordResetPolicies");
        assert_eq!(hung.latency, Duration::from_millis(1005));
        let other = faults.socket_plan("GET", "/v1.0/$batch");
        assert_eq!(other.latency, Duration::from_millis(5));
    }

    #[test]
    fn app_throttle_defaults_to_graphs_sizes_and_is_validated() {
        let cfg: FaultConfig =
            serde_json::from_str(r#"{"appThrottle": {"capacity": 200, "refillPerSecond": 100}}"#)
                .expect("parses");
        let app = cfg.app_throttle.clone().expect("given");
        assert_eq!((app.capacity, app.write_capacity), (200, 70_000));
        assert!(cfg.validate().is_ok());
        assert_eq!(AppThrottleConfig::default().refill_per_second, 7_500.0);
        let bad = FaultConfig {
            app_throttle: Some(AppThrottleConfig {
                refill_per_second: 0.0,
                ..AppThrottleConfig::default()
            }),
            ..FaultConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn validation_rejects_impossible_values() {
        let bad = FaultConfig {
            drop_rate: 1.5,
            ..FaultConfig::default()
        };
        assert!(bad.validate().is_err());
        let bad = FaultConfig {
            fail_next: vec![FailNext {
                status: 200,
                count: 1,
                path_prefix: None,
                method: None,
                retry_after_seconds: None,
            }],
            ..FaultConfig::default()
        };
        assert!(bad.validate().is_err());
        assert!(FaultConfig::default().validate().is_ok());
    }
}
