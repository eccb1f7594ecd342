//! Build script: puts the git commit into `ssprctl --version` when the binary
//! is built from a git checkout with git installed; otherwise the version
//! alone. It never fails the build: no git, no `.git`, a shallow or broken
//! checkout all give the plain version.
//!
//! `SSPRCTL_GIT_COMMIT` overrides git (for builds from a source archive or a
//! container context without `.git`); an empty value means "no commit".

#![allow(
    clippy::print_stdout,
    reason = "a build script talks to Cargo on stdout"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

include!("build/commit.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/commit.rs");
    println!("cargo:rerun-if-env-changed=SSPRCTL_GIT_COMMIT");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let commit = match std::env::var("SSPRCTL_GIT_COMMIT") {
        Ok(value) => commit_from(value.as_bytes()),
        Err(_) => git_commit(),
    };
    println!(
        "cargo:rustc-env=SSPRCTL_VERSION={}",
        version_line(&version, commit.as_deref())
    );
}

/// `git rev-parse --short HEAD` in the package directory, when it has a
/// `.git` (a directory in a clone, a file in a worktree) and git runs.
fn git_commit() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    if !dir.join(".git").exists() {
        return None;
    }
    let commit = git(&dir, &["rev-parse", "--short", "HEAD"]).and_then(|out| commit_from(&out))?;
    watch_head(&dir);
    Some(commit)
}

/// Runs git in `dir`; its stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}

/// Reruns this script when HEAD moves: a commit, a checkout, a reset. Only
/// files that exist are named (Cargo reruns every build for a missing one).
fn watch_head(dir: &Path) {
    let path_of = |args: &[&str]| {
        git(dir, args)
            .and_then(|out| String::from_utf8(out).ok())
            .map(|s| PathBuf::from(s.trim()))
            .map(|p| if p.is_absolute() { p } else { dir.join(p) })
    };
    let mut watched = Vec::new();
    if let Some(head) = path_of(&["rev-parse", "--git-path", "HEAD"]) {
        watched.push(head);
    }
    let symbolic =
        git(dir, &["symbolic-ref", "-q", "HEAD"]).and_then(|out| String::from_utf8(out).ok());
    if let Some(reference) = symbolic.and_then(|r| path_of(&["rev-parse", "--git-path", r.trim()]))
    {
        watched.push(reference);
    }
    if let Some(packed) = path_of(&["rev-parse", "--git-path", "packed-refs"]) {
        watched.push(packed);
    }
    for path in watched.into_iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
