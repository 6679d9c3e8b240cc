//! Running gate cases: resolve the dataset, build the index directly with
//! `omendb`, search every query one at a time, measure recall and speed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context};
use omendb::{
    DiskIndex, Durability, HnswIndex, HnswParams, HnswPqIndex, HnswPqParams, Index, OpenOptions,
    PqParams, SearchParams,
};

use super::config::{Algorithm, Case, GateConfig, Insertion};
use crate::data::{Dataset, Resolver};
use crate::sweep::metrics;

/// What one case measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Train vectors indexed.
    pub n_train: usize,
    /// Queries searched.
    pub n_queries: usize,
    /// Recall@1, ann-benchmarks' distance-threshold definition.
    pub recall_at_1: f64,
    /// Recall@10, same definition.
    pub recall_at_10: f64,
    /// Seconds spent inserting.
    pub build_seconds: f64,
    /// Build throughput, vectors per second.
    pub build_vectors_per_s: f64,
    /// Single-query throughput on one thread, queries per second.
    pub qps: f64,
    /// Seconds the whole case took, dataset loading included.
    pub wall_seconds: f64,
}

/// How cases are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where datasets come from (tests point it at temporary folders).
    pub resolver: Resolver,
    /// Progress lines and bars on stderr.
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            resolver: Resolver::from_env(),
            progress: true,
        }
    }
}

/// Runs every case of `config` in order. Datasets shared by several cases
/// are loaded once.
pub fn run_all(config: &GateConfig, opts: &RunOptions) -> anyhow::Result<Vec<CaseResult>> {
    config.validate()?;
    let mut datasets: HashMap<(String, Option<usize>, Option<usize>), Dataset> = HashMap::new();
    let mut results = Vec::with_capacity(config.cases.len());
    for case in &config.cases {
        let start = Instant::now();
        let key = (case.dataset.clone(), case.n, case.queries);
        if !datasets.contains_key(&key) {
            if opts.progress {
                eprintln!("gate: {}: loading {}", case.name, case.dataset);
            }
            let ds = opts
                .resolver
                .resolve(&case.dataset, case.n, case.queries, opts.progress)
                .with_context(|| format!("case {:?}: dataset {:?}", case.name, case.dataset))?;
            datasets.insert(key.clone(), ds);
        }
        let ds = &datasets[&key];
        let mut result =
            run_case(case, ds, opts.progress).with_context(|| format!("case {:?}", case.name))?;
        result.wall_seconds = start.elapsed().as_secs_f64();
        results.push(result);
    }
    Ok(results)
}

/// Builds `case`'s index over `ds`, searches every test vector and measures
/// recall@1 and recall@10 against `ds`'s ground truth.
pub fn run_case(case: &Case, ds: &Dataset, progress: bool) -> anyhow::Result<CaseResult> {
    case.validate()?;
    ds.validate()?;
    ensure!(
        ds.k() >= 10,
        "dataset {:?} has ground truth to depth {}; recall@10 needs 10",
        ds.name,
        ds.k()
    );
    let start = Instant::now();
    let n = ds.n_train();
    if progress {
        eprintln!(
            "gate: {}: building {} over {} × {} ({} insertion)",
            case.name, case.algorithm, n, ds.dims, case.insertion
        );
    }
    let built = build(case, ds)?;
    let index = built.index.as_ref();
    let build_seconds = start.elapsed().as_secs_f64();
    ensure!(
        index.len() == n,
        "the index holds {} vectors after inserting {n}",
        index.len()
    );

    if progress {
        eprintln!(
            "gate: {}: built in {build_seconds:.1} s; searching {} queries at ef = {}",
            case.name,
            ds.n_test(),
            case.query.ef
        );
    }
    let params = SearchParams {
        ef: case.query.ef,
        rerank: case.query.rerank.unwrap_or(0),
    };
    let k = case.query.k.min(n);
    let mut returned = Vec::with_capacity(ds.n_test());
    let search_start = Instant::now();
    for (q, query) in ds.test.chunks_exact(ds.dims).enumerate() {
        let found = index
            .search(query, k, &params)
            .with_context(|| format!("searching test vector {q}"))?;
        returned.push(
            found
                .into_iter()
                .map(|nb| nb.id as u32)
                .collect::<Vec<u32>>(),
        );
    }
    let search_seconds = search_start.elapsed().as_secs_f64();

    let recall_at_1 = metrics::recall(ds, &returned, 1).distance_based;
    let recall_at_10 = metrics::recall(ds, &returned, 10).distance_based;
    Ok(CaseResult {
        name: case.name.clone(),
        n_train: n,
        n_queries: ds.n_test(),
        recall_at_1,
        recall_at_10,
        build_seconds,
        build_vectors_per_s: metrics::per_second(n, build_seconds).unwrap_or(0.0),
        qps: metrics::per_second(ds.n_test(), search_seconds).unwrap_or(0.0),
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

/// A built index, and the temporary directory it lives in (on-disk kinds),
/// removed after the index is dropped.
struct Built {
    index: Box<dyn Index>,
    _dir: Option<ScratchDir>,
}

/// A fresh directory under the system's temporary folder, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(case: &str) -> anyhow::Result<ScratchDir> {
        let tag: String = case
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "omenbench-gate-{}-{nanos}-{tag}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Inserts every train vector of `ds` into `index`, ids = row numbers.
fn insert(index: &dyn Index, insertion: Insertion, ds: &Dataset) -> anyhow::Result<()> {
    match insertion {
        Insertion::Single => {
            for (row, v) in ds.train.chunks_exact(ds.dims).enumerate() {
                index
                    .add(row as u64, v)
                    .with_context(|| format!("adding train vector {row}"))?;
            }
        }
        Insertion::Bulk => {
            let ids: Vec<u64> = (0..ds.n_train() as u64).collect();
            index
                .add_batch(&ids, &ds.train)
                .context("adding the train vectors in one batch")?;
        }
    }
    Ok(())
}

/// Builds the case's index over every train vector of `ds`.
fn build(case: &Case, ds: &Dataset) -> anyhow::Result<Built> {
    let hnsw = HnswParams {
        m: case.build.m,
        ef_construction: case.build.ef_construction,
        seed: case.build.seed,
        ..HnswParams::default()
    };
    let pq = || -> anyhow::Result<HnswPqParams> {
        let pq = PqParams {
            m: case.build.pq_m.context("build.pq_m: missing")?,
            seed: case.build.seed,
            ..PqParams::default()
        };
        Ok(HnswPqParams { hnsw, pq })
    };
    let index: Box<dyn Index> = match case.algorithm {
        Algorithm::OmendbHnsw => Box::new(HnswIndex::new(ds.dims, ds.metric, hnsw)?),
        Algorithm::OmendbHnswPq => Box::new(HnswPqIndex::new(ds.dims, ds.metric, pq()?)?),
        Algorithm::OmendbDiskHnsw | Algorithm::OmendbDiskHnswPq => {
            let dir = ScratchDir::new(&case.name)?;
            let path = dir.0.join("index");
            let (d, metric, dur) = (ds.dims, ds.metric, Durability::default());
            let disk = if case.algorithm == Algorithm::OmendbDiskHnswPq {
                DiskIndex::create(&path, d, metric, pq()?, OpenOptions::with_durability(dur))
            } else {
                DiskIndex::create(&path, d, metric, hnsw, OpenOptions::with_durability(dur))
            }
            .with_context(|| format!("creating the on-disk index in {}", path.display()))?;
            insert(&disk, case.insertion, ds)?;
            disk.close()
                .context("closing (checkpointing) the on-disk index")?;
            let reopened = DiskIndex::open(&path, OpenOptions::read_only())
                .with_context(|| format!("reopening the on-disk index in {}", path.display()))?;
            return Ok(Built {
                index: Box::new(reopened),
                _dir: Some(dir),
            });
        }
    };
    insert(index.as_ref(), case.insertion, ds)?;
    Ok(Built { index, _dir: None })
}
