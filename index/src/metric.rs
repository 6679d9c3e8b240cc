//! Distance metrics and how vectors are prepared for them.

use std::fmt;
use std::str::FromStr;

use crate::distance::Kernels;
use crate::error::Error;

/// How distance between two vectors is measured. Smaller is always closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Squared Euclidean distance (ann-benchmarks `euclidean`; ranks like L2).
    L2,
    /// Cosine distance `1 − cos(a, b)` (ann-benchmarks `angular`). Vectors are
    /// normalised once at insert, so search is a dot product. A zero vector
    /// has no direction: it is accepted and stored as zero, and lies at
    /// distance exactly 1 from every vector (and every query).
    Cosine,
    /// Negative inner product `−a·b` (ann-benchmarks `ip`).
    InnerProduct,
}

impl Metric {
    /// The ann-benchmarks name of the metric.
    pub fn ann_name(self) -> &'static str {
        match self {
            Metric::L2 => "euclidean",
            Metric::Cosine => "angular",
            Metric::InnerProduct => "ip",
        }
    }

    /// Whether stored vectors are normalised to unit length first.
    pub fn normalizes(self) -> bool {
        matches!(self, Metric::Cosine)
    }

    /// Prepares a vector for storage or querying under this metric, in place
    /// (normalises for cosine; a zero vector stays zero).
    pub fn prepare(self, v: &mut [f32], k: &Kernels) {
        if self.normalizes() {
            let norm = k.dot(v, v).sqrt();
            if norm > 0.0 {
                let inv = 1.0 / norm;
                v.iter_mut().for_each(|x| *x *= inv);
            }
        }
    }

    /// A copy of `v` prepared for storage or querying (see [`Metric::prepare`]).
    pub fn prepared(self, v: &[f32], k: &Kernels) -> Vec<f32> {
        let mut v = v.to_vec();
        self.prepare(&mut v, k);
        v
    }

    /// Distance between two prepared vectors.
    #[inline]
    pub fn distance(self, k: &Kernels, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::L2 => k.l2_sq(a, b),
            Metric::Cosine => 1.0 - k.dot(a, b),
            Metric::InnerProduct => -k.dot(a, b),
        }
    }

    /// A metric's distance as ann-benchmarks reports it: Euclidean distance
    /// (not squared) for L2, the same value as [`Metric::distance`] otherwise.
    pub fn reported(self, d: f32) -> f32 {
        match self {
            Metric::L2 => d.max(0.0).sqrt(),
            _ => d,
        }
    }
}

impl FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "euclidean" | "l2" | "l2sq" => Ok(Metric::L2),
            "angular" | "cosine" | "cos" => Ok(Metric::Cosine),
            "ip" | "dot" | "inner_product" | "innerproduct" => Ok(Metric::InnerProduct),
            _ => Err(Error::UnknownMetric(s.to_string())),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ann_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ann_benchmarks_names() {
        assert_eq!("euclidean".parse::<Metric>().unwrap(), Metric::L2);
        assert_eq!("angular".parse::<Metric>().unwrap(), Metric::Cosine);
        assert_eq!("ip".parse::<Metric>().unwrap(), Metric::InnerProduct);
        assert!(matches!(
            "hamming".parse::<Metric>(),
            Err(Error::UnknownMetric(m)) if m == "hamming"
        ));
    }

    #[test]
    fn cosine_normalises_and_measures_one_minus_cos() {
        let k = Kernels::detect();
        let mut a = vec![3.0, 4.0];
        let mut b = vec![4.0, 3.0];
        Metric::Cosine.prepare(&mut a, &k);
        Metric::Cosine.prepare(&mut b, &k);
        let d = Metric::Cosine.distance(&k, &a, &b);
        assert!((d - (1.0 - 24.0 / 25.0)).abs() < 1e-6);
        assert_eq!(
            Metric::InnerProduct.distance(&k, &[1.0, 2.0], &[3.0, 4.0]),
            -11.0
        );
        assert_eq!(Metric::L2.reported(9.0), 3.0);
    }
}
