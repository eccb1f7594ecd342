//! The desired-state file: a shared baseline and one entry per tenant.
//!
//! Each tenant's effective settings are the baseline deep-merged with the
//! tenant's own `settings`:
//! - mappings merge key by key, recursively;
//! - scalars and lists in the tenant replace the baseline's value whole (a list is
//!   never concatenated, so a tenant can shorten an inherited list);
//! - a key the tenant omits keeps the baseline's value; there is no way to
//!   "unmanage" a baseline field for one tenant except leaving it out of the
//!   baseline.

use std::sync::{Arc, LazyLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::settings::Settings;

/// The only format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// A desired-state file (format version 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "ssprctl desired state")]
pub struct ConfigFile {
    /// The file format version: `1`.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Settings shared by every tenant in this file. Each tenant's `settings` are
    /// deep-merged over them (mappings merge; scalars and lists replace).
    #[serde(default, skip_serializing_if = "is_empty_settings")]
    pub baseline: Settings,
    /// The tenants this file manages.
    #[schemars(length(min = 1))]
    pub tenants: Vec<TenantEntry>,
    /// Accepted exceptions shared by every tenant (a tenant's own exception
    /// for the same setting replaces the shared one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
}

fn is_empty_settings(s: &Settings) -> bool {
    *s == Settings::default()
}

/// The empty settings, one shared copy for every tenant that sets none.
pub fn no_settings() -> Arc<Settings> {
    static EMPTY: LazyLock<Arc<Settings>> = LazyLock::new(Arc::default);
    Arc::clone(&EMPTY)
}

/// One tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantEntry {
    /// A short name for plans and logs, unique in the file (e.g. `contoso`).
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))]
    pub name: String,
    /// The directory (tenant) id, a GUID.
    #[schemars(regex(pattern = crate::GUID_PATTERN))]
    pub tenant_id: String,
    /// Where the tenant lives: `local` (the built-in emulator, state under
    /// `.ssprctl/`), `public` (Microsoft Entra global), `usGovernment`, `china`, or
    /// the `http://127.0.0.1:PORT` address of an emulator started with
    /// `ssprctl emulator`.
    #[schemars(
        with = "String",
        regex(
            pattern = r"^(local|public|usGovernment|china|http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5})$"
        )
    )]
    pub endpoint: Endpoint,
    /// How to sign in (Microsoft clouds only). Secrets are never written here:
    /// name the environment variables that hold them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Behind an Arc: shared with the loaded tenant, and a word per tenant
    // when absent (a fleet has thousands of entries).
    pub credentials: Option<Arc<crate::credentials::Credentials>>,
    /// This tenant's settings, deep-merged over the baseline.
    // Shared: a tenant without settings of its own holds no copy of the empty ones.
    #[serde(default = "no_settings", skip_serializing_if = "is_empty_settings")]
    pub settings: Arc<Settings>,
    /// This tenant's accepted exceptions; each replaces a shared exception of
    /// the same setting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
}

/// A lint finding accepted on purpose: while the setting has exactly this
/// value and the exception has not expired, `lint` and `plan` report it as
/// accepted instead of as a finding. It changes nothing that is planned or
/// applied: drift from the accepted value is still drift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exception {
    /// The setting's dotted path, e.g. `selfServicePasswordReset.methodsRequired`.
    #[schemars(length(min = 1))]
    pub setting: String,
    /// The accepted value, in the setting's own form.
    pub value: Value,
    /// Why it is accepted.
    #[schemars(length(min = 1))]
    pub reason: String,
    /// Who answers for it (a person or team).
    #[schemars(length(min = 1))]
    pub owner: String,
    /// The last day it is accepted (`YYYY-MM-DD`); from the day after, the
    /// setting is an error-level finding.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub expires: String,
}

/// Whether `s` is a calendar date written `YYYY-MM-DD`. Such dates order as
/// strings, so they compare without a date library.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !s
        .chars()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Where a tenant's APIs are served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Endpoint {
    /// The emulator, started in-process on loopback with a state file under the
    /// working directory.
    Local,
    /// An already running emulator at this loopback base URL.
    Emulator(String),
    /// A Microsoft cloud.
    Cloud(Cloud),
}

/// The Microsoft clouds, each with its own sign-in and Graph hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// Microsoft Entra global service.
    Public,
    /// Microsoft Entra for US Government (GCC High / DoD).
    UsGovernment,
    /// Microsoft Entra operated by 21Vianet.
    China,
}

impl TryFrom<String> for Endpoint {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "local" => Ok(Endpoint::Local),
            "public" => Ok(Endpoint::Cloud(Cloud::Public)),
            "usGovernment" => Ok(Endpoint::Cloud(Cloud::UsGovernment)),
            "china" => Ok(Endpoint::Cloud(Cloud::China)),
            other if is_loopback_http(other) => {
                Ok(Endpoint::Emulator(other.trim_end_matches('/').to_string()))
            }
            other => Err(format!(
                "unknown endpoint `{other}`: expected local, public, usGovernment, china, \
                 or http://127.0.0.1:PORT (plain http only to loopback)"
            )),
        }
    }
}

impl From<Endpoint> for String {
    fn from(e: Endpoint) -> String {
        match e {
            Endpoint::Local => "local".into(),
            Endpoint::Emulator(url) => url,
            Endpoint::Cloud(Cloud::Public) => "public".into(),
            Endpoint::Cloud(Cloud::UsGovernment) => "usGovernment".into(),
            Endpoint::Cloud(Cloud::China) => "china".into(),
        }
    }
}

fn is_loopback_http(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("http://") else {
        return false;
    };
    let rest = rest.trim_end_matches('/');
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => return false,
    };
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Deep-merges `over` onto `base`: mappings merge recursively; anything else in
/// `over` replaces the value in `base`. Tells whether `base` changed (a value
/// replaced by a different one, or a key added).
pub fn deep_merge(base: &mut Value, over: &Value) -> bool {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut changed = false;
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => changed |= deep_merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                        changed = true;
                    }
                }
            }
            changed
        }
        (slot, v) if slot == v => false,
        (slot, v) => {
            *slot = v.clone();
            true
        }
    }
}

/// A tenant with its effective (merged) settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    /// The tenant's short name.
    pub name: String,
    /// The directory id.
    pub tenant_id: String,
    /// Where it is served.
    pub endpoint: Endpoint,
    /// Baseline merged with the tenant's own settings; tenants whose effective
    /// settings are equal share one copy (a fleet on one baseline holds one).
    pub settings: Arc<Settings>,
    /// How to sign in; `None` means the defaults (shared with the file's
    /// entry).
    pub credentials: Option<Arc<crate::credentials::Credentials>>,
    /// Index of the tenant in the file's `tenants` list.
    pub index: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenant_override_merges_maps_and_replaces_lists() {
        let mut base = json!({"a": {"x": 1, "y": [1, 2]}, "b": true});
        deep_merge(&mut base, &json!({"a": {"y": [3]}, "c": 2}));
        assert_eq!(base, json!({"a": {"x": 1, "y": [3]}, "b": true, "c": 2}));
    }

    #[test]
    fn a_merge_tells_whether_it_changed_anything() {
        let cases = [
            (
                json!({"a": {"b": 1, "c": [1]}}),
                json!({"a": {"b": 1}}),
                false,
            ),
            (
                json!({"a": {"b": 1, "c": [1]}}),
                json!({"a": {"c": [1]}}),
                false,
            ),
            (json!({"a": {"b": 1}}), json!({"a": {"b": 2}}), true),
            (json!({"a": {"b": 1}}), json!({"a": {"d": 2}}), true),
            (
                json!({"a": {"c": [1, 2]}}),
                json!({"a": {"c": [2, 1]}}),
                true,
            ),
            (json!({"a": 1}), json!({"a": {"b": 1}}), true),
            (json!({}), json!({}), false),
        ];
        for (base, over, changed) in cases {
            let mut merged = base.clone();
            assert_eq!(deep_merge(&mut merged, &over), changed, "{base} {over}");
            if !changed {
                assert_eq!(merged, base);
            }
        }
    }

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert!(is_date("2027-02-28"));
        assert!(is_date("2028-02-29"));
        assert!(!is_date("2027-02-29"));
        assert!(!is_date("2027-13-01"));
        assert!(!is_date("2027-1-01"));
        assert!(!is_date("2027-01-+1"));
    }

    #[test]
    fn only_loopback_is_accepted_over_plain_http() {
        assert!(Endpoint::try_from("http://127.0.0.1:8080".to_string()).is_ok());
        assert!(Endpoint::try_from("http://localhost:1".to_string()).is_ok());
        assert!(Endpoint::try_from("http://10.0.0.1:80".to_string()).is_err());
        assert!(Endpoint::try_from("http://127.0.0.1".to_string()).is_err());
        assert!(Endpoint::try_from("https://graph.microsoft.com".to_string()).is_err());
    }
}
