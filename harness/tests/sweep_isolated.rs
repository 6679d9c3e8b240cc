//! Fair measurement (issue 23), end to end through `run_sweep`:
//! isolated builds (each Rust engine in an `omenbench worker` process of its
//! own, memory sampled there), interleaved passes (order checked from the
//! recorded start times), memory columns `null` where not measured and never
//! 0, open-loop load; and the same schedule with the engines in this
//! process.

mod ci_common;
mod sweep_common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::data::{repo_root, Dataset};
use omenbench::sweep::adapters::Registry;
use omenbench::sweep::results::{read_result, RunResult};
use omenbench::sweep::{run_sweep, SweepConfig, SweepOptions};
use omendb::Metric;
use serde_json::json;

/// Runs `config` on `ds`, Rust engines in workers when `worker`.
fn sweep(ds: &Dataset, config: serde_json::Value, worker: bool) -> Vec<RunResult> {
    let cfg = SweepConfig::from_json(&config.to_string()).unwrap();
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let opts = SweepOptions {
        out: out.path().to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: worker.then(|| PathBuf::from(env!("CARGO_BIN_EXE_omenbench"))),
    };
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    assert_eq!(summary.errors, 0, "{:#?}", summary.runs);
    summary
        .results
        .iter()
        .map(|p| read_result(p).unwrap())
        .collect()
}

fn two_engines(repeats: usize, extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({
        "datasets": ["in-memory"], "scales": [10_000], "k": 10, "threads": [1, 2],
        "repeats": repeats,
        "algorithms": [
            {"name": "omendb-hnsw", "build": {"m": 12, "ef_construction": 64}, "query": {"ef": [16, 48]}},
            {"name": "hnsw_rs", "build": {"m": 12, "ef_construction": 64}, "query": {"ef": [16, 48]}},
        ],
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// Every pass of `runs`, ordered by start time: (round, algorithm, ef).
fn passes_in_time_order(runs: &[RunResult]) -> Vec<(usize, String, usize)> {
    let mut all: Vec<(f64, usize, String, usize)> = runs
        .iter()
        .flat_map(|r| {
            let ef = r.query_params.as_ref().unwrap()["ef"];
            r.passes
                .iter()
                .map(move |p| (p.started_unix_seconds, p.round, r.algorithm.clone(), ef))
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all.into_iter()
        .map(|(_, round, a, ef)| (round, a, ef))
        .collect()
}

/// The order an interleaved sweep of `runs` must have run its passes in:
/// round by round, each round every run in sweep (document) order.
fn expected_order(runs: &[RunResult], repeats: usize) -> Vec<(usize, String, usize)> {
    (0..repeats)
        .flat_map(|round| {
            runs.iter().map(move |r| {
                (
                    round,
                    r.algorithm.clone(),
                    r.query_params.as_ref().unwrap()["ef"],
                )
            })
        })
        .collect()
}

fn assert_memory_columns(r: &RunResult, own_accounting: bool) {
    let b = r.bytes_per_vector;
    let what = format!("{} ef {:?}: {b:?}", r.algorithm, r.query_params);
    // Measured: set and positive. Not measured: null, never 0.
    assert!(b.peak.is_some_and(|p| p > 0.0), "peak RSS: {what}");
    assert!(b.rss.is_some_and(|x| x != 0.0), "RSS growth: {what}");
    assert!(b.peak >= b.rss, "peak below growth: {what}");
    match own_accounting {
        true => assert!(b.index.is_some_and(|x| x > 0.0), "index: {what}"),
        false => assert_eq!(b.index, None, "index: {what}"),
    }
    assert_eq!(b.disk, None, "disk: {what}");
}

#[test]
fn isolated_builds_run_in_separate_processes_and_passes_interleave() {
    let ds = sweep_common::clustered(10_000, 100, 16, Metric::L2, 23);
    let repeats = 3;
    let runs = sweep(&ds, two_engines(repeats, json!({})), true);
    assert_eq!(runs.len(), 4);
    let mut pids = HashSet::new();
    for r in &runs {
        assert_eq!(r.process, "worker", "{}", r.algorithm);
        let pid = r.worker.as_ref().and_then(|w| w.pid).expect("worker pid");
        assert_ne!(pid, std::process::id(), "built in the harness's process");
        pids.insert((r.algorithm.clone(), pid));
        assert_memory_columns(r, r.algorithm == "omendb-hnsw");
        assert!(r.recall_at_10.is_some_and(|x| x > 0.5), "{r:?}");
        assert_eq!(r.qps_single_thread_repeats.len(), repeats);
        assert_eq!(r.passes.len(), repeats);
        let s = r.qps_single_thread_spread.expect("spread");
        assert!(s.min <= s.median && s.median <= s.max);
        let threads: Vec<usize> = r.batch_scaling.iter().map(|p| p.threads).collect();
        assert_eq!(threads, vec![1, 2], "{}", r.algorithm);
        assert!(r
            .batch_scaling
            .iter()
            .all(|p| p.qps_repeats.len() == repeats));
    }
    // One process per engine (both query sets of one build share it).
    let by_engine: HashSet<u32> = pids.iter().map(|(_, p)| *p).collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert_eq!(by_engine.len(), 2, "{pids:?}");
    // The passes ran round by round: A B A B A B, from their timestamps.
    assert_eq!(passes_in_time_order(&runs), expected_order(&runs, repeats));
}

#[test]
fn in_process_passes_interleave_too_and_back_to_back_still_runs() {
    let ds = sweep_common::clustered(2_000, 50, 8, Metric::L2, 5);
    let runs = sweep(&ds, two_engines(2, json!({"scales": [2000]})), false);
    assert!(runs.iter().all(|r| r.process == "in-process"));
    assert_eq!(passes_in_time_order(&runs), expected_order(&runs, 2));
    for r in &runs {
        assert_eq!(r.qps_single_thread_repeats.len(), 2);
        assert!(r.latency_ms.is_some());
        assert_eq!(r.batch_scaling.len(), 2);
        assert!(r.batch_scaling.iter().all(|p| p.qps_repeats.len() == 2));
    }
    let back_to_back = sweep(
        &ds,
        two_engines(2, json!({"scales": [2000], "interleave": false})),
        false,
    );
    for r in &back_to_back {
        assert!(r.passes.is_empty(), "no rounds when not interleaved");
        assert_eq!(r.qps_single_thread_repeats.len(), 2);
        assert!(r.qps_single_thread_spread.is_some());
    }
}

/// A disk-backed engine in a worker reports, through the protocol, how much
/// of its mapped files the page cache held after its passes.
#[test]
fn a_disk_engine_in_a_worker_reports_its_page_cache() {
    let ds = sweep_common::clustered(2_000, 50, 8, Metric::L2, 31);
    let config = json!({
        "datasets": ["in-memory"], "scales": [2000], "k": 10, "threads": 2, "repeats": 1,
        "algorithms": [{"name": "omendb-hnsw-disk", "query": {"ef": 32}}],
    });
    let runs = sweep(&ds, config, true);
    let r = &runs[0];
    assert_eq!(r.process, "worker");
    if cfg!(target_os = "linux") {
        let cached = r.page_cache_bytes.expect("page cache reported");
        let disk = r.memory.disk_bytes.expect("disk bytes");
        assert!(cached > 0 && cached <= disk, "{cached} of {disk}");
    }
}

#[test]
fn open_loop_latency_is_reported_at_each_offered_rate() {
    let ds = sweep_common::clustered(2_000, 50, 8, Metric::L2, 7);
    let config = json!({
        "datasets": ["in-memory"], "scales": [2000], "k": 10, "threads": 2, "repeats": 1,
        "open_loop": {"offered_qps": [100, 400], "seconds": 0.25},
        "algorithms": [{"name": "omendb-hnsw", "query": {"ef": 32}}],
    });
    for worker in [true, false] {
        let runs = sweep(&ds, config.clone(), worker);
        let r = &runs[0];
        let rates: Vec<f64> = r.open_loop.iter().map(|p| p.offered_qps).collect();
        assert_eq!(rates, vec![100.0, 400.0], "worker {worker}: {:?}", r.notes);
        for p in &r.open_loop {
            assert_eq!(p.queries, (p.offered_qps * 0.25) as usize);
            assert!(p.p50_ms > 0.0 && p.p50_ms <= p.p95_ms && p.p95_ms <= p.p99_ms);
            assert!(p.p99_ms <= p.p999_ms && p.p999_ms <= p.max_ms);
            // Far below capacity: the rate is kept.
            let achieved = p.achieved_qps.unwrap();
            assert!(achieved > 0.5 * p.offered_qps, "{p:?}");
        }
    }
}

#[test]
fn a_python_worker_and_a_rust_worker_report_memory_alike() {
    let python = repo_root().join(".venv/bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import hnswlib, h5py"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return ci_common::absent("the venv with hnswlib", "run scripts/python-env.sh");
    }
    let ds = sweep_common::clustered(10_000, 100, 16, Metric::L2, 29);
    let config = json!({
        "datasets": ["in-memory"], "scales": [10_000], "k": 10, "threads": 2, "repeats": 2,
        "algorithms": [
            {"name": "omendb-hnsw", "build": {"m": 12, "ef_construction": 64}, "query": {"ef": 32}},
            {"name": "hnswlib", "build": {"m": 12, "ef_construction": 64}, "query": {"ef": 32}},
        ],
    });
    let runs = sweep(&ds, config, true);
    let processes: Vec<&str> = runs.iter().map(|r| r.process.as_str()).collect();
    assert_eq!(processes, vec!["worker", "python"]);
    let pids: HashSet<u32> = runs
        .iter()
        .map(|r| r.worker.as_ref().and_then(|w| w.pid).expect("pid"))
        .collect();
    assert_eq!(pids.len(), 2);
    assert!(!pids.contains(&std::process::id()));
    for r in &runs {
        assert_memory_columns(r, r.algorithm == "omendb-hnsw");
    }
    assert_eq!(passes_in_time_order(&runs), expected_order(&runs, 2));
}
