//! The cache is keyed by content: changing a source file makes a new subset
//! with new ground truth, never the stale one.

use omenbench::data::{groundtruth, read_hdf5, write_hdf5, Dataset, Resolver};
use omendb::Metric;

fn dataset(shift: f32) -> Dataset {
    let dims = 4;
    let train: Vec<f32> = (0..400)
        .map(|i| ((i * 7919) % 113) as f32 + shift)
        .collect();
    let test: Vec<f32> = (0..20).map(|i| ((i * 31) % 97) as f32).collect();
    let (neighbors, distances) =
        groundtruth::compute(&train, &test, dims, Metric::L2, 10, None).unwrap();
    Dataset {
        name: "src".into(),
        metric: Metric::L2,
        dims,
        train,
        test,
        neighbors,
        distances,
    }
}

#[test]
fn changing_the_source_invalidates_the_cached_subset() {
    let dir = tempfile::tempdir().unwrap();
    let r = Resolver {
        cache: dir.path().join("cache"),
        fetch: false,
        ..Resolver::from_env()
    };
    let src = dir.path().join("src-4-euclidean.hdf5");
    write_hdf5(&src, &dataset(0.0)).unwrap();
    let spec = src.to_str().unwrap();

    // The whole file is used as it is, with its own ground truth (k = 10).
    let (whole, path) = r.make(spec, None, None, false).unwrap();
    assert_eq!((path.as_path(), whole.k()), (src.as_path(), 10));

    let (a, file_a) = r.make(spec, Some(50), None, false).unwrap();
    assert_eq!((a.n_train(), a.k()), (50, 50));
    assert_eq!(a.name, "src-4-euclidean@50");
    let (a2, file_a2) = r.make(spec, Some(50), None, false).unwrap();
    assert_eq!(file_a, file_a2);
    assert_eq!(a2.neighbors, a.neighbors);

    // Same size, same shape, different content: a different cache file
    // whose ground truth matches the new vectors.
    write_hdf5(&src, &dataset(0.5)).unwrap();
    let (b, file_b) = r.make(spec, Some(50), None, false).unwrap();
    assert_ne!(file_a, file_b);
    assert_ne!(a.train, b.train);
    let (nb, dist) = groundtruth::compute(&b.train, &b.test, 4, Metric::L2, 50, None).unwrap();
    assert_eq!(b.neighbors, nb);
    assert_eq!(b.distances, dist);
    assert_eq!(read_hdf5(&file_b).unwrap().train, b.train);

    // A corrupt cache file is remade, not trusted.
    std::fs::write(&file_b, b"garbage").unwrap();
    let (c, file_c) = r.make(spec, Some(50), None, false).unwrap();
    assert_eq!(file_c, file_b);
    assert_eq!(c.neighbors, b.neighbors);
    assert_eq!(read_hdf5(&file_c).unwrap().neighbors, b.neighbors);

    let e = format!("{:#}", r.make(spec, Some(5000), None, false).unwrap_err());
    assert!(
        e.contains("asked for 5000 train vectors but the file has 100"),
        "{e}"
    );
}
