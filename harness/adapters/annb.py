"""omenbench worker for ann-benchmarks algorithm modules (config entries with
`annb_module`): one generic adapter from ann-benchmarks' `BaseANN` interface
to the omenbench worker protocol.

    python annb.py <path/to/module.py> <ClassName>

The harness starts it with the entry's module and constructor. Per request:

* build: `args` from the config (one combination of the entry's `args`),
  with "@metric", "@dimension" and "@count" replaced by the dataset's metric
  (ann-benchmarks names: euclidean, angular; or ip), its dimension and k, as
  ann-benchmarks does; then `ClassName(*args)` and `fit(train)` (the timed
  build is both). `get_memory_usage()` before and after gives the index size
  in kB, as in ann-benchmarks.
* query: `set_query_arguments(*query_args)` (not called when the combination
  is empty); the one-query-per-call passes call `query(v, k)` (or, when the
  module has them, `prepare_query` / `run_prepared_query` /
  `get_prepared_query_results`); the batch passes call `batch_query(X, k)`
  then `get_batch_results()`, the single-thread one with every thread of the
  worker pinned to one CPU (as ann-benchmarks pins its single-query runs), so
  `BaseANN`'s thread pool or a library's own threads share that one core.
* library: the installed distributions the module imported, with versions.
* info (recorded with every result): the constructor, the arguments as passed
  to it and to `set_query_arguments`, `str(algo)` (ann-benchmarks' run name),
  `get_additional()` and the index size.
* quit: `done()`.

Errors become that run's error: a module that raises on import, a missing
class, a constructor or `set_query_arguments` that rejects its arguments.

Loading: a module inside an ann-benchmarks checkout (a parent folder
`ann_benchmarks` with an `__init__.py`) is imported by its dotted name with
the checkout on sys.path, so it gets that checkout's own `BaseANN`. Any other
file is loaded as a sub-package of `ann_benchmarks.algorithms`, and when no
real `ann_benchmarks` is importable a stand-in `BaseANN` (below) serves
`from ..base.module import BaseANN` and
`from ann_benchmarks.algorithms.base.module import BaseANN`.
"""

import importlib
import importlib.util
import json
import os
import re
import sys
import types
from multiprocessing.pool import ThreadPool

import omenbench_worker


class BaseANN:
    """Stand-in for ann-benchmarks' `BaseANN`, with its defaults: memory is
    the process's resident set in kB; `batch_query` maps `query` over a thread
    pool; `get_batch_results` returns what it stored."""

    def done(self):
        pass

    def get_memory_usage(self):
        rss = omenbench_worker._status_bytes("VmRSS")
        return None if rss is None else rss / 1024

    def fit(self, X):
        pass

    def query(self, q, n):
        return []

    def batch_query(self, X, n):
        with ThreadPool() as pool:
            self.res = pool.map(lambda q: self.query(q, n), X)

    def get_batch_results(self):
        return self.res

    def get_additional(self):
        return {}

    def __str__(self):
        return getattr(self, "name", type(self).__name__)


def _install_stand_in():
    try:
        importlib.import_module("ann_benchmarks.algorithms.base.module")
        return
    except ImportError:
        pass
    names = ["ann_benchmarks", "ann_benchmarks.algorithms", "ann_benchmarks.algorithms.base"]
    parent = None
    for name in names:
        pkg = types.ModuleType(name)
        pkg.__path__ = []
        sys.modules[name] = pkg
        if parent is not None:
            setattr(parent, name.rsplit(".", 1)[1], pkg)
        parent = pkg
    base = types.ModuleType("ann_benchmarks.algorithms.base.module")
    base.BaseANN = BaseANN
    sys.modules[base.__name__] = base
    parent.module = base


def _checkout(path):
    """(root, dotted name) when `path` lies in an ann-benchmarks checkout."""
    parts = path.split(os.sep)
    for i in range(len(parts) - 2, 0, -1):
        pkg = os.sep.join(parts[: i + 1])
        if parts[i] == "ann_benchmarks" and os.path.isfile(os.path.join(pkg, "__init__.py")):
            return os.sep.join(parts[:i]) or os.sep, ".".join(parts[i:])[: -len(".py")]
    return None


def load_module(path):
    """Imports the module file at `path` (see the module docs)."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ann-benchmarks module {path} not found")
    found = _checkout(path)
    try:
        if found is not None:
            root, dotted = found
            sys.path.insert(0, root)
            return importlib.import_module(dotted)
        _install_stand_in()
        folder = os.path.dirname(path)
        label = re.sub(r"\W", "_", os.path.basename(folder)) or "module"
        pkg_name = f"ann_benchmarks.algorithms._omenbench_{label}"
        pkg = types.ModuleType(pkg_name)
        pkg.__path__ = [folder]
        sys.modules[pkg_name] = pkg
        stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        spec = importlib.util.spec_from_file_location(f"{pkg_name}.{stem}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod
    except Exception as e:
        raise RuntimeError(f"importing {path} raised {type(e).__name__}: {e}") from e


def _library(mod, constructor):
    """The installed distributions whose packages `mod` imported."""
    from importlib.metadata import packages_distributions, version

    tops = set()
    for value in vars(mod).values():
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if isinstance(name, str):
            tops.add(name.split(".")[0])
    dists = packages_distributions()
    found = set()
    for top in tops:
        for dist in dists.get(top, []):
            try:
                found.add(f"{dist} {version(dist)}")
            except Exception:
                found.add(dist)
    return ", ".join(sorted(found)) or f"{constructor} (no installed package found)"


def _substitute(arg, values):
    if isinstance(arg, dict):
        return {k: _substitute(v, values) for k, v in arg.items()}
    if isinstance(arg, list):
        return [_substitute(a, values) for a in arg]
    if isinstance(arg, str) and arg in values:
        return values[arg]
    return arg


def _plain(value):
    """A JSON-safe copy (NumPy scalars and arrays included)."""

    def convert(x):
        if hasattr(x, "tolist"):
            return x.tolist()
        if hasattr(x, "item"):
            return x.item()
        return str(x)

    return json.loads(json.dumps(value, default=convert))


def _pin_to_one_cpu():
    """Pins every thread of the process to one of its CPUs (threads started
    later inherit it); returns what to restore. ann-benchmarks pins its
    single-query runs the same way."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    allowed = sorted(os.sched_getaffinity(0))
    one = {allowed[len(allowed) // 2]}
    saved = []
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]:
        try:
            tid = int(tid)
            saved.append((tid, os.sched_getaffinity(tid)))
            os.sched_setaffinity(tid, one)
        except OSError:  # the thread ended meanwhile
            pass
    return saved


def _restore(saved):
    for tid, cpus in saved:
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:
            pass


class AnnBenchmarksModule:
    def __init__(self, path, constructor):
        self.path = path
        self.constructor = constructor
        self.module = load_module(path)
        cls = getattr(self.module, constructor, None)
        if cls is None:
            defined = sorted(n for n, v in vars(self.module).items() if isinstance(v, type))
            raise RuntimeError(f"{path} has no `{constructor}` (it defines: {', '.join(defined) or 'no classes'})")
        self.cls = cls
        self.algo = None
        self.args = None
        self.query_args = None
        self.index_size_kb = None
        self.k = None
        self.np = importlib.import_module("numpy")

    def library(self):
        return _library(self.module, self.constructor)

    def configure(self, request):
        self.k = int(request["k"])

    def build(self, train, metric, params, threads):
        values = {"@metric": metric, "@dimension": int(train.shape[1]), "@count": self.k}
        self.args = _substitute(list(params.get("args", [])), values)
        try:
            self.algo = self.cls(*self.args)
        except Exception as e:
            raise RuntimeError(f"{self.constructor}(*{self.args!r}) raised {type(e).__name__}: {e}") from e
        before = self.algo.get_memory_usage()
        self.algo.fit(train)
        after = self.algo.get_memory_usage()
        if before is not None and after is not None:
            self.index_size_kb = after - before

    def set_query_params(self, params):
        qa = list(params.get("query_args", []))
        self.query_args = qa
        if qa:
            try:
                self.algo.set_query_arguments(*qa)
            except Exception as e:
                raise RuntimeError(f"set_query_arguments(*{qa!r}) raised {type(e).__name__}: {e}") from e

    def _row(self, ids, k):
        row = [int(i) for i in list(ids)[:k]]
        return row + [-1] * (k - len(row))

    def one(self, query, k):
        algo = self.algo
        if hasattr(algo, "prepare_query"):
            algo.prepare_query(query, k)
            algo.run_prepared_query()
            return self._row(algo.get_prepared_query_results(), k)
        return self._row(algo.query(query, k), k)

    def batch(self, queries, k, threads):
        saved = _pin_to_one_cpu() if threads == 1 else []
        try:
            self.algo.batch_query(queries, k)
            results = self.algo.get_batch_results()
        finally:
            _restore(saved)
        rows = [self._row(r, k) for r in results]
        return self.np.asarray(rows, dtype=self.np.int64).reshape(len(queries), k)

    def info(self):
        try:
            name = str(self.algo)
        except Exception as e:  # BaseANN.__str__ wants a `name` some modules lack
            name = f"(str() raised {type(e).__name__})"
        try:
            additional = self.algo.get_additional()
        except Exception as e:
            additional = {"error": f"get_additional() raised {type(e).__name__}: {e}"}
        return _plain(
            {
                "module": self.path,
                "constructor": self.constructor,
                "args": self.args,
                "query_args": self.query_args,
                "name": name,
                "additional": additional,
                "index_size_kb": self.index_size_kb,
            }
        )

    def close(self):
        if self.algo is not None:
            self.algo.done()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: annb.py <path/to/module.py> <ClassName>")
    omenbench_worker.serve(lambda: AnnBenchmarksModule(sys.argv[1], sys.argv[2]))
