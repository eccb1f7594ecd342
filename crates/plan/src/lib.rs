//! ssprctl's planner: `(desired, observed) -> Plan`.
//!
//! - [`types`]: the plan, a serialisable, versioned value (also the JSON format).
//! - [`planner`]: the pure, deterministic diff.
//! - [`risk`]: weakening / strengthening / neutral, with reasons and controls.
//! - [`preflight`]: named checks producing findings.
//! - [`readiness`]: the effect of a plan on people.
//! - [`lint`]: settings checked against the catalog's lint rules, with
//!   accepted exceptions.
//! - [`render`] and [`markdown`]: the human and pull-request renderings;
//!   [`group`]: tenants with identical plans grouped, and the fleet summary.
//!
//! This crate performs no I/O, reads no clock and depends only on the model: the
//! same inputs give a byte-identical plan.
#![deny(missing_docs)]

pub mod group;
pub mod lint;
pub mod markdown;
pub mod planner;
pub mod preflight;
pub mod readiness;
pub mod render;
pub mod risk;
pub mod types;

#[cfg(test)]
mod fleet_tests;

pub use planner::{DesiredSides, PlanMeta, observed_value, plan_and_lint, plan_of, plan_tenant};
pub use types::{
    Action, Change, FORMAT_VERSION, Finding, Merged, Plan, Risk, Selection, Severity, Shard,
    TenantPlan, Unknown,
};

/// The JSON Schema of the `lint --json` format.
pub fn lint_schema_json() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<lint::LintReport>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

/// The JSON Schema of the plan format, as checked in at `schemas/plan.schema.json`.
pub fn plan_schema_json() -> String {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Plan>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}
