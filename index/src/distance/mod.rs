//! Distance kernels with run-time dispatch.
//!
//! [`Kernels::detect`] picks the fastest implementation the CPU supports
//! (AVX-512F, then AVX2+FMA, then the portable loops) and returns plain
//! function pointers that each index stores: no global mutable state.
//! [`int::IntKernels`] does the same for the integer kernels of 8-bit
//! scalar-quantized codes.

pub mod int;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod x86_int;

/// Which instruction set a [`Kernels`] value dispatches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust loops.
    Scalar,
    /// x86_64 AVX2 with FMA.
    Avx2,
    /// x86_64 AVX-512 Foundation.
    Avx512,
}

/// A set of distance kernels chosen for this CPU.
#[derive(Clone, Copy)]
pub struct Kernels {
    isa: Isa,
    l2_sq: fn(&[f32], &[f32]) -> f32,
    dot: fn(&[f32], &[f32]) -> f32,
    l2_sq_to_all: ToAll,
    dot_to_all: ToAll,
}

/// A one-to-many kernel: one point against many stored transposed.
type ToAll = fn(&[f32], &[f32], &mut [f32]);

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels").field("isa", &self.isa).finish()
    }
}

impl Default for Kernels {
    fn default() -> Self {
        Self::detect()
    }
}

impl Kernels {
    /// The fastest kernels this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Self::for_isa(Isa::Avx512).expect("detected");
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Self::for_isa(Isa::Avx2).expect("detected");
            }
        }
        Self::scalar()
    }

    /// The portable kernels.
    pub fn scalar() -> Self {
        Kernels {
            isa: Isa::Scalar,
            l2_sq: scalar::l2_sq,
            dot: scalar::dot,
            l2_sq_to_all: scalar::l2_sq_to_all_portable,
            dot_to_all: scalar::dot_to_all_portable,
        }
    }

    /// The kernels for `isa`, or `None` when this CPU lacks it.
    pub fn for_isa(isa: Isa) -> Option<Self> {
        match isa {
            Isa::Scalar => Some(Self::scalar()),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => (std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma"))
            .then_some(Kernels {
                isa,
                l2_sq: x86::l2_sq_avx2_checked,
                dot: x86::dot_avx2_checked,
                l2_sq_to_all: x86::l2_sq_to_all_avx2_checked,
                dot_to_all: x86::dot_to_all_avx2_checked,
            }),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::is_x86_feature_detected!("avx512f").then_some(Kernels {
                isa,
                l2_sq: x86::l2_sq_avx512_checked,
                dot: x86::dot_avx512_checked,
                l2_sq_to_all: x86::l2_sq_to_all_avx512_checked,
                dot_to_all: x86::dot_to_all_avx512_checked,
            }),
            #[cfg(not(target_arch = "x86_64"))]
            _ => None,
        }
    }

    /// The instruction set in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Squared Euclidean distance over the common length of `a` and `b`.
    #[inline(always)]
    pub fn l2_sq(&self, a: &[f32], b: &[f32]) -> f32 {
        (self.l2_sq)(a, b)
    }

    /// Dot product over the common length of `a` and `b`.
    #[inline(always)]
    pub fn dot(&self, a: &[f32], b: &[f32]) -> f32 {
        (self.dot)(a, b)
    }

    /// Squared distances from `p` to `out.len()` points stored transposed:
    /// `p.len()` rows of `out.len()` floats (see [`scalar::l2_sq_to_all`]).
    #[inline(always)]
    pub fn l2_sq_to_all(&self, p: &[f32], transposed: &[f32], out: &mut [f32]) {
        (self.l2_sq_to_all)(p, transposed, out)
    }

    /// Dot products of `p` with `out.len()` points stored transposed.
    #[inline(always)]
    pub fn dot_to_all(&self, p: &[f32], transposed: &[f32], out: &mut [f32]) {
        (self.dot_to_all)(p, transposed, out)
    }
}

/// Hints the CPU to start loading the first 256 bytes of `data` into cache
/// (a no-op off x86_64): enough for a search to overlap the miss with work.
#[inline(always)]
pub fn prefetch(data: &[f32]) {
    prefetch_bytes(data, 256);
}

/// Hints the CPU to start loading all of `data` into cache: for rows that
/// are certainly read in full next (re-ranking).
#[inline(always)]
pub fn prefetch_all(data: &[f32]) {
    prefetch_bytes(data, usize::MAX);
}

/// Hints the CPU to load up to `limit` bytes of `data` (whole cache lines;
/// nothing is read, so any element type will do, atomics included).
#[inline(always)]
pub fn prefetch_bytes<T>(data: &[T], limit: usize) {
    #[cfg(target_arch = "x86_64")]
    x86::prefetch(data, limit);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, limit);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64-based uniform floats in [-1, 1).
    fn random_vec(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn dims() -> Vec<usize> {
        (1..=130).chain([256, 384, 512, 768, 960, 1536]).collect()
    }

    /// Relative error against an f64 reference, scaled by the sum of the
    /// magnitudes of the terms (the condition number of a sum).
    fn close(got: f32, want: f64, magnitude: f64) -> bool {
        (got as f64 - want).abs() <= 1e-5 * magnitude.max(1e-30)
    }

    #[test]
    fn every_available_kernel_matches_the_reference() {
        let mut tested = 0;
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
            let Some(k) = Kernels::for_isa(isa) else {
                continue;
            };
            tested += 1;
            for d in dims() {
                let a = random_vec(d as u64, d);
                let b = random_vec(d as u64 + 1000, d);
                let l2: f64 = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| ((x - y) as f64).powi(2))
                    .sum();
                let dot: f64 = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (*x as f64) * (*y as f64))
                    .sum();
                let mag: f64 = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (*x as f64 * *y as f64).abs())
                    .sum();
                assert!(close(k.l2_sq(&a, &b), l2, l2), "{isa:?} l2 d={d}");
                assert!(close(k.dot(&a, &b), dot, mag), "{isa:?} dot d={d}");
                assert!(close(scalar::l2_sq_reference(&a, &b), l2, l2));
                assert!(close(scalar::dot_reference(&a, &b), dot, mag));
            }
        }
        assert!(tested >= 1);
    }

    /// One-to-many kernels give bit-identical results on every instruction
    /// set (so PQ training and encoding do not depend on the CPU).
    #[test]
    fn one_to_many_kernels_agree_exactly_across_isas() {
        for dim in [1, 2, 3, 4, 8, 13] {
            let p = random_vec(dim as u64, dim);
            let t = random_vec(100 + dim as u64, dim * 256);
            let (mut want_l2, mut want_dot) = ([0f32; 256], [0f32; 256]);
            Kernels::scalar().l2_sq_to_all(&p, &t, &mut want_l2);
            Kernels::scalar().dot_to_all(&p, &t, &mut want_dot);
            for c in [0, 17, 255] {
                let col: Vec<f32> = (0..dim).map(|j| t[j * 256 + c]).collect();
                let r = scalar::l2_sq_reference(&p, &col);
                assert!((want_l2[c] - r).abs() <= 1e-5 * (1.0 + r));
            }
            for isa in [Isa::Avx2, Isa::Avx512] {
                let Some(k) = Kernels::for_isa(isa) else {
                    continue;
                };
                let (mut l2, mut dot) = ([0f32; 256], [0f32; 256]);
                k.l2_sq_to_all(&p, &t, &mut l2);
                k.dot_to_all(&p, &t, &mut dot);
                assert_eq!(l2, want_l2, "{isa:?} l2, dim {dim}");
                assert_eq!(dot, want_dot, "{isa:?} dot, dim {dim}");
            }
        }
    }

    #[test]
    fn detect_picks_an_available_isa() {
        let k = Kernels::detect();
        assert!(Kernels::for_isa(k.isa()).is_some());
        assert_eq!(k.l2_sq(&[], &[]), 0.0);
    }
}
