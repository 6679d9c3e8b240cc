"""Per-call cost of each Python binding when the search itself is nearly
free (1,000 × 16 vectors, k = 1, ef = 1): what a Python caller pays per
query on top of the engine. Run with the venv's Python after
scripts/python-wheel.sh --release:

    .venv/bin/python reports/python-bindings-100k/overhead.py

Prints µs per single-query call, for each binding, per repeat; the bindings
are interleaved within each repeat so background load hits them alike.
"""

import time

import faiss
import hnswlib
import numpy as np

import omendb

N, D, CALLS, REPEATS = 1000, 16, 20_000, 5
rng = np.random.default_rng(0)
x = rng.random((N, D), dtype=np.float32)
q = x[7].copy()

o = omendb.Index(D, kind="hnsw", m=16, ef_construction=100, seed=1)
o.add(x)
h = hnswlib.Index(space="l2", dim=D)
h.init_index(max_elements=N, M=16, ef_construction=100, random_seed=1)
h.add_items(x, np.arange(N))
h.set_ef(1)
f = faiss.IndexHNSWFlat(D, 16)
f.hnsw.efConstruction = 100
f.add(x)
f.hnsw.efSearch = 1
faiss.omp_set_num_threads(1)
q2 = q.reshape(1, -1)

calls = {
    "omendb-python": lambda: o.search(q, k=1, ef=1),
    "hnswlib": lambda: h.knn_query(q, k=1, num_threads=1),
    "faiss-hnsw": lambda: f.search(q2, 1),
}
assert o.search(q, k=1, ef=1)[0][0] == 7
results = {name: [] for name in calls}
for _ in range(REPEATS):
    for name, call in calls.items():
        t0 = time.perf_counter()
        for _ in range(CALLS):
            call()
        results[name].append((time.perf_counter() - t0) / CALLS * 1e6)
print(f"omendb {omendb.__version__} ({omendb.BUILD}), hnswlib 0.8.0, faiss {faiss.__version__}")
for name, us in results.items():
    print(f"{name:14s} µs/call: " + " ".join(f"{u:.2f}" for u in us) + f"  (best {min(us):.2f})")
