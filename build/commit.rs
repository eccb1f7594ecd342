// Shared by `build.rs` and the e2e tests (`tests/e2e/version.rs`), so the
// rules of what counts as a commit id are tested, not only built.

/// The commit id to show in `--version`, from the output of
/// `git rev-parse --short HEAD` (or the `SSPRCTL_GIT_COMMIT` override): 4 to
/// 40 hexadecimal digits, surrounding whitespace ignored. Anything else
/// (git's error text, an empty output, a stray character) gives `None`, and
/// the version is shown without a commit.
pub fn commit_from(output: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(output).ok()?.trim();
    let hex = text.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && (4..=40).contains(&text.len())).then(|| text.to_ascii_lowercase())
}

/// The version string `ssprctl --version` prints after the program name.
pub fn version_line(version: &str, commit: Option<&str>) -> String {
    match commit {
        Some(commit) => format!("{version} (commit {commit})"),
        None => version.to_owned(),
    }
}
