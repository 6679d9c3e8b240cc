//! Recall per code byte, side by side: PQ codes (`omendb::ProductQuantizer`,
//! ADC), the same after OPQ's learned rotation (`omendb::pq::Rotation`, 4
//! rounds on 100k rows), and RaBitQ codes (`omendb::RabitQuantizer`, 1 bit a dimension
//! plus two floats, with a standard error per estimate), on one dataset.
//!
//! Every query scans all codes (no graph: the codes alone are measured),
//! keeps the best `R` by estimated distance and re-ranks them exactly;
//! recall@10 against the dataset's ground truth. For RaBitQ also the
//! adaptive depth its error bound allows: candidates in estimate order,
//! re-ranked exactly while their lower bound (`estimate − ε0·σ`) beats the
//! current 10th exact distance.
//!
//! ```text
//! cargo run --release -p omenbench --example code_recall -- [dataset] [scale] [queries] [pq m list]
//! cargo run --release -p omenbench --example code_recall -- clustered-128-euclidean 1M 200
//! cargo run --release -p omenbench --example code_recall -- glove-50-angular 390k 200 10,25
//! ```

use std::time::Instant;

use omenbench::data::{parse_scale, resolve};
use omendb::pq::Rotation;
use omendb::{Kernels, Metric, PqParams, ProductQuantizer, RabitQuantizer};
use rayon::prelude::*;

const K: usize = 10;
const DEPTHS: [usize; 5] = [10, 50, 100, 200, 500];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = args
        .first()
        .map_or("clustered-128-euclidean", String::as_str);
    let n = parse_scale(args.get(1).map_or("100k", String::as_str))?;
    let nq: usize = args.get(2).map_or(Ok(200), |s| s.parse())?;
    let ds = resolve(spec, Some(n), Some(nq), true)?;
    let (d, metric) = (ds.dims, ds.metric);
    let kernels = Kernels::detect();
    let train: Vec<f32> = ds.train.clone();
    let prepared: Vec<Vec<f32>> = train
        .par_chunks_exact(d)
        .map(|v| metric.prepared(v, &kernels))
        .collect();
    let exact = |q: &[f32], node: usize| metric.distance(&kernels, q, &prepared[node]);
    println!(
        "{spec}: {} vectors × {d}, {} queries, {metric:?}; recall@{K} after exact re-rank of the best R by code",
        ds.n_train(),
        ds.n_test()
    );
    println!(
        "| codes | bytes/vector | {} | adaptive (RaBitQ, ε0 1.9 / 3) |",
        DEPTHS.map(|r| format!("R = {r}")).join(" | ")
    );
    println!("|---|---|{}---|", "---|".repeat(DEPTHS.len()));
    let truth = |qi: usize| -> Vec<u32> { ds.neighbors[qi][..K].to_vec() };
    let recall_of = |found: &[usize], qi: usize| -> f64 {
        let t = truth(qi);
        found.iter().filter(|&&f| t.contains(&(f as u32))).count() as f64 / K as f64
    };

    // PQ sub-space counts: the fourth argument (`10,25`), else 16, 32 and
    // 64 where they divide the dimension.
    let pq_ms: Vec<usize> = match args.get(3) {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => [16, 32, 64].into_iter().filter(|m| d % m == 0).collect(),
    };
    for (m, opq) in pq_ms.iter().flat_map(|&m| [(m, false), (m, true)]) {
        let t0 = Instant::now();
        let params = PqParams::with_m(m);
        let rotation = if opq {
            let sample: Vec<f32> = prepared.iter().take(100_000).flatten().copied().collect();
            Rotation::train(d, metric, &sample, &params, 4)?
        } else {
            Rotation::from_matrix(d, &identity(d))
        };
        let rotated = if opq {
            rotation.apply_all(&train)
        } else {
            train.clone()
        };
        let pq = ProductQuantizer::train(d, metric, &rotated, &params)?;
        let codes = pq.encode_batch(&rotated)?;
        drop(rotated);
        let built = t0.elapsed().as_secs_f64();
        let recalls: Vec<Vec<f64>> = ds
            .test
            .par_chunks_exact(d)
            .enumerate()
            .map(|(qi, q)| {
                let qp = metric.prepared(q, &kernels);
                let table = if opq {
                    pq.adc_table(&rotation.apply(&qp))
                } else {
                    pq.adc_table(q)
                }
                .expect("valid query");
                let mut est: Vec<(f32, usize)> = codes
                    .chunks_exact(m)
                    .enumerate()
                    .map(|(i, c)| (table.distance(c), i))
                    .collect();
                let top = *DEPTHS.last().expect("depths");
                est.select_nth_unstable_by(top, |a, b| a.0.total_cmp(&b.0));
                est.truncate(top);
                est.sort_by(|a, b| a.0.total_cmp(&b.0));
                DEPTHS
                    .iter()
                    .map(|&r| recall_of(&rerank(&est[..r], |i| exact(&qp, i)), qi))
                    .collect()
            })
            .collect();
        let name = if opq { "OPQ" } else { "PQ" };
        println!(
            "| {name} m {m} | {m} | {} | – |",
            mean_columns(&recalls)
                .iter()
                .map(|r| format!("{r:.4}"))
                .join_cells()
        );
        eprintln!("  ({name} m {m}: trained and encoded in {built:.1} s)");
    }

    let t0 = Instant::now();
    let rq = RabitQuantizer::train(d, metric, &train, 42)?;
    let len = rq.code_len();
    let mut codes = vec![0u8; ds.n_train() * len];
    codes
        .par_chunks_exact_mut(len)
        .zip(train.par_chunks_exact(d))
        .try_for_each(|(c, v)| rq.encode_into(v, c))?;
    let built = t0.elapsed().as_secs_f64();
    let rows: Vec<QueryRow> = ds
        .test
        .par_chunks_exact(d)
        .enumerate()
        .map(|(qi, q)| {
            let t = rq.query(q).expect("valid query");
            let mut est: Vec<(f32, f32, usize)> = codes
                .chunks_exact(len)
                .enumerate()
                .map(|(i, c)| {
                    let (e, s) = t.estimate(c);
                    (e, s, i)
                })
                .collect();
            est.sort_by(|a, b| a.0.total_cmp(&b.0));
            let qp = metric.prepared(q, &kernels);
            let fixed = DEPTHS
                .iter()
                .map(|&r| {
                    let cands: Vec<(f32, usize)> = est[..r].iter().map(|e| (e.0, e.2)).collect();
                    recall_of(&rerank(&cands, |i| exact(&qp, i)), qi)
                })
                .collect();
            let adaptive = [1.9f32, 3.0].map(|eps| {
                let (found, checked) = adaptive(&est, eps, metric, |i| exact(&qp, i));
                (recall_of(&found, qi), checked as f64)
            });
            (fixed, adaptive)
        })
        .collect();
    let fixed: Vec<Vec<f64>> = rows.iter().map(|r| r.0.clone()).collect();
    let nqf = rows.len() as f64;
    let ad = |j: usize| {
        let rec = rows.iter().map(|r| r.1[j].0).sum::<f64>() / nqf;
        let depth = rows.iter().map(|r| r.1[j].1).sum::<f64>() / nqf;
        format!("{rec:.4} at {depth:.0} re-ranked")
    };
    println!(
        "| RaBitQ 1 bit | {len} | {} | {} / {} |",
        mean_columns(&fixed)
            .iter()
            .map(|r| format!("{r:.4}"))
            .join_cells(),
        ad(0),
        ad(1)
    );
    eprintln!("  (RaBitQ: trained and encoded in {built:.1} s)");
    Ok(())
}

/// One query's recall at each fixed depth, and (recall, re-ranked) of the
/// adaptive depth at ε0 = 1.9 and 3.
type QueryRow = (Vec<f64>, [(f64, f64); 2]);

/// The `K` best of `cands` by exact distance.
fn rerank(cands: &[(f32, usize)], exact: impl Fn(usize) -> f32) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = cands.iter().map(|&(_, i)| (exact(i), i)).collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    scored.iter().take(K).map(|s| s.1).collect()
}

/// RaBitQ's adaptive re-rank: candidates in order of their lower bound
/// (`estimate − eps·σ`), each re-ranked exactly until the next lower bound
/// cannot beat the current `K`th exact distance; returns the `K` best and
/// how many were re-ranked. Estimates are squared L2 between prepared
/// vectors; exact distances are the metric's (cosine: half the squared L2
/// of normalised vectors).
fn adaptive(
    est: &[(f32, f32, usize)],
    eps: f32,
    metric: Metric,
    exact: impl Fn(usize) -> f32,
) -> (Vec<usize>, usize) {
    let to_l2 = |dist: f32| match metric {
        Metric::Cosine => 2.0 * dist,
        _ => dist,
    };
    let mut lower: Vec<(f32, usize)> = est.iter().map(|&(e, s, i)| (e - eps * s, i)).collect();
    lower.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(K + 1);
    let mut checked = 0;
    for (lb, i) in lower {
        if best.len() == K && lb > to_l2(best[K - 1].0) {
            break;
        }
        checked += 1;
        let d = exact(i);
        let at = best.partition_point(|b| b.0 <= d);
        best.insert(at, (d, i));
        best.truncate(K);
    }
    (best.iter().map(|b| b.1).collect(), checked)
}

fn identity(d: usize) -> Vec<f32> {
    (0..d * d)
        .map(|k| if k / d == k % d { 1.0 } else { 0.0 })
        .collect()
}

fn mean_columns(rows: &[Vec<f64>]) -> Vec<f64> {
    let n = rows.len() as f64;
    (0..rows[0].len())
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect()
}

trait JoinCells {
    fn join_cells(self) -> String;
}

impl<I: Iterator<Item = String>> JoinCells for I {
    fn join_cells(self) -> String {
        self.collect::<Vec<_>>().join(" | ")
    }
}
