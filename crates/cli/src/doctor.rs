//! The views of `ssprctl doctor` and `ssprctl login` (the checks themselves
//! are `ssprctl_engine::doctor`).

use std::fmt::Write as _;

use ssprctl_engine::doctor::{DoctorReport, SignedIn};

/// The `doctor` report as text.
pub fn render_doctor(report: &DoctorReport) -> String {
    let mut out = String::new();
    for t in &report.tenants {
        let _ = writeln!(out, "Tenant {} ({})", t.name, t.tenant_id);
        let _ = writeln!(out, "  graph credential: {}", t.graph_credential);
        match &t.graph {
            Ok(token) => {
                let _ = writeln!(
                    out,
                    "    token: ok; application permissions: {}",
                    if token.roles.is_empty() {
                        "(none)".into()
                    } else {
                        token.roles.join(", ")
                    }
                );
                for m in &token.missing {
                    let _ = writeln!(
                        out,
                        "    missing for {} ({}): {}",
                        m.api.section(),
                        m.api.label(),
                        m.permissions.join(", ")
                    );
                }
                for f in &token.missing_facts {
                    let _ = writeln!(
                        out,
                        "    missing for {}: {} (preflight checks will be skipped)",
                        f.what, f.permission
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(out, "    token: FAILED: {e}");
            }
        }
        let _ = writeln!(out, "  portal credential: {}", t.portal_credential);
        match &t.portal {
            Ok(token) => {
                let who = token.user.as_deref().unwrap_or("(unknown user)");
                match token.role {
                    Some(role) if role.confirmed => {
                        let _ = writeln!(out, "    token: ok; signed in as {who} ({})", role.name);
                    }
                    Some(role) => {
                        let _ = writeln!(
                            out,
                            "    token: ok; signed in as {who} ({})\n    note: apply accepts this role, but whether it suffices for the portal API is unconfirmed; if a portal read or write is refused, sign in as a Global Administrator",
                            role.name
                        );
                    }
                    None => {
                        let names: Vec<&str> = ssprctl_provider::permissions::PORTAL_ROLES
                            .iter()
                            .map(|r| r.name)
                            .collect();
                        let _ = writeln!(
                            out,
                            "    token: ok; signed in as {who}, who holds none of the roles the portal API is expected to accept ({})",
                            names.join(", ")
                        );
                    }
                }
            }
            Err(e) => {
                let _ = writeln!(out, "    token: FAILED: {e}");
            }
        }
        for s in &t.surfaces {
            match &s.unreadable {
                None => {
                    let _ = writeln!(out, "  {}: reachable", s.api.label());
                }
                Some(reason) => {
                    let _ = writeln!(out, "  {}: NOT readable: {reason}", s.api.label());
                }
            }
        }
        if t.surfaces.is_empty() {
            let _ = writeln!(out, "  (the file manages no settings for this tenant)");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        if report.healthy() {
            "All checks passed."
        } else {
            "Some checks failed (above)."
        }
    );
    out
}

/// What `login` did, as text.
pub fn render_login(signed_in: &[SignedIn]) -> String {
    let mut out = String::new();
    for s in signed_in {
        let _ = writeln!(
            out,
            "{}: signed in{}; refresh token stored in {} (owner-only)",
            s.name,
            s.user
                .as_deref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default(),
            s.store.display()
        );
    }
    if out.is_empty() {
        out.push_str(
            "No tenant in the file manages a portal-backed setting; nothing to sign in to.\n",
        );
    }
    out
}
