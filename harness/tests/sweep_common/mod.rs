//! Shared helpers for the sweep tests (included with `mod`, not a test).

#![allow(dead_code)]

use omenbench::data::Dataset;
use omendb::{FlatIndex, Index, Metric};

/// A small clustered dataset made in memory, exact ground truth from
/// `FlatIndex` (k = 100, or n when smaller).
pub fn clustered(n: usize, n_test: usize, dims: usize, metric: Metric, seed: u64) -> Dataset {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..20)
        .map(|_| (0..dims).map(|_| next() * 10.0).collect())
        .collect();
    let mut point = |i: usize| -> Vec<f32> {
        let c = &centres[i % centres.len()];
        c.iter().map(|&x| x + next()).collect()
    };
    let train: Vec<f32> = (0..n).flat_map(&mut point).collect();
    let test: Vec<f32> = (0..n_test).flat_map(|i| point(i * 7 + 3)).collect();
    let flat = FlatIndex::new(dims, metric).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    flat.add_batch(&ids, &train).unwrap();
    let gt = flat.ground_truth(&test, 100.min(n)).unwrap();
    Dataset {
        name: format!("test-clustered-{dims}-{}", metric.ann_name()),
        metric,
        dims,
        train,
        test,
        neighbors: gt
            .iter()
            .map(|r| r.iter().map(|nb| nb.id as u32).collect())
            .collect(),
        distances: gt
            .iter()
            .map(|r| r.iter().map(|nb| metric.reported(nb.distance)).collect())
            .collect(),
    }
}

/// The first `n` train vectors of `full`, ground truth recomputed.
pub fn cut(full: &Dataset, n: usize) -> Dataset {
    let n = n.min(full.n_train());
    let d = full.dims;
    let flat = FlatIndex::new(d, full.metric).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    flat.add_batch(&ids, &full.train[..n * d]).unwrap();
    let gt = flat.ground_truth(&full.test, 100.min(n)).unwrap();
    Dataset {
        name: full.name.clone(),
        metric: full.metric,
        dims: d,
        train: full.train[..n * d].to_vec(),
        test: full.test.clone(),
        neighbors: gt
            .iter()
            .map(|r| r.iter().map(|nb| nb.id as u32).collect())
            .collect(),
        distances: gt
            .iter()
            .map(|r| {
                r.iter()
                    .map(|nb| full.metric.reported(nb.distance))
                    .collect()
            })
            .collect(),
    }
}
