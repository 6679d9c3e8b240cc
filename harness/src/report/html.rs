//! The self-contained `index.html`: inline SVG charts, inline CSS, a few
//! lines of inline JavaScript to sort tables; nothing fetched from anywhere.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::sweep::ratios::{format_ratio, ratio_tables, RatioTable, RATIO_RECALLS};
use crate::sweep::results::RunResult;

use super::charts::{self, fmt_num, Palette};
use super::figures::{dataset_figures, slug, Context, Figure, Side};
use super::load::ResultSet;
use super::machines::MachineTags;
use super::scenarios::{is_scenario, scenario_figures};
use super::summary::{
    bytes_per_vector, fixed_ef, params_text, summarize, Labeller, SummaryRow, RECALL_TARGETS,
};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An integer-ish figure with thousands separators (`12,345`); small values
/// keep a few significant digits.
pub fn fmt_count(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v.abs() < 100.0 {
        return fmt_num(v);
    }
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A numeric table cell: the exact value in `data-v` (for sorting and
/// checking), `text` shown; an empty `data-v` and a dash when absent.
pub fn num_cell(v: Option<f64>, text: impl Fn(f64) -> String, class: &str) -> String {
    match v.filter(|x| x.is_finite()) {
        Some(x) => format!(
            "<td class=\"num {class}\" data-v=\"{x}\">{}</td>",
            escape(&text(x))
        ),
        None => format!("<td class=\"num {class}\" data-v=\"\">–</td>"),
    }
}

/// A text table cell.
pub fn text_cell(s: &str) -> String {
    format!("<td>{}</td>", escape(s))
}

/// `s` escaped, cut to 160 characters with the whole text as a tooltip.
fn shortened(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        return escape(s);
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("<span title=\"{}\">{}…</span>", escape(s), escape(&cut))
}

fn recall_text(v: f64) -> String {
    format!("{v:.4}")
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 16px; color: #1a1a1a; max-width: 1248px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.meta { font-size: 13px; color: #333; line-height: 1.5; }
.meta code { font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure.chart { margin: 0; border: 1px solid #e2e2e2; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0 12px; }
th, td { border: 1px solid #d6d6d6; padding: 3px 6px; white-space: nowrap; }
th { vertical-align: bottom; }
th { background: #f3f3f3; cursor: pointer; user-select: none; white-space: nowrap; position: sticky; top: 0; }
th[data-dir="asc"]::after { content: " ▲"; }
th[data-dir="desc"]::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafafa; }
td.err { color: #a00; max-width: 360px; white-space: normal; }
td.worse { background: #fbd5d5 !important; color: #7a0000; font-weight: 600; }
td.better { background: #d9f2dd !important; color: #0b5a1c; }
.note { font-size: 12px; color: #555; }
p.err { color: #a00; }
.scroll { overflow-x: auto; max-height: 900px; overflow-y: auto; }
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var asc = th.dataset.dir !== 'asc';
      table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = asc ? 'asc' : 'desc';
      var key = function (row) {
        var cell = row.cells[col];
        if (cell.dataset.v !== undefined) {
          var v = parseFloat(cell.dataset.v);
          return isNaN(v) ? null : v;
        }
        return cell.textContent;
      };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return (x === null) - (y === null); }
        var c = (typeof x === 'number' && typeof y === 'number') ? x - y
          : String(x).localeCompare(String(y), undefined, { numeric: true });
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"#;

/// Wraps `body` into a complete page titled `title`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

/// `first – last` of the runs' timestamps, or one date.
fn date_span(runs: &[&RunResult]) -> String {
    let mut ts: Vec<&str> = runs.iter().map(|r| r.timestamp.as_str()).collect();
    ts.sort_unstable();
    match (ts.first(), ts.last()) {
        (Some(a), Some(b)) if a != b => format!("{a} – {b}"),
        (Some(a), _) => a.to_string(),
        _ => "–".into(),
    }
}

/// `algorithm: library (script or module); …` for the runs that ran in a
/// worker process, paths shown relative to the repository root.
fn workers_text(runs: &[&RunResult]) -> String {
    let root = format!("{}/", crate::data::repo_root().display());
    let workers: BTreeSet<String> = runs
        .iter()
        .filter_map(|r| {
            let w = r.worker.as_ref()?;
            let module = w.info.as_ref().and_then(|i| i.get("module"));
            let path = module
                .and_then(serde_json::Value::as_str)
                .or(w.script.as_deref())
                .map(|p| format!(" ({})", p.strip_prefix(&root).unwrap_or(p)));
            Some(format!(
                "{}: {}{}",
                r.algorithm,
                w.library.as_deref().unwrap_or("library not reported"),
                path.unwrap_or_default()
            ))
        })
        .collect();
    workers.into_iter().collect::<Vec<_>>().join("; ")
}

/// Machine, commit, date and sweep lines (and the workers' libraries) for
/// the top of a page.
pub fn meta_html(runs: &[&RunResult]) -> String {
    meta_html_tagged(runs, None)
}

/// [`meta_html`], each machine line headed by its tag when the runs come
/// from several machines, with a warning that their QPS is shown apart.
pub fn meta_html_tagged(runs: &[&RunResult], tags: Option<&MachineTags>) -> String {
    let mut machines = BTreeSet::new();
    for r in runs {
        let m = &r.machine;
        let tag = tags
            .and_then(|t| t.tag(m))
            .map(|t| format!("[{t}] "))
            .unwrap_or_default();
        let mem = m
            .memory_bytes
            .map(|b| format!(", {:.1} GiB RAM", b as f64 / (1u64 << 30) as f64))
            .unwrap_or_default();
        machines.insert(format!(
            "{tag}{} — {} logical cores{}{}{}; {} ({}){}",
            m.cpu_model.as_deref().unwrap_or("unknown CPU"),
            m.logical_cores,
            m.physical_cores
                .map(|p| format!(" / {p} physical"))
                .unwrap_or_default(),
            mem,
            m.os.as_deref()
                .map(|o| format!("; {o}"))
                .unwrap_or_default(),
            m.rustc,
            if m.optimized {
                "optimised"
            } else {
                "NOT optimised"
            },
            m.kernel
                .as_deref()
                .map(|k| format!("; kernel {k}"))
                .unwrap_or_default(),
        ));
    }
    let commits: BTreeSet<&str> = runs
        .iter()
        .map(|r| r.commit.as_deref().unwrap_or("unknown"))
        .collect();
    let sweeps: BTreeSet<&str> = runs.iter().map(|r| r.sweep_id.as_str()).collect();
    let join = |s: BTreeSet<&str>| {
        s.into_iter()
            .map(|c| format!("<code>{}</code>", escape(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::from("<div class=\"meta\">");
    if let Some(t) = tags.filter(|t| t.count() > 1) {
        let _ = write!(
            out,
            "<div class=\"machines-warning\"><b>These runs come from {} different machines.</b> \
             QPS measured on different hardware is never drawn on one curve or summarised in one row: \
             every series is labelled with its machine.</div>",
            t.count()
        );
    }
    for m in machines {
        let _ = write!(out, "<div><b>Machine:</b> {}</div>", escape(&m));
    }
    let workers = workers_text(runs);
    if !workers.is_empty() {
        let _ = write!(out, "<div><b>Workers:</b> {}</div>", escape(&workers));
    }
    let _ = write!(
        out,
        "<div><b>Commit:</b> {}</div><div><b>Date:</b> {}</div><div><b>Sweeps:</b> {}</div></div>",
        join(commits),
        escape(&date_span(runs)),
        join(sweeps)
    );
    out
}

/// A chart in its `<figure>`, with its key as id and series names listed.
pub fn figure_html(fig: &Figure) -> anyhow::Result<String> {
    let svg = charts::render(&fig.chart)?;
    let names: Vec<&str> = fig.chart.series.iter().map(|s| s.name.as_str()).collect();
    Ok(format!(
        "<figure class=\"chart\" id=\"{}\" data-series=\"{}\">{svg}</figure>\n",
        escape(&fig.key),
        escape(&names.join("|"))
    ))
}

/// The summary table: per series and scale, best QPS at the recall targets,
/// build speed, bytes per vector.
pub fn summary_table(rows: &[SummaryRow]) -> String {
    let mut h = String::from("<div class=\"scroll\"><table class=\"sortable summary\"><thead><tr><th>dataset</th><th>n</th><th>algorithm</th><th>runs</th>");
    for t in RECALL_TARGETS {
        let _ = write!(h, "<th>QPS 1-thr<br>R@10≥{t:.2}</th>");
    }
    for t in RECALL_TARGETS {
        let _ = write!(h, "<th>QPS batch<br>R@10≥{t:.2}</th>");
    }
    h.push_str("<th>max<br>recall@10</th><th>build<br>vec/s</th><th>bytes/<br>vector</th><th>bytes<br>from</th>");
    // Reopen columns only when some series reopened a disk-backed index.
    let reopen = rows.iter().any(|r| r.open_seconds.is_some());
    if reopen {
        h.push_str(REOPEN_HEADERS);
    }
    h.push_str("</tr></thead><tbody>\n");
    for r in rows {
        let _ = write!(
            h,
            "<tr data-dataset=\"{}\" data-n=\"{}\" data-label=\"{}\">{}{}{}{}",
            escape(&r.dataset),
            r.n,
            escape(&r.label),
            text_cell(&r.dataset),
            num_cell(Some(r.n as f64), fmt_count, "n"),
            text_cell(&r.label),
            num_cell(Some(r.runs as f64), fmt_count, "runs"),
        );
        for (i, v) in r.best_qps.iter().enumerate() {
            h.push_str(&num_cell(*v, fmt_count, &format!("qps{i}")));
        }
        for (i, v) in r.best_batch_qps.iter().enumerate() {
            h.push_str(&num_cell(*v, fmt_count, &format!("bqps{i}")));
        }
        h.push_str(&num_cell(r.max_recall_at_10, recall_text, "recall"));
        h.push_str(&num_cell(r.build_vectors_per_second, fmt_count, "build"));
        h.push_str(&num_cell(
            r.bytes_per_vector.map(|b| b.0),
            |v| format!("{v:.1}"),
            "bytes",
        ));
        h.push_str(&text_cell(
            r.bytes_per_vector.map(|b| b.1.as_str()).unwrap_or("–"),
        ));
        if reopen {
            h.push_str(&reopen_cells(r.open_seconds, r.rss_after_open_bytes));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
    h
}

/// Headers of the reopen columns (disk-backed indexes).
const REOPEN_HEADERS: &str = "<th>open s</th><th>RSS after<br>open MiB</th>";

/// Cells of the reopen columns: seconds the reopen took and the process's
/// `VmRSS` just after it, MiB.
fn reopen_cells(open_seconds: Option<f64>, rss_after_open_bytes: Option<f64>) -> String {
    num_cell(open_seconds, |v| format!("{v:.3}"), "open")
        + &num_cell(
            rss_after_open_bytes.map(|b| b / (1u64 << 20) as f64),
            |v| format!("{v:.1}"),
            "rss-open",
        )
}

/// The QPS ratios at equal recall ([`crate::sweep::ratios`]), one table per
/// dataset scale where two engines or more ran; empty when none did.
pub fn ratio_html(tables: &[RatioTable]) -> String {
    let mut h = String::new();
    for t in tables {
        let _ = write!(
            h,
            "<p class=\"note\">QPS ratios at equal recall@10 — {}, n = {}: single thread, \
             interpolated on each engine's Pareto frontier, median of the repeats (range).</p>\n\
             <div class=\"scroll\"><table class=\"ratios\"><thead><tr><th>engine / {}</th>",
            escape(&t.dataset),
            fmt_count(t.n as f64),
            escape(&t.reference)
        );
        for r in RATIO_RECALLS {
            let _ = write!(h, "<th>at {r:.2}</th>");
        }
        h.push_str("</tr></thead><tbody>\n");
        for (name, ratios) in &t.rows {
            let _ = write!(h, "<tr>{}", text_cell(&format!("{name} / {}", t.reference)));
            for r in ratios {
                h.push_str(&text_cell(&r.map_or("–".to_string(), |r| format_ratio(&r))));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table></div>\n");
    }
    h
}

/// The table of every run with its parameters and figures.
pub fn runs_table(set: &ResultSet) -> String {
    // Reopen columns only when some run reopened a disk-backed index.
    let reopen = set.runs.iter().any(|r| r.result.open_seconds.is_some());
    let mut h = String::from(
        "<div class=\"scroll\"><table class=\"sortable runs\"><thead><tr><th>dataset</th><th>n</th><th>algorithm</th>\
         <th>build params</th><th>query params</th><th>recall@1</th><th>recall@10</th>\
         <th>QPS 1-thr</th><th>QPS batch</th><th>batch threads</th><th>p50 ms</th><th>p99 ms</th>\
         <th>build s</th><th>build vec/s</th><th>bytes/vector</th>",
    );
    if reopen {
        h.push_str(REOPEN_HEADERS);
    }
    h.push_str("<th>error / notes</th><th>file</th></tr></thead><tbody>\n");
    for run in &set.runs {
        let r = &run.result;
        let file = run
            .path
            .strip_prefix(&set.root)
            .unwrap_or(&run.path)
            .display()
            .to_string();
        let bytes = bytes_per_vector(r);
        let mut remarks: Vec<String> = r.error.iter().cloned().collect();
        if let Some(n) = r.noise.filter(|n| n.loaded) {
            remarks.push(format!(
                "LOADED: load average {} on {} cores while timed",
                [n.before.load_avg_1m, n.after.load_avg_1m]
                    .iter()
                    .map(|l| l.map_or("?".to_string(), |l| format!("{l:.1}")))
                    .collect::<Vec<_>>()
                    .join(" → "),
                n.cores
            ));
        }
        remarks.extend(r.notes.iter().cloned());
        let _ = writeln!(
            h,
            "<tr>{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}<td class=\"{}\">{}</td>{}</tr>",
            text_cell(&r.dataset),
            num_cell(Some(r.n as f64), fmt_count, ""),
            text_cell(&r.algorithm),
            text_cell(&params_text(&r.build_params)),
            text_cell(&r.query_params.as_ref().map(params_text).unwrap_or_default()),
            num_cell(r.recall_at_1, recall_text, ""),
            num_cell(r.recall_at_10, recall_text, ""),
            num_cell(r.qps_single_thread, fmt_count, ""),
            num_cell(r.qps_batch, fmt_count, ""),
            num_cell(Some(r.batch_threads as f64), fmt_count, ""),
            num_cell(r.latency_ms.map(|l| l.p50), |v| format!("{v:.3}"), ""),
            num_cell(r.latency_ms.map(|l| l.p99), |v| format!("{v:.3}"), ""),
            num_cell(r.build_seconds, |v| format!("{v:.3}"), ""),
            num_cell(r.build_vectors_per_second, fmt_count, ""),
            num_cell(
                bytes.map(|b| b.0),
                |v| format!("{v:.1} ({})", bytes.map(|b| b.1.as_str()).unwrap_or("")),
                ""
            ),
            if reopen {
                reopen_cells(r.open_seconds, r.rss_after_open_bytes.map(|b| b as f64))
            } else {
                String::new()
            },
            if r.error.is_some() { "err" } else { "" },
            shortened(&remarks.join("; ")),
            text_cell(&file),
        );
    }
    h.push_str("</tbody></table></div>\n");
    h
}

/// The report page of one result set.
pub fn render_report(set: &ResultSet) -> anyhow::Result<String> {
    let all: Vec<&RunResult> = set.results().collect();
    let labeller = Labeller::by_machine(all.iter().copied());
    let palette = Palette::new(all.iter().map(|r| labeller.label(r)));
    let ef = fixed_ef(&all, &labeller);
    let cx = Context {
        labeller: &labeller,
        palette: &palette,
        ef,
    };
    let errors = all.iter().filter(|r| r.error.is_some()).count();
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>OmenDB benchmark report</h1>\n{}\n<p class=\"note\">{} run(s) from <code>{}</code>{}{}{}. \
         Recall is ann-benchmarks' distance-based recall; QPS is the best of the repeats; \
         curves are each algorithm's Pareto frontier over its query settings, markers every setting. \
         Across-scale charts use {}. Tables sort on a click.</p>\n",
        meta_html_tagged(&all, labeller.machines()),
        all.len(),
        escape(&set.root.display().to_string()),
        if errors > 0 { format!(", {errors} with errors") } else { String::new() },
        if set.superseded > 0 {
            format!(", {} older duplicate(s) replaced by newer runs", set.superseded)
        } else {
            String::new()
        },
        if set.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} unreadable JSON file(s) skipped", set.skipped.len())
        },
        match ef {
            Some(ef) => format!("each graph index's run at ef = {ef} (exact indexes: their one setting)"),
            None => "each algorithm's highest-recall setting".into(),
        },
    );
    body.push_str("<h2 id=\"summary\">Summary</h2>\n");
    // Scenario runs (filtered, streaming) have their own charts: their
    // figures are not comparable with plain k-NN runs'.
    let plain: Vec<&RunResult> = all.iter().copied().filter(|r| !is_scenario(r)).collect();
    body.push_str(&ratio_html(&ratio_tables(plain.iter().copied())));
    body.push_str(&summary_table(&summarize(&plain, &labeller)));
    for ds in set.datasets() {
        let _ = write!(
            body,
            "<h2 id=\"ds-{}\">{} <span class=\"note\">({}{} run(s))</span></h2>\n<div class=\"charts\">\n",
            slug(&ds.name),
            escape(&ds.name),
            if ds.dims > 0 {
                format!("{} dims, {}, ", ds.dims, escape(&ds.metric))
            } else {
                String::new()
            },
            ds.runs.len()
        );
        let measured = ds
            .runs
            .iter()
            .any(|r| r.recall_at_10.is_some() || r.build_vectors_per_second.is_some());
        let (scenario, knn): (Vec<&RunResult>, Vec<&RunResult>) =
            ds.runs.iter().copied().partition(|r| is_scenario(r));
        if measured {
            if !knn.is_empty() {
                let side = Side {
                    tag: None,
                    runs: knn,
                    dashed: false,
                };
                for fig in dataset_figures(&ds.name, &[side], &cx) {
                    body.push_str(&figure_html(&fig)?);
                }
            }
            for fig in scenario_figures(&ds.name, &scenario, &cx) {
                body.push_str(&figure_html(&fig)?);
            }
        } else {
            let errors: BTreeSet<&str> =
                ds.runs.iter().filter_map(|r| r.error.as_deref()).collect();
            let _ = write!(
                body,
                "<p class=\"note err\">No run of this dataset measured anything, so it has no charts. Errors: {}</p>",
                escape(&errors.into_iter().collect::<Vec<_>>().join("; "))
            );
        }
        body.push_str("</div>\n");
    }
    body.push_str("<h2 id=\"runs\">All runs</h2>\n");
    body.push_str(&runs_table(set));
    if !set.skipped.is_empty() {
        body.push_str("<h2>Skipped files</h2><ul class=\"note\">");
        for (p, why) in &set.skipped {
            let _ = write!(
                body,
                "<li><code>{}</code>: {}</li>",
                escape(&p.display().to_string()),
                escape(why)
            );
        }
        body.push_str("</ul>\n");
    }
    Ok(page("OmenDB benchmark report", &body))
}
