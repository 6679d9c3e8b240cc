//! `omenbench` as a library: datasets, sweeps and reports, driven by the
//! `omenbench` binary and usable from integration tests.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod data;
pub mod gate;
pub mod report;
pub mod slurm;
pub mod sweep;
