//! The old engine's collapse table, turned around: recall stays high at every
//! scale for single, bulk (parallel) and mixed insertion.

mod common;

use common::{clustered, ground_truth, recall, search_all};
use omendb::{HnswIndex, HnswParams, Index, Metric};

#[derive(Debug, Clone, Copy)]
enum Insertion {
    Single,
    Bulk,
    Mixed,
}

fn build(mode: Insertion, train: &[f32], d: usize, metric: Metric) -> HnswIndex {
    let idx = HnswIndex::new(d, metric, HnswParams::new(16, 200)).unwrap();
    let n = train.len() / d;
    let ids: Vec<u64> = (0..n as u64).collect();
    match mode {
        Insertion::Single => {
            for (i, v) in train.chunks_exact(d).enumerate() {
                idx.add(i as u64, v).unwrap();
            }
        }
        Insertion::Bulk => idx.add_batch(&ids, train).unwrap(),
        Insertion::Mixed => {
            // Alternate single adds and batches of varying size.
            let mut i = 0;
            let mut round = 0;
            while i < n {
                if round % 2 == 0 {
                    let end = (i + 7).min(n);
                    for j in i..end {
                        idx.add(j as u64, &train[j * d..(j + 1) * d]).unwrap();
                    }
                    i = end;
                } else {
                    let end = (i + 1 + n / 5).min(n);
                    idx.add_batch(&ids[i..end], &train[i * d..end * d]).unwrap();
                    i = end;
                }
                round += 1;
            }
        }
    }
    assert_eq!(idx.len(), n);
    idx
}

fn check(n: usize, d: usize, metric: Metric, seed: u64) {
    let nq = 200;
    let (train, test) = clustered(n, nq, d, (n / 20).clamp(5, 1000), seed);
    let truth = ground_truth(&train, &test, d, metric, 10);
    for mode in [Insertion::Single, Insertion::Bulk, Insertion::Mixed] {
        let idx = build(mode, &train, d, metric);
        // HNSW's pruning can orphan a rare node (hnswlib and faiss share
        // this; the old engine lost whole clusters): this one keeps every
        // node's last way in.
        let reachable = idx.reachable_from_entry();
        assert!(
            reachable == n,
            "{mode:?} n={n}: only {reachable} nodes reachable on layer 0"
        );
        let res = search_all(&idx, &test, 10, 128);
        let r1 = recall(&res, &truth, &train, &test, metric, 1);
        let r10 = recall(&res, &truth, &train, &test, metric, 10);
        println!("{metric} n={n} {mode:?}: recall@1 {r1:.4} recall@10 {r10:.4}");
        assert!(r1 >= 0.99, "{metric} n={n} {mode:?}: recall@1 {r1}");
        assert!(r10 >= 0.98, "{metric} n={n} {mode:?}: recall@10 {r10}");
    }
}

#[test]
fn recall_holds_at_every_scale_l2() {
    for n in [100, 500, 1_000, 2_000, 5_000, 20_000] {
        check(n, 128, Metric::L2, n as u64);
    }
}

#[test]
fn recall_holds_at_every_scale_cosine() {
    for n in [100, 1_000, 5_000, 20_000] {
        check(n, 128, Metric::Cosine, 7 + n as u64);
    }
}

#[test]
fn bulk_insert_of_50k_does_not_crash_and_keeps_recall() {
    let (d, n) = (128, 50_000);
    let (train, test) = clustered(n, 200, d, 1000, 50);
    let truth = ground_truth(&train, &test, d, Metric::L2, 10);
    let idx = build(Insertion::Bulk, &train, d, Metric::L2);
    let res = search_all(&idx, &test, 10, 128);
    let r1 = recall(&res, &truth, &train, &test, Metric::L2, 1);
    let r10 = recall(&res, &truth, &train, &test, Metric::L2, 10);
    println!("50k bulk: recall@1 {r1:.4} recall@10 {r10:.4}");
    assert!(r1 >= 0.99 && r10 >= 0.98, "recall@1 {r1} recall@10 {r10}");
}
