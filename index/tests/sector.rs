//! The sector index (DiskANN-style: codes in RAM, vectors and layer-0 lists
//! in 4 KiB sectors on disk): recall against exact ground truth and against
//! the PQ index it was written from, cached and `O_DIRECT` reads, deletions,
//! filters, refusal of writes and bad input, and corruption of either file.
//! The conformance suite's checks that do not write (recall, `search_batch`,
//! memory accounting, two instances, reopen) are here too: the kind is
//! read-only.

mod common;

use std::path::Path;

use common::{clustered, ground_truth, recall};
use omendb::{
    Error, Filter, HnswParams, HnswPqIndex, HnswPqParams, Index, Metric, Neighbor, PqParams,
    SearchParams, SectorIndex, SectorOptions,
};

fn source(train: &[f32], d: usize, metric: Metric, pq_m: usize) -> HnswPqIndex {
    let idx = HnswPqIndex::new(
        d,
        metric,
        HnswPqParams {
            hnsw: HnswParams::new(16, 100),
            pq: PqParams::with_m(pq_m),
        },
    )
    .unwrap();
    let ids: Vec<u64> = (0..(train.len() / d) as u64).collect();
    idx.add_batch(&ids, train).unwrap();
    idx
}

fn search_all(index: &dyn Index, test: &[f32], k: usize, p: &SearchParams) -> Vec<Vec<Neighbor>> {
    test.chunks_exact(index.dims())
        .map(|q| index.search(q, k, p).unwrap())
        .collect()
}

fn open(dir: &Path, direct: bool) -> SectorIndex {
    SectorIndex::open(
        dir,
        SectorOptions {
            beam_width: 4,
            direct,
        },
    )
    .unwrap()
}

#[test]
fn recall_matches_its_source_and_reads_are_counted() {
    let (d, n, k) = (64, 20_000, 10);
    let (train, test) = clustered(n, 200, d, 50, 31);
    let truth = ground_truth(&train, &test, d, Metric::L2, k);
    let src = source(&train, d, Metric::L2, 16);
    let dir = tempfile::tempdir().unwrap();
    SectorIndex::write(&src, dir.path()).unwrap();
    let idx = open(dir.path(), false);
    assert_eq!(idx.len(), n);
    let p = SearchParams::with_ef(128);
    let found = search_all(&idx, &test, k, &p);
    let stats = idx.take_read_stats();
    let r = recall(&found, &truth, &train, &test, Metric::L2, k);
    let from = search_all(&src, &test, k, &SearchParams::with_rerank(128, 128));
    let r_src = recall(&from, &truth, &train, &test, Metric::L2, k);
    let reads = stats.blocks as f64 / stats.searches as f64;
    println!("sector 20k×64, ef 128, W 4: recall@10 {r:.4} (source PQ index {r_src:.4}), {reads:.1} reads/query");
    assert_eq!(stats.searches, 200);
    assert!(r >= 0.93, "recall@10 {r}");
    assert!(r >= r_src - 0.02, "recall@10 {r} vs its source's {r_src}");
    assert!((10.0..=200.0).contains(&reads), "{reads} reads per query");

    // Direct reads, a dropped cache, a second instance side by side and a
    // batch search all give the same answers.
    let direct = open(dir.path(), true);
    if !direct.reads_direct() {
        println!(
            "O_DIRECT refused by this file system: the direct pass read through the page cache"
        );
    }
    idx.drop_cache();
    assert_eq!(search_all(&direct, &test, k, &p), found);
    assert_eq!(search_all(&idx, &test, k, &p), found);
    assert_eq!(idx.search_batch(&test, k, &p).unwrap(), found);
    drop(idx);
    let again = open(dir.path(), false);
    assert_eq!(search_all(&again, &test, k, &p), found, "reopened");

    // RAM: codes, ids, upper layers, checksums; no vector.
    let mem = again.memory_usage();
    assert_eq!(mem.vectors, 0);
    assert!(mem.codes >= n * 16 && mem.ids == 8 * n, "{mem:?}");
    // Per vector: the code, the id, the upper layers and (at 20k, 6.6 B a
    // vector) the codebooks; the rest (block checksums, deletion bits, the
    // searches' scratch) is small and mostly per thread.
    let per = (mem.codes + mem.ids + mem.graph) as f64 / n as f64;
    assert!(
        per < 16.0 + 8.0 + 7.0 + 10.0,
        "{per} RAM bytes per vector: {mem:?}"
    );
    assert!(mem.other < 4 << 20, "{mem:?}");
    assert!(mem.disk >= n * 4 * d, "{mem:?}");
}

#[test]
fn cosine_deletions_and_filters() {
    let (d, n, k) = (32, 5_000, 10);
    let (train, test) = clustered(n, 50, d, 20, 32);
    let src = source(&train, d, Metric::Cosine, 8);
    let removed: Vec<u64> = (0..n as u64).step_by(7).collect();
    for &id in &removed {
        src.remove(id).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    SectorIndex::write(&src, dir.path()).unwrap();
    let idx = open(dir.path(), false);
    assert_eq!(idx.len(), n - removed.len());

    // Never a deleted id, even for its own vector.
    for &id in removed.iter().take(20) {
        let q = &train[id as usize * d..(id as usize + 1) * d];
        let found = idx.search(q, k, &SearchParams::with_ef(64)).unwrap();
        assert_eq!(found.len(), k);
        assert!(found.iter().all(|f| f.id % 7 != 0), "a deleted id returned");
    }
    // Recall against the live vectors only.
    let live: Vec<u64> = (0..n as u64).filter(|i| i % 7 != 0).collect();
    let live_rows: Vec<f32> = live
        .iter()
        .flat_map(|&i| train[i as usize * d..(i as usize + 1) * d].to_vec())
        .collect();
    let truth: Vec<Vec<Neighbor>> = ground_truth(&live_rows, &test, d, Metric::Cosine, k)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|nb| Neighbor {
                    id: live[nb.id as usize],
                    ..nb
                })
                .collect()
        })
        .collect();
    let found = search_all(&idx, &test, k, &SearchParams::with_ef(128));
    let hits: usize = found
        .iter()
        .zip(&truth)
        .map(|(f, t)| f.iter().filter(|x| t.iter().any(|y| y.id == x.id)).count())
        .sum();
    let r = hits as f64 / (k * truth.len()) as f64;
    println!("sector 5k×32 cosine, 1/7 deleted: recall@10 {r:.4}");
    assert!(r >= 0.9, "recall@10 {r}");

    // A small allow-set is searched exactly among its ids: the answer is
    // the exact top k of those ids.
    let allowed: Vec<u64> = (1..n as u64).step_by(97).filter(|i| i % 7 != 0).collect();
    let p = SearchParams::with_ef(400).filtered(Filter::allow_ids(allowed.clone()));
    let q = &test[..d];
    let got: Vec<u64> = idx.search(q, k, &p).unwrap().iter().map(|x| x.id).collect();
    let mut exact: Vec<(f32, u64)> = allowed
        .iter()
        .map(|&i| {
            let v = &train[i as usize * d..(i as usize + 1) * d];
            let dot: f32 = v.iter().zip(q).map(|(a, b)| a * b).sum();
            let norm = |x: &[f32]| x.iter().map(|a| a * a).sum::<f32>().sqrt();
            (1.0 - dot / (norm(v) * norm(q)), i)
        })
        .collect();
    exact.sort_by(|a, b| a.0.total_cmp(&b.0));
    let want: Vec<u64> = exact.iter().take(k).map(|e| e.1).collect();
    assert_eq!(got, want, "a small allow-set's exact answer");
    // A predicate is walked through: only allowed ids come back.
    let even = SearchParams::with_ef(64).filtered(Filter::predicate(|id| id % 2 == 0));
    let found = idx.search(q, k, &even).unwrap();
    assert_eq!(found.len(), k);
    assert!(found.iter().all(|f| f.id % 2 == 0 && f.id % 7 != 0));
}

#[test]
fn writes_and_bad_input_are_refused() {
    let (d, n) = (16, 1_000);
    let (train, _) = clustered(n, 1, d, 10, 33);
    let src = source(&train, d, Metric::L2, 4);
    let dir = tempfile::tempdir().unwrap();
    SectorIndex::write(&src, dir.path()).unwrap();
    let idx = open(dir.path(), false);
    let v = vec![0.5f32; d];
    assert!(matches!(idx.add(n as u64, &v), Err(Error::ReadOnly)));
    assert!(matches!(
        idx.add_batch(&[n as u64], &v),
        Err(Error::ReadOnly)
    ));
    assert!(matches!(idx.remove(0), Err(Error::ReadOnly)));
    assert!(matches!(idx.update(0, &v), Err(Error::ReadOnly)));
    let p = SearchParams::default();
    assert!(matches!(
        idx.search(&v[1..], 5, &p),
        Err(Error::DimensionMismatch { .. })
    ));
    let mut nan = v.clone();
    nan[2] = f32::NAN;
    assert!(matches!(
        idx.search(&nan, 5, &p),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(idx.len(), n);

    // An untrained or empty source cannot be written.
    let empty = HnswPqIndex::new(d, Metric::L2, HnswPqParams::default()).unwrap();
    assert!(SectorIndex::write(&empty, dir.path().join("e")).is_err());
    // Nothing to open.
    assert!(matches!(
        SectorIndex::open(dir.path().join("none"), SectorOptions::default()),
        Err(Error::Io { .. })
    ));
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x5a;
    std::fs::write(path, b).unwrap();
}

#[test]
fn corruption_is_an_error_never_a_panic_or_a_wrong_answer() {
    let (d, n, k) = (16, 3_000, 5);
    let (train, test) = clustered(n, 5, d, 10, 34);
    let src = source(&train, d, Metric::L2, 4);
    let dir = tempfile::tempdir().unwrap();
    SectorIndex::write(&src, dir.path()).unwrap();
    let blocks = dir.path().join("sectors.oms");
    let meta = dir.path().join("sectors.osm");
    let clean_blocks = std::fs::read(&blocks).unwrap();
    let clean_meta = std::fs::read(&meta).unwrap();
    let p = SearchParams::with_ef(32);

    // A byte flipped in every block of records: each search reads one and
    // fails with the block named.
    let len = clean_blocks.len();
    for at in (4096 + 100..len).step_by(4096) {
        flip(&blocks, at);
    }
    let idx = open(dir.path(), false);
    for q in test.chunks_exact(d) {
        let e = idx.search(q, k, &p).unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("checksum"), "{e}");
    }
    drop(idx);
    std::fs::write(&blocks, &clean_blocks).unwrap();

    // Header block (its checksummed header, and the layout words after it,
    // which must agree with the meta file), truncation, and every byte of
    // the in-RAM file: refused at open.
    for at in [20, 64, 65, 72, 80, 81] {
        flip(&blocks, at);
        let opened = SectorIndex::open(dir.path(), SectorOptions::default());
        assert!(
            matches!(opened, Err(Error::Corrupt { .. })),
            "byte {at} flipped"
        );
        std::fs::write(&blocks, &clean_blocks).unwrap();
    }
    // One bit of the record length, with per-block and block bytes still
    // consistent (196 → 192 bytes at 16 dims): refused as well.
    let mut b = clean_blocks.clone();
    b[64] ^= 0x04;
    std::fs::write(&blocks, &b).unwrap();
    let opened = SectorIndex::open(dir.path(), SectorOptions::default());
    assert!(
        matches!(opened, Err(Error::Corrupt { .. })),
        "record length"
    );
    std::fs::write(&blocks, &clean_blocks[..len - 4096]).unwrap();
    assert!(matches!(
        SectorIndex::open(dir.path(), SectorOptions::default()),
        Err(Error::Corrupt { .. })
    ));
    std::fs::write(&blocks, &clean_blocks).unwrap();
    for at in (0..clean_meta.len()).step_by(61) {
        flip(&meta, at);
        let opened = SectorIndex::open(dir.path(), SectorOptions::default());
        assert!(
            opened.is_err(),
            "byte {at} of the meta file flipped, still opened"
        );
        std::fs::write(&meta, &clean_meta).unwrap();
    }
    std::fs::write(&meta, &clean_meta[..clean_meta.len() / 2]).unwrap();
    assert!(SectorIndex::open(dir.path(), SectorOptions::default()).is_err());
    std::fs::write(&meta, &clean_meta).unwrap();
    let idx = open(dir.path(), false);
    let want = search_all(&src, &test, k, &SearchParams::with_rerank(32, 32));
    let got = search_all(&idx, &test, k, &p);
    let same: usize = got
        .iter()
        .zip(&want)
        .map(|(g, w)| g.iter().filter(|x| w.iter().any(|y| y.id == x.id)).count())
        .sum();
    let nq = test.len() / d;
    assert!(
        same * 10 >= 9 * k * nq,
        "restored files answer as before: {same} of {}",
        k * nq
    );
}
