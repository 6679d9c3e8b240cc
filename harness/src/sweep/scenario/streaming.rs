//! Scenario `streaming`: a runbook (`runbook.rs`) of inserts, deletes and
//! searches, run on each engine once per build set and query set.
//!
//! Per dataset scale the runbook is expanded once and the exact ground
//! truth of the live set at every search step computed; both go to
//! `neighbors/streaming/` in the sweep directory. Each run records every step
//! (`streaming.steps`: count, live size, seconds, rate; for searches
//! recall@10 and latency), insert and delete throughput, and latency
//! read-only vs while an insert thread writes. Its `recall_at_10` is the
//! minimum over its search steps, `latency_ms` the read-only latency, and
//! `build_seconds` the initial load.
//!
//! Engines: OmenDB RAM and disk (`remove`), usearch (`remove`), hnswlib
//! (`mark_deleted`, in `harness/adapters/scenario.py`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::live::{self, LiveContext, LiveIndex};
use super::record::{StepRecord, StreamingRecord};
use super::runbook::{Op, Plan, Runbook};
use super::worker;
use super::{score, stem, Emitter};
use crate::data::groundtruth::GroundTruth;
use crate::data::Dataset;
use crate::sweep::adapter::{Params, IN_PROCESS};
use crate::sweep::adapters::param;
use crate::sweep::config::AlgorithmPlan;
use crate::sweep::metrics::{per_second, Latency};
use crate::sweep::results::RunResult;

/// Engines named in errors.
pub const ENGINES: &str = "omendb-hnsw, omendb-hnsw-disk, usearch, hnswlib";

/// Whether `name` can run this scenario.
pub fn can_run(name: &str) -> bool {
    live::is_live(name) || worker::streams(name)
}

/// What one step measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutcome {
    /// Wall seconds of the step's writes, or of its search pass.
    pub seconds: f64,
    /// Per-query latencies of its searches, milliseconds.
    pub latency_ms: Vec<f64>,
    /// Read-only search steps: the ids found per query.
    pub ids: Option<Vec<Vec<u32>>>,
}

/// The expanded runbook and every search step's ground truth, as written.
#[derive(Serialize)]
struct TruthFile<'a> {
    ops: &'a [Op],
    live: &'a [usize],
    searches: Vec<SearchTruth<'a>>,
}

#[derive(Serialize)]
struct SearchTruth<'a> {
    step: usize,
    neighbors: &'a [Vec<u32>],
    distances: &'a [Vec<f32>],
}

#[derive(Serialize)]
struct SeriesFile<'a> {
    searches: Vec<SeriesStep<'a>>,
}

#[derive(Serialize)]
struct SeriesStep<'a> {
    step: usize,
    ids: &'a [Vec<u32>],
}

/// Expands `book` for `ds`, computes ground truths, runs every algorithm.
pub(crate) fn run_dataset(
    em: &mut Emitter<'_>,
    spec: &str,
    ds: &mut Dataset,
    book: &Runbook,
) -> anyhow::Result<()> {
    let k_truth = em.sweep.k.max(10);
    let prepared = book.expand(ds.n_train()).and_then(|plan| {
        let truth = em
            .pool
            .install(|| plan.ground_truth(&ds.train, &ds.test, ds.dims, ds.metric, k_truth))?;
        Ok((plan, truth))
    });
    let (plan, truths) = match prepared {
        Ok(p) => p,
        Err(e) => {
            for a in &em.sweep.algorithms {
                for bp in &a.build_sets {
                    let mut r = em.result(spec, ds, a.spec.name, bp, IN_PROCESS);
                    r.scenario.scenario = Some("streaming".to_string());
                    r.error = Some(format!("runbook: {e:#}"));
                    em.emit(r, None)?;
                }
            }
            return Ok(());
        }
    };
    let truth_file = em.write_side_file(
        &format!(
            "neighbors/streaming/{}-{}-truth.json",
            stem(&ds.name),
            ds.n_train()
        ),
        &TruthFile {
            ops: &plan.ops,
            live: &plan.live,
            searches: plan
                .live_at_search
                .iter()
                .zip(&truths)
                .map(|((step, _), t)| SearchTruth {
                    step: *step,
                    neighbors: &t.0,
                    distances: &t.1,
                })
                .collect(),
        },
    )?;
    for a in &em.sweep.algorithms {
        for bp in &a.build_sets {
            for qp in &a.query_sets {
                let out = run_engine(em, ds, a, bp, qp, &plan);
                let process = if worker::streams(a.spec.name) {
                    worker::PROCESS
                } else {
                    IN_PROCESS
                };
                let mut r = em.result(spec, ds, a.spec.name, bp, process);
                r.query_params = Some(qp.clone());
                r.scenario.scenario = Some("streaming".to_string());
                match out {
                    Ok((steps, notes)) => {
                        r.notes.extend(notes);
                        let series = record(em, &mut r, ds, &plan, &truths, &steps, &truth_file)?;
                        r.scenario.streaming = Some(series);
                        em.emit(r, None)?;
                    }
                    Err(e) => {
                        r.error = Some(format!("{e:#}"));
                        em.emit(r, None)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn run_engine(
    em: &Emitter<'_>,
    ds: &Dataset,
    a: &AlgorithmPlan,
    bp: &Params,
    qp: &Params,
    plan: &Plan,
) -> anyhow::Result<(Vec<StepOutcome>, Vec<String>)> {
    let name = a.spec.name;
    if worker::streams(name) {
        return worker::streaming(name, ds, bp, qp, plan, em.sweep);
    }
    let ctx = LiveContext {
        dims: ds.dims,
        metric: ds.metric,
        capacity: plan.rows_used(),
        threads: em.sweep.threads,
        build_params: bp,
    };
    let mut index = live::make(name, &ctx)?;
    index.set_ef(param(qp, "ef")?);
    let index: &dyn LiveIndex = index.as_ref();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(index, plan, ds, em.sweep.k, &em.pool)
    })) {
        Ok(r) => r.map(|steps| (steps, Vec::new())),
        Err(p) => Err(anyhow::anyhow!(
            "panicked: {}",
            crate::sweep::guard::panic_message(p.as_ref())
        )),
    }
}

/// Runs every op of `plan` on `index`: inserts on `pool` (all its threads),
/// deletes and searches one at a time on the calling thread; a concurrent
/// step inserts on one thread of its own while the calling thread searches.
pub fn drive(
    index: &dyn LiveIndex,
    plan: &Plan,
    ds: &Dataset,
    k: usize,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Vec<StepOutcome>> {
    let d = ds.dims;
    // The concurrent steps' one insert thread.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| anyhow::anyhow!("an insert thread: {e}"))?;
    let insert = |start: usize, end: usize, pool: &rayon::ThreadPool| -> anyhow::Result<f64> {
        let t = Instant::now();
        let mut s = start;
        while s < end {
            let e = (s + plan.batch).min(end);
            let ids: Vec<u64> = (s as u64..e as u64).collect();
            pool.install(|| index.insert(&ids, &ds.train[s * d..e * d]))?;
            s = e;
        }
        Ok(t.elapsed().as_secs_f64())
    };
    let mut out = Vec::with_capacity(plan.ops.len());
    for op in &plan.ops {
        let step = match op {
            Op::Insert { start, end } => StepOutcome {
                seconds: insert(*start, *end, pool)?,
                ..StepOutcome::default()
            },
            Op::Delete { ids } => {
                let t = Instant::now();
                for &id in ids {
                    index.remove(id)?;
                }
                StepOutcome {
                    seconds: t.elapsed().as_secs_f64(),
                    ..StepOutcome::default()
                }
            }
            Op::Search => {
                let t = Instant::now();
                let mut latency_ms = Vec::with_capacity(ds.n_test());
                let mut ids = Vec::with_capacity(ds.n_test());
                for q in ds.test.chunks_exact(d) {
                    let tq = Instant::now();
                    ids.push(index.search(q, k, None)?);
                    latency_ms.push(tq.elapsed().as_secs_f64() * 1e3);
                }
                StepOutcome {
                    seconds: t.elapsed().as_secs_f64(),
                    latency_ms,
                    ids: Some(ids),
                }
            }
            Op::InsertWhileSearching { start, end } => {
                let done = AtomicBool::new(false);
                let (written, latency_ms) = std::thread::scope(|s| {
                    let writer = s.spawn(|| {
                        let r = insert(*start, *end, &one);
                        done.store(true, Ordering::SeqCst);
                        r
                    });
                    let mut lat = Vec::new();
                    let mut search_error = None;
                    // At least one query, then until the writer is done.
                    for q in ds.test.chunks_exact(d).cycle() {
                        if !lat.is_empty() && done.load(Ordering::SeqCst) {
                            break;
                        }
                        let tq = Instant::now();
                        if let Err(e) = index.search(q, k, None) {
                            search_error = Some(e);
                            break;
                        }
                        lat.push(tq.elapsed().as_secs_f64() * 1e3);
                    }
                    let written = writer
                        .join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("the insert thread panicked")));
                    match search_error {
                        Some(e) => (Err(e), lat),
                        None => (written, lat),
                    }
                });
                StepOutcome {
                    seconds: written?,
                    latency_ms,
                    ids: None,
                }
            }
        };
        out.push(step);
    }
    Ok(out)
}

/// Fills `r` from the steps and writes the run's series file.
fn record(
    em: &Emitter<'_>,
    r: &mut RunResult,
    ds: &mut Dataset,
    plan: &Plan,
    truths: &[GroundTruth],
    steps: &[StepOutcome],
    truth_file: &str,
) -> anyhow::Result<StreamingRecord> {
    anyhow::ensure!(
        steps.len() == plan.ops.len(),
        "the engine ran {} of the runbook's {} steps",
        steps.len(),
        plan.ops.len()
    );
    let mut records = Vec::with_capacity(steps.len());
    let mut search_i = 0;
    let (mut ins, mut ins_s, mut del, mut del_s) = (0usize, 0f64, 0usize, 0f64);
    let (mut read_lat, mut write_lat) = (Vec::new(), Vec::new());
    let (mut min_r1, mut min_recall, mut min_id_recall) = (None::<f64>, None::<f64>, None::<f64>);
    let mut series = Vec::new();
    for (i, (op, s)) in plan.ops.iter().zip(steps).enumerate() {
        let count = op.count();
        let mut rec = StepRecord {
            step: i,
            op: op.name().to_string(),
            count,
            live: plan.live[i],
            seconds: s.seconds,
            per_second: None,
            recall_at_10: None,
            searches: s.latency_ms.len(),
            latency_ms: Latency::from_ms(&s.latency_ms),
        };
        match op {
            Op::Insert { .. } | Op::InsertWhileSearching { .. } => {
                rec.per_second = per_second(count, s.seconds);
                if i > 0 {
                    ins += count;
                    ins_s += s.seconds;
                }
                if i == 0 {
                    r.build_seconds = Some(s.seconds);
                    r.build_vectors_per_second = rec.per_second;
                    r.build_threads = em.sweep.threads;
                }
                write_lat.extend_from_slice(&s.latency_ms);
            }
            Op::Delete { .. } => {
                rec.per_second = per_second(count, s.seconds);
                del += count;
                del_s += s.seconds;
            }
            Op::Search => {
                let ids = s
                    .ids
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("search step {i} returned no ids"))?;
                let truth = truths
                    .get(search_i)
                    .ok_or_else(|| anyhow::anyhow!("no ground truth for search step {i}"))?;
                search_i += 1;
                let mut tmp = RunResult {
                    k: r.k,
                    ..RunResult::default()
                };
                score(ds, truth, ids, &mut tmp);
                rec.recall_at_10 = tmp.recall_at_10;
                let low = |m: Option<f64>, x: Option<f64>| match (m, x) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                min_r1 = low(min_r1, tmp.recall_at_1);
                min_recall = low(min_recall, tmp.recall_at_10);
                min_id_recall = low(min_id_recall, tmp.id_recall_at_10);
                read_lat.extend_from_slice(&s.latency_ms);
                series.push(SeriesStep { step: i, ids });
            }
        }
        records.push(rec);
    }
    r.recall_at_1 = min_r1;
    r.recall_at_10 = min_recall;
    r.id_recall_at_10 = min_id_recall;
    r.latency_ms = Latency::from_ms(&read_lat);
    let read_s: f64 = plan
        .ops
        .iter()
        .zip(steps)
        .filter(|(op, _)| matches!(op, Op::Search))
        .map(|(_, s)| s.seconds)
        .sum();
    r.qps_single_thread = per_second(read_lat.len(), read_s);
    r.notes.push(
        "streaming: recall_at_1 and recall_at_10 are minima over the search steps; latency_ms and \
         qps_single_thread are the read-only search steps'; build_seconds is the initial load"
            .to_string(),
    );
    let series_file = em.write_side_file(
        &format!(
            "neighbors/streaming/{:04}-{}-{}-{}-series.json",
            em.writer.written().len() + 1,
            stem(&r.algorithm),
            stem(&ds.name),
            ds.n_train()
        ),
        &SeriesFile { searches: series },
    )?;
    Ok(StreamingRecord {
        steps: records,
        insert_per_second: per_second(ins, ins_s),
        delete_per_second: per_second(del, del_s),
        latency_read_only_ms: Latency::from_ms(&read_lat),
        latency_under_writes_ms: Latency::from_ms(&write_lat),
        series_file,
        ground_truth_file: truth_file.to_string(),
    })
}
