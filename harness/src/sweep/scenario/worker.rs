//! The Python engines of the scenarios: hnswlib (filter callable,
//! `mark_deleted`) and faiss HNSW (`IDSelectorBatch`), run by
//! `harness/adapters/scenario.py` under the project's venv.
//!
//! One worker process per job (a build set of the filtered scenario; a
//! build set and query set of a runbook): the harness writes the vectors as
//! raw little-endian f32 files, each label's allowed ids as raw u32, and a
//! `request.json`; the worker builds, runs everything, times itself and
//! writes `reply.json` and the ids it found (raw i32, `n_queries × k`, −1
//! for none). Recall is then computed here, with the same ground truth as
//! every other engine. A worker running past the sweep's timeouts is
//! killed and its job recorded as failed.
//!
//! Request: `{"mode": "filtered" | "streaming", "engine", "train", "test",
//! "n", "dims", "nq", "metric", "k", "threads", "repeats", "build_params",
//! "out"}` plus, filtered: `"query_sets": [{"ef"}]`, `"labels": [path]`;
//! streaming: `"ef"`, `"batch"`, `"ops"` (the expanded runbook).
//! Reply: `{"library", "build_seconds", "passes": [[{"seconds": [..],
//! "ids_file"} | {"error"}]]}` (filtered: `[query set][label]`), or
//! `{"library", "steps": [{"seconds", "latency_ms": [..], "ids_file"}]}`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use serde::Deserialize;
use serde_json::{json, Value};

use super::filtered::{Case, JobOutput, Passes};
use super::runbook::Plan;
use super::streaming::StepOutcome;
use crate::data;
use crate::data::Dataset;
use crate::sweep::adapter::Params;
use crate::sweep::adapters::python::venv_python;
use crate::sweep::config::Sweep;

/// `process` label of these runs.
pub const PROCESS: &str = "python";

/// Whether `name` filters natively in the scenario worker.
pub fn filters(name: &str) -> bool {
    matches!(name, "hnswlib" | "faiss-hnsw")
}

/// Whether `name` runs runbooks in the scenario worker (deletes needed).
pub fn streams(name: &str) -> bool {
    name == "hnswlib"
}

#[derive(Deserialize)]
struct FilteredReply {
    library: Option<String>,
    build_seconds: f64,
    passes: Vec<Vec<PassReply>>,
}

#[derive(Deserialize)]
struct PassReply {
    #[serde(default)]
    seconds: Vec<f64>,
    #[serde(default)]
    ids_file: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    notes: Vec<String>,
}

#[derive(Deserialize)]
struct StreamingReply {
    #[serde(default)]
    library: Option<String>,
    steps: Vec<StepReply>,
    #[serde(default)]
    notes: Vec<String>,
}

#[derive(Deserialize)]
struct StepReply {
    seconds: f64,
    #[serde(default)]
    latency_ms: Vec<f64>,
    #[serde(default)]
    ids_file: Option<String>,
}

/// Runs the filtered job of `name` (one build, every query set × label).
pub fn filtered(
    name: &str,
    ds: &Dataset,
    bp: &Params,
    query_sets: &[Params],
    cases: &[Case],
    sweep: &Sweep,
) -> anyhow::Result<JobOutput> {
    let dir = job_dir()?;
    let mut labels = Vec::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        let path = dir.path().join(format!("label-{i}.u32"));
        let bytes: Vec<u8> = c
            .allow
            .labels
            .allowed
            .iter()
            .flat_map(|id| id.to_le_bytes())
            .collect();
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        labels.push(path);
    }
    let mut req = request("filtered", name, ds, bp, sweep, dir.path())?;
    req["query_sets"] = json!(query_sets);
    req["labels"] = json!(labels);
    let timeout = sweep.build_timeout_seconds
        + sweep.query_timeout_seconds * (query_sets.len() * cases.len() * sweep.repeats) as f64;
    let reply: FilteredReply = serde_json::from_value(call(dir.path(), &req, timeout)?)
        .context("scenario worker: reading reply.json")?;
    ensure!(
        reply.passes.len() == query_sets.len(),
        "scenario worker answered {} query sets of {}",
        reply.passes.len(),
        query_sets.len()
    );
    let nq = ds.n_test();
    let passes = reply
        .passes
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|p| {
                    if let Some(e) = p.error {
                        bail!("{e}");
                    }
                    let file = p.ids_file.context("a pass without ids")?;
                    Ok(Passes {
                        ids: read_ids(&dir.path().join(file), nq, sweep.k)?,
                        seconds: p.seconds,
                        latency_ms: Vec::new(),
                        searched_k: sweep.k,
                        mode: "native",
                        notes: p.notes,
                    })
                })
                .collect()
        })
        .collect();
    Ok(JobOutput {
        build_seconds: reply.build_seconds,
        library: reply.library,
        passes,
    })
}

/// Runs `plan` on `name` with the query set `qp`: every step, and remarks
/// (the library's version, anything the worker noticed).
pub fn streaming(
    name: &str,
    ds: &Dataset,
    bp: &Params,
    qp: &Params,
    plan: &Plan,
    sweep: &Sweep,
) -> anyhow::Result<(Vec<StepOutcome>, Vec<String>)> {
    let dir = job_dir()?;
    let mut req = request("streaming", name, ds, bp, sweep, dir.path())?;
    req["ef"] = json!(qp.get("ef").copied().unwrap_or(64));
    req["batch"] = json!(plan.batch);
    req["capacity"] = json!(plan.rows_used());
    req["ops"] = serde_json::to_value(&plan.ops)?;
    let timeout = sweep.build_timeout_seconds + sweep.query_timeout_seconds * plan.ops.len() as f64;
    let reply: StreamingReply = serde_json::from_value(call(dir.path(), &req, timeout)?)
        .context("scenario worker: reading reply.json")?;
    ensure!(
        reply.steps.len() == plan.ops.len(),
        "scenario worker ran {} of {} steps",
        reply.steps.len(),
        plan.ops.len()
    );
    let mut notes = reply.notes;
    notes.extend(reply.library.map(|l| format!("library: {l}")));
    let steps = reply
        .steps
        .into_iter()
        .map(|s| {
            let ids = match s.ids_file {
                Some(f) => Some(read_ids(&dir.path().join(f), ds.n_test(), sweep.k)?),
                None => None,
            };
            Ok(StepOutcome {
                seconds: s.seconds,
                latency_ms: s.latency_ms,
                ids,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((steps, notes))
}

fn job_dir() -> anyhow::Result<tempfile::TempDir> {
    let base = data::cache_dir().join("workers");
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    tempfile::Builder::new()
        .prefix("scenario-")
        .tempdir_in(&base)
        .context("a directory for the scenario worker")
}

/// The request fields both modes share; writes the vectors into `dir`.
fn request(
    mode: &str,
    name: &str,
    ds: &Dataset,
    bp: &Params,
    sweep: &Sweep,
    dir: &Path,
) -> anyhow::Result<Value> {
    let f32s = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let train = dir.join("train.f32");
    let test = dir.join("test.f32");
    std::fs::write(&train, f32s(&ds.train)).context("writing train.f32")?;
    std::fs::write(&test, f32s(&ds.test)).context("writing test.f32")?;
    Ok(json!({
        "mode": mode, "engine": name, "train": train, "test": test,
        "n": ds.n_train(), "dims": ds.dims, "nq": ds.n_test(),
        "metric": ds.metric.ann_name(), "k": sweep.k, "threads": sweep.threads,
        "repeats": sweep.repeats, "build_params": bp, "out": dir,
    }))
}

/// Runs the worker on `req` (written to `dir/request.json`), killing it
/// after `timeout` seconds; returns `dir/reply.json`.
fn call(dir: &Path, req: &Value, timeout: f64) -> anyhow::Result<Value> {
    let python = venv_python()?;
    let script = data::repo_root()
        .join("harness")
        .join("adapters")
        .join("scenario.py");
    let request = dir.join("request.json");
    std::fs::write(&request, serde_json::to_vec(req)?).context("writing request.json")?;
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(&request)
        .spawn()
        .with_context(|| format!("starting {} {}", python.display(), script.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed().as_secs_f64() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("scenario worker ran past {timeout:.0} s and was killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    ensure!(
        status.success(),
        "scenario worker failed ({status}); its stderr is above"
    );
    let reply = dir.join("reply.json");
    let text =
        std::fs::read_to_string(&reply).with_context(|| format!("reading {}", reply.display()))?;
    serde_json::from_str(&text).context("parsing reply.json")
}

/// Raw little-endian i32 ids, `nq × k`, −1 for none (dropped).
fn read_ids(path: &Path, nq: usize, k: usize) -> anyhow::Result<Vec<Vec<u32>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        bytes.len() == nq * k * 4,
        "{}: {} bytes, expected {} queries × {k} ids",
        path.display(),
        bytes.len(),
        nq
    );
    Ok(bytes
        .chunks_exact(k * 4)
        .map(|row| {
            row.chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .filter(|&id| id >= 0)
                .map(|id| id as u32)
                .collect()
        })
        .collect())
}
