//! Every committed sweep config still parses and validates: a config that
//! a report names as its command must run as written.

use omenbench::sweep::adapters::Registry;
use omenbench::sweep::config::SweepConfig;

#[test]
fn every_committed_config_validates() {
    let dir = omenbench::data::repo_root().join("harness/configs");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let cfg = SweepConfig::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        cfg.validate(&Registry::builtin())
            .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    checked.sort();
    for must in [
        "search-speed-100k.json",
        "search-speed-1m.json",
        "search-speed-fashion-mnist.json",
        "search-speed-glove.json",
        "reorder-100k.json",
    ] {
        assert!(
            checked.iter().any(|c| c == must),
            "{must} not found in {checked:?}"
        );
    }
}
