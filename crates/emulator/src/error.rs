//! The crate's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not start, or could not save its state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listen address could not be bound (in use, not permitted, …).
    #[error("could not listen on {addr}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but could not be read.
    #[error("could not read the emulator state file {}", path.display())]
    StateUnreadable {
        /// The state file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not valid emulator state (not JSON, or a tenant
    /// entry of the wrong shape).
    #[error("the emulator state file {} is not valid emulator state", path.display())]
    StateCorrupt {
        /// The state file.
        path: PathBuf,
        /// What was wrong, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The fault configuration (state file `faults` or [`crate::spawn_with`])
    /// has an impossible value, such as a probability above 1.
    #[error("invalid fault configuration: {reason}")]
    InvalidFaults {
        /// What is wrong.
        reason: String,
    },
    /// Another process holds the state file's lock: an emulator (standalone
    /// or in-process) already uses this state file.
    #[error(
        "the emulator state file {} is in use by {holder}; only one process may use a state file: stop that one, or give this one another state file (lock file {})",
        path.display(),
        lock_file.display()
    )]
    StateLocked {
        /// The state file.
        path: PathBuf,
        /// Its lock file (`FILE.lock`).
        lock_file: PathBuf,
        /// Who holds it, from the lock file: process id, command line and
        /// since when, control characters escaped.
        holder: String,
    },
    /// The state file's lock file could not be created or locked.
    #[error("could not lock the emulator state file with {}", path.display())]
    StateLock {
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The state could not be written to the state file: the changes since
    /// its last successful write are in memory only.
    #[error("could not save the emulator state to {}", path.display())]
    StateWrite {
        /// The state file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The state file's writer thread could not be started.
    #[error("could not start the emulator's state writer")]
    Writer {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("could not draw the emulator's random signing secret")]
    Random,
}
