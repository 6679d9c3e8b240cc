//! The table printed (and saved as `summary.md`) at the end of a sweep: per
//! dataset, scale, algorithm and build-parameter set, the run at its best
//! query setting.
//!
//! "Best" is the fastest single-thread run reaching recall@10 ≥
//! [`RECALL_TARGET`]; when none does, the run with the highest recall.

use std::fmt::Write as _;

use super::adapter::Params;
use super::results::RunResult;

/// Recall@10 a query setting must reach to be chosen for its speed.
pub const RECALL_TARGET: f64 = 0.95;

fn params(p: &Params) -> String {
    if p.is_empty() {
        return "–".to_string();
    }
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn recall_of(r: &RunResult) -> Option<f64> {
    r.recall_at_10.or(r.recall_at_1)
}

/// Single-thread QPS as the summary ranks it: the median of the passes
/// when there are several, else the one figure.
fn qps_of(r: &RunResult) -> Option<f64> {
    r.qps_single_thread_spread
        .map(|s| s.median)
        .or(r.qps_single_thread)
}

/// `median (min–max)` of the passes, or the one figure.
fn qps_cell(r: &RunResult) -> String {
    match r.qps_single_thread_spread {
        Some(s) if r.qps_single_thread_repeats.len() > 1 => {
            format!("{:.0} ({:.0}–{:.0})", s.median, s.min, s.max)
        }
        _ => num(r.qps_single_thread, 0),
    }
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

/// Picks the best run of one group (see the module docs).
pub fn best_run<'a>(runs: &[&'a RunResult]) -> Option<&'a RunResult> {
    let ok: Vec<&RunResult> = runs
        .iter()
        .copied()
        .filter(|r| r.error.is_none() && recall_of(r).is_some())
        .collect();
    let qps = |r: &RunResult| qps_of(r).unwrap_or(0.0);
    let reaching = ok
        .iter()
        .copied()
        .filter(|r| recall_of(r).unwrap_or(0.0) >= RECALL_TARGET)
        .max_by(|a, b| qps(a).total_cmp(&qps(b)));
    reaching.or_else(|| {
        ok.iter().copied().max_by(|a, b| {
            (recall_of(a).unwrap_or(0.0), qps(a))
                .partial_cmp(&(recall_of(b).unwrap_or(0.0), qps(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    })
}

/// A Markdown table of `results` (in sweep order), one row per group,
/// single-thread QPS as the median and range of the passes, memory in three
/// labelled columns (`–` where not measured, never 0),
/// led by a count of the failed runs when any failed and by the QPS ratios
/// at equal recall ([`super::ratios`]) when two or more engines ran. Runs
/// timed on a machine loaded above its core count are marked `(loaded)`.
pub fn table(results: &[RunResult]) -> String {
    let mut groups: Vec<(String, Vec<&RunResult>)> = Vec::new();
    for r in results {
        let key = format!(
            "{}|{}|{}|{}",
            r.dataset_spec,
            r.n,
            r.algorithm,
            params(&r.build_params)
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    // Reopen columns (and the page cache its mapped files hold after the
    // queries) only when some run reopened a disk-backed index.
    let reopen = results.iter().any(|r| r.open_seconds.is_some());
    let mut out = String::new();
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 {
        let _ = writeln!(
            out,
            "**{failed} of {} runs failed** (their `error` says why).\n",
            results.len()
        );
    }
    out.push_str(&super::ratios::markdown(&super::ratios::ratio_tables(
        results,
    )));
    let _ = writeln!(
        out,
        "| dataset | n | algorithm | build | best query | recall@10 | QPS 1 thread, median (range) | QPS batch | build vec/s | index B/vec (own accounting) | RSS growth B/vec | peak RSS B/vec |{}",
        if reopen {
            " open s | RSS after open MiB | page cache B/vec |"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|{}",
        if reopen { "---|---|---|" } else { "" }
    );
    for (_, runs) in &groups {
        let first = runs[0];
        let Some(r) = best_run(runs) else {
            let err = runs
                .iter()
                .find_map(|r| r.error.clone())
                .unwrap_or_default();
            let err: String = err.chars().take(80).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | error: {} | | | | | | | |{}",
                first.dataset_spec,
                first.n,
                first.algorithm,
                params(&first.build_params),
                err.replace('|', "/"),
                if reopen { " | | |" } else { "" }
            );
            continue;
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} |{}",
            r.dataset_spec,
            r.n,
            r.algorithm,
            params(&r.build_params),
            r.query_params.as_ref().map_or("–".to_string(), params),
            match (
                r.rebuilt_for_query_params,
                r.noise.is_some_and(|n| n.loaded),
            ) {
                (false, false) => "",
                (true, false) => " (rebuilt)",
                (false, true) => " (loaded)",
                (true, true) => " (rebuilt, loaded)",
            },
            num(recall_of(r), 4),
            qps_cell(r),
            num(r.qps_batch, 0),
            num(r.build_vectors_per_second, 0),
            num(r.bytes_per_vector.index, 0),
            num(r.bytes_per_vector.rss, 0),
            num(r.bytes_per_vector.peak, 0),
            if reopen {
                format!(
                    " {} | {} | {} |",
                    num(r.open_seconds, 3),
                    num(r.rss_after_open_bytes.map(|b| b as f64 / MIB), 1),
                    num(
                        r.page_cache_bytes
                            .filter(|_| r.n > 0)
                            .map(|b| b as f64 / r.n as f64),
                        0
                    )
                )
            } else {
                String::new()
            },
        );
    }
    out
}

const MIB: f64 = (1u64 << 20) as f64;

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ef: usize, recall: f64, qps: f64) -> RunResult {
        let mut r = sample();
        r.query_params = Some([("ef".to_string(), ef)].into_iter().collect());
        r.recall_at_10 = Some(recall);
        r.qps_single_thread = Some(qps);
        r.error = None;
        r
    }

    #[test]
    fn best_is_fastest_reaching_the_target_else_most_accurate() {
        let a = run(10, 0.90, 9000.0);
        let b = run(20, 0.96, 5000.0);
        let c = run(40, 0.99, 3000.0);
        let best = best_run(&[&a, &b, &c]).unwrap();
        assert_eq!(best.query_params, b.query_params);
        let best = best_run(&[&a]).unwrap();
        assert_eq!(best.query_params, a.query_params);
        let t = table(&[a, b, c]);
        assert_eq!(t.lines().count(), 3, "{t}");
        assert!(t.contains("ef=20"));
        assert!(!t.contains("open s"), "{t}");
    }

    #[test]
    fn qps_is_the_median_and_range_of_the_passes_and_memory_not_measured_is_a_dash() {
        let mut r = run(20, 0.96, 3000.0);
        r.qps_single_thread_repeats = vec![1000.0, 3000.0, 2000.0];
        r.qps_single_thread_spread =
            super::super::results::Spread::of(&r.qps_single_thread_repeats);
        r.bytes_per_vector.rss = Some(700.0);
        let t = table(&[r]);
        let row = t.lines().last().unwrap();
        assert!(row.contains("| 2000 (1000–3000) |"), "{row}");
        // index and peak not measured: a dash, never 0.
        assert!(row.ends_with("| – | 700 | – |"), "{row}");
        assert!(t.contains("| index B/vec (own accounting) | RSS growth B/vec | peak RSS B/vec |"));
    }

    #[test]
    fn reopen_columns_appear_when_a_run_reopened() {
        let plain = run(10, 0.96, 9000.0);
        let mut disk = run(10, 0.96, 8000.0);
        disk.algorithm = "omendb-hnsw-disk".into();
        disk.open_seconds = Some(0.0126);
        disk.rss_after_open_bytes = Some(300 << 20);
        disk.page_cache_bytes = Some(disk.n as u64 * 42);
        let mut failed = sample();
        failed.algorithm = "broken".into();
        failed.error = Some("boom".into());
        let t = table(&[plain, disk, failed]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "**1 of 3 runs failed** (their `error` says why).");
        // Two engines ran: the ratio table comes before the runs table.
        assert!(t.contains("| omendb-hnsw-disk / hnsw_rs |"), "{t}");
        let start = lines
            .iter()
            .position(|l| l.starts_with("| dataset |"))
            .unwrap();
        let lines = &lines[start..];
        assert!(
            lines[0].ends_with("| open s | RSS after open MiB | page cache B/vec |"),
            "{t}"
        );
        let cols = |l: &str| l.matches('|').count();
        assert!(lines.iter().all(|l| cols(l) == cols(lines[0])), "{t}");
        let disk_row = lines
            .iter()
            .find(|l| l.contains("omendb-hnsw-disk"))
            .unwrap();
        assert!(disk_row.ends_with("| 0.013 | 300.0 | 42 |"), "{disk_row}");
        let plain_row = lines.iter().find(|l| l.contains("hnsw_rs")).unwrap();
        assert!(plain_row.ends_with("| – | – | – |"), "{plain_row}");
    }

    fn sample() -> RunResult {
        RunResult {
            schema_version: super::super::results::SCHEMA_VERSION,
            sweep_id: "s".into(),
            algorithm: "hnsw_rs".into(),
            dataset: "d".into(),
            dataset_spec: "d".into(),
            n: 10,
            dims: 2,
            metric: "euclidean".into(),
            n_queries: 1,
            k: 10,
            build_params: Params::new(),
            query_params: None,
            rebuilt_for_query_params: false,
            recall_at_1: None,
            recall_at_10: None,
            recall_at_100: None,
            id_recall_at_1: None,
            id_recall_at_10: None,
            id_recall_at_100: None,
            build_seconds: None,
            build_vectors_per_second: None,
            build_threads: 1,
            build_timings: Vec::new(),
            qps_single_thread: None,
            qps_single_thread_repeats: Vec::new(),
            qps_batch: None,
            qps_batch_repeats: Vec::new(),
            batch_threads: 1,
            latency_ms: None,
            bytes_per_vector: Default::default(),
            memory: Default::default(),
            neighbors_file: None,
            error: None,
            notes: Vec::new(),
            machine: Default::default(),
            commit: None,
            timestamp: String::new(),
            config: serde_json::Value::Null,
            process: "in-process".into(),
            qps_single_thread_per_call: None,
            worker: None,
            open_seconds: None,
            page_cache_bytes: None,
            rss_after_open_bytes: None,
            rss_growth_on_open_bytes: None,
            rss_anon_growth_on_open_bytes: None,
            reads_per_query: None,
            shard: None,
            noise: None,
            scenario: Default::default(),
            batch_scaling: Vec::new(),
            qps_single_thread_spread: None,
            qps_batch_spread: None,
            passes: Vec::new(),
            open_loop: Vec::new(),
        }
    }
}
