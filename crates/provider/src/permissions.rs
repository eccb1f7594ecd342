//! The permissions each surface needs (api-surface §10), for `doctor` and for
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
/// with it; which narrower roles suffice is UNCONFIRMED).
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

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
