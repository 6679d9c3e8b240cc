//! Product quantizer: reconstruction quality, ADC exactness, reproducibility,
//! the codebook format, input errors, and ADC recall against `FlatIndex`.

use omendb::pq::{PqParams, ProductQuantizer, MAGIC};
use omendb::{Error, FlatIndex, Index, Kernels, Metric, SearchParams};

/// SplitMix64 stream for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Standard normal by Box–Muller.
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

/// A Gaussian mixture with low intrinsic dimension, like real embedding
/// sets: `clusters` centres drawn from N(0, 1) per component and, per
/// cluster, a random `LATENT`-dimensional subspace; a point is a random
/// centre, plus N(0, 1) latent coordinates mapped through its cluster's
/// subspace (scaled so the spread is about 0.5 per component), plus small
/// N(0, 0.05²) isotropic noise. `seed` fixes the mixture; rows drawn with
/// another `point_seed` come from the same mixture (queries beside data).
///
/// (Isotropic full-rank noise is the worst case for any quantizer: in 128
/// dimensions every neighbour is then nearly equidistant. Real data is not
/// like that, so the recall test does not use it.)
fn mixture(n: usize, d: usize, clusters: usize, seed: u64, point_seed: u64) -> Vec<f32> {
    const LATENT: usize = 16;
    let mut rng = Rng(seed);
    let centres: Vec<f32> = (0..clusters * d).map(|_| rng.normal()).collect();
    let scale = 0.5 / (LATENT as f32).sqrt();
    let bases: Vec<f32> = (0..clusters * LATENT * d)
        .map(|_| rng.normal() * scale)
        .collect();
    let mut rng = Rng(point_seed ^ 0xABCD_EF01);
    let mut out = Vec::with_capacity(n * d);
    let mut z = [0.0f32; LATENT];
    for _ in 0..n {
        let c = (rng.next_u64() % clusters as u64) as usize;
        z.iter_mut().for_each(|x| *x = rng.normal());
        let basis = &bases[c * LATENT * d..(c + 1) * LATENT * d];
        for j in 0..d {
            let spread: f32 = (0..LATENT).map(|l| z[l] * basis[l * d + j]).sum();
            out.push(centres[c * d + j] + spread + 0.05 * rng.normal());
        }
    }
    out
}

fn params(m: usize, iterations: usize) -> PqParams {
    PqParams {
        m,
        iterations,
        ..PqParams::default()
    }
}

/// Mean squared reconstruction error over `data`.
fn reconstruction_mse(pq: &ProductQuantizer, data: &[f32]) -> f64 {
    let d = pq.dims();
    let codes = pq.encode_batch(data).unwrap();
    let mut total = 0.0f64;
    for (v, code) in data.chunks_exact(d).zip(codes.chunks_exact(pq.code_len())) {
        let r = pq.decode(code).unwrap();
        total += v
            .iter()
            .zip(&r)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>();
    }
    total / (data.len() / d) as f64
}

#[test]
fn reconstruction_error_falls_as_m_grows() {
    let d = 128;
    let data = mixture(3000, d, 32, 1, 2);
    let mut errors = Vec::new();
    for m in [8, 16, 32, 64] {
        let pq = ProductQuantizer::train(d, Metric::L2, &data, &params(m, 10)).unwrap();
        assert_eq!(pq.code_len(), m);
        errors.push((m, reconstruction_mse(&pq, &data)));
    }
    let total_energy: f64 = data.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / 3000.0;
    println!("mean squared vector norm {total_energy:.2}; reconstruction MSE by m: {errors:?}");
    for w in errors.windows(2) {
        assert!(
            w[1].1 < 0.9 * w[0].1,
            "error did not fall enough from m={} ({}) to m={} ({})",
            w[0].0,
            w[0].1,
            w[1].0,
            w[1].1
        );
    }
    assert!(errors[0].1 < 0.5 * total_energy);
}

#[test]
fn adc_equals_exact_distance_to_decoded_vector() {
    let k = Kernels::detect();
    // 30 dimensions in 8 sub-spaces: zero-padded to 32, padding included.
    let d = 30;
    let data = mixture(1000, d, 8, 3, 4);
    let queries = mixture(20, d, 8, 3, 5);
    for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
        let pq = ProductQuantizer::train(d, metric, &data, &params(8, 8)).unwrap();
        assert_eq!(pq.sub_dims(), 4);
        let codes = pq.encode_batch(&data[..200 * d]).unwrap();
        for q in queries.chunks_exact(d) {
            let table = pq.adc_table(q).unwrap();
            let mut prepared = q.to_vec();
            metric.prepare(&mut prepared, &k);
            let mut batch = vec![0.0; 200];
            table.distances(&codes, &mut batch).unwrap();
            for (code, &b) in codes.chunks_exact(8).zip(&batch) {
                let exact = metric.distance(&k, &prepared, &pq.decode(code).unwrap());
                let adc = table.distance(code);
                assert!(
                    (adc - exact).abs() <= 1e-4 * (1.0 + exact.abs()),
                    "{metric}: adc {adc} vs exact {exact}"
                );
                assert_eq!(adc, b);
            }
        }
    }
}

#[test]
fn cosine_codes_decode_near_the_unit_sphere() {
    let d = 32;
    let data = mixture(2000, d, 8, 6, 7);
    let pq = ProductQuantizer::train(d, Metric::Cosine, &data, &params(16, 10)).unwrap();
    for v in data.chunks_exact(d).take(100) {
        let r = pq.decode(&pq.encode(v).unwrap()).unwrap();
        let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 0.2, "decoded norm {norm}");
    }
}

#[test]
fn training_with_a_fixed_seed_is_reproducible() {
    let d = 16;
    let data = mixture(3000, d, 10, 8, 9);
    // Sampling on: 1000 of the 3000 rows.
    let p = PqParams {
        m: 4,
        train_sample: 1000,
        iterations: 15,
        seed: 42,
    };
    let a = ProductQuantizer::train(d, Metric::L2, &data, &p).unwrap();
    let b = ProductQuantizer::train(d, Metric::L2, &data, &p).unwrap();
    assert_eq!(a.centroids(), b.centroids());
    assert_eq!(a.to_bytes(), b.to_bytes());
    let c = ProductQuantizer::train(d, Metric::L2, &data, &PqParams { seed: 43, ..p }).unwrap();
    assert_ne!(a.centroids(), c.centroids());
    // Same seed on another thread count: identical codebooks.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let single = pool
        .install(|| ProductQuantizer::train(d, Metric::L2, &data, &p))
        .unwrap();
    assert_eq!(a.centroids(), single.centroids());
}

fn small_quantizer() -> ProductQuantizer {
    let data = mixture(600, 8, 4, 10, 11);
    ProductQuantizer::train(8, Metric::InnerProduct, &data, &params(2, 5)).unwrap()
}

#[test]
fn codebook_round_trips_through_bytes_and_files() {
    let pq = small_quantizer();
    let bytes = pq.to_bytes();
    assert_eq!(&bytes[..8], &MAGIC);
    let back = ProductQuantizer::from_bytes(&bytes).unwrap();
    assert_eq!(back.centroids(), pq.centroids());
    assert_eq!(
        (back.dims(), back.m(), back.metric()),
        (8, 2, Metric::InnerProduct)
    );
    let v = [0.3f32, -1.0, 2.0, 0.5, 0.0, 1.0, -0.2, 0.7];
    assert_eq!(back.encode(&v).unwrap(), pq.encode(&v).unwrap());

    let path = std::env::temp_dir().join(format!("omendb-pq-test-{}.pqcb", std::process::id()));
    pq.save(&path).unwrap();
    let loaded = ProductQuantizer::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.to_bytes(), bytes);
    loaded.ensure_compatible(8, Metric::InnerProduct).unwrap();
    assert!(matches!(
        loaded.ensure_compatible(16, Metric::InnerProduct),
        Err(Error::DimensionMismatch {
            expected: 16,
            got: 8
        })
    ));
    assert!(matches!(
        loaded.ensure_compatible(8, Metric::L2),
        Err(Error::InvalidParameter { name: "metric", .. })
    ));
    assert!(matches!(
        ProductQuantizer::load(&path),
        Err(Error::Io { .. })
    ));
}

#[test]
fn damaged_codebooks_give_typed_errors() {
    let bytes = small_quantizer().to_bytes();
    // Every truncation is an error, never a panic.
    for len in 0..bytes.len() {
        let err = ProductQuantizer::from_bytes(&bytes[..len]).unwrap_err();
        if len < 8 {
            assert!(
                matches!(err, Error::Incompatible { .. }),
                "len {len}: {err}"
            );
        } else {
            assert!(matches!(err, Error::Corrupt { .. }), "len {len}: {err}");
        }
    }
    // A flipped bit anywhere after the magic and version: checksum.
    for pos in [12, 20, 100, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x10;
        assert!(matches!(
            ProductQuantizer::from_bytes(&bad),
            Err(Error::Corrupt { .. })
        ));
    }
    let mut other = bytes.clone();
    other[0] = b'X';
    assert!(matches!(
        ProductQuantizer::from_bytes(&other),
        Err(Error::Incompatible { .. })
    ));
    let mut newer = bytes.clone();
    newer[8] = 2;
    assert!(matches!(
        ProductQuantizer::from_bytes(&newer),
        Err(Error::Incompatible { .. })
    ));
    // Trailing garbage: the checksum no longer sits at the end.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 4]);
    assert!(matches!(
        ProductQuantizer::from_bytes(&longer),
        Err(Error::Corrupt { .. })
    ));
    // A consistent checksum over inconsistent fields (m = 3 for 8 dims).
    let mut forged = bytes[..bytes.len() - 4].to_vec();
    forged[16..20].copy_from_slice(&3u32.to_le_bytes());
    let crc = crc32c_of(&forged);
    forged.extend_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        ProductQuantizer::from_bytes(&forged),
        Err(Error::Corrupt { offset: 12, .. })
    ));
}

/// CRC-32C (Castagnoli), bitwise, so the test does not share the engine's
/// implementation.
fn crc32c_of(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn bad_input_is_refused() {
    let d = 8;
    let data = mixture(300, d, 4, 12, 13);
    let too_few = &data[..255 * d];
    assert!(matches!(
        ProductQuantizer::train(d, Metric::L2, too_few, &params(2, 5)),
        Err(Error::InvalidParameter { name: "data", .. })
    ));
    assert!(matches!(
        ProductQuantizer::train(d, Metric::L2, &data[..data.len() - 1], &params(2, 5)),
        Err(Error::BatchShape { dims: 8, .. })
    ));
    assert!(matches!(
        ProductQuantizer::train(d, Metric::L2, &data, &params(0, 5)),
        Err(Error::InvalidParameter { name: "m", .. })
    ));
    assert!(matches!(
        ProductQuantizer::train(d, Metric::L2, &data, &params(9, 5)),
        Err(Error::InvalidParameter { name: "m", .. })
    ));
    assert!(matches!(
        ProductQuantizer::train(
            d,
            Metric::L2,
            &data,
            &PqParams {
                train_sample: 100,
                ..params(2, 5)
            }
        ),
        Err(Error::InvalidParameter {
            name: "train_sample",
            ..
        })
    ));
    let mut nan = data.clone();
    nan[5 * d + 3] = f32::NAN;
    assert!(matches!(
        ProductQuantizer::train(d, Metric::L2, &nan, &params(2, 5)),
        Err(Error::NonFinite {
            row: 5,
            component: 3,
            ..
        })
    ));

    let pq = ProductQuantizer::train(d, Metric::L2, &data, &params(2, 5)).unwrap();
    assert!(matches!(
        pq.encode(&[1.0; 7]),
        Err(Error::DimensionMismatch {
            expected: 8,
            got: 7
        })
    ));
    assert!(matches!(
        pq.encode_into(&[1.0; 8], &mut [0u8; 3]),
        Err(Error::InvalidParameter { name: "code", .. })
    ));
    assert!(matches!(
        pq.encode_batch(&[1.0; 12]),
        Err(Error::BatchShape {
            values: 12,
            rows: 1,
            dims: 8,
            ..
        })
    ));
    assert!(matches!(pq.encode_batch(&[]), Err(Error::EmptyBatch(_))));
    assert!(pq.decode(&[0, 0, 0]).is_err());
    assert!(pq.decode_into(&[0, 0], &mut [0.0; 7]).is_err());
    assert!(matches!(
        pq.adc_table(&[f32::INFINITY; 8]),
        Err(Error::NonFinite { .. })
    ));
    let table = pq.adc_table(&[0.5; 8]).unwrap();
    assert_eq!(table.m(), 2);
    assert!(table.distances(&[0u8; 5], &mut [0.0; 2]).is_err());
}

/// The quantizer is good enough to sit under a graph: a brute-force ADC scan
/// over 20k clustered vectors with m = 16 (16 bytes per vector, 32× smaller
/// than f32), re-ranked exactly from the top 10×k, finds the true top 10.
#[test]
fn adc_scan_with_reranking_reaches_recall_095() {
    let (n, d, nq, k) = (20_000, 128, 100, 10);
    let data = mixture(n, d, 64, 20, 21);
    let queries = mixture(nq, d, 64, 20, 22);
    let started = std::time::Instant::now();
    let pq = ProductQuantizer::train(d, Metric::L2, &data, &params(16, 25)).unwrap();
    let trained = started.elapsed();
    let codes = pq.encode_batch(&data).unwrap();

    let flat = FlatIndex::new(d, Metric::L2).unwrap();
    let ids: Vec<u64> = (0..n as u64).collect();
    flat.add_batch(&ids, &data).unwrap();
    let truth = flat
        .search_batch(&queries, k, &SearchParams::default())
        .unwrap();

    let kernels = Kernels::detect();
    let rerank = 10 * k;
    let (mut hits_adc, mut hits_rerank) = (0, 0);
    let mut dist = vec![0.0f32; n];
    for (q, truth) in queries.chunks_exact(d).zip(&truth) {
        let table = pq.adc_table(q).unwrap();
        table.distances(&codes, &mut dist).unwrap();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.select_nth_unstable_by(rerank, |&a, &b| {
            dist[a as usize].total_cmp(&dist[b as usize])
        });
        order.truncate(rerank);
        order.sort_by(|&a, &b| dist[a as usize].total_cmp(&dist[b as usize]));
        let want: Vec<u64> = truth.iter().map(|t| t.id).collect();
        hits_adc += order[..k]
            .iter()
            .filter(|&&i| want.contains(&(i as u64)))
            .count();
        let mut exact: Vec<(f32, u32)> = order
            .iter()
            .map(|&i| {
                let v = &data[i as usize * d..(i as usize + 1) * d];
                (Metric::L2.distance(&kernels, q, v), i)
            })
            .collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0));
        hits_rerank += exact[..k]
            .iter()
            .filter(|(_, i)| want.contains(&(*i as u64)))
            .count();
    }
    let recall_adc = hits_adc as f64 / (nq * k) as f64;
    let recall_rerank = hits_rerank as f64 / (nq * k) as f64;
    println!(
        "20k x 128, m = 16 (training {trained:.2?}): recall@10 ADC only {recall_adc:.3}, \
         re-ranked from top {rerank} {recall_rerank:.3}"
    );
    assert!(
        recall_rerank >= 0.95,
        "recall@10 with re-ranking {recall_rerank}"
    );
    assert!(
        recall_adc > 0.3,
        "recall@10 without re-ranking {recall_adc}"
    );
}
