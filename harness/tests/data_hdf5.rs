//! ann-benchmarks HDF5: round trip, and clear errors for bad files.

use std::path::Path;

use hdf5_metno as h5;
use ndarray::Array2;
use omenbench::data::{hdf5, read_hdf5, write_hdf5, Dataset};
use omendb::Metric;

fn tiny() -> Dataset {
    Dataset {
        name: "tiny".into(),
        metric: Metric::Cosine,
        dims: 3,
        train: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, -1.0, 0.0, 0.25],
        test: vec![1.0, 0.1, 0.0, 0.0, 0.0, 1.0],
        neighbors: vec![vec![0, 2], vec![3, 1]],
        distances: vec![vec![0.005, 0.2], vec![0.75, 1.0]],
    }
}

#[test]
fn round_trip_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tiny-3-angular.hdf5");
    let d = tiny();
    write_hdf5(&p, &d).unwrap();
    let back = read_hdf5(&p).unwrap();
    assert_eq!(back.name, "tiny-3-angular");
    assert_eq!(back.metric, Metric::Cosine);
    assert_eq!(back.dims, 3);
    assert_eq!(back.train, d.train);
    assert_eq!(back.test, d.test);
    assert_eq!(back.neighbors, d.neighbors);
    assert_eq!(back.distances, d.distances);
    let info = hdf5::info(&p).unwrap();
    assert_eq!(
        (info.train, info.test, info.neighbors),
        ((4, 3), (2, 3), Some((2, 2)))
    );
    // The exact layout ann-benchmarks writes: f32 vectors, i32 ids.
    let types: Vec<String> = info
        .dtypes
        .iter()
        .map(|(n, t)| format!("{n}:{t}"))
        .collect();
    assert_eq!(
        types,
        [
            "train:float32",
            "test:float32",
            "neighbors:int32",
            "distances:float32"
        ]
    );
    // A subset drops the (now wrong) shipped ground truth.
    let sub = hdf5::read_subset(&p, Some(2), Some(1)).unwrap();
    assert_eq!((sub.n_train(), sub.n_test(), sub.k()), (2, 1, 0));
}

/// Writes a file by hand, with chosen dtypes, for the error cases.
fn custom(path: &Path, f: impl FnOnce(&h5::File)) {
    let file = h5::File::create(path).unwrap();
    f(&file);
}

fn attr(file: &h5::File, v: &str) {
    let s: h5::types::VarLenUnicode = v.parse().unwrap();
    file.new_attr::<h5::types::VarLenUnicode>()
        .shape(())
        .create("distance")
        .unwrap()
        .as_writer()
        .write_scalar(&s)
        .unwrap();
}

fn put<T: h5::H5Type>(file: &h5::File, name: &str, a: Array2<T>) {
    file.new_dataset_builder()
        .with_data(&a)
        .create(name)
        .unwrap();
}

#[test]
fn tolerates_f64_vectors_and_i64_ids() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f64.hdf5");
    custom(&p, |f| {
        attr(f, "euclidean");
        put(
            f,
            "train",
            Array2::<f64>::from_shape_vec((2, 2), vec![0., 0., 3., 4.]).unwrap(),
        );
        put(
            f,
            "test",
            Array2::<f64>::from_shape_vec((1, 2), vec![0., 1.]).unwrap(),
        );
        put(
            f,
            "neighbors",
            Array2::<i64>::from_shape_vec((1, 2), vec![0, 1]).unwrap(),
        );
        put(
            f,
            "distances",
            Array2::<f64>::from_shape_vec((1, 2), vec![1., 4.2426]).unwrap(),
        );
    });
    let d = read_hdf5(&p).unwrap();
    assert_eq!(d.train, vec![0., 0., 3., 4.]);
    assert_eq!(d.neighbors, vec![vec![0, 1]]);
    assert_eq!(d.metric, Metric::L2);
}

fn err_of(p: &Path) -> String {
    format!("{:#}", read_hdf5(p).unwrap_err())
}

#[test]
fn bad_files_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let f32s = |r: usize, c: usize| Array2::<f32>::zeros((r, c));

    let p = dir.path().join("missing-test.hdf5");
    custom(&p, |f| {
        attr(f, "euclidean");
        put(f, "train", f32s(4, 2));
    });
    let e = err_of(&p);
    assert!(
        e.contains("missing-test.hdf5") && e.contains("missing dataset `test`"),
        "{e}"
    );

    let p = dir.path().join("dim-mismatch.hdf5");
    custom(&p, |f| {
        attr(f, "euclidean");
        put(f, "train", f32s(4, 2));
        put(f, "test", f32s(1, 3));
    });
    let e = err_of(&p);
    assert!(
        e.contains("dim-mismatch.hdf5") && e.contains("dimension mismatch"),
        "{e}"
    );

    let p = dir.path().join("int-train.hdf5");
    custom(&p, |f| {
        attr(f, "euclidean");
        put(f, "train", Array2::<i32>::zeros((4, 2)));
        put(f, "test", f32s(1, 2));
    });
    let e = err_of(&p);
    assert!(
        e.contains("int-train.hdf5") && e.contains("`train` has element type"),
        "{e}"
    );

    let p = dir.path().join("one-d.hdf5");
    custom(&p, |f| {
        attr(f, "euclidean");
        f.new_dataset_builder()
            .with_data(&ndarray::arr1(&[1f32, 2.0]))
            .create("train")
            .unwrap();
        put(f, "test", f32s(1, 2));
    });
    let e = err_of(&p);
    assert!(
        e.contains("one-d.hdf5") && e.contains("expected 2 dimensions"),
        "{e}"
    );

    let p = dir.path().join("bad-ids.hdf5");
    custom(&p, |f| {
        attr(f, "euclidean");
        put(f, "train", f32s(4, 2));
        put(f, "test", f32s(1, 2));
        put(
            f,
            "neighbors",
            Array2::<i32>::from_shape_vec((1, 2), vec![0, 9]).unwrap(),
        );
        put(f, "distances", f32s(1, 2));
    });
    let e = err_of(&p);
    assert!(e.contains("bad-ids.hdf5") && e.contains("id 9"), "{e}");

    let p = dir.path().join("float-ids.hdf5");
    custom(&p, |f| {
        attr(f, "euclidean");
        put(f, "train", f32s(4, 2));
        put(f, "test", f32s(1, 2));
        put(f, "neighbors", f32s(1, 2));
        put(f, "distances", f32s(1, 2));
    });
    let e = err_of(&p);
    assert!(e.contains("`neighbors` has element type"), "{e}");

    let p = dir.path().join("no-metric.hdf5");
    custom(&p, |f| {
        put(f, "train", f32s(4, 2));
        put(f, "test", f32s(1, 2));
    });
    let e = err_of(&p);
    assert!(
        e.contains("no-metric.hdf5") && e.contains("`distance`"),
        "{e}"
    );

    let p = dir.path().join("hamming.hdf5");
    custom(&p, |f| {
        attr(f, "hamming");
        put(f, "train", f32s(4, 2));
        put(f, "test", f32s(1, 2));
    });
    let e = err_of(&p);
    assert!(e.contains("\"hamming\""), "{e}");

    let p = dir.path().join("not-hdf5.hdf5");
    std::fs::write(&p, b"plain text").unwrap();
    let e = err_of(&p);
    assert!(
        e.contains("not-hdf5.hdf5") && e.contains("not a readable HDF5"),
        "{e}"
    );

    let e = err_of(&dir.path().join("absent.hdf5"));
    assert!(
        e.contains("absent.hdf5") && e.contains("no such file"),
        "{e}"
    );
}

#[test]
fn refuses_to_write_inconsistent_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = tiny();
    d.neighbors[1] = vec![3, 7];
    let p = dir.path().join("x.hdf5");
    let e = format!("{:#}", write_hdf5(&p, &d).unwrap_err());
    assert!(e.contains("x.hdf5") && e.contains("train vector 7"), "{e}");
    assert!(!p.exists());
}

#[test]
fn reads_fixed_length_string_metric() {
    // Files written with numpy byte strings carry a fixed-length attribute.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fixed.hdf5");
    custom(&p, |f| {
        let s = h5::types::FixedAscii::<7>::from_ascii(b"angular").unwrap();
        f.new_attr::<h5::types::FixedAscii<7>>()
            .shape(())
            .create("distance")
            .unwrap()
            .as_writer()
            .write_scalar(&s)
            .unwrap();
        put(f, "train", Array2::<f32>::ones((3, 2)));
        put(f, "test", Array2::<f32>::ones((1, 2)));
    });
    assert_eq!(hdf5::info(&p).unwrap().metric, Metric::Cosine);
}
