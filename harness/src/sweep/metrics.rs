//! Quality and speed figures computed from raw run output.
//!
//! Recall is computed from the ids an index returned, never from distances it
//! reports: each returned neighbour's true distance is recomputed from the
//! vectors, in the ann-benchmarks convention (Euclidean, not squared, for
//! `euclidean`; `1 − cos` for `angular`; `−a·b` for `ip`).

use omendb::recall::count_within;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;

pub use omendb::recall::{true_distance, DISTANCE_EPSILON};

/// The depths recall is reported at, when `k` allows.
pub const RECALL_DEPTHS: [usize; 3] = [1, 10, 100];

/// Recall at one depth `r`, both definitions, averaged over queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recall {
    /// The depth.
    pub at: usize,
    /// ann-benchmarks: the share of the first `r` returned neighbours whose
    /// true distance is ≤ the r-th true distance + 1e-3 (ties count).
    pub distance_based: f64,
    /// Id-set recall: |returned[..r] ∩ truth[..r]| / r (ties do not count).
    pub id_set: f64,
}

/// Recall of `returned` (one id list per test vector of `ds`, closest first)
/// at depth `r`. Missing neighbours count as misses; when the dataset holds
/// fewer than `r` train vectors the depth is cut to what exists.
pub fn recall(ds: &Dataset, returned: &[Vec<u32>], r: usize) -> Recall {
    let d = ds.dims;
    let n_train = ds.n_train();
    let mut dist_hits = 0.0f64;
    let mut id_hits = 0.0f64;
    let mut queries = 0usize;
    for (q, found) in returned.iter().enumerate() {
        let (Some(truth), Some(truth_d)) = (ds.neighbors.get(q), ds.distances.get(q)) else {
            continue;
        };
        let depth = r.min(truth.len()).min(truth_d.len());
        if depth == 0 {
            continue;
        }
        queries += 1;
        let query = &ds.test[q * d..(q + 1) * d];
        let threshold = f64::from(truth_d[depth - 1]) + DISTANCE_EPSILON;
        let head = &found[..found.len().min(depth)];
        let close = count_within(
            ds.metric,
            &ds.train[..n_train * d],
            d,
            query,
            head.iter().map(|&id| u64::from(id)),
            threshold,
        );
        let truth_head = &truth[..depth];
        let same = head.iter().filter(|id| truth_head.contains(id)).count();
        dist_hits += close as f64 / depth as f64;
        id_hits += same as f64 / depth as f64;
    }
    let q = queries.max(1) as f64;
    Recall {
        at: r,
        distance_based: dist_hits / q,
        id_set: id_hits / q,
    }
}

/// Query latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest query.
    pub max: f64,
}

impl Latency {
    /// Percentiles (nearest rank) of per-query latencies in milliseconds;
    /// `None` when there are none.
    pub fn from_ms(samples: &[f64]) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let at = |p: f64| s[((p * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
        Some(Latency {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: s[s.len() - 1],
        })
    }
}

/// Items per second, `None` when the time is not positive.
pub fn per_second(items: usize, seconds: f64) -> Option<f64> {
    (seconds > 0.0).then(|| items as f64 / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use omendb::Metric;

    fn tiny() -> Dataset {
        // Train points on a line at 0, 1, 2, 3, 3 (a tie); one query at 0.
        Dataset {
            name: "line".into(),
            metric: Metric::L2,
            dims: 1,
            train: vec![0.0, 1.0, 2.0, 3.0, 3.0],
            test: vec![0.0],
            neighbors: vec![vec![0, 1, 2, 3, 4]],
            distances: vec![vec![0.0, 1.0, 2.0, 3.0, 3.0]],
        }
    }

    #[test]
    fn ties_count_for_distance_recall_not_id_recall() {
        let ds = tiny();
        // Returns the tied point 4 instead of 3 at depth 4.
        let r = recall(&ds, &[vec![0, 1, 2, 4]], 4);
        assert_eq!(r.distance_based, 1.0);
        assert_eq!(r.id_set, 0.75);
        // A far point in place of a near one misses in both.
        let r = recall(&ds, &[vec![0, 4]], 2);
        assert_eq!(r.distance_based, 0.5);
        assert_eq!(r.id_set, 0.5);
        // Short answers count missing neighbours as misses.
        let r = recall(&ds, &[vec![0]], 2);
        assert_eq!(r.id_set, 0.5);
    }

    #[test]
    fn angular_is_one_minus_cos() {
        let d = true_distance(Metric::Cosine, &[1.0, 0.0], &[0.0, 2.0]);
        assert!((d - 1.0).abs() < 1e-12);
        let d = true_distance(Metric::Cosine, &[1.0, 1.0], &[2.0, 2.0]);
        assert!(d.abs() < 1e-12);
        assert_eq!(true_distance(Metric::L2, &[0.0, 0.0], &[3.0, 4.0]), 5.0);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let l = Latency::from_ms(&samples).unwrap();
        assert_eq!((l.p50, l.p95, l.p99, l.max), (50.0, 95.0, 99.0, 100.0));
        assert!(Latency::from_ms(&[]).is_none());
    }
}
