//! The one harness trait every benchmarked algorithm implements.
//!
//! Modelled on ann-benchmarks' `BaseANN` (`fit`, `set_query_arguments`,
//! `query`, `batch_query`, `get_memory_usage`): narrow, so a new engine is one
//! small file under `adapters/`.

use std::collections::BTreeMap;
use std::time::Instant;

use omendb::MemoryUsage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::memory::{MemoryReport, RssSample};
use super::open_loop::{OpenLoad, OpenLoopPoint};

/// Named integer parameters (`m`, `ef_construction`, `ef`, …), in name order
/// so results and file names are stable.
pub type Params = BTreeMap<String, usize>;

/// An index under test, as the sweep runner sees it.
///
/// Life cycle: made by its [`AlgorithmSpec`](super::AlgorithmSpec) from one
/// build-parameter set, [`build`](Adapter::build) once, then for each
/// query-parameter set [`set_query_params`](Adapter::set_query_params)
/// followed by searches. An adapter whose [`ef_fixed_at_build`]
/// (Adapter::ef_fixed_at_build) is true receives its query parameters
/// *before* `build` and is rebuilt by the runner for every query-parameter set.
pub trait Adapter: Send + Sync {
    /// The algorithm's registry name, e.g. `hnsw_rs`.
    fn name(&self) -> &str;

    /// Whether query parameters (`ef`) are fixed when the index is built, so
    /// sweeping them means rebuilding (instant-distance).
    fn ef_fixed_at_build(&self) -> bool {
        false
    }

    /// Indexes `train` (row-major, `dims` wide; row number = id). The runner
    /// calls this inside a rayon pool of `threads` threads, so parallel
    /// builds should use the current pool.
    fn build(&mut self, train: &[f32], dims: usize, threads: usize) -> anyhow::Result<()>;

    /// Sets the query-time parameters for the searches that follow.
    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()>;

    /// Ids (train row numbers) of the `k` nearest neighbours found for one
    /// query, closest first.
    fn search(&self, query: &[f32], k: usize) -> anyhow::Result<Vec<u32>>;

    /// Searches every row of `queries` on the current rayon pool.
    fn batch_search(
        &self,
        queries: &[f32],
        dims: usize,
        k: usize,
    ) -> anyhow::Result<Vec<Vec<u32>>> {
        queries
            .par_chunks_exact(dims)
            .map(|q| self.search(q, k))
            .collect()
    }

    /// The index's own accounting of the bytes it holds, by component, when
    /// the engine provides one; `None` when it does not (reference crates).
    fn memory_usage(&self) -> Option<MemoryUsage> {
        None
    }

    /// Bytes the index keeps on disk, when it persists anything.
    fn disk_bytes(&self) -> Option<u64> {
        None
    }

    /// Bytes of the index's memory-mapped files the page cache holds now
    /// (disk-backed indexes; `None` for every other adapter): RAM that its
    /// own accounting leaves out, read after the query passes.
    fn page_cache_bytes(&self) -> Option<u64> {
        None
    }

    /// Mean blocks read from disk per query since the last call (or since
    /// [`set_query_params`](Adapter::set_query_params)), for indexes that
    /// read per query; `None` for every other adapter.
    fn reads_per_query(&self) -> Option<f64> {
        None
    }

    /// How the reopen went, for adapters whose build ends by closing the
    /// index and opening it again from its directory (disk-backed indexes,
    /// see [`ReopenStats::measure`]); `None` for every other adapter.
    fn reopen(&self) -> Option<ReopenStats> {
        None
    }

    /// Where the library runs: `in-process` (the default) or the kind of
    /// worker process it runs in (`python`); recorded as `process` in results.
    fn process(&self) -> &str {
        IN_PROCESS
    }

    /// Build figures the adapter measured itself (out-of-process workers,
    /// whose build time excludes process start-up and data loading). The
    /// runner records these instead of its own clock when present.
    fn self_measured_build(&self) -> Option<SelfMeasuredBuild> {
        None
    }

    /// Query figures the adapter measured itself for the current
    /// query-parameter set (out-of-process workers time their own passes).
    /// When present the runner records them instead of timing
    /// [`search`](Adapter::search) calls, and computes recall from their ids.
    fn self_measured_queries(&self) -> Option<&SelfMeasuredQueries> {
        None
    }

    /// Offers `load` at query parameters `qp` in the adapter's own process,
    /// for adapters that run in a worker; `None` when the harness drives
    /// [`search`](Adapter::search) itself (in-process adapters).
    fn open_loop(
        &mut self,
        _qp: &Params,
        _load: &OpenLoad,
    ) -> Option<anyhow::Result<OpenLoopPoint>> {
        None
    }
}

/// The `process` label of adapters that run inside the harness.
pub const IN_PROCESS: &str = "in-process";

/// What reopening a disk-backed index cost: its open time and the process's
/// resident memory just before and just after the open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ReopenStats {
    /// Wall time of the open call (validation, mapping, graph load).
    pub open_seconds: f64,
    /// Process memory just before the open (the built index already closed).
    pub rss_before_open: RssSample,
    /// Process memory just after the open.
    pub rss_after_open: RssSample,
}

impl ReopenStats {
    /// Runs `open`, timing it and sampling `/proc/self/status` on either
    /// side (outside the timed span).
    pub fn measure<T>(open: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Self)> {
        let rss_before_open = RssSample::now();
        let t = Instant::now();
        let opened = open()?;
        let open_seconds = t.elapsed().as_secs_f64();
        let rss_after_open = RssSample::now();
        Ok((
            opened,
            ReopenStats {
                open_seconds,
                rss_before_open,
                rss_after_open,
            },
        ))
    }

    /// `VmRSS` after the open, bytes.
    pub fn rss_after_open_bytes(&self) -> Option<u64> {
        self.rss_after_open.vm_rss
    }

    /// `VmRSS` after − before the open: everything the open made resident,
    /// file pages it touched included.
    pub fn rss_growth_bytes(&self) -> Option<i64> {
        Some(self.rss_after_open.vm_rss? as i64 - self.rss_before_open.vm_rss? as i64)
    }

    /// `RssAnon` after − before the open: heap the open allocated (graph,
    /// codes, id maps), not mapped file pages.
    pub fn rss_anon_growth_bytes(&self) -> Option<i64> {
        Some(self.rss_after_open.rss_anon? as i64 - self.rss_before_open.rss_anon? as i64)
    }
}

/// A build as timed by an out-of-process worker.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfMeasuredBuild {
    /// The worker's own wall time for the build call.
    pub seconds: f64,
    /// Growth of the worker's own resident memory during the build, bytes.
    pub worker_rss_growth_bytes: Option<i64>,
    /// Library name and version as the worker reports them.
    pub library: Option<String>,
    /// The worker script, as a path.
    pub script: Option<String>,
    /// The build parameters as the worker echoed them back.
    pub params: Option<serde_json::Value>,
    /// The worker's process id.
    pub pid: Option<u32>,
    /// Memory around the build as the worker sampled its own
    /// `/proc/self/status` (peak mark reset just before), and the index's
    /// own accounting when the engine keeps one; `None` from workers that
    /// do not report it.
    pub memory: Option<MemoryReport>,
    /// The reopen that ended the build (disk-backed engines in a worker).
    pub reopen: Option<ReopenStats>,
}

/// One query-parameter set as run and timed by an out-of-process worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelfMeasuredQueries {
    /// Ids found per query (closest first), from the first pass.
    pub ids: Vec<Vec<u32>>,
    /// Seconds of each pass that sent the whole query set in one call on
    /// one thread (the library's native single-thread speed).
    pub batch_single_thread_seconds: Vec<f64>,
    /// Seconds of each pass that sent one query per call on one thread
    /// (ann-benchmarks style: the binding's per-call overhead included).
    pub per_call_seconds: Vec<f64>,
    /// Seconds of each pass that sent the whole set in one call on all
    /// threads.
    pub batch_all_threads_seconds: Vec<f64>,
    /// Per-query latencies of the one-query-per-call passes, milliseconds.
    pub per_call_latency_ms: Vec<f64>,
    /// The query parameters as the worker echoed them back.
    pub params: Option<serde_json::Value>,
    /// What the engine said about this query set (its worker's `info()`).
    pub info: Option<serde_json::Value>,
    /// Seconds of each batch pass at each thread count of the scaling
    /// curve, ascending by threads (workers that measure one; empty else).
    pub batch_scaling: Vec<(usize, Vec<f64>)>,
    /// What the worker's [`Adapter::page_cache_bytes`] said after its
    /// passes.
    pub page_cache_bytes: Option<u64>,
    /// What the worker's [`Adapter::reads_per_query`] said after its passes.
    pub reads_per_query: Option<f64>,
}

impl SelfMeasuredQueries {
    /// Appends `later`'s passes to these (interleaved rounds of one query
    /// set): every list grows, the first pass's ids are kept, the latest
    /// echo and info win.
    pub fn append(&mut self, later: SelfMeasuredQueries) {
        if self.ids.is_empty() {
            self.ids = later.ids;
        }
        self.batch_single_thread_seconds
            .extend(later.batch_single_thread_seconds);
        self.per_call_seconds.extend(later.per_call_seconds);
        self.batch_all_threads_seconds
            .extend(later.batch_all_threads_seconds);
        self.per_call_latency_ms.extend(later.per_call_latency_ms);
        self.params = later.params.or(self.params.take());
        self.info = later.info.or(self.info.take());
        self.page_cache_bytes = later.page_cache_bytes.or(self.page_cache_bytes);
        self.reads_per_query = later.reads_per_query.or(self.reads_per_query);
        for (threads, secs) in later.batch_scaling {
            match self.batch_scaling.iter_mut().find(|(t, _)| *t == threads) {
                Some((_, s)) => s.extend(secs),
                None => self.batch_scaling.push((threads, secs)),
            }
        }
    }
}

/// Untimed batches of `WARMUP_BATCH` queries, cycling through the query
/// set, for `seconds`: the first pass after another engine ran is otherwise
/// measured on cold caches and a core that has been idle.
pub(crate) fn warm_up(
    a: &dyn Adapter,
    d: &crate::data::Dataset,
    k: usize,
    seconds: f64,
) -> anyhow::Result<()> {
    if seconds.is_nan() || seconds <= 0.0 {
        return Ok(());
    }
    let t0 = Instant::now();
    let mut chunks = d.test.chunks(WARMUP_BATCH * d.dims).cycle();
    while t0.elapsed().as_secs_f64() < seconds {
        let Some(chunk) = chunks.next() else {
            return Ok(());
        };
        a.batch_search(chunk, d.dims, k)?;
    }
    Ok(())
}

/// Queries per warm-up call.
const WARMUP_BATCH: usize = 64;

#[cfg(test)]
mod warm_up_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::data::Dataset;

    /// Counts the queries it is asked.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Adapter for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn build(&mut self, _: &[f32], _: usize, _: usize) -> anyhow::Result<()> {
            Ok(())
        }
        fn set_query_params(&mut self, _: &Params) -> anyhow::Result<()> {
            Ok(())
        }
        fn search(&self, _: &[f32], _: usize) -> anyhow::Result<Vec<u32>> {
            self.0.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_micros(200));
            Ok(vec![0])
        }
    }

    fn queries(n: usize) -> Dataset {
        Dataset {
            name: "warm".into(),
            metric: omendb::Metric::L2,
            dims: 2,
            train: vec![0.0; 2],
            test: vec![0.5; 2 * n],
            neighbors: vec![vec![0]; n],
            distances: vec![vec![0.0]; n],
        }
    }

    #[test]
    fn warm_up_runs_queries_for_the_time_asked_and_cycles_the_set() {
        let (a, d) = (Counting::default(), queries(3));
        let t0 = Instant::now();
        warm_up(&a, &d, 1, 0.05).unwrap();
        let took = t0.elapsed().as_secs_f64();
        let asked = a.0.load(Ordering::Relaxed);
        assert!(took >= 0.05, "stopped after {took} s");
        // 3 queries a call: many calls, so the set was gone through again.
        assert!(asked > 3 && asked % 3 == 0, "{asked} queries");
    }

    #[test]
    fn no_warm_up_asks_nothing() {
        let (a, d) = (Counting::default(), queries(3));
        warm_up(&a, &d, 1, 0.0).unwrap();
        warm_up(&a, &d, 1, f64::NAN).unwrap();
        assert_eq!(a.0.load(Ordering::Relaxed), 0);
        let empty = Dataset {
            test: Vec::new(),
            ..queries(0)
        };
        warm_up(&a, &empty, 1, 0.05).unwrap();
        assert_eq!(a.0.load(Ordering::Relaxed), 0);
    }
}
