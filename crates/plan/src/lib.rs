//! ssprctl's planner: `(desired, observed) -> Plan`.
//!
//! - [`types`]: the plan, a serialisable value.
//! - [`planner`]: the pure, deterministic diff.
//! - [`render`]: the human rendering.
//!
//! This crate performs no I/O, reads no clock and depends only on the model: the
//! same inputs give a byte-identical plan (DESIGN.md).
#![deny(missing_docs)]

pub mod planner;
pub mod render;
pub mod types;

pub use planner::{plan, plan_tenant};
pub use types::{Action, Change, Finding, Plan, Severity, TenantPlan, Unknown};
