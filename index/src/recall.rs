//! Recall as ann-benchmarks defines it, in one place for the engine's tests
//! and the harness: a returned neighbour counts when its true distance to
//! the query, recomputed in f64 from the raw vectors (never taken from the
//! index), is within the k-th true distance plus [`DISTANCE_EPSILON`], so
//! exact ties count.

use crate::metric::Metric;

/// Slack added to the k-th true distance (ann-benchmarks' `epsilon`).
pub const DISTANCE_EPSILON: f64 = 1e-3;

/// True distance between two raw vectors as ann-benchmarks reports it,
/// in f64: Euclidean (not squared) for L2, `1 − cos` for cosine (1 when
/// either vector is zero), `−dot` for inner product.
pub fn true_distance(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    match metric {
        Metric::L2 => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                let d = f64::from(x) - f64::from(y);
                d * d
            })
            .sum::<f64>()
            .sqrt(),
        Metric::Cosine => {
            let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
            for (&x, &y) in a.iter().zip(b) {
                let (x, y) = (f64::from(x), f64::from(y));
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            if na == 0.0 || nb == 0.0 {
                1.0
            } else {
                1.0 - dot / (na.sqrt() * nb.sqrt())
            }
        }
        Metric::InnerProduct => -a
            .iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum::<f64>(),
    }
}

/// How many of `found` (row numbers of `train`, a row-major `dims`-wide
/// array) lie within `threshold` of `query` by [`true_distance`]. Rows
/// outside `train` count as misses.
pub fn count_within(
    metric: Metric,
    train: &[f32],
    dims: usize,
    query: &[f32],
    found: impl IntoIterator<Item = u64>,
    threshold: f64,
) -> usize {
    let rows = train.len() / dims.max(1);
    found
        .into_iter()
        .filter(|&id| (id as usize) < rows && id <= usize::MAX as u64)
        .filter(|&id| {
            let row = &train[id as usize * dims..(id as usize + 1) * dims];
            true_distance(metric, query, row) <= threshold
        })
        .count()
}

/// Recall@k of one query: the share of the first `k` of `found` within the
/// true distance of `truth[k − 1]` (the exact k-th neighbour's row) plus
/// [`DISTANCE_EPSILON`]. `k` is cut to `truth.len()`; 0 gives 1.0.
pub fn recall_at(
    metric: Metric,
    train: &[f32],
    dims: usize,
    query: &[f32],
    found: &[u64],
    truth: &[u64],
    k: usize,
) -> f64 {
    let k = k.min(truth.len());
    if k == 0 {
        return 1.0;
    }
    let kth = truth[k - 1] as usize;
    let threshold =
        true_distance(metric, query, &train[kth * dims..(kth + 1) * dims]) + DISTANCE_EPSILON;
    let hits = count_within(
        metric,
        train,
        dims,
        query,
        found.iter().take(k).copied(),
        threshold,
    );
    hits as f64 / k as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_count_and_misses_do_not() {
        // Rows 0 and 1 are equally close to the query; row 2 is far.
        let train = [1.0f32, 0.0, -1.0, 0.0, 5.0, 5.0];
        let q = [0.0f32, 0.0];
        assert_eq!(recall_at(Metric::L2, &train, 2, &q, &[1], &[0], 1), 1.0);
        assert_eq!(recall_at(Metric::L2, &train, 2, &q, &[2], &[0], 1), 0.0);
        assert_eq!(
            recall_at(Metric::L2, &train, 2, &q, &[0, 2], &[0, 1], 2),
            0.5
        );
        assert_eq!(count_within(Metric::L2, &train, 2, &q, [9], 100.0), 0);
        assert!((true_distance(Metric::L2, &[3.0, 4.0], &[0.0, 0.0]) - 5.0).abs() < 1e-12);
        assert_eq!(true_distance(Metric::Cosine, &[0.0, 0.0], &[1.0, 0.0]), 1.0);
    }
}
