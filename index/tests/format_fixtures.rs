//! Golden directories of the on-disk format, committed under
//! `tests/fixtures/`: every future build must open them with the answers
//! recorded when they were written, or refuse them as `Incompatible` (a
//! format change bumps the version; it never misreads an old directory).
//!
//! Each fixture holds a checkpoint *and* a log with records past it
//! (adds, removes, an update), so the replay of the old format is covered
//! too, plus `queries.f32` (little-endian rows) and `expected.txt` (the ten
//! ids each query returned, one line per query). `write_fixtures` (ignored)
//! wrote them: run it only to add a fixture for a new format version, never
//! to overwrite an old one.

mod common;

use std::path::{Path, PathBuf};

use common::clustered;
use omendb::{
    DiskIndex, Durability, Error, HnswParams, HnswPqIndex, HnswPqParams, HnswSq8Params, Index,
    Metric, OpenOptions, PqParams, SearchParams, SectorIndex, SectorOptions, Sq8Params,
};

const D: usize = 16;
const NQ: usize = 20;

/// The fixtures of format version 1: directory name and search knobs.
/// `-renumbered`: its checkpoint renumbered the nodes, so its rows are in
/// `vectors.1.omv`, named by the graph file's `VECTOR_FILE` section.
const FIXTURES: [(&str, SearchParams); 4] = [
    ("v1-hnsw", SearchParams::with_rerank(64, 0)),
    ("v1-hnsw-pq", SearchParams::with_rerank(64, 40)),
    ("v1-hnsw-sq8", SearchParams::with_rerank(64, 40)),
    ("v1-hnsw-sq8-renumbered", SearchParams::with_rerank(64, 40)),
];

/// The vector file of a fixture.
fn vector_file(name: &str) -> &'static str {
    if name.ends_with("-renumbered") {
        "vectors.1.omv"
    } else {
        "vectors.omv"
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn queries(dir: &Path) -> Vec<f32> {
    std::fs::read(dir.join("queries.f32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn expected(dir: &Path) -> Vec<Vec<u64>> {
    std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect()
}

/// The read-only sector kind's fixture (`sectors.oms`, `sectors.osm`),
/// written from a PQ index with removals and an update, and its knobs.
const SECTOR_FIXTURE: (&str, SearchParams) = ("v1-sector", SearchParams::with_rerank(64, 40));

fn answers(index: &dyn Index, queries: &[f32], p: &SearchParams) -> Vec<Vec<u64>> {
    queries
        .chunks_exact(D)
        .map(|q| {
            let found = index.search(q, 10, p).unwrap();
            found.iter().map(|n| n.id).collect()
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn golden_directories_open_with_their_recorded_answers() {
    for (name, p) in FIXTURES {
        let dir = fixture(name);
        let want = expected(&dir);
        assert_eq!(want.len(), NQ, "{name}: fixture incomplete");
        let q = queries(&dir);
        assert!(dir.join(vector_file(name)).exists(), "{name}");
        // Read-only, in place: nothing is written to the committed files.
        let index = DiskIndex::open(&dir, OpenOptions::read_only()).unwrap();
        let report = index.recovery_report();
        assert!(
            report.replayed > 0,
            "{name}: the fixture's log was not replayed"
        );
        assert_eq!(answers(&index, &q, &p), want, "{name}: answers changed");
        drop(index);
        // Writable, on a copy: it takes new writes on top.
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&dir, copy.path());
        let index = DiskIndex::open(copy.path(), OpenOptions::default()).unwrap();
        assert_eq!(
            answers(&index, &q, &p),
            want,
            "{name}: answers changed (writable)"
        );
        // Id 7 was updated onto the first query: both are at distance 0.
        index.add(99_999, &q[..D]).unwrap();
        let mut top: Vec<u64> = index
            .search(&q[..D], 2, &p)
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        top.sort_unstable();
        assert_eq!(top, [7, 99_999], "{name}");
        index.close().unwrap();
    }
}

#[test]
fn the_golden_sector_directory_opens_with_its_recorded_answers() {
    let (name, p) = SECTOR_FIXTURE;
    let dir = fixture(name);
    let want = expected(&dir);
    assert_eq!(want.len(), NQ, "{name}: fixture incomplete");
    let q = queries(&dir);
    for direct in [false, true] {
        let opts = SectorOptions {
            direct,
            ..SectorOptions::default()
        };
        let index = SectorIndex::open(&dir, opts).unwrap();
        // 400 added, three removed, id 7 updated in place.
        assert_eq!(index.len(), 397, "{name}");
        assert_eq!(answers(&index, &q, &p), want, "{name}: answers changed");
        // Id 7 was updated onto the first query: it is at distance 0.
        let top = index.search(&q[..D], 1, &p).unwrap();
        assert_eq!((top[0].id, top[0].distance), (7, 0.0), "{name}");
    }
    for file in ["sectors.oms", "sectors.osm"] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&dir, copy.path());
        bump_version(&copy.path().join(file));
        let Err(err) = SectorIndex::open(copy.path(), SectorOptions::default()) else {
            panic!("{name}/{file}: a newer version was opened");
        };
        assert!(
            matches!(err, Error::Incompatible { .. }),
            "{name}/{file}: {err}"
        );
    }
}

/// Rewrites the format version in a file's header (and its checksum).
fn bump_version(file: &Path) {
    let mut b = std::fs::read(file).unwrap();
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32c::crc32c(&b[..60]);
    b[60..64].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(file, b).unwrap();
}

#[test]
fn a_newer_format_version_is_refused_as_incompatible() {
    for (name, _) in FIXTURES {
        for file in ["MANIFEST", "graph.omg", vector_file(name), "wal.log"] {
            let copy = tempfile::tempdir().unwrap();
            copy_dir(&fixture(name), copy.path());
            bump_version(&copy.path().join(file));
            let err = DiskIndex::open(copy.path(), OpenOptions::default()).unwrap_err();
            assert!(
                matches!(err, Error::Incompatible { .. }),
                "{name}/{file}: {err}"
            );
        }
    }
}

/// Writes the fixtures that are not there yet (see the module docs); never
/// touches one that is. Run by hand:
/// `cargo test -p omendb --test format_fixtures -- --ignored write_fixtures`.
#[test]
#[ignore = "writes tests/fixtures; run by hand for a new format version only"]
fn write_fixtures() {
    let (train, test) = clustered(400, NQ, D, 8, 21);
    let hnsw = HnswParams {
        seed: 3,
        ..HnswParams::new(8, 64)
    };
    for (name, p) in FIXTURES {
        let dir = fixture(name);
        if dir.exists() {
            continue; // never overwrite a fixture
        }
        std::fs::create_dir_all(&dir).unwrap();
        let opts = OpenOptions {
            checkpoint_on_close: false,
            ..OpenOptions::with_durability(Durability::EveryOp)
        };
        let index = if name.ends_with("-pq") {
            let kind = HnswPqParams {
                hnsw,
                pq: PqParams {
                    train_sample: 300,
                    ..PqParams::with_m(4)
                },
            };
            DiskIndex::create(&dir, D, Metric::L2, kind, opts).unwrap()
        } else if name.contains("-sq8") {
            let kind = HnswSq8Params {
                hnsw,
                sq8: Sq8Params {
                    train_sample: 300,
                    ..Sq8Params::default()
                },
            };
            DiskIndex::create(&dir, D, Metric::L2, kind, opts).unwrap()
        } else {
            DiskIndex::create(&dir, D, Metric::L2, hnsw, opts).unwrap()
        };
        let ids: Vec<u64> = (0..400).collect();
        index.add_batch(&ids[..300], &train[..300 * D]).unwrap();
        if name.ends_with("-renumbered") {
            assert!(index.reorder().unwrap());
        } else {
            index.checkpoint().unwrap();
        }
        // Past the checkpoint, in the log only.
        for i in 300..400 {
            index.add(ids[i], &train[i * D..(i + 1) * D]).unwrap();
        }
        for id in [5, 50, 350] {
            index.remove(id).unwrap();
        }
        index.update(7, &test[..D]).unwrap();
        let want = answers(&index, &test, &p);
        index.close().unwrap();
        std::fs::remove_file(dir.join("LOCK")).ok();
        write_answers(&dir, &test, &want);
    }
    write_sector_fixture(&train, &test, hnsw);
}

/// Writes `queries.f32` and `expected.txt` into a fixture directory.
fn write_answers(dir: &Path, test: &[f32], want: &[Vec<u64>]) {
    let bytes: Vec<u8> = test.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("queries.f32"), bytes).unwrap();
    let lines: Vec<String> = want
        .iter()
        .map(|ids| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" "))
        .collect();
    std::fs::write(dir.join("expected.txt"), lines.join("\n") + "\n").unwrap();
}

/// The sector fixture, unless it is there: a PQ index in RAM with the same
/// history as the others (adds, removals, an update), written out.
fn write_sector_fixture(train: &[f32], test: &[f32], hnsw: HnswParams) {
    let (name, p) = SECTOR_FIXTURE;
    let dir = fixture(name);
    if dir.exists() {
        return; // never overwrite a fixture
    }
    let kind = HnswPqParams {
        hnsw,
        pq: PqParams {
            train_sample: 300,
            ..PqParams::with_m(4)
        },
    };
    let src = HnswPqIndex::new(D, Metric::L2, kind).unwrap();
    let ids: Vec<u64> = (0..400).collect();
    src.add_batch(&ids, train).unwrap();
    for id in [5, 50, 350] {
        src.remove(id).unwrap();
    }
    src.update(7, &test[..D]).unwrap();
    SectorIndex::write(&src, &dir).unwrap();
    let index = SectorIndex::open(&dir, SectorOptions::default()).unwrap();
    write_answers(&dir, test, &answers(&index, test, &p));
}
