//! RaBitQ codes (Gao & Long, SIGMOD 2024): one bit per dimension of a
//! randomly rotated residual, plus two floats, with an estimator of the
//! distance that comes with an error bound.
//!
//! ```text
//! train:  c = mean of the data;  P = a random orthogonal d × d matrix
//! encode: r = P (o − c);  u = r / |r|;  bit i = [u_i > 0]
//!         code = bits (⌈d/8⌉ bytes) | |r| (f32) | x0 = ⟨ō, u⟩ = Σ|u_i| / √d (f32)
//!         where ō_i = ±1/√d is the code's unit vector
//! query:  q' = P (q − c);  v = q' / |q'|;  one 256-entry table per code byte
//!         of the sums of v over the bits set
//! ⟨u, v⟩ ≈ ⟨ō, v⟩ / x0,   error ≈ N(0, σ²),  σ = √(1 − x0²) / (x0 · √(d − 1))
//! |o − q|² = |r|² + |q'|² − 2 |r| |q'| ⟨u, v⟩
//! ```
//!
//! The error is `√(1 − x0²)/x0` times the query's component along a random
//! direction orthogonal to the code, so it is about normal with that σ:
//! `ε0 · σ` bounds it with the probability of a two-sided normal tail
//! (measured here: the paper's ε0 = 1.9 covers ≈ 94% of estimates, 3 covers
//! 99.7%). A search can then re-rank exactly only the candidates whose lower
//! bound beats the current k-th distance instead of a fixed depth. L2 and
//! cosine (on normalised vectors); inner product is refused.

use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::rng::random_rotation;
use crate::validate;

/// A trained RaBitQ quantizer: the data's centroid and the rotation.
#[derive(Debug, Clone)]
pub struct RabitQuantizer {
    dims: usize,
    metric: Metric,
    kernels: Kernels,
    centroid: Vec<f32>,
    /// Row-major orthogonal `dims × dims`.
    rotation: Vec<f32>,
}

/// One query, prepared for estimating distances to codes.
#[derive(Debug, Clone)]
pub struct RabitqQuery {
    /// Per code byte, 256 sums of the rotated unit query over the bits set.
    tables: Vec<f32>,
    sum: f32,
    norm: f32,
    dims: usize,
}

impl RabitQuantizer {
    /// Trains on `data` (row-major, `dims` wide, at least one row): its
    /// centroid and a rotation drawn from `seed`.
    pub fn train(dims: usize, metric: Metric, data: &[f32], seed: u64) -> Result<Self> {
        if metric == Metric::InnerProduct {
            return Err(Error::invalid(
                "metric",
                "RaBitQ codes estimate L2 and cosine distances",
            ));
        }
        let rows = validate::query_batch(data, dims)?;
        if rows == 0 {
            return Err(Error::invalid("training set", "needs at least one vector"));
        }
        let kernels = Kernels::detect();
        let mut centroid = vec![0f64; dims];
        let mut row = Vec::with_capacity(dims);
        for (i, v) in data.chunks_exact(dims).enumerate() {
            validate::vector(v, dims, i)?;
            row.clear();
            row.extend_from_slice(v);
            metric.prepare(&mut row, &kernels);
            for (c, x) in centroid.iter_mut().zip(&row) {
                *c += *x as f64;
            }
        }
        Ok(RabitQuantizer {
            dims,
            metric,
            kernels,
            centroid: centroid.iter().map(|c| (c / rows as f64) as f32).collect(),
            rotation: random_rotation(dims, seed),
        })
    }

    /// Bytes of one code: the bits, then `|r|` and `x0` as f32.
    pub fn code_len(&self) -> usize {
        self.dims.div_ceil(8) + 8
    }

    /// `P (v − c)` of the prepared `v`.
    fn rotated_residual(&self, v: &[f32]) -> Vec<f32> {
        let mut x = v.to_vec();
        self.metric.prepare(&mut x, &self.kernels);
        for (a, c) in x.iter_mut().zip(&self.centroid) {
            *a -= c;
        }
        self.rotation
            .chunks_exact(self.dims)
            .map(|p| self.kernels.dot(p, &x))
            .collect()
    }

    /// Encodes `v` into `code` ([`code_len`](Self::code_len) bytes).
    pub fn encode_into(&self, v: &[f32], code: &mut [u8]) -> Result<()> {
        validate::vector(v, self.dims, 0)?;
        if code.len() != self.code_len() {
            return Err(Error::invalid("code", "wrong length"));
        }
        let r = self.rotated_residual(v);
        let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb = self.dims.div_ceil(8);
        code[..nb].fill(0);
        let mut abs = 0f32;
        for (i, x) in r.iter().enumerate() {
            if *x > 0.0 {
                code[i / 8] |= 1 << (i % 8);
            }
            abs += x.abs();
        }
        // A vector at the centroid has no direction: any code is exact.
        let x0 = if norm > 0.0 {
            abs / norm / (self.dims as f32).sqrt()
        } else {
            1.0
        };
        code[nb..nb + 4].copy_from_slice(&norm.to_le_bytes());
        code[nb + 4..nb + 8].copy_from_slice(&x0.to_le_bytes());
        Ok(())
    }

    /// The query's tables.
    pub fn query(&self, q: &[f32]) -> Result<RabitqQuery> {
        validate::vector(q, self.dims, 0)?;
        let r = self.rotated_residual(q);
        let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        let v: Vec<f32> = r
            .iter()
            .map(|x| if norm > 0.0 { x / norm } else { 0.0 })
            .collect();
        let nb = self.dims.div_ceil(8);
        let mut tables = vec![0f32; nb * 256];
        for (j, t) in tables.chunks_exact_mut(256).enumerate() {
            let dims = &v[8 * j..(8 * j + 8).min(self.dims)];
            for (byte, slot) in t.iter_mut().enumerate() {
                *slot = dims
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| byte >> b & 1 == 1)
                    .map(|(_, x)| x)
                    .sum();
            }
        }
        Ok(RabitqQuery {
            tables,
            sum: v.iter().sum(),
            norm,
            dims: self.dims,
        })
    }
}

impl RabitqQuery {
    /// The estimated squared L2 distance (between prepared vectors) to the
    /// vector of `code`, and the estimate's standard error σ (see the
    /// module docs: `ε0 · σ` bounds the error with a normal tail's
    /// probability).
    #[inline]
    pub fn estimate(&self, code: &[u8]) -> (f32, f32) {
        let nb = self.tables.len() / 256;
        let set: f32 = code[..nb]
            .iter()
            .enumerate()
            .map(|(j, &b)| self.tables[j * 256 + b as usize])
            .sum();
        let f =
            |at: usize| f32::from_le_bytes([code[at], code[at + 1], code[at + 2], code[at + 3]]);
        let (norm, x0) = (f(nb), f(nb + 4));
        let d = self.dims as f32;
        let dot_bar = (2.0 * set - self.sum) / d.sqrt();
        let cos = dot_bar / x0;
        let err = (1.0 - x0 * x0).max(0.0).sqrt() / (x0 * (d - 1.0).max(1.0).sqrt());
        let scale = 2.0 * norm * self.norm;
        let dist = norm * norm + self.norm * self.norm - scale * cos;
        (dist.max(0.0), scale * err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn data(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..n * d)
            .map(|_| (rng.next_u64() % 10_000) as f32 / 5_000.0 - 1.0)
            .collect()
    }

    #[test]
    fn the_rotation_is_orthogonal() {
        use crate::rng::random_rotation;
        let d = 37;
        let p = random_rotation(d, 5);
        for i in 0..d {
            for j in 0..d {
                let dot: f32 = (0..d).map(|t| p[i * d + t] * p[j * d + t]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-4, "row {i}·row {j} = {dot}");
            }
        }
    }

    #[test]
    fn errors_follow_their_standard_error_on_random_data() {
        for (d, metric) in [(128, Metric::L2), (100, Metric::Cosine), (960, Metric::L2)] {
            let (n, nq) = (2_000, 20);
            let train = data(n, d, 1);
            let queries = data(nq, d, 2);
            let rq = RabitQuantizer::train(d, metric, &train, 7).unwrap();
            let k = Kernels::detect();
            let mut code = vec![0u8; rq.code_len()];
            let (mut inside19, mut inside3, mut total, mut err_sum) =
                (0usize, 0usize, 0usize, 0f64);
            for q in queries.chunks_exact(d) {
                let t = rq.query(q).unwrap();
                let qp = metric.prepared(q, &k);
                for v in train.chunks_exact(d) {
                    rq.encode_into(v, &mut code).unwrap();
                    let (est, sigma) = t.estimate(&code);
                    let vp = metric.prepared(v, &k);
                    let exact = k.l2_sq(&qp, &vp);
                    let (err, slack) = ((est - exact).abs(), 1e-3 * exact.max(1.0));
                    inside19 += usize::from(err <= 1.9 * sigma + slack);
                    inside3 += usize::from(err <= 3.0 * sigma + slack);
                    err_sum += ((est - exact).abs() / exact.max(1e-6)) as f64;
                    total += 1;
                }
            }
            let (s19, s3) = (
                inside19 as f64 / total as f64,
                inside3 as f64 / total as f64,
            );
            let mean_rel = err_sum / total as f64;
            println!("RaBitQ d {d} {metric:?}: {s19:.4} within 1.9σ, {s3:.4} within 3σ, mean relative error {mean_rel:.4}");
            // A normal tail: 94.3% within 1.9σ, 99.7% within 3σ.
            assert!(s19 >= 0.92, "d {d}: only {s19} of estimates within 1.9σ");
            assert!(s3 >= 0.99, "d {d}: only {s3} of estimates within 3σ");
            assert!(mean_rel < 0.2, "d {d}: mean relative error {mean_rel}");
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let train = data(10, 8, 3);
        assert!(RabitQuantizer::train(8, Metric::InnerProduct, &train, 1).is_err());
        assert!(RabitQuantizer::train(8, Metric::L2, &[], 1).is_err());
        let rq = RabitQuantizer::train(8, Metric::L2, &train, 1).unwrap();
        assert_eq!(rq.code_len(), 9);
        assert!(rq.encode_into(&[0.0; 7], &mut [0u8; 9]).is_err());
        assert!(rq.encode_into(&[0.0; 8], &mut [0u8; 8]).is_err());
        assert!(rq.query(&[f32::NAN; 8]).is_err());
    }
}
