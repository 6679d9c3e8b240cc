//! Neighbour selection by the paper's heuristic (Algorithm 4): keep a
//! candidate only if it is closer to the base than to every neighbour kept so
//! far, so links spread in different directions instead of piling into one
//! cluster; optionally back-fill with pruned candidates up to `max`.

use super::graph::NodeId;
use super::search::Candidate;

/// Picks at most `max` neighbours from `candidates` (sorted ascending by
/// distance to the base node), writing them into `out`; `between` is the
/// distance between two candidates.
pub fn select_neighbors(
    between: impl Fn(NodeId, NodeId) -> f32,
    candidates: &[Candidate],
    max: usize,
    keep_pruned: bool,
    out: &mut Vec<Candidate>,
) {
    out.clear();
    if candidates.len() <= max {
        out.extend_from_slice(candidates);
        return;
    }
    let mut pruned: Vec<Candidate> = Vec::new();
    for &c in candidates {
        if out.len() >= max {
            break;
        }
        let diverse = out
            .iter()
            .all(|kept| between(c.item, kept.item) > c.distance);
        if diverse {
            out.push(c);
        } else if keep_pruned {
            pruned.push(c);
        }
    }
    if keep_pruned {
        let room = max - out.len();
        out.extend(pruned.into_iter().take(room));
    }
}

/// Node numbers of `selected`, in order.
pub fn node_ids(selected: &[Candidate], out: &mut Vec<NodeId>) {
    out.clear();
    out.extend(selected.iter().map(|c| c.item));
}
