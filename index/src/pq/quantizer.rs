//! `ProductQuantizer`: training, encoding and decoding.

use rayon::prelude::*;

use super::adc::AdcTable;
use super::kmeans;
use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::rng::SplitMix64;
use crate::validate;

/// Centroids per sub-space. Fixed at 256 so that a code is exactly one byte
/// per sub-space and a lookup table row is indexed by a `u8` with no bounds
/// check.
pub const KS: usize = 256;

/// Training knobs for [`ProductQuantizer::train`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PqParams {
    /// Sub-spaces, and so bytes per code. When `m` does not divide the
    /// dimension, vectors are zero-padded up to the next multiple (see
    /// [`ProductQuantizer`]).
    pub m: usize,
    /// Vectors drawn (without replacement, seeded) from the training data
    /// for k-means; all of them when there are fewer. At least [`KS`].
    pub train_sample: usize,
    /// Upper bound on Lloyd iterations per sub-space (training stops early
    /// once an iteration changes no assignment). 0 keeps the k-means++ seeds.
    pub iterations: usize,
    /// Seed for sampling and k-means++: equal seeds and data give
    /// bit-identical codebooks.
    pub seed: u64,
}

impl Default for PqParams {
    fn default() -> Self {
        PqParams {
            m: 16,
            train_sample: 100_000,
            iterations: 25,
            seed: 0x0e11_db00_5eed,
        }
    }
}

impl PqParams {
    /// Checks the parameters against `dims` as training would, so an index
    /// can refuse them when it is created rather than at its first write:
    /// `m` in `1..=dims` with no sub-space left all padding, a training
    /// sample of at least [`KS`], and counts that fit the on-disk format.
    pub fn validate(&self, dims: usize) -> Result<()> {
        sub_dims_for(dims, self.m)?;
        if self.train_sample < KS {
            return Err(Error::invalid(
                "train_sample",
                format!("must be at least {KS} (one vector per centroid)"),
            ));
        }
        if u32::try_from(self.iterations).is_err() {
            return Err(Error::invalid("iterations", "must fit in 32 bits"));
        }
        Ok(())
    }

    /// The defaults with `m` sub-spaces.
    pub fn with_m(m: usize) -> Self {
        PqParams {
            m,
            ..PqParams::default()
        }
    }
}

/// A product quantizer: `dims` components split into `m` sub-spaces of
/// `sub_dims` components each, with [`KS`] = 256 centroids per sub-space, so a
/// vector is stored as `m` bytes.
///
/// **Padding.** When `m` does not divide `dims`, vectors are zero-padded to
/// `m × ⌈dims / m⌉` components before they are split; the padding is zero in
/// every vector, query and centroid, so it adds nothing to any distance.
/// `m` is rejected when the padding would leave a sub-space with no real
/// component.
///
/// **Metrics.** Under [`Metric::Cosine`] every vector and query is normalised
/// (as by [`Metric::prepare`]) before training, encoding and table building,
/// and [`decode`](Self::decode) returns the approximation of the normalised
/// vector. Centroids are always assigned by squared L2 in each sub-space; the
/// metric only changes how [`AdcTable`] scores codes, always in the
/// convention of [`Metric::distance`].
#[derive(Clone)]
pub struct ProductQuantizer {
    dims: usize,
    metric: Metric,
    m: usize,
    sub_dims: usize,
    /// `m × KS × sub_dims` floats: centroid `c` of sub-space `j` starts at
    /// `(j * KS + c) * sub_dims`.
    centroids: Vec<f32>,
    /// The same codebooks, each sub-space's `KS × sub_dims` block
    /// [`kmeans::transpose`]d, for the encoding scan and table building.
    transposed: Vec<f32>,
    kernels: Kernels,
}

impl std::fmt::Debug for ProductQuantizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductQuantizer")
            .field("dims", &self.dims)
            .field("metric", &self.metric)
            .field("m", &self.m)
            .field("sub_dims", &self.sub_dims)
            .finish_non_exhaustive()
    }
}

/// Components per sub-space for `dims` split `m` ways with zero padding, or
/// the reason that split is refused.
pub(crate) fn sub_dims_for(dims: usize, m: usize) -> Result<usize> {
    if dims == 0 {
        return Err(Error::invalid("dims", "must be at least 1"));
    }
    if m == 0 || m > dims {
        return Err(Error::invalid(
            "m",
            format!("must be between 1 and the dimension {dims}, got {m}"),
        ));
    }
    let sub = dims.div_ceil(m);
    if (m - 1) * sub >= dims {
        return Err(Error::invalid(
            "m",
            format!(
                "{dims} dimensions padded to {m} sub-spaces of {sub} would leave a sub-space \
                 with only padding; choose an m that divides {dims}"
            ),
        ));
    }
    Ok(sub)
}

impl ProductQuantizer {
    /// Trains a quantizer on the row-major `data` (`n × dims`, `n ≥ 256`).
    ///
    /// Draws up to `params.train_sample` rows, prepares them for `metric`,
    /// and runs k-means (k-means++ seeding, then Lloyd) in every sub-space,
    /// sub-spaces in parallel. Errors: `InvalidParameter` for a bad `m`,
    /// `train_sample` or fewer than 256 vectors; `DimensionMismatch` when
    /// `data` is not a whole number of rows; `NonFinite` for NaN or ±∞.
    pub fn train(dims: usize, metric: Metric, data: &[f32], params: &PqParams) -> Result<Self> {
        let sub_dims = sub_dims_for(dims, params.m)?;
        if params.train_sample < KS {
            return Err(Error::invalid(
                "train_sample",
                format!("must be at least {KS} (one vector per centroid)"),
            ));
        }
        if !data.len().is_multiple_of(dims) {
            return Err(Error::BatchShape {
                values: data.len(),
                rows: data.len() / dims,
                dims,
                detail: format!(" ({} values left over)", data.len() % dims),
            });
        }
        let n = data.len() / dims;
        if n < KS {
            return Err(Error::invalid(
                "data",
                format!("the training set has {n} vectors; at least {KS} are needed"),
            ));
        }
        for (row, v) in data.chunks_exact(dims).enumerate() {
            validate::vector(v, dims, row)?;
        }
        let m = params.m;
        let padded = m * sub_dims;
        let kernels = Kernels::detect();
        let rows = sample_rows(n, params.train_sample, params.seed);
        let mut prepared = vec![0.0f32; rows.len() * padded];
        prepared
            .par_chunks_mut(padded)
            .zip(rows.par_iter())
            .for_each(|(dst, &r)| {
                dst[..dims].copy_from_slice(&data[r * dims..(r + 1) * dims]);
                metric.prepare(&mut dst[..dims], &kernels);
            });
        let books: Vec<Vec<f32>> = (0..m)
            .into_par_iter()
            .map(|j| {
                let sub: Vec<f32> = prepared
                    .chunks_exact(padded)
                    .flat_map(|row| &row[j * sub_dims..(j + 1) * sub_dims])
                    .copied()
                    .collect();
                let seed = SplitMix64::derive(params.seed, j as u64 + 1).next_u64();
                kmeans::train(&sub, sub_dims, KS, params.iterations, seed, &kernels)
            })
            .collect();
        Ok(ProductQuantizer::assemble(
            dims,
            metric,
            m,
            sub_dims,
            books.concat(),
            kernels,
        ))
    }

    /// A quantizer from checked parts (used by the codebook reader).
    pub(crate) fn from_parts(
        dims: usize,
        metric: Metric,
        m: usize,
        centroids: Vec<f32>,
    ) -> Result<Self> {
        let sub_dims = sub_dims_for(dims, m)?;
        debug_assert_eq!(centroids.len(), m * KS * sub_dims);
        Ok(ProductQuantizer::assemble(
            dims,
            metric,
            m,
            sub_dims,
            centroids,
            Kernels::detect(),
        ))
    }

    fn assemble(
        dims: usize,
        metric: Metric,
        m: usize,
        sub_dims: usize,
        centroids: Vec<f32>,
        kernels: Kernels,
    ) -> Self {
        let transposed = centroids
            .chunks_exact(KS * sub_dims)
            .flat_map(|book| kmeans::transpose(book, sub_dims))
            .collect();
        ProductQuantizer {
            dims,
            metric,
            m,
            sub_dims,
            centroids,
            transposed,
            kernels,
        }
    }

    /// Vector dimension.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The metric codes are scored in.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Number of sub-spaces.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Components per sub-space (after padding).
    pub fn sub_dims(&self) -> usize {
        self.sub_dims
    }

    /// Bytes per code (one per sub-space, equal to [`m`](Self::m)).
    pub fn code_len(&self) -> usize {
        self.m
    }

    /// The codebooks: `m × 256 × sub_dims` floats, centroid `c` of sub-space
    /// `j` at `(j * 256 + c) * sub_dims`.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    /// Bytes this quantizer holds in RAM: the codebooks, twice (as trained,
    /// and transposed for encoding).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + (self.centroids.capacity() + self.transposed.capacity()) * 4
    }

    /// Fails unless this quantizer was trained for `dims` and `metric`: the
    /// check to run on a codebook loaded for an existing index.
    pub fn ensure_compatible(&self, dims: usize, metric: Metric) -> Result<()> {
        if dims != self.dims {
            return Err(Error::DimensionMismatch {
                expected: dims,
                got: self.dims,
            });
        }
        if metric != self.metric {
            return Err(Error::invalid(
                "metric",
                format!("the codebook was trained for {}, not {metric}", self.metric),
            ));
        }
        Ok(())
    }

    /// Encodes one vector to [`code_len`](Self::code_len) bytes.
    pub fn encode(&self, v: &[f32]) -> Result<Vec<u8>> {
        let mut code = vec![0u8; self.m];
        self.encode_into(v, &mut code)?;
        Ok(code)
    }

    /// Encodes one vector into `code` (exactly `code_len` bytes).
    pub fn encode_into(&self, v: &[f32], code: &mut [u8]) -> Result<()> {
        validate::vector(v, self.dims, 0)?;
        self.check_code(code.len())?;
        let mut buf = Vec::new();
        self.prepare_padded(v, &mut buf);
        self.encode_prepared(&buf, code);
        Ok(())
    }

    /// Encodes the row-major `data` (`n × dims`) in parallel; returns the
    /// `n × code_len` codes, row-major.
    pub fn encode_batch(&self, data: &[f32]) -> Result<Vec<u8>> {
        if data.is_empty() {
            return Err(Error::EmptyBatch("no vectors to encode"));
        }
        let n = validate::query_batch(data, self.dims)?;
        for (row, v) in data.chunks_exact(self.dims).enumerate() {
            validate::vector(v, self.dims, row)?;
        }
        let mut codes = vec![0u8; n * self.m];
        codes
            .par_chunks_mut(self.m)
            .zip(data.par_chunks_exact(self.dims))
            .for_each_init(Vec::new, |buf, (code, v)| {
                self.prepare_padded(v, buf);
                self.encode_prepared(buf, code);
            });
        Ok(codes)
    }

    /// The vector a code stands for (`dims` components; for cosine, the
    /// approximation of the normalised vector).
    pub fn decode(&self, code: &[u8]) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.dims];
        self.decode_into(code, &mut out)?;
        Ok(out)
    }

    /// Decodes `code` into `out` (exactly `dims` components).
    pub fn decode_into(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        self.check_code(code.len())?;
        if out.len() != self.dims {
            return Err(Error::DimensionMismatch {
                expected: self.dims,
                got: out.len(),
            });
        }
        let s = self.sub_dims;
        for (j, (&c, dst)) in code.iter().zip(out.chunks_mut(s)).enumerate() {
            let start = (j * KS + c as usize) * s;
            dst.copy_from_slice(&self.centroids[start..start + dst.len()]);
        }
        Ok(())
    }

    /// The per-query lookup table for asymmetric distances to codes.
    /// Errors on a wrong length or a non-finite component.
    pub fn adc_table(&self, query: &[f32]) -> Result<AdcTable> {
        validate::vector(query, self.dims, 0)?;
        let mut q = Vec::new();
        self.prepare_padded(query, &mut q);
        Ok(AdcTable::build(
            &q,
            &self.transposed,
            self.sub_dims,
            self.metric,
            &self.kernels,
        ))
    }

    fn check_code(&self, len: usize) -> Result<()> {
        if len != self.m {
            return Err(Error::invalid(
                "code",
                format!("has {len} bytes; this quantizer's codes have {}", self.m),
            ));
        }
        Ok(())
    }

    /// Copies `v` into `buf` zero-padded to `m × sub_dims` and prepares it
    /// for the metric.
    fn prepare_padded(&self, v: &[f32], buf: &mut Vec<f32>) {
        buf.clear();
        buf.extend_from_slice(v);
        buf.resize(self.m * self.sub_dims, 0.0);
        self.metric.prepare(&mut buf[..self.dims], &self.kernels);
    }

    /// Nearest centroid per sub-space of a prepared, padded vector.
    fn encode_prepared(&self, v: &[f32], code: &mut [u8]) {
        let s = self.sub_dims;
        let mut scratch = [0.0f32; KS];
        for ((c, sub), book) in code
            .iter_mut()
            .zip(v.chunks_exact(s))
            .zip(self.transposed.chunks_exact(KS * s))
        {
            *c = kmeans::nearest(sub, book, &mut scratch, &self.kernels).0 as u8;
        }
    }
}

/// `min(sample, n)` distinct row indices drawn with a seeded partial
/// Fisher–Yates shuffle, sorted (all rows, in order, when `sample ≥ n`).
fn sample_rows(n: usize, sample: usize, seed: u64) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..n).collect();
    if sample >= n {
        return rows;
    }
    let mut rng = SplitMix64::derive(seed, 0);
    for i in 0..sample {
        let j = i + rng.below(n - i);
        rows.swap(i, j);
    }
    rows.truncate(sample);
    rows.sort_unstable();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_dims_pad_or_refuse() {
        assert_eq!(sub_dims_for(128, 16).unwrap(), 8);
        assert_eq!(sub_dims_for(100, 8).unwrap(), 13); // 104 with 4 zeros
        assert!(matches!(
            sub_dims_for(10, 8),
            Err(Error::InvalidParameter { name: "m", .. })
        ));
        assert!(sub_dims_for(8, 9).is_err());
        assert!(sub_dims_for(8, 0).is_err());
        assert!(sub_dims_for(0, 1).is_err());
    }

    #[test]
    fn sampling_is_seeded_and_distinct() {
        let a = sample_rows(1000, 300, 5);
        assert_eq!(a, sample_rows(1000, 300, 5));
        assert_ne!(a, sample_rows(1000, 300, 6));
        assert_eq!(a.len(), 300);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_rows(10, 300, 5), (0..10).collect::<Vec<_>>());
    }
}
