//! Graph traversal: greedy descent through the upper layers and the beam
//! search of one layer (the paper's Algorithm 2).

use std::cmp::Reverse;

use super::graph::{Graph, NodeId};
use super::scorer::Scorer;
use super::scratch::Scratch;
use crate::topk::Scored;

/// A node with its distance to the query.
pub type Candidate = Scored<NodeId>;

/// Greedy walk on `layer` from `start` to a local minimum.
pub fn greedy_closest<S: Scorer>(
    graph: &Graph,
    scorer: &S,
    start: Candidate,
    layer: usize,
) -> Candidate {
    let mut best = start;
    loop {
        let mut improved = false;
        graph.for_each_neighbor(best.item, layer, |n| {
            let d = scorer.score(n);
            if d < best.distance {
                best = Candidate {
                    distance: d,
                    item: n,
                };
                improved = true;
            }
        });
        if !improved {
            return best;
        }
    }
}

/// Descends from the entry point down to (and excluding) `target_layer`,
/// greedily, returning the closest node found.
pub fn descend<S: Scorer>(
    graph: &Graph,
    scorer: &S,
    entry: NodeId,
    entry_level: usize,
    target_layer: usize,
) -> Candidate {
    let mut cur = Candidate {
        distance: scorer.score(entry),
        item: entry,
    };
    for layer in (target_layer + 1..=entry_level).rev() {
        cur = greedy_closest(graph, scorer, cur, layer);
    }
    cur
}

/// Beam search of width `ef` on `layer` from `entries`, leaving up to `ef`
/// nodes in `out` sorted by distance, ascending. Nodes `accept` refuses
/// (deleted ones, ones a filter excludes) are walked through but never
/// returned, and do not count towards `ef`. `scratch` must have
/// been reset for this search (the visited set is shared across layers of
/// one insert only when the caller wants that).
#[allow(clippy::too_many_arguments)]
pub fn search_layer<S: Scorer, A: Fn(NodeId) -> bool>(
    graph: &Graph,
    scorer: &S,
    entries: &[Candidate],
    ef: usize,
    layer: usize,
    scratch: &mut Scratch,
    accept: A,
    out: &mut Vec<Candidate>,
) {
    begin_layer(entries, ef, scratch, &accept);
    expand(graph, scorer, ef, layer, scratch, accept);
    finish_layer(scratch, out);
}

/// [`search_layer`] for a search that may return every node it meets
/// (no filter, no deleted node; construction), on the sorted pool
/// (`pool.rs`) instead of the two heaps: the same nodes expanded in the
/// same order, for less work per scored node.
pub fn search_layer_all<S: Scorer>(
    graph: &Graph,
    scorer: &S,
    entries: &[Candidate],
    ef: usize,
    layer: usize,
    scratch: &mut Scratch,
    out: &mut Vec<Candidate>,
) {
    let Scratch {
        visited,
        pool,
        fresh,
        ..
    } = scratch;
    pool.reset(ef);
    for &e in entries {
        if !visited.check_and_mark(e.item) {
            pool.insert(e.distance, e.item);
        }
    }
    while let Some(c) = pool.pop() {
        if layer == 0 {
            // Most often the next node expanded: its list loads while
            // this one's neighbours are scored.
            if let Some(next) = pool.peek() {
                graph.prefetch_links(next);
            }
        }
        fresh.clear();
        graph.for_each_neighbor(c, layer, |n| {
            if !visited.check_and_mark(n) {
                scorer.prefetch(n);
                fresh.push(n);
            }
        });
        for &n in fresh.iter() {
            let d = scorer.score(n);
            // A node that becomes the next to expand: its list loads
            // while the rest are scored.
            if d < pool.bound() && pool.insert_first(d, n) == Some(true) && layer == 0 {
                graph.prefetch_links(n);
            }
        }
    }
    out.clear();
    out.extend(
        pool.iter()
            .map(|(distance, item)| Candidate { distance, item }),
    );
}

/// Seeds a beam search of width `ef` from `entries`.
fn begin_layer<A: Fn(NodeId) -> bool>(
    entries: &[Candidate],
    ef: usize,
    scratch: &mut Scratch,
    accept: &A,
) {
    let Scratch {
        visited,
        frontier,
        results,
        ..
    } = scratch;
    frontier.clear();
    results.clear();
    for &e in entries {
        if visited.check_and_mark(e.item) {
            continue;
        }
        frontier.push(Reverse(e));
        if accept(e.item) {
            results.push(e);
        }
    }
    while results.len() > ef {
        results.pop();
    }
}

/// Expands the frontier of a search seeded by [`begin_layer`] until no
/// candidate can improve the results.
fn expand<S: Scorer, A: Fn(NodeId) -> bool>(
    graph: &Graph,
    scorer: &S,
    ef: usize,
    layer: usize,
    scratch: &mut Scratch,
    accept: A,
) {
    let Scratch {
        visited,
        frontier,
        results,
        fresh,
        ..
    } = scratch;
    let mut bound = if results.len() >= ef {
        results.peek().map_or(f32::INFINITY, |w| w.distance)
    } else {
        f32::INFINITY
    };
    while let Some(Reverse(c)) = frontier.pop() {
        if c.distance > bound {
            return;
        }
        if layer == 0 {
            // Most often the next node expanded: its list loads while
            // this one's neighbours are scored.
            if let Some(Reverse(next)) = frontier.peek() {
                graph.prefetch_links(next.item);
            }
        }
        fresh.clear();
        graph.for_each_neighbor(c.item, layer, |n| {
            if !visited.check_and_mark(n) {
                scorer.prefetch(n);
                fresh.push(n);
            }
        });
        for &n in fresh.iter() {
            let d = scorer.score(n);
            if d < bound {
                let cand = Candidate {
                    distance: d,
                    item: n,
                };
                frontier.push(Reverse(cand));
                if accept(n) {
                    results.push(cand);
                    if results.len() > ef {
                        results.pop();
                    }
                    if results.len() >= ef {
                        bound = results.peek().map_or(f32::INFINITY, |w| w.distance);
                    }
                }
            }
        }
    }
}

/// Moves a finished search's results into `out`, closest first.
fn finish_layer(scratch: &mut Scratch, out: &mut Vec<Candidate>) {
    out.clear();
    out.extend(scratch.results.drain());
    out.sort_unstable();
}
