//! The HTTP provider, used for Microsoft clouds and the emulator alike.
//!
//! Each module changes for its own reason:
//! - `transport`: sending one request: retries, Retry-After, backoff,
//!   timeouts, the 401 refresh, and turning error bodies into typed errors;
//! - `tokens`: the per-tenant token cache and `doctor`'s token check;
//! - `batch`: Graph `$batch`;
//! - `portal`: the portal API's URLs and its GET and PUT;
//! - `read`: which requests a tenant read needs and how the answers decode
//!   into an `ObservedTenant` (both pure), and the read itself;
//! - `write`: each API's write rules (pure: the change and the live object
//!   in, the exact requests out), and the executor that sends them;
//! - `concurrent`: lost updates on full-object writes (pure): what moved
//!   between the plan's read, the pre-write read and the read-back;
//! - `pacing`: the run's Graph budget (one limiter across tenants), the
//!   throttle priority and the per-tenant deadline;
//! - `population`: the registration report and group members for readiness.
//! - `report`: the registration report and the SSPR audit events for `report`.
//!
//! Only `read` and `write` call into [`crate::wire`]. Both are pure but for the
//! one function that does the I/O, and are unit-tested without a network.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use ssprctl_model::{Api, ObservedTenant, Tenant};
use tokio::sync::Mutex;

use crate::Provider;
use crate::clouds::{Hosts, PORTAL_CLIENT_ID};
use crate::credentials::{AppCredential, Secret};
use crate::error::ProviderError;

mod api_error;
mod batch;
pub mod concurrent;
pub mod pacing;
mod population;
mod portal;
mod read;
pub mod report;
mod tokens;
pub(crate) mod transport;
mod write;

pub use crate::credentials::PortalCredential;
pub use concurrent::ConcurrentChange;
pub use pacing::{ClientOptions, ThrottlePriority};
pub use read::GroupLookup;
pub use tokens::{TokenCheck, TokenFacts};
pub use write::Written;

/// Everything needed to talk to one tenant.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The directory id.
    pub tenant_id: String,
    /// Its hosts.
    pub hosts: Arc<Hosts>,
    /// Credential for Graph, or why there is none (tenants whose credentials
    /// were chosen alike share one).
    pub graph: Arc<Result<AppCredential, String>>,
    /// Credential for the portal API, or why there is none.
    pub portal: Arc<Result<PortalCredential, String>>,
}

impl Connection {
    /// A connection to an emulator, with the emulator's well-known development
    /// credentials (not secrets: every emulator tenant has them).
    pub fn emulator(
        tenant_id: &str,
        base_url: &str,
        client_id: &str,
        client_secret: &str,
        admin_refresh_token: &str,
    ) -> Connection {
        Connection {
            tenant_id: tenant_id.to_string(),
            hosts: Arc::new(Hosts::emulator(base_url)),
            graph: Arc::new(Ok(AppCredential::ClientSecret {
                client_id: client_id.into(),
                secret: Secret::new(client_secret),
            })),
            portal: Arc::new(Ok(PortalCredential {
                client_id: PORTAL_CLIENT_ID.into(),
                refresh_token: Secret::new(admin_refresh_token),
                store: None,
            })),
        }
    }
}

/// The real HTTP provider (Graph + portal), used for Microsoft clouds and the
/// emulator alike.
pub struct HttpProvider {
    pub(crate) http: reqwest::Client,
    connections: HashMap<String, Connection>,
    tokens: tokens::TokenCache,
    /// Refresh tokens rotated by the token endpoint, per tenant.
    pub(crate) rotated: Mutex<HashMap<String, Secret>>,
    /// Budgets, priority and deadlines of the run.
    pub(crate) options: pacing::ClientOptions,
    /// The run's Graph limiters (one for all tenants).
    pub(crate) pacer: pacing::Pacer,
}

impl HttpProvider {
    /// A provider for these tenants, keyed by tenant name, with the default
    /// [`ClientOptions`].
    pub fn new(connections: HashMap<String, Connection>) -> Result<HttpProvider, reqwest::Error> {
        HttpProvider::with_options(connections, ClientOptions::default())
    }

    /// A provider for these tenants with `options`' Graph budgets, throttle
    /// priority, request timeout and tenant deadline.
    pub fn with_options(
        connections: HashMap<String, Connection>,
        options: ClientOptions,
    ) -> Result<HttpProvider, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("ssprctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.request_timeout.min(Duration::from_secs(10)))
            .timeout(options.request_timeout)
            .https_only(false)
            .build()?;
        Ok(HttpProvider {
            http,
            connections,
            tokens: tokens::TokenCache::default(),
            rotated: Mutex::new(HashMap::new()),
            pacer: pacing::Pacer::new(&options),
            options,
        })
    }

    /// The options this provider was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The hosts of tenant `name`, if the provider has a connection for it.
    pub fn hosts(&self, name: &str) -> Option<&Arc<Hosts>> {
        self.connections.get(name).map(|c| &c.hosts)
    }

    fn conn(&self, tenant: &Tenant, api: Api) -> Result<&Connection, ProviderError> {
        self.connections
            .get(&tenant.name)
            .ok_or_else(|| ProviderError::NoCredential {
                api,
                hint: format!("no connection configured for tenant {}", tenant.name),
            })
    }
}

impl Provider for HttpProvider {
    async fn read(&self, tenant: &Tenant) -> ObservedTenant {
        self.read_tenant(tenant).await
    }

    async fn write(
        &self,
        tenant: &Tenant,
        api: Api,
        partial: &Value,
        planned_from: Option<&Value>,
    ) -> Result<Written, ProviderError> {
        let conn = self.conn(tenant, api)?;
        self.write_surface(conn, api, partial, &tenant.settings, planned_from)
            .await
    }
}
