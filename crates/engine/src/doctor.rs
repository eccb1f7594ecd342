//! `doctor` and `login`: checks of each tenant's credentials, permissions,
//! roles and surfaces, and the device-code sign-in for the portal. Typed
//! results; the binary renders them.

use ssprctl_model::{Api, Config};
use ssprctl_provider::permissions::{self, PortalRole};
use ssprctl_provider::store::StoreError;
use ssprctl_provider::{Provider, ProviderError, TokenStore};

use crate::Session;

/// What `doctor` found, per tenant in file order.
#[derive(Debug)]
pub struct DoctorReport {
    /// One entry per tenant.
    pub tenants: Vec<TenantCheck>,
}

impl DoctorReport {
    /// Whether every check of every tenant passed.
    pub fn healthy(&self) -> bool {
        self.tenants.iter().all(|t| t.healthy)
    }
}

/// The checks of one tenant.
#[derive(Debug)]
pub struct TenantCheck {
    /// The tenant's name.
    pub name: String,
    /// Its directory id.
    pub tenant_id: String,
    /// How the Graph credential was chosen (or why there is none).
    pub graph_credential: String,
    /// The Graph token, or why none came.
    pub graph: Result<GraphToken, String>,
    /// How the portal credential was chosen (or why there is none).
    pub portal_credential: String,
    /// The portal token, or why none came.
    pub portal: Result<PortalToken, String>,
    /// Each surface the file manages, and whether it could be read.
    pub surfaces: Vec<SurfaceCheck>,
    /// Whether every check that matters for what the file manages passed.
    pub healthy: bool,
}

/// What a Graph token carries.
#[derive(Debug)]
pub struct GraphToken {
    /// Its application permissions.
    pub roles: Vec<String>,
    /// Permissions missing for a managed surface (each makes the tenant unhealthy).
    pub missing: Vec<MissingPermissions>,
    /// Permissions missing for the facts the preflight checks read (they are
    /// then skipped; the tenant stays healthy).
    pub missing_facts: Vec<MissingFact>,
}

/// Permissions missing for one surface.
#[derive(Debug)]
pub struct MissingPermissions {
    /// The surface.
    pub api: Api,
    /// What it lacks.
    pub permissions: Vec<&'static str>,
}

/// A permission missing for facts the preflight checks read.
#[derive(Debug)]
pub struct MissingFact {
    /// What the facts are.
    pub what: &'static str,
    /// The least permission that reads them.
    pub permission: &'static str,
}

/// What a portal token carries.
#[derive(Debug)]
pub struct PortalToken {
    /// The signed-in user, if the token names one.
    pub user: Option<String>,
    /// The role the user holds that the portal API accepts (as `apply`
    /// does), if any; `confirmed: false` is a role whose sufficiency is
    /// unconfirmed (`permissions::PORTAL_ROLES`).
    pub role: Option<PortalRole>,
}

/// Whether a managed surface could be read.
#[derive(Debug)]
pub struct SurfaceCheck {
    /// The surface.
    pub api: Api,
    /// Why it could not be read, if it could not.
    pub unreadable: Option<String>,
}

/// Per tenant: which credential is used, whether tokens come, which
/// permissions or roles are missing for what the file manages, and which
/// surfaces answer. `session` is the one started for `config`.
pub async fn doctor(config: &Config, session: &Session) -> DoctorReport {
    let mut tenants = Vec::new();
    for (index, tenant) in config.tenants.iter().enumerate() {
        let managed: Vec<Api> = Api::ALL
            .into_iter()
            .filter(|api| api.managed_in(&tenant.settings))
            .collect();
        let needs_graph = managed.iter().any(|a| a.documented());
        let needs_portal = managed.iter().any(|a| !a.documented());
        let (graph_credential, portal_credential) =
            session.described(index).cloned().unwrap_or_default();
        let (graph, portal) = session.provider.check_tokens(tenant).await;
        let mut healthy = true;

        let graph = graph.result.map(|facts| {
            let missing: Vec<MissingPermissions> = managed
                .iter()
                .filter(|a| a.documented())
                .filter_map(|api| {
                    let permissions = permissions::missing(*api, &facts.roles);
                    (!permissions.is_empty()).then_some(MissingPermissions {
                        api: *api,
                        permissions,
                    })
                })
                .collect();
            healthy &= missing.is_empty();
            let missing_facts = permissions::FACTS
                .iter()
                .filter(|(_, any_of)| {
                    needs_graph && !any_of.iter().any(|p| facts.roles.iter().any(|r| r == p))
                })
                .filter_map(|(what, any_of)| {
                    any_of
                        .first()
                        .map(|permission| MissingFact { what, permission })
                })
                .collect();
            GraphToken {
                roles: facts.roles,
                missing,
                missing_facts,
            }
        });
        if graph.is_err() {
            healthy &= !needs_graph;
        }
        let portal = portal.result.map(|facts| PortalToken {
            role: permissions::portal_role(&facts.wids),
            user: facts.user,
        });
        if !matches!(portal, Ok(PortalToken { role: Some(_), .. })) {
            healthy &= !needs_portal;
        }
        let observed = session.provider.read(tenant).await;
        let surfaces: Vec<SurfaceCheck> = managed
            .iter()
            .map(|api| SurfaceCheck {
                api: *api,
                unreadable: observed
                    .unreadable
                    .iter()
                    .find(|u| u.api == *api)
                    .map(|u| u.reason.clone()),
            })
            .collect();
        healthy &= surfaces.iter().all(|s| s.unreadable.is_none());
        tenants.push(TenantCheck {
            name: tenant.name.clone(),
            tenant_id: tenant.tenant_id.clone(),
            graph_credential: graph_credential.to_string(),
            graph,
            portal_credential: portal_credential.to_string(),
            portal,
            surfaces,
            healthy,
        });
    }
    DoctorReport { tenants }
}

/// A tenant signed in to by [`login`].
#[derive(Debug)]
pub struct SignedIn {
    /// The tenant's name.
    pub name: String,
    /// The user who signed in, if the token names one.
    pub user: Option<String>,
    /// Where the refresh token was stored (owner-only file).
    pub store: std::path::PathBuf,
}

/// Why `login` stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No directory to keep the token store in.
    #[error("cannot find a config directory: set SSPRCTL_CONFIG_DIR or HOME")]
    NoConfigDir,
    /// `--tenant` names a tenant the file does not have.
    #[error("no tenant named {name} in the file; its tenants: {known}")]
    UnknownTenant {
        /// The name given.
        name: String,
        /// The file's tenant names, comma-separated.
        known: String,
    },
    /// The session has no hosts for the tenant.
    #[error("no hosts for tenant {name}")]
    NoHosts {
        /// The tenant.
        name: String,
    },
    /// The device-code sign-in failed.
    #[error("signing in to {name} failed")]
    SignIn {
        /// The tenant.
        name: String,
        /// Why.
        #[source]
        source: ProviderError,
    },
    /// The token could not be stored.
    #[error("storing the sign-in of {name} failed")]
    Store {
        /// The tenant.
        name: String,
        /// Why.
        #[source]
        source: StoreError,
    },
}

/// Signs in to each selected tenant (`only`, or every tenant that manages a
/// portal-backed setting) and stores the refresh tokens. `say` receives what
/// the person must see: which tenant, and the device-code instructions.
pub async fn login(
    config: &Config,
    session: &Session,
    only: &[String],
    say: impl Fn(&str),
) -> Result<Vec<SignedIn>, LoginError> {
    let store = TokenStore::default_location().ok_or(LoginError::NoConfigDir)?;
    for name in only {
        if !config.tenants.iter().any(|t| &t.name == name) {
            let known: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
            return Err(LoginError::UnknownTenant {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    let mut signed_in = Vec::new();
    for tenant in config
        .tenants
        .iter()
        .filter(|t| only.is_empty() || only.contains(&t.name))
    {
        let portal = tenant.settings.self_service_password_reset.is_some()
            || tenant.settings.on_premises_integration.is_some();
        if only.is_empty() && !portal {
            continue;
        }
        let hosts = session
            .hosts(&tenant.name)
            .ok_or_else(|| LoginError::NoHosts {
                name: tenant.name.clone(),
            })?;
        say(&format!(
            "Signing in to {} ({}) for the Entra portal API…",
            tenant.name, tenant.tenant_id
        ));
        let (token, user) = session
            .provider
            .device_code_sign_in(hosts, &tenant.tenant_id, &say)
            .await
            .map_err(|source| LoginError::SignIn {
                name: tenant.name.clone(),
                source,
            })?;
        store
            .save_portal(
                &tenant.tenant_id,
                ssprctl_provider::clouds::PORTAL_CLIENT_ID,
                &token,
                user.as_deref(),
            )
            .map_err(|source| LoginError::Store {
                name: tenant.name.clone(),
                source,
            })?;
        signed_in.push(SignedIn {
            name: tenant.name.clone(),
            user,
            store: store.path().to_path_buf(),
        });
    }
    Ok(signed_in)
}
