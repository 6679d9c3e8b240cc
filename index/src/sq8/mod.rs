//! 8-bit scalar quantization (SQ8): every coordinate of a stored vector in
//! one byte, scored against a query quantized once per search with integer
//! kernels ([`crate::distance::int`]).
//!
//! ```text
//!  training rows ──► prepare (normalise for cosine) ──► per-dimension
//!                    trimmed range [lo_j, hi_j] (quantiles `trim`, 1 − trim)
//!                                  │ step = max_j (hi_j − lo_j) / 255
//!                                  ▼
//!  vector x ──► c_j = round((x_j − lo_j) / step), clamped to 0..=255   (d bytes)
//!
//!  query (L2)   ──► q_j = round((x_j − lo_j) / step) as i16 ──► step² · Σ (q − c)²
//!  query (dot)  ──► q_j = round(x_j / t) in ±127 as i16    ──► base − step · t · Σ q · c
//! ```
//!
//! Each dimension has its own offset `lo_j`, trimmed so that outliers do not
//! stretch the range; all dimensions share one `step`, which keeps squared
//! L2 an exact integer sum over the grid (a step per dimension would weight
//! every term). Values outside the trimmed range are clamped.
//!
//! | file | what it holds |
//! |---|---|
//! | `quantizer.rs` | [`Sq8Quantizer`], [`Sq8Params`]: train, encode, decode |
//! | `query.rs` | [`Sq8Query`]: a query on the code grid, distance to a code |
//! | `bytes.rs` | the quantizer's bytes (magic, version, ranges, crc32c) |

mod bytes;
mod quantizer;
mod query;

pub use bytes::{MAGIC, VERSION};
pub use quantizer::{Sq8Params, Sq8Quantizer, MIN_TRAIN_ROWS};
pub use query::Sq8Query;
