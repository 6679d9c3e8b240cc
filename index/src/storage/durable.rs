//! Waiting for durability under `EveryOp`: a log syncer thread.
//!
//! A group's records are appended (no sync) and its writes stored under
//! the writer mutex. Each writer then asks the syncer for a sync past its
//! group ([`Syncs::request`]), links its nodes, and only then waits until
//! the log is synced that far ([`Syncs::wait`]). The syncer (one thread per
//! writable `EveryOp` index, [`Syncs::run`]) syncs whenever a write asks,
//! each sync covering everything appended by the time it starts. So a
//! write's sync runs beside its own link instead of after it, syncs follow
//! one another without waiting for a writer to finish linking, and one
//! sync acknowledges every writer appended before it.
//!
//! A write is acknowledged only once the log holding it is synced. A sync
//! that fails is fatal for the log (`WalWriter::sync_failed`): every write
//! waiting fails, later writes are refused, and since those writes were
//! already applied in memory, the index refuses checkpoints too until it
//! is reopened (the log, cut back to what was synced, is the truth).

use parking_lot::{Condvar, Mutex};

use super::commit::shared;
use crate::error::{Error, Result};

/// A point in the log: its checkpoint generation and a byte length in it.
/// A later generation covers all of an earlier one (its checkpoint made
/// every earlier write durable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(super) struct LogPoint {
    pub(super) generation: u64,
    pub(super) bytes: u64,
}

#[derive(Default)]
struct State {
    /// How far the log is known durable.
    synced: LogPoint,
    /// The furthest point a write asked to be synced.
    wanted: LogPoint,
    /// The first sync failure: every waiter, then and later, fails with it.
    failed: Option<Error>,
    /// Set when the index is dropped: the syncer returns.
    stop: bool,
}

/// How far the log is durable, what writers wait for, and the syncer's
/// queue.
#[derive(Default)]
pub(super) struct Syncs {
    state: Mutex<State>,
    /// Signals writers: `synced` moved, or a sync failed.
    changed: Condvar,
    /// Signals the syncer: a write asked for a sync, or stop.
    work: Condvar,
}

impl Syncs {
    /// Asks the syncer to sync the log past `at` (it may already be).
    pub(super) fn request(&self, at: LogPoint) {
        let mut s = self.state.lock();
        if at > s.wanted {
            s.wanted = at;
            if at > s.synced {
                self.work.notify_one();
            }
        }
    }

    /// Returns once the log is durable up to `at` (asked for with
    /// [`Self::request`]); fails when a sync failed, or when the index is
    /// going away with `at` not synced.
    pub(super) fn wait(&self, at: LogPoint) -> Result<()> {
        let mut s = self.state.lock();
        loop {
            if s.synced >= at {
                return Ok(());
            }
            if let Some(e) = &s.failed {
                return Err(shared(e));
            }
            if s.stop {
                return Err(Error::WritesRefused("the index is closing".into()));
            }
            if at > s.wanted {
                s.wanted = at;
                self.work.notify_one();
            }
            self.changed.wait(&mut s);
        }
    }

    /// The syncer's loop, until [`Self::stop`]: whenever a write asked for
    /// a point not yet synced, runs `sync` (which syncs the log as it
    /// stands and returns the point it covered) and tells the waiters.
    /// After a failed sync it syncs nothing more (the log is refused).
    pub(super) fn run(&self, sync: impl Fn() -> Result<LogPoint>) {
        let mut s = self.state.lock();
        loop {
            if s.stop {
                return;
            }
            if s.failed.is_some() || s.wanted <= s.synced {
                self.work.wait(&mut s);
                continue;
            }
            let result = parking_lot::MutexGuard::unlocked(&mut s, || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(&sync))
            });
            match result {
                Ok(Ok(point)) => s.synced = s.synced.max(point),
                Ok(Err(e)) => s.failed = Some(e),
                Err(_) => {
                    // No waiter may wait forever for a syncer that is gone.
                    s.failed = Some(Error::WritesRefused("the log's syncer panicked".into()));
                    self.changed.notify_all();
                    return;
                }
            }
            self.changed.notify_all();
        }
    }

    /// Stops the syncer (the index is going away).
    pub(super) fn stop(&self) {
        self.state.lock().stop = true;
        self.work.notify_all();
        self.changed.notify_all();
    }

    /// Records that the log is durable up to `at` (a sync or checkpoint
    /// made it so under the writer mutex).
    pub(super) fn covered(&self, at: LogPoint) {
        let mut s = self.state.lock();
        if at > s.synced {
            s.synced = at;
            self.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn at(bytes: u64) -> LogPoint {
        LogPoint {
            generation: 1,
            bytes,
        }
    }

    #[test]
    fn one_sync_covers_every_waiter_behind_it() {
        let syncs = Syncs::default();
        let runs = AtomicU64::new(0);
        let appended = AtomicU64::new(0);
        std::thread::scope(|s| {
            let (syncs, runs, appended) = (&syncs, &runs, &appended);
            s.spawn(move || {
                syncs.run(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    Ok(at(appended.load(Ordering::SeqCst)))
                })
            });
            let writers: Vec<_> = (1..=8u64)
                .map(|t| {
                    s.spawn(move || {
                        appended.fetch_max(t * 10, Ordering::SeqCst);
                        syncs.request(at(t * 10));
                        syncs.wait(at(t * 10)).unwrap();
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            let ran = runs.load(Ordering::SeqCst);
            assert!((1..=8).contains(&ran), "{ran} syncs");
            // Already durable: no sync runs.
            syncs.wait(at(40)).unwrap();
            assert_eq!(runs.load(Ordering::SeqCst), ran);
            // A checkpoint's new generation covers the old one.
            syncs.covered(LogPoint {
                generation: 2,
                bytes: 0,
            });
            syncs.wait(at(1 << 40)).unwrap();
            assert_eq!(runs.load(Ordering::SeqCst), ran);
            syncs.stop();
        });
    }

    #[test]
    fn a_failed_sync_fails_its_waiter_and_every_later_one() {
        let syncs = Syncs::default();
        let runs = AtomicU64::new(0);
        std::thread::scope(|s| {
            let (syncs, runs) = (&syncs, &runs);
            s.spawn(move || {
                syncs.run(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Err(Error::io(
                        std::path::Path::new("wal.log"),
                        std::io::Error::from_raw_os_error(5),
                    ))
                })
            });
            syncs.request(at(10));
            let failed = syncs.wait(at(10));
            assert!(matches!(failed, Err(Error::Io { .. })), "{failed:?}");
            let later = syncs.wait(at(20));
            assert!(matches!(later, Err(Error::Io { .. })), "{later:?}");
            assert_eq!(runs.load(Ordering::SeqCst), 1, "no sync after a failed one");
            syncs.stop();
        });
    }

    #[test]
    fn a_stopped_syncer_fails_waiters_instead_of_hanging() {
        let syncs = Syncs::default();
        syncs.stop();
        assert!(matches!(syncs.wait(at(1)), Err(Error::WritesRefused(_))));
    }
}
