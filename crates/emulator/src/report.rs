//! The authentication-methods registration report (docs/api-surfaces.md §7a):
//! `GET /{version}/reports/authenticationMethods/userRegistrationDetails`
//! (paged, `$filter` with `eq` joined by `and`, `$top`, `$select`) and
//! `…/userRegistrationDetails/{id}`.
//!
//! The users are generated, not stored: a deterministic population per
//! tenant (state-file `population: {users, seed}`), where user *i* depends
//! only on the seed and *i*. The SSPR columns are computed on every request
//! from the tenant's *current* portal policy and `authorizationPolicy`, so a
//! policy write shows up in the next report.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::defaults::{self, AAD_PREMIUM_P2_PLAN, AAD_PREMIUM_PLAN, GROUPS};
use crate::faults::SplitMix64;
use crate::quirks;
use crate::server::Call;
use crate::state::Tenant;
use crate::wire::{ApiError, Clock, Resp, odata_context};

/// Page size without `$top`.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;

/// Largest accepted `$top`.
pub(crate) const MAX_PAGE_SIZE: usize = 999;

const ENTITY: &str = "microsoft.graph.userRegistrationDetails";
const PATH: &str = "reports/authenticationMethods/userRegistrationDetails";

/// Ids of the seeded groups a generated user can belong to, with the share
/// of users in each: SSPR Pilot 5%, SSPR Users 40%, All Staff 100%,
/// Helpdesk Admins 1%.
const MEMBERSHIP_RATES: [(&str, f64); 4] = [
    (GROUPS[0].id, 0.05),
    (GROUPS[1].id, 0.40),
    (GROUPS[2].id, 1.0),
    (GROUPS[3].id, 0.01),
];

const FIRST_NAMES: [&str; 16] = [
    "Adele",
    "Alex",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
];
const LAST_NAMES: [&str; 16] = [
    "Vance",
    "Wilber",
    "Siciliani",
    "Archie",
    "Mueller",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
];

/// One generated user, before the policy-dependent columns.
#[derive(Debug, Clone)]
struct User {
    id: String,
    upn: String,
    display_name: String,
    is_admin: bool,
    /// In `methodsRegistered` order.
    methods: Vec<&'static str>,
    groups: Vec<&'static str>,
    last_updated: Clock,
}

/// The methods a user can register, in the order `methodsRegistered` lists them.
const METHOD_ORDER: [&str; 5] = [
    "email",
    "mobilePhone",
    "microsoftAuthenticatorPush",
    "softwareOneTimePasscode",
    "microsoftAuthenticatorPasswordless",
];

/// A GUID-shaped (version 4) id from two random words.
pub(crate) fn guid(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// FNV-1a, to derive a default seed from the tenant id.
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// User number `index` (1-based) of the population with `seed`.
fn generate(seed: u64, index: u32, domain: &str, width: usize) -> User {
    let mut rng = SplitMix64::new(Some(
        seed ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    ));
    let id = guid(rng.next_u64(), rng.next_u64());
    let first = FIRST_NAMES[rng.below(FIRST_NAMES.len() as u64) as usize];
    let last = LAST_NAMES[rng.below(LAST_NAMES.len() as u64) as usize];
    let is_admin = rng.chance(0.01);
    // ~10% none; otherwise a primary method (Authenticator 2/3, phone 2/9,
    // email 1/9) plus extras, for overall shares of about 60% Authenticator
    // (push + code), 30% mobile phone and 25% email.
    let mut has = [false; 5];
    if !rng.chance(0.10) {
        let v = rng.unit();
        let primary = if v < 0.667 {
            2
        } else if v < 0.889 {
            1
        } else {
            0
        };
        has[primary] = true;
        if primary != 1 && rng.chance(0.143) {
            has[1] = true;
        }
        if primary != 0 && rng.chance(0.1875) {
            has[0] = true;
        }
        if has[2] {
            has[3] = true;
            has[4] = rng.chance(0.10);
        }
    }
    let methods = METHOD_ORDER
        .iter()
        .zip(has)
        .filter_map(|(m, h)| h.then_some(*m))
        .collect();
    let groups = MEMBERSHIP_RATES
        .iter()
        .filter(|(_, rate)| rng.chance(*rate))
        .map(|(id, _)| *id)
        .collect();
    let year = 365 * 86_400;
    let last_updated = Clock {
        secs: 1_705_309_200 + rng.below(year) as i64,
        nanos: (rng.below(10_000_000) * 100) as u32,
    };
    User {
        id,
        upn: format!("user{index:0width$}@{domain}"),
        display_name: format!("{first} {last}"),
        is_admin,
        methods,
        groups,
        last_updated,
    }
}

/// What the SSPR columns depend on, read once per request.
struct Policy {
    enablement: i64,
    selected_group: Option<String>,
    required: usize,
    email: bool,
    mobile_phone: bool,
    authenticator: bool,
    admins_allowed: bool,
    system_preferred: bool,
}

impl Policy {
    fn of(t: &Tenant) -> Self {
        let p = &t.password_reset_policies;
        let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
        Policy {
            enablement: p.get("enablementType").and_then(Value::as_i64).unwrap_or(0),
            selected_group: p
                .get("passwordResetEnabledGroupIds")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase),
            required: p
                .get("numberOfAuthenticationMethodsRequired")
                .and_then(Value::as_u64)
                .unwrap_or(1) as usize,
            email: flag("emailOptionEnabled"),
            mobile_phone: flag("mobilePhoneOptionEnabled"),
            authenticator: flag("mobileAppNotificationEnabled") || flag("mobileAppCodeEnabled"),
            admins_allowed: t
                .authorization_policy
                .get("allowedToUseSSPR")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            system_preferred: t
                .authentication_methods_policy
                .get("systemCredentialPreferences")
                .and_then(|s| s.get("state"))
                .and_then(Value::as_str)
                .is_none_or(|s| s != "disabled"),
        }
    }

    /// The report row of `u` under this policy: every column, in order.
    fn row(&self, u: &User) -> Value {
        project(&self.facts(u), None)
    }

    /// What `u`'s policy-dependent columns are computed from.
    fn facts<'u>(&self, u: &'u User) -> Facts<'u> {
        let has = |m: &str| u.methods.contains(&m);
        let authenticator = has("microsoftAuthenticatorPush") || has("softwareOneTimePasscode");
        // SSPR methods the policy offers, the Authenticator app counting once.
        let sspr_methods = usize::from(self.email && has("email"))
            + usize::from(self.mobile_phone && has("mobilePhone"))
            + usize::from(self.authenticator && authenticator);
        let registered = sspr_methods >= self.required.max(1);
        let enabled = if u.is_admin {
            self.admins_allowed
        } else {
            match self.enablement {
                2 => true,
                1 => self
                    .selected_group
                    .as_deref()
                    .is_some_and(|g| u.groups.contains(&g)),
                _ => false,
            }
        };
        Facts {
            user: u,
            registered,
            enabled,
            authenticator,
            mobile_phone: has("mobilePhone"),
            system_preferred: self.system_preferred,
        }
    }
}

/// A report column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Id,
    UserPrincipalName,
    UserDisplayName,
    UserType,
    IsAdmin,
    IsSsprRegistered,
    IsSsprEnabled,
    IsSsprCapable,
    IsMfaRegistered,
    IsMfaCapable,
    IsPasswordlessCapable,
    IsSystemPreferredAuthenticationMethodEnabled,
    MethodsRegistered,
    DefaultMfaMethod,
    SystemPreferredAuthenticationMethods,
    UserPreferredMethodForSecondaryAuthentication,
    LastUpdatedDateTime,
}

/// The columns of a row, in the order it lists them, with their names.
const COLUMNS: [(&str, Column); 17] = [
    ("id", Column::Id),
    ("userPrincipalName", Column::UserPrincipalName),
    ("userDisplayName", Column::UserDisplayName),
    ("userType", Column::UserType),
    ("isAdmin", Column::IsAdmin),
    ("isSsprRegistered", Column::IsSsprRegistered),
    ("isSsprEnabled", Column::IsSsprEnabled),
    ("isSsprCapable", Column::IsSsprCapable),
    ("isMfaRegistered", Column::IsMfaRegistered),
    ("isMfaCapable", Column::IsMfaCapable),
    ("isPasswordlessCapable", Column::IsPasswordlessCapable),
    (
        "isSystemPreferredAuthenticationMethodEnabled",
        Column::IsSystemPreferredAuthenticationMethodEnabled,
    ),
    ("methodsRegistered", Column::MethodsRegistered),
    ("defaultMfaMethod", Column::DefaultMfaMethod),
    (
        "systemPreferredAuthenticationMethods",
        Column::SystemPreferredAuthenticationMethods,
    ),
    (
        "userPreferredMethodForSecondaryAuthentication",
        Column::UserPreferredMethodForSecondaryAuthentication,
    ),
    ("lastUpdatedDateTime", Column::LastUpdatedDateTime),
];

/// The column named `name` (case-insensitively), with its canonical name.
fn column(name: &str) -> Option<(&'static str, Column)> {
    COLUMNS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .copied()
}

/// One user's row under one policy, computed once; each column is rendered
/// only when asked for (a page of 999 rows selecting six columns renders
/// those six, not all seventeen).
struct Facts<'u> {
    user: &'u User,
    registered: bool,
    enabled: bool,
    authenticator: bool,
    mobile_phone: bool,
    system_preferred: bool,
}

impl Facts<'_> {
    /// The default MFA method, the preferred secondary method and the
    /// system-preferred methods.
    fn preferred(&self) -> (&'static str, &'static str, Vec<&'static str>) {
        if self.authenticator {
            ("microsoftAuthenticatorPush", "push", vec!["push"])
        } else if self.mobile_phone {
            ("mobilePhone", "sms", vec!["sms"])
        } else {
            ("none", "none", Vec::new())
        }
    }

    fn cell(&self, column: Column) -> Value {
        let u = self.user;
        let mfa = self.authenticator || self.mobile_phone;
        match column {
            Column::Id => json!(u.id),
            Column::UserPrincipalName => json!(u.upn),
            Column::UserDisplayName => json!(u.display_name),
            Column::UserType => json!("member"),
            Column::IsAdmin => json!(u.is_admin),
            Column::IsSsprRegistered => json!(self.registered),
            Column::IsSsprEnabled => json!(self.enabled),
            Column::IsSsprCapable => json!(self.registered && self.enabled),
            Column::IsMfaRegistered | Column::IsMfaCapable => json!(mfa),
            Column::IsPasswordlessCapable => {
                json!(u.methods.contains(&"microsoftAuthenticatorPasswordless"))
            }
            Column::IsSystemPreferredAuthenticationMethodEnabled => json!(self.system_preferred),
            Column::MethodsRegistered => json!(u.methods),
            Column::DefaultMfaMethod => json!(self.preferred().0),
            Column::SystemPreferredAuthenticationMethods => json!(self.preferred().2),
            Column::UserPreferredMethodForSecondaryAuthentication => json!(self.preferred().1),
            Column::LastUpdatedDateTime => json!(u.last_updated.rfc3339_7()),
        }
    }
}

/// The tenant's initial domain (the UPN suffix of generated users).
pub(crate) fn domain(tid: &str, t: &Tenant) -> String {
    t.organization
        .get("verifiedDomains")
        .and_then(Value::as_array)
        .and_then(|ds| {
            ds.iter()
                .find(|d| d.get("isInitial").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| defaults::initial_domain(tid))
}

/// Whether the tenant has an Entra ID P1 or P2 service plan enabled.
fn has_premium(t: &Tenant) -> bool {
    t.subscribed_skus.iter().any(|sku| {
        sku.get("capabilityStatus").and_then(Value::as_str) == Some("Enabled")
            && sku
                .get("servicePlans")
                .and_then(Value::as_array)
                .is_some_and(|plans| {
                    plans.iter().any(|p| {
                        p.get("servicePlanId")
                            .and_then(Value::as_str)
                            .is_some_and(|id| id == AAD_PREMIUM_PLAN || id == AAD_PREMIUM_P2_PLAN)
                    })
                })
    })
}

/// Everything one request needs from the tenant.
struct Population {
    seed: u64,
    users: u32,
    domain: String,
    policy: Policy,
}

impl Population {
    fn users(&self) -> impl Iterator<Item = User> + '_ {
        let width = self.users.to_string().len().max(4);
        (1..=self.users).map(move |i| generate(self.seed, i, &self.domain, width))
    }
}

impl Population {
    /// The generated population of a tenant, under its current policy.
    fn of(tid: &str, t: &Tenant) -> Population {
        Population {
            seed: t.population.seed.unwrap_or_else(|| fnv1a(tid)),
            users: t.population.users,
            domain: domain(tid, t),
            policy: Policy::of(t),
        }
    }
}

fn load(call: &Call<'_>) -> Result<Population, ApiError> {
    let tid = call.p.tid.clone();
    call.ctx.read_tenant(&tid, |t| {
        if !has_premium(t) {
            let (code, message) = quirks::REPORT_WITHOUT_PREMIUM;
            return Err(ApiError::new(403, code, message));
        }
        Ok(Population::of(&tid, t))
    })
}

/// One `prop eq literal` clause.
#[derive(Debug, PartialEq)]
struct Clause {
    prop: String,
    value: Value,
}

fn bad_filter(filter: &str) -> ApiError {
    ApiError::new(
        400,
        quirks::UNSUPPORTED_FILTER_CODE,
        format!(
            "Invalid filter clause: the emulator supports 'property eq value' joined with 'and', got: {filter}"
        ),
    )
}

/// Parses `a eq true and b eq 'x'` (case-insensitive keywords).
fn parse_filter(filter: &str) -> Result<Vec<Clause>, ApiError> {
    let words: Vec<&str> = filter.split_whitespace().collect();
    let mut clauses = Vec::new();
    for chunk in words.split(|w| w.eq_ignore_ascii_case("and")) {
        let [prop, op, literal] = chunk else {
            return Err(bad_filter(filter));
        };
        if !op.eq_ignore_ascii_case("eq") {
            return Err(bad_filter(filter));
        }
        let value = if literal.eq_ignore_ascii_case("true") {
            Value::Bool(true)
        } else if literal.eq_ignore_ascii_case("false") {
            Value::Bool(false)
        } else if let Some(text) = literal
            .strip_prefix('\'')
            .and_then(|l| l.strip_suffix('\''))
        {
            Value::String(text.replace("''", "'"))
        } else {
            return Err(bad_filter(filter));
        };
        clauses.push(Clause {
            prop: (*prop).to_string(),
            value,
        });
    }
    if clauses.is_empty() {
        return Err(bad_filter(filter));
    }
    Ok(clauses)
}

fn unknown_property(name: &str) -> ApiError {
    ApiError::request_bad_request(format!(
        "Could not find a property named '{name}' on type '{ENTITY}'."
    ))
}

/// Resolves clause property names to the row's columns.
fn resolve(clauses: Vec<Clause>) -> Result<Vec<(Column, Value)>, ApiError> {
    clauses
        .into_iter()
        .map(|c| {
            let (_, col) = column(&c.prop).ok_or_else(|| unknown_property(&c.prop))?;
            Ok((col, c.value))
        })
        .collect()
}

fn matches(row: &Facts<'_>, clauses: &[(Column, Value)]) -> bool {
    clauses
        .iter()
        .all(|(col, want)| match (row.cell(*col), want) {
            (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == *b,
        })
}

/// The row with the `select`ed columns (in that order), or every column.
fn project(row: &Facts<'_>, select: Option<&[(&'static str, Column)]>) -> Value {
    Value::Object(
        select
            .unwrap_or(&COLUMNS)
            .iter()
            .map(|(name, col)| ((*name).to_string(), row.cell(*col)))
            .collect(),
    )
}

/// The `$select`ed columns, in the order given, with their canonical names.
fn parse_select(select: Option<&str>) -> Result<Option<Vec<(&'static str, Column)>>, ApiError> {
    let Some(select) = select else {
        return Ok(None);
    };
    select
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|raw| column(raw).ok_or_else(|| unknown_property(raw)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub(crate) fn skiptoken(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("emulator-offset:{offset}"))
}

fn parse_skiptoken(token: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?).ok()?;
    text.strip_prefix("emulator-offset:")?.parse().ok()
}

/// Encodes a query value for a next link.
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'\'' | b',' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page asked for: `$top` (default 100, at most 999) and the offset
/// encoded in `$skiptoken`.
pub(crate) fn page_window(req: &crate::wire::Req) -> Result<(usize, usize), ApiError> {
    let top = match req.query_param("$top") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE_SIZE} inclusive."
                )));
            }
        },
    };
    let offset = match req.query_param("$skiptoken") {
        None => 0,
        Some(t) => parse_skiptoken(t)
            .ok_or_else(|| ApiError::bad_request("The $skiptoken is not valid."))?,
    };
    Ok((top, offset))
}

/// `GET …/userRegistrationDetails`.
pub(crate) fn list(call: &Call<'_>) -> Result<Resp, ApiError> {
    let req = call.req;
    let (top, offset) = page_window(req)?;
    let population = load(call)?;
    let filter = req.query_param("$filter");
    let clauses = match filter {
        Some(f) => resolve(parse_filter(f)?)?,
        None => Vec::new(),
    };
    let select = parse_select(req.query_param("$select"))?;

    let mut page = Vec::with_capacity(top);
    let mut more = false;
    let mut seen = 0usize;
    for user in population.users() {
        let row = population.policy.facts(&user);
        if !matches(&row, &clauses) {
            continue;
        }
        if seen >= offset {
            if page.len() == top {
                more = true;
                break;
            }
            page.push(project(&row, select.as_deref()));
        }
        seen += 1;
    }

    let mut body = Map::new();
    let context = match &select {
        Some(props) => {
            let names: Vec<&str> = props.iter().map(|(name, _)| *name).collect();
            format!("{PATH}({})", names.join(","))
        }
        None => PATH.to_string(),
    };
    body.insert(
        "@odata.context".into(),
        json!(odata_context(call.version, &context)),
    );
    if more {
        let base = req
            .header("host")
            .map(|h| format!("http://{h}"))
            .unwrap_or_else(|| "https://graph.microsoft.com".to_string());
        let mut link = format!("{base}/{}/{PATH}?", call.version);
        if let Some(f) = filter {
            link.push_str(&format!("$filter={}&", encode(f)));
        }
        if let Some(s) = req.query_param("$select") {
            link.push_str(&format!("$select={}&", encode(s)));
        }
        if req.query_param("$top").is_some() {
            link.push_str(&format!("$top={top}&"));
        }
        link.push_str(&format!("$skiptoken={}", skiptoken(offset + top)));
        body.insert("@odata.nextLink".into(), json!(link));
    }
    body.insert("value".into(), Value::Array(page));
    Ok(Resp::json(200, Value::Object(body)))
}

/// `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]`: the generated
/// users who belong to a seeded group, paged like the report (`$top`,
/// `$skiptoken`, `@odata.nextLink`). Only `id` and `userPrincipalName` are
/// served; groups without generated members answer an empty list.
pub(crate) fn transitive_members(call: &Call<'_>, group_id: &str) -> Result<Resp, ApiError> {
    let req = call.req;
    let tid = call.p.tid.clone();
    let (population, known) = call.ctx.read_tenant(&tid, |t| {
        let known = t.groups.iter().any(|g| {
            g.get("id")
                .and_then(Value::as_str)
                .is_some_and(|i| i.eq_ignore_ascii_case(group_id))
        });
        Ok((Population::of(&tid, t), known))
    })?;
    if !known {
        return Err(ApiError::resource_not_found(group_id));
    }
    let (top, offset) = page_window(req)?;
    let group_id = group_id.to_ascii_lowercase();
    let members: Vec<User> = population
        .users()
        .filter(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(&group_id)))
        .collect();
    let page: Vec<Value> = members
        .iter()
        .skip(offset)
        .take(top)
        .map(|u| json!({"@odata.type": "#microsoft.graph.user", "id": u.id, "userPrincipalName": u.upn}))
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(odata_context(call.version, "directoryObjects")),
    );
    if offset + top < members.len() {
        let base = req
            .header("host")
            .map(|h| format!("http://{h}"))
            .unwrap_or_else(|| "https://graph.microsoft.com".to_string());
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{base}/{}/groups/{group_id}/transitiveMembers/microsoft.graph.user?$top={top}&$skiptoken={}",
                call.version,
                skiptoken(offset + top)
            )),
        );
    }
    body.insert("value".into(), Value::Array(page));
    Ok(Resp::json(200, Value::Object(body)))
}

/// Which registration summary a `reports/authenticationMethods/…` segment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Summary {
    /// `usersRegisteredByFeature`.
    Feature,
    /// `usersRegisteredByMethod`.
    Method,
}

/// The summary a (lower-case) path segment names, with or without its
/// parameters: `usersregisteredbyfeature(includedusertypes='all',…)`.
pub(crate) fn summary_kind(segment: &str) -> Option<Summary> {
    match segment.split('(').next()? {
        "usersregisteredbyfeature" => Some(Summary::Feature),
        "usersregisteredbymethod" => Some(Summary::Method),
        _ => None,
    }
}

/// `includedUserTypes` and `includedUserRoles` of a function segment
/// (default `all`), lower-cased.
fn summary_params(segment: &str) -> Result<(String, String), ApiError> {
    let decoded = crate::wire::percent_decode(segment, false).to_ascii_lowercase();
    let mut types = "all".to_string();
    let mut roles = "all".to_string();
    if let Some(args) = decoded
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
    {
        for arg in args.split(',').filter(|a| !a.trim().is_empty()) {
            let (name, value) = arg
                .split_once('=')
                .ok_or_else(|| ApiError::bad_request(format!("Bad function parameter '{arg}'.")))?;
            let value = value.trim().trim_matches('\'').to_string();
            match name.trim() {
                "includedusertypes" if ["all", "member", "guest"].contains(&value.as_str()) => {
                    types = value
                }
                "includeduserroles"
                    if ["all", "privilegedadmin", "admin", "user"].contains(&value.as_str()) =>
                {
                    roles = value
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Bad function parameter '{arg}'."
                    )));
                }
            }
        }
    }
    Ok((types, roles))
}

/// `GET …/usersRegisteredByFeature[(…)]` and `…/usersRegisteredByMethod[(…)]`:
/// counts over the generated population (every generated user is a member;
/// `admin` and `privilegedAdmin` both mean `isAdmin`). Delegated tokens only.
pub(crate) fn summary(call: &Call<'_>, segment: &str) -> Result<Resp, ApiError> {
    if matches!(call.p.idtyp, crate::token::IdType::App) {
        let (code, message) = quirks::SUMMARY_WITH_APP_TOKEN;
        return Err(ApiError::new(403, code, message));
    }
    let kind = summary_kind(&segment.to_ascii_lowercase())
        .ok_or_else(|| ApiError::resource_not_found(segment))?;
    let (types, roles) = summary_params(segment)?;
    let population = load(call)?;
    let users: Vec<User> = population
        .users()
        .filter(|_| types != "guest")
        .filter(|u| match roles.as_str() {
            "admin" | "privilegedadmin" => u.is_admin,
            "user" => !u.is_admin,
            _ => true,
        })
        .collect();
    let rows: Vec<Value> = users.iter().map(|u| population.policy.row(u)).collect();
    let total = rows.len();
    let (user_types, user_roles) = (
        if types == "all" {
            "all"
        } else if types == "member" {
            "member"
        } else {
            "guest"
        },
        match roles.as_str() {
            "privilegedadmin" => "privilegedAdmin",
            "admin" => "admin",
            "user" => "user",
            _ => "all",
        },
    );
    let body = match kind {
        Summary::Feature => {
            let count = |col: &str| rows.iter().filter(|r| r[col] == json!(true)).count();
            json!({
                "@odata.context": odata_context(call.version, "microsoft.graph.userRegistrationFeatureSummary"),
                "totalUserCount": total,
                "userTypes": user_types,
                "userRoles": user_roles,
                "userRegistrationFeatureCounts": [
                    {"feature": "ssprRegistered", "userCount": count("isSsprRegistered")},
                    {"feature": "ssprEnabled", "userCount": count("isSsprEnabled")},
                    {"feature": "ssprCapable", "userCount": count("isSsprCapable")},
                    {"feature": "passwordlessCapable", "userCount": count("isPasswordlessCapable")},
                    {"feature": "mfaCapable", "userCount": count("isMfaCapable")},
                ]
            })
        }
        Summary::Method => {
            let counts: Vec<Value> = METHOD_ORDER
                .iter()
                .map(|m| {
                    json!({
                        "authenticationMethod": m,
                        "userCount": users.iter().filter(|u| u.methods.contains(m)).count()
                    })
                })
                .collect();
            json!({
                "@odata.context": odata_context(call.version, "microsoft.graph.userRegistrationMethodSummary"),
                "totalUserCount": total,
                "userTypes": user_types,
                "userRoles": user_roles,
                "userRegistrationMethodCounts": counts
            })
        }
    };
    Ok(Resp::json(200, body))
}

/// `GET …/userRegistrationDetails/{id}`.
pub(crate) fn get(call: &Call<'_>, id: &str) -> Result<Resp, ApiError> {
    let population = load(call)?;
    let user = population
        .users()
        .find(|u| u.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::resource_not_found(id))?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(odata_context(call.version, &format!("{PATH}/$entity"))),
    );
    if let Value::Object(row) = population.policy.row(&user) {
        out.extend(row);
    }
    Ok(Resp::json(200, Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_is_deterministic_and_has_the_documented_mix() {
        let users: Vec<User> = (1..=4000)
            .map(|i| generate(42, i, "d.example", 4))
            .collect();
        assert_eq!(users[0].upn, "user0001@d.example");
        assert_eq!(generate(42, 7, "d.example", 4).id, users[6].id);
        let share = |f: &dyn Fn(&User) -> bool| {
            users.iter().filter(|u| f(u)).count() as f64 / users.len() as f64
        };
        let near = |got: f64, want: f64| (got - want).abs() < 0.03;
        assert!(near(share(&|u| u.methods.is_empty()), 0.10));
        assert!(near(
            share(&|u| u.methods.contains(&"microsoftAuthenticatorPush")),
            0.60
        ));
        assert!(near(share(&|u| u.methods.contains(&"mobilePhone")), 0.30));
        assert!(near(share(&|u| u.methods.contains(&"email")), 0.25));
        assert!(near(share(&|u| u.is_admin), 0.01));
        assert!(near(share(&|u| u.groups.contains(&GROUPS[1].id)), 0.40));
        assert!(users.iter().all(|u| u.groups.contains(&GROUPS[2].id)));
        assert!(users.iter().all(|u| uuid::Uuid::parse_str(&u.id).is_ok()));
    }

    #[test]
    fn filters_parse_and_skiptokens_round_trip() {
        let clauses = parse_filter("isSsprRegistered eq false AND userType eq 'member'")
            .expect("two clauses");
        assert_eq!(clauses.len(), 2);
        assert_eq!(clauses[0].value, Value::Bool(false));
        assert_eq!(clauses[1].value, json!("member"));
        assert!(parse_filter("isAdmin ne true").is_err());
        assert!(parse_filter("isAdmin eq true or isAdmin eq false").is_err());
        assert!(parse_filter("").is_err());
        assert_eq!(parse_skiptoken(&skiptoken(300)), Some(300));
        assert_eq!(parse_skiptoken("nope"), None);
    }

    #[test]
    fn summary_segments_and_parameters_parse() {
        assert_eq!(
            summary_kind("usersregisteredbyfeature"),
            Some(Summary::Feature)
        );
        assert_eq!(
            summary_kind(
                "usersregisteredbymethod(includedusertypes='all',includeduserroles='admin')"
            ),
            Some(Summary::Method)
        );
        assert_eq!(summary_kind("userregistrationdetails"), None);
        assert_eq!(
            summary_params("usersRegisteredByMethod(includedUserTypes='member',includedUserRoles='privilegedAdmin')").ok(),
            Some(("member".into(), "privilegedadmin".into()))
        );
        assert_eq!(
            summary_params("usersRegisteredByFeature").ok(),
            Some(("all".into(), "all".into()))
        );
        assert!(summary_params("usersRegisteredByFeature(includedUserTypes='robots')").is_err());
    }
}
