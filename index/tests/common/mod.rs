//! Shared helpers for the engine's integration tests: seeded data and recall.
#![allow(dead_code)]

use omendb::{FlatIndex, Index, Metric, Neighbor, SearchParams};

/// SplitMix64 generator with Gaussian draws (Box–Muller).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
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

/// The metric's distance between two raw vectors, computed plainly.
pub fn true_distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    match metric {
        Metric::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
        Metric::Cosine => {
            let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            1.0 - dot / (na * nb)
        }
        Metric::InnerProduct => -dot,
    }
}

/// ann-benchmarks recall@k: a returned id counts when its true distance
/// (recomputed from the vectors, not taken from the index) is within the
/// k-th true distance plus 1e-3, so exact ties count.
pub fn recall(
    results: &[Vec<Neighbor>],
    truth: &[Vec<Neighbor>],
    train: &[f32],
    test: &[f32],
    metric: Metric,
    k: usize,
) -> f64 {
    let d = test.len() / truth.len();
    let mut hits = 0usize;
    for ((res, gt), q) in results.iter().zip(truth).zip(test.chunks_exact(d)) {
        let threshold = gt[k - 1].distance + 1e-3;
        hits += res
            .iter()
            .take(k)
            .filter(|n| {
                let row = &train[n.id as usize * d..(n.id as usize + 1) * d];
                true_distance(metric, q, row) <= threshold
            })
            .count();
    }
    hits as f64 / (k * truth.len()) as f64
}

/// Searches every query one at a time.
pub fn search_all(index: &dyn Index, test: &[f32], k: usize, ef: usize) -> Vec<Vec<Neighbor>> {
    let d = index.dims();
    test.chunks_exact(d)
        .map(|q| index.search(q, k, &SearchParams::with_ef(ef)).unwrap())
        .collect()
}
