//! A local, stateful HTTP emulator of the Microsoft Entra ID endpoints
//! ssprctl talks to: the token endpoint, the portal-internal SSPR API
//! (`main.iam.ad.ext.azure.com/api/PasswordReset/…`) and the Microsoft Graph
//! resources of `docs/api-surfaces.md`, with their real paths,
//! methods, status codes, JSON shapes and quirks. Tests (over real HTTP),
//! benchmarks and the offline quick start run against it.
//!
//! # What this crate must not do
//!
//! * Depend on any other ssprctl crate. It is an *independent oracle*: its
//!   JSON handling is written from the API reference, so a wire-shape bug in
//!   the provider cannot hide behind shared types.
//! * Print or exit. It logs through `tracing`; the CLI decides what to show.
//! * Guess silently. Every behaviour the reference marks UNCONFIRMED is a
//!   named constant or commented function in the `quirks` module.
//! * Protect anything. Its secrets, keys and signatures are for tests; it
//!   listens on loopback and must never face a network.
//!
//! # Using it
//!
//! ```no_run
//! # async fn demo() -> Result<(), ssprctl_emulator::Error> {
//! let handle = ssprctl_emulator::spawn(ssprctl_emulator::Options {
//!     listen: "127.0.0.1:0".parse().expect("literal address"),
//!     state_file: Some("emulator-state.json".into()),
//!     auto_create_tenants: true,
//! })
//! .await?;
//! let token_url = format!(
//!     "{}/{}/oauth2/v2.0/token",
//!     handle.base_url(),
//!     "11111111-2222-4333-8444-555555555555"
//! );
//! // POST client_id=LOCAL_CLIENT_ID, client_secret=LOCAL_CLIENT_SECRET,
//! // grant_type=client_credentials, scope=https://graph.microsoft.com/.default
//! // then call {base_url}/v1.0/policies/authorizationPolicy with the token.
//! # let _ = token_url;
//! handle.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Every endpoint lives on the one base URL; `docs/emulator.md` in the
//! repository lists each route with examples. In short:
//!
//! | Route | What |
//! |---|---|
//! | `POST /{tenant}/oauth2/v2.0/token` (and v1 `/{tenant}/oauth2/token`) | client credentials (secret, certificate or federated assertion), refresh token, device code |
//! | `POST /{tenant}/oauth2/v2.0/devicecode` | starts a device-code sign-in |
//! | `GET /metadata/identity/oauth2/token` | managed identity (IMDS shape; header `Metadata: true`) |
//! | `GET,PUT /api/PasswordReset/…` | the portal-internal SSPR API |
//! | `/v1.0/…`, `/beta/…` | Microsoft Graph, including `$batch` and the registration report |
//! | `GET /_emulator/github/oidc?audience=X` | a fake GitHub Actions OIDC token service |
//! | `GET,DELETE /_emulator/requests` | the request log |
//! | `GET,PUT,DELETE /_emulator/faults` | fault injection at run time |
//! | `POST /_emulator/devicecode/approve` | approves a device-code sign-in |
//!
//! Many tenants share one emulator; requests are told apart by the `tid`
//! claim of the bearer token. With `auto_create_tenants`, the first token
//! request for an unknown tenant id (a GUID) creates a fresh tenant: see
//! [`LOCAL_CLIENT_ID`], [`LOCAL_CLIENT_SECRET`] and [`LOCAL_ADMIN_REFRESH_TOKEN`].
//!
//! Graph enforces application permissions (docs/api-surfaces.md §10): an app token
//! needs one of the route's permissions in `roles` (a `ReadWrite` grant
//! implies the `Read` of its family), a user token needs Global
//! Administrator in `wids`; otherwise `403 Authorization_RequestDenied`.
//! Graph is also throttled per (app, tenant) like the real service, by
//! default far above what tests send.
//!
//! # Faults
//!
//! [`FaultConfig`] injects latency, error statuses (random or in bursts),
//! dropped connections, stale reads after writes and tighter throttling.
//! It comes from the state file's `faults`, from [`spawn_with`], or at run
//! time from `PUT /_emulator/faults`. Faults never touch `/_emulator/*`.
//!
//! # Request log
//!
//! `GET /_emulator/requests` returns `[{method, path, query?, status,
//! tenant, app, retryAfter?, latencyMs, startedUs, fault?, subRequests?}]`;
//! `DELETE` clears it. The control endpoints themselves are not logged.
//!
//! # State file format
//!
//! With [`Options::state_file`] set, the state is loaded at start (a missing
//! file means no tenants) and written behind: a write wakes a writer thread
//! that saves everything changed so far at most every [`WRITE_INTERVAL`]
//! (200 ms; after a write that took `d`, at least `4 d` later), and once more
//! on [`Handle::close`] / [`Handle::shutdown`] or when the handle is dropped;
//! [`Handle::flush`] saves at once. Each write is atomic (a temporary file in
//! the same directory, fsync, then a rename). The emulator holds an exclusive
//! operating-system lock on `FILE.lock` for its lifetime (with its process
//! id, command line and start time in it): a second emulator on the same
//! file fails with [`Error::StateLocked`]. It is pretty-printed JSON, meant
//! to be readable and hand-editable:
//!
//! ```json
//! {
//!   "formatVersion": 1,
//!   "githubOidc": { "requestToken": "emulator-actions-request-token", "subject": "repo:contoso/identity-config:ref:refs/heads/main" },
//!   "faults": { "latencyMs": 50, "failNext": [{ "status": 503, "count": 2 }] },
//!   "tenants": {
//!     "11111111-2222-4333-8444-555555555555": {
//!       "displayName": "Contoso",
//!       "apps": [
//!         {
//!           "clientId": "e5e5e5e5-0000-4000-8000-00000000c0de",
//!           "clientSecret": "emulator-not-a-secret",
//!           "roles": ["Policy.Read.All", "Policy.ReadWrite.Authorization"],
//!           "certificates": [{ "thumbprintSha256": "…", "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n…" }],
//!           "federatedCredentials": [{ "issuer": "https://token.actions.githubusercontent.com", "subject": "repo:contoso/identity-config:ref:refs/heads/main" }]
//!         }
//!       ],
//!       "admins": [
//!         {
//!           "userPrincipalName": "admin@contoso.onmicrosoft.com",
//!           "roleTemplateIds": ["62e90394-69f5-4237-9190-012177145e10"],
//!           "refreshTokens": ["my-refresh-token"]
//!         }
//!       ],
//!       "managedIdentities": [{ "clientId": "…", "roles": ["Policy.Read.All"] }],
//!       "population": { "users": 500, "seed": 42 },
//!       "autoApproveDeviceCode": true,
//!       "tokenLifetimeSeconds": 3599,
//!       "passwordResetPolicies": { "objectId": "default", "enablementType": 2, "…": "…" },
//!       "onPremisesPasswordResetPolicies": { "passwordWritebackSupported": false, "…": "…" },
//!       "authorizationPolicy": { "id": "authorizationPolicy", "allowedToUseSSPR": true, "…": "…" },
//!       "authenticationMethodsPolicy": { "policyMigrationState": "preMigration", "authenticationMethodConfigurations": ["…"] },
//!       "groupSettings": [],
//!       "organization": { "onPremisesSyncEnabled": null, "…": "…" },
//!       "subscribedSkus": [{ "skuPartNumber": "AAD_PREMIUM_P2", "servicePlans": ["…"] }],
//!       "groups": [{ "id": "…", "displayName": "SSPR Pilot", "securityEnabled": true }]
//!     }
//!   }
//! }
//! ```
//!
//! * `githubOidc` (optional): the fake GitHub OIDC service's request token
//!   and token subject. `faults` (optional): a [`FaultConfig`] applied at start.
//! * `tenants` is keyed by tenant id (lower-cased on load).
//! * **Every tenant key is optional.** An omitted key takes the fresh-tenant
//!   default; a key that is present replaces the default *whole* (a given
//!   `groups` list is the complete list, not an addition). So the smallest
//!   useful tenant is `{}`: a fresh tenant with the local app and admin.
//! * `apps[]`: `clientId`, optional `clientSecret`, `roles` (granted
//!   application permissions, copied into app tokens; default none),
//!   `certificates[]` (`thumbprintSha256` and/or `thumbprint` (SHA-1) or
//!   `certificatePem`, plus `publicKeyPem`) and `federatedCredentials[]`
//!   (`issuer`, `subject`, `audiences` defaulting to `["api://AzureADTokenExchange"]`).
//! * `admins[]`: `userPrincipalName`, `roleTemplateIds` (the token's `wids`;
//!   default Global Administrator) and `refreshTokens`. Any listed refresh
//!   token may be redeemed; every redemption issues a new one (rotation,
//!   `emulator-rt-…`) and the old stays valid, but only the 8 newest issued
//!   tokens per admin are kept (a newer one invalidates the oldest); tokens
//!   written by hand never expire. Remove a token to revoke it. The first
//!   admin is the one who signs in with a device code.
//! * `managedIdentities[]`: `clientId` and `roles`, served by the IMDS route.
//! * `population`: `users` (default 500) and `seed` (default derived from the
//!   tenant id) of the generated users behind the registration report.
//! * `autoApproveDeviceCode` (default true): device-code sign-ins complete on
//!   the second poll. `tokenLifetimeSeconds` (default 3599): every access
//!   token's lifetime in this tenant.
//! * The policy objects are stored in their wire shape without
//!   `@odata.context` annotations (the server adds them). The portal's
//!   `passwordResetEnabledGroupName` is computed on read. The portal's
//!   `*OptionAllowed` flags are stored and served but never changed by a PUT:
//!   edit them here to simulate a tenant where a method is not allowed.
//! * `authenticationMethodsPolicy` holds its `authenticationMethodConfigurations`
//!   array inline, as GET returns it.
//! * `organization` is served with `id` = tenant id and `displayName` = the
//!   tenant's `displayName`, whatever the object says.
//! * Hybrid: `onPremisesPasswordResetPolicies.enablementForTenant` (Entra
//!   Connect) or `cloudProvisioningEnablementForTenant` (Cloud Sync) `true`
//!   registers a writeback client; `organization.onPremisesSyncEnabled`
//!   `true` marks the tenant synchronised. No PUT changes the first two.
//! * Objects are stored in one shape and served per Graph version: `/v1.0`
//!   leaves out what only beta's metadata declares, and the reverse (see
//!   `docs/emulator.md`, "Graph versions").
//! * `groupSettings[]` are `{id, displayName, templateId, values[{name, value}]}`.
//!
//! The file is rewritten whole by the emulator, so hand edits must be made
//! while the emulator is stopped.

mod assertion;
mod audit;
mod batch;
mod control;
mod defaults;
mod devicecode;
mod directory;
mod error;
mod faults;
mod github;
mod imds;
mod jwt;
mod lockfile;
mod persist;
mod policies;
mod portal;
mod quirks;
mod report;
mod server;
mod settings;
mod shapes;
mod stale;
mod state;
mod throttle;
mod token;
mod wire;

pub use error::Error;
pub use faults::{AppThrottleConfig, Delay, ErrorRate, FailNext, FaultConfig, ThrottleConfig};
pub use persist::WRITE_INTERVAL;
pub use server::{Handle, spawn, spawn_with};

/// Application (client) id of the app registration every fresh tenant has.
/// It holds every application permission ssprctl can use.
pub const LOCAL_CLIENT_ID: &str = "e5e5e5e5-0000-4000-8000-00000000c0de";

/// Client secret of [`LOCAL_CLIENT_ID`]: a well-known development value, like
/// Azurite's account key. It protects nothing.
pub const LOCAL_CLIENT_SECRET: &str = "emulator-not-a-secret";

/// A refresh token of the fresh tenant's Global Administrator, for the
/// portal API's delegated sign-in (refresh-token grant).
pub const LOCAL_ADMIN_REFRESH_TOKEN: &str = "emulator-admin-refresh-token";

/// The audience (resource id) of tokens for the portal-internal API
/// (`main.iam.ad.ext.azure.com`); docs/api-surfaces.md §1a.
pub const PORTAL_AUDIENCE: &str = "74658136-14ec-4630-ad9b-26e160ff0fc6";

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on; port 0 picks a free port (see [`Handle::addr`]).
    pub listen: std::net::SocketAddr,
    /// State file to load at start and save behind every write (see the
    /// crate docs: at most every [`WRITE_INTERVAL`], and on close), locked
    /// against other processes for the emulator's lifetime; `None` keeps
    /// the state in memory only.
    pub state_file: Option<std::path::PathBuf>,
    /// Create a fresh tenant on the first token request for an unknown
    /// tenant id; otherwise such requests get AADSTS90002 "Tenant not found".
    pub auto_create_tenants: bool,
}
