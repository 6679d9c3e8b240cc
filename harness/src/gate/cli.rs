//! `omenbench gate`: run the gate's cases, print the table, judge them
//! against floors and the baseline, or deliberately rewrite the baseline.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context};
use clap::Args;

use super::baseline::{Baseline, BaselineEntry, BASELINE_VERSION};
use super::config::GateConfig;
use super::run::{run_all, run_ratio_floors, CaseResult, RunOptions};
use super::verdict::{judge, Verdict};

/// Arguments of `omenbench gate`.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    /// The gate's cases (JSON), e.g. `ci/gate.json`.
    #[arg(long)]
    pub config: PathBuf,
    /// The accepted figures; default: `baseline.json` beside the config.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Rewrite the baseline with this run's figures (deliberately: only
    /// when every case clears its floors).
    #[arg(long)]
    pub update_baseline: bool,
    /// No progress on stderr; the table and the verdict only.
    #[arg(long)]
    pub quiet: bool,
    /// Keep each case's sweep results (one directory per case) here;
    /// without it they go to a temporary directory, removed afterwards.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl GateArgs {
    /// The baseline path in use.
    pub fn baseline_path(&self) -> PathBuf {
        self.baseline.clone().unwrap_or_else(|| {
            self.config
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .join("baseline.json")
        })
    }
}

/// Runs the gate from the command line, writing to stdout. On failure the
/// reason is printed as the last line of stdout and the process exits with
/// status 1 (not through `main`'s error path, which may add a backtrace
/// after it).
pub fn execute(args: GateArgs) -> anyhow::Result<()> {
    let opts = RunOptions {
        progress: !args.quiet,
        out: args.out.clone(),
        // Ratio floors build their Rust engines in `omenbench worker`.
        worker: std::env::current_exe().ok(),
        ..RunOptions::default()
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(e) = gate(&args, &opts, &mut out) {
        // Progress lines go to stderr: flush it first so the reason is last.
        std::io::stderr().flush()?;
        writeln!(out, "{e}")?;
        out.flush()?;
        std::process::exit(1);
    }
    Ok(())
}

/// Runs the gate with `opts`, writing the table to `out`. Every error is
/// flattened to one line, so the reason is the last line of the output.
pub fn gate(args: &GateArgs, opts: &RunOptions, out: &mut dyn Write) -> anyhow::Result<()> {
    gate_inner(args, opts, out).map_err(|e| anyhow!("gate FAILED: {e:#}"))
}

fn gate_inner(args: &GateArgs, opts: &RunOptions, out: &mut dyn Write) -> anyhow::Result<()> {
    let start = Instant::now();
    let config = GateConfig::load(&args.config)?;
    let baseline_path = args.baseline_path();
    let baseline = if args.update_baseline {
        None
    } else {
        Baseline::load(&baseline_path)?
    };
    let results = run_all(&config, opts)?;
    let verdicts: Vec<Verdict> = config
        .cases
        .iter()
        .zip(&results)
        .map(|(case, result)| {
            let entry = baseline.as_ref().and_then(|b| b.cases.get(&case.name));
            let mut v = judge(case, result, entry);
            if args.update_baseline {
                // Being re-recorded: only the floors count.
                v.warnings.clear();
            }
            v
        })
        .collect();

    write_table(out, &config, &results, &verdicts, baseline.as_ref())?;
    for w in verdicts.iter().flat_map(|v| &v.warnings) {
        writeln!(out, "warning: {w}")?;
    }
    // Ratio floors only ever warn.
    for check in run_ratio_floors(&config, opts)? {
        writeln!(out, "{}", check.line)?;
        if let Some(w) = check.warning {
            writeln!(out, "warning: {w}")?;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let failures: Vec<&String> = verdicts.iter().flat_map(|v| &v.failures).collect();
    if !failures.is_empty() {
        let failed = verdicts.iter().filter(|v| !v.passed()).count();
        let reasons: Vec<&str> = failures.iter().map(|s| s.as_str()).collect();
        out.flush()?;
        return Err(anyhow!(
            "{failed} of {} cases failed{}: {}",
            verdicts.len(),
            if args.update_baseline {
                " (baseline not written)"
            } else {
                ""
            },
            reasons.join("; ")
        ));
    }
    if args.update_baseline {
        let new = Baseline {
            version: BASELINE_VERSION,
            cases: config
                .cases
                .iter()
                .zip(&results)
                .map(|(case, r)| {
                    (
                        case.name.clone(),
                        BaselineEntry::from_result(case.fingerprint(), r),
                    )
                })
                .collect(),
        };
        new.save(&baseline_path)
            .with_context(|| format!("writing baseline {}", baseline_path.display()))?;
        writeln!(
            out,
            "gate: baseline rewritten: {} ({} cases, {wall:.0} s)",
            baseline_path.display(),
            results.len()
        )?;
    } else {
        writeln!(
            out,
            "gate: PASSED: all {} cases ({wall:.0} s)",
            verdicts.len()
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Writes the table: one row per case.
fn write_table(
    out: &mut dyn Write,
    config: &GateConfig,
    results: &[CaseResult],
    verdicts: &[Verdict],
    baseline: Option<&Baseline>,
) -> anyhow::Result<()> {
    let header = [
        "case",
        "recall@1",
        "recall@10",
        "floor @1/@10",
        "baseline @1/@10",
        "verdict",
        "build vec/s",
        "QPS",
        "RAM B/vec (ceiling)",
        "speed vs baseline",
        "time",
    ];
    let mut rows: Vec<[String; 11]> = Vec::with_capacity(results.len());
    for ((case, r), v) in config.cases.iter().zip(results).zip(verdicts) {
        let base = baseline.and_then(|b| b.cases.get(&case.name)).map_or_else(
            || "-".to_string(),
            |b| format!("{:.4}/{:.4}", b.recall_at_1, b.recall_at_10),
        );
        let speed = match (v.build_speed_ratio, v.qps_ratio) {
            (Some(b), Some(q)) => {
                let slow =
                    b < super::verdict::SPEED_WARN_RATIO || q < super::verdict::SPEED_WARN_RATIO;
                format!(
                    "build {b:.2}× qps {q:.2}×{}",
                    if slow { " (warning)" } else { "" }
                )
            }
            _ => "-".to_string(),
        };
        rows.push([
            case.name.clone(),
            format!("{:.4}", r.recall_at_1),
            format!("{:.4}", r.recall_at_10),
            format!(
                "{:.3}/{:.3}",
                case.floors.recall_at_1, case.floors.recall_at_10
            ),
            base,
            v.label().to_string(),
            format!("{:.0}", r.build_vectors_per_s),
            format!("{:.0}", r.qps),
            match (r.ram_bytes_per_vector, case.floors.max_ram_bytes_per_vector) {
                (Some(b), Some(c)) => format!("{b:.1} ({c:.0})"),
                (Some(b), None) => format!("{b:.1}"),
                (None, Some(c)) => format!("- ({c:.0})"),
                (None, None) => "-".to_string(),
            },
            speed,
            format!("{:.1} s", r.wall_seconds),
        ]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(&header))?;
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    writeln!(out, "{}", rule.join("  "))?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
    }
    Ok(())
}
