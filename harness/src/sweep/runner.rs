//! The sweep loop: for each dataset and scale, for each algorithm and
//! build-parameter set, build once, then run every query-parameter set in
//! order (ann-benchmarks' run-group pattern), writing one result document
//! per run as soon as it is measured.
//!
//! * Builds run in a rayon pool of `threads` threads (and, when configured,
//!   once more on one thread for the single-thread build rate).
//! * Single-thread QPS: queries one at a time in a one-thread pool, `repeats`
//!   passes, best reported, all kept; latency percentiles over all passes.
//! * Batch QPS: the whole query set through `batch_search` in the
//!   `threads`-thread pool, `repeats` passes.
//! * Every build and every pass runs under [`guard::run_guarded`]: errors,
//!   panics and timeouts are recorded in the result and the sweep goes on.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::{ThreadPool, ThreadPoolBuilder};

use super::adapter::{Adapter, Params, ReopenStats, SelfMeasuredQueries, IN_PROCESS};
use super::adapters::BuildContext;
use super::config::{AlgorithmPlan, Sweep};
use super::guard::{run_guarded, Outcome};
use super::machine::{self, Machine};
use super::memory::{self, BytesPerVector, MemoryReport, RssSample};
use super::metrics::{per_second, recall, Latency, RECALL_DEPTHS};
use super::results::{BuildTiming, ResultWriter, RunResult, WorkerReport, SCHEMA_VERSION};
use super::shard::{self, BuildSetId, ShardPlan};
use super::source::LoadDataset;
use super::summary;
use crate::data::Dataset;

/// How a sweep is run (as opposed to what it runs).
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Results go to `<out>/<sweep_id>/`.
    pub out: PathBuf,
    /// No progress bars and no per-run lines.
    pub quiet: bool,
    /// Set (by a Ctrl-C handler) to stop after the current step.
    pub stop: Arc<AtomicBool>,
}

/// What a finished (or interrupted) sweep produced.
#[derive(Debug, Clone)]
pub struct SweepSummary {
    /// The sweep's result directory.
    pub dir: PathBuf,
    /// Result documents written, in order.
    pub results: Vec<PathBuf>,
    /// Runs that recorded an error.
    pub errors: usize,
    /// Whether the sweep was stopped before the end.
    pub interrupted: bool,
    /// Wall time of the whole sweep.
    pub seconds: f64,
    /// The Markdown summary table (also saved as `summary.md`).
    pub table: String,
}

type Shared = Arc<Box<dyn Adapter>>;

/// Decrements a live-step counter when a guarded step ends, however it ends.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Progress {
    mp: MultiProgress,
    overall: ProgressBar,
    quiet: bool,
}

impl Progress {
    fn new(quiet: bool, total: u64) -> Self {
        let mp = if quiet {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        let overall = mp.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(
                "sweep [{elapsed_precise}] {wide_bar} {pos}/{len} runs, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress { mp, overall, quiet }
    }

    fn spinner(&self, msg: String) -> ProgressBar {
        let pb = self.mp.add(ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template("  {spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(msg);
        pb.enable_steady_tick(Duration::from_millis(250));
        pb
    }

    fn passes(&self, msg: String, len: u64) -> ProgressBar {
        let pb = self.mp.add(ProgressBar::new(len));
        pb.set_style(
            ProgressStyle::with_template("  {msg} {bar:30} {pos}/{len} passes, ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(msg);
        pb
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        if self.mp.is_hidden() {
            // Not a terminal: indicatif draws nothing, so print plainly.
            eprintln!("{text}");
        } else {
            let _ = self.mp.println(text);
        }
    }
}

struct Runner<'a> {
    sweep: &'a Sweep,
    opts: &'a SweepOptions,
    writer: ResultWriter,
    progress: Progress,
    build_pool: Arc<ThreadPool>,
    single_pool: Arc<ThreadPool>,
    machine: Machine,
    commit: Option<String>,
    sweep_id: String,
    config_json: serde_json::Value,
    live: Arc<AtomicUsize>,
    errors: usize,
    finished: Vec<RunResult>,
    /// `process` label of the algorithm whose build group is running.
    process: String,
    /// The part of the sweep this run does (`--shard I/N`); all of it when `None`.
    shard: Option<&'a ShardPlan>,
}

/// One built index and what its build measured.
struct Built {
    adapter: Shared,
    timings: Vec<BuildTiming>,
    memory: MemoryReport,
    seconds: f64,
    /// The reopen that ended the build (disk-backed adapters).
    reopen: Option<ReopenStats>,
}

/// Runs `sweep`, loading datasets with `load`; returns what was written.
/// Errors only when results cannot be written at all; failures of single
/// runs are recorded in their result documents.
pub fn run_sweep(
    sweep: &Sweep,
    load: &LoadDataset<'_>,
    opts: &SweepOptions,
) -> anyhow::Result<SweepSummary> {
    run_sweep_part(sweep, load, opts, None)
}

/// Like [`run_sweep`], running only the build sets of `shard` (all of them
/// when `None`), under the shard plan's sweep id, with the shard in every
/// result and in every file name (see [`shard`](super::shard)).
pub fn run_sweep_part(
    sweep: &Sweep,
    load: &LoadDataset<'_>,
    opts: &SweepOptions,
    shard: Option<&ShardPlan>,
) -> anyhow::Result<SweepSummary> {
    let started = Instant::now();
    let sweep_id = shard.map_or_else(machine::now_compact, |p| p.sweep_id.clone());
    let mut writer = ResultWriter::create(&opts.out, &sweep_id)?;
    if let Some(p) = shard {
        writer = writer.with_prefix(&p.shard.file_prefix());
    }
    let total: usize = shard::build_sets(sweep)
        .iter()
        .filter(|b| shard.is_none_or(|p| p.runs(b.id)))
        .map(|b| sweep.algorithms[b.id.algorithm].query_sets.len())
        .sum();
    let total = total as u64;
    let pool = |n: usize| -> anyhow::Result<Arc<ThreadPool>> {
        Ok(Arc::new(
            ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(move |i| format!("omenbench-pool{n}-{i}"))
                .build()
                .context("starting a rayon pool")?,
        ))
    };
    let mut runner = Runner {
        sweep,
        opts,
        writer,
        progress: Progress::new(opts.quiet, total),
        build_pool: pool(sweep.threads)?,
        single_pool: pool(1)?,
        machine: Machine::detect(),
        commit: machine::git_commit(),
        sweep_id,
        config_json: serde_json::to_value(&sweep.config)?,
        live: Arc::new(AtomicUsize::new(0)),
        errors: 0,
        finished: Vec::new(),
        process: IN_PROCESS.to_string(),
        shard,
    };
    let interrupted = runner.run_all(load)?;
    runner.progress.overall.finish_and_clear();
    let table = summary::table(&runner.finished);
    let summary_name = shard.map_or("summary.md".to_string(), |p| {
        format!("{}summary.md", p.shard.file_prefix())
    });
    std::fs::write(runner.writer.dir().join(&summary_name), &table).with_context(|| {
        format!(
            "writing {summary_name} in {}",
            runner.writer.dir().display()
        )
    })?;
    Ok(SweepSummary {
        table,
        dir: runner.writer.dir().to_path_buf(),
        results: runner.writer.written().to_vec(),
        errors: runner.errors,
        interrupted,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn fmt_params(p: &Params) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Runner<'_> {
    fn stopped(&self) -> bool {
        self.opts.stop.load(Ordering::SeqCst)
    }

    /// Returns whether the sweep was interrupted.
    fn run_all(&mut self, load: &LoadDataset<'_>) -> anyhow::Result<bool> {
        let per_scale: u64 = self
            .sweep
            .algorithms
            .iter()
            .map(|a| (a.build_sets.len() * a.query_sets.len()) as u64)
            .sum();
        for (di, spec) in self.sweep.datasets.iter().enumerate() {
            let mut seen = HashSet::new();
            for (si, &scale) in self.sweep.scales.iter().enumerate() {
                if self.stopped() {
                    return Ok(true);
                }
                if self.shard.is_some_and(|p| !p.needs(di, si)) {
                    continue;
                }
                let loaded = load(spec, scale, self.sweep.queries, !self.opts.quiet);
                let ds = match loaded {
                    Ok(ds) => Arc::new(ds),
                    // A shard decides from the scale list: a prepared cache
                    // lists a scale as unavailable only after a smaller one
                    // of the dataset loaded.
                    Err(e) if !seen.is_empty() || (self.shard.is_some() && si > 0) => {
                        // Smaller scales of this dataset loaded: most likely
                        // it has fewer vectors than asked. Say so and go on.
                        self.progress
                            .line(format!("{spec}: scale {scale} not run: {e:#}"));
                        self.progress.overall.inc(per_scale);
                        continue;
                    }
                    Err(e) => {
                        self.load_failed(spec, scale, &format!("{e:#}"))?;
                        self.progress.overall.inc(per_scale);
                        continue;
                    }
                };
                let n = ds.n_train();
                let mut notes = Vec::new();
                if n < scale {
                    // A shard has not loaded the other scales: it decides
                    // from the scale list, as the whole sweep would.
                    let repeated = match self.shard {
                        Some(_) => shard::earlier_scale_gives(&self.sweep.scales, si, n),
                        None => !seen.insert(n),
                    };
                    if repeated {
                        self.progress
                            .line(format!("{spec}: has {n} train vectors; scale {scale} already run at {n}, skipped"));
                        self.progress.overall.inc(per_scale);
                        continue;
                    }
                    notes.push(format!(
                        "scale {scale} asked; the dataset has only {n} train vectors"
                    ));
                } else {
                    seen.insert(n);
                }
                for (ai, plan) in self.sweep.algorithms.iter().enumerate() {
                    for (bi, bp) in plan.build_sets.iter().enumerate() {
                        if self.stopped() {
                            return Ok(true);
                        }
                        let id = BuildSetId {
                            dataset: di,
                            scale: si,
                            algorithm: ai,
                            build: bi,
                        };
                        if self.shard.is_some_and(|p| !p.runs(id)) {
                            continue;
                        }
                        self.run_build_group(spec, &ds, plan, bp, &notes)?;
                    }
                }
            }
        }
        Ok(self.stopped())
    }

    fn base_result(
        &self,
        spec: &str,
        ds: Option<&Dataset>,
        algorithm: &str,
        bp: &Params,
    ) -> RunResult {
        RunResult {
            schema_version: SCHEMA_VERSION,
            sweep_id: self.sweep_id.clone(),
            algorithm: algorithm.to_string(),
            dataset: ds.map_or_else(|| spec.to_string(), |d| d.name.clone()),
            dataset_spec: spec.to_string(),
            n: ds.map_or(0, Dataset::n_train),
            dims: ds.map_or(0, |d| d.dims),
            metric: ds.map_or_else(String::new, |d| d.metric.ann_name().to_string()),
            n_queries: ds.map_or(0, Dataset::n_test),
            k: self.sweep.k,
            build_params: bp.clone(),
            query_params: None,
            rebuilt_for_query_params: false,
            recall_at_1: None,
            recall_at_10: None,
            recall_at_100: None,
            id_recall_at_1: None,
            id_recall_at_10: None,
            id_recall_at_100: None,
            build_seconds: None,
            build_vectors_per_second: None,
            build_threads: self.sweep.threads,
            build_timings: Vec::new(),
            qps_single_thread: None,
            qps_single_thread_repeats: Vec::new(),
            qps_batch: None,
            qps_batch_repeats: Vec::new(),
            batch_threads: self.sweep.threads,
            latency_ms: None,
            bytes_per_vector: BytesPerVector::default(),
            memory: MemoryReport::default(),
            neighbors_file: None,
            error: None,
            notes: Vec::new(),
            machine: self.machine.clone(),
            commit: self.commit.clone(),
            timestamp: machine::now_rfc3339(),
            config: self.config_json.clone(),
            process: self.process.clone(),
            qps_single_thread_per_call: None,
            worker: None,
            open_seconds: None,
            rss_after_open_bytes: None,
            rss_growth_on_open_bytes: None,
            rss_anon_growth_on_open_bytes: None,
            shard: self.shard.map(|p| p.shard),
        }
    }

    fn emit(&mut self, mut r: RunResult, neighbors: Option<&[Vec<u32>]>) -> anyhow::Result<()> {
        r.timestamp = machine::now_rfc3339();
        let line = match &r.error {
            Some(e) => {
                self.errors += 1;
                format!(
                    "{} {} n={} {}: ERROR {e}",
                    r.algorithm,
                    r.dataset,
                    r.n,
                    fmt_params(&r.build_params)
                )
            }
            None => format!(
                "{} {} n={} {} | {}: recall@10 {} qps1 {:.0} batch {:.0} build {:.0} vec/s",
                r.algorithm,
                r.dataset,
                r.n,
                fmt_params(&r.build_params),
                r.query_params.as_ref().map(fmt_params).unwrap_or_default(),
                r.recall_at_10
                    .or(r.recall_at_1)
                    .map_or("-".to_string(), |x| format!("{x:.4}")),
                r.qps_single_thread.unwrap_or(0.0),
                r.qps_batch.unwrap_or(0.0),
                r.build_vectors_per_second.unwrap_or(0.0),
            ),
        };
        self.writer.write(&mut r, neighbors)?;
        self.progress.line(line);
        // The summary needs the figures, not the config copy or machine.
        r.config = serde_json::Value::Null;
        self.finished.push(r);
        Ok(())
    }

    fn load_failed(&mut self, spec: &str, scale: usize, error: &str) -> anyhow::Result<()> {
        let names: Vec<&'static str> = self.sweep.algorithms.iter().map(|a| a.spec.name).collect();
        for name in names {
            let mut r = self.base_result(spec, None, name, &Params::new());
            r.n = scale;
            r.error = Some(format!("loading dataset `{spec}` at {scale}: {error}"));
            self.emit(r, None)?;
        }
        Ok(())
    }

    fn guarded<T, F>(&self, name: &str, timeout_s: f64, f: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: FnOnce() -> anyhow::Result<T> + Send + 'static,
    {
        self.live.fetch_add(1, Ordering::SeqCst);
        let guard = LiveGuard(self.live.clone());
        run_guarded(name, Duration::from_secs_f64(timeout_s), move || {
            let _guard = guard;
            f()
        })
    }

    fn busy_note(&self) -> Option<String> {
        let live = self.live.load(Ordering::SeqCst);
        (live > 0).then(|| {
            format!("{live} abandoned (timed-out) step(s) were still running in the background: timings may be low")
        })
    }

    /// What an adapter factory is given for build-parameter set `bp` on `ds`.
    fn context<'a>(&self, ds: &'a Arc<Dataset>, bp: &'a Params) -> BuildContext<'a> {
        BuildContext {
            dims: ds.dims,
            metric: ds.metric,
            n: ds.n_train(),
            k: self.sweep.k,
            build_params: bp,
            data: ds,
            repeats: self.sweep.repeats,
            build_timeout_seconds: self.sweep.build_timeout_seconds,
            query_timeout_seconds: self.sweep.query_timeout_seconds,
        }
    }

    /// Makes an adapter, gives it `qp` first when its ef is fixed at build,
    /// and builds it (once on one thread for timing when configured).
    fn build(
        &self,
        ds: &Arc<Dataset>,
        plan: &AlgorithmPlan,
        bp: &Params,
        qp: Option<&Params>,
    ) -> Result<Built, (String, Vec<BuildTiming>)> {
        let ctx = self.context(ds, bp);
        let make = || -> anyhow::Result<Box<dyn Adapter>> {
            let mut a = (plan.spec.make)(&ctx)?;
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
        for (i, &threads) in thread_counts.iter().enumerate() {
            let last = i + 1 == thread_counts.len();
            let adapter = make()
                .map_err(|e| (format!("creating the index failed: {e:#}"), timings.clone()))?;
            let pool = if threads == 1 {
                self.single_pool.clone()
            } else {
                self.build_pool.clone()
            };
            let bar = self
                .progress
                .spinner(format!("build {label} on {threads} thread(s)"));
            let peak_reset = memory::reset_peak();
            let before = RssSample::now();
            let t0 = Instant::now();
            let data = ds.clone();
            let outcome = self.guarded("build", self.sweep.build_timeout_seconds, move || {
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
                    return Err((e, timings));
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
        Err(("no build ran".to_string(), timings))
    }

    fn run_build_group(
        &mut self,
        spec: &str,
        ds: &Arc<Dataset>,
        plan: &AlgorithmPlan,
        bp: &Params,
        notes: &[String],
    ) -> anyhow::Result<()> {
        let ctx = self.context(ds, bp);
        self.process = IN_PROCESS.to_string();
        let fixed = match (plan.spec.make)(&ctx) {
            Ok(a) => {
                self.process = a.process().to_string();
                a.ef_fixed_at_build()
            }
            Err(e) => {
                let mut r = self.base_result(spec, Some(ds), plan.spec.name, bp);
                r.error = Some(format!("creating the index failed: {e:#}"));
                r.notes = notes.to_vec();
                self.emit(r, None)?;
                self.progress.overall.inc(plan.query_sets.len() as u64);
                return Ok(());
            }
        };
        if fixed {
            for qp in &plan.query_sets {
                if self.stopped() {
                    return Ok(());
                }
                let mut built = self.build(ds, plan, bp, Some(qp));
                self.measure_and_emit(spec, ds, plan, bp, qp, &mut built, true, notes)?;
                self.progress.overall.inc(1);
            }
        } else {
            let mut built = self.build(ds, plan, bp, None);
            for qp in &plan.query_sets {
                if self.stopped() {
                    return Ok(());
                }
                self.measure_and_emit(spec, ds, plan, bp, qp, &mut built, false, notes)?;
                self.progress.overall.inc(1);
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn measure_and_emit(
        &mut self,
        spec: &str,
        ds: &Arc<Dataset>,
        plan: &AlgorithmPlan,
        bp: &Params,
        qp: &Params,
        built: &mut Result<Built, (String, Vec<BuildTiming>)>,
        rebuilt: bool,
        notes: &[String],
    ) -> anyhow::Result<()> {
        let mut r = self.base_result(spec, Some(ds), plan.spec.name, bp);
        r.query_params = Some(qp.clone());
        r.rebuilt_for_query_params = rebuilt;
        r.notes = notes.to_vec();
        r.notes.extend(self.busy_note());
        let b = match built {
            Ok(b) => b,
            Err((e, timings)) => {
                r.error = Some(e.clone());
                r.build_timings = timings.clone();
                return self.emit(r, None);
            }
        };
        r.build_seconds = Some(b.seconds);
        r.build_vectors_per_second = per_second(ds.n_train(), b.seconds);
        r.build_timings = b.timings.clone();
        r.memory = b.memory.clone();
        r.bytes_per_vector = BytesPerVector::from_report(&b.memory, ds.n_train());
        if let Some(o) = b.reopen {
            r.open_seconds = Some(o.open_seconds);
            r.rss_after_open_bytes = o.rss_after_open_bytes();
            r.rss_growth_on_open_bytes = o.rss_growth_bytes();
            r.rss_anon_growth_on_open_bytes = o.rss_anon_growth_bytes();
        }
        if let Some(sb) = b.adapter.self_measured_build() {
            // The harness's own RSS says nothing about a worker process.
            r.bytes_per_vector.rss = sb
                .worker_rss_growth_bytes
                .filter(|_| ds.n_train() > 0)
                .map(|g| g as f64 / ds.n_train() as f64);
            r.worker = Some(WorkerReport {
                library: sb.library,
                build_rss_growth_bytes: sb.worker_rss_growth_bytes,
                qps_single_thread_per_call_repeats: Vec::new(),
            });
            r.notes.push(format!(
                "process {}: build time and bytes_per_vector.rss are the worker's own (RSS growth of the worker during build)",
                r.process
            ));
        }
        let Some(adapter) = Arc::get_mut(&mut b.adapter) else {
            r.error = Some("index still in use by an abandoned (timed-out) query pass".to_string());
            return self.emit(r, None);
        };
        if let Err(e) = adapter.set_query_params(qp) {
            r.error = Some(format!("setting query parameters failed: {e:#}"));
            return self.emit(r, None);
        }
        let neighbors = self.measure(ds, &b.adapter, &mut r, plan.spec.name, qp);
        self.emit(r, neighbors.as_deref())
    }

    /// Runs the query passes; fills QPS, latency and recall into `r`
    /// (or its error); returns the first pass's ids.
    fn measure(
        &self,
        ds: &Arc<Dataset>,
        adapter: &Shared,
        r: &mut RunResult,
        name: &str,
        qp: &Params,
    ) -> Option<Vec<Vec<u32>>> {
        let k = self.sweep.k;
        let repeats = self.sweep.repeats;
        let nq = ds.n_test();
        if let Some(sq) = adapter.self_measured_queries() {
            fill_self_measured(r, sq, nq);
            fill_recall(ds, &sq.ids, k, r);
            return Some(sq.ids.clone());
        }
        let bar = self.progress.passes(
            format!(
                "query {name} {} n={} {}",
                ds.name,
                ds.n_train(),
                fmt_params(qp)
            ),
            (2 * repeats) as u64,
        );
        let mut first_ids = None;
        let mut latencies = Vec::with_capacity(nq * repeats);
        for rep in 0..repeats {
            let (a, data, pool) = (adapter.clone(), ds.clone(), self.single_pool.clone());
            let keep = rep == 0;
            let outcome = self.guarded("queries", self.sweep.query_timeout_seconds, move || {
                pool.install(|| {
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
            bar.inc(1);
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
        if r.error.is_none() {
            for _ in 0..repeats {
                let (a, data, pool) = (adapter.clone(), ds.clone(), self.build_pool.clone());
                let outcome = self.guarded("batch", self.sweep.query_timeout_seconds, move || {
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
                bar.inc(1);
                match outcome {
                    Outcome::Done(secs) => r.qps_batch_repeats.extend(per_second(nq, secs)),
                    other => {
                        r.error = other.error_text("batch query pass");
                        break;
                    }
                }
            }
        }
        bar.finish_and_clear();
        let best = |v: &[f64]| v.iter().copied().reduce(f64::max);
        r.qps_single_thread = best(&r.qps_single_thread_repeats);
        r.qps_batch = best(&r.qps_batch_repeats);
        r.latency_ms = Latency::from_ms(&latencies);
        if let Some(ids) = &first_ids {
            fill_recall(ds, ids, k, r);
        }
        first_ids
    }
}

/// Fills recall at every depth up to `k` from the ids found.
fn fill_recall(ds: &Dataset, ids: &[Vec<u32>], k: usize, r: &mut RunResult) {
    for (depth, (dist, id)) in RECALL_DEPTHS.iter().zip([
        (&mut r.recall_at_1, &mut r.id_recall_at_1),
        (&mut r.recall_at_10, &mut r.id_recall_at_10),
        (&mut r.recall_at_100, &mut r.id_recall_at_100),
    ]) {
        if *depth <= k {
            let rc = recall(ds, ids, *depth);
            *dist = Some(rc.distance_based);
            *id = Some(rc.id_set);
        }
    }
}

/// Maps a worker's own timings onto the result: single-thread QPS from the
/// one-batch-call-on-one-thread passes, `qps_single_thread_per_call` from the
/// one-query-per-call passes (their latencies too), batch QPS from the
/// all-threads passes.
fn fill_self_measured(r: &mut RunResult, sq: &SelfMeasuredQueries, nq: usize) {
    let qps =
        |secs: &[f64]| -> Vec<f64> { secs.iter().filter_map(|s| per_second(nq, *s)).collect() };
    let best = |v: &[f64]| v.iter().copied().reduce(f64::max);
    r.qps_single_thread_repeats = qps(&sq.batch_single_thread_seconds);
    r.qps_single_thread = best(&r.qps_single_thread_repeats);
    r.qps_batch_repeats = qps(&sq.batch_all_threads_seconds);
    r.qps_batch = best(&r.qps_batch_repeats);
    let per_call = qps(&sq.per_call_seconds);
    r.qps_single_thread_per_call = best(&per_call);
    r.latency_ms = Latency::from_ms(&sq.per_call_latency_ms);
    if let Some(w) = r.worker.as_mut() {
        w.qps_single_thread_per_call_repeats = per_call;
    }
    r.notes.push(format!(
        "process {}: qps_single_thread is one batch call on 1 thread; latency_ms is per call (binding overhead included)",
        r.process
    ));
}
