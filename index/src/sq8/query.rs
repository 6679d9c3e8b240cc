//! A query on the quantizer's grid, and its distance to a code.

use super::Sq8Quantizer;
use crate::distance::int::{IntKernels, DOT_QUERY_MAX, L2_QUERY_MAX, L2_QUERY_MIN};
use crate::distance::Kernels;
use crate::metric::Metric;

/// One query quantized once per search; [`distance`](Self::distance)
/// approximates [`Metric::distance`] to the vector a code stands for.
#[derive(Debug, Clone)]
pub struct Sq8Query {
    lanes: Vec<i16>,
    l2: bool,
    base: f32,
    scale: f32,
    kernels: IntKernels,
}

impl Sq8Query {
    /// Quantizes `query` (raw; prepared here for the metric) for `sq`.
    pub fn new(sq: &Sq8Quantizer, query: &[f32], kernels: IntKernels) -> Self {
        let q = sq.metric().prepared(query, &Kernels::detect());
        let step = sq.step();
        match sq.metric() {
            Metric::L2 => {
                // The query on the codes' own grid, with room beyond the
                // trimmed range on both sides before it is clamped.
                let inv = 1.0 / step;
                let (lo, hi) = (f32::from(L2_QUERY_MIN), f32::from(L2_QUERY_MAX));
                let lanes = q
                    .iter()
                    .zip(sq.offsets())
                    .map(|(&x, &o)| ((x - o) * inv).round().clamp(lo, hi) as i16)
                    .collect();
                Sq8Query {
                    lanes,
                    l2: true,
                    base: 0.0,
                    scale: step * step,
                    kernels,
                }
            }
            Metric::Cosine | Metric::InnerProduct => {
                // q · x̂ = q · lo + step · Σ q_j c_j, with q_j ≈ t · lane_j.
                let top = q.iter().fold(0f32, |m, x| m.max(x.abs()));
                let t = if top > 0.0 {
                    top / f32::from(DOT_QUERY_MAX)
                } else {
                    1.0
                };
                let lanes = q.iter().map(|&x| (x / t).round() as i16).collect();
                let offset: f32 = q.iter().zip(sq.offsets()).map(|(a, b)| a * b).sum();
                let one = if sq.metric() == Metric::Cosine {
                    1.0
                } else {
                    0.0
                };
                Sq8Query {
                    lanes,
                    l2: false,
                    base: one - offset,
                    scale: -step * t,
                    kernels,
                }
            }
        }
    }

    /// The quantized lanes, one per dimension.
    pub fn lanes(&self) -> &[i16] {
        &self.lanes
    }

    /// The approximate distance to the vector `code` stands for.
    #[inline(always)]
    pub fn distance(&self, code: &[u8]) -> f32 {
        let sum = if self.l2 {
            self.kernels.l2(&self.lanes, code)
        } else {
            self.kernels.dot(&self.lanes, code)
        };
        self.base + self.scale * sum as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::sq8::Sq8Params;

    #[test]
    fn distances_track_the_exact_ones() {
        let (n, d) = (1_000, 32);
        let mut r = SplitMix64::new(9);
        let v: Vec<f32> = (0..n * d)
            .map(|_| r.next_f64() as f32 * 2.0 - 1.0)
            .collect();
        let k = Kernels::detect();
        for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
            let sq = Sq8Quantizer::train(d, metric, &v, &Sq8Params::default()).unwrap();
            let codes = sq.encode_batch(&v);
            let query = &v[5 * d..6 * d];
            let sq_query = Sq8Query::new(&sq, query, IntKernels::detect());
            let pq = metric.prepared(query, &k);
            for (row, code) in v.chunks_exact(d).zip(codes.chunks_exact(d)).take(200) {
                let exact = metric.distance(&k, &pq, &metric.prepared(row, &k));
                let approx = sq_query.distance(code);
                let tol = match metric {
                    Metric::L2 => 0.05 * exact.max(1.0),
                    _ => 0.1,
                };
                assert!(
                    (exact - approx).abs() <= tol,
                    "{metric:?}: {exact} vs {approx}"
                );
            }
        }
    }
}
