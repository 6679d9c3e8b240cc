//! QPS ratios between engines at equal recall: each engine's single-thread
//! QPS at recall@10 = 0.90 / 0.95 / 0.99, interpolated on its Pareto
//! frontier (recall against QPS over all its runs on one dataset scale),
//! divided by the reference engine's, once per repeat: the median and the
//! range over repeats, e.g. `omendb-hnsw / hnswlib at 0.95: 1.9× (1.7–2.1)`.
//!
//! The frontier is the upper-right Pareto set of (recall@10, QPS). QPS at a
//! recall between two frontier points is interpolated linearly; below the
//! frontier's lowest recall it is the fastest frontier point (a lower
//! bound); above its highest recall there is no figure.

use std::fmt::Write as _;

use super::results::RunResult;
use crate::report::pareto::frontier;

/// The recall@10 levels ratios are taken at.
pub const RATIO_RECALLS: [f64; 3] = [0.90, 0.95, 0.99];

/// The engine others are divided by when it ran (the library to beat).
pub const PREFERRED_REFERENCE: &str = "hnswlib";

/// QPS at recall `target` on the frontier of `points` (recall, QPS).
pub fn qps_at_recall(points: &[(f64, f64)], target: f64) -> Option<f64> {
    let front: Vec<(f64, f64)> = frontier(points).into_iter().map(|i| points[i]).collect();
    let (first, last) = (front.first()?, front.last()?);
    if target > last.0 {
        return None;
    }
    if target <= first.0 {
        return Some(first.1);
    }
    front.windows(2).find_map(|w| {
        let ((r0, q0), (r1, q1)) = (w[0], w[1]);
        (target >= r0 && target <= r1).then(|| {
            if r1 == r0 {
                q1
            } else {
                q0 + (q1 - q0) * (target - r0) / (r1 - r0)
            }
        })
    })
}

/// One engine's ratio to the reference at one recall level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// Median over repeats.
    pub median: f64,
    /// Smallest over repeats.
    pub min: f64,
    /// Largest over repeats.
    pub max: f64,
}

/// The (recall, QPS) points of `runs`: QPS of repeat `rep` when a run has
/// it, else its reported QPS.
fn points(runs: &[&RunResult], rep: Option<usize>) -> Vec<(f64, f64)> {
    runs.iter()
        .filter(|r| r.error.is_none())
        .filter_map(|r| {
            let recall = r.recall_at_10?;
            let qps = match rep {
                Some(i) => r.qps_single_thread_repeats.get(i).copied(),
                None => r.qps_single_thread,
            }?;
            Some((recall, qps))
        })
        .collect()
}

/// The ratio of `engine`'s QPS to `reference`'s at `target`, per repeat
/// (pairing the i-th passes), summarised; `None` when either engine does
/// not reach `target`.
pub fn ratio(engine: &[&RunResult], reference: &[&RunResult], target: f64) -> Option<Ratio> {
    let repeats = engine
        .iter()
        .chain(reference)
        .map(|r| r.qps_single_thread_repeats.len())
        .min()
        .unwrap_or(0);
    let reps: Vec<Option<usize>> = if repeats == 0 {
        vec![None]
    } else {
        (0..repeats).map(Some).collect()
    };
    let mut ratios: Vec<f64> = reps
        .into_iter()
        .filter_map(|rep| {
            let a = qps_at_recall(&points(engine, rep), target)?;
            let b = qps_at_recall(&points(reference, rep), target)?;
            (b > 0.0).then(|| a / b)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    let median = if ratios.len() % 2 == 1 {
        ratios[mid]
    } else {
        (ratios[mid - 1] + ratios[mid]) / 2.0
    };
    Some(Ratio {
        median,
        min: ratios[0],
        max: ratios[ratios.len() - 1],
    })
}

/// `1.90× (1.70–2.10)`.
pub fn format_ratio(r: &Ratio) -> String {
    format!("{:.2}× ({:.2}–{:.2})", r.median, r.min, r.max)
}

/// The ratios of one dataset scale: every engine over the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioTable {
    /// The dataset spec.
    pub dataset: String,
    /// Train vectors.
    pub n: usize,
    /// The engine the others are divided by.
    pub reference: String,
    /// Each other engine and its ratio at each of [`RATIO_RECALLS`].
    pub rows: Vec<(String, [Option<Ratio>; 3])>,
}

/// One table per dataset scale where at least two engines ran without
/// error: every engine over the reference ([`PREFERRED_REFERENCE`] when it
/// ran, else the first engine that is not OmenDB's, else the first).
pub fn ratio_tables<'a>(results: impl IntoIterator<Item = &'a RunResult>) -> Vec<RatioTable> {
    let ok: Vec<&RunResult> = results.into_iter().filter(|r| r.error.is_none()).collect();
    let mut scales: Vec<(&str, usize)> = Vec::new();
    for r in &ok {
        let key = (r.dataset_spec.as_str(), r.n);
        if !scales.contains(&key) {
            scales.push(key);
        }
    }
    let mut tables = Vec::new();
    for (spec, n) in scales {
        let mut engines: Vec<(&str, Vec<&RunResult>)> = Vec::new();
        for &r in ok.iter().filter(|r| r.dataset_spec == spec && r.n == n) {
            match engines.iter_mut().find(|(a, _)| *a == r.algorithm) {
                Some((_, runs)) => runs.push(r),
                None => engines.push((&r.algorithm, vec![r])),
            }
        }
        if engines.len() < 2 {
            continue;
        }
        let reference = engines
            .iter()
            .position(|(a, _)| *a == PREFERRED_REFERENCE)
            .or_else(|| engines.iter().position(|(a, _)| !a.starts_with("omendb")))
            .unwrap_or(0);
        let ref_runs = &engines[reference].1;
        let rows = engines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != reference)
            .map(|(_, (name, runs))| {
                (
                    name.to_string(),
                    RATIO_RECALLS.map(|t| ratio(runs, ref_runs, t)),
                )
            })
            .collect();
        tables.push(RatioTable {
            dataset: spec.to_string(),
            n,
            reference: engines[reference].0.to_string(),
            rows,
        });
    }
    tables
}

/// The tables as Markdown (empty when there are none).
pub fn markdown(tables: &[RatioTable]) -> String {
    let mut out = String::new();
    for t in tables {
        let _ = writeln!(
            out,
            "QPS ratios at equal recall@10 ({}, n = {}; single thread, median of repeats (range)):\n",
            t.dataset, t.n
        );
        let _ = writeln!(
            out,
            "| engine / {} | {} |",
            t.reference,
            RATIO_RECALLS.map(|r| format!("at {r:.2}")).join(" | ")
        );
        let _ = writeln!(out, "|---|---|---|---|");
        for (name, ratios) in &t.rows {
            let cells = ratios.map(|r| r.map_or("–".to_string(), |r| format_ratio(&r)));
            let _ = writeln!(out, "| {name} / {} | {} |", t.reference, cells.join(" | "));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_on_the_frontier_only() {
        // (recall, qps); (0.92, 500) is dominated by (0.95, 800).
        let pts = [(0.90, 1000.0), (0.92, 500.0), (0.95, 800.0), (1.0, 100.0)];
        assert_eq!(qps_at_recall(&pts, 0.95), Some(800.0));
        // Halfway between (0.90, 1000) and (0.95, 800).
        assert!((qps_at_recall(&pts, 0.925).unwrap() - 900.0).abs() < 1e-9);
        // Between (0.95, 800) and (1.0, 100): 0.99 is 4/5 of the way.
        assert!((qps_at_recall(&pts, 0.99).unwrap() - 240.0).abs() < 1e-9);
        // Below the frontier: its fastest point; above it: nothing.
        assert_eq!(qps_at_recall(&pts, 0.5), Some(1000.0));
        assert_eq!(qps_at_recall(&[(0.9, 10.0)], 0.95), None);
        assert_eq!(qps_at_recall(&[], 0.9), None);
    }

    fn run(algorithm: &str, recall: f64, repeats: &[f64]) -> RunResult {
        RunResult {
            algorithm: algorithm.into(),
            dataset_spec: "d".into(),
            n: 100,
            recall_at_10: Some(recall),
            qps_single_thread: repeats.iter().copied().reduce(f64::max),
            qps_single_thread_repeats: repeats.to_vec(),
            ..RunResult::default()
        }
    }

    #[test]
    fn ratios_pair_repeats_and_report_median_and_range() {
        let a = [
            run("omendb-hnsw", 0.90, &[2000.0, 3000.0, 2400.0]),
            run("omendb-hnsw", 1.00, &[1000.0, 1500.0, 1200.0]),
        ];
        let b = [
            run("hnswlib", 0.90, &[1000.0, 1000.0, 1000.0]),
            run("hnswlib", 1.00, &[500.0, 500.0, 500.0]),
        ];
        let (ar, br): (Vec<&RunResult>, Vec<&RunResult>) = (a.iter().collect(), b.iter().collect());
        let r = ratio(&ar, &br, 0.95).unwrap();
        // Per repeat at 0.95: 1500/750, 2250/750, 1800/750.
        assert!((r.min - 2.0).abs() < 1e-9 && (r.max - 3.0).abs() < 1e-9);
        assert!((r.median - 2.4).abs() < 1e-9);
        assert_eq!(format_ratio(&r), "2.40× (2.00–3.00)");
        assert!(ratio(&ar, &br, 1.01).is_none());

        let all: Vec<RunResult> = a.iter().chain(&b).cloned().collect();
        let tables = ratio_tables(&all);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].reference, "hnswlib");
        let t = markdown(&tables);
        assert!(t.contains("| engine / hnswlib |"), "{t}");
        assert!(
            t.contains("| omendb-hnsw / hnswlib | 2.40× (2.00–3.00) |"),
            "{t}"
        );
        assert!(ratio_tables(&a).is_empty(), "one engine: no table");
    }
}
