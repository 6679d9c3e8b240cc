//! Renumbering an index in a directory for locality (`DiskIndex::reorder`,
//! and after a batch that builds most of the index): every kind returns the
//! same answers before and after, through a close and reopen, a read-only
//! open and a process that dies; the rows move to a new vector file and
//! the old one goes.

mod common;

use std::path::Path;

use common::clustered;
use common::kinds::{hnsw_params, pq_params, sq8_params, D};
use omendb::{DiskIndex, DiskKind, Index, Metric, Neighbor, OpenOptions, SearchParams};

/// The vector files in `dir`, by name.
fn vector_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("vectors") && n.ends_with(".omv"))
        .collect();
    names.sort();
    names
}

fn answers(index: &dyn Index, queries: &[f32], params: &SearchParams) -> Vec<Vec<Neighbor>> {
    index.search_batch(queries, 10, params).unwrap()
}

/// Dies as a killed process would leave it: no checkpoint at the end.
fn no_close() -> OpenOptions {
    OpenOptions {
        checkpoint_on_close: false,
        ..OpenOptions::default()
    }
}

#[test]
fn renumbering_a_directory_keeps_every_answer_through_reopen_and_death() {
    let n = 3_000; // two batches, each below the automatic threshold
    let (train, test) = clustered(n, 60, D, 30, 5);
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 3 + 7).collect();
    let kinds: [(&str, DiskKind, SearchParams); 3] = [
        ("hnsw", hnsw_params().into(), SearchParams::with_ef(64)),
        (
            "hnsw-pq",
            pq_params().into(),
            SearchParams::with_rerank(64, 60),
        ),
        ("hnsw-sq8", sq8_params().into(), SearchParams::with_ef(64)),
    ];
    for (name, kind, params) in kinds {
        let dir = tempfile::tempdir().unwrap();
        let index = DiskIndex::create(dir.path(), D, Metric::L2, kind, no_close()).unwrap();
        let half = n / 2;
        index.add_batch(&ids[..half], &train[..half * D]).unwrap();
        index.add_batch(&ids[half..], &train[half * D..]).unwrap();
        index.remove(ids[10]).unwrap();
        assert_eq!(vector_files(dir.path()), ["vectors.omv"], "{name}");
        let before = answers(&index, &test, &params);

        assert!(index.reorder().unwrap(), "{name}: a directory renumbers");
        assert_eq!(answers(&index, &test, &params), before, "{name}");
        let files = vector_files(dir.path());
        assert_eq!(
            files.len(),
            1,
            "{name}: the old vector file is gone: {files:?}"
        );
        assert_ne!(files[0], "vectors.omv", "{name}");
        let holds_every_row = |index: &DiskIndex| {
            assert_eq!(index.len(), n - 1, "{name}");
            for (i, &id) in ids.iter().enumerate().skip(11).step_by(89) {
                let want = &train[i * D..(i + 1) * D];
                assert_eq!(index.hnsw().vector_of(id).as_deref(), Some(want), "{name}");
            }
            assert!(
                !index.contains(ids[10]),
                "{name}: a removed id stays removed"
            );
        };
        holds_every_row(&index);
        assert_eq!(index.hnsw().check_invariants(), Ok(()), "{name}");
        drop(index);

        // Reopened, read-only too: the same answers.
        let ro = OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        };
        let index = DiskIndex::open(dir.path(), ro).unwrap();
        assert_eq!(answers(&index, &test, &params), before, "{name}");
        drop(index);
        let index = DiskIndex::open(dir.path(), no_close()).unwrap();
        assert_eq!(answers(&index, &test, &params), before, "{name}");
        holds_every_row(&index);

        // Writes go on, and survive a death without a checkpoint.
        index.add(1, &test[..D]).unwrap();
        index.update(ids[20], &test[D..2 * D]).unwrap();
        drop(index);
        let index = DiskIndex::open(dir.path(), no_close()).unwrap();
        assert_eq!(index.recovery_report().replayed, 2, "{name}");
        assert_eq!(index.hnsw().vector_of(1).as_deref(), Some(&test[..D]));
        assert_eq!(
            index.hnsw().vector_of(ids[20]).as_deref(),
            Some(&test[D..2 * D])
        );
        let hit = index.search(&test[..D], 1, &params).unwrap();
        assert_eq!(hit[0].id, 1, "{name}");

        // A second renumbering replaces the file again.
        let first = vector_files(dir.path());
        assert!(index.reorder().unwrap(), "{name}");
        let second = vector_files(dir.path());
        assert_eq!(second.len(), 1, "{name}: {second:?}");
        assert_ne!(first, second, "{name}");
        assert_eq!(index.hnsw().vector_of(1).as_deref(), Some(&test[..D]));
    }
}

/// A new HNSW directory holding `rows` under `ids`, added as one batch.
fn loaded(ids: &[u64], rows: &[f32]) -> (tempfile::TempDir, DiskIndex) {
    let dir = tempfile::tempdir().unwrap();
    let params = hnsw_params();
    let index = DiskIndex::create(dir.path(), D, Metric::L2, params, OpenOptions::default());
    let index = index.unwrap();
    index.add_batch(ids, rows).unwrap();
    (dir, index)
}

#[test]
fn a_batch_that_builds_the_index_renumbers_it() {
    let n = 5_000;
    let (train, _) = clustered(n, 0, D, 20, 9);
    let ids: Vec<u64> = (0..n as u64).collect();
    let (dir, index) = loaded(&ids, &train);
    let files = vector_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_ne!(
        files[0], "vectors.omv",
        "the bulk batch renumbered the nodes"
    );
    // Renumbered nodes still hold their own ids' rows.
    for i in (0..n).step_by(101) {
        let row = &train[i * D..(i + 1) * D];
        let hit = index.search(row, 1, &SearchParams::with_ef(64)).unwrap();
        assert_eq!((hit[0].id, hit[0].distance), (i as u64, 0.0));
    }
    // A small batch after it does not renumber again.
    let more: Vec<u64> = (n as u64..n as u64 + 100).collect();
    index.add_batch(&more, &train[..100 * D]).unwrap();
    assert_eq!(vector_files(dir.path()), files);
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
    assert_eq!(index.len(), n + 100);
    assert_eq!(vector_files(dir.path()), files);
}

#[test]
fn a_renumbered_directory_missing_its_vector_file_refuses_to_open() {
    let (train, _) = clustered(500, 0, D, 5, 3);
    let ids: Vec<u64> = (0..500).collect();
    let (dir, index) = loaded(&ids, &train);
    assert!(index.reorder().unwrap());
    index.close().unwrap();
    let files = vector_files(dir.path());
    assert_eq!(files.len(), 1);
    // The old name put back in its place does not stand in for it.
    std::fs::rename(dir.path().join(&files[0]), dir.path().join("vectors.omv")).unwrap();
    let err = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap_err();
    assert!(
        matches!(err, omendb::Error::Io { .. }) && err.to_string().contains(&files[0]),
        "{err}"
    );
    assert_eq!(
        vector_files(dir.path()),
        ["vectors.omv"],
        "a failed open removes nothing"
    );
}
