//! Measurement: timing builds (memory sampled around them) and query passes,
//! each step guarded ([`LiveSteps`]) so an error, panic or timeout becomes
//! a recorded failure rather than the end of the sweep.
//!
//! * Builds run in a rayon pool of `threads` threads (and, when configured,
//!   once more on one thread for the single-thread build rate).
//! * Single-thread QPS: queries one at a time in a one-thread pool, `repeats`
//!   passes, best reported, all kept; latency percentiles over all passes.
//! * Batch QPS: the whole query set through `batch_search` in the
//!   `threads`-thread pool, `repeats` passes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rayon::{ThreadPool, ThreadPoolBuilder};

use super::adapter::{warm_up, Adapter, Params, ReopenStats, IN_PROCESS};
use super::adapters::isolated::{IsolatedAdapter, Isolation};
use super::adapters::BuildContext;
use super::assemble::{fill_recall, fill_self_measured};
use super::config::{AlgorithmPlan, Sweep};
use super::guard::{LiveSteps, Outcome};
use super::memory::{self, MemoryReport, RssSample};
use super::metrics::{per_second, Latency};
use super::progress::{fmt_params, Progress};
use super::results::{BuildTiming, RunResult, ThreadScaling};
use crate::data::Dataset;

/// An adapter shared with the guarded threads that build and query it.
pub(crate) type Shared = Arc<Box<dyn Adapter>>;

/// One built index and what its build measured.
pub(crate) struct Built {
    /// The built index.
    pub(crate) adapter: Shared,
    /// Every timed build of this build-parameter set, in order.
    pub(crate) timings: Vec<BuildTiming>,
    /// Memory around the last build, and the index's own accounting.
    pub(crate) memory: MemoryReport,
    /// Wall time of the last build (the one queried).
    pub(crate) seconds: f64,
    /// The reopen that ended the build (disk-backed adapters).
    pub(crate) reopen: Option<ReopenStats>,
}

/// A build that did not finish: why, and the builds timed before it.
#[derive(Debug, Clone)]
pub(crate) struct BuildFailure {
    /// What went wrong, as recorded in the result's `error`.
    pub(crate) error: String,
    /// Builds that finished before the failure (single-thread timing runs).
    pub(crate) timings: Vec<BuildTiming>,
}

/// How a build-parameter set's build ended.
pub(crate) type BuildOutcome = Result<Built, BuildFailure>;

/// The thread pools builds and query passes run in.
pub(crate) struct Pools {
    /// `threads` threads: builds and batch passes.
    pub(crate) all: Arc<ThreadPool>,
    /// One thread: single-thread builds and query passes.
    pub(crate) single: Arc<ThreadPool>,
    /// A pool per batch thread count (the scaling curve), ascending.
    pub(crate) batch: Vec<(usize, Arc<ThreadPool>)>,
}

impl Pools {
    /// Starts a pool of `threads` threads, a one-thread pool, and one pool
    /// per count of `batch_threads`.
    pub(crate) fn new(threads: usize, batch_threads: &[usize]) -> anyhow::Result<Self> {
        let pool = |n: usize| -> anyhow::Result<Arc<ThreadPool>> {
            Ok(Arc::new(
                ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(move |i| format!("omenbench-pool{n}-{i}"))
                    .build()
                    .context("starting a rayon pool")?,
            ))
        };
        let (all, single) = (pool(threads)?, pool(1)?);
        let batch = batch_threads
            .iter()
            .map(|&n| {
                let p = match n {
                    1 => single.clone(),
                    n if n == threads => all.clone(),
                    n => pool(n)?,
                };
                Ok((n, p))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Pools { all, single, batch })
    }
}

/// Builds and queries adapters for one sweep.
pub(crate) struct Measurer<'a> {
    /// The sweep being run (threads, repeats, k, timeouts).
    pub(crate) sweep: &'a Sweep,
    /// Its thread pools.
    pub(crate) pools: Pools,
    /// Guarded steps still running.
    pub(crate) steps: LiveSteps,
    /// Spinners and bars.
    pub(crate) progress: Progress,
    /// The omenbench binary that hosts Rust engines in worker processes
    /// (isolated builds); `None` runs them in this process.
    pub(crate) worker: Option<PathBuf>,
}

impl Measurer<'_> {
    /// What an adapter factory is given for build-parameter set `bp` on `ds`.
    pub(crate) fn context<'b>(&self, ds: &'b Arc<Dataset>, bp: &'b Params) -> BuildContext<'b> {
        BuildContext {
            dims: ds.dims,
            metric: ds.metric,
            n: ds.n_train(),
            k: self.sweep.k,
            build_params: bp,
            data: ds,
            repeats: self.passes_per_request(),
            warmup_seconds: self.sweep.warmup_seconds,
            build_timeout_seconds: self.sweep.build_timeout_seconds,
            query_timeout_seconds: self.sweep.query_timeout_seconds,
        }
    }

    /// Timed passes of each kind one query request runs: every configured
    /// repeat, or one when passes are interleaved (one per round).
    pub(crate) fn passes_per_request(&self) -> usize {
        if self.sweep.interleave {
            1
        } else {
            self.sweep.repeats
        }
    }

    /// Makes `plan`'s adapter from `ctx`: an in-process engine goes into an
    /// `omenbench worker` process of its own when the sweep isolates builds
    /// and has the binary for it.
    pub(crate) fn make(
        &self,
        ctx: &BuildContext<'_>,
        plan: &AlgorithmPlan,
    ) -> anyhow::Result<Box<dyn Adapter>> {
        let a = (plan.spec.make)(ctx)?;
        match &self.worker {
            Some(exe) if self.sweep.isolate_builds && a.process() == IN_PROCESS => {
                let how = Isolation {
                    exe,
                    algorithm: plan.spec.name,
                    ef_fixed_at_build: a.ef_fixed_at_build(),
                    batch_threads: &self.sweep.batch_threads,
                };
                drop(a);
                Ok(Box::new(IsolatedAdapter::new(ctx, how)?))
            }
            _ => Ok(a),
        }
    }

    /// Makes an adapter, gives it `qp` first when its ef is fixed at build,
    /// and builds it (once on one thread for timing when configured).
    pub(crate) fn build(
        &self,
        ds: &Arc<Dataset>,
        plan: &AlgorithmPlan,
        bp: &Params,
        qp: Option<&Params>,
    ) -> BuildOutcome {
        let ctx = self.context(ds, bp);
        let make = || -> anyhow::Result<Box<dyn Adapter>> {
            let mut a = self.make(&ctx, plan)?;
            if let Some(qp) = qp {
                a.set_query_params(qp)?;
            }
            Ok(a)
        };
        let mut timings = Vec::new();
        let mut thread_counts = vec![self.sweep.threads];
        if self.sweep.single_thread_build && self.sweep.threads != 1 {
            thread_counts.insert(0, 1);
        }
        let label = format!(
            "{} {} n={} {}",
            plan.spec.name,
            ds.name,
            ds.n_train(),
            fmt_params(bp)
        );
        let fail = |error: String, timings: &Vec<BuildTiming>| BuildFailure {
            error,
            timings: timings.clone(),
        };
        for (i, &threads) in thread_counts.iter().enumerate() {
            let last = i + 1 == thread_counts.len();
            let adapter =
                make().map_err(|e| fail(format!("creating the index failed: {e:#}"), &timings))?;
            let pool = if threads == 1 {
                self.pools.single.clone()
            } else {
                self.pools.all.clone()
            };
            let bar = self
                .progress
                .spinner(format!("build {label} on {threads} thread(s)"));
            let peak_reset = memory::reset_peak();
            let before = RssSample::now();
            let t0 = Instant::now();
            let data = ds.clone();
            let outcome = self
                .steps
                .run("build", self.sweep.build_timeout_seconds, move || {
                    let mut adapter = adapter;
                    pool.install(|| adapter.build(&data.train, data.dims, threads))?;
                    Ok(adapter)
                });
            let seconds = t0.elapsed().as_secs_f64();
            let after = RssSample::now();
            bar.finish_and_clear();
            let adapter = match outcome {
                Outcome::Done(a) => a,
                other => {
                    let e = other
                        .error_text(&format!("build on {threads} thread(s)"))
                        .unwrap_or_default();
                    return Err(fail(e, &timings));
                }
            };
            // Out-of-process workers time their own build (no start-up).
            let seconds = adapter.self_measured_build().map_or(seconds, |b| b.seconds);
            timings.push(BuildTiming {
                threads,
                seconds,
                vectors_per_second: per_second(ds.n_train(), seconds),
            });
            if last {
                let mut memory = MemoryReport::from_samples(before, after, peak_reset);
                memory.index_components = adapter.memory_usage().map(Into::into);
                memory.disk_bytes = adapter.disk_bytes();
                let reopen = adapter.reopen();
                return Ok(Built {
                    adapter: Arc::new(adapter),
                    timings,
                    memory,
                    seconds,
                    reopen,
                });
            }
        }
        Err(fail("no build ran".to_string(), &timings))
    }

    /// Runs the query passes; fills QPS, latency and recall into `r`
    /// (or its error); returns the first pass's ids.
    pub(crate) fn queries(
        &self,
        ds: &Arc<Dataset>,
        adapter: &Shared,
        r: &mut RunResult,
        qp: &Params,
    ) -> Option<Vec<Vec<u32>>> {
        let k = self.sweep.k;
        let nq = ds.n_test();
        if let Some(sq) = adapter.self_measured_queries() {
            fill_self_measured(r, sq, nq);
            fill_recall(ds, &sq.ids, k, r);
            return Some(sq.ids.clone());
        }
        let mut latencies = Vec::new();
        self.passes(ds, adapter, r, qp, self.sweep.repeats, &mut latencies)
    }

    /// Runs `repeats` passes of each kind on an in-process adapter, adding
    /// them to those already in `r` (interleaved rounds call this once per
    /// round) and their latencies to `latencies`; recomputes the best
    /// figures, latency percentiles and recall; returns this call's first
    /// pass's ids.
    pub(crate) fn passes(
        &self,
        ds: &Arc<Dataset>,
        adapter: &Shared,
        r: &mut RunResult,
        qp: &Params,
        repeats: usize,
        latencies: &mut Vec<f64>,
    ) -> Option<Vec<Vec<u32>>> {
        let k = self.sweep.k;
        let bar = self.progress.passes(
            format!(
                "query {} {} n={} {}",
                r.algorithm,
                ds.name,
                ds.n_train(),
                fmt_params(qp)
            ),
            ((1 + self.pools.batch.len()) * repeats) as u64,
        );
        let first_ids =
            self.single_thread_passes(ds, adapter, r, repeats, latencies, || bar.inc(1));
        r.page_cache_bytes = adapter.page_cache_bytes();
        r.reads_per_query = adapter.reads_per_query().or(r.reads_per_query);
        r.latency_ms = Latency::from_ms(latencies);
        if r.error.is_none() {
            self.batch_passes(ds, adapter, r, repeats, || bar.inc(1));
        }
        bar.finish_and_clear();
        let best = |v: &[f64]| v.iter().copied().reduce(f64::max);
        r.qps_single_thread = best(&r.qps_single_thread_repeats);
        r.qps_batch = best(&r.qps_batch_repeats);
        if let Some(ids) = &first_ids {
            fill_recall(ds, ids, k, r);
        }
        first_ids
    }

    /// `repeats` passes of one query per call on one thread: QPS of each
    /// pass into `r`, every latency into `latencies`; the first pass's ids.
    fn single_thread_passes(
        &self,
        ds: &Arc<Dataset>,
        adapter: &Shared,
        r: &mut RunResult,
        repeats: usize,
        latencies: &mut Vec<f64>,
        tick: impl Fn(),
    ) -> Option<Vec<Vec<u32>>> {
        let (k, nq) = (self.sweep.k, ds.n_test());
        let mut first_ids = None;
        for rep in 0..repeats {
            let (a, data, pool) = (adapter.clone(), ds.clone(), self.pools.single.clone());
            let keep = rep == 0;
            let warm = if rep == 0 {
                self.sweep.warmup_seconds
            } else {
                0.0
            };
            let outcome = self
                .steps
                .run("queries", self.sweep.query_timeout_seconds, move || {
                    pool.install(|| {
                        warm_up(&**a, &data, k, warm)?;
                        let d = data.dims;
                        let mut lat = Vec::with_capacity(data.n_test());
                        let mut ids = Vec::with_capacity(if keep { data.n_test() } else { 0 });
                        let t0 = Instant::now();
                        for q in data.test.chunks_exact(d) {
                            let t = Instant::now();
                            let found = a.search(q, k)?;
                            lat.push(t.elapsed().as_secs_f64() * 1e3);
                            if keep {
                                ids.push(found);
                            }
                        }
                        Ok((t0.elapsed().as_secs_f64(), lat, ids))
                    })
                });
            tick();
            match outcome {
                Outcome::Done((secs, lat, ids)) => {
                    r.qps_single_thread_repeats.extend(per_second(nq, secs));
                    latencies.extend(lat);
                    if keep {
                        first_ids = Some(ids);
                    }
                }
                other => {
                    r.error = other.error_text("single-thread query pass");
                    break;
                }
            }
        }
        first_ids
    }

    /// `repeats` passes of the whole query set through `batch_search` at
    /// every batch thread count, ascending: each count's passes added to
    /// its point of `r.batch_scaling`, the last (`threads`) count's to
    /// `qps_batch_repeats`.
    fn batch_passes(
        &self,
        ds: &Arc<Dataset>,
        adapter: &Shared,
        r: &mut RunResult,
        repeats: usize,
        tick: impl Fn(),
    ) {
        let (k, nq) = (self.sweep.k, ds.n_test());
        for (threads, pool) in &self.pools.batch {
            let at = match r.batch_scaling.iter().position(|p| p.threads == *threads) {
                Some(i) => i,
                None => {
                    r.batch_scaling.push(ThreadScaling {
                        threads: *threads,
                        qps: None,
                        qps_repeats: Vec::new(),
                    });
                    r.batch_scaling.len() - 1
                }
            };
            let mut point = r.batch_scaling.remove(at);
            let before = point.qps_repeats.len();
            for _ in 0..repeats {
                let (a, data, pool) = (adapter.clone(), ds.clone(), pool.clone());
                let outcome =
                    self.steps
                        .run("batch", self.sweep.query_timeout_seconds, move || {
                            pool.install(|| {
                                let t0 = Instant::now();
                                let found = a.batch_search(&data.test, data.dims, k)?;
                                anyhow::ensure!(
                                    found.len() == data.n_test(),
                                    "batch_search returned {} rows",
                                    found.len()
                                );
                                Ok(t0.elapsed().as_secs_f64())
                            })
                        });
                tick();
                match outcome {
                    Outcome::Done(secs) => point.qps_repeats.extend(per_second(nq, secs)),
                    other => {
                        r.error =
                            other.error_text(&format!("batch query pass on {threads} thread(s)"));
                        break;
                    }
                }
            }
            point.qps = point.qps_repeats.iter().copied().reduce(f64::max);
            if *threads == self.sweep.threads {
                r.qps_batch_repeats
                    .extend_from_slice(&point.qps_repeats[before..]);
            }
            r.batch_scaling.insert(at, point);
            if r.error.is_some() {
                break;
            }
        }
    }
}
