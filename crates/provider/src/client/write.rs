//! Writing a surface, sans-IO: each API's write rule is a pure function from
//! the change (the partial model section) and the live wire object(s) to the
//! exact requests to send; [`HttpProvider::write_surface`] reads what a rule
//! needs, applies it and sends the requests.
//!
//! The rules (docs/api-surfaces.md §1–§5):
//! - portal `PasswordResetPolicies`: one full-object PUT of the current object
//!   with the changes overlaid;
//! - portal `OnPremisesPasswordResetPolicies`: one PUT per flag, in order (a
//!   combined PUT is not picked up);
//! - Graph `authorizationPolicy`: one PATCH of only the changed field;
//! - Graph `authenticationMethodsPolicy`: a PATCH of the policy when
//!   policy-level fields change, and one PATCH per changed method
//!   configuration (each with its `@odata.type` first), sent at the same time;
//! - Graph `groupSettings` (Password Rule Settings): PATCH
//!   `/groupSettings/{id}` with all values when the object exists, else POST
//!   with `templateId` and all the template's values.
//!
//! The two full-object writes (the portal policy, the password rules) are
//! checked first against the read the plan was computed from
//! ([`super::concurrent`]): a managed setting that moved refuses the surface,
//! an unmanaged one is kept (the body is built from the pre-write read).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use ssprctl_model::{Api, Settings};

use super::concurrent::{self, ConcurrentChange};
use super::portal::portal_path;
use super::read::{find_password_rules, password_rule_values, template_path};
use super::tokens::Audience;
use super::{Connection, HttpProvider};
use crate::error::ProviderError;
use crate::wire::{self, WireError};

/// The service a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Microsoft Graph; the path is below `/v1.0`.
    Graph,
    /// The Entra portal API; the path is below its host.
    Portal,
}

/// One write request, exactly as it is sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Where it goes.
    pub service: Service,
    /// `PUT`, `PATCH` or `POST`.
    pub method: Method,
    /// The path (below `/v1.0` for Graph).
    pub path: String,
    /// The JSON body.
    pub body: Value,
}

/// How the requests of one write are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// One after another, stopping at the first failure.
    Sequential,
    /// All at once (separate objects); the first failure is reported.
    Concurrent,
}

/// The requests of one write.
#[derive(Clone, Debug, PartialEq)]
pub struct Writes {
    /// The requests, in order.
    pub requests: Vec<Request>,
    /// How they are sent.
    pub order: Order,
}

impl Writes {
    fn sequential(requests: Vec<Request>) -> Writes {
        Writes {
            requests,
            order: Order::Sequential,
        }
    }
}

/// What a write did besides sending its requests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Written {
    /// Unmanaged fields of a full-object surface that another writer changed
    /// between the read the plan was computed from and the pre-write read; the
    /// write kept them (its body was built from the newer read).
    pub concurrent: Vec<ConcurrentChange>,
    /// The object a full-object write was built from (the pre-write read; for
    /// the Password Rule Settings the flat `{name: value}` object), which the
    /// read-back compares with.
    pub built_from: Option<Value>,
}

/// The live Password Rule Settings: the setting object, or (when the tenant
/// has none) the template whose defaults are in force.
#[derive(Clone, Debug, PartialEq)]
pub enum PasswordRules {
    /// The tenant's setting object (`id`, `templateId`, `values`).
    Existing(Value),
    /// No setting object: the template (`values` with `defaultValue`s).
    Template(Value),
}

impl PasswordRules {
    /// The values in force, as a flat `{name: value}` object (what a read
    /// decodes and the write overlays).
    pub fn values(&self) -> Value {
        match self {
            PasswordRules::Existing(setting) => password_rule_values(setting),
            PasswordRules::Template(template) => wire::template_defaults(template),
        }
    }
}

/// A full-object write checked against the read its plan was computed from
/// (sans-IO): the requests `build` makes from the pre-write read `current`,
/// with the unmanaged fields that moved between `planned_from` and `current`
/// (kept: the body is built from `current`). A managed setting that moved is
/// [`ProviderError::Moved`] and nothing to send. `planned_from` `None`: no
/// check. `current` is the surface's object (the Password Rule Settings as
/// their flat values).
pub fn checked_full_object(
    api: Api,
    current: Value,
    planned_from: Option<&Value>,
    managed: &BTreeSet<String>,
    build: impl FnOnce() -> Result<Writes, WireError>,
) -> Result<(Writes, Written), ProviderError> {
    let concurrent = match planned_from {
        Some(base) => concurrent::check_before_write(api, base, &current, managed)
            .map_err(|moved| ProviderError::Moved { api, moved })?,
        None => Vec::new(),
    };
    let writes = build().map_err(|source| ProviderError::Unwritable { api, source })?;
    Ok((
        writes,
        Written {
            concurrent,
            built_from: Some(current),
        },
    ))
}

const AUTHORIZATION_POLICY: &str = "/policies/authorizationPolicy";
const METHODS_POLICY: &str = "/policies/authenticationMethodsPolicy";
const GROUP_SETTINGS: &str = "/groupSettings";

/// Portal `PasswordResetPolicies`: one PUT of `current` with `partial` overlaid.
pub fn portal_password_reset(partial: &Value, current: &Value) -> Result<Writes, WireError> {
    let api = Api::PortalPasswordReset;
    let mut body = current.clone();
    wire::overlay(api, partial, current, &mut body)?;
    Ok(Writes::sequential(vec![Request {
        service: Service::Portal,
        method: Method::PUT,
        path: portal_path(api, false),
        body,
    }]))
}

/// Portal `OnPremisesPasswordResetPolicies`: one PUT per flag in `partial`,
/// in the surface's field order.
pub fn portal_on_premises(partial: &Value, current: &Value) -> Result<Writes, WireError> {
    let api = Api::PortalOnPremises;
    let mut requests = Vec::new();
    for key in wire::model_fields(api) {
        let Some(value) = partial.get(key) else {
            continue;
        };
        let mut body = json!({});
        wire::overlay(api, &json!({ key: value }), current, &mut body)?;
        requests.push(Request {
            service: Service::Portal,
            method: Method::PUT,
            path: portal_path(api, false),
            body,
        });
    }
    Ok(Writes::sequential(requests))
}

/// Graph `authorizationPolicy`: one PATCH of only the changed field.
pub fn authorization_policy(partial: &Value) -> Result<Writes, WireError> {
    let mut body = json!({});
    wire::overlay(
        Api::GraphAuthorizationPolicy,
        partial,
        &Value::Null,
        &mut body,
    )?;
    Ok(Writes::sequential(vec![graph(
        Method::PATCH,
        AUTHORIZATION_POLICY,
        body,
    )]))
}

/// Graph `authenticationMethodsPolicy` (`current` is the live policy with
/// its method configurations): a PATCH of the policy if policy-level fields
/// change, and a PATCH per changed method configuration, all at once.
pub fn authentication_methods(partial: &Value, current: &Value) -> Result<Writes, WireError> {
    let mut requests = Vec::new();
    let mut body = json!({});
    if wire::overlay(Api::GraphAuthenticationMethods, partial, current, &mut body)? {
        requests.push(graph(Method::PATCH, METHODS_POLICY, body));
    }
    for (id, body) in wire::method_patches(partial, current)? {
        let path = format!("{METHODS_POLICY}/authenticationMethodConfigurations/{id}");
        requests.push(graph(Method::PATCH, &path, body));
    }
    Ok(Writes {
        requests,
        order: Order::Concurrent,
    })
}

/// Graph Password Rule Settings: the full set of values, overlaid with
/// `partial`; a PATCH of the existing object, else a POST creating it from
/// the template.
pub fn password_rule_settings(partial: &Value, live: &PasswordRules) -> Result<Writes, WireError> {
    let current = live.values();
    let mut flat = current.clone();
    wire::overlay(Api::GraphPasswordRuleSettings, partial, &current, &mut flat)?;
    let values = wire::setting_values_array(&flat);
    let existing_id = match live {
        PasswordRules::Existing(setting) => setting.get("id").and_then(Value::as_str),
        PasswordRules::Template(_) => None,
    };
    let request = match existing_id {
        // Update: always the full set of values.
        Some(id) => graph(
            Method::PATCH,
            &format!("{GROUP_SETTINGS}/{id}"),
            json!({ "values": values }),
        ),
        // Create: every template value must be present.
        None => graph(
            Method::POST,
            GROUP_SETTINGS,
            json!({ "templateId": wire::PASSWORD_RULE_TEMPLATE_ID, "values": values }),
        ),
    };
    Ok(Writes::sequential(vec![request]))
}

fn graph(method: Method, path: &str, body: Value) -> Request {
    Request {
        service: Service::Graph,
        method,
        path: path.to_string(),
        body,
    }
}

impl HttpProvider {
    /// Writes one surface: reads the live object(s) its rule needs, checks a
    /// full-object surface against `planned_from` (the object the plan was
    /// computed from; `None`: no check) and the managed settings of
    /// `desired`, applies the rule, and sends the requests.
    pub(crate) async fn write_surface(
        &self,
        conn: &Connection,
        api: Api,
        partial: &Value,
        desired: &Settings,
        planned_from: Option<&Value>,
    ) -> Result<Written, ProviderError> {
        // The pre-write read is cut at the tenant's deadline (nothing is
        // written then); the writes are not: a write in flight is never
        // dropped, and the read-back says what landed. Retries of both stop
        // once their wait would end past the deadline.
        let limit = self.options.tenant_deadline;
        let deadline = tokio::time::Instant::now() + limit;
        super::pacing::with_deadline(deadline, async {
            let prepared = self.prepare_writes(conn, api, partial, desired, planned_from);
            let (writes, written) =
                tokio::time::timeout_at(deadline, prepared)
                    .await
                    .map_err(|_| ProviderError::Unavailable {
                        api,
                        reason: format!(
                            "the read before the write: {}",
                            super::pacing::deadline_reason(limit)
                        ),
                    })??;
            self.send_writes(conn, api, writes).await?;
            Ok(written)
        })
        .await
    }

    /// The writes of `partial` to `api`, from the live object where the
    /// surface needs it (read now), checked against `planned_from`.
    async fn prepare_writes(
        &self,
        conn: &Connection,
        api: Api,
        partial: &Value,
        desired: &Settings,
        planned_from: Option<&Value>,
    ) -> Result<(Writes, Written), ProviderError> {
        let unwritable = |source| ProviderError::Unwritable { api, source };
        let plain = |writes: Result<Writes, WireError>| {
            writes.map(|w| (w, Written::default())).map_err(unwritable)
        };
        let managed = || concurrent::managed_paths(api, desired);
        Ok(match api {
            Api::PortalPasswordReset => {
                let current = self.portal_get(conn, api).await?;
                let build = || portal_password_reset(partial, &current);
                checked_full_object(api, current.clone(), planned_from, &managed(), build)?
            }
            Api::PortalOnPremises => {
                let current = self.portal_get(conn, api).await?;
                plain(portal_on_premises(partial, &current))?
            }
            Api::GraphAuthorizationPolicy => plain(authorization_policy(partial))?,
            Api::GraphAuthenticationMethods => {
                let current = self.graph_get(conn, api, METHODS_POLICY).await?;
                plain(authentication_methods(partial, &current))?
            }
            Api::GraphPasswordRuleSettings => {
                let live = self.live_password_rules(conn, api).await?;
                let build = || password_rule_settings(partial, &live);
                checked_full_object(api, live.values(), planned_from, &managed(), build)?
            }
        })
    }

    /// The live Password Rule Settings object, or the template when there is
    /// none (read only then).
    async fn live_password_rules(
        &self,
        conn: &Connection,
        api: Api,
    ) -> Result<PasswordRules, ProviderError> {
        let list = self.graph_get(conn, api, GROUP_SETTINGS).await?;
        Ok(match find_password_rules(&list) {
            Some(setting) => PasswordRules::Existing(setting.clone()),
            None => PasswordRules::Template(self.graph_get(conn, api, &template_path()).await?),
        })
    }

    /// Sends a write's requests in its order.
    async fn send_writes(
        &self,
        conn: &Connection,
        api: Api,
        writes: Writes,
    ) -> Result<(), ProviderError> {
        match writes.order {
            Order::Sequential => {
                for request in &writes.requests {
                    self.send_write(conn, api, request).await?;
                }
                Ok(())
            }
            Order::Concurrent => {
                let sent = futures_util::future::join_all(
                    writes
                        .requests
                        .iter()
                        .map(|r| self.send_write(conn, api, r)),
                )
                .await;
                sent.into_iter().collect()
            }
        }
    }

    async fn send_write(
        &self,
        conn: &Connection,
        api: Api,
        request: &Request,
    ) -> Result<(), ProviderError> {
        let (audience, url) = match request.service {
            Service::Graph => (
                Audience::Graph,
                format!("{}/v1.0{}", conn.hosts.graph, request.path),
            ),
            Service::Portal => (
                Audience::Portal,
                format!("{}{}", conn.hosts.portal, request.path),
            ),
        };
        tracing::info!(api = %api, method = %request.method, path = %request.path, "write");
        let method = request.method.clone();
        self.authed(conn, audience, api, method, &url, Some(&request.body))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
