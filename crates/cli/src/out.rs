//! The one way to stdout and stderr.
//!
//! Every byte of stdout goes through [`write_out`]. When the reader goes away
//! (`ssprctl plan | head -1`), the broken pipe is remembered and later output
//! is dropped quietly: the run carries on and ends with the exit code it would
//! have had (as ripgrep does), instead of panicking in `println!`. Stderr
//! write errors are ignored for the same reason.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::CliError;

/// Whether stdout's reader has gone away.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout (and flushes). A closed pipe is not an error: the text,
/// and everything after it, is dropped.
pub fn write_out(text: &str) -> Result<(), CliError> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other.map_err(|source| CliError::Stdout { source }),
    }
}

/// Writes to stderr, ignoring failures (there is nowhere left to report them).
pub fn write_err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// `print!` through [`write_out`]; evaluates to `Result<(), CliError>`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write_out(&format!($($arg)*)) };
}

/// `println!` through [`write_out`]; evaluates to `Result<(), CliError>`.
macro_rules! outln {
    () => { $crate::out::write_out("\n") };
    ($($arg:tt)*) => { $crate::out::write_out(&format!("{}\n", format!($($arg)*))) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::write_err(&format!("{}\n", format!($($arg)*))) };
}

pub(crate) use {errln, out, outln};

pub use ssprctl_model::text::escape_controls;

/// [`escape_controls`] for each line of a message that is several lines on
/// purpose (a problem and its help).
pub fn escape_lines(text: &str) -> String {
    text.split('\n')
        .map(escape_controls)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            escape_controls("Sales\u{1b}[2J\r\nerror: fake"),
            "Sales\\u{1b}[2J\\r\\nerror: fake"
        );
        assert_eq!(escape_controls("Équipe – ventes"), "Équipe – ventes");
        assert_eq!(escape_controls("a\u{202e}b\u{9b}"), "a\\u{202e}b\\u{9b}");
        assert_eq!(escape_lines("a\u{7}\n  help: b"), "a\\u{7}\n  help: b");
    }
}
