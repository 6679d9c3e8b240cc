//! The PQ-compressed HNSW: recall with and without exact re-ranking.

mod common;

use common::{clustered, ground_truth, recall, Rng};
use omendb::{Error, HnswParams, HnswPqIndex, HnswPqParams, Index, Metric, PqParams, SearchParams};

/// Clusters whose points vary in a 16-d subspace of their own plus small
/// isotropic noise: low intrinsic dimension, as real embeddings have.
fn subspace_clusters(
    n: usize,
    nq: usize,
    d: usize,
    clusters: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let intrinsic = 16;
    let centres: Vec<f32> = (0..clusters * d).map(|_| rng.gauss()).collect();
    let bases: Vec<f32> = (0..clusters * intrinsic * d)
        .map(|_| rng.gauss() * 0.25)
        .collect();
    let mut draw = |rows: usize| {
        let mut out = Vec::with_capacity(rows * d);
        for _ in 0..rows {
            let c = (rng.next_u64() % clusters as u64) as usize;
            let coef: Vec<f32> = (0..intrinsic).map(|_| rng.gauss()).collect();
            for j in 0..d {
                let mut x = centres[c * d + j] + 0.05 * rng.gauss();
                for (t, a) in coef.iter().enumerate() {
                    x += a * bases[(c * intrinsic + t) * d + j];
                }
                out.push(x);
            }
        }
        out
    };
    let train = draw(n);
    let test = draw(nq);
    (train, test)
}

fn params(m: usize) -> HnswPqParams {
    HnswPqParams {
        hnsw: HnswParams::new(16, 100),
        pq: PqParams::with_m(m),
    }
}

#[test]
fn reranking_recovers_recall_on_20k() {
    let (d, n, k) = (128, 20_000, 10);
    let (train, test) = subspace_clusters(n, 200, d, 64, 11);
    let truth = ground_truth(&train, &test, d, Metric::L2, k);
    let idx = HnswPqIndex::new(d, Metric::L2, params(16)).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    idx.add_batch(&ids, &train).unwrap();
    let run = |rerank: usize| {
        let res: Vec<_> = test
            .chunks_exact(d)
            .map(|q| {
                idx.search(q, k, &SearchParams::with_rerank(128, rerank))
                    .unwrap()
            })
            .collect();
        recall(&res, &truth, &train, &test, Metric::L2, k)
    };
    let without = run(0);
    let with = run(10 * k);
    println!("HNSW-PQ m=16, 20k×128: recall@10 without re-ranking {without:.4}, with rerank=100 {with:.4}");
    assert!(with >= 0.95, "recall@10 with re-ranking {with}");
    assert!(with > without, "re-ranking must help: {with} vs {without}");
    let mem = idx.memory_usage();
    assert!(mem.codes >= n * 16, "codes accounted: {mem:?}");
}

#[test]
fn isotropic_data_is_reported_not_hidden() {
    // Full-dimensional noise is PQ's worst case; the figure is printed so a
    // regression is visible, and the exact re-rank still beats no re-rank.
    let (d, n, k) = (128, 5_000, 10);
    let (train, test) = clustered(n, 100, d, 100, 12);
    let truth = ground_truth(&train, &test, d, Metric::L2, k);
    let idx = HnswPqIndex::new(d, Metric::L2, params(16)).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    idx.add_batch(&ids, &train).unwrap();
    let r = |rerank| {
        let res: Vec<_> = test
            .chunks_exact(d)
            .map(|q| {
                idx.search(q, k, &SearchParams::with_rerank(200, rerank))
                    .unwrap()
            })
            .collect();
        recall(&res, &truth, &train, &test, Metric::L2, k)
    };
    let (without, with) = (r(0), r(200));
    println!("HNSW-PQ isotropic clusters: recall@10 without {without:.4}, rerank=200 {with:.4}");
    assert!(with > without);
}

#[test]
fn bad_input_is_rejected() {
    assert!(matches!(
        HnswPqIndex::new(8, Metric::L2, params(16)),
        Err(Error::InvalidParameter { name: "m", .. })
    ));
    let idx = HnswPqIndex::new(32, Metric::L2, params(8)).unwrap();
    // Too few vectors to train 256 centroids per sub-space.
    let small: Vec<f32> = (0..100 * 32).map(|i| i as f32).collect();
    let ids: Vec<u64> = (0..100).collect();
    assert!(matches!(
        idx.add_batch(&ids, &small),
        Err(Error::InvalidParameter { .. })
    ));
    assert_eq!(idx.len(), 0);
    assert!(matches!(
        idx.search(&[0.0; 32], 1, &SearchParams::default()),
        Err(Error::EmptyIndex)
    ));
}

#[test]
fn packed_links_answer_exactly_as_unpacked_ones_and_take_less_memory() {
    let (d, n, k) = (32, 20_000, 10);
    let (train, test) = subspace_clusters(n, 100, d, 32, 21);
    let idx = HnswPqIndex::new(d, Metric::L2, params(8)).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    idx.add_batch(&ids, &train).unwrap();
    assert!(idx.links_packed(), "a bulk build leaves its links packed");
    let answers = |idx: &HnswPqIndex| -> Vec<Vec<omendb::Neighbor>> {
        test.chunks_exact(d)
            .map(|q| {
                idx.search(q, k, &SearchParams::with_rerank(64, 40))
                    .unwrap()
            })
            .collect()
    };
    let packed = answers(&idx);
    let packed_bytes = idx.memory_usage().graph;
    idx.unpack_links();
    assert!(!idx.links_packed());
    idx.hnsw().check_invariants().unwrap();
    let unpacked = answers(&idx);
    let unpacked_bytes = idx.memory_usage().graph;
    assert_eq!(packed, unpacked, "same graph, same answers");
    // 20k nodes: 15-bit node numbers, 33 bytes a list of 2M = 16 instead of 68.
    assert!(
        (packed_bytes as f64) < 0.7 * unpacked_bytes as f64,
        "packed {packed_bytes} B, unpacked {unpacked_bytes} B"
    );
    assert!(idx.pack_links());
    assert_eq!(answers(&idx), unpacked);
    // A write unpacks them, and is found.
    let v = test[..d].to_vec();
    idx.add(1 << 40, &v).unwrap();
    assert!(!idx.links_packed());
    let hit = idx
        .search(&v, 1, &SearchParams::with_rerank(64, 40))
        .unwrap();
    assert_eq!(hit[0].id, 1 << 40);
    idx.hnsw().check_invariants().unwrap();
}

#[test]
fn lists_longer_than_a_packed_slot_stay_unpacked() {
    // M 128: layer-0 lists of 256, one more than a packed slot's count holds.
    let (d, n) = (32, 600);
    let (train, test) = subspace_clusters(n, 10, d, 4, 23);
    let params = HnswPqParams {
        hnsw: HnswParams::new(128, 200),
        pq: PqParams::with_m(8),
    };
    let idx = HnswPqIndex::new(d, Metric::L2, params).unwrap();
    idx.add_batch(&(0..n as u64).collect::<Vec<_>>(), &train)
        .unwrap();
    assert!(!idx.pack_links());
    assert!(!idx.links_packed());
    idx.hnsw().check_invariants().unwrap();
    let hits = idx
        .search(&test[..d], 5, &SearchParams::with_rerank(64, 20))
        .unwrap();
    assert_eq!(hits.len(), 5);
}
