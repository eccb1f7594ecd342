//! Realistic fresh-tenant defaults: what a newly created (or auto-created)
//! tenant looks like. Values taken from public samples are marked with their
//! source; values nobody has confirmed come from [`crate::quirks`].
//!
//! Timestamps here are fixed so that fresh tenants are byte-for-byte
//! deterministic (snapshot tests need no redaction).

use serde_json::{Map, Value, json};

use crate::quirks;
use crate::state::{Admin, App, Tenant};
use crate::token::GLOBAL_ADMIN_ROLE;
use crate::{LOCAL_ADMIN_REFRESH_TOKEN, LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET};

/// Creation time of every fixture object in a fresh tenant.
pub(crate) const FRESH_CREATED: &str = "2024-01-15T09:00:00Z";

/// `lastModifiedDateTime` of a fresh authentication methods policy (the
/// learn.microsoft.com v1.0 GET example's value).
pub(crate) const FRESH_METHODS_POLICY_MODIFIED: &str = "2024-04-26T12:44:42.0858664Z";

/// Application permissions granted to the fresh tenant's local app.
pub(crate) const LOCAL_APP_ROLES: [&str; 9] = [
    "Policy.Read.All",
    "Policy.ReadWrite.Authorization",
    "Policy.Read.AuthenticationMethod",
    "Policy.ReadWrite.AuthenticationMethod",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
    "Group.Read.All",
    "AuditLog.Read.All",
];

/// Template id of the "Password Rule Settings" directory setting template.
pub(crate) const PASSWORD_RULE_TEMPLATE_ID: &str = "5cf42378-d67d-4f36-ba46-e8b86229381d";

/// The "Password Rule Settings" template's display name.
pub(crate) const PASSWORD_RULE_TEMPLATE_NAME: &str = "Password Rule Settings";

/// Service plan id of Entra ID P1 (`AAD_PREMIUM`).
pub(crate) const AAD_PREMIUM_PLAN: &str = "41781fb2-bc02-4b7c-bd55-b576c07bb09d";

/// Service plan id of Entra ID P2 (`AAD_PREMIUM_P2`).
pub(crate) const AAD_PREMIUM_P2_PLAN: &str = "eec0eb4f-6444-4f95-aba0-50c24d67f998";

/// Service plan id of Azure MFA (`MFA_PREMIUM`), part of every P1/P2 SKU.
pub(crate) const MFA_PREMIUM_PLAN: &str = "8a256a2b-b617-496d-b51b-e76466e88db0";

/// A fixture group of every fresh tenant.
pub(crate) struct GroupSeed {
    /// Fixed object id (the same in every emulated tenant).
    pub id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Microsoft 365 ("Unified") group rather than a security group.
    pub unified: bool,
}

/// The fixture groups. The first five are security groups; "Marketing Team"
/// is a Microsoft 365 group; the two "Duplicate Name" groups exist to test
/// ambiguous name lookups. Several ids are the example ids of Microsoft's docs.
pub(crate) const GROUPS: &[GroupSeed] = &[
    GroupSeed {
        id: "b6cdb9c3-d660-4558-bcfd-82c14a986b56",
        display_name: "SSPR Pilot",
        description: "Pilot users for self-service password reset",
        unified: false,
    },
    GroupSeed {
        id: "3ee3a9de-0a86-4e12-a287-9769accf1ba2",
        display_name: "SSPR Users",
        description: "Users allowed to reset their own password",
        unified: false,
    },
    GroupSeed {
        id: "d2d5bae7-a7b7-4581-8d52-5a8d26f517b3",
        display_name: "All Staff",
        description: "Every employee",
        unified: false,
    },
    GroupSeed {
        id: "eb2aa918-770c-40b4-97b8-f58a0087f8b5",
        display_name: "Helpdesk Admins",
        description: "Helpdesk administrators",
        unified: false,
    },
    GroupSeed {
        id: "dad4ae4a-730c-4e52-826c-0d9094971f04",
        display_name: "Break Glass Accounts",
        description: "Emergency access accounts; exclude from policies",
        unified: false,
    },
    GroupSeed {
        id: "d97d81ce-74be-46a4-ba6e-62eed46fabb9",
        display_name: "Marketing Team",
        description: "Marketing team collaboration",
        unified: true,
    },
    GroupSeed {
        id: "18c6ce0e-243f-4130-ad7d-d9049806df0e",
        display_name: "Duplicate Name",
        description: "First of two groups with the same name",
        unified: false,
    },
    GroupSeed {
        id: "7a4c2e19-5b3d-4f08-9e61-2c8d0b7f3a45",
        display_name: "Duplicate Name",
        description: "Second of two groups with the same name",
        unified: false,
    },
];

/// A short, stable, alphanumeric prefix of a tenant id.
fn short_id(tid: &str) -> String {
    tid.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The fresh tenant's initial `*.onmicrosoft.com` domain.
pub(crate) fn initial_domain(tid: &str) -> String {
    format!("emu{}.onmicrosoft.com", short_id(tid))
}

/// A complete fresh tenant with id `tid`.
pub(crate) fn fresh_tenant(tid: &str) -> Tenant {
    let domain = initial_domain(tid);
    Tenant {
        display_name: format!("Emulated Tenant {}", short_id(tid)),
        password_reset_policies: password_reset_policies(),
        on_premises_password_reset_policies: on_premises_password_reset_policies(),
        authorization_policy: authorization_policy(),
        authentication_methods_policy: authentication_methods_policy(),
        group_settings: Vec::new(),
        organization: organization(&domain),
        subscribed_skus: subscribed_skus(tid),
        groups: groups(&domain),
        apps: vec![App {
            client_id: LOCAL_CLIENT_ID.to_string(),
            client_secret: Some(LOCAL_CLIENT_SECRET.to_string()),
            roles: LOCAL_APP_ROLES.iter().map(|r| r.to_string()).collect(),
            certificates: Vec::new(),
            federated_credentials: Vec::new(),
        }],
        admins: vec![Admin {
            user_principal_name: format!("admin@{domain}"),
            role_template_ids: vec![GLOBAL_ADMIN_ROLE.to_string()],
            refresh_tokens: vec![LOCAL_ADMIN_REFRESH_TOKEN.to_string()],
        }],
        managed_identities: Vec::new(),
        population: crate::state::Population::default(),
        auto_approve_device_code: true,
        token_lifetime_seconds: crate::state::DEFAULT_TOKEN_LIFETIME_SECS,
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Fresh portal SSPR policy: SSPR off, one method, email and mobile phone,
/// 5/3 questions, registration at sign-in, reconfirm every 180 days, skip for
/// 7 days, both notifications on, no helpdesk link. Field order follows the
/// reconstructed portal GET (docs/api-surfaces.md §1a).
pub(crate) fn password_reset_policies() -> Map<String, Value> {
    let allowed = quirks::FRESH_OPTION_ALLOWED;
    object(json!({
        "objectId": "default",
        "enablementType": 0,
        "numberOfAuthenticationMethodsRequired": 1,
        "emailOptionEnabled": true,
        "mobilePhoneOptionEnabled": true,
        "officePhoneOptionEnabled": false,
        "securityQuestionsOptionEnabled": false,
        "mobileAppNotificationEnabled": false,
        "mobileAppCodeEnabled": false,
        "numberOfQuestionsToRegister": 5,
        "numberOfQuestionsToReset": 3,
        "registrationRequiredOnSignIn": true,
        "registrationReconfirmIntevalInDays": 180,
        "skipRegistrationAllowed": true,
        "skipRegistrationMaxAllowedDays": 7,
        "customizeHelpdeskLink": false,
        "customHelpdeskEmailOrUrl": "",
        "notifyUsersOnPasswordReset": true,
        "notifyOnAdminPasswordReset": true,
        "passwordResetEnabledGroupIds": [],
        "passwordResetEnabledGroupName": "",
        "securityQuestions": [],
        "registrationConditionalAccessPolicies": [],
        "emailOptionAllowed": allowed,
        "mobilePhoneOptionAllowed": allowed,
        "officePhoneOptionAllowed": allowed,
        "securityQuestionsOptionAllowed": allowed,
        "mobileAppNotificationOptionAllowed": allowed,
        "mobileAppCodeOptionAllowed": allowed
    }))
}

/// Fresh portal on-premises integration: nothing integrated, account unlock
/// supported (O365Essentials: "stays enabled all the time").
pub(crate) fn on_premises_password_reset_policies() -> Map<String, Value> {
    object(json!({
        "objectId": quirks::FRESH_ONPREM_OBJECT_ID,
        "passwordWritebackSupported": false,
        "accountUnlockSupported": true,
        "accountUnlockEnabled": false,
        "enablementForTenant": false,
        "cloudProvisioningEnablementForTenant": false
    }))
}

/// Fresh authorization policy (docs/api-surfaces.md §2 example, `allowedToUseSSPR` true).
pub(crate) fn authorization_policy() -> Map<String, Value> {
    object(json!({
        "id": "authorizationPolicy",
        "displayName": quirks::AUTHORIZATION_POLICY_DISPLAY_NAME,
        "description": quirks::AUTHORIZATION_POLICY_DESCRIPTION,
        "allowInvitesFrom": "everyone",
        "allowedToSignUpEmailBasedSubscriptions": true,
        "allowedToUseSSPR": true,
        "allowEmailVerifiedUsersToJoinOrganization": false,
        "allowUserConsentForRiskyApps": false,
        "blockMsolPowerShell": false,
        "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
        "defaultUserRolePermissions": {
            "allowedToCreateApps": true,
            "allowedToCreateSecurityGroups": true,
            "allowedToCreateTenants": true,
            "allowedToReadBitlockerKeysForOwnedDevice": true,
            "allowedToReadOtherUsers": true,
            "permissionGrantPoliciesAssigned": [
                "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
            ]
        }
    }))
}

/// Fresh authentication methods policy: the learn.microsoft.com v1.0 GET
/// example (revision 2025-12) with every group target replaced by
/// `all_users`, no exclusions and no external method; method states from
/// [`quirks::FRESH_METHOD_STATES`].
pub(crate) fn authentication_methods_policy() -> Map<String, Value> {
    let configs: Vec<Value> = METHOD_IDS
        .iter()
        .filter_map(|id| method_configuration(id))
        .collect();
    object(json!({
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
        "lastModifiedDateTime": FRESH_METHODS_POLICY_MODIFIED,
        "policyVersion": "1.5",
        "policyMigrationState": "preMigration",
        "registrationEnforcement": {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 1,
                "enforceRegistrationAfterAllowedSnoozes": true,
                "state": "disabled",
                "excludeTargets": [],
                "includeTargets": [
                    {
                        "id": "all_users",
                        "targetType": "group",
                        "targetedAuthenticationMethod": "microsoftAuthenticator"
                    }
                ]
            }
        },
        "systemCredentialPreferences": {
            "state": "disabled",
            "excludeTargets": [],
            "includeTargets": [{"id": "all_users", "targetType": "group"}]
        },
        "reportSuspiciousActivitySettings": {
            "state": "disabled",
            "voiceReportingCode": 0,
            "includeTarget": {"id": "all_users", "targetType": "group"}
        },
        "authenticationMethodConfigurations": configs
    }))
}

/// The fresh method set, in the order of the docs example.
pub(crate) const METHOD_IDS: [&str; 9] = [
    "Fido2",
    "MicrosoftAuthenticator",
    "Sms",
    "TemporaryAccessPass",
    "HardwareOath",
    "SoftwareOath",
    "Voice",
    "Email",
    "X509Certificate",
];

fn all_users_target() -> Value {
    json!({"targetType": "group", "id": "all_users", "isRegistrationRequired": false})
}

fn feature(state: &str) -> Value {
    json!({
        "state": state,
        "includeTarget": {"targetType": "group", "id": "all_users"},
        "excludeTarget": {"targetType": "group", "id": "00000000-0000-0000-0000-000000000000"}
    })
}

/// The fresh (and `DELETE`-reset) configuration of one method, by exact id.
/// States follow the docs example; see [`quirks::FRESH_METHOD_STATES`].
pub(crate) fn method_configuration(id: &str) -> Option<Value> {
    let state = quirks::FRESH_METHOD_STATES
        .iter()
        .find(|(m, _)| *m == id)
        .map(|(_, s)| *s)?;
    let config = match id {
        "Fido2" => json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
            "id": "Fido2",
            "state": state,
            "isSelfServiceRegistrationAllowed": true,
            "isAttestationEnforced": true,
            "defaultPasskeyProfile": null,
            "excludeTargets": [],
            "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []},
            "includeTargets": [
                {"targetType": "group", "id": "all_users", "isRegistrationRequired": false, "allowedPasskeyProfiles": []}
            ],
            "passkeyProfiles": []
        }),
        "MicrosoftAuthenticator" => json!({
            "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
            "id": "MicrosoftAuthenticator",
            "state": state,
            "isSoftwareOathEnabled": false,
            "excludeTargets": [],
            "featureSettings": {
                "companionAppAllowedState": feature("default"),
                "numberMatchingRequiredState": feature("enabled"),
                "displayAppInformationRequiredState": feature("default"),
                "displayLocationInformationRequiredState": feature("default")
            },
            "includeTargets": [
                {"targetType": "group", "id": "all_users", "isRegistrationRequired": false, "authenticationMode": "any"}
            ]
        }),
        "Sms" => json!({
            "@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration",
            "id": "Sms",
            "state": state,
            "excludeTargets": [],
            "includeTargets": [
                {"targetType": "group", "id": "all_users", "isRegistrationRequired": false, "isUsableForSignIn": true}
            ]
        }),
        "TemporaryAccessPass" => json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": state,
            "defaultLifetimeInMinutes": 60,
            "defaultLength": 8,
            "minimumLifetimeInMinutes": 60,
            "maximumLifetimeInMinutes": 480,
            "isUsableOnce": false,
            "excludeTargets": [],
            "includeTargets": [all_users_target()]
        }),
        "HardwareOath" => json!({
            "@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration",
            "id": "HardwareOath",
            "state": state,
            "excludeTargets": [],
            "includeTargets": [all_users_target()]
        }),
        "SoftwareOath" => json!({
            "@odata.type": "#microsoft.graph.softwareOathAuthenticationMethodConfiguration",
            "id": "SoftwareOath",
            "state": state,
            "excludeTargets": [],
            "includeTargets": [all_users_target()]
        }),
        "Voice" => json!({
            "@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration",
            "id": "Voice",
            "state": state,
            "isOfficePhoneAllowed": false,
            "callerIdNumber": null,
            "excludeTargets": [],
            "includeTargets": [all_users_target()]
        }),
        "Email" => json!({
            "@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration",
            "id": "Email",
            "state": state,
            "allowExternalIdToUseEmailOtp": "default",
            "excludeTargets": [],
            "includeTargets": if quirks::FRESH_EMAIL_TARGETS_ALL_USERS { vec![all_users_target()] } else { Vec::new() }
        }),
        "X509Certificate" => json!({
            "@odata.type": "#microsoft.graph.x509CertificateAuthenticationMethodConfiguration",
            "id": "X509Certificate",
            "state": state,
            "excludeTargets": [],
            "certificateUserBindings": [
                {"x509CertificateField": "PrincipalName", "userProperty": "userPrincipalName", "priority": 1, "trustAffinityLevel": "low"},
                {"x509CertificateField": "RFC822Name", "userProperty": "userPrincipalName", "priority": 2, "trustAffinityLevel": "low"}
            ],
            "authenticationModeConfiguration": {
                "x509CertificateAuthenticationDefaultMode": "x509CertificateSingleFactor",
                "x509CertificateDefaultRequiredAffinityLevel": "low",
                "rules": []
            },
            "issuerHintsConfiguration": {"state": "disabled"},
            "crlValidationConfiguration": {"state": "disabled", "exemptedCertificateAuthoritiesSubjectKeyIdentifiers": []},
            "includeTargets": [all_users_target()]
        }),
        _ => return None,
    };
    Some(config)
}

/// Fresh organization object; `id` and `displayName` are filled in on read
/// from the tenant id and the tenant's `displayName`.
pub(crate) fn organization(domain: &str) -> Map<String, Value> {
    object(json!({
        "deletedDateTime": null,
        "businessPhones": [],
        "city": null,
        "country": null,
        "countryLetterCode": "US",
        "createdDateTime": FRESH_CREATED,
        "defaultUsageLocation": null,
        "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": null,
        "onPremisesSyncEnabled": null,
        "postalCode": null,
        "preferredLanguage": "en",
        "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [],
        "state": null,
        "street": null,
        "technicalNotificationMails": [],
        "tenantType": "AAD",
        "directorySizeQuota": {"used": 12, "total": 300000},
        "privacyProfile": null,
        "assignedPlans": [
            {
                "assignedDateTime": FRESH_CREATED,
                "capabilityStatus": "Enabled",
                "service": "AADPremiumService",
                "servicePlanId": AAD_PREMIUM_P2_PLAN
            },
            {
                "assignedDateTime": FRESH_CREATED,
                "capabilityStatus": "Enabled",
                "service": "AADPremiumService",
                "servicePlanId": AAD_PREMIUM_PLAN
            }
        ],
        "provisionedPlans": [],
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnlineService",
                "isDefault": true,
                "isInitial": true,
                "name": domain,
                "type": "Managed"
            }
        ]
    }))
}

/// Fresh licences: one Entra ID P2 SKU with 25 seats.
pub(crate) fn subscribed_skus(tid: &str) -> Vec<Value> {
    let sku = quirks::ENTRA_ID_P2_SKU_ID;
    let plan = |id: &str, name: &str| json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"});
    vec![json!({
        "accountName": "Emulator",
        "accountId": tid,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": 1,
        "id": format!("{tid}_{sku}"),
        "skuId": sku,
        "skuPartNumber": "AAD_PREMIUM_P2",
        "subscriptionIds": [],
        "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": [
            plan(MFA_PREMIUM_PLAN, "MFA_PREMIUM"),
            plan(AAD_PREMIUM_PLAN, "AAD_PREMIUM"),
            plan(AAD_PREMIUM_P2_PLAN, "AAD_PREMIUM_P2")
        ]
    })]
}

/// The fixture groups as Graph `group` objects.
pub(crate) fn groups(domain: &str) -> Vec<Value> {
    GROUPS
        .iter()
        .map(|g| {
            let nickname: String = g
                .display_name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            let (group_types, mail, mail_enabled, visibility) = if g.unified {
                (
                    json!(["Unified"]),
                    json!(format!("{nickname}@{domain}")),
                    true,
                    json!("Private"),
                )
            } else {
                (json!([]), Value::Null, false, Value::Null)
            };
            json!({
                "id": g.id,
                "deletedDateTime": null,
                "classification": null,
                "createdDateTime": FRESH_CREATED,
                "description": g.description,
                "displayName": g.display_name,
                "expirationDateTime": null,
                "groupTypes": group_types,
                "isAssignableToRole": null,
                "mail": mail,
                "mailEnabled": mail_enabled,
                "mailNickname": nickname,
                "membershipRule": null,
                "membershipRuleProcessingState": null,
                "onPremisesSyncEnabled": null,
                "proxyAddresses": [],
                "renewedDateTime": FRESH_CREATED,
                "securityEnabled": !g.unified,
                "securityIdentifier": null,
                "visibility": visibility
            })
        })
        .collect()
}

/// One value definition of the Password Rule Settings template.
pub(crate) struct TemplateValue {
    /// Setting name.
    pub name: &'static str,
    /// .NET type name as the template reports it.
    pub kind: &'static str,
    /// Default value (a string, like every setting value).
    pub default: &'static str,
    /// Description.
    pub description: &'static str,
}

/// The Password Rule Settings template values, in docs/api-surfaces.md §5 order.
/// Defaults for the two `EnableBannedPasswordCheck*` values and the on-prem
/// mode are UNCONFIRMED and come from [`quirks`].
pub(crate) const PASSWORD_RULE_VALUES: [TemplateValue; 6] = [
    TemplateValue {
        name: "LockoutThreshold",
        kind: "System.Int32",
        default: "10",
        description: "The number of failed login attempts before the first lockout period begins.",
    },
    TemplateValue {
        name: "LockoutDurationInSeconds",
        kind: "System.Int32",
        default: "60",
        description: "The duration in seconds of the initial lockout period.",
    },
    TemplateValue {
        name: "EnableBannedPasswordCheck",
        kind: "System.Boolean",
        default: quirks::DEFAULT_ENABLE_BANNED_PASSWORD_CHECK,
        description: "Whether to use the banned password list.",
    },
    TemplateValue {
        name: "BannedPasswordList",
        kind: "System.String",
        default: "",
        description: "A list of banned words in passwords, separated by tabs.",
    },
    TemplateValue {
        name: "EnableBannedPasswordCheckOnPremises",
        kind: "System.Boolean",
        default: quirks::DEFAULT_ENABLE_BANNED_PASSWORD_CHECK_ON_PREMISES,
        description: "Whether to enable the banned password check on premises.",
    },
    TemplateValue {
        name: "BannedPasswordCheckOnPremisesMode",
        kind: "System.String",
        default: quirks::DEFAULT_BANNED_PASSWORD_CHECK_ON_PREMISES_MODE,
        description: "How the banned password check is applied on premises: Audit or Enforce.",
    },
];

/// The Password Rule Settings template as a Graph `groupSettingTemplate`.
pub(crate) fn password_rule_template() -> Value {
    let values: Vec<Value> = PASSWORD_RULE_VALUES
        .iter()
        .map(|v| {
            json!({"name": v.name, "type": v.kind, "defaultValue": v.default, "description": v.description})
        })
        .collect();
    json!({
        "id": PASSWORD_RULE_TEMPLATE_ID,
        "deletedDateTime": null,
        "displayName": PASSWORD_RULE_TEMPLATE_NAME,
        "description": quirks::PASSWORD_RULE_TEMPLATE_DESCRIPTION,
        "values": values
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fresh_method_has_a_configuration() {
        let policy = authentication_methods_policy();
        let configs = policy
            .get("authenticationMethodConfigurations")
            .and_then(Value::as_array)
            .expect("configurations");
        assert_eq!(configs.len(), METHOD_IDS.len());
        for (c, id) in configs.iter().zip(METHOD_IDS) {
            assert_eq!(c["id"], id);
            assert!(
                c["@odata.type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("#microsoft.graph."))
            );
        }
    }

    #[test]
    fn fixture_group_ids_are_unique() {
        let mut ids: Vec<&str> = GROUPS.iter().map(|g| g.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), GROUPS.len());
    }
}
