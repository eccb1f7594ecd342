//! The views of `report`: human tables and Markdown (JSON is the
//! [`Report`] value itself). Every text that came from a tenant or the API is
//! escaped: control characters in a terminal, and Markdown in Markdown.

use std::fmt::Write as _;

use ssprctl_engine::report::{Counts, Readout, Report, TenantReport, Usage};

use crate::out::escape_controls;

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// A coverage row: its label and the column it counts.
pub(crate) type CountRow = (&'static str, fn(&Counts) -> u64);

pub(crate) fn count_rows() -> [CountRow; 5] {
    [
        ("in the report", |k| k.total),
        ("SSPR enabled", |k| k.enabled),
        ("SSPR registered", |k| k.registered),
        ("SSPR capable", |k| k.capable),
        ("enabled, not registered", |k| k.enabled_not_registered),
    ]
}

fn window(report: &Report) -> String {
    format!(
        "{} to {} ({} day{})",
        report.since,
        report.until,
        report.days,
        if report.days == 1 { "" } else { "s" }
    )
}

/// The report as text tables for a terminal.
pub fn human(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Self-service password reset report, usage {}",
        window(report)
    );
    for t in &report.tenants {
        human_tenant(&mut s, t);
    }
    s
}

fn human_tenant(s: &mut String, t: &TenantReport) {
    let _ = writeln!(
        s,
        "\n{} ({})",
        escape_controls(&t.name),
        escape_controls(&t.tenant_id)
    );
    match &t.coverage {
        Readout::Unknown { reason } => {
            let _ = writeln!(s, "  Coverage: unknown: {}", escape_controls(reason));
        }
        Readout::Known { value: c } => {
            let _ = writeln!(s, "  {:<38}{:>14} {:>14}", "Coverage", "users", "admins");
            for (label, get) in count_rows() {
                let cell = |k: &Counts| {
                    if label == "in the report" {
                        get(k).to_string()
                    } else {
                        format!("{} {:>6}", get(k), percent(get(k), k.total))
                    }
                };
                let _ = writeln!(
                    s,
                    "    {label:<36}{:>14} {:>14}",
                    cell(&c.users),
                    cell(&c.admins)
                );
            }
            if !c.by_method.is_empty() {
                let _ = writeln!(
                    s,
                    "  {:<38}{:>14} {:>14}",
                    "Methods registered", "users", "admins"
                );
                for m in &c.by_method {
                    let _ = writeln!(
                        s,
                        "    {:<36}{:>14} {:>14}",
                        escape_controls(&m.method),
                        m.users,
                        m.admins
                    );
                }
            }
        }
    }
    match &t.usage {
        Readout::Unknown { reason } => {
            let _ = writeln!(s, "  Usage: unknown: {}", escape_controls(reason));
        }
        Readout::Known { value: u } => human_usage(s, u),
    }
}

fn human_usage(s: &mut String, u: &Usage) {
    let _ = writeln!(s, "  {:<38}{:>14} {:>14}", "Usage", "succeeded", "failed");
    let _ = writeln!(
        s,
        "    {:<36}{:>14} {:>14}",
        "password resets", u.resets.succeeded, u.resets.failed
    );
    let _ = writeln!(
        s,
        "    {:<36}{:>14} {:>14}",
        "account unlocks", u.unlocks.succeeded, u.unlocks.failed
    );
    let _ = writeln!(s, "    {:<36}{:>14}", "users blocked", u.blocked);
    if !u.by_reason.is_empty() {
        let _ = writeln!(s, "  Failure reasons");
        for r in &u.by_reason {
            let _ = writeln!(s, "    {:>6}  {}", r.count, escape_controls(&r.reason));
        }
    }
    let _ = writeln!(
        s,
        "  By day        resets ok/failed   unlocks ok/failed   blocked"
    );
    for d in &u.by_day {
        let _ = writeln!(
            s,
            "    {}  {:>8}/{:<8} {:>9}/{:<9} {:>7}",
            d.date,
            d.resets.succeeded,
            d.resets.failed,
            d.unlocks.succeeded,
            d.unlocks.failed,
            d.blocked
        );
    }
}

/// Text for a Markdown table cell: no control characters, no table breaks,
/// no markup.
fn md(text: &str) -> String {
    escape_controls(text)
        .chars()
        .flat_map(|c| match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The report as Markdown (a job summary, an issue, a wiki page).
pub fn markdown(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Self-service password reset report\n");
    let _ = writeln!(s, "Usage {}.", window(report));
    for t in &report.tenants {
        let _ = writeln!(s, "\n## {} ({})\n", md(&t.name), md(&t.tenant_id));
        match &t.coverage {
            Readout::Unknown { reason } => {
                let _ = writeln!(s, "**Coverage unknown:** {}", md(reason));
            }
            Readout::Known { value: c } => {
                let _ = writeln!(s, "| Coverage | Users | Admins |\n|---|---:|---:|");
                for (label, get) in count_rows() {
                    let cell = |k: &Counts| {
                        if label == "in the report" {
                            get(k).to_string()
                        } else {
                            format!("{} ({})", get(k), percent(get(k), k.total))
                        }
                    };
                    let _ = writeln!(s, "| {label} | {} | {} |", cell(&c.users), cell(&c.admins));
                }
                if !c.by_method.is_empty() {
                    let _ = writeln!(
                        s,
                        "\n| Method registered | Users | Admins |\n|---|---:|---:|"
                    );
                    for m in &c.by_method {
                        let _ = writeln!(s, "| {} | {} | {} |", md(&m.method), m.users, m.admins);
                    }
                }
            }
        }
        s.push('\n');
        match &t.usage {
            Readout::Unknown { reason } => {
                let _ = writeln!(s, "**Usage unknown:** {}", md(reason));
            }
            Readout::Known { value: u } => {
                let _ = writeln!(
                    s,
                    "| Usage | Succeeded | Failed |\n|---|---:|---:|\n| password resets | {} | {} |\n| account unlocks | {} | {} |\n| users blocked | {} | |",
                    u.resets.succeeded,
                    u.resets.failed,
                    u.unlocks.succeeded,
                    u.unlocks.failed,
                    u.blocked
                );
                if !u.by_reason.is_empty() {
                    let _ = writeln!(s, "\n| Failure reason | Count |\n|---|---:|");
                    for r in &u.by_reason {
                        let _ = writeln!(s, "| {} | {} |", md(&r.reason), r.count);
                    }
                }
                let _ = writeln!(
                    s,
                    "\n<details><summary>By day</summary>\n\n| Day | Resets ok | Resets failed | Unlocks ok | Unlocks failed | Blocked |\n|---|---:|---:|---:|---:|---:|"
                );
                for d in &u.by_day {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {} | {} | {} |",
                        d.date,
                        d.resets.succeeded,
                        d.resets.failed,
                        d.unlocks.succeeded,
                        d.unlocks.failed,
                        d.blocked
                    );
                }
                let _ = writeln!(s, "\n</details>");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table_or_inject_markup() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(md("x\ny"), "x\\\\ny");
        assert_eq!(percent(1, 0), "-");
        assert_eq!(percent(1, 3), "33.3%");
    }
}
