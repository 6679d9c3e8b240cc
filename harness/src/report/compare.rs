//! `omenbench compare`: two result sets on the same charts, and a table of
//! what changed, regressions highlighted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::sweep::results::RunResult;

use super::charts::Palette;
use super::figures::{dataset_figures, slug, Context, Side};
use super::html::{escape, figure_html, fmt_count, meta_html, num_cell, page, text_cell};
use super::load::{group, DatasetGroup, ResultSet};
use super::summary::{fixed_ef, runs_at_ef, summarize, Labeller, SummaryRow, RECALL_TARGETS};

/// A QPS or build-speed drop larger than this fraction is a regression.
pub const SPEED_TOLERANCE: f64 = 0.05;
/// A bytes-per-vector rise larger than this fraction is a regression.
pub const BYTES_TOLERANCE: f64 = 0.05;
/// A recall@10 drop larger than this (absolute) is a regression.
pub const RECALL_TOLERANCE: f64 = 0.005;

/// Whether a change is for the worse, the better, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Worse beyond the tolerance.
    Worse,
    /// Better beyond the tolerance.
    Better,
    /// Within the tolerance, or not comparable.
    Same,
}

impl Verdict {
    fn class(self) -> &'static str {
        match self {
            Verdict::Worse => "worse",
            Verdict::Better => "better",
            Verdict::Same => "",
        }
    }
}

/// Judges a larger-is-better ratio figure (QPS, build speed). A figure that
/// disappeared (e.g. a recall level no longer reached) is worse; one that
/// appeared is better.
pub fn judge_higher(old: Option<f64>, new: Option<f64>, tol: f64) -> Verdict {
    match (old, new) {
        (Some(o), Some(n)) if o > 0.0 => {
            let change = n / o - 1.0;
            if change < -tol {
                Verdict::Worse
            } else if change > tol {
                Verdict::Better
            } else {
                Verdict::Same
            }
        }
        (Some(_), None) => Verdict::Worse,
        (None, Some(_)) => Verdict::Better,
        _ => Verdict::Same,
    }
}

/// Judges a smaller-is-better ratio figure (bytes per vector).
pub fn judge_lower(old: Option<f64>, new: Option<f64>, tol: f64) -> Verdict {
    match (old, new) {
        (Some(o), Some(n)) if o > 0.0 => {
            let change = n / o - 1.0;
            if change > tol {
                Verdict::Worse
            } else if change < -tol {
                Verdict::Better
            } else {
                Verdict::Same
            }
        }
        _ => Verdict::Same,
    }
}

/// Judges an absolute larger-is-better figure (recall).
pub fn judge_recall(old: Option<f64>, new: Option<f64>) -> Verdict {
    match (old, new) {
        (Some(o), Some(n)) if n - o < -RECALL_TOLERANCE => Verdict::Worse,
        (Some(o), Some(n)) if n - o > RECALL_TOLERANCE => Verdict::Better,
        _ => Verdict::Same,
    }
}

/// Old and new figures of one series on one dataset at one scale.
#[derive(Debug, Clone)]
pub struct DeltaRow {
    /// Dataset name.
    pub dataset: String,
    /// Train vectors.
    pub n: usize,
    /// Series label.
    pub label: String,
    /// Old summary, when the old set has this series here.
    pub old: Option<SummaryRow>,
    /// New summary.
    pub new: Option<SummaryRow>,
    /// Old recall@10 at the fixed `ef`.
    pub old_recall: Option<f64>,
    /// New recall@10 at the fixed `ef`.
    pub new_recall: Option<f64>,
}

impl DeltaRow {
    /// Verdicts in table order: recall, QPS at each recall target, build
    /// speed, bytes per vector.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let o = self.old.as_ref();
        let n = self.new.as_ref();
        let mut v = vec![judge_recall(self.old_recall, self.new_recall)];
        for i in 0..RECALL_TARGETS.len() {
            v.push(judge_higher(
                o.and_then(|r| r.best_qps[i]),
                n.and_then(|r| r.best_qps[i]),
                SPEED_TOLERANCE,
            ));
        }
        v.push(judge_higher(
            o.and_then(|r| r.build_vectors_per_second),
            n.and_then(|r| r.build_vectors_per_second),
            SPEED_TOLERANCE,
        ));
        v.push(judge_lower(
            o.and_then(|r| r.bytes_per_vector.map(|b| b.0)),
            n.and_then(|r| r.bytes_per_vector.map(|b| b.0)),
            BYTES_TOLERANCE,
        ));
        v
    }

    /// Whether any figure regressed.
    pub fn regressed(&self) -> bool {
        self.old.is_some() && self.new.is_some() && self.verdicts().contains(&Verdict::Worse)
    }
}

fn recall_at_ef(
    runs: &[&RunResult],
    ef: Option<usize>,
    labeller: &Labeller,
) -> BTreeMap<(String, String, usize), f64> {
    let mut out = BTreeMap::new();
    for ds in group(runs.iter().copied()) {
        for ((label, n), r) in runs_at_ef(&ds.runs, ef, labeller) {
            if let Some(v) = r.recall_at_10 {
                out.insert((ds.name.clone(), label, n), v);
            }
        }
    }
    out
}

/// The delta rows of two sets of runs.
pub fn deltas(
    old: &[&RunResult],
    new: &[&RunResult],
    labeller: &Labeller,
    ef: Option<usize>,
) -> Vec<DeltaRow> {
    let key = |r: &SummaryRow| (r.dataset.clone(), r.n, r.label.clone());
    let olds: BTreeMap<_, _> = summarize(old, labeller)
        .into_iter()
        .map(|r| (key(&r), r))
        .collect();
    let news: BTreeMap<_, _> = summarize(new, labeller)
        .into_iter()
        .map(|r| (key(&r), r))
        .collect();
    let old_rec = recall_at_ef(old, ef, labeller);
    let new_rec = recall_at_ef(new, ef, labeller);
    let keys: BTreeSet<_> = olds.keys().chain(news.keys()).cloned().collect();
    keys.into_iter()
        .map(|k| {
            let rk = (k.0.clone(), k.2.clone(), k.1);
            DeltaRow {
                old_recall: old_rec.get(&rk).copied(),
                new_recall: new_rec.get(&rk).copied(),
                old: olds.get(&k).cloned(),
                new: news.get(&k).cloned(),
                dataset: k.0,
                n: k.1,
                label: k.2,
            }
        })
        .collect()
}

fn pct(o: Option<f64>, n: Option<f64>) -> Option<f64> {
    match (o, n) {
        (Some(o), Some(n)) if o > 0.0 => Some((n / o - 1.0) * 100.0),
        _ => None,
    }
}

fn delta_table(rows: &[DeltaRow]) -> String {
    let mut h = String::from(
        "<table class=\"sortable deltas\"><thead><tr><th>dataset</th><th>n</th><th>algorithm</th>\
         <th>recall@10 old</th><th>new</th><th>Δ</th>",
    );
    for t in RECALL_TARGETS {
        let _ = write!(h, "<th>QPS @R≥{t:.2} old</th><th>new</th><th>Δ %</th>");
    }
    h.push_str("<th>build vec/s old</th><th>new</th><th>Δ %</th><th>bytes/vec old</th><th>new</th><th>Δ %</th></tr></thead><tbody>\n");
    let signed = |v: f64| format!("{v:+.1}");
    for r in rows {
        let v = r.verdicts();
        let (o, n) = (r.old.as_ref(), r.new.as_ref());
        let status = match (o, n) {
            (None, _) => " (new only)",
            (_, None) => " (old only)",
            _ => "",
        };
        let _ = write!(
            h,
            "<tr class=\"{}\">{}{}{}",
            if r.regressed() { "regressed" } else { "" },
            text_cell(&r.dataset),
            num_cell(Some(r.n as f64), fmt_count, ""),
            text_cell(&format!("{}{status}", r.label)),
        );
        let rec = |x: f64| format!("{x:.4}");
        h.push_str(&num_cell(r.old_recall, rec, ""));
        h.push_str(&num_cell(r.new_recall, rec, ""));
        let d = match (r.old_recall, r.new_recall) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        h.push_str(&num_cell(d, |x| format!("{x:+.4}"), v[0].class()));
        for i in 0..RECALL_TARGETS.len() {
            let (a, b) = (o.and_then(|r| r.best_qps[i]), n.and_then(|r| r.best_qps[i]));
            h.push_str(&num_cell(a, fmt_count, ""));
            h.push_str(&num_cell(b, fmt_count, ""));
            h.push_str(&num_cell(pct(a, b), signed, v[1 + i].class()));
        }
        let (a, b) = (
            o.and_then(|r| r.build_vectors_per_second),
            n.and_then(|r| r.build_vectors_per_second),
        );
        h.push_str(&num_cell(a, fmt_count, ""));
        h.push_str(&num_cell(b, fmt_count, ""));
        h.push_str(&num_cell(pct(a, b), signed, v[4].class()));
        let (a, b) = (
            o.and_then(|r| r.bytes_per_vector.map(|b| b.0)),
            n.and_then(|r| r.bytes_per_vector.map(|b| b.0)),
        );
        let one = |x: f64| format!("{x:.1}");
        h.push_str(&num_cell(a, one, ""));
        h.push_str(&num_cell(b, one, ""));
        h.push_str(&num_cell(pct(a, b), signed, v[5].class()));
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    h
}

/// The runs of dataset `name` in `groups` (none when it is absent).
fn runs_of<'a>(groups: &[DatasetGroup<'a>], name: &str) -> Vec<&'a RunResult> {
    groups
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.runs.clone())
        .unwrap_or_default()
}

/// The comparison page of two result sets.
pub fn render_compare(old: &ResultSet, new: &ResultSet) -> anyhow::Result<String> {
    let o: Vec<&RunResult> = old.results().collect();
    let n: Vec<&RunResult> = new.results().collect();
    let labeller = Labeller::new(o.iter().chain(n.iter()).copied());
    let palette = Palette::new(o.iter().chain(n.iter()).map(|r| labeller.label(r)));
    let both: Vec<&RunResult> = o.iter().chain(n.iter()).copied().collect();
    let ef = fixed_ef(&both, &labeller);
    let cx = Context {
        labeller: &labeller,
        palette: &palette,
        ef,
    };
    let rows = deltas(&o, &n, &labeller, ef);
    let regressions = rows.iter().filter(|r| r.regressed()).count();
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>OmenDB benchmark comparison</h1>\n\
         <h3>Old: <code>{}</code> ({} runs)</h3>{}\n<h3>New: <code>{}</code> ({} runs)</h3>{}\n\
         <p class=\"note\">Old series are dashed with hollow markers, new ones solid. \
         QPS is compared at matched recall: the best single-thread QPS reaching each recall@10 level. \
         Highlighted red: QPS or build speed down more than {:.0}%, bytes/vector up more than {:.0}%, \
         recall@10 (at {}) down more than {RECALL_TOLERANCE}.</p>\n\
         <h2 id=\"deltas\">Changes: {regressions} series with a regression</h2>\n",
        escape(&old.root.display().to_string()),
        o.len(),
        meta_html(&o),
        escape(&new.root.display().to_string()),
        n.len(),
        meta_html(&n),
        SPEED_TOLERANCE * 100.0,
        BYTES_TOLERANCE * 100.0,
        ef.map(|e| format!("ef = {e}")).unwrap_or_else(|| "the best setting".into()),
    );
    body.push_str(&delta_table(&rows));
    let old_ds = group(o.iter().copied());
    let new_ds = group(n.iter().copied());
    let names: BTreeSet<&str> = old_ds
        .iter()
        .chain(new_ds.iter())
        .map(|d| d.name.as_str())
        .collect();
    for name in names {
        let sides = [
            Side {
                tag: Some("old"),
                runs: runs_of(&old_ds, name),
                dashed: true,
            },
            Side {
                tag: Some("new"),
                runs: runs_of(&new_ds, name),
                dashed: false,
            },
        ];
        let _ = write!(
            body,
            "<h2 id=\"ds-{}\">{}</h2>\n<div class=\"charts\">\n",
            slug(name),
            escape(name)
        );
        for fig in dataset_figures(name, &sides, &cx) {
            body.push_str(&figure_html(&fig)?);
        }
        body.push_str("</div>\n");
    }
    Ok(page("OmenDB benchmark comparison", &body))
}

/// Reads both directories and writes `<out_dir>/index.html`; returns its path.
pub fn write_compare(old_dir: &Path, new_dir: &Path, out_dir: &Path) -> anyhow::Result<PathBuf> {
    let old = ResultSet::load(old_dir)?;
    let new = ResultSet::load(new_dir)?;
    let html = render_compare(&old, &new)?;
    super::write_index(out_dir, &html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_tolerances() {
        assert_eq!(judge_higher(Some(100.0), Some(90.0), 0.05), Verdict::Worse);
        assert_eq!(judge_higher(Some(100.0), Some(97.0), 0.05), Verdict::Same);
        assert_eq!(
            judge_higher(Some(100.0), Some(110.0), 0.05),
            Verdict::Better
        );
        assert_eq!(judge_higher(Some(100.0), None, 0.05), Verdict::Worse);
        assert_eq!(judge_lower(Some(100.0), Some(120.0), 0.05), Verdict::Worse);
        assert_eq!(judge_lower(Some(100.0), Some(80.0), 0.05), Verdict::Better);
        assert_eq!(judge_recall(Some(0.95), Some(0.93)), Verdict::Worse);
        assert_eq!(judge_recall(Some(0.95), Some(0.952)), Verdict::Same);
    }
}
