//! `datasets prepare` makes every subset of a sweep once into a cache; a
//! shard's loader reads only from it and refuses, with a message naming the
//! command to run, a cache that is missing, incomplete or made from other
//! source files. It never makes data itself.

use omenbench::data::prepare::{prepare, CachedLoader, DataPlan};
use omenbench::data::{groundtruth, write_hdf5, Dataset, Resolver};
use omendb::Metric;

/// 100 train and 20 test vectors of 4 dims, with ground truth (k = 10).
fn dataset(shift: f32) -> Dataset {
    let dims = 4;
    let train: Vec<f32> = (0..400)
        .map(|i| ((i * 7919) % 113) as f32 + shift)
        .collect();
    let test: Vec<f32> = (0..80).map(|i| ((i * 31) % 97) as f32).collect();
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

fn err(r: anyhow::Result<impl std::fmt::Debug>) -> String {
    format!("{:#}", r.unwrap_err())
}

#[test]
fn shards_load_only_what_prepare_made() {
    let dir = tempfile::tempdir().unwrap();
    let r = Resolver {
        cache: dir.path().join("shared-cache"),
        fetch: false,
        ..Resolver::from_env()
    };
    let src = dir.path().join("src-4-euclidean.hdf5");
    write_hdf5(&src, &dataset(0.0)).unwrap();
    let spec = src.to_str().unwrap().to_string();
    let plan = DataPlan {
        datasets: vec![spec.clone()],
        scales: vec![40, 100, 500],
        queries: Some(15),
    };
    let all: Vec<(String, usize)> = plan.scales.iter().map(|&s| (spec.clone(), s)).collect();

    // Nothing prepared yet: the shard refuses and says what to run.
    let e = err(CachedLoader::open(r.clone(), &plan));
    assert!(
        e.contains("datasets prepare") && e.contains("shared-cache"),
        "{e}"
    );

    let m = prepare(&r, &plan, false).unwrap();
    assert_eq!(m.entries.len(), 3);
    assert_eq!(m.entries[0].n_train, Some(40));
    assert_eq!(m.entries[1].n_train, Some(100));
    // 500 is more than the file holds; 40 loaded, so it is skipped, not fatal.
    assert!(m.entries[2].file.is_none());
    assert!(m.entries[2].unavailable.as_deref().unwrap().contains("500"));

    let loader = CachedLoader::open(r.clone(), &plan).unwrap();
    loader.check(&all).unwrap();
    let d = loader.load(&spec, 40, plan.queries).unwrap();
    assert_eq!((d.n_train(), d.n_test(), d.k()), (40, 15, 40));
    // The same subset `make` gives.
    let (made, _) = r.make(&spec, Some(40), Some(15), false).unwrap();
    assert_eq!(made.neighbors, d.neighbors);
    assert!(err(loader.load(&spec, 500, plan.queries)).contains("500"));

    // Another plan (other queries) has no manifest.
    let other = DataPlan {
        queries: Some(10),
        ..plan.clone()
    };
    assert!(err(CachedLoader::open(r.clone(), &other)).contains("datasets prepare"));

    // The source changed after prepare: this node's key differs, so the
    // entry is refused as mismatched, never recomputed.
    write_hdf5(&src, &dataset(0.5)).unwrap();
    let e = err(loader.check(&all));
    assert!(e.contains("mismatched") && e.contains("prepare"), "{e}");
    let e = err(loader.load(&spec, 40, plan.queries));
    assert!(e.contains("other source files"), "{e}");
    let files = std::fs::read_dir(&r.cache).unwrap().count();

    // Back to the prepared source, but a cache file lost: missing.
    write_hdf5(&src, &dataset(0.0)).unwrap();
    std::fs::remove_file(m.entries[0].file.as_ref().unwrap()).unwrap();
    let e = err(loader.check(&all));
    assert!(e.contains("missing"), "{e}");
    let e = err(loader.load(&spec, 40, plan.queries));
    assert!(
        e.contains("no cache entry") && e.contains("datasets prepare"),
        "{e}"
    );
    // Nothing was made by the refusals.
    assert_eq!(std::fs::read_dir(&r.cache).unwrap().count(), files - 1);

    // A dataset that loads at no scale fails prepare.
    let bad = DataPlan {
        scales: vec![500],
        ..plan
    };
    assert!(err(prepare(&r, &bad, false)).contains("500"));
}
