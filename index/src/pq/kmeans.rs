//! k-means for one sub-space: k-means++ seeding, then a bounded number of
//! Lloyd iterations.
//!
//! Reproducible by construction: every random choice comes from a seeded
//! [`SplitMix64`], the parallel steps (assignment, seeding distances) compute
//! each point independently, and every reduction (the seeding sum, the
//! centroid update) runs sequentially in point order, so the result does not
//! depend on the number of threads.

use rayon::prelude::*;

use crate::distance::Kernels;
use crate::rng::SplitMix64;

/// Points handed to one rayon task in the parallel steps.
const POINTS_PER_TASK: usize = 512;

/// Trains `k` centroids of `dim` components on the row-major `points`
/// (`points.len() / dim >= k`, checked by the caller). Returns `k * dim`
/// floats, centroid `c` at `[c * dim, (c + 1) * dim)`.
///
/// Runs k-means++ seeding, then at most `iterations` Lloyd rounds; it stops
/// early when a round changes no assignment (a fixed point: more rounds
/// would return the same centroids). An empty cluster is re-seeded with the
/// point currently farthest from its centroid.
pub(crate) fn train(
    points: &[f32],
    dim: usize,
    k: usize,
    iterations: usize,
    seed: u64,
    kernels: &Kernels,
) -> Vec<f32> {
    let n = points.len() / dim;
    debug_assert!(dim > 0 && n >= k && k > 0);
    let mut rng = SplitMix64::new(seed);
    let mut centroids = seed_plus_plus(points, dim, k, &mut rng, kernels);
    let mut assign = vec![u32::MAX; n];
    let mut dist = vec![0.0f32; n];
    for _ in 0..iterations {
        let transposed = transpose(&centroids, dim);
        let changed = assign_all(points, dim, &transposed, &mut assign, &mut dist, kernels);
        if changed == 0 {
            break;
        }
        update(points, dim, k, &assign, &mut dist, &mut centroids);
    }
    centroids
}

/// Centroids laid out component-major (`dim × k`): component `t` of
/// centroid `c` at `t * k + c`. Scoring a point against every centroid then
/// runs `dim` passes of one loop over `k` contiguous floats, which the
/// compiler vectorises across centroids. (With 8-component sub-vectors,
/// calling a distance kernel once per centroid spends most of its time in
/// the call and the horizontal sum; this layout is several times faster.)
pub(crate) fn transpose(centroids: &[f32], dim: usize) -> Vec<f32> {
    let k = centroids.len() / dim;
    let mut t = vec![0.0f32; centroids.len()];
    for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
        for (i, &x) in centroid.iter().enumerate() {
            t[i * k + c] = x;
        }
    }
    t
}

/// The index and squared distance of the centroid nearest to `p` (the
/// lowest index wins a tie), given the centroids in [`transpose`]d layout
/// and a scratch buffer of one float per centroid. This is the training and
/// encoding hot loop.
#[inline]
pub(crate) fn nearest(
    p: &[f32],
    transposed: &[f32],
    scratch: &mut [f32],
    kernels: &Kernels,
) -> (usize, f32) {
    kernels.l2_sq_to_all(p, transposed, scratch);
    // The minimum over eight lanes (branch-free, so it vectorises), then the
    // first position holding it.
    let mut lanes = [f32::INFINITY; 8];
    let mut chunks = scratch.chunks_exact(8);
    for chunk in chunks.by_ref() {
        for (l, &d) in lanes.iter_mut().zip(chunk) {
            *l = if d < *l { d } else { *l };
        }
    }
    let min = chunks
        .remainder()
        .iter()
        .chain(&lanes)
        .fold(f32::INFINITY, |m, &d| if d < m { d } else { m });
    let c = scratch.iter().position(|&d| d == min).unwrap_or(0);
    (c, scratch.get(c).copied().unwrap_or(min))
}

/// k-means++ (Arthur and Vassilvitskii, 2007): the first centroid uniformly,
/// each next one with probability proportional to its squared distance to
/// the nearest centroid chosen so far.
fn seed_plus_plus(
    points: &[f32],
    dim: usize,
    k: usize,
    rng: &mut SplitMix64,
    kernels: &Kernels,
) -> Vec<f32> {
    let n = points.len() / dim;
    let mut centroids = Vec::with_capacity(k * dim);
    let first = rng.below(n);
    centroids.extend_from_slice(&points[first * dim..(first + 1) * dim]);
    let mut d2 = vec![f32::INFINITY; n];
    for c in 1..k {
        let newest = &centroids[(c - 1) * dim..c * dim];
        d2.par_chunks_mut(POINTS_PER_TASK)
            .zip(points.par_chunks(POINTS_PER_TASK * dim))
            .for_each(|(d2, pts)| {
                for (d, p) in d2.iter_mut().zip(pts.chunks_exact(dim)) {
                    *d = d.min(kernels.l2_sq(p, newest));
                }
            });
        let total: f64 = d2.iter().map(|&d| d as f64).sum();
        let pick = if total > 0.0 {
            let target = rng.next_f64() * total;
            let mut acc = 0.0f64;
            // The last point with positive weight, should rounding leave
            // `target` just above the final cumulative sum.
            let mut pick = d2.iter().rposition(|&d| d > 0.0).unwrap_or(0);
            for (i, &d) in d2.iter().enumerate() {
                acc += d as f64;
                if acc > target && d > 0.0 {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            // Fewer distinct points than centroids: duplicates are harmless.
            rng.below(n)
        };
        centroids.extend_from_slice(&points[pick * dim..(pick + 1) * dim]);
    }
    centroids
}

/// Assigns every point to its nearest centroid (in parallel); returns how
/// many assignments changed.
fn assign_all(
    points: &[f32],
    dim: usize,
    transposed: &[f32],
    assign: &mut [u32],
    dist: &mut [f32],
    kernels: &Kernels,
) -> usize {
    assign
        .par_chunks_mut(POINTS_PER_TASK)
        .zip(dist.par_chunks_mut(POINTS_PER_TASK))
        .zip(points.par_chunks(POINTS_PER_TASK * dim))
        .map(|((assign, dist), pts)| {
            let mut scratch = vec![0.0f32; transposed.len() / dim];
            let mut changed = 0;
            for ((a, d), p) in assign
                .iter_mut()
                .zip(dist.iter_mut())
                .zip(pts.chunks_exact(dim))
            {
                let (c, dc) = nearest(p, transposed, &mut scratch, kernels);
                changed += usize::from(*a != c as u32);
                *a = c as u32;
                *d = dc;
            }
            changed
        })
        .sum()
}

/// Moves every centroid to the mean of its points, sequentially in point
/// order (f64 sums, so the result is deterministic and accurate). Empty
/// clusters take the farthest remaining point.
fn update(
    points: &[f32],
    dim: usize,
    k: usize,
    assign: &[u32],
    dist: &mut [f32],
    centroids: &mut [f32],
) {
    let mut sums = vec![0.0f64; k * dim];
    let mut counts = vec![0usize; k];
    for (p, &a) in points.chunks_exact(dim).zip(assign) {
        let a = a as usize;
        counts[a] += 1;
        for (s, &x) in sums[a * dim..(a + 1) * dim].iter_mut().zip(p) {
            *s += x as f64;
        }
    }
    for c in 0..k {
        let centroid = &mut centroids[c * dim..(c + 1) * dim];
        if counts[c] > 0 {
            let inv = 1.0 / counts[c] as f64;
            for (x, &s) in centroid.iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                *x = (s * inv) as f32;
            }
        } else {
            // Ties go to the lowest index; the chosen point's distance is
            // zeroed so the next empty cluster takes a different point.
            let far = dist
                .iter()
                .enumerate()
                .fold(0, |best, (i, &d)| if d > dist[best] { i } else { best });
            centroid.copy_from_slice(&points[far * dim..(far + 1) * dim]);
            dist[far] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight 2-d blobs: k-means with k = 3 must find their centres.
    #[test]
    fn finds_well_separated_blobs() {
        let mut rng = SplitMix64::new(1);
        let centres = [[0.0f32, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let pts: Vec<f32> = (0..300)
            .flat_map(|i| {
                let c = centres[i % 3];
                let j = [rng.next_f64() as f32 - 0.5, rng.next_f64() as f32 - 0.5];
                [c[0] + j[0], c[1] + j[1]]
            })
            .collect();
        let k = Kernels::detect();
        let cents = train(&pts, 2, 3, 20, 9, &k);
        let t = transpose(&cents, 2);
        for c in centres {
            let (_, d) = nearest(&c, &t, &mut [0.0; 3], &k);
            assert!(d < 0.05, "centre {c:?} is {d} from the nearest centroid");
        }
        assert_eq!(cents, train(&pts, 2, 3, 20, 9, &k));
    }

    /// The transposed scan agrees with one kernel call per centroid.
    #[test]
    fn transposed_nearest_matches_the_kernels() {
        let k = Kernels::detect();
        let mut rng = SplitMix64::new(3);
        for dim in [1, 2, 3, 8, 13] {
            let cents: Vec<f32> = (0..256 * dim).map(|_| rng.next_f64() as f32).collect();
            let t = transpose(&cents, dim);
            let mut scratch = [0.0f32; 256];
            for _ in 0..50 {
                let p: Vec<f32> = (0..dim).map(|_| rng.next_f64() as f32).collect();
                let (c, d) = nearest(&p, &t, &mut scratch, &k);
                let by_kernel = cents
                    .chunks_exact(dim)
                    .map(|x| k.l2_sq(&p, x))
                    .fold(f32::INFINITY, f32::min);
                assert!((d - by_kernel).abs() <= 1e-5 * (1.0 + by_kernel));
                assert!((k.l2_sq(&p, &cents[c * dim..(c + 1) * dim]) - d).abs() <= 1e-5);
            }
        }
    }

    #[test]
    fn duplicate_points_fill_every_centroid_without_nan() {
        let pts = vec![1.0f32; 2 * 10];
        let cents = train(&pts, 2, 10, 5, 0, &Kernels::detect());
        assert_eq!(cents.len(), 20);
        assert!(cents.iter().all(|&x| x == 1.0));
    }
}
