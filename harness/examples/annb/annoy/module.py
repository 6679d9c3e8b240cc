"""Example ann-benchmarks algorithm module for Annoy (PyPI `annoy`, pinned in
scripts/python-env.sh), written to ann-benchmarks' `BaseANN` interface so
that omenbench runs it through its generic worker (harness/adapters/annb.py)
exactly as it would run a module from an ann-benchmarks checkout.

Config entry (harness/configs/annb-annoy-10k.json):

    {"name": "annb:annoy", "annb_module": "harness/examples/annb/annoy/module.py",
     "constructor": "Annoy", "args": ["@metric", [50]],
     "query_args": [[1000, 5000, 20000]]}

Constructor: (metric, n_trees); query argument: search_k (nodes inspected
per query; -1 = Annoy's default, n_trees * k). ann-benchmarks metric names:
euclidean and angular map to Annoy's own; ip maps to "dot".
"""

import annoy

from ..base.module import BaseANN

METRICS = {"euclidean": "euclidean", "angular": "angular", "ip": "dot"}


class Annoy(BaseANN):
    def __init__(self, metric, n_trees):
        if metric not in METRICS:
            raise ValueError(f"metric {metric!r} not supported (known: {', '.join(METRICS)})")
        if not isinstance(n_trees, int) or n_trees < 1:
            raise ValueError(f"n_trees must be a positive integer, got {n_trees!r}")
        self._metric = METRICS[metric]
        self._n_trees = n_trees
        self._search_k = -1
        self._index = None

    def fit(self, X):
        index = annoy.AnnoyIndex(X.shape[1], self._metric)
        for i, row in enumerate(X):
            index.add_item(i, row.tolist())
        index.build(self._n_trees, n_jobs=-1)
        self._index = index

    def set_query_arguments(self, search_k):
        if not isinstance(search_k, int) or (search_k < 1 and search_k != -1):
            raise ValueError(f"search_k must be a positive integer or -1, got {search_k!r}")
        self._search_k = search_k

    def query(self, v, n):
        return self._index.get_nns_by_vector(v.tolist(), n, self._search_k)

    def __str__(self):
        return f"Annoy(n_trees={self._n_trees}, search_k={self._search_k})"
