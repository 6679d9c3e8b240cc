//! Datasets: loading, generating, and their exact ground truth.

pub mod cli;

use omendb::Metric;

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
}
