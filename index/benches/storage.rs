//! Storage figures: insert throughput per durability setting beside the
//! in-RAM engine, checkpoint time, open time, RSS after open, bytes on disk.
//!
//! `cargo bench -p omendb --bench storage` (plain `main`, not criterion:
//! each figure is one timed run). `OMENDB_STORAGE_N` sets the vector count
//! (default 100,000; dims 128); `OMENDB_STORAGE_ADDS` caps the one-at-a-time
//! adds per setting (default: all, 5,000 for `EveryOp`);
//! `OMENDB_STORAGE_DATA=clustered` draws vectors around 100 centres instead
//! of uniformly in the unit cube (uniform 128-d data, with no structure, is
//! the slowest to index); `OMENDB_STORAGE_ONLY=bulk` runs only the bulk
//! load, checkpoint and open; `OMENDB_STORAGE_DIR` the scratch directory.

use std::time::Instant;

use omendb::{DiskIndex, Durability, HnswIndex, HnswParams, Index, Metric, OpenOptions};

const D: usize = 128;

/// SplitMix64 floats in [0, 1).
fn uniform(seed: u64, count: usize) -> Vec<f32> {
    let mut s = seed;
    (0..count)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

fn data(n: usize, clustered: bool) -> Vec<f32> {
    let noise = uniform(0x5eed, n * D);
    if !clustered {
        return noise;
    }
    let centres = uniform(0xce17, 100 * D);
    noise
        .chunks_exact(D)
        .enumerate()
        .flat_map(|(i, x)| {
            let c = &centres[(i * 7919 % 100) * D..][..D];
            x.iter()
                .zip(c)
                .map(|(x, c)| c * 4.0 + (x - 0.5) * 0.5)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A `/proc/self/status` field in KiB (`VmRSS`, `RssAnon`).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("OMENDB_STORAGE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let root = std::env::var("OMENDB_STORAGE_DIR")
        .unwrap_or_else(|_| format!("{}/storage-bench", env!("CARGO_TARGET_TMPDIR")));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let adds: usize = std::env::var("OMENDB_STORAGE_ADDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    let params = HnswParams::new(16, 100);
    let clustered = std::env::var("OMENDB_STORAGE_DATA").is_ok_and(|d| d == "clustered");
    let v = data(n, clustered);
    let ids: Vec<u64> = (0..n as u64).collect();
    println!(
        "n = {n}, dims = {D}, {} data, M = 16, ef_construction = 100, {} threads",
        if clustered { "clustered" } else { "uniform" },
        rayon::current_num_threads()
    );

    let only_bulk = std::env::var("OMENDB_STORAGE_ONLY").is_ok_and(|o| o == "bulk");
    let mut ram_bulk = f64::NAN;
    if !only_bulk {
        ram_bulk = throughput(&root, n, adds, params, &v, &ids);
    }
    bulk_checkpoint_open(&root, n, params, &v, &ids, ram_bulk);
    let _ = std::fs::remove_dir_all(&root);
}

/// One-at-a-time and batched inserts per durability setting; returns the
/// in-RAM batched rate.
fn throughput(
    root: &str,
    n: usize,
    adds: usize,
    params: HnswParams,
    v: &[f32],
    ids: &[u64],
) -> f64 {
    // Single-vector adds, one call per vector.
    let ram = HnswIndex::new(D, Metric::L2, params).unwrap();
    let t = Instant::now();
    for (i, x) in v.chunks_exact(D).take(adds).enumerate() {
        ram.add(i as u64, x).unwrap();
    }
    let ram_rate = adds.min(n) as f64 / t.elapsed().as_secs_f64();
    println!("add, in RAM:            {ram_rate:>9.0} vec/s");
    drop(ram);
    for (name, dur, count) in [
        ("Never", Durability::Never, adds.min(n)),
        ("Group(64)", Durability::Group(64), adds.min(n)),
        ("EveryOp", Durability::EveryOp, adds.min(n).min(5_000)),
    ] {
        let dir = format!("{root}/{name}");
        let index = DiskIndex::create(
            &dir,
            D,
            Metric::L2,
            params,
            OpenOptions::with_durability(dur),
        )
        .unwrap();
        let t = Instant::now();
        for (i, x) in v.chunks_exact(D).take(count).enumerate() {
            index.add(i as u64, x).unwrap();
        }
        let rate = count as f64 / t.elapsed().as_secs_f64();
        println!(
            "add, disk {name:<10}   {rate:>9.0} vec/s  ({:.2}x in-RAM; {count} adds)",
            rate / ram_rate
        );
        drop(index);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // One-at-a-time adds from every core at once: writers log and store in
    // turn, and link in parallel.
    let threads = rayon::current_num_threads();
    for (name, dur) in [
        ("Group(64)", Durability::Group(64)),
        ("EveryOp", Durability::EveryOp),
    ] {
        let dir = format!("{root}/threads-{name}");
        let index = DiskIndex::create(
            &dir,
            D,
            Metric::L2,
            params,
            OpenOptions::with_durability(dur),
        )
        .unwrap();
        let count = adds.min(n);
        let t = Instant::now();
        std::thread::scope(|s| {
            for w in 0..threads {
                let (index, v) = (&index, &v);
                s.spawn(move || {
                    for (i, x) in v.chunks_exact(D).take(count).enumerate() {
                        if i % threads == w {
                            index.add(i as u64, x).unwrap();
                        }
                    }
                });
            }
        });
        let rate = count as f64 / t.elapsed().as_secs_f64();
        println!(
            "add, disk {name:<10}   {rate:>9.0} vec/s  ({:.2}x 1-thread in-RAM; {count} adds from {threads} threads)",
            rate / ram_rate
        );
        drop(index);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Bulk load: batches of 1,000.
    let ram = HnswIndex::new(D, Metric::L2, params).unwrap();
    let t = Instant::now();
    for (i, x) in ids.chunks(1_000).zip(v.chunks(1_000 * D)) {
        ram.add_batch(i, x).unwrap();
    }
    let ram_bulk = n as f64 / t.elapsed().as_secs_f64();
    println!("add_batch, in RAM:      {ram_bulk:>9.0} vec/s");
    drop(ram);
    // Batches through the log with each durability: group commit and
    // fsync-per-write pay their sync once per batch of 1,000.
    for (name, dur) in [
        ("EveryOp", Durability::EveryOp),
        ("Group(64)", Durability::Group(64)),
    ] {
        let dir = format!("{root}/batch-{name}");
        let index = DiskIndex::create(
            &dir,
            D,
            Metric::L2,
            params,
            OpenOptions::with_durability(dur),
        )
        .unwrap();
        let count = n.min(200_000);
        let t = Instant::now();
        for (i, x) in ids[..count].chunks(1_000).zip(v.chunks(1_000 * D)) {
            index.add_batch(i, x).unwrap();
        }
        let rate = count as f64 / t.elapsed().as_secs_f64();
        println!(
            "add_batch, disk {name:<10}{rate:>9.0} vec/s  ({:.2}x in-RAM; {count} vectors)",
            rate / ram_bulk
        );
        drop(index);
        let _ = std::fs::remove_dir_all(&dir);
    }
    ram_bulk
}

/// Bulk load with `Never`, checkpoint, close, open: time, RSS, bytes.
fn bulk_checkpoint_open(
    root: &str,
    n: usize,
    params: HnswParams,
    v: &[f32],
    ids: &[u64],
    ram_bulk: f64,
) {
    let dir = format!("{root}/bulk");
    let index = DiskIndex::create(
        &dir,
        D,
        Metric::L2,
        params,
        OpenOptions::with_durability(Durability::Never),
    )
    .unwrap();
    let t = Instant::now();
    for (i, x) in ids.chunks(1_000).zip(v.chunks(1_000 * D)) {
        index.add_batch(i, x).unwrap();
    }
    let bulk = n as f64 / t.elapsed().as_secs_f64();
    println!(
        "add_batch, disk Never:  {bulk:>9.0} vec/s  ({:.2}x in-RAM)",
        bulk / ram_bulk
    );
    let grown = index.disk_usage();
    println!(
        "while open: vector file {} B for {} B of rows ({:.3}x), {} B allocated ({:.4}x)",
        grown.vector_file,
        grown.raw_vectors,
        grown.vector_overhead(),
        grown.vector_allocated,
        grown.vector_allocated as f64 / grown.raw_vectors as f64
    );
    let c = index.checkpoint().unwrap();
    println!(
        "checkpoint: {:.3} s, graph file {} B",
        c.duration.as_secs_f64(),
        c.graph_bytes
    );
    index.close().unwrap();

    let (rss0, anon0) = (status_kib("VmRSS:"), status_kib("RssAnon:"));
    let t = Instant::now();
    let index = DiskIndex::open(&dir, OpenOptions::default()).unwrap();
    let open = t.elapsed();
    let (rss1, anon1) = (status_kib("VmRSS:"), status_kib("RssAnon:"));
    let u = index.disk_usage();
    let mem = index.memory_usage();
    println!(
        "open (verifying rows): {:.3} s; RSS {} -> {} MiB (+{} MiB, of which anonymous +{} MiB); \
         the index's own RAM {} MiB; raw vectors are {} MiB, graph file {} MiB",
        open.as_secs_f64(),
        rss0 / 1024,
        rss1 / 1024,
        (rss1.saturating_sub(rss0)) / 1024,
        (anon1.saturating_sub(anon0)) / 1024,
        mem.ram_total() >> 20,
        u.raw_vectors >> 20,
        u.graph_file >> 20
    );
    println!(
        "on disk after close: {} B total, {:.1} B/vector; vector file {:.6}x raw",
        u.total(),
        u.bytes_per_vector(),
        u.vector_overhead()
    );
    drop(index);
    let t = Instant::now();
    let quick = DiskIndex::open(
        &dir,
        OpenOptions {
            verify_vectors: false,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    println!(
        "open without row verification: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    drop(quick);
}
