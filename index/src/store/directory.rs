//! The index directory: which files it holds and how they are replaced.
//!
//! ```text
//! <dir>/
//!   MANIFEST     dims, metric, build parameters (written once, at create)
//!   vectors.omv  the memory-mapped vector rows (vectors.<g>.omv once
//!                checkpoint g renumbered the nodes: the graph file names
//!                the generation of its vector file)
//!   graph.omg    the graph as of the last checkpoint
//!   wal.log      writes since the last checkpoint
//!   LOCK         the advisory lock file
//! ```
//!
//! Files other than the vector file are replaced whole: written to a
//! temporary name, synced, renamed over the old one, and the directory
//! synced, so a crash leaves either the old file or the new one. A vector
//! file is replaced by one of a new name, which the graph file that
//! replaces the old one names; the old vector file is removed after.

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

    /// The vector file as created (generation 0).
    pub fn vectors(&self) -> PathBuf {
        self.vectors_at(0)
    }

    /// The vector file written by checkpoint `generation` when it
    /// renumbered the nodes (`vectors.omv` for 0, as created).
    pub fn vectors_at(&self, generation: u64) -> PathBuf {
        match generation {
            0 => self.root.join("vectors.omv"),
            g => self.root.join(format!("vectors.{g}.omv")),
        }
    }

    /// Every vector file in the directory but generation `keep`'s:
    /// leftovers of a renumbering that crashed before its checkpoint took
    /// effect, or of one that crashed before removing the old file.
    pub fn other_vector_files(&self, keep: u64) -> std::io::Result<Vec<PathBuf>> {
        let keep = self.vectors_at(keep);
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.root)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let numbered = name
                .strip_prefix("vectors.")
                .and_then(|r| r.strip_suffix(".omv"))
                .is_some_and(|g| g.parse::<u64>().is_ok());
            if (numbered || name == "vectors.omv") && path != keep {
                found.push(path);
            }
        }
        found.sort();
        Ok(found)
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
