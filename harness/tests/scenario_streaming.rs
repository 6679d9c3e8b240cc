//! Scenario `streaming` end to end through `run_sweep`: a runbook of
//! inserts, deletes, searches and inserts-while-searching on every engine
//! with deletes; every step recorded, recall at each search step against
//! the live set, and the ground truth of every search step checked against
//! NumPy brute force in the pinned venv (fails under `CI=true` without it).

mod ci_common;
mod sweep_common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::data::Dataset;
use omenbench::sweep::adapters::Registry;
use omenbench::sweep::results::{read_result, RunResult};
use omenbench::sweep::{run_sweep, SweepConfig, SweepOptions};
use omendb::Metric;

const RUNBOOK: &str = r#"{"kind": "streaming", "initial": 0.5, "cycles": 2, "batch": 100, "seed": 9,
    "steps": ["search", {"insert": 0.1}, {"delete": 0.05}, "search",
              {"insert_while_searching": 0.1}, {"delete": 0.02}]}"#;

fn sweep(ds: &Dataset, algorithms: &str) -> (tempfile::TempDir, Vec<(PathBuf, RunResult)>) {
    let cfg = SweepConfig::from_json(&format!(
        r#"{{"datasets": ["tiny"], "scales": [{}], "k": 10, "repeats": 1, "threads": 2,
            "scenario": {RUNBOOK}, "algorithms": {algorithms}}}"#,
        ds.n_train()
    ))
    .unwrap();
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = SweepOptions {
        out: out.path().to_path_buf(),
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        worker: None,
    };
    let load = |_: &str, _: usize, _: Option<usize>, _: bool| Ok(ds.clone());
    let summary = run_sweep(&sweep, &load, &opts).unwrap();
    let runs = summary
        .results
        .iter()
        .map(|p| (p.clone(), read_result(p).unwrap()))
        .collect();
    (out, runs)
}

/// Checks the shape and figures of every run.
fn check(runs: &[(PathBuf, RunResult)]) {
    for (_, r) in runs {
        assert!(r.error.is_none(), "{} {:?}", r.algorithm, r.error);
        assert_eq!(r.scenario.scenario.as_deref(), Some("streaming"));
        let s = r.scenario.streaming.as_ref().unwrap();
        // Initial load + 2 cycles of 6 steps.
        assert_eq!(s.steps.len(), 13, "{}", r.algorithm);
        let ops: Vec<&str> = s.steps.iter().map(|x| x.op.as_str()).collect();
        assert_eq!(
            &ops[..7],
            [
                "insert",
                "search",
                "insert",
                "delete",
                "search",
                "insert_while_searching",
                "delete"
            ]
        );
        // 1000 rows: 500, +100, −50, +100, −20, +100, −50, +100, −20.
        let live: Vec<usize> = s.steps.iter().map(|x| x.live).collect();
        assert_eq!(
            live,
            [500, 500, 600, 550, 550, 650, 630, 630, 730, 680, 680, 780, 760]
        );
        let searches: Vec<f64> = s.steps.iter().filter_map(|x| x.recall_at_10).collect();
        assert_eq!(searches.len(), 4);
        for (i, rc) in searches.iter().enumerate() {
            assert!(*rc >= 0.9, "{} search {i}: recall@10 {rc}", r.algorithm);
        }
        let min = searches.iter().copied().fold(1.0, f64::min);
        assert_eq!(r.recall_at_10, Some(min));
        assert!(s.insert_per_second.is_some_and(|x| x > 0.0));
        assert!(s.delete_per_second.is_some_and(|x| x > 0.0));
        let ro = s.latency_read_only_ms.unwrap();
        let rw = s.latency_under_writes_ms.unwrap();
        assert!(ro.p50 > 0.0 && ro.p99 >= ro.p50 && rw.p99 >= rw.p50);
        for step in &s.steps {
            if step.op == "insert_while_searching" {
                assert!(step.searches >= 1);
            }
        }
    }
}

/// Renders the report of `results` and returns (figure id, series names).
fn report_figures(results: &std::path::Path) -> Vec<(String, String)> {
    let out = results.join("report");
    let path = omenbench::report::write_report(results, &out).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let doc = scraper::Html::parse_document(&text);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    let sel = scraper::Selector::parse("figure.chart").unwrap();
    doc.select(&sel)
        .map(|f| {
            let v = f.value();
            (
                v.attr("id").unwrap_or_default().to_string(),
                v.attr("data-series").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn runbooks_run_on_every_in_process_engine_with_deletes() {
    let ds = sweep_common::clustered(1000, 40, 16, Metric::L2, 21);
    let algorithms = if cfg!(feature = "usearch") {
        r#"[{"name": "omendb-hnsw", "query": {"ef": 64}},
            {"name": "omendb-hnsw-disk", "query": {"ef": 64}},
            {"name": "usearch", "query": {"ef": 64}}]"#
    } else {
        r#"[{"name": "omendb-hnsw", "query": {"ef": 64}},
            {"name": "omendb-hnsw-disk", "query": {"ef": 64}}]"#
    };
    let (out, runs) = sweep(&ds, algorithms);
    assert_eq!(runs.len(), if cfg!(feature = "usearch") { 3 } else { 2 });
    check(&runs);
    let summary = std::fs::read_to_string(runs[0].0.parent().unwrap().join("summary.md")).unwrap();
    assert!(
        summary.contains("min recall@10") && summary.contains("| omendb-hnsw-disk | 64 |"),
        "{summary}"
    );
    let figs = report_figures(out.path());
    for key in [
        "streaming-recall-test-clustered-16-euclidean-1000",
        "streaming-p99-test-clustered-16-euclidean-1000",
    ] {
        let (_, series) = figs
            .iter()
            .find(|f| f.0.ends_with(key))
            .unwrap_or_else(|| panic!("no {key} among {figs:?}"));
        assert!(series.contains("omendb-hnsw-disk ef=64"), "{series}");
    }
    let (_, p99) = figs
        .iter()
        .find(|f| {
            f.0.ends_with("streaming-p99-test-clustered-16-euclidean-1000")
        })
        .unwrap();
    assert!(
        p99.contains("under inserts") && p99.contains("read-only"),
        "{p99}"
    );
}

/// The venv's Python, or `None` (a failure under `CI=true`).
fn venv() -> Option<PathBuf> {
    let python = omenbench::data::repo_root().join(".venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    ci_common::absent("the Python venv (.venv)", "bash scripts/python-env.sh");
    None
}

/// NumPy brute force of every search step of the truth file, compared by
/// distance (ties may swap ids) with the stored ground truth.
const NUMPY_CHECK: &str = r#"
import json, sys
import numpy as np
train = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, int(sys.argv[3])).astype(np.float64)
test = np.fromfile(sys.argv[2], dtype="<f4").reshape(-1, int(sys.argv[3])).astype(np.float64)
truth = json.load(open(sys.argv[4]))
alive = np.zeros(len(train), dtype=bool)
searches = {s["step"]: s for s in truth["searches"]}
checked = 0
for i, op in enumerate(truth["ops"]):
    if op["op"] in ("insert", "insert_while_searching"):
        alive[op["start"]:op["end"]] = True
    elif op["op"] == "delete":
        alive[np.array(op["ids"], dtype=np.int64)] = False
    elif op["op"] == "search":
        s = searches[i]
        live = np.flatnonzero(alive)
        assert alive.sum() == truth["live"][i], (i, alive.sum(), truth["live"][i])
        d = ((test[:, None, :] - train[None, live, :]) ** 2).sum(-1)
        order = np.argsort(d, axis=1, kind="stable")[:, :10]
        want = np.sqrt(np.take_along_axis(d, order, axis=1))
        got = np.array(s["distances"], dtype=np.float64)
        assert got.shape == want.shape, (got.shape, want.shape)
        assert np.allclose(got, want, rtol=1e-4, atol=1e-4), (i, np.abs(got - want).max())
        ids = np.array(s["neighbors"])
        assert alive[ids].all(), i
        checked += 1
print(f"numpy agrees on {checked} search steps")
assert checked == len(truth["searches"]) and checked > 0
"#;

#[test]
fn runbook_ground_truth_agrees_with_numpy_and_hnswlib_streams() {
    let Some(python) = venv() else { return };
    std::env::set_var("OMENBENCH_PYTHON", &python);
    let ds = sweep_common::clustered(1000, 40, 16, Metric::L2, 22);
    let (out, runs) = sweep(&ds, r#"[{"name": "hnswlib", "query": {"ef": 64}}]"#);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1.process, "python");
    check(&runs);
    let (path, r) = &runs[0];
    let truth = path
        .parent()
        .unwrap()
        .join(&r.scenario.streaming.as_ref().unwrap().ground_truth_file);
    let write = |name: &str, v: &[f32]| -> PathBuf {
        let p = out.path().join(name);
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let train = write("train.f32", &ds.train);
    let test = write("test.f32", &ds.test);
    let script = out.path().join("check.py");
    std::fs::write(&script, NUMPY_CHECK).unwrap();
    let run = std::process::Command::new(&python)
        .args([
            script.as_path(),
            &train,
            &test,
            Path::new(&ds.dims.to_string()),
            &truth,
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{text}");
    assert!(text.contains("numpy agrees on 4 search steps"), "{text}");
}
