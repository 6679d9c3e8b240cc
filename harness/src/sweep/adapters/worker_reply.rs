//! Reading workers' replies (the protocol in `python.rs`), shared by the
//! Python workers' adapter and the Rust engines' (`isolated.rs`): the
//! `built` reply (build time, pid, memory samples, reopen) and the `result`
//! reply (ids, the seconds of every pass, the scaling curve).

use anyhow::{ensure, Context};
use serde_json::Value;

use crate::sweep::adapter::{SelfMeasuredBuild, SelfMeasuredQueries};
use crate::sweep::worker::WorkerMemory;

/// A list of non-negative numbers (seconds, milliseconds) under `key`.
pub(crate) fn seconds_list(reply: &Value, key: &str) -> anyhow::Result<Vec<f64>> {
    let list = reply
        .get(key)
        .and_then(Value::as_array)
        .with_context(|| format!("reply has no list `{key}`"))?;
    list.iter()
        .map(|v| {
            v.as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .with_context(|| format!("`{key}` holds {v}, not a number of seconds"))
        })
        .collect()
}

/// A worker's `built` reply: its own build time and memory samples.
pub(crate) fn parse_built(
    reply: &Value,
    script: Option<String>,
) -> anyhow::Result<SelfMeasuredBuild> {
    let seconds = reply
        .get("build_seconds")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .context("`built` reply has no build_seconds")?;
    let field = |key: &str| reply.get(key).filter(|v| !v.is_null()).cloned();
    let memory: Option<WorkerMemory> = field("memory")
        .map(serde_json::from_value)
        .transpose()
        .context("`built` reply: `memory` is not a memory report")?;
    Ok(SelfMeasuredBuild {
        seconds,
        worker_rss_growth_bytes: reply.get("rss_growth_bytes").and_then(Value::as_i64),
        library: reply
            .get("library")
            .and_then(Value::as_str)
            .map(str::to_string),
        script,
        params: reply.get("params").cloned(),
        pid: reply
            .get("pid")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok()),
        memory: memory.map(|m| m.report()),
        reopen: field("reopen")
            .map(serde_json::from_value)
            .transpose()
            .context("`built` reply: `reopen` is not a reopen record")?,
    })
}

/// A worker's `result` reply, its ids already checked.
pub(crate) fn parse_result(
    reply: &Value,
    ids: Vec<Vec<u32>>,
) -> anyhow::Result<SelfMeasuredQueries> {
    let mut batch_scaling = Vec::new();
    if let Some(points) = reply.get("batch_scaling").and_then(Value::as_array) {
        for p in points {
            let threads = p
                .get("threads")
                .and_then(Value::as_u64)
                .context("`batch_scaling` entry without threads")?;
            batch_scaling.push((threads as usize, seconds_list(p, "seconds")?));
        }
    }
    Ok(SelfMeasuredQueries {
        ids,
        batch_single_thread_seconds: seconds_list(reply, "batch_single_thread_seconds")?,
        per_call_seconds: seconds_list(reply, "per_call_seconds")?,
        batch_all_threads_seconds: seconds_list(reply, "batch_all_threads_seconds")?,
        per_call_latency_ms: seconds_list(reply, "per_call_latency_ms")?,
        params: reply.get("params").cloned(),
        info: reply.get("info").cloned(),
        batch_scaling,
        page_cache_bytes: reply.get("page_cache_bytes").and_then(Value::as_u64),
        reads_per_query: reply.get("reads_per_query").and_then(Value::as_f64),
    })
}

/// Checks the ids a worker returned and drops its "none" markers (< 0).
pub(crate) fn clean_ids(
    rows: Vec<Vec<i64>>,
    n_queries: usize,
    k: usize,
    n: usize,
) -> anyhow::Result<Vec<Vec<u32>>> {
    ensure!(
        rows.len() == n_queries,
        "worker returned ids for {} queries, expected {n_queries}",
        rows.len()
    );
    rows.into_iter()
        .enumerate()
        .map(|(q, row)| {
            ensure!(
                row.len() <= k,
                "query {q}: {} ids, more than k = {k}",
                row.len()
            );
            row.into_iter()
                .filter(|&id| id >= 0)
                .map(|id| {
                    u32::try_from(id)
                        .ok()
                        .filter(|&i| (i as usize) < n)
                        .with_context(|| format!("query {q}: id {id} out of range (n = {n})"))
                })
                .collect()
        })
        .collect()
}
