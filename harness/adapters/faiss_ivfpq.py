"""omenbench worker for faiss-cpu IndexIVFPQ (the `faiss-ivfpq` algorithm),
the product-quantisation peer of omendb-hnsw-pq.

Build parameters: nlist (inverted lists), pq_m (sub-quantisers; must divide
the dimension), nbits (bits per code), refine (1: wrap in IndexRefineFlat,
which keeps the full vectors and re-ranks k_factor * k candidates exactly).
Query parameters: nprobe (lists visited), k_factor (ignored when refine = 0).
Query time: the one-thread passes use omp 1 thread, as the others do.
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

# k-means trains on at most this many vectors per list (faiss's own cap).
TRAIN_PER_LIST = 256


class FaissIvfPq:
    def __init__(self):
        import faiss
        import numpy

        self.faiss = faiss
        self.np = numpy
        self.index = None
        self.ivf = None
        self.refine = None
        self.normalize = False

    def library(self):
        return f"faiss-cpu {self.faiss.__version__}"

    def prepare(self, x):
        if self.normalize:
            x = self.np.array(x, dtype=self.np.float32, copy=True)
            self.faiss.normalize_L2(x)
        return x

    def build(self, train, metric, params, threads):
        faiss, np = self.faiss, self.np
        n, dims = train.shape
        nlist, pq_m, nbits = params["nlist"], params["pq_m"], params["nbits"]
        if dims % pq_m != 0:
            raise ValueError(f"pq_m {pq_m} does not divide the dimension {dims}")
        if nlist > n:
            raise ValueError(f"nlist {nlist} is more than the {n} train vectors")
        if metric == "euclidean":
            kind = faiss.METRIC_L2
            quantizer = faiss.IndexFlatL2(dims)
        elif metric in ("angular", "ip"):
            kind = faiss.METRIC_INNER_PRODUCT
            quantizer = faiss.IndexFlatIP(dims)
            self.normalize = metric == "angular"
        else:
            raise ValueError(f"metric {metric!r} not supported")
        faiss.omp_set_num_threads(threads)
        x = self.prepare(train)
        ivf = faiss.IndexIVFPQ(quantizer, dims, nlist, pq_m, nbits, kind)
        index = faiss.IndexRefineFlat(ivf) if params["refine"] else ivf
        cap = max(nlist, 1 << nbits) * TRAIN_PER_LIST
        sample = x if n <= cap else x[np.random.default_rng(1).choice(n, cap, replace=False)]
        index.train(sample)
        index.add(x)
        self.quantizer = quantizer  # faiss does not own it from Python
        self.ivf = ivf
        self.index = index
        self.refine = params["refine"]

    def set_query_params(self, params):
        self.ivf.nprobe = params["nprobe"]
        if self.refine:
            self.index.k_factor = float(params["k_factor"])

    def batch(self, queries, k, threads):
        self.faiss.omp_set_num_threads(threads)
        _, ids = self.index.search(self.prepare(queries), k)
        return ids

    def one(self, query, k):
        _, ids = self.index.search(self.prepare(query.reshape(1, -1)), k)
        return ids[0]


if __name__ == "__main__":
    omenbench_worker.serve(FaissIvfPq)
