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
        try_lock(&file, exclusive).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked(dir.to_path_buf())
            } else {
                Error::io(path, e)
            }
        })?;
        Ok(DirLock { _file: Some(file) })
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
}
