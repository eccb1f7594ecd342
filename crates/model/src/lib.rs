//! ssprctl's desired-state model.
//!
//! - [`settings`]: the settings of one tenant, in the names a person understands.
//! - [`config`]: the file — a baseline plus tenants, each deep-merged over it.
//! - [`credentials`]: how to sign in; where secrets are, never the secrets.
//! - [`load`]: reading a file with `file:line:column` for every problem.
//! - [`validate`]: the semantic rules a schema cannot express.
//! - [`schema`]: the JSON Schema generated from the types.
//! - [`observed`]: what was read from a tenant, in model terms.
//! - [`catalog`]: every managed setting, known once: its API, comparison, risk
//!   rule, controls, default and description.
//!
//! This crate performs no I/O beyond reading the file it is asked to load; it
//! knows nothing of HTTP or of the APIs' wire names (see `ssprctl-provider`).
#![deny(missing_docs)]

pub mod catalog;
pub mod config;
pub mod credentials;
pub mod load;
pub mod observed;
pub mod schema;
pub mod settings;
pub mod shared;
pub mod text;
pub mod validate;

pub use catalog::{Api, Field, FieldId};
pub use config::{Cloud, ConfigFile, Endpoint, Exception, Tenant, TenantEntry};
pub use load::{Config, LoadError, Problem, SourceLocation, TenantException, load_file, load_str};
pub use observed::{
    Digest, Facts, GroupInfo, Licences, ObservedTenant, Population, ReadFailure, RegisteredUser,
    Unreadable,
};
pub use settings::*;

/// A GUID in its 8-4-4-4-12 hexadecimal form.
pub const GUID_PATTERN: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
