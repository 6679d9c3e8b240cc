"""omenbench worker for hnswlib (the `hnswlib` algorithm).

Build parameters m and ef_construction; query parameter ef (set_ef, no
rebuild). Metric: euclidean -> space "l2", angular -> "cosine", ip -> "ip".
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

SPACES = {"euclidean": "l2", "angular": "cosine", "ip": "ip"}


class Hnswlib:
    def __init__(self):
        import hnswlib

        self.hnswlib = hnswlib
        self.index = None

    def library(self):
        from importlib.metadata import version

        return f"hnswlib {version('hnswlib')}"

    def build(self, train, metric, params, threads):
        if metric not in SPACES:
            raise ValueError(f"metric {metric!r} not supported")
        n, dims = train.shape
        index = self.hnswlib.Index(space=SPACES[metric], dim=dims)
        index.init_index(max_elements=n, M=params["m"], ef_construction=params["ef_construction"], random_seed=100)
        index.add_items(train, list(range(n)), num_threads=threads)
        self.index = index

    def set_query_params(self, params):
        self.index.set_ef(params["ef"])

    def batch(self, queries, k, threads):
        labels, _ = self.index.knn_query(queries, k=k, num_threads=threads)
        return labels

    def one(self, query, k):
        labels, _ = self.index.knn_query(query, k=k, num_threads=1)
        return labels


if __name__ == "__main__":
    omenbench_worker.serve(Hnswlib)
