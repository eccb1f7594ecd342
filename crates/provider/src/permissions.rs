//! The permissions each surface needs (docs/api-surfaces.md §10), for `doctor` and for
//! the hint on a 403.

use ssprctl_model::Api;

/// Microsoft Graph application permissions a surface needs to be read and
/// written. Any one of `read` suffices to read; `write` is needed to write.
pub struct Needed {
    /// Permissions that allow reading (any one).
    pub read: &'static [&'static str],
    /// The least permission that allows writing.
    pub write: &'static str,
}

/// The Global Administrator role template id (the portal API is known to work
/// with it; which narrower roles suffice is UNCONFIRMED: see [`PORTAL_ROLES`]).
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// The Authentication Policy Administrator role template id.
pub const AUTHENTICATION_POLICY_ADMINISTRATOR: &str = "0526716b-113d-4c15-b2c8-68e3c22b9f80";

/// A directory role a portal sign-in may hold (a token's `wids`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortalRole {
    /// The role template id.
    pub template_id: &'static str,
    /// Its display name.
    pub name: &'static str,
    /// Whether the portal API is known to accept it; `false` is a guess.
    pub confirmed: bool,
}

/// The roles a portal sign-in is accepted with, by `doctor` as by `apply`
/// (which sends the token and lets the service decide). The one place the
/// guess lives: Global Administrator is known to work with the portal API;
/// Authentication Policy Administrator manages the authentication methods and
/// password reset policies in the Entra admin center, and `apply` with such a
/// sign-in has been seen to work on the emulator, but its sufficiency for the
/// portal API is UNCONFIRMED.
pub const PORTAL_ROLES: &[PortalRole] = &[
    PortalRole {
        template_id: GLOBAL_ADMINISTRATOR,
        name: "Global Administrator",
        confirmed: true,
    },
    PortalRole {
        template_id: AUTHENTICATION_POLICY_ADMINISTRATOR,
        name: "Authentication Policy Administrator",
        confirmed: false,
    },
];

/// The role in [`PORTAL_ROLES`] a token's `wids` hold, a confirmed one first.
pub fn portal_role(wids: &[String]) -> Option<PortalRole> {
    let held = |r: &&PortalRole| wids.iter().any(|w| w.eq_ignore_ascii_case(r.template_id));
    PORTAL_ROLES
        .iter()
        .filter(held)
        .find(|r| r.confirmed)
        .or_else(|| PORTAL_ROLES.iter().find(held))
        .copied()
}

/// What a Graph surface needs; `None` for the portal surfaces (delegated admin).
pub fn needed(api: Api) -> Option<Needed> {
    match api {
        Api::GraphAuthorizationPolicy => Some(Needed {
            read: &["Policy.Read.All", "Policy.ReadWrite.Authorization"],
            write: "Policy.ReadWrite.Authorization",
        }),
        Api::GraphAuthenticationMethods => Some(Needed {
            read: &[
                "Policy.Read.AuthenticationMethod",
                "Policy.ReadWrite.AuthenticationMethod",
                "Policy.Read.All",
            ],
            write: "Policy.ReadWrite.AuthenticationMethod",
        }),
        Api::GraphPasswordRuleSettings => Some(Needed {
            read: &["Directory.Read.All", "Directory.ReadWrite.All"],
            write: "Directory.ReadWrite.All",
        }),
        Api::PortalPasswordReset | Api::PortalOnPremises => None,
    }
}

/// Read-only permissions used for preflight facts and group lookups.
pub const FACTS: &[(&str, &[&str])] = &[
    (
        "licences and directory sync (organization, subscribedSkus)",
        &[
            "Organization.Read.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        "group lookups (SSPR group)",
        &[
            "Group.Read.All",
            "GroupMember.Read.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
];

/// The permissions missing from `roles` for managing `api`.
pub fn missing(api: Api, roles: &[String]) -> Vec<&'static str> {
    let Some(n) = needed(api) else {
        return Vec::new();
    };
    let has = |p: &str| roles.iter().any(|r| r == p);
    let mut out = Vec::new();
    if !n.read.iter().any(|p| has(p)) {
        out.push(n.read[0]);
    }
    if !has(n.write) {
        out.push(n.write);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmed_portal_role_is_preferred_and_the_authentication_policy_administrator_is_accepted()
     {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let apa = portal_role(&ids(&[AUTHENTICATION_POLICY_ADMINISTRATOR])).expect("accepted");
        assert!(!apa.confirmed);
        let both = portal_role(&ids(&[
            AUTHENTICATION_POLICY_ADMINISTRATOR,
            GLOBAL_ADMINISTRATOR,
        ]))
        .expect("accepted");
        assert_eq!(both.name, "Global Administrator");
        assert_eq!(portal_role(&ids(&["some-other-role"])), None);
    }
}
