//! The views of a lint report: human text grouped by tenant, and SARIF 2.1.0
//! for code scanning (the JSON view is the report itself).

use std::collections::BTreeMap;
use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::{Value, json};
use serde_sarif::sarif;
use ssprctl_model::SourceLocation;
use ssprctl_model::text::escape_controls;
use ssprctl_plan::lint::{LintFinding, LintLevel, LintReport, LintStatus, Subject, rules};

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn value(v: &Value) -> String {
    escape_controls(&v.to_string())
}

/// `accepted until 2027-01-31 (reason; owner: identity team)`.
fn exception_line(f: &LintFinding) -> String {
    match &f.exception {
        Some(e) => format!(
            "accepted until {} ({}; owner: {})",
            e.expires,
            escape_controls(&e.reason),
            escape_controls(&e.owner)
        ),
        None => String::new(),
    }
}

/// `text` in `color` when `on`.
fn paint(on: bool, color: AnsiColor, text: &str) -> String {
    if on {
        let style = Style::new().fg_color(Some(color.into()));
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// The report for people: per tenant, each finding with its rule, level,
/// setting, value, recommendation, controls and file position; the labels
/// coloured when `color`.
pub fn human(report: &LintReport, color: bool) -> String {
    let mut out = String::new();
    for t in &report.tenants {
        let _ = writeln!(
            out,
            "Tenant {} ({})",
            escape_controls(&t.name),
            escape_controls(&t.tenant_id)
        );
        for f in &t.findings {
            let label = match (f.status, f.level) {
                (LintStatus::Open, LintLevel::Error) => paint(color, AnsiColor::Red, "error"),
                (LintStatus::Open, LintLevel::Warning) => {
                    paint(color, AnsiColor::Yellow, "warning")
                }
                (LintStatus::Open, LintLevel::Note) => paint(color, AnsiColor::Cyan, "note"),
                (LintStatus::Accepted, _) => paint(color, AnsiColor::Green, "accepted"),
                (LintStatus::Expired, _) => {
                    paint(color, AnsiColor::Red, "error (exception expired)")
                }
            };
            let at = f
                .location
                .as_ref()
                .map(|l| format!("  {l}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {label}: {} {} = {}, recommended {}{at}",
                f.rule,
                f.path,
                value(&f.value),
                f.recommended
            );
            match f.status {
                LintStatus::Open => {
                    let _ = writeln!(out, "      {}", f.rationale);
                }
                LintStatus::Accepted => {
                    let _ = writeln!(out, "      {}", exception_line(f));
                }
                LintStatus::Expired => {
                    let _ = writeln!(
                        out,
                        "      the exception expired: {}; {}",
                        exception_line(f),
                        f.rationale
                    );
                }
            }
            if !f.controls.is_empty() {
                let _ = writeln!(out, "      [{}]", f.controls.join("; "));
            }
        }
        for u in &t.unknown {
            let _ = writeln!(
                out,
                "  unknown: {} — {} rule{} not checked: {}",
                u.api.label(),
                u.paths.len(),
                plural(u.paths.len()),
                escape_controls(&u.reason)
            );
        }
        let open = t.findings.iter().filter(|f| f.counts()).count();
        let accepted = t.findings.len() - open;
        let mut line = format!(
            "  {} rule{} met, {open} finding{}",
            t.passed,
            plural(t.passed),
            plural(open)
        );
        if accepted > 0 {
            let _ = write!(line, ", {accepted} accepted");
        }
        if !t.moot.is_empty() {
            let n = t.moot.len();
            let mut why: Vec<&str> = t
                .moot
                .iter()
                .filter_map(|p| ssprctl_model::catalog::by_path(p))
                .filter_map(|f| f.lint.rule().and_then(|r| r.moot_when))
                .map(|m| m.why)
                .collect();
            why.dedup();
            let _ = write!(line, "; {n} rule{} moot ({})", plural(n), why.join("; "));
        }
        if !t.not_checked.is_empty() {
            let n = t.not_checked.len();
            let _ = write!(
                line,
                "; {n} rule{} not checked: the file does not manage {} setting{} (--live checks the tenant)",
                plural(n),
                if n == 1 { "its" } else { "their" },
                plural(n)
            );
        }
        let _ = writeln!(out, "{line}\n");
    }
    let counted: Vec<&LintFinding> = report.counted().collect();
    let count = |l: LintLevel| counted.iter().filter(|f| f.level == l).count();
    let accepted = report
        .tenants
        .iter()
        .flat_map(|t| &t.findings)
        .filter(|f| !f.counts())
        .count();
    let tenants = report
        .tenants
        .iter()
        .filter(|t| t.findings.iter().any(LintFinding::counts))
        .count();
    let what = match report.subject {
        Subject::Desired => "the file's settings",
        Subject::Live => "the live tenants",
    };
    if counted.is_empty() {
        let _ = write!(out, "Lint of {what}: no findings");
    } else {
        let _ = write!(
            out,
            "Lint of {what}: {} error{}, {} warning{}, {} note{} in {tenants} of {} tenant{}",
            count(LintLevel::Error),
            plural(count(LintLevel::Error)),
            count(LintLevel::Warning),
            plural(count(LintLevel::Warning)),
            count(LintLevel::Note),
            plural(count(LintLevel::Note)),
            report.tenants.len(),
            plural(report.tenants.len())
        );
    }
    if accepted > 0 {
        let _ = write!(out, ", {accepted} accepted");
    }
    out.push_str(".\n");
    out
}

fn level(l: LintLevel) -> Value {
    json!(l.label())
}

/// A control's tag for code scanning, e.g. `CIS M365 5.2.3.2`: the part of
/// its text before the title.
fn control_tag(control: &str) -> String {
    control
        .split(':')
        .next()
        .unwrap_or(control)
        .trim()
        .to_string()
}

/// The report as SARIF 2.1.0: one run, every rule in `tool.driver.rules`
/// (help text, controls in tags and properties), one result per finding,
/// located in the desired-state file at `uri` (relative to the repository),
/// accepted exceptions as suppressions.
pub fn sarif(report: &LintReport, uri: &str, version: &str) -> Result<String, serde_json::Error> {
    let all: Vec<_> = rules().collect();
    let descriptors: Vec<sarif::ReportingDescriptor> = all
        .iter()
        .map(|(field, rule)| {
            let controls: Vec<String> = field.controls.iter().map(ToString::to_string).collect();
            let mut tags = vec!["security".to_string()];
            tags.extend(controls.iter().map(|c| control_tag(c)));
            let mut extra = BTreeMap::new();
            extra.insert("setting".to_string(), json!(field.path));
            extra.insert("recommended".to_string(), json!(rule.expect.describe()));
            extra.insert("controls".to_string(), json!(controls));
            let help = format!(
                "Set {} {}: {}.{}",
                field.path,
                rule.expect.describe(),
                rule.rationale,
                if controls.is_empty() {
                    String::new()
                } else {
                    format!(" Controls: {}.", controls.join("; "))
                }
            );
            let help_md = format!(
                "Set `{}` {}: {}.\n\n{}\n\nAccept a deliberate exception with an `exceptions:` entry (docs/lint.md).",
                field.path,
                rule.expect.describe(),
                rule.rationale,
                if controls.is_empty() {
                    "No benchmark control.".to_string()
                } else {
                    controls
                        .iter()
                        .map(|c| format!("- {c}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            );
            sarif::ReportingDescriptor::builder()
                .id(rule.id)
                .name(field.path.replace('.', "/"))
                .short_description(
                    sarif::MultiformatMessageString::builder()
                        .text(format!("{} {}", field.path, rule.expect.describe()))
                        .build(),
                )
                .full_description(
                    sarif::MultiformatMessageString::builder()
                        .text(field.description)
                        .build(),
                )
                .help(
                    sarif::MultiformatMessageString::builder()
                        .text(help)
                        .markdown(help_md)
                        .build(),
                )
                .default_configuration(
                    sarif::ReportingConfiguration::builder()
                        .level(level(rule.level.into()))
                        .build(),
                )
                .properties(
                    sarif::PropertyBag::builder()
                        .tags(tags)
                        .additional_properties(extra)
                        .build(),
                )
                .build()
        })
        .collect();

    let located = |l: &SourceLocation| {
        sarif::Location::builder()
            .physical_location(
                sarif::PhysicalLocation::builder()
                    .artifact_location(sarif::ArtifactLocation::builder().uri(uri).build())
                    .region(
                        sarif::Region::builder()
                            .start_line(l.line as i64)
                            .start_column(l.column as i64)
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let mut results = Vec::new();
    for t in &report.tenants {
        for f in &t.findings {
            let index = all.iter().position(|(_, r)| r.id == f.rule);
            let mut text = format!(
                "Tenant {}: {} is {}; recommended {}: {}.",
                escape_controls(&t.name),
                f.path,
                value(&f.value),
                f.recommended,
                f.rationale
            );
            if f.status == LintStatus::Expired {
                let _ = write!(text, " The exception {} has expired.", exception_line(f));
            }
            if f.location.is_none() {
                text.push_str(" The file does not set it.");
            }
            let mut extra = BTreeMap::new();
            extra.insert("tenant".to_string(), json!(t.name));
            extra.insert("tenantId".to_string(), json!(t.tenant_id));
            extra.insert("setting".to_string(), json!(f.path));
            extra.insert("value".to_string(), f.value.clone());
            extra.insert("controls".to_string(), json!(f.controls));
            let mut fingerprints = BTreeMap::new();
            fingerprints.insert(
                "ssprctl/tenant-rule/v1".to_string(),
                format!("{}:{}", t.tenant_id, f.rule),
            );
            let at = f.location.as_ref().or(t.location.as_ref());
            let result = sarif::Result::builder()
                .rule_id(f.rule.clone())
                .level(match f.level {
                    LintLevel::Error => sarif::ResultLevel::Error,
                    LintLevel::Warning => sarif::ResultLevel::Warning,
                    LintLevel::Note => sarif::ResultLevel::Note,
                })
                .message(sarif::Message::builder().text(text).build())
                .locations(at.map(located).into_iter().collect::<Vec<_>>())
                .partial_fingerprints(fingerprints)
                .properties(
                    sarif::PropertyBag::builder()
                        .additional_properties(extra)
                        .build(),
                );
            let result = match (f.status, &f.exception) {
                (LintStatus::Accepted, Some(e)) => {
                    let mut suppression = sarif::Suppression::builder()
                        .kind(json!("inSource"))
                        .status(json!("accepted"))
                        .justification(format!(
                            "{} (owner: {}; until {})",
                            e.reason, e.owner, e.expires
                        ))
                        .build();
                    suppression.location = e.location.as_ref().map(located);
                    result.suppressions(vec![suppression])
                }
                _ => result.suppressions(Vec::new()),
            };
            let mut result = result.build();
            if let Some(i) = index {
                result.rule_index = Some(i as i64);
            }
            results.push(result);
        }
    }
    let run = sarif::Run::builder()
        .tool(
            sarif::Tool::builder()
                .driver(
                    sarif::ToolComponent::builder()
                        .name("ssprctl")
                        .version(version)
                        .semantic_version(version)
                        .rules(descriptors)
                        .build(),
                )
                .build(),
        )
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut text = serde_json::to_string_pretty(&log)?;
    text.push('\n');
    Ok(text)
}
