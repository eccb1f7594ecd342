//! Turning the tenants of a file into connections: the in-process emulator for
//! `endpoint: local`, a running emulator for a loopback URL, or a Microsoft
//! cloud with credentials from the environment (never from YAML).

use std::collections::HashMap;

use ssprctl_model::{Config, Endpoint};
use ssprctl_provider::{AppCredential, Connection, Hosts, HttpProvider, PortalCredential, Secret};

use crate::args::TargetArgs;

/// Environment variables holding credentials for Microsoft clouds.
const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
const ENV_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
const ENV_PORTAL_REFRESH_TOKEN: &str = "SSPRCTL_PORTAL_REFRESH_TOKEN";

/// The provider for a run, plus the in-process emulator if one was started.
pub struct Session {
    pub provider: HttpProvider,
    emulator: Option<ssprctl_emulator::Handle>,
}

impl Session {
    /// Starts what the file's tenants need.
    pub async fn start(
        config: &Config,
        args: &TargetArgs,
    ) -> Result<Session, Box<dyn std::error::Error + Send + Sync>> {
        let needs_local =
            args.local || config.tenants.iter().any(|t| t.endpoint == Endpoint::Local);
        let emulator = if needs_local {
            if let Some(dir) = args
                .local_state
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)?;
            }
            let handle = ssprctl_emulator::spawn(ssprctl_emulator::Options {
                listen: ([127, 0, 0, 1], 0).into(),
                state_file: Some(args.local_state.clone()),
                auto_create_tenants: true,
            })
            .await?;
            tracing::info!(url = %handle.base_url(), state = %args.local_state.display(), "local emulator started");
            Some(handle)
        } else {
            None
        };
        let mut connections = HashMap::new();
        for tenant in &config.tenants {
            let endpoint = if args.local {
                &Endpoint::Local
            } else {
                &tenant.endpoint
            };
            let conn = match endpoint {
                Endpoint::Local => {
                    let url = emulator.as_ref().map(|h| h.base_url()).unwrap_or_default();
                    emulator_connection(&tenant.tenant_id, &url)
                }
                Endpoint::Emulator(url) => emulator_connection(&tenant.tenant_id, url),
                Endpoint::Cloud(cloud) => cloud_connection(&tenant.tenant_id, Hosts::cloud(*cloud)),
            };
            connections.insert(tenant.name.clone(), conn);
        }
        Ok(Session {
            provider: HttpProvider::new(connections)?,
            emulator,
        })
    }

    /// Stops the in-process emulator (its state is already saved).
    pub async fn stop(self) {
        if let Some(handle) = self.emulator {
            handle.shutdown().await;
        }
    }
}

fn emulator_connection(tenant_id: &str, url: &str) -> Connection {
    Connection::emulator(
        tenant_id,
        url,
        ssprctl_emulator::LOCAL_CLIENT_ID,
        ssprctl_emulator::LOCAL_CLIENT_SECRET,
        ssprctl_emulator::LOCAL_ADMIN_REFRESH_TOKEN,
    )
}

fn cloud_connection(tenant_id: &str, hosts: Hosts) -> Connection {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let graph = match (env(ENV_CLIENT_ID), env(ENV_CLIENT_SECRET)) {
        (Some(client_id), Some(secret)) => Ok(AppCredential::ClientSecret {
            client_id,
            secret: Secret::new(secret),
        }),
        _ => Err(format!(
            "set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} to an app registration with the Graph application permissions"
        )),
    };
    let portal = match env(ENV_PORTAL_REFRESH_TOKEN) {
        Some(token) => Ok(PortalCredential {
            client_id: ssprctl_provider::clouds::PORTAL_CLIENT_ID.into(),
            refresh_token: Secret::new(token),
        }),
        None => Err(format!(
            "the portal API accepts only a delegated administrator sign-in; set {ENV_PORTAL_REFRESH_TOKEN} to an administrator's refresh token"
        )),
    };
    Connection {
        tenant_id: tenant_id.to_string(),
        hosts,
        graph,
        portal,
    }
}
