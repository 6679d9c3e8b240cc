//! `Sq8Quantizer`: training (trimmed per-dimension ranges), encoding and
//! decoding.

use crate::distance::int::MAX_DIMS;
use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::metric::Metric;

/// The fewest rows the first batch of an SQ8 index must hold: it trains the
/// quantizer's ranges.
pub const MIN_TRAIN_ROWS: usize = 256;

/// Training knobs for [`Sq8Quantizer::train`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sq8Params {
    /// Rows (evenly spaced through the training data) the ranges are taken
    /// from; all of them when there are fewer. At least [`MIN_TRAIN_ROWS`].
    pub train_sample: usize,
    /// Fraction of the sample left outside the range at each end of each
    /// dimension (0.001: the 0.1 and 99.9 percentiles). In `[0, 0.5)`.
    pub trim: f32,
}

impl Default for Sq8Params {
    fn default() -> Self {
        Sq8Params {
            train_sample: 100_000,
            trim: 0.001,
        }
    }
}

impl Sq8Params {
    /// Checks the parameters against `dims`: `1..=`[`MAX_DIMS`] dimensions
    /// (the integer kernels' bound), a sample of at least
    /// [`MIN_TRAIN_ROWS`] that fits the on-disk format, `trim` in `[0, 0.5)`.
    pub fn validate(&self, dims: usize) -> Result<()> {
        if dims == 0 || dims > MAX_DIMS {
            return Err(Error::invalid(
                "dims",
                format!("SQ8 indexes take 1 to {MAX_DIMS} dimensions, got {dims}"),
            ));
        }
        if self.train_sample < MIN_TRAIN_ROWS || u32::try_from(self.train_sample).is_err() {
            return Err(Error::invalid(
                "train_sample",
                format!(
                    "must be between {MIN_TRAIN_ROWS} and {}, got {}",
                    u32::MAX,
                    self.train_sample
                ),
            ));
        }
        if !(0.0..0.5).contains(&self.trim) {
            return Err(Error::invalid(
                "trim",
                format!("must be in [0, 0.5), got {}", self.trim),
            ));
        }
        Ok(())
    }
}

/// An 8-bit scalar quantizer: a trimmed offset per dimension and one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Sq8Quantizer {
    metric: Metric,
    lo: Vec<f32>,
    step: f32,
}

impl Sq8Quantizer {
    /// Trains on `vectors` (row-major, finite, as the index validates them),
    /// prepared for `metric` first (normalised for cosine).
    pub fn train(dims: usize, metric: Metric, vectors: &[f32], params: &Sq8Params) -> Result<Self> {
        params.validate(dims)?;
        let rows = vectors.len() / dims;
        if rows == 0 || vectors.len() != rows * dims {
            return Err(Error::invalid(
                "training set",
                format!(
                    "{} floats is not a whole number of {dims}-d rows",
                    vectors.len()
                ),
            ));
        }
        let take = rows.min(params.train_sample);
        let kernels = Kernels::detect();
        // Evenly spaced rows, prepared, stored column-major for the quantiles.
        let mut columns = vec![0f32; take * dims];
        for s in 0..take {
            let r = s * rows / take;
            let row = metric.prepared(&vectors[r * dims..(r + 1) * dims], &kernels);
            for (j, &x) in row.iter().enumerate() {
                columns[j * take + s] = x;
            }
        }
        let cut = (params.trim as f64 * (take - 1) as f64).floor() as usize;
        let mut lo = Vec::with_capacity(dims);
        let mut widest = 0f32;
        for col in columns.chunks_exact_mut(take) {
            let (_, &mut low, _) = col.select_nth_unstable_by(cut, f32::total_cmp);
            let (_, &mut high, _) = col.select_nth_unstable_by(take - 1 - cut, f32::total_cmp);
            lo.push(low);
            widest = widest.max(high - low);
        }
        Self::from_parts(metric, lo, widest / 255.0)
    }

    /// A quantizer from its offsets and step; a step that is zero (every
    /// training row alike) or not finite becomes 1.
    pub(crate) fn from_parts(metric: Metric, lo: Vec<f32>, step: f32) -> Result<Self> {
        if lo.is_empty() || lo.len() > MAX_DIMS || lo.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid("ranges", "1 to 8192 finite offsets"));
        }
        let step = if step.is_finite() && step > 0.0 {
            step
        } else {
            1.0
        };
        Ok(Sq8Quantizer { metric, lo, step })
    }

    /// The dimension.
    pub fn dims(&self) -> usize {
        self.lo.len()
    }

    /// The metric the quantizer was trained for.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The lower end of every dimension's range.
    pub fn offsets(&self) -> &[f32] {
        &self.lo
    }

    /// The value of one code unit, shared by every dimension.
    pub fn step(&self) -> f32 {
        self.step
    }

    /// Encodes one vector already prepared for the metric into `out`
    /// (`dims` bytes); values outside the range are clamped.
    pub fn encode_prepared(&self, v: &[f32], out: &mut [u8]) {
        let inv = 1.0 / self.step;
        for ((o, &x), &lo) in out.iter_mut().zip(v).zip(&self.lo) {
            *o = ((x - lo) * inv).round().clamp(0.0, 255.0) as u8;
        }
    }

    /// Encodes a row-major batch (prepared here for the metric): `dims`
    /// bytes per row, rows in order.
    pub fn encode_batch(&self, vectors: &[f32]) -> Vec<u8> {
        let d = self.dims();
        let kernels = Kernels::detect();
        let mut out = vec![0u8; vectors.len() / d * d];
        for (row, code) in vectors.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            if self.metric.normalizes() {
                self.encode_prepared(&self.metric.prepared(row, &kernels), code);
            } else {
                self.encode_prepared(row, code);
            }
        }
        out
    }

    /// The vector a code stands for (the centre of its grid cell).
    pub fn decode(&self, code: &[u8]) -> Vec<f32> {
        code.iter()
            .zip(&self.lo)
            .map(|(&c, &lo)| lo + f32::from(c) * self.step)
            .collect()
    }

    /// Bytes held (the offsets).
    pub fn memory_bytes(&self) -> usize {
        self.lo.capacity() * 4 + std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut r = SplitMix64::new(seed);
        (0..n * d)
            .map(|i| (r.next_f64() as f32 - 0.5) * (1 + i % d) as f32)
            .collect()
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let (n, d) = (2_000, 24);
        let v = rows(n, d, 3);
        let p = Sq8Params {
            trim: 0.0,
            ..Sq8Params::default()
        };
        let q = Sq8Quantizer::train(d, Metric::L2, &v, &p).unwrap();
        let codes = q.encode_batch(&v);
        assert_eq!(codes.len(), n * d);
        for (row, code) in v.chunks_exact(d).zip(codes.chunks_exact(d)) {
            for (x, y) in row.iter().zip(q.decode(code)) {
                assert!((x - y).abs() <= 0.5 * q.step() * 1.0001, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn trimming_ignores_outliers() {
        let (n, d) = (10_000, 4);
        let mut v = rows(n, d, 4);
        v[0] = 1e6; // one wild value in dimension 0
        let trimmed = Sq8Quantizer::train(d, Metric::L2, &v, &Sq8Params::default()).unwrap();
        let raw = Sq8Params {
            trim: 0.0,
            ..Sq8Params::default()
        };
        let untrimmed = Sq8Quantizer::train(d, Metric::L2, &v, &raw).unwrap();
        assert!(untrimmed.step() > 1_000.0);
        assert!(trimmed.step() < 0.02, "step {}", trimmed.step());
        let mut code = [0u8; 4];
        trimmed.encode_prepared(&v[..4], &mut code);
        assert_eq!(code[0], 255, "an outlier is clamped");
    }

    #[test]
    fn cosine_encodes_the_normalised_vectors() {
        let d = 8;
        let v = rows(500, d, 5);
        let q = Sq8Quantizer::train(d, Metric::Cosine, &v, &Sq8Params::default()).unwrap();
        let scaled: Vec<f32> = v.iter().map(|x| x * 2.0).collect();
        assert_eq!(q.encode_batch(&v), q.encode_batch(&scaled));
        assert!(q.offsets().iter().all(|&lo| lo >= -1.0));
    }

    #[test]
    fn constant_data_and_bad_parameters() {
        let q = Sq8Quantizer::train(3, Metric::L2, &[2.0; 3 * 300], &Sq8Params::default()).unwrap();
        assert_eq!(q.step(), 1.0);
        assert_eq!(q.encode_batch(&[2.0, 2.0, 2.0]), vec![0, 0, 0]);
        for (p, d) in [
            (
                Sq8Params {
                    trim: 0.5,
                    ..Sq8Params::default()
                },
                3,
            ),
            (
                Sq8Params {
                    trim: f32::NAN,
                    ..Sq8Params::default()
                },
                3,
            ),
            (
                Sq8Params {
                    train_sample: 10,
                    ..Sq8Params::default()
                },
                3,
            ),
            (Sq8Params::default(), 0),
            (Sq8Params::default(), MAX_DIMS + 1),
        ] {
            assert!(
                matches!(p.validate(d), Err(Error::InvalidParameter { .. })),
                "{p:?} {d}"
            );
        }
        assert!(Sq8Quantizer::train(3, Metric::L2, &[1.0; 4], &Sq8Params::default()).is_err());
    }
}
