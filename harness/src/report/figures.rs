//! Which charts a dataset gets, and the series on each, for one result set
//! or two overlaid (a comparison).

use std::collections::BTreeMap;

use crate::sweep::results::RunResult;

use super::charts::{Chart, Palette, Scale, Series};
use super::pareto::frontier;
use super::summary::{bytes_per_vector, runs_at_ef, Labeller};

/// One result set's runs of a dataset, as drawn on shared charts.
#[derive(Debug, Clone)]
pub struct Side<'a> {
    /// Suffix of its series names (`old`, `new`); `None` for a plain report.
    pub tag: Option<&'a str>,
    /// Its runs of the dataset.
    pub runs: Vec<&'a RunResult>,
    /// Dashed lines and hollow markers.
    pub dashed: bool,
}

/// A chart with the key the page anchors it by.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Stable id, e.g. `pareto-single-<dataset>-<n>`; unique in a page.
    pub key: String,
    /// The chart.
    pub chart: Chart,
}

/// Keeps `[A-Za-z0-9_-]` of a name for use in an id.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What the charts of one dataset share.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Series labels.
    pub labeller: &'a Labeller,
    /// Series colours and markers.
    pub palette: &'a Palette,
    /// The `ef` the across-scale charts compare at.
    pub ef: Option<usize>,
}

fn series_name(label: &str, side: &Side<'_>) -> String {
    match side.tag {
        Some(t) => format!("{label} · {t}"),
        None => label.to_string(),
    }
}

/// Runs of a side grouped by series label.
fn by_label<'a>(side: &Side<'a>, cx: &Context<'_>) -> BTreeMap<String, Vec<&'a RunResult>> {
    let mut m: BTreeMap<String, Vec<&RunResult>> = BTreeMap::new();
    for r in &side.runs {
        m.entry(cx.labeller.label(r)).or_default().push(r);
    }
    m
}

fn pareto_chart(
    title: String,
    y_label: &str,
    n: usize,
    sides: &[Side<'_>],
    cx: &Context<'_>,
    qps: fn(&RunResult) -> Option<f64>,
) -> Chart {
    let mut series = Vec::new();
    for side in sides {
        for (label, runs) in by_label(side, cx) {
            let points: Vec<(f64, f64)> = runs
                .iter()
                .filter(|r| r.n == n)
                .filter_map(|r| Some((r.recall_at_10?, qps(r)?)))
                .collect();
            if points.is_empty() {
                continue;
            }
            let line = frontier(&points).into_iter().map(|i| points[i]).collect();
            series.push(Series {
                name: series_name(&label, side),
                colour: cx.palette.colour(&label),
                marker: cx.palette.marker(&label),
                points,
                line,
                dashed: side.dashed,
            });
        }
    }
    Chart {
        title,
        x_label: "recall@10 (fraction of true 10-NN found)".into(),
        y_label: y_label.into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        x_range: None,
        y_range: None,
        series,
    }
}

fn scale_chart(
    title: String,
    y_label: &str,
    y_scale: Scale,
    sides: &[Side<'_>],
    cx: &Context<'_>,
    value: fn(&RunResult) -> Option<f64>,
) -> Chart {
    let mut series = Vec::new();
    for side in sides {
        let chosen = runs_at_ef(&side.runs, cx.ef, cx.labeller);
        let mut per_label: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        for ((label, n), r) in &chosen {
            if let Some(v) = value(r) {
                per_label
                    .entry(label.as_str())
                    .or_default()
                    .push((*n as f64, v));
            }
        }
        for (label, pts) in per_label {
            series.push(Series {
                name: series_name(label, side),
                colour: cx.palette.colour(label),
                marker: cx.palette.marker(label),
                line: pts.clone(),
                points: pts,
                dashed: side.dashed,
            });
        }
    }
    Chart {
        title,
        x_label: "train vectors indexed (n, log scale)".into(),
        y_label: y_label.into(),
        x_scale: Scale::Log,
        y_scale,
        x_range: None,
        y_range: None,
        series,
    }
}

/// Every chart of `dataset` (whose runs `sides` hold), in page order:
/// per scale the single-thread and batch Pareto plots; then recall@10,
/// build speed, bytes per vector and p99 latency against scale; then
/// recall@1 against recall@10 when both were measured.
pub fn dataset_figures(dataset: &str, sides: &[Side<'_>], cx: &Context<'_>) -> Vec<Figure> {
    let slug = slug(dataset);
    let mut ns: Vec<usize> = sides
        .iter()
        .flat_map(|s| s.runs.iter().map(|r| r.n))
        .collect();
    ns.sort_unstable();
    ns.dedup();
    let mut figs = Vec::new();
    for &n in &ns {
        figs.push(Figure {
            key: format!("pareto-single-{slug}-{n}"),
            chart: pareto_chart(
                format!("{dataset}, n = {n}: recall vs single-thread QPS"),
                "queries / second, 1 thread (log scale)",
                n,
                sides,
                cx,
                |r| r.qps_single_thread,
            ),
        });
        figs.push(Figure {
            key: format!("pareto-batch-{slug}-{n}"),
            chart: pareto_chart(
                format!("{dataset}, n = {n}: recall vs batch QPS"),
                "queries / second, all cores (log scale)",
                n,
                sides,
                cx,
                |r| r.qps_batch,
            ),
        });
    }
    let at = match cx.ef {
        Some(ef) => format!("ef = {ef}"),
        None => "best setting".to_string(),
    };
    figs.push(Figure {
        key: format!("scale-recall-{slug}"),
        chart: scale_chart(
            format!("{dataset}: recall@10 at {at} vs scale"),
            "recall@10 (fraction)",
            Scale::Linear,
            sides,
            cx,
            |r| r.recall_at_10,
        ),
    });
    figs.push(Figure {
        key: format!("scale-build-{slug}"),
        chart: scale_chart(
            format!("{dataset}: build speed vs scale"),
            "build vectors / second (log scale)",
            Scale::Log,
            sides,
            cx,
            |r| r.build_vectors_per_second,
        ),
    });
    figs.push(Figure {
        key: format!("scale-bytes-{slug}"),
        chart: scale_chart(
            format!("{dataset}: memory per vector vs scale"),
            "bytes / vector (index count, else RSS growth)",
            Scale::Linear,
            sides,
            cx,
            |r| bytes_per_vector(r).map(|b| b.0),
        ),
    });
    figs.push(Figure {
        key: format!("scale-p99-{slug}"),
        chart: scale_chart(
            format!("{dataset}: p99 latency at {at} vs scale"),
            "p99 query latency, 1 thread (ms, log scale)",
            Scale::Log,
            sides,
            cx,
            |r| r.latency_ms.map(|l| l.p99),
        ),
    });
    let both = sides
        .iter()
        .flat_map(|s| s.runs.iter())
        .any(|r| r.recall_at_1.is_some() && r.recall_at_10.is_some());
    if both {
        let mut series = Vec::new();
        for side in sides {
            for (label, runs) in by_label(side, cx) {
                let points: Vec<(f64, f64)> = runs
                    .iter()
                    .filter_map(|r| Some((r.recall_at_10?, r.recall_at_1?)))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                series.push(Series {
                    name: series_name(&label, side),
                    colour: cx.palette.colour(&label),
                    marker: cx.palette.marker(&label),
                    points,
                    line: Vec::new(),
                    dashed: side.dashed,
                });
            }
        }
        figs.push(Figure {
            key: format!("recall1-{slug}"),
            chart: Chart {
                title: format!("{dataset}: recall@1 vs recall@10 (all scales, all settings)"),
                x_label: "recall@10 (fraction)".into(),
                y_label: "recall@1 (fraction)".into(),
                x_scale: Scale::Linear,
                y_scale: Scale::Linear,
                x_range: None,
                y_range: None,
                series,
            },
        });
    }
    figs
}
