//! Benchmark sweeps: configs, adapters, metrics and results.

pub mod cli;
