//! One process per state file: an exclusive operating-system lock on
//! `FILE.lock` next to the state file, held for the emulator's lifetime.
//!
//! The lock itself is the operating system's (`flock` on Unix, `LockFileEx`
//! on Windows), so it goes away with its process however that process ends:
//! a lock file left behind by a crash never blocks anyone. The file's
//! content only informs the refused process who holds it: the holder's
//! process id, command line and start time. The file is not deleted on
//! release (deleting it would let two processes lock two different files of
//! the same name); it is emptied.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::wire::Clock;

/// The most of a lock file read to name its holder.
const MAX_HOLDER_BYTES: u64 = 4096;

/// A held lock on a state file; released when dropped.
#[derive(Debug)]
pub(crate) struct StateLock {
    file: File,
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Still locked: nobody reads a half-emptied file as a holder.
        let _ = self.file.set_len(0);
    }
}

/// The lock file of state file `state`: `state` with `.lock` appended.
pub(crate) fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock of state file `state`, or says who holds it.
pub(crate) fn acquire(state: &Path) -> Result<StateLock, Error> {
    let path = lock_path(state);
    let io_error = |source| Error::StateLock {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = (&mut file).take(MAX_HOLDER_BYTES).read_to_string(&mut text);
            return Err(Error::StateLocked {
                path: state.to_path_buf(),
                lock_file: path,
                holder: describe_holder(&text),
            });
        }
        Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
            tracing::warn!(path = %path.display(), "this file system cannot lock files: nothing stops a second process from using the same emulator state file");
            return Ok(StateLock { file });
        }
        Err(TryLockError::Error(source)) => return Err(io_error(source)),
    }
    let holder = format!(
        "pid {}\ncommand {}\nsince {}\n",
        std::process::id(),
        command_line(),
        Clock::now().rfc3339()
    );
    file.set_len(0)
        .and_then(|()| file.write_all(holder.as_bytes()))
        .and_then(|()| file.flush())
        .map_err(io_error)?;
    Ok(StateLock { file })
}

/// This process's command line, on one line.
fn command_line() -> String {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['\n', '\r'], " ")
}

/// "process 123 (`ssprctl emulator …`, since 2026-…Z)" from a lock file's
/// text; control characters escaped, since the file may say anything.
fn describe_holder(text: &str) -> String {
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
            .map(escape_controls)
            .filter(|v| !v.trim().is_empty())
    };
    let mut details = Vec::new();
    if let Some(command) = field("command") {
        details.push(format!("`{command}`"));
    }
    if let Some(since) = field("since") {
        details.push(format!("since {since}"));
    }
    let who = match field("pid") {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_string(),
    };
    if details.is_empty() {
        who
    } else {
        format!("{who} ({})", details.join(", "))
    }
}

fn escape_controls(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state.json");
        let held = acquire(&state).expect("first lock");
        let err = acquire(&state).expect_err("second lock refused");
        let message = err.to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("since "), "{message}");
        assert!(message.contains(&state.display().to_string()), "{message}");
        assert!(
            matches!(&err, Error::StateLocked { lock_file, .. } if *lock_file == lock_path(&state)),
            "{err:?}"
        );
        drop(held);
        let again = acquire(&state).expect("free again after release");
        drop(again);
    }

    #[test]
    fn a_lock_file_left_behind_does_not_block() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state.json");
        std::fs::write(lock_path(&state), "pid 999999\ncommand gone\nsince then\n")
            .expect("stale lock file");
        let _held = acquire(&state).expect("a file without a lock is free");
        let text = std::fs::read_to_string(lock_path(&state)).expect("lock file");
        assert!(
            text.starts_with(&format!("pid {}\n", std::process::id())),
            "{text}"
        );
    }

    #[test]
    fn the_holder_is_described_with_controls_escaped() {
        assert_eq!(
            describe_holder(
                "pid 42\ncommand ssprctl emulator\u{1b}[2J\nsince 2026-11-30T15:00:00Z\n"
            ),
            "process 42 (`ssprctl emulator\\u{1b}[2J`, since 2026-11-30T15:00:00Z)"
        );
        assert_eq!(describe_holder(""), "another process");
    }
}
