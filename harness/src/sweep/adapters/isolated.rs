//! A built-in Rust engine run in a process of its own: `omenbench worker
//! ALGORITHM` (`sweep/worker.rs`), started per build and spoken to in the
//! workers' JSON-lines protocol (`python.rs`), so the Rust engines are built
//! and measured exactly as the Python ones are: a fresh process, memory
//! sampled by the worker around its build, passes timed by the worker.
//!
//! The sweep wraps every in-process engine in one of these when it is given
//! the omenbench binary (`SweepOptions::worker`, set by `omenbench run`;
//! config `isolate_builds: false` turns it off). Results carry
//! `process: "worker"`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::process::Worker;
use super::worker_files::{dataset_files, DatasetFiles};
use super::worker_reply::{clean_ids, parse_built, parse_result};
use super::BuildContext;
use crate::data;
use crate::sweep::adapter::{Adapter, Params, ReopenStats, SelfMeasuredBuild, SelfMeasuredQueries};
use crate::sweep::open_loop::{OpenLoad, OpenLoopPoint};

/// `process` label of these adapters.
pub const PROCESS: &str = "worker";

/// How an isolated engine is to be run.
#[derive(Debug, Clone)]
pub struct Isolation<'a> {
    /// The omenbench binary (its `worker` subcommand hosts the engine).
    pub exe: &'a Path,
    /// The engine's registry name.
    pub algorithm: &'a str,
    /// Whether the engine fixes its query parameters at build.
    pub ef_fixed_at_build: bool,
    /// Thread counts of the batch scaling curve.
    pub batch_threads: &'a [usize],
}

/// A Rust engine in an `omenbench worker` process.
#[derive(Debug)]
pub struct IsolatedAdapter {
    exe: PathBuf,
    algorithm: String,
    fixed: bool,
    batch_threads: Vec<usize>,
    files: DatasetFiles,
    dataset: String,
    metric: &'static str,
    dims: usize,
    n: usize,
    n_queries: usize,
    k: usize,
    repeats: usize,
    warmup_seconds: f64,
    build_params: Params,
    build_timeout: Duration,
    query_timeout: Duration,
    threads: usize,
    /// Query parameters given before the build (fixed-at-build engines).
    build_query_params: Option<Params>,
    worker: Option<Worker>,
    built: Option<SelfMeasuredBuild>,
    queries: Option<SelfMeasuredQueries>,
}

impl IsolatedAdapter {
    /// Writes the dataset files the worker reads (once per dataset); starts
    /// nothing.
    pub fn new(ctx: &BuildContext<'_>, how: Isolation<'_>) -> anyhow::Result<Self> {
        let files = dataset_files(&data::cache_dir().join("workers"), ctx.data, true)?;
        let guard = ctx.build_timeout_seconds.max(0.1);
        let build_timeout = Duration::from_secs_f64(guard - (guard * 0.05).min(5.0));
        // One query request runs every kind of pass `repeats` times, plus
        // one per count of the scaling curve.
        let passes = (3 + how.batch_threads.len()) * ctx.repeats.max(1);
        let query_timeout =
            Duration::from_secs_f64(ctx.query_timeout_seconds.max(0.1) * passes as f64);
        Ok(IsolatedAdapter {
            exe: how.exe.to_path_buf(),
            algorithm: how.algorithm.to_string(),
            fixed: how.ef_fixed_at_build,
            batch_threads: how.batch_threads.to_vec(),
            files,
            dataset: ctx.data.name.clone(),
            metric: ctx.metric.ann_name(),
            dims: ctx.dims,
            n: ctx.n,
            n_queries: ctx.data.n_test(),
            k: ctx.k,
            repeats: ctx.repeats.max(1),
            warmup_seconds: ctx.warmup_seconds,
            build_params: ctx.build_params.clone(),
            build_timeout,
            query_timeout,
            threads: 1,
            build_query_params: None,
            worker: None,
            built: None,
            queries: None,
        })
    }

    fn label(&self) -> String {
        format!("{} worker (omenbench worker)", self.algorithm)
    }

    fn worker(&mut self) -> anyhow::Result<&mut Worker> {
        self.worker
            .as_mut()
            .context("the worker is not running (build failed or not run)")
    }

    fn ids(&self, reply: &Value) -> anyhow::Result<Vec<Vec<u32>>> {
        let rows: Vec<Vec<i64>> = serde_json::from_value(
            reply
                .get("ids")
                .cloned()
                .context("`result` reply has no ids")?,
        )
        .context("`ids` is not a list of lists of integers")?;
        clean_ids(rows, self.n_queries, self.k, self.n)
    }
}

impl Adapter for IsolatedAdapter {
    fn name(&self) -> &str {
        &self.algorithm
    }

    fn ef_fixed_at_build(&self) -> bool {
        self.fixed
    }

    fn build(&mut self, train: &[f32], dims: usize, threads: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            dims == self.dims && train.len() == self.n * dims,
            "build called with {} values of {dims} dims; the worker files hold {} × {}",
            train.len(),
            self.n,
            self.dims
        );
        let (train_f32, test_f32) = self
            .files
            .raw
            .clone()
            .context("the raw vector files were not written")?;
        self.threads = threads.max(1);
        let args: Vec<OsString> = vec!["worker".into(), self.algorithm.clone().into()];
        let mut worker = Worker::spawn(&self.label(), &self.exe, &args)?;
        let request = json!({
            "op": "build",
            "dataset": self.files.hdf5,
            "train_f32": train_f32,
            "test_f32": test_f32,
            "name": self.dataset,
            "n": self.n,
            "n_queries": self.n_queries,
            "dims": self.dims,
            "metric": self.metric,
            "k": self.k,
            "threads": self.threads,
            "build_params": self.build_params,
            "query_params": self.build_query_params,
        });
        let reply = worker.request(&request, "built", self.build_timeout)?;
        self.built = Some(parse_built(&reply, None)?);
        self.worker = Some(worker);
        Ok(())
    }

    fn set_query_params(&mut self, params: &Params) -> anyhow::Result<()> {
        self.queries = None;
        if self.worker.is_none() && self.fixed {
            // Before the build: the worker gets them with the build request.
            self.build_query_params = Some(params.clone());
            return Ok(());
        }
        let request = json!({
            "op": "query",
            "query_params": params,
            "k": self.k,
            "repeats": self.repeats,
            "warmup_seconds": self.warmup_seconds,
            "threads": self.threads,
            "batch_threads": self.batch_threads,
        });
        let timeout = self.query_timeout;
        let reply = self.worker()?.request(&request, "result", timeout)?;
        let ids = self.ids(&reply)?;
        self.queries = Some(parse_result(&reply, ids)?);
        Ok(())
    }

    fn search(&self, _query: &[f32], _k: usize) -> anyhow::Result<Vec<u32>> {
        bail!(
            "{}: an isolated engine runs whole query sets in its worker; \
             single searches are not available",
            self.algorithm
        )
    }

    fn batch_search(&self, _q: &[f32], _dims: usize, _k: usize) -> anyhow::Result<Vec<Vec<u32>>> {
        self.search(&[], 0).map(|_| Vec::new())
    }

    fn reopen(&self) -> Option<ReopenStats> {
        self.built.as_ref().and_then(|b| b.reopen)
    }

    fn process(&self) -> &str {
        PROCESS
    }

    fn self_measured_build(&self) -> Option<SelfMeasuredBuild> {
        self.built.clone()
    }

    fn self_measured_queries(&self) -> Option<&SelfMeasuredQueries> {
        self.queries.as_ref()
    }

    fn open_loop(&mut self, qp: &Params, load: &OpenLoad) -> Option<anyhow::Result<OpenLoopPoint>> {
        let request = json!({
            "op": "open_loop",
            "query_params": qp,
            "k": self.k,
            "load": load,
        });
        // The queries are due over offered_qps × queries seconds; allow the
        // engine as long again, plus the pass timeout.
        let due = load.queries as f64 / load.offered_qps;
        let timeout = Duration::from_secs_f64(2.0 * due) + self.query_timeout;
        let mut run = || -> anyhow::Result<OpenLoopPoint> {
            let reply = self
                .worker()?
                .request(&request, "open_loop_result", timeout)?;
            serde_json::from_value(reply.get("point").cloned().unwrap_or(Value::Null))
                .context("`open_loop_result` reply has no point")
        };
        Some(run())
    }
}
