//! Portable distance kernels: the reference every SIMD kernel is tested
//! against, and the fallback on CPUs without AVX2 (aarch64 included; the
//! four-way unrolled loops let LLVM vectorise them for NEON).

/// Squared Euclidean distance, plain loop (the test reference).
pub fn l2_sq_reference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Dot product, plain loop (the test reference).
pub fn dot_reference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Squared Euclidean distance with eight independent accumulators.
pub fn l2_sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let chunks = n / 8;
    for i in 0..chunks {
        let (x, y) = (&a[i * 8..i * 8 + 8], &b[i * 8..i * 8 + 8]);
        for j in 0..8 {
            let d = x[j] - y[j];
            acc[j] += d * d;
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        let d = a[i] - b[i];
        sum += d * d;
    }
    sum
}

/// Dot product with eight independent accumulators.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let chunks = n / 8;
    for i in 0..chunks {
        let (x, y) = (&a[i * 8..i * 8 + 8], &b[i * 8..i * 8 + 8]);
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        sum += a[i] * b[i];
    }
    sum
}

/// Squared distances from `p` to each of `out.len()` points stored
/// transposed (`p.len()` rows of `out.len()` floats, one row per component):
/// `out[c] = Σ_t (p[t] − rows[t][c])²`. Inlined into the SIMD variants,
/// which the compiler vectorises across `c` (no reassociation, so every
/// instruction set gives bit-identical results).
#[inline(always)]
pub fn l2_sq_to_all(p: &[f32], transposed: &[f32], out: &mut [f32]) {
    let k = out.len();
    out.fill(0.0);
    for (&x, row) in p.iter().zip(transposed.chunks_exact(k)) {
        for (o, &c) in out.iter_mut().zip(row) {
            let d = x - c;
            *o += d * d;
        }
    }
}

/// Dot products of `p` with each of `out.len()` points stored transposed
/// (see [`l2_sq_to_all`]).
#[inline(always)]
pub fn dot_to_all(p: &[f32], transposed: &[f32], out: &mut [f32]) {
    let k = out.len();
    out.fill(0.0);
    for (&x, row) in p.iter().zip(transposed.chunks_exact(k)) {
        for (o, &c) in out.iter_mut().zip(row) {
            *o += x * c;
        }
    }
}

/// [`l2_sq_to_all`] as a plain function, for dispatch.
pub fn l2_sq_to_all_portable(p: &[f32], transposed: &[f32], out: &mut [f32]) {
    l2_sq_to_all(p, transposed, out)
}

/// [`dot_to_all`] as a plain function, for dispatch.
pub fn dot_to_all_portable(p: &[f32], transposed: &[f32], out: &mut [f32]) {
    dot_to_all(p, transposed, out)
}
