//! Repository checks: the checked-in schema is current and every example is valid.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn checked_in_schema_is_current() {
    let path = repo().join("schemas/ssprctl.schema.json");
    let generated = ssprctl_model::schema::config_schema_json();
    if std::env::var_os("SSPRCTL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/ssprctl.schema.json is stale: regenerate it with \
         `SSPRCTL_UPDATE_SCHEMA=1 cargo test -p ssprctl-model --test repo` \
         (or `cargo run -- schema > schemas/ssprctl.schema.json`)"
    );
}

#[test]
fn every_example_is_valid_and_points_editors_at_the_schema() {
    let mut seen = 0;
    let top = std::fs::read_dir(repo().join("examples")).expect("examples/ exists");
    let baselines = std::fs::read_dir(repo().join("examples/baselines")).expect("baselines/");
    for entry in top.chain(baselines) {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).expect("read example");
        let up = if path.parent().is_some_and(|p| p.ends_with("baselines")) {
            "../../"
        } else {
            "../"
        };
        assert!(
            text.starts_with(&format!(
                "# yaml-language-server: $schema={up}schemas/ssprctl.schema.json"
            )),
            "{} lacks the yaml-language-server schema comment",
            path.display()
        );
        if let Err(e) = ssprctl_model::load_file(&path) {
            match e {
                ssprctl_model::LoadError::Invalid { problems, .. } => {
                    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    panic!("{} is invalid:\n{}", path.display(), list.join("\n"));
                }
                other => panic!("{}: {other}", path.display()),
            }
        }
    }
    assert!(seen >= 5, "expected at least 5 examples, found {seen}");
}
