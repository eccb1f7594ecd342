//! One shared copy of equal values: a fleet on one baseline has the same
//! effective settings, hosts and lint findings in thousands of tenants, and a
//! copy each was most of a large run's memory.

use std::sync::Arc;

/// Hands out one [`Arc`] per distinct value: equal values share it.
#[derive(Debug)]
pub struct Shared<T> {
    variants: Vec<Arc<T>>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            variants: Vec::new(),
        }
    }
}

impl<T: PartialEq> Shared<T> {
    /// Distinct values kept for sharing; past it, values are not shared
    /// (values that all differ gain nothing, and the search stays short).
    pub const VARIANTS: usize = 64;

    /// `value`, or the equal value handed out before.
    pub fn share(&mut self, value: T) -> Arc<T> {
        match self.variants.iter().find(|v| ***v == value) {
            Some(same) => Arc::clone(same),
            None => self.keep(Arc::new(value)),
        }
    }

    /// Like [`Shared::share`], for a value already in an [`Arc`].
    pub fn share_arc(&mut self, value: Arc<T>) -> Arc<T> {
        match self.variants.iter().find(|v| **v == value) {
            Some(same) => Arc::clone(same),
            None => self.keep(value),
        }
    }

    fn keep(&mut self, value: Arc<T>) -> Arc<T> {
        if self.variants.len() < Self::VARIANTS {
            self.variants.push(Arc::clone(&value));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_copy_and_past_the_cap_values_are_still_returned() {
        let mut shared = Shared::default();
        let a = shared.share(1);
        let b = shared.share_arc(Arc::new(1));
        let c = shared.share(2);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        for n in 0..(Shared::<i64>::VARIANTS as i64 + 5) {
            assert_eq!(*shared.share(n + 10), n + 10);
        }
    }
}
