"""omenbench worker for faiss-cpu IndexHNSWFlat (the `faiss-hnsw` algorithm).

Build parameters m and ef_construction (hnsw.efConstruction); query
parameter ef (hnsw.efSearch, no rebuild). euclidean -> METRIC_L2; angular ->
vectors normalised, METRIC_INNER_PRODUCT; ip -> METRIC_INNER_PRODUCT.
Protocol: harness/src/sweep/adapters/python.rs; loop: harness/python/omenbench_worker.py.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The shared loop lives in harness/python (the harness also puts that folder
# on PYTHONPATH; this line lets the script run by hand too).
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import omenbench_worker  # noqa: E402

# This folder must not shadow the library (hnswlib.py vs the hnswlib package).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]


class FaissHnsw:
    def __init__(self):
        import faiss
        import numpy

        self.faiss = faiss
        self.np = numpy
        self.index = None
        self.normalize = False

    def library(self):
        return f"faiss-cpu {self.faiss.__version__}"

    def prepare(self, x):
        if self.normalize:
            x = self.np.array(x, dtype=self.np.float32, copy=True)
            self.faiss.normalize_L2(x)
        return x

    def build(self, train, metric, params, threads):
        faiss = self.faiss
        if metric == "euclidean":
            kind = faiss.METRIC_L2
        elif metric in ("angular", "ip"):
            kind = faiss.METRIC_INNER_PRODUCT
            self.normalize = metric == "angular"
        else:
            raise ValueError(f"metric {metric!r} not supported")
        faiss.omp_set_num_threads(threads)
        index = faiss.IndexHNSWFlat(train.shape[1], params["m"], kind)
        index.hnsw.efConstruction = params["ef_construction"]
        index.add(self.prepare(train))
        self.index = index

    def set_query_params(self, params):
        self.index.hnsw.efSearch = params["ef"]

    def batch(self, queries, k, threads):
        self.faiss.omp_set_num_threads(threads)
        _, ids = self.index.search(self.prepare(queries), k)
        return ids

    def one(self, query, k):
        _, ids = self.index.search(self.prepare(query.reshape(1, -1)), k)
        return ids[0]


if __name__ == "__main__":
    omenbench_worker.serve(FaissHnsw)
