//! Waiting for durability under `EveryOp`, with the sync outside the
//! writer mutex.
//!
//! A group's records are appended (no sync) and its writes stored under
//! the writer mutex; each writer then links its own and only then waits
//! here until the log is synced past its group. The first waiter to find
//! no sync running runs one ([`Syncs::wait`]'s `sync`), covering everything
//! appended by then; the others wait for it, and a sync covers every group
//! appended before it began. So a write's sync overlaps its own link and
//! the next groups' appends, instead of running under the mutex ahead of
//! them, and one sync acknowledges many writers.
//!
//! A write is acknowledged only once the log holding it is synced. A sync
//! that fails is fatal for the log (`WalWriter::sync_failed`): every write
//! waiting fails, later writes are refused, and since those writes were
//! already applied in memory, the index refuses checkpoints too until it
//! is reopened (the log, cut back to what was synced, is the truth).

use parking_lot::{Condvar, Mutex};

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
    synced: LogPoint,
    syncing: bool,
    failed: Option<String>,
}

/// How far the log is known durable, and who is syncing it.
#[derive(Default)]
pub(super) struct Syncs {
    state: Mutex<State>,
    changed: Condvar,
}

impl Syncs {
    /// Returns once the log is durable up to `at`: runs `sync` (which syncs
    /// the log as it stands and returns the point it covered) when no other
    /// thread is running one, else waits for that one. Fails when a sync
    /// failed.
    pub(super) fn wait(&self, at: LogPoint, sync: impl Fn() -> Result<LogPoint>) -> Result<()> {
        let mut s = self.state.lock();
        loop {
            if s.synced >= at {
                return Ok(());
            }
            if let Some(why) = &s.failed {
                return Err(Error::WritesRefused(why.clone()));
            }
            if s.syncing {
                self.changed.wait(&mut s);
                continue;
            }
            s.syncing = true;
            let result = parking_lot::MutexGuard::unlocked(&mut s, || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(&sync))
            });
            s.syncing = false;
            // Hands the sync back even if `sync` panicked, so no waiter
            // waits for it forever.
            let result = match result {
                Ok(result) => result,
                Err(panic) => {
                    self.changed.notify_all();
                    drop(s);
                    std::panic::resume_unwind(panic);
                }
            };
            self.changed.notify_all();
            match result {
                Ok(point) => s.synced = s.synced.max(point),
                Err(e) => {
                    s.failed.get_or_insert_with(|| e.to_string());
                    return Err(e);
                }
            }
        }
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
            for t in 1..=8u64 {
                let (syncs, runs, appended) = (&syncs, &runs, &appended);
                s.spawn(move || {
                    appended.fetch_max(t * 10, Ordering::SeqCst);
                    syncs
                        .wait(at(t * 10), || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            Ok(at(appended.load(Ordering::SeqCst)))
                        })
                        .unwrap();
                });
            }
        });
        let runs = runs.load(Ordering::SeqCst);
        assert!((1..=8).contains(&runs), "{runs} syncs");
        // Already durable: no sync runs.
        syncs.wait(at(40), || panic!("no sync needed")).unwrap();
        // A checkpoint's new generation covers the old one.
        syncs.covered(LogPoint {
            generation: 2,
            bytes: 0,
        });
        syncs.wait(at(1 << 40), || panic!("covered")).unwrap();
    }

    #[test]
    fn a_failed_sync_fails_its_waiter_and_every_later_one() {
        let syncs = Syncs::default();
        let failed = syncs.wait(at(10), || {
            Err(Error::io(
                std::path::Path::new("wal.log"),
                std::io::Error::from_raw_os_error(5),
            ))
        });
        assert!(matches!(failed, Err(Error::Io { .. })));
        let later = syncs.wait(at(20), || Ok(at(20)));
        assert!(matches!(later, Err(Error::WritesRefused(_))), "{later:?}");
    }
}
