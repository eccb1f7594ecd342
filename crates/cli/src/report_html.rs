//! `report --html FILE`: the report as one self-contained HTML page (inline
//! CSS, a few lines of inline JavaScript, SVG charts; nothing loaded from
//! anywhere, enforced by a Content-Security-Policy that allows only the page's
//! own style and script by hash).
//!
//! [`html`] is pure (a [`Report`] and an optional saved plan in, the page
//! out). Every string that came from a tenant, the API or a file is escaped
//! twice: control characters made visible ([`escape_controls`]), then HTML
//! metacharacters. A part that could not be read says "unknown" with the
//! reason, never zero. From a saved plan (untrusted) only tenant names and
//! counts are shown.
//!
//! The charts over time are drawn with `plotters`' SVG backend (no fonts or
//! bitmaps needed; text is left to the browser).

use std::fmt::Write as _;

use base64::Engine as _;
use plotters::prelude::*;
use sha2::{Digest, Sha256};
use ssprctl_engine::report::{Counts, DayUsage, Readout, Report, TenantReport, Usage};
use ssprctl_plan::Plan;

use crate::out::escape_controls;

/// Text for HTML element content or a quoted attribute value.
fn h(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape_controls(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;color:#1b1f24;background:#fff}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #d0d7de;padding-bottom:.2rem}
.meta{color:#57606a}
table{border-collapse:collapse;margin:.6rem 0;font-size:.95rem}
.wide{overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:.25rem .45rem;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f0f4f8}
table.sortable thead th{cursor:pointer}
th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}
.unknown{color:#9a6700;background:#fff8c5}
.drift{color:#cf222e;font-weight:600}.clean{color:#1a7f37}
.cards{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;min-width:10rem;background:#f6f8fa}
.card b{display:block;font-size:1.6rem}
svg{max-width:100%;height:auto}
.bar{fill:#0969da}.bar.admin{fill:#8250df}
";

const SCRIPT: &str = "\
function sortKey(c){var v=c.getAttribute('data-v');return v===null?c.textContent.toLowerCase():parseFloat(v);}
document.querySelectorAll('table.sortable').forEach(function(t){
t.querySelectorAll('thead th').forEach(function(th,i){
th.tabIndex=0;th.title='Sort';
var go=function(){var up=th.getAttribute('aria-sort')!=='ascending';
t.querySelectorAll('thead th').forEach(function(x){x.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',up?'ascending':'descending');
var b=t.tBodies[0];Array.prototype.slice.call(b.rows).sort(function(r,s){
var a=sortKey(r.cells[i]),c=sortKey(s.cells[i]);return (a<c?-1:a>c?1:0)*(up?1:-1);
}).forEach(function(r){b.appendChild(r);});};
th.addEventListener('click',go);
th.addEventListener('keydown',function(e){if(e.key==='Enter'){go();}});
});});
";

fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// What a saved plan says about one tenant: counts only.
struct Drift {
    changes: usize,
    weakening: usize,
    unknown: usize,
}

fn drift_of<'p>(plan: Option<&'p Plan>, tenant: &TenantReport) -> Option<Option<Drift>> {
    let plan: &'p Plan = plan?;
    Some(
        plan.tenants
            .iter()
            .find(|p| p.name == tenant.name)
            .map(|p| Drift {
                changes: p.changes.len(),
                weakening: p
                    .changes
                    .iter()
                    .filter(|c| c.risk == ssprctl_plan::Risk::Weakening)
                    .count(),
                unknown: p.unknown.len(),
            }),
    )
}

/// The report as one self-contained HTML page. With `plan`, each tenant's
/// drift (changes, weakening changes, unreadable settings) from that saved
/// plan, matched by tenant name.
pub fn html(report: &Report, plan: Option<&Plan>) -> String {
    let mut s = String::new();
    let csp = format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    );
    let tenants = report.tenants.len();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Self-service password reset report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Self-service password reset report</h1>\n\
         <p class=\"meta\">{tenants} tenant{}; usage {} to {} ({} day{}); generated {} by ssprctl {}.</p>\n",
        if tenants == 1 { "" } else { "s" },
        h(&report.since),
        h(&report.until),
        report.days,
        if report.days == 1 { "" } else { "s" },
        h(&report.generated_at),
        h(&report.tool_version),
    );
    fleet(&mut s, report, plan);
    for (i, t) in report.tenants.iter().enumerate() {
        tenant_section(&mut s, i, t, plan);
    }
    let _ = write!(s, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    s
}

fn fleet(s: &mut String, report: &Report, plan: Option<&Plan>) {
    let known: Vec<_> = report
        .tenants
        .iter()
        .filter_map(|t| t.coverage.known())
        .collect();
    let read = known.len();
    let all = report.tenants.len();
    let users: u64 = known.iter().map(|c| c.users.total).sum();
    let capable: u64 = known.iter().map(|c| c.users.capable).sum();
    let admins: u64 = known.iter().map(|c| c.admins.total).sum();
    let admins_capable: u64 = known.iter().map(|c| c.admins.capable).sum();
    let usages: Vec<&Usage> = report
        .tenants
        .iter()
        .filter_map(|t| t.usage.known())
        .collect();
    let _ = writeln!(s, "<h2 id=\"fleet\">Fleet</h2>\n<div class=\"cards\">");
    if read == 0 {
        let _ = writeln!(
            s,
            "<div class=\"card unknown\"><b>unknown</b>coverage of no tenant could be read</div>"
        );
    } else {
        let of = if read == all {
            String::new()
        } else {
            format!(" (of the {read} tenants read; {} unknown)", all - read)
        };
        let _ = writeln!(
            s,
            "<div class=\"card\"><b>{users}</b>users{of}</div>\n\
             <div class=\"card\"><b>{}</b>users SSPR capable ({capable} of {users})</div>\n\
             <div class=\"card\"><b>{admins_capable} / {admins}</b>admins SSPR capable</div>",
            percent(capable, users)
        );
    }
    if usages.is_empty() {
        let _ = writeln!(
            s,
            "<div class=\"card unknown\"><b>unknown</b>usage of no tenant could be read</div>"
        );
    } else {
        let resets: u64 = usages.iter().map(|u| u.resets.succeeded).sum();
        let unlocks: u64 = usages.iter().map(|u| u.unlocks.succeeded).sum();
        let blocked: u64 = usages.iter().map(|u| u.blocked).sum();
        let _ = writeln!(
            s,
            "<div class=\"card\"><b>{resets}</b>passwords reset</div>\n\
             <div class=\"card\"><b>{unlocks}</b>accounts unlocked</div>\n\
             <div class=\"card\"><b>{blocked}</b>users blocked</div>"
        );
    }
    let _ = writeln!(s, "</div>");
    tenant_table(s, report, plan);
    if usages.len() > 1 {
        let days = fleet_days(&usages);
        let title = if usages.len() == all {
            "Fleet: per day, all tenants".to_string()
        } else {
            format!("Fleet: per day, the {} tenants read", usages.len())
        };
        chart(s, &days, &title);
    }
}

/// The tenants' days summed (every tenant has the same window).
fn fleet_days(usages: &[&Usage]) -> Vec<DayUsage> {
    let mut days: Vec<DayUsage> = usages.first().map(|u| u.by_day.clone()).unwrap_or_default();
    for u in usages.iter().skip(1) {
        for (total, d) in days.iter_mut().zip(&u.by_day) {
            total.resets.succeeded += d.resets.succeeded;
            total.resets.failed += d.resets.failed;
            total.unlocks.succeeded += d.unlocks.succeeded;
            total.unlocks.failed += d.unlocks.failed;
            total.blocked += d.blocked;
        }
    }
    days
}

fn unknown_cell(reason: &str, span: usize) -> String {
    format!(
        "<td class=\"unknown\" colspan=\"{span}\" data-v=\"-1\" title=\"{r}\">unknown: {r}</td>",
        r = h(reason)
    )
}

fn tenant_table(s: &mut String, report: &Report, plan: Option<&Plan>) {
    let _ = write!(
        s,
        "<div class=\"wide\"><table class=\"sortable\" id=\"tenants\">\n<caption>Tenants (select a heading to sort)</caption>\n<thead><tr>\
         <th>Tenant</th><th>Users</th><th>Enabled</th><th>Registered</th><th>Capable</th><th>Capable %</th>\
         <th>Admins capable</th><th>Resets ok</th><th>Resets failed</th><th>Unlocks ok</th><th>Blocked</th>"
    );
    if plan.is_some() {
        let _ = write!(s, "<th>Drift</th>");
    }
    let _ = writeln!(s, "</tr></thead>\n<tbody>");
    for (i, t) in report.tenants.iter().enumerate() {
        let _ = write!(s, "<tr><td><a href=\"#t{i}\">{}</a></td>", h(&t.name));
        match &t.coverage {
            Readout::Unknown { reason } => s.push_str(&unknown_cell(reason, 6)),
            Readout::Known { value: c } => {
                let u = &c.users;
                let ratio = if u.total == 0 {
                    -1.0
                } else {
                    u.capable as f64 / u.total as f64
                };
                let _ = write!(
                    s,
                    "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-v=\"{ratio:.4}\">{}</td><td data-v=\"{}\">{} / {}</td>",
                    u.total,
                    u.enabled,
                    u.registered,
                    u.capable,
                    percent(u.capable, u.total),
                    c.admins.capable,
                    c.admins.capable,
                    c.admins.total
                );
            }
        }
        match &t.usage {
            Readout::Unknown { reason } => s.push_str(&unknown_cell(reason, 4)),
            Readout::Known { value: u } => {
                let _ = write!(
                    s,
                    "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                    u.resets.succeeded, u.resets.failed, u.unlocks.succeeded, u.blocked
                );
            }
        }
        match drift_of(plan, t) {
            None => {}
            Some(None) => {
                let _ = write!(
                    s,
                    "<td class=\"unknown\" data-v=\"-1\">unknown: not in the plan</td>"
                );
            }
            Some(Some(d)) => s.push_str(&drift_cell(&d)),
        }
        let _ = writeln!(s, "</tr>");
    }
    let _ = writeln!(s, "</tbody>\n</table></div>");
}

fn drift_cell(d: &Drift) -> String {
    let mut text = if d.changes == 0 {
        "in sync".to_string()
    } else {
        format!(
            "{} change{}{}",
            d.changes,
            if d.changes == 1 { "" } else { "s" },
            if d.weakening > 0 {
                format!(" ({} weakening)", d.weakening)
            } else {
                String::new()
            }
        )
    };
    if d.unknown > 0 {
        let _ = write!(text, "; {} unknown", d.unknown);
    }
    let class = if d.changes == 0 && d.unknown == 0 {
        "clean"
    } else if d.changes == 0 {
        "unknown"
    } else {
        "drift"
    };
    format!("<td class=\"{class}\" data-v=\"{}\">{text}</td>", d.changes)
}

fn tenant_section(s: &mut String, i: usize, t: &TenantReport, plan: Option<&Plan>) {
    let _ = writeln!(
        s,
        "<section id=\"t{i}\">\n<h2>{} <small class=\"meta\">{}</small></h2>",
        h(&t.name),
        h(&t.tenant_id)
    );
    match drift_of(plan, t) {
        None => {}
        Some(None) => {
            let _ = writeln!(
                s,
                "<p class=\"unknown\">Drift unknown: the plan has no tenant of this name.</p>"
            );
        }
        Some(Some(d)) => {
            let _ = writeln!(
                s,
                "<table><tbody><tr><th>Drift (saved plan)</th>{}</tr></tbody></table>",
                drift_cell(&d)
            );
        }
    }
    match &t.coverage {
        Readout::Unknown { reason } => {
            let _ = writeln!(
                s,
                "<p class=\"unknown\">Coverage unknown: {}</p>",
                h(reason)
            );
        }
        Readout::Known { value: c } => {
            let _ = writeln!(
                s,
                "<h3>Coverage</h3>\n<table><thead><tr><th></th><th>Users</th><th>Admins</th></tr></thead><tbody>"
            );
            for (n, (label, get)) in crate::report::count_rows().into_iter().enumerate() {
                let cell = |k: &Counts| {
                    if n == 0 {
                        get(k).to_string()
                    } else {
                        format!("{} ({})", get(k), percent(get(k), k.total))
                    }
                };
                let _ = writeln!(
                    s,
                    "<tr><td>{label}</td><td>{}</td><td>{}</td></tr>",
                    cell(&c.users),
                    cell(&c.admins)
                );
            }
            let _ = writeln!(s, "</tbody></table>");
            if !c.by_method.is_empty() {
                method_mix(s, c);
            }
        }
    }
    match &t.usage {
        Readout::Unknown { reason } => {
            let _ = writeln!(s, "<p class=\"unknown\">Usage unknown: {}</p>", h(reason));
        }
        Readout::Known { value: u } => {
            let _ = writeln!(
                s,
                "<h3>Usage</h3>\n<table><thead><tr><th></th><th>Succeeded</th><th>Failed</th></tr></thead><tbody>\n\
                 <tr><td>password resets</td><td>{}</td><td>{}</td></tr>\n\
                 <tr><td>account unlocks</td><td>{}</td><td>{}</td></tr>\n\
                 <tr><td>users blocked</td><td>{}</td><td></td></tr>\n</tbody></table>",
                u.resets.succeeded,
                u.resets.failed,
                u.unlocks.succeeded,
                u.unlocks.failed,
                u.blocked
            );
            chart(s, &u.by_day, "Per day");
            if !u.by_reason.is_empty() {
                let _ = writeln!(
                    s,
                    "<table><thead><tr><th>Failure reason</th><th>Count</th></tr></thead><tbody>"
                );
                for r in &u.by_reason {
                    let _ = writeln!(s, "<tr><td>{}</td><td>{}</td></tr>", h(&r.reason), r.count);
                }
                let _ = writeln!(s, "</tbody></table>");
            }
        }
    }
    let _ = writeln!(s, "</section>");
}

/// The registered methods as a table with a bar per row (SVG attributes, no
/// inline styles: the CSP allows none).
fn method_mix(s: &mut String, c: &ssprctl_engine::report::Coverage) {
    let max = c
        .by_method
        .iter()
        .map(|m| m.users + m.admins)
        .max()
        .unwrap_or(0)
        .max(1);
    let _ = writeln!(
        s,
        "<h3>Method mix</h3>\n<table class=\"methods\"><thead><tr><th>Method registered</th><th>Users</th><th>Admins</th><th>Share</th></tr></thead><tbody>"
    );
    for m in &c.by_method {
        let width = |n: u64| (n as f64 * 300.0 / max as f64).round() as u64;
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><svg class=\"mbar\" width=\"300\" height=\"14\" role=\"img\" aria-label=\"{} users, {} admins\">\
             <rect class=\"bar\" x=\"0\" y=\"1\" width=\"{}\" height=\"12\"/><rect class=\"bar admin\" x=\"{}\" y=\"1\" width=\"{}\" height=\"12\"/></svg></td></tr>",
            h(&m.method),
            m.users,
            m.admins,
            m.users,
            m.admins,
            width(m.users),
            width(m.users),
            width(m.admins)
        );
    }
    let _ = writeln!(s, "</tbody></table>");
}

/// A series of the usage chart: its name, colour and daily figure.
type Series = (&'static str, RGBColor, fn(&DayUsage) -> u64);

const SERIES: [Series; 4] = [
    ("resets succeeded", RGBColor(9, 105, 218), |d| {
        d.resets.succeeded
    }),
    ("resets failed", RGBColor(207, 34, 46), |d| d.resets.failed),
    ("unlocks succeeded", RGBColor(26, 127, 55), |d| {
        d.unlocks.succeeded
    }),
    ("blocked", RGBColor(154, 103, 0), |d| d.blocked),
];

/// Resets, unlocks and blocks per day as an inline SVG line chart; if it
/// cannot be drawn, a line saying why (the figures are in the tables).
fn chart(s: &mut String, days: &[DayUsage], title: &str) {
    match usage_svg(days, title) {
        Ok(svg) => {
            let _ = writeln!(
                s,
                "<figure class=\"chart\" role=\"img\" aria-label=\"{}\">{svg}</figure>",
                h(title)
            );
        }
        Err(reason) => {
            let _ = writeln!(
                s,
                "<p class=\"unknown\">Chart unavailable: {}</p>",
                h(&reason)
            );
        }
    }
}

fn usage_svg(days: &[DayUsage], title: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let last = i32::try_from(days.len().saturating_sub(1))
            .unwrap_or(i32::MAX)
            .max(1);
        let top = days
            .iter()
            .flat_map(|d| SERIES.iter().map(move |(_, _, f)| f(d)))
            .max()
            .unwrap_or(0)
            .max(1);
        let top = i64::try_from(top).unwrap_or(i64::MAX - 1) + 1;
        let label = |i: &i32| {
            usize::try_from(*i)
                .ok()
                .and_then(|i| days.get(i))
                .and_then(|d| d.date.get(5..))
                .unwrap_or_default()
                .to_string()
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(0..last, 0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(10)
            .x_label_formatter(&label)
            .y_desc("events per day")
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, color, f) in SERIES {
            let points = days.iter().enumerate().map(move |(i, d)| {
                (
                    i32::try_from(i).unwrap_or(i32::MAX),
                    i64::try_from(f(d)).unwrap_or(i64::MAX),
                )
            });
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(208, 215, 222))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssprctl_engine::report::{Coverage, MethodCount, Outcomes, ReasonCount};

    fn counts(total: u64, capable: u64) -> Counts {
        Counts {
            total,
            enabled: total,
            registered: capable,
            capable,
            enabled_not_registered: total - capable,
        }
    }

    fn day(date: &str, resets: u64) -> DayUsage {
        DayUsage {
            date: date.into(),
            resets: Outcomes {
                succeeded: resets,
                failed: 1,
            },
            unlocks: Outcomes::default(),
            blocked: 0,
        }
    }

    fn report(tenants: Vec<TenantReport>) -> Report {
        Report {
            format_version: 1,
            tool_version: "0.1.0".into(),
            generated_at: "2026-11-30T12:00:00Z".into(),
            days: 2,
            since: "2026-11-29".into(),
            until: "2026-11-30".into(),
            tenants,
        }
    }

    fn known(name: &str, method: &str, reason: &str) -> TenantReport {
        TenantReport {
            name: name.into(),
            tenant_id: "00000000-0000-0000-0000-000000000001".into(),
            coverage: Readout::Known {
                value: Coverage {
                    users: counts(496, 236),
                    admins: counts(4, 3),
                    by_method: vec![MethodCount {
                        method: method.into(),
                        users: 294,
                        admins: 2,
                    }],
                },
            },
            usage: Readout::Known {
                value: Usage {
                    resets: Outcomes {
                        succeeded: 87,
                        failed: 27,
                    },
                    unlocks: Outcomes {
                        succeeded: 24,
                        failed: 3,
                    },
                    blocked: 5,
                    by_day: vec![day("2026-11-29", 3), day("2026-11-30", 5)],
                    by_reason: vec![ReasonCount {
                        reason: reason.into(),
                        count: 13,
                    }],
                },
            },
        }
    }

    #[test]
    fn the_page_is_self_contained_with_figures_charts_and_a_strict_policy() {
        let page = html(&report(vec![known("contoso", "email", "bad code")]), None);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("default-src 'none'"), "{page}");
        assert!(page.contains(&csp_hash(SCRIPT)) && page.contains(&csp_hash(STYLE)));
        assert!(!page.contains("unsafe-inline"));
        for external in ["src=\"http", "href=\"http", "@import", "url("] {
            assert!(!page.contains(external), "{external} in the page");
        }
        // No inline style attributes: the policy would block them.
        assert!(!page.contains(" style=\""), "inline style attribute");
        assert!(page.contains("<td>496</td>"));
        assert!(page.contains("<td>87</td>"));
        assert!(page.contains("resets succeeded"), "chart legend");
        assert!(
            page.matches("<svg").count() >= 2,
            "usage chart and method bars"
        );
        assert!(!page.contains("Drift"), "no plan, no drift column");
    }

    #[test]
    fn strings_from_a_tenant_are_escaped_as_html_and_controls() {
        let page = html(
            &report(vec![known(
                "<script>alert(1)</script>",
                "\"><img src=x onerror=alert(1)>",
                "a\u{1b}[31m&b",
            )]),
            None,
        );
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("a\\u{1b}[31m&amp;b"));
        assert!(!page.contains('\u{1b}'));
    }

    proptest::proptest! {
        /// Whatever a tenant calls itself, its methods or its failure
        /// reasons, the page keeps its own markup: one script, no control
        /// characters, no tag or attribute opened by the data.
        #[test]
        fn no_string_from_a_tenant_opens_markup(
            name in "\\PC{0,24}|[<>&\"'a-z\u{0}-\u{1f}\u{202e}]{0,24}",
            method in "[<>&\"'=a-z ]{0,24}",
            reason in "\\PC{0,24}|[<>&\"'/a-z\u{1b}]{0,24}",
        ) {
            let page = html(&report(vec![known(&name, &method, &reason)]), None);
            proptest::prop_assert_eq!(page.matches("<script").count(), 1);
            proptest::prop_assert_eq!(page.matches("<img").count(), 0);
            proptest::prop_assert!(!page.chars().any(|c| ssprctl_model::text::is_control(c) && c != '\n'));
            for text in [&name, &method, &reason] {
                proptest::prop_assert!(page.contains(&h(text)));
            }
        }
    }

    #[test]
    fn an_unknown_part_says_unknown_with_its_reason_never_zero() {
        let mut t = known("fabrikam", "email", "x");
        t.coverage = Readout::Unknown {
            reason: "HTTP 403: needs AuditLog.Read.All".into(),
        };
        t.usage = Readout::Unknown {
            reason: "throttled <again>".into(),
        };
        let page = html(&report(vec![t]), None);
        assert!(page.contains("Coverage unknown: HTTP 403: needs AuditLog.Read.All"));
        assert!(page.contains("Usage unknown: throttled &lt;again&gt;"));
        assert!(page.contains("coverage of no tenant could be read"));
        assert!(!page.contains("<td>0</td>"), "{page}");
        assert!(!page.contains("<b>0</b>"), "{page}");
    }

    #[test]
    fn a_fleet_has_a_summed_chart_and_drift_from_a_plan_by_name() {
        let page_without = html(
            &report(vec![known("a", "email", "r"), known("b", "email", "r")]),
            None,
        );
        assert!(page_without.contains("Fleet: per day, all tenants"));
        assert!(page_without.contains("<b>992</b>users"));
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "format_version": "1.1", "tool_version": "0.1.0", "config_digest": "x",
            "config_path": "f.yaml", "created_at": "2026-11-30T00:00:00Z",
            "tenants": [{
                "name": "a", "tenant_id": "t", "changes": [{
                    "path": "<b>p</b>", "api": "graphAuthorizationPolicy", "action": "update",
                    "before": 1, "after": 2, "risk": "weakening", "reason": "<i>r</i>"
                }],
                "unknown": [], "findings": [], "unchanged": 1, "unmanaged": 0, "prior": {}
            }]
        }))
        .expect("a plan");
        let page = html(
            &report(vec![known("a", "email", "r"), known("b", "email", "r")]),
            Some(&plan),
        );
        assert!(page.contains("<th>Drift</th>"));
        assert!(page.contains("1 change (1 weakening)"), "{page}");
        assert!(page.contains("unknown: not in the plan"));
        assert!(!page.contains("<b>p</b>") && !page.contains("<i>r</i>"));
    }
}
