//! The end-of-sweep table of a scenario sweep (`summary.md`), in place of
//! the k-NN table (whose grouping and QPS ratios would mix filters):
//! - `filtered`: one row per engine, setting and label: mode, recall@10,
//!   single-thread QPS (best of the repeats, every repeat listed);
//! - `streaming`: one row per run: minimum recall@10 over the search steps,
//!   insert and delete rates, p50 / p99 latency read-only and while an
//!   insert thread writes.

use std::fmt::Write as _;

use crate::sweep::metrics::Latency;
use crate::sweep::results::RunResult;

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_string(), |x| format!("{x:.digits$}"))
}

fn lat(l: Option<Latency>) -> String {
    l.map_or("–".to_string(), |l| {
        format!("{:.3} / {:.3}", l.p50, l.p99)
    })
}

fn ef(r: &RunResult) -> String {
    r.query_params
        .as_ref()
        .and_then(|q| q.get("ef"))
        .map_or("–".to_string(), |e| e.to_string())
}

/// The Markdown table of `results` (in sweep order).
pub fn table(results: &[RunResult]) -> String {
    let mut out = String::new();
    let failed: Vec<&RunResult> = results.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "**{} run(s) failed:**\n", failed.len());
        for r in &failed {
            let _ = writeln!(
                out,
                "- {} n={} ef={}: {}",
                r.algorithm,
                r.n,
                ef(r),
                r.error.as_deref().unwrap_or_default()
            );
        }
        out.push('\n');
    }
    let filtered: Vec<&RunResult> = results
        .iter()
        .filter(|r| r.error.is_none() && r.scenario.filter.is_some())
        .collect();
    if !filtered.is_empty() {
        out.push_str(
            "| dataset | n | algorithm | ef | label | allowed | mode | recall@10 | QPS (1 thread) | repeats |\n\
             |---|---|---|---|---|---|---|---|---|---|\n",
        );
        for r in filtered {
            let Some(f) = &r.scenario.filter else {
                continue;
            };
            let reps: Vec<String> = r
                .qps_single_thread_repeats
                .iter()
                .map(|q| format!("{q:.0}"))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {}{} | {} | {} | {} |",
                r.dataset,
                r.n,
                r.algorithm,
                ef(r),
                f.label,
                f.allowed,
                f.mode,
                if f.mode == "post-filter" {
                    format!(" (k′ = {})", f.searched_k)
                } else {
                    String::new()
                },
                num(r.recall_at_10, 4),
                num(r.qps_single_thread, 0),
                reps.join(" / ")
            );
        }
    }
    let streaming: Vec<&RunResult> = results
        .iter()
        .filter(|r| r.error.is_none() && r.scenario.streaming.is_some())
        .collect();
    if !streaming.is_empty() {
        out.push_str(
            "| dataset | n | algorithm | ef | min recall@10 | inserts/s | deletes/s | p50 / p99 ms read-only | p50 / p99 ms under inserts |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for r in streaming {
            let Some(s) = &r.scenario.streaming else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.dataset,
                r.n,
                r.algorithm,
                ef(r),
                num(r.recall_at_10, 4),
                num(s.insert_per_second, 0),
                num(s.delete_per_second, 0),
                lat(s.latency_read_only_ms),
                lat(s.latency_under_writes_ms)
            );
        }
    }
    out
}
