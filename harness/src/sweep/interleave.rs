//! Interleaved timing: every engine of one dataset scale is built first and
//! kept alive (in its worker process, or in this one), then their query
//! passes alternate in rounds — round `i` runs the `i`-th pass of every run
//! of the scale, in sweep order (A B C A B C …) — so whatever else the
//! machine does falls on all of them alike. Every pass is kept in its
//! result (`passes`, with its start time); the summary reports the median
//! and range of the passes, and the ratio tables pair the passes of one
//! round.
//!
//! The config's `interleave: false` runs each build set's passes back to
//! back instead (`runner.rs`), which holds one index at a time.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::adapter::{Params, SelfMeasuredQueries};
use super::assemble::{fill_recall, fill_self_measured, record_build, RunId};
use super::config::AlgorithmPlan;
use super::machine;
use super::measure::BuildOutcome;
use super::metrics::per_second;
use super::noise::{self, LoadSample, NoiseRecord};
use super::results::{PassRecord, RunResult};
use super::runner::Runner;
use super::shard::BuildSetId;
use crate::data::Dataset;

/// One run of the scale: a query-parameter set on one build.
struct Slot<'a> {
    qp: &'a Params,
    /// Runs of the progress bar this slot stands for.
    weight: u64,
    /// Index into the scale's builds (`None`: the adapter could not be made).
    build: Option<usize>,
    r: RunResult,
    /// Worker-timed passes so far.
    worker: Option<SelfMeasuredQueries>,
    /// In-process single-thread latencies so far, ms.
    latencies: Vec<f64>,
    ids: Option<Vec<Vec<u32>>>,
    before: Option<LoadSample>,
    after: Option<LoadSample>,
}

impl<'a> Runner<'a> {
    /// Runs one dataset scale interleaved: builds, rounds of passes, then
    /// the results in sweep order. Returns whether the sweep was stopped.
    pub(crate) fn run_scale_interleaved(
        &mut self,
        spec: &str,
        ds: &Arc<Dataset>,
        (di, si): (usize, usize),
        notes: &[String],
    ) -> anyhow::Result<bool> {
        let sweep = self.sweep;
        let mut builds: Vec<BuildOutcome> = Vec::new();
        let mut slots: Vec<Slot<'a>> = Vec::new();
        for (ai, plan) in sweep.algorithms.iter().enumerate() {
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
                self.build_set(spec, ds, plan, bp, notes, &mut builds, &mut slots);
            }
        }
        let mut stopped = false;
        'rounds: for round in 0..sweep.repeats {
            for slot in &mut slots {
                if self.stopped() {
                    stopped = true;
                    break 'rounds;
                }
                if let Some(b) = slot.build {
                    self.pass(ds, &mut builds[b], slot, round);
                }
            }
        }
        for mut slot in slots {
            if slot.r.error.is_none() && slot.r.passes.is_empty() {
                // Stopped before its first pass: nothing to record.
                continue;
            }
            self.finish(ds, &mut builds, &mut slot);
            let neighbors = slot.ids.take();
            self.out
                .emit(slot.r, neighbors.as_deref(), &self.measure.progress)?;
            self.measure.progress.overall.inc(slot.weight);
        }
        Ok(stopped)
    }

    /// Builds one build set (once, or once per query set when the engine
    /// fixes ef at build) and adds a slot per query set.
    #[allow(clippy::too_many_arguments)]
    fn build_set(
        &mut self,
        spec: &str,
        ds: &Arc<Dataset>,
        plan: &'a AlgorithmPlan,
        bp: &'a Params,
        notes: &[String],
        builds: &mut Vec<BuildOutcome>,
        slots: &mut Vec<Slot<'a>>,
    ) {
        let id = RunId {
            spec,
            ds: Some(ds),
            algorithm: plan.spec.name,
            build_params: bp,
        };
        let ctx = self.measure.context(ds, bp);
        let made = self
            .measure
            .make(&ctx, plan)
            .map(|a| (a.ef_fixed_at_build(), a.process().to_string()));
        for (qi, qp) in plan.query_sets.iter().enumerate() {
            let mut slot = Slot {
                qp,
                weight: 1,
                build: None,
                r: RunResult::default(),
                worker: None,
                latencies: Vec::new(),
                ids: None,
                before: None,
                after: None,
            };
            let process = match &made {
                Ok((_, p)) => p.as_str(),
                Err(_) => super::adapter::IN_PROCESS,
            };
            let mut r = self.stamp.result(id, process);
            r.notes = notes.to_vec();
            match &made {
                Err(e) => {
                    r.error = Some(format!("creating the index failed: {e:#}"));
                    if qi == 0 {
                        slot.r = r;
                        slot.weight = plan.query_sets.len() as u64;
                        slots.push(slot);
                    }
                    continue;
                }
                Ok((fixed, _)) => {
                    r.query_params = Some(qp.clone());
                    r.rebuilt_for_query_params = *fixed;
                    if *fixed || qi == 0 {
                        let qp_at_build = fixed.then_some(qp);
                        builds.push(self.measure.build(ds, plan, bp, qp_at_build));
                    }
                }
            }
            let b = builds.len() - 1;
            match &builds[b] {
                Ok(built) => {
                    record_build(&mut r, built, ds.n_train());
                    slot.build = Some(b);
                }
                Err(failure) => {
                    r.error = Some(failure.error.clone());
                    r.build_timings = failure.timings.clone();
                }
            }
            slot.r = r;
            slots.push(slot);
        }
    }

    /// One pass of `slot` (every kind, once) in round `round`.
    fn pass(&self, ds: &Arc<Dataset>, built: &mut BuildOutcome, slot: &mut Slot<'_>, round: usize) {
        let r = &mut slot.r;
        let Ok(b) = built else { return };
        if r.error.is_some() {
            return;
        }
        r.notes.extend(self.measure.steps.busy_note());
        let Some(adapter) = Arc::get_mut(&mut b.adapter) else {
            r.error = Some("index still in use by an abandoned (timed-out) query pass".to_string());
            return;
        };
        slot.before.get_or_insert_with(LoadSample::now);
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let t0 = Instant::now();
        // Workers run their pass when given the query parameters.
        if let Err(e) = adapter.set_query_params(slot.qp) {
            r.error = Some(format!("setting query parameters failed: {e:#}"));
            return;
        }
        let qps = match adapter.self_measured_queries() {
            Some(sq) => {
                let sq = sq.clone();
                let qps = sq
                    .batch_single_thread_seconds
                    .first()
                    .and_then(|s| per_second(ds.n_test(), *s));
                match &mut slot.worker {
                    Some(acc) => acc.append(sq),
                    None => slot.worker = Some(sq),
                }
                qps
            }
            None => {
                let ids = self
                    .measure
                    .passes(ds, &b.adapter, r, slot.qp, 1, &mut slot.latencies);
                if slot.ids.is_none() {
                    slot.ids = ids;
                }
                r.qps_single_thread_repeats.last().copied()
            }
        };
        slot.after = Some(LoadSample::now());
        r.passes.push(PassRecord {
            round,
            started_unix_seconds: started,
            started: machine::timestamp_rfc3339(started as u64),
            seconds: t0.elapsed().as_secs_f64(),
            qps_single_thread: qps,
        });
    }

    /// Puts a slot's passes together (worker timings, recall), runs its
    /// open-loop loads, and records the noise around its passes.
    fn finish(&self, ds: &Arc<Dataset>, builds: &mut [BuildOutcome], slot: &mut Slot<'_>) {
        let r = &mut slot.r;
        if let Some(sq) = &slot.worker {
            fill_self_measured(r, sq, ds.n_test());
            fill_recall(ds, &sq.ids, self.sweep.k, r);
            slot.ids = Some(sq.ids.clone());
        }
        if let (Some(before), Some(after)) = (slot.before, slot.after) {
            r.noise = Some(NoiseRecord::between(before, after, noise::cores()));
        }
        if r.error.is_none() && !r.passes.is_empty() {
            if let Some(Ok(b)) = slot.build.map(|i| &mut builds[i]) {
                self.measure.open_loop(ds, b, slot.qp, r);
            }
        }
    }
}
