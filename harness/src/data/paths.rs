//! Where things live: the repository root, the dataset cache, and the shared
//! data folder beside the repository.

use std::path::{Path, PathBuf};

/// The repository root: `$OMENBENCH_ROOT` if set; else the nearest directory
/// at or above the current one holding both `datasets/` and `Cargo.toml`;
/// else the directory above this crate's manifest (where it was built).
pub fn repo_root() -> PathBuf {
    if let Some(root) = std::env::var_os("OMENBENCH_ROOT").filter(|s| !s.is_empty()) {
        return PathBuf::from(root);
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().find(|d| is_root(d)) {
            return found.to_path_buf();
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn is_root(dir: &Path) -> bool {
    dir.join("datasets").is_dir() && dir.join("Cargo.toml").is_file()
}

/// The git-ignored cache of generated and converted datasets,
/// `<repo root>/datasets/cache`.
pub fn cache_dir() -> PathBuf {
    repo_root().join("datasets").join("cache")
}

/// The shared folder beside the repository that holds committed real data
/// (`datasets/digits-64-euclidean.hdf5`): `$OMENBENCH_SHARED` if set, else
/// `<repo root>/../shared`.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OMENBENCH_SHARED").filter(|s| !s.is_empty()) {
        return PathBuf::from(dir);
    }
    repo_root().join("..").join("shared")
}

/// The folder holding shared datasets, `<shared>/datasets`.
pub fn shared_datasets_dir() -> PathBuf {
    shared_dir().join("datasets")
}
