"""Filtered search from Python: only allowed ids come back, recall under
filters of 10% and 1% of the ids holds against NumPy brute force, short
rows are padded, and bad filters raise."""

import numpy as np
import pytest

import omendb
from conftest import brute_force, clustered, recall

N, DIMS, NQ, K = 5_000, 16, 50, 10


@pytest.fixture(scope="module")
def data():
    return clustered(N, DIMS, seed=21), clustered(NQ, DIMS, seed=22)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw-pq"])
@pytest.mark.parametrize("selectivity", [0.1, 0.01])
def test_filtered_recall(kind, selectivity, data):
    train, queries = data
    index = omendb.Index(DIMS, kind=kind, m=16, ef_construction=100, seed=3, pq_m=8)
    index.add(train)
    rng = np.random.default_rng(5)
    allowed = np.sort(rng.choice(N, int(N * selectivity), replace=False))
    ids, dist = index.search(queries, k=K, ef=64, filter=allowed)
    assert np.isin(ids, allowed).all(), "an id outside the filter came back"
    truth, _ = brute_force(train[allowed], queries, K)
    r = recall(ids, allowed[truth])
    floor = 0.9 if kind == "hnsw-pq" else 0.95
    assert r >= floor, f"{kind} recall@10 under a {selectivity:.0%} filter: {r:.3f}"


def test_short_rows_are_padded_and_empty_filters_return_nothing(data):
    train, queries = data
    index = omendb.Index(DIMS, kind="hnsw", seed=3)
    index.add(train)
    ids, dist = index.search(queries[0], k=K, filter=[3, 7])
    assert sorted(ids[:2]) == [3, 7]
    assert (ids[2:] == -1).all() and np.isinf(dist[2:]).all()
    ids, _ = index.search(queries, k=K, filter=np.array([], dtype=np.int64))
    assert (ids == -1).all()
    plain, _ = index.search(queries, k=K)
    everything, _ = index.search(queries, k=K, filter=np.arange(N))
    assert recall(everything, plain) >= 0.99


def test_bad_filters_raise(data):
    train, queries = data
    index = omendb.Index(DIMS, kind="hnsw", seed=3)
    index.add(train[:500])
    with pytest.raises(ValueError, match="non-negative"):
        index.search(queries[0], k=K, filter=[-1])
    with pytest.raises(ValueError, match="integers"):
        index.search(queries[0], k=K, filter=[0.5])
    with pytest.raises(ValueError, match="1-D"):
        index.search(queries[0], k=K, filter=[[1, 2]])
