//! Charts of scenario runs (`sweep::scenario`):
//! - `filtered`: per scale and label correlation, recall@10 against
//!   selectivity (each engine's best setting), then per selectivity recall
//!   against single-thread QPS (every setting; post-filtered engines named
//!   so in the legend);
//! - `streaming`: per scale, recall@10 at every search step of the runbook
//!   and p99 search latency at every step that searched (read-only steps and
//!   steps searching while an insert thread wrote).

use std::collections::{BTreeMap, BTreeSet};

use crate::sweep::results::RunResult;

use super::charts::{Chart, Scale, Series};
use super::figures::{slug, Context, Figure};
use super::pareto::frontier;

/// Whether `r` is a scenario run (drawn here, not on the k-NN charts).
pub fn is_scenario(r: &RunResult) -> bool {
    r.scenario.scenario.is_some()
}

/// The series label of a scenario run: the engine's, plus how it filtered
/// when it post-filtered, plus `ef` for streaming runs.
fn label(r: &RunResult, cx: &Context<'_>) -> String {
    let base = cx.labeller.label(r);
    let post = r
        .scenario
        .filter
        .as_ref()
        .is_some_and(|f| f.mode == "post-filter");
    let ef = r.query_params.as_ref().and_then(|q| q.get("ef"));
    match (post, &r.scenario.streaming, ef) {
        (true, _, _) => format!("{base} (post-filter)"),
        (false, Some(_), Some(ef)) => format!("{base} ef={ef}"),
        _ => base,
    }
}

fn series(
    name: String,
    cx: &Context<'_>,
    colour_of: &str,
    pts: Vec<(f64, f64)>,
    line: Vec<(f64, f64)>,
) -> Series {
    Series {
        colour: cx.palette.colour(colour_of),
        marker: cx.palette.marker(colour_of),
        name,
        points: pts,
        line,
        dashed: false,
    }
}

/// Every scenario chart of `dataset`'s runs, in page order.
pub fn scenario_figures(dataset: &str, runs: &[&RunResult], cx: &Context<'_>) -> Vec<Figure> {
    let mut figs = filtered_figures(dataset, runs, cx);
    figs.extend(streaming_figures(dataset, runs, cx));
    figs
}

fn filtered_figures(dataset: &str, runs: &[&RunResult], cx: &Context<'_>) -> Vec<Figure> {
    let filtered: Vec<&RunResult> = runs
        .iter()
        .copied()
        .filter(|r| r.scenario.filter.is_some() && r.error.is_none())
        .collect();
    let slug = slug(dataset);
    let keys: BTreeSet<(usize, String)> = filtered
        .iter()
        .filter_map(|r| Some((r.n, r.scenario.filter.as_ref()?.correlation.clone())))
        .collect();
    let mut figs = Vec::new();
    for (n, corr) in keys {
        let here: Vec<&RunResult> = filtered
            .iter()
            .copied()
            .filter(|r| {
                r.n == n
                    && r.scenario
                        .filter
                        .as_ref()
                        .is_some_and(|f| f.correlation == corr)
            })
            .collect();
        // Recall vs selectivity: each engine's best recall at each selectivity.
        let mut best: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
        for r in &here {
            let (Some(s), Some(rc)) = (r.scenario.selectivity, r.recall_at_10) else {
                continue;
            };
            let slot = best
                .entry(label(r, cx))
                .or_default()
                .entry(s.to_bits())
                .or_insert((s, rc));
            slot.1 = slot.1.max(rc);
        }
        let mut list = Vec::new();
        for (l, pts) in best {
            let mut pts: Vec<(f64, f64)> = pts.into_values().collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            list.push(series(l.clone(), cx, &l, pts.clone(), pts));
        }
        figs.push(Figure {
            key: format!("filtered-recall-{slug}-{n}-{}", super::figures::slug(&corr)),
            chart: Chart {
                title: format!("{dataset}, n = {n}, labels {corr}: best recall@10 vs selectivity"),
                x_label: "share of vectors the filter allows (log scale)".into(),
                y_label: "recall@10 under the filter".into(),
                x_scale: Scale::Log,
                y_scale: Scale::Linear,
                x_range: None,
                y_range: None,
                series: list,
            },
        });
        // Recall vs QPS at each selectivity.
        let sels: BTreeSet<u64> = here
            .iter()
            .filter_map(|r| r.scenario.selectivity.map(f64::to_bits))
            .collect();
        for bits in sels.into_iter().rev() {
            let s = f64::from_bits(bits);
            let mut per: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
            for r in here.iter().filter(|r| r.scenario.selectivity == Some(s)) {
                if let (Some(rc), Some(q)) = (r.recall_at_10, r.qps_single_thread) {
                    per.entry(label(r, cx)).or_default().push((rc, q));
                }
            }
            let list = per
                .into_iter()
                .map(|(l, pts)| {
                    let line = frontier(&pts).into_iter().map(|i| pts[i]).collect();
                    series(l.clone(), cx, &l, pts, line)
                })
                .collect();
            figs.push(Figure {
                key: format!(
                    "filtered-pareto-{slug}-{n}-{}-{}",
                    super::figures::slug(&corr),
                    slug_f(s)
                ),
                chart: Chart {
                    title: format!(
                        "{dataset}, n = {n}, labels {corr}, selectivity {s}: recall vs QPS"
                    ),
                    x_label: "recall@10 under the filter".into(),
                    y_label: "queries / second, 1 thread (log scale)".into(),
                    x_scale: Scale::Linear,
                    y_scale: Scale::Log,
                    x_range: None,
                    y_range: None,
                    series: list,
                },
            });
        }
    }
    figs
}

fn slug_f(s: f64) -> String {
    format!("{s}").replace('.', "_")
}

fn streaming_figures(dataset: &str, runs: &[&RunResult], cx: &Context<'_>) -> Vec<Figure> {
    let streaming: Vec<&RunResult> = runs
        .iter()
        .copied()
        .filter(|r| r.scenario.streaming.is_some() && r.error.is_none())
        .collect();
    let slug = slug(dataset);
    let ns: BTreeSet<usize> = streaming.iter().map(|r| r.n).collect();
    let mut figs = Vec::new();
    for n in ns {
        let mut recall = Vec::new();
        let mut latency = Vec::new();
        for r in streaming.iter().filter(|r| r.n == n) {
            let Some(s) = &r.scenario.streaming else {
                continue;
            };
            let l = label(r, cx);
            let pts: Vec<(f64, f64)> = s
                .steps
                .iter()
                .filter_map(|st| Some((st.step as f64, st.recall_at_10?)))
                .collect();
            recall.push(series(
                l.clone(),
                cx,
                &cx.labeller.label(r),
                pts.clone(),
                pts,
            ));
            for (what, concurrent) in [("read-only", false), ("under inserts", true)] {
                let pts: Vec<(f64, f64)> = s
                    .steps
                    .iter()
                    .filter(|st| (st.op == "insert_while_searching") == concurrent)
                    .filter_map(|st| Some((st.step as f64, st.latency_ms?.p99)))
                    .collect();
                if !pts.is_empty() {
                    let mut sr = series(
                        format!("{l}, {what}"),
                        cx,
                        &cx.labeller.label(r),
                        pts,
                        Vec::new(),
                    );
                    sr.dashed = concurrent;
                    latency.push(sr);
                }
            }
        }
        figs.push(Figure {
            key: format!("streaming-recall-{slug}-{n}"),
            chart: Chart {
                title: format!("{dataset}, n = {n}: recall@10 over the runbook"),
                x_label: "runbook step".into(),
                y_label: "recall@10 against the live set".into(),
                x_scale: Scale::Linear,
                y_scale: Scale::Linear,
                x_range: None,
                y_range: None,
                series: recall,
            },
        });
        figs.push(Figure {
            key: format!("streaming-p99-{slug}-{n}"),
            chart: Chart {
                title: format!("{dataset}, n = {n}: p99 search latency over the runbook"),
                x_label: "runbook step".into(),
                y_label: "p99 latency, ms (log scale); hollow: searching while inserting".into(),
                x_scale: Scale::Linear,
                y_scale: Scale::Log,
                x_range: None,
                y_range: None,
                series: latency,
            },
        });
    }
    figs
}
