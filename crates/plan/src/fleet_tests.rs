//! Fleet-sized Markdown plans: thousands of tenants fit one pull-request
//! comment, every distinct change and every weakening one shown.

use serde_json::json;

use crate::markdown::{DEFAULT_LIMIT, MarkdownOpts, markdown, markdown_with};
use crate::plan_tenant;
use crate::planner::tests::{new_tenant, tenant};
use crate::types::{FORMAT_VERSION, Finding, Plan, Risk, Severity, TenantPlan};

/// The six changes of a baseline on a new tenant, with a banned password of
/// its own (`word`) and, when `weaken`, reconfirmation switched off.
fn baseline(word: u32, weaken: bool) -> TenantPlan {
    let reconfirm = if weaken { 0 } else { 90 };
    let desired = tenant(json!({
        "selfServicePasswordReset": {
            "enabledFor": "all", "methodsRequired": 2,
            "registration": {"reconfirmAfterDays": reconfirm}
        },
        "administratorPasswordReset": {"enabled": false},
        "authenticationMethods": {"sms": {"state": "disabled"}},
        "passwordProtection": {"bannedPasswords": [format!("word{word}")]}
    }));
    plan_tenant(&desired, &new_tenant())
}

fn named(tp: &TenantPlan, i: usize) -> TenantPlan {
    let mut tp = tp.clone();
    tp.name = format!("customer-{i:05}");
    tp.tenant_id = format!("00000000-0000-4000-8000-{i:012}");
    tp
}

fn plan(tenants: Vec<TenantPlan>) -> Plan {
    Plan {
        format_version: FORMAT_VERSION.into(),
        tool_version: "test".into(),
        config_digest: "d".into(),
        config_path: "c.yaml".into(),
        created_at: "t".into(),
        tenants,
        selection: None,
        merged: None,
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

#[test]
fn ten_thousand_tenants_sharing_a_baseline_fit_one_comment() {
    let one = baseline(5, false);
    assert_eq!(one.changes.len(), 6, "{:#?}", one.changes);
    let fleet = plan((0..10_000).map(|i| named(&one, i)).collect());
    let md = markdown(&fleet);
    assert!(chars(&md) <= DEFAULT_LIMIT, "{} characters", chars(&md));
    assert!(md.contains("The same 6 changes in 10,000 tenants"), "{md}");
    assert!(
        md.contains("**10,000 tenants: 10,000 with changes, 0 unchanged, 0 unknown, 0 refused**"),
        "{md}"
    );
    for c in &one.changes {
        assert!(md.contains(&format!("`{}`", c.path)), "{} missing", c.path);
    }
    assert!(md.contains("and 9,950 more"), "{md}");
    assert!(md.contains("every tenant is in the JSON plan"), "{md}");
}

/// 10,000 tenants in 50 distinct change sets (a lockout threshold of their
/// own), 5 of them weakening, one with a preflight error and some unknowns:
/// the comment fits, every group is in the table, every weakening change and
/// the error are shown, and the comment says what it left out.
#[test]
fn ten_thousand_tenants_of_fifty_change_sets_keep_every_weakening_change() {
    let sets: Vec<TenantPlan> = (0..50u32)
        .map(|k| {
            let mut tp = baseline(5 + k, k % 10 == 3);
            for (i, line) in tp.readiness.iter_mut().enumerate() {
                *line = format!("{line} ({i})");
            }
            if k == 7 {
                tp.findings.push(Finding {
                    severity: Severity::Error,
                    check: "licence".into(),
                    path: "selfServicePasswordReset.enabledFor".into(),
                    message: "no licence for SSPR".into(),
                });
            }
            tp
        })
        .collect();
    let tenants: Vec<TenantPlan> = (0..10_000)
        .map(|i| {
            let mut tp = named(&sets[i % 50], i);
            if i % 50 == 11 {
                tp.readiness = vec![format!("SSPR enabled for {i} more users")];
            }
            tp
        })
        .collect();
    let fleet = plan(tenants);
    let md = markdown(&fleet);
    assert!(chars(&md) <= DEFAULT_LIMIT, "{} characters", chars(&md));
    let weakening_groups = sets
        .iter()
        .filter(|t| t.changes.iter().any(|c| c.risk == Risk::Weakening))
        .count();
    assert_eq!(weakening_groups, 5);
    assert_eq!(
        md.matches(":warning: weakening:").count(),
        weakening_groups,
        "{md}"
    );
    assert!(md.contains("no licence for SSPR"), "{md}");
    assert_eq!(md.matches("| 200 tenants: ").count(), 50, "{md}");
    assert!(
        md.contains(":scissors: **Shortened to fit 65,536 characters**"),
        "{md}"
    );
    // Errors and weakening changes come before the rest.
    let at = |name: &str| md.find(name).unwrap_or(usize::MAX);
    let (error, weak, other) = (
        at("customer-00007"),
        at("customer-00003"),
        at("customer-00000"),
    );
    assert!(error < weak && weak < other, "{md}");
}

#[test]
fn a_tight_budget_still_keeps_weakening_changes_and_says_what_was_cut() {
    let sets: Vec<TenantPlan> = (0..20u32).map(|k| baseline(5 + k, k == 0)).collect();
    let fleet = plan((0..400).map(|i| named(&sets[i % 20], i)).collect());
    let md = markdown_with(&fleet, &MarkdownOpts { limit: 4_000 });
    assert!(chars(&md) <= 4_000, "{} characters:\n{md}", chars(&md));
    assert!(md.contains(":warning: weakening:"), "{md}");
    assert!(md.contains("without weakening changes or errors"), "{md}");
    // Nothing fits in 100 characters, yet the weakening change is there and
    // the comment says it is still too long.
    let md = markdown_with(&fleet, &MarkdownOpts { limit: 100 });
    assert!(md.contains(":warning: weakening:"), "{md}");
    assert!(md.contains("Still longer than 100 characters"), "{md}");
}

#[test]
fn a_small_grouped_fleet_reads_like_one_tenant() {
    let a = baseline(5, false);
    let weak = baseline(5, true);
    let mut quiet = a.clone();
    quiet.changes.clear();
    quiet.readiness.clear();
    quiet.unchanged = 6;
    let tenants = vec![
        named(&a, 1),
        named(&weak, 2),
        named(&a, 3),
        named(&quiet, 4),
        named(&quiet, 5),
        named(&a, 6),
    ];
    insta::assert_snapshot!(markdown(&plan(tenants)));
}

#[test]
fn the_grouped_human_plan_shows_each_plan_once_and_every_weakening_change() {
    let a = baseline(5, false);
    let weak = baseline(5, true);
    let mut quiet = a.clone();
    quiet.changes.clear();
    quiet.readiness.clear();
    quiet.findings.clear();
    quiet.unchanged = 6;
    let mut tenants: Vec<TenantPlan> = (0..14).map(|i| named(&a, i)).collect();
    tenants.push(named(&weak, 14));
    tenants.push(named(&quiet, 15));
    tenants.push(named(&quiet, 16));
    let fleet = plan(tenants);
    let opts = crate::render::RenderOpts {
        color: false,
        group: true,
    };
    let text = crate::render::human(&fleet, &opts);
    assert_eq!(text.matches("! weakening:").count(), 1, "{text}");
    assert!(text.contains("14 tenants with the same plan:"), "{text}");
    assert!(text.contains("and 4 more"), "{text}");
    insta::assert_snapshot!(text);
    // Without --group every tenant is shown, as before, and the fleet line
    // closes both.
    let plain = crate::render::human(
        &fleet,
        &crate::render::RenderOpts {
            color: false,
            group: false,
        },
    );
    assert_eq!(plain.matches("Tenant customer-").count(), 17, "{plain}");
    assert!(
        plain.ends_with(
            "17 tenants: 15 with changes (1 with weakening ones), 2 unchanged, 0 unknown, 0 refused.\n"
        ),
        "{plain}"
    );
}

#[test]
fn names_in_groups_are_escaped_in_markdown_and_the_terminal() {
    let one = baseline(5, false);
    let mut tenants: Vec<TenantPlan> = (0..3).map(|i| named(&one, i)).collect();
    tenants[1].name = "</details><img src=x onerror=alert(1)> @team \u{1b}[2J".into();
    let fleet = plan(tenants);
    let md = markdown(&fleet);
    // Names are code spans (literal text on GitHub) or escaped prose.
    assert!(!md.contains('\u{1b}'), "{md}");
    assert_eq!(
        md.matches("<img").count(),
        md.matches("`</details><img").count(),
        "{md}"
    );
    let text = crate::render::human(
        &fleet,
        &crate::render::RenderOpts {
            color: false,
            group: true,
        },
    );
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("\\u{1b}[2J"), "{text}");
}

/// The human plan of a fleet is handed on in pieces as it is rendered: put
/// together they are the whole plan, each piece is whole tenants (or groups)
/// and none is much over 64 KiB, grouped or not.
#[test]
fn a_fleets_human_plan_comes_in_pieces_that_make_up_the_whole_plan() {
    use crate::render::{RenderOpts, human, human_in_pieces};
    let sets = [baseline(5, false), baseline(6, true)];
    let fleet = plan((0..2_000).map(|i| named(&sets[i % 2], i)).collect());
    for group in [false, true] {
        let opts = RenderOpts {
            color: false,
            group,
        };
        let mut pieces = Vec::new();
        let done: Result<(), ()> = human_in_pieces(&fleet, &opts, |piece| {
            pieces.push(piece.to_string());
            Ok(())
        });
        assert_eq!(done, Ok(()));
        assert_eq!(pieces.concat(), human(&fleet, &opts), "group: {group}");
        if !group {
            assert!(pieces.len() > 1, "{} piece(s)", pieces.len());
        }
        for piece in &pieces {
            assert!(piece.len() < 64 * 1024 + 4096, "{} bytes", piece.len());
            assert!(
                piece.ends_with("\n\n") || piece.ends_with(".\n"),
                "{piece:?}"
            );
        }
    }
    // The first error stops the rendering and is returned.
    let mut calls = 0;
    let stopped = human_in_pieces(&fleet, &RenderOpts::default(), |_| {
        calls += 1;
        Err("closed")
    });
    assert_eq!((stopped, calls), (Err("closed"), 1));
}
