//! Filtered search over every index kind: nothing outside the filter (or
//! deleted) is ever returned, an empty allow-set gives an empty answer,
//! a filter that allows everything changes nothing, batches agree with
//! single searches, and recall under filters of 50% down to 0.1% of the
//! ids (uncorrelated with the data, and correlated with it) holds against
//! brute force — both by traversal and by the exact scan small allow-sets
//! take.

mod common;

use std::collections::BTreeSet;

use common::kinds::{kinds, Kind, D};
use common::{clustered, Rng};
use omendb::{Filter, FlatIndex, Index, Metric, Neighbor, SearchParams};

const N: usize = 4_000;
const NQ: usize = 30;
const K: usize = 10;

fn build(kind: &Kind, dir: &std::path::Path, train: &[f32]) -> Box<dyn Index> {
    let index = (kind.make)(dir, Metric::L2);
    let ids: Vec<u64> = (0..N as u64).collect();
    index.add_batch(&ids, train).unwrap();
    index
}

/// The allowed ids of `found`, checked: allowed, live, distinct, sorted.
fn check_answer(found: &[Neighbor], allowed: &dyn Fn(u64) -> bool, what: &str) {
    let mut seen = BTreeSet::new();
    for n in found {
        assert!(
            allowed(n.id),
            "{what}: returned id {} outside the filter",
            n.id
        );
        assert!(seen.insert(n.id), "{what}: id {} returned twice", n.id);
    }
    assert!(
        found.windows(2).all(|w| w[0].distance <= w[1].distance),
        "{what}: not sorted: {found:?}"
    );
}

#[test]
fn filters_are_honoured_by_every_kind() {
    let (train, test) = clustered(N, NQ, D, 20, 3);
    let mut rng = Rng::new(9);
    let removed: Vec<u64> = (0..40).map(|i| i * 97).collect();
    // 30% of the ids, some removed ones and some never added.
    let mut allow: Vec<u64> = (0..N as u64).filter(|_| rng.unit() < 0.3).collect();
    allow.extend(removed.iter().copied());
    allow.extend([N as u64 + 5, u64::MAX]);
    allow.sort_unstable();
    let allowed_live = |id: u64| allow.binary_search(&id).is_ok() && !removed.contains(&id);
    let set = Filter::allow_ids(allow.iter().copied());
    let thirds = Filter::predicate(|id| id % 3 == 0);
    for kind in kinds() {
        let dir = tempfile::tempdir().unwrap();
        let index = build(&kind, dir.path(), &train);
        for &id in &removed {
            index.remove(id).unwrap();
        }
        let name = kind.name;
        let with = |f: Filter| kind.params.clone().filtered(f);
        let cases = [
            (
                "allow-set",
                with(set.clone()),
                &allowed_live as &dyn Fn(u64) -> bool,
            ),
            (
                "allow-set, traversed",
                with(set.clone().exact_below(0)),
                &allowed_live,
            ),
            (
                "allow-set, scanned",
                with(set.clone().exact_below(usize::MAX)),
                &allowed_live,
            ),
            ("predicate", with(thirds.clone()), &|id| {
                id % 3 == 0 && !removed.contains(&id)
            }),
        ];
        for (what, params, allowed) in &cases {
            let what = format!("{name}, {what}");
            for q in test.chunks_exact(D) {
                let found = index.search(q, K, params).unwrap();
                check_answer(&found, allowed, &what);
                assert_eq!(found.len(), K, "{what}: fewer than k though many pass");
            }
            let batch = index.search_batch(&test, K, params).unwrap();
            for (q, b) in test.chunks_exact(D).zip(&batch) {
                let single = index.search(q, K, params).unwrap();
                let ids = |v: &[Neighbor]| v.iter().map(|n| n.id).collect::<Vec<_>>();
                assert_eq!(ids(b), ids(&single), "{what}: batch differs from single");
            }
        }

        let q = &test[..D];
        let none = kind.params.clone().filtered(Filter::allow_ids([]));
        assert_eq!(
            index.search(q, K, &none).unwrap(),
            vec![],
            "{name}: empty filter"
        );
        let absent = kind
            .params
            .clone()
            .filtered(Filter::allow_ids(removed.clone()));
        assert_eq!(
            index.search(q, K, &absent).unwrap(),
            vec![],
            "{name}: only removed ids"
        );
        let three = Filter::allow_ids([5, 6, 7]);
        let found = index
            .search(q, K, &kind.params.clone().filtered(three))
            .unwrap();
        let got: BTreeSet<u64> = found.iter().map(|n| n.id).collect();
        assert_eq!(
            got,
            BTreeSet::from([5, 6, 7]),
            "{name}: k above the allowed count"
        );

        // A filter allowing everything is the unfiltered search.
        let everything = Filter::predicate(|_| true);
        for q in test.chunks_exact(D) {
            let plain = index.search(q, K, &kind.params).unwrap();
            let all = index
                .search(q, K, &kind.params.clone().filtered(everything.clone()))
                .unwrap();
            assert_eq!(plain, all, "{name}: allow-everything changed the answer");
        }
        // Bad input is still refused under a filter.
        assert!(index.search(&[f32::NAN; D], K, &with(set.clone())).is_err());
        assert!(index.search(q, 0, &with(set.clone())).is_err());
    }
}

/// Ids allowed at `selectivity`: drawn at random, or (`correlated`) the
/// vectors with the largest first coordinate, i.e. one region of the space.
fn allow_set(train: &[f32], selectivity: f64, correlated: bool, seed: u64) -> Vec<u64> {
    let want = ((N as f64 * selectivity).round() as usize).max(1);
    let mut ids: Vec<u64> = (0..N as u64).collect();
    if correlated {
        ids.sort_by(|&a, &b| train[b as usize * D].total_cmp(&train[a as usize * D]));
    } else {
        let mut rng = Rng::new(seed);
        for i in (1..ids.len()).rev() {
            ids.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
    }
    ids.truncate(want);
    ids
}

#[test]
fn recall_under_filters_holds_against_brute_force() {
    let (train, test) = clustered(N, NQ, D, 20, 4);
    let flat = FlatIndex::new(D, Metric::L2).unwrap();
    flat.add_batch(&(0..N as u64).collect::<Vec<_>>(), &train)
        .unwrap();
    for kind in kinds() {
        let dir = tempfile::tempdir().unwrap();
        let index = build(&kind, dir.path(), &train);
        for selectivity in [0.5, 0.1, 0.01, 0.001] {
            for correlated in [false, true] {
                let ids = allow_set(&train, selectivity, correlated, 17);
                let filter = Filter::allow_ids(ids.iter().copied());
                let truth = flat
                    .search_batch(&test, K, &SearchParams::default().filtered(filter.clone()))
                    .unwrap();
                for (how, f) in [
                    ("default", filter.clone()),
                    ("traversed", filter.exact_below(0)),
                ] {
                    let params = kind.params.clone().filtered(f);
                    let (mut hit, mut want) = (0, 0);
                    for (q, t) in test.chunks_exact(D).zip(&truth) {
                        let found = index.search(q, K, &params).unwrap();
                        assert_eq!(found.len(), t.len(), "{}: answer size", kind.name);
                        // Distance-threshold recall, as ann-benchmarks counts it.
                        let bound = t.last().map_or(f32::INFINITY, |n| n.distance) * 1.001 + 1e-6;
                        hit += found.iter().filter(|n| n.distance <= bound).count();
                        want += t.len();
                    }
                    let r = hit as f64 / want as f64;
                    println!(
                        "{} s={selectivity} correlated={correlated} {how}: recall@10 {r:.4}",
                        kind.name
                    );
                    assert!(
                        r >= kind.min_recall,
                        "{} s={selectivity} correlated={correlated} {how}: recall@10 {r}",
                        kind.name
                    );
                }
            }
        }
    }
}
