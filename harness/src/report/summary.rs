//! The figures the report derives from runs: series labels, the summary
//! table's numbers, and the run each algorithm is compared at across scales.

use std::collections::{BTreeMap, BTreeSet};

use crate::sweep::results::RunResult;

use super::load::dataset_base;
use super::machines::MachineTags;
use super::pareto::best_y_at;

/// The recall@10 levels the summary reports the best QPS at.
pub const RECALL_TARGETS: [f64; 3] = [0.90, 0.95, 0.99];

/// Names a run's series: the algorithm, with its build parameters appended
/// when the algorithm was built more than one way in the set being shown.
#[derive(Debug, Clone, Default)]
pub struct Labeller {
    multi: BTreeSet<String>,
    /// Set by [`Labeller::by_machine`]: runs from different hardware get
    /// separate series.
    machines: Option<MachineTags>,
}

/// `a=1, b=2` for a parameter map.
pub fn params_text(p: &BTreeMap<String, usize>) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Labeller {
    /// Learns which algorithms have several build-parameter sets in `runs`
    /// (runs that failed before they had parameters do not count).
    pub fn new<'a>(runs: impl IntoIterator<Item = &'a RunResult>) -> Labeller {
        let mut sets: BTreeMap<&str, BTreeSet<&BTreeMap<String, usize>>> = BTreeMap::new();
        for r in runs.into_iter().filter(|r| !r.build_params.is_empty()) {
            sets.entry(&r.algorithm)
                .or_default()
                .insert(&r.build_params);
        }
        Labeller {
            multi: sets
                .into_iter()
                .filter(|(_, s)| s.len() > 1)
                .map(|(a, _)| a.to_string())
                .collect(),
            machines: None,
        }
    }

    /// Like [`Labeller::new`], and when `runs` come from more than one
    /// machine, each label ends in its machine (`· machine B`), so QPS from
    /// different hardware is never one series.
    pub fn by_machine<'a>(runs: impl IntoIterator<Item = &'a RunResult> + Clone) -> Labeller {
        let mut l = Labeller::new(runs.clone());
        let tags = MachineTags::new(runs);
        l.machines = (tags.count() > 1).then_some(tags);
        l
    }

    /// The machine tags, when the runs come from more than one machine.
    pub fn machines(&self) -> Option<&MachineTags> {
        self.machines.as_ref()
    }

    /// The series label of `r`.
    pub fn label(&self, r: &RunResult) -> String {
        let base = if self.multi.contains(&r.algorithm) && !r.build_params.is_empty() {
            format!("{} ({})", r.algorithm, params_text(&r.build_params))
        } else {
            r.algorithm.clone()
        };
        match self.machines.as_ref().and_then(|t| t.tag(&r.machine)) {
            Some(tag) => format!("{base} · {tag}"),
            None => base,
        }
    }
}

/// Which measurement a bytes-per-vector figure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BytesSource {
    /// The index's own accounting of its RAM.
    Index,
    /// Process RSS growth during the build.
    Rss,
}

impl BytesSource {
    /// Short name for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            BytesSource::Index => "index",
            BytesSource::Rss => "rss",
        }
    }
}

/// Bytes per vector of one run: the index's own accounting when it keeps
/// one, else the (positive) RSS growth of the build.
pub fn bytes_per_vector(r: &RunResult) -> Option<(f64, BytesSource)> {
    let ok = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0);
    ok(r.bytes_per_vector.index)
        .map(|b| (b, BytesSource::Index))
        .or_else(|| ok(r.bytes_per_vector.rss).map(|b| (b, BytesSource::Rss)))
}

/// The median of `v` (mean of the middle two for even lengths).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// `(recall@10, single-thread QPS)` of every run measuring both.
pub fn single_thread_points(runs: &[&RunResult]) -> Vec<(f64, f64)> {
    runs.iter()
        .filter_map(|r| Some((r.recall_at_10?, r.qps_single_thread?)))
        .collect()
}

/// `(recall@10, batch QPS)` of every run measuring both.
pub fn batch_points(runs: &[&RunResult]) -> Vec<(f64, f64)> {
    runs.iter()
        .filter_map(|r| Some((r.recall_at_10?, r.qps_batch?)))
        .collect()
}

/// One row of the summary table: one series on one dataset at one scale.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Dataset name (without a subset's `@<scale>`).
    pub dataset: String,
    /// Train vectors.
    pub n: usize,
    /// Series label (see [`Labeller`]).
    pub label: String,
    /// Runs behind the row.
    pub runs: usize,
    /// Runs that recorded an error.
    pub errors: usize,
    /// Best single-thread QPS at recall@10 ≥ each of [`RECALL_TARGETS`].
    pub best_qps: [Option<f64>; 3],
    /// Best batch QPS at recall@10 ≥ each of [`RECALL_TARGETS`].
    pub best_batch_qps: [Option<f64>; 3],
    /// Highest recall@10 reached.
    pub max_recall_at_10: Option<f64>,
    /// Fastest build, vectors per second.
    pub build_vectors_per_second: Option<f64>,
    /// Median bytes per vector over the runs, and which measurement.
    pub bytes_per_vector: Option<(f64, BytesSource)>,
    /// Disk-backed indexes: median seconds the reopen took.
    pub open_seconds: Option<f64>,
    /// Disk-backed indexes: median process `VmRSS` just after the reopen,
    /// bytes.
    pub rss_after_open_bytes: Option<f64>,
}

/// Summary rows of `runs` by (dataset, n, label), in that order.
pub fn summarize(runs: &[&RunResult], labeller: &Labeller) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<(String, usize, String), Vec<&RunResult>> = BTreeMap::new();
    for r in runs {
        groups
            .entry((dataset_base(&r.dataset).to_string(), r.n, labeller.label(r)))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((dataset, n, label), g)| {
            let st = single_thread_points(&g);
            let bt = batch_points(&g);
            let bytes: Vec<(f64, BytesSource)> =
                g.iter().filter_map(|r| bytes_per_vector(r)).collect();
            let source = if bytes.iter().any(|b| b.1 == BytesSource::Index) {
                BytesSource::Index
            } else {
                BytesSource::Rss
            };
            let chosen: Vec<f64> = bytes
                .iter()
                .filter(|b| b.1 == source)
                .map(|b| b.0)
                .collect();
            SummaryRow {
                dataset,
                n,
                label,
                runs: g.len(),
                errors: g.iter().filter(|r| r.error.is_some()).count(),
                best_qps: RECALL_TARGETS.map(|t| best_y_at(&st, t)),
                best_batch_qps: RECALL_TARGETS.map(|t| best_y_at(&bt, t)),
                max_recall_at_10: g
                    .iter()
                    .filter_map(|r| r.recall_at_10)
                    .max_by(f64::total_cmp),
                build_vectors_per_second: g
                    .iter()
                    .filter_map(|r| r.build_vectors_per_second)
                    .filter(|v| v.is_finite())
                    .max_by(f64::total_cmp),
                bytes_per_vector: median(chosen).map(|b| (b, source)),
                open_seconds: median(g.iter().filter_map(|r| r.open_seconds).collect()),
                rss_after_open_bytes: median(
                    g.iter()
                        .filter_map(|r| r.rss_after_open_bytes)
                        .map(|b| b as f64)
                        .collect(),
                ),
            }
        })
        .collect()
}

/// The `ef` the across-scale charts compare at: the value measured for the
/// most (series, dataset, scale) combinations, the larger on a tie; `None`
/// when no run has an `ef`.
pub fn fixed_ef(runs: &[&RunResult], labeller: &Labeller) -> Option<usize> {
    let mut cover: BTreeMap<usize, BTreeSet<(String, String, usize)>> = BTreeMap::new();
    for r in runs {
        if let Some(ef) = r.query_params.as_ref().and_then(|q| q.get("ef")) {
            cover.entry(*ef).or_default().insert((
                labeller.label(r),
                dataset_base(&r.dataset).to_string(),
                r.n,
            ));
        }
    }
    cover
        .into_iter()
        .max_by_key(|(ef, s)| (s.len(), *ef))
        .map(|(ef, _)| ef)
}

/// For each (series label, n) in `runs` (one dataset), the run measured at
/// `ef`; a series with no `ef` parameter at all (an exact index) is
/// represented by its highest-recall run.
pub fn runs_at_ef<'a>(
    runs: &[&'a RunResult],
    ef: Option<usize>,
    labeller: &Labeller,
) -> BTreeMap<(String, usize), &'a RunResult> {
    let has_ef: BTreeSet<String> = runs
        .iter()
        .filter(|r| {
            r.query_params
                .as_ref()
                .is_some_and(|q| q.contains_key("ef"))
        })
        .map(|r| labeller.label(r))
        .collect();
    let mut out: BTreeMap<(String, usize), &RunResult> = BTreeMap::new();
    for r in runs {
        let label = labeller.label(r);
        let run_ef = r.query_params.as_ref().and_then(|q| q.get("ef")).copied();
        let key = (label.clone(), r.n);
        if has_ef.contains(&label) {
            if run_ef.is_some() && run_ef == ef {
                out.entry(key).or_insert(r);
            }
        } else {
            let better = match out.get(&key) {
                None => true,
                Some(cur) => r.recall_at_10.unwrap_or(-1.0) > cur.recall_at_10.unwrap_or(-1.0),
            };
            if better {
                out.insert(key, r);
            }
        }
    }
    out
}
