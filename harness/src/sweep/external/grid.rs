//! Parameter grids of engines brought in from a config, whose values are any
//! JSON (strings, floats, objects), not just the integers of built-in
//! algorithms.
//!
//! Each grid expands, as the built-in ones do, into the cartesian product of
//! its axes. The worker receives every set exactly as written; the runner,
//! the result documents and the report see an integer *label* of each set
//! ([`Params`]): an axis whose values are all non-negative integers appears
//! with its value; an axis with several other values appears as `name#`, the
//! index of the value in the config's list; a single non-integer value is
//! left out of the label (it is the same in every set, and the result's
//! `worker.build_params` / `worker.query_params` hold it). Labels are
//! therefore distinct whenever the sets are.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use serde_json::{Map, Value};

use crate::sweep::adapter::Params;

/// The JSON parameter sets behind an engine's integer labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamTable {
    build: Vec<(Params, Value)>,
    query: Vec<(Params, Value)>,
}

impl ParamTable {
    /// A table of expanded build and query sets, each `(label, JSON)`.
    pub fn new(build: Vec<(Params, Value)>, query: Vec<(Params, Value)>) -> Self {
        ParamTable { build, query }
    }

    /// Build-set labels, in run order.
    pub fn build_sets(&self) -> Vec<Params> {
        self.build.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Query-set labels, in run order.
    pub fn query_sets(&self) -> Vec<Params> {
        self.query.iter().map(|(p, _)| p.clone()).collect()
    }

    /// The JSON build set labelled `label`.
    pub fn build_json(&self, label: &Params) -> anyhow::Result<&Value> {
        lookup(&self.build, label, "build")
    }

    /// The JSON query set labelled `label`.
    pub fn query_json(&self, label: &Params) -> anyhow::Result<&Value> {
        lookup(&self.query, label, "query")
    }
}

fn lookup<'a>(
    sets: &'a [(Params, Value)],
    label: &Params,
    what: &str,
) -> anyhow::Result<&'a Value> {
    sets.iter()
        .find(|(p, _)| p == label)
        .map(|(_, v)| v)
        .with_context(|| format!("no {what}-parameter set is labelled {label:?}"))
}

/// One axis of a grid: its label name and the values it takes.
struct Axis {
    name: String,
    values: Vec<Value>,
    listed: bool,
}

impl Axis {
    /// `value` is a list of alternatives (non-empty) or one value.
    fn new(name: String, value: &Value, at: &str) -> anyhow::Result<Self> {
        match value {
            Value::Array(items) if items.is_empty() => {
                bail!("{at}: an empty list leaves nothing to run")
            }
            Value::Array(items) => Ok(Axis {
                name,
                values: items.clone(),
                listed: true,
            }),
            v => Ok(Axis {
                name,
                values: vec![v.clone()],
                listed: false,
            }),
        }
    }

    fn integer(v: &Value) -> Option<usize> {
        v.as_u64().and_then(|x| usize::try_from(x).ok())
    }

    /// Adds value `i` of this axis to `label`.
    fn label(&self, i: usize, label: &mut Params) {
        if self.values.iter().all(|v| Self::integer(v).is_some()) {
            if let Some(x) = Self::integer(&self.values[i]) {
                label.insert(self.name.clone(), x);
            }
        } else if self.listed && self.values.len() > 1 {
            label.insert(format!("{}#", self.name), i);
        }
    }
}

/// Every combination of one value per axis (first axis slowest), as
/// `(label, chosen values)`.
fn product(axes: &[Axis]) -> Vec<(Params, Vec<Value>)> {
    let mut out = vec![(Params::new(), Vec::new())];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|(label, chosen)| {
                (0..axis.values.len()).map(move |i| {
                    let mut l = label.clone();
                    axis.label(i, &mut l);
                    let mut c = chosen.clone();
                    c.push(axis.values[i].clone());
                    (l, c)
                })
            })
            .collect();
    }
    out
}

/// A worker script's `build` or `query` grid: name → value or list of
/// alternatives, in name order (`_`-prefixed names are comments). Each set is
/// a JSON object `{name: value}`.
pub fn named(grid: &BTreeMap<String, Value>, at: &str) -> anyhow::Result<Vec<(Params, Value)>> {
    let mut axes = Vec::new();
    for (name, value) in grid {
        if name.starts_with('_') {
            continue;
        }
        if name.is_empty() || name.ends_with('#') {
            bail!("{at}: parameter names must be non-empty and not end in `#`, got `{name}`");
        }
        axes.push(Axis::new(name.clone(), value, &format!("{at}.{name}"))?);
    }
    Ok(product(&axes)
        .into_iter()
        .map(|(label, chosen)| {
            let set: Map<String, Value> = axes
                .iter()
                .zip(chosen)
                .map(|(a, v)| (a.name.clone(), v))
                .collect();
            (label, Value::Object(set))
        })
        .collect())
}

/// ann-benchmarks' positional form (`args`, `query_args`): a list whose
/// element `i` is the `i`-th argument, a list there meaning alternatives (as
/// ann-benchmarks' `_generate_combinations`: `[["@metric"], [50, 100]]` and
/// `["@metric", [50, 100]]` both give two sets). Each set is
/// `{key: [arg, …]}`; labels are named `key[i]`. Absent: one empty set.
pub fn positional(
    list: Option<&Value>,
    key: &str,
    at: &str,
) -> anyhow::Result<Vec<(Params, Value)>> {
    let items = match list {
        None => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(other) => bail!(
            "{at}: expected a list of positional arguments (ann-benchmarks' form, \
             a list at a position meaning alternatives), got {other}"
        ),
    };
    let axes = items
        .iter()
        .enumerate()
        .map(|(i, v)| Axis::new(format!("{key}[{i}]"), v, &format!("{at}[{i}]")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(product(&axes)
        .into_iter()
        .map(|(label, chosen)| {
            let mut set = Map::new();
            set.insert(key.to_string(), Value::Array(chosen));
            (label, Value::Object(set))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grid(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    fn label(pairs: &[(&str, usize)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn named_grids_pass_values_through_and_label_them() {
        let sets = named(
            &grid(json!({"m": [8, 16], "kind": ["flat", "tree"], "alpha": 1.5, "_c": "x"})),
            "b",
        )
        .unwrap();
        assert_eq!(sets.len(), 4);
        // Name order: alpha, kind, m (m fastest).
        assert_eq!(sets[0].1, json!({"alpha": 1.5, "kind": "flat", "m": 8}));
        assert_eq!(sets[3].1, json!({"alpha": 1.5, "kind": "tree", "m": 16}));
        assert_eq!(sets[0].0, label(&[("kind#", 0), ("m", 8)]));
        assert_eq!(sets[3].0, label(&[("kind#", 1), ("m", 16)]));
        let labels: std::collections::HashSet<_> = sets.iter().map(|s| s.0.clone()).collect();
        assert_eq!(labels.len(), 4, "labels are distinct");
        let empty = named(&BTreeMap::new(), "b").unwrap();
        assert_eq!(empty, vec![(Params::new(), json!({}))]);
    }

    #[test]
    fn positional_lists_expand_as_ann_benchmarks_does() {
        let sets =
            positional(Some(&json!(["@metric", [50, 100], {"M": 16}])), "args", "a").unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].1, json!({"args": ["@metric", 50, {"M": 16}]}));
        assert_eq!(sets[1].1, json!({"args": ["@metric", 100, {"M": 16}]}));
        assert_eq!(sets[1].0, label(&[("args[1]", 100)]));
        let q = positional(Some(&json!([[10, 20, 40]])), "query_args", "q").unwrap();
        let vals: Vec<&Value> = q.iter().map(|s| &s.1["query_args"][0]).collect();
        assert_eq!(vals, [&json!(10), &json!(20), &json!(40)]);
        let none = positional(None, "query_args", "q").unwrap();
        assert_eq!(none, vec![(Params::new(), json!({"query_args": []}))]);
        // A literal list argument is written as a list of one list.
        let lit = positional(Some(&json!([[[1, 2]]])), "args", "a").unwrap();
        assert_eq!(lit[0].1, json!({"args": [[1, 2]]}));
    }

    #[test]
    fn bad_grids_name_the_field() {
        let e = format!(
            "{:#}",
            positional(Some(&json!({"a": 1})), "args", "algorithms[0].args").unwrap_err()
        );
        assert!(
            e.contains("algorithms[0].args") && e.contains("positional"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            positional(Some(&json!([1, []])), "args", "x.args").unwrap_err()
        );
        assert!(e.contains("x.args[1]") && e.contains("empty"), "{e}");
        let e = format!(
            "{:#}",
            named(&grid(json!({"m": []})), "x.build").unwrap_err()
        );
        assert!(e.contains("x.build.m"), "{e}");
    }

    #[test]
    fn tables_find_sets_by_label() {
        let b = named(&grid(json!({"m": [8, 16]})), "b").unwrap();
        let q = positional(Some(&json!([["a", "b"]])), "query_args", "q").unwrap();
        let t = ParamTable::new(b, q);
        assert_eq!(t.build_sets().len(), 2);
        assert_eq!(
            t.build_json(&label(&[("m", 16)])).unwrap(),
            &json!({"m": 16})
        );
        assert_eq!(
            t.query_json(&label(&[("query_args[0]#", 1)])).unwrap(),
            &json!({"query_args": ["b"]})
        );
        assert!(t.build_json(&label(&[("m", 3)])).is_err());
    }
}
