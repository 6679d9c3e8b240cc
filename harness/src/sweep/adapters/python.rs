//! Out-of-process adapters: libraries that live in Python (`hnswlib`,
//! `faiss-hnsw`, `faiss-ivfpq`, OmenDB's own binding `omendb-python`, and
//! engines brought in from a config, see `sweep::external`), run by a worker
//! script the harness starts and speaks to in JSON lines.
//!
//! # Life cycle
//! When the adapter is made, the dataset being run (exactly its train and
//! test rows) is written once as an ann-benchmarks HDF5 file into the
//! git-ignored cache (`datasets/cache/workers/`, keyed by a hash of the
//! vectors, so later builds reuse it). `build` starts
//! `<venv>/bin/python harness/adapters/<name>.py` (with `harness/python`, the
//! home of the shared `omenbench_worker` loop, on `PYTHONPATH`), which builds
//! and times its own build; each query-parameter set is then one request, for which the
//! worker runs and times every pass itself and returns the ids it found. The
//! runner takes the worker's timings instead of its own clock and computes
//! recall from the ids with the same ground truth as every other algorithm.
//! Results carry `process: "python"`.
//!
//! # Protocol (one JSON object per line)
//! Harness → worker, in order:
//! 1. `{"op": "build", "dataset": <HDF5 path>, "train_f32": <path|null>,
//!    "test_f32": <path|null>, "name", "n", "n_queries", "dims", "metric"
//!    ("euclidean" | "angular" | "ip"), "k", "threads",
//!    "build_params": {name: int}}` → `{"op": "built", "build_seconds",
//!    "rss_growth_bytes" (the worker's own RSS growth during the build, or
//!    null), "library" ("name version"), "params" (optional: the
//!    build_params echoed back, recorded in results), "pid" (optional: the
//!    worker's process id), "memory" (optional: `{"peak_reset", "before",
//!    "after"}` with `{vm_rss, vm_hwm, rss_anon}` bytes from the worker's own
//!    `/proc/self/status` around the build, peak mark reset first; the Rust
//!    worker adds `index_components` and `disk_bytes`, and a `reopen`
//!    record), see `sweep::worker::WorkerMemory`}`. Engines brought in
//!    from a config get their parameters exactly as the config wrote them
//!    (any JSON values), not just integers.
//!    `train_f32` / `test_f32` are raw little-endian f32 row-major copies,
//!    written only for workers that ask (the standard-library test worker).
//! 2. per query-parameter set: `{"op": "query", "query_params": {name: int},
//!    "k", "repeats", "warmup_seconds", "threads", "ids_file": <path|null>}` →
//!    `{"op": "result", "ids": [[int]] (when `ids_file` is null),
//!    "batch_single_thread_seconds": [..], "per_call_seconds": [..],
//!    "batch_all_threads_seconds": [..], "per_call_latency_ms": [..],
//!    "params" (optional echo of query_params), "info" (optional: anything
//!    the engine says about this set, recorded in results),
//!    "page_cache_bytes" (optional: bytes of the index's mapped files in the
//!    page cache after the passes), "reads_per_query" (optional: mean
//!    blocks read from disk per query)}`: each
//!    list of seconds holds one entry per pass (`repeats` passes each of:
//!    the whole query set in one call on 1 thread; one query per call on 1
//!    thread; the whole set in one call on `threads` threads), after
//!    `warmup_seconds` of untimed one-thread batches of the same queries
//!    (absent: 0; a worker that ignores it just runs cold). When
//!    `ids_file` is given (large runs) the worker writes the ids there
//!    instead, as raw little-endian i32, `n_queries × k`, −1 for none.
//! 3. `{"op": "quit"}` → the worker exits.
//!
//! The Rust engines' worker (`omenbench worker`, `sweep/worker.rs`) speaks
//! the same protocol with three additions: `query_params` in `build`
//! (engines that fix `ef` at build), `batch_threads` in `query` (answered
//! with `batch_scaling`), and an `open_loop` request.
//!
//! Any request may be answered `{"op": "error", "message"}` (a missing
//! package, bad parameters); stdout lines that are not JSON objects are
//! ignored. A worker that exits, or does not answer within the sweep's
//! timeouts (it is killed then), makes the build or the query-parameter set
//! fail with a recorded error; the sweep goes on.
//!
//! # Python environment
//! Workers run under `.venv/bin/python` at the repository root, made by
//! `scripts/python-env.sh` with pinned numpy, h5py, hnswlib and faiss-cpu.
//! The first time a Python adapter is made in a process, the script is run
//! (it returns at once when the environment is ready; the first time it takes
//! minutes, and says so). `OMENBENCH_PYTHON` names another interpreter and
//! skips the script. The Rust-only sweep never touches any of this.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};

use super::process::Worker;
pub use super::worker_files::{dataset_files, DatasetFiles};
use super::worker_reply::{clean_ids, parse_built, parse_result};
use super::{AlgorithmSpec, BuildContext, ParamSpec};
use crate::data;
use crate::sweep::adapter::{Adapter, Params, SelfMeasuredBuild, SelfMeasuredQueries};
use crate::sweep::external::ParamTable;
use crate::sweep::open_loop::{OpenLoad, OpenLoopPoint};

/// `process` label of these adapters.
pub const PROCESS: &str = "python";

/// Above this many ids (`n_queries × k`) the worker writes them to a binary
/// file instead of the JSON reply.
pub const IDS_FILE_ABOVE: usize = 200_000;

/// `hnswlib`: the hnswlib package (`harness/adapters/hnswlib.py`).
pub const HNSWLIB: AlgorithmSpec = AlgorithmSpec {
    name: "hnswlib",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make: &make_hnswlib,
};

/// `faiss-hnsw`: faiss-cpu `IndexHNSWFlat` (`harness/adapters/faiss_hnsw.py`).
pub const FAISS_HNSW: AlgorithmSpec = AlgorithmSpec {
    name: "faiss-hnsw",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make: &make_faiss_hnsw,
};

/// `faiss-ivfpq`: faiss-cpu `IndexIVFPQ`, optionally wrapped in
/// `IndexRefineFlat` (`refine` = 1) to re-rank `k_factor × k` candidates
/// exactly: the PQ peer of `omendb-hnsw-pq` (`harness/adapters/faiss_ivfpq.py`).
pub const FAISS_IVFPQ: AlgorithmSpec = AlgorithmSpec {
    name: "faiss-ivfpq",
    build_params: &[
        ParamSpec::new("nlist", 1024, 1, 1 << 20),
        ParamSpec::new("pq_m", 16, 1, 4096),
        ParamSpec::new("nbits", 8, 1, 16),
        ParamSpec::new("refine", 1, 0, 1),
    ],
    query_params: &[
        ParamSpec::new("nprobe", 16, 1, 1 << 20),
        ParamSpec::new("k_factor", 4, 1, 1000),
    ],
    make: &make_faiss_ivfpq,
};

/// `omendb-python`: OmenDB's HNSW through its Python binding (the wheel from
/// `python/`, installed by `scripts/python-wheel.sh --release`;
/// `harness/adapters/omendb_python.py`), to measure the binding's overhead
/// beside hnswlib's and faiss's.
pub const OMENDB_PYTHON: AlgorithmSpec = AlgorithmSpec {
    name: "omendb-python",
    build_params: &[
        ParamSpec::new("m", 16, 2, 256),
        ParamSpec::new("ef_construction", 200, 1, 100_000),
        ParamSpec::new("seed", 42, 0, i64::MAX as usize),
    ],
    query_params: &[ParamSpec::new("ef", 64, 1, 100_000)],
    make: &make_omendb_python,
};

fn make_omendb_python(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(Box::new(PythonAdapter::new(
        ctx,
        WorkerSpec::script("omendb-python", "omendb_python.py"),
    )?))
}

fn make_hnswlib(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(Box::new(PythonAdapter::new(
        ctx,
        WorkerSpec::script("hnswlib", "hnswlib.py"),
    )?))
}

fn make_faiss_hnsw(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(Box::new(PythonAdapter::new(
        ctx,
        WorkerSpec::script("faiss-hnsw", "faiss_hnsw.py"),
    )?))
}

fn make_faiss_ivfpq(ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
    Ok(Box::new(PythonAdapter::new(
        ctx,
        WorkerSpec::script("faiss-ivfpq", "faiss_ivfpq.py"),
    )?))
}

/// Which Python runs a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interpreter {
    /// `.venv/bin/python`, made by `scripts/python-env.sh` on first use
    /// (or `$OMENBENCH_PYTHON` when set).
    Venv,
    /// This program, as is (tests run a standard-library worker with the
    /// system `python3`).
    Program(PathBuf),
}

/// How to start one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSpec {
    /// Algorithm name reported by the adapter (the registry name).
    pub algorithm: String,
    /// The worker script.
    pub script: PathBuf,
    /// Extra arguments after the script path.
    pub args: Vec<String>,
    /// The interpreter.
    pub interpreter: Interpreter,
    /// Whether the worker also wants raw f32 copies of train and test (for
    /// workers that cannot read HDF5).
    pub raw_vectors: bool,
    /// Above this many ids per query set (`n_queries × k`) the worker is
    /// asked to write them to a binary file instead of its JSON reply.
    pub ids_file_above: usize,
}

impl WorkerSpec {
    /// `harness/adapters/<file>` under the venv's Python.
    pub fn script(algorithm: &str, file: &str) -> Self {
        WorkerSpec {
            algorithm: algorithm.to_string(),
            script: data::repo_root()
                .join("harness")
                .join("adapters")
                .join(file),
            args: Vec::new(),
            interpreter: Interpreter::Venv,
            raw_vectors: false,
            ids_file_above: IDS_FILE_ABOVE,
        }
    }
}

/// The venv's Python, creating the environment the first time (once per
/// process; a failure is remembered and reported for every later adapter).
pub fn venv_python() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("OMENBENCH_PYTHON").filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let root = data::repo_root();
            let script = root.join("scripts").join("python-env.sh");
            let python = root.join(".venv").join("bin").join("python");
            eprintln!(
                "omenbench: Python adapters need the pinned environment in {}; running {} \
                 (the first time it installs numpy, h5py, hnswlib, faiss-cpu and annoy: a few minutes)",
                root.join(".venv").display(),
                script.display()
            );
            let status = Command::new("bash")
                .arg(&script)
                .status()
                .map_err(|e| format!("could not run {}: {e}", script.display()))?;
            if !status.success() {
                return Err(format!(
                    "{} failed ({status}); see its output above",
                    script.display()
                ));
            }
            if !python.exists() {
                return Err(format!("{} is missing after the script", python.display()));
            }
            Ok(python)
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("Python environment: {e}"))
}

/// `PYTHONPATH` for workers: `harness/python` (the `omenbench_worker` loop)
/// before whatever the environment already holds.
fn pythonpath() -> OsString {
    let own = data::repo_root().join("harness").join("python");
    let inherited = std::env::var_os("PYTHONPATH").unwrap_or_default();
    let paths = std::iter::once(own).chain(std::env::split_paths(&inherited));
    std::env::join_paths(paths).unwrap_or_else(|_| inherited.clone())
}

/// A library running in a Python worker, behind the harness trait.
#[derive(Debug)]
pub struct PythonAdapter {
    spec: WorkerSpec,
    python: PathBuf,
    files: DatasetFiles,
    name: String,
    metric: &'static str,
    dims: usize,
    n: usize,
    n_queries: usize,
    k: usize,
    repeats: usize,
    warmup_seconds: f64,
    build_params: Params,
    build_timeout: Duration,
    query_timeout: Duration,
    threads: usize,
    worker: Option<Worker>,
    built: Option<SelfMeasuredBuild>,
    queries: Option<SelfMeasuredQueries>,
    /// The JSON parameters behind the integer sets (engines from a config).
    table: Option<Arc<ParamTable>>,
}

impl PythonAdapter {
    /// Prepares the interpreter and the dataset files; starts nothing.
    pub fn new(ctx: &BuildContext<'_>, spec: WorkerSpec) -> anyhow::Result<Self> {
        let python = match &spec.interpreter {
            Interpreter::Venv => venv_python()?,
            Interpreter::Program(p) => p.clone(),
        };
        ensure!(
            spec.script.is_file(),
            "worker script {} not found",
            spec.script.display()
        );
        let files = dataset_files(
            &data::cache_dir().join("workers"),
            ctx.data,
            spec.raw_vectors,
        )?;
        // Leave the runner's guard a margin, so a hung worker is killed and
        // reported here rather than abandoned there.
        let guard = ctx.build_timeout_seconds.max(0.1);
        let build_timeout = Duration::from_secs_f64(guard - (guard * 0.05).min(5.0));
        // One query request runs 3 × repeats passes.
        let query_timeout = Duration::from_secs_f64(
            ctx.query_timeout_seconds.max(0.1) * 3.0 * ctx.repeats.max(1) as f64,
        );
        Ok(PythonAdapter {
            python,
            files,
            name: ctx.data.name.clone(),
            metric: ctx.metric.ann_name(),
            dims: ctx.dims,
            n: ctx.n,
            n_queries: ctx.data.n_test(),
            k: ctx.k,
            repeats: ctx.repeats.max(1),
            warmup_seconds: ctx.warmup_seconds,
            build_params: ctx.build_params.clone(),
            build_timeout,
            query_timeout,
            threads: 1,
            worker: None,
            built: None,
            queries: None,
            table: None,
            spec,
        })
    }

    /// Sends the worker the JSON parameters `table` holds for each integer
    /// parameter set, instead of the integers (engines from a config).
    pub fn with_param_table(mut self, table: Arc<ParamTable>) -> Self {
        self.table = Some(table);
        self
    }

    fn build_params_json(&self) -> anyhow::Result<Value> {
        match &self.table {
            Some(t) => t.build_json(&self.build_params).cloned(),
            None => Ok(serde_json::to_value(&self.build_params)?),
        }
    }

    fn label(&self) -> String {
        format!(
            "{} worker ({})",
            self.spec.algorithm,
            self.spec.script.display()
        )
    }

    fn worker(&mut self) -> anyhow::Result<&mut Worker> {
        self.worker
            .as_mut()
            .context("the worker is not running (build failed or not run)")
    }

    fn read_ids_file(&self, path: &Path) -> anyhow::Result<Vec<Vec<i64>>> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let _ = std::fs::remove_file(path);
        let want = self.n_queries * self.k * 4;
        ensure!(
            bytes.len() == want,
            "ids file {} has {} bytes, expected {want} ({} queries × k {} × 4)",
            path.display(),
            bytes.len(),
            self.n_queries,
            self.k
        );
        let ids: Vec<i64> = bytes
            .chunks_exact(4)
            .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect();
        Ok(ids.chunks(self.k.max(1)).map(<[i64]>::to_vec).collect())
    }
}

static IDS_SEQ: AtomicUsize = AtomicUsize::new(0);

impl Adapter for PythonAdapter {
    fn name(&self) -> &str {
        &self.spec.algorithm
    }

    fn build(&mut self, train: &[f32], dims: usize, threads: usize) -> anyhow::Result<()> {
        ensure!(
            dims == self.dims && train.len() == self.n * dims,
            "build called with {} values of {dims} dims; the worker files hold {} × {}",
            train.len(),
            self.n,
            self.dims
        );
        self.threads = threads.max(1);
        let label = self.label();
        let mut args: Vec<OsString> = vec![self.spec.script.clone().into_os_string()];
        args.extend(self.spec.args.iter().map(OsString::from));
        let mut worker =
            Worker::spawn_with_env(&label, &self.python, &args, &[("PYTHONPATH", pythonpath())])?;
        let raw = self.files.raw.as_ref();
        let request = json!({
            "op": "build",
            "dataset": self.files.hdf5,
            "train_f32": raw.map(|r| &r.0),
            "test_f32": raw.map(|r| &r.1),
            "name": self.name,
            "n": self.n,
            "n_queries": self.n_queries,
            "dims": self.dims,
            "metric": self.metric,
            "k": self.k,
            "threads": self.threads,
            "build_params": self.build_params_json()?,
        });
        let reply = worker.request(&request, "built", self.build_timeout)?;
        self.built = Some(parse_built(
            &reply,
            Some(self.spec.script.display().to_string()),
        )?);
        self.worker = Some(worker);
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.queries = None;
        let ids_file = (self.n_queries * self.k > self.spec.ids_file_above).then(|| {
            std::env::temp_dir().join(format!(
                "omenbench-ids-{}-{}.bin",
                std::process::id(),
                IDS_SEQ.fetch_add(1, Ordering::SeqCst)
            ))
        });
        let query_params = match &self.table {
            Some(t) => t.query_json(params)?.clone(),
            None => serde_json::to_value(params)?,
        };
        let request = json!({
            "op": "query",
            "query_params": query_params,
            "k": self.k,
            "repeats": self.repeats,
            "warmup_seconds": self.warmup_seconds,
            "threads": self.threads,
            "ids_file": ids_file,
        });
        let timeout = self.query_timeout;
        let reply = self.worker()?.request(&request, "result", timeout)?;
        let rows: Vec<Vec<i64>> = match &ids_file {
            Some(path) => self.read_ids_file(path)?,
            None => serde_json::from_value(
                reply
                    .get("ids")
                    .cloned()
                    .context("`result` reply has no ids")?,
            )
            .context("`ids` is not a list of lists of integers")?,
        };
        let sq = parse_result(&reply, clean_ids(rows, self.n_queries, self.k, self.n)?)?;
        self.queries = Some(sq);
        Ok(())
    }

    fn search(&self, _query: &[f32], _k: usize) -> anyhow::Result<Vec<u32>> {
        bail!(
            "{}: out-of-process adapters run whole query sets in their worker; \
             single searches are not available",
            self.spec.algorithm
        )
    }

    fn batch_search(&self, _q: &[f32], _dims: usize, _k: usize) -> anyhow::Result<Vec<Vec<u32>>> {
        self.search(&[], 0).map(|_| Vec::new())
    }

    fn process(&self) -> &str {
        PROCESS
    }

    fn self_measured_build(&self) -> Option<SelfMeasuredBuild> {
        self.built.clone()
    }

    fn self_measured_queries(&self) -> Option<&SelfMeasuredQueries> {
        self.queries.as_ref()
    }

    fn open_loop(
        &mut self,
        _qp: &Params,
        _load: &OpenLoad,
    ) -> Option<anyhow::Result<OpenLoopPoint>> {
        Some(Err(anyhow::anyhow!(
            "open-loop load is driven by omenbench's own workers; Python workers do not offer it"
        )))
    }
}
