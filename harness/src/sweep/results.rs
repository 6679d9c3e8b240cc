//! The result schema (one JSON document per run) and writing it.
//!
//! A *run* is one (dataset, scale, algorithm, build parameters, query
//! parameters). Documents are written as soon as each run finishes, under
//! `<out>/<sweep_id>/`, atomically (temporary file, then rename), so an
//! interrupted sweep keeps every finished run. The ids each query returned
//! are kept beside it in `neighbors/`, so every recall figure can be
//! recomputed. The schema is documented field by field in `harness/RESULTS.md`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::adapter::{Params, SelfMeasuredBuild, SelfMeasuredQueries};
use super::machine::Machine;
use super::memory::{BytesPerVector, MemoryReport};
use super::metrics::Latency;
use super::noise::NoiseRecord;
use super::open_loop::OpenLoopPoint;
use super::scenario::ScenarioFields;
use super::shard::Shard;

/// Version of the result schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Build time at one thread count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BuildTiming {
    /// Threads in the rayon pool the build ran in.
    pub threads: usize,
    /// Wall time of the build.
    pub seconds: f64,
    /// n / seconds.
    pub vectors_per_second: Option<f64>,
}

/// Batch QPS at one thread count (a point of the scaling curve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadScaling {
    /// Threads the batch passes ran on.
    pub threads: usize,
    /// Best pass.
    pub qps: Option<f64>,
    /// Every pass, in order.
    pub qps_repeats: Vec<f64>,
}

/// The median and range of a list of figures (QPS of every pass).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[v.len() - 1],
        })
    }
}

/// One timed pass of an interleaved sweep (every kind of pass of one query
/// set, once), with when it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassRecord {
    /// The round (0-based): round `i` runs the `i`-th pass of every run of
    /// the dataset scale, in sweep order.
    pub round: usize,
    /// Start, seconds since the Unix epoch (sub-second).
    pub started_unix_seconds: f64,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// Wall time of the pass (every kind), seconds.
    pub seconds: f64,
    /// Single-thread QPS of this pass.
    pub qps_single_thread: Option<f64>,
}

/// One run's result document.
///
/// `Default` is an empty shell to assemble a result from (schema version 0,
/// nothing measured); the runner fills in every identifying field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// Identifies the sweep (its start time, compact UTC).
    pub sweep_id: String,
    /// Algorithm registry name.
    pub algorithm: String,
    /// Dataset name (as the loader names it) and the spec it was asked by.
    pub dataset: String,
    /// The dataset spec from the config (name or path).
    pub dataset_spec: String,
    /// Train vectors indexed.
    pub n: usize,
    /// Vector dimension.
    pub dims: usize,
    /// ann-benchmarks metric name (`euclidean`, `angular`, `ip`).
    pub metric: String,
    /// Queries run.
    pub n_queries: usize,
    /// Neighbours asked per query.
    pub k: usize,
    /// Build-parameter set, every parameter present.
    pub build_params: Params,
    /// Query-parameter set (`null` when the build failed first).
    pub query_params: Option<Params>,
    /// Whether the index was rebuilt for this query-parameter set (engines
    /// whose `ef` is fixed at build, such as instant-distance).
    pub rebuilt_for_query_params: bool,
    /// ann-benchmarks recall@1 (distance-based, ties count).
    pub recall_at_1: Option<f64>,
    /// ann-benchmarks recall@10 (`null` when k < 10).
    pub recall_at_10: Option<f64>,
    /// ann-benchmarks recall@100 (`null` when k < 100).
    pub recall_at_100: Option<f64>,
    /// Id-set recall@1.
    pub id_recall_at_1: Option<f64>,
    /// Id-set recall@10.
    pub id_recall_at_10: Option<f64>,
    /// Id-set recall@100.
    pub id_recall_at_100: Option<f64>,
    /// Wall time of the build that was queried.
    pub build_seconds: Option<f64>,
    /// n / build_seconds.
    pub build_vectors_per_second: Option<f64>,
    /// Threads that build ran on.
    pub build_threads: usize,
    /// Every timed build of this build-parameter set (1 thread when
    /// configured, then `build_threads`).
    pub build_timings: Vec<BuildTiming>,
    /// Best single-thread QPS (queries one at a time on one thread).
    pub qps_single_thread: Option<f64>,
    /// Every single-thread repeat's QPS, in order.
    pub qps_single_thread_repeats: Vec<f64>,
    /// Best all-core batch QPS.
    pub qps_batch: Option<f64>,
    /// Every batch repeat's QPS, in order.
    pub qps_batch_repeats: Vec<f64>,
    /// Threads the batch passes ran on.
    pub batch_threads: usize,
    /// Single-thread per-query latency over all repeats, milliseconds.
    pub latency_ms: Option<Latency>,
    /// Bytes per vector three ways, labelled.
    pub bytes_per_vector: BytesPerVector,
    /// The memory measurements behind `bytes_per_vector`.
    pub memory: MemoryReport,
    /// File (relative to this document) holding the ids each query returned.
    pub neighbors_file: Option<String>,
    /// What went wrong, when something did (build or query error, panic,
    /// timeout); figures measured before it are kept.
    pub error: Option<String>,
    /// Remarks that qualify the figures (e.g. a timed-out thread still busy).
    pub notes: Vec<String>,
    /// The machine.
    pub machine: Machine,
    /// Git commit of the working directory (`-dirty` when modified).
    pub commit: Option<String>,
    /// When this run finished, RFC 3339 UTC.
    pub timestamp: String,
    /// The full sweep config this run belongs to.
    pub config: serde_json::Value,
    /// Where the library ran: `in-process` (every Rust adapter; the value
    /// documents written before this field existed read as) or `python` (an
    /// out-of-process worker, see `adapters/python.rs`).
    #[serde(default = "in_process")]
    pub process: String,
    /// Out-of-process runs: QPS sending one query per call on one thread
    /// (ann-benchmarks style, the binding's per-call overhead included);
    /// `qps_single_thread` is then one batch call on one thread.
    #[serde(default)]
    pub qps_single_thread_per_call: Option<f64>,
    /// Out-of-process runs: what the worker reported about itself.
    #[serde(default)]
    pub worker: Option<WorkerReport>,
    /// Disk-backed indexes (built, closed, reopened, then queried): wall
    /// time of the reopen, seconds. `null` for adapters without a reopen.
    #[serde(default)]
    pub open_seconds: Option<f64>,
    /// Disk-backed indexes: bytes of their memory-mapped files (vectors,
    /// graph) the page cache held after this run's query passes (`mincore`):
    /// RAM that `memory.index_components` leaves out, since the kernel
    /// decides what stays. `null` for other adapters.
    #[serde(default)]
    pub page_cache_bytes: Option<u64>,
    /// Indexes that read from disk per query (`omendb-sector`): mean blocks
    /// read per query in this run's single-thread passes. `null` for others.
    #[serde(default)]
    pub reads_per_query: Option<f64>,
    /// Process `VmRSS` just after the reopen, bytes.
    #[serde(default)]
    pub rss_after_open_bytes: Option<u64>,
    /// Process `VmRSS` growth across the reopen, bytes (file pages the open
    /// touched included).
    #[serde(default)]
    pub rss_growth_on_open_bytes: Option<i64>,
    /// Process `RssAnon` growth across the reopen, bytes (heap only).
    #[serde(default)]
    pub rss_anon_growth_on_open_bytes: Option<i64>,
    /// The shard of a sharded sweep (`omenbench run --shard I/N`) that ran
    /// this; `null` for an unsharded sweep (and documents written before
    /// this field existed).
    #[serde(default)]
    pub shard: Option<Shard>,
    /// Batch QPS at every configured thread count, ascending (`threads` as
    /// a list); the last is `qps_batch`. Empty for Python workers, which
    /// time their own batch passes on all threads only.
    #[serde(default)]
    pub batch_scaling: Vec<ThreadScaling>,
    /// The machine's load average and CPU steal around the timed passes
    /// (`null` in documents written before it was recorded).
    #[serde(default)]
    pub noise: Option<NoiseRecord>,
    /// Scenario runs (`scenario`, `selectivity`, `filter`, `streaming`;
    /// see `scenario/record.rs`); absent for plain k-NN runs.
    #[serde(flatten)]
    pub scenario: ScenarioFields,
    /// Median and range of `qps_single_thread_repeats`.
    #[serde(default)]
    pub qps_single_thread_spread: Option<Spread>,
    /// Median and range of `qps_batch_repeats`.
    #[serde(default)]
    pub qps_batch_spread: Option<Spread>,
    /// Every pass of an interleaved sweep, in order, with its start time
    /// (empty when passes ran back to back).
    #[serde(default)]
    pub passes: Vec<PassRecord>,
    /// Open-loop runs at each configured offered rate (`open_loop` in the
    /// config; empty when off).
    #[serde(default)]
    pub open_loop: Vec<OpenLoopPoint>,
}

fn in_process() -> String {
    super::adapter::IN_PROCESS.to_string()
}

/// What an out-of-process worker reported about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Library name and version, as the worker reports them.
    pub library: Option<String>,
    /// Growth of the worker's own RSS during its build, bytes (this is what
    /// `bytes_per_vector.rss` divides for these runs).
    pub build_rss_growth_bytes: Option<i64>,
    /// QPS of every one-query-per-call pass, in order.
    #[serde(default)]
    pub qps_single_thread_per_call_repeats: Vec<f64>,
    /// The worker script that ran (engines brought in from a config: the
    /// script named by `worker`, or the generic ann-benchmarks worker).
    #[serde(default)]
    pub script: Option<String>,
    /// The build parameters exactly as the worker received them (its echo).
    #[serde(default)]
    pub build_params: Option<serde_json::Value>,
    /// The worker's process id (each build set runs in a fresh process).
    #[serde(default)]
    pub pid: Option<u32>,
    /// The query parameters exactly as the worker received them (its echo).
    #[serde(default)]
    pub query_params: Option<serde_json::Value>,
    /// What the engine said about this query set, when its worker says
    /// anything (`info()`; for ann-benchmarks modules: the constructor, the
    /// arguments as passed, `str(algo)`, `get_additional()`, index size).
    #[serde(default)]
    pub info: Option<serde_json::Value>,
}

impl WorkerReport {
    /// The build half of the report.
    pub fn from_build(b: SelfMeasuredBuild) -> Self {
        WorkerReport {
            library: b.library,
            build_rss_growth_bytes: b.worker_rss_growth_bytes,
            qps_single_thread_per_call_repeats: Vec::new(),
            script: b.script,
            build_params: b.params,
            pid: b.pid,
            query_params: None,
            info: None,
        }
    }

    /// Adds one query set's half: the per-call QPS of each pass, and what the
    /// worker echoed and said for it.
    pub fn record_queries(&mut self, q: &SelfMeasuredQueries, per_call_qps: Vec<f64>) {
        self.qps_single_thread_per_call_repeats = per_call_qps;
        self.query_params = q.params.clone();
        self.info = q.info.clone();
    }
}

/// The ids each query returned, closest first, in query order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborsFile {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One list per query.
    pub ids: Vec<Vec<u32>>,
}

/// Writes result documents of one sweep into `<out>/<sweep_id>/`.
#[derive(Debug)]
pub struct ResultWriter {
    dir: PathBuf,
    prefix: String,
    seq: usize,
    written: Vec<PathBuf>,
}

/// Keeps `[A-Za-z0-9._-]`, maps the rest to `_`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

impl ResultWriter {
    /// Creates `<out>/<sweep_id>/neighbors/`.
    pub fn create(out: &Path, sweep_id: &str) -> anyhow::Result<Self> {
        let dir = out.join(sanitize(sweep_id));
        std::fs::create_dir_all(dir.join("neighbors"))
            .with_context(|| format!("creating {}", dir.display()))?;
        Ok(ResultWriter {
            dir,
            prefix: String::new(),
            seq: 0,
            written: Vec::new(),
        })
    }

    /// Starts every file name with `prefix` (a shard's `s03of16-`), so
    /// writers sharing a directory never pick the same name.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = sanitize(prefix);
        self
    }

    /// The sweep's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Result documents written so far.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// Writes `result` (and `neighbors`, when given, setting
    /// `result.neighbors_file`); returns the document's path.
    pub fn write(
        &mut self,
        result: &mut RunResult,
        neighbors: Option<&[Vec<u32>]>,
    ) -> anyhow::Result<PathBuf> {
        self.seq += 1;
        let stem = sanitize(&format!(
            "{}{:04}-{}-{}-{}",
            self.prefix, self.seq, result.algorithm, result.dataset, result.n
        ));
        if let Some(ids) = neighbors {
            let rel = format!("neighbors/{stem}.json");
            let file = NeighborsFile {
                schema_version: SCHEMA_VERSION,
                ids: ids.to_vec(),
            };
            write_atomic(&self.dir.join(&rel), &serde_json::to_vec(&file)?)?;
            result.neighbors_file = Some(rel);
        }
        let path = self.dir.join(format!("{stem}.json"));
        write_atomic(&path, &serde_json::to_vec_pretty(result)?)?;
        self.written.push(path.clone());
        Ok(path)
    }
}

/// Reads a result document.
pub fn read_result(path: &Path) -> anyhow::Result<RunResult> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let r: RunResult =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    anyhow::ensure!(
        r.schema_version == SCHEMA_VERSION,
        "{}: schema_version {} (this build reads {})",
        path.display(),
        r.schema_version,
        SCHEMA_VERSION
    );
    Ok(r)
}

/// Reads the neighbours file a result document points to.
pub fn read_neighbors(result_path: &Path, result: &RunResult) -> anyhow::Result<Vec<Vec<u32>>> {
    let rel = result
        .neighbors_file
        .as_deref()
        .context("result has no neighbors_file")?;
    let path = result_path.parent().unwrap_or(Path::new(".")).join(rel);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: NeighborsFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(file.ids)
}
