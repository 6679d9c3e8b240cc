//! Integer kernels for 8-bit scalar-quantized codes, with run-time dispatch
//! as [`Kernels`](super::Kernels) does for floats.
//!
//! A code is `d` bytes (`u8`); a quantized query is `d` lanes of `i16`.
//! Both kernels sum exactly in `i32`:
//!
//! | kernel | sum | query range the callers keep to |
//! |---|---|---|
//! | [`IntKernels::l2`] | `Σ (q − c)²` | `[`[`L2_QUERY_MIN`]`, `[`L2_QUERY_MAX`]`]` |
//! | [`IntKernels::dot`] | `Σ q · c` | `[−`[`DOT_QUERY_MAX`]`, `[`DOT_QUERY_MAX`]`]` |
//!
//! With those ranges and at most [`MAX_DIMS`] lanes no sum leaves `i32`
//! (outside them the sums wrap, on every instruction set alike; nothing
//! panics).
//! Codes are widened to 16 bits before they meet the query (AVX2
//! `vpmovzxbw` + `vpmaddwd`; AVX-512 VNNI `vpdpwssd`): `vpmaddubsw`, the
//! one-instruction `u8 × i8` product, saturates its 16-bit pair sums as
//! soon as both bytes are large (255 · 127 · 2 > 32 767), so it would be
//! exact only for 7-bit codes or queries.

/// The longest vectors the kernels accept without overflow.
pub const MAX_DIMS: usize = 8192;
/// The smallest query lane [`IntKernels::l2`] may see.
pub const L2_QUERY_MIN: i16 = -256;
/// The largest query lane [`IntKernels::l2`] may see.
pub const L2_QUERY_MAX: i16 = 511;
/// The largest query lane magnitude [`IntKernels::dot`] may see.
pub const DOT_QUERY_MAX: i16 = 127;

/// Which instruction set an [`IntKernels`] value dispatches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntIsa {
    /// Portable Rust loops.
    Scalar,
    /// x86_64 AVX2.
    Avx2,
    /// x86_64 AVX-512 (F, BW, VL) with VNNI.
    Avx512Vnni,
}

/// One kernel: a quantized query against one code.
type IntKernel = fn(&[i16], &[u8]) -> i32;
/// One kernel between two codes.
type CodeKernel = fn(&[u8], &[u8]) -> i32;

/// Integer kernels chosen for this CPU.
#[derive(Clone, Copy)]
pub struct IntKernels {
    isa: IntIsa,
    l2: IntKernel,
    dot: IntKernel,
    codes_l2: CodeKernel,
}

impl std::fmt::Debug for IntKernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntKernels")
            .field("isa", &self.isa)
            .finish()
    }
}

impl Default for IntKernels {
    fn default() -> Self {
        Self::detect()
    }
}

impl IntKernels {
    /// The fastest kernels this CPU supports.
    pub fn detect() -> Self {
        [IntIsa::Avx512Vnni, IntIsa::Avx2]
            .into_iter()
            .find_map(Self::for_isa)
            .unwrap_or_else(Self::scalar)
    }

    /// The portable kernels.
    pub fn scalar() -> Self {
        IntKernels {
            isa: IntIsa::Scalar,
            l2: l2_portable,
            dot: dot_portable,
            codes_l2: codes_l2_portable,
        }
    }

    /// The kernels for `isa`, or `None` when this CPU lacks it.
    pub fn for_isa(isa: IntIsa) -> Option<Self> {
        match isa {
            IntIsa::Scalar => Some(Self::scalar()),
            #[cfg(target_arch = "x86_64")]
            IntIsa::Avx2 => std::is_x86_feature_detected!("avx2").then_some(IntKernels {
                isa,
                l2: super::x86_int::l2_avx2_checked,
                dot: super::x86_int::dot_avx2_checked,
                codes_l2: super::x86_int::codes_l2_avx2_checked,
            }),
            #[cfg(target_arch = "x86_64")]
            IntIsa::Avx512Vnni => (std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni"))
            .then_some(IntKernels {
                isa,
                l2: super::x86_int::l2_vnni_checked,
                dot: super::x86_int::dot_vnni_checked,
                // AVX-512 implies AVX2; two codes' differences need no VNNI.
                codes_l2: super::x86_int::codes_l2_avx2_checked,
            }),
            #[cfg(not(target_arch = "x86_64"))]
            _ => None,
        }
    }

    /// The instruction set in use.
    pub fn isa(&self) -> IntIsa {
        self.isa
    }

    /// `Σ (q − c)²` over the common length (query lanes within the L2
    /// range, at most [`MAX_DIMS`] of them).
    #[inline(always)]
    pub fn l2(&self, q: &[i16], c: &[u8]) -> i32 {
        (self.l2)(q, c)
    }

    /// `Σ q · c` over the common length (query lanes within the dot range,
    /// at most [`MAX_DIMS`] of them).
    #[inline(always)]
    pub fn dot(&self, q: &[i16], c: &[u8]) -> i32 {
        (self.dot)(q, c)
    }

    /// `Σ (a − b)²` between two codes over their common length (exact for
    /// at most [`MAX_DIMS`] lanes: 8192 · 255² < 2³¹).
    #[inline(always)]
    pub fn codes_l2(&self, a: &[u8], b: &[u8]) -> i32 {
        (self.codes_l2)(a, b)
    }
}

/// Portable `Σ (a − b)²` between two codes.
pub fn codes_l2_portable(a: &[u8], b: &[u8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (i32::from(x) - i32::from(y)).pow(2))
        .fold(0i32, i32::wrapping_add)
}

/// `Σ (q − c)²` in `i64`, plain loop: the test reference.
pub fn l2_reference(q: &[i16], c: &[u8]) -> i64 {
    q.iter()
        .zip(c)
        .map(|(&a, &b)| (i64::from(a) - i64::from(b)).pow(2))
        .sum()
}

/// `Σ q · c` in `i64`, plain loop: the test reference.
pub fn dot_reference(q: &[i16], c: &[u8]) -> i64 {
    q.iter()
        .zip(c)
        .map(|(&a, &b)| i64::from(a) * i64::from(b))
        .sum()
}

/// `(q − c)²` as the SIMD kernels form it: the difference in 16 bits (exact
/// within the L2 range), squared in 32.
#[inline(always)]
fn sq_diff(q: i16, c: u8) -> i32 {
    let d = i32::from(q.wrapping_sub(i16::from(c)));
    d * d
}

/// Portable `Σ (q − c)²`; LLVM vectorises the independent lanes (the
/// 16-bit difference lets it use the same multiply-add as the AVX2 path).
pub fn l2_portable(q: &[i16], c: &[u8]) -> i32 {
    let n = q.len().min(c.len());
    let mut acc = [0i32; 16];
    let (qc, cc) = (q[..n].chunks_exact(16), c[..n].chunks_exact(16));
    let (qt, ct) = (qc.remainder(), cc.remainder());
    for (a, b) in qc.zip(cc) {
        for j in 0..16 {
            acc[j] = acc[j].wrapping_add(sq_diff(a[j], b[j]));
        }
    }
    let tail = qt
        .iter()
        .zip(ct)
        .fold(0i32, |s, (&a, &b)| s.wrapping_add(sq_diff(a, b)));
    acc.iter().fold(tail, |s, &x| s.wrapping_add(x))
}

/// Portable `Σ q · c`.
pub fn dot_portable(q: &[i16], c: &[u8]) -> i32 {
    let n = q.len().min(c.len());
    let mut acc = [0i32; 16];
    let (qc, cc) = (q[..n].chunks_exact(16), c[..n].chunks_exact(16));
    let (qt, ct) = (qc.remainder(), cc.remainder());
    for (a, b) in qc.zip(cc) {
        for j in 0..16 {
            acc[j] = acc[j].wrapping_add(i32::from(a[j]) * i32::from(b[j]));
        }
    }
    let tail = qt.iter().zip(ct).fold(0i32, |s, (&a, &b)| {
        s.wrapping_add(i32::from(a) * i32::from(b))
    });
    acc.iter().fold(tail, |s, &x| s.wrapping_add(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn dims() -> Vec<usize> {
        (1..=130).chain([256, 512, 768, 1024, 1536]).collect()
    }

    fn query(rng: &mut SplitMix64, n: usize, lo: i16, hi: i16) -> Vec<i16> {
        let span = (i32::from(hi) - i32::from(lo) + 1) as u64;
        (0..n)
            .map(|_| (i64::from(lo) + (rng.next_u64() % span) as i64) as i16)
            .collect()
    }

    fn codes(rng: &mut SplitMix64, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.next_u64() as u8).collect()
    }

    #[test]
    fn every_available_kernel_matches_the_reference() {
        let mut tested = Vec::new();
        for isa in [IntIsa::Scalar, IntIsa::Avx2, IntIsa::Avx512Vnni] {
            let Some(k) = IntKernels::for_isa(isa) else {
                continue;
            };
            tested.push(isa);
            let mut rng = SplitMix64::new(isa as u64 + 1);
            for d in dims() {
                let c = codes(&mut rng, d);
                let ql2 = query(&mut rng, d, L2_QUERY_MIN, L2_QUERY_MAX);
                let qdot = query(&mut rng, d, -DOT_QUERY_MAX, DOT_QUERY_MAX);
                assert_eq!(
                    i64::from(k.l2(&ql2, &c)),
                    l2_reference(&ql2, &c),
                    "{isa:?} l2 d={d}"
                );
                assert_eq!(
                    i64::from(k.dot(&qdot, &c)),
                    dot_reference(&qdot, &c),
                    "{isa:?} dot d={d}"
                );
                let c2 = codes(&mut rng, d);
                let widened: Vec<i16> = c2.iter().map(|&x| i16::from(x)).collect();
                assert_eq!(
                    i64::from(k.codes_l2(&c2, &c)),
                    l2_reference(&widened, &c),
                    "{isa:?} codes_l2 d={d}"
                );
            }
        }
        println!("integer kernels tested: {tested:?}");
        assert!(tested.contains(&IntKernels::detect().isa()));
    }

    #[test]
    fn extreme_lanes_at_the_longest_length_do_not_overflow() {
        let c = vec![255u8; MAX_DIMS];
        let c0 = vec![0u8; MAX_DIMS];
        let lo = vec![L2_QUERY_MIN; MAX_DIMS];
        let hi = vec![L2_QUERY_MAX; MAX_DIMS];
        let neg = vec![-DOT_QUERY_MAX; MAX_DIMS];
        for isa in [IntIsa::Scalar, IntIsa::Avx2, IntIsa::Avx512Vnni] {
            let Some(k) = IntKernels::for_isa(isa) else {
                continue;
            };
            assert_eq!(i64::from(k.l2(&lo, &c)), l2_reference(&lo, &c), "{isa:?}");
            let wide = vec![255i16; MAX_DIMS];
            assert_eq!(
                i64::from(k.codes_l2(&c, &c0)),
                l2_reference(&wide, &c0),
                "{isa:?}"
            );
            assert_eq!(i64::from(k.l2(&hi, &c0)), l2_reference(&hi, &c0), "{isa:?}");
            assert_eq!(
                i64::from(k.dot(&neg, &c)),
                dot_reference(&neg, &c),
                "{isa:?}"
            );
        }
    }

    #[test]
    fn lanes_out_of_contract_wrap_alike_and_never_panic() {
        let mut rng = SplitMix64::new(77);
        for d in [1, 31, 33, 100, MAX_DIMS] {
            let q: Vec<i16> = (0..d).map(|_| rng.next_u64() as i16).collect();
            let c = codes(&mut rng, d);
            let (l2, dot) = (l2_portable(&q, &c), dot_portable(&q, &c));
            for isa in [IntIsa::Avx2, IntIsa::Avx512Vnni] {
                if let Some(k) = IntKernels::for_isa(isa) {
                    assert_eq!((k.l2(&q, &c), k.dot(&q, &c)), (l2, dot), "{isa:?} d={d}");
                }
            }
        }
    }

    #[test]
    fn lengths_differ_uses_the_common_prefix() {
        let k = IntKernels::detect();
        let q = [3i16; 40];
        let c = [1u8; 33];
        assert_eq!(k.l2(&q, &c), 33 * 4);
        assert_eq!(k.dot(&q, &c), 33 * 3);
        assert_eq!(k.l2(&[], &[]), 0);
    }
}
