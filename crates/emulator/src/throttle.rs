//! Graph-like throttling: a token bucket of resource units (RU) and one of
//! write units per (app, tenant), and the same pair per app across all
//! tenants, as in Graph's identity and access service limits
//! (docs/api-surfaces.md §9). A request passes only when both pairs admit it.
//!
//! Only Graph requests are charged; each `$batch` sub-request is charged on
//! its own and the envelope is free. Sizes come from [`ThrottleConfig`] and
//! [`AppThrottleConfig`].

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use crate::faults::{AppThrottleConfig, ThrottleConfig};
use crate::quirks;

/// Outcome of charging a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Charge {
    /// Allowed. `limit_percentage` is set once usage is above 80% of a
    /// bucket (the `x-ms-throttle-limit-percentage` header).
    Allowed {
        /// Used fraction of the fuller bucket, when above 0.8.
        limit_percentage: Option<f64>,
    },
    /// Refused with 429.
    Throttled {
        /// Seconds until the request would fit (`Retry-After`).
        retry_after: u64,
        /// `x-ms-throttle-scope`.
        scope: String,
        /// `x-ms-throttle-information`.
        information: &'static str,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    units: f64,
    writes: f64,
    at: Instant,
}

/// One pair of bucket sizes: resource units and write units.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    capacity: f64,
    refill: f64,
    write_capacity: f64,
    write_refill: f64,
}

impl Bucket {
    fn full(sizes: &Sizes, now: Instant) -> Bucket {
        Bucket {
            units: sizes.capacity,
            writes: sizes.write_capacity,
            at: now,
        }
    }

    fn refill(&mut self, sizes: &Sizes, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.units = (self.units + elapsed * sizes.refill).min(sizes.capacity);
        self.writes = (self.writes + elapsed * sizes.write_refill).min(sizes.write_capacity);
        self.at = now;
    }

    /// Why `cost` (and a write unit) does not fit: `Retry-After` seconds,
    /// the limit (`ReadWrite` or `Write`) and `x-ms-throttle-information`.
    fn refusal(
        &self,
        sizes: &Sizes,
        cost: f64,
        write: bool,
    ) -> Option<(u64, &'static str, &'static str)> {
        let seconds = |missing: f64, rate: f64| (missing / rate).ceil().max(1.0) as u64;
        if self.units < cost {
            return Some((
                seconds(cost - self.units, sizes.refill),
                "ReadWrite",
                "ResourceUnitLimitExceeded",
            ));
        }
        if write && self.writes < 1.0 {
            return Some((
                seconds(1.0 - self.writes, sizes.write_refill),
                "Write",
                "WriteLimitExceeded",
            ));
        }
        None
    }

    fn take(&mut self, cost: f64, write: bool) {
        self.units -= cost;
        if write {
            self.writes -= 1.0;
        }
    }

    fn used(&self, sizes: &Sizes) -> f64 {
        ((sizes.capacity - self.units) / sizes.capacity)
            .max((sizes.write_capacity - self.writes) / sizes.write_capacity)
    }
}

/// Every (app, tenant) pair's buckets, every app's app-wide buckets, and how
/// many requests each scope refused.
#[derive(Debug, Default)]
pub(crate) struct Buckets {
    map: HashMap<(String, String), Bucket>,
    apps: HashMap<String, Bucket>,
    throttled: Throttled,
}

/// How many requests were answered 429 by each throttling scope since the
/// emulator started (or the counters were reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Throttled {
    /// Refused by a per-(app, tenant) bucket (`Tenant_Application`).
    pub tenant_application: u64,
    /// Refused by an app-wide bucket (`Application`).
    pub application: u64,
}

impl Buckets {
    /// Forgets every bucket (they start full again); the counters stay.
    pub fn clear(&mut self) {
        self.map.clear();
        self.apps.clear();
    }

    /// The 429s answered so far, by scope.
    pub fn throttled(&self) -> Throttled {
        self.throttled
    }

    /// Sets the 429 counters back to zero.
    pub fn reset_counters(&mut self) {
        self.throttled = Throttled::default();
    }

    /// Charges `cost` RU (and one write unit when `write`) to `app` in `tid`:
    /// both the (app, tenant) buckets and the app-wide ones must admit it.
    /// A throttled request is charged to neither (UNCONFIRMED; see `quirks`).
    #[allow(clippy::too_many_arguments)]
    pub fn charge(
        &mut self,
        cfg: &ThrottleConfig,
        app_cfg: &AppThrottleConfig,
        app: &str,
        tid: &str,
        cost: u32,
        write: bool,
        now: Instant,
    ) -> Charge {
        let tenant_sizes = Sizes {
            capacity: f64::from(cfg.capacity),
            refill: cfg.refill_per_second,
            write_capacity: f64::from(cfg.write_capacity),
            write_refill: cfg.write_refill_per_second,
        };
        let app_sizes = Sizes {
            capacity: f64::from(app_cfg.capacity),
            refill: app_cfg.refill_per_second,
            write_capacity: f64::from(app_cfg.write_capacity),
            write_refill: app_cfg.write_refill_per_second,
        };
        let app_key = app.to_ascii_lowercase();
        let bucket = self
            .map
            .entry((app_key.clone(), tid.to_ascii_lowercase()))
            .or_insert_with(|| Bucket::full(&tenant_sizes, now));
        bucket.refill(&tenant_sizes, now);
        let app_bucket = self
            .apps
            .entry(app_key)
            .or_insert_with(|| Bucket::full(&app_sizes, now));
        app_bucket.refill(&app_sizes, now);

        let cost = f64::from(cost);
        if let Some((retry_after, limit, information)) = bucket.refusal(&tenant_sizes, cost, write)
        {
            self.throttled.tenant_application += 1;
            return Charge::Throttled {
                retry_after,
                scope: format!("Tenant_Application/{limit}/{app}/{tid}"),
                information,
            };
        }
        if let Some((retry_after, limit, information)) = app_bucket.refusal(&app_sizes, cost, write)
        {
            self.throttled.application += 1;
            return Charge::Throttled {
                retry_after,
                scope: format!("Application/{limit}/{app}/{tid}"),
                information,
            };
        }
        bucket.take(cost, write);
        app_bucket.take(cost, write);
        let used = bucket.used(&tenant_sizes).max(app_bucket.used(&app_sizes));
        Charge::Allowed {
            limit_percentage: (used > quirks::THROTTLE_PERCENTAGE_THRESHOLD).then_some(used),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn small() -> ThrottleConfig {
        ThrottleConfig {
            capacity: 10,
            refill_per_second: 1.0,
            write_capacity: 2,
            write_refill_per_second: 0.5,
        }
    }

    #[test]
    fn empties_refills_and_reports_usage() {
        let mut b = Buckets::default();
        let t0 = Instant::now();
        let cfg = small();
        for i in 0..8 {
            assert_eq!(
                b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 1, false, t0),
                Charge::Allowed {
                    limit_percentage: None
                },
                "request {i}"
            );
        }
        let Charge::Allowed {
            limit_percentage: Some(p),
        } = b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 1, false, t0)
        else {
            panic!("above 80%")
        };
        assert!((p - 0.9).abs() < 1e-9);
        b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 1, false, t0);
        let Charge::Throttled {
            retry_after,
            scope,
            information,
        } = b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 3, false, t0)
        else {
            panic!("empty bucket")
        };
        assert_eq!(retry_after, 3);
        assert_eq!(scope, "Tenant_Application/ReadWrite/a/t");
        assert_eq!(information, "ResourceUnitLimitExceeded");
        // Other apps and tenants have their own buckets.
        assert!(matches!(
            b.charge(&cfg, &AppThrottleConfig::default(), "b", "t", 1, false, t0),
            Charge::Allowed { .. }
        ));
        // Three seconds later three units are back.
        assert!(matches!(
            b.charge(
                &cfg,
                &AppThrottleConfig::default(),
                "a",
                "t",
                3,
                false,
                t0 + Duration::from_secs(3)
            ),
            Charge::Allowed { .. }
        ));
    }

    #[test]
    fn writes_have_their_own_bucket() {
        let mut b = Buckets::default();
        let t0 = Instant::now();
        let cfg = small();
        assert!(matches!(
            b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 1, true, t0),
            Charge::Allowed { .. }
        ));
        assert!(matches!(
            b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 1, true, t0),
            Charge::Allowed { .. }
        ));
        let Charge::Throttled {
            retry_after,
            information,
            ..
        } = b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 1, true, t0)
        else {
            panic!("write bucket empty")
        };
        assert_eq!((retry_after, information), (2, "WriteLimitExceeded"));
        // Reads still pass.
        assert!(matches!(
            b.charge(&cfg, &AppThrottleConfig::default(), "a", "t", 1, false, t0),
            Charge::Allowed { .. }
        ));
    }

    #[test]
    fn the_app_wide_bucket_is_shared_by_every_tenant_and_counted() {
        let mut b = Buckets::default();
        let t0 = Instant::now();
        let app = AppThrottleConfig {
            capacity: 4,
            refill_per_second: 2.0,
            write_capacity: 10,
            write_refill_per_second: 1.0,
        };
        let cfg = ThrottleConfig::default();
        for tid in ["t1", "t2", "t3", "t4"] {
            assert!(matches!(
                b.charge(&cfg, &app, "a", tid, 1, false, t0),
                Charge::Allowed { .. }
            ));
        }
        let Charge::Throttled {
            retry_after,
            scope,
            information,
        } = b.charge(&cfg, &app, "a", "t5", 3, false, t0)
        else {
            panic!("the app-wide bucket is empty")
        };
        assert_eq!(retry_after, 2);
        assert_eq!(scope, "Application/ReadWrite/a/t5");
        assert_eq!(information, "ResourceUnitLimitExceeded");
        // Another app has its own app-wide bucket.
        assert!(matches!(
            b.charge(&cfg, &app, "b", "t5", 1, false, t0),
            Charge::Allowed { .. }
        ));
        assert_eq!(
            b.throttled(),
            Throttled {
                tenant_application: 0,
                application: 1
            }
        );
        b.reset_counters();
        assert_eq!(b.throttled(), Throttled::default());
    }
}
