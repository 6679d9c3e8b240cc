"""ann-benchmarks adapter for OmenDB (`import omendb`, the wheel built from
python/ of the OmenDB repository).

Copy this folder to ann_benchmarks/algorithms/omendb/ of an ann-benchmarks
checkout. Metrics: ann-benchmarks' `euclidean` and `angular` (and `ip`).
"""

import numpy as np

import omendb

try:  # inside an ann-benchmarks checkout
    from ..base.module import BaseANN
except ImportError:  # standalone (this repository's tests)

    class BaseANN:
        """The part of ann-benchmarks' BaseANN this adapter relies on."""

        def done(self):
            pass

        def get_additional(self):
            return {}

        def get_batch_results(self):
            return self.res


METRICS = {"euclidean": "l2", "angular": "cosine", "ip": "ip"}


class OmenDB(BaseANN):
    """OmenDB's HNSW index. Build: `M`, `efConstruction`; query: `ef`."""

    kind = "hnsw"

    def __init__(self, metric, method_param):
        if metric not in METRICS:
            raise ValueError(f"omendb: metric {metric!r} not supported (expected one of {sorted(METRICS)})")
        self.metric = METRICS[metric]
        self.method_param = dict(method_param)
        self.m = int(method_param.get("M", 16))
        self.ef_construction = int(method_param.get("efConstruction", 200))
        self.ef = None
        self.rerank = None
        self.index = None
        self.res = None
        self.name = f"omendb ({self.kind}, {self.method_param})"

    def _make(self, dims):
        return omendb.Index(dims, metric=self.metric, kind=self.kind, m=self.m, ef_construction=self.ef_construction)

    def fit(self, X):
        X = np.ascontiguousarray(X, dtype=np.float32)
        self.index = self._make(X.shape[1])
        self.index.add(X)  # ids 0..n-1, as ann-benchmarks expects

    def set_query_arguments(self, ef):
        self.ef = int(ef)
        self.name = f"omendb ({self.kind}, {self.method_param}, ef={self.ef})"

    def _k(self, n):
        return min(int(n), len(self.index))

    def query(self, v, n):
        ids, _ = self.index.search(v, k=self._k(n), ef=self.ef, rerank=self.rerank)
        return ids[ids >= 0]

    def batch_query(self, X, n):
        ids, _ = self.index.search(X, k=self._k(n), ef=self.ef, rerank=self.rerank)
        self.res = ids

    def get_batch_results(self):
        # ann-benchmarks drops padding itself only for -1 in some paths; give
        # it ragged rows without padding to be safe.
        return [row[row >= 0] for row in self.res]

    def get_memory_usage(self):
        """The index's own RAM accounting in KiB (0 before `fit`)."""
        if self.index is None or self.index.closed:
            return 0
        return self.index.memory_usage()["ram_total"] / 1024

    def done(self):
        if self.index is not None:
            self.index.close()

    def __str__(self):
        return self.name


class OmenDBPQ(OmenDB):
    """OmenDB's HNSW navigated by PQ codes and re-ranked exactly. Build:
    `M`, `efConstruction`, `pq_m`; query: `ef`, `rerank`."""

    kind = "hnsw-pq"

    def __init__(self, metric, method_param):
        super().__init__(metric, method_param)
        self.pq_m = method_param.get("pq_m")

    def _make(self, dims):
        return omendb.Index(
            dims,
            metric=self.metric,
            kind=self.kind,
            m=self.m,
            ef_construction=self.ef_construction,
            pq_m=None if self.pq_m is None else int(self.pq_m),
        )

    def set_query_arguments(self, ef, rerank):
        self.ef = int(ef)
        self.rerank = int(rerank)
        self.name = f"omendb ({self.kind}, {self.method_param}, ef={self.ef}, rerank={self.rerank})"
