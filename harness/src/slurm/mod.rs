//! `omenbench slurm`: a sharded sweep on a Slurm cluster, merged into one
//! report. Slurm does the scheduling; this module only writes the job
//! scripts, submits them with `sbatch`, and reads back what ran.
//!
//! ```text
//!  omenbench slurm --config X --shards N --out DIR
//!    ├─ DIR/config.json, DIR/job.json      the sweep and how it is split
//!    └─ DIR/submit.sh ──sbatch──► prepare job   omenbench datasets prepare --cache-dir C
//!                                   │ afterok
//!                                   ▼
//!                                 array 0..N-1  omenbench run --shard $SLURM_ARRAY_TASK_ID/N
//!                                   │ afterany     → DIR/results/<sweep id>/ (+ shards/<i>-of-<N>.done)
//!                                   ▼
//!                                 report job    omenbench report → DIR/report/index.html;
//!                                               omenbench slurm status DIR
//!  omenbench slurm status DIR   shard markers + squeue/sacct: done, pending, running, failed
//!  omenbench slurm resume DIR   the same three jobs for the missing shards only
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `job.rs` | `JobSpec` (`DIR/job.json`): shards, resources, paths; the job-id log `DIR/jobs.txt` |
//! | `script.rs` | the submit script: three `sbatch` calls chained by `--dependency` |
//! | `status.rs` | each shard's state from its marker, `squeue`, `sacct` and its log |
//! | `cli.rs` | `omenbench slurm`, `slurm status`, `slurm resume` |

pub mod cli;
pub mod job;
pub mod script;
pub mod status;

pub use job::JobSpec;
pub use status::{ShardState, ShardStatus};
