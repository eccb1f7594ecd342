//! Human rendering of a plan. Layout is for people (not a compatibility
//! contract); colour only when the caller says so.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::Value;
use ssprctl_model::Api;
use ssprctl_model::text::escape_controls;

use crate::types::{Change, Plan, Risk, Severity, TenantPlan};

/// Rendering options.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOpts {
    /// Emit ANSI colours.
    pub color: bool,
    /// Show tenants whose plans are identical (changes, unknowns, findings,
    /// lint) once, as a group with their names (`plan --group`): groups with
    /// errors and weakening changes first. Every change of every group is
    /// shown; only tenant names beyond [`GROUP_NAMES`] and per-tenant
    /// readiness figures beyond as many tenants are left to the JSON plan.
    pub group: bool,
}

/// How many tenant names, and tenants' readiness figures, a group shows in
/// the grouped human plan.
pub const GROUP_NAMES: usize = 10;

struct Paint {
    on: bool,
}

impl Paint {
    fn with(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.with(Style::new().bold(), t)
    }
    fn dim(&self, t: &str) -> String {
        self.with(Style::new().dimmed(), t)
    }
    fn color(&self, c: AnsiColor, t: &str) -> String {
        self.with(Style::new().fg_color(Some(c.into())), t)
    }
}

/// Renders the whole plan for a terminal or a log, then the closing summary
/// (with more than one tenant, also the fleet line of
/// [`crate::group::FleetSummary`]).
pub fn human(plan: &Plan, opts: &RenderOpts) -> String {
    let mut all = String::new();
    let done: Result<(), std::convert::Infallible> = human_in_pieces(plan, opts, |piece| {
        all.push_str(piece);
        Ok(())
    });
    match done {
        Ok(()) => all,
    }
}

/// How much of the human plan [`human_in_pieces`] renders before it hands a
/// piece on.
const PIECE: usize = 64 * 1024;

/// [`human`], handed to `emit` in pieces of about 64 KiB as it is rendered
/// (whole tenants or groups, the summary last), so that a plan of thousands
/// of tenants is never all in memory as text (10,000 tenants with a few lint
/// warnings each are about 10 MB of it). Stops at `emit`'s first error.
pub fn human_in_pieces<E>(
    plan: &Plan,
    opts: &RenderOpts,
    mut emit: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let p = Paint { on: opts.color };
    let mut out = String::new();
    let mut hand_on = |out: &mut String, last: bool| {
        if out.len() >= PIECE || (last && !out.is_empty()) {
            emit(out)?;
            out.clear();
        }
        Ok(())
    };
    if opts.group {
        for g in crate::group::groups(plan) {
            render_group(&mut out, &g, &p);
            out.push('\n');
            hand_on(&mut out, false)?;
        }
    } else {
        for tenant in &plan.tenants {
            render_tenant(&mut out, tenant, &p);
            out.push('\n');
            hand_on(&mut out, false)?;
        }
    }
    out.push_str(&summary(plan, &p));
    out.push('\n');
    if plan.tenants.len() > 1 {
        out.push_str(&crate::group::FleetSummary::of(plan).line());
        out.push_str(".\n");
    }
    hand_on(&mut out, true)
}

fn render_tenant(out: &mut String, t: &TenantPlan, p: &Paint) {
    let _ = writeln!(
        out,
        "{} {}",
        p.bold(&format!("Tenant {}", clean(&t.name))),
        p.dim(&format!("({})", clean(&t.tenant_id)))
    );
    render_body(out, t, p, &t.readiness);
    render_counts(out, t, p, "");
}

/// A group of tenants with identical plans: their names, then the plan they
/// share, readiness per tenant when it differs.
fn render_group(out: &mut String, g: &crate::group::Group<'_>, p: &Paint) {
    let [one] = g.tenants.as_slice() else {
        let names: Vec<String> = g.tenants.iter().map(|t| clean(&t.name)).collect();
        let _ = writeln!(
            out,
            "{} {}",
            p.bold(&format!(
                "{} tenants with the same plan:",
                crate::group::thousands(names.len())
            )),
            crate::group::bounded(&names, GROUP_NAMES)
        );
        let t = g.first();
        let first = &t.readiness;
        if g.tenants.iter().all(|o| &o.readiness == first) {
            render_body(out, t, p, first);
        } else {
            render_body(out, t, p, &[]);
            let with: Vec<_> = g
                .tenants
                .iter()
                .filter(|o| !o.readiness.is_empty())
                .collect();
            for o in with.iter().take(GROUP_NAMES) {
                for line in &o.readiness {
                    let _ = writeln!(
                        out,
                        "  {} {}: {}",
                        p.color(AnsiColor::Cyan, "readiness:"),
                        clean(&o.name),
                        clean(line)
                    );
                }
            }
            let more = with.len().saturating_sub(GROUP_NAMES);
            if more > 0 {
                let _ = writeln!(
                    out,
                    "  {} of {} more tenant{}: in the JSON plan (--json)",
                    p.color(AnsiColor::Cyan, "readiness"),
                    crate::group::thousands(more),
                    plural(more)
                );
            }
        }
        let same = g
            .tenants
            .iter()
            .all(|o| o.unchanged == t.unchanged && o.unmanaged == t.unmanaged);
        if same {
            render_counts(out, t, p, " in each tenant");
        } else {
            let _ = writeln!(
                out,
                "  {}",
                p.dim(&format!("{} to change in each tenant", t.changes.len()))
            );
        }
        return;
    };
    render_tenant(out, one, p);
}

/// What a tenant's plan says, below its heading.
fn render_body(out: &mut String, t: &TenantPlan, p: &Paint, readiness: &[String]) {
    if t.changes.is_empty() && t.unknown.is_empty() {
        let _ = writeln!(
            out,
            "  No changes. {} managed setting{} already as desired.",
            t.unchanged,
            plural(t.unchanged)
        );
    }
    let mut current: Option<Api> = None;
    for c in &t.changes {
        if current != Some(c.api) {
            current = Some(c.api);
            let note = if c.api.documented() {
                String::new()
            } else {
                format!(" {}", p.color(AnsiColor::Yellow, "(undocumented API)"))
            };
            let _ = writeln!(
                out,
                "  {}{}",
                p.dim(&format!("via {}", c.api.label())),
                note
            );
        }
        render_change(out, c, p);
    }
    for u in &t.unknown {
        let _ = writeln!(
            out,
            "  {} {} — {} managed setting{} unknown: {}",
            p.color(AnsiColor::Magenta, "?"),
            u.api.label(),
            u.paths.len(),
            plural(u.paths.len()),
            clean(&u.reason)
        );
    }
    for line in readiness {
        let _ = writeln!(
            out,
            "  {} {}",
            p.color(AnsiColor::Cyan, "readiness:"),
            clean(line)
        );
    }
    for f in &t.findings {
        let (label, color) = match f.severity {
            Severity::Error => ("error", AnsiColor::Red),
            Severity::Warning => ("warning", AnsiColor::Yellow),
        };
        let _ = writeln!(
            out,
            "  {}: {}: {}",
            p.color(color, label),
            clean(&f.path),
            clean(&f.message)
        );
    }
    for line in crate::lint::plan_lines(&t.lint) {
        let _ = writeln!(
            out,
            "  {} {}",
            p.color(AnsiColor::Yellow, "lint:"),
            clean(&line)
        );
    }
}

/// The counts line of a tenant (or, with `each`, of every tenant of a group).
fn render_counts(out: &mut String, t: &TenantPlan, p: &Paint, each: &str) {
    if !t.changes.is_empty() || !t.unknown.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            p.dim(&format!(
                "{} to change, {} unchanged, {} unmanaged (left alone){each}",
                t.changes.len(),
                t.unchanged,
                t.unmanaged
            ))
        );
    } else if t.unmanaged > 0 {
        let _ = writeln!(
            out,
            "  {}",
            p.dim(&format!("{} unmanaged (left alone){each}", t.unmanaged))
        );
    }
}

/// A change, with its risk: weakening changes get a line of their own with the
/// reason and control (a reviewer must not miss them); strengthening ones a
/// short note on the same line (the reason is in the JSON and Markdown plans).
fn render_change(out: &mut String, c: &Change, p: &Paint) {
    let note = match c.risk {
        Risk::Strengthening => format!("  {}", p.color(AnsiColor::Green, "(strengthening)")),
        _ => String::new(),
    };
    render_value_change(out, c, p, &note);
    if c.risk == Risk::Weakening {
        let control = c
            .control
            .as_deref()
            .map(|k| format!(" [{k}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "        {} {}{}",
            p.color(AnsiColor::Red, "! weakening:"),
            clean(&c.reason),
            p.dim(&clean(&control))
        );
    }
}

fn render_value_change(out: &mut String, c: &Change, p: &Paint, note: &str) {
    let symbol = p.color(AnsiColor::Yellow, c.action.symbol());
    match (&c.before, &c.after) {
        (before, Value::Array(after)) if before.is_array() || before.is_null() => {
            let before: Vec<String> = before
                .as_array()
                .map(|a| a.iter().map(display).collect())
                .unwrap_or_default();
            let after: Vec<String> = after.iter().map(display).collect();
            let _ = writeln!(out, "    {symbol} {}:{note}", c.path);
            let mut old = before.clone();
            let mut new = after.clone();
            old.sort_by_key(|s| s.to_lowercase());
            new.sort_by_key(|s| s.to_lowercase());
            for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new) {
                for change in op.iter_changes(&old, &new) {
                    let line = match change.tag() {
                        similar::ChangeTag::Delete => {
                            p.color(AnsiColor::Red, &format!("- {}", change.value()))
                        }
                        similar::ChangeTag::Insert => {
                            p.color(AnsiColor::Green, &format!("+ {}", change.value()))
                        }
                        similar::ChangeTag::Equal => p.dim(&format!("  {}", change.value())),
                    };
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
        (before, after) => {
            let _ = writeln!(
                out,
                "    {symbol} {}: {} {} {}{note}",
                c.path,
                p.color(AnsiColor::Red, &display(before)),
                p.dim("->"),
                p.color(AnsiColor::Green, &display(after))
            );
        }
    }
}

/// Text from a configuration or a live tenant, safe for a terminal: control
/// characters (escape sequences, bidi overrides, NUL, …) are shown escaped.
pub(crate) fn clean(s: &str) -> String {
    escape_controls(s)
}

/// A value as a person reads it, with control characters escaped.
pub(crate) fn display(v: &Value) -> String {
    let text = match v {
        Value::Null => "(not set)".into(),
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("id") => {
            let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
            match o.get("displayName").and_then(Value::as_str) {
                Some(name) if !name.is_empty() => format!("\"{name}\" ({id})"),
                _ => id.to_string(),
            }
        }
        other => other.to_string(),
    };
    clean(&text)
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The closing summary line.
fn summary(plan: &Plan, p_opts: &Paint) -> String {
    let changes = plan.change_count();
    let changed_tenants = plan
        .tenants
        .iter()
        .filter(|t| !t.changes.is_empty())
        .count();
    let unknown: usize = plan
        .tenants
        .iter()
        .flat_map(|t| &t.unknown)
        .map(|u| u.paths.len())
        .sum();
    let errors = plan
        .tenants
        .iter()
        .flat_map(|t| &t.findings)
        .filter(|f| f.severity == Severity::Error)
        .count();
    let weakening = plan.weakening_count();
    let mut line = if changes == 0 && unknown > 0 {
        // Nothing to compare is not a match.
        p_opts.bold("No changes found,") + " but not every managed setting could be read."
    } else if changes == 0 {
        p_opts.bold("No changes.") + " The live settings match the configuration."
    } else {
        let weak = if weakening > 0 {
            format!(" ({weakening} weakening)")
        } else {
            String::new()
        };
        p_opts.bold(&format!(
            "Plan: {changes} to change{weak} in {changed_tenants} of {} tenant{}.",
            plan.tenants.len(),
            plural(plan.tenants.len())
        ))
    };
    if unknown > 0 {
        line.push_str(&format!(
            " {unknown} setting{} unknown (could not be read).",
            plural(unknown)
        ));
    }
    if errors > 0 {
        let verb = if errors == 1 { "blocks" } else { "block" };
        line.push_str(&format!(" {errors} error{} {verb} apply.", plural(errors)));
    }
    line
}
