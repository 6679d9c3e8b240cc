//! `omenbench run` fails fast and loud: a dataset that does not resolve (a
//! typo, an unreadable `.hdf5`) stops the sweep before any build with a
//! non-zero exit and no results; a sweep in which every run failed exits
//! non-zero, its summary counting the failed runs first.

use std::path::Path;
use std::process::{Command, Output};

fn omenbench(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omenbench"))
        .args(args)
        .arg("--out")
        .arg(out)
        .env("OMENBENCH_NO_FETCH", "1")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_misspelt_dataset_stops_the_sweep_before_any_build() {
    let out = tempfile::tempdir().unwrap();
    let o = omenbench(
        &[
            "run",
            "--dataset",
            "clustred-16-euclidean",
            "--scales",
            "100",
            "--algorithms",
            "omendb-flat",
            "--quiet",
        ],
        out.path(),
    );
    assert!(!o.status.success(), "exit status {}", o.status);
    let e = stderr(&o);
    assert!(
        e.contains("clustred-16-euclidean") && e.contains("unknown dataset"),
        "{e}"
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "results were written"
    );
}

#[test]
fn an_unreadable_hdf5_stops_the_sweep_before_any_build() {
    let out = tempfile::tempdir().unwrap();
    let bad = out.path().join("broken.hdf5");
    std::fs::write(&bad, b"not an HDF5 file").unwrap();
    let results = out.path().join("results");
    let o = omenbench(
        &[
            "run",
            "--dataset",
            bad.to_str().unwrap(),
            "--scales",
            "100",
            "--algorithms",
            "omendb-flat",
            "--quiet",
        ],
        &results,
    );
    assert!(!o.status.success(), "exit status {}", o.status);
    assert!(stderr(&o).contains("broken.hdf5"), "{}", stderr(&o));
    assert!(!results.exists(), "results were written");
}

#[test]
fn a_sweep_in_which_every_run_failed_exits_non_zero() {
    let out = tempfile::tempdir().unwrap();
    // PQ with more sub-spaces (default 16) than dimensions (8): every
    // index creation fails.
    let o = omenbench(
        &[
            "run",
            "--dataset",
            "clustered-8-euclidean",
            "--scales",
            "200",
            "--queries",
            "20",
            "--algorithms",
            "omendb-hnsw-pq",
            "--quiet",
        ],
        out.path(),
    );
    assert!(!o.status.success(), "exit status {}", o.status);
    assert!(stderr(&o).contains("every run failed"), "{}", stderr(&o));
    let sweep = std::fs::read_dir(out.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let summary = std::fs::read_to_string(sweep.join("summary.md")).unwrap();
    assert!(summary.starts_with("**1 of 1 runs failed**"), "{summary}");
}
