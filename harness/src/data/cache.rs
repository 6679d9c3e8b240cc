//! Content keys for the dataset cache, so a cached file is found again only
//! while everything it was made from is unchanged.
//!
//! A cached file's name ends in a 64-bit key: the XXH3 hash of the cache
//! format version, the source's identity (the bytes of every source file, or
//! the generator's parameters and version), the subset size, the query count,
//! the ground-truth depth and the metric. Change any of these and the key
//! changes, so a stale file is never read; old files are simply left behind
//! (delete `datasets/cache/` at will).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xxhash_rust::xxh3::Xxh3;

/// Bumped whenever the cached files' content or layout changes meaning.
pub const CACHE_VERSION: u32 = 1;

/// Accumulates the parts of a cache key.
#[derive(Clone)]
pub struct KeyBuilder {
    hasher: Xxh3,
}

impl Default for KeyBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyBuilder {
    /// A key starting from the cache format version.
    pub fn new() -> Self {
        let mut k = KeyBuilder {
            hasher: Xxh3::new(),
        };
        k.text(&format!("omenbench-cache v{CACHE_VERSION}"));
        k
    }

    /// Adds a labelled text part (length-prefixed, so parts cannot run
    /// together).
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.hasher.update(&(s.len() as u64).to_le_bytes());
        self.hasher.update(s.as_bytes());
        self
    }

    /// Adds the whole content of a file, streamed.
    pub fn file(&mut self, path: &Path) -> Result<&mut Self> {
        let mut f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let got = f
                .read(&mut buf)
                .with_context(|| format!("{}: reading", path.display()))?;
            if got == 0 {
                break;
            }
            total += got as u64;
            self.hasher.update(&buf[..got]);
        }
        self.hasher.update(&total.to_le_bytes());
        Ok(self)
    }

    /// The finished 64-bit key.
    pub fn finish(&self) -> u64 {
        self.hasher.digest()
    }
}

/// The cache file for a dataset subset: `<dir>/<name>@<scale>-q<queries>-<key>.hdf5`.
pub fn file_for(dir: &Path, name: &str, scale: &str, queries: &str, key: u64) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}@{scale}-q{queries}-{key:016x}.hdf5"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, b"one").unwrap();
        let k1 = KeyBuilder::new().file(&p).unwrap().finish();
        assert_eq!(k1, KeyBuilder::new().file(&p).unwrap().finish());
        std::fs::write(&p, b"two").unwrap();
        assert_ne!(k1, KeyBuilder::new().file(&p).unwrap().finish());
        let ab = KeyBuilder::new().text("ab").text("c").finish();
        let a_bc = KeyBuilder::new().text("a").text("bc").finish();
        assert_ne!(ab, a_bc);
        let f = file_for(dir.path(), "x/y", "1k", "all", 255);
        assert!(f.ends_with("x_y@1k-qall-00000000000000ff.hdf5"), "{f:?}");
    }
}
