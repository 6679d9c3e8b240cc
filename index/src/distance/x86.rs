//! AVX2+FMA and AVX-512F distance kernels for x86_64.
//!
//! Every function here is `unsafe` because it requires CPU features; the safe
//! wrappers at the bottom are only handed out by [`super::Kernels::detect`]
//! after `is_x86_feature_detected!` confirmed those features.

use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum256(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps(v, 1);
    let s = _mm_add_ps(lo, hi);
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    _mm_cvtss_f32(s)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn l2_sq_avx2(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller guarantees the CPU features this function is
    // compiled for; every load stays inside the slices (loop bounds).
    unsafe {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 floats at i..i+8 with i + 8 <= n, inside both slices.
        while i + 32 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
            );
            let d2 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 16)),
                _mm256_loadu_ps(pb.add(i + 16)),
            );
            let d3 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 24)),
                _mm256_loadu_ps(pb.add(i + 24)),
            );
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            acc1 = _mm256_fmadd_ps(d1, d1, acc1);
            acc2 = _mm256_fmadd_ps(d2, d2, acc2);
            acc3 = _mm256_fmadd_ps(d3, d3, acc3);
            i += 32;
        }
        while i + 8 <= n {
            let d = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            acc0 = _mm256_fmadd_ps(d, d, acc0);
            i += 8;
        }
        let acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
        let mut sum = hsum256(acc);
        while i < n {
            let d = *pa.add(i) - *pb.add(i);
            sum += d * d;
            i += 1;
        }
        sum
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller guarantees the CPU features this function is
    // compiled for; every load stays inside the slices (loop bounds).
    unsafe {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 floats at i..i+8 with i + 8 <= n, inside both slices.
        while i + 32 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
                acc1,
            );
            acc2 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 16)),
                _mm256_loadu_ps(pb.add(i + 16)),
                acc2,
            );
            acc3 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 24)),
                _mm256_loadu_ps(pb.add(i + 24)),
                acc3,
            );
            i += 32;
        }
        while i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            i += 8;
        }
        let acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
        let mut sum = hsum256(acc);
        while i < n {
            sum += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        sum
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn l2_sq_avx512(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller guarantees the CPU features this function is
    // compiled for; every load stays inside the slices (loop bounds).
    unsafe {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY: full loads stay below n; the tail uses a masked load that touches
        // only the remaining n - i lanes.
        while i + 32 <= n {
            let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
            let d1 = _mm512_sub_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
            );
            acc0 = _mm512_fmadd_ps(d0, d0, acc0);
            acc1 = _mm512_fmadd_ps(d1, d1, acc1);
            i += 32;
        }
        while i + 16 <= n {
            let d = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
            acc0 = _mm512_fmadd_ps(d, d, acc0);
            i += 16;
        }
        if i < n {
            let mask: __mmask16 = (1u32 << (n - i)) as u16 - 1;
            let d = _mm512_sub_ps(
                _mm512_maskz_loadu_ps(mask, pa.add(i)),
                _mm512_maskz_loadu_ps(mask, pb.add(i)),
            );
            acc1 = _mm512_fmadd_ps(d, d, acc1);
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller guarantees the CPU features this function is
    // compiled for; every load stays inside the slices (loop bounds).
    unsafe {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY: as in l2_sq_avx512.
        while i + 32 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
                acc1,
            );
            i += 32;
        }
        while i + 16 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
            i += 16;
        }
        if i < n {
            let mask: __mmask16 = (1u32 << (n - i)) as u16 - 1;
            acc1 = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(mask, pa.add(i)),
                _mm512_maskz_loadu_ps(mask, pb.add(i)),
                acc1,
            );
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
    }
}

/// Safe AVX2 wrapper; only reachable through `Kernels::detect` on CPUs with AVX2+FMA.
pub fn l2_sq_avx2_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx2 and fma.
    unsafe { l2_sq_avx2(a, b) }
}

/// Safe AVX2 wrapper; only reachable through `Kernels::detect` on CPUs with AVX2+FMA.
pub fn dot_avx2_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx2 and fma.
    unsafe { dot_avx2(a, b) }
}

/// Safe AVX-512 wrapper; only reachable through `Kernels::detect` on CPUs with AVX-512F.
pub fn l2_sq_avx512_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx512f.
    unsafe { l2_sq_avx512(a, b) }
}

/// Safe AVX-512 wrapper; only reachable through `Kernels::detect` on CPUs with AVX-512F.
pub fn dot_avx512_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx512f.
    unsafe { dot_avx512(a, b) }
}

// One-to-many kernels over transposed points (PQ tables, k-means): the
// portable loop compiled with wider vectors.

#[target_feature(enable = "avx2,fma")]
unsafe fn l2_sq_to_all_avx2(p: &[f32], t: &[f32], out: &mut [f32]) {
    super::scalar::l2_sq_to_all(p, t, out)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot_to_all_avx2(p: &[f32], t: &[f32], out: &mut [f32]) {
    super::scalar::dot_to_all(p, t, out)
}

#[target_feature(enable = "avx512f")]
unsafe fn l2_sq_to_all_avx512(p: &[f32], t: &[f32], out: &mut [f32]) {
    super::scalar::l2_sq_to_all(p, t, out)
}

#[target_feature(enable = "avx512f")]
unsafe fn dot_to_all_avx512(p: &[f32], t: &[f32], out: &mut [f32]) {
    super::scalar::dot_to_all(p, t, out)
}

/// Safe AVX2 wrapper; only reachable through `Kernels::detect` on CPUs with AVX2+FMA.
pub fn l2_sq_to_all_avx2_checked(p: &[f32], t: &[f32], out: &mut [f32]) {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx2 and fma.
    unsafe { l2_sq_to_all_avx2(p, t, out) }
}

/// Safe AVX2 wrapper; only reachable through `Kernels::detect` on CPUs with AVX2+FMA.
pub fn dot_to_all_avx2_checked(p: &[f32], t: &[f32], out: &mut [f32]) {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx2 and fma.
    unsafe { dot_to_all_avx2(p, t, out) }
}

/// Safe AVX-512 wrapper; only reachable through `Kernels::detect` on CPUs with AVX-512F.
pub fn l2_sq_to_all_avx512_checked(p: &[f32], t: &[f32], out: &mut [f32]) {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx512f.
    unsafe { l2_sq_to_all_avx512(p, t, out) }
}

/// Safe AVX-512 wrapper; only reachable through `Kernels::detect` on CPUs with AVX-512F.
pub fn dot_to_all_avx512_checked(p: &[f32], t: &[f32], out: &mut [f32]) {
    // SAFETY: `Kernels::detect` hands out this function only after detecting avx512f.
    unsafe { dot_to_all_avx512(p, t, out) }
}

/// Hints the CPU to pull the cache lines holding the first `limit` bytes of
/// `data` toward L1 (nothing is read: any element type will do).
#[inline]
pub fn prefetch<T>(data: &[T], limit: usize) {
    let p = data.as_ptr() as *const i8;
    let bytes = std::mem::size_of_val(data).min(limit);
    let mut off = 0;
    while off < bytes {
        // SAFETY: prefetch never faults, and p + off stays inside `data`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(off)) };
        off += 64;
    }
}
