"""Round trips through every kind in RAM: add, search, remove, update,
len / dims / metric / kind / memory_usage, single and batched queries."""

import numpy as np
import pytest

import omendb
from conftest import brute_force

KINDS = ["flat", "hnsw", "hnsw-pq"]


def make(kind, dims=16, metric="l2"):
    return omendb.Index(dims, metric=metric, kind=kind, m=16, ef_construction=100, seed=7, pq_m=8)


@pytest.mark.parametrize("kind", KINDS)
def test_add_search_roundtrip(kind, small):
    data, queries = small
    index = make(kind)
    ids = np.arange(1000, 1000 + len(data), dtype=np.int64)
    returned = index.add(data, ids)
    assert returned.dtype == np.int64 and np.array_equal(returned, ids)
    assert len(index) == len(data)
    assert index.dims == 16 and index.metric == "l2" and index.kind == kind

    found, dist = index.search(queries, k=10, ef=100)
    assert found.shape == (len(queries), 10) and found.dtype == np.int64
    assert dist.shape == (len(queries), 10) and dist.dtype == np.float32
    assert np.all(np.diff(dist, axis=1) >= 0), "distances sorted ascending"
    # Every vector finds itself first, at distance ~0.
    self_ids, self_dist = index.search(data[:20], k=1, ef=100)
    assert np.array_equal(self_ids[:, 0], ids[:20])
    assert np.allclose(self_dist[:, 0], 0.0, atol=1e-3)
    # Distances are squared L2, as brute force computes them.
    truth_ids, truth_dist = brute_force(data, queries, 10)
    assert np.allclose(dist[:, 0], truth_dist[:, 0], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("kind", KINDS)
def test_single_query_is_1d(kind, small):
    data, queries = small
    index = make(kind)
    index.add(data)
    ids, dist = index.search(queries[0], k=5)
    assert ids.shape == (5,) and dist.shape == (5,)
    batch_ids, _ = index.search(queries[:1], k=5)
    assert np.array_equal(ids, batch_ids[0])


def test_auto_ids_number_from_len(small):
    data, _ = small
    index = make("hnsw")
    assert np.array_equal(index.add(data[:10]), np.arange(10))
    assert np.array_equal(index.add(data[10:15]), np.arange(10, 15))
    assert np.array_equal(index.add(data[15]), [15])  # one 1-D vector
    assert len(index) == 16


@pytest.mark.parametrize("kind", ["hnsw", "hnsw-pq"])
def test_remove_and_update(kind, small):
    data, _ = small
    index = make(kind)
    index.add(data)
    index.remove([0, 1, 2])
    index.remove(3)
    assert len(index) == len(data) - 4
    assert 0 not in index and 4 in index
    ids, _ = index.search(data[:4], k=5, ef=100)
    assert not set(ids.ravel()) & {0, 1, 2, 3}

    # Update moves vector 10 onto vector 20's place.
    index.update(data[20:21], [10])
    ids, dist = index.search(data[20], k=2, ef=100)
    assert set(ids) == {10, 20} and np.allclose(dist, 0.0, atol=1e-3)
    # Update of an absent id adds it.
    index.update(data[30:31], np.array([999_999], dtype=np.uint64))
    assert 999_999 in index and len(index) == len(data) - 3


def test_flat_removes_and_updates(small):
    data, _ = small
    index = make("flat")
    index.add(data[:10])
    index.remove([1])
    assert 1 not in index and len(index) == 9
    index.update(data[:1], [2])
    ids, dist = index.search(data[0], k=2)
    assert set(ids.tolist()) == {0, 2} and np.allclose(dist, 0.0, atol=1e-3)


@pytest.mark.parametrize("metric", ["l2", "cosine", "ip"])
def test_metric_names_and_distances(metric, small):
    data, queries = small
    index = omendb.Index(16, metric=metric, kind="flat")
    index.add(data)
    assert index.metric == metric
    ids, dist = index.search(queries, k=5)
    truth_ids, truth_dist = brute_force(data, queries, 5, metric)
    assert np.array_equal(ids, truth_ids)
    assert np.allclose(dist, truth_dist, rtol=1e-3, atol=1e-3)


def test_metric_aliases():
    assert omendb.Index(4, metric="euclidean").metric == "l2"
    assert omendb.Index(4, metric="angular").metric == "cosine"
    assert omendb.Index(4, metric="dot").metric == "ip"


@pytest.mark.parametrize("kind", KINDS)
def test_memory_usage(kind, small):
    data, _ = small
    index = make(kind)
    index.add(data)
    usage = index.memory_usage()
    assert set(usage) == {"vectors", "graph", "codes", "ids", "other", "disk", "ram_total"}
    assert usage["ram_total"] == sum(usage[k] for k in ("vectors", "graph", "codes", "ids", "other"))
    assert usage["vectors"] >= data.nbytes
    if kind == "hnsw-pq":
        assert usage["codes"] >= len(data) * 8
    if kind != "flat":
        assert usage["graph"] > 0


def test_threads_argument_gives_same_results(small):
    data, queries = small
    a = make("hnsw")
    a.add(data, threads=1)
    ids1, _ = a.search(queries, k=10, threads=1)
    ids2, _ = a.search(queries, k=10, threads=2)
    ids3, _ = a.search(queries, k=10)
    assert np.array_equal(ids1, ids2) and np.array_equal(ids1, ids3)


def test_repr_and_constants():
    index = omendb.Index(8, kind="flat")
    assert "dims=8" in repr(index) and "flat" in repr(index)
    assert omendb.KINDS == ["flat", "hnsw", "hnsw-pq"]
    assert isinstance(omendb.__version__, str)


def test_close_in_ram():
    index = omendb.Index(4)
    index.add(np.eye(4, dtype=np.float32))
    with index as same:
        assert same is index
    assert index.closed
    with pytest.raises(ValueError, match="closed"):
        index.search(np.ones(4, dtype=np.float32), k=1)
    with pytest.raises(ValueError, match="closed"):
        len(index)
    index.close()  # twice is fine
