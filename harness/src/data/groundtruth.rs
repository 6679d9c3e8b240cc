//! Exact ground truth by `omendb::FlatIndex`.

use anyhow::{ensure, Context, Result};
use indicatif::ProgressBar;
use omendb::{FlatIndex, Index, Metric};

use super::Dataset;

/// Ground-truth depth the harness computes and stores (ann-benchmarks' k).
pub const GT_K: usize = 100;

/// Per test vector: neighbour ids (closest first) and their reported distances.
pub type GroundTruth = (Vec<Vec<u32>>, Vec<Vec<f32>>);

/// The exact `k` nearest train rows of every test row: ids (train row
/// numbers) and distances as ann-benchmarks reports them (Euclidean, not
/// squared; `1 − cos`; `−dot`). `k` is capped at the number of train rows.
///
/// Holds one extra copy of `train` (inside the `FlatIndex`) while it runs.
pub fn compute(
    train: &[f32],
    test: &[f32],
    dims: usize,
    metric: Metric,
    k: usize,
    progress: Option<&ProgressBar>,
) -> Result<GroundTruth> {
    ensure!(dims > 0, "ground truth: dimension must be at least 1");
    ensure!(
        train.len().is_multiple_of(dims) && test.len().is_multiple_of(dims),
        "ground truth: vectors are not a whole number of {dims}-dimensional rows"
    );
    let n = train.len() / dims;
    ensure!(n > 0, "ground truth: no train vectors");
    ensure!(
        n <= i32::MAX as usize,
        "ground truth: {n} train vectors do not fit i32 ids"
    );
    let k = k.min(n);
    ensure!(k > 0, "ground truth: k must be at least 1");
    let index = FlatIndex::new(dims, metric).context("ground truth")?;
    let ids: Vec<u64> = (0..n as u64).collect();
    index
        .add_batch(&ids, train)
        .context("ground truth: adding train vectors")?;
    drop(ids);
    let nq = test.len() / dims;
    // Enough queries per call to keep every core busy, few enough for a
    // progress bar that moves.
    let per_call = (rayon::current_num_threads() * 32).max(64);
    let mut neighbors = Vec::with_capacity(nq);
    let mut distances = Vec::with_capacity(nq);
    for (c, block) in test.chunks(per_call * dims).enumerate() {
        let res = index
            .ground_truth(block, k)
            .with_context(|| format!("ground truth: queries from row {}", c * per_call))?;
        for row in res {
            neighbors.push(row.iter().map(|nb| nb.id as u32).collect());
            distances.push(row.iter().map(|nb| metric.reported(nb.distance)).collect());
        }
        if let Some(p) = progress {
            p.inc((block.len() / dims) as u64);
        }
    }
    Ok((neighbors, distances))
}

/// Replaces `data`'s ground truth with exact neighbours at depth `k`.
pub fn fill(data: &mut Dataset, k: usize, progress: Option<&ProgressBar>) -> Result<()> {
    let (nb, dist) = compute(&data.train, &data.test, data.dims, data.metric, k, progress)
        .with_context(|| data.name.clone())?;
    data.neighbors = nb;
    data.distances = dist;
    Ok(())
}

/// Compares two ground truths by distance (tie-safe: integer data has exact
/// distance ties, so ids may legitimately differ): the number of rows whose
/// distances agree at every rank within `tol` (relative to the larger value,
/// absolute below 1).
pub fn rows_agreeing(a: &[Vec<f32>], b: &[Vec<f32>], tol: f32) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| (p - q).abs() <= tol * p.abs().max(q.abs()).max(1.0))
        })
        .count()
}
