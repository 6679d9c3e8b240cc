//! The index directory: which files it holds and how they are replaced.
//!
//! ```text
//! <dir>/
//!   MANIFEST     dims, metric, build parameters (written once, at create)
//!   vectors.omv  the memory-mapped vector rows
//!   graph.omg    the graph as of the last checkpoint
//!   wal.log      writes since the last checkpoint
//!   LOCK         the advisory lock file
//! ```
//!
//! Files other than the vector file are replaced whole: written to a
//! temporary name, synced, renamed over the old one, and the directory
//! synced, so a crash leaves either the old file or the new one.

use std::path::{Path, PathBuf};

use super::io;
use crate::error::{Error, Result};

/// The paths of one index directory's files.
#[derive(Debug, Clone)]
pub struct IndexDir {
    /// The directory.
    pub root: PathBuf,
}

impl IndexDir {
    /// The directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        IndexDir { root: root.into() }
    }

    /// The manifest.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("MANIFEST")
    }

    /// The vector file.
    pub fn vectors(&self) -> PathBuf {
        self.root.join("vectors.omv")
    }

    /// The graph file.
    pub fn graph(&self) -> PathBuf {
        self.root.join("graph.omg")
    }

    /// The write-ahead log.
    pub fn wal(&self) -> PathBuf {
        self.root.join("wal.log")
    }

    /// The lock file.
    pub fn lock(&self) -> PathBuf {
        self.root.join("LOCK")
    }
}

/// `path` with `.tmp` appended.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Syncs a directory so renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    io::sync_dir(dir).map_err(|e| Error::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Replaces `path` with `bytes`: temporary file, sync, rename, sync the
/// directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let mut f = io::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    io::write_all(&mut f, &tmp, bytes)
        .and_then(|_| io::sync_all(&f, &tmp))
        .map_err(|e| Error::io(&tmp, e))?;
    commit_tmp(path)
}

/// Renames `path`'s synced temporary file over it and syncs the directory.
pub fn commit_tmp(path: &Path) -> Result<()> {
    io::rename(&tmp_path(path), path).map_err(|e| Error::io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}
