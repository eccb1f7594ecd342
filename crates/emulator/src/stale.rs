//! Stale reads after writes (fault `staleReadsMs`): a lagging replica.
//!
//! Before a write to an object family (say `authorizationPolicy`) the
//! dispatcher keeps a copy of the tenant; for the configured window after
//! the write succeeded, reads of that family are answered from the copy.
//! With several writes inside the window, the oldest copy still in its
//! window wins, so readers see the versions in order, each for the window.

use std::sync::Arc;
use std::time::Instant;

use crate::state::Tenant;

struct Snapshot {
    tid: String,
    family: &'static str,
    before: Arc<Tenant>,
    until: Instant,
}

/// Pre-write copies of tenants, per object family, until they expire.
#[derive(Default)]
pub(crate) struct StaleReads {
    snapshots: Vec<Snapshot>,
}

impl StaleReads {
    /// Remembers `before` as what reads of `family` in `tid` see until `until`.
    pub fn record(&mut self, tid: &str, family: &'static str, before: Arc<Tenant>, until: Instant) {
        self.snapshots.push(Snapshot {
            tid: tid.to_string(),
            family,
            before,
            until,
        });
    }

    /// The copy reads of `family` in `tid` must see at `now`, if any.
    pub fn view(&mut self, tid: &str, family: &str, now: Instant) -> Option<Arc<Tenant>> {
        self.snapshots.retain(|s| s.until > now);
        self.snapshots
            .iter()
            .find(|s| s.family == family && s.tid == tid)
            .map(|s| Arc::clone(&s.before))
    }

    /// Forgets every copy.
    pub fn clear(&mut self) {
        self.snapshots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn oldest_live_copy_wins_and_copies_expire() {
        let mut s = StaleReads::default();
        let t0 = Instant::now();
        let mut a = crate::defaults::fresh_tenant("t");
        a.display_name = "A".into();
        let mut b = a.clone();
        b.display_name = "B".into();
        s.record("t", "x", Arc::new(a), t0 + Duration::from_secs(2));
        s.record("t", "x", Arc::new(b), t0 + Duration::from_secs(3));
        let name = |s: &mut StaleReads, at: u64, family: &str| {
            s.view("t", family, t0 + Duration::from_secs(at))
                .map(|t| t.display_name.clone())
        };
        assert_eq!(name(&mut s, 1, "other"), None);
        assert_eq!(name(&mut s, 1, "x").as_deref(), Some("A"));
        assert_eq!(name(&mut s, 2, "x").as_deref(), Some("B"));
        assert_eq!(name(&mut s, 3, "x"), None);
    }
}
