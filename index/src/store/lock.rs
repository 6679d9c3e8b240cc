//! The directory lock: an OS advisory lock on a `LOCK` file, so one index
//! directory is open in at most one writer (in any process) at a time.
//!
//! Writers take an exclusive lock, read-only opens a shared one: any number
//! of readers, or one writer. `flock` locks belong to the open file, so two
//! opens in one process exclude each other just as two processes do. The OS
//! drops the lock when the holder exits, however it exits: a crashed writer
//! never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::io;
use crate::error::{Error, Result};

/// How long a lock that looks held is tried again (see `acquire`).
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

/// A held directory lock, released on drop.
#[derive(Debug)]
pub struct DirLock {
    _file: Option<File>,
}

impl DirLock {
    /// Locks `path` (created if missing and `exclusive`), exclusively for a
    /// writer or shared for a reader. A reader on a read-only path where the
    /// lock file cannot be created goes unlocked. `dir` names the directory
    /// in [`Error::Locked`].
    pub fn acquire(path: &Path, dir: &Path, exclusive: bool) -> Result<Self> {
        let opened = if exclusive {
            io::open(
                path,
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false),
            )
        } else {
            io::open(path, OpenOptions::new().read(true))
        };
        let file = match opened {
            Ok(f) => f,
            Err(e) if !exclusive && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DirLock { _file: None })
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        // A lock just released can still look held for a moment: a child
        // process another thread is starting holds copies of every
        // descriptor of this process (the lock's too) until it execs, and a
        // `flock` lock lasts until the last copy closes. So a lock that
        // looks held is tried again for a short while before the directory
        // counts as open elsewhere.
        let start = std::time::Instant::now();
        loop {
            match try_lock(&file, exclusive) {
                Ok(()) => return Ok(DirLock { _file: Some(file) }),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if start.elapsed() >= LOCK_PATIENCE {
                        return Err(Error::Locked(dir.to_path_buf()));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => return Err(Error::io(path, e)),
            }
        }
    }
}

#[cfg(unix)]
fn try_lock(file: &File, exclusive: bool) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    // SAFETY: flock on a file descriptor this `File` owns and keeps open for
    // as long as the lock is held; it touches no memory.
    let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File, _exclusive: bool) -> std::io::Result<()> {
    // No advisory locking on this platform yet: opens are not excluded.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_exclude_everyone_readers_share() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("LOCK");
        let w = DirLock::acquire(&p, dir.path(), true).unwrap();
        assert!(matches!(
            DirLock::acquire(&p, dir.path(), true),
            Err(Error::Locked(_))
        ));
        assert!(matches!(
            DirLock::acquire(&p, dir.path(), false),
            Err(Error::Locked(_))
        ));
        drop(w);
        let r1 = DirLock::acquire(&p, dir.path(), false).unwrap();
        let _r2 = DirLock::acquire(&p, dir.path(), false).unwrap();
        assert!(matches!(
            DirLock::acquire(&p, dir.path(), true),
            Err(Error::Locked(_))
        ));
        drop(r1);
    }

    /// A copy of the lock's descriptor (what a child process holds until it
    /// execs) keeps the lock for a moment after its owner let go: the next
    /// open waits for it instead of failing; a lock that stays held still
    /// fails.
    #[cfg(unix)]
    #[test]
    fn a_lock_held_for_a_moment_by_a_copy_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let first = DirLock::acquire(&path, dir.path(), true).unwrap();
        let copy = first._file.as_ref().unwrap().try_clone().unwrap();
        drop(first);
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(copy);
        });
        let second = DirLock::acquire(&path, dir.path(), true);
        releaser.join().unwrap();
        assert!(second.is_ok(), "{second:?}");
        let start = std::time::Instant::now();
        let third = DirLock::acquire(&path, dir.path(), true);
        assert!(matches!(third, Err(Error::Locked(_))), "{third:?}");
        assert!(start.elapsed() >= LOCK_PATIENCE);
    }
}
