//! The sweep loop (scheduling): for each dataset and scale, for each
//! algorithm and build-parameter set, build once, then run every
//! query-parameter set in order (ann-benchmarks' run-group pattern), writing
//! one result document per run as soon as it is measured.
//!
//! How builds and passes are timed is `measure.rs`; how a result document is
//! put together is `assemble.rs`; what is shown meanwhile is `progress.rs`.
//! Every build and every pass runs guarded: errors, panics and timeouts are
//! recorded in the result and the sweep goes on.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::adapter::{Params, IN_PROCESS};
use super::assemble::{record_build, RunId, SweepStamp};
use super::config::{AlgorithmPlan, Sweep};
use super::guard::LiveSteps;
use super::machine;
use super::measure::{BuildOutcome, Measurer, Pools};
use super::noise::{self, LoadSample, NoiseRecord};
use super::progress::{run_line, Progress};
use super::results::{ResultWriter, RunResult, Spread};
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
    /// The omenbench binary whose `worker` subcommand hosts each Rust
    /// engine's build in a process of its own (isolated builds, unless the
    /// config says `isolate_builds: false`); `None` runs them in this
    /// process. `omenbench run` passes itself.
    pub worker: Option<PathBuf>,
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
    /// Every result, in order (without the config copy each document holds).
    pub runs: Vec<RunResult>,
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
    if let Some(scenario) = &sweep.config.scenario {
        return super::scenario::run(sweep, scenario, load, opts, shard);
    }
    let started = Instant::now();
    let sweep_id = shard.map_or_else(machine::now_compact, |p| p.sweep_id.clone());
    let mut stamp = SweepStamp::new(sweep, sweep_id)?;
    stamp.shard = shard.map(|p| p.shard);
    let mut writer = ResultWriter::create(&opts.out, stamp.sweep_id())?;
    if let Some(p) = shard {
        writer = writer.with_prefix(&p.shard.file_prefix());
    }
    let total: usize = shard::build_sets(sweep)
        .iter()
        .filter(|b| shard.is_none_or(|p| p.runs(b.id)))
        .map(|b| sweep.algorithms[b.id.algorithm].query_sets.len())
        .sum();
    let mut runner = Runner {
        sweep,
        opts,
        stamp,
        measure: Measurer {
            sweep,
            pools: Pools::new(sweep.threads, &sweep.batch_threads)?,
            steps: LiveSteps::default(),
            progress: Progress::new(opts.quiet, total as u64),
            worker: opts.worker.clone(),
        },
        out: Output {
            writer,
            errors: 0,
            finished: Vec::new(),
        },
        shard,
    };
    let interrupted = runner.run_all(load)?;
    runner.measure.progress.overall.finish_and_clear();
    let out = runner.out;
    let table = summary::table(&out.finished);
    let summary_name = shard.map_or("summary.md".to_string(), |p| {
        format!("{}summary.md", p.shard.file_prefix())
    });
    std::fs::write(out.writer.dir().join(&summary_name), &table)
        .with_context(|| format!("writing {summary_name} in {}", out.writer.dir().display()))?;
    Ok(SweepSummary {
        table,
        dir: out.writer.dir().to_path_buf(),
        results: out.writer.written().to_vec(),
        errors: out.errors,
        interrupted,
        seconds: started.elapsed().as_secs_f64(),
        runs: out.finished,
    })
}

/// Runs of one dataset scale: every query set of every build set.
fn runs_per_scale(sweep: &Sweep) -> usize {
    sweep
        .algorithms
        .iter()
        .map(|a| a.build_sets.len() * a.query_sets.len())
        .sum()
}

/// Where finished results go.
pub(crate) struct Output {
    writer: ResultWriter,
    /// Runs that recorded an error.
    errors: usize,
    /// Every result so far, for the summary (without its config copy).
    finished: Vec<RunResult>,
}

impl Output {
    /// Writes `r` (and the ids found, when any) and prints its line.
    pub(crate) fn emit(
        &mut self,
        mut r: RunResult,
        neighbors: Option<&[Vec<u32>]>,
        progress: &Progress,
    ) -> anyhow::Result<()> {
        r.timestamp = machine::now_rfc3339();
        r.qps_single_thread_spread = Spread::of(&r.qps_single_thread_repeats);
        r.qps_batch_spread = Spread::of(&r.qps_batch_repeats);
        if r.error.is_some() {
            self.errors += 1;
        }
        let line = run_line(&r);
        self.writer.write(&mut r, neighbors)?;
        progress.line(line);
        // The summary needs the figures, not the config copy or machine.
        r.config = serde_json::Value::Null;
        self.finished.push(r);
        Ok(())
    }
}

/// One run: a query-parameter set on one build.
struct Run<'a> {
    spec: &'a str,
    ds: &'a Arc<Dataset>,
    plan: &'a AlgorithmPlan,
    build_params: &'a Params,
    query_params: &'a Params,
    /// Whether the index was built for this query set alone.
    rebuilt: bool,
    /// Notes every run of this dataset scale carries.
    notes: &'a [String],
    /// `process` label of the algorithm.
    process: &'a str,
}

/// A sweep in progress (the interleaved schedule is in `interleave.rs`).
pub(crate) struct Runner<'a> {
    pub(crate) sweep: &'a Sweep,
    opts: &'a SweepOptions,
    pub(crate) stamp: SweepStamp,
    pub(crate) measure: Measurer<'a>,
    pub(crate) out: Output,
    /// The part of the sweep this run does (`--shard I/N`); all of it when `None`.
    pub(crate) shard: Option<&'a ShardPlan>,
}

impl Runner<'_> {
    pub(crate) fn stopped(&self) -> bool {
        self.opts.stop.load(Ordering::SeqCst)
    }

    /// Returns whether the sweep was interrupted.
    fn run_all(&mut self, load: &LoadDataset<'_>) -> anyhow::Result<bool> {
        let per_scale = runs_per_scale(self.sweep) as u64;
        let overall = self.measure.progress.overall.clone();
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
                        self.measure
                            .progress
                            .line(format!("{spec}: scale {scale} not run: {e:#}"));
                        overall.inc(per_scale);
                        continue;
                    }
                    Err(e) => {
                        self.load_failed(spec, scale, &format!("{e:#}"))?;
                        overall.inc(per_scale);
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
                        self.measure.progress.line(format!(
                            "{spec}: has {n} train vectors; scale {scale} already run at {n}, skipped"
                        ));
                        overall.inc(per_scale);
                        continue;
                    }
                    notes.push(format!(
                        "scale {scale} asked; the dataset has only {n} train vectors"
                    ));
                } else {
                    seen.insert(n);
                }
                if self.sweep.interleave {
                    if self.run_scale_interleaved(spec, &ds, (di, si), &notes)? {
                        return Ok(true);
                    }
                    continue;
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

    /// Records a dataset that did not load: one error result per algorithm.
    fn load_failed(&mut self, spec: &str, scale: usize, error: &str) -> anyhow::Result<()> {
        let none = Params::new();
        for plan in &self.sweep.algorithms {
            let id = RunId {
                spec,
                ds: None,
                algorithm: plan.spec.name,
                build_params: &none,
            };
            let mut r = self.stamp.result(id, IN_PROCESS);
            r.n = scale;
            r.error = Some(format!("loading dataset `{spec}` at {scale}: {error}"));
            self.out.emit(r, None, &self.measure.progress)?;
        }
        Ok(())
    }

    /// Builds one build-parameter set (once, or once per query set when
    /// the algorithm fixes ef at build) and runs its query sets.
    fn run_build_group(
        &mut self,
        spec: &str,
        ds: &Arc<Dataset>,
        plan: &AlgorithmPlan,
        bp: &Params,
        notes: &[String],
    ) -> anyhow::Result<()> {
        let overall = self.measure.progress.overall.clone();
        let ctx = self.measure.context(ds, bp);
        let (fixed, process) = match self.measure.make(&ctx, plan) {
            Ok(a) => (a.ef_fixed_at_build(), a.process().to_string()),
            Err(e) => {
                let id = RunId {
                    spec,
                    ds: Some(ds),
                    algorithm: plan.spec.name,
                    build_params: bp,
                };
                let mut r = self.stamp.result(id, IN_PROCESS);
                r.error = Some(format!("creating the index failed: {e:#}"));
                r.notes = notes.to_vec();
                self.out.emit(r, None, &self.measure.progress)?;
                overall.inc(plan.query_sets.len() as u64);
                return Ok(());
            }
        };
        let mut shared = (!fixed).then(|| self.measure.build(ds, plan, bp, None));
        for qp in &plan.query_sets {
            if self.stopped() {
                return Ok(());
            }
            let run = Run {
                spec,
                ds,
                plan,
                build_params: bp,
                query_params: qp,
                rebuilt: fixed,
                notes,
                process: &process,
            };
            match shared.as_mut() {
                Some(built) => self.measure_and_emit(&run, built)?,
                None => {
                    let mut built = self.measure.build(ds, plan, bp, Some(qp));
                    self.measure_and_emit(&run, &mut built)?;
                }
            }
            overall.inc(1);
        }
        Ok(())
    }

    /// Runs `run`'s query passes on `built` and writes its result.
    fn measure_and_emit(&mut self, run: &Run<'_>, built: &mut BuildOutcome) -> anyhow::Result<()> {
        let id = RunId {
            spec: run.spec,
            ds: Some(run.ds),
            algorithm: run.plan.spec.name,
            build_params: run.build_params,
        };
        let mut r = self.stamp.result(id, run.process);
        r.query_params = Some(run.query_params.clone());
        r.rebuilt_for_query_params = run.rebuilt;
        r.notes = run.notes.to_vec();
        r.notes.extend(self.measure.steps.busy_note());
        let progress = &self.measure.progress;
        let b = match built {
            Ok(b) => b,
            Err(failure) => {
                r.error = Some(failure.error.clone());
                r.build_timings = failure.timings.clone();
                return self.out.emit(r, None, progress);
            }
        };
        record_build(&mut r, b, run.ds.n_train());
        let Some(adapter) = Arc::get_mut(&mut b.adapter) else {
            r.error = Some("index still in use by an abandoned (timed-out) query pass".to_string());
            return self.out.emit(r, None, progress);
        };
        // Out-of-process workers run their passes when given the query
        // parameters: the noise record spans both steps.
        let before = LoadSample::now();
        if let Err(e) = adapter.set_query_params(run.query_params) {
            r.error = Some(format!("setting query parameters failed: {e:#}"));
            return self.out.emit(r, None, progress);
        }
        let neighbors = self
            .measure
            .queries(run.ds, &b.adapter, &mut r, run.query_params);
        r.noise = Some(NoiseRecord::between(
            before,
            LoadSample::now(),
            noise::cores(),
        ));
        self.measure.open_loop(run.ds, b, run.query_params, &mut r);
        self.out.emit(r, neighbors.as_deref(), progress)
    }
}
