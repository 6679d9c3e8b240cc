//! The seeded generator of node levels, on the crate's [`SplitMix64`].

use crate::rng::SplitMix64;

/// Draws node levels from a seeded stream.
#[derive(Debug, Clone)]
pub struct LevelRng(SplitMix64);

impl LevelRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        LevelRng(SplitMix64::new(seed))
    }

    /// A uniform draw in (0, 1].
    fn next_unit(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// A node level: `floor(−ln(U) · mL)`, capped at `max`.
    pub fn level(&mut self, ml: f64, max: usize) -> usize {
        let l = (-self.next_unit().ln() * ml).floor();
        (l as usize).min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_geometric_distribution() {
        let mut rng = LevelRng::new(7);
        let ml = 1.0 / 16f64.ln();
        let n = 200_000;
        let levels: Vec<usize> = (0..n).map(|_| rng.level(ml, 31)).collect();
        let above0 = levels.iter().filter(|&&l| l > 0).count() as f64 / n as f64;
        // P(level ≥ 1) = 1/M.
        assert!((above0 - 1.0 / 16.0).abs() < 0.005, "{above0}");
        let mut again = LevelRng::new(7);
        assert!(levels.iter().take(100).all(|&l| l == again.level(ml, 31)));
    }
}
