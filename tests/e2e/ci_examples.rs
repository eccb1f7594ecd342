//! The CI examples call the real binary's flags: every `ssprctl SUBCOMMAND
//! --flag …` line in `examples/github/`, `examples/azure-pipelines/` and
//! `examples/gitlab/` names a subcommand whose `--help` lists each flag used.
//! (Their structure and flows: `crates/model/tests/ci_examples.rs`.)

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{repo, run_in};

/// Subcommand -> the flags the examples pass to it, with the files that do.
fn used_flags() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut used: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for dir in [
        "examples/github",
        "examples/azure-pipelines",
        "examples/gitlab",
    ] {
        let entries = std::fs::read_dir(repo().join(dir)).expect("examples dir");
        for entry in entries {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let Some(name) = name.filter(|n| n.ends_with(".yml") || n.ends_with(".yaml")) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("read pipeline");
            for line in text.lines().map(str::trim) {
                let Some(rest) = line.strip_prefix("ssprctl ") else {
                    continue;
                };
                let mut words = rest.split_whitespace();
                let Some(sub) = words.next().filter(|w| !w.starts_with('-')) else {
                    continue;
                };
                if !rest.contains(" --") {
                    continue; // a display name such as "ssprctl apply"
                }
                for flag in words.filter(|w| w.starts_with("--")) {
                    let flag = flag.split('=').next().unwrap_or(flag);
                    used.entry(sub.to_owned())
                        .or_default()
                        .entry(flag.to_owned())
                        .or_default()
                        .insert(format!("{dir}/{name}"));
                }
            }
        }
    }
    used
}

#[test]
fn every_flag_the_ci_examples_pass_is_one_the_binary_has() {
    let used = used_flags();
    for sub in ["validate", "plan", "apply", "lint"] {
        assert!(
            used.contains_key(sub),
            "no example runs `ssprctl {sub}`: {used:?}"
        );
    }
    for (sub, flags) in &used {
        let help = run_in(&repo(), &[sub.as_str(), "--help"]);
        assert_eq!(help.code, 0, "ssprctl {sub} --help:\n{}", help.transcript());
        for (flag, files) in flags {
            let listed = help
                .stdout
                .split(|c: char| c.is_whitespace() || c == ',')
                .any(|w| w == flag);
            assert!(
                listed,
                "`ssprctl {sub} {flag}` (in {files:?}) is not a flag of {sub}:\n{}",
                help.stdout
            );
        }
    }
}
