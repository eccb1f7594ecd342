//! Reading a desired-state file: YAML with positions, schema checks, merging and
//! semantic validation. Every problem names `file:line:column` and the field
//! path; all problems of a file are reported in one run.
//!
//! This is the only module that touches the YAML crate (serde-saphyr), so a
//! change of YAML library stays in one file.

use std::path::Path;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use crate::config::{ConfigFile, Tenant, deep_merge};
use crate::settings::Settings;
use crate::validate;

/// A desired-state file that passed every check.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file as written.
    pub file: ConfigFile,
    /// Each tenant with its effective settings, in file order.
    pub tenants: Vec<Tenant>,
    /// SHA-256 of the file text (hex): saved plans record it.
    pub digest: String,
}

/// One problem in a desired-state file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// The field path, e.g. `tenants[0].settings.selfServicePasswordReset.methodsRequired`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something specific to say.
    pub help: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Why a desired-state file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path as given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file has problems; every one is listed.
    #[error("{} has {} problem{}", .file, .problems.len(), if .problems.len() == 1 { "" } else { "s" })]
    Invalid {
        /// The file as the user named it.
        file: String,
        /// All problems, sorted by position.
        problems: Vec<Problem>,
    },
}

/// Reads and checks a desired-state file.
pub fn load_file(path: &Path) -> Result<Config, LoadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: name.clone(),
        source,
    })?;
    load_str(&name, &text)
}

/// Checks a desired-state document; `file` names it in problems.
pub fn load_str(file: &str, text: &str) -> Result<Config, LoadError> {
    let invalid = |problems: Vec<Problem>| LoadError::Invalid {
        file: file.to_string(),
        problems,
    };
    let options = serde_saphyr::options! { strict_booleans: true };
    let tree: Spanned<Node> = match serde_saphyr::from_str_with_options(text, options.clone()) {
        Ok(tree) => tree,
        Err(err) => return Err(invalid(vec![syntax_problem(file, &err)])),
    };
    let value: Value = match serde_saphyr::from_str_with_options(text, options) {
        Ok(Value::Null) => Value::Object(Default::default()),
        Ok(v) => v,
        Err(err) => return Err(invalid(vec![syntax_problem(file, &err)])),
    };
    let located = Located { file, tree: &tree };

    let mut problems = schema_problems(&located, &value);
    if !problems.is_empty() {
        return Err(invalid(sorted(problems)));
    }
    let parsed: ConfigFile = match serde_json::from_value(value.clone()) {
        Ok(f) => f,
        Err(err) => {
            return Err(invalid(vec![located.problem(&[], err.to_string(), None)]));
        }
    };

    let baseline = value.get("baseline").cloned().unwrap_or(Value::Null);
    let mut tenants = Vec::new();
    for (index, entry) in parsed.tenants.iter().enumerate() {
        let mut merged = match &baseline {
            Value::Null => Value::Object(Default::default()),
            b => b.clone(),
        };
        if let Some(own) = value.pointer(&format!("/tenants/{index}/settings")) {
            deep_merge(&mut merged, own);
        }
        let settings: Settings = match serde_json::from_value(merged) {
            Ok(s) => s,
            Err(err) => {
                let at = [Seg::Key("tenants".into()), Seg::Index(index)];
                problems.push(located.problem(&at, err.to_string(), None));
                continue;
            }
        };
        for issue in validate::settings(&settings) {
            let own = tenant_path(index, &issue.path);
            let base = settings_path("baseline", &issue.path);
            // Point at the tenant's own value if it set one, else at the baseline.
            let at = if located.find(&own).is_some() || located.find(&base).is_none() {
                own
            } else {
                base
            };
            problems.push(located.problem(&at, issue.message, issue.help));
        }
        tenants.push(Tenant {
            name: entry.name.clone(),
            tenant_id: entry.tenant_id.to_ascii_lowercase(),
            endpoint: entry.endpoint.clone(),
            settings,
            credentials: entry.credentials.clone(),
            index,
        });
    }
    for issue in validate::tenants(&parsed.tenants) {
        let at = vec![
            Seg::Key("tenants".into()),
            Seg::Index(issue.index),
            Seg::Key(issue.field.into()),
        ];
        problems.push(located.problem(&at, issue.message, None));
    }
    if !problems.is_empty() {
        return Err(invalid(sorted(problems)));
    }
    Ok(Config {
        file: parsed,
        tenants,
        digest: sha256_hex(text.as_bytes()),
    })
}

fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by(|a, b| (a.line, a.column, &a.message).cmp(&(b.line, b.column, &b.message)));
    // A baseline problem is found once per tenant: report it once.
    problems.dedup_by(|a, b| a.line == b.line && a.column == b.column && a.message == b.message);
    problems
}

fn syntax_problem(file: &str, err: &serde_saphyr::Error) -> Problem {
    let (line, column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    // The crate's message may carry its own position suffix; keep the first line.
    let message = err.to_string();
    let message = message.lines().next().unwrap_or("invalid YAML").to_string();
    Problem {
        file: file.to_string(),
        line,
        column,
        path: String::new(),
        message: format!("invalid YAML: {message}"),
        help: None,
    }
}

/// A path segment into the document.
#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn settings_path(root: &str, dotted: &str) -> Vec<Seg> {
    std::iter::once(Seg::Key(root.into()))
        .chain(
            dotted
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|k| k.parse().map_or_else(|_| Seg::Key(k.into()), Seg::Index)),
        )
        .collect()
}

fn tenant_path(index: usize, dotted: &str) -> Vec<Seg> {
    let mut at = vec![Seg::Key("tenants".into()), Seg::Index(index)];
    at.extend(settings_path("settings", dotted));
    at
}

fn render_path(at: &[Seg]) -> String {
    let mut out = String::new();
    for seg in at {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The YAML document as a tree of positions.
#[derive(Debug)]
enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
}

struct Located<'a> {
    file: &'a str,
    tree: &'a Spanned<Node>,
}

impl Located<'_> {
    /// The position of the value at `at`, if the document has it.
    fn find(&self, at: &[Seg]) -> Option<Location> {
        let mut cur = self.tree;
        for seg in at {
            cur = self.child(cur, seg)?;
        }
        Some(cur.referenced)
    }

    fn child<'t>(&self, node: &'t Spanned<Node>, seg: &Seg) -> Option<&'t Spanned<Node>> {
        match (&node.value, seg) {
            (Node::Map(entries), Seg::Key(k)) => entries
                .iter()
                .find(|(key, _)| &key.value == k)
                .map(|(_, v)| v),
            (Node::Seq(items), Seg::Index(i)) => items.get(*i),
            // jsonschema reads a numeric-looking key as an index.
            (Node::Map(entries), Seg::Index(i)) => entries
                .iter()
                .find(|(key, _)| key.value == i.to_string())
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The position of the key `key` inside the mapping at `at`.
    fn key(&self, at: &[Seg], key: &str) -> Option<Location> {
        let mut cur = self.tree;
        for seg in at {
            cur = self.child(cur, seg)?;
        }
        match &cur.value {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.value == key)
                .map(|(k, _)| k.referenced),
            _ => None,
        }
    }

    /// The nearest located ancestor of `at` (the document itself at worst).
    fn nearest(&self, at: &[Seg]) -> Location {
        let mut cur = self.tree;
        for seg in at {
            match self.child(cur, seg) {
                Some(next) => cur = next,
                None => break,
            }
        }
        cur.referenced
    }

    fn problem(&self, at: &[Seg], message: String, help: Option<String>) -> Problem {
        let loc = self.nearest(at);
        self.problem_at(loc, at, message, help)
    }

    fn problem_at(
        &self,
        loc: Location,
        at: &[Seg],
        message: String,
        help: Option<String>,
    ) -> Problem {
        Problem {
            file: self.file.to_string(),
            line: loc.line().max(1),
            column: loc.column().max(1),
            path: render_path(at),
            message,
            help,
        }
    }
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft7::new(&crate::schema::config_schema_value())
            .expect("the generated schema is a valid draft-07 schema")
    })
}

fn schema_problems(located: &Located<'_>, value: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    for err in validator().iter_errors(value) {
        report_schema_error(located, &err, &mut problems);
    }
    problems
}

/// Turns one schema error into problems (recursing into the chosen branch of a
/// `method:`-tagged union).
fn report_schema_error(
    located: &Located<'_>,
    err: &jsonschema::ValidationError<'_>,
    problems: &mut Vec<Problem>,
) {
    {
        let at: Vec<Seg> = err
            .instance_path()
            .segments()
            .map(|s| match s {
                LocationSegment::Property(p) => Seg::Key(p.into_owned()),
                LocationSegment::Index(i) => Seg::Index(i),
            })
            .collect();
        let instance = err.instance();
        match err.kind() {
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context }
                if instance.get("method").is_some() =>
            {
                // A union tagged by `method`: report the errors of the branch the
                // method names, or that the method is unknown.
                let method_path = format!("{}/method", err.instance_path().as_str());
                let branch = context.iter().find(|errs| {
                    !errs
                        .iter()
                        .any(|e| e.instance_path().as_str() == method_path)
                });
                match branch {
                    Some(errs) => {
                        for e in errs {
                            report_schema_error(located, e, problems);
                        }
                    }
                    None => {
                        let mut method_at = at.clone();
                        method_at.push(Seg::Key("method".into()));
                        let choices = tag_choices(&at);
                        let got = short(&instance["method"]);
                        let help = did_you_mean(got.trim_matches('`'), &choices)
                            .map(|s| format!("did you mean `{s}`?"));
                        problems.push(located.problem(
                            &method_at,
                            format!("{got} is not one of {}", choices.join(", ")),
                            help,
                        ));
                    }
                }
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = known_fields(&at);
                for key in unexpected {
                    let mut field_at = at.clone();
                    field_at.push(Seg::Key(key.clone()));
                    let loc = located
                        .key(&at, key)
                        .unwrap_or_else(|| located.nearest(&at));
                    if crate::credentials::INLINE_SECRET_FIELDS.contains(&key.as_str()) {
                        problems.push(
                            located.problem_at(
                                loc,
                                &field_at,
                                format!("`{key}`: secrets never go in the desired-state file"),
                                Some(
                                    "put the secret in an environment variable and name the \
                                 variable instead (e.g. `secretEnv: AZURE_CLIENT_SECRET`); \
                                 see docs/setup.md"
                                        .into(),
                                ),
                            ),
                        );
                        continue;
                    }
                    let help = did_you_mean(key, &known)
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| {
                            (!known.is_empty())
                                .then(|| format!("expected one of: {}", known.join(", ")))
                        });
                    problems.push(located.problem_at(
                        loc,
                        &field_at,
                        format!("unknown field `{key}`"),
                        help,
                    ));
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_string();
                let mut field_at = at.clone();
                field_at.push(Seg::Key(name.clone()));
                problems.push(located.problem_at(
                    located.nearest(&at),
                    &field_at,
                    format!("missing required field `{name}`"),
                    None,
                ));
            }
            ValidationErrorKind::Type { .. } => {
                let expected = expected_type(&at);
                problems.push(located.problem(
                    &at,
                    format!("expected {expected}, found {}", describe(instance)),
                    None,
                ));
            }
            ValidationErrorKind::Enum { options } => {
                let choices: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(short).collect())
                    .unwrap_or_default();
                let got = short(instance);
                let help = did_you_mean(
                    got.trim_matches('`'),
                    &choices
                        .iter()
                        .map(|c| c.trim_matches('`').to_string())
                        .collect::<Vec<_>>(),
                )
                .map(|s| format!("did you mean `{s}`?"));
                problems.push(located.problem(
                    &at,
                    format!("{got} is not one of {}", choices.join(", ")),
                    help,
                ));
            }
            ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. }
                if !enum_choices(&at).is_empty() =>
            {
                let choices = enum_choices(&at);
                let got = short(instance);
                let help = did_you_mean(got.trim_matches('`'), &choices)
                    .map(|s| format!("did you mean `{s}`?"));
                problems.push(located.problem(
                    &at,
                    format!("{got} is not one of {}", choices.join(", ")),
                    help,
                ));
            }
            ValidationErrorKind::Minimum { limit } => problems.push(located.problem(
                &at,
                format!("{instance} is less than the minimum of {limit}"),
                None,
            )),
            ValidationErrorKind::Maximum { limit } => problems.push(located.problem(
                &at,
                format!("{instance} is greater than the maximum of {limit}"),
                None,
            )),
            ValidationErrorKind::MinLength { limit } => problems.push(located.problem(
                &at,
                format!("{instance} is shorter than {limit} characters"),
                None,
            )),
            ValidationErrorKind::MaxLength { limit } => problems.push(located.problem(
                &at,
                format!("{instance} is longer than {limit} characters"),
                None,
            )),
            ValidationErrorKind::MaxItems { limit } => {
                problems.push(located.problem(&at, format!("has more than {limit} items"), None))
            }
            ValidationErrorKind::MinItems { limit } => problems.push(located.problem(
                &at,
                format!(
                    "needs at least {limit} item{}",
                    if *limit == 1 { "" } else { "s" }
                ),
                None,
            )),
            ValidationErrorKind::Pattern { .. } => {
                let last = at.iter().rev().find_map(|s| match s {
                    Seg::Key(k) => Some(k.as_str()),
                    Seg::Index(_) => None,
                });
                let message = match last {
                    Some("tenantId") | Some("id") => format!("{instance} is not a GUID"),
                    Some("endpoint") => format!(
                        "{instance} is not an endpoint: expected local, public, usGovernment, \
                         china, or http://127.0.0.1:PORT (plain http only to loopback)"
                    ),
                    Some("name") => format!(
                        "{instance} is not a valid tenant name: letters, digits, `.`, `_` and \
                         `-`, starting with a letter or digit, at most 64 characters"
                    ),
                    _ => format!("{instance} does not have the expected form"),
                };
                problems.push(located.problem(&at, message, None));
            }
            _ => problems.push(located.problem(&at, err.masked().to_string(), None)),
        }
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string (\"{s}\")"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// The schema node describing the value at `at`.
fn schema_at(at: &[Seg]) -> Option<Value> {
    let root = crate::schema::config_schema_value();
    let resolve = |mut node: Value| -> Value {
        for _ in 0..8 {
            // schemars wraps a `$ref` that has siblings in a one-item `allOf`.
            if let Some(Value::Array(all)) = node.get("allOf")
                && let [only] = all.as_slice()
            {
                node = only.clone();
                continue;
            }
            let Some(r) = node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let pointer = r.trim_start_matches('#').to_string();
            match root.pointer(&pointer) {
                Some(target) => node = target.clone(),
                None => break,
            }
        }
        node
    };
    let mut node = resolve(root.clone());
    for seg in at {
        let next = match seg {
            Seg::Key(k) => node.get("properties").and_then(|p| p.get(k)).cloned(),
            Seg::Index(_) => node.get("items").cloned(),
        }?;
        node = resolve(next);
    }
    Some(node)
}

fn known_fields(at: &[Seg]) -> Vec<String> {
    let Some(schema) = schema_at(at) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    let mut add = |s: &Value| {
        let keys = s.get("properties").and_then(Value::as_object);
        for k in keys.into_iter().flat_map(|p| p.keys()) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    };
    add(&schema);
    for alt in schema
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add(alt);
    }
    names
}

/// The `method` values of a tagged union.
fn tag_choices(at: &[Seg]) -> Vec<String> {
    schema_at(at)
        .and_then(|s| s.get("oneOf").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|alt| {
            let m = alt.pointer("/properties/method")?;
            m.get("const")
                .or_else(|| m.get("enum").and_then(|e| e.get(0)))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// The allowed values of an enum documented per variant (`oneOf` of `const`s).
fn enum_choices(at: &[Seg]) -> Vec<String> {
    let Some(schema) = schema_at(at) else {
        return Vec::new();
    };
    let alts = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    alts.iter()
        .filter_map(|a| {
            a.get("const")
                .or_else(|| a.get("enum").and_then(|e| e.get(0)))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

fn expected_type(at: &[Seg]) -> String {
    let ty = schema_at(at).and_then(|s| s.get("type").cloned());
    let one = |t: &str| match t {
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "boolean" => "true or false".to_string(),
        "integer" => "a whole number".to_string(),
        "number" => "a number".to_string(),
        "string" => "a string".to_string(),
        other => other.to_string(),
    };
    match ty {
        Some(Value::String(t)) => one(&t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(one)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "another kind of value".into(),
    }
}

/// The closest known name to `got`, if it is close enough to be a typo.
pub(crate) fn did_you_mean(got: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&got.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone())
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
