//! Sign-in, Graph and portal hosts per Microsoft cloud, and the well-known ids.
//! Every host here is https; plain http is only ever used for a loopback
//! emulator (see `ssprctl_model::Endpoint`).

use ssprctl_model::Cloud;

/// Where a tenant's three services live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hosts {
    /// Token endpoint base, e.g. `https://login.microsoftonline.com`.
    pub login: String,
    /// Graph base, e.g. `https://graph.microsoft.com`.
    pub graph: String,
    /// Entra portal API base, e.g. `https://main.iam.ad.ext.azure.com`.
    pub portal: String,
    /// The scope to ask for a Graph token.
    pub graph_scope: String,
}

impl Hosts {
    /// The hosts of a Microsoft cloud.
    pub fn cloud(cloud: Cloud) -> Hosts {
        let (login, graph, portal) = match cloud {
            Cloud::Public => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://main.iam.ad.ext.azure.com",
            ),
            // UNCONFIRMED: the portal API hosts of the sovereign clouds are inferred
            // from their portal domains (portal.azure.us, portal.azure.cn).
            Cloud::UsGovernment => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://main.iam.ad.ext.azure.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://main.iam.ad.ext.azure.cn",
            ),
        };
        Hosts {
            login: login.into(),
            graph: graph.into(),
            portal: portal.into(),
            graph_scope: format!("{graph}/.default"),
        }
    }

    /// Every service on one emulator base URL (loopback only).
    pub fn emulator(base_url: &str) -> Hosts {
        let base = base_url.trim_end_matches('/').to_string();
        Hosts {
            login: base.clone(),
            graph: base.clone(),
            portal: base,
            graph_scope: "https://graph.microsoft.com/.default".into(),
        }
    }
}

/// The audience (resource id) of the Entra portal API.
pub const PORTAL_RESOURCE: &str = "74658136-14ec-4630-ad9b-26e160ff0fc6";

/// The public client used to redeem portal refresh tokens (Azure PowerShell's id,
/// as public tooling does; docs/api-surfaces.md §1a).
pub const PORTAL_CLIENT_ID: &str = "1950a258-227b-4e31-a9cf-717495945fc2";
