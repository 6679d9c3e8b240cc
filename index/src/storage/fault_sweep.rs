//! A fault swept over every file operation of a workload: for each call N
//! the workload makes (create, writes, syncs, resizes, renames, the
//! checkpoints' files, the renumberings' vector files, the close), the workload runs again with call N
//! failing — once with `ENOSPC`, once with `EIO`, and once with every
//! call from N on failing (a disk that stays full). After each run the
//! process "dies" (the index is dropped without a checkpoint) and the
//! directory is reopened on the real file system. Every run must leave:
//! every acknowledged write present, no refused write present, and an
//! index that opens (or a create that never finished and left no index).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::rng::SplitMix64;
use crate::store::io::failing::{with_gate, FailingFiles};
use crate::{DiskIndex, Durability, Error, HnswParams, Index, Metric, OpenOptions, SearchParams};

const D: usize = 4;

/// The vector of `id` at `version`: seeded, spread in all `D` directions.
fn vector(id: u64, version: u64) -> Vec<f32> {
    let mut rng = SplitMix64::derive(id, version);
    (0..D).map(|_| rng.next_f64() as f32).collect()
}

/// One write of the workload.
#[derive(Debug, Clone, Copy)]
enum Step {
    Batch(u64, u64),
    Add(u64),
    Remove(u64),
    Update(u64, u64),
    Checkpoint,
    Reorder,
}

fn workload() -> Vec<Step> {
    use Step::*;
    let mut steps = vec![Batch(0, 40), Checkpoint, Reorder];
    for id in 40..52 {
        steps.push(Add(id));
    }
    steps.extend([Remove(3), Update(5, 1), Remove(41), Checkpoint]);
    for id in 52..64 {
        steps.push(Add(id));
    }
    steps.extend([Update(50, 2), Remove(0), Reorder, Add(64)]);
    steps
}

/// `close`: the workload ends with `close()` (a checkpoint); else the
/// index is dropped as a dying process leaves it (no checkpoint).
fn opts(durability: Durability, close: bool) -> OpenOptions {
    OpenOptions {
        durability,
        // Automatic checkpoints inside the workload, too.
        checkpoint_every: Some(9),
        checkpoint_on_close: close,
        ..OpenOptions::default()
    }
}

/// What a workload's writes left: the acknowledged state (id → vector
/// version) and, per id, what a refused write would have made it (`None`:
/// removed).
#[derive(Default)]
struct Outcome {
    acked: BTreeMap<u64, u64>,
    refused: BTreeMap<u64, Vec<Option<u64>>>,
}

/// Runs the workload in `dir`; `None` when not even the create succeeded.
fn run(dir: &Path, durability: Durability, close: bool) -> Option<Outcome> {
    let index = DiskIndex::create(
        dir,
        D,
        Metric::L2,
        HnswParams::new(4, 16),
        opts(durability, close),
    )
    .ok()?;
    let mut out = Outcome::default();
    let model = &mut out.acked;
    for step in workload() {
        let ok = match step {
            Step::Batch(from, to) => {
                let ids: Vec<u64> = (from..to).collect();
                let rows: Vec<f32> = ids.iter().flat_map(|&id| vector(id, 0)).collect();
                index.add_batch(&ids, &rows).is_ok()
            }
            Step::Add(id) => index.add(id, &vector(id, 0)).is_ok(),
            Step::Remove(id) => index.remove(id).is_ok(),
            Step::Update(id, v) => index.update(id, &vector(id, v)).is_ok(),
            Step::Checkpoint => {
                let _ = index.checkpoint();
                continue;
            }
            Step::Reorder => {
                let _ = index.reorder();
                continue;
            }
        };
        let effect: Vec<(u64, Option<u64>)> = match step {
            Step::Batch(from, to) => (from..to).map(|id| (id, Some(0))).collect(),
            Step::Add(id) => vec![(id, Some(0))],
            Step::Remove(id) => vec![(id, None)],
            Step::Update(id, v) => vec![(id, Some(v))],
            Step::Checkpoint | Step::Reorder => vec![],
        };
        for (id, state) in effect {
            match (ok, state) {
                (true, Some(v)) => drop(model.insert(id, v)),
                (true, None) => drop(model.remove(&id)),
                (false, state) => out.refused.entry(id).or_default().push(state),
            }
        }
    }
    if close {
        let _ = index.close();
    }
    Some(out)
}

/// Reopens `dir` on the real file system and checks it holds exactly the
/// acknowledged state — or, with `indeterminate`, where a refused write
/// may have left its record (see the sweep), that state or the refused
/// write's.
fn check(dir: &Path, out: &Outcome, indeterminate: bool, what: &str) {
    let index = match DiskIndex::open(dir, OpenOptions::default()) {
        Ok(index) => index,
        Err(e) => panic!("{what}: the index does not reopen: {e}"),
    };
    for id in 0..=64u64 {
        let got = index.hnsw().vector_of(id);
        let want = out.acked.get(&id).map(|&v| vector(id, v));
        if got == want {
            continue;
        }
        let refused = out.refused.get(&id).into_iter().flatten();
        let mut allowed = refused.map(|state| state.map(|v| vector(id, v)));
        assert!(
            indeterminate && allowed.any(|a| a == got),
            "{what}: id {id} holds {got:?}, acknowledged {want:?}"
        );
    }
    // A writable open removes every vector file the graph does not name.
    let files = crate::store::directory::IndexDir::new(dir).other_vector_files(u64::MAX);
    assert_eq!(
        files.map(|f| f.len()).ok(),
        Some(1),
        "{what}: stray vector files"
    );
    // Still usable: it searches, and takes a new write.
    let q = vector(99, 0);
    let k = out.acked.len().min(5);
    if k > 0 {
        let hits = index.search(&q, k, &SearchParams::with_ef(64)).unwrap();
        assert_eq!(hits.len(), k, "{what}");
    }
    index
        .add(1_000, &q)
        .unwrap_or_else(|e| panic!("{what}: the reopened index refuses a write: {e}"));
}

fn sweep(durability: Durability) -> (u64, usize) {
    // A dry run counts the gated calls (all succeed).
    let counter = Arc::new(FailingFiles::new(u64::MAX, 0, false));
    let dir = tempfile::tempdir().unwrap();
    let full = with_gate(&counter, || run(dir.path(), durability, true)).unwrap();
    assert!(full.refused.is_empty());
    check(dir.path(), &full, false, "no fault");
    let calls = counter.calls();
    assert!(calls > 50, "the workload made only {calls} file calls");
    let mut runs = 0;
    for at in 0..calls {
        // Each call fails three ways; whether the workload ends in a
        // close (a checkpoint) or a dying process alternates.
        let odd = at % 2 == 1;
        for (errno, sticky, close) in [
            (libc::ENOSPC, false, odd),
            (libc::EIO, false, !odd),
            (libc::ENOSPC, true, odd),
        ] {
            let gate = Arc::new(FailingFiles::new(at, errno, sticky));
            let dir = tempfile::tempdir().unwrap();
            let model = with_gate(&gate, || run(dir.path(), durability, close));
            let what = format!(
                    "{durability:?}, call {at} of {calls} fails with errno {errno}{} ({:?}), close {close}",
                    if sticky { " and so does every later one" } else { "" },
                    gate.failed().first()
                );
            runs += 1;
            match model {
                // A disk that refuses everything also refuses the cut
                // that takes a failed write's record back off the log:
                // that write is then indeterminate, as if the process
                // had died inside the call. One failed call alone
                // never leaves a refused write behind.
                Some(out) => check(dir.path(), &out, sticky, &what),
                // The create failed: no index may be left half made.
                None => match DiskIndex::open(dir.path(), OpenOptions::default()) {
                    Err(Error::Io { .. }) | Err(Error::Corrupt { .. }) => {}
                    Err(e) => panic!("{what}: a failed create left {e}"),
                    Ok(index) => assert_eq!(index.len(), 0, "{what}"),
                },
            }
        }
    }
    (calls, runs)
}

#[test]
fn no_injected_fault_loses_an_acknowledged_write() {
    for durability in [Durability::EveryOp, Durability::Group(4)] {
        let (calls, runs) = sweep(durability);
        println!("{durability:?}: {calls} file calls, {runs} faulty runs, all consistent");
    }
}
