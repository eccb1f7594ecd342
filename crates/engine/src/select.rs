//! Which tenants of a desired-state file a command works on: `--tenant`
//! patterns, then `--shard i/n`. Pure: no I/O, no clock.
//!
//! Selection happens after the whole file is loaded and validated (a broken
//! tenant anywhere in the file still fails the command) and before any tenant
//! is read. A pattern that matches no tenant is an error naming it; a shard
//! with no tenant is not (it plans nothing).
//!
//! Shards are assigned by the tenant id alone, so every machine and every
//! ssprctl version puts a tenant in the same shard, and adding or removing a
//! tenant moves no other tenant: the key is the first 8 bytes (big-endian) of
//! the SHA-256 of the lower-case tenant id, and the shard is the jump
//! consistent hash of that key (Lamping and Veach, "A Fast, Minimal Memory,
//! Consistent Hash Algorithm", 2014) over `n` buckets, plus one. Changing `n`
//! to `n + 1` moves about `1/(n + 1)` of the tenants, each to the new shard.
//! This assignment is part of the compatibility contract (pinned by a test).

use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};
use ssprctl_model::Config;
use ssprctl_plan::{Selection, Shard};

/// The largest shard count `--shard` accepts.
pub const MAX_SHARDS: u32 = 10_000;

/// What the command line asked for: `--tenant` patterns and a `--shard`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Select {
    /// Globs on the tenant's `name` (`*`, `?`, `[abc]`); a tenant is selected
    /// when any matches. Empty: every tenant.
    pub tenants: Vec<String>,
    /// Keep only the tenants of this shard (after the patterns).
    pub shard: Option<Shard>,
}

impl Select {
    /// Whether this selects every tenant (no pattern, no shard).
    pub fn is_all(&self) -> bool {
        self.tenants.is_empty() && self.shard.is_none()
    }

    /// The request a plan's recorded selection was made with.
    pub fn of(selection: &Selection) -> Select {
        Select {
            tenants: selection.tenants.clone(),
            shard: selection.shard,
        }
    }
}

/// Why a selection cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    /// A `--tenant` pattern is not a valid glob.
    #[error("--tenant {pattern}: not a valid pattern: {reason}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--tenant` patterns that match no tenant of the file.
    #[error("{}", unmatched_text(.unmatched))]
    NoMatch {
        /// Each pattern that matched nothing, with the closest name.
        unmatched: Vec<Unmatched>,
    },
}

/// A `--tenant` pattern that matched no tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmatched {
    /// The pattern as given.
    pub pattern: String,
    /// The closest tenant name of the file, if one is close.
    pub did_you_mean: Option<String>,
}

fn unmatched_text(unmatched: &[Unmatched]) -> String {
    unmatched
        .iter()
        .map(|u| {
            let hint = match &u.did_you_mean {
                Some(name) => format!(" (did you mean `{name}`?)"),
                None => String::new(),
            };
            format!(
                "--tenant {}: matches no tenant name of the file{hint}",
                u.pattern
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a `--shard` value is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    /// Not of the form `i/n`.
    #[error("expected i/n with whole numbers, e.g. 2/3 (shard 2 of 3)")]
    Form,
    /// `n` is 0 or above [`MAX_SHARDS`].
    #[error("the shard count must be 1 to {MAX_SHARDS}, got {count}")]
    Count {
        /// The count given.
        count: u32,
    },
    /// `i` is outside `1..=n`.
    #[error("shards are numbered 1/{count} to {count}/{count}, got {index}/{count}")]
    Index {
        /// The index given.
        index: u32,
        /// The count given.
        count: u32,
    },
}

/// Parses `--shard i/n` (1-based).
pub fn parse_shard(text: &str) -> Result<Shard, ShardError> {
    let (i, n) = text.trim().split_once('/').ok_or(ShardError::Form)?;
    let number = |s: &str| {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ShardError::Form);
        }
        s.parse::<u32>().map_err(|_| ShardError::Form)
    };
    let (index, count) = (number(i)?, number(n)?);
    if count == 0 || count > MAX_SHARDS {
        return Err(ShardError::Count { count });
    }
    if index == 0 || index > count {
        return Err(ShardError::Index { index, count });
    }
    Ok(Shard { index, count })
}

/// The shard (1-based, of `count`) a tenant id belongs to; see the module
/// documentation. `count` 0 is taken as 1.
pub fn shard_of(tenant_id: &str, count: u32) -> u32 {
    let digest = Sha256::digest(tenant_id.to_ascii_lowercase().as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    jump(u64::from_be_bytes(key), count.max(1)) + 1
}

/// Jump consistent hash: the bucket in `0..buckets` of `key`.
fn jump(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    // 0 <= b < buckets <= u32::MAX.
    u32::try_from(b).unwrap_or(0)
}

/// Keeps the tenants of `config` that `select` asks for, in file order, and
/// says which (`None` when every tenant is kept because nothing was asked).
/// `config.file` is left whole (tenants keep their position in it).
pub fn select(
    mut config: Config,
    select: &Select,
) -> Result<(Config, Option<Selection>), SelectError> {
    if select.is_all() {
        return Ok((config, None));
    }
    let matchers = select
        .tenants
        .iter()
        .map(|pattern| {
            Glob::new(pattern)
                .map(|g| g.compile_matcher())
                .map_err(|e| SelectError::BadPattern {
                    pattern: pattern.clone(),
                    reason: e.kind().to_string(),
                })
        })
        .collect::<Result<Vec<GlobMatcher>, _>>()?;
    let mut matched = vec![false; matchers.len()];
    let file_tenants = config.tenants.len();
    config.tenants.retain(|t| {
        let mut hit = matchers.is_empty();
        for (m, seen) in matchers.iter().zip(matched.iter_mut()) {
            if m.is_match(&t.name) {
                *seen = true;
                hit = true;
            }
        }
        hit
    });
    let unmatched: Vec<Unmatched> = select
        .tenants
        .iter()
        .zip(&matched)
        .filter(|(_, m)| !**m)
        .map(|(pattern, _)| Unmatched {
            pattern: pattern.clone(),
            did_you_mean: closest(pattern, config.file.tenants.iter().map(|t| &t.name)),
        })
        .collect();
    if !unmatched.is_empty() {
        return Err(SelectError::NoMatch { unmatched });
    }
    if let Some(shard) = select.shard {
        config
            .tenants
            .retain(|t| shard_of(&t.tenant_id, shard.count) == shard.index);
    }
    let positions = config.tenants.iter().map(|t| t.index).collect();
    Ok((
        config,
        Some(Selection {
            tenants: select.tenants.clone(),
            shard: select.shard,
            positions,
            file_tenants,
        }),
    ))
}

/// The name closest to `pattern` (its glob characters ignored), if close.
fn closest<'a>(pattern: &str, names: impl Iterator<Item = &'a String>) -> Option<String> {
    let bare: String = pattern
        .chars()
        .filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}'))
        .collect::<String>()
        .to_ascii_lowercase();
    names
        .map(|n| (strsim::jaro_winkler(&bare, &n.to_ascii_lowercase()), n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config(names: &[&str]) -> Config {
        let mut yaml = String::from("version: 1\ntenants:\n");
        for (i, name) in names.iter().enumerate() {
            yaml.push_str(&format!(
                "  - name: {name}\n    tenantId: 00000000-0000-4000-8000-{i:012}\n    endpoint: local\n"
            ));
        }
        ssprctl_model::load_str("c.yaml", &yaml).expect("valid")
    }

    fn names(config: &Config) -> Vec<&str> {
        config.tenants.iter().map(|t| t.name.as_str()).collect()
    }

    fn tenants(patterns: &[&str]) -> Select {
        Select {
            tenants: patterns.iter().map(|p| p.to_string()).collect(),
            shard: None,
        }
    }

    #[test]
    fn globs_select_by_name_in_file_order() {
        let c = config(&["contoso-eu", "fabrikam", "contoso-us", "tailspin-eu"]);
        let (kept, sel) = select(c, &tenants(&["*-eu", "contoso-*"])).expect("selects");
        assert_eq!(names(&kept), ["contoso-eu", "contoso-us", "tailspin-eu"]);
        let sel = sel.expect("recorded");
        assert_eq!(sel.positions, [0, 2, 3]);
        assert_eq!(sel.file_tenants, 4);
        assert_eq!(sel.tenants, ["*-eu", "contoso-*"]);
        assert_eq!(kept.file.tenants.len(), 4, "the file stays whole");
    }

    #[test]
    fn nothing_asked_selects_everything_and_records_nothing() {
        let (kept, sel) = select(config(&["a", "b"]), &Select::default()).expect("selects");
        assert_eq!(names(&kept), ["a", "b"]);
        assert_eq!(sel, None);
    }

    #[test]
    fn a_pattern_matching_nothing_is_named_with_a_suggestion() {
        let err = select(
            config(&["contoso", "fabrikam"]),
            &tenants(&["contso", "zzz*", "fab*"]),
        )
        .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "--tenant contso: matches no tenant name of the file (did you mean `contoso`?); \
             --tenant zzz*: matches no tenant name of the file"
        );
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let err = select(config(&["a"]), &tenants(&["[a"])).expect_err("refused");
        assert!(
            matches!(&err, SelectError::BadPattern { pattern, .. } if pattern == "[a"),
            "{err:?}"
        );
    }

    #[test]
    fn shard_values_are_checked() {
        assert_eq!(parse_shard("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(parse_shard("1/1"), Ok(Shard { index: 1, count: 1 }));
        assert_eq!(
            parse_shard("0/3"),
            Err(ShardError::Index { index: 0, count: 3 })
        );
        assert_eq!(
            parse_shard("4/3"),
            Err(ShardError::Index { index: 4, count: 3 })
        );
        assert_eq!(parse_shard("1/0"), Err(ShardError::Count { count: 0 }));
        assert_eq!(
            parse_shard("1/10001"),
            Err(ShardError::Count { count: 10_001 })
        );
        for bad in ["", "2", "2/", "/3", "a/3", "-1/3", "+1/3", "1/3/4", "1.5/3"] {
            assert_eq!(parse_shard(bad), Err(ShardError::Form), "{bad}");
        }
        assert_eq!(
            parse_shard("0/3").expect_err("bad").to_string(),
            "shards are numbered 1/3 to 3/3, got 0/3"
        );
    }

    /// The assignment is a compatibility contract: these values were computed
    /// independently (Python: `hashlib.sha256` and the published jump hash)
    /// and must never change.
    #[test]
    fn shard_assignment_is_pinned() {
        let pinned: [(&str, [u32; 4]); 6] = [
            ("6f1c9a2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", [1, 1, 6, 863]),
            ("00000000-0000-4000-8000-000000000000", [1, 1, 10, 206]),
            ("00000000-0000-4000-8000-000000000001", [1, 3, 3, 67]),
            ("00000000-0000-4000-8000-000000000002", [1, 3, 9, 219]),
            ("00000000-0000-4000-8000-000000000003", [1, 1, 1, 74]),
            ("ffffffff-ffff-4fff-bfff-ffffffffffff", [1, 1, 9, 658]),
        ];
        for (id, [one, three, ten, thousand]) in pinned {
            assert_eq!(shard_of(id, 1), one, "{id} of 1");
            assert_eq!(shard_of(id, 3), three, "{id} of 3");
            assert_eq!(shard_of(id, 10), ten, "{id} of 10");
            assert_eq!(shard_of(id, 1000), thousand, "{id} of 1000");
            assert_eq!(shard_of(&id.to_ascii_uppercase(), 3), three, "case");
        }
    }

    fn id(n: u64) -> String {
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// A file with one tenant per id, named `t0`, `t1`, ... in order.
    fn file(ids: &[u64]) -> Config {
        let mut yaml = String::from("version: 1\ntenants:\n");
        for (i, n) in ids.iter().enumerate() {
            yaml.push_str(&format!(
                "  - name: t{i}\n    tenantId: {}\n    endpoint: local\n",
                id(*n)
            ));
        }
        ssprctl_model::load_str("c.yaml", &yaml).expect("valid")
    }

    /// The tenant ids of shard `index` of `count`.
    fn shard_ids(config: &Config, index: u32, count: u32) -> Vec<String> {
        let shard = Some(Shard { index, count });
        let select_shard = Select {
            tenants: Vec::new(),
            shard,
        };
        select(config.clone(), &select_shard)
            .expect("selects")
            .0
            .tenants
            .iter()
            .map(|t| t.tenant_id.clone())
            .collect()
    }

    const IDS: std::ops::Range<u64> = 0..(1 << 48);

    proptest! {
        #[test]
        fn every_tenant_lands_in_exactly_one_shard(
            ids in proptest::collection::btree_set(IDS, 1..40),
            n in 1u32..12,
        ) {
            let ids: Vec<u64> = ids.into_iter().collect();
            let c = file(&ids);
            let mut seen: Vec<String> = (1..=n).flat_map(|i| shard_ids(&c, i, n)).collect();
            seen.sort_unstable();
            let mut all: Vec<String> = ids.iter().map(|n| id(*n)).collect();
            all.sort_unstable();
            prop_assert_eq!(seen, all);
        }

        #[test]
        fn adding_a_tenant_moves_no_other(
            ids in proptest::collection::btree_set(IDS, 2..40),
            n in 1u32..20,
        ) {
            let ids: Vec<u64> = ids.into_iter().collect();
            let (before, after) = (file(&ids[1..]), file(&ids));
            let added = id(ids[0]);
            for index in 1..=n {
                let mut now = shard_ids(&after, index, n);
                now.retain(|t| *t != added);
                prop_assert_eq!(now, shard_ids(&before, index, n));
            }
        }

        #[test]
        fn growing_n_by_one_only_moves_tenants_to_the_new_shard(key in 0u64..u64::MAX, n in 1u32..200) {
            let a = jump(key, n);
            let b = jump(key, n + 1);
            prop_assert!(a < n && (a == b || b == n));
        }
    }
}
