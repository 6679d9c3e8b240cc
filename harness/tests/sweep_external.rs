//! Engines brought in from the config, end to end through `run_sweep`: a
//! worker script written here (NumPy brute force) reaches recall 1.0; the
//! committed example ann-benchmarks module (Annoy) reaches sane recall on a
//! 10k set through the committed example config; modules that raise on
//! import, lack their class or reject their arguments give that run an error
//! and the sweep goes on; parameters reach the module unchanged and are
//! recorded in the results; a module inside an ann-benchmarks checkout runs
//! on that checkout's own `BaseANN`.
//!
//! These need the project's venv (`scripts/python-env.sh`, run by
//! `scripts/test.sh`) with numpy, h5py and annoy. Without it they say so and
//! return, except under `CI=true`, where they fail.

mod sweep_common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use omenbench::data::{repo_root, Dataset};
use omenbench::sweep::results::{read_result, RunResult};
use omenbench::sweep::{run_sweep, Registry, SweepConfig, SweepOptions};
use omendb::Metric;
use serde_json::{json, Value};

/// The venv's Python with `packages` importable; `None` (test skipped with
/// a note) when absent, a failure under `CI=true`.
fn venv_with(packages: &str) -> Option<PathBuf> {
    let python = repo_root().join(".venv/bin/python");
    let ok = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", &format!("import {packages}")])
            .output()
            .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    let why = format!(
        "{} cannot import {packages}: run scripts/python-env.sh",
        python.display()
    );
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI=true: {why}"
    );
    eprintln!("NOTE: {why}; test skipped");
    None
}

/// Runs `cfg` on `ds` (whatever datasets the config names).
fn sweep(ds: &Dataset, cfg: &SweepConfig) -> (tempfile::TempDir, Vec<RunResult>) {
    let sweep = cfg.validate(&Registry::builtin()).unwrap();
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
        .map(|p| read_result(p).unwrap())
        .collect();
    (out, runs)
}

fn config(algorithms: Value) -> SweepConfig {
    let text = json!({
        "datasets": ["in-memory"], "scales": [1], "repeats": 1, "k": 10, "threads": 2,
        "algorithms": algorithms,
    });
    SweepConfig::from_json(&text.to_string()).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const EXACT_WORKER: &str = r#"
import numpy as np
import omenbench_worker


class Exact:
    def library(self):
        return f"numpy-exact {np.__version__}"

    def build(self, train, metric, params, threads):
        if metric != "euclidean":
            raise ValueError(metric)
        self.x = train
        self.norms = (train * train).sum(1)

    def set_query_params(self, params):
        self.params = params

    def batch(self, queries, k, threads):
        d = self.norms[None, :] - 2.0 * queries @ self.x.T
        return np.argsort(d, axis=1, kind="stable")[:, :k]

    def one(self, query, k):
        return self.batch(query[None, :], k, 1)[0]

    def info(self):
        return {"saw": self.params}


if __name__ == "__main__":
    omenbench_worker.serve(Exact)
"#;

#[test]
fn a_worker_script_written_here_gets_exact_recall() {
    let Some(python) = venv_with("numpy, h5py") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "exact_worker.py", EXACT_WORKER);
    let ds = sweep_common::clustered(2000, 40, 16, Metric::L2, 5);
    let cfg = config(json!([
        {"name": "numpy-exact", "worker": script, "python": python,
         "build": {"block": [256, 1024], "note": "as written"},
         "query": {"mode": ["a", "b"]}},
        {"name": "omendb-flat"}
    ]));
    let (out, runs) = sweep(&ds, &cfg);
    assert_eq!(runs.len(), 5);
    for r in &runs[..4] {
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.algorithm, "numpy-exact");
        assert_eq!(r.process, "python");
        assert_eq!(r.recall_at_10, Some(1.0));
        assert_eq!(r.id_recall_at_10, Some(1.0));
        let w = r.worker.as_ref().unwrap();
        assert_eq!(w.script.as_deref(), Some(script.as_str()));
        assert!(
            w.library.as_deref().unwrap().starts_with("numpy-exact "),
            "{:?}",
            w.library
        );
        assert!(r.qps_single_thread.unwrap() > 0.0 && r.qps_batch.unwrap() > 0.0);
    }
    // Values pass through as written; labels name each set.
    let first = runs[0].worker.as_ref().unwrap();
    assert_eq!(
        first.build_params,
        Some(json!({"block": 256, "note": "as written"}))
    );
    assert_eq!(first.query_params, Some(json!({"mode": "a"})));
    assert_eq!(first.info, Some(json!({"saw": {"mode": "a"}})));
    assert_eq!(runs[0].build_params.get("block"), Some(&256));
    assert_eq!(
        runs[1].query_params.as_ref().unwrap().get("mode#"),
        Some(&1)
    );
    assert_eq!(runs[3].build_params.get("block"), Some(&1024));
    assert!(runs[4].error.is_none() && runs[4].process == "in-process");
    // The report names the worker and the library it reported.
    let dir = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let index = omenbench::report::write_report(&dir, &out.path().join("report")).unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    let line = format!(
        "numpy-exact: {} ({script})",
        first.library.as_deref().unwrap()
    );
    assert!(html.contains(&line), "no `{line}` in the report");
}

#[test]
fn the_example_annoy_module_reaches_sane_recall_on_10k() {
    let Some(python) = venv_with("numpy, h5py, annoy") else {
        return;
    };
    // The committed example config, on an in-memory 10k set.
    let mut cfg =
        SweepConfig::load(&repo_root().join("harness/configs/annb-annoy-10k.json")).unwrap();
    cfg.repeats = 1;
    for a in &mut cfg.algorithms {
        a.python = Some(python.display().to_string());
    }
    let ds = sweep_common::clustered(10_000, 100, 32, Metric::L2, 9);
    let (_out, runs) = sweep(&ds, &cfg);
    assert!(!runs.is_empty());
    let mut last = 0.0;
    for r in &runs {
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.algorithm, "annb:annoy");
        let w = r.worker.as_ref().unwrap();
        assert!(
            w.library.as_deref().unwrap().contains("annoy 1.17.3"),
            "{:?}",
            w.library
        );
        let info = w.info.as_ref().unwrap();
        assert!(info["name"].as_str().unwrap().starts_with("Annoy(n_trees="));
        let recall = r.id_recall_at_10.unwrap();
        assert!(recall + 0.02 >= last, "recall fell: {last} then {recall}");
        last = recall;
    }
    assert!(last >= 0.9, "recall@10 at the largest search_k: {last}");
}

const RECORDING_MODULE: &str = r#"
import numpy as np
from ann_benchmarks.algorithms.base.module import BaseANN


class Recording(BaseANN):
    def __init__(self, *args):
        self.init_args = list(args)
        self.query_args = None

    def fit(self, X):
        self.x = X

    def set_query_arguments(self, *args):
        self.query_args = list(args)

    def query(self, v, n):
        d = ((self.x - v) ** 2).sum(1)
        return np.argsort(d, kind="stable")[:n]

    def get_additional(self):
        return {"init_args": self.init_args, "query_args": self.query_args}

    def __str__(self):
        return f"Recording({self.query_args})"
"#;

#[test]
fn parameters_reach_the_module_unchanged() {
    let Some(python) = venv_with("numpy, h5py") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let module = write(dir.path(), "recording/module.py", RECORDING_MODULE);
    let ds = sweep_common::clustered(500, 20, 8, Metric::L2, 3);
    let nested = json!({"M": 16, "tags": ["a", "b"], "ratio": 0.5});
    let cfg = config(json!([
        {"name": "annb:recording", "annb_module": module, "constructor": "Recording",
         "python": python,
         "args": ["@metric", "@dimension", 0.25, nested, [3, 5]],
         "query_args": [["fast", "slow"], [1.5]]}
    ]));
    let (_out, runs) = sweep(&ds, &cfg);
    assert_eq!(runs.len(), 4);
    let expect = [(3, "fast"), (3, "slow"), (5, "fast"), (5, "slow")];
    for (r, (n, mode)) in runs.iter().zip(expect) {
        assert!(r.error.is_none(), "{:?}", r.error);
        assert_eq!(r.recall_at_10, Some(1.0));
        let w = r.worker.as_ref().unwrap();
        // What the worker received (the config's values, as written)…
        assert_eq!(
            w.build_params,
            Some(json!({"args": ["@metric", "@dimension", 0.25, nested, n]}))
        );
        assert_eq!(w.query_params, Some(json!({"query_args": [mode, 1.5]})));
        // …and what the module itself recorded (placeholders replaced).
        let info = w.info.as_ref().unwrap();
        let args = json!(["euclidean", 8, 0.25, nested, n]);
        assert_eq!(info["args"], args);
        assert_eq!(info["additional"]["init_args"], args);
        assert_eq!(info["additional"]["query_args"], json!([mode, 1.5]));
        assert_eq!(info["name"], json!(format!("Recording(['{mode}', 1.5])")));
        assert_eq!(r.build_params.get("args[4]"), Some(&n));
        let qp = r.query_params.as_ref().unwrap();
        assert_eq!(qp.get("query_args[0]#"), Some(&usize::from(mode == "slow")));
        assert!(
            w.library.as_deref().unwrap().contains("numpy"),
            "{:?}",
            w.library
        );
    }
}

#[test]
fn broken_modules_are_that_runs_error_and_the_sweep_goes_on() {
    let Some(python) = venv_with("numpy, h5py") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raises = write(
        dir.path(),
        "raises/module.py",
        "raise RuntimeError('boom at import')\n",
    );
    let picky = write(
        dir.path(),
        "picky/module.py",
        r#"
import numpy as np
from ..base.module import BaseANN


class Picky(BaseANN):
    def __init__(self, metric, n):
        self.n = n

    def fit(self, X):
        self.x = X

    def set_query_arguments(self, level):
        if level < 0:
            raise ValueError(f"level {level} is negative")

    def query(self, v, n):
        return np.argsort(((self.x - v) ** 2).sum(1))[:n]
"#,
    );
    let ds = sweep_common::clustered(300, 10, 8, Metric::L2, 4);
    let cfg = config(json!([
        {"name": "annb:raises", "annb_module": raises, "constructor": "X", "python": python},
        {"name": "annb:no-class", "annb_module": picky, "constructor": "Missing", "python": python},
        {"name": "annb:rejects", "annb_module": picky, "constructor": "Picky", "python": python,
         "args": ["@metric"]},
        {"name": "annb:query", "annb_module": picky, "constructor": "Picky", "python": python,
         "args": ["@metric", 1], "query_args": [[-1, 2]]},
        {"name": "omendb-flat"}
    ]));
    let (_out, runs) = sweep(&ds, &cfg);
    assert_eq!(runs.len(), 6);
    let err = |i: usize| runs[i].error.clone().unwrap_or_default();
    assert!(
        err(0).contains("importing") && err(0).contains("boom at import"),
        "{}",
        err(0)
    );
    assert!(
        err(1).contains("has no `Missing`") && err(1).contains("Picky"),
        "{}",
        err(1)
    );
    assert!(
        err(2).contains("Picky(*['euclidean'])") && err(2).contains("TypeError"),
        "{}",
        err(2)
    );
    assert!(
        err(3).contains("set_query_arguments(*[-1])") && err(3).contains("negative"),
        "{}",
        err(3)
    );
    // The next query set on the same build, and the next entry, ran.
    assert!(runs[4].error.is_none(), "{:?}", runs[4].error);
    assert_eq!(runs[4].recall_at_10, Some(1.0));
    assert!(runs[5].error.is_none() && runs[5].algorithm == "omendb-flat");
}

#[test]
fn config_errors_name_the_field() {
    let err = |algorithms: Value| {
        format!(
            "{:#}",
            config(algorithms)
                .validate(&Registry::builtin())
                .unwrap_err()
        )
    };
    let e = err(json!([{"name": "mine", "worker": "/nope/worker.py"}]));
    assert!(
        e.contains("algorithms[0].worker") && e.contains("/nope/worker.py"),
        "{e}"
    );
    let e = err(json!([{"name": "annb:x", "annb_module": "nope/module.py", "constructor": "A"}]));
    assert!(e.contains("algorithms[0].annb_module"), "{e}");
    let example = "harness/examples/annb/annoy/module.py";
    let e = err(json!([{"name": "annoy", "annb_module": example, "constructor": "Annoy"}]));
    assert!(
        e.contains("algorithms[0].name") && e.contains("annb:"),
        "{e}"
    );
    let e = err(json!([{"name": "annb:a", "annb_module": example}]));
    assert!(e.contains("algorithms[0].constructor"), "{e}");
    let e = err(
        json!([{"name": "annb:a", "annb_module": example, "constructor": "Annoy",
                        "build": {"m": 1}}]),
    );
    assert!(e.contains("args") && e.contains("build"), "{e}");
    let e = err(
        json!([{"name": "annb:a", "annb_module": example, "constructor": "Annoy",
                        "args": {"n_trees": 5}}]),
    );
    assert!(e.contains("algorithms[0].args"), "{e}");
    let worker = "harness/examples/workers/faiss_ivfflat.py";
    let e = err(json!([{"name": "hnswlib", "worker": worker}]));
    assert!(e.contains("built-in"), "{e}");
    let e = err(json!([{"name": "w", "worker": worker, "args": [1]}]));
    assert!(e.contains("algorithms[0].args"), "{e}");
    let e = err(json!([{"name": "hnsw_rs", "python": "python3"}]));
    assert!(e.contains("algorithms[0].python"), "{e}");
    let e = err(json!([{"name": "w", "worker": worker},
                       {"name": "w", "worker": "harness/adapters/hnswlib.py"}]));
    assert!(e.contains("algorithms[1].name"), "{e}");
    // Both paths resolve from the repository root when not found here.
    let ok = config(json!([{"name": "w", "worker": worker},
                           {"name": "annb:a", "annb_module": example, "constructor": "Annoy"}]));
    let s = ok.validate(&Registry::builtin()).unwrap();
    assert_eq!(s.algorithms[0].spec.name, "w");
    assert_eq!(s.algorithms[1].spec.name, "annb:a");
}

#[test]
fn a_module_in_an_ann_benchmarks_checkout_uses_the_checkouts_base() {
    let Some(python) = venv_with("numpy, h5py") else {
        return;
    };
    // The layout of an ann-benchmarks checkout: a package `ann_benchmarks`,
    // namespace folders below it, and the checkout's own BaseANN.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ann_benchmarks/__init__.py", "");
    write(
        dir.path(),
        "ann_benchmarks/algorithms/base/module.py",
        "class BaseANN:\n    origin = 'checkout'\n    def done(self):\n        pass\n    \
         def get_memory_usage(self):\n        return None\n    def get_additional(self):\n        \
         return {'origin': self.origin}\n    def __str__(self):\n        return self.name\n",
    );
    let module = write(
        dir.path(),
        "ann_benchmarks/algorithms/exact/module.py",
        r#"
import numpy as np
from ..base.module import BaseANN


class Exact(BaseANN):
    def __init__(self, metric):
        self.name = f"Exact({metric})"

    def fit(self, X):
        self.x = X

    def query(self, v, n):
        return np.argsort(((self.x - v) ** 2).sum(1))[:n]

    def batch_query(self, X, n):
        self.res = [self.query(v, n) for v in X]

    def get_batch_results(self):
        return self.res
"#,
    );
    let ds = sweep_common::clustered(400, 10, 8, Metric::L2, 6);
    let cfg = config(json!([
        {"name": "annb:exact", "annb_module": module, "constructor": "Exact",
         "python": python, "args": ["@metric"]}
    ]));
    let (_out, runs) = sweep(&ds, &cfg);
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.recall_at_10, Some(1.0));
    let info = r.worker.as_ref().unwrap().info.as_ref().unwrap();
    assert_eq!(info["additional"], json!({"origin": "checkout"}));
    assert_eq!(info["name"], json!("Exact(euclidean)"));
    assert_eq!(info["index_size_kb"], Value::Null);
}

/// A lock some other process holds on a dataset file does not stop workers
/// or the harness reading it. The C library opens files without
/// close-on-exec, so a worker started while another thread writes a dataset
/// inherits that write's lock and keeps it for its life; with HDF5 locking
/// on, every later open of that file failed with EAGAIN (a CI failure).
#[test]
fn a_dataset_file_locked_by_another_process_is_still_read() {
    use std::io::BufRead;
    let Some(python) = venv_with("numpy, h5py") else {
        return;
    };
    let ds = sweep_common::clustered(300, 10, 8, Metric::L2, 17);
    let files = omenbench::sweep::adapters::worker_files::dataset_files(
        &omenbench::data::cache_dir().join("workers"),
        &ds,
        false,
    )
    .unwrap();
    // The lock HDF5 itself takes on a file opened for writing.
    let mut holder = std::process::Command::new(&python)
        .args([
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'rb')\n\
             fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nprint('locked', flush=True)\n\
             time.sleep(120)",
        ])
        .arg(&files.hdf5)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let read = omenbench::data::read_hdf5(&files.hdf5);
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "exact_worker.py", EXACT_WORKER);
    let (_out, runs) = sweep(
        &ds,
        &config(json!([{"name": "numpy-exact", "worker": script, "python": python}])),
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(read.unwrap().n_train(), 300);
    assert_eq!(runs.len(), 1);
    assert!(runs[0].error.is_none(), "{:?}", runs[0].error);
    assert_eq!(runs[0].recall_at_10, Some(1.0));
}
