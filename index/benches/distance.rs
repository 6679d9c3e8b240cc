//! Distance kernels per dimension: dispatched vs portable, ns/call and GB/s.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use omendb::distance::{Isa, Kernels};

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("l2_sq");
    for d in [32usize, 100, 128, 384, 768, 960, 1536] {
        let a: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..d).map(|i| (i as f32 * 0.11).cos()).collect();
        group.throughput(Throughput::Bytes((2 * d * 4) as u64));
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
            let Some(k) = Kernels::for_isa(isa) else {
                continue;
            };
            group.bench_with_input(BenchmarkId::new(format!("{isa:?}"), d), &d, |bench, _| {
                bench.iter(|| k.l2_sq(black_box(&a), black_box(&b)))
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("dot");
    for d in [128usize, 768] {
        let a: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..d).map(|i| (i as f32 * 0.11).cos()).collect();
        group.throughput(Throughput::Bytes((2 * d * 4) as u64));
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
            let Some(k) = Kernels::for_isa(isa) else {
                continue;
            };
            group.bench_with_input(BenchmarkId::new(format!("{isa:?}"), d), &d, |bench, _| {
                bench.iter(|| k.dot(black_box(&a), black_box(&b)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
