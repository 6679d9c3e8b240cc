//! Thread pools for calls that name a thread count (`threads=`), made once
//! per size and kept by the index; calls without one use rayon's global pool
//! (all cores).

use std::sync::Arc;

use parking_lot::Mutex;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::errors::value_error;
use pyo3::PyResult;

/// Pools by thread count.
#[derive(Default)]
pub struct Pools {
    pools: Mutex<Vec<(usize, Arc<ThreadPool>)>>,
}

impl Pools {
    /// The pool of `threads` threads, built the first time it is asked for.
    pub fn get(&self, threads: usize) -> PyResult<Arc<ThreadPool>> {
        let mut pools = self.pools.lock();
        if let Some((_, p)) = pools.iter().find(|(n, _)| *n == threads) {
            return Ok(Arc::clone(p));
        }
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("omendb-{i}"))
            .build()
            .map_err(|e| value_error(format!("could not start {threads} threads: {e}")))?;
        let pool = Arc::new(pool);
        pools.push((threads, Arc::clone(&pool)));
        Ok(pool)
    }
}

/// Runs `f` on the pool given (or the calling thread, which uses rayon's
/// global pool for parallel work, when `None`).
pub fn run<R: Send>(pool: Option<&ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}
