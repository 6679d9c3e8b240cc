//! Every index kind, for the suites that run over all of them
//! (`conformance.rs`, `filter.rs`). A new kind is one more entry in `kinds()`.

use std::path::Path;

use omendb::test_support::{
    hnsw_on_mapped_vectors, hnsw_pq_on_mapped_vectors, hnsw_sq8_on_mapped_vectors,
};
use omendb::{
    DiskIndex, FlatIndex, HnswIndex, HnswParams, HnswPqIndex, HnswPqParams, HnswSq8Index,
    HnswSq8Params, Index, Metric, OpenOptions, PqParams, SearchParams, Sq8Params,
};

/// Dimension of every kind's vectors.
pub const D: usize = 16;

/// Graph parameters of the HNSW kinds.
pub fn hnsw_params() -> HnswParams {
    HnswParams {
        seed: 7,
        ..HnswParams::new(12, 100)
    }
}

/// Parameters of the PQ kinds.
pub fn pq_params() -> HnswPqParams {
    HnswPqParams {
        hnsw: hnsw_params(),
        pq: PqParams {
            train_sample: 1_000,
            ..PqParams::with_m(8)
        },
    }
}

/// Parameters of the SQ8 kinds.
pub fn sq8_params() -> HnswSq8Params {
    HnswSq8Params {
        hnsw: hnsw_params(),
        sq8: Sq8Params::default(),
    }
}

/// Makes an empty index of a kind in a directory, for a metric.
pub type Make = fn(&Path, Metric) -> Box<dyn Index>;
/// Reopens the index kept in a directory.
pub type Reopen = fn(&Path) -> Box<dyn Index>;

/// One index kind: how to make an empty one in `dir`, how to reopen it
/// (kinds kept in a directory only), and the search knobs and recall floor
/// it must reach at them.
pub struct Kind {
    pub name: &'static str,
    pub make: Make,
    pub reopen: Option<Reopen>,
    pub params: SearchParams,
    pub min_recall: f64,
}

/// Every kind, with its search knobs and recall floor.
pub fn kinds() -> Vec<Kind> {
    let exact = SearchParams::default();
    let graph = SearchParams::with_ef(64);
    let pq = SearchParams::with_rerank(64, 60);
    // SQ8 with its default re-rank depth.
    let sq8 = SearchParams::with_ef(64);
    vec![
        Kind {
            name: "flat",
            make: |_, m| Box::new(FlatIndex::new(D, m).unwrap()),
            reopen: None,
            params: exact,
            min_recall: 1.0,
        },
        Kind {
            name: "hnsw",
            make: |_, m| Box::new(HnswIndex::new(D, m, hnsw_params()).unwrap()),
            reopen: None,
            params: graph.clone(),
            min_recall: 0.95,
        },
        Kind {
            name: "hnsw on mapped vectors",
            make: |dir, m| {
                let p = dir.join("vectors.omv");
                Box::new(hnsw_on_mapped_vectors(&p, D, m, hnsw_params()).unwrap())
            },
            reopen: None,
            params: graph.clone(),
            min_recall: 0.95,
        },
        Kind {
            name: "hnsw-pq",
            make: |_, m| Box::new(HnswPqIndex::new(D, m, pq_params()).unwrap()),
            reopen: None,
            params: pq.clone(),
            min_recall: 0.9,
        },
        Kind {
            name: "hnsw-pq on mapped vectors",
            make: |dir, m| {
                let p = dir.join("vectors.omv");
                Box::new(hnsw_pq_on_mapped_vectors(&p, D, m, pq_params()).unwrap())
            },
            reopen: None,
            params: pq.clone(),
            min_recall: 0.9,
        },
        Kind {
            name: "hnsw-sq8",
            make: |_, m| Box::new(HnswSq8Index::new(D, m, sq8_params()).unwrap()),
            reopen: None,
            params: sq8.clone(),
            min_recall: 0.95,
        },
        Kind {
            name: "hnsw-sq8 on mapped vectors",
            make: |dir, m| {
                let p = dir.join("vectors.omv");
                Box::new(hnsw_sq8_on_mapped_vectors(&p, D, m, sq8_params()).unwrap())
            },
            reopen: None,
            params: sq8.clone(),
            min_recall: 0.95,
        },
        Kind {
            name: "disk hnsw",
            make: |dir, m| {
                Box::new(
                    DiskIndex::create(dir, D, m, hnsw_params(), OpenOptions::default()).unwrap(),
                )
            },
            reopen: Some(|dir| Box::new(DiskIndex::open(dir, OpenOptions::default()).unwrap())),
            params: graph.clone(),
            min_recall: 0.95,
        },
        Kind {
            name: "disk hnsw-pq",
            make: |dir, m| {
                Box::new(DiskIndex::create(dir, D, m, pq_params(), OpenOptions::default()).unwrap())
            },
            reopen: Some(|dir| Box::new(DiskIndex::open(dir, OpenOptions::default()).unwrap())),
            params: pq.clone(),
            min_recall: 0.9,
        },
        Kind {
            name: "disk hnsw-sq8",
            make: |dir, m| {
                Box::new(
                    DiskIndex::create(dir, D, m, sq8_params(), OpenOptions::default()).unwrap(),
                )
            },
            reopen: Some(|dir| Box::new(DiskIndex::open(dir, OpenOptions::default()).unwrap())),
            params: sq8.clone(),
            min_recall: 0.95,
        },
    ]
}
