//! OPQ (Ge, He, Ke and Sun, 2013), non-parametric: a learned rotation `R`
//! applied before product quantization, so that the sub-spaces share the
//! variance and PQ loses less.
//!
//! ```text
//! R = a random rotation (from the identity the alternation cannot move:
//!     the polar factor of Xᵀ X is I)
//! repeat: Y = decode(encode(X R))          PQ trained on X R
//!         R = argmin ‖X R − Y‖ over orthogonal R = polar factor of Xᵀ Y
//! ```
//!
//! The polar factor (`U Vᵀ` of `Xᵀ Y = U Σ Vᵀ`) is found by Newton–Schulz
//! iteration in f64 (`d × d` products only; no SVD needed).

use super::{PqParams, ProductQuantizer};
use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::validate;

/// A learned rotation: row-major `d × d`, orthogonal; a vector `x` is
/// rotated to `x R` ([`Rotation::apply`]).
#[derive(Debug, Clone)]
pub struct Rotation {
    dims: usize,
    /// `Rᵀ`, row-major: output `j` is the dot product of `x` with row `j`.
    transposed: Vec<f32>,
}

impl Rotation {
    /// Learns a rotation for PQ with `params` on `data` (rows of `dims`,
    /// prepared as the metric keeps them: normalised for cosine), in
    /// `rounds` alternations; each round trains PQ on the rotated rows.
    pub fn train(
        dims: usize,
        metric: Metric,
        data: &[f32],
        params: &PqParams,
        rounds: usize,
    ) -> Result<Self> {
        params.validate(dims)?;
        let rows = validate::query_batch(data, dims)?;
        if rows < super::KS {
            return Err(Error::invalid(
                "training set",
                format!("OPQ needs at least {} vectors, got {rows}", super::KS),
            ));
        }
        let mut rotation =
            Rotation::from_matrix(dims, &crate::rng::random_rotation(dims, params.seed));
        for _ in 0..rounds {
            let rotated = rotation.apply_all(data);
            let pq = ProductQuantizer::train(dims, metric, &rotated, params)?;
            let codes = pq.encode_batch(&rotated)?;
            // Xᵀ Y, accumulated in f64.
            let mut m = vec![0f64; dims * dims];
            let mut y = vec![0f32; dims];
            for (x, code) in data.chunks_exact(dims).zip(codes.chunks_exact(pq.m())) {
                pq.decode_into(code, &mut y)?;
                for (i, &xi) in x.iter().enumerate() {
                    let row = &mut m[i * dims..(i + 1) * dims];
                    for (mij, &yj) in row.iter_mut().zip(&y) {
                        *mij += xi as f64 * yj as f64;
                    }
                }
            }
            let r: Vec<f32> = polar(&m, dims).into_iter().map(|x| x as f32).collect();
            rotation = Rotation::from_matrix(dims, &r);
        }
        Ok(rotation)
    }

    /// The rotation by `r` (row-major `dims × dims`, orthogonal).
    pub fn from_matrix(dims: usize, r: &[f32]) -> Self {
        let mut transposed = vec![0f32; dims * dims];
        for i in 0..dims {
            for j in 0..dims {
                transposed[j * dims + i] = r[i * dims + j];
            }
        }
        Rotation { dims, transposed }
    }

    /// `x R`.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        let k = Kernels::detect();
        self.transposed
            .chunks_exact(self.dims)
            .map(|col| k.dot(col, x))
            .collect()
    }

    /// Every row of `data` rotated.
    pub fn apply_all(&self, data: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        data.par_chunks_exact(self.dims)
            .flat_map_iter(|x| self.apply(x))
            .collect()
    }

    /// `R` as row-major `d × d`.
    pub fn matrix(&self) -> Vec<f32> {
        let d = self.dims;
        let mut r = vec![0f32; d * d];
        for i in 0..d {
            for j in 0..d {
                r[i * d + j] = self.transposed[j * d + i];
            }
        }
        r
    }
}

/// The orthogonal polar factor of `m` (`d × d`, row-major): Newton–Schulz,
/// `Z ← Z (3I − ZᵀZ) / 2` from `m / ‖m‖_F`, until `ZᵀZ` is the identity.
fn polar(m: &[f64], d: usize) -> Vec<f64> {
    let norm = m
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    let mut z: Vec<f64> = m.iter().map(|x| x / norm).collect();
    for _ in 0..200 {
        let ztz = matmul_tn(&z, &z, d);
        let off: f64 = (0..d * d)
            .map(|k| {
                let want = if k / d == k % d { 1.0 } else { 0.0 };
                (ztz[k] - want).abs()
            })
            .fold(0.0, f64::max);
        if off < 1e-10 {
            break;
        }
        let mut t: Vec<f64> = ztz.iter().map(|x| -x).collect();
        for i in 0..d {
            t[i * d + i] += 3.0;
        }
        z = matmul(&z, &t, d).into_iter().map(|x| x / 2.0).collect();
    }
    z
}

/// `a b`, both `d × d` row-major.
fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut c = vec![0f64; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            for j in 0..d {
                c[i * d + j] += aik * b[k * d + j];
            }
        }
    }
    c
}

/// `aᵀ b`, both `d × d` row-major.
fn matmul_tn(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut c = vec![0f64; d * d];
    for k in 0..d {
        for i in 0..d {
            let aki = a[k * d + i];
            for j in 0..d {
                c[i * d + j] += aki * b[k * d + j];
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Quantization error of PQ on `data` (mean squared).
    fn pq_error(data: &[f32], d: usize, params: &PqParams) -> f64 {
        let pq = ProductQuantizer::train(d, Metric::L2, data, params).unwrap();
        let codes = pq.encode_batch(data).unwrap();
        let mut y = vec![0f32; d];
        let mut total = 0f64;
        for (x, c) in data.chunks_exact(d).zip(codes.chunks_exact(pq.m())) {
            pq.decode_into(c, &mut y).unwrap();
            total += x
                .iter()
                .zip(&y)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>();
        }
        total / (data.len() / d) as f64
    }

    #[test]
    fn a_learned_rotation_is_orthogonal_and_lowers_the_error_on_unbalanced_data() {
        // 32 dims, all the variance in the first 8: plain PQ with 4
        // sub-spaces spends three of them on nothing.
        let (d, n) = (32, 4_000);
        let mut rng = SplitMix64::new(9);
        let mut gauss = || rng.next_gaussian() as f32;
        let data: Vec<f32> = (0..n * d)
            .map(|i| if i % d < 8 { gauss() } else { 0.01 * gauss() })
            .collect();
        let params = PqParams {
            iterations: 10,
            ..PqParams::with_m(4)
        };
        let r = Rotation::train(d, Metric::L2, &data, &params, 4).unwrap();
        let m = r.matrix();
        for i in 0..d {
            for j in 0..d {
                let dot: f32 = (0..d).map(|t| m[i * d + t] * m[j * d + t]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-4, "R Rᵀ[{i}][{j}] = {dot}");
            }
        }
        let plain = pq_error(&data, d, &params);
        let rotated = pq_error(&r.apply_all(&data), d, &params);
        println!("PQ m 4 on unbalanced 32-d data: error {plain:.4}, after OPQ {rotated:.4}");
        assert!(rotated < 0.8 * plain, "OPQ {rotated} vs PQ {plain}");
        // Rotating keeps distances.
        let (a, b) = (&data[..d], &data[d..2 * d]);
        let dist =
            |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| (p - q).powi(2)).sum::<f32>();
        let (ra, rb) = (r.apply(a), r.apply(b));
        assert!((dist(a, b) - dist(&ra, &rb)).abs() < 1e-3 * dist(a, b).max(1.0));
    }

    #[test]
    fn too_few_rows_are_refused() {
        let params = PqParams::with_m(2);
        assert!(Rotation::train(4, Metric::L2, &[0.5; 40], &params, 2).is_err());
    }
}
