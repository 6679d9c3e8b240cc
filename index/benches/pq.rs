//! Product quantizer: training, encoding, ADC table build and ADC scan on
//! 20k × 128 clustered vectors with m = 16.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omendb::pq::{PqParams, ProductQuantizer};
use omendb::Metric;

/// SplitMix64 normals (Box–Muller) for the data.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (((z ^ (z >> 31)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

/// 64 Gaussian clusters, each spread over its own random 16-d subspace plus
/// small isotropic noise (the data of the recall test in `tests/pq.rs`).
fn clustered(n: usize, d: usize, seed: u64) -> Vec<f32> {
    const CLUSTERS: usize = 64;
    const LATENT: usize = 16;
    let mut rng = Rng(1);
    let centres: Vec<f32> = (0..CLUSTERS * d).map(|_| rng.normal()).collect();
    let scale = 0.5 / (LATENT as f32).sqrt();
    let bases: Vec<f32> = (0..CLUSTERS * LATENT * d)
        .map(|_| rng.normal() * scale)
        .collect();
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = ((rng.uniform() * CLUSTERS as f64) as usize).min(CLUSTERS - 1);
        let z: Vec<f32> = (0..LATENT).map(|_| rng.normal()).collect();
        for j in 0..d {
            let spread: f32 = (0..LATENT)
                .map(|l| z[l] * bases[(c * LATENT + l) * d + j])
                .sum();
            out.push(centres[c * d + j] + spread + 0.05 * rng.normal());
        }
    }
    out
}

fn pq(c: &mut Criterion) {
    let (n, d, m) = (20_000, 128, 16);
    let data = clustered(n, d, 2);
    let queries = clustered(100, d, 3);
    let params = PqParams::with_m(m);

    let mut group = c.benchmark_group("pq_train_20k_128");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("m16_25_iterations", |b| {
        b.iter(|| ProductQuantizer::train(d, Metric::L2, black_box(&data), &params).unwrap())
    });
    group.finish();

    let pq = ProductQuantizer::train(d, Metric::L2, &data, &params).unwrap();
    let codes = pq.encode_batch(&data).unwrap();

    let mut group = c.benchmark_group("pq_encode_128_m16");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("encode_batch_20k", |b| {
        b.iter(|| pq.encode_batch(black_box(&data)).unwrap())
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_one", |b| {
        b.iter(|| pq.encode(black_box(&data[..d])).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("pq_adc_128_m16");
    group.throughput(Throughput::Elements(1));
    for metric in [Metric::L2, Metric::InnerProduct] {
        let pq = ProductQuantizer::from_bytes(&pq.to_bytes()).unwrap();
        let pq = if metric == Metric::L2 {
            pq
        } else {
            ProductQuantizer::train(
                d,
                metric,
                &data,
                &PqParams {
                    iterations: 5,
                    ..params
                },
            )
            .unwrap()
        };
        group.bench_function(format!("table_build_{metric}"), |b| {
            b.iter(|| pq.adc_table(black_box(&queries[..d])).unwrap())
        });
    }
    let table = pq.adc_table(&queries[..d]).unwrap();
    let mut out = vec![0.0f32; n];
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("scan_20k_codes", |b| {
        b.iter(|| table.distances(black_box(&codes), &mut out).unwrap())
    });
    group.bench_function("distance_per_code_20k", |b| {
        b.iter(|| {
            let mut best = f32::INFINITY;
            for code in black_box(&codes).chunks_exact(m) {
                best = best.min(table.distance(code));
            }
            best
        })
    });
    group.finish();
}

criterion_group!(benches, pq);
criterion_main!(benches);
