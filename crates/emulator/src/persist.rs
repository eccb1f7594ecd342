//! The live state and its write-behind persistence.
//!
//! A write marks the state changed and wakes the writer thread; the writer
//! coalesces every change made since its last write into one atomic write of
//! the whole file ([`state::write_atomically`]: a temporary file in the same
//! directory, fsync, rename). It writes at most once per
//! [`WRITE_INTERVAL`], and never spends more than a fifth of the time
//! writing: after a write that took `d`, the next one waits at least
//! `4 × d`. So a burst of a thousand writes costs a handful of file writes,
//! and a large state file (a thousand tenants) is not rewritten per request.
//!
//! The state is cloned under its lock (tenants are shared [`Arc`]s, so the
//! clone copies pointers, not policies) and serialised and written outside
//! it: requests are never blocked by the file system. Only the tenants that
//! changed since the last write are serialised again; the others' text is
//! kept from that write.
//!
//! Durability: a write acknowledged to a client is on disk within about
//! [`WRITE_INTERVAL`] (plus the time one write takes), and at once when the
//! emulator is closed or flushed. A crash or `kill -9` loses the changes of
//! that last window at most; the file is always a complete state (old or new).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::state::{self, State, Tenant};

/// The shortest pause between two writes of the state file.
pub const WRITE_INTERVAL: Duration = Duration::from_millis(200);

/// After a write that took `d`, the next one waits at least `d` times this:
/// writing takes at most a fifth of the time, whatever the file's size.
const SLOW_WRITE_FACTOR: u32 = 4;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data whole (a counter, a flag, a
    // state whose tenants are swapped in whole), so a poisoned lock is usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The live state and how many changes were made to it.
pub(crate) struct Live {
    /// Every tenant, as requests see it.
    pub state: State,
    /// Changes made since the emulator started; see [`Live::changed`].
    changes: u64,
}

impl Live {
    /// Records that `state` changed: the writer will save it.
    pub fn changed(&mut self) {
        self.changes += 1;
    }
}

/// The state, shared by requests and the writer thread.
pub(crate) struct Store {
    live: Mutex<Live>,
    file: Option<File>,
}

/// The state file and the writer's bookkeeping.
struct File {
    path: PathBuf,
    interval: Duration,
    signal: Mutex<Signal>,
    wake: Condvar,
    /// Held for the whole of a write: writes are serialised, and `changes`
    /// is how far the file is up to date.
    written: Mutex<Written>,
    /// The last write's error, until a write succeeds again.
    failure: Mutex<Option<String>>,
}

#[derive(Default)]
struct Signal {
    /// Something changed since the writer last looked.
    pending: bool,
    /// The writer is asked to write what is left and end.
    stop: bool,
}

#[derive(Default)]
struct Written {
    /// The value of [`Live::changes`] the file holds.
    changes: u64,
    /// How many times the file was written.
    writes: u64,
    /// The text of each tenant as last written ([`state::render`]).
    tenants: BTreeMap<String, (Arc<Tenant>, Arc<str>)>,
}

impl Store {
    /// A store for `state`, saved to `path` if given (else in memory only),
    /// at most once per `interval`.
    pub fn new(state: State, path: Option<PathBuf>, interval: Duration) -> Self {
        Store {
            live: Mutex::new(Live { state, changes: 0 }),
            file: path.map(|path| File {
                path,
                interval,
                signal: Mutex::new(Signal::default()),
                wake: Condvar::new(),
                written: Mutex::new(Written::default()),
                failure: Mutex::new(None),
            }),
        }
    }

    /// The live state, locked. After changing it, call [`Live::changed`]
    /// and, once the lock is released, [`Store::wake`].
    pub fn lock(&self) -> MutexGuard<'_, Live> {
        lock(&self.live)
    }

    /// Tells the writer that something changed.
    pub fn wake(&self) {
        if let Some(file) = &self.file {
            lock(&file.signal).pending = true;
            file.wake.notify_one();
        }
    }

    /// Why the last write of the state file failed, until one succeeds again.
    pub fn failure(&self) -> Option<String> {
        self.file.as_ref().and_then(|f| lock(&f.failure).clone())
    }

    /// The state file, if the state is saved.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }

    /// How many times the state file was written.
    #[cfg(test)]
    pub fn writes(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| lock(&f.written).writes)
    }

    /// Writes the state now if it changed since the last write. Blocks (file
    /// system); never holds the state's lock while writing.
    pub fn flush(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut written = lock(&file.written);
        let (snapshot, changes) = {
            let live = lock(&self.live);
            if live.changes == written.changes {
                return Ok(());
            }
            (live.state.clone(), live.changes)
        };
        let started = Instant::now();
        let result = state::render(&snapshot, &mut written.tenants)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                state::write_atomically(&file.path, &bytes)?;
                Ok(bytes.len())
            });
        match &result {
            Ok(bytes) => {
                tracing::debug!(
                    path = %file.path.display(),
                    bytes,
                    ms = started.elapsed().as_millis(),
                    changes = changes - written.changes,
                    "saved the emulator state"
                );
                written.changes = changes;
                written.writes += 1;
                *lock(&file.failure) = None;
            }
            Err(e) => {
                tracing::error!(path = %file.path.display(), error = %e, "could not save the emulator state");
                *lock(&file.failure) = Some(e.to_string());
            }
        }
        result.map(|_| ())
    }

    /// Starts the writer thread (nothing for an in-memory store). It runs
    /// until [`Store::stop`], then writes what is left and returns how that
    /// last write went.
    pub fn start_writer(
        self: &Arc<Self>,
    ) -> std::io::Result<Option<JoinHandle<std::io::Result<()>>>> {
        if self.file.is_none() {
            return Ok(None);
        }
        let store = Arc::clone(self);
        std::thread::Builder::new()
            .name("emulator-state-writer".into())
            .spawn(move || store.write_behind())
            .map(Some)
    }

    /// Asks the writer thread to write what is left and end.
    pub fn stop(&self) {
        if let Some(file) = &self.file {
            lock(&file.signal).stop = true;
            file.wake.notify_one();
        }
    }

    /// The writer thread: waits for a change, then for the pause after the
    /// previous write, then writes everything changed so far in one go.
    fn write_behind(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut not_before = Instant::now();
        loop {
            let stopping = {
                let mut signal = lock(&file.signal);
                loop {
                    let now = Instant::now();
                    if signal.stop || (signal.pending && now >= not_before) {
                        break;
                    }
                    signal = if signal.pending {
                        file.wake
                            .wait_timeout(signal, not_before - now)
                            .map(|(guard, _)| guard)
                            .unwrap_or_else(|poisoned| poisoned.into_inner().0)
                    } else {
                        file.wake
                            .wait(signal)
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                    };
                }
                // Changes from now on wake the writer again.
                signal.pending = false;
                signal.stop
            };
            let started = Instant::now();
            let result = self.flush();
            let took = started.elapsed();
            not_before = Instant::now() + file.interval.max(took * SLOW_WRITE_FACTOR);
            if stopping {
                return result;
            }
            if result.is_err() {
                // Try again after the pause.
                lock(&file.signal).pending = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_count(path: &Path) -> usize {
        let text = std::fs::read_to_string(path).expect("state file");
        state::parse(&text).expect("valid state").tenants.len()
    }

    fn add_tenant(store: &Store, i: usize) {
        let id = format!("00000000-0000-4000-8000-{i:012}");
        {
            let mut live = store.lock();
            live.state
                .tenants
                .insert(id.clone(), Arc::new(crate::defaults::fresh_tenant(&id)));
            live.changed();
        }
        store.wake();
    }

    #[test]
    fn many_changes_in_a_burst_are_written_in_few_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.json");
        // A long interval: the burst below lands in at most two windows,
        // however slow the machine.
        let store = Arc::new(Store::new(
            State::default(),
            Some(path.clone()),
            Duration::from_secs(3600),
        ));
        let writer = store.start_writer().expect("thread").expect("a file");
        for i in 0..100 {
            add_tenant(&store, i);
        }
        store.stop();
        writer.join().expect("writer").expect("last write");
        assert!(
            store.writes() <= 2,
            "100 changes, {} writes",
            store.writes()
        );
        assert_eq!(tenant_count(&path), 100, "the last change was written");
    }

    #[test]
    fn stopping_writes_the_last_change_and_nothing_when_unchanged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.json");
        let store = Arc::new(Store::new(
            State::default(),
            Some(path.clone()),
            WRITE_INTERVAL,
        ));
        let writer = store.start_writer().expect("thread").expect("a file");
        store.stop();
        writer.join().expect("writer").expect("nothing to write");
        assert_eq!(store.writes(), 0);
        assert!(!path.exists(), "an unchanged state is not written");

        let store = Arc::new(Store::new(
            State::default(),
            Some(path.clone()),
            Duration::from_secs(3600),
        ));
        let writer = store.start_writer().expect("thread").expect("a file");
        add_tenant(&store, 1);
        add_tenant(&store, 2);
        store.stop();
        writer.join().expect("writer").expect("last write");
        assert_eq!(tenant_count(&path), 2);
    }

    #[test]
    fn flush_writes_now_and_only_what_changed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.json");
        let store = Store::new(State::default(), Some(path.clone()), WRITE_INTERVAL);
        add_tenant(&store, 7);
        store.flush().expect("written");
        assert_eq!(tenant_count(&path), 1);
        store.flush().expect("nothing to do");
        assert_eq!(store.writes(), 1, "an unchanged state is not written again");
    }

    #[test]
    fn a_failed_write_is_remembered_until_one_succeeds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "").expect("file");
        let store = Store::new(
            State::default(),
            Some(blocker.join("state.json")),
            WRITE_INTERVAL,
        );
        add_tenant(&store, 1);
        assert!(store.flush().is_err());
        assert!(store.failure().is_some());
        assert!(store.flush().is_err(), "still changed, tried again");

        let in_memory = Store::new(State::default(), None, WRITE_INTERVAL);
        add_tenant(&in_memory, 1);
        in_memory.flush().expect("nothing to write");
        assert!(in_memory.failure().is_none());
    }
}
