//! `omendb.Index`: one engine index of any kind, in RAM or on disk.
//!
//! Every call that touches vectors releases the GIL while the engine works,
//! so several Python threads search (and add) at once. The engine sits
//! behind a read-write lock only so that `close()` can take it away: calls
//! take the read side, `close()` the write side, and no thread ever waits
//! for the lock while another thread holding it needs the GIL.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use numpy::PyArray1;
use omendb::{DiskIndex, Filter, FlatIndex, HnswIndex, HnswPqIndex, Metric, SearchParams};
use parking_lot::{RwLock, RwLockReadGuard};
use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::arrays::{self, Rows};
use crate::engine::Engine;
use crate::errors::{to_py, value_error};
use crate::options::{self, count, Build};
use crate::pool::{self, Pools};
use crate::results;

/// A vector index. See the module documentation and `omendb.pyi`.
#[pyclass(module = "omendb", frozen)]
pub struct Index {
    engine: RwLock<Option<Engine>>,
    dims: usize,
    metric: Metric,
    kind: &'static str,
    pools: Pools,
    /// Address of the buffer the last `add` handed to the engine (a debug
    /// hook: tests compare it with the NumPy array's own address).
    last_add_address: AtomicUsize,
}

impl Index {
    fn wrap(engine: Engine) -> Self {
        let (dims, metric) = (engine.index().dims(), engine.index().metric());
        Index {
            kind: engine.kind(),
            engine: RwLock::new(Some(engine)),
            dims,
            metric,
            pools: Pools::default(),
            last_add_address: AtomicUsize::new(0),
        }
    }

    /// The engine, or `ValueError` once closed.
    fn engine(&self) -> PyResult<RwLockReadGuard<'_, Option<Engine>>> {
        let guard = self.engine.read();
        if guard.is_none() {
            return Err(value_error("the index is closed"));
        }
        Ok(guard)
    }

    fn pool(&self, threads: Option<i64>) -> PyResult<Option<std::sync::Arc<rayon::ThreadPool>>> {
        threads
            .map(|t| self.pools.get(count("threads", t, 1)?))
            .transpose()
    }

    /// Runs `f` on the open engine with the GIL released (and on the pool
    /// of `threads` threads when given).
    fn with_engine<R: Send>(
        &self,
        py: Python<'_>,
        threads: Option<i64>,
        f: impl FnOnce(&Engine) -> PyResult<R> + Send,
    ) -> PyResult<R> {
        drop(self.engine()?); // fail early, with the GIL, when closed
        let pool = self.pool(threads)?;
        py.detach(|| {
            pool::run(pool.as_deref(), || {
                let guard = self.engine.read();
                match guard.as_ref() {
                    Some(e) => f(e),
                    None => Err(value_error("the index is closed")),
                }
            })
        })
    }

    fn rows<'py>(&self, obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Rows<'py>> {
        arrays::rows(obj, self.dims, what)
    }

    fn search_params(
        &self,
        k: usize,
        ef: Option<i64>,
        rerank: Option<i64>,
    ) -> PyResult<SearchParams> {
        let ef = match ef {
            Some(ef) => count("ef", ef, 1)?,
            None => SearchParams::default().ef,
        };
        let rerank = match rerank {
            Some(r) => count("rerank", r, 0)?,
            // PQ kinds re-rank every candidate the beam kept by default.
            None if self.kind == "hnsw-pq" => ef.max(k),
            None => 0,
        };
        Ok(SearchParams::with_rerank(ef, rerank))
    }
}

fn build(dims: usize, metric: Metric, kind: &str, b: &Build) -> omendb::Result<Engine> {
    Ok(match kind {
        "flat" => Engine::Flat(FlatIndex::new(dims, metric)?),
        "hnsw" => Engine::Hnsw(HnswIndex::new(dims, metric, b.hnsw)?),
        _ => Engine::HnswPq(HnswPqIndex::new(dims, metric, b.pq())?),
    })
}

/// Opens the index directory at `path` (see `omendb.open`).
pub fn open_dir(py: Python<'_>, path: PathBuf, opts: omendb::OpenOptions) -> PyResult<Index> {
    let disk = py.detach(|| DiskIndex::open(&path, opts)).map_err(to_py)?;
    Ok(Index::wrap(Engine::Disk(Box::new(disk))))
}

#[pymethods]
impl Index {
    /// An empty index in RAM.
    #[new]
    #[pyo3(signature = (dims, metric = "l2", kind = "hnsw", m = 16, ef_construction = 200, seed = None, pq_m = None))]
    fn new(
        dims: i64,
        metric: &str,
        kind: &str,
        m: i64,
        ef_construction: i64,
        seed: Option<i64>,
        pq_m: Option<i64>,
    ) -> PyResult<Self> {
        let dims = count("dims", dims, 1)?;
        let metric = options::metric(metric)?;
        let kind = options::kind(kind)?;
        let b = Build::new(dims, m, ef_construction, seed, pq_m)?;
        Ok(Index::wrap(build(dims, metric, kind, &b).map_err(to_py)?))
    }

    /// A new, empty index on disk in the directory `path` (created if
    /// missing; it must not hold an index already). Kinds: `hnsw`, `hnsw-pq`.
    #[staticmethod]
    #[pyo3(signature = (path, dims, metric = "l2", kind = "hnsw", m = 16, ef_construction = 200, seed = None, pq_m = None, durability = None))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        dims: i64,
        metric: &str,
        kind: &str,
        m: i64,
        ef_construction: i64,
        seed: Option<i64>,
        pq_m: Option<i64>,
        durability: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let dims = count("dims", dims, 1)?;
        let metric = options::metric(metric)?;
        let kind = options::kind(kind)?;
        let b = Build::new(dims, m, ef_construction, seed, pq_m)?;
        let durability = match durability {
            Some(d) => options::durability(d)?,
            None => omendb::Durability::default(),
        };
        let opts = options::open_options(false, durability, true);
        let disk = py
            .detach(|| match kind {
                "hnsw" => DiskIndex::create(&path, dims, metric, b.hnsw, opts),
                "hnsw-pq" => DiskIndex::create(&path, dims, metric, b.pq(), opts),
                _ => Err(omendb::Error::invalid(
                    "kind",
                    format!("{kind:?} cannot live on disk (use \"hnsw\" or \"hnsw-pq\")"),
                )),
            })
            .map_err(to_py)?;
        Ok(Index::wrap(Engine::Disk(Box::new(disk))))
    }

    /// Adds rows of `vectors` under `ids` (default: numbered from `len(self)`).
    /// Returns the ids as `int64[n]`.
    #[pyo3(signature = (vectors, ids = None, threads = None))]
    fn add<'py>(
        &self,
        py: Python<'py>,
        vectors: &Bound<'py, PyAny>,
        ids: Option<&Bound<'py, PyAny>>,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let rows = self.rows(vectors, "vectors")?;
        let ids = match ids {
            Some(obj) => arrays::ids(obj, rows.rows)?,
            None => {
                let start = self.engine()?.as_ref().map_or(0, |e| e.index().len()) as u64;
                (start..start + rows.rows as u64).collect()
            }
        };
        let data = rows.as_slice()?;
        self.last_add_address
            .store(data.as_ptr() as usize, Ordering::Relaxed);
        let ids_ref = &ids;
        self.with_engine(py, threads, move |e| {
            e.index().add_batch(ids_ref, data).map_err(to_py)
        })?;
        Ok(PyArray1::from_vec(
            py,
            ids.iter().map(|&i| i as i64).collect(),
        ))
    }

    /// The `k` nearest neighbours of each query row: `(ids int64[nq, k],
    /// distances float32[nq, k])`, or `[k]`-shaped arrays for a 1-D query.
    #[pyo3(signature = (queries, k = 10, ef = None, rerank = None, threads = None, filter = None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: i64,
        ef: Option<i64>,
        rerank: Option<i64>,
        threads: Option<i64>,
        filter: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let rows = self.rows(queries, "queries")?;
        if k == 0 {
            return Err(to_py(omendb::Error::ZeroK));
        }
        let k = count("k", k, 1)?;
        let mut params = self.search_params(k, ef, rerank)?;
        if let Some(allowed) = filter {
            params = params.filtered(Filter::allow_ids(arrays::id_list(allowed, None)?));
        }
        let data = rows.as_slice()?;
        if rows.single {
            let list = self.with_engine(py, threads, |e| {
                e.index().search(data, k, &params).map_err(to_py)
            })?;
            let (ids, dists) = results::flatten(std::slice::from_ref(&list), k);
            return results::vector(py, ids, dists);
        }
        let (ids, dists) = self.with_engine(py, threads, |e| {
            let lists = e.index().search_batch(data, k, &params).map_err(to_py)?;
            Ok(results::flatten(&lists, k))
        })?;
        results::matrix(py, rows.rows, k, ids, dists)
    }

    /// Marks `ids` (an integer or a sequence) deleted. Every id must be
    /// present, else `ValueError` and nothing is removed.
    fn remove(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<()> {
        let n: usize = py
            .import("numpy")?
            .call_method1("size", (ids,))?
            .extract()?;
        let ids = arrays::ids(ids, n)?;
        let kind = self.kind;
        self.with_engine(py, None, |e| {
            for &id in &ids {
                match e.contains(id) {
                    None => return Err(unsupported(kind, "remove")),
                    Some(false) => return Err(to_py(omendb::Error::UnknownId(id))),
                    Some(true) => {}
                }
            }
            for &id in &ids {
                e.remove(id)
                    .ok_or_else(|| unsupported(kind, "remove"))?
                    .map_err(to_py)?;
            }
            Ok(())
        })
    }

    /// Replaces the vectors stored under `ids` (adding those absent).
    fn update(
        &self,
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        ids: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let rows = self.rows(vectors, "vectors")?;
        let ids = arrays::ids(ids, rows.rows)?;
        let data = rows.as_slice()?;
        let (dims, kind) = (self.dims, self.kind);
        self.with_engine(py, None, |e| {
            for (&id, v) in ids.iter().zip(data.chunks_exact(dims)) {
                e.update(id, v)
                    .ok_or_else(|| unsupported(kind, "update"))?
                    .map_err(to_py)?;
            }
            Ok(())
        })
    }

    /// Writes a disk index's state to its directory and empties its log.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<()> {
        self.with_engine(py, None, |e| match e {
            Engine::Disk(d) => d.checkpoint().map(|_| ()).map_err(to_py),
            _ => Err(value_error(
                "checkpoint needs an index on disk (Index.create / omendb.open)",
            )),
        })
    }

    /// Closes the index: a disk index checkpoints and releases its
    /// directory. Later calls raise `ValueError`; closing again does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = py.detach(|| self.engine.write().take());
        match taken {
            Some(Engine::Disk(d)) => py.detach(|| (*d).close()).map_err(to_py),
            _ => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.engine()?.as_ref().map_or(0, |e| e.index().len()))
    }

    fn __contains__(&self, id: i64) -> PyResult<bool> {
        let Ok(id) = u64::try_from(id) else {
            return Ok(false);
        };
        let guard = self.engine()?;
        let e = guard
            .as_ref()
            .ok_or_else(|| value_error("the index is closed"))?;
        e.contains(id)
            .ok_or_else(|| unsupported(self.kind, "membership tests"))
    }

    fn __repr__(&self) -> String {
        let state = match self.engine.read().as_ref() {
            Some(e) => format!("len={}", e.index().len()),
            None => "closed".to_string(),
        };
        let path = self
            .path()
            .map(|p| format!(", path={p:?}"))
            .unwrap_or_default();
        format!(
            "omendb.Index(dims={}, metric={:?}, kind={:?}{path}, {state})",
            self.dims,
            options::metric_name(self.metric),
            self.kind
        )
    }

    /// Vector dimension.
    #[getter]
    fn dims(&self) -> usize {
        self.dims
    }

    /// `"l2"`, `"cosine"` or `"ip"`.
    #[getter]
    fn metric(&self) -> &'static str {
        options::metric_name(self.metric)
    }

    /// `"flat"`, `"hnsw"` or `"hnsw-pq"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The directory of a disk index; `None` in RAM (or once closed).
    #[getter]
    fn path(&self) -> Option<String> {
        self.engine
            .read()
            .as_ref()
            .and_then(|e| e.path().map(|p| p.display().to_string()))
    }

    /// What opening a disk index found (`None` in RAM): a dict with
    /// `generation`, `checkpoint_nodes`, `replayed`, `torn_tail` (bool),
    /// `lost_synced_bytes` (`None`, or how many synced log bytes were
    /// missing: acknowledged writes lost), `stale_log_discarded`,
    /// `open_seconds`.
    #[getter]
    fn recovery<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let guard = self.engine()?;
        let Some(Engine::Disk(d)) = guard.as_ref() else {
            return Ok(None);
        };
        let r = d.recovery_report();
        let out = PyDict::new(py);
        out.set_item("generation", r.generation)?;
        out.set_item("checkpoint_nodes", r.checkpoint_nodes)?;
        out.set_item("replayed", r.replayed)?;
        out.set_item("torn_tail", r.torn_tail.is_some())?;
        out.set_item(
            "lost_synced_bytes",
            r.lost_synced_tail.map(|l| l.synced_bytes - l.valid_bytes),
        )?;
        out.set_item("stale_log_discarded", r.stale_log_discarded)?;
        out.set_item("open_seconds", r.open_time.as_secs_f64())?;
        Ok(Some(out))
    }

    /// Why writes are refused, when a checkpoint or a log sync failed
    /// (`None` otherwise, and in RAM): a checkpoint that succeeds clears it.
    #[getter]
    fn checkpoint_error(&self) -> PyResult<Option<String>> {
        let guard = self.engine()?;
        Ok(match guard.as_ref() {
            Some(Engine::Disk(d)) => d.checkpoint_error(),
            _ => None,
        })
    }

    /// Whether writes are refused (a disk index opened read-only).
    #[getter]
    fn read_only(&self) -> PyResult<bool> {
        Ok(self.engine()?.as_ref().is_some_and(Engine::is_read_only))
    }

    /// Whether `close()` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.engine.read().is_none()
    }

    /// Bytes held, by component, as the index accounts them.
    fn memory_usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let u = match self.engine()?.as_ref() {
            Some(e) => e.index().memory_usage(),
            None => return Err(value_error("the index is closed")),
        };
        let d = PyDict::new(py);
        d.set_item("vectors", u.vectors)?;
        d.set_item("graph", u.graph)?;
        d.set_item("codes", u.codes)?;
        d.set_item("ids", u.ids)?;
        d.set_item("other", u.other)?;
        d.set_item("disk", u.disk)?;
        d.set_item("ram_total", u.ram_total())?;
        Ok(d)
    }

    /// Debug hook: the address of the buffer the last `add` gave the engine.
    #[getter]
    fn _last_add_address(&self) -> usize {
        self.last_add_address.load(Ordering::Relaxed)
    }
}

fn unsupported(kind: &str, what: &str) -> PyErr {
    PyNotImplementedError::new_err(format!("a {kind:?} index does not support {what}"))
}
