//! The out-of-process adapter protocol, end to end through `run_sweep`:
//! a standard-library fake worker (`tests/fixtures/fake_worker.py`, brute
//! force) round-trips ids and timings; crashing, hanging and erroring workers
//! are recorded and the sweep goes on; with the pinned venv present, hnswlib
//! and faiss reach the recall they should on 1k vectors. Without python3 or
//! the venv the tests fail under `CI=true` (`scripts/test.sh` makes the
//! venv first) and are skipped elsewhere.

mod ci_common;
mod sweep_common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::data::Dataset;
use omenbench::sweep::adapters::python::{Interpreter, PythonAdapter, WorkerSpec};
use omenbench::sweep::adapters::{AlgorithmSpec, BuildContext, ParamSpec, Registry};
use omenbench::sweep::results::{read_neighbors, read_result, RunResult};
use omenbench::sweep::{run_sweep, Adapter, SweepConfig, SweepOptions};
use omendb::Metric;

fn python3_available() -> bool {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn fake(
    ctx: &BuildContext<'_>,
    name: &str,
    mode: &str,
    ids_file_above: usize,
) -> anyhow::Result<Box<dyn Adapter>> {
    let spec = WorkerSpec {
        algorithm: name.to_string(),
        script: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_worker.py"),
        args: vec![mode.to_string()],
        interpreter: Interpreter::Program(PathBuf::from("python3")),
        raw_vectors: true,
        ids_file_above,
    };
    Ok(Box::new(PythonAdapter::new(ctx, spec)?))
}

macro_rules! fake_spec {
    ($konst:ident, $name:literal, $mode:literal, $above:expr) => {
        const $konst: AlgorithmSpec = AlgorithmSpec {
            name: $name,
            build_params: &[],
            query_params: &[ParamSpec::new("ef", 10, 1, 1000)],
            make: {
                fn make(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
                    fake(ctx, $name, $mode, $above)
                }
                &make
            },
        };
    };
}

fake_spec!(FAKE_JSON, "fake-json", "ok", usize::MAX);
fake_spec!(FAKE_FILE, "fake-file", "ok", 0);
fake_spec!(CRASH_BUILD, "crash-build", "crash-build", usize::MAX);
fake_spec!(CRASH_QUERY, "crash-query", "crash-query", usize::MAX);
fake_spec!(HANG_BUILD, "hang-build", "hang-build", usize::MAX);
fake_spec!(HANG_QUERY, "hang-query", "hang", usize::MAX);
fake_spec!(ERROR_REPLY, "error-reply", "error", usize::MAX);

/// Runs `config` on `ds`; the documents live as long as the returned folder.
fn sweep(
    ds: &Dataset,
    registry: &Registry,
    config: &str,
) -> (tempfile::TempDir, Vec<(PathBuf, RunResult)>) {
    let cfg = SweepConfig::from_json(config).unwrap();
    let sweep = cfg.validate(registry).unwrap();
    let out = tempfile::tempdir().unwrap();
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let opts = SweepOptions {
        out: out.path().to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    let runs = summary
        .results
        .iter()
        .map(|p| (p.clone(), read_result(p).unwrap()))
        .collect();
    (out, runs)
}

#[test]
fn the_protocol_round_trips_with_a_fake_worker() {
    if !python3_available() {
        ci_common::absent("python3", "install python3");
        return;
    }
    let ds = sweep_common::clustered(300, 12, 8, Metric::L2, 7);
    let mut registry = Registry::builtin();
    registry.register(FAKE_JSON);
    registry.register(FAKE_FILE);
    let (_out, runs) = sweep(
        &ds,
        &registry,
        r#"{"datasets": ["tiny"], "scales": [300], "repeats": 2, "k": 10,
            "algorithms": [{"name": "fake-json", "query": {"ef": [10, 20]}},
                           {"name": "fake-file"}, {"name": "omendb-flat"}]}"#,
    );
    assert_eq!(runs.len(), 4);
    for (path, r) in &runs[..3] {
        assert!(r.error.is_none(), "{}: {:?}", r.algorithm, r.error);
        assert_eq!(r.process, "python");
        // Exact neighbours from the worker give exact recall, computed here.
        assert_eq!(r.recall_at_10, Some(1.0), "{}", r.algorithm);
        assert_eq!(r.id_recall_at_10, Some(1.0), "{}", r.algorithm);
        let ids = read_neighbors(path, r).unwrap();
        assert_eq!(ids.len(), 12);
        assert_eq!(ids[0], ds.neighbors[0][..10].to_vec());
        // The three timings land where the schema says: the fake reports
        // per call at half and all threads at twice the batch-call speed.
        let single = r.qps_single_thread.unwrap();
        let per_call = r.qps_single_thread_per_call.unwrap();
        let batch = r.qps_batch.unwrap();
        assert!(
            (single / per_call - 2.0).abs() < 1e-6,
            "{single} {per_call}"
        );
        assert!((batch / single - 2.0).abs() < 1e-6, "{batch} {single}");
        assert_eq!(r.qps_single_thread_repeats.len(), 2);
        let w = r.worker.as_ref().unwrap();
        assert_eq!(w.library.as_deref(), Some("fake 0.0"));
        assert_eq!(w.qps_single_thread_per_call_repeats.len(), 2);
        // The worker's own RSS growth is what bytes_per_vector.rss divides.
        assert_eq!(w.build_rss_growth_bytes, Some(4096 * 300));
        assert_eq!(r.bytes_per_vector.rss, Some(4096.0));
        // The worker reports no peak: null, never the harness's own figure.
        assert_eq!(r.bytes_per_vector.peak, None);
        assert!(r.latency_ms.is_some());
    }
    // One build served both query sets.
    assert_eq!(runs[0].1.build_timings, runs[1].1.build_timings);
    let flat = &runs[3].1;
    assert_eq!(flat.process, "in-process");
    assert!(flat.qps_single_thread_per_call.is_none() && flat.worker.is_none());
}

#[test]
fn failing_workers_are_recorded_and_the_sweep_goes_on() {
    if !python3_available() {
        ci_common::absent("python3", "install python3");
        return;
    }
    let ds = sweep_common::clustered(100, 4, 4, Metric::L2, 3);
    let mut registry = Registry::builtin();
    for spec in [
        CRASH_BUILD,
        CRASH_QUERY,
        HANG_BUILD,
        HANG_QUERY,
        ERROR_REPLY,
    ] {
        registry.register(spec);
    }
    let started = std::time::Instant::now();
    let (_out, runs) = sweep(
        &ds,
        &registry,
        r#"{"datasets": ["tiny"], "scales": [100], "repeats": 1,
            "build_timeout_seconds": 4, "query_timeout_seconds": 1,
            "algorithms": [{"name": "crash-build"}, {"name": "crash-query"},
                           {"name": "hang-build"}, {"name": "hang-query"},
                           {"name": "error-reply"}, {"name": "omendb-flat"}]}"#,
    );
    assert_eq!(runs.len(), 6);
    let err = |i: usize| runs[i].1.error.clone().unwrap_or_default();
    assert!(err(0).contains("exited with exit status: 3"), "{}", err(0));
    assert!(
        err(0).contains("crashing on build as asked"),
        "stderr quoted: {}",
        err(0)
    );
    assert!(err(1).contains("exit status: 4"), "{}", err(1));
    assert!(
        runs[1].1.build_seconds.is_some(),
        "the build before the crash is kept"
    );
    assert!(
        err(2).contains("did not answer") && err(2).contains("killed"),
        "{}",
        err(2)
    );
    assert!(
        err(3).contains("did not answer") && err(3).contains("killed"),
        "{}",
        err(3)
    );
    assert!(err(4).contains("no such package"), "{}", err(4));
    for (_, r) in &runs[..5] {
        assert_eq!(r.process, "python", "{}", r.algorithm);
    }
    let flat = &runs[5].1;
    assert!(flat.error.is_none(), "{:?}", flat.error);
    assert_eq!(flat.recall_at_10, Some(1.0));
    // Hung workers were killed, not abandoned on a background thread.
    assert!(
        !flat.notes.iter().any(|n| n.contains("abandoned")),
        "{:?}",
        flat.notes
    );
    assert!(started.elapsed().as_secs() < 60);
}

/// The venv's Python, when `scripts/python-env.sh` has made it (as
/// `scripts/test.sh` does: under `CI=true` its absence is a failure).
fn venv() -> Option<PathBuf> {
    let python = omenbench::data::repo_root().join(".venv/bin/python");
    assert!(
        python.exists() || std::env::var("CI").map_or(true, |v| v != "true"),
        "CI=true: {} is missing; scripts/test.sh makes it with scripts/python-env.sh",
        python.display()
    );
    python.exists().then_some(python)
}

#[test]
fn hnswlib_and_faiss_reach_their_recall_through_the_harness() {
    let Some(python) = venv() else {
        ci_common::absent("the Python venv (.venv)", "bash scripts/python-env.sh");
        return;
    };
    // Use the venv as is; never install from a test.
    std::env::set_var("OMENBENCH_PYTHON", &python);
    let ds = sweep_common::clustered(1000, 50, 16, Metric::L2, 11);
    let (_out, runs) = sweep(
        &ds,
        &Registry::builtin(),
        r#"{"datasets": ["tiny"], "scales": [1000], "repeats": 1, "k": 10, "threads": 2,
            "algorithms": [
              {"name": "hnswlib", "build": {"m": [16], "ef_construction": [100]}, "query": {"ef": [64]}},
              {"name": "faiss-hnsw", "build": {"m": [16], "ef_construction": [100]}, "query": {"ef": [64]}},
              {"name": "faiss-ivfpq", "build": {"nlist": [16], "pq_m": [4], "nbits": [8], "refine": [1]},
               "query": {"nprobe": [8], "k_factor": [10]}}]}"#,
    );
    assert_eq!(runs.len(), 3);
    for (_, r) in &runs {
        assert!(r.error.is_none(), "{}: {:?}", r.algorithm, r.error);
        assert_eq!(r.process, "python");
        let recall = r.id_recall_at_10.unwrap();
        let floor = if r.algorithm == "faiss-ivfpq" {
            0.9
        } else {
            0.95
        };
        assert!(recall >= floor, "{} recall@10 {recall}", r.algorithm);
        assert!(r.qps_single_thread.unwrap() > 0.0 && r.qps_batch.unwrap() > 0.0);
        assert!(r.qps_single_thread_per_call.unwrap() > 0.0);
        assert!(r.worker.as_ref().unwrap().library.is_some());
    }
}
