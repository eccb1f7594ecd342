//! Which properties each Graph version serves of the objects the emulator
//! stores.
//!
//! The state file holds one shape per object (the union of what v1.0 and
//! beta know, minus properties neither has); a read through `/v1.0` or
//! `/beta` leaves out what that version's schema lacks, and a write naming
//! such a property fails as Graph fails for any unknown property. The lists
//! below follow Microsoft's published CSDL metadata (`msgraph-metadata`,
//! `schemas/v1.0-Prod.csdl` and `schemas/type-mappings/beta-*.json`, commit
//! f54f11b, 2026-08) and the v1.0/beta resource pages on learn.microsoft.com.
//! Where the emulator departs from the metadata, the choice is a named
//! constant in [`crate::quirks`].

use serde_json::{Map, Value};

use crate::quirks;

/// A Graph version as routed (`"v1.0"` or `"beta"`).
fn is_beta(version: &str) -> bool {
    version == "beta"
}

/// A property path (from the object's root) that one version lacks.
type Path = &'static [&'static str];

/// `organization` properties only beta has.
const ORGANIZATION_BETA_ONLY: &[Path] = &[&["directorySizeQuota"]];

/// `authenticationMethodsPolicy` properties only beta has.
const METHODS_POLICY_BETA_ONLY: &[Path] = &[
    &["systemCredentialPreferences"],
    &["reportSuspiciousActivitySettings"],
];

/// `authorizationPolicy` properties only v1.0 has (beta names the
/// default user role's grant policies at the top level instead).
const AUTHORIZATION_POLICY_V1_ONLY: &[Path] = &[&[
    "defaultUserRolePermissions",
    "permissionGrantPoliciesAssigned",
]];

/// Properties of one method configuration type that a version lacks.
struct MethodShape {
    /// `@odata.type` without `#microsoft.graph.`.
    type_name: &'static str,
    /// Served on beta only.
    beta_only: &'static [Path],
    /// Served on v1.0 only.
    v1_only: &'static [Path],
}

const METHOD_SHAPES: &[MethodShape] = &[
    MethodShape {
        type_name: "voiceAuthenticationMethodConfiguration",
        beta_only: &[&["callerIdNumber"]],
        v1_only: &[],
    },
    MethodShape {
        type_name: "microsoftAuthenticatorAuthenticationMethodConfiguration",
        beta_only: &[
            &["featureSettings", "companionAppAllowedState"],
            &["featureSettings", "numberMatchingRequiredState"],
        ],
        v1_only: &[],
    },
    MethodShape {
        type_name: "x509CertificateAuthenticationMethodConfiguration",
        beta_only: &[],
        v1_only: &[&["crlValidationConfiguration"]],
    },
];

/// Method-configuration properties that neither version has; the emulator
/// once served them (`voiceAuthenticationMethodConfiguration`), and state
/// files written then may still hold them.
pub(crate) const NEITHER_VERSION: &[&str] = &["isCustomGreetingEnabled"];

fn remove_path(obj: &mut Map<String, Value>, path: Path) {
    match path {
        [] => {}
        [last] => {
            obj.remove(*last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = obj.get_mut(*first) {
                remove_path(inner, rest);
            }
        }
    }
}

fn absent_paths(version: &str, beta_only: &[Path], v1_only: &[Path]) -> Vec<Path> {
    if is_beta(version) {
        v1_only.to_vec()
    } else {
        beta_only.to_vec()
    }
}

/// The stored organization as `version` serves it.
pub(crate) fn organization(version: &str, obj: &mut Map<String, Value>) {
    for path in absent_paths(version, ORGANIZATION_BETA_ONLY, &[]) {
        remove_path(obj, path);
    }
}

/// The stored authentication methods policy (without its configurations)
/// as `version` serves it.
pub(crate) fn methods_policy(version: &str, obj: &mut Map<String, Value>) {
    for path in absent_paths(version, METHODS_POLICY_BETA_ONLY, &[]) {
        remove_path(obj, path);
    }
    if !is_beta(version) && !quirks::V1_SERVES_CAMPAIGN_ENFORCE_AFTER_SNOOZES {
        remove_path(
            obj,
            &[
                "registrationEnforcement",
                "authenticationMethodsRegistrationCampaign",
                "enforceRegistrationAfterAllowedSnoozes",
            ],
        );
    }
}

/// The stored authorization policy as `version` serves it.
pub(crate) fn authorization_policy(version: &str, obj: &mut Map<String, Value>) {
    if is_beta(version) {
        let grants = obj
            .get("defaultUserRolePermissions")
            .and_then(|p| p.get("permissionGrantPoliciesAssigned"))
            .cloned();
        for (k, v) in quirks::beta_authorization_policy_extras(grants) {
            obj.entry(k).or_insert(v);
        }
    }
    for path in absent_paths(version, &[], AUTHORIZATION_POLICY_V1_ONLY) {
        remove_path(obj, path);
    }
}

fn method_shape(type_name: &str) -> Option<&'static MethodShape> {
    let name = type_name
        .trim_start_matches('#')
        .trim_start_matches("microsoft.graph.");
    METHOD_SHAPES
        .iter()
        .find(|s| s.type_name.eq_ignore_ascii_case(name))
}

/// One stored method configuration as `version` serves it.
pub(crate) fn method_configuration(version: &str, obj: &mut Map<String, Value>) {
    for k in NEITHER_VERSION {
        obj.remove(*k);
    }
    let type_name = obj
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(shape) = method_shape(&type_name) {
        for path in absent_paths(version, shape.beta_only, shape.v1_only) {
            remove_path(obj, path);
        }
    }
}

/// Whether `version` serves the stored method configuration `config` at
/// all (see [`quirks::V1_SERVES_HARDWARE_OATH`]).
pub(crate) fn method_served(version: &str, config: &Value) -> bool {
    let hardware_oath = config
        .get("@odata.type")
        .and_then(Value::as_str)
        .is_some_and(|t| {
            t.eq_ignore_ascii_case("#microsoft.graph.hardwareOathAuthenticationMethodConfiguration")
        });
    is_beta(version) || !hardware_oath || quirks::V1_SERVES_HARDWARE_OATH
}

/// Whether `version` knows the top-level property `prop` of the method
/// configuration type `type_name` (properties the emulator does not list
/// here are known to both).
pub(crate) fn method_property_exists(version: &str, type_name: &str, prop: &str) -> bool {
    if NEITHER_VERSION.contains(&prop) {
        return false;
    }
    let Some(shape) = method_shape(type_name) else {
        return true;
    };
    let absent = absent_paths(version, shape.beta_only, shape.v1_only);
    !absent.iter().any(|p| p.len() == 1 && p[0] == prop)
}

/// Whether `version` knows the nested property `path` of the method
/// configuration type `type_name` (for `featureSettings` members).
pub(crate) fn method_nested_property_exists(version: &str, type_name: &str, path: &[&str]) -> bool {
    let Some(shape) = method_shape(type_name) else {
        return true;
    };
    let absent = absent_paths(version, shape.beta_only, shape.v1_only);
    !absent.contains(&path)
}

/// Whether `version` knows the `authenticationMethodsPolicy` property `prop`.
pub(crate) fn methods_policy_property_exists(version: &str, prop: &str) -> bool {
    let absent = absent_paths(version, METHODS_POLICY_BETA_ONLY, &[]);
    !absent.iter().any(|p| p.len() == 1 && p[0] == prop)
}

/// Whether `version` knows `defaultUserRolePermissions.permissionGrantPoliciesAssigned`.
pub(crate) fn authorization_policy_property_exists(version: &str, path: &[&str]) -> bool {
    let absent = absent_paths(version, &[], AUTHORIZATION_POLICY_V1_ONLY);
    !absent.contains(&path)
}
