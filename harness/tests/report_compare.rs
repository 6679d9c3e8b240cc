//! `omenbench compare`: both sets on the same charts, deltas with
//! regressions highlighted.

mod report_common;

use omenbench::report::compare::write_compare;
use report_common::{sweep, write, DATASETS, SCALES};
use scraper::{Html, Selector};

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

#[test]
fn compare_overlays_sets_and_flags_regressions() {
    let tmp = tempfile::tempdir().unwrap();
    let (old_dir, new_dir) = (tmp.path().join("old"), tmp.path().join("new"));
    write(&old_dir, &sweep(1.0, 1.0));
    // New: hnsw_rs 40% slower, omendb-hnsw 30% faster, omendb-flat 20% larger.
    let new: Vec<_> = sweep(1.0, 1.0)
        .into_iter()
        .map(|mut r| {
            let f = match r.algorithm.as_str() {
                "hnsw_rs" => 0.6,
                "omendb-hnsw" => 1.3,
                _ => 1.0,
            };
            r.qps_single_thread = r.qps_single_thread.map(|q| q * f);
            if r.algorithm == "omendb-flat" {
                r.bytes_per_vector.index = r.bytes_per_vector.index.map(|b| b * 1.2);
            }
            r
        })
        .collect();
    write(&new_dir, &new);
    let index = write_compare(&old_dir, &new_dir, &tmp.path().join("cmp")).unwrap();
    let html = std::fs::read_to_string(&index).unwrap();
    let doc = Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);

    // Both sides on the same chart.
    let fig = doc
        .select(&sel(&format!(
            "figure#pareto-single-{}-{}",
            DATASETS[0], SCALES[0]
        )))
        .next()
        .unwrap();
    let texts: Vec<String> = fig
        .select(&sel("text"))
        .map(|t| t.text().collect::<String>().trim().to_string())
        .collect();
    for name in [
        "hnsw_rs · old",
        "hnsw_rs · new",
        "omendb-hnsw · old",
        "omendb-hnsw · new",
    ] {
        assert!(texts.iter().any(|t| t == name), "missing series {name}");
    }

    // Regressions: hnsw_rs (QPS) and omendb-flat (bytes) on every dataset
    // and scale; omendb-hnsw only improves.
    let rows: Vec<_> = doc.select(&sel("table.deltas tbody tr")).collect();
    assert_eq!(rows.len(), DATASETS.len() * SCALES.len() * 3);
    for row in rows {
        let label: String = row.select(&sel("td")).nth(2).unwrap().text().collect();
        let regressed = row.value().classes().any(|c| c == "regressed");
        let worse = row.select(&sel("td.worse")).count();
        let better = row.select(&sel("td.better")).count();
        match label.as_str() {
            "hnsw_rs" => assert!(regressed && worse >= 1 && better == 0, "{label}"),
            "omendb-flat" => assert!(regressed && worse == 1, "{label}"),
            "omendb-hnsw" => assert!(!regressed && worse == 0 && better >= 1, "{label}"),
            other => panic!("unexpected row {other}"),
        }
    }
    assert!(html.contains(&format!(
        "{} series with a regression",
        DATASETS.len() * SCALES.len() * 2
    )));
}
