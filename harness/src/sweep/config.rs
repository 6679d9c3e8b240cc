//! The JSON sweep config: datasets × scales × algorithms × build-parameter
//! grid × query-parameter grid, and its validation into a [`Sweep`] plan.
//!
//! ```json
//! {
//!   "_comment": "anything: ignored",
//!   "datasets": ["clustered-128-euclidean", "/data/sift-128-euclidean.hdf5"],
//!   "scales": ["1k", "10k", 100000],
//!   "queries": 1000,
//!   "k": 10,
//!   "threads": null,                (or a count, or a list: [1, 2, 4])
//!   "single_thread_build": false,
//!   "repeats": 3,
//!   "warmup_seconds": 0.5,          (untimed queries before each request's timed passes)
//!   "build_timeout_seconds": 1800,
//!   "query_timeout_seconds": 300,
//!   "isolate_builds": true,         (Rust engines built in `omenbench worker` processes)
//!   "interleave": true,             (engines' passes alternate in rounds)
//!   "open_loop": { "offered_qps": [500, 1000], "seconds": 2 },   (optional)
//!   "algorithms": [
//!     { "name": "hnsw_rs", "build": { "m": [16, 32], "ef_construction": 200 },
//!       "query": { "ef": [10, 20, 40, 80] } },
//!     { "name": "myindex", "worker": "path/to/worker.py",
//!       "build": { "nlist": 1024 }, "query": { "nprobe": [8, 16] } },
//!     { "name": "annb:annoy", "annb_module": "harness/examples/annb/annoy/module.py",
//!       "constructor": "Annoy", "args": ["@metric", [50]], "query_args": [[1000, 5000]] }
//!   ]
//! }
//! ```
//!
//! Entries with `worker` or `annb_module` bring in an engine from outside the
//! binary (`sweep::external`); the others name a built-in algorithm.
//!
//! Every error names the field it is about (`algorithms[1].build.m: …`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::adapter::Params;
use super::adapters::{AlgorithmSpec, ParamSpec, Registry};
use super::external;
use super::open_loop::OpenLoopConfig;
use super::scenario::Scenario;
use super::source;

/// A sweep config as written in JSON (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Free text, ignored (JSON has no comments).
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Value>,
    /// Dataset registry names or file paths (`x.hdf5`, `base.fvecs:query.fvecs`).
    pub datasets: Vec<String>,
    /// Numbers of train vectors: integers or strings such as `"10k"`, `"1M"`.
    pub scales: Vec<Value>,
    /// Cap on the number of query vectors (all of the dataset's when absent).
    #[serde(default)]
    pub queries: Option<usize>,
    /// Neighbours asked per query.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Threads for builds and batch queries; all cores when absent. A list
    /// (`[1, 2, 4]`) measures batch QPS at every count (a scaling curve);
    /// builds run on the largest.
    #[serde(default)]
    pub threads: Option<ThreadCounts>,
    /// Also time each build on one thread (an extra build, then discarded).
    #[serde(default)]
    pub single_thread_build: bool,
    /// Single-thread and batch query passes per query-parameter set; the best
    /// is reported and every one kept.
    #[serde(default = "default_repeats")]
    pub repeats: usize,
    /// Untimed queries, for this long, before the timed passes of every
    /// query-parameter set: the first pass after another engine ran (or
    /// after a build) runs on cold caches and a core that has been idle,
    /// and measured up to 5× slow here. 0 turns the warm-up off.
    #[serde(default = "default_warmup")]
    pub warmup_seconds: f64,
    /// A build running longer is abandoned and recorded as an error.
    #[serde(default = "default_build_timeout")]
    pub build_timeout_seconds: f64,
    /// A query pass (all queries once) running longer is abandoned and
    /// recorded as an error.
    #[serde(default = "default_query_timeout")]
    pub query_timeout_seconds: f64,
    /// Algorithms with their parameter grids.
    pub algorithms: Vec<AlgorithmConfig>,
    /// A workload other than static k-NN (`filtered`, `streaming`; see
    /// `sweep::scenario`); absent: plain k-NN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Scenario>,
    /// Build every Rust engine in a fresh `omenbench worker` process, as the
    /// Python engines are, so memory is measured the same way for all
    /// (when run by `omenbench run`; library callers choose by
    /// `SweepOptions::worker`).
    #[serde(default = "yes")]
    pub isolate_builds: bool,
    /// Build every engine of a dataset scale first, then alternate their
    /// query passes in rounds (A B C A B C …), one pass per round.
    #[serde(default = "yes")]
    pub interleave: bool,
    /// Open-loop load at fixed offered rates (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_loop: Option<OpenLoopConfig>,
}

fn yes() -> bool {
    true
}

/// `threads` as written: one count or a list of counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThreadCounts {
    /// One count.
    One(usize),
    /// Several counts: batch QPS is measured at each.
    Many(Vec<usize>),
}

impl ThreadCounts {
    /// The counts, ascending, each once; an error names the field when one
    /// is 0 or the list is empty.
    pub fn counts(&self) -> anyhow::Result<Vec<usize>> {
        let mut v = match self {
            ThreadCounts::One(t) => vec![*t],
            ThreadCounts::Many(list) => list.clone(),
        };
        if v.is_empty() {
            bail!("threads: an empty list leaves nothing to run");
        }
        if v.contains(&0) {
            bail!("threads: must be at least 1");
        }
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }
}

/// One algorithm and its grids. A grid maps a parameter name to a value or
/// a list of values; the sweep runs the cartesian product. Parameters not
/// named take the algorithm's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlgorithmConfig {
    /// Free text, ignored.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Value>,
    /// Registry name (`omendb-flat`, `omendb-hnsw`, `hnsw_rs`, `instant-distance`),
    /// or the name of an engine brought in by `worker` / `annb_module`.
    pub name: String,
    /// A worker script speaking the worker protocol (`sweep::external`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// An ann-benchmarks algorithm module (`…/module.py`), run through the
    /// generic worker `harness/adapters/annb.py`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annb_module: Option<String>,
    /// The ann-benchmarks module's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constructor: Option<String>,
    /// The class's positional arguments, ann-benchmarks' form (a list at a
    /// position means alternatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// `set_query_arguments` arguments, ann-benchmarks' form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_args: Option<Value>,
    /// The interpreter for `worker` / `annb_module` (default: the project's
    /// venv, `scripts/python-env.sh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Build-parameter grid: each set is built once.
    #[serde(default)]
    pub build: BTreeMap<String, Value>,
    /// Query-parameter grid, run in order on every build.
    #[serde(default)]
    pub query: BTreeMap<String, Value>,
}

fn default_k() -> usize {
    10
}
fn default_repeats() -> usize {
    3
}
fn default_warmup() -> f64 {
    0.5
}
fn default_build_timeout() -> f64 {
    1800.0
}
fn default_query_timeout() -> f64 {
    300.0
}

/// A validated sweep, grids expanded.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The config as given (echoed into every result).
    pub config: SweepConfig,
    /// Dataset specs.
    pub datasets: Vec<String>,
    /// Train sizes, in the given order.
    pub scales: Vec<usize>,
    /// Query cap.
    pub queries: Option<usize>,
    /// Neighbours per query.
    pub k: usize,
    /// Threads for builds and batch queries (the largest configured count).
    pub threads: usize,
    /// Every thread count batch QPS is measured at, ascending (ends with
    /// `threads`).
    pub batch_threads: Vec<usize>,
    /// Whether builds are also timed on one thread.
    pub single_thread_build: bool,
    /// Query passes per query-parameter set.
    pub repeats: usize,
    /// Untimed warm-up before each query-parameter set's timed passes, seconds.
    pub warmup_seconds: f64,
    /// Build timeout, seconds.
    pub build_timeout_seconds: f64,
    /// Query-pass timeout, seconds.
    pub query_timeout_seconds: f64,
    /// Algorithms with expanded grids.
    pub algorithms: Vec<AlgorithmPlan>,
    /// Whether Rust engines are built in worker processes (given one).
    pub isolate_builds: bool,
    /// Whether query passes are interleaved across the engines of a scale.
    pub interleave: bool,
    /// Open-loop load, when configured.
    pub open_loop: Option<OpenLoopConfig>,
}

/// One algorithm's expanded grids.
#[derive(Debug, Clone)]
pub struct AlgorithmPlan {
    /// The registry entry.
    pub spec: AlgorithmSpec,
    /// Build-parameter sets, every parameter present.
    pub build_sets: Vec<Params>,
    /// Query-parameter sets in run order, every parameter present.
    pub query_sets: Vec<Params>,
}

impl SweepConfig {
    /// Parses a config from JSON text (structure only; see [`validate`](Self::validate)).
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        serde_json::from_str(text).context("sweep config")
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading sweep config {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Checks every field and expands the grids.
    pub fn validate(&self, registry: &Registry) -> anyhow::Result<Sweep> {
        if self.datasets.is_empty() {
            bail!("datasets: at least one dataset is needed");
        }
        for (i, d) in self.datasets.iter().enumerate() {
            source::check_files(d).with_context(|| format!("datasets[{i}]: `{d}`"))?;
        }
        if self.scales.is_empty() {
            bail!("scales: at least one scale is needed");
        }
        let scales = self
            .scales
            .iter()
            .enumerate()
            .map(|(i, v)| parse_scale_value(v).with_context(|| format!("scales[{i}]")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if self.k == 0 || self.k > 1000 {
            bail!("k: {} is out of range 1..=1000", self.k);
        }
        if self.queries == Some(0) {
            bail!("queries: must be at least 1");
        }
        if self.repeats == 0 || self.repeats > 1000 {
            bail!("repeats: {} is out of range 1..=1000", self.repeats);
        }
        if !(self.warmup_seconds.is_finite() && (0.0..=60.0).contains(&self.warmup_seconds)) {
            bail!(
                "warmup_seconds: {} is out of range 0..=60",
                self.warmup_seconds
            );
        }
        let batch_threads = match &self.threads {
            Some(t) => t.counts()?,
            None => vec![std::thread::available_parallelism().map_or(1, |n| n.get())],
        };
        let threads = *batch_threads.last().unwrap_or(&1);
        for (name, v) in [
            ("build_timeout_seconds", self.build_timeout_seconds),
            ("query_timeout_seconds", self.query_timeout_seconds),
        ] {
            if !(v.is_finite() && v > 0.0) {
                bail!("{name}: must be a positive number of seconds, got {v}");
            }
        }
        if self.algorithms.is_empty() {
            bail!("algorithms: at least one algorithm is needed");
        }
        let algorithms = self
            .algorithms
            .iter()
            .enumerate()
            .map(|(i, a)| a.plan(registry, &format!("algorithms[{i}]")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        external::check_names(&self.algorithms)?;
        if let Some(s) = &self.scenario {
            s.validate(&algorithms)?;
        }
        if let Some(o) = &self.open_loop {
            o.validate()?;
        }
        Ok(Sweep {
            config: self.clone(),
            datasets: self.datasets.clone(),
            scales,
            queries: self.queries,
            k: self.k,
            threads,
            batch_threads,
            single_thread_build: self.single_thread_build,
            repeats: self.repeats,
            warmup_seconds: self.warmup_seconds,
            build_timeout_seconds: self.build_timeout_seconds,
            query_timeout_seconds: self.query_timeout_seconds,
            algorithms,
            isolate_builds: self.isolate_builds,
            interleave: self.interleave,
            open_loop: self.open_loop.clone(),
        })
    }
}

impl AlgorithmConfig {
    /// An entry running `name` with its default parameters.
    pub fn with_defaults(name: &str) -> Self {
        AlgorithmConfig {
            comment: None,
            name: name.to_string(),
            worker: None,
            annb_module: None,
            constructor: None,
            args: None,
            query_args: None,
            python: None,
            build: BTreeMap::new(),
            query: BTreeMap::new(),
        }
    }

    /// Checks the name and the grids against `registry` and expands the
    /// grids; errors name the field under `at` (e.g. `algorithms[1]`, or
    /// nothing for a bare `build.m`).
    pub fn plan(&self, registry: &Registry, at: &str) -> anyhow::Result<AlgorithmPlan> {
        let field = |name: &str| {
            if at.is_empty() {
                name.to_string()
            } else {
                format!("{at}.{name}")
            }
        };
        if self.is_external() {
            return external::plan(self, registry, at);
        }
        external::check_builtin(self, at)?;
        let Some(spec) = registry.get(&self.name) else {
            bail!(
                "{}: unknown algorithm `{}` (known: {})",
                field("name"),
                self.name,
                registry.names().join(", ")
            );
        };
        Ok(AlgorithmPlan {
            spec: *spec,
            build_sets: expand(&self.build, spec.build_params, spec.name, &field("build"))?,
            query_sets: expand(&self.query, spec.query_params, spec.name, &field("query"))?,
        })
    }
}

fn parse_scale_value(v: &Value) -> anyhow::Result<usize> {
    match v {
        Value::String(s) => source::parse_scale(s),
        Value::Number(n) => match n.as_u64() {
            Some(x) if x > 0 => usize::try_from(x).context("too large"),
            _ => bail!("`{n}` is not a positive whole number of vectors"),
        },
        other => bail!("expected a number or a string such as \"10k\", got {other}"),
    }
}

fn parse_param_value(v: &Value, spec: &ParamSpec, at: &str) -> anyhow::Result<usize> {
    let x = v
        .as_u64()
        .and_then(|x| usize::try_from(x).ok())
        .with_context(|| format!("{at}: expected a non-negative integer, got {v}"))?;
    if x < spec.min || x > spec.max {
        bail!("{at}: {x} is out of range {}..={}", spec.min, spec.max);
    }
    Ok(x)
}

/// Expands a grid into parameter sets (cartesian product, parameters in
/// name order, values in the given order), filling in defaults (optional
/// parameters not given stay absent).
fn expand(
    grid: &BTreeMap<String, Value>,
    specs: &[ParamSpec],
    algorithm: &str,
    at: &str,
) -> anyhow::Result<Vec<Params>> {
    for name in grid.keys() {
        if name.starts_with('_') {
            continue;
        }
        if !specs.iter().any(|s| s.name == name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            bail!(
                "{at}.{name}: `{algorithm}` has no parameter `{name}` (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
    }
    let mut sets: Vec<Params> = vec![Params::new()];
    let mut ordered: Vec<&ParamSpec> = specs.iter().collect();
    ordered.sort_by_key(|s| s.name);
    for spec in ordered {
        let field = format!("{at}.{}", spec.name);
        let values = match grid.get(spec.name) {
            None if spec.optional => continue,
            None => vec![spec.default],
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    bail!("{field}: an empty list leaves nothing to run");
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| parse_param_value(v, spec, &format!("{field}[{i}]")))
                    .collect::<anyhow::Result<Vec<_>>>()?
            }
            Some(v) => vec![parse_param_value(v, spec, &field)?],
        };
        sets = sets
            .into_iter()
            .flat_map(|set| {
                values.iter().map(move |&v| {
                    let mut s = set.clone();
                    s.insert(spec.name.to_string(), v);
                    s
                })
            })
            .collect();
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(algorithms: &str) -> String {
        format!(r#"{{"datasets": ["d"], "scales": ["1k", 200], "algorithms": {algorithms}}}"#)
    }

    #[test]
    fn grids_expand_in_order_with_defaults() {
        let c = SweepConfig::from_json(&cfg(
            r#"[{"name": "hnsw_rs", "build": {"m": [8, 16]}, "query": {"ef": [40, 10]}}]"#,
        ))
        .unwrap();
        let s = c.validate(&Registry::builtin()).unwrap();
        assert_eq!(s.scales, vec![1000, 200]);
        let a = &s.algorithms[0];
        assert_eq!(a.build_sets.len(), 2);
        assert_eq!(a.build_sets[0]["m"], 8);
        assert_eq!(a.build_sets[1]["m"], 16);
        let efc = hnsw_rs_default("ef_construction");
        assert!(a.build_sets.iter().all(|b| b["ef_construction"] == efc));
        let efs: Vec<usize> = a.query_sets.iter().map(|q| q["ef"]).collect();
        assert_eq!(efs, vec![40, 10]);
    }

    #[test]
    fn threads_take_a_count_or_a_list() {
        let r = Registry::builtin();
        let with = |threads: &str| {
            SweepConfig::from_json(&format!(
                r#"{{"datasets": ["d"], "scales": [1], "threads": {threads},
                    "algorithms": [{{"name": "omendb-flat"}}]}}"#
            ))
            .and_then(|c| c.validate(&r))
        };
        let s = with("3").unwrap();
        assert_eq!((s.threads, s.batch_threads.clone()), (3, vec![3]));
        let s = with("[4, 1, 2, 2]").unwrap();
        assert_eq!((s.threads, s.batch_threads.clone()), (4, vec![1, 2, 4]));
        for bad in ["0", "[]", "[2, 0]"] {
            let e = format!("{:#}", with(bad).unwrap_err());
            assert!(e.contains("threads"), "{bad}: {e}");
        }
    }

    #[test]
    fn warm_up_defaults_to_half_a_second_and_is_checked() {
        let r = Registry::builtin();
        let with = |extra: &str| {
            SweepConfig::from_json(&format!(
                r#"{{"datasets": ["d"], "scales": [1], {extra}
                    "algorithms": [{{"name": "omendb-flat"}}]}}"#
            ))
            .and_then(|c| c.validate(&r))
        };
        assert_eq!(with("").unwrap().warmup_seconds, 0.5);
        assert_eq!(with(r#""warmup_seconds": 0,"#).unwrap().warmup_seconds, 0.0);
        for bad in ["-1", "61"] {
            let e = format!(
                "{:#}",
                with(&format!(r#""warmup_seconds": {bad},"#)).unwrap_err()
            );
            assert!(e.contains("warmup_seconds"), "{bad}: {e}");
        }
    }

    fn hnsw_rs_default(name: &str) -> usize {
        super::super::adapters::hnsw_rs::SPEC
            .build_params
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .default
    }

    #[test]
    fn errors_name_the_field() {
        let r = Registry::builtin();
        let err = |text: String| {
            format!(
                "{:#}",
                SweepConfig::from_json(&text)
                    .and_then(|c| c.validate(&r).map(|_| ()))
                    .unwrap_err()
            )
        };
        let e = err(cfg(r#"[{"name": "faiss"}]"#));
        assert!(
            e.contains("algorithms[0].name") && e.contains("faiss"),
            "{e}"
        );
        let e = err(cfg(r#"[{"name": "hnsw_rs", "build": {"mm": 3}}]"#));
        assert!(e.contains("algorithms[0].build.mm"), "{e}");
        let e = err(cfg(r#"[{"name": "hnsw_rs", "build": {"m": 1000}}]"#));
        assert!(
            e.contains("algorithms[0].build.m") && e.contains("out of range"),
            "{e}"
        );
        let e = err(cfg(r#"[{"name": "hnsw_rs", "query": {"ef": [10, "x"]}}]"#));
        assert!(e.contains("algorithms[0].query.ef[1]"), "{e}");
        let e = err(r#"{"scales": [1], "algorithms": []}"#.to_string());
        assert!(e.contains("datasets"), "{e}");
        let e = err(r#"{"datasets": ["/nope/x.hdf5"], "scales": [1], "algorithms": [{"name": "omendb-flat"}]}"#.to_string());
        assert!(
            e.contains("datasets[0]") && e.contains("/nope/x.hdf5"),
            "{e}"
        );
        let e = err(
            r#"{"datasets": ["d"], "scales": ["lots"], "algorithms": [{"name": "omendb-flat"}]}"#
                .to_string(),
        );
        assert!(e.contains("scales[0]"), "{e}");
        let e = err(r#"{"datasets": ["d"], "scales": [1], "algorithms": [{"name": "omendb-flat"}], "repeat": 2}"#.to_string());
        assert!(e.contains("repeat"), "{e}");
    }
}
