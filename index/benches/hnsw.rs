//! HNSW: search latency at 10k and 100k (128-d clustered), insert throughput.
//!
//! Whole-system comparisons against other libraries live in `omenbench`;
//! these benches track the engine's own speed from commit to commit.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use omendb::{HnswIndex, HnswParams, Index, Metric, SearchParams};

/// Seeded clustered Gaussian data (SplitMix64 + Box–Muller).
fn clustered(n: usize, d: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 + 1e-7
    };
    let centres: Vec<f32> = (0..clusters * d).map(|_| next() * 2.0 - 1.0).collect();
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = ((next() * clusters as f32) as usize).min(clusters - 1);
        for j in 0..d {
            let g = (-2.0 * next().ln()).sqrt() * (std::f32::consts::TAU * next()).cos();
            out.push(centres[c * d + j] + 0.3 * g);
        }
    }
    out
}

fn build(data: &[f32], d: usize, ef_construction: usize) -> HnswIndex {
    let idx = HnswIndex::new(d, Metric::L2, HnswParams::new(16, ef_construction)).unwrap();
    let ids: Vec<u64> = (0..(data.len() / d) as u64).collect();
    idx.add_batch(&ids, data).unwrap();
    idx
}

fn search(c: &mut Criterion) {
    let d = 128;
    let queries = clustered(200, d, 1000, 99);
    let mut group = c.benchmark_group("hnsw_search_128d");
    group.throughput(Throughput::Elements(200));
    for n in [10_000usize, 100_000] {
        let idx = build(&clustered(n, d, 1000, 1), d, 100);
        for ef in [16usize, 64] {
            group.bench_with_input(BenchmarkId::new(format!("n{n}"), ef), &ef, |b, &ef| {
                b.iter(|| {
                    for q in queries.chunks_exact(d) {
                        idx.search(q, 10, &SearchParams::with_ef(ef)).unwrap();
                    }
                })
            });
        }
    }
    group.finish();
}

fn insert(c: &mut Criterion) {
    let d = 128;
    let n = 5_000;
    let data = clustered(n, d, 100, 7);
    let mut group = c.benchmark_group("hnsw_insert_128d");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("add_one_by_one_M16_efc100", |b| {
        b.iter_batched(
            || HnswIndex::new(d, Metric::L2, HnswParams::new(16, 100)).unwrap(),
            |idx| {
                for (i, v) in data.chunks_exact(d).enumerate() {
                    idx.add(i as u64, v).unwrap();
                }
                idx
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("add_batch_all_cores_M16_efc100", |b| {
        b.iter(|| build(&data, d, 100))
    });
    group.finish();
}

criterion_group!(benches, search, insert);
criterion_main!(benches);
