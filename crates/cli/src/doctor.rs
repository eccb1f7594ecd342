//! `ssprctl doctor` and `ssprctl login`.

use std::fmt::Write as _;

use ssprctl_model::{Api, Config};
use ssprctl_provider::permissions::{self, GLOBAL_ADMINISTRATOR};
use ssprctl_provider::{Provider, TokenStore};

use ssprctl_engine::Session;

use crate::out::errln;

/// Per tenant: which credential is used, whether tokens come, which permissions
/// or roles are missing for what the file manages, and which surfaces answer.
/// Returns the report and whether everything is in order.
pub async fn doctor(config: &Config, session: &Session) -> (String, bool) {
    let mut out = String::new();
    let mut healthy = true;
    for tenant in &config.tenants {
        let _ = writeln!(out, "Tenant {} ({})", tenant.name, tenant.tenant_id);
        let wanted = serde_json::to_value(&tenant.settings).unwrap_or_default();
        let managed: Vec<Api> = Api::ALL
            .into_iter()
            .filter(|a| wanted.get(a.section()).is_some())
            .collect();
        let needs_graph = managed.iter().any(|a| a.documented());
        let needs_portal = managed.iter().any(|a| !a.documented());
        let (graph_how, portal_how) = session
            .described
            .get(&tenant.name)
            .cloned()
            .unwrap_or_default();
        let (graph, portal) = session.provider.check_tokens(tenant).await;

        let _ = writeln!(out, "  graph credential: {graph_how}");
        match &graph.result {
            Ok(facts) => {
                let _ = writeln!(
                    out,
                    "    token: ok; application permissions: {}",
                    if facts.roles.is_empty() {
                        "(none)".into()
                    } else {
                        facts.roles.join(", ")
                    }
                );
                for api in managed.iter().filter(|a| a.documented()) {
                    let missing = permissions::missing(*api, &facts.roles);
                    if !missing.is_empty() {
                        healthy = false;
                        let _ = writeln!(
                            out,
                            "    missing for {} ({}): {}",
                            api.section(),
                            api.label(),
                            missing.join(", ")
                        );
                    }
                }
                for (what, any_of) in permissions::FACTS {
                    if needs_graph && !any_of.iter().any(|p| facts.roles.iter().any(|r| r == p)) {
                        let _ = writeln!(
                            out,
                            "    missing for {what}: {} (preflight checks will be skipped)",
                            any_of[0]
                        );
                    }
                }
            }
            Err(e) => {
                healthy &= !needs_graph;
                let _ = writeln!(out, "    token: FAILED: {e}");
            }
        }
        let _ = writeln!(out, "  portal credential: {portal_how}");
        match &portal.result {
            Ok(facts) => {
                let who = facts.user.as_deref().unwrap_or("(unknown user)");
                if facts.wids.iter().any(|w| w == GLOBAL_ADMINISTRATOR) {
                    let _ = writeln!(
                        out,
                        "    token: ok; signed in as {who} (Global Administrator)"
                    );
                } else {
                    healthy &= !needs_portal;
                    let _ = writeln!(
                        out,
                        "    token: ok; signed in as {who}, who does NOT hold the Global Administrator role the portal API is known to need"
                    );
                }
            }
            Err(e) => {
                healthy &= !needs_portal;
                let _ = writeln!(out, "    token: FAILED: {e}");
            }
        }
        let observed = session.provider.read(tenant).await;
        for api in &managed {
            match observed.unreadable.iter().find(|u| u.api == *api) {
                None => {
                    let _ = writeln!(out, "  {}: reachable", api.label());
                }
                Some(u) => {
                    healthy = false;
                    let _ = writeln!(out, "  {}: NOT readable: {}", api.label(), u.reason);
                }
            }
        }
        if managed.is_empty() {
            let _ = writeln!(out, "  (the file manages no settings for this tenant)");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        if healthy {
            "All checks passed."
        } else {
            "Some checks failed (above)."
        }
    );
    (out, healthy)
}

/// Signs in to each selected tenant and stores the refresh tokens.
pub async fn login(
    config: &Config,
    session: &Session,
    only: &[String],
    hosts_of: impl Fn(&str) -> Option<ssprctl_provider::Hosts>,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let store = TokenStore::default_location()
        .ok_or("cannot find a config directory: set SSPRCTL_CONFIG_DIR or HOME")?;
    let mut out = String::new();
    for name in only {
        if !config.tenants.iter().any(|t| &t.name == name) {
            return Err(format!("no tenant named {name} in the file").into());
        }
    }
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
        let hosts = hosts_of(&tenant.name).ok_or("no hosts for tenant")?;
        errln!(
            "Signing in to {} ({}) for the Entra portal API…",
            tenant.name,
            tenant.tenant_id
        );
        let (token, user) = session
            .provider
            .device_code_sign_in(&hosts, &tenant.tenant_id, |message| errln!("{message}"))
            .await?;
        store.save_portal(
            &tenant.tenant_id,
            ssprctl_provider::clouds::PORTAL_CLIENT_ID,
            &token,
            user.as_deref(),
        )?;
        let _ = writeln!(
            out,
            "{}: signed in{}; refresh token stored in {} (owner-only)",
            tenant.name,
            user.map(|u| format!(" as {u}")).unwrap_or_default(),
            store.path().display()
        );
    }
    if out.is_empty() {
        out.push_str(
            "No tenant in the file manages a portal-backed setting; nothing to sign in to.\n",
        );
    }
    Ok(out)
}
