//! HTML reports of sweep results: recall/QPS Pareto plots, scale curves,
//! summary and run tables, and before/after comparisons.
//!
//! ```text
//!  results/**.json ──► load.rs ──► summary.rs (labels, summary figures)
//!                                  pareto.rs  (frontiers)
//!                                  figures.rs (which charts) ──► charts.rs (SVG)
//!                                            └──────────────► html.rs ──► index.html
//!                      compare.rs: two sets overlaid, deltas
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `load.rs` | reading every result document under a directory, grouping by dataset and scale |
//! | `machines.rs` | lettering distinct hardware, so runs from different machines are separate series |
//! | `pareto.rs` | the recall/QPS Pareto frontier, best QPS at a recall level |
//! | `summary.rs` | series labels, summary-table figures, the fixed `ef` of the scale charts |
//! | `figures.rs` | the charts of one dataset and their series, for one or two result sets |
//! | `scenarios.rs` | scenario runs' charts: recall vs selectivity and recall/QPS per selectivity (`filtered`); recall and p99 latency over a runbook's steps (`streaming`) |
//! | `charts.rs` | drawing a chart to SVG with `plotters`, palette, markers |
//! | `html.rs` | the self-contained page, tables, sorting script |
//! | `compare.rs` | `omenbench compare`: overlaid charts and a table of deltas |
//! | `cli.rs` | `omenbench report`, `omenbench compare` |

pub mod charts;
pub mod cli;
pub mod compare;
pub mod figures;
pub mod html;
pub mod load;
pub mod machines;
pub mod pareto;
pub mod scenarios;
pub mod summary;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub use load::ResultSet;

/// Writes `html` to `<out_dir>/index.html` (creating `out_dir`); returns
/// the file's path.
fn write_index(out_dir: &Path, html: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let path = out_dir.join("index.html");
    let tmp = out_dir.join("index.html.tmp");
    std::fs::write(&tmp, html).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(path)
}

/// Reads every result document under `results_dir` and writes the report to
/// `<out_dir>/index.html`; returns that path.
pub fn write_report(results_dir: &Path, out_dir: &Path) -> anyhow::Result<PathBuf> {
    let set = ResultSet::load(results_dir)?;
    for (path, why) in &set.skipped {
        eprintln!("omenbench report: skipped {}: {why}", path.display());
    }
    let html = html::render_report(&set)?;
    write_index(out_dir, &html)
}
