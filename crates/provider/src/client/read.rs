//! Reading a tenant, in three steps:
//! 1. [`ReadPlan::for_settings`] (pure): which requests the desired settings
//!    need: one Graph `$batch` (surfaces, group lookup, preflight facts) and
//!    the portal surfaces;
//! 2. the read itself: the batch and the portal GETs at the same time;
//! 3. [`decode`] (pure): the answers into an [`ObservedTenant`]: each surface
//!    decoded on its own (a failure costs only that surface), the digests,
//!    the facts and the groups.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use ssprctl_model::{Api, GroupInfo, ObservedTenant, ReadFailure, Settings, Tenant, Unreadable};

use super::HttpProvider;
use super::batch::{Answers, BatchRequest};
use super::pacing;
use super::transport::{Need, encode};
use crate::error::ProviderError;
use crate::wire;

/// Moves `api`'s section from `from` (a decoded single section) into `into`.
fn take_section(into: &mut Settings, from: Settings, api: Api) {
    match api {
        Api::PortalPasswordReset => {
            into.self_service_password_reset = from.self_service_password_reset;
        }
        Api::PortalOnPremises => into.on_premises_integration = from.on_premises_integration,
        Api::GraphAuthorizationPolicy => {
            into.administrator_password_reset = from.administrator_password_reset;
        }
        Api::GraphAuthenticationMethods => {
            into.authentication_methods = from.authentication_methods;
        }
        Api::GraphPasswordRuleSettings => into.password_protection = from.password_protection,
    }
}

/// Group lookups (the SSPR group by id or name).
const GROUP_READ: Need = Need::Permission("Group.Read.All");
/// Preflight facts (directory sync, licences).
const FACTS_READ: Need = Need::Permission("Organization.Read.All");

/// What a tenant read asks for; a function of the desired settings only.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReadPlan {
    /// The surfaces the desired settings manage.
    pub needed: BTreeSet<Api>,
    /// The Graph GETs, sent as one `$batch`.
    pub batch: Vec<BatchRequest>,
    /// The portal surfaces, read in parallel with the batch.
    pub portal: Vec<Api>,
    /// The SSPR group's display name, when it is looked up by name.
    pub group_name: Option<String>,
}

impl ReadPlan {
    /// The requests a read of `settings` needs.
    pub fn for_settings(settings: &Settings) -> ReadPlan {
        let needed: BTreeSet<Api> = Api::ALL
            .into_iter()
            .filter(|&a| a.managed_in(settings))
            .collect();
        let mut plan = ReadPlan {
            portal: [Api::PortalPasswordReset, Api::PortalOnPremises]
                .into_iter()
                .filter(|a| needed.contains(a))
                .collect(),
            needed,
            ..ReadPlan::default()
        };
        // Also read the methods policy for its migration state when legacy
        // toggles are managed.
        let legacy_methods = settings
            .self_service_password_reset
            .as_ref()
            .is_some_and(|s| s.methods.is_some());
        plan.add_surfaces(legacy_methods);
        if !plan.needed.is_empty() {
            plan.add_facts();
        }
        plan.add_group_lookup(settings);
        plan
    }

    /// The requests that read whole surfaces, whatever a file manages (for
    /// `export`): the surfaces' objects only, no facts and no group lookup.
    /// `plan` never reads this way: what it reads stays a function of the
    /// desired settings ([`ReadPlan::for_settings`]).
    pub fn for_surfaces(apis: &BTreeSet<Api>) -> ReadPlan {
        let mut plan = ReadPlan {
            portal: [Api::PortalPasswordReset, Api::PortalOnPremises]
                .into_iter()
                .filter(|a| apis.contains(a))
                .collect(),
            needed: apis.clone(),
            ..ReadPlan::default()
        };
        plan.add_surfaces(false);
        plan
    }

    fn add(&mut self, id: &str, api: Api, path: &str, need: Need) {
        self.batch.push(BatchRequest {
            id: id.to_string(),
            api,
            path: path.to_string(),
            need,
        });
    }

    fn add_surfaces(&mut self, legacy_methods: bool) {
        if self.needed.contains(&Api::GraphAuthorizationPolicy) {
            let api = Api::GraphAuthorizationPolicy;
            self.add("authz", api, "/policies/authorizationPolicy", Need::Read);
        }
        if self.needed.contains(&Api::GraphAuthenticationMethods) || legacy_methods {
            let api = Api::GraphAuthenticationMethods;
            self.add(
                "methods",
                api,
                "/policies/authenticationMethodsPolicy",
                Need::Read,
            );
        }
        if self.needed.contains(&Api::GraphPasswordRuleSettings) {
            let api = Api::GraphPasswordRuleSettings;
            self.add("settings", api, "/groupSettings", Need::Read);
            self.add("template", api, &template_path(), Need::Read);
        }
    }

    fn add_facts(&mut self) {
        let api = Api::GraphAuthorizationPolicy;
        let org = "/organization?$select=id,onPremisesSyncEnabled,onPremisesLastSyncDateTime";
        self.add("organization", api, org, FACTS_READ);
        let skus = "/subscribedSkus?$select=skuId,skuPartNumber,capabilityStatus,servicePlans";
        self.add("skus", api, skus, FACTS_READ);
    }

    fn add_group_lookup(&mut self, settings: &Settings) {
        let group = settings
            .self_service_password_reset
            .as_ref()
            .and_then(|s| s.group.as_ref());
        let select = "$select=id,displayName,securityEnabled";
        let api = Api::PortalPasswordReset;
        match group.map(|g| (&g.id, &g.display_name)) {
            Some((Some(id), _)) => self.add(
                "group-id",
                api,
                &format!("/groups/{id}?{select}"),
                GROUP_READ,
            ),
            Some((None, Some(name))) => {
                let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
                let path = format!("/groups?$filter={}&{select}", encode(&filter));
                self.add("group-name", api, &path, GROUP_READ);
            }
            Some((None, None)) | None => {}
        }
        self.group_name = group.and_then(|g| g.display_name.clone());
    }
}

/// Groups looked up by object id and by display name (for `export`: the
/// names of the groups a tenant's settings refer to, and whether a name is
/// unique).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupLookup {
    /// The groups found, by lower-case object id. An id that is absent was
    /// not found, or its lookup failed (then it is in `failed`).
    pub by_id: BTreeMap<String, GroupInfo>,
    /// Every group with each display name asked for (any number, none included).
    pub by_name: BTreeMap<String, Vec<GroupInfo>>,
    /// Lookups that failed (not "not found"): the id or name, and why.
    pub failed: BTreeMap<String, String>,
}

/// The `$batch` GETs that look up `ids` (object ids; anything but a GUID is
/// skipped) and `names` (display names, each by an exact-match filter).
pub fn group_requests(ids: &[String], names: &[String]) -> Vec<BatchRequest> {
    let select = "$select=id,displayName,securityEnabled";
    let api = Api::PortalPasswordReset;
    let by_id = ids
        .iter()
        .filter(|id| ssprctl_model::validate::is_guid(id))
        .enumerate()
        .map(|(i, id)| BatchRequest {
            id: format!("gid-{i}"),
            api,
            path: format!("/groups/{id}?{select}"),
            need: GROUP_READ,
        });
    let by_name = names.iter().enumerate().map(|(i, name)| {
        let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
        BatchRequest {
            id: format!("gname-{i}"),
            api,
            path: format!("/groups?$filter={}&{select}", encode(&filter)),
            need: GROUP_READ,
        }
    });
    by_id.chain(by_name).collect()
}

/// The answers of [`group_requests`] (same `ids` and `names`) as a lookup.
pub fn decode_group_lookup(ids: &[String], names: &[String], mut answers: Answers) -> GroupLookup {
    let mut out = GroupLookup::default();
    let ids = ids.iter().filter(|id| ssprctl_model::validate::is_guid(id));
    for (i, id) in ids.enumerate() {
        match answers.remove(&format!("gid-{i}")) {
            Some(Ok(g)) => {
                if let Some(info) = group_info(&g) {
                    out.by_id.insert(info.id.clone(), info);
                }
            }
            Some(Err(e)) if e.is_not_found() => {}
            Some(Err(e)) => {
                out.failed.insert(id.clone(), e.detail());
            }
            None => {
                out.failed.insert(id.clone(), "not looked up".into());
            }
        }
    }
    for (i, name) in names.iter().enumerate() {
        match answers.remove(&format!("gname-{i}")) {
            Some(Ok(list)) => {
                let found = list
                    .get("value")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                out.by_name
                    .insert(name.clone(), found.filter_map(group_info).collect());
            }
            Some(Err(e)) => {
                out.failed.insert(name.clone(), e.detail());
            }
            None => {
                out.failed.insert(name.clone(), "not looked up".into());
            }
        }
    }
    out
}

/// The Password Rule Settings template, whose defaults apply while the
/// tenant has no setting object.
pub(crate) fn template_path() -> String {
    format!("/groupSettingTemplates/{}", wire::PASSWORD_RULE_TEMPLATE_ID)
}

/// The Password Rule Settings object in a `groupSettings` list, if any.
pub(crate) fn find_password_rules(list: &Value) -> Option<&Value> {
    list.get("value")
        .and_then(Value::as_array)?
        .iter()
        .find(|s| {
            s.get("templateId")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(wire::PASSWORD_RULE_TEMPLATE_ID))
        })
}

/// A directory setting object's values as a flat `{name: value}` object.
pub(crate) fn password_rule_values(setting: &Value) -> Value {
    wire::setting_values(setting.get("values").unwrap_or(&Value::Null))
}

/// The answers of a read.
#[derive(Debug, Default)]
pub struct ReadAnswers {
    /// The `$batch` answers, by request id.
    pub batch: Answers,
    /// Each portal surface read, with its answer.
    pub portal: Vec<(Api, Result<Value, ProviderError>)>,
}

/// Everything `plan` needed marked unreadable for the same reason (no
/// connection for the tenant).
pub fn unreadable(plan: &ReadPlan, error: &ProviderError) -> ObservedTenant {
    let reason = error.detail();
    let failure = error.read_failure();
    ObservedTenant {
        unreadable: plan
            .needed
            .iter()
            .map(|&api| Unreadable {
                api,
                failure,
                reason: reason.clone(),
            })
            .collect(),
        ..ObservedTenant::default()
    }
}

/// The observed tenant from the answers to `plan`.
pub fn decode(plan: &ReadPlan, answers: ReadAnswers) -> ObservedTenant {
    let ReadAnswers { mut batch, portal } = answers;
    let mut observed = ObservedTenant::default();
    let mut surfaces = decode_portal(portal, &mut observed);
    surfaces.extend(decode_graph(plan, &mut batch, &mut observed));
    decode_facts(&mut batch, &mut observed);
    decode_groups(plan, &mut batch, &mut observed);
    decode_sections(surfaces, &mut observed);
    observed
}

/// A surface's live wire object, or why it could not be read.
type Surface = (Api, Result<Value, ProviderError>);

fn decode_portal(portal: Vec<Surface>, observed: &mut ObservedTenant) -> Vec<Surface> {
    for (api, answer) in &portal {
        match (api, answer) {
            (Api::PortalPasswordReset, Ok(w)) => {
                observed.facts.reset_methods_allowed = Some(wire::reset_methods_allowed(w));
            }
            (Api::PortalOnPremises, Ok(w)) => {
                observed.facts.writeback_client = Some(wire::writeback_client(w));
            }
            _ => {}
        }
    }
    portal
}

fn decode_graph(
    plan: &ReadPlan,
    batch: &mut Answers,
    observed: &mut ObservedTenant,
) -> Vec<Surface> {
    let mut surfaces = Vec::new();
    if let Some(r) = batch.remove("authz") {
        surfaces.push((Api::GraphAuthorizationPolicy, r));
    }
    if let Some(r) = batch.remove("methods") {
        if let Ok(w) = &r {
            observed.facts.migration_state = w
                .get("policyMigrationState")
                .and_then(|v| serde_json::from_value(v.clone()).ok());
        }
        if plan.needed.contains(&Api::GraphAuthenticationMethods) {
            surfaces.push((Api::GraphAuthenticationMethods, r));
        }
    }
    if let (Some(settings), Some(template)) = (batch.remove("settings"), batch.remove("template")) {
        // No setting object yet: the template's defaults are in force.
        let flat = settings.and_then(|list| match find_password_rules(&list) {
            Some(s) => Ok(password_rule_values(s)),
            None => template.map(|t| wire::template_defaults(&t)),
        });
        surfaces.push((Api::GraphPasswordRuleSettings, flat));
    }
    surfaces
}

fn decode_facts(batch: &mut Answers, observed: &mut ObservedTenant) {
    if let Some(Ok(org)) = batch.remove("organization") {
        observed.facts.directory_sync = org
            .get("value")
            .and_then(|v| v.get(0))
            .map(|o| o.get("onPremisesSyncEnabled").and_then(Value::as_bool) == Some(true));
    }
    if let Some(Ok(skus)) = batch.remove("skus") {
        observed.facts.licences = Some(wire::licences(&skus));
    }
}

fn group_info(g: &Value) -> Option<GroupInfo> {
    Some(GroupInfo {
        id: g.get("id")?.as_str()?.to_lowercase(),
        display_name: g
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        security_enabled: g
            .get("securityEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn decode_groups(plan: &ReadPlan, batch: &mut Answers, observed: &mut ObservedTenant) {
    match batch.remove("group-id") {
        Some(Ok(g)) => {
            if let Some(info) = group_info(&g) {
                observed.groups_by_id.insert(info.id.clone(), info);
            }
        }
        // Not found: the planner says the group does not exist.
        Some(Err(e)) if e.is_not_found() => {}
        Some(Err(e)) => observed.group_lookup_error = Some(e.detail()),
        None => {}
    }
    match (batch.remove("group-name"), &plan.group_name) {
        (Some(Ok(list)), Some(name)) => {
            let found = list
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            observed
                .groups_by_name
                .insert(name.clone(), found.filter_map(group_info).collect());
        }
        (Some(Err(e)), _) => observed.group_lookup_error = Some(e.detail()),
        _ => {}
    }
}

/// Each section is decoded on its own, so one unexpected value costs only
/// that section; each is decoded once, straight into the observed settings.
fn decode_sections(surfaces: Vec<Surface>, observed: &mut ObservedTenant) {
    for (api, result) in surfaces {
        let object = match result {
            Ok(object) => object,
            Err(e) => {
                observed.unreadable.push(Unreadable {
                    api,
                    failure: e.read_failure(),
                    reason: e.detail(),
                });
                continue;
            }
        };
        let section = wire::observe(api, &object);
        let single = Value::Object(serde_json::Map::from_iter([(
            api.section().to_string(),
            section,
        )]));
        match serde_json::from_value::<Settings>(single) {
            Ok(decoded) => {
                observed.digests.insert(api, wire::digest(&object));
                if super::concurrent::full_object(api) {
                    observed.objects.insert(api, object);
                }
                take_section(&mut observed.settings, decoded, api);
            }
            Err(e) => observed.unreadable.push(Unreadable {
                api,
                failure: ReadFailure::UnexpectedForm,
                reason: format!("the live value has an unexpected form: {e}"),
            }),
        }
    }
}

impl HttpProvider {
    /// Reads what the tenant's desired settings need: the `$batch` and the
    /// portal surfaces at the same time.
    pub(crate) async fn read_tenant(&self, tenant: &Tenant) -> ObservedTenant {
        let plan = ReadPlan::for_settings(&tenant.settings);
        let conn = match self.conn(tenant, Api::GraphAuthorizationPolicy) {
            Ok(c) => c,
            Err(e) => return unreadable(&plan, &e),
        };
        let answers = self.read_answers(tenant, conn, &plan).await;
        decode(&plan, answers)
    }
}

impl HttpProvider {
    /// Sends `plan`'s requests: the `$batch` and the portal surfaces at the
    /// same time, each cut at the tenant's deadline (what answered in time
    /// is kept; what did not is unavailable with the deadline as reason).
    async fn read_answers(
        &self,
        tenant: &Tenant,
        conn: &super::Connection,
        plan: &ReadPlan,
    ) -> ReadAnswers {
        let limit = self.options.tenant_deadline;
        let deadline = tokio::time::Instant::now() + limit;
        let cut = |api: Api| {
            tracing::warn!(tenant = %tenant.name, surface = %api, deadline_s = limit.as_secs_f64(), "no answer within the tenant deadline");
            ProviderError::Unavailable {
                api,
                reason: pacing::deadline_reason(limit),
            }
        };
        let graph = async {
            match tokio::time::timeout_at(deadline, self.graph_batch(conn, &plan.batch)).await {
                Ok(answers) => answers,
                Err(_) => plan
                    .batch
                    .iter()
                    .map(|r| (r.id.clone(), Err(cut(r.api))))
                    .collect(),
            }
        };
        let portal_read = |api: Api| async move {
            let answer = tokio::time::timeout_at(deadline, self.portal_get(conn, api))
                .await
                .unwrap_or_else(|_| Err(cut(api)));
            (api, answer)
        };
        let (batch, portal) = pacing::with_deadline(deadline, async {
            tokio::join!(
                graph,
                futures_util::future::join_all(plan.portal.iter().map(|&api| portal_read(api)))
            )
        })
        .await;
        ReadAnswers { batch, portal }
    }

    /// Reads every surface in `apis`, whatever the tenant's desired settings
    /// manage (for `export`; `plan` reads with [`Provider::read`]). A surface
    /// that cannot be read is listed in `unreadable`, never guessed.
    ///
    /// [`Provider::read`]: crate::Provider::read
    pub async fn read_surfaces(&self, tenant: &Tenant, apis: &BTreeSet<Api>) -> ObservedTenant {
        let plan = ReadPlan::for_surfaces(apis);
        let conn = match self.conn(tenant, Api::GraphAuthorizationPolicy) {
            Ok(c) => c,
            Err(e) => return unreadable(&plan, &e),
        };
        let answers = self.read_answers(tenant, conn, &plan).await;
        decode(&plan, answers)
    }

    /// Looks up groups by object id and by display name, in one `$batch`
    /// (split at Graph's limit).
    pub async fn lookup_groups(
        &self,
        tenant: &Tenant,
        ids: &[String],
        names: &[String],
    ) -> GroupLookup {
        let requests = group_requests(ids, names);
        if requests.is_empty() {
            return GroupLookup::default();
        }
        let conn = match self.conn(tenant, Api::PortalPasswordReset) {
            Ok(c) => c,
            Err(e) => {
                let mut out = GroupLookup::default();
                for key in ids.iter().chain(names) {
                    out.failed.insert(key.clone(), e.detail());
                }
                return out;
            }
        };
        let answers = self.graph_batch(conn, &requests).await;
        decode_group_lookup(ids, names, answers)
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
