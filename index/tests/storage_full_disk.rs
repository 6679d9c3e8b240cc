//! A genuinely full file system, no fault injected into the library: an
//! index on a small tmpfs takes writes until the disk is full, then keeps
//! being written to and checkpointed. Every write acknowledged must be
//! there after a reopen (on a copy with room), and every refused one
//! absent. Needs root to mount a tmpfs; where it cannot, it says so loudly
//! and checks nothing.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use omendb::{DiskIndex, Durability, HnswParams, Index, Metric, OpenOptions, SearchParams};

const D: usize = 32;

fn vector(id: u64) -> Vec<f32> {
    (0..D as u64)
        .map(|i| ((id.wrapping_mul(2_654_435_761) ^ i.wrapping_mul(40_503)) % 1000) as f32 / 1000.0)
        .collect()
}

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(at.to_path_buf()))
}

#[test]
fn a_full_tmpfs_loses_no_acknowledged_write() {
    // The disk fills in a checkpoint (the graph file), or in the log.
    for auto_checkpoint in [Some(500), None] {
        fill_and_check(auto_checkpoint);
    }
}

fn fill_and_check(checkpoint_every: Option<u64>) {
    let root = tempfile::tempdir().unwrap();
    let Some(_mount) = mount_tmpfs(root.path(), "3m") else {
        eprintln!(
            "SKIPPED a_full_tmpfs_loses_no_acknowledged_write: cannot mount a tmpfs here \
             (needs root); the injected-fault sweep (storage::fault_sweep) still runs"
        );
        return;
    };
    let dir = root.path().join("index");
    let opts = OpenOptions {
        durability: Durability::EveryOp,
        checkpoint_every,
        checkpoint_log_bytes: u64::MAX,
        checkpoint_on_close: false,
        ..OpenOptions::default()
    };
    let index = DiskIndex::create(&dir, D, Metric::L2, HnswParams::new(8, 32), opts).unwrap();
    let (mut acked, mut refused) = (BTreeSet::new(), BTreeSet::new());
    let mut first_failure = None;
    for id in 0..40_000u64 {
        match index.add(id, &vector(id)) {
            Ok(()) => {
                acked.insert(id);
            }
            Err(e) => {
                first_failure.get_or_insert_with(|| e.to_string());
                refused.insert(id);
                // Keep writing past the first failure for a while, and try
                // checkpoints, as an application that ignores errors would.
                if refused.len() % 50 == 0 {
                    let _ = index.checkpoint();
                }
                if refused.len() >= 300 {
                    break;
                }
            }
        }
    }
    let why = first_failure.expect("3 MiB never filled up");
    println!(
        "full tmpfs, checkpoint every {checkpoint_every:?}: {} writes acknowledged, {} refused; first refusal: {why}",
        acked.len(),
        refused.len()
    );
    assert!(acked.len() > 100, "too few writes fitted: {}", acked.len());
    drop(index);

    // Reopen a copy on a file system with room (recovery may need to write).
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
    }
    let index = DiskIndex::open(copy.path(), OpenOptions::default()).unwrap();
    for &id in &acked {
        assert_eq!(
            index.hnsw().vector_of(id),
            Some(vector(id)),
            "acknowledged id {id} lost"
        );
    }
    for &id in &refused {
        assert!(!index.contains(id), "refused id {id} is present");
    }
    assert_eq!(index.len(), acked.len());
}

/// The mapped vector file grows ahead of its rows; on a sparse file a full
/// disk shows only when a row is written through the map, as a `SIGBUS`
/// that kills the process. Growth allocates its blocks, so the disk filling
/// is an error of the write that needed the room, and the index goes on.
#[test]
fn a_vector_file_that_cannot_grow_on_a_full_disk_is_an_error_not_a_crash() {
    let root = tempfile::tempdir().unwrap();
    let Some(_mount) = mount_tmpfs(root.path(), "1536k") else {
        eprintln!(
            "SKIPPED a_vector_file_that_cannot_grow_on_a_full_disk_is_an_error_not_a_crash: \
             cannot mount a tmpfs here (needs root)"
        );
        return;
    };
    // 512-byte rows: the file starts with 1 MiB of rows (2,048) and doubles
    // to 2 MiB, past the file system's 1.5 MiB, long before 4,000 rows.
    let d = 128;
    let row = |id: u64| -> Vec<f32> { (0..d).map(|i| ((id * 31 + i) % 97) as f32).collect() };
    let index = omendb::test_support::hnsw_on_mapped_vectors(
        &root.path().join("vectors.omv"),
        d as usize,
        Metric::L2,
        HnswParams::new(8, 32),
    )
    .unwrap();
    let mut added = 0u64;
    let err = loop {
        match index.add(added, &row(added)) {
            Ok(()) => added += 1,
            Err(e) => break e,
        }
        assert!(added < 4_000, "1.5 MiB never filled up");
    };
    assert!(added >= 100, "only {added} rows fitted");
    assert!(
        matches!(&err, omendb::Error::Io { source, .. } if source.raw_os_error() == Some(28)),
        "{err}"
    );
    assert_eq!(index.len(), added as usize);
    let hit = index
        .search(&row(added / 2), 1, &SearchParams::with_ef(64))
        .unwrap();
    assert_eq!(hit[0].distance, 0.0);
}
