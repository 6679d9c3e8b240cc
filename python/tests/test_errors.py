"""Every bad input raises the right exception with the engine's message,
never a crash (a PanicException would be a BaseException, not Exception)."""

import numpy as np
import pytest

import omendb


@pytest.fixture
def index():
    idx = omendb.Index(4, kind="hnsw", seed=1)
    idx.add(np.random.default_rng(0).random((20, 4), dtype=np.float32))
    return idx


def test_wrong_dimension(index):
    with pytest.raises(ValueError, match="dimension mismatch: index has 4 dimensions, got 5"):
        index.add(np.ones((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="dimension mismatch"):
        index.search(np.ones((2, 6), dtype=np.float32))
    with pytest.raises(ValueError, match="dimension mismatch"):
        index.search(np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="1-D vector or a 2-D array"):
        index.search(np.ones((2, 2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="1-D vector or a 2-D array"):
        index.add(np.float32(1.0))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite(index, bad):
    v = np.ones((3, 4), dtype=np.float32)
    v[1, 2] = bad
    with pytest.raises(ValueError, match="non-finite value .* at component 2 of vector 1"):
        index.add(v, [100, 101, 102])
    assert len(index) == 20, "nothing added"
    with pytest.raises(ValueError, match="non-finite"):
        index.search(v, k=1)


def test_k_out_of_range(index):
    q = np.ones(4, dtype=np.float32)
    with pytest.raises(ValueError, match="k must be at least 1"):
        index.search(q, k=0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        index.search(q, k=-3)
    with pytest.raises(ValueError, match="k = 21 exceeds the 20 vectors"):
        index.search(q, k=21)


def test_empty_index_and_batches():
    idx = omendb.Index(4)
    with pytest.raises(ValueError, match="the index is empty"):
        idx.search(np.ones(4, dtype=np.float32), k=1)
    with pytest.raises(ValueError, match="empty batch"):
        idx.add(np.ones((0, 4), dtype=np.float32))
    idx.add(np.ones((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="empty batch"):
        idx.search(np.ones((0, 4), dtype=np.float32), k=1)


def test_ids(index):
    v = np.ones((2, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="duplicate id 3"):
        index.add(v, [3, 50])
    with pytest.raises(ValueError, match="duplicate id 60"):
        index.add(v, [60, 60])
    with pytest.raises(ValueError, match="got 3 ids for 2 vectors"):
        index.add(v, [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        index.add(v, [-1, 70])
    with pytest.raises(ValueError, match="integers"):
        index.add(v, [1.5, 2.5])
    with pytest.raises(ValueError, match="at most"):
        index.add(v, np.array([2**63, 1], dtype=np.uint64))
    with pytest.raises(ValueError, match="unknown id 999"):
        index.remove([1, 999])
    assert 1 in index, "nothing removed when one id is unknown"
    assert len(index) == 20


def test_parameters():
    with pytest.raises(ValueError, match="dims must be at least 1"):
        omendb.Index(0)
    with pytest.raises(ValueError, match="dims must be at least 1"):
        omendb.Index(-4)
    with pytest.raises(ValueError, match="unknown metric `hamming`"):
        omendb.Index(4, metric="hamming")
    with pytest.raises(ValueError, match="unknown kind"):
        omendb.Index(4, kind="ivf")
    with pytest.raises(ValueError, match="invalid parameter `m`"):
        omendb.Index(4, m=1000)
    with pytest.raises(ValueError, match="m must be at least 2"):
        omendb.Index(4, m=1)
    with pytest.raises(ValueError, match="ef_construction"):
        omendb.Index(4, m=16, ef_construction=4)
    with pytest.raises(ValueError, match="pq_m|`m`"):
        omendb.Index(4, kind="hnsw-pq", pq_m=9)
    with pytest.raises(ValueError, match="seed"):
        omendb.Index(4, seed=-1)


def test_search_parameters(index):
    q = np.ones(4, dtype=np.float32)
    with pytest.raises(ValueError, match="ef must be at least 1"):
        index.search(q, k=1, ef=0)
    with pytest.raises(ValueError, match="rerank must be at least 0"):
        index.search(q, k=1, rerank=-1)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        index.search(q, k=1, threads=0)


def test_pq_needs_enough_training_rows():
    idx = omendb.Index(8, kind="hnsw-pq", pq_m=4)
    with pytest.raises(ValueError, match="256"):
        idx.add(np.ones((10, 8), dtype=np.float32))


def test_unconvertible_input(index):
    with pytest.raises(ValueError):
        index.add([["a", "b", "c", "d"]])
    with pytest.raises((ValueError, TypeError)):
        index.search(object())
