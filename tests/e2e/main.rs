//! End-to-end tests: the real `ssprctl` binary against the emulator over HTTP.
//!
//! One test binary (compile time), one module per area:
//! - `support`: the harness (an emulator on 127.0.0.1:0 with a temporary state
//!   file, running the binary isolated from the machine and within a hang
//!   guard, reading the emulator's request log);
//! - `isolation`: nothing of the machine's environment reaches a run, and a run
//!   that never ends is killed and shown;
//! - `cycle`: plan -> apply -> plan converges, for each example;
//! - `fleet`: grouped plans of several tenants, closing summaries, progress on stderr only;
//! - `export`: export -> plan is "No changes" (fresh, applied, random live states, many tenants);
//! - `write_rules`: each API's write rule, asserted from the request log;
//! - `validation`: `validate` errors with their file:line:column;
//! - `ci_examples`: every flag the CI examples pass is one the binary has;
//! - `emulator`: one process per emulator state file (the lock, both ways, and
//!   a killed holder's lock file), saved on SIGTERM, `--state none`;
//! - `commands`: `schema`, `emulator`, exit codes and safety gates, closed pipes,
//!   log colour, unwritable output paths;
//! - `gitops`: saved plans, the stale-plan guard, risk gates, JSON and Markdown;
//! - `forged`: every edit of a saved plan is refused, the gates use the recomputed plan;
//! - `lint`: offline and live lint, JSON and SARIF (schema-validated), exceptions,
//!   and the lint lines of `plan`;
//! - `preflight`: each preflight finding from an emulator state that triggers it;
//! - `credentials`: each credential kind, good and bad, and that no secret is printed;
//! - `journal`: the journal of every apply, SIGINT mid-apply, `rollback`;
//! - `lifecycle`: export, apply, rollback: the first export plans "No changes" again;
//! - `report`: `report` figures (human, JSON against its schema, Markdown),
//!   audit-log paging, an unreadable part reported unknown;
//! - `report_html`: `report --html` pages (one tenant, a fleet with drift) in
//!   headless Chromium: the DOM holds the figures, the screenshot is not blank;
//! - `ergonomics`: the default desired-state file, a YAML file given as a plan,
//!   `apply` without arguments, log levels, `login --tenant`, help texts, counts;
//! - `reliability`: round trips, and riding out throttling, 5xx, drops, stale reads, latency;
//! - `shard`: `--tenant` and `--shard` on plan, apply, lint and report; a saved
//!   plan keeps its selection; `merge` of three shards equals the unsharded plan;
//! - `pacing`: a fleet paced below the app-wide Graph quota gets no 429, one
//!   above it rides the 429s out, a hung surface costs only its tenant;
//! - `concurrent`: lost updates: another writer between the plan and a
//!   full-object write, read-after-write lag in the read-back (and SIGINT
//!   during it), each journaled;
//! - `install`: `--version` (with the commit it was built from), shell
//!   completions loaded by bash, the man page rendered by `man`.

mod ci_examples;
mod commands;
mod concurrent;
mod credentials;
mod cycle;
mod emulator;
mod ergonomics;
mod export;
mod fleet;
mod forged;
mod gitops;
mod install;
mod isolation;
mod journal;
mod lifecycle;
mod lint;
mod pacing;
mod preflight;
mod reliability;
mod report;
mod report_html;
mod shard;
mod support;
mod validation;
mod write_rules;
