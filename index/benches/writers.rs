//! Concurrent writers on a [`DiskIndex`]: one-at-a-time `add` throughput
//! with 1, 2 and 4 writer threads under `Group(64)` and `EveryOp`, and
//! search latency (p50, p99) with and without a concurrent insert stream.
//!
//! `cargo bench -p omendb --bench writers` (plain `main`: the machine this
//! project is measured on is noisy, so each figure is the median and range
//! of several rounds, the settings interleaved within each round).
//! `OMENDB_WRITERS_BASE` vectors are loaded first (default 20,000; dims
//! 128, uniform), then `OMENDB_WRITERS_ADDS` one-at-a-time adds are timed
//! (default 8,000; a quarter of that under `EveryOp`);
//! `OMENDB_WRITERS_ROUNDS` rounds (default 5); `OMENDB_WRITERS_DIR` the
//! scratch directory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use omendb::rng::SplitMix64;
use omendb::{DiskIndex, Durability, HnswParams, Index, Metric, OpenOptions, SearchParams};

const D: usize = 128;

/// `count` floats in [0, 1) from the workspace's seeded generator.
fn uniform(seed: u64, count: usize) -> Vec<f32> {
    let mut r = SplitMix64::new(seed);
    (0..count).map(|_| r.next_f64() as f32).collect()
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fresh index holding the first `base` vectors.
fn loaded(dir: &str, dur: Durability, v: &[f32], base: usize) -> DiskIndex {
    let _ = std::fs::remove_dir_all(dir);
    let index = DiskIndex::create(
        dir,
        D,
        Metric::L2,
        HnswParams::new(16, 100),
        OpenOptions::with_durability(dur),
    )
    .unwrap();
    let ids: Vec<u64> = (0..base as u64).collect();
    index.add_batch(&ids, &v[..base * D]).unwrap();
    index
}

/// Adds rows `base..base + adds` one at a time from `writers` threads;
/// returns vectors per second.
fn add_rate(index: &DiskIndex, v: &[f32], base: usize, adds: usize, writers: usize) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            s.spawn(move || {
                for i in (base + w..base + adds).step_by(writers) {
                    index.add(i as u64, &v[i * D..(i + 1) * D]).unwrap();
                }
            });
        }
    });
    adds as f64 / t.elapsed().as_secs_f64()
}

/// Latencies in microseconds of searches for `queries` (cycled), one at a
/// time, until `stop` or `limit` searches.
fn latencies(index: &DiskIndex, queries: &[f32], stop: &AtomicBool, limit: usize) -> Vec<f64> {
    let params = SearchParams::with_ef(64);
    let mut out = Vec::new();
    for q in queries.chunks_exact(D).cycle() {
        if stop.load(Ordering::Relaxed) || out.len() >= limit {
            break;
        }
        let t = Instant::now();
        index.search(q, 10, &params).unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    out
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// `median (min–max)` of the rounds.
fn summary(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    format!(
        "{:>8.0} ({:.0}–{:.0})",
        s[s.len() / 2],
        s[0],
        s[s.len() - 1]
    )
}

fn main() {
    let base = env("OMENDB_WRITERS_BASE", 20_000);
    let adds = env("OMENDB_WRITERS_ADDS", 8_000);
    let rounds = env("OMENDB_WRITERS_ROUNDS", 5).max(1);
    let root = std::env::var("OMENDB_WRITERS_DIR")
        .unwrap_or_else(|_| format!("{}/writers-bench", env!("CARGO_TARGET_TMPDIR")));
    let v = uniform(0x5eed, (base + adds) * D);
    let queries = uniform(0x9e4, 1_000 * D);
    println!(
        "base {base}, {adds} adds ({} under EveryOp), dims {D}, M 16, ef_construction 100, \
         {rounds} rounds, {} cores",
        adds / 4,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let settings = [
        ("Group(64)", Durability::Group(64), adds),
        ("EveryOp", Durability::EveryOp, adds / 4),
    ];
    let writer_counts = [1, 2, 4];
    let mut rates = vec![vec![Vec::new(); writer_counts.len()]; settings.len()];
    let (mut quiet, mut busy) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for _ in 0..rounds {
        for (s, &(name, dur, adds)) in settings.iter().enumerate() {
            for (w, &writers) in writer_counts.iter().enumerate() {
                let dir = format!("{root}/{name}-{writers}");
                let index = loaded(&dir, dur, &v, base);
                rates[s][w].push(add_rate(&index, &v, base, adds, writers));
                drop(index);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        // Search latency alone, then beside one writer adding under Group(64).
        let dir = format!("{root}/latency");
        let index = loaded(&dir, Durability::Group(64), &v, base);
        let stop = AtomicBool::new(false);
        let mut alone = latencies(&index, &queries, &AtomicBool::new(false), 2_000);
        let mut under = std::thread::scope(|s| {
            let (index, stop, queries) = (&index, &stop, &queries);
            let searcher = s.spawn(move || latencies(index, queries, stop, usize::MAX));
            for i in base..base + adds {
                index.add(i as u64, &v[i * D..(i + 1) * D]).unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            searcher.join().unwrap()
        });
        quiet.0.push(percentile(&mut alone, 0.5));
        quiet.1.push(percentile(&mut alone, 0.99));
        busy.0.push(percentile(&mut under, 0.5));
        busy.1.push(percentile(&mut under, 0.99));
        drop(index);
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("add throughput, vec/s: median (min–max) over {rounds} rounds");
    for (s, &(name, _, adds)) in settings.iter().enumerate() {
        let one = {
            let mut r = rates[s][0].clone();
            r.sort_by(f64::total_cmp);
            r[r.len() / 2]
        };
        for (w, &writers) in writer_counts.iter().enumerate() {
            let mut r = rates[s][w].clone();
            r.sort_by(f64::total_cmp);
            println!(
                "  {name:<10} {writers} writer(s): {}  {:.2}x one writer  ({adds} adds)",
                summary(&rates[s][w]),
                r[r.len() / 2] / one
            );
        }
    }
    println!("search latency, µs (ef 64, k 10): median (min–max) of the rounds' percentiles");
    println!(
        "  read-only      p50 {}  p99 {}",
        summary(&quiet.0),
        summary(&quiet.1)
    );
    println!(
        "  under inserts  p50 {}  p99 {}",
        summary(&busy.0),
        summary(&busy.1)
    );
    let _ = std::fs::remove_dir_all(&root);
}
