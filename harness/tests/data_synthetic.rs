//! Synthetic datasets: reproducible by seed, ground truth exact, cached.

use omenbench::data::synthetic::SyntheticSpec;
use omenbench::data::{groundtruth, read_hdf5, Resolver};

fn resolver(dir: &std::path::Path) -> Resolver {
    Resolver {
        cache: dir.join("cache"),
        fetch: false,
        ..Resolver::from_env()
    }
}

#[test]
fn same_seed_same_vectors_other_seed_other_vectors() {
    let mut s = SyntheticSpec::parse_name("clustered-24-euclidean").unwrap();
    s.clusters = 50;
    let a = s.train(2000, None);
    assert_eq!(a, s.train(2000, None));
    assert_eq!(s.test(50), s.test(50));
    s.seed += 1;
    assert_ne!(a, s.train(2000, None));
    let u = SyntheticSpec::parse_name("uniform-8-euclidean")
        .unwrap()
        .train(1000, None);
    assert!(u.iter().all(|x| (-1.0..1.0).contains(x)));
}

#[test]
fn clusters_are_skewed_and_anisotropic() {
    // With few clusters, vectors of one cluster share a centre: the nearest
    // neighbour is far closer than a random vector, unlike uniform data.
    let mut s = SyntheticSpec::parse_name("clustered-32-euclidean").unwrap();
    s.clusters = 20;
    let train = s.train(4000, None);
    let test = s.test(50);
    let (_, dist) = groundtruth::compute(&train, &test, 32, omendb::Metric::L2, 10, None).unwrap();
    let mean_row: f32 = {
        let q = &test[..32];
        let total: f32 = train
            .chunks_exact(32)
            .map(|v| {
                v.iter()
                    .zip(q)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>()
                    .sqrt()
            })
            .sum();
        total / 4000.0
    };
    assert!(
        dist[0][0] * 2.0 < mean_row,
        "nn {} vs mean {mean_row}",
        dist[0][0]
    );
}

#[test]
fn resolve_makes_exact_ground_truth_and_caches_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = resolver(dir.path());
    let d = r
        .resolve("clustered-16-angular", Some(1000), Some(20), false)
        .unwrap();
    assert_eq!(d.name, "clustered-16-angular@1k");
    assert_eq!(
        (d.n_train(), d.n_test(), d.k(), d.dims),
        (1000, 20, 100, 16)
    );
    d.validate().unwrap();
    // Ground truth matches an independent brute-force scan in f64.
    for (qi, q) in d.test.chunks_exact(16).enumerate() {
        let mut all: Vec<(f64, usize)> = d
            .train
            .chunks_exact(16)
            .enumerate()
            .map(|(i, v)| {
                let dot: f64 = v.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum();
                let nv: f64 = v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
                let nq: f64 = q.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
                (1.0 - dot / (nv * nq), i)
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (rank, &(dist, _)) in all.iter().take(100).enumerate() {
            assert!((d.distances[qi][rank] as f64 - dist).abs() < 1e-5);
        }
        assert_eq!(d.neighbors[qi][0] as usize, all[0].1);
    }
    // The cache file is the same dataset, and a second resolve reads it.
    let (again, file) = r
        .make("clustered-16-angular", Some(1000), Some(20), false)
        .unwrap();
    assert!(file.starts_with(dir.path().join("cache")));
    assert_eq!(again.train, d.train);
    assert_eq!(again.neighbors, d.neighbors);
    let on_disk = read_hdf5(&file).unwrap();
    assert_eq!(on_disk.distances, d.distances);
    // A smaller scale is a prefix of the larger one.
    let small = r
        .resolve("clustered-16-angular", Some(100), Some(20), false)
        .unwrap();
    assert_eq!(small.train, d.train[..1600]);
    assert_eq!(small.k(), 100);
    let tiny = r
        .resolve("clustered-16-angular", Some(50), Some(5), false)
        .unwrap();
    assert_eq!(tiny.k(), 50);
}

#[test]
fn unknown_specs_and_bad_sizes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r = resolver(dir.path());
    let e = format!(
        "{:#}",
        r.resolve("no-such-set", None, None, false).unwrap_err()
    );
    assert!(
        e.contains("unknown dataset \"no-such-set\"") && e.contains("clustered-128-euclidean"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        r.resolve("uniform-8-euclidean", Some(0), None, false)
            .unwrap_err()
    );
    assert!(e.contains("n must be at least 1"), "{e}");
    let e = format!(
        "{:#}",
        r.resolve("/nonexistent/x.hdf5", None, None, false)
            .unwrap_err()
    );
    assert!(e.contains("no such file"), "{e}");
}
