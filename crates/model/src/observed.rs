//! What was read from a tenant, in model terms.
//!
//! A surface that could not be read is *unknown*, never "different": the planner
//! reports it and makes no change from it (a read failure is never drift).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Api;
use crate::settings::Settings;

/// The live state of one tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedTenant {
    /// Every section that was read, fully populated; sections not read are `None`.
    pub settings: Settings,
    /// Surfaces that could not be read, with the reason.
    pub unreadable: Vec<Unreadable>,
    /// Groups found for each display name the desired state refers to.
    pub groups_by_name: BTreeMap<String, Vec<GroupInfo>>,
    /// Groups found for each group id the desired or live state refers to.
    pub groups_by_id: BTreeMap<String, GroupInfo>,
    /// Why the desired group could not be looked up, if the lookup failed
    /// (as opposed to finding no such group).
    pub group_lookup_error: Option<String>,
    /// A digest of each live object read, for the stale-plan guard.
    pub digests: BTreeMap<Api, Digest>,
    /// The live wire object of each full-object surface read (the portal
    /// `PasswordResetPolicies`; the Password Rule Settings as a flat
    /// `{name: value}` object), exactly as read: what a plan was computed from,
    /// which the write compares with its pre-write read to find concurrent
    /// changes. Never serialised.
    #[serde(skip)]
    pub objects: BTreeMap<Api, serde_json::Value>,
    /// Read-only facts the preflight checks use.
    pub facts: Facts,
}

/// Read-only facts about a tenant; `None` means "not read" (or the read failed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Entra ID premium licences present (from `subscribedSkus`).
    pub licences: Option<Licences>,
    /// Whether directory synchronisation from on-premises is enabled.
    pub directory_sync: Option<bool>,
    /// Whether a password-writeback client (Entra Connect or Cloud Sync) is registered.
    pub writeback_client: Option<bool>,
    /// The authentication-methods policy migration state.
    pub migration_state: Option<crate::settings::MigrationState>,
    /// The SSPR methods the tenant offers at all (the portal's `*OptionAllowed`
    /// flags), in model names such as `email` or `authenticatorCode`.
    pub reset_methods_allowed: Option<Vec<String>>,
}

/// The licences that matter to SSPR (the table and its source are in the
/// provider's `licensing` module).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Licences {
    /// Entra ID P1 (or a plan that includes it, e.g. Microsoft 365 Business Premium).
    pub p1: bool,
    /// Entra ID P2.
    pub p2: bool,
    /// Microsoft 365 Business Standard: SSPR for cloud-only users, no writeback.
    #[serde(default)]
    pub business_standard: bool,
    /// Seats of the subscriptions that license SSPR: the sum of their
    /// `prepaidUnits.enabled`.
    #[serde(default)]
    pub sspr_seats: u64,
}

impl Licences {
    /// Whether cloud-only users may reset their password (Entra ID P1/P2,
    /// Microsoft 365 Business Standard or Business Premium).
    pub fn sspr_for_cloud_users(&self) -> bool {
        self.p1 || self.p2 || self.business_standard
    }
    /// Whether password writeback (and unlock) is licensed (Entra ID P1/P2,
    /// Microsoft 365 Business Premium, which includes P1).
    pub fn writeback(&self) -> bool {
        self.p1 || self.p2
    }
}

/// A surface whose read failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreadable {
    /// Which surface.
    pub api: Api,
    /// What kind of failure it was.
    pub failure: ReadFailure,
    /// Why, in one line (status, error code, what to do).
    pub reason: String,
}

/// Why a surface could not be read, for the checks that act on the kind of
/// failure rather than on its wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReadFailure {
    /// No credential is configured for the surface.
    NoCredential,
    /// Signing in failed, or the service refused the request (401, 403).
    Refused,
    /// Throttled, a server error, or a request that did not complete.
    Transient,
    /// The service answered with something ssprctl cannot read.
    UnexpectedForm,
    /// Anything else.
    Other,
}

/// A group, as far as ssprctl needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Whether it is a security group.
    pub security_enabled: bool,
}

/// Who is registered for what: the tenant's users from the registration report,
/// and the members of the groups a plan scopes SSPR to (for readiness figures).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Population {
    /// Every user of the registration report.
    pub users: Vec<RegisteredUser>,
    /// Member user ids of each group asked for, by group id (lower-case).
    pub group_members: BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// One user of the registration report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredUser {
    /// Object id (lower-case).
    pub id: String,
    /// Whether the user holds an admin role (admins follow their own SSPR policy).
    pub is_admin: bool,
    /// The report's `methodsRegistered`.
    pub methods: Vec<String>,
}

/// A SHA-256 digest of a live object (the stale-plan guard compares them),
/// kept as its 32 bytes: a plan of 10,000 tenants holds about 50,000 of them,
/// and as hex strings each was an allocation of its own of twice the size.
/// Written and read as 64 lower-case hexadecimal digits, as plans and
/// journals always held it; reading accepts either case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest written as `text` (64 hexadecimal digits), if it is one.
    pub fn from_hex(text: &str) -> Option<Digest> {
        let text = text.as_bytes();
        if text.len() != 64 {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            *byte = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(Digest(bytes))
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Digest::from_hex(&text).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &"a SHA-256 digest: 64 hexadecimal digits",
            )
        })
    }
}

impl schemars::JsonSchema for Digest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Digest".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "SHA-256 of a live object, as 64 hexadecimal digits.",
            "type": "string",
            "pattern": "^[0-9a-fA-F]{64}$"
        })
    }
}

#[cfg(test)]
mod digest_tests {
    use super::Digest;

    #[test]
    fn a_digest_is_written_and_read_as_the_hex_it_always_was() {
        let hex = "00ff10a0b1c2d3e4f5a6b7c8d9e0f1021324354657687980a9bacbdcedfe0f1e";
        let digest = Digest::from_hex(hex).expect("hex");
        assert_eq!(digest.to_string(), hex);
        assert_eq!(
            serde_json::to_string(&digest).expect("json"),
            format!("\"{hex}\"")
        );
        let read: Digest =
            serde_json::from_str(&format!("\"{}\"", hex.to_uppercase())).expect("read");
        assert_eq!(read, digest);
        for bad in [
            "",
            "a",
            &hex[1..],
            &format!("{hex}0"),
            &hex.replace('f', "g"),
        ] {
            assert!(Digest::from_hex(bad).is_none(), "{bad}");
            let err = serde_json::from_str::<Digest>(&format!("\"{bad}\"")).expect_err(bad);
            assert!(err.to_string().contains("64 hexadecimal digits"), "{err}");
        }
        assert!(serde_json::from_str::<Digest>("7").is_err());
        // A multi-byte character never splits into digits.
        assert!(Digest::from_hex(&"é".repeat(32)).is_none());
    }
}
