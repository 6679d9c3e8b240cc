//! `omenbench report`: the page parses, has one chart per expected figure
//! with the right series, and its summary equals figures recomputed here
//! from the result documents on disk.

mod report_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use omenbench::report::write_report;
use omenbench::sweep::results::{read_result, RunResult};
use report_common::{sweep, write, DATASETS, EXACT, GRAPH, SCALES};
use scraper::{ElementRef, Html, Selector};

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// Every `<text>` string inside an element.
fn svg_texts(el: ElementRef<'_>) -> BTreeSet<String> {
    el.select(&sel("text"))
        .map(|t| t.text().collect::<String>().trim().to_string())
        .collect()
}

fn parse(path: &Path) -> Html {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = Html::parse_document(&text);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    // Self-contained: nothing is fetched.
    for bad in [
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
        "<script src",
    ] {
        assert!(
            !text.contains(bad),
            "page references something external: {bad}"
        );
    }
    doc
}

/// The result documents written to `dir`, read back with the harness's reader.
fn read_back(dir: &Path) -> Vec<RunResult> {
    let mut out = Vec::new();
    for sweep in std::fs::read_dir(dir).unwrap() {
        let sweep = sweep.unwrap().path();
        if !sweep.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(sweep).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                out.push(read_result(&p).unwrap());
            }
        }
    }
    out
}

fn best(runs: &[&RunResult], t: f64, batch: bool) -> Option<f64> {
    runs.iter()
        .filter(|r| r.recall_at_10.unwrap() >= t)
        .map(|r| {
            if batch {
                r.qps_batch
            } else {
                r.qps_single_thread
            }
            .unwrap()
        })
        .max_by(f64::total_cmp)
}

fn data_v(row: ElementRef<'_>, class: &str) -> Option<f64> {
    let cell = row.select(&sel(&format!("td.{class}"))).next().unwrap();
    let v = cell.value().attr("data-v").unwrap();
    (!v.is_empty()).then(|| v.parse().unwrap())
}

#[test]
fn report_has_expected_charts_series_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    write(&results, &sweep(1.0, 1.0));
    // Files the loader must step over without failing the report.
    std::fs::write(results.join("notes.json"), "{\"not\": \"a result\"}").unwrap();
    let out = tmp.path().join("report");
    let index = write_report(&results, &out).unwrap();
    assert_eq!(index, out.join("index.html"));
    let doc = parse(&index);

    // The summary leads with the QPS ratios at equal recall: one table per
    // dataset scale, every engine over the first non-OmenDB one (hnsw_rs).
    let ratios: Vec<ElementRef> = doc.select(&sel("table.ratios")).collect();
    assert_eq!(ratios.len(), DATASETS.len() * SCALES.len());
    let first: String = ratios[0].text().collect();
    assert!(first.contains("omendb-hnsw / hnsw_rs"), "{first}");
    assert!(first.contains('×'), "no ratio reached: {first}");

    // Machine, commit and date at the top.
    let meta: String = doc
        .select(&sel("div.meta"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert!(
        meta.contains("Test CPU 3000") && meta.contains("abc1234"),
        "{meta}"
    );
    assert!(meta.contains("2026-01-01T00:10:00Z"), "{meta}");

    // One SVG per expected chart.
    let mut expected = BTreeSet::new();
    for d in DATASETS {
        for n in SCALES {
            expected.insert(format!("pareto-single-{d}-{n}"));
            expected.insert(format!("pareto-batch-{d}-{n}"));
        }
        for k in [
            "scale-recall",
            "scale-build",
            "scale-bytes",
            "scale-p99",
            "recall1",
        ] {
            expected.insert(format!("{k}-{d}"));
        }
    }
    let figures: Vec<ElementRef> = doc.select(&sel("figure.chart")).collect();
    let ids: BTreeSet<String> = figures
        .iter()
        .map(|f| f.value().id().unwrap().to_string())
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(figures.len(), expected.len(), "duplicate chart ids");
    assert_eq!(
        doc.select(&sel("figure.chart > svg")).count(),
        expected.len()
    );

    // Each chart names every algorithm in its legend, and labels its axes.
    let all_algos: BTreeSet<String> = GRAPH
        .iter()
        .chain([EXACT].iter())
        .map(|s| s.to_string())
        .collect();
    for f in &figures {
        let texts = svg_texts(*f);
        let id = f.value().id().unwrap();
        let missing: Vec<_> = all_algos.difference(&texts).collect();
        assert!(missing.is_empty(), "{id}: legend lacks {missing:?}");
        if id.starts_with("pareto") {
            assert!(texts.iter().any(|t| t.starts_with("recall@10")), "{id}");
            assert!(texts.iter().any(|t| t.contains("queries / second")), "{id}");
        }
        if id.starts_with("scale") {
            assert!(texts.iter().any(|t| t.starts_with("train vectors")), "{id}");
        }
    }

    // Summary rows equal figures recomputed from the JSON on disk.
    let runs = read_back(&results);
    assert_eq!(
        runs.len(),
        DATASETS.len() * SCALES.len() * (GRAPH.len() * 4 + 1)
    );
    let mut groups: BTreeMap<(String, usize, String), Vec<&RunResult>> = BTreeMap::new();
    for r in &runs {
        let base = r.dataset.split('@').next().unwrap().to_string();
        groups
            .entry((base, r.n, r.algorithm.clone()))
            .or_default()
            .push(r);
    }
    let rows: Vec<ElementRef> = doc.select(&sel("table.summary tbody tr")).collect();
    assert_eq!(rows.len(), groups.len());
    for row in rows {
        let v = row.value();
        let key = (
            v.attr("data-dataset").unwrap().to_string(),
            v.attr("data-n").unwrap().parse().unwrap(),
            v.attr("data-label").unwrap().to_string(),
        );
        let g = &groups[&key];
        for (i, t) in [0.90, 0.95, 0.99].into_iter().enumerate() {
            assert_eq!(
                data_v(row, &format!("qps{i}")),
                best(g, t, false),
                "{key:?} @{t}"
            );
            assert_eq!(
                data_v(row, &format!("bqps{i}")),
                best(g, t, true),
                "{key:?} @{t}"
            );
        }
        let build = g
            .iter()
            .map(|r| r.build_vectors_per_second.unwrap())
            .max_by(f64::total_cmp);
        assert_eq!(data_v(row, "build"), build, "{key:?}");
        // Every run of a build has the same bytes here, so the median is it;
        // the index's own count when it keeps one, else RSS growth.
        let r0 = g[0];
        let bytes = r0.bytes_per_vector.index.or(r0.bytes_per_vector.rss);
        assert_eq!(data_v(row, "bytes"), bytes, "{key:?}");
    }
    // The exact index reaches 0.99 everywhere; hnsw_rs at ef=10 never does.
    let q = |label: &str, n: usize, class: &str| {
        let row = doc
            .select(&sel(&format!(
                "table.summary tr[data-label=\"{label}\"][data-n=\"{n}\"]"
            )))
            .next()
            .unwrap();
        data_v(row, class)
    };
    assert!(q(EXACT, 1000, "qps2").is_some());
    assert!(q("hnsw_rs", 1000, "qps0").is_some());

    // All runs are listed, and the unreadable file is reported, not fatal.
    assert_eq!(doc.select(&sel("table.runs tbody tr")).count(), runs.len());
    let text = std::fs::read_to_string(&index).unwrap();
    assert!(text.contains("notes.json"));
}

#[test]
fn newest_duplicate_wins_and_bad_dirs_error_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let old = sweep(1.0, 1.0);
    write(&results, &old);
    let mut newer = sweep(2.0, 1.0);
    for r in &mut newer {
        r.sweep_id = "20260102T000000Z".into();
        r.timestamp = "2026-01-02T00:00:00Z".into();
    }
    write(&results, &newer);
    let index = write_report(&results, &tmp.path().join("out")).unwrap();
    let doc = parse(&index);
    // Only the newer sweep's runs are shown.
    assert_eq!(doc.select(&sel("table.runs tbody tr")).count(), newer.len());
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(html.contains("older duplicate(s) replaced"));

    let missing = write_report(&tmp.path().join("nope"), &tmp.path().join("o2"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("does not exist"), "{missing}");
    let junk = tmp.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("x.json"), "not json").unwrap();
    let e = format!(
        "{:#}",
        write_report(&junk, &tmp.path().join("o3")).unwrap_err()
    );
    assert!(
        e.contains("no result documents") && e.contains("x.json"),
        "{e}"
    );
}
