//! Graph-like throttling: a token bucket of resource units (RU) and one of
//! write units per (app, tenant), as in Graph's identity and access service
//! limits (docs/api-surfaces.md §9, docs/api-surfaces.md §9).
//!
//! Only Graph requests are charged; each `$batch` sub-request is charged on
//! its own and the envelope is free. Sizes come from [`ThrottleConfig`].

use std::collections::HashMap;
use std::time::Instant;

use crate::faults::ThrottleConfig;
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

/// Every (app, tenant) pair's buckets.
#[derive(Debug, Default)]
pub(crate) struct Buckets {
    map: HashMap<(String, String), Bucket>,
}

impl Buckets {
    /// Forgets every bucket (they start full again).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Charges `cost` RU (and one write unit when `write`) to `app` in `tid`.
    /// A throttled request is not charged (UNCONFIRMED; see `quirks`).
    pub fn charge(
        &mut self,
        cfg: &ThrottleConfig,
        app: &str,
        tid: &str,
        cost: u32,
        write: bool,
        now: Instant,
    ) -> Charge {
        let capacity = f64::from(cfg.capacity);
        let write_capacity = f64::from(cfg.write_capacity);
        let bucket = self
            .map
            .entry((app.to_ascii_lowercase(), tid.to_ascii_lowercase()))
            .or_insert(Bucket {
                units: capacity,
                writes: write_capacity,
                at: now,
            });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.units = (bucket.units + elapsed * cfg.refill_per_second).min(capacity);
        bucket.writes = (bucket.writes + elapsed * cfg.write_refill_per_second).min(write_capacity);
        bucket.at = now;

        let cost = f64::from(cost);
        let seconds = |missing: f64, rate: f64| (missing / rate).ceil().max(1.0) as u64;
        if bucket.units < cost {
            return Charge::Throttled {
                retry_after: seconds(cost - bucket.units, cfg.refill_per_second),
                scope: format!("Tenant_Application/ReadWrite/{app}/{tid}"),
                information: "ResourceUnitLimitExceeded",
            };
        }
        if write && bucket.writes < 1.0 {
            return Charge::Throttled {
                retry_after: seconds(1.0 - bucket.writes, cfg.write_refill_per_second),
                scope: format!("Tenant_Application/Write/{app}/{tid}"),
                information: "WriteLimitExceeded",
            };
        }
        bucket.units -= cost;
        if write {
            bucket.writes -= 1.0;
        }
        let used = ((capacity - bucket.units) / capacity)
            .max((write_capacity - bucket.writes) / write_capacity);
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
                b.charge(&cfg, "a", "t", 1, false, t0),
                Charge::Allowed {
                    limit_percentage: None
                },
                "request {i}"
            );
        }
        let Charge::Allowed {
            limit_percentage: Some(p),
        } = b.charge(&cfg, "a", "t", 1, false, t0)
        else {
            panic!("above 80%")
        };
        assert!((p - 0.9).abs() < 1e-9);
        b.charge(&cfg, "a", "t", 1, false, t0);
        let Charge::Throttled {
            retry_after,
            scope,
            information,
        } = b.charge(&cfg, "a", "t", 3, false, t0)
        else {
            panic!("empty bucket")
        };
        assert_eq!(retry_after, 3);
        assert_eq!(scope, "Tenant_Application/ReadWrite/a/t");
        assert_eq!(information, "ResourceUnitLimitExceeded");
        // Other apps and tenants have their own buckets.
        assert!(matches!(
            b.charge(&cfg, "b", "t", 1, false, t0),
            Charge::Allowed { .. }
        ));
        // Three seconds later three units are back.
        assert!(matches!(
            b.charge(&cfg, "a", "t", 3, false, t0 + Duration::from_secs(3)),
            Charge::Allowed { .. }
        ));
    }

    #[test]
    fn writes_have_their_own_bucket() {
        let mut b = Buckets::default();
        let t0 = Instant::now();
        let cfg = small();
        assert!(matches!(
            b.charge(&cfg, "a", "t", 1, true, t0),
            Charge::Allowed { .. }
        ));
        assert!(matches!(
            b.charge(&cfg, "a", "t", 1, true, t0),
            Charge::Allowed { .. }
        ));
        let Charge::Throttled {
            retry_after,
            information,
            ..
        } = b.charge(&cfg, "a", "t", 1, true, t0)
        else {
            panic!("write bucket empty")
        };
        assert_eq!((retry_after, information), (2, "WriteLimitExceeded"));
        // Reads still pass.
        assert!(matches!(
            b.charge(&cfg, "a", "t", 1, false, t0),
            Charge::Allowed { .. }
        ));
    }
}
