//! The Pareto frontier of recall against throughput, as ann-benchmarks draws
//! it: the query-parameter settings no other setting beats on both axes.

/// Indices of the points on the upper-right Pareto frontier of `points`
/// (`(x, y)`, both larger-is-better), in increasing `x`.
///
/// A point is on the frontier when no other point has both a larger-or-equal
/// `x` and a strictly larger `y` (of exact duplicates, one is kept). Points
/// with a non-finite coordinate are ignored.
pub fn frontier(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_finite() && points[i].1.is_finite())
        .collect();
    // Largest x first; among equal x, largest y first.
    order.sort_by(|&a, &b| {
        points[b]
            .0
            .total_cmp(&points[a].0)
            .then(points[b].1.total_cmp(&points[a].1))
    });
    let mut best_y = f64::NEG_INFINITY;
    let mut kept = Vec::new();
    for i in order {
        if points[i].1 > best_y {
            best_y = points[i].1;
            kept.push(i);
        }
    }
    kept.reverse();
    kept
}

/// The largest `y` among points whose `x` is at least `min_x` (the best
/// throughput at a recall of at least `min_x`); `None` when no point reaches
/// it.
pub fn best_y_at(points: &[(f64, f64)], min_x: f64) -> Option<f64> {
    points
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite() && p.0 >= min_x)
        .map(|p| p.1)
        .max_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontier_drops_dominated_points() {
        // (recall, qps)
        let pts = [
            (0.5, 1000.0), // frontier
            (0.4, 900.0),  // dominated by (0.5, 1000)
            (0.9, 500.0),  // frontier
            (0.8, 400.0),  // dominated by (0.9, 500)
            (1.0, 100.0),  // frontier
            (1.0, 50.0),   // dominated (same x, lower y)
            (f64::NAN, 1e9),
        ];
        assert_eq!(frontier(&pts), vec![0, 2, 4]);
        assert!(frontier(&[]).is_empty());
    }

    #[test]
    fn best_y_respects_threshold() {
        let pts = [(0.89, 5000.0), (0.91, 2000.0), (0.96, 800.0), (0.99, 100.0)];
        assert_eq!(best_y_at(&pts, 0.90), Some(2000.0));
        assert_eq!(best_y_at(&pts, 0.95), Some(800.0));
        assert_eq!(best_y_at(&pts, 0.99), Some(100.0));
        assert_eq!(best_y_at(&pts, 0.999), None);
    }
}
