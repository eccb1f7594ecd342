//! Reading a desired-state file: YAML with positions, schema checks, merging and
//! semantic validation. Every problem names `file:line:column` and the field
//! path; all problems of a file are reported in one run.
//!
//! This is the only module that touches the YAML crate (serde-saphyr), so a
//! change of YAML library stays in one file.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use crate::config::{ConfigFile, Tenant, deep_merge};
use crate::settings::Settings;
use crate::shared::Shared;
use crate::text::{escape_controls, is_control};
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
    /// The file as the user named it, and the position of every value in it.
    source: Positions,
}

/// Where a value is in the desired-state file.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub struct SourceLocation {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            escape_controls(&self.file),
            self.line,
            self.column
        )
    }
}

/// The positions of a loaded file's values, by document path
/// (`tenants[0].settings.selfServicePasswordReset.methodsRequired`).
#[derive(Clone, Debug, Default)]
struct Positions {
    file: String,
    root: Position,
}

/// Where one value of the document is, and the values inside it. A tree
/// shaped like the document rather than a map of rendered paths: a fleet's
/// file has tens of thousands of values, and one string per path was megabytes
/// (the keys, `name`, `tenantId` and the like, are shared instead).
#[derive(Clone, Debug, Default)]
struct Position {
    line: u32,
    column: u32,
    inside: Inside,
}

/// The values inside a [`Position`].
#[derive(Clone, Debug, Default)]
enum Inside {
    /// A scalar.
    #[default]
    Nothing,
    /// A mapping's values, by key, in file order.
    Map(Box<[(Arc<str>, Position)]>),
    /// A sequence's items.
    Seq(Box<[Position]>),
}

impl Position {
    /// The position at a rendered document path below this one (`a.b[2].c`,
    /// the form [`render_path`] writes; keys are matched as written, dots in
    /// them included).
    fn find(&self, path: &str) -> Option<&Position> {
        if path.is_empty() {
            return Some(self);
        }
        match &self.inside {
            Inside::Nothing => None,
            Inside::Seq(items) => {
                let rest = path.strip_prefix('[')?;
                let (index, rest) = rest.split_once(']')?;
                items.get(index.parse::<usize>().ok()?)?.find(rest)
            }
            Inside::Map(entries) => {
                let path = path.strip_prefix('.').unwrap_or(path);
                entries.iter().find_map(|(key, value)| {
                    let rest = path.strip_prefix(&**key)?;
                    match rest.chars().next() {
                        None | Some('.') | Some('[') => value.find(rest),
                        Some(_) => None,
                    }
                })
            }
        }
    }
}

/// An accepted exception as it applies to one tenant, with where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantException {
    /// The exception.
    pub exception: crate::config::Exception,
    /// Where it is written (the `setting:` line of the entry).
    pub location: Option<SourceLocation>,
}

impl Config {
    /// Where the value at a document path is, e.g.
    /// `baseline.passwordProtection.lockoutThreshold`.
    pub fn location(&self, document_path: &str) -> Option<SourceLocation> {
        self.source
            .root
            .find(document_path)
            .map(|at| SourceLocation {
                file: self.source.file.clone(),
                line: at.line.into(),
                column: at.column.into(),
            })
    }

    /// Where the value of a setting that applies to the tenant at `index` is
    /// written: the tenant's own value if it sets one, else the baseline's.
    pub fn setting_location(&self, index: usize, path: &str) -> Option<SourceLocation> {
        self.location(&format!("tenants[{index}].settings.{path}"))
            .or_else(|| self.location(&format!("baseline.{path}")))
    }

    /// The accepted exceptions of the tenant at `index`: the shared ones, each
    /// replaced by the tenant's own exception of the same setting.
    pub fn exceptions_for(&self, index: usize) -> Vec<TenantException> {
        let own = self
            .file
            .tenants
            .get(index)
            .map(|t| t.exceptions.as_slice())
            .unwrap_or_default();
        let shared = self
            .file
            .exceptions
            .iter()
            .enumerate()
            .filter(|(_, e)| !own.iter().any(|o| o.setting == e.setting))
            .map(|(i, e)| TenantException {
                exception: e.clone(),
                location: self.location(&format!("exceptions[{i}].setting")),
            });
        let mine = own.iter().enumerate().map(|(i, e)| TenantException {
            exception: e.clone(),
            location: self.location(&format!("tenants[{index}].exceptions[{i}].setting")),
        });
        shared.chain(mine).collect()
    }

    /// What is worth saying about a valid file without refusing it: accepted
    /// exceptions that expired before `today` (`YYYY-MM-DD`, given by the
    /// caller: this crate reads no clock).
    pub fn warnings(&self, today: &str) -> Vec<Problem> {
        let shared = self
            .file
            .exceptions
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("exceptions[{i}]"), e));
        let own = self.file.tenants.iter().enumerate().flat_map(|(t, entry)| {
            entry
                .exceptions
                .iter()
                .enumerate()
                .map(move |(i, e)| (format!("tenants[{t}].exceptions[{i}]"), e))
        });
        shared
            .chain(own)
            .filter(|(_, e)| e.expires.as_str() < today)
            .map(|(at, e)| {
                let path = format!("{at}.expires");
                let loc = self.location(&path);
                Problem {
                    file: self.source.file.clone(),
                    line: loc.as_ref().map_or(1, |l| l.line),
                    column: loc.as_ref().map_or(1, |l| l.column),
                    message: format!(
                        "the exception for {} expired on {}: lint and plan now report its accepted value as an error",
                        e.setting, e.expires
                    ),
                    path,
                    help: Some("renew it with a new date and reason, or fix the setting".into()),
                }
                .escaped()
            })
            .collect()
    }
}

/// One problem in a desired-state file.
///
/// Problems made by the loader hold no raw control characters: every text field
/// is escaped with [`escape_controls`], and `Display` escapes again for problems
/// made elsewhere.
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

impl Problem {
    /// The problem with control characters in its texts escaped visibly.
    fn escaped(self) -> Problem {
        Problem {
            file: escape_controls(&self.file),
            path: escape_controls(&self.path),
            message: escape_controls(&self.message),
            help: self.help.as_deref().map(escape_controls),
            ..self
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = escape_controls(&self.file);
        write!(f, "{file}:{}:{}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", escape_controls(&self.path))?;
        }
        f.write_str(&escape_controls(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", escape_controls(help))?;
        }
        Ok(())
    }
}

/// Why a desired-state file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}", escape_controls(.path))]
    Read {
        /// The path as given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file has problems; every one is listed.
    #[error("{} has {} problem{}", escape_controls(.file), .problems.len(), if .problems.len() == 1 { "" } else { "s" })]
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
///
/// Every problem of the document is reported in one run: the input checks
/// (control characters, whole numbers, the JSON Schema) and the semantic rules
/// of [`validate`], which run on every tenant whose effective settings still
/// deserialise. A semantic problem at a value the input checks already
/// reported is left out: fix the value first. Problems never contain raw
/// control characters (see [`crate::text`]).
pub fn load_str(file: &str, text: &str) -> Result<Config, LoadError> {
    let invalid = |problems: Vec<Problem>| LoadError::Invalid {
        file: file.to_string(),
        problems: finished(problems),
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

    // Input checks: each looks at values as written.
    let mut problems = control_problems(&located);
    let numbers = integer_problems(&located, &value);
    let reported: Vec<String> = numbers.iter().map(|p| p.path.clone()).collect();
    problems.extend(numbers);
    problems.extend(schema_problems(&located, &value, &reported));
    let input_paths: BTreeSet<String> = problems.iter().map(|p| p.path.clone()).collect();

    // Semantic rules, on every tenant whose effective settings deserialise.
    let mut semantic = Vec::new();
    let mut unexplained = Vec::new();
    let baseline = value.get("baseline").cloned().unwrap_or(Value::Null);
    let entries = value
        .get("tenants")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut effective: Vec<Option<Arc<Settings>>> = Vec::with_capacity(entries.len());
    let mut shared = Shared::default();
    for (index, entry) in entries.iter().enumerate() {
        let mut merged = match &baseline {
            Value::Object(_) => baseline.clone(),
            _ => Value::Object(Default::default()),
        };
        if let Some(own) = entry.get("settings") {
            deep_merge(&mut merged, own);
        }
        let settings = match serde_json::from_value::<Settings>(merged) {
            Ok(settings) => settings,
            Err(err) => {
                // The input checks say why; if they found nothing, say this.
                let at = [Seg::Key("tenants".into()), Seg::Index(index)];
                unexplained.push(located.problem(&at, err.to_string(), None));
                effective.push(None);
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
            semantic.push(located.problem(&at, issue.message, issue.help));
        }
        effective.push(Some(shared.share(settings)));
    }
    let keys: Vec<validate::TenantKeys<'_>> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| validate::TenantKeys {
            index,
            name: entry.get("name").and_then(Value::as_str),
            tenant_id: entry.get("tenantId").and_then(Value::as_str),
        })
        .collect();
    for issue in validate::tenants(&keys) {
        let at = vec![
            Seg::Key("tenants".into()),
            Seg::Index(issue.index),
            Seg::Key(issue.field.into()),
        ];
        semantic.push(located.problem(&at, issue.message, None));
    }
    semantic.extend(exception_problems(&located, &value));
    if problems.is_empty() {
        problems = unexplained;
    }
    // A value both kinds of check object to is reported once, by the input check.
    problems.extend(
        semantic
            .into_iter()
            .filter(|p| !input_paths.contains(&p.path)),
    );
    if !problems.is_empty() {
        return Err(invalid(problems));
    }

    let mut parsed: ConfigFile = match serde_json::from_value(value) {
        Ok(f) => f,
        // Unreachable when the checks above are complete; kept so that a gap
        // is a reported problem rather than a panic.
        Err(err) => return Err(invalid(vec![located.problem(&[], err.to_string(), None)])),
    };
    let mut own = Shared::default();
    for entry in &mut parsed.tenants {
        let settings = std::mem::replace(&mut entry.settings, crate::config::no_settings());
        entry.settings = own.share_arc(settings);
    }
    let mut tenants: Vec<Tenant> = parsed
        .tenants
        .iter()
        .zip(effective)
        .enumerate()
        .filter_map(|(index, (entry, settings))| {
            Some(Tenant {
                name: entry.name.clone(),
                tenant_id: entry.tenant_id.to_ascii_lowercase(),
                endpoint: entry.endpoint.clone(),
                settings: settings?,
                credentials: entry.credentials.clone(),
                index,
            })
        })
        .collect();
    // Collected from a filter, so grown by doubling: give back the spare
    // room (a third of it at 10,000 tenants) before the run holds it.
    tenants.shrink_to_fit();
    let source = Positions {
        file: file.to_string(),
        root: positions(&tree, &mut HashSet::new()),
    };
    Ok(Config {
        file: parsed,
        tenants,
        digest: sha256_hex(text.as_bytes()),
        source,
    })
}

/// The positions of a YAML tree, each distinct key stored once.
fn positions(node: &Spanned<Node>, keys: &mut HashSet<Arc<str>>) -> Position {
    let loc = node.referenced;
    let number = |n: u64| u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    let inside = match &node.value {
        Node::Map(entries) => Inside::Map(
            entries
                .iter()
                .map(|(key, value)| {
                    let key = match keys.get(key.value.as_str()) {
                        Some(shared) => Arc::clone(shared),
                        None => {
                            let shared: Arc<str> = key.value.as_str().into();
                            keys.insert(Arc::clone(&shared));
                            shared
                        }
                    };
                    (key, positions(value, keys))
                })
                .collect(),
        ),
        Node::Seq(items) => Inside::Seq(items.iter().map(|item| positions(item, keys)).collect()),
        Node::Str(_) | Node::Leaf => Inside::Nothing,
    };
    Position {
        line: number(loc.line()),
        column: number(loc.column()),
        inside,
    }
}

/// The semantic checks of accepted exceptions: a setting ssprctl manages
/// (did-you-mean from the catalog), a value of that setting's form, a real
/// date, and one exception per setting in each list.
fn exception_problems(located: &Located<'_>, value: &Value) -> Vec<Problem> {
    let mut lists: Vec<(Vec<Seg>, &Vec<Value>)> = Vec::new();
    if let Some(list) = value.get("exceptions").and_then(Value::as_array) {
        lists.push((vec![Seg::Key("exceptions".into())], list));
    }
    for (t, entry) in value
        .get("tenants")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(list) = entry.get("exceptions").and_then(Value::as_array) {
            let at = vec![
                Seg::Key("tenants".into()),
                Seg::Index(t),
                Seg::Key("exceptions".into()),
            ];
            lists.push((at, list));
        }
    }
    let known: Vec<String> = crate::catalog::FIELDS
        .iter()
        .map(|f| f.path.to_string())
        .collect();
    let mut out = Vec::new();
    for (base, list) in lists {
        let mut seen: Vec<&str> = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let mut at = base.clone();
            at.push(Seg::Index(i));
            let field = |name: &str| {
                let mut p = at.clone();
                p.push(Seg::Key(name.into()));
                p
            };
            if let Some(date) = e.get("expires").and_then(Value::as_str)
                && date.len() == 10
                && !crate::config::is_date(date)
            {
                out.push(located.problem(
                    &field("expires"),
                    format!("{date} is not a date"),
                    hint("write the last day the exception holds as YYYY-MM-DD"),
                ));
            }
            let Some(setting) = e.get("setting").and_then(Value::as_str) else {
                continue;
            };
            let Some(spec) = crate::catalog::by_path(setting) else {
                let help = did_you_mean(setting, &known)
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| hint("name a setting path as in docs/settings.md"));
                out.push(located.problem(
                    &field("setting"),
                    format!("unknown setting `{setting}`"),
                    help,
                ));
                continue;
            };
            if seen.contains(&setting) {
                out.push(located.problem(
                    &field("setting"),
                    format!("a second exception for {setting} in the same list"),
                    hint("keep one exception per setting"),
                ));
            }
            seen.push(setting);
            if spec.lint.rule().is_none() {
                out.push(located.problem(
                    &field("setting"),
                    format!("{setting} has no lint rule, so there is nothing to accept"),
                    hint(
                        "remove the exception (docs/settings.md says why the setting has no rule)",
                    ),
                ));
            }
            if let Some(accepted) = e.get("value") {
                let doc = setting.rsplit('.').fold(
                    accepted.clone(),
                    |inner, key| serde_json::json!({ key: inner }),
                );
                if let Err(err) = serde_json::from_value::<Settings>(doc) {
                    out.push(located.problem(
                        &field("value"),
                        format!("not a value of {setting}: {err}"),
                        None,
                    ));
                }
            }
        }
    }
    out
}

/// Sorts problems by position, drops repeats and escapes control characters.
fn finished(problems: Vec<Problem>) -> Vec<Problem> {
    let mut problems: Vec<Problem> = problems.into_iter().map(Problem::escaped).collect();
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
    /// A string scalar, kept for the control-character check.
    Str(String),
    /// Any other scalar.
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
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
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

/// How to fix a control-character problem.
const CONTROL_HELP: &str = "control and bidi characters are not allowed in the file: they \
     would reach terminals and PR comments as they are";

/// Control and bidi characters (see [`crate::text`]) in every mapping key and
/// string value of the document, each located at its key or value.
fn control_problems(located: &Located<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk_controls(located, located.tree, &mut Vec::new(), &mut problems);
    problems
}

fn walk_controls(
    located: &Located<'_>,
    node: &Spanned<Node>,
    at: &mut Vec<Seg>,
    out: &mut Vec<Problem>,
) {
    match &node.value {
        Node::Map(entries) => {
            for (key, value) in entries {
                at.push(Seg::Key(key.value.clone()));
                if let Some(found) = controls_in(&key.value) {
                    let message = format!("the key {found}");
                    out.push(located.problem_at(key.referenced, at, message, hint(CONTROL_HELP)));
                }
                walk_controls(located, value, at, out);
                at.pop();
            }
        }
        Node::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                at.push(Seg::Index(index));
                walk_controls(located, item, at, out);
                at.pop();
            }
        }
        Node::Str(text) => {
            if let Some(found) = controls_in(text) {
                out.push(located.problem_at(node.referenced, at, found, hint(CONTROL_HELP)));
            }
        }
        Node::Leaf => {}
    }
}

/// "contains the control character `\u{1b}`" (each distinct one, escaped), or
/// `None` when `text` has none. The text itself is not shown: it may be a secret.
fn controls_in(text: &str) -> Option<String> {
    let mut found: Vec<char> = Vec::new();
    for c in text.chars().filter(|c| is_control(*c)) {
        if !found.contains(&c) {
            found.push(c);
        }
    }
    let list: Vec<String> = found
        .iter()
        .map(|c| format!("`{}`", escape_controls(c.encode_utf8(&mut [0; 4]))))
        .collect();
    match list.as_slice() {
        [] => None,
        [one] => Some(format!("contains the control character {one}")),
        many => Some(format!(
            "contains the control characters {}",
            many.join(", ")
        )),
    }
}

fn hint(text: &str) -> Option<String> {
    Some(text.to_string())
}

/// Numbers where the schema wants a whole number that serde would refuse with
/// no position: a fraction (`2.5`), a decimal point (`2.0`, which JSON Schema
/// counts as an integer) or a value beyond the field's integer type (`2^70`,
/// which YAML reads as a float). Each is located at the value.
fn integer_problems(located: &Located<'_>, value: &Value) -> Vec<Problem> {
    let root = crate::schema::config_schema_value();
    let mut problems = Vec::new();
    walk_integers(located, &root, &root, value, &mut Vec::new(), &mut problems);
    problems
}

fn walk_integers(
    located: &Located<'_>,
    root: &Value,
    schema: &Value,
    value: &Value,
    at: &mut Vec<Seg>,
    out: &mut Vec<Problem>,
) {
    let schema = resolve_ref(root, schema);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let alternatives = ["oneOf", "anyOf"]
                    .iter()
                    .filter_map(|u| schema.get(u).and_then(Value::as_array))
                    .flatten();
                let child_schema =
                    schema
                        .get("properties")
                        .and_then(|p| p.get(key))
                        .or_else(|| {
                            alternatives
                                .into_iter()
                                .find_map(|alt| resolve_ref(root, alt).get("properties")?.get(key))
                        });
                if let Some(child_schema) = child_schema {
                    at.push(Seg::Key(key.clone()));
                    walk_integers(located, root, child_schema, child, at, out);
                    at.pop();
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    at.push(Seg::Index(index));
                    walk_integers(located, root, item_schema, item, at, out);
                    at.pop();
                }
            }
        }
        Value::Number(n) if schema.get("type").and_then(Value::as_str) == Some("integer") => {
            if let Some((message, help)) = integer_problem(n, schema) {
                out.push(located.problem(at, message, help));
            }
        }
        _ => {}
    }
}

/// Why `n` does not fit the integer field `schema`, if it does not.
fn integer_problem(n: &serde_json::Number, schema: &Value) -> Option<(String, Option<String>)> {
    let (lo, hi): (i128, i128) = match schema.get("format").and_then(Value::as_str) {
        Some("uint8") => (0, u8::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("int8") => (i8::MIN.into(), i8::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        Some("int64" | "int") => (i64::MIN.into(), i64::MAX.into()),
        Some("uint64" | "uint") => (0, u64::MAX.into()),
        _ => (i64::MIN.into(), u64::MAX.into()),
    };
    let whole = n
        .as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from));
    let float = n.as_f64().unwrap_or(f64::NAN);
    match whole {
        Some(i) if (lo..=hi).contains(&i) => return None,
        None if float.fract() != 0.0 || !float.is_finite() => {
            return Some((format!("expected a whole number, found {n}"), None));
        }
        // A whole float inside the type's range (compared as floats only to
        // choose the message).
        None if float >= lo as f64 && float <= hi as f64 => {
            return Some((
                format!("expected a whole number, found {n}"),
                hint("write it without a decimal point"),
            ));
        }
        _ => {}
    }
    let bound = |key: &str| schema.get(key).and_then(Value::as_i64).map(i128::from);
    let lo = bound("minimum").map_or(lo, |m| m.max(lo));
    let hi = bound("maximum").map_or(hi, |m| m.min(hi));
    let shown = whole.map_or_else(|| format!("{float:.0}"), |i| i.to_string());
    Some((
        format!("{shown} is out of range: expected a whole number from {lo} to {hi}"),
        None,
    ))
}

/// Follows `$ref`s (and the one-item `allOf` schemars wraps a `$ref` with
/// siblings in) to the schema they name.
fn resolve_ref<'s>(root: &'s Value, mut node: &'s Value) -> &'s Value {
    for _ in 0..8 {
        if let Some(Value::Array(all)) = node.get("allOf")
            && let [only] = all.as_slice()
        {
            node = only;
            continue;
        }
        let Some(r) = node.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match root.pointer(r.trim_start_matches('#')) {
            Some(target) => node = target,
            None => break,
        }
    }
    node
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft7::new(&crate::schema::config_schema_value())
            .expect("the generated schema is a valid draft-07 schema")
    })
}

/// The JSON Schema's problems, except at the paths in `reported` (values an
/// earlier check has explained better).
fn schema_problems(located: &Located<'_>, value: &Value, reported: &[String]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for err in validator().iter_errors(value) {
        report_schema_error(located, &err, &mut problems);
    }
    problems.retain(|p| !reported.contains(&p.path));
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
        // A value under `credentials` may be a secret pasted in by mistake: its
        // problems never show it (the `method` tag excepted).
        let hide = hides_value(&at);
        let shown = || -> String {
            if hide {
                "the value".into()
            } else {
                instance.to_string()
            }
        };
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
                    format!("expected {expected}, found {}", describe(instance, hide)),
                    None,
                ));
            }
            ValidationErrorKind::Enum { options } => {
                let choices: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(short).collect())
                    .unwrap_or_default();
                let got = if hide {
                    "the value".into()
                } else {
                    short(instance)
                };
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
                let got = if hide {
                    "the value".into()
                } else {
                    short(instance)
                };
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
                format!("{} is less than the minimum of {limit}", shown()),
                None,
            )),
            ValidationErrorKind::Maximum { limit } => problems.push(located.problem(
                &at,
                format!("{} is greater than the maximum of {limit}", shown()),
                None,
            )),
            ValidationErrorKind::MinLength { limit } => problems.push(located.problem(
                &at,
                format!("{} is shorter than {limit} characters", shown()),
                None,
            )),
            ValidationErrorKind::MaxLength { limit } => problems.push(located.problem(
                &at,
                format!("{} is longer than {limit} characters", shown()),
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
                let instance = shown();
                let env_field = last.is_some_and(|k| crate::credentials::ENV_FIELDS.contains(&k));
                let (message, help) = match last {
                    // Never shown: it may be the secret itself.
                    Some(_) if env_field => (
                        "this value is not an environment-variable name; put the secret in an \
                         environment variable and name the variable here"
                            .to_string(),
                        hint(
                            "a name has letters, digits and `_` and does not start with a digit, \
                             e.g. `AZURE_CLIENT_SECRET`",
                        ),
                    ),
                    Some("tenantId") | Some("id") | Some("clientId") => {
                        (format!("{instance} is not a GUID"), None)
                    }
                    Some("endpoint") => (
                        format!(
                            "{instance} is not an endpoint: expected local, public, usGovernment, \
                             china, or http://127.0.0.1:PORT (plain http only to loopback)"
                        ),
                        None,
                    ),
                    Some("name") => (
                        format!(
                            "{instance} is not a valid tenant name: letters, digits, `.`, `_` and \
                             `-`, starting with a letter or digit, at most 64 characters"
                        ),
                        None,
                    ),
                    _ => (format!("{instance} does not have the expected form"), None),
                };
                problems.push(located.problem(&at, message, help));
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

/// What kind of value `v` is, with the value unless `hide`.
fn describe(v: &Value, hide: bool) -> String {
    let (kind, value) = match v {
        Value::Null => return "nothing (null)".into(),
        Value::Array(_) => return "a list".into(),
        Value::Object(_) => return "a mapping".into(),
        Value::Bool(b) => ("a boolean", b.to_string()),
        Value::Number(n) => ("a number", n.to_string()),
        Value::String(s) => ("a string", format!("\"{s}\"")),
    };
    if hide {
        kind.into()
    } else {
        format!("{kind} ({value})")
    }
}

/// Whether problems at `at` must not show the value: anything under
/// `credentials` but its `method` tag.
fn hides_value(at: &[Seg]) -> bool {
    let under_credentials = at
        .iter()
        .any(|s| matches!(s, Seg::Key(k) if k == "credentials"));
    under_credentials && !matches!(at.last(), Some(Seg::Key(k)) if k == "method")
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
            // In a tagged union, the first alternative that has the field.
            Seg::Key(k) => node
                .get("properties")
                .and_then(|p| p.get(k))
                .cloned()
                .or_else(|| {
                    ["oneOf", "anyOf"]
                        .iter()
                        .filter_map(|u| node.get(u).and_then(Value::as_array))
                        .flatten()
                        .find_map(|alt| resolve(alt.clone()).get("properties")?.get(k).cloned())
                }),
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

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
";

    /// The problems of a document that must not load.
    fn problems(yaml: &str) -> Vec<Problem> {
        match load_str("t.yaml", yaml) {
            Err(LoadError::Invalid { problems, .. }) => problems,
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("the document loaded:\n{yaml}"),
        }
    }

    /// A file with one tenant whose `settings` are `settings` (indented by 6).
    fn with_settings(settings: &str) -> String {
        format!("version: 1\n{TENANT}    settings:\n{settings}")
    }

    #[test]
    fn tenants_with_equal_effective_settings_share_one_copy_and_others_keep_their_own() {
        let yaml = "version: 1
baseline:
  passwordProtection: { lockoutThreshold: 10 }
tenants:
  - { name: a, tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a41, endpoint: local }
  - { name: b, tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a42, endpoint: local }
  - name: c
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a43
    endpoint: local
    settings: { passwordProtection: { lockoutThreshold: 5 } }
  - name: d
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a44
    endpoint: local
    settings: { passwordProtection: { lockoutThreshold: 5 } }
";
        let config = load_str("t.yaml", yaml).expect("loads");
        let t = &config.tenants;
        assert!(Arc::ptr_eq(&t[0].settings, &t[1].settings));
        assert!(Arc::ptr_eq(&t[2].settings, &t[3].settings));
        assert!(!Arc::ptr_eq(&t[0].settings, &t[2].settings));
        let threshold = |i: usize| {
            t[i].settings
                .password_protection
                .as_ref()
                .and_then(|p| p.lockout_threshold)
        };
        assert_eq!((threshold(0), threshold(1)), (Some(10), Some(10)));
        assert_eq!((threshold(2), threshold(3)), (Some(5), Some(5)));
        // Entries without settings of their own share the one empty copy.
        let own = &config.file.tenants;
        assert!(Arc::ptr_eq(&own[0].settings, &own[1].settings));
        assert_eq!(*own[0].settings, Settings::default());
        assert!(Arc::ptr_eq(&own[2].settings, &own[3].settings));
    }

    fn has_raw_control(p: &Problem) -> bool {
        let texts = [&p.file, &p.path, &p.message];
        texts.iter().any(|t| crate::text::find_control(t).is_some())
            || p.help
                .as_deref()
                .and_then(crate::text::find_control)
                .is_some()
            || crate::text::find_control(&p.to_string().replace("\n  help: ", " ")).is_some()
    }

    #[test]
    fn a_control_character_in_a_value_is_located_at_the_value_and_shown_escaped() {
        let yaml = with_settings(
            "      passwordProtection:\n        bannedPasswords: [okayterm, \"ab\\e[31mcd\"]\n",
        );
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        let p = &found[0];
        assert_eq!((p.line, p.column), (8, 37));
        assert_eq!(
            p.path,
            "tenants[0].settings.passwordProtection.bannedPasswords[1]"
        );
        assert_eq!(p.message, "contains the control character `\\u{1b}`");
        assert!(!has_raw_control(p));
    }

    #[test]
    fn every_kind_of_control_character_is_refused_in_a_string() {
        // YAML double-quoted escapes for each kind the text module names.
        let kinds = [
            ("\\0", "\\u{0}"),
            ("\\a", "\\u{7}"),
            ("\\t", "\\t"),
            ("\\n", "\\n"),
            ("\\r", "\\r"),
            ("\\e", "\\u{1b}"),
            ("\\x7f", "\\u{7f}"),
            ("\\N", "\\u{85}"),
            ("\\x9b", "\\u{9b}"),
            ("\\u061c", "\\u{61c}"),
            ("\\u200e", "\\u{200e}"),
            ("\\u200f", "\\u{200f}"),
            ("\\u2028", "\\u{2028}"),
            ("\\u202a", "\\u{202a}"),
            ("\\u202e", "\\u{202e}"),
            ("\\u2066", "\\u{2066}"),
            ("\\u2069", "\\u{2069}"),
        ];
        for (yaml_escape, shown) in kinds {
            let yaml = with_settings(&format!(
                "      selfServicePasswordReset:\n        helpdesk: {{ customLink: true, contact: \"https://help.contoso.com/{yaml_escape}x\" }}\n"
            ));
            let found = problems(&yaml);
            let p = found
                .iter()
                .find(|p| p.message.contains("control character"))
                .unwrap_or_else(|| panic!("{yaml_escape}: {found:#?}"));
            assert_eq!(
                p.path,
                "tenants[0].settings.selfServicePasswordReset.helpdesk.contact"
            );
            assert_eq!(
                p.message,
                format!("contains the control character `{shown}`")
            );
            assert!(found.iter().all(|p| !has_raw_control(p)), "{found:#?}");
        }
    }

    #[test]
    fn a_control_character_in_a_key_is_located_at_the_key() {
        let yaml = format!("version: 1\n{TENANT}    \"x\\e]0;title\\a\": 1\n");
        let found = problems(&yaml);
        let p = found
            .iter()
            .find(|p| p.message.starts_with("the key contains"))
            .unwrap_or_else(|| panic!("{found:#?}"));
        assert_eq!((p.line, p.column), (6, 5));
        assert_eq!(p.path, "tenants[0].x\\u{1b}]0;title\\u{7}");
        assert_eq!(
            p.message,
            "the key contains the control characters `\\u{1b}`, `\\u{7}`"
        );
        // The unknown-field problem names the key escaped too.
        assert!(found.iter().all(|p| !has_raw_control(p)), "{found:#?}");
    }

    #[test]
    fn a_control_character_in_a_secret_environment_field_does_not_show_the_value() {
        let yaml = format!(
            "version: 1\n{TENANT}    credentials:\n      graph: {{ method: clientSecret, secretEnv: \"hunter2\\tsecret\" }}\n"
        );
        for p in problems(&yaml) {
            assert!(!p.to_string().contains("hunter2"), "{p}");
        }
    }

    #[test]
    fn a_tab_in_a_banned_term_is_reported_once() {
        let yaml = with_settings(
            "      passwordProtection:\n        bannedPasswords: [\"okay\\tterm\"]\n",
        );
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].message, "contains the control character `\\t`");
    }

    #[test]
    fn a_line_break_from_a_block_scalar_is_refused() {
        let yaml = with_settings(
            "      selfServicePasswordReset:\n        securityQuestions:\n          questions:\n            - |\n              What is your name?\n",
        );
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].message, "contains the control character `\\n`");
    }

    #[test]
    fn a_fraction_where_a_whole_number_goes_is_located_at_the_value() {
        let yaml = with_settings("      selfServicePasswordReset:\n        methodsRequired: 2.5\n");
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        let p = &found[0];
        assert_eq!((p.line, p.column), (8, 26));
        assert_eq!(
            p.path,
            "tenants[0].settings.selfServicePasswordReset.methodsRequired"
        );
        assert_eq!(p.message, "expected a whole number, found 2.5");
    }

    #[test]
    fn a_decimal_point_where_a_whole_number_goes_is_located_with_a_hint() {
        let yaml = with_settings("      passwordProtection:\n        lockoutThreshold: 10.0\n");
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        let p = &found[0];
        assert_eq!(
            (p.line, p.column, p.path.as_str()),
            (
                8,
                27,
                "tenants[0].settings.passwordProtection.lockoutThreshold"
            )
        );
        assert_eq!(p.message, "expected a whole number, found 10.0");
        assert_eq!(p.help.as_deref(), Some("write it without a decimal point"));
    }

    #[test]
    fn a_number_beyond_the_field_type_is_located_at_the_value() {
        // 2^70: YAML reads it as a float, JSON Schema as an integer.
        let yaml = format!(
            "version: 1\nbaseline:\n  passwordProtection:\n    lockoutThreshold: 1180591620717411303424\n  selfServicePasswordReset:\n    methodsRequired: 1180591620717411303424\n{TENANT}"
        );
        let found = problems(&yaml);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            (found[0].line, found[0].column, found[0].path.as_str()),
            (4, 23, "baseline.passwordProtection.lockoutThreshold")
        );
        assert_eq!(
            found[0].message,
            "1180591620717411303424 is out of range: expected a whole number from 1 to 4294967295"
        );
        assert_eq!(
            (found[1].line, found[1].column, found[1].path.as_str()),
            (6, 22, "baseline.selfServicePasswordReset.methodsRequired")
        );
        assert_eq!(
            found[1].message,
            "1180591620717411303424 is out of range: expected a whole number from 1 to 2"
        );
    }

    #[test]
    fn an_integer_beyond_the_field_type_is_located_at_the_value() {
        let yaml =
            with_settings("      passwordProtection:\n        lockoutThreshold: 4294967296\n");
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].line, found[0].column), (8, 27));
        assert_eq!(
            found[0].message,
            "4294967296 is out of range: expected a whole number from 1 to 4294967295"
        );
    }

    #[test]
    fn a_fractional_version_is_located_at_the_value() {
        let found = problems(&format!("version: 1.0\n{TENANT}"));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].line, found[0].column), (1, 10));
        assert_eq!(found[0].path, "version");
    }

    #[test]
    fn every_environment_variable_field_refuses_a_pasted_secret_without_showing_it() {
        let secret = "s3cr3t~Qx8.value";
        let cases = [
            ("graph", "clientSecret", "secretEnv"),
            ("graph", "certificate", "pathEnv"),
            ("graph", "certificate", "passwordEnv"),
            ("graph", "workloadIdentity", "tokenFileEnv"),
            ("portal", "refreshToken", "env"),
        ];
        for (kind, method, field) in cases {
            let yaml = format!(
                "version: 1\n{TENANT}    credentials:\n      {kind}: {{ method: {method}, {field}: \"{secret}\" }}\n"
            );
            let found = problems(&yaml);
            assert_eq!(found.len(), 1, "{field}: {found:#?}");
            let p = &found[0];
            assert_eq!(p.path, format!("tenants[0].credentials.{kind}.{field}"));
            assert_eq!(p.line, 7);
            assert!(
                p.message.starts_with("this value is not an environment-variable name; put the secret in an environment variable and name the variable here"),
                "{p}"
            );
            assert!(!p.to_string().contains(secret), "{p}");
        }
    }

    #[test]
    fn environment_variable_names_are_accepted() {
        let yaml = format!(
            "version: 1\n{TENANT}    credentials:\n      graph: {{ method: clientSecret, secretEnv: CONTOSO_CLIENT_SECRET }}\n      portal: {{ method: refreshToken, env: _TOKEN2 }}\n"
        );
        assert!(load_str("t.yaml", &yaml).is_ok());
    }

    #[test]
    fn no_value_under_credentials_is_shown() {
        let yaml = format!(
            "version: 1\n{TENANT}    credentials:\n      graph: {{ method: clientSecret, clientId: \"s3cr3t~Qx8\", secretEnv: 123456789 }}\n"
        );
        let found = problems(&yaml);
        assert_eq!(found.len(), 2, "{found:#?}");
        for p in &found {
            let text = p.to_string();
            assert!(
                !text.contains("s3cr3t") && !text.contains("123456789"),
                "{text}"
            );
        }
        assert_eq!(found[0].message, "the value is not a GUID");
        assert_eq!(found[1].message, "expected a string, found a number");
    }

    #[test]
    fn schema_and_semantic_problems_are_reported_in_one_run() {
        let yaml = "version: 1
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
    settings:
      selfServicePasswordReset:
        enabledFor: everyone
  - name: fabrikam
    tenantId: 0b8f3c1a-2d4e-4f6a-8b9c-1d2e3f4a5b6c
    endpoint: local
    settings:
      authenticationMethods:
        temporaryAccessPass: { minimumLifetimeMinutes: 60, maximumLifetimeMinutes: 30 }
";
        let found = problems(yaml);
        let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "tenants[0].settings.selfServicePasswordReset.enabledFor",
                "tenants[1].settings.authenticationMethods.temporaryAccessPass.minimumLifetimeMinutes",
            ]
        );
    }

    #[test]
    fn semantic_rules_run_on_a_tenant_whose_entry_has_a_schema_problem_elsewhere() {
        let yaml = "version: 1
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: http://10.0.0.1:80
    settings:
      passwordProtection:
        bannedPasswords: [okayterm, OKAYTERM]
  - name: contoso
    tenantId: not-a-guid
    endpoint: local
";
        let found = problems(yaml);
        let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "tenants[0].endpoint",
                "tenants[0].settings.passwordProtection.bannedPasswords[1]",
                "tenants[1].name",
                "tenants[1].tenantId",
            ]
        );
        assert!(found[2].message.contains("already used by tenants[0]"));
    }

    #[test]
    fn a_value_both_checks_object_to_is_reported_once() {
        // Schema: shorter than 4 characters; semantic rule: 4 to 16 characters.
        let yaml = with_settings("      passwordProtection:\n        bannedPasswords: [abc]\n");
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].message, "\"abc\" is shorter than 4 characters");
    }

    #[test]
    fn a_baseline_semantic_problem_is_reported_once_for_many_tenants() {
        let yaml = "version: 1
baseline:
  authenticationMethods:
    fido2: { exclude: [allUsers] }
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
  - name: fabrikam
    tenantId: 0b8f3c1a-2d4e-4f6a-8b9c-1d2e3f4a5b6c
    endpoint: local
";
        let found = problems(yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].path,
            "baseline.authenticationMethods.fido2.exclude[0]"
        );
    }

    #[test]
    fn a_problem_made_elsewhere_is_escaped_when_displayed() {
        let p = Problem {
            file: "a\u{1b}.yaml".into(),
            line: 1,
            column: 1,
            path: "x\u{202e}y".into(),
            message: "bad \u{7}".into(),
            help: Some("\u{9b}31m".into()),
        };
        assert_eq!(
            p.to_string(),
            "a\\u{1b}.yaml:1:1: x\\u{202e}y: bad \\u{7}\n  help: \\u{9b}31m"
        );
        let err = LoadError::Invalid {
            file: "a\u{1b}.yaml".into(),
            problems: vec![p],
        };
        assert_eq!(err.to_string(), "a\\u{1b}.yaml has 1 problem");
    }

    const EXCEPTIONS: &str = "version: 1
baseline:
  passwordProtection:
    lockoutThreshold: 20
exceptions:
  - setting: passwordProtection.lockoutThreshold
    value: 20
    reason: shared kiosks
    owner: identity team
    expires: 2027-01-31
tenants:
  - name: contoso
    tenantId: 6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
    settings:
      passwordProtection:
        lockoutThreshold: 15
    exceptions:
      - setting: passwordProtection.lockoutThreshold
        value: 15
        reason: pilot
        owner: alice
        expires: 2026-06-30
  - name: fabrikam
    tenantId: 7f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b
    endpoint: local
";

    #[test]
    fn a_tenant_exception_replaces_the_shared_one_of_the_same_setting_and_both_are_located() {
        let config = load_str("t.yaml", EXCEPTIONS).expect("loads");
        let own = config.exceptions_for(0);
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].exception.owner, "alice");
        assert_eq!(own[0].location.as_ref().map(|l| l.line), Some(19));
        let shared = config.exceptions_for(1);
        assert_eq!(shared[0].exception.owner, "identity team");
        assert_eq!(shared[0].location.as_ref().map(|l| l.line), Some(6));
        assert_eq!(
            config
                .setting_location(0, "passwordProtection.lockoutThreshold")
                .map(|l| l.to_string()),
            Some("t.yaml:17:27".to_string())
        );
        assert_eq!(
            config
                .setting_location(1, "passwordProtection.lockoutThreshold")
                .map(|l| l.to_string()),
            Some("t.yaml:4:23".to_string())
        );
    }

    #[test]
    fn every_value_of_the_file_is_located_by_its_document_path_and_nothing_else_is() {
        let config = load_str("t.yaml", EXCEPTIONS).expect("loads");
        let at = |path: &str| config.location(path).map(|l| (l.line, l.column));
        assert_eq!(at("tenants[1]"), Some((24, 5)));
        assert_eq!(at("tenants[1].name"), Some((24, 11)));
        assert_eq!(at("tenants[0].exceptions[0].owner"), Some((22, 16)));
        assert_eq!(at(""), Some((1, 1)));
        // A key's prefix, an index past the end and a path below a scalar
        // are nowhere.
        assert_eq!(at("tenants[1].nam"), None);
        assert_eq!(at("tenants[2]"), None);
        assert_eq!(at("tenants[1].name.first"), None);
        assert_eq!(at("tenants.name"), None);
    }

    #[test]
    fn an_expired_exception_is_a_warning_at_its_date_not_an_error() {
        let config = load_str("t.yaml", EXCEPTIONS).expect("loads");
        assert!(config.warnings("2026-06-30").is_empty());
        let w = config.warnings("2026-07-01");
        assert_eq!(w.len(), 1, "{w:#?}");
        assert_eq!((w[0].line, w[0].column), (23, 18));
        assert_eq!(w[0].path, "tenants[0].exceptions[0].expires");
        assert!(
            w[0].message.contains("expired on 2026-06-30"),
            "{}",
            w[0].message
        );
    }

    #[test]
    fn an_exception_names_a_known_setting_a_value_of_its_form_and_a_real_date() {
        let yaml = format!(
            "version: 1\n{TENANT}    exceptions:
      - setting: passwordProtection.lockoutTreshold
        value: 20
        reason: r
        owner: o
        expires: 2027-02-30
      - setting: passwordProtection.lockoutThreshold
        value: lots
        reason: r
        owner: o
        expires: 2027-01-01
      - setting: selfServicePasswordReset.helpdesk.contact
        value: x
        reason: r
        owner: o
        expires: 2027-01-01
"
        );
        let found = problems(&yaml);
        let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 4, "{lines:#?}");
        assert!(
            lines[0].starts_with("t.yaml:7:18: tenants[0].exceptions[0].setting: unknown setting"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("did you mean `passwordProtection.lockoutThreshold`?"));
        assert!(
            lines[1].starts_with(
                "t.yaml:11:18: tenants[0].exceptions[0].expires: 2027-02-30 is not a date"
            ),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("t.yaml:13:16: tenants[0].exceptions[1].value: not a value of passwordProtection.lockoutThreshold"), "{}", lines[2]);
        assert!(lines[3].contains("has no lint rule"), "{}", lines[3]);
    }
}
