//! Result assembly: the fields every result of a sweep shares, a run's
//! identity, and the figures a build or a worker measured, put into a
//! [`RunResult`].

use super::adapter::{Params, SelfMeasuredQueries};
use super::config::Sweep;
use super::machine::{self, Machine};
use super::measure::Built;
use super::memory::BytesPerVector;
use super::metrics::{per_second, recall, Latency, RECALL_DEPTHS};
use super::results::{RunResult, ThreadScaling, WorkerReport, SCHEMA_VERSION};
use crate::data::Dataset;

/// What every result of one sweep shares.
pub(crate) struct SweepStamp {
    sweep_id: String,
    /// The shard of a sharded sweep, recorded in every result.
    pub(crate) shard: Option<super::shard::Shard>,
    machine: Machine,
    commit: Option<String>,
    config_json: serde_json::Value,
    k: usize,
    threads: usize,
}

/// Which run a result is about.
#[derive(Clone, Copy)]
pub(crate) struct RunId<'a> {
    /// The dataset spec as configured.
    pub(crate) spec: &'a str,
    /// The dataset as loaded (`None` when it did not load).
    pub(crate) ds: Option<&'a Dataset>,
    /// The algorithm's registry name.
    pub(crate) algorithm: &'a str,
    /// The build-parameter set.
    pub(crate) build_params: &'a Params,
}

impl SweepStamp {
    /// The shared fields of `sweep`'s results, under `sweep_id`.
    pub(crate) fn new(sweep: &Sweep, sweep_id: String) -> anyhow::Result<Self> {
        Ok(SweepStamp {
            sweep_id,
            shard: None,
            machine: Machine::detect(),
            commit: machine::git_commit(),
            config_json: serde_json::to_value(&sweep.config)?,
            k: sweep.k,
            threads: sweep.threads,
        })
    }

    /// The sweep's id.
    pub(crate) fn sweep_id(&self) -> &str {
        &self.sweep_id
    }

    /// A result for `id` with nothing measured yet, run in `process`.
    pub(crate) fn result(&self, id: RunId<'_>, process: &str) -> RunResult {
        let ds = id.ds;
        RunResult {
            schema_version: SCHEMA_VERSION,
            sweep_id: self.sweep_id.clone(),
            algorithm: id.algorithm.to_string(),
            dataset: ds.map_or_else(|| id.spec.to_string(), |d| d.name.clone()),
            dataset_spec: id.spec.to_string(),
            n: ds.map_or(0, Dataset::n_train),
            dims: ds.map_or(0, |d| d.dims),
            metric: ds.map_or_else(String::new, |d| d.metric.ann_name().to_string()),
            n_queries: ds.map_or(0, Dataset::n_test),
            k: self.k,
            build_params: id.build_params.clone(),
            build_threads: self.threads,
            batch_threads: self.threads,
            machine: self.machine.clone(),
            commit: self.commit.clone(),
            timestamp: machine::now_rfc3339(),
            config: self.config_json.clone(),
            process: process.to_string(),
            shard: self.shard,
            ..RunResult::default()
        }
    }
}

/// Puts a finished build's figures into `r` (`n` train vectors): time,
/// memory, reopen, and what an out-of-process worker reported.
pub(crate) fn record_build(r: &mut RunResult, b: &Built, n: usize) {
    r.build_seconds = Some(b.seconds);
    r.build_vectors_per_second = per_second(n, b.seconds);
    r.build_timings = b.timings.clone();
    r.memory = b.memory.clone();
    r.bytes_per_vector = BytesPerVector::from_report(&b.memory, n);
    if let Some(o) = b.reopen {
        r.open_seconds = Some(o.open_seconds);
        r.rss_after_open_bytes = o.rss_after_open_bytes();
        r.rss_growth_on_open_bytes = o.rss_growth_bytes();
        r.rss_anon_growth_on_open_bytes = o.rss_anon_growth_bytes();
    }
    if let Some(sb) = b.adapter.self_measured_build() {
        match &sb.memory {
            // Every worker samples its own /proc/self/status around the
            // build, its peak mark reset first: the same three columns for
            // every engine.
            Some(m) => {
                r.memory = m.clone();
                r.bytes_per_vector = BytesPerVector::from_report(m, n);
                r.notes.push(format!(
                    "process {}: build time and memory are the worker's own (its /proc/self/status around the build, peak mark reset first)",
                    r.process
                ));
            }
            // An older worker: only its RSS growth. The harness's own RSS
            // says nothing about it (null, not the harness's figure).
            None => {
                r.memory = Default::default();
                r.bytes_per_vector = BytesPerVector {
                    rss: sb
                        .worker_rss_growth_bytes
                        .filter(|_| n > 0)
                        .map(|g| g as f64 / n as f64),
                    ..BytesPerVector::default()
                };
                r.notes.push(format!(
                    "process {}: build time and bytes_per_vector.rss are the worker's own (RSS growth of the worker during build)",
                    r.process
                ));
            }
        }
        r.worker = Some(WorkerReport::from_build(sb));
    }
}

/// Fills recall at every depth up to `k` from the ids found.
pub(crate) fn fill_recall(ds: &Dataset, ids: &[Vec<u32>], k: usize, r: &mut RunResult) {
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
pub(crate) fn fill_self_measured(r: &mut RunResult, sq: &SelfMeasuredQueries, nq: usize) {
    let qps =
        |secs: &[f64]| -> Vec<f64> { secs.iter().filter_map(|s| per_second(nq, *s)).collect() };
    let best = |v: &[f64]| v.iter().copied().reduce(f64::max);
    r.page_cache_bytes = sq.page_cache_bytes;
    r.reads_per_query = sq.reads_per_query;
    r.qps_single_thread_repeats = qps(&sq.batch_single_thread_seconds);
    r.qps_single_thread = best(&r.qps_single_thread_repeats);
    r.qps_batch_repeats = qps(&sq.batch_all_threads_seconds);
    r.qps_batch = best(&r.qps_batch_repeats);
    let per_call = qps(&sq.per_call_seconds);
    r.qps_single_thread_per_call = best(&per_call);
    r.latency_ms = Latency::from_ms(&sq.per_call_latency_ms);
    r.batch_scaling = sq
        .batch_scaling
        .iter()
        .map(|(threads, secs)| {
            let qps_repeats = qps(secs);
            ThreadScaling {
                threads: *threads,
                qps: best(&qps_repeats),
                qps_repeats,
            }
        })
        .collect();
    if let Some(w) = r.worker.as_mut() {
        w.record_queries(sq, per_call);
    }
    r.notes.push(format!(
        "process {}: qps_single_thread is one batch call on 1 thread; latency_ms is per call (binding overhead included)",
        r.process
    ));
}
