//! Which subscriptions license SSPR, in one place with their source.
//!
//! Microsoft Learn, "Licensing requirements for Microsoft Entra self-service
//! password reset" (concept-sspr-licensing, checked 2026-11): cloud-only
//! user password reset is in Microsoft 365 Business Standard, Business
//! Premium and Entra ID P1/P2; hybrid users' change or reset with
//! on-premises writeback is in Business Premium and Entra ID P1/P2 only.
//! Business Premium carries the Entra ID P1 service plan (`AAD_PREMIUM`), so
//! the service plans find it; Business Standard carries none, so it is found
//! by its SKU. Ids: Microsoft Learn, "Product names and service plan
//! identifiers for licensing".

use serde_json::Value;

/// Entra ID P1 service plan (`AAD_PREMIUM`; in Entra ID P1, P2, EMS,
/// Microsoft 365 E3/E5 and Business Premium).
pub const AAD_PREMIUM_P1_PLAN: &str = "41781fb2-bc02-4b7c-bd55-b576c07bb09d";
/// Entra ID P2 service plan (`AAD_PREMIUM_P2`).
pub const AAD_PREMIUM_P2_PLAN: &str = "eec0eb4f-6444-4f95-aba0-50c24d67f998";
/// Microsoft 365 Business Standard SKU (`O365_BUSINESS_PREMIUM`).
pub const BUSINESS_STANDARD_SKU: &str = "f245ecc8-75af-4f8e-b61f-27d8114de5f3";
/// Its `skuPartNumber`, for a SKU listed without the id above.
pub const BUSINESS_STANDARD_PART: &str = "O365_BUSINESS_PREMIUM";

/// The SSPR licences of `subscribedSkus`: a SKU counts when it is Enabled or
/// in Warning, a service plan when it is provisioned (`Success`). P2 implies
/// P1. Seats are the `prepaidUnits.enabled` of the SKUs that license SSPR.
pub fn licences(skus: &Value) -> ssprctl_model::Licences {
    let mut found = ssprctl_model::Licences::default();
    for sku in skus
        .get("value")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let status = sku
            .get("capabilityStatus")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(status, "Enabled" | "Warning") {
            continue;
        }
        let mut licenses_sspr = false;
        let standard = sku.get("skuId").and_then(Value::as_str) == Some(BUSINESS_STANDARD_SKU)
            || sku.get("skuPartNumber").and_then(Value::as_str) == Some(BUSINESS_STANDARD_PART);
        if standard {
            found.business_standard = true;
            licenses_sspr = true;
        }
        for plan in sku
            .get("servicePlans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if plan.get("provisioningStatus").and_then(Value::as_str) != Some("Success") {
                continue;
            }
            match plan.get("servicePlanId").and_then(Value::as_str) {
                Some(AAD_PREMIUM_P1_PLAN) => {
                    found.p1 = true;
                    licenses_sspr = true;
                }
                Some(AAD_PREMIUM_P2_PLAN) => {
                    found.p1 = true;
                    found.p2 = true;
                    licenses_sspr = true;
                }
                Some(_) | None => {}
            }
        }
        if licenses_sspr {
            found.sspr_seats += sku
                .get("prepaidUnits")
                .and_then(|u| u.get("enabled"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sku(id: &str, part: &str, plans: &[&str], seats: u64) -> Value {
        json!({
            "skuId": id, "skuPartNumber": part, "capabilityStatus": "Enabled",
            "prepaidUnits": {"enabled": seats, "suspended": 0, "warning": 0},
            "servicePlans": plans.iter().map(|p| json!({"servicePlanId": p, "provisioningStatus": "Success"})).collect::<Vec<_>>()
        })
    }

    #[test]
    fn business_standard_licenses_cloud_reset_but_not_writeback() {
        let l = licences(
            &json!({"value": [sku(BUSINESS_STANDARD_SKU, "O365_BUSINESS_PREMIUM", &[], 40)]}),
        );
        assert!(l.sspr_for_cloud_users());
        assert!(!l.writeback());
        assert_eq!(l.sspr_seats, 40);
    }

    #[test]
    fn premium_plans_license_writeback_and_seats_add_up() {
        let l = licences(&json!({"value": [
            sku("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", &[AAD_PREMIUM_P1_PLAN], 10),
            sku("x", "AAD_PREMIUM_P2", &[AAD_PREMIUM_P1_PLAN, AAD_PREMIUM_P2_PLAN], 25),
            sku("y", "EXCHANGESTANDARD", &["other"], 300),
        ]}));
        assert!(l.writeback() && l.p2);
        assert_eq!(l.sspr_seats, 35, "only SKUs that license SSPR count");
    }

    #[test]
    fn a_suspended_sku_licenses_nothing() {
        let mut s = sku(BUSINESS_STANDARD_SKU, "O365_BUSINESS_PREMIUM", &[], 5);
        s["capabilityStatus"] = json!("Suspended");
        let l = licences(&json!({"value": [s]}));
        assert!(!l.sspr_for_cloud_users());
        assert_eq!(l.sspr_seats, 0);
    }
}
