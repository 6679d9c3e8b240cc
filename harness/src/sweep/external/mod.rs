//! Engines brought in from a sweep config, with no Rust to write: any worker
//! script, and ann-benchmarks algorithm modules.
//!
//! ```text
//!  config entry ──► plan() ──► AlgorithmPlan { spec (name, factory), JSON grids as labelled sets }
//!    "worker": "w.py"               │ factory: PythonAdapter (adapters/python.rs) + ParamTable
//!    "annb_module": "m.py"          └─► python w.py                           (JSON lines)
//!                                      python harness/adapters/annb.py m.py C  (ann-benchmarks BaseANN)
//! ```
//!
//! * `{"name", "worker": "path.py", "python"?, "build": {…}, "query": {…}}`:
//!   the script speaks the worker protocol (most simply by ending in
//!   `omenbench_worker.serve(TheClass)`, `harness/python/omenbench_worker.py`).
//!   `build` and `query` are grids of any JSON values, passed through as
//!   written (see [`grid`]).
//! * `{"name": "annb:<label>", "annb_module": "path/module.py", "constructor",
//!   "args": […], "query_args": [[…], …], "python"?}`: the module runs under
//!   the generic worker `harness/adapters/annb.py`; `args` and `query_args`
//!   expand as in ann-benchmarks' configs (a list at a position means
//!   alternatives), with `"@metric"`, `"@dimension"` and `"@count"` replaced.
//!
//! Relative paths are looked up in the current directory, then in the
//! repository root (so committed configs work from anywhere in the
//! checkout). Without `python` the worker runs under the project's venv
//! (`scripts/python-env.sh`), like the built-in Python adapters. Results carry
//! the entry's name as `algorithm`, `process: "python"`, and in `worker`: the
//! script, the library version the worker reports, and the parameters as the
//! worker received them.
//!
//! Each entry becomes an [`AlgorithmSpec`] whose name and factory live for
//! the rest of the process (the runner holds specs as `'static`); the same
//! entry validated twice shares one.

pub mod grid;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{bail, ensure};
use serde_json::Value;

pub use grid::ParamTable;

use super::adapter::Adapter;
use super::adapters::python::{Interpreter, PythonAdapter, WorkerSpec, IDS_FILE_ABOVE};
use super::adapters::{AlgorithmSpec, BuildContext, MakeAdapter, Registry};
use super::config::{AlgorithmConfig, AlgorithmPlan};
use crate::data;

/// Prefix of ann-benchmarks entries' names.
pub const ANNB_PREFIX: &str = "annb:";

/// One engine from a config: how to start its worker, and its grids.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalEngine {
    /// The entry's name (`algorithm` in results).
    pub name: String,
    /// The worker script (the entry's own, or the ann-benchmarks worker).
    pub script: PathBuf,
    /// Arguments after the script (module path and constructor for
    /// ann-benchmarks entries).
    pub args: Vec<String>,
    /// The interpreter.
    pub interpreter: Interpreter,
    /// The JSON parameter sets behind the integer labels.
    pub table: Arc<ParamTable>,
}

impl ExternalEngine {
    /// A worker for one build-parameter set.
    pub fn make(&self, ctx: &BuildContext<'_>) -> anyhow::Result<Box<dyn Adapter>> {
        let spec = WorkerSpec {
            algorithm: self.name.clone(),
            script: self.script.clone(),
            args: self.args.clone(),
            interpreter: self.interpreter.clone(),
            raw_vectors: false,
            ids_file_above: IDS_FILE_ABOVE,
        };
        Ok(Box::new(
            PythonAdapter::new(ctx, spec)?.with_param_table(self.table.clone()),
        ))
    }
}

impl AlgorithmConfig {
    /// Whether this entry brings in an engine (`worker` or `annb_module`).
    pub fn is_external(&self) -> bool {
        self.worker.is_some() || self.annb_module.is_some()
    }
}

/// Finds `path` as given, in the current directory, then in the repository
/// root.
pub fn resolve_file(path: &str, at: &str) -> anyhow::Result<PathBuf> {
    ensure!(!path.trim().is_empty(), "{at}: empty path");
    let p = Path::new(path);
    if p.is_absolute() {
        ensure!(p.is_file(), "{at}: file `{path}` not found");
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = data::repo_root();
    for base in [&cwd, &root] {
        let candidate = base.join(p);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "{at}: file `{path}` not found (looked in {} and {})",
        cwd.display(),
        root.display()
    )
}

fn interpreter(python: Option<&str>, at: &str) -> anyhow::Result<Interpreter> {
    match python {
        None => Ok(Interpreter::Venv),
        Some(p) if p.contains('/') => Ok(Interpreter::Program(resolve_file(p, at)?)),
        Some(p) if !p.trim().is_empty() => Ok(Interpreter::Program(PathBuf::from(p))),
        Some(_) => bail!("{at}: empty interpreter name"),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn has_grid(grid: &std::collections::BTreeMap<String, Value>) -> bool {
    grid.keys().any(|k| !k.starts_with('_'))
}

/// Rejects the fields of external entries on a built-in one.
pub fn check_builtin(entry: &AlgorithmConfig, at: &str) -> anyhow::Result<()> {
    for (field, present) in [
        ("python", entry.python.is_some()),
        ("constructor", entry.constructor.is_some()),
        ("args", entry.args.is_some()),
        ("query_args", entry.query_args.is_some()),
    ] {
        ensure!(
            !present,
            "{at}.{field}: only for entries with `worker` or `annb_module`"
        );
    }
    Ok(())
}

/// Plans an entry with `worker` or `annb_module`.
pub fn plan(
    entry: &AlgorithmConfig,
    registry: &Registry,
    at: &str,
) -> anyhow::Result<AlgorithmPlan> {
    let name = entry.name.trim();
    ensure!(
        !name.is_empty() && name == entry.name && !name.chars().any(char::is_control),
        "{at}.name: `{}` is not a usable name",
        entry.name
    );
    ensure!(
        registry.get(name).is_none(),
        "{at}.name: `{name}` is a built-in algorithm; give the entry another name"
    );
    let interpreter = interpreter(entry.python.as_deref(), &format!("{at}.python"))?;
    let engine = match (&entry.worker, &entry.annb_module) {
        (Some(_), Some(_)) => {
            bail!("{at}: give either `worker` or `annb_module`, not both")
        }
        (Some(worker), None) => {
            for (field, present) in [
                ("constructor", entry.constructor.is_some()),
                ("args", entry.args.is_some()),
                ("query_args", entry.query_args.is_some()),
            ] {
                ensure!(
                    !present,
                    "{at}.{field}: only for ann-benchmarks entries (`annb_module`); \
                     a worker script takes `build` and `query`"
                );
            }
            ensure!(
                !name.starts_with(ANNB_PREFIX),
                "{at}.name: `{ANNB_PREFIX}` names are for ann-benchmarks entries (`annb_module`)"
            );
            let script = resolve_file(worker, &format!("{at}.worker"))?;
            ExternalEngine {
                name: name.to_string(),
                script,
                args: Vec::new(),
                interpreter,
                table: Arc::new(ParamTable::new(
                    grid::named(&entry.build, &format!("{at}.build"))?,
                    grid::named(&entry.query, &format!("{at}.query"))?,
                )),
            }
        }
        (None, Some(module)) => {
            ensure!(
                name.len() > ANNB_PREFIX.len() && name.starts_with(ANNB_PREFIX),
                "{at}.name: ann-benchmarks entries are named `{ANNB_PREFIX}<label>`, got `{name}`"
            );
            ensure!(
                !has_grid(&entry.build) && !has_grid(&entry.query),
                "{at}: ann-benchmarks entries take `args` and `query_args`, not `build` / `query`"
            );
            let constructor = match entry.constructor.as_deref() {
                Some(c) if is_identifier(c) => c,
                Some(c) => bail!("{at}.constructor: `{c}` is not a Python class name"),
                None => bail!("{at}.constructor: required (the module's class, e.g. \"Annoy\")"),
            };
            let module = resolve_file(module, &format!("{at}.annb_module"))?;
            let script = data::repo_root()
                .join("harness")
                .join("adapters")
                .join("annb.py");
            ExternalEngine {
                name: name.to_string(),
                script,
                args: vec![module.display().to_string(), constructor.to_string()],
                interpreter,
                table: Arc::new(ParamTable::new(
                    grid::positional(entry.args.as_ref(), "args", &format!("{at}.args"))?,
                    grid::positional(
                        entry.query_args.as_ref(),
                        "query_args",
                        &format!("{at}.query_args"),
                    )?,
                )),
            }
        }
        (None, None) => bail!("{at}: not an external entry (no `worker` or `annb_module`)"),
    };
    let spec = intern(engine.clone());
    Ok(AlgorithmPlan {
        spec,
        build_sets: engine.table.build_sets(),
        query_sets: engine.table.query_sets(),
    })
}

/// Checks that entries sharing a name bring in the same engine (the same
/// built-in, or the same script, module, constructor and interpreter):
/// results are told apart by name.
pub fn check_names(entries: &[AlgorithmConfig]) -> anyhow::Result<()> {
    let identity = |e: &AlgorithmConfig| {
        (
            e.worker.clone(),
            e.annb_module.clone(),
            e.constructor.clone(),
            e.python.clone(),
        )
    };
    for (i, a) in entries.iter().enumerate() {
        for (j, b) in entries.iter().enumerate().skip(i + 1) {
            ensure!(
                a.name != b.name || identity(a) == identity(b),
                "algorithms[{j}].name: `{}` already names a different engine in algorithms[{i}]",
                b.name
            );
        }
    }
    Ok(())
}

/// The spec of `engine`, made once per distinct engine in this process.
fn intern(engine: ExternalEngine) -> AlgorithmSpec {
    static SPECS: OnceLock<Mutex<HashMap<String, AlgorithmSpec>>> = OnceLock::new();
    let key = format!("{engine:?}");
    let mut specs = SPECS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *specs.entry(key).or_insert_with(|| {
        // Leaked on purpose, once per distinct entry: the runner holds specs
        // (name and factory) as `'static`, like the built-in ones.
        let engine: &'static ExternalEngine = Box::leak(Box::new(engine));
        let make: MakeAdapter = Box::leak(Box::new(move |ctx: &BuildContext<'_>| engine.make(ctx)));
        AlgorithmSpec {
            name: engine.name.as_str(),
            build_params: &[],
            query_params: &[],
            make,
        }
    })
}
