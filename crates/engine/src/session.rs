//! Turning the tenants of a file into connections: the in-process emulator for
//! `endpoint: local`, a running emulator for a loopback URL, or a Microsoft
//! cloud; and each tenant's credentials, from the methods the file names and
//! the environment (never from the file itself).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ssprctl_model::credentials::{GraphCredential, PortalCredential as PortalMethod};
use ssprctl_model::shared::Shared;
use ssprctl_model::{Config, Endpoint, Tenant};
use ssprctl_provider::auth::IMDS_ENDPOINT;
use ssprctl_provider::clouds::PORTAL_CLIENT_ID;
use ssprctl_provider::{
    AppCredential, CertificateSigner, Connection, Hosts, HttpProvider, PortalCredential, Secret,
    TokenStore,
};

/// Where tenants are read from, chosen on the command line.
#[derive(Clone, Debug)]
pub struct Targets {
    /// Run every tenant against the in-process emulator (as if `endpoint: local`).
    pub local: bool,
    /// The in-process emulator's state file; [`IN_MEMORY_STATE`] keeps its
    /// state in memory only (see [`state_file`]).
    pub local_state: PathBuf,
    /// How many tenants to read (and apply) at a time.
    pub parallelism: usize,
    /// Graph budgets, throttle priority, request timeout and tenant deadline.
    pub client: ssprctl_provider::ClientOptions,
}

/// The state-file argument (`--state`, `--local-state`) that keeps an
/// emulator's state in memory: nothing is read or written. A file of that
/// name is given as `./none`.
pub const IN_MEMORY_STATE: &str = "none";

/// The state file a `--state` / `--local-state` argument names: `None` for
/// [`IN_MEMORY_STATE`] (in memory only).
pub fn state_file(arg: &Path) -> Option<PathBuf> {
    (arg.as_os_str() != IN_MEMORY_STATE).then(|| arg.to_path_buf())
}

/// Why a session could not start, or could not save the local emulator's state.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The directory of the emulator's state file could not be created.
    #[error("cannot create the directory {} of the local emulator's state file", .path.display())]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The in-process emulator did not start.
    #[error("cannot start the local emulator (state file {})", .state.display())]
    Emulator {
        /// Its state file.
        state: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The in-process emulator could not write its state file: what this
    /// run changed in `endpoint: local` tenants is lost when it ends.
    #[error(
        "the local emulator could not save its state file {}; what this run changed in local tenants is not saved",
        .state.display()
    )]
    SaveState {
        /// Its state file.
        state: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client {
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Environment variables, with the names Azure tooling uses where one exists.
/// The client id of an app registration.
pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
const ENV_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
const ENV_CERT_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
const ENV_CERT_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
const ENV_GITHUB_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
const ENV_GITHUB_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// Overrides the instance metadata service address (tests, custom hosts).
const ENV_IMDS_ENDPOINT: &str = "SSPRCTL_IMDS_ENDPOINT";
/// A portal administrator's refresh token.
pub const ENV_PORTAL_REFRESH_TOKEN: &str = "SSPRCTL_PORTAL_REFRESH_TOKEN";
const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The provider for a run, plus the in-process emulator if one was started.
pub struct Session {
    /// The provider of every tenant of the file (shared with the tasks that
    /// read tenants in parallel).
    pub provider: Arc<HttpProvider>,
    /// How each tenant's credentials were chosen (Graph, portal), for
    /// `doctor`, in the order of the file's tenants (tenants whose
    /// credentials were chosen alike share the texts): [`Session::described`].
    described: Vec<(Arc<String>, Arc<String>)>,
    emulator: Option<ssprctl_emulator::Handle>,
}

impl Session {
    /// How the credentials of tenant `index` of the file the session was
    /// started for were chosen: for Graph, and for the portal.
    pub fn described(&self, index: usize) -> Option<&(Arc<String>, Arc<String>)> {
        self.described.get(index)
    }

    /// Tenant `name`'s hosts (tenants of one endpoint share them).
    pub fn hosts(&self, name: &str) -> Option<&Arc<Hosts>> {
        self.provider.hosts(name)
    }

    /// Starts what the file's tenants need.
    pub async fn start(config: &Config, args: &Targets) -> Result<Session, SessionError> {
        let needs_local =
            args.local || config.tenants.iter().any(|t| t.endpoint == Endpoint::Local);
        let emulator = if needs_local {
            let file = state_file(&args.local_state);
            if let Some(dir) = file
                .as_deref()
                .and_then(Path::parent)
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| SessionError::StateDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            let handle = ssprctl_emulator::spawn(ssprctl_emulator::Options {
                listen: ([127, 0, 0, 1], 0).into(),
                state_file: file,
                auto_create_tenants: true,
            })
            .await
            .map_err(|e| SessionError::Emulator {
                state: args.local_state.clone(),
                source: e.into(),
            })?;
            tracing::info!(url = %handle.base_url(), state = %args.local_state.display(), "local emulator started");
            Some(handle)
        } else {
            None
        };
        let mut connections = HashMap::new();
        let mut described = Vec::with_capacity(config.tenants.len());
        // One copy of each endpoint's hosts and of each description, however
        // many tenants share them (a fleet has thousands of tenants and a
        // handful of distinct values).
        let mut shared_hosts = Shared::default();
        let mut credentials = Chosen::default();
        for tenant in &config.tenants {
            let endpoint = if args.local {
                &Endpoint::Local
            } else {
                &tenant.endpoint
            };
            let emulated = match endpoint {
                Endpoint::Local | Endpoint::Emulator(_) => true,
                Endpoint::Cloud(_) => false,
            };
            let hosts = shared_hosts.share(match endpoint {
                Endpoint::Local => {
                    Hosts::emulator(&emulator.as_ref().map(|h| h.base_url()).unwrap_or_default())
                }
                Endpoint::Emulator(url) => Hosts::emulator(url),
                Endpoint::Cloud(cloud) => Hosts::cloud(*cloud),
            });
            let (graph, graph_how) = credentials.graph(tenant, emulated);
            let (portal, portal_how) = credentials.portal(tenant, emulated);
            described.push((graph_how, portal_how));
            connections.insert(
                tenant.name.clone(),
                Connection {
                    tenant_id: tenant.tenant_id.clone(),
                    hosts,
                    graph,
                    portal,
                },
            );
        }
        Ok(Session {
            provider: Arc::new(
                HttpProvider::with_options(connections, args.client.clone())
                    .map_err(|e| SessionError::Client { source: e.into() })?,
            ),
            described,
            emulator,
        })
    }

    /// Saves the in-process emulator's state file now, if anything changed
    /// (it is written behind, within [`ssprctl_emulator::WRITE_INTERVAL`] of
    /// a change): call it before reporting that writes succeeded.
    pub async fn flush(&self) -> Result<(), SessionError> {
        match &self.emulator {
            Some(handle) => handle.flush().await.map_err(|e| save_error(handle, e)),
            None => Ok(()),
        }
    }

    /// Stops the in-process emulator, saving its state file a last time and
    /// releasing its lock. An error means what the run changed in local
    /// tenants is not saved: the command must not report success.
    pub async fn stop(self) -> Result<(), SessionError> {
        match self.emulator {
            Some(handle) => {
                let state = handle.state_file().map(Path::to_path_buf);
                handle.close().await.map_err(|e| SessionError::SaveState {
                    state: state.unwrap_or_default(),
                    source: e.into(),
                })
            }
            None => Ok(()),
        }
    }
}

fn save_error(handle: &ssprctl_emulator::Handle, e: ssprctl_emulator::Error) -> SessionError {
    SessionError::SaveState {
        state: handle
            .state_file()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        source: e.into(),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn client_id(given: &Option<String>) -> Result<String, String> {
    given
        .clone()
        .or_else(|| env(ENV_CLIENT_ID))
        .ok_or_else(|| format!("no client id: set `clientId` in the file or {ENV_CLIENT_ID}"))
}

/// Each tenant's credentials and how they were chosen, one copy for tenants
/// whose choice cannot differ: the Graph credential depends only on what the
/// file names (and on the environment), and an emulated tenant without a
/// portal credential of its own gets the emulator's administrator. Other
/// portal credentials are the tenant's own (its stored sign-in).
#[derive(Default)]
struct Chosen {
    /// By what the file names and whether the tenant is emulated (a map: a
    /// fleet may name a different app for each of thousands of tenants).
    graph: HashMap<(Option<GraphCredential>, bool), Described<AppCredential>>,
    portal_emulated: Option<Described<PortalCredential>>,
    texts: Shared<String>,
}

/// A credential, or why there is none, and a line saying where it came from.
type Described<T> = (Arc<Result<T, String>>, Arc<String>);

impl Chosen {
    fn graph(&mut self, tenant: &Tenant, emulated: bool) -> Described<AppCredential> {
        let named = tenant.credentials.as_ref().and_then(|c| c.graph.clone());
        let texts = &mut self.texts;
        self.graph
            .entry((named, emulated))
            .or_insert_with(|| {
                let (credential, how) = graph_credential(tenant, emulated);
                (Arc::new(credential), texts.share(how))
            })
            .clone()
    }

    fn portal(&mut self, tenant: &Tenant, emulated: bool) -> Described<PortalCredential> {
        let own = tenant
            .credentials
            .as_ref()
            .is_some_and(|c| c.portal.is_some());
        if emulated
            && !own
            && let Some(known) = &self.portal_emulated
        {
            return known.clone();
        }
        let (credential, how) = portal_credential(tenant, emulated);
        let chosen = (Arc::new(credential), self.texts.share(how));
        if emulated && !own {
            self.portal_emulated = Some(chosen.clone());
        }
        chosen
    }
}

/// The Graph credential of a tenant, and a line saying where it came from.
fn graph_credential(tenant: &Tenant, emulated: bool) -> (Result<AppCredential, String>, String) {
    let chosen = tenant.credentials.as_ref().and_then(|c| c.graph.clone());
    let chosen = match (chosen, emulated) {
        (Some(c), _) => c,
        (None, true) => {
            let cred = AppCredential::ClientSecret {
                client_id: ssprctl_emulator::LOCAL_CLIENT_ID.into(),
                secret: Secret::new(ssprctl_emulator::LOCAL_CLIENT_SECRET),
            };
            return (Ok(cred), "the emulator's built-in app registration".into());
        }
        (None, false) => GraphCredential::ClientSecret {
            client_id: None,
            secret_env: None,
        },
    };
    let result = (|| -> Result<(AppCredential, String), String> {
        Ok(match chosen {
            GraphCredential::ClientSecret {
                client_id: id,
                secret_env,
            } => {
                let var = secret_env.unwrap_or_else(|| ENV_CLIENT_SECRET.into());
                let client_id = client_id(&id)
                    .map_err(|e| format!("{e}; and set {var} to the client secret"))?;
                let secret = env(&var)
                    .ok_or_else(|| format!("set {var} to the client secret of app {client_id}"))?;
                (
                    AppCredential::ClientSecret {
                        client_id: client_id.clone(),
                        secret: Secret::new(secret),
                    },
                    format!("client secret from {var} (app {client_id})"),
                )
            }
            GraphCredential::Certificate {
                client_id: id,
                path_env,
                password_env,
            } => {
                let client_id = client_id(&id)?;
                let var = path_env.unwrap_or_else(|| ENV_CERT_PATH.into());
                let path = env(&var).ok_or_else(|| {
                    format!("set {var} to the PEM or PFX file of app {client_id}'s certificate")
                })?;
                let password_var = password_env.unwrap_or_else(|| ENV_CERT_PASSWORD.into());
                let password = env(&password_var).map(Secret::new);
                let signer = CertificateSigner::from_file(&PathBuf::from(&path), password.as_ref())
                    .map_err(|e| e.to_string())?;
                let how = format!(
                    "certificate {} from {var} (app {client_id})",
                    signer.thumbprint()
                );
                (
                    AppCredential::Certificate {
                        client_id,
                        signer: Arc::new(signer),
                    },
                    how,
                )
            }
            GraphCredential::WorkloadIdentity {
                client_id: id,
                token_file_env,
            } => {
                let client_id = client_id(&id)?;
                let var = token_file_env.unwrap_or_else(|| ENV_FEDERATED_TOKEN_FILE.into());
                let path =
                    env(&var).ok_or_else(|| format!("set {var} to the federated token file"))?;
                (
                    AppCredential::FederatedTokenFile {
                        client_id: client_id.clone(),
                        path: PathBuf::from(path),
                    },
                    format!("workload identity token file from {var} (app {client_id})"),
                )
            }
            GraphCredential::GithubActions {
                client_id: id,
                audience,
            } => {
                let client_id = client_id(&id)?;
                let missing = "the GitHub Actions OIDC token is not available: give the job `permissions: id-token: write`";
                let request_url = env(ENV_GITHUB_REQUEST_URL).ok_or(missing)?;
                let request_token = env(ENV_GITHUB_REQUEST_TOKEN).ok_or(missing)?;
                let audience = audience.unwrap_or_else(|| DEFAULT_AUDIENCE.into());
                let how = format!("GitHub Actions OIDC, audience {audience} (app {client_id})");
                (
                    AppCredential::GithubActions {
                        client_id,
                        audience,
                        request_url,
                        request_token: Secret::new(request_token),
                    },
                    how,
                )
            }
            GraphCredential::ManagedIdentity { client_id } => {
                let endpoint = env(ENV_IMDS_ENDPOINT).unwrap_or_else(|| IMDS_ENDPOINT.into());
                let how = match &client_id {
                    Some(id) => format!("user-assigned managed identity {id}"),
                    None => "system-assigned managed identity".into(),
                };
                (
                    AppCredential::ManagedIdentity {
                        client_id,
                        endpoint,
                    },
                    how,
                )
            }
            GraphCredential::AzureCli => (
                AppCredential::AzureCli,
                "the Azure CLI's signed-in account (az login)".into(),
            ),
        })
    })();
    match result {
        Ok((cred, how)) => (Ok(cred), how),
        Err(e) => (Err(e.clone()), format!("not available: {e}")),
    }
}

/// The portal credential of a tenant, and a line saying where it came from.
fn portal_credential(
    tenant: &Tenant,
    emulated: bool,
) -> (Result<PortalCredential, String>, String) {
    let chosen = tenant.credentials.as_ref().and_then(|c| c.portal.clone());
    if chosen.is_none() && emulated {
        let cred = PortalCredential {
            client_id: PORTAL_CLIENT_ID.into(),
            refresh_token: Secret::new(ssprctl_emulator::LOCAL_ADMIN_REFRESH_TOKEN),
            store: None,
        };
        return (Ok(cred), "the emulator's built-in administrator".into());
    }
    let sign_in = format!(
        "the portal API accepts only a delegated administrator sign-in: run `ssprctl login --config FILE --tenant {}`, or set {ENV_PORTAL_REFRESH_TOKEN}",
        tenant.name
    );
    let from_env = |var: &str| {
        env(var).map(|t| {
            let cred = PortalCredential {
                client_id: PORTAL_CLIENT_ID.into(),
                refresh_token: Secret::new(t),
                store: None,
            };
            (Ok(cred), format!("refresh token from {var}"))
        })
    };
    let from_store = || -> Option<(Result<PortalCredential, String>, String)> {
        let store = TokenStore::default_location()?;
        match store.portal(&tenant.tenant_id) {
            Ok(Some((client_id, token))) => {
                let how = format!(
                    "signed in with `ssprctl login` ({})",
                    store.path().display()
                );
                Some((
                    Ok(PortalCredential {
                        client_id,
                        refresh_token: token,
                        store: Some(store),
                    }),
                    how,
                ))
            }
            Ok(None) => None,
            Err(e) => Some((Err(e.to_string()), format!("not available: {e}"))),
        }
    };
    let (found, hint) = match chosen {
        Some(PortalMethod::RefreshToken { env: var }) => {
            let var = var.unwrap_or_else(|| ENV_PORTAL_REFRESH_TOKEN.into());
            let hint = format!(
                "the portal API accepts only a delegated administrator sign-in: set {var} to an administrator's refresh token"
            );
            (from_env(&var), hint)
        }
        Some(PortalMethod::SignedIn) => {
            let hint = format!(
                "no stored sign-in for this tenant: run `ssprctl login --config FILE --tenant {}`",
                tenant.name
            );
            (from_store(), hint)
        }
        None => (
            from_env(ENV_PORTAL_REFRESH_TOKEN).or_else(from_store),
            sign_in,
        ),
    };
    found.unwrap_or_else(|| (Err(hint.clone()), format!("not available: {hint}")))
}
