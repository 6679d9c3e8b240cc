"""Recall against NumPy brute force on 10k vectors, for every kind and
metric the graph kinds support."""

import numpy as np
import pytest

import omendb
from conftest import brute_force, clustered, recall

N, DIMS, NQ, K = 10_000, 32, 200, 10


@pytest.fixture(scope="module")
def data():
    return clustered(N, DIMS, seed=11), clustered(NQ, DIMS, seed=12)


# Inner product is not a metric (a point need not be its own nearest
# neighbour), so a graph over it reaches a little less at the same ef.
@pytest.mark.parametrize("metric,floor", [("l2", 0.95), ("cosine", 0.95), ("ip", 0.9)])
def test_hnsw_recall(metric, floor, data):
    train, queries = data
    index = omendb.Index(DIMS, metric=metric, kind="hnsw", m=16, ef_construction=200, seed=1)
    # One thread: a seeded single-threaded build is reproducible, so the
    # floor judges the engine, not the thread schedule (parallel builds of
    # the inner-product case spread over 0.897-0.914).
    index.add(train, threads=1)
    truth, _ = brute_force(train, queries, K, metric)
    ids, _ = index.search(queries, k=K, ef=128)
    r = recall(ids, truth)
    assert r >= floor, f"hnsw {metric} recall@10 at ef=128: {r:.3f}"


def test_flat_is_exact(data):
    train, queries = data
    index = omendb.Index(DIMS, kind="flat")
    index.add(train)
    truth, truth_dist = brute_force(train, queries, K)
    ids, dist = index.search(queries, k=K)
    assert recall(ids, truth) >= 0.999  # ties may order differently
    assert np.allclose(dist, truth_dist, rtol=1e-3, atol=1e-3)


def test_hnsw_pq_recall_with_rerank(data):
    train, queries = data
    index = omendb.Index(DIMS, kind="hnsw-pq", m=16, ef_construction=200, seed=1, pq_m=8)
    index.add(train)
    truth, _ = brute_force(train, queries, K)
    ids, _ = index.search(queries, k=K, ef=128, rerank=128)
    assert recall(ids, truth) >= 0.9
    # Without re-ranking the PQ estimate alone ranks, and recall drops.
    ids0, _ = index.search(queries, k=K, ef=128, rerank=0)
    assert recall(ids0, truth) < recall(ids, truth)
