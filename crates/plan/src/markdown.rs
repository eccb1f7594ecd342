//! The plan as a pull-request comment (GitHub-flavoured Markdown): a summary
//! table of tenants x changes x risk, then details per tenant folded, with
//! unknowns and preflight errors visible without unfolding.

use std::fmt::Write;

use serde_json::Value;

use ssprctl_model::text::escape_controls;

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
    code(&s)
}

/// Untrusted text as a code span in a table cell: control characters escaped,
/// no backtick to break out of the span, no pipe to break the table.
fn code(s: &str) -> String {
    let s = escape_controls(s).replace('|', "\\|").replace('`', "'");
    format!("`{s}`")
}

/// Untrusted text as Markdown prose (also inside the HTML of `<details>`):
/// control characters escaped, HTML and Markdown syntax shown literally, so a
/// group name or an API message cannot add links, mentions, images or markup
/// to a pull-request comment.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_controls(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '@' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
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
    let headline = if changes == 0 && unknown > 0 {
        "No changes found, settings unknown".to_string()
    } else if changes == 0 {
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
            ":no_entry: **{errors} preflight error{}** {} apply",
            plural(errors),
            if errors == 1 { "blocks" } else { "block" }
        ));
    }
    if unknown > 0 {
        notes.push(format!(
            ":grey_question: **{unknown} setting{} unknown** (could not be read; not drift)",
            plural(unknown)
        ));
    }
    let lint = plan
        .tenants
        .iter()
        .flat_map(|t| &t.lint)
        .filter(|f| f.counts() && f.level <= crate::lint::LintLevel::Warning)
        .count();
    if lint > 0 {
        notes.push(format!(
            ":mag: **{lint} lint finding{}** at warning level or above after this plan (listed per tenant; they do not block apply)",
            plural(lint)
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
            "| {} | {} | {} | {} | {} | {} |",
            code(&t.name),
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
                "\n> :no_entry: **{}** {}: {}",
                text(&t.name),
                code(&f.path),
                text(&f.message)
            );
        }
        for u in &t.unknown {
            let _ = writeln!(
                out,
                "\n> :grey_question: **{}** {}: {} setting{} unknown: {}",
                text(&t.name),
                u.api.label(),
                u.paths.len(),
                plural(u.paths.len()),
                text(&u.reason)
            );
        }
    }
    for t in plan.tenants.iter().filter(|t| {
        !t.changes.is_empty()
            || !t.findings.is_empty()
            || !t.readiness.is_empty()
            || !t.lint.is_empty()
    }) {
        let _ = writeln!(
            out,
            "\n<details><summary><b>{}</b> ({}): {} change{}</summary>\n",
            text(&t.name),
            text(&t.tenant_id),
            t.changes.len(),
            plural(t.changes.len())
        );
        if !t.changes.is_empty() {
            let _ = writeln!(out, "| Setting | Before | After | Risk | API |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for c in &t.changes {
                let risk = match c.risk {
                    Risk::Weakening => format!(":warning: weakening: {}", text(&c.reason)),
                    Risk::Strengthening => format!("strengthening: {}", text(&c.reason)),
                    Risk::Neutral => "neutral".to_string(),
                };
                let control = c
                    .control
                    .as_deref()
                    .map(|k| format!(" ({})", text(k)))
                    .unwrap_or_default();
                let api = if c.api.documented() {
                    c.api.label().to_string()
                } else {
                    format!("{} (undocumented)", c.api.label())
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {risk}{control} | {api} |",
                    code(&c.path),
                    cell(&c.before),
                    cell(&c.after)
                );
            }
        }
        for line in &t.readiness {
            let _ = writeln!(out, "\n:busts_in_silhouette: {}", text(line));
        }
        for f in &t.findings {
            let icon = if f.severity == Severity::Error {
                ":no_entry:"
            } else {
                ":warning:"
            };
            let _ = writeln!(
                out,
                "\n{icon} {} ({}): {}",
                code(&f.path),
                text(&f.check),
                text(&f.message)
            );
        }
        let lint = crate::lint::plan_lines(&t.lint);
        if !lint.is_empty() {
            let _ = writeln!(
                out,
                "\n**Lint** (after the changes; does not block apply):\n"
            );
            for line in lint {
                let _ = writeln!(out, "- {}", text(&line));
            }
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_cannot_add_markup_to_a_comment() {
        let hostile = "</details><img src=x onerror=alert(1)> [click](https://evil.example) @team **x** \u{1b}[31m\u{202e}";
        let t = text(hostile);
        assert!(
            !t.contains('<') && !t.contains('\u{1b}') && !t.contains('\u{202e}'),
            "{t}"
        );
        assert!(
            t.contains("\\[click\\]") && t.contains("\\@team") && t.contains("\\*\\*x"),
            "{t}"
        );
        let c = code("a`b|c\u{7}");
        assert_eq!(c, "`a'b\\|c\\u{7}`");
    }
}
