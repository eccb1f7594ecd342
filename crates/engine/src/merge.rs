//! `merge`: the plans of the shards of one desired-state file (or of
//! disjoint `--tenant` selections of it) as one plan, for reading: one human,
//! JSON or Markdown plan and one exit code for a whole fleet planned in
//! parallel jobs.
//!
//! The plans are untrusted input (read with [`crate::read_plan`]: size limit,
//! major format version). They must come from the same desired-state file
//! (`config_digest`) and ssprctl version, name each tenant once, and, when
//! sharded, be exactly the shards `1/n..n/n` of one `n` and one set of
//! `--tenant` patterns. The merged plan lists the tenants in file order (the
//! `selection.positions` of each plan) and is marked `merged`: `apply`
//! refuses it (each shard's own plan is applied).

use std::collections::BTreeMap;
use std::path::PathBuf;

use ssprctl_model::text::escape_controls;
use ssprctl_plan::{Merged, Plan, Selection, TenantPlan};

/// A plan read from a file.
#[derive(Clone, Debug)]
pub struct PlanFile {
    /// The file as named.
    pub path: PathBuf,
    /// Its plan.
    pub plan: Plan,
}

/// Why plans cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// No plan was given.
    #[error("merge needs at least one plan file")]
    NoPlans,
    /// Plans of different desired-state files.
    #[error(
        "{path} was made from another desired-state file than {first} (config_digest {digest} vs {first_digest}): merge only the plans of one file"
    )]
    ConfigDigest {
        /// The first plan.
        first: String,
        /// Its digest.
        first_digest: String,
        /// The plan that differs.
        path: String,
        /// Its digest.
        digest: String,
    },
    /// Plans of different ssprctl versions.
    #[error(
        "{path} was made by ssprctl {version}, {first} by {first_version}: merge plans of one version"
    )]
    ToolVersion {
        /// The first plan.
        first: String,
        /// Its version.
        first_version: String,
        /// The plan that differs.
        path: String,
        /// Its version.
        version: String,
    },
    /// A plan that is itself a merge.
    #[error("{path} is already a merged plan: merge the plans of the shards")]
    AlreadyMerged {
        /// The plan file.
        path: String,
    },
    /// A plan whose `selection` does not describe its tenants.
    #[error("{path}: selection.positions does not list one position in the file per tenant")]
    Positions {
        /// The plan file.
        path: String,
    },
    /// The same tenant in two plans.
    #[error("tenant {name} ({tenant_id}) is in both {first} and {second}")]
    DuplicateTenant {
        /// Its name.
        name: String,
        /// Its id.
        tenant_id: String,
        /// One plan.
        first: String,
        /// The other.
        second: String,
    },
    /// Sharded and unsharded plans, or shards of different counts or patterns.
    #[error(
        "{path} is {what}, {first} is {first_what}: merge the shards 1/n to n/n of one `plan --shard` run with the same --tenant patterns"
    )]
    Mixed {
        /// The first plan.
        first: String,
        /// What it is.
        first_what: String,
        /// The plan that differs.
        path: String,
        /// What it is.
        what: String,
    },
    /// The same shard twice.
    #[error("shard {shard} is in both {first} and {second}")]
    DuplicateShard {
        /// The shard, `i/n`.
        shard: String,
        /// One plan.
        first: String,
        /// The other.
        second: String,
    },
    /// Shards missing.
    #[error("shard{} {} missing: merge every shard 1/{count} to {count}/{count}", if .missing.len() == 1 { "" } else { "s" }, list(.missing, *.count))]
    MissingShards {
        /// The missing shard indexes (1-based).
        missing: Vec<u32>,
        /// The shard count.
        count: u32,
    },
}

fn list(missing: &[u32], count: u32) -> String {
    let names: Vec<String> = missing.iter().map(|i| format!("{i}/{count}")).collect();
    let n = names.len();
    if n > 1 {
        format!("{} and {} are", names[..n - 1].join(", "), names[n - 1])
    } else {
        format!("{} is", names.join(""))
    }
}

/// What a plan's selection is, for messages.
fn describe(plan: &Plan) -> String {
    match &plan.selection {
        None => "a plan of every tenant".to_string(),
        Some(s) => {
            let patterns = if s.tenants.is_empty() {
                String::new()
            } else {
                format!(
                    " of --tenant {}",
                    escape_controls(&s.tenants.join(" --tenant "))
                )
            };
            match s.shard {
                Some(shard) => format!("shard {shard}{patterns}"),
                None => format!("a plan{patterns}"),
            }
        }
    }
}

/// Merges `plans` (see the module documentation). The merged plan has the
/// first plan's `config_path`, the earliest `created_at`, the tenants in file
/// order, and `merged` set.
pub fn merge(plans: &[PlanFile]) -> Result<Plan, MergeError> {
    let name = |f: &PlanFile| escape_controls(&f.path.display().to_string());
    let first = plans.first().ok_or(MergeError::NoPlans)?;
    let sharded = first.plan.selection.as_ref().and_then(|s| s.shard);
    let mut shards: BTreeMap<u32, &PlanFile> = BTreeMap::new();
    for f in plans {
        let p = &f.plan;
        if p.merged.is_some() {
            return Err(MergeError::AlreadyMerged { path: name(f) });
        }
        if p.config_digest != first.plan.config_digest {
            return Err(MergeError::ConfigDigest {
                first: name(first),
                first_digest: escape_controls(&first.plan.config_digest),
                path: name(f),
                digest: escape_controls(&p.config_digest),
            });
        }
        if p.tool_version != first.plan.tool_version {
            return Err(MergeError::ToolVersion {
                first: name(first),
                first_version: escape_controls(&first.plan.tool_version),
                path: name(f),
                version: escape_controls(&p.tool_version),
            });
        }
        let shard = p.selection.as_ref().and_then(|s| s.shard);
        let patterns = |p: &Plan| p.selection.as_ref().map(|s| s.tenants.clone());
        let same_kind = match (sharded, shard) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.count == b.count
                    && patterns(p).unwrap_or_default() == patterns(&first.plan).unwrap_or_default()
            }
            _ => false,
        };
        if !same_kind {
            return Err(MergeError::Mixed {
                first: name(first),
                first_what: describe(&first.plan),
                path: name(f),
                what: describe(p),
            });
        }
        if let Some(shard) = shard
            && let Some(other) = shards.insert(shard.index, f)
        {
            return Err(MergeError::DuplicateShard {
                shard: shard.to_string(),
                first: name(other),
                second: name(f),
            });
        }
    }
    if let Some(shard) = sharded {
        let missing: Vec<u32> = (1..=shard.count)
            .filter(|i| !shards.contains_key(i))
            .collect();
        if !missing.is_empty() {
            return Err(MergeError::MissingShards {
                missing,
                count: shard.count,
            });
        }
    }
    // Every tenant once, by name and by id.
    let mut by_name: BTreeMap<&str, &PlanFile> = BTreeMap::new();
    let mut by_id: BTreeMap<String, &PlanFile> = BTreeMap::new();
    for f in plans {
        for t in &f.plan.tenants {
            let other = by_name
                .insert(&t.name, f)
                .or(by_id.insert(t.tenant_id.to_ascii_lowercase(), f));
            if let Some(other) = other {
                return Err(MergeError::DuplicateTenant {
                    name: escape_controls(&t.name),
                    tenant_id: escape_controls(&t.tenant_id),
                    first: name(other),
                    second: name(f),
                });
            }
        }
    }
    // File order: each tenant's position in the file (a plan of every tenant
    // lists them in file order).
    let mut entries: Vec<(usize, &TenantPlan)> = Vec::new();
    for f in plans {
        let tenants = &f.plan.tenants;
        let positions: Vec<usize> = match &f.plan.selection {
            Some(s) if s.positions.len() == tenants.len() => s.positions.clone(),
            Some(_) => return Err(MergeError::Positions { path: name(f) }),
            None => (0..tenants.len()).collect(),
        };
        entries.extend(positions.into_iter().zip(tenants));
    }
    entries.sort_by_key(|(position, _)| *position);
    let mut patterns: Vec<String> = Vec::new();
    for f in plans {
        for p in f.plan.selection.iter().flat_map(|s| &s.tenants) {
            if !patterns.contains(p) {
                patterns.push(p.clone());
            }
        }
    }
    let selection = (!patterns.is_empty()).then(|| Selection {
        tenants: patterns,
        shard: None,
        positions: entries.iter().map(|(p, _)| *p).collect(),
        file_tenants: first
            .plan
            .selection
            .as_ref()
            .map_or(first.plan.tenants.len(), |s| s.file_tenants),
    });
    let created_at = plans
        .iter()
        .map(|f| f.plan.created_at.as_str())
        .min()
        .unwrap_or_default()
        .to_string();
    Ok(Plan {
        format_version: ssprctl_plan::FORMAT_VERSION.to_string(),
        tool_version: first.plan.tool_version.clone(),
        config_digest: first.plan.config_digest.clone(),
        config_path: first.plan.config_path.clone(),
        created_at,
        tenants: entries.into_iter().map(|(_, t)| t.clone()).collect(),
        selection,
        merged: Some(Merged {
            plans: plans.len(),
            shards: sharded.map(|s| s.count),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssprctl_plan::Shard;

    fn tenant(name: &str) -> TenantPlan {
        TenantPlan {
            name: name.into(),
            tenant_id: format!("id-{name}"),
            ..Default::default()
        }
    }

    /// Shard `index` of `count` holding the tenants at `positions` of a file
    /// of tenants `t0`, `t1`, ...
    fn shard(index: u32, count: u32, positions: &[usize]) -> PlanFile {
        PlanFile {
            path: PathBuf::from(format!("shard-{index}.json")),
            plan: Plan {
                format_version: "1.2".into(),
                tool_version: "0.1.0".into(),
                config_digest: "d".into(),
                config_path: "c.yaml".into(),
                created_at: format!("2026-11-30T10:0{index}:00Z"),
                tenants: positions.iter().map(|p| tenant(&format!("t{p}"))).collect(),
                selection: Some(Selection {
                    tenants: Vec::new(),
                    shard: Some(Shard { index, count }),
                    positions: positions.to_vec(),
                    file_tenants: 6,
                }),
                merged: None,
            },
        }
    }

    #[test]
    fn shards_merge_in_file_order() {
        let merged = merge(&[
            shard(2, 3, &[1, 4]),
            shard(1, 3, &[0, 5]),
            shard(3, 3, &[2, 3]),
        ])
        .expect("merges");
        let names: Vec<&str> = merged.tenants.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t0", "t1", "t2", "t3", "t4", "t5"]);
        assert_eq!(merged.selection, None);
        assert_eq!(
            merged.merged,
            Some(Merged {
                plans: 3,
                shards: Some(3)
            })
        );
        assert_eq!(merged.created_at, "2026-11-30T10:01:00Z");
    }

    #[test]
    fn an_empty_shard_counts() {
        let merged = merge(&[shard(1, 2, &[0, 1]), shard(2, 2, &[])]).expect("merges");
        assert_eq!(merged.tenants.len(), 2);
    }

    #[test]
    fn a_missing_shard_is_named() {
        let err = merge(&[shard(2, 4, &[1])]).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "shards 1/4, 3/4 and 4/4 are missing: merge every shard 1/4 to 4/4"
        );
        let err = merge(&[shard(1, 2, &[0])]).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "shard 2/2 is missing: merge every shard 1/2 to 2/2"
        );
    }

    #[test]
    fn the_same_shard_or_tenant_twice_is_refused() {
        let err = merge(&[shard(1, 2, &[0]), shard(1, 2, &[1])]).expect_err("refused");
        assert!(matches!(err, MergeError::DuplicateShard { .. }), "{err}");
        let err = merge(&[shard(1, 2, &[0]), shard(2, 2, &[0])]).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "tenant t0 (id-t0) is in both shard-1.json and shard-2.json"
        );
    }

    #[test]
    fn other_files_versions_counts_or_kinds_are_refused() {
        let mut other = shard(2, 2, &[1]);
        other.plan.config_digest = "e".into();
        assert!(matches!(
            merge(&[shard(1, 2, &[0]), other]),
            Err(MergeError::ConfigDigest { .. })
        ));
        let mut other = shard(2, 2, &[1]);
        other.plan.tool_version = "9.9.9".into();
        assert!(matches!(
            merge(&[shard(1, 2, &[0]), other]),
            Err(MergeError::ToolVersion { .. })
        ));
        assert!(matches!(
            merge(&[shard(1, 2, &[0]), shard(2, 3, &[1])]),
            Err(MergeError::Mixed { .. })
        ));
        let mut whole = shard(1, 1, &[0, 1]);
        whole.plan.selection = None;
        let err = merge(&[whole, shard(2, 2, &[1])]).expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("shard-2.json is shard 2/2, shard-1.json is a plan of every tenant"),
            "{err}"
        );
        let mut merged = shard(1, 1, &[0]);
        merged.plan.merged = Some(Merged {
            plans: 1,
            shards: None,
        });
        assert!(matches!(
            merge(&[merged]),
            Err(MergeError::AlreadyMerged { .. })
        ));
        let mut forged = shard(1, 1, &[0, 1]);
        forged.plan.selection.as_mut().expect("selection").positions = vec![0];
        assert!(matches!(
            merge(&[forged]),
            Err(MergeError::Positions { .. })
        ));
    }

    #[test]
    fn disjoint_tenant_selections_merge_with_their_patterns() {
        let pick = |pattern: &str, positions: &[usize]| {
            let mut f = shard(1, 1, positions);
            f.path = PathBuf::from(format!("{pattern}.json"));
            let s = f.plan.selection.as_mut().expect("selection");
            s.shard = None;
            s.tenants = vec![pattern.into()];
            f
        };
        let merged = merge(&[pick("b*", &[3]), pick("a*", &[0, 1])]).expect("merges");
        let s = merged.selection.expect("selection");
        assert_eq!(s.tenants, ["b*", "a*"]);
        assert_eq!(s.positions, [0, 1, 3]);
    }
}
