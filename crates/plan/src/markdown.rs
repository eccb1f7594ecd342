//! The plan as a pull-request comment (GitHub-flavoured Markdown): the
//! summary first, a table of tenants x changes x risk, unknowns and preflight
//! errors visible without unfolding, then details folded. Tenants whose plans
//! are identical are one group ("The same 6 changes in 300 tenants"), groups
//! with errors and weakening changes first; the whole fits a character budget
//! (by default GitHub's comment limit), cutting least essential detail first
//! and never a weakening change or an error.

use std::fmt::Write;

use serde_json::Value;

use ssprctl_model::text::escape_controls;

use crate::group::{FleetSummary, Group, bounded, thousands};
use crate::render::{display, plural};
use crate::types::{Change, Plan, Risk, Severity};

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

/// The default character budget of a Markdown plan: GitHub's limit on the
/// body of a pull-request comment (65,536 characters).
pub const DEFAULT_LIMIT: usize = 65_536;

/// Markdown rendering options.
#[derive(Clone, Copy, Debug)]
pub struct MarkdownOpts {
    /// The most characters the plan may have. Detail is cut to fit, least
    /// essential first (tenant names, lint lists, readiness figures, the
    /// details and then the table rows of groups without weakening changes or
    /// errors, the other changes of the groups with them); a weakening change
    /// or an error is never cut, and the plan says what was.
    pub limit: usize,
}

impl Default for MarkdownOpts {
    fn default() -> Self {
        MarkdownOpts {
            limit: DEFAULT_LIMIT,
        }
    }
}

/// Renders the plan as Markdown within [`DEFAULT_LIMIT`] characters.
pub fn markdown(plan: &Plan) -> String {
    markdown_with(plan, &MarkdownOpts::default())
}

/// How much of each group a rendering shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Detail {
    /// Tenant names listed in a group's details.
    names: usize,
    /// Tenant names in a group's table row and notes.
    row_names: usize,
    /// Lint lists in details.
    lint: bool,
    /// Tenants whose readiness lines a group shows when they differ.
    readiness: usize,
    /// Groups without weakening changes or errors that keep their details.
    rest_details: usize,
    /// Groups without weakening changes or errors that keep their table row.
    rest_rows: usize,
    /// Changes other than weakening ones in the groups with weakening
    /// changes or errors, and their warning findings.
    essential_others: bool,
}

impl Detail {
    const FULL: Detail = Detail {
        names: 50,
        row_names: 3,
        lint: true,
        readiness: 10,
        rest_details: usize::MAX,
        rest_rows: usize::MAX,
        essential_others: true,
    };
}

/// Renders the plan as Markdown within `opts.limit` characters when cutting
/// what may be cut is enough: tenants with identical plans are one group,
/// groups with errors and weakening changes first.
pub fn markdown_with(plan: &Plan, opts: &MarkdownOpts) -> String {
    let groups = crate::group::groups(plan);
    let rest = groups.iter().filter(|g| !g.essential()).count();
    let fits = |d: &Detail| {
        let text = render(plan, &groups, d, opts.limit, false);
        (text.chars().count() <= opts.limit).then_some(text)
    };
    let mut d = Detail::FULL;
    if let Some(text) = fits(&d) {
        return text;
    }
    // Fixed steps first, least essential first.
    let steps: [fn(&mut Detail); 4] = [
        |d| d.names = 20,
        |d| {
            d.names = 5;
            d.lint = false;
        },
        |d| d.readiness = 1,
        |d| d.readiness = 0,
    ];
    for step in steps {
        step(&mut d);
        if let Some(text) = fits(&d) {
            return text;
        }
    }
    // Then the details, and then the table rows, of the least urgent groups
    // without weakening changes or errors: keep as many as fit.
    for field in [
        (|d: &mut Detail, n| d.rest_details = n) as fn(&mut Detail, usize),
        |d, n| d.rest_rows = n,
    ] {
        field(&mut d, 0);
        if fits(&d).is_some() {
            let (mut lo, mut hi) = (0, rest);
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                let mut probe = d;
                field(&mut probe, mid);
                if fits(&probe).is_some() {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            field(&mut d, lo);
            if let Some(text) = fits(&d) {
                return text;
            }
        }
    }
    let steps: [fn(&mut Detail); 3] = [
        |d| d.essential_others = false,
        |d| d.names = 0,
        |d| d.row_names = 0,
    ];
    for step in steps {
        step(&mut d);
        if let Some(text) = fits(&d) {
            return text;
        }
    }
    render(plan, &groups, &d, opts.limit, true)
}

fn render(plan: &Plan, groups: &[Group<'_>], d: &Detail, limit: usize, over: bool) -> String {
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
        format!("{} change{}", thousands(changes), plural(changes))
    };
    let _ = writeln!(out, "### ssprctl plan: {headline}\n");
    if plan.tenants.len() > 1 {
        let _ = writeln!(out, "**{}**\n", FleetSummary::of(plan).line());
    }
    let mut notes = Vec::new();
    if weakening > 0 {
        notes.push(format!(
            ":warning: **{} weakening change{}** (apply needs `--allow-weakening`)",
            thousands(weakening),
            plural(weakening)
        ));
    }
    if errors > 0 {
        notes.push(format!(
            ":no_entry: **{} preflight error{}** {} apply",
            thousands(errors),
            plural(errors),
            if errors == 1 { "blocks" } else { "block" }
        ));
    }
    if unknown > 0 {
        notes.push(format!(
            ":grey_question: **{} setting{} unknown** (could not be read; not drift)",
            thousands(unknown),
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
            ":mag: **{} lint finding{}** at warning level or above after this plan (listed per tenant; they do not block apply)",
            thousands(lint),
            plural(lint)
        ));
    }
    for n in &notes {
        let _ = writeln!(out, "- {n}");
    }
    if !notes.is_empty() {
        out.push('\n');
    }
    if let Some(note) = cut_note(groups, d, limit, over) {
        let _ = writeln!(out, "{note}\n");
    }
    let grouped = groups.iter().any(|g| g.tenants.len() > 1);
    if grouped {
        let _ = writeln!(
            out,
            "Tenants with identical changes, findings and unknowns are grouped; counts are per tenant.\n"
        );
    }
    let _ = writeln!(
        out,
        "| {} | Changes | Weakening | Strengthening | Unknown | Errors |",
        if grouped { "Tenants" } else { "Tenant" }
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    let mut rest_seen = 0;
    let (mut rows_left_out, mut tenants_left_out) = (0, 0);
    for g in groups {
        if !g.essential() {
            rest_seen += 1;
            if rest_seen > d.rest_rows {
                rows_left_out += 1;
                tenants_left_out += g.tenants.len();
                continue;
            }
        }
        let t = g.first();
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
            who(g, d.row_names, code),
            t.changes.len(),
            count(Risk::Weakening),
            count(Risk::Strengthening),
            unknown,
            errs
        );
    }
    if rows_left_out > 0 {
        let _ = writeln!(
            out,
            "\n_{} more group{} of {} tenant{} without weakening changes or errors: in the JSON plan._",
            thousands(rows_left_out),
            plural(rows_left_out),
            thousands(tenants_left_out),
            plural(tenants_left_out)
        );
    }
    for g in groups {
        let t = g.first();
        let name = who(g, d.row_names, text);
        for f in t.findings.iter().filter(|f| f.severity == Severity::Error) {
            let _ = writeln!(
                out,
                "\n> :no_entry: **{name}** {}: {}",
                code(&f.path),
                text(&f.message)
            );
        }
        for u in &t.unknown {
            let _ = writeln!(
                out,
                "\n> :grey_question: **{name}** {}: {} setting{} unknown: {}",
                u.api.label(),
                u.paths.len(),
                plural(u.paths.len()),
                text(&u.reason)
            );
        }
    }
    let mut rest_seen = 0;
    for g in groups {
        if !has_details(g) {
            continue;
        }
        if !g.essential() {
            rest_seen += 1;
            if rest_seen > d.rest_details {
                continue;
            }
        }
        details(&mut out, g, d);
    }
    out
}

/// Whether a group has anything to show in details.
fn has_details(g: &Group<'_>) -> bool {
    let t = g.first();
    !t.changes.is_empty()
        || !t.findings.is_empty()
        || !t.lint.is_empty()
        || g.tenants.iter().any(|t| !t.readiness.is_empty())
}

/// Who a group is: the tenant's name, or `N tenants` with some names.
fn who(g: &Group<'_>, shown: usize, escape: fn(&str) -> String) -> String {
    match g.tenants.as_slice() {
        [one] => escape(&one.name),
        many => {
            let names: Vec<String> = many.iter().map(|t| escape(&t.name)).collect();
            if shown == 0 {
                format!("{} tenants", thousands(many.len()))
            } else {
                format!(
                    "{} tenants: {}",
                    thousands(many.len()),
                    bounded(&names, shown)
                )
            }
        }
    }
}

/// What a shortened plan left out, and where the rest is.
fn cut_note(groups: &[Group<'_>], d: &Detail, limit: usize, over: bool) -> Option<String> {
    let mut cut = Vec::new();
    let full = Detail::FULL;
    let names_cut = groups.iter().any(|g| g.tenants.len() > d.names);
    if (d.names < full.names || d.row_names < full.row_names) && names_cut {
        cut.push(if d.names == 0 {
            "tenant names of groups".to_string()
        } else {
            format!("tenant names beyond {} per group", d.names)
        });
    }
    let lint = groups.iter().any(|g| !g.first().lint.is_empty());
    if !d.lint && lint {
        cut.push("lint lists".to_string());
    }
    let readiness = groups
        .iter()
        .any(|g| g.tenants.iter().any(|t| !t.readiness.is_empty()));
    if d.readiness < full.readiness && readiness {
        cut.push(if d.readiness == 0 {
            "readiness figures".to_string()
        } else {
            "readiness figures beyond one tenant per group".to_string()
        });
    }
    let hidden = |keep: usize, details: bool| {
        let rest: Vec<&Group<'_>> = groups
            .iter()
            .filter(|g| !g.essential() && (!details || has_details(g)))
            .collect();
        let gone = &rest[keep.min(rest.len())..];
        (
            gone.len(),
            gone.iter().map(|g| g.tenants.len()).sum::<usize>(),
        )
    };
    let (groups_gone, tenants_gone) = hidden(d.rest_details, true);
    if groups_gone > 0 {
        cut.push(format!(
            "the details of {} group{} ({} tenant{}) without weakening changes or errors",
            thousands(groups_gone),
            plural(groups_gone),
            thousands(tenants_gone),
            plural(tenants_gone)
        ));
    }
    let (rows_gone, _) = hidden(d.rest_rows, false);
    if rows_gone > 0 {
        cut.push(format!(
            "the table rows of {} group{} without weakening changes or errors",
            thousands(rows_gone),
            plural(rows_gone)
        ));
    }
    if !d.essential_others {
        cut.push(
            "the other changes and warnings of the groups with weakening changes or errors"
                .to_string(),
        );
    }
    if cut.is_empty() && !over {
        return None;
    }
    let mut note = format!(
        "> :scissors: **Shortened to fit {} characters**: left out {}. Every weakening change and every error is shown. \
         The full plan, tenant by tenant, is in the JSON plan (`ssprctl plan --json` or `--out FILE`; in CI, the plan artifact).",
        thousands(limit),
        if cut.is_empty() {
            "nothing that could be cut".to_string()
        } else {
            cut.join("; ")
        }
    );
    if over {
        note.push_str(&format!(
            "\n>\n> :warning: **Still longer than {} characters**: the weakening changes and errors alone do not fit; GitHub may refuse the comment. Read the JSON plan.",
            thousands(limit)
        ));
    }
    Some(note)
}

/// A group's folded details: its tenants, changes, readiness, findings, lint.
fn details(out: &mut String, g: &Group<'_>, d: &Detail) {
    let t = g.first();
    let essential = g.essential();
    match g.tenants.as_slice() {
        [one] => {
            let _ = writeln!(
                out,
                "\n<details><summary><b>{}</b> ({}): {} change{}</summary>\n",
                text(&one.name),
                text(&one.tenant_id),
                t.changes.len(),
                plural(t.changes.len())
            );
        }
        many => {
            let what = if t.changes.is_empty() {
                "No changes".to_string()
            } else {
                format!(
                    "The same {} change{}",
                    t.changes.len(),
                    plural(t.changes.len())
                )
            };
            let _ = writeln!(
                out,
                "\n<details><summary><b>{what} in {} tenants</b></summary>\n",
                thousands(many.len())
            );
            let names: Vec<String> = many.iter().map(|t| code(&t.name)).collect();
            if d.names == 0 {
                let _ = writeln!(out, "Tenants: every one is in the JSON plan.\n");
            } else {
                let all = if d.names < many.len() {
                    " (every tenant is in the JSON plan)"
                } else {
                    ""
                };
                let _ = writeln!(out, "Tenants: {}{all}.\n", bounded(&names, d.names));
            }
        }
    }
    let shown: Vec<&Change> = t
        .changes
        .iter()
        .filter(|c| !essential || d.essential_others || c.risk == Risk::Weakening)
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(out, "| Setting | Before | After | Risk | API |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for c in &shown {
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
    let others = t.changes.len() - shown.len();
    if others > 0 {
        let _ = writeln!(
            out,
            "\n_{} other change{} (strengthening or neutral): in the JSON plan._",
            others,
            plural(others)
        );
    }
    readiness(out, g, d);
    for f in &t.findings {
        let error = f.severity == Severity::Error;
        if !error && essential && !d.essential_others {
            continue;
        }
        let icon = if error { ":no_entry:" } else { ":warning:" };
        let _ = writeln!(
            out,
            "\n{icon} {} ({}): {}",
            code(&f.path),
            text(&f.check),
            text(&f.message)
        );
    }
    let lint = crate::lint::plan_lines(&t.lint);
    if d.lint && !lint.is_empty() {
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

/// Readiness lines: once when every tenant of the group has the same, else
/// per tenant for the first `d.readiness` tenants.
fn readiness(out: &mut String, g: &Group<'_>, d: &Detail) {
    if d.readiness == 0 {
        return;
    }
    let first = &g.first().readiness;
    if g.tenants.iter().all(|t| &t.readiness == first) {
        for line in first {
            let _ = writeln!(out, "\n:busts_in_silhouette: {}", text(line));
        }
        return;
    }
    let with: Vec<_> = g
        .tenants
        .iter()
        .filter(|t| !t.readiness.is_empty())
        .collect();
    for t in with.iter().take(d.readiness) {
        for line in &t.readiness {
            let _ = writeln!(
                out,
                "\n:busts_in_silhouette: **{}**: {}",
                text(&t.name),
                text(line)
            );
        }
    }
    let more = with.len().saturating_sub(d.readiness);
    if more > 0 {
        let _ = writeln!(
            out,
            "\n_Readiness of {} more tenant{}: in the JSON plan._",
            thousands(more),
            plural(more)
        );
    }
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
