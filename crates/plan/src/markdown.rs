//! The plan as a pull-request comment (GitHub-flavoured Markdown): a summary
//! table of tenants x changes x risk, then details per tenant folded, with
//! unknowns and preflight errors visible without unfolding.

use std::fmt::Write;

use serde_json::Value;

use crate::render::{display, plural};
use crate::types::{Plan, Risk, Severity};

/// A marker a workflow can search for to update its own comment.
pub const COMMENT_MARKER: &str = "<!-- ssprctl-plan -->";

fn cell(v: &Value) -> String {
    let s = match v {
        Value::Array(items) if items.is_empty() => "(none)".to_string(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => display(other),
    };
    let s = s.replace('|', "\\|").replace('\n', " ");
    format!("`{}`", s.replace('`', "'"))
}

/// Renders the plan as Markdown.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{COMMENT_MARKER}");
    let changes = plan.change_count();
    let weakening = plan.weakening_count();
    let errors = plan
        .tenants
        .iter()
        .flat_map(|t| &t.findings)
        .filter(|f| f.severity == Severity::Error)
        .count();
    let unknown: usize = plan
        .tenants
        .iter()
        .flat_map(|t| &t.unknown)
        .map(|u| u.paths.len())
        .sum();
    let headline = if changes == 0 {
        "No changes".to_string()
    } else {
        format!("{changes} change{}", plural(changes))
    };
    let _ = writeln!(out, "### ssprctl plan: {headline}\n");
    let mut notes = Vec::new();
    if weakening > 0 {
        notes.push(format!(
            ":warning: **{weakening} weakening change{}** (apply needs `--allow-weakening`)",
            plural(weakening)
        ));
    }
    if errors > 0 {
        notes.push(format!(
            ":no_entry: **{errors} preflight error{}** block apply",
            plural(errors)
        ));
    }
    if unknown > 0 {
        notes.push(format!(
            ":grey_question: **{unknown} setting{} unknown** (could not be read; not drift)",
            plural(unknown)
        ));
    }
    for n in &notes {
        let _ = writeln!(out, "- {n}");
    }
    if !notes.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "| Tenant | Changes | Weakening | Strengthening | Unknown | Errors |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for t in &plan.tenants {
        let count = |r: Risk| t.changes.iter().filter(|c| c.risk == r).count();
        let unknown: usize = t.unknown.iter().map(|u| u.paths.len()).sum();
        let errs = t
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            t.name,
            t.changes.len(),
            count(Risk::Weakening),
            count(Risk::Strengthening),
            unknown,
            errs
        );
    }
    for t in &plan.tenants {
        for f in t.findings.iter().filter(|f| f.severity == Severity::Error) {
            let _ = writeln!(
                out,
                "\n> :no_entry: **{}** `{}`: {}",
                t.name, f.path, f.message
            );
        }
        for u in &t.unknown {
            let _ = writeln!(
                out,
                "\n> :grey_question: **{}** {}: {} setting{} unknown: {}",
                t.name,
                u.api.label(),
                u.paths.len(),
                plural(u.paths.len()),
                u.reason
            );
        }
    }
    for t in plan
        .tenants
        .iter()
        .filter(|t| !t.changes.is_empty() || !t.findings.is_empty() || !t.readiness.is_empty())
    {
        let _ = writeln!(
            out,
            "\n<details><summary><b>{}</b> ({}): {} change{}</summary>\n",
            t.name,
            t.tenant_id,
            t.changes.len(),
            plural(t.changes.len())
        );
        if !t.changes.is_empty() {
            let _ = writeln!(out, "| Setting | Before | After | Risk | API |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for c in &t.changes {
                let risk = match c.risk {
                    Risk::Weakening => format!(":warning: weakening: {}", c.reason),
                    Risk::Strengthening => format!("strengthening: {}", c.reason),
                    Risk::Neutral => "neutral".to_string(),
                };
                let control = c
                    .control
                    .as_deref()
                    .map(|k| format!(" ({k})"))
                    .unwrap_or_default();
                let api = if c.api.documented() {
                    c.api.label().to_string()
                } else {
                    format!("{} (undocumented)", c.api.label())
                };
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {risk}{control} | {api} |",
                    c.path,
                    cell(&c.before),
                    cell(&c.after)
                );
            }
        }
        for line in &t.readiness {
            let _ = writeln!(out, "\n:busts_in_silhouette: {line}");
        }
        for f in &t.findings {
            let icon = if f.severity == Severity::Error {
                ":no_entry:"
            } else {
                ":warning:"
            };
            let _ = writeln!(out, "\n{icon} `{}` ({}): {}", f.path, f.check, f.message);
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
