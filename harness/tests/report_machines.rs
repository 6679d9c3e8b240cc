//! A report over runs from two machines (a merged sharded sweep) never puts
//! their QPS on one curve: every series carries its machine, and the page
//! says the runs come from different hardware.

mod report_common;

use omenbench::report::write_report;
use report_common::{sweep, write};

#[test]
fn runs_from_two_machines_are_separate_series() {
    let mut runs = sweep(1.0, 1.0);
    // Half of every algorithm's query settings ran on another machine, as
    // when shards land on different nodes.
    for (i, r) in runs.iter_mut().enumerate() {
        r.machine.cpu_model = Some(if i % 2 == 0 { "CPU one" } else { "CPU two" }.into());
        r.machine.logical_cores = 8;
    }
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("results"), &runs);
    let page = write_report(&dir.path().join("results"), &dir.path().join("out")).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains("These runs come from 2 different machines"),
        "no warning"
    );
    assert!(
        html.contains("[machine A] CPU one"),
        "machine list not tagged"
    );
    assert!(
        html.contains("[machine B] CPU two"),
        "machine list not tagged"
    );
    // Every chart's series names carry a machine; none mixes them.
    let mut charts = 0;
    for part in html.split("data-series=\"").skip(1) {
        let names = &part[..part.find('"').unwrap()];
        if names.is_empty() {
            continue;
        }
        charts += 1;
        for name in names.split('|') {
            assert!(
                name.ends_with("· machine A") || name.ends_with("· machine B"),
                "series `{name}` does not name its machine"
            );
        }
    }
    assert!(charts > 0);

    // One machine: no tags, no warning.
    let one = sweep(1.0, 1.0);
    let dir1 = tempfile::tempdir().unwrap();
    write(&dir1.path().join("results"), &one);
    let page = write_report(&dir1.path().join("results"), &dir1.path().join("out")).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    assert!(!html.contains("different machines"));
    assert!(!html.contains("· machine"));
}
