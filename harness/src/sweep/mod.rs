//! Benchmark sweeps: configs, adapters, metrics and results, in the manner
//! of ann-benchmarks but native.
//!
//! ```text
//!  config.rs ──► runner.rs ──► adapters/* (one per algorithm, behind adapter.rs)
//!  (grid)          │  build once per build-param set, then every query-param set
//!                  ├─► metrics.rs  (recall from returned ids, QPS, latency)
//!                  ├─► memory.rs   (/proc RSS, bytes per vector)
//!                  └─► results.rs  (one JSON document per run, + machine.rs)
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `config.rs` | the JSON sweep config and its validation |
//! | `defaults.rs` | the default sweep (`omenbench run` with no arguments) |
//! | `adapter.rs` | the one harness trait every algorithm implements; `ReopenStats` (a disk index's reopen: time, RSS) |
//! | `adapters/` | one file per algorithm (table in `adapters/mod.rs`), the shared OmenDB in-memory and disk adapters (`omendb_shared.rs`), and the registry |
//! | `metrics.rs` | recall (ann-benchmarks distance-based and id-set), latency percentiles |
//! | `memory.rs` | RSS from `/proc/self/status`, bytes per vector |
//! | `machine.rs` | CPU, cores, OS, rustc, git commit, timestamps |
//! | `results.rs` | the versioned result schema and writing it |
//! | `guard.rs` | running a step on its own thread with a timeout and `catch_unwind` |
//! | `source.rs` | where datasets come from (`data::resolve`), and scale parsing |
//! | `runner.rs` | the sweep loop |
//! | `shard.rs` | `--shard I/N`: build sets, cost, the balanced split, shard markers |
//! | `summary.rs` | the end-of-sweep table (`summary.md`) |
//! | `cli.rs` | `omenbench run` |

pub mod adapter;
pub mod adapters;
pub mod cli;
pub mod config;
pub mod defaults;
pub mod guard;
pub mod machine;
pub mod memory;
pub mod metrics;
pub mod results;
pub mod runner;
pub mod shard;
pub mod source;
pub mod summary;

pub use adapter::{Adapter, Params};
pub use adapters::{AlgorithmSpec, ParamSpec, Registry};
pub use config::SweepConfig;
pub use results::RunResult;
pub use runner::{run_sweep, run_sweep_part, SweepOptions};
pub use shard::{Shard, ShardPlan};
