//! Product quantization (Jégou, Douze and Schmid, 2011): vectors compressed
//! to one byte per sub-space, scored against a query by table look-ups.
//!
//! ```text
//!  training data ──► sample ──► prepare (normalise for cosine, zero-pad)
//!                                  │ split into m sub-spaces
//!                                  ▼
//!                    k-means per sub-space (k-means++ seeds, Lloyd, rayon)
//!                                  │ m × 256 centroids
//!                                  ▼
//!  vector ──► encode ──► m bytes          query ──► AdcTable (m × 256 f32)
//!                          │                          │
//!                          └──────► table.distance(code) ◄┘  (m look-ups)
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `quantizer.rs` | [`ProductQuantizer`], [`PqParams`]: train, encode, decode, padding |
//! | `kmeans.rs` | k-means++ seeding and Lloyd iterations for one sub-space |
//! | `adc.rs` | [`AdcTable`]: per-query lookup table and the ADC scan |
//! | `codebook_io.rs` | the codebook file format (magic, version, crc32c) |
//! | `opq.rs` | [`Rotation`]: OPQ's learned rotation before PQ (alternating PQ training and an orthogonal Procrustes step) |
//!
//! Distances follow [`Metric::distance`](crate::Metric::distance): squared
//! L2, `1 − dot` with normalised vectors for cosine, `−dot` for inner
//! product.

mod adc;
mod codebook_io;
mod kmeans;
mod opq;
mod quantizer;

pub use adc::AdcTable;
pub use codebook_io::{MAGIC, VERSION};
pub use opq::Rotation;
pub use quantizer::{PqParams, ProductQuantizer, KS};
