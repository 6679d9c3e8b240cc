"""Shared data and helpers for the omendb binding's tests.

Run by scripts/test.sh (the README's test command) after
scripts/python-wheel.sh has installed the wheel into .venv.
"""

import numpy as np
import pytest


def clustered(n, dims, seed, centers=32, spread=0.15):
    """Gaussian clusters in [0, 1)^dims, float32, C-contiguous."""
    rng = np.random.default_rng(seed)
    c = rng.random((centers, dims), dtype=np.float32)
    labels = rng.integers(0, centers, n)
    x = c[labels] + spread * rng.standard_normal((n, dims), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


def brute_force(data, queries, k, metric="l2"):
    """Exact neighbours by NumPy: ids (int64[nq, k]) and distances as the
    engine reports them (squared L2, 1 - cos, -dot)."""
    data = data.astype(np.float64)
    queries = queries.astype(np.float64)
    if metric == "l2":
        d = (queries**2).sum(1)[:, None] - 2 * queries @ data.T + (data**2).sum(1)[None, :]
    elif metric == "cosine":
        dn = data / np.linalg.norm(data, axis=1, keepdims=True)
        qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        d = 1.0 - qn @ dn.T
    else:
        d = -(queries @ data.T)
    ids = np.argsort(d, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(d, ids, axis=1)


def recall(found, truth):
    """Mean fraction of each row of `truth` present in the same row of `found`."""
    k = truth.shape[1]
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found.tolist(), truth.tolist())]))


@pytest.fixture(scope="session")
def small():
    """2,000 × 16 clustered vectors and 50 queries."""
    return clustered(2000, 16, seed=1), clustered(50, 16, seed=2)
