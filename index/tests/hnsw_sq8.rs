//! The SQ8-navigated HNSW: recall level with f32 traversal of the same
//! graph at the same `ef` (the default re-rank depth's promise), on
//! clustered L2 and angular data at 20k; a graph linked by the codes as
//! good as one linked exactly; explicit depths; bad input; the directory
//! kind's round trip and RAM accounting.

mod common;

use common::{clustered, ground_truth, recall};
use omendb::{
    DiskIndex, Error, HnswIndex, HnswParams, HnswSq8Index, HnswSq8Params, Index, Metric, Neighbor,
    OpenOptions, SearchParams, Sq8Params,
};

fn params() -> HnswSq8Params {
    HnswSq8Params {
        hnsw: HnswParams::new(16, 100),
        sq8: Sq8Params::default(),
    }
}

/// The promise of the default re-rank depth: recall@10 within 0.002 of
/// (or above) the f32 search of the same graph at every `ef`, `ef = k`
/// included, where a beam of exactly `ef` codes would lose up to 0.02.
fn level_with_f32(metric: Metric, seed: u64) {
    let (d, n, nq, k) = (128, 20_000, 1_000, 10);
    // 20 wide clusters: recall@10 from about 0.7 (ef 10) to 1 (ef 128).
    let (train, test) = clustered(n, nq, d, 20, seed);
    let truth = ground_truth(&train, &test, d, metric, k);
    let idx = HnswSq8Index::new(d, metric, params()).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    idx.add_batch(&ids, &train).unwrap();
    let run = |f: &dyn Fn(&[f32]) -> Vec<Neighbor>| -> f64 {
        let res: Vec<_> = test.chunks_exact(d).map(f).collect();
        recall(&res, &truth, &train, &test, metric, k)
    };
    for ef in [10, 16, 32, 64, 128] {
        let p = SearchParams::with_ef(ef);
        let f32_recall = run(&|q| idx.search_exact(q, k, &p).unwrap());
        let sq8_recall = run(&|q| idx.search(q, k, &p).unwrap());
        let shallow = run(&|q| idx.search(q, k, &SearchParams::with_rerank(ef, k)).unwrap());
        println!(
            "{metric:?} 20k×128 ef {ef}: recall@10 f32 {f32_recall:.4}, sq8 (default depth) \
             {sq8_recall:.4}, sq8 (re-rank k) {shallow:.4}"
        );
        assert!(
            sq8_recall >= f32_recall - 0.002,
            "{metric:?} ef {ef}: sq8 {sq8_recall} vs f32 {f32_recall}"
        );
        assert!(
            shallow >= f32_recall - 0.1,
            "{metric:?} ef {ef}: re-rank k {shallow}"
        );
    }
    // Results carry exact distances.
    let q = &test[..d];
    let exact = idx.search_exact(q, k, &SearchParams::with_ef(64)).unwrap();
    let got = idx.search(q, k, &SearchParams::with_ef(64)).unwrap();
    assert_eq!(exact[0].id, got[0].id);
    assert_eq!(exact[0].distance, got[0].distance);
}

/// Linking by the codes (issue 16, step 5: each insertion's candidate
/// search runs on the integer kernels and the neighbours are chosen on
/// code distances) builds a graph as good as linking by exact distances: the
/// SQ8 index's graph, searched exactly, within 0.01 recall@10 of an
/// exactly linked `HnswIndex` on the same data. Both are built on one
/// thread, so the comparison is the same on every run.
fn linked_by_codes_as_well_as_exactly(metric: Metric, seed: u64) {
    let (d, n, nq, k) = (128, 20_000, 1_000, 10);
    let (train, test) = clustered(n, nq, d, 20, seed);
    let truth = ground_truth(&train, &test, d, metric, k);
    let ids: Vec<u64> = (0..n as u64).collect();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (coded, exact) = one.install(|| {
        let coded = HnswSq8Index::new(d, metric, params()).unwrap();
        coded.add_batch(&ids, &train).unwrap();
        let exact = HnswIndex::new(d, metric, params().hnsw).unwrap();
        exact.add_batch(&ids, &train).unwrap();
        (coded, exact)
    });
    let run = |f: &dyn Fn(&[f32]) -> Vec<Neighbor>| -> f64 {
        let res: Vec<_> = test.chunks_exact(d).map(f).collect();
        recall(&res, &truth, &train, &test, metric, k)
    };
    for ef in [10, 16, 32, 64] {
        let p = SearchParams::with_ef(ef);
        let by_codes = run(&|q| coded.search_exact(q, k, &p).unwrap());
        let by_exact = run(&|q| exact.search(q, k, &p).unwrap());
        println!("{metric:?} ef {ef}: linked by codes {by_codes:.4}, exactly {by_exact:.4}");
        assert!(
            by_codes >= by_exact - 0.01,
            "{metric:?} ef {ef}: linked by codes {by_codes} vs exactly {by_exact}"
        );
    }
}

#[test]
fn l2_graphs_linked_by_codes_are_as_good_as_exact_ones() {
    linked_by_codes_as_well_as_exactly(Metric::L2, 23);
}

#[test]
fn angular_graphs_linked_by_codes_are_as_good_as_exact_ones() {
    linked_by_codes_as_well_as_exactly(Metric::Cosine, 24);
}

#[test]
fn l2_recall_is_level_with_f32_traversal_on_20k() {
    level_with_f32(Metric::L2, 21);
}

#[test]
fn angular_recall_is_level_with_f32_traversal_on_20k() {
    level_with_f32(Metric::Cosine, 22);
}

#[test]
fn bad_parameters_and_small_first_batches_are_refused() {
    assert!(matches!(
        HnswSq8Index::new(0, Metric::L2, params()),
        Err(Error::InvalidParameter { name: "dims", .. })
    ));
    assert!(matches!(
        HnswSq8Index::new(8193, Metric::L2, params()),
        Err(Error::InvalidParameter { name: "dims", .. })
    ));
    let bad_trim = HnswSq8Params {
        sq8: Sq8Params {
            trim: 0.7,
            ..Sq8Params::default()
        },
        ..params()
    };
    assert!(matches!(
        HnswSq8Index::new(8, Metric::L2, bad_trim),
        Err(Error::InvalidParameter { name: "trim", .. })
    ));
    let idx = HnswSq8Index::new(8, Metric::L2, params()).unwrap();
    assert!(matches!(
        idx.add_batch(&[1, 2], &[0.5; 16]),
        Err(Error::InvalidParameter {
            name: "training set",
            ..
        })
    ));
    assert!(matches!(
        idx.add(1, &[0.5; 8]),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        idx.update(1, &[0.5; 8]),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(!idx.is_trained());
    assert_eq!(idx.len(), 0);
    // After training, single adds and updates are fine.
    let (train, _) = clustered(300, 1, 8, 4, 3);
    let ids: Vec<u64> = (0..300).collect();
    idx.add_batch(&ids, &train).unwrap();
    idx.add(1_000, &[0.25; 8]).unwrap();
    idx.update(1_000, &[9.0; 8]).unwrap(); // far outside the trained range
    let top = idx.search(&[9.0; 8], 1, &SearchParams::default()).unwrap();
    assert_eq!(top[0].id, 1_000);
    assert!(top[0].distance.abs() < 1e-6, "exact distance after re-rank");
}

#[test]
fn a_directory_round_trips_and_keeps_only_codes_graph_and_ids_in_ram() {
    let (d, n, k) = (64, 5_000, 10);
    let (train, test) = clustered(n, 50, d, 50, 31);
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    let p = SearchParams::with_ef(48);
    let before: Vec<Vec<u64>>;
    {
        let idx =
            DiskIndex::create(dir.path(), d, Metric::L2, params(), OpenOptions::default()).unwrap();
        idx.add_batch(&ids, &train).unwrap();
        idx.checkpoint().unwrap();
        idx.remove(7).unwrap();
        idx.add(99_999, &test[..d]).unwrap(); // in the log only
        before = test
            .chunks_exact(d)
            .map(|q| idx.search(q, k, &p).unwrap().iter().map(|x| x.id).collect())
            .collect();
        let mem = idx.memory_usage();
        let per_vector = (mem.codes + mem.graph + mem.ids) as f64 / n as f64;
        println!("SQ8 on disk, {n}×{d}: {mem:?}; codes + graph + ids = {per_vector:.0} B/vector");
        assert_eq!(mem.vectors, 0, "vectors are mapped, not in RAM");
        assert!(mem.codes >= n * d && mem.disk >= n * d * 4, "{mem:?}");
    }
    let idx = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
    assert_eq!(idx.len(), n);
    let after: Vec<Vec<u64>> = test
        .chunks_exact(d)
        .map(|q| idx.search(q, k, &p).unwrap().iter().map(|x| x.id).collect())
        .collect();
    assert_eq!(before, after, "answers differ after close → open");
    assert_eq!(after[0][0], 99_999);
    assert!(after.iter().all(|a| !a.contains(&7)));
}

#[test]
fn on_disk_a_first_write_too_small_to_train_is_refused_before_logging() {
    let dir = tempfile::tempdir().unwrap();
    let opts = OpenOptions::with_durability(omendb::Durability::EveryOp);
    let index = DiskIndex::create(dir.path(), 8, Metric::Cosine, params(), opts).unwrap();
    assert!(matches!(
        index.add(1, &[0.5; 8]),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        index.update(1, &[0.5; 8]),
        Err(Error::InvalidParameter { .. })
    ));
    let ids: Vec<u64> = (0..100).collect();
    assert!(index.add_batch(&ids, &[0.25; 100 * 8]).is_err());
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    assert_eq!((index.recovery_report().replayed, index.len()), (0, 0));
}

#[test]
fn bad_parameters_are_refused_at_create_and_leave_no_directory() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || OpenOptions::with_durability(omendb::Durability::Never);
    let mut p = params();
    p.sq8.train_sample = 10;
    assert!(DiskIndex::create(dir.path(), 8, Metric::L2, p, opts()).is_err());
    let mut p = params();
    p.sq8.trim = -0.1;
    assert!(DiskIndex::create(dir.path(), 8, Metric::L2, p, opts()).is_err());
    assert!(DiskIndex::create(dir.path(), 9_000, Metric::L2, params(), opts()).is_err());
    assert!(!dir.path().join("MANIFEST").exists());
}
