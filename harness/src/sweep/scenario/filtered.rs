//! Scenario `filtered`: recall@10 and QPS under label filters.
//!
//! For every dataset scale, one label per (selectivity, correlation) is
//! drawn (`data::labels`) and its exact ground truth computed over the
//! allowed ids; both are written to `neighbors/labels/` in the sweep directory (beside the ids each run found). Each
//! algorithm's build-parameter set is built once, then every query set
//! (`ef`) runs every label: `repeats` single-thread passes, one query per
//! call, timed per query. One result per (label, query set) carries
//! `selectivity`, `filter` and recall against the filtered ground truth.
//!
//! How each engine filters (`filter.mode` in results):
//! - `native`: OmenDB (RAM and disk) with an allow-set in
//!   `SearchParams::filtered`; usearch with a predicate
//!   (`filtered_search`); hnswlib with a Python callable
//!   (`knn_query(filter=…)`); faiss HNSW with `SearchParametersHNSW(sel=
//!   IDSelectorBatch)` (the last two in `harness/adapters/scenario.py`);
//! - `post-filter`: every other in-process algorithm searches unfiltered for
//!   `searched_k = min(n, max_k, ⌈k · factor / selectivity⌉)` neighbours and
//!   keeps the first `k` allowed (labelled as such: recall collapses when
//!   too few allowed ids are among them).

use std::sync::Arc;
use std::time::Instant;

use anyhow::ensure;
use serde::{Deserialize, Serialize};

use super::live::{self, Allow, LiveContext, LiveIndex};
use super::record::FilterRecord;
use super::worker;
use super::{score, stem, Emitter};
use crate::data::groundtruth::GroundTruth;
use crate::data::labels::{ground_truth_within, Correlation, LabelSpec, Labels};
use crate::data::Dataset;
use crate::sweep::adapter::{Adapter, Params, IN_PROCESS};
use crate::sweep::adapters::{param, BuildContext};
use crate::sweep::config::AlgorithmPlan;
use crate::sweep::metrics::{per_second, Latency};
use crate::sweep::results::RunResult;

/// Engines named in errors.
pub const ENGINES: &str = "omendb-hnsw, omendb-hnsw-disk, usearch, hnswlib, faiss-hnsw \
    (native); hnsw_rs, instant-distance, omendb-flat, omendb-hnsw-pq (post-filter)";

/// The `filtered` scenario's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilteredConfig {
    /// Free text, ignored.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<serde_json::Value>,
    /// Shares of the train vectors each label allows.
    #[serde(default = "default_selectivities")]
    pub selectivities: Vec<f64>,
    /// How labels relate to the clusters: `none`, `clusters`, or both.
    #[serde(default = "default_correlations")]
    pub correlations: Vec<Correlation>,
    /// Seed of the labels.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Post-filtering engines ask for `k · factor / selectivity` neighbours…
    #[serde(default = "default_factor")]
    pub post_filter_factor: f64,
    /// …but never more than this.
    #[serde(default = "default_max_k")]
    pub post_filter_max_k: usize,
}

fn default_selectivities() -> Vec<f64> {
    vec![0.5, 0.1, 0.01, 0.001]
}
fn default_correlations() -> Vec<Correlation> {
    vec![Correlation::None, Correlation::Clusters]
}
fn default_seed() -> u64 {
    42
}
fn default_factor() -> f64 {
    2.0
}
fn default_max_k() -> usize {
    1000
}

impl FilteredConfig {
    /// Checks the fields.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(!self.selectivities.is_empty(), "selectivities: none given");
        for (i, &s) in self.selectivities.iter().enumerate() {
            ensure!(
                s.is_finite() && s > 0.0 && s <= 1.0,
                "selectivities[{i}]: {s} is not in (0, 1]"
            );
        }
        ensure!(!self.correlations.is_empty(), "correlations: none given");
        ensure!(
            self.post_filter_factor.is_finite() && self.post_filter_factor >= 1.0,
            "post_filter_factor: {} must be at least 1",
            self.post_filter_factor
        );
        ensure!(
            self.post_filter_max_k >= 1,
            "post_filter_max_k: must be at least 1"
        );
        Ok(())
    }

    /// Every label spec, selectivity-major.
    pub fn specs(&self) -> Vec<LabelSpec> {
        self.selectivities
            .iter()
            .flat_map(|&selectivity| {
                self.correlations.iter().map(move |&correlation| LabelSpec {
                    selectivity,
                    correlation,
                    seed: self.seed,
                })
            })
            .collect()
    }
}

/// Whether `name` can run this scenario.
pub fn can_run(name: &str) -> bool {
    live::is_live(name)
        || worker::filters(name)
        || matches!(
            name,
            "hnsw_rs" | "instant-distance" | "omendb-flat" | "omendb-hnsw-pq"
        )
}

/// One label with its ground truth and where both were written.
pub struct Case {
    /// The label as engines apply it.
    pub allow: Allow,
    /// Exact neighbours among the allowed ids.
    pub truth: GroundTruth,
    /// `neighbors/labels/…json` in the sweep directory.
    pub file: String,
}

/// What the side file of a label holds (so anyone can recompute recall).
#[derive(Serialize)]
struct CaseFile<'a> {
    label: &'a Labels,
    neighbors: &'a [Vec<u32>],
    distances: &'a [Vec<f32>],
}

/// One pass set of one (label, query set): ids of the first pass, seconds
/// of every pass, per-query latencies of every pass.
#[derive(Debug, Clone, Default)]
pub struct Passes {
    /// Ids found per query (first pass).
    pub ids: Vec<Vec<u32>>,
    /// Wall seconds of each pass.
    pub seconds: Vec<f64>,
    /// Per-query latency of every pass, milliseconds.
    pub latency_ms: Vec<f64>,
    /// Neighbours asked of the engine.
    pub searched_k: usize,
    /// `native` or `post-filter`.
    pub mode: &'static str,
    /// Remarks on how the passes ran.
    pub notes: Vec<String>,
}

/// An engine's whole filtered job: build figures, then passes per query
/// set per label (`[query set][label]`).
pub struct JobOutput {
    /// Build wall seconds.
    pub build_seconds: f64,
    /// The worker's library, when out of process.
    pub library: Option<String>,
    /// `[query set][label]`.
    pub passes: Vec<Vec<anyhow::Result<Passes>>>,
}

/// Draws every label of `cfg` on `ds`, computes ground truths, then runs
/// every algorithm.
pub(crate) fn run_dataset(
    em: &mut Emitter<'_>,
    spec: &str,
    ds: &mut Dataset,
    cfg: &FilteredConfig,
) -> anyhow::Result<()> {
    let k_truth = em.sweep.k.max(10);
    let mut cases = Vec::new();
    for ls in cfg.specs() {
        let labels = em
            .pool
            .install(|| Labels::draw(&ds.train, ds.dims, ds.metric, ls))?;
        let truth = em.pool.install(|| {
            ground_truth_within(
                &ds.train,
                &ds.test,
                ds.dims,
                ds.metric,
                &labels.allowed,
                k_truth,
            )
        })?;
        let file = em.write_side_file(
            &format!(
                "neighbors/labels/{}-{}-{}.json",
                stem(&ds.name),
                ds.n_train(),
                ls.name()
            ),
            &CaseFile {
                label: &labels,
                neighbors: &truth.0,
                distances: &truth.1,
            },
        )?;
        cases.push(Case {
            allow: Allow::new(Arc::new(labels)),
            truth,
            file,
        });
    }
    for plan in &em.sweep.algorithms {
        for bp in &plan.build_sets {
            let out = run_engine(em, ds, plan, bp, &cases, cfg);
            emit_all(em, spec, ds, plan, bp, &cases, cfg, out)?;
        }
    }
    Ok(())
}

/// Runs one build set of one algorithm over every query set and label.
fn run_engine(
    em: &Emitter<'_>,
    ds: &Dataset,
    plan: &AlgorithmPlan,
    bp: &Params,
    cases: &[Case],
    cfg: &FilteredConfig,
) -> anyhow::Result<JobOutput> {
    let name = plan.spec.name;
    let sweep = em.sweep;
    if worker::filters(name) {
        return worker::filtered(name, ds, bp, &plan.query_sets, cases, sweep);
    }
    let n = ds.n_train();
    let k = sweep.k;
    let guarded = |f: &mut dyn FnMut() -> anyhow::Result<Passes>| -> anyhow::Result<Passes> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => r,
            Err(p) => Err(anyhow::anyhow!(
                "panicked: {}",
                crate::sweep::guard::panic_message(p.as_ref())
            )),
        }
    };
    if live::is_live(name) {
        let ctx = LiveContext {
            dims: ds.dims,
            metric: ds.metric,
            capacity: n,
            threads: sweep.threads,
            build_params: bp,
        };
        let mut index = live::make(name, &ctx)?;
        let ids: Vec<u64> = (0..n as u64).collect();
        let t = Instant::now();
        em.pool.install(|| index.insert(&ids, &ds.train))?;
        let build_seconds = t.elapsed().as_secs_f64();
        let mut passes = Vec::new();
        for qp in &plan.query_sets {
            index.set_ef(param(qp, "ef")?);
            let index: &dyn LiveIndex = index.as_ref();
            let per_label = cases
                .iter()
                .map(|c| {
                    guarded(&mut || {
                        time_passes(ds, sweep.repeats, k, "native", |q| {
                            index.search(q, k, Some(&c.allow))
                        })
                    })
                })
                .collect();
            passes.push(per_label);
        }
        return Ok(JobOutput {
            build_seconds,
            library: None,
            passes,
        });
    }
    // Post-filter through the algorithm's own adapter.
    let ctx = BuildContext {
        dims: ds.dims,
        metric: ds.metric,
        n,
        k,
        build_params: bp,
        data: ds,
        repeats: sweep.repeats,
        warmup_seconds: sweep.warmup_seconds,
        build_timeout_seconds: sweep.build_timeout_seconds,
        query_timeout_seconds: sweep.query_timeout_seconds,
    };
    let mut adapter = (plan.spec.make)(&ctx)?;
    let t = Instant::now();
    em.pool
        .install(|| adapter.build(&ds.train, ds.dims, sweep.threads))?;
    let build_seconds = t.elapsed().as_secs_f64();
    let mut passes = Vec::new();
    for qp in &plan.query_sets {
        adapter.set_query_params(qp)?;
        let a: &dyn Adapter = adapter.as_ref();
        let per_label = cases
            .iter()
            .map(|c| {
                let wide = searched_k(k, c.allow.labels.selectivity(), n, cfg);
                guarded(&mut || {
                    let mut p = time_passes(ds, sweep.repeats, k, "post-filter", |q| {
                        let found = a.search(q, wide)?;
                        Ok(found
                            .into_iter()
                            .filter(|&id| c.allow.allows(u64::from(id)))
                            .take(k)
                            .collect())
                    })?;
                    p.searched_k = wide;
                    Ok(p)
                })
            })
            .collect();
        passes.push(per_label);
    }
    Ok(JobOutput {
        build_seconds,
        library: None,
        passes,
    })
}

/// Neighbours a post-filtering engine asks for.
pub fn searched_k(k: usize, selectivity: f64, n: usize, cfg: &FilteredConfig) -> usize {
    let want = (k as f64 * cfg.post_filter_factor / selectivity.max(1e-12)).ceil();
    (want.min(cfg.post_filter_max_k as f64) as usize)
        .max(k)
        .min(n)
}

/// `repeats` single-thread passes over every query of `ds`, each query
/// timed; ids kept from the first pass.
fn time_passes(
    ds: &Dataset,
    repeats: usize,
    k: usize,
    mode: &'static str,
    search: impl Fn(&[f32]) -> anyhow::Result<Vec<u32>>,
) -> anyhow::Result<Passes> {
    let mut p = Passes {
        searched_k: k,
        mode,
        ..Passes::default()
    };
    for rep in 0..repeats.max(1) {
        let mut ids = Vec::with_capacity(ds.n_test());
        let t = Instant::now();
        for q in ds.test.chunks_exact(ds.dims) {
            let tq = Instant::now();
            let found = search(q)?;
            p.latency_ms.push(tq.elapsed().as_secs_f64() * 1e3);
            ids.push(found);
        }
        p.seconds.push(t.elapsed().as_secs_f64());
        if rep == 0 {
            p.ids = ids;
        }
    }
    Ok(p)
}

/// Writes one result per (query set, label).
#[allow(clippy::too_many_arguments)]
fn emit_all(
    em: &mut Emitter<'_>,
    spec: &str,
    ds: &mut Dataset,
    plan: &AlgorithmPlan,
    bp: &Params,
    cases: &[Case],
    cfg: &FilteredConfig,
    out: anyhow::Result<JobOutput>,
) -> anyhow::Result<()> {
    let name = plan.spec.name;
    let process = if worker::filters(name) {
        worker::PROCESS
    } else {
        IN_PROCESS
    };
    let n = ds.n_train();
    let nq = ds.n_test();
    let (job, mut passes, build_error) = match out {
        Ok(mut j) => {
            let p = std::mem::take(&mut j.passes);
            (Some(j), p, None)
        }
        Err(e) => (None, Vec::new(), Some(format!("build failed: {e:#}"))),
    };
    for (qi, qp) in plan.query_sets.iter().enumerate() {
        for (li, case) in cases.iter().enumerate() {
            let mut r = em.result(spec, ds, name, bp, process);
            r.query_params = Some(qp.clone());
            r.scenario.scenario = Some("filtered".to_string());
            r.scenario.selectivity = Some(case.allow.labels.selectivity());
            let ls = case.allow.labels.spec;
            let mut rec = FilterRecord {
                label: ls.name(),
                selectivity_asked: ls.selectivity,
                correlation: ls.correlation.name().to_string(),
                seed: ls.seed,
                allowed: case.allow.labels.allowed.len(),
                mode: String::new(),
                searched_k: em.sweep.k,
                ground_truth_file: case.file.clone(),
            };
            let Some(j) = &job else {
                r.error = build_error.clone();
                r.scenario.filter = Some(rec);
                em.emit(r, None)?;
                continue;
            };
            r.build_seconds = Some(j.build_seconds);
            r.build_vectors_per_second = per_second(n, j.build_seconds);
            r.build_threads = em.sweep.threads;
            if let Some(lib) = &j.library {
                r.notes.push(format!(
                    "{lib}: qps_single_thread is one batch call on 1 thread"
                ));
            }
            let taken = passes
                .get_mut(qi)
                .and_then(|row| row.get_mut(li))
                .map(|p| std::mem::replace(p, Err(anyhow::anyhow!("taken"))));
            match taken {
                Some(Ok(p)) => {
                    rec.mode = p.mode.to_string();
                    rec.searched_k = p.searched_k;
                    if p.mode == "post-filter" {
                        r.notes.push(format!(
                            "post-filtered: searched {} unfiltered, kept the first {} allowed (factor {}, cap {})",
                            p.searched_k, em.sweep.k, cfg.post_filter_factor, cfg.post_filter_max_k
                        ));
                    }
                    r.notes.extend(p.notes.iter().cloned());
                    r.scenario.filter = Some(rec);
                    score(ds, &case.truth, &p.ids, &mut r);
                    fill_speed(&mut r, &p, nq);
                    em.emit(r, Some(&p.ids))?;
                }
                Some(Err(e)) => {
                    r.error = Some(format!("{e:#}"));
                    r.scenario.filter = Some(rec);
                    em.emit(r, None)?;
                }
                None => {
                    r.error = Some("no passes were run for this query set".to_string());
                    r.scenario.filter = Some(rec);
                    em.emit(r, None)?;
                }
            }
        }
    }
    Ok(())
}

fn fill_speed(r: &mut RunResult, p: &Passes, nq: usize) {
    r.qps_single_thread_repeats = p
        .seconds
        .iter()
        .filter_map(|s| per_second(nq, *s))
        .collect();
    r.qps_single_thread = r.qps_single_thread_repeats.iter().copied().reduce(f64::max);
    r.latency_ms = Latency::from_ms(&p.latency_ms);
}
