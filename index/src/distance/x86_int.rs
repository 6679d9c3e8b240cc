//! AVX2 and AVX-512 VNNI integer kernels for x86_64 (see [`super::int`]).
//!
//! Every kernel here is `unsafe` because it requires CPU features; the safe
//! wrappers at the bottom are only handed out by
//! [`IntKernels::for_isa`](super::int::IntKernels::for_isa) after
//! `is_x86_feature_detected!` confirmed those features.

use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx2")]
fn hsum_epi32_256(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}

/// The shared AVX2 loop: 16 lanes at a time, codes widened to `i16`, then
/// `op` turns (query, code) into eight `i32` pair sums.
#[inline(always)]
unsafe fn fold_avx2(q: &[i16], c: &[u8], op: impl Fn(__m256i, __m256i) -> __m256i) -> (i32, usize) {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    // SAFETY: the caller guarantees AVX2; every load reads lanes i..i + 16
    // with i + 16 <= n, inside both slices.
    unsafe {
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        while i + 32 <= n {
            let c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(pc.add(i).cast()));
            let c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(pc.add(i + 16).cast()));
            let q0 = _mm256_loadu_si256(pq.add(i).cast());
            let q1 = _mm256_loadu_si256(pq.add(i + 16).cast());
            acc0 = _mm256_add_epi32(acc0, op(q0, c0));
            acc1 = _mm256_add_epi32(acc1, op(q1, c1));
            i += 32;
        }
        if i + 16 <= n {
            let c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(pc.add(i).cast()));
            let q0 = _mm256_loadu_si256(pq.add(i).cast());
            acc0 = _mm256_add_epi32(acc0, op(q0, c0));
            i += 16;
        }
        (hsum_epi32_256(_mm256_add_epi32(acc0, acc1)), i)
    }
}

#[target_feature(enable = "avx2")]
unsafe fn l2_avx2(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: the caller guarantees AVX2 (this function's features).
    let (sum, done) = unsafe {
        fold_avx2(q, c, |a, b| {
            let d = _mm256_sub_epi16(a, b);
            _mm256_madd_epi16(d, d)
        })
    };
    sum.wrapping_add(super::int::l2_portable(
        &q[done.min(q.len())..],
        &c[done.min(c.len())..],
    ))
}

#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: the caller guarantees AVX2 (this function's features).
    let (sum, done) = unsafe { fold_avx2(q, c, |a, b| _mm256_madd_epi16(a, b)) };
    sum.wrapping_add(super::int::dot_portable(
        &q[done.min(q.len())..],
        &c[done.min(c.len())..],
    ))
}

/// The shared AVX-512 loop: 32 lanes at a time, the tail by masked loads
/// (which never touch the masked-off bytes), `op` accumulating with VNNI.
#[inline(always)]
unsafe fn fold_vnni(q: &[i16], c: &[u8], op: impl Fn(__m512i, __m512i, __m512i) -> __m512i) -> i32 {
    let n = q.len().min(c.len());
    let (pq, pc) = (q.as_ptr(), c.as_ptr());
    // SAFETY: the caller guarantees AVX-512 F/BW/VL and VNNI; full loads
    // read lanes i..i + 32 with i + 32 <= n; the tail's masked loads read
    // only the `n - i` lanes left, inside both slices.
    unsafe {
        let mut acc0 = _mm512_setzero_si512();
        let mut acc1 = _mm512_setzero_si512();
        let mut i = 0;
        while i + 64 <= n {
            let c0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(pc.add(i).cast()));
            let c1 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(pc.add(i + 32).cast()));
            let q0 = _mm512_loadu_si512(pq.add(i).cast());
            let q1 = _mm512_loadu_si512(pq.add(i + 32).cast());
            acc0 = op(acc0, q0, c0);
            acc1 = op(acc1, q1, c1);
            i += 64;
        }
        while i < n {
            let left = n - i;
            let mask: __mmask32 = if left >= 32 {
                u32::MAX
            } else {
                (1u32 << left) - 1
            };
            let c0 = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mask, pc.add(i).cast()));
            let q0 = _mm512_maskz_loadu_epi16(mask, pq.add(i).cast());
            acc0 = op(acc0, q0, c0);
            i += 32;
        }
        _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1))
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn l2_vnni(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: the caller guarantees this function's features.
    unsafe {
        fold_vnni(q, c, |acc, a, b| {
            let d = _mm512_sub_epi16(a, b);
            _mm512_dpwssd_epi32(acc, d, d)
        })
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dot_vnni(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: the caller guarantees this function's features.
    unsafe { fold_vnni(q, c, |acc, a, b| _mm512_dpwssd_epi32(acc, a, b)) }
}

/// `Σ (a − b)²` between two codes: 16 lanes at a time widened to `i16`,
/// squared and pair-summed by `vpmaddwd`.
#[target_feature(enable = "avx2")]
unsafe fn codes_l2_avx2(a: &[u8], b: &[u8]) -> i32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: lanes i..i + 16 lie inside both slices (i + 16 <= n).
        let (x, y) = unsafe {
            (
                _mm_loadu_si128(pa.add(i).cast()),
                _mm_loadu_si128(pb.add(i).cast()),
            )
        };
        let d = _mm256_sub_epi16(_mm256_cvtepu8_epi16(x), _mm256_cvtepu8_epi16(y));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, d));
        i += 16;
    }
    hsum_epi32_256(acc).wrapping_add(super::int::codes_l2_portable(&a[i..n], &b[i..n]))
}

/// Safe AVX2 wrapper; only handed out after detecting avx2.
pub fn codes_l2_avx2_checked(a: &[u8], b: &[u8]) -> i32 {
    // SAFETY: `IntKernels::for_isa` hands out this function only after detecting avx2.
    unsafe { codes_l2_avx2(a, b) }
}

/// Safe AVX2 wrapper; only handed out after detecting avx2.
pub fn l2_avx2_checked(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: `IntKernels::for_isa` hands out this function only after detecting avx2.
    unsafe { l2_avx2(q, c) }
}

/// Safe AVX2 wrapper; only handed out after detecting avx2.
pub fn dot_avx2_checked(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: `IntKernels::for_isa` hands out this function only after detecting avx2.
    unsafe { dot_avx2(q, c) }
}

/// Safe AVX-512 VNNI wrapper; only handed out after detecting its features.
pub fn l2_vnni_checked(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: `IntKernels::for_isa` hands out this function only after
    // detecting avx512f, avx512bw, avx512vl and avx512vnni.
    unsafe { l2_vnni(q, c) }
}

/// Safe AVX-512 VNNI wrapper; only handed out after detecting its features.
pub fn dot_vnni_checked(q: &[i16], c: &[u8]) -> i32 {
    // SAFETY: `IntKernels::for_isa` hands out this function only after
    // detecting avx512f, avx512bw, avx512vl and avx512vnni.
    unsafe { dot_vnni(q, c) }
}
