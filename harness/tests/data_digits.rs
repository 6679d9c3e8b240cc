//! The committed real set: its shipped ground truth agrees with FlatIndex.
//! Absent (no `../shared/datasets/`), it fails under `CI=true`.

mod ci_common;

use omenbench::data::{groundtruth, shared_datasets_dir, Resolver};

#[test]
fn digits_ground_truth_matches_flat_index() {
    let path = shared_datasets_dir().join("digits-64-euclidean.hdf5");
    if !path.is_file() {
        ci_common::absent(
            &path.display().to_string(),
            "it is committed in ../shared/datasets/; set OMENBENCH_SHARED to the folder holding datasets/",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = Resolver {
        cache: dir.path().join("cache"),
        fetch: false,
        ..Resolver::from_env()
    };
    let (d, file) = r.make("digits-64-euclidean", None, None, false).unwrap();
    assert_eq!(file, path);
    assert_eq!(
        (d.n_train(), d.n_test(), d.dims, d.k()),
        (1600, 197, 64, 100)
    );
    assert_eq!(d.metric, omendb::Metric::L2);
    let (ids, dist) = groundtruth::compute(&d.train, &d.test, d.dims, d.metric, 100, None).unwrap();
    // Integer data has exact distance ties, so compare distances, not id order.
    assert_eq!(
        groundtruth::rows_agreeing(&d.distances, &dist, 1e-5),
        d.n_test()
    );
    // And every recomputed id really is at its stated distance.
    for (q, (row, drow)) in ids.iter().zip(&dist).enumerate() {
        let query = &d.test[q * 64..(q + 1) * 64];
        for (&id, &want) in row.iter().zip(drow) {
            let v = &d.train[id as usize * 64..(id as usize + 1) * 64];
            let got: f32 = v
                .iter()
                .zip(query)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
    }
    // A subset gets fresh ground truth, cached.
    let (sub, sub_file) = r
        .make("digits-64-euclidean", Some(500), Some(50), false)
        .unwrap();
    assert_eq!(sub.name, "digits-64-euclidean@500");
    assert!(sub_file.starts_with(dir.path()));
    assert!(sub.neighbors.iter().flatten().all(|&id| id < 500));
}
