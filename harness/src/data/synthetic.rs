//! Seeded synthetic datasets: `uniform-D-<metric>` and `clustered-D-<metric>`.
//!
//! Every vector is drawn from its own generator seeded by `(seed, stream,
//! row)`, so generation is parallel, independent of the thread count, and a
//! set of `n` rows is exactly the first `n` rows of any larger set with the
//! same parameters (scale subsets are prefixes, as for real data).
//!
//! The clustered generator is a Gaussian mixture built to be hard the way real
//! embeddings are, not the easy isotropic-blobs kind:
//! - cluster sizes are skewed (log-normal weights: a few big clusters, a long
//!   tail of small ones);
//! - cluster spreads differ (log-normal around `spread`);
//! - each cluster is anisotropic and of low intrinsic dimension: most of its
//!   variance lies in `rank` directions that are not axis-aligned (drawn from
//!   a shared pool of random directions, with a decaying spectrum), plus a
//!   little isotropic noise;
//! - clusters overlap: with the default spread a cluster's radius is half the
//!   typical distance between centres, so near neighbours cross cluster
//!   boundaries.
//!
//! The `angular` variants are the same vectors normalised to unit length.

use indicatif::ProgressBar;
use omendb::Metric;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::rng::Rng;

/// Bumped whenever the generators' output changes, so cached files made by
/// an older version are never reused.
pub const GENERATOR_VERSION: u32 = 1;

const STREAM_SETUP: u64 = 0;
const STREAM_TRAIN: u64 = 1;
const STREAM_TEST: u64 = 2;

/// Which distribution vectors are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    /// Independent uniform components in `[-1, 1)`.
    Uniform,
    /// The anisotropic Gaussian mixture described in the module docs.
    Clustered,
}

impl Generator {
    /// The name used in dataset names (`uniform`, `clustered`).
    pub fn name(self) -> &'static str {
        match self {
            Generator::Uniform => "uniform",
            Generator::Clustered => "clustered",
        }
    }
}

/// Everything that determines a synthetic dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticSpec {
    /// The distribution.
    pub generator: Generator,
    /// Vector dimension.
    pub dims: usize,
    /// Ground-truth metric; `angular` normalises every vector.
    #[serde(with = "metric_name")]
    pub metric: Metric,
    /// Seed; the same seed gives the same vectors.
    pub seed: u64,
    /// Number of mixture components (clustered only).
    pub clusters: usize,
    /// Typical cluster standard deviation per dimension, relative to the
    /// spread of cluster centres (clustered only).
    pub spread: f32,
    /// Directions holding most of a cluster's variance; 0 = `dims / 8`
    /// clamped to `2..=32` (clustered only).
    pub rank: usize,
    /// Fraction of a cluster's standard deviation that is isotropic noise
    /// rather than in its `rank` directions (clustered only).
    pub noise: f32,
}

/// serde for `Metric` by its ann-benchmarks name.
pub(crate) mod metric_name {
    use omendb::Metric;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(m: &Metric, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.ann_name())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl SyntheticSpec {
    /// The default parameters for `generator` at `dims` under `metric`.
    pub fn new(generator: Generator, dims: usize, metric: Metric) -> Self {
        SyntheticSpec {
            generator,
            dims,
            metric,
            seed: 42,
            clusters: 1000,
            spread: 0.5,
            rank: 0,
            noise: 0.3,
        }
    }

    /// Parses an ann-benchmarks style name, `uniform-128-euclidean` or
    /// `clustered-96-angular`, into default parameters; `None` if the name is
    /// not of that form.
    pub fn parse_name(name: &str) -> Option<Self> {
        let mut parts = name.split('-');
        let generator = match parts.next()? {
            "uniform" => Generator::Uniform,
            "clustered" => Generator::Clustered,
            _ => return None,
        };
        let dims: usize = parts.next()?.parse().ok().filter(|&d| d > 0)?;
        let metric: Metric = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(SyntheticSpec::new(generator, dims, metric))
    }

    /// The dataset's name, `<generator>-<dims>-<metric>`.
    pub fn name(&self) -> String {
        format!(
            "{}-{}-{}",
            self.generator.name(),
            self.dims,
            self.metric.ann_name()
        )
    }

    /// Checks the parameters.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.dims > 0, "{}: dims must be at least 1", self.name());
        if self.generator == Generator::Clustered {
            anyhow::ensure!(
                self.clusters > 0,
                "{}: clusters must be at least 1",
                self.name()
            );
            anyhow::ensure!(
                self.spread.is_finite() && self.spread > 0.0,
                "{}: spread must be positive, got {}",
                self.name(),
                self.spread
            );
            anyhow::ensure!(
                (0.0..1.0).contains(&self.noise),
                "{}: noise must be in [0, 1), got {}",
                self.name(),
                self.noise
            );
        }
        Ok(())
    }

    fn effective_rank(&self) -> usize {
        let r = if self.rank == 0 {
            (self.dims / 8).clamp(2, 32)
        } else {
            self.rank
        };
        r.min(self.dims)
    }

    /// `n` train vectors, row-major (the first `n` of the infinite sequence).
    pub fn train(&self, n: usize, progress: Option<&ProgressBar>) -> Vec<f32> {
        self.rows(STREAM_TRAIN, n, progress)
    }

    /// `n` test (query) vectors, drawn from the same distribution as the
    /// train vectors but from an independent stream.
    pub fn test(&self, n: usize) -> Vec<f32> {
        self.rows(STREAM_TEST, n, None)
    }

    fn rows(&self, stream: u64, n: usize, progress: Option<&ProgressBar>) -> Vec<f32> {
        let d = self.dims;
        let mixture = match self.generator {
            Generator::Clustered => Some(Mixture::new(self)),
            Generator::Uniform => None,
        };
        let mut out = vec![0f32; n * d];
        const CHUNK: usize = 1024;
        out.par_chunks_mut(CHUNK * d)
            .enumerate()
            .for_each(|(c, chunk)| {
                let mut scratch = vec![0f64; d];
                for (i, row) in chunk.chunks_exact_mut(d).enumerate() {
                    let mut rng = Rng::for_row(self.seed, stream, (c * CHUNK + i) as u64);
                    match &mixture {
                        Some(m) => m.sample(&mut rng, &mut scratch),
                        None => scratch
                            .iter_mut()
                            .for_each(|x| *x = 2.0 * rng.uniform() - 1.0),
                    }
                    if self.metric.normalizes() {
                        let norm = scratch.iter().map(|x| x * x).sum::<f64>().sqrt();
                        if norm > 0.0 {
                            scratch.iter_mut().for_each(|x| *x /= norm);
                        }
                    }
                    for (o, &x) in row.iter_mut().zip(&scratch) {
                        *o = x as f32;
                    }
                }
                if let Some(p) = progress {
                    p.inc((chunk.len() / d) as u64);
                }
            });
        out
    }
}

/// The mixture's fixed parts, drawn once from the seed.
struct Mixture {
    dims: usize,
    /// Cumulative cluster weights, last = 1.
    cumulative: Vec<f64>,
    /// `clusters × dims` centres.
    centers: Vec<f64>,
    /// Per-cluster standard deviation scale.
    spreads: Vec<f64>,
    /// `pool × dims` shared random directions (components N(0, 1)).
    pool: Vec<f64>,
    /// Per cluster, `rank` indices into `pool`.
    basis: Vec<u32>,
    /// Standard deviation along each of the `rank` directions.
    sigma: Vec<f64>,
    noise: f64,
}

impl Mixture {
    fn new(spec: &SyntheticSpec) -> Self {
        let d = spec.dims;
        let c = spec.clusters;
        let rank = spec.effective_rank();
        let mut rng = Rng::for_row(spec.seed, STREAM_SETUP, 0);
        let weights: Vec<f64> = (0..c).map(|_| rng.normal().exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut cumulative: Vec<f64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        let centers: Vec<f64> = (0..c * d).map(|_| rng.normal()).collect();
        let spreads: Vec<f64> = (0..c)
            .map(|_| spec.spread as f64 * (0.5 * rng.normal()).exp())
            .collect();
        let pool_size = (4 * rank).max(64);
        let pool: Vec<f64> = (0..pool_size * d).map(|_| rng.normal()).collect();
        let mut basis = Vec::with_capacity(c * rank);
        let mut perm: Vec<u32> = (0..pool_size as u32).collect();
        for _ in 0..c {
            // Partial Fisher–Yates: `rank` distinct directions per cluster.
            for k in 0..rank {
                let j = k + rng.below(pool_size - k);
                perm.swap(k, j);
            }
            basis.extend_from_slice(&perm[..rank]);
        }
        // Decaying spectrum, scaled so the low-rank part plus the noise has
        // unit variance per dimension on average.
        let noise = spec.noise as f64;
        let raw: Vec<f64> = (0..rank).map(|k| 1.0 / ((k + 1) as f64).sqrt()).collect();
        let sum_sq: f64 = raw.iter().map(|s| s * s).sum();
        let scale = ((1.0 - noise * noise) / sum_sq).sqrt();
        let sigma = raw.iter().map(|s| s * scale).collect();
        Mixture {
            dims: d,
            cumulative,
            centers,
            spreads,
            pool,
            basis,
            sigma,
            noise,
        }
    }

    fn sample(&self, rng: &mut Rng, out: &mut [f64]) {
        let d = self.dims;
        let u = rng.uniform();
        let j = self
            .cumulative
            .partition_point(|&c| c <= u)
            .min(self.spreads.len() - 1);
        let s = self.spreads[j];
        out.copy_from_slice(&self.centers[j * d..(j + 1) * d]);
        let rank = self.sigma.len();
        for (k, &sigma) in self.sigma.iter().enumerate() {
            let z = rng.normal() * sigma * s;
            let dir = self.basis[j * rank + k] as usize;
            for (o, a) in out.iter_mut().zip(&self.pool[dir * d..(dir + 1) * d]) {
                *o += z * a;
            }
        }
        let ns = self.noise * s;
        for o in out.iter_mut() {
            *o += ns * rng.normal();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_any_dimension() {
        let s = SyntheticSpec::parse_name("clustered-96-angular").unwrap();
        assert_eq!(
            (s.generator, s.dims, s.metric),
            (Generator::Clustered, 96, Metric::Cosine)
        );
        assert_eq!(s.name(), "clustered-96-angular");
        assert!(SyntheticSpec::parse_name("clustered-0-angular").is_none());
        assert!(SyntheticSpec::parse_name("gaussian-8-euclidean").is_none());
        assert!(SyntheticSpec::parse_name("uniform-8-hamming").is_none());
        assert!(SyntheticSpec::parse_name("uniform-8-euclidean-x").is_none());
    }

    #[test]
    fn prefixes_are_stable_and_angular_is_normalised() {
        let s = SyntheticSpec::parse_name("clustered-16-angular").unwrap();
        let big = s.train(3000, None);
        let small = s.train(1500, None);
        assert_eq!(&big[..small.len()], &small[..]);
        for row in big.chunks_exact(16) {
            let n: f32 = row.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-5);
        }
        assert_ne!(s.test(10), s.train(10, None));
    }
}
