//! A local, stateful HTTP emulator of the Microsoft Entra ID endpoints
//! ssprctl talks to: the token endpoint, the portal-internal SSPR API
//! (`main.iam.ad.ext.azure.com/api/PasswordReset/…`) and the Microsoft Graph
//! resources of `shared/reference/api-surface.md`, with their real paths,
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
//! Every endpoint lives on the one base URL: `/{tenant}/oauth2/v2.0/token`
//! (and the v1 `/{tenant}/oauth2/token` with `resource=`), `/api/PasswordReset/…`
//! for the portal and `/v1.0/…` or `/beta/…` for Graph. Many tenants share
//! one emulator; requests are told apart by the `tid` claim of the bearer
//! token. With `auto_create_tenants`, the first token request for an
//! unknown tenant id (a GUID) creates a fresh tenant: see [`LOCAL_CLIENT_ID`],
//! [`LOCAL_CLIENT_SECRET`] and [`LOCAL_ADMIN_REFRESH_TOKEN`].
//!
//! `GET /_emulator/requests` returns the request log (`[{method, path,
//! query?, status, tenant, subRequests?}]`) and `DELETE /_emulator/requests`
//! clears it. These two need no token.
//!
//! # State file format
//!
//! With [`Options::state_file`] set, the state is loaded at start (a missing
//! file means no tenants) and written after every successful write,
//! atomically (a temporary file in the same directory, then a rename). It is
//! pretty-printed JSON, meant to be readable and hand-editable:
//!
//! ```json
//! {
//!   "formatVersion": 1,
//!   "tenants": {
//!     "11111111-2222-4333-8444-555555555555": {
//!       "displayName": "Contoso",
//!       "apps": [
//!         {
//!           "clientId": "e5e5e5e5-0000-4000-8000-00000000c0de",
//!           "clientSecret": "emulator-not-a-secret",
//!           "roles": ["Policy.Read.All", "Policy.ReadWrite.Authorization"]
//!         }
//!       ],
//!       "admins": [
//!         {
//!           "userPrincipalName": "admin@contoso.onmicrosoft.com",
//!           "roleTemplateIds": ["62e90394-69f5-4237-9190-012177145e10"],
//!           "refreshTokens": ["my-refresh-token"]
//!         }
//!       ],
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
//! * `tenants` is keyed by tenant id (lower-cased on load).
//! * **Every tenant key is optional.** An omitted key takes the fresh-tenant
//!   default; a key that is present replaces the default *whole* (a given
//!   `groups` list is the complete list, not an addition). So the smallest
//!   useful tenant is `{}`: a fresh tenant with the local app and admin.
//! * `apps[]`: `clientId`, `clientSecret` and `roles` (granted application
//!   permissions, copied into app tokens; default none). Apps may use the
//!   client-credentials grant.
//! * `admins[]`: `userPrincipalName`, `roleTemplateIds` (the token's `wids`;
//!   default Global Administrator) and `refreshTokens`. Any listed refresh
//!   token may be redeemed; every redemption appends a new one (rotation) and
//!   the old stays valid. Remove a token to revoke it.
//! * The policy objects are stored in their wire shape without
//!   `@odata.context` annotations (the server adds them). The portal's
//!   `passwordResetEnabledGroupName` is computed on read. The portal's
//!   `*OptionAllowed` flags are stored and served but never changed by a PUT:
//!   edit them here to simulate a tenant where a method is not allowed.
//! * `authenticationMethodsPolicy` holds its `authenticationMethodConfigurations`
//!   array inline, as GET returns it.
//! * `organization` is served with `id` = tenant id and `displayName` = the
//!   tenant's `displayName`, whatever the object says.
//! * `groupSettings[]` are `{id, displayName, templateId, values[{name, value}]}`.
//!
//! The file is rewritten whole on every write, so hand edits must be made
//! while the emulator is stopped.

mod batch;
mod defaults;
mod directory;
mod error;
mod policies;
mod portal;
mod quirks;
mod server;
mod settings;
mod state;
mod token;
mod wire;

pub use error::Error;
pub use server::{Handle, spawn};

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
/// (`main.iam.ad.ext.azure.com`); api-surface §1a.
pub const PORTAL_AUDIENCE: &str = "74658136-14ec-4630-ad9b-26e160ff0fc6";

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on; port 0 picks a free port (see [`Handle::addr`]).
    pub listen: std::net::SocketAddr,
    /// State file to load at start and persist after every write; `None`
    /// keeps the state in memory only.
    pub state_file: Option<std::path::PathBuf>,
    /// Create a fresh tenant on the first token request for an unknown
    /// tenant id; otherwise such requests get AADSTS90002 "Tenant not found".
    pub auto_create_tenants: bool,
}
