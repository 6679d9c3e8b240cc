"""Example omenbench worker script brought in from a config (not built in):
faiss-cpu `IndexIVFFlat`, an inverted file over k-means cells with exact
distances inside the cells probed.

Config entry (see harness/configs/plug-100k.json):

    {"name": "faiss-ivfflat", "worker": "harness/examples/workers/faiss_ivfflat.py",
     "build": {"nlist": 1024}, "query": {"nprobe": [4, 8, 16, 32]}}

Build parameter `nlist` (cells, default 1024); query parameter `nprobe`
(cells searched, default 8). euclidean -> METRIC_L2; angular -> vectors
normalised, METRIC_INNER_PRODUCT; ip -> METRIC_INNER_PRODUCT. The harness puts
harness/python on PYTHONPATH, so `omenbench_worker` imports as is.
"""

import omenbench_worker


class FaissIvfFlat:
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
        nlist = int(params.get("nlist", 1024))
        if nlist < 1 or nlist > len(train):
            raise ValueError(f"nlist {nlist} must be in 1..={len(train)}")
        faiss.omp_set_num_threads(threads)
        dims = train.shape[1]
        quantizer = faiss.IndexFlat(dims, kind)
        index = faiss.IndexIVFFlat(quantizer, dims, nlist, kind)
        data = self.prepare(train)
        index.train(data)
        index.add(data)
        self.quantizer = quantizer  # the IVF index borrows it
        self.index = index

    def set_query_params(self, params):
        nprobe = int(params.get("nprobe", 8))
        if nprobe < 1:
            raise ValueError(f"nprobe {nprobe} must be at least 1")
        self.index.nprobe = nprobe

    def batch(self, queries, k, threads):
        self.faiss.omp_set_num_threads(threads)
        _, ids = self.index.search(self.prepare(queries), k)
        return ids

    def one(self, query, k):
        self.faiss.omp_set_num_threads(1)
        _, ids = self.index.search(self.prepare(query.reshape(1, -1)), k)
        return ids[0]


if __name__ == "__main__":
    omenbench_worker.serve(FaissIvfFlat)
