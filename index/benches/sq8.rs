//! SQ8: the integer kernels per instruction set and dimension, and one
//! search at fixed `ef` (64, k = 10) on 20k × 128 clustered vectors, the
//! SQ8-navigated index (default re-rank depth) beside f32 traversal of the
//! same graph.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use omendb::distance::int::{IntIsa, IntKernels};
use omendb::rng::SplitMix64;
use omendb::{HnswParams, HnswSq8Index, HnswSq8Params, Index, Metric, SearchParams};

fn kernels(c: &mut Criterion) {
    for (name, l2) in [("sq8_l2", true), ("sq8_dot", false)] {
        let mut group = c.benchmark_group(name);
        for d in [128usize, 384, 768, 960, 1536] {
            let q: Vec<i16> = (0..d).map(|i| (i % 255) as i16 - 100).collect();
            let code: Vec<u8> = (0..d).map(|i| (i * 37 % 256) as u8).collect();
            group.throughput(Throughput::Bytes(d as u64));
            for isa in [IntIsa::Scalar, IntIsa::Avx2, IntIsa::Avx512Vnni] {
                let Some(k) = IntKernels::for_isa(isa) else {
                    continue;
                };
                group.bench_with_input(BenchmarkId::new(format!("{isa:?}"), d), &d, |b, _| {
                    if l2 {
                        b.iter(|| k.l2(black_box(&q), black_box(&code)))
                    } else {
                        b.iter(|| k.dot(black_box(&q), black_box(&code)))
                    }
                });
            }
        }
        group.finish();
    }
}

/// Gaussian clusters (Box–Muller on SplitMix64).
fn clustered(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut centres = SplitMix64::new(1);
    let centres: Vec<f32> = (0..100 * d)
        .map(|_| centres.next_f64() as f32 * 2.0 - 1.0)
        .collect();
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = rng.below(100);
        for j in 0..d {
            let (u, v) = (rng.next_f64().max(1e-12), rng.next_f64());
            let g = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            out.push(centres[c * d + j] + 0.3 * g as f32);
        }
    }
    out
}

fn search(c: &mut Criterion) {
    let (n, d, nq) = (20_000, 128, 200);
    let params = HnswSq8Params {
        hnsw: HnswParams::new(16, 200),
        ..Default::default()
    };
    let idx = HnswSq8Index::new(d, Metric::L2, params).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    idx.add_batch(&ids, &clustered(n, d, 2)).unwrap();
    let queries = clustered(nq, d, 3);
    let p = SearchParams::with_ef(64);
    let mut group = c.benchmark_group("search_20k_128_ef64_k10");
    group.throughput(Throughput::Elements(nq as u64));
    group.bench_function("sq8", |b| {
        b.iter(|| {
            for q in queries.chunks_exact(d) {
                black_box(idx.search(q, 10, &p).unwrap());
            }
        })
    });
    group.bench_function("f32_same_graph", |b| {
        b.iter(|| {
            for q in queries.chunks_exact(d) {
                black_box(idx.search_exact(q, 10, &p).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, kernels, search);
criterion_main!(benches);
