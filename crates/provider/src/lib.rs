//! ssprctl's provider: the `Provider` trait, the Microsoft Graph / Entra portal
//! HTTP client, and the one mapping between model names and wire names.
//!
//! - [`wire`]: model <-> wire, table-driven; the only place wire names appear.
//! - [`client`]: the HTTP provider: transport (retries honouring Retry-After,
//!   401 refresh), `$batch` reads, portal reads in parallel, what a read asks
//!   for and how its answers decode, and each API's write rules (pure
//!   functions from the change and the live object to the requests to send).
//! - [`credentials`]: each kind of credential and how it becomes a token.
//! - [`clouds`]: hosts per Microsoft cloud.
//! - [`settings_doc`]: `docs/settings.md`, generated from the catalog and the wire mapping.
//!
//! The provider never decides policy: it reads, maps and writes what it is told.

use std::future::Future;

use serde_json::Value;
use ssprctl_model::{Api, ObservedTenant, Tenant};

pub mod auth;
pub mod client;
pub mod clouds;
pub mod credentials;
pub mod error;
pub mod licensing;
pub mod permissions;
pub mod settings_doc;
pub mod store;
pub mod wire;

pub use client::{
    ClientOptions, ConcurrentChange, Connection, HttpProvider, PortalCredential, ThrottlePriority,
    Written,
};
pub use clouds::Hosts;
pub use credentials::{AppCredential, CertificateSigner, Secret};
pub use error::ProviderError;
pub use store::TokenStore;

/// Reads and writes a tenant's settings.
pub trait Provider: Sync {
    /// Reads every surface the tenant's desired settings manage. A surface that
    /// cannot be read is listed in `unreadable`, never guessed.
    fn read(&self, tenant: &Tenant) -> impl Future<Output = ObservedTenant> + Send;

    /// Writes one surface: `partial` is the model section (e.g. the value of
    /// `selfServicePasswordReset`) holding only the fields to change.
    /// `planned_from` is the surface's object as the plan read it
    /// ([`ssprctl_model::ObservedTenant::objects`]): a full-object write
    /// compares it with its pre-write read, refuses with
    /// [`ProviderError::Moved`] (nothing written) when a setting the tenant's
    /// desired state manages moved, and otherwise keeps and reports what
    /// another writer changed ([`Written::concurrent`]).
    fn write(
        &self,
        tenant: &Tenant,
        api: Api,
        partial: &Value,
        planned_from: Option<&Value>,
    ) -> impl Future<Output = Result<Written, ProviderError>> + Send;
}
