//! Seeded uniform and normal draws for synthetic data, on the engine's one
//! generator ([`omendb::rng::SplitMix64`], written out there so that streams
//! never change with a dependency upgrade). Each vector gets its own
//! generator seeded from `(seed, stream, row)`, so rows can be generated in
//! parallel and a subset of `n` rows is exactly the first `n` rows of a
//! larger set.

use omendb::rng::{mix, SplitMix64, GOLDEN};

/// SplitMix64 started from a mixed seed, with Box–Muller normals.
#[derive(Debug, Clone)]
pub struct Rng {
    core: SplitMix64,
    spare_normal: Option<f64>,
}

impl Rng {
    /// A generator from one seed.
    pub fn new(seed: u64) -> Self {
        Rng {
            core: SplitMix64::new(mix(seed)),
            spare_normal: None,
        }
    }

    /// The generator for row `row` of stream `stream` under `seed`:
    /// independent of every other `(stream, row)` pair.
    pub fn for_row(seed: u64, stream: u64, row: u64) -> Self {
        Rng::new(mix(seed ^ mix(stream.wrapping_add(GOLDEN))).wrapping_add(mix(row)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.core.next_u64()
    }

    /// Uniform in `[0, 1)`, 53 bits of precision.
    pub fn uniform(&mut self) -> f64 {
        self.core.next_f64()
    }

    /// Uniform integer in `[0, n)` (`n > 0`), by Lemire's multiply-shift
    /// (bias below 2⁻³² for the sizes used here).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32).wrapping_mul(n as u64) >> 32) as usize
    }

    /// Standard normal, by the Box–Muller transform (two per pair of
    /// uniforms; the second is kept for the next call).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // 1 − u is in (0, 1], so the logarithm is finite.
        let r = (-2.0 * (1.0 - self.uniform()).ln()).sqrt();
        let theta = std::f64::consts::TAU * self.uniform();
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_rows_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let r0 = Rng::for_row(1, 0, 0).next_u64();
        let r1 = Rng::for_row(1, 0, 1).next_u64();
        let s1 = Rng::for_row(1, 1, 0).next_u64();
        assert_ne!(r0, r1);
        assert_ne!(r0, s1);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::new(3);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        let mut hist = [0usize; 10];
        for _ in 0..100_000 {
            hist[r.below(10)] += 1;
        }
        assert!(
            hist.iter().all(|&h| (9_000..11_000).contains(&h)),
            "{hist:?}"
        );
    }
}
