//! Many writers on one `DiskIndex` at once, through the group commit: each
//! write is checked against the writes logged before it in its group, so
//! racing adds of one id let exactly one in, and what every writer was told
//! is what a reopen finds, under each durability.

mod common;

use common::clustered;
use omendb::{DiskIndex, Durability, Error, HnswParams, Index, Metric, OpenOptions};

const D: usize = 16;

fn create(dir: &std::path::Path, durability: Durability) -> DiskIndex {
    DiskIndex::create(
        dir,
        D,
        Metric::L2,
        HnswParams::new(8, 40),
        // Closing leaves the log as it is, so a reopen replays every write.
        OpenOptions {
            checkpoint_on_close: false,
            ..OpenOptions::with_durability(durability)
        },
    )
    .unwrap()
}

#[test]
fn racing_adds_of_one_id_let_exactly_one_in() {
    for durability in [Durability::EveryOp, Durability::Group(8)] {
        let dir = tempfile::tempdir().unwrap();
        let index = create(dir.path(), durability);
        let (train, _) = clustered(300, 1, D, 10, 21);
        let won: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (index, train) = (&index, &train);
                    s.spawn(move || {
                        let mut won = 0;
                        for (i, v) in train.chunks_exact(D).enumerate() {
                            match index.add(i as u64, v) {
                                Ok(()) => won += 1,
                                Err(Error::DuplicateId(id)) => assert_eq!(id, i as u64),
                                Err(e) => panic!("add {i}: {e}"),
                            }
                        }
                        won
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(won.iter().sum::<usize>(), 300, "{durability:?}: {won:?}");
        assert_eq!(index.len(), 300);
        drop(index);
        let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
        assert_eq!(index.len(), 300, "{durability:?}");
        assert!(
            index.recovery_report().torn_tail.is_none(),
            "{durability:?}"
        );
        index.hnsw().check_invariants().unwrap();
    }
}

#[test]
fn mixed_writes_from_many_threads_reopen_as_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (train, _) = clustered(1_600, 1, D, 20, 22);
    let index = create(dir.path(), Durability::EveryOp);
    let threads = 4;
    // Thread t owns ids t, t + 4, …: adds each, replaces every third with
    // the vector of the row after it, removes every fifth.
    std::thread::scope(|s| {
        for t in 0..threads {
            let (index, train) = (&index, &train);
            s.spawn(move || {
                for i in (t..1_500).step_by(threads) {
                    let row = |r: usize| &train[r * D..(r + 1) * D];
                    index.add(i as u64, row(i)).unwrap();
                    if i % 3 == 0 {
                        index.update(i as u64, row(i + 1)).unwrap();
                    }
                    if i % 5 == 0 {
                        index.remove(i as u64).unwrap();
                        assert!(matches!(index.remove(i as u64), Err(Error::UnknownId(_))));
                    }
                }
            });
        }
    });
    let expect = |index: &DiskIndex| {
        let live = (0..1_500).filter(|i| i % 5 != 0).count();
        assert_eq!(index.len(), live);
        for i in 0..1_500usize {
            let got = index.hnsw().vector_of(i as u64);
            let want = (i % 5 != 0).then(|| {
                let r = if i % 3 == 0 { i + 1 } else { i };
                train[r * D..(r + 1) * D].to_vec()
            });
            assert_eq!(got, want, "id {i}");
        }
    };
    expect(&index);
    drop(index);
    let index = DiskIndex::open(dir.path(), OpenOptions::default()).unwrap();
    expect(&index);
    index.hnsw().check_invariants().unwrap();
}
