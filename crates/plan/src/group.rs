//! Tenants whose plans say the same thing, grouped, and the one-line summary
//! of a fleet: what the Markdown plan and `plan --group` show for thousands of
//! tenants that share a baseline.
//!
//! Two tenants are in one group when their changes (paths, values before and
//! after, risk, reason, API), unreadable surfaces, preflight findings and the
//! lint lines the plan shows are identical. Readiness figures (counts of
//! users) are not compared: they differ from tenant to tenant even when the
//! changes do not, and are shown per tenant.

use std::collections::HashMap;

use crate::types::{Plan, Risk, Severity, TenantPlan};

/// How urgently a group needs a reviewer, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// A preflight error blocks apply.
    Error,
    /// A change weakens security.
    Weakening,
    /// A managed setting could not be read.
    Unknown,
    /// Changes, none of them weakening.
    Changes,
    /// Nothing to change.
    Quiet,
}

/// Tenants whose plans are identical but for names, ids and readiness.
#[derive(Clone, Debug)]
pub struct Group<'a> {
    /// The tenants, in plan order (never empty).
    pub tenants: Vec<&'a TenantPlan>,
}

impl<'a> Group<'a> {
    /// The first tenant, which stands for the group (its changes, unknowns,
    /// findings and lint are every member's).
    pub fn first(&self) -> &'a TenantPlan {
        self.tenants[0]
    }

    /// How urgently the group needs a reviewer.
    pub fn priority(&self) -> Priority {
        let t = self.first();
        if t.findings.iter().any(|f| f.severity == Severity::Error) {
            Priority::Error
        } else if t.changes.iter().any(|c| c.risk == Risk::Weakening) {
            Priority::Weakening
        } else if !t.unknown.is_empty() {
            Priority::Unknown
        } else if !t.changes.is_empty() {
            Priority::Changes
        } else {
            Priority::Quiet
        }
    }

    /// Whether nothing of the group may be cut from a shortened rendering:
    /// it has a weakening change or a preflight error.
    pub fn essential(&self) -> bool {
        matches!(self.priority(), Priority::Error | Priority::Weakening)
    }
}

/// The plan's tenants in groups of identical plans, most urgent first
/// (errors, weakening changes, unknowns, other changes, nothing to change),
/// then in the order of each group's first tenant.
pub fn groups(plan: &Plan) -> Vec<Group<'_>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for t in &plan.tenants {
        let key = key(t);
        match index.get(&key) {
            Some(&i) => groups[i].tenants.push(t),
            None => {
                index.insert(key, groups.len());
                groups.push(Group { tenants: vec![t] });
            }
        }
    }
    groups.sort_by_key(Group::priority);
    groups
}

/// What must be equal for two tenants to share a group.
fn key(t: &TenantPlan) -> String {
    let lint = crate::lint::plan_lines(&t.lint);
    // Serialising these plain data types cannot fail; an empty key would only
    // put such tenants together, never lose one.
    serde_json::to_string(&(&t.changes, &t.unknown, &t.findings, &lint)).unwrap_or_default()
}

/// Counts of tenants across a plan, for the closing summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetSummary {
    /// Tenants in the plan.
    pub tenants: usize,
    /// Tenants with at least one change.
    pub changed: usize,
    /// Tenants with at least one weakening change.
    pub weakening: usize,
    /// Tenants with no change and every managed setting read.
    pub unchanged: usize,
    /// Tenants with a managed setting that could not be read.
    pub unknown: usize,
    /// Tenants whose preflight errors make apply refuse the plan.
    pub refused: usize,
}

impl FleetSummary {
    /// Counts the tenants of `plan`.
    pub fn of(plan: &Plan) -> FleetSummary {
        let mut s = FleetSummary {
            tenants: plan.tenants.len(),
            ..FleetSummary::default()
        };
        for t in &plan.tenants {
            if !t.changes.is_empty() {
                s.changed += 1;
            }
            if t.changes.iter().any(|c| c.risk == Risk::Weakening) {
                s.weakening += 1;
            }
            if t.changes.is_empty() && t.unknown.is_empty() {
                s.unchanged += 1;
            }
            if !t.unknown.is_empty() {
                s.unknown += 1;
            }
            if t.findings.iter().any(|f| f.severity == Severity::Error) {
                s.refused += 1;
            }
        }
        s
    }

    /// One line, e.g. `10,000 tenants: 120 with changes, 9,870 unchanged, 10
    /// unknown, 0 refused`.
    pub fn line(&self) -> String {
        let weak = if self.weakening > 0 {
            format!(" ({} with weakening ones)", thousands(self.weakening))
        } else {
            String::new()
        };
        format!(
            "{} tenant{}: {} with changes{weak}, {} unchanged, {} unknown, {} refused",
            thousands(self.tenants),
            crate::render::plural(self.tenants),
            thousands(self.changed),
            thousands(self.unchanged),
            thousands(self.unknown),
            thousands(self.refused),
        )
    }
}

/// `n` with a comma every three digits: `10,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// At most `shown` of `names` (already escaped for where they go), then
/// "and N more": `a, b and 298 more`.
pub(crate) fn bounded(names: &[String], shown: usize) -> String {
    let shown = shown.min(names.len());
    let head = names[..shown].join(", ");
    let rest = names.len() - shown;
    match (shown, rest) {
        (0, n) => format!("{} tenant{}", thousands(n), crate::render::plural(n)),
        (_, 0) => head,
        (_, n) => format!("{head} and {} more", thousands(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn names_are_bounded() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(bounded(&names, 5), "a, b, c");
        assert_eq!(bounded(&names, 2), "a, b and 1 more");
        assert_eq!(bounded(&names, 0), "3 tenants");
    }

    #[test]
    fn the_summary_line_counts_tenants() {
        let s = FleetSummary {
            tenants: 10_000,
            changed: 120,
            weakening: 0,
            unchanged: 9_870,
            unknown: 10,
            refused: 0,
        };
        assert_eq!(
            s.line(),
            "10,000 tenants: 120 with changes, 9,870 unchanged, 10 unknown, 0 refused"
        );
    }
}
