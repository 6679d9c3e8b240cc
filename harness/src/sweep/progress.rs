//! What a sweep shows while it runs: an overall bar, a spinner per build, a
//! bar per query-parameter set's passes, and one line per finished run
//! (printed plainly when stderr is not a terminal; nothing when quiet).

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::adapter::Params;
use super::results::RunResult;

/// The sweep's progress display.
pub(crate) struct Progress {
    mp: MultiProgress,
    /// Runs done out of the sweep's total.
    pub(crate) overall: ProgressBar,
    quiet: bool,
}

impl Progress {
    /// A display for `total` runs; hidden when `quiet`.
    pub(crate) fn new(quiet: bool, total: u64) -> Self {
        let mp = if quiet {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        let overall = mp.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(
                "sweep [{elapsed_precise}] {wide_bar} {pos}/{len} runs, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress { mp, overall, quiet }
    }

    /// A spinner for a step of unknown length (a build).
    pub(crate) fn spinner(&self, msg: String) -> ProgressBar {
        let pb = self.mp.add(ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template("  {spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(msg);
        pb.enable_steady_tick(Duration::from_millis(250));
        pb
    }

    /// A bar counting `len` query passes.
    pub(crate) fn passes(&self, msg: String, len: u64) -> ProgressBar {
        let pb = self.mp.add(ProgressBar::new(len));
        pb.set_style(
            ProgressStyle::with_template("  {msg} {bar:30} {pos}/{len} passes, ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(msg);
        pb
    }

    /// Prints one line above the bars (nothing when quiet).
    pub(crate) fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        if self.mp.is_hidden() {
            // Not a terminal: indicatif draws nothing, so print plainly.
            eprintln!("{text}");
        } else {
            let _ = self.mp.println(text);
        }
    }
}

/// `name=value` pairs separated by spaces.
pub(crate) fn fmt_params(p: &Params) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The line printed when a run's result is written.
pub(crate) fn run_line(r: &RunResult) -> String {
    match &r.error {
        Some(e) => format!(
            "{} {} n={} {}: ERROR {e}",
            r.algorithm,
            r.dataset,
            r.n,
            fmt_params(&r.build_params)
        ),
        None => format!(
            "{} {} n={} {} | {}: recall@10 {} qps1 {} batch {} build {} vec/s",
            r.algorithm,
            r.dataset,
            r.n,
            fmt_params(&r.build_params),
            r.query_params.as_ref().map(fmt_params).unwrap_or_default(),
            figure(r.recall_at_10.or(r.recall_at_1), 4),
            figure(r.qps_single_thread, 0),
            figure(r.qps_batch, 0),
            figure(r.build_vectors_per_second, 0),
        ),
    }
}

/// A figure with `digits` decimals, `-` when not measured.
fn figure(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".to_string(), |v| format!("{v:.digits$}"))
}
