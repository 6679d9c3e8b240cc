//! The PQ-navigated index on disk: codebooks and codes saved with every
//! checkpoint, full vectors only in the mapped file, identical answers
//! after close and open, log replay that retrains nothing it should not.

mod common;

use common::{clustered, ground_truth, recall};
use omendb::{
    DiskIndex, Durability, Error, HnswParams, HnswPqParams, Index, Metric, Neighbor, OpenOptions,
    PqParams, SearchParams,
};

const D: usize = 32;

fn params() -> HnswPqParams {
    HnswPqParams {
        hnsw: HnswParams::new(12, 80),
        pq: PqParams {
            train_sample: 4_000,
            ..PqParams::with_m(8)
        },
    }
}

fn search(index: &dyn Index, queries: &[f32], rerank: usize) -> Vec<Vec<Neighbor>> {
    index
        .search_batch(queries, 10, &SearchParams::with_rerank(64, rerank))
        .unwrap()
}

fn ids(n: usize, from: u64) -> Vec<u64> {
    (from..from + n as u64).collect()
}

#[test]
fn pq_round_trip_keeps_codebooks_codes_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = clustered(8_000, 100, D, 20, 11);
    let (first, more) = train.split_at(6_000 * D);
    let index = DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        params(),
        OpenOptions::with_durability(Durability::Never),
    )
    .unwrap();
    index.add_batch(&ids(6_000, 0), first).unwrap();
    index.remove(5).unwrap();
    let pq = index.pq().expect("a PQ index");
    assert!(pq.is_trained());
    let codebooks = pq.quantizer_bytes().unwrap();
    let (exact, adc) = (search(&index, &test, 100), search(&index, &test, 0));
    // RAM holds graph and codes; the vectors are in the mapped file.
    let mem = index.memory_usage();
    assert_eq!(mem.vectors, 0);
    assert!(mem.codes >= 6_000 * 8, "{mem:?}");
    assert!(mem.disk >= 6_000 * D * 4, "{mem:?}");
    index.close().unwrap();

    // Closing this one only syncs the log, as if the process had died.
    let no_checkpoint = OpenOptions {
        checkpoint_on_close: false,
        ..OpenOptions::default()
    };
    let index = DiskIndex::open(dir.path(), no_checkpoint).unwrap();
    let pq = index.pq().expect("opened as a PQ index");
    assert_eq!(pq.quantizer_bytes().unwrap(), codebooks);
    assert_eq!(index.len(), 5_999);
    assert!(!index.contains(5));
    // An opened index reads its links packed, to the same answers.
    assert!(pq.links_packed());
    assert_eq!(search(&index, &test, 100), exact);
    assert_eq!(search(&index, &test, 0), adc);
    index.hnsw().check_invariants().unwrap();
    let packed_graph = index.memory_usage().graph;
    pq.unpack_links();
    assert_eq!(search(&index, &test, 100), exact);
    assert!(index.memory_usage().graph > packed_graph);
    // An index in a directory writes through its own path: it packs only
    // at open, never on a caller's word.
    assert!(!pq.pack_links());

    // Writes after the reopen use the saved codebooks, are logged, and
    // replay to the same answers without a checkpoint.
    for (i, v) in more.chunks_exact(D).enumerate().take(500) {
        index.add(6_000 + i as u64, v).unwrap();
    }
    index
        .add_batch(&ids(1_500, 6_500), &more[500 * D..])
        .unwrap();
    index.update(3, &more[..D]).unwrap();
    assert!(!pq.links_packed(), "writes unpack the links");
    let after = search(&index, &test, 100);
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    assert_eq!(index.recovery_report().replayed, 502);
    assert_eq!(index.pq().unwrap().quantizer_bytes().unwrap(), codebooks);
    assert_eq!(index.len(), 7_999);
    index.hnsw().check_invariants().unwrap();
    // Replay relinks the graph (parallel inserts are not deterministic), so
    // compare the answers' overlap, not identity.
    let a = overlap(&after, &index, &test);
    assert!(a >= 0.9, "answers after replay overlap those before by {a}");
}

/// Share of the reopened index's answers that were given before the crash.
fn overlap(before: &[Vec<Neighbor>], index: &dyn Index, test: &[f32]) -> f64 {
    let now = search(index, test, 100);
    let mut hits = 0;
    for (b, n) in before.iter().zip(&now) {
        hits += n.iter().filter(|x| b.iter().any(|y| y.id == x.id)).count();
    }
    hits as f64 / (10 * before.len()) as f64
}

#[test]
fn pq_recall_on_disk_matches_the_in_ram_index() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = clustered(5_000, 100, D, 20, 12);
    let index = DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        params(),
        OpenOptions::with_durability(Durability::Never),
    )
    .unwrap();
    index.add_batch(&ids(5_000, 0), &train).unwrap();
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    let truth = ground_truth(&train, &test, D, Metric::L2, 10);
    let with = recall(
        &search(&index, &test, 100),
        &truth,
        &train,
        &test,
        Metric::L2,
        10,
    );
    let without = recall(
        &search(&index, &test, 0),
        &truth,
        &train,
        &test,
        Metric::L2,
        10,
    );
    eprintln!("5k x 32, pq m = 8, on disk: recall@10 {with:.3} re-ranked, {without:.3} ADC only");
    assert!(with >= 0.95, "re-ranked recall {with}");
    assert!(without < with, "ADC-only {without} vs re-ranked {with}");
}

#[test]
fn a_first_write_too_small_to_train_is_refused_before_logging() {
    let dir = tempfile::tempdir().unwrap();
    let index = DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        params(),
        OpenOptions::with_durability(Durability::EveryOp),
    )
    .unwrap();
    let v = vec![0.5f32; D];
    assert!(matches!(
        index.add(1, &v),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        index.update(1, &v),
        Err(Error::InvalidParameter { .. })
    ));
    let small: Vec<f32> = vec![0.25; 100 * D];
    assert!(index.add_batch(&ids(100, 0), &small).is_err());
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    assert_eq!(index.recovery_report().replayed, 0);
    assert_eq!(index.len(), 0);
    assert!(!index.pq().unwrap().is_trained());
}

#[test]
fn bad_pq_parameters_are_refused_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = params();
    p.pq.m = D + 1;
    assert!(DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        p,
        OpenOptions::with_durability(Durability::Never)
    )
    .is_err());
    p.pq.m = 0;
    assert!(DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        p,
        OpenOptions::with_durability(Durability::Never)
    )
    .is_err());
    // 32 dimensions in 12 sub-spaces of 3 would leave the last all padding.
    p.pq.m = 12;
    assert!(DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        p,
        OpenOptions::with_durability(Durability::Never)
    )
    .is_err());
    // Too small a training sample: refused at create, not at the first write
    // (whose log record could then never be replayed).
    let mut p = params();
    p.pq.train_sample = 100;
    assert!(DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        p,
        OpenOptions::with_durability(Durability::Never)
    )
    .is_err());
    assert!(omendb::HnswPqIndex::new(D, Metric::L2, p).is_err());
    // None of these left a directory behind that cannot be opened.
    assert!(!dir.path().join("MANIFEST").exists());
}

#[test]
fn concurrent_pq_writers_keep_codes_and_nodes_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = clustered(6_000, 50, D, 20, 13);
    let opts = OpenOptions {
        checkpoint_every: Some(400),
        ..OpenOptions::with_durability(Durability::Group(16))
    };
    let index = DiskIndex::create(dir.path(), D, Metric::L2, params(), opts).unwrap();
    index
        .add_batch(&ids(1_000, 0), &train[..1_000 * D])
        .unwrap();
    let threads = 3;
    std::thread::scope(|s| {
        for t in 0..threads {
            let (index, train) = (&index, &train);
            s.spawn(move || {
                for (i, v) in train.chunks_exact(D).enumerate().skip(1_000) {
                    if i % threads == t {
                        index.add(i as u64, v).unwrap();
                    }
                }
            });
        }
        s.spawn(|| {
            for q in test.chunks_exact(D).cycle().take(300) {
                let hits = index
                    .search(q, 10, &SearchParams::with_rerank(32, 30))
                    .unwrap();
                assert_eq!(hits.len(), 10);
            }
        });
    });
    assert_eq!(index.len(), 6_000);
    assert!(index.checkpoint_error().is_none());
    // Every vector finds itself first through its own code and the graph:
    // a code out of step with its node would send it elsewhere.
    let exact = |index: &DiskIndex| {
        train
            .chunks_exact(D)
            .enumerate()
            .step_by(37)
            .filter(|(i, v)| {
                index
                    .search(v, 1, &SearchParams::with_rerank(64, 64))
                    .unwrap()[0]
                    .id
                    == *i as u64
            })
            .count()
    };
    let before = exact(&index);
    assert!(before as f64 >= 0.97 * 6_000f64 / 37.0, "{before}");
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    index.hnsw().check_invariants().unwrap();
    assert_eq!(exact(&index), before);
}
