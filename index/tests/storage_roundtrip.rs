//! Persistent HNSW: round trips through close and open, checkpoints, the
//! directory lock, read-only opens, and two indexes in one process.

mod common;

use common::clustered;
use omendb::DiskUsage;
use omendb::{
    DiskIndex, Durability, Error, HnswIndex, HnswParams, Index, Metric, Neighbor, OpenOptions,
    SearchParams,
};

const D: usize = 32;

fn params() -> HnswParams {
    HnswParams::new(12, 80)
}

fn results(index: &dyn Index, queries: &[f32]) -> Vec<Vec<Neighbor>> {
    index
        .search_batch(queries, 10, &SearchParams::with_ef(64))
        .unwrap()
}

fn ids(n: usize, from: u64) -> Vec<u64> {
    (from..from + n as u64).collect()
}

#[test]
fn round_trip_gives_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = clustered(12_000, 100, D, 20, 1);
    let (first, more) = train.split_at(10_000 * D);
    let index = DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        params(),
        OpenOptions::with_durability(Durability::Never),
    )
    .unwrap();
    index.add_batch(&ids(10_000, 0), first).unwrap();
    index.remove(17).unwrap();
    let before = results(&index, &test);
    index.close().unwrap();

    let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
    let r = index.recovery_report().clone();
    assert_eq!(
        (r.checkpoint_nodes, r.replayed, r.torn_tail.clone()),
        (10_000, 0, None)
    );
    assert_eq!(index.len(), 9_999);
    assert!(!index.contains(17));
    assert_eq!(results(&index, &test), before);
    index.hnsw().check_invariants().unwrap();
    // Vectors stay on disk: the RAM accounting holds none of them; the
    // links are navigated in place in the mapped graph file (counted as
    // graph memory all the same: layer 0 is 10,000 × 25 words).
    let mem = index.memory_usage();
    assert_eq!(mem.vectors, 0);
    assert!(mem.graph >= 10_000 * 25 * 4, "{mem:?}");
    assert!(mem.disk >= 10_000 * D * 4, "{mem:?}");
    assert!(index.mapped_link_bytes() >= 10_000 * 25 * 4);

    // More inserts, then a checkpoint, then a crash-like drop without one.
    for (i, v) in more.chunks_exact(D).enumerate() {
        index.add(10_000 + i as u64, v).unwrap();
    }
    // Growing copied the links into the heap.
    assert_eq!(index.mapped_link_bytes(), 0);
    assert!(index.memory_usage().graph >= 12_000 * 25 * 4);
    let stats = index.checkpoint().unwrap();
    assert_eq!(stats.nodes, 12_000);
    let after = results(&index, &test);
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
    assert_eq!(index.recovery_report().replayed, 0);
    assert_eq!(results(&index, &test), after);
    assert_eq!(index.len(), 11_999);

    // Closed, the vector file holds exactly its rows.
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    let u: DiskUsage = index.disk_usage();
    assert_eq!(u.vector_file, 64 + 12_000 * D as u64 * 4);
    assert!(u.vector_overhead() < 1.001, "{u:?}");
    // What the page cache holds of the mapped files (RAM the index's own
    // accounting leaves out): at most each file, and the rows the searches
    // just read are among it.
    assert_eq!(results(&index, &test), after);
    let cached = index.page_cache().unwrap();
    assert!(
        cached.vector_file > 0 && cached.vector_file <= u.vector_file,
        "{cached:?} of {u:?}"
    );
    assert!(cached.graph_file <= u.graph_file, "{cached:?} of {u:?}");
}

#[test]
fn log_replay_restores_writes_made_after_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = clustered(3_000, 50, D, 10, 2);
    let opts = OpenOptions {
        checkpoint_on_close: false,
        ..OpenOptions::default()
    };
    let index = DiskIndex::create(dir.path(), D, Metric::Cosine, params(), opts).unwrap();
    index
        .add_batch(&ids(2_000, 0), &train[..2_000 * D])
        .unwrap();
    index.checkpoint().unwrap();
    for (i, v) in train[2_000 * D..].chunks_exact(D).enumerate() {
        index.add(2_000 + i as u64, v).unwrap();
    }
    index.remove(5).unwrap();
    index.update(6, &train[..D]).unwrap();
    let before = results(&index, &test);
    let len = index.len();
    drop(index); // no checkpoint: the log carries the last 1,002 writes

    let index = DiskIndex::open(dir.path(), opts).unwrap();
    let r = index.recovery_report();
    assert_eq!((r.checkpoint_nodes, r.replayed), (2_000, 1_002));
    assert_eq!(index.len(), len);
    index.hnsw().check_invariants().unwrap();
    // Replay re-links the logged nodes, so the graph may differ slightly;
    // every vector must still find itself.
    for (i, v) in train.chunks_exact(D).enumerate().skip(2_000) {
        let top = index.search(v, 1, &SearchParams::with_ef(64)).unwrap();
        assert_eq!(top[0].id, i as u64);
    }
    let after = results(&index, &test);
    let overlap: usize = before
        .iter()
        .zip(&after)
        .map(|(a, b)| a.iter().filter(|x| b.iter().any(|y| y.id == x.id)).count())
        .sum();
    assert!(
        overlap as f64 >= 0.95 * (before.len() * 10) as f64,
        "{overlap}"
    );
}

#[test]
fn a_directory_opens_once_and_read_only_refuses_writes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (train, _) = clustered(500, 1, 8, 4, 3);
    let x = DiskIndex::create(
        a.path(),
        8,
        Metric::L2,
        params(),
        OpenOptions::with_durability(Durability::EveryOp),
    )
    .unwrap();
    let y = DiskIndex::create(
        b.path(),
        8,
        Metric::InnerProduct,
        params(),
        OpenOptions::with_durability(Durability::default()),
    )
    .unwrap();
    x.add_batch(&ids(500, 0), &train).unwrap();
    y.add_batch(&ids(250, 1_000), &train[..250 * 8]).unwrap();
    assert!(matches!(
        DiskIndex::open(a.path(), OpenOptions::default()),
        Err(Error::Locked(_))
    ));
    assert!(matches!(
        DiskIndex::open(a.path(), OpenOptions::read_only()),
        Err(Error::Locked(_))
    ));
    assert!(matches!(
        DiskIndex::create(
            a.path(),
            8,
            Metric::L2,
            params(),
            OpenOptions::with_durability(Durability::Never)
        ),
        Err(Error::Locked(_))
    ));
    assert_eq!((x.len(), y.len()), (500, 250));
    x.close().unwrap();
    y.close().unwrap();
    assert!(DiskIndex::create(
        a.path(),
        8,
        Metric::L2,
        params(),
        OpenOptions::with_durability(Durability::Never)
    )
    .is_err());

    // Read-only, on a read-only directory (tests may run as root, who
    // bypasses the mode bits, so refusing writes is checked through the API).
    let mut perms = std::fs::metadata(a.path()).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(a.path(), perms.clone()).unwrap();
    let r1 = DiskIndex::open(a.path(), OpenOptions::read_only()).unwrap();
    let r2 = DiskIndex::open(a.path(), OpenOptions::read_only()).unwrap();
    assert_eq!(r1.len(), 500);
    assert_eq!(
        r2.search(&train[..8], 1, &SearchParams::default()).unwrap()[0].id,
        0
    );
    assert!(matches!(r1.add(9_999, &train[..8]), Err(Error::ReadOnly)));
    assert!(matches!(r1.remove(3), Err(Error::ReadOnly)));
    assert!(matches!(r1.checkpoint(), Err(Error::ReadOnly)));
    drop((r1, r2));
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(a.path(), perms).unwrap();
}

#[test]
fn bad_writes_are_refused_before_they_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let opts = OpenOptions {
        checkpoint_on_close: false,
        ..OpenOptions::default()
    };
    let index = DiskIndex::create(dir.path(), 4, Metric::L2, params(), opts).unwrap();
    index.add(1, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert!(matches!(
        index.add(1, &[0.0; 4]),
        Err(Error::DuplicateId(1))
    ));
    assert!(matches!(
        index.add(2, &[0.0; 3]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        index.add(2, &[f32::NAN; 4]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(index.remove(9), Err(Error::UnknownId(9))));
    assert!(matches!(
        index.add_batch(&[3, 1], &[0.0; 8]),
        Err(Error::DuplicateId(1))
    ));
    drop(index);
    let index = DiskIndex::open(dir.path(), opts).unwrap();
    assert_eq!(index.recovery_report().replayed, 1);
    assert_eq!(index.len(), 1);
}

#[test]
fn the_in_ram_engine_still_works_unchanged() {
    let (train, test) = clustered(2_000, 20, D, 8, 4);
    let ram = HnswIndex::new(D, Metric::L2, params()).unwrap();
    ram.add_batch(&ids(2_000, 0), &train).unwrap();
    assert!(ram.memory_usage().vectors >= 2_000 * D * 4);
    ram.check_invariants().unwrap();
    assert_eq!(results(&ram, &test).len(), 20);
}

#[test]
fn concurrent_writers_with_checkpoints_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = clustered(8_000, 50, D, 20, 5);
    let opts = OpenOptions {
        checkpoint_every: Some(500),
        ..OpenOptions::with_durability(Durability::Group(16))
    };
    let index = DiskIndex::create(dir.path(), D, Metric::L2, params(), opts).unwrap();
    let threads = 4;
    std::thread::scope(|s| {
        for t in 0..threads {
            let (index, train) = (&index, &train);
            s.spawn(move || {
                for (i, v) in train.chunks_exact(D).enumerate() {
                    if i % threads == t {
                        if i % 7 == 0 {
                            index.add_batch(&[i as u64], v).unwrap();
                        } else {
                            index.add(i as u64, v).unwrap();
                        }
                    }
                }
            });
        }
        // A reader alongside the writers. Each writer has at most one node
        // stored but not yet linked (unreachable until it is), so once
        // `10 + threads` are stored, every search finds 10.
        s.spawn(|| {
            for q in test.chunks_exact(D).cycle().take(200) {
                if index.len() >= 10 + threads {
                    assert_eq!(
                        index
                            .search(q, 10, &SearchParams::with_ef(32))
                            .unwrap()
                            .len(),
                        10
                    );
                }
            }
        });
    });
    assert_eq!(index.len(), 8_000);
    assert!(index.checkpoint_error().is_none());
    index.hnsw().check_invariants().unwrap();
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    assert_eq!(index.len(), 8_000);
    index.hnsw().check_invariants().unwrap();
    for (i, v) in train.chunks_exact(D).enumerate().step_by(97) {
        assert_eq!(index.hnsw().vector_of(i as u64).as_deref(), Some(v));
    }
    let truth = common::ground_truth(&train, &test, D, Metric::L2, 10);
    let got = results(&index, &test);
    let r = common::recall(&got, &truth, &train, &test, Metric::L2, 10);
    assert!(r >= 0.95, "recall@10 {r} after concurrent writes");
}

#[test]
fn checkpoints_of_a_mapped_graph_round_trip() {
    // Open (links mapped in place), remove without growing (links stay
    // mapped), checkpoint twice (each renames a new file over the mapped
    // one), reopen: same answers, consistent graph.
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = clustered(3_000, 50, D, 10, 9);
    let index = DiskIndex::create(
        dir.path(),
        D,
        Metric::L2,
        params(),
        OpenOptions::with_durability(Durability::Never),
    )
    .unwrap();
    index.add_batch(&ids(3_000, 0), &train).unwrap();
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
    assert!(index.mapped_link_bytes() > 0);
    index.remove(11).unwrap();
    index.checkpoint().unwrap();
    index.remove(12).unwrap();
    index.checkpoint().unwrap();
    assert!(
        index.mapped_link_bytes() > 0,
        "removes do not copy the links"
    );
    let before = results(&index, &test);
    index.close().unwrap();
    let index = DiskIndex::open(dir.path(), OpenOptions::read_only()).unwrap();
    assert_eq!(index.len(), 2_998);
    assert!(!index.contains(11) && !index.contains(12));
    index.hnsw().check_invariants().unwrap();
    assert_eq!(results(&index, &test), before);
}

#[test]
fn opening_a_directory_without_an_index_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for p in [empty.clone(), dir.path().join("missing")] {
        let err = DiskIndex::open(&p, OpenOptions::default()).unwrap_err();
        assert!(err.to_string().contains("MANIFEST"), "{err}");
        assert!(!p.join("LOCK").exists(), "{}: stray LOCK file", p.display());
    }
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    assert!(!dir.path().join("missing").exists());
}

/// A log cut at a record boundary, or with its last record damaged, after
/// every record was synced: the open says acknowledged writes are missing
/// (and a strict open refuses), where a torn tail past the sync point is
/// dropped quietly.
#[test]
fn lost_synced_records_are_told_from_a_torn_tail() {
    let d = 4;
    let opts = OpenOptions {
        checkpoint_on_close: false,
        ..OpenOptions::with_durability(Durability::EveryOp)
    };
    let write = |dir: &std::path::Path| {
        let index = DiskIndex::create(dir, d, Metric::L2, params(), opts).unwrap();
        for i in 0..20u64 {
            index.add(i, &[i as f32, 1.0, 2.0, 3.0]).unwrap();
        }
        drop(index);
        dir.join("wal.log")
    };
    let record = (12 + 1 + 8 + 4 * d) as u64;
    let strict = OpenOptions {
        strict: true,
        ..opts
    };

    // Cut at a record boundary: the last acknowledged add is gone.
    let dir = tempfile::tempdir().unwrap();
    let wal = write(dir.path());
    let len = std::fs::metadata(&wal).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    f.set_len(len - record).unwrap();
    drop(f);
    assert!(matches!(
        DiskIndex::open(dir.path(), strict),
        Err(Error::Corrupt { .. })
    ));
    let index = DiskIndex::open(dir.path(), opts).unwrap();
    let lost = index.recovery_report().lost_synced_tail.expect("reported");
    assert_eq!(lost.synced_bytes - lost.valid_bytes, record);
    assert!(!index.contains(19));
    drop(index);
    // Once opened (and the loss reported), the log is whole again.
    let index = DiskIndex::open(dir.path(), strict).unwrap();
    assert!(index.recovery_report().lost_synced_tail.is_none());
    drop(index);

    // A byte flipped in the last synced record.
    let dir = tempfile::tempdir().unwrap();
    let wal = write(dir.path());
    let mut b = std::fs::read(&wal).unwrap();
    let at = b.len() - 3;
    b[at] ^= 0x40;
    std::fs::write(&wal, &b).unwrap();
    let err = DiskIndex::open(dir.path(), strict).unwrap_err();
    assert!(
        err.to_string().contains("acknowledged writes are missing"),
        "{err}"
    );

    // Garbage past the synced end (a crash mid-append): a torn tail only.
    let dir = tempfile::tempdir().unwrap();
    let wal = write(dir.path());
    let mut b = std::fs::read(&wal).unwrap();
    b.extend_from_slice(&[7u8; 30]);
    std::fs::write(&wal, &b).unwrap();
    let index = DiskIndex::open(dir.path(), strict).unwrap();
    let report = index.recovery_report();
    assert!(report.torn_tail.is_some() && report.lost_synced_tail.is_none());
    assert!(index.contains(19));
}

/// Under `EveryOp` the log is written into zeros laid ahead of it; an
/// index that dies open leaves them there. Its files reopen whole (the
/// zeros are the log's clean end, not a torn tail), and a synced record
/// lost to zeros is still told from a clean end.
#[test]
fn a_log_with_zeros_ahead_reopens_whole() {
    let d = 4;
    let opts = OpenOptions {
        checkpoint_on_close: false,
        strict: true,
        ..OpenOptions::with_durability(Durability::EveryOp)
    };
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let index = DiskIndex::create(&live, d, Metric::L2, params(), opts).unwrap();
    for i in 0..20u64 {
        index.add(i, &[i as f32, 1.0, 2.0, 3.0]).unwrap();
    }
    // The files as a crash leaves them (the index still open).
    let image = |name: &str| {
        let to = dir.path().join(name);
        std::fs::create_dir(&to).unwrap();
        for f in std::fs::read_dir(&live).unwrap() {
            let f = f.unwrap();
            if f.file_name() != "LOCK" {
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        }
        to
    };
    let (whole, lost) = (image("whole"), image("lost"));
    drop(index);
    let record = 12 + 1 + 8 + 4 * d;
    let end = 64 + 20 * record;
    let b = std::fs::read(whole.join("wal.log")).unwrap();
    assert!(b.len() > end, "zeros ahead of the records");
    assert!(b[end..].iter().all(|&x| x == 0) && b[end - 1] != 0);

    let index = DiskIndex::open(&whole, opts).unwrap();
    let report = index.recovery_report();
    assert!(report.torn_tail.is_none(), "{report:?}");
    assert!(report.lost_synced_tail.is_none(), "{report:?}");
    assert_eq!(index.len(), 20);
    index.add(20, &[0.5; 4]).unwrap();
    drop(index);
    assert_eq!(DiskIndex::open(&whole, opts).unwrap().len(), 21);

    // The last (synced) record zeroed: acknowledged writes are missing.
    let wal = lost.join("wal.log");
    let mut b = std::fs::read(&wal).unwrap();
    b[end - record..end].fill(0);
    std::fs::write(&wal, &b).unwrap();
    let err = DiskIndex::open(&lost, opts).unwrap_err();
    assert!(
        err.to_string().contains("acknowledged writes are missing"),
        "{err}"
    );
}

/// The sync mark (`wal.log.synced`) is a hint: damaged, truncated or
/// missing, it makes the open check nothing, and never fails it.
#[test]
fn a_damaged_or_missing_sync_mark_only_weakens_the_check() {
    let opts = OpenOptions {
        checkpoint_on_close: false,
        strict: true,
        ..OpenOptions::with_durability(Durability::EveryOp)
    };
    for damage in ["flip", "truncate", "remove"] {
        let dir = tempfile::tempdir().unwrap();
        let index = DiskIndex::create(dir.path(), 4, Metric::L2, params(), opts).unwrap();
        for i in 0..10u64 {
            index.add(i, &[i as f32, 1.0, 2.0, 3.0]).unwrap();
        }
        drop(index);
        let mark = dir.path().join("wal.log.synced");
        let mut b = std::fs::read(&mark).unwrap();
        match damage {
            "flip" => {
                b[9] ^= 0xFF;
                std::fs::write(&mark, &b).unwrap();
            }
            "truncate" => std::fs::write(&mark, &b[..10]).unwrap(),
            _ => std::fs::remove_file(&mark).unwrap(),
        }
        let index = DiskIndex::open(dir.path(), opts).unwrap();
        assert!(
            index.recovery_report().lost_synced_tail.is_none(),
            "{damage}"
        );
        assert_eq!(index.len(), 10, "{damage}");
        // The open rewrote the mark: the check is back for the next open.
        index.add(10, &[0.5; 4]).unwrap();
        drop(index);
        assert_eq!(std::fs::read(&mark).unwrap().len(), 24, "{damage}");
    }
}
