//! `docs/settings.md`, generated from the field catalog and the wire mapping:
//! every YAML path, the API and wire name that serve it, Microsoft's default,
//! how it compares, its risk rule with reasons, and its controls.
//!
//! It lives here because it needs both the catalog (model) and the wire names
//! (this crate). A test keeps the checked-in file current.

use std::fmt::Write;

use ssprctl_model::Api;
use ssprctl_model::catalog::{self, Effect, Field, Lint, RiskRule};

use crate::wire;

/// The whole of `docs/settings.md`.
pub fn settings_markdown() -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    // Sections in catalog order (the order of the YAML file).
    let mut apis: Vec<Api> = Vec::new();
    for f in &catalog::FIELDS {
        if !apis.contains(&f.api) {
            apis.push(f.api);
        }
    }
    for api in apis {
        let _ = writeln!(out, "\n## `{}` — {}\n", api.section(), api.label());
        if !api.documented() {
            out.push_str(
                "Undocumented Entra portal API: Microsoft may change it without notice; it needs a \
                 delegated administrator sign-in (`ssprctl login`).\n\n",
            );
        }
        for field in catalog::of_api(api) {
            entry(&mut out, field);
        }
    }
    rules_index(&mut out);
    out
}

/// Every lint rule in one table, in id order (docs/lint.md links here).
fn rules_index(out: &mut String) {
    let mut rules: Vec<(&Field, &catalog::Rule)> = catalog::FIELDS
        .iter()
        .filter_map(|f| f.lint.rule().map(|r| (f, r)))
        .collect();
    rules.sort_by_key(|(_, r)| r.id);
    let _ = writeln!(
        out,
        "\n## Lint rules\n\nThe rules of `ssprctl lint` ([docs/lint.md](lint.md)), by id; each \
         setting's entry above says why.\n"
    );
    let _ = writeln!(out, "| Rule | Level | Setting | Recommended | Controls |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (f, r) in rules {
        let controls: Vec<String> = f
            .controls
            .iter()
            .map(|c| {
                c.to_string()
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | [`{}`](#{}) | `{}` | {} |",
            r.id,
            r.level.label(),
            f.path,
            f.path.to_ascii_lowercase().replace('.', ""),
            r.expect.describe(),
            if controls.is_empty() {
                "—".to_string()
            } else {
                controls.join("; ")
            }
        );
    }
}

const HEADER: &str =
    "<!-- Generated from the field catalog (crates/model/src/catalog.rs) and the wire \
mapping (crates/provider/src/wire.rs). Do not edit: run \
`SSPRCTL_UPDATE_DOCS=1 cargo test -p ssprctl-provider --lib settings_doc`. -->

# Settings reference

Every setting ssprctl manages, one entry per YAML path below a tenant's `settings`
(or the `baseline`). For each: the API that serves it and the field's name there
(misspellings are the API's own), Microsoft's value for a new tenant, how the live
value is compared with yours, and what a change does to security.

**Risk.** Each setting states which direction weakens security and why. `plan`
marks each change *weakening*, *strengthening* or *neutral*; `apply` refuses
weakening changes without `--allow-weakening`. A change whose direction cannot be
told (a live value of an unexpected form) counts as weakening. A list that both
gains and loses members is judged by its weakening half (swapping the group that
may use text messages might widen it). For method targets, `allUsers` covers
every group: adding it widens, removing it narrows.

**Defaults** are Microsoft's values for a new tenant as far as public sources
show; some are not confirmed by Microsoft (the portal API is undocumented), so
read them as a guide, not a promise.

**Controls**: CIS Microsoft 365 and CIS Microsoft Azure Foundations Benchmarks,
the CISA SCuBA baseline for Microsoft Entra ID (MS.AAD), and the EIDSCA checks as
run by Maester. A control names the setting it checks; the risk rule says which
way is stronger.

**Lint**: the rule `ssprctl lint` (and `plan`) checks the setting against, with its
stable id, level and recommended value, or why the setting has no rule
([docs/lint.md](lint.md)). A rule's controls are the setting's controls.
";

fn entry(out: &mut String, field: &Field) {
    let w = wire::wire(field.id);
    let _ = writeln!(out, "### `{}`\n", field.path);
    let _ = writeln!(out, "{}\n", field.description);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| API field | `{}` |", w.name());
    let _ = writeln!(out, "| Default | `{}` |", field.default);
    let _ = writeln!(out, "| Compared | {} |", field.compare.label());
    let _ = writeln!(out, "| Risk | {} |", risk_line(&field.risk));
    let _ = writeln!(out, "| Lint | {} |", lint_line(&field.lint));
    let controls = field
        .controls
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let _ = writeln!(
        out,
        "| Controls | {} |\n",
        if controls.is_empty() {
            "—".to_string()
        } else {
            controls
        }
    );
}

fn lint_line(lint: &Lint) -> String {
    match lint {
        Lint::Rule(rule) => {
            let mut line = format!(
                "**{}** ({}): recommended `{}`; {}.",
                rule.id,
                rule.level.label(),
                rule.expect.describe(),
                rule.rationale
            );
            if let Some(moot) = rule.moot_when {
                line.push_str(&format!(
                    " Not checked when `{}` is `{}`: {}.",
                    moot.path, moot.equals, moot.why
                ));
            }
            line
        }
        Lint::NoRule { why } => format!("no rule: {why}."),
    }
}

fn risk_line(rule: &RiskRule) -> String {
    let e = |effect: Effect| effect.label();
    match *rule {
        RiskRule::Switch {
            on,
            why_on,
            why_off,
        } => format!(
            "on: **{}**, {why_on}. Off: {}, {why_off}.",
            e(on),
            e(on.opposite())
        ),
        RiskRule::Number {
            up,
            why_up,
            why_down,
        } => format!(
            "higher: **{}**, {why_up}. Lower: {}, {why_down}.",
            e(up),
            e(up.opposite())
        ),
        RiskRule::Interval {
            why_sooner,
            why_later,
        } => format!(
            "shorter: **strengthening**, {why_sooner}. Longer or 0 (never): weakening, {why_later}."
        ),
        RiskRule::Ranked {
            order,
            up,
            why_up,
            why_down,
        } => format!(
            "towards `{}`: **{}**, {why_up}. Back: {}, {why_down}.",
            order.join("` < `"),
            e(up),
            e(up.opposite())
        ),
        RiskRule::Members {
            added,
            why_added,
            why_removed,
        } => format!(
            "adding: **{}**, {why_added}. Removing: {}, {why_removed}.",
            e(added),
            e(added.opposite())
        ),
        RiskRule::Neutral { why } => format!("**neutral**: {why}."),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn checked_in_settings_reference_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/settings.md");
        let generated = super::settings_markdown();
        if std::env::var_os("SSPRCTL_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &generated).expect("write docs/settings.md");
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "docs/settings.md is stale: regenerate it with \
             `SSPRCTL_UPDATE_DOCS=1 cargo test -p ssprctl-provider --lib settings_doc`"
        );
    }

    #[test]
    fn every_catalog_field_is_documented_with_its_wire_name() {
        let doc = super::settings_markdown();
        for f in &ssprctl_model::catalog::FIELDS {
            assert!(doc.contains(&format!("### `{}`", f.path)), "{}", f.path);
        }
        assert!(doc.contains("`registrationReconfirmIntevalInDays`"));
        assert!(doc.contains("`Sms: includeTargets`"));
    }
}
