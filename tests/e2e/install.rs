//! What an installed binary offers besides its commands: `--version` with the
//! commit it was built from, shell completions and the man page.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Isolated, Run, repo, run_in};

/// The build script's own rules (`build/commit.rs`), tested here.
#[path = "../../build/commit.rs"]
mod commit;

/// `program` on the test's PATH, if it is there.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs `script` with `bash -c`, isolated like every run of the binary but
/// with the test's PATH (so `man`, `groff` and the like are found) and
/// `$SSPRCTL` naming the binary under test.
fn bash(bash: &Path, script: &str) -> Run {
    let home = tempfile::tempdir().expect("temp home");
    Isolated::program(bash.as_os_str(), &repo(), home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SSPRCTL", OsString::from(env!("CARGO_BIN_EXE_ssprctl")))
        .run(&["-c", script])
}

#[test]
fn version_names_the_commit_built_from_when_git_is_there() {
    let run = run_in(&repo(), &["--version"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let version = env!("CARGO_PKG_VERSION");
    // The same question the build script asks, asked of the same checkout.
    let head = match Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(["rev-parse", "--short", "HEAD"])
        .output()
    {
        Ok(out) if out.status.success() && repo().join(".git").exists() => {
            commit::commit_from(&out.stdout)
        }
        _ => None,
    };
    let expected = match std::env::var("SSPRCTL_GIT_COMMIT") {
        Ok(value) => commit::commit_from(value.as_bytes()),
        Err(_) => head,
    };
    assert_eq!(
        run.stdout,
        format!(
            "ssprctl {}\n",
            commit::version_line(version, expected.as_deref())
        )
    );
}

#[test]
fn only_a_commit_id_reaches_the_version() {
    use commit::{commit_from, version_line};
    assert_eq!(commit_from(b"69a9a19\n"), Some("69a9a19".to_owned()));
    assert_eq!(commit_from(b"  ABCDEF12 \r\n"), Some("abcdef12".to_owned()));
    let full = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(commit_from(full.as_bytes()), Some(full.to_owned()));
    for not_a_commit in [
        &b""[..],
        b"\n",
        b"abc",
        b"fatal: not a git repository (or any of the parent directories): .git",
        b"69a9a19 dirty",
        b"69a9a19\x1b[2J",
        b"\xff\xfe",
        b"0123456789abcdef0123456789abcdef012345678",
    ] {
        assert_eq!(commit_from(not_a_commit), None, "{not_a_commit:?}");
    }
    assert_eq!(version_line("0.1.0", None), "0.1.0");
    assert_eq!(
        version_line("0.1.0", Some("69a9a19")),
        "0.1.0 (commit 69a9a19)"
    );
}

#[test]
fn bash_loads_the_completion_script_and_completes_commands() {
    let Some(bash_path) = on_path("bash") else {
        eprintln!("bash is not installed: the completion script was not loaded");
        return;
    };
    let run = bash(
        &bash_path,
        r#"source <("$SSPRCTL" completions bash) && complete -p ssprctl"#,
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("-F _ssprctl ssprctl"), "{}", run.stdout);
    assert_eq!(run.stderr, "");

    // What bash offers after `ssprctl comp<TAB>` and `ssprctl plan --det<TAB>`.
    let run = bash(
        &bash_path,
        r#"source <("$SSPRCTL" completions bash) || exit 9
           COMP_WORDS=(ssprctl comp); COMP_CWORD=1; COMP_LINE="ssprctl comp"; COMP_POINT=12
           _ssprctl ssprctl comp ssprctl; echo "${COMPREPLY[*]}"
           COMP_WORDS=(ssprctl plan --det); COMP_CWORD=2; COMP_LINE="ssprctl plan --det"; COMP_POINT=18
           _ssprctl ssprctl --det plan; echo "${COMPREPLY[*]}""#,
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        ["completions", "--detailed-exitcode"],
        "{}",
        run.transcript()
    );
}

#[test]
fn completions_for_every_shell_name_the_binary() {
    for (shell, marker) in [
        ("bash", "complete -F _ssprctl"),
        ("zsh", "#compdef ssprctl"),
        ("fish", "complete -c ssprctl"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'ssprctl'",
        ),
        ("elvish", "edit:completion:arg-completer[ssprctl]"),
    ] {
        let run = run_in(&repo(), &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.transcript());
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("detailed-exitcode"), "{shell}");
        assert_eq!(run.stderr, "", "{shell}");
    }
    let run = run_in(&repo(), &["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stderr.contains("possible values"), "{}", run.stderr);
}

#[test]
fn man_page_is_roff_that_man_renders() {
    let run = run_in(&repo(), &["man"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let page = run.stdout;
    // The roff structure of a section-1 page, whatever renders it.
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.starts_with(".TH"),
        "{page}"
    );
    let th = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect(".TH line");
    assert!(th.starts_with(".TH ssprctl 1"), "{th}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
        ".SH VERSION",
    ] {
        assert!(page.contains(section), "{section} missing:\n{page}");
    }
    for command in [
        "plan",
        "apply",
        "lint",
        "export",
        "report",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("ssprctl\\-{command}(1)")),
            "{command}"
        );
    }

    let Some(bash_path) = on_path("bash") else {
        return;
    };
    let renderer = if on_path("man").is_some() {
        r#""$SSPRCTL" man | MANWIDTH=80 man -l -"#
    } else if on_path("groff").is_some() {
        r#""$SSPRCTL" man | groff -man -Tutf8 -ww"#
    } else if on_path("mandoc").is_some() {
        r#""$SSPRCTL" man | mandoc -man -Tutf8"#
    } else {
        eprintln!("no man, groff or mandoc: only the roff structure was checked");
        return;
    };
    let run = bash(&bash_path, &format!("set -o pipefail; {renderer} | cat"));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stderr, "", "{renderer}");
    // Rendered text, not roff: the requests are gone, the words are there
    // (`col -b` would remove the overstrikes a terminal renderer may use).
    let text: String = run.stdout.replace('\u{8}', "");
    assert!(!text.contains(".SH"), "{text}");
    assert!(text.contains("SYNOPSIS"), "{text}");
    assert!(text.contains("Microsoft Entra"), "{text}");
}

#[test]
fn man_dir_writes_a_page_per_command_that_the_main_page_names() {
    let home = tempfile::tempdir().expect("temp home");
    let dir = home.path().join("share/man/man1");
    let run =
        Isolated::new(&repo(), home.path()).run(&["man", "--dir", dir.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let listed: Vec<PathBuf> = run.stdout.lines().map(PathBuf::from).collect();
    let mut on_disk: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("man dir")
        .map(|e| e.expect("entry").path())
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk, "the files listed are the files written");
    let main = std::fs::read_to_string(dir.join("ssprctl.1")).expect("ssprctl.1");
    assert_eq!(
        main,
        run_in(&repo(), &["man"]).stdout,
        "ssprctl.1 is what `man` prints"
    );
    for command in [
        "validate",
        "plan",
        "apply",
        "lint",
        "export",
        "report",
        "rollback",
        "completions",
        "man",
    ] {
        let page = std::fs::read_to_string(dir.join(format!("ssprctl-{command}.1")))
            .unwrap_or_else(|e| panic!("ssprctl-{command}.1: {e}"));
        assert!(
            page.contains(&format!(".TH ssprctl-{command} 1")),
            "{command}:\n{page}"
        );
        assert!(
            main.contains(&format!("ssprctl\\-{command}(1)")),
            "{command}"
        );
    }

    // A directory that cannot be made is named in the error.
    let blocker = home.path().join("file");
    std::fs::write(&blocker, "").expect("file");
    let run = Isolated::new(home.path(), home.path()).run(&["man", "--dir", "file/man1"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("cannot write the man pages to file/man1"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}
