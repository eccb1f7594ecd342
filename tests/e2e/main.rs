//! End-to-end tests: the real `ssprctl` binary against the emulator over HTTP.
//!
//! One test binary (compile time), one module per area:
//! - `support`: the harness (an emulator on 127.0.0.1:0 with a temporary state
//!   file, running the binary, reading the emulator's request log);
//! - `cycle`: plan -> apply -> plan converges, for each example;
//! - `write_rules`: each API's write rule, asserted from the request log;
//! - `validation`: `validate` errors with their file:line:column;
//! - `commands`: `schema`, `emulator`, exit codes and safety gates, closed pipes,
//!   log colour, unwritable output paths;
//! - `gitops`: saved plans, the stale-plan guard, risk gates, JSON and Markdown;
//! - `forged`: every edit of a saved plan is refused, the gates use the recomputed plan;
//! - `preflight`: each preflight finding from an emulator state that triggers it;
//! - `credentials`: each credential kind, good and bad, and that no secret is printed;
//! - `reliability`: round trips, and riding out throttling, 5xx, drops, stale reads, latency;
//! - `concurrent`: lost updates: another writer between the plan and a
//!   full-object write, and read-after-write lag in the read-back.

mod commands;
mod concurrent;
mod credentials;
mod cycle;
mod forged;
mod gitops;
mod preflight;
mod reliability;
mod support;
mod validation;
mod write_rules;
