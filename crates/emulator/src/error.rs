//! The crate's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not start.
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
    /// The operating system's random number generator failed.
    #[error("could not draw the emulator's random signing secret")]
    Random,
}
