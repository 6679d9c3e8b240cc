//! k-means for one sub-space: k-means++ seeding, then a bounded number of
//! Lloyd iterations.
//!
//! Reproducible by construction: every random choice comes from a seeded
//! [`SplitMix64`], the parallel steps (assignment, seeding distances) compute
//! each point independently, and every reduction (the seeding sum, the
//! centroid update) runs sequentially in point order, so the result does not
//! depend on the number of threads.

use rayon::prelude::*;

use super::rng::SplitMix64;
use crate::distance::Kernels;

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
        let changed = assign_all(points, dim, &centroids, kernels, &mut assign, &mut dist);
        if changed == 0 {
            break;
        }
        update(points, dim, k, &assign, &mut dist, &mut centroids);
    }
    centroids
}

/// The index and squared distance of the centroid nearest to `p` (the
/// lowest index wins a tie). This is the training hot loop.
#[inline]
pub(crate) fn nearest(p: &[f32], centroids: &[f32], dim: usize, kernels: &Kernels) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
        let d = kernels.l2_sq(p, centroid);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
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
    centroids: &[f32],
    kernels: &Kernels,
    assign: &mut [u32],
    dist: &mut [f32],
) -> usize {
    assign
        .par_chunks_mut(POINTS_PER_TASK)
        .zip(dist.par_chunks_mut(POINTS_PER_TASK))
        .zip(points.par_chunks(POINTS_PER_TASK * dim))
        .map(|((assign, dist), pts)| {
            let mut changed = 0;
            for ((a, d), p) in assign
                .iter_mut()
                .zip(dist.iter_mut())
                .zip(pts.chunks_exact(dim))
            {
                let (c, dc) = nearest(p, centroids, dim, kernels);
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
        for c in centres {
            let (_, d) = nearest(&c, &cents, 2, &k);
            assert!(d < 0.05, "centre {c:?} is {d} from the nearest centroid");
        }
        assert_eq!(cents, train(&pts, 2, 3, 20, 9, &k));
    }

    #[test]
    fn duplicate_points_fill_every_centroid_without_nan() {
        let pts = vec![1.0f32; 2 * 10];
        let cents = train(&pts, 2, 10, 5, 0, &Kernels::detect());
        assert_eq!(cents.len(), 20);
        assert!(cents.iter().all(|&x| x == 1.0));
    }
}
