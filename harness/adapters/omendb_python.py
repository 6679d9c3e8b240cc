"""omenbench worker for OmenDB's own Python binding (the `omendb-python`
algorithm): the wheel built from python/ (scripts/python-wheel.sh --release
installs it into .venv), measured through the same worker loop as hnswlib's
and faiss's bindings, so the three bindings' per-call and batch overheads
sit side by side.

Build parameters m, ef_construction, seed; query parameter ef (no rebuild).
Metric: euclidean -> "l2", angular -> "cosine", ip -> "ip".
Protocol: harness/src/sweep/adapters/python.rs; loop: harness/python/omenbench_worker.py.

A wheel built with debug assertions (scripts/test.sh's) is refused, so no
figure is taken from it, unless the worker is started with
`--allow-checked-build` (python/tests/test_harness_worker.py does).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The shared loop lives in harness/python (the harness also puts that folder
# on PYTHONPATH; this line lets the script run by hand too).
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import omenbench_worker  # noqa: E402

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

METRICS = {"euclidean": "l2", "angular": "cosine", "ip": "ip"}
ALLOW_CHECKED = "--allow-checked-build" in sys.argv[1:]


class OmendbPython:
    def __init__(self):
        try:
            import omendb
        except ImportError as e:
            raise ImportError(f"{e}; build and install the wheel: scripts/python-wheel.sh --release") from e
        if omendb.BUILD != "release" and not ALLOW_CHECKED:
            raise RuntimeError(
                f"the omendb wheel in this venv is a {omendb.BUILD!r} build (scripts/test.sh makes one "
                "with debug assertions); benchmark a release build: scripts/python-wheel.sh --release"
            )
        self.omendb = omendb
        self.index = None
        self.ef = 64

    def library(self):
        build = "" if self.omendb.BUILD == "release" else f" ({self.omendb.BUILD} build)"
        return f"omendb-python {self.omendb.__version__}{build}"

    def build(self, train, metric, params, threads):
        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} not supported")
        index = self.omendb.Index(
            train.shape[1],
            metric=METRICS[metric],
            kind="hnsw",
            m=params["m"],
            ef_construction=params["ef_construction"],
            seed=params["seed"],
        )
        index.add(train, threads=threads)
        self.index = index

    def set_query_params(self, params):
        self.ef = params["ef"]

    def batch(self, queries, k, threads):
        ids, _ = self.index.search(queries, k=k, ef=self.ef, threads=threads)
        return ids

    def one(self, query, k):
        # A 1-D query runs on the calling thread.
        ids, _ = self.index.search(query, k=k, ef=self.ef)
        return ids


if __name__ == "__main__":
    omenbench_worker.serve(OmendbPython)
