//! Damaged index directories: every truncation or flipped byte in any file
//! either fails to open with a typed error naming that file, or opens to a
//! consistent earlier state whose every vector is intact — never a panic,
//! never wrong answers. Plus property tests of the log and file parsers on
//! arbitrary bytes.

mod common;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use common::Rng;
use omendb::test_support::Manifest;
use omendb::test_support::{read_sections, FileHeader, FileKind};
use omendb::test_support::{
    wal::{self, LoggedOp},
    WriteOp as LogOp,
};
use omendb::{
    DiskIndex, Error, HnswParams, HnswPqParams, Index, Metric, OpenOptions, PqParams, SearchParams,
};
use proptest::prelude::*;

const D: usize = 8;
const BASE: u64 = 300;

fn vector_for(id: u64) -> Vec<f32> {
    let mut rng = Rng::new(id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xbad);
    (0..D).map(|_| rng.gauss()).collect()
}

#[derive(Clone, Copy)]
enum Op {
    Add(u64),
    Remove(u64),
}

/// The writes logged after the checkpoint.
fn logged_ops() -> Vec<Op> {
    let mut ops = Vec::new();
    for id in BASE..BASE + 40 {
        ops.push(Op::Add(id));
        if id % 8 == 3 {
            ops.push(Op::Remove(id - BASE));
        }
    }
    ops
}

/// Live ids after the checkpoint and each prefix of the log.
fn prefix_states() -> Vec<BTreeSet<u64>> {
    let mut state: BTreeSet<u64> = (0..BASE).collect();
    let mut out = vec![state.clone()];
    for op in logged_ops() {
        match op {
            Add(id) => state.insert(id),
            Remove(id) => state.remove(&id),
        };
        out.push(state.clone());
    }
    out
}

use Op::{Add, Remove};

/// One way of damaging a file.
type Damage = Box<dyn Fn(&Path)>;

fn opts() -> OpenOptions {
    OpenOptions {
        checkpoint_on_close: false,
        ..OpenOptions::default()
    }
}

/// A directory with a checkpoint of BASE vectors and a log of more writes:
/// a plain HNSW, or (`pq`) one navigated by 4-byte PQ codes, whose
/// checkpoint also holds codebooks and codes.
/// `renumbered`: the checkpoint after the batch renumbers the nodes, so
/// the rows live in a `vectors.<g>.omv` the graph file names.
fn pristine(dir: &Path, pq: bool, renumbered: bool) {
    let params = HnswParams::new(8, 40);
    let index = if pq {
        let pq_params = HnswPqParams {
            hnsw: params,
            pq: PqParams::with_m(4),
        };
        DiskIndex::create(dir, D, Metric::L2, pq_params, opts()).unwrap()
    } else {
        DiskIndex::create(dir, D, Metric::L2, params, opts()).unwrap()
    };
    let ids: Vec<u64> = (0..BASE).collect();
    let vs: Vec<f32> = ids.iter().flat_map(|&i| vector_for(i)).collect();
    index.add_batch(&ids, &vs).unwrap();
    if renumbered {
        assert!(index.reorder().unwrap());
    } else {
        index.checkpoint().unwrap();
    }
    for op in logged_ops() {
        match op {
            Add(id) => index.add(id, &vector_for(id)).unwrap(),
            Remove(id) => index.remove(id).unwrap(),
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Opens the damaged copy and checks the outcome; returns "error" or "ok".
fn check_case(dir: &Path, damaged: &Path, what: &str, states: &[BTreeSet<u64>]) -> &'static str {
    let opened = catch_unwind(AssertUnwindSafe(|| DiskIndex::open(dir, opts())))
        .unwrap_or_else(|_| panic!("{what}: open panicked"));
    let index = match opened {
        Err(Error::Corrupt { file, .. }) | Err(Error::Incompatible { file, .. }) => {
            assert_eq!(file, damaged, "{what}: the error names another file");
            return "error";
        }
        Err(e) => panic!("{what}: untyped error {e}"),
        Ok(index) => index,
    };
    index
        .hnsw()
        .check_invariants()
        .unwrap_or_else(|e| panic!("{what}: opened an inconsistent graph: {e}"));
    let live: BTreeSet<u64> = (0..BASE + 40).filter(|&id| index.contains(id)).collect();
    assert!(
        states.contains(&live),
        "{what}: opened a state no prefix of the writes produces"
    );
    assert_eq!(index.len(), live.len(), "{what}");
    // A beam wider than the graph visits every node reachable on layer 0
    // (and the engine keeps every node reachable), so a miss here is damage,
    // never the approximation.
    let beam = (BASE + 40) as usize + 1;
    for &id in &live {
        assert_eq!(
            index.hnsw().vector_of(id),
            Some(vector_for(id)),
            "{what}: id {id}"
        );
        let hits = index
            .search(&vector_for(id), 5, &SearchParams::with_rerank(beam, beam))
            .unwrap();
        assert!(
            hits.iter().any(|h| h.id == id && h.distance < 1e-5),
            "{what}: id {id} no longer finds its own vector: {hits:?}"
        );
    }
    "ok"
}

#[test]
fn truncations_and_flipped_bytes_never_give_wrong_answers() {
    damage_every_file(false, false);
}

#[test]
fn damaged_pq_indexes_never_give_wrong_answers() {
    damage_every_file(true, false);
}

/// The graph file's `VECTOR_FILE` section and the renumbered vector file
/// it names, damaged like every other byte.
#[test]
fn damaged_renumbered_indexes_never_give_wrong_answers() {
    damage_every_file(false, true);
}

fn damage_every_file(pq: bool, renumbered: bool) {
    let src = tempfile::tempdir().unwrap();
    pristine(src.path(), pq, renumbered);
    let states = prefix_states();
    let mut rng = Rng::new(7);
    let vectors = if renumbered {
        "vectors.1.omv"
    } else {
        "vectors.omv"
    };
    let files = ["MANIFEST", "graph.omg", vectors, "wal.log"];
    let mut tally = std::collections::BTreeMap::new();
    for name in files {
        let len = std::fs::metadata(src.path().join(name)).unwrap().len();
        // Vector rows end well before the file's sparse growth room.
        let interesting = if name == vectors {
            64 + (BASE + 40) * D as u64 * 4
        } else {
            len
        };
        let mut cases: Vec<(String, Damage)> = Vec::new();
        let mut cuts = vec![0, 1, 7, 8, 63, 64, 65, len - 1];
        cuts.extend((0..12).map(|_| rng.next_u64() % interesting));
        for cut in cuts {
            cases.push((
                format!("{name} cut to {cut}"),
                Box::new(move |p: &Path| {
                    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                    f.set_len(cut).unwrap();
                }),
            ));
        }
        for i in 0..30 {
            let at = if i < 10 {
                rng.next_u64() % 64
            } else {
                rng.next_u64() % interesting
            };
            let mask = (rng.next_u64() % 255 + 1) as u8;
            cases.push((
                format!("{name} byte {at} ^ {mask:#04x}"),
                Box::new(move |p: &Path| {
                    let mut b = std::fs::read(p).unwrap();
                    b[at as usize] ^= mask;
                    std::fs::write(p, b).unwrap();
                }),
            ));
        }
        for (what, damage) in cases {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(src.path(), dir.path());
            let damaged: PathBuf = dir.path().join(name);
            damage(&damaged);
            let outcome = check_case(dir.path(), &damaged, &what, &states);
            *tally.entry((name, outcome)).or_insert(0) += 1;
        }
    }
    // Every file's damage is detected at least sometimes, and a cut log
    // recovers an earlier state at least sometimes.
    for name in files {
        assert!(tally.contains_key(&(name, "error")), "{tally:?}");
    }
    assert!(tally.contains_key(&("wal.log", "ok")), "{tally:?}");
}

#[test]
fn the_undamaged_copy_opens_to_the_final_state() {
    for (pq, renumbered) in [(false, false), (true, false), (false, true)] {
        let src = tempfile::tempdir().unwrap();
        pristine(src.path(), pq, renumbered);
        let states = prefix_states();
        let p = src.path().join("wal.log");
        assert_eq!(check_case(src.path(), &p, "pristine", &states), "ok");
        let index = DiskIndex::open(src.path(), opts()).unwrap();
        assert_eq!(index.recovery_report().replayed, logged_ops().len());
        assert!(index.contains(BASE + 39));
        assert_eq!(index.pq().is_some(), pq);
    }
}

fn op_strategy() -> impl Strategy<Value = LoggedOp> {
    let v = proptest::collection::vec(-1e3f32..1e3, 3);
    prop_oneof![
        (any::<u64>(), v.clone()).prop_map(|(id, v)| LoggedOp::Add(id, v)),
        any::<u64>().prop_map(LoggedOp::Remove),
        (any::<u64>(), v.clone()).prop_map(|(id, v)| LoggedOp::Update(id, v)),
        proptest::collection::vec((any::<u64>(), v), 1..4).prop_map(|rows| {
            let ids = rows.iter().map(|r| r.0).collect();
            let vs = rows.into_iter().flat_map(|r| r.1).collect();
            LoggedOp::Batch(ids, vs)
        }),
    ]
}

fn encode_log(ops: &[LoggedOp]) -> Vec<u8> {
    let mut b = FileHeader::new(FileKind::Wal, 3, Metric::L2)
        .encode()
        .to_vec();
    for op in ops {
        let op = match op {
            LoggedOp::Add(id, v) => LogOp::Add { id: *id, vector: v },
            LoggedOp::Remove(id) => LogOp::Remove { id: *id },
            LoggedOp::Update(id, v) => LogOp::Update { id: *id, vector: v },
            LoggedOp::Batch(ids, v) => LogOp::Batch { ids, vectors: v },
        };
        wal::encode(&op, &mut b);
    }
    b
}

/// Scans and decodes a log; `Ok` holds the ops read back.
fn read_log(bytes: &[u8]) -> omendb::Result<Vec<LoggedOp>> {
    let p = Path::new("wal.log");
    let scan = wal::scan(bytes, p)?;
    scan.records
        .iter()
        .map(|&(o, r)| wal::decode(r, 3, p, o))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let p = Path::new("x");
        let _ = read_log(&bytes);
        let _ = FileHeader::decode(&bytes, FileKind::Graph, p).and_then(|_| read_sections(&bytes, p));
        let _ = Manifest::decode(&bytes, p);
    }

    #[test]
    fn parsers_never_panic_behind_a_valid_header(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let p = Path::new("x");
        let mut wal_bytes = FileHeader::new(FileKind::Wal, 3, Metric::L2).encode().to_vec();
        wal_bytes.extend_from_slice(&tail);
        let _ = read_log(&wal_bytes);
        let mut g = FileHeader::new(FileKind::Graph, 3, Metric::L2).encode().to_vec();
        g.extend_from_slice(&tail);
        let _ = read_sections(&g, p);
        let mut m = FileHeader::new(FileKind::Manifest, 3, Metric::L2).encode().to_vec();
        m.extend_from_slice(&tail);
        let _ = Manifest::decode(&m, p);
    }

    #[test]
    fn a_cut_log_replays_a_prefix(ops in proptest::collection::vec(op_strategy(), 1..12), cut in any::<prop::sample::Index>()) {
        let full = encode_log(&ops);
        prop_assert_eq!(read_log(&full).unwrap(), ops.clone());
        let cut = 64 + cut.index(full.len() - 64 + 1);
        let got = read_log(&full[..cut]).unwrap();
        prop_assert!(got.len() <= ops.len());
        prop_assert_eq!(&got[..], &ops[..got.len()]);
    }

    #[test]
    fn a_flipped_log_byte_is_an_error_or_a_prefix(ops in proptest::collection::vec(op_strategy(), 1..12), at in any::<prop::sample::Index>(), mask in 1u8..) {
        let mut bytes = encode_log(&ops);
        let at = at.index(bytes.len());
        bytes[at] ^= mask;
        match read_log(&bytes) {
            Ok(got) => {
                prop_assert!(got.len() < ops.len(), "a damaged log read back whole");
                prop_assert_eq!(&got[..], &ops[..got.len()]);
            }
            Err(Error::Corrupt { .. }) | Err(Error::Incompatible { .. }) => {}
            Err(e) => prop_assert!(false, "untyped error {}", e),
        }
    }
}
