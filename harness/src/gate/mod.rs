//! The CI recall gate (`omenbench gate`): a fixed, seeded set of cases
//! (`ci/gate.json`) whose recall must clear absolute floors and stay within
//! half a point of the committed baseline (`ci/baseline.json`).
//!
//! | file | role |
//! |---|---|
//! | `config.rs` | the cases: dataset, algorithm (a sweep registry name), insertion, build/query params, floors; a case as a one-run sweep |
//! | `baseline.rs` | accepted figures per case: load, save |
//! | `run.rs` | resolving every dataset first, then each case through the sweep runner |
//! | `verdict.rs` | floors and baseline fail; speed only warns |
//! | `ratio_floor.rs` | optional speed ratios between two engines at equal recall (e.g. omendb-hnsw / hnswlib at 0.95): a warning, never a failure |
//! | `cli.rs` | the subcommand: table, exit status, `--update-baseline` |

pub mod baseline;
pub mod cli;
pub mod config;
pub mod ratio_floor;
pub mod run;
pub mod verdict;

pub use baseline::{Baseline, BaselineEntry};
pub use cli::GateArgs;
pub use config::{Case, GateConfig, Insertion};
pub use ratio_floor::{RatioCheck, RatioFloor};
pub use run::{run_all, run_case, run_ratio_floors, CaseResult, RunOptions};
pub use verdict::{judge, Verdict};
