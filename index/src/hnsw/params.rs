//! Build parameters of the HNSW graph, named as in Malkov & Yashunin.

use crate::error::{Error, Result};

/// How an [`super::HnswIndex`] is built. Search-time knobs (`ef`) live in
/// [`crate::SearchParams`] instead, so one graph can be swept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HnswParams {
    /// `M`: links per node on the upper layers; layer 0 holds `2·M`.
    pub m: usize,
    /// `ef_construction`: beam width while inserting.
    pub ef_construction: usize,
    /// Level multiplier `mL`; `None` means the paper's `1 / ln(M)`.
    pub ml: Option<f64>,
    /// Seed of the level generator (single-threaded builds are reproducible).
    pub seed: u64,
    /// Back-fill a new node's links with pruned candidates until it has `M`
    /// (the paper's `keepPrunedConnections`). Shrinking a full list on
    /// back-linking never back-fills (see `insert.rs`).
    pub keep_pruned: bool,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ml: None,
            seed: 0x0e3e_db00_5eed,
            keep_pruned: true,
        }
    }
}

/// Upper bound on `M`: keeps a layer-0 slot well inside a few cache lines.
pub const MAX_M: usize = 256;
/// The tallest level a node may get.
pub const MAX_LEVEL: usize = 31;

impl HnswParams {
    /// Params with the given `M` and `ef_construction`, defaults elsewhere.
    pub fn new(m: usize, ef_construction: usize) -> Self {
        HnswParams {
            m,
            ef_construction,
            ..Self::default()
        }
    }

    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_M).contains(&self.m) {
            return Err(Error::invalid(
                "m",
                format!("must be in 2..={MAX_M}, got {}", self.m),
            ));
        }
        if self.ef_construction < self.m {
            return Err(Error::invalid(
                "ef_construction",
                format!(
                    "must be at least m = {}, got {}",
                    self.m, self.ef_construction
                ),
            ));
        }
        if let Some(ml) = self.ml {
            if !(ml.is_finite() && ml > 0.0) {
                return Err(Error::invalid(
                    "ml",
                    format!("must be positive and finite, got {ml}"),
                ));
            }
        }
        Ok(())
    }

    /// Links kept per node on layer 0.
    pub fn max_links0(&self) -> usize {
        2 * self.m
    }

    /// The level multiplier in use.
    pub fn level_multiplier(&self) -> f64 {
        self.ml.unwrap_or(1.0 / (self.m as f64).ln())
    }
}
