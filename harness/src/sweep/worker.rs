//! `omenbench worker ALGORITHM`: one of the built-in Rust engines hosted in
//! a process of its own, spoken to in the Python workers' JSON-lines
//! protocol (`adapters/python.rs` documents it), so every engine of a sweep
//! is built in a fresh process and its memory is measured the same way
//! (`adapters/isolated.rs` is the harness's side).
//!
//! Beside the requests every worker answers (`build`, `query`, `quit`) this
//! one takes two additions, which Python workers do not need:
//! * `build` may carry `query_params` (engines whose `ef` is fixed at
//!   build), and `query` may carry `batch_threads` (the scaling curve: its
//!   reply then holds `batch_scaling: [{"threads", "seconds": [..]}]`);
//! * `{"op": "open_loop", "query_params", "k", "load": {"offered_qps",
//!   "queries", "threads"}}` → `{"op": "open_loop_result", "point": {..}}`
//!   (`open_loop.rs`).
//!
//! Every worker (Python's `omenbench_worker.py` too) answers `build` with
//! its `pid` and a `memory` object ([`WorkerMemory`]): its own
//! `/proc/self/status` just before and just after the build, the peak mark
//! reset right before, and the index's own accounting where it keeps one.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use rayon::ThreadPoolBuilder;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::adapter::{warm_up, Adapter, Params, IN_PROCESS};
use super::adapters::{BuildContext, Registry};
use super::memory::{self, MemoryComponents, MemoryReport, RssSample};
use super::open_loop::{self, OpenLoad};
use crate::data::Dataset;

/// Memory around one build, as a worker samples its own process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerMemory {
    /// Whether the peak mark (`VmHWM`) was reset just before the build.
    pub peak_reset: bool,
    /// `/proc/self/status` just before the build (dataset loaded).
    pub before: RssSample,
    /// `/proc/self/status` just after the build.
    pub after: RssSample,
    /// The index's own accounting (engines that keep one).
    #[serde(default)]
    pub index_components: Option<MemoryComponents>,
    /// Bytes the index keeps on disk.
    #[serde(default)]
    pub disk_bytes: Option<u64>,
}

impl WorkerMemory {
    /// The harness's memory report of these samples.
    pub fn report(&self) -> MemoryReport {
        let mut m = MemoryReport::from_samples(self.before, self.after, self.peak_reset);
        m.index_components = self.index_components;
        m.disk_bytes = self.disk_bytes;
        m
    }
}

#[derive(Deserialize)]
struct BuildRequest {
    train_f32: PathBuf,
    test_f32: PathBuf,
    name: String,
    n: usize,
    n_queries: usize,
    dims: usize,
    metric: String,
    k: usize,
    threads: usize,
    build_params: Params,
    #[serde(default)]
    query_params: Option<Params>,
}

#[derive(Deserialize)]
struct QueryRequest {
    query_params: Params,
    k: usize,
    repeats: usize,
    #[serde(default)]
    warmup_seconds: f64,
    threads: usize,
    #[serde(default)]
    batch_threads: Vec<usize>,
}

#[derive(Deserialize)]
struct OpenLoopRequest {
    query_params: Params,
    k: usize,
    load: OpenLoad,
}

/// Reads `rows × dims` little-endian f32 values from `path`.
fn read_f32(path: &Path, rows: usize, dims: usize) -> anyhow::Result<Vec<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        bytes.len() == rows * dims * 4,
        "{} holds {} bytes, expected {rows} × {dims} f32",
        path.display(),
        bytes.len()
    );
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// The engine this worker hosts, once built.
struct Hosted {
    adapter: Box<dyn Adapter>,
    data: Arc<Dataset>,
}

/// Answers requests on stdin until `quit` (or stdin closes), hosting the
/// built-in Rust engine `algorithm`.
pub fn serve(algorithm: &str) -> anyhow::Result<()> {
    let registry = Registry::builtin();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut hosted: Option<Hosted> = None;
    for line in stdin.lock().lines() {
        let line = line.context("reading a request")?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Value>(&line) {
            Ok(req) if req.get("op").and_then(Value::as_str) == Some("quit") => break,
            Ok(req) => {
                let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    answer(&registry, algorithm, &mut hosted, req)
                }));
                match answer {
                    Ok(Ok(reply)) => reply,
                    Ok(Err(e)) => json!({"op": "error", "message": format!("{e:#}")}),
                    Err(p) => json!({
                        "op": "error",
                        "message": format!("panicked: {}", super::guard::panic_message(&*p)),
                    }),
                }
            }
            Err(e) => json!({"op": "error", "message": format!("not a JSON request: {e}")}),
        };
        writeln!(out, "{reply}").context("writing a reply")?;
        out.flush().context("writing a reply")?;
    }
    Ok(())
}

fn answer(
    registry: &Registry,
    algorithm: &str,
    hosted: &mut Option<Hosted>,
    req: Value,
) -> anyhow::Result<Value> {
    match req.get("op").and_then(Value::as_str) {
        Some("build") => {
            let (h, reply) = build(registry, algorithm, serde_json::from_value(req)?)?;
            *hosted = Some(h);
            Ok(reply)
        }
        Some("query") => query(
            hosted.as_mut().context("query before build")?,
            serde_json::from_value(req)?,
        ),
        Some("open_loop") => {
            let h = hosted.as_mut().context("open_loop before build")?;
            let r: OpenLoopRequest = serde_json::from_value(req)?;
            h.adapter.set_query_params(&r.query_params)?;
            let d = &h.data;
            let point = open_loop::drive(&*h.adapter, &d.test, d.dims, r.k, &r.load)?;
            Ok(json!({"op": "open_loop_result", "point": point}))
        }
        other => bail!("unknown op {other:?}"),
    }
}

fn build(
    registry: &Registry,
    algorithm: &str,
    req: BuildRequest,
) -> anyhow::Result<(Hosted, Value)> {
    let spec = registry
        .get(algorithm)
        .with_context(|| format!("unknown algorithm `{algorithm}`"))?;
    let data = Arc::new(Dataset {
        name: req.name,
        metric: req.metric.parse()?,
        dims: req.dims,
        train: read_f32(&req.train_f32, req.n, req.dims)?,
        test: read_f32(&req.test_f32, req.n_queries, req.dims)?,
        neighbors: Vec::new(),
        distances: Vec::new(),
    });
    let ctx = BuildContext {
        dims: data.dims,
        metric: data.metric,
        n: req.n,
        k: req.k,
        build_params: &req.build_params,
        data: &data,
        repeats: 1,
        warmup_seconds: 0.0,
        build_timeout_seconds: f64::MAX,
        query_timeout_seconds: f64::MAX,
    };
    let mut adapter = (spec.make)(&ctx)?;
    ensure!(
        adapter.process() == IN_PROCESS,
        "`{algorithm}` runs in a {} worker of its own, not in `omenbench worker`",
        adapter.process()
    );
    if let Some(qp) = &req.query_params {
        adapter.set_query_params(qp)?;
    }
    let threads = req.threads.max(1);
    let pool = ThreadPoolBuilder::new().num_threads(threads).build()?;
    let peak_reset = memory::reset_peak();
    let before = RssSample::now();
    let t0 = Instant::now();
    pool.install(|| adapter.build(&data.train, data.dims, threads))?;
    let seconds = t0.elapsed().as_secs_f64();
    let after = RssSample::now();
    let mem = WorkerMemory {
        peak_reset,
        before,
        after,
        index_components: adapter.memory_usage().map(Into::into),
        disk_bytes: adapter.disk_bytes(),
    };
    let reply = json!({
        "op": "built",
        "build_seconds": seconds,
        "rss_growth_bytes": mem.report().rss_anon_growth_bytes,
        "library": format!("{algorithm} (omenbench {})", env!("CARGO_PKG_VERSION")),
        "params": req.build_params,
        "pid": std::process::id(),
        "memory": mem,
        "reopen": adapter.reopen(),
    });
    Ok((Hosted { adapter, data }, reply))
}

/// `repeats` timed runs of `pass`, seconds each.
fn timed(repeats: usize, mut pass: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Vec<f64>> {
    (0..repeats)
        .map(|_| {
            let t0 = Instant::now();
            pass()?;
            Ok(t0.elapsed().as_secs_f64())
        })
        .collect()
}

fn query(h: &mut Hosted, req: QueryRequest) -> anyhow::Result<Value> {
    h.adapter.set_query_params(&req.query_params)?;
    let (a, d, k) = (&*h.adapter, &*h.data, req.k);
    let repeats = req.repeats.max(1);
    let threads = req.threads.max(1);
    let pool = |n: usize| ThreadPoolBuilder::new().num_threads(n).build();
    let batch = |n: usize| -> anyhow::Result<Vec<f64>> {
        let p = pool(n)?;
        timed(repeats, || {
            let found = p.install(|| a.batch_search(&d.test, d.dims, k))?;
            ensure!(
                found.len() == d.n_test(),
                "batch_search returned {} rows",
                found.len()
            );
            Ok(())
        })
    };
    let single = pool(1)?;
    single.install(|| warm_up(a, d, k, req.warmup_seconds))?;
    let mut ids = Vec::new();
    let batch_single_thread = timed(repeats, || {
        let found = single.install(|| a.batch_search(&d.test, d.dims, k))?;
        if ids.is_empty() {
            ids = found;
        }
        Ok(())
    })?;
    ensure!(
        ids.len() == d.n_test(),
        "batch_search returned {} rows",
        ids.len()
    );
    let mut latencies = Vec::with_capacity(repeats * d.n_test());
    let per_call = timed(repeats, || {
        for q in d.test.chunks_exact(d.dims) {
            let t = Instant::now();
            a.search(q, k)?;
            latencies.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(())
    })?;
    let mut counts = req.batch_threads.clone();
    if !counts.contains(&threads) {
        counts.push(threads);
    }
    counts.sort_unstable();
    counts.dedup();
    let scaling = counts
        .iter()
        .map(|&n| Ok((n, batch(n)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let all_threads = scaling
        .iter()
        .find(|(n, _)| *n == threads)
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    Ok(json!({
        "op": "result",
        "ids": ids,
        "page_cache_bytes": a.page_cache_bytes(),
        "reads_per_query": a.reads_per_query(),
        "batch_single_thread_seconds": batch_single_thread,
        "per_call_seconds": per_call,
        "batch_all_threads_seconds": all_threads,
        "per_call_latency_ms": latencies,
        "batch_scaling": scaling
            .iter()
            .filter(|(n, _)| req.batch_threads.contains(n))
            .map(|(n, s)| json!({"threads": n, "seconds": s}))
            .collect::<Vec<_>>(),
        "params": req.query_params,
    }))
}
