//! Seeded labels over a dataset's train vectors, and exact ground truth
//! restricted to a set of ids (a label's members, or the live set of a
//! streaming runbook).
//!
//! A label is the set of train ids that carry it; a filtered query may
//! return only those. Labels are drawn for any dataset (synthetic or file)
//! with a chosen selectivity (the share of train vectors that carry it,
//! exactly `round(s·n)`, at least 1) in one of two ways:
//! - [`Correlation::None`]: a seeded uniform sample of the ids, unrelated to
//!   where the vectors lie (a tenant id, a date bucket);
//! - [`Correlation::Clusters`]: the `round(s·n)` train vectors nearest a
//!   seeded anchor (a train vector), so the label covers whole clusters of a
//!   clustered set and most queries' true neighbours under the filter are far
//!   from their unfiltered ones (a category that is also a region: the hard
//!   case for graph search, where post-filtering collapses).
//!
//! Ground truth under a filter is computed by the same exact code as every
//! other ground truth ([`groundtruth::compute`] over the allowed rows only),
//! its ids mapped back to train row numbers.

use anyhow::{ensure, Context, Result};
use omendb::recall::true_distance;
use omendb::Metric;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::groundtruth::{self, GroundTruth};
use super::rng::Rng;

/// How a label's members relate to the vectors' positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Correlation {
    /// A uniform random sample of the ids.
    None,
    /// The train vectors nearest a seeded anchor (whole clusters).
    Clusters,
}

impl Correlation {
    /// The name used in configs and results (`none`, `clusters`).
    pub fn name(self) -> &'static str {
        match self {
            Correlation::None => "none",
            Correlation::Clusters => "clusters",
        }
    }
}

/// What label to draw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelSpec {
    /// Share of the train vectors that carry the label, in `(0, 1]`.
    pub selectivity: f64,
    /// How members are chosen.
    pub correlation: Correlation,
    /// Seed of the draw (with the selectivity and correlation, fixes it).
    pub seed: u64,
}

impl LabelSpec {
    /// Checks the selectivity.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.selectivity.is_finite() && self.selectivity > 0.0 && self.selectivity <= 1.0,
            "selectivity {} is not in (0, 1]",
            self.selectivity
        );
        Ok(())
    }

    /// Members for `n` train vectors: `round(selectivity · n)`, at least 1.
    pub fn members(&self, n: usize) -> usize {
        ((self.selectivity * n as f64).round() as usize).clamp(1, n.max(1))
    }

    /// A short name, e.g. `s0.01-clusters`.
    pub fn name(&self) -> String {
        format!("s{}-{}", self.selectivity, self.correlation.name())
    }
}

/// One label drawn over a dataset's train vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// What was asked.
    pub spec: LabelSpec,
    /// Train vectors the label was drawn over.
    pub n: usize,
    /// The ids (train row numbers) carrying the label, ascending.
    pub allowed: Vec<u32>,
}

impl Labels {
    /// Draws `spec` over `train` (`dims` wide, row = id) under `metric`.
    pub fn draw(train: &[f32], dims: usize, metric: Metric, spec: LabelSpec) -> Result<Labels> {
        spec.validate()?;
        ensure!(
            dims > 0 && train.len().is_multiple_of(dims),
            "labels: train is not whole rows of {dims}"
        );
        let n = train.len() / dims;
        ensure!(n > 0, "labels: no train vectors");
        ensure!(
            n <= u32::MAX as usize,
            "labels: {n} train vectors exceed u32 ids"
        );
        let m = spec.members(n);
        // Stream 3: apart from the synthetic generators' setup/train/test.
        let mut rng = Rng::for_row(spec.seed, 3, (spec.selectivity * 1e9) as u64);
        let mut allowed: Vec<u32> = match spec.correlation {
            Correlation::None => sample(&mut rng, n, m),
            Correlation::Clusters => {
                let anchor = rng.below(n);
                let a = &train[anchor * dims..(anchor + 1) * dims];
                let mut by_distance: Vec<(f64, u32)> = train
                    .par_chunks_exact(dims)
                    .enumerate()
                    .map(|(i, v)| (true_distance(metric, a, v), i as u32))
                    .collect();
                by_distance.par_sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                by_distance.truncate(m);
                by_distance.into_iter().map(|(_, i)| i).collect()
            }
        };
        allowed.sort_unstable();
        Ok(Labels { spec, n, allowed })
    }

    /// The selectivity reached: members / n.
    pub fn selectivity(&self) -> f64 {
        self.allowed.len() as f64 / self.n.max(1) as f64
    }

    /// Whether `id` carries the label (binary search).
    pub fn allows(&self, id: u32) -> bool {
        self.allowed.binary_search(&id).is_ok()
    }

    /// A bitmap over all `n` ids: `true` where the label is carried.
    pub fn bitmap(&self) -> Vec<bool> {
        let mut bits = vec![false; self.n];
        for &id in &self.allowed {
            bits[id as usize] = true;
        }
        bits
    }
}

/// `m` distinct ids out of `0..n`, uniformly (partial Fisher–Yates when
/// dense, rejection when sparse).
fn sample(rng: &mut Rng, n: usize, m: usize) -> Vec<u32> {
    if m * 4 >= n {
        let mut all: Vec<u32> = (0..n as u32).collect();
        for i in 0..m {
            let j = i + rng.below(n - i);
            all.swap(i, j);
        }
        all.truncate(m);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(m * 2);
        let mut out = Vec::with_capacity(m);
        while out.len() < m {
            let id = rng.below(n) as u32;
            if seen.insert(id) {
                out.push(id);
            }
        }
        out
    }
}

/// The exact `k` nearest of `ids` (train row numbers, any order, no
/// duplicates) to every test row: [`groundtruth::compute`] over those rows
/// only, ids mapped back to train row numbers. `k` is capped at `ids.len()`;
/// an empty `ids` gives empty rows.
pub fn ground_truth_within(
    train: &[f32],
    test: &[f32],
    dims: usize,
    metric: Metric,
    ids: &[u32],
    k: usize,
) -> Result<GroundTruth> {
    ensure!(dims > 0, "ground truth: dimension must be at least 1");
    let nq = test.len() / dims;
    if ids.is_empty() {
        return Ok((vec![Vec::new(); nq], vec![Vec::new(); nq]));
    }
    let n = train.len() / dims;
    let mut rows = Vec::with_capacity(ids.len() * dims);
    for &id in ids {
        ensure!(
            (id as usize) < n,
            "ground truth: id {id} is past the {n} train vectors"
        );
        rows.extend_from_slice(&train[id as usize * dims..(id as usize + 1) * dims]);
    }
    let (nb, dist) = groundtruth::compute(&rows, test, dims, metric, k, None)
        .context("ground truth within a set of ids")?;
    let nb = nb
        .into_iter()
        .map(|row| row.into_iter().map(|i| ids[i as usize]).collect())
        .collect();
    Ok((nb, dist))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> Vec<f32> {
        (0..n).flat_map(|i| [i as f32, 0.0]).collect()
    }

    #[test]
    fn draws_exact_counts_and_is_seeded() {
        let train = grid(1000);
        for s in [0.5, 0.1, 0.01, 0.001] {
            for c in [Correlation::None, Correlation::Clusters] {
                let spec = LabelSpec {
                    selectivity: s,
                    correlation: c,
                    seed: 7,
                };
                let a = Labels::draw(&train, 2, Metric::L2, spec).unwrap();
                assert_eq!(a.allowed.len(), spec.members(1000));
                assert!(a.allowed.windows(2).all(|w| w[0] < w[1]));
                assert_eq!(a, Labels::draw(&train, 2, Metric::L2, spec).unwrap());
            }
        }
        let spec = |seed| LabelSpec {
            selectivity: 0.1,
            correlation: Correlation::None,
            seed,
        };
        let a = Labels::draw(&train, 2, Metric::L2, spec(1)).unwrap();
        let b = Labels::draw(&train, 2, Metric::L2, spec(2)).unwrap();
        assert_ne!(a.allowed, b.allowed);
    }

    #[test]
    fn clustered_labels_are_contiguous_regions() {
        // On a line, the m points nearest an anchor are m consecutive ids.
        let train = grid(1000);
        let spec = LabelSpec {
            selectivity: 0.05,
            correlation: Correlation::Clusters,
            seed: 3,
        };
        let l = Labels::draw(&train, 2, Metric::L2, spec).unwrap();
        assert_eq!(l.allowed.len(), 50);
        assert_eq!(l.allowed[49] - l.allowed[0], 49);
    }

    #[test]
    fn bad_selectivity_is_an_error() {
        for s in [0.0, -0.1, 1.5, f64::NAN] {
            let spec = LabelSpec {
                selectivity: s,
                correlation: Correlation::None,
                seed: 0,
            };
            assert!(Labels::draw(&grid(10), 2, Metric::L2, spec).is_err());
        }
    }

    #[test]
    fn ground_truth_within_maps_ids_back() {
        let train = grid(100);
        let test = vec![10.2, 0.0];
        let ids: Vec<u32> = (0..100).filter(|i| i % 3 == 0).collect();
        let (nb, _) = ground_truth_within(&train, &test, 2, Metric::L2, &ids, 3).unwrap();
        assert_eq!(nb[0], vec![9, 12, 6]);
        let (nb, d) = ground_truth_within(&train, &test, 2, Metric::L2, &[], 3).unwrap();
        assert!(nb[0].is_empty() && d[0].is_empty());
    }
}
