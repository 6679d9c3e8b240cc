//! The one deterministic PRNG of the workspace (SplitMix64): node levels,
//! quantizer training and sampling here, synthetic data in the harness.
//!
//! Builds and datasets must be identical for identical seeds on every
//! platform and across dependency upgrades, so the generator is written
//! out here instead of taken from a crate whose stream could change.

/// SplitMix64's state increment (the golden ratio in 64 bits).
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective 64-bit mix, also a good hash
/// for deriving seeds.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, passes
/// BigCrush, and any seed (0 included) gives a full-period stream.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose stream is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// An independent stream for sub-task `index` of a run seeded `seed`.
    pub fn derive(seed: u64, index: u64) -> Self {
        let mut base = SplitMix64::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        SplitMix64::new(base.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)` (`n > 0`), by Lemire's multiply-shift
    /// (the bias for `n` far below 2^64 is negligible here).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// A standard normal draw (Box–Muller, one of the pair).
    pub fn next_gaussian(&mut self) -> f64 {
        let (u, v) = (self.next_f64(), self.next_f64());
        (-2.0 * u.max(1e-300).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A random orthogonal `d × d` matrix (row-major) drawn from `seed`:
/// Gaussian rows, orthonormalised (modified Gram–Schmidt, in f64). RaBitQ
/// rotates by one; OPQ starts from one.
pub fn random_rotation(d: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(d);
    while rows.len() < d {
        let mut x: Vec<f64> = (0..d).map(|_| rng.next_gaussian()).collect();
        for r in &rows {
            let dot: f64 = r.iter().zip(&x).map(|(a, b)| a * b).sum();
            for (xi, ri) in x.iter_mut().zip(r) {
                *xi -= dot * ri;
            }
        }
        let norm = x.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-6 {
            rows.push(x.iter().map(|a| a / norm).collect());
        }
    }
    rows.into_iter().flatten().map(|x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_in_range() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::new(7);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let mut r = SplitMix64::new(7);
        assert!(a.iter().all(|&x| x == r.next_u64()));
        let mut r = SplitMix64::derive(7, 3);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
        assert_ne!(
            SplitMix64::derive(7, 0).next_u64(),
            SplitMix64::derive(7, 1).next_u64()
        );
    }
}
