//! Exact flat search throughput (queries/s over 10k × 128).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omendb::{FlatIndex, Index, Metric, SearchParams};

fn data(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n * d)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

fn flat(c: &mut Criterion) {
    let (n, d, nq) = (10_000, 128, 100);
    let idx = FlatIndex::new(d, Metric::L2).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    idx.add_batch(&ids, &data(n, d, 1)).unwrap();
    let queries = data(nq, d, 2);
    let mut group = c.benchmark_group("flat_10k_128");
    group.throughput(Throughput::Elements(nq as u64));
    group.bench_function("search_batch_k10", |b| {
        b.iter(|| {
            idx.search_batch(&queries, 10, &SearchParams::default())
                .unwrap()
        })
    });
    group.bench_function("search_one_by_one_k10", |b| {
        b.iter(|| {
            for q in queries.chunks_exact(d) {
                idx.search(q, 10, &SearchParams::default()).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, flat);
criterion_main!(benches);
