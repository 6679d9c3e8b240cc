//! Shared helpers for the engine's integration tests: seeded data and recall.
#![allow(dead_code)]

pub mod kinds;

use omendb::recall::recall_at;
use omendb::rng::SplitMix64;
use omendb::{FlatIndex, Index, Metric, Neighbor, SearchParams};

/// The engine's SplitMix64 with f32 uniform and Gaussian (Box–Muller) draws.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    pub fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// A clustered Gaussian mixture: `n` train rows and `nq` query rows from the
/// same `clusters` centres, with per-cluster spreads varying 0.5×–1.5×.
pub fn clustered(
    n: usize,
    nq: usize,
    d: usize,
    clusters: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let centres: Vec<f32> = (0..clusters * d).map(|_| rng.unit() * 2.0 - 1.0).collect();
    let spreads: Vec<f32> = (0..clusters).map(|_| 0.15 + 0.35 * rng.unit()).collect();
    let mut draw = |rows: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(rows * d);
        for _ in 0..rows {
            let c = (rng.next_u64() % clusters as u64) as usize;
            for j in 0..d {
                out.push(centres[c * d + j] + spreads[c] * rng.gauss());
            }
        }
        out
    };
    let train = draw(n);
    let test = draw(nq);
    (train, test)
}

/// Exact neighbours of each query (ids are train row numbers).
pub fn ground_truth(
    train: &[f32],
    test: &[f32],
    d: usize,
    metric: Metric,
    k: usize,
) -> Vec<Vec<Neighbor>> {
    let flat = FlatIndex::new(d, metric).unwrap();
    let ids: Vec<u64> = (0..(train.len() / d) as u64).collect();
    flat.add_batch(&ids, train).unwrap();
    flat.ground_truth(test, k).unwrap()
}

/// ann-benchmarks recall@k (ties count; see [`omendb::recall`]), averaged
/// over the queries; ids are train row numbers.
pub fn recall(
    results: &[Vec<Neighbor>],
    truth: &[Vec<Neighbor>],
    train: &[f32],
    test: &[f32],
    metric: Metric,
    k: usize,
) -> f64 {
    let d = test.len() / truth.len();
    let total: f64 = results
        .iter()
        .zip(truth)
        .zip(test.chunks_exact(d))
        .map(|((res, gt), q)| {
            let found: Vec<u64> = res.iter().map(|n| n.id).collect();
            let exact: Vec<u64> = gt.iter().map(|n| n.id).collect();
            recall_at(metric, train, d, q, &found, &exact, k)
        })
        .sum();
    total / truth.len() as f64
}

/// Searches every query one at a time.
pub fn search_all(index: &dyn Index, test: &[f32], k: usize, ef: usize) -> Vec<Vec<Neighbor>> {
    let d = index.dims();
    test.chunks_exact(d)
        .map(|q| index.search(q, k, &SearchParams::with_ef(ef)).unwrap())
        .collect()
}
