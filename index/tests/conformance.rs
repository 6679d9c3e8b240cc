//! One conformance suite over every index kind, through `&dyn Index` only
//! (as tantivy runs one suite over every `Directory`): bad input, deletion
//! and update, `search_batch` against `search`, recall against `FlatIndex`,
//! memory accounting, two instances side by side, and for the kinds kept in
//! a directory, close → open with identical answers. A new kind is one more
//! entry in `kinds()`; the read-only sector kind runs the same checks with
//! its writes made in its source index and written out again.

mod common;

use std::path::Path;

use common::kinds::{kinds, Kind, D};
use common::{clustered, ground_truth, recall};
use omendb::{Error, Index, Metric, Neighbor, SearchParams};

const N: usize = 1_500;
const NQ: usize = 40;

fn ids(found: &[Neighbor]) -> Vec<u64> {
    found.iter().map(|n| n.id).collect()
}

fn bad_input_is_refused(index: &dyn Index, name: &str) {
    let q = [0.5f32; D];
    let p = SearchParams::default();
    assert!(
        matches!(index.search(&q, 1, &p), Err(Error::EmptyIndex)),
        "{name}: search of an empty index"
    );
    assert!(
        matches!(
            index.add(1, &[0.0; D - 1]),
            Err(Error::DimensionMismatch { expected: D, got }) if got == D - 1
        ),
        "{name}: short vector"
    );
    let mut nan = [0.0f32; D];
    nan[3] = f32::NAN;
    assert!(
        matches!(
            index.add(1, &nan),
            Err(Error::NonFinite { component: 3, .. })
        ),
        "{name}: NaN"
    );
    nan[3] = f32::INFINITY;
    assert!(
        matches!(index.add_batch(&[1], &nan), Err(Error::NonFinite { .. })),
        "{name}: infinity"
    );
    assert!(
        matches!(
            index.add_batch(&[1, 2], &[0.0; 2 * D + 1]),
            Err(Error::BatchShape { .. })
        ),
        "{name}: ragged batch"
    );
    assert!(
        matches!(
            index.add_batch(&[1, 1], &[0.0; 2 * D]),
            Err(Error::DuplicateInBatch(1))
        ),
        "{name}: an id twice in one batch"
    );
    let mut huge = [0.0f32; D];
    huge[1] = f32::MAX;
    assert!(
        matches!(index.add(1, &huge), Err(Error::TooLarge { row: 0, .. })),
        "{name}: a vector whose distances would overflow"
    );
    huge[1] = 1e19;
    huge[2] = -1e19;
    assert!(
        matches!(
            index.add_batch(&[1, 2], &[[0.5; D], huge].concat()),
            Err(Error::TooLarge { row: 1, .. })
        ),
        "{name}: an overflowing row of a batch"
    );
    assert!(
        matches!(index.add_batch(&[], &[]), Err(Error::EmptyBatch(_))),
        "{name}: empty batch"
    );
    assert!(
        matches!(index.remove(5), Err(Error::UnknownId(5))),
        "{name}: remove of an unknown id"
    );
    assert_eq!(index.len(), 0, "{name}: refused writes added nothing");
}

fn bad_queries_are_refused(index: &dyn Index, name: &str) {
    let p = SearchParams::default();
    let len = index.len();
    assert!(
        matches!(index.search(&[0.5; D], 0, &p), Err(Error::ZeroK)),
        "{name}: k = 0"
    );
    assert!(
        matches!(index.search(&[0.5; D], len + 1, &p), Err(Error::KTooLarge { k, len: l }) if k == len + 1 && l == len),
        "{name}: k > len"
    );
    assert!(
        matches!(
            index.search(&[0.5; D + 1], 1, &p),
            Err(Error::DimensionMismatch { .. })
        ),
        "{name}: long query"
    );
    let mut inf = [0.5f32; D];
    inf[0] = f32::NEG_INFINITY;
    assert!(
        matches!(index.search(&inf, 1, &p), Err(Error::NonFinite { .. })),
        "{name}: inf query"
    );
    assert!(
        matches!(
            index.search_batch(&[0.5; D + 3], 1, &p),
            Err(Error::BatchShape { .. })
        ),
        "{name}: ragged query batch"
    );
    assert_eq!(index.len(), len);
}

fn an_id_present_is_refused(index: &dyn Index, name: &str) {
    let first = index
        .search(&[0.5; D], 1, &SearchParams::default())
        .unwrap()[0]
        .id;
    assert!(
        matches!(index.add(first, &[0.5; D]), Err(Error::DuplicateId(id)) if id == first),
        "{name}: an id already present"
    );
}

/// `search_batch` against `search`, sorted answers, recall against exact
/// ground truth; returns the batch's answers.
fn batch_matches_single_and_recalls(
    index: &dyn Index,
    params: &SearchParams,
    min_recall: f64,
    name: &str,
    metric: Metric,
) -> Vec<Vec<Neighbor>> {
    let (train, test) = clustered(N, NQ, D, 20, 11);
    let truth = ground_truth(&train, &test, D, metric, 10);
    let batch = index.search_batch(&test, 10, params).unwrap();
    let single: Vec<Vec<Neighbor>> = test
        .chunks_exact(D)
        .map(|q| index.search(q, 10, params).unwrap())
        .collect();
    for (b, s) in batch.iter().zip(&single) {
        assert_eq!(ids(b), ids(s), "{name}: search_batch differs from search");
        assert!(
            b.windows(2).all(|w| w[0].distance <= w[1].distance),
            "{name}: unsorted"
        );
    }
    let r = recall(&batch, &truth, &train, &test, metric, 10);
    assert!(
        r >= min_recall,
        "{name} {metric:?}: recall@10 {r:.3} < {min_recall}"
    );
    batch
}

/// Everything but reopening, on one index of `kind` in `dir`.
fn run_suite(kind: &Kind, dir: &Path, metric: Metric) -> Vec<Vec<u64>> {
    let name = kind.name;
    let (train, test) = clustered(N, NQ, D, 20, 11);
    let index = (kind.make)(dir, metric);
    assert_eq!((index.dims(), index.metric()), (D, metric), "{name}");
    bad_input_is_refused(index.as_ref(), name);

    let all: Vec<u64> = (0..N as u64).collect();
    index.add_batch(&all, &train).unwrap();
    assert_eq!(index.len(), N, "{name}");
    assert!(!index.is_empty());
    bad_queries_are_refused(index.as_ref(), name);
    an_id_present_is_refused(index.as_ref(), name);

    // search_batch answers as search does, query by query.
    let batch = batch_matches_single_and_recalls(
        index.as_ref(),
        &kind.params,
        kind.min_recall,
        name,
        metric,
    );

    // Deletion: a removed id is never returned again.
    let victims: Vec<u64> = batch.iter().map(|b| b[0].id).take(5).collect();
    let mut removed = 0;
    for &id in &victims {
        if index.remove(id).is_ok() {
            removed += 1;
        }
    }
    assert_eq!(index.len(), N - removed, "{name}: len after removes");
    for q in test.chunks_exact(D) {
        let got = index.search(q, 10, &kind.params).unwrap();
        assert!(
            got.iter().all(|n| !victims.contains(&n.id)),
            "{name}: a removed id came back"
        );
    }
    // Update: an id moved onto a query is that query's nearest neighbour.
    let q0 = &test[..D];
    index.update(victims[0], q0).unwrap();
    index.update(1_000_000, &test[D..2 * D]).unwrap();
    assert_eq!(
        index.len(),
        N - removed + 2,
        "{name}: update re-adds and adds"
    );
    let top = index.search(q0, 1, &kind.params).unwrap();
    assert_eq!(
        top[0].id, victims[0],
        "{name}: the updated vector is not found"
    );
    let top = index.search(&test[D..2 * D], 1, &kind.params).unwrap();
    assert_eq!(top[0].id, 1_000_000, "{name}: update of a new id adds it");

    let mem = index.memory_usage();
    assert!(mem.ram_total() > 0, "{name}: no memory accounted");
    assert!(mem.ids > 0, "{name}: ids not accounted");

    let answers = test
        .chunks_exact(D)
        .map(|q| ids(&index.search(q, 10, &kind.params).unwrap()))
        .collect();
    drop(index);
    answers
}

#[test]
fn every_kind_conforms() {
    for kind in kinds() {
        for metric in [Metric::L2, Metric::Cosine] {
            let dir = tempfile::tempdir().unwrap();
            let before = run_suite(&kind, dir.path(), metric);
            if let Some(reopen) = kind.reopen {
                let index = reopen(dir.path());
                assert_eq!(index.len(), N - 5 + 2, "{}: len after reopen", kind.name);
                assert!(index.memory_usage().disk > 0, "{}: disk bytes", kind.name);
                let (_, test) = clustered(N, NQ, D, 20, 11);
                for (q, want) in test.chunks_exact(D).zip(&before) {
                    let got = ids(&index.search(q, 10, &kind.params).unwrap());
                    assert_eq!(
                        &got, want,
                        "{}: answers differ after close → open",
                        kind.name
                    );
                }
            }
        }
    }
}

#[test]
fn two_instances_of_every_kind_live_side_by_side() {
    let (train, _) = clustered(600, 1, D, 10, 5);
    let all: Vec<u64> = (0..600).collect();
    for kind in kinds() {
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = (kind.make)(da.path(), Metric::L2);
        let b = (kind.make)(db.path(), Metric::L2);
        a.add_batch(&all, &train).unwrap();
        b.add_batch(&all[..300], &train[..300 * D]).unwrap();
        assert_eq!((a.len(), b.len()), (600, 300), "{}", kind.name);
        let q = &train[450 * D..451 * D];
        assert_eq!(
            a.search(q, 1, &kind.params).unwrap()[0].id,
            450,
            "{}",
            kind.name
        );
        assert!(
            b.search(q, 1, &kind.params).unwrap()[0].id < 300,
            "{}",
            kind.name
        );
    }
}

/// The read-only sector kind (`SectorIndex`, written from a PQ index and
/// never written to) through the same checks: bad queries, writes refused,
/// `search_batch` against `search`, recall, the source's deletions and
/// updates once written out again, memory accounting, reopen, and two
/// instances side by side.
#[test]
fn the_read_only_sector_kind_conforms() {
    use omendb::{HnswPqIndex, SectorIndex, SectorOptions};
    let name = "sector";
    let params = SearchParams::with_ef(64);
    for metric in [Metric::L2, Metric::Cosine] {
        let (train, test) = clustered(N, NQ, D, 20, 11);
        let src = HnswPqIndex::new(D, metric, common::kinds::pq_params()).unwrap();
        let all: Vec<u64> = (0..N as u64).collect();
        src.add_batch(&all, &train).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let open = || SectorIndex::open(dir.path(), SectorOptions::default()).unwrap();
        SectorIndex::write(&src, dir.path()).unwrap();
        let index = open();
        assert_eq!(
            (index.dims(), index.metric(), index.len()),
            (D, metric, N),
            "{name}"
        );
        bad_queries_are_refused(&index, name);
        let v = [0.5f32; D];
        assert!(
            matches!(index.add(N as u64, &v), Err(Error::ReadOnly)),
            "{name}: add"
        );
        assert!(matches!(
            index.add_batch(&[N as u64], &v),
            Err(Error::ReadOnly)
        ));
        assert!(
            matches!(index.remove(0), Err(Error::ReadOnly)),
            "{name}: remove"
        );
        assert!(
            matches!(index.update(0, &v), Err(Error::ReadOnly)),
            "{name}: update"
        );
        assert_eq!(index.len(), N, "{name}: refused writes changed nothing");
        let batch = batch_matches_single_and_recalls(&index, &params, 0.9, name, metric);

        // Deletions and updates, made in the source and written out again.
        let victims: Vec<u64> = batch.iter().map(|b| b[0].id).take(5).collect();
        let mut removed = 0;
        for &id in &victims {
            removed += usize::from(src.remove(id).is_ok());
        }
        let q0 = &test[..D];
        src.update(victims[0], q0).unwrap();
        src.update(1_000_000, &test[D..2 * D]).unwrap();
        drop(index);
        SectorIndex::write(&src, dir.path()).unwrap();
        let index = open();
        assert_eq!(index.len(), N - removed + 2, "{name}: len after rewrite");
        for q in test.chunks_exact(D) {
            let got = index.search(q, 10, &params).unwrap();
            assert!(
                got.iter().all(|n| !victims[1..].contains(&n.id)),
                "{name}: a removed id came back"
            );
        }
        assert_eq!(
            index.search(q0, 1, &params).unwrap()[0].id,
            victims[0],
            "{name}: updated"
        );
        let top = index.search(&test[D..2 * D], 1, &params).unwrap();
        assert_eq!(top[0].id, 1_000_000, "{name}: update of a new id adds it");

        let mem = index.memory_usage();
        assert!(
            mem.ram_total() > 0 && mem.ids > 0 && mem.disk > 0,
            "{name}: {mem:?}"
        );
        assert_eq!(mem.vectors, 0, "{name}: vectors stay on disk");

        // Close → open, and a second instance beside the first.
        let answers: Vec<Vec<u64>> = test
            .chunks_exact(D)
            .map(|q| ids(&index.search(q, 10, &params).unwrap()))
            .collect();
        let second = open();
        drop(index);
        for (q, want) in test.chunks_exact(D).zip(&answers) {
            assert_eq!(
                &ids(&second.search(q, 10, &params).unwrap()),
                want,
                "{name}: reopen"
            );
        }
        let other = tempfile::tempdir().unwrap();
        let half = HnswPqIndex::new(D, metric, common::kinds::pq_params()).unwrap();
        half.add_batch(&all[..N / 2], &train[..N / 2 * D]).unwrap();
        SectorIndex::write(&half, other.path()).unwrap();
        let b = SectorIndex::open(other.path(), SectorOptions::default()).unwrap();
        assert_eq!((second.len(), b.len()), (N - removed + 2, N / 2), "{name}");
        let q = &train[(N - 1) * D..N * D];
        assert!(
            b.search(q, 1, &params).unwrap()[0].id < (N / 2) as u64,
            "{name}"
        );
        assert_eq!(
            second.search(q, 1, &params).unwrap()[0].id,
            N as u64 - 1,
            "{name}"
        );
    }
}
