//! The readiness figures: the registration report and the members of the SSPR
//! groups, following `@odata.nextLink` pages.

use reqwest::Method;
use serde_json::Value;
use ssprctl_model::{Api, Population, RegisteredUser, Tenant};

use super::HttpProvider;
use super::tokens::Audience;
use super::transport::Need;
use crate::credentials::Secret;
use crate::error::ProviderError;

/// One row of the registration report.
fn registered_user(row: &Value) -> RegisteredUser {
    RegisteredUser {
        id: row
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
        is_admin: row.get("isAdmin").and_then(Value::as_bool).unwrap_or(false),
        methods: row
            .get("methodsRegistered")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    }
}

impl HttpProvider {
    /// Reads the registration report and the members of `groups` (for the
    /// readiness figures), following `@odata.nextLink` pages. The error is one
    /// line saying what could not be read and what to do.
    pub async fn population(
        &self,
        tenant: &Tenant,
        groups: &[String],
    ) -> Result<Population, String> {
        self.read_population(tenant, groups)
            .await
            .map_err(|e| format!("reading the registration report: {}", e.detail()))
    }

    async fn read_population(
        &self,
        tenant: &Tenant,
        groups: &[String],
    ) -> Result<Population, ProviderError> {
        let api = Api::GraphAuthenticationMethods;
        let conn = self.conn(tenant, api)?;
        let token = self.token(conn, Audience::Graph, api).await?;
        let base = &conn.hosts.graph;
        let mut population = Population::default();
        let report = format!(
            "{base}/v1.0/reports/authenticationMethods/userRegistrationDetails?$select=id,isAdmin,methodsRegistered&$top=999"
        );
        let report_need = Need::Permission("AuditLog.Read.All");
        for row in self.all_pages(api, &token, report, report_need).await? {
            population.users.push(registered_user(&row));
        }
        for group in groups {
            let url = format!(
                "{base}/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user?$select=id&$top=999"
            );
            let members = self
                .all_pages(api, &token, url, Need::Permission("GroupMember.Read.All"))
                .await?
                .iter()
                .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_lowercase))
                .collect();
            population
                .group_members
                .insert(group.to_lowercase(), members);
        }
        Ok(population)
    }

    pub(super) async fn all_pages(
        &self,
        api: Api,
        token: &Secret,
        first: String,
        need: Need,
    ) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let (_, mut page) = self.call(api, token, Method::GET, &url, None, need).await?;
            next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_string);
            // Moved out of the page, not copied: a registration report has a
            // row per user, and an apply reads one per tenant.
            if let Some(Value::Array(rows)) = page.get_mut("value").map(Value::take) {
                out.extend(rows);
            }
        }
        Ok(out)
    }
}
