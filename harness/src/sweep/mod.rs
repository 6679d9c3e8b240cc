//! Benchmark sweeps: configs, adapters, metrics and results, in the manner
//! of ann-benchmarks but native.
//!
//! ```text
//!  config.rs ──► runner.rs ──► measure.rs ──► adapters/* (one per algorithm, behind adapter.rs)
//!  (grid)      (scheduling)      │  build once per build-param set, then every query-param set
//!                  │             ├─► metrics.rs  (recall from returned ids, QPS, latency)
//!                  │             └─► memory.rs   (/proc RSS, bytes per vector)
//!                  ├─► assemble.rs ─► results.rs (one JSON document per run, + machine.rs)
//!                  └─► progress.rs (bars, one line per run)
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `config.rs` | the JSON sweep config and its validation |
//! | `defaults.rs` | the default sweep (`omenbench run` with no arguments) |
//! | `adapter.rs` | the one harness trait every algorithm implements; `ReopenStats` (a disk index's reopen: time, RSS) |
//! | `external/` | engines brought in from the config: worker scripts and ann-benchmarks modules (`mod.rs`), their JSON parameter grids (`grid.rs`) |
//! | `adapters/` | one file per algorithm (table in `adapters/mod.rs`), the shared OmenDB in-memory and disk adapters (`omendb_shared.rs`), and the registry |
//! | `metrics.rs` | recall (ann-benchmarks distance-based and id-set), latency percentiles |
//! | `memory.rs` | RSS from `/proc/self/status`, bytes per vector |
//! | `machine.rs` | CPU, cores, OS, rustc, git commit, timestamps |
//! | `results.rs` | the versioned result schema and writing it |
//! | `guard.rs` | running a step on its own thread with a timeout and `catch_unwind`; counting steps still live |
//! | `source.rs` | where datasets come from (`data::resolve`), and scale parsing |
//! | `runner.rs` | the sweep loop: datasets × scales × build groups × query sets |
//! | `measure.rs` | timing builds (memory around them) and query passes, guarded |
//! | `assemble.rs` | putting a result document together: shared fields, build figures, recall |
//! | `progress.rs` | progress bars and the line printed per run |
//! | `shard.rs` | `--shard I/N`: build sets, cost, the balanced split, shard markers |
//! | `summary.rs` | the end-of-sweep table (`summary.md`): failed runs counted first, then the ratio table |
//! | `ratios.rs` | QPS ratios between engines at equal recall (interpolated on each frontier), median and range over repeats |
//! | `noise.rs` | load average and CPU steal around each run's timed passes |
//! | `cli.rs` | `omenbench run` |
//! | `scenario/` | the config's `scenario`: `filtered` (label filters) and `streaming` (runbooks); file map in its `mod.rs` |
//! | `worker.rs` | `omenbench worker ALGORITHM`: a Rust engine in a process of its own, in the workers' protocol (isolated builds) |
//! | `interleave.rs` | interleaved timing: a scale's engines built first and kept alive, then their passes in rounds (A B C A B C …) |
//! | `open_loop.rs` | open-loop load: queries at a fixed offered rate, latency from the due time (no coordinated omission) |

pub mod adapter;
pub mod adapters;
mod assemble;
pub mod cli;
pub mod config;
pub mod defaults;
pub mod external;
pub mod guard;
mod interleave;
pub mod machine;
mod measure;
pub mod memory;
pub mod metrics;
pub mod noise;
pub mod open_loop;
mod progress;
pub mod ratios;
pub mod results;
pub mod runner;
pub mod scenario;
pub mod shard;
pub mod source;
pub mod summary;
pub mod worker;

pub use adapter::{Adapter, Params};
pub use adapters::{AlgorithmSpec, ParamSpec, Registry};
pub use config::SweepConfig;
pub use results::RunResult;
pub use runner::{run_sweep, run_sweep_part, SweepOptions};
pub use shard::{Shard, ShardPlan};
