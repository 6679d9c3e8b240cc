//! Writing a sector index from a built [`HnswPqIndex`], and opening it.
//!
//! A directory holds two files, each replaced by rename:
//!
//! | file | what |
//! |---|---|
//! | `sectors.oms` | the blocks (`store/sector_file.rs`): per node, its full vector (prepared as the metric keeps it, f32) then its layer-0 list (a u32 count, then `max0` u32 node numbers) |
//! | `sectors.osm` | header (kind `SectorMeta`, count = nodes), then the sections below |
//!
//! | section | payload |
//! |---|---|
//! | `SECTOR_META` | u64s: max0, M, entry node, entry level, live nodes, block bytes, records per block, record bytes |
//! | `PQ_CODEBOOK` | the codebooks (codebook file format, own checksum) |
//! | `PQ_CODES` | `m` bytes per node |
//! | `GRAPH_IDS` | u64 external id per node |
//! | `GRAPH_DELETED` | u64 words of a bitset, bit set = deleted |
//! | `SECTOR_UPPER` | the upper layers (`upper.rs`) |
//! | `SECTOR_CRCS` | u32 crc32c per block of `sectors.oms` |

use std::io::Cursor;
use std::path::{Path, PathBuf};

use super::upper::UpperLayers;
use super::{SectorIndex, SectorOptions};
use crate::distance::Kernels;
use crate::error::{Error, Result};
use crate::hnsw_pq::HnswPqIndex;
use crate::index::Index;
use crate::pq::ProductQuantizer;
use crate::store::directory::{commit_tmp, tmp_path};
use crate::store::format::{
    corrupt, read_sections, u32_at, u64_at, FileHeader, FileKind, SectionWriter, FLAG_REQUIRED,
    HEADER_LEN,
};
use crate::store::io as store_io;
use crate::store::sections::{
    GRAPH_DELETED, GRAPH_IDS, PQ_CODEBOOK, PQ_CODES, SECTOR_CRCS, SECTOR_META, SECTOR_UPPER,
};
use crate::store::sector_file::{BlockLayout, SectorFile, SectorWriter};

/// The block file of a sector index in `dir`.
pub(super) fn sectors_path(dir: &Path) -> PathBuf {
    dir.join("sectors.oms")
}

/// The in-RAM part's file of a sector index in `dir`.
pub(super) fn meta_path(dir: &Path) -> PathBuf {
    dir.join("sectors.osm")
}

/// Bytes of one node's record: vector, count, `max0` links.
pub(super) fn record_bytes(dims: usize, max0: usize) -> usize {
    4 * dims + 4 + 4 * max0
}

/// Writes `index` as a sector index into `dir` (created if missing).
pub(super) fn write(index: &HnswPqIndex, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let pq = index
        .quantizer_bytes()
        .ok_or_else(|| Error::invalid("index", "its quantizer is not trained yet"))?;
    let hnsw = index.hnsw_index();
    let g = hnsw.read_graph();
    let n = g.node_count();
    let Some((entry, top)) = g.entry() else {
        return Err(Error::EmptyIndex);
    };
    let (dims, metric) = (index.dims(), index.metric());
    let max0 = g.max_links(0);
    let m = index.pq_params().m;
    let layout = BlockLayout::for_record(record_bytes(dims, max0));
    let blocks = sectors_path(dir);
    let tmp = tmp_path(&blocks);
    let mut w = SectorWriter::create(&tmp, dims, metric, n, layout)?;
    let mut record = vec![0u8; layout.node_bytes];
    let mut list = Vec::with_capacity(max0);
    for node in 0..n as u32 {
        let (v, rest) = record.split_at_mut(4 * dims);
        for (out, x) in v.chunks_exact_mut(4).zip(g.vector(node)) {
            out.copy_from_slice(&x.to_le_bytes());
        }
        g.neighbors_into(node, 0, &mut list);
        list.truncate(max0);
        rest.fill(0);
        rest[..4].copy_from_slice(&(list.len() as u32).to_le_bytes());
        for (out, x) in rest[4..].chunks_exact_mut(4).zip(&list) {
            out.copy_from_slice(&x.to_le_bytes());
        }
        w.push(&record)?;
    }
    let crcs = w.finish()?;

    let mut deleted = vec![0u64; n.div_ceil(64)];
    for node in 0..n {
        if g.is_deleted(node as u32) {
            deleted[node / 64] |= 1 << (node % 64);
        }
    }
    let upper = UpperLayers::of(&g, hnsw.params().m);
    let meta = [
        max0,
        hnsw.params().m,
        entry as usize,
        top,
        g.live_count(),
        layout.block_bytes,
        layout.per_block,
        layout.node_bytes,
    ];
    let mut header = FileHeader::new(FileKind::SectorMeta, dims, metric);
    header.count = n as u64;
    header.capacity = n as u64;
    let mut out = Cursor::new(header.encode().to_vec());
    out.set_position(HEADER_LEN as u64);
    let mut s = SectionWriter::new(out);
    let words = |xs: &mut dyn Iterator<Item = u64>| -> Vec<u8> {
        xs.flat_map(|x| x.to_le_bytes()).collect()
    };
    let io = |e| Error::io(meta_path(dir), e);
    s.section(
        SECTOR_META,
        FLAG_REQUIRED,
        &words(&mut meta.iter().map(|&x| x as u64)),
    )
    .map_err(io)?;
    s.section(PQ_CODEBOOK, FLAG_REQUIRED, &pq).map_err(io)?;
    s.section(PQ_CODES, FLAG_REQUIRED, &g.codes()[..n * m])
        .map_err(io)?;
    s.section(
        GRAPH_IDS,
        FLAG_REQUIRED,
        &words(&mut (0..n).map(|i| g.ids[i])),
    )
    .map_err(io)?;
    s.section(
        GRAPH_DELETED,
        FLAG_REQUIRED,
        &words(&mut deleted.into_iter()),
    )
    .map_err(io)?;
    s.section(SECTOR_UPPER, FLAG_REQUIRED, &upper.to_bytes())
        .map_err(io)?;
    let crc_bytes: Vec<u8> = crcs.iter().flat_map(|c| c.to_le_bytes()).collect();
    s.section(SECTOR_CRCS, FLAG_REQUIRED, &crc_bytes)
        .map_err(io)?;
    let bytes = s.finish().map_err(io)?.into_inner();
    // Both files are complete and synced before either replaces an older
    // index's; a crash between the two renames leaves a pair that `open`
    // (block count) or the first read (checksums) refuses.
    let meta = meta_path(dir);
    let meta_tmp = tmp_path(&meta);
    {
        let mut f = store_io::create(&meta_tmp).map_err(|e| Error::io(&meta_tmp, e))?;
        store_io::write_all(&mut f, &meta_tmp, &bytes)
            .and_then(|()| store_io::sync_all(&f, &meta_tmp))
            .map_err(|e| Error::io(&meta_tmp, e))?;
    }
    commit_tmp(&blocks)?;
    commit_tmp(&meta)
}

/// Opens the sector index in `dir`: reads and checks its in-RAM part, and
/// opens its block file against it.
pub(super) fn open(dir: &Path, opts: SectorOptions) -> Result<SectorIndex> {
    let path = meta_path(dir);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let header = FileHeader::decode(&bytes, FileKind::SectorMeta, &path)?;
    let (dims, metric, n) = (header.dims as usize, header.metric, header.count as usize);
    let mut meta = None;
    let (mut pq, mut codes, mut ids, mut deleted, mut upper, mut crcs) =
        (None, None, None, None, None, None);
    for s in read_sections(&bytes, &path)? {
        let p = s.payload;
        let wrong = |what: &str| corrupt(&path, s.offset, format!("{what}: wrong length"));
        match s.kind {
            SECTOR_META if p.len() == 64 => {
                meta = Some(
                    (0..8)
                        .map(|i| u64_at(p, 8 * i) as usize)
                        .collect::<Vec<_>>(),
                )
            }
            SECTOR_META => return Err(wrong("sector meta")),
            PQ_CODEBOOK => pq = Some(ProductQuantizer::from_bytes_in(p, &path)?),
            PQ_CODES => codes = Some((p.to_vec(), s.offset)),
            GRAPH_IDS if Some(p.len()) == n.checked_mul(8) => {
                ids = Some((0..n).map(|i| u64_at(p, 8 * i)).collect::<Vec<_>>())
            }
            GRAPH_IDS => return Err(wrong("ids")),
            GRAPH_DELETED if p.len() == 8 * n.div_ceil(64) => {
                deleted = Some(
                    (0..n.div_ceil(64))
                        .map(|i| u64_at(p, 8 * i))
                        .collect::<Vec<_>>(),
                )
            }
            GRAPH_DELETED => return Err(wrong("deletion bitset")),
            SECTOR_UPPER => upper = Some(UpperLayers::from_bytes(p, n, &path, s.offset)?),
            SECTOR_CRCS if p.len().is_multiple_of(4) => {
                crcs = Some(
                    (0..p.len() / 4)
                        .map(|i| u32_at(p, 4 * i))
                        .collect::<Vec<_>>(),
                )
            }
            SECTOR_CRCS => return Err(wrong("block checksums")),
            kind if s.flags & FLAG_REQUIRED != 0 => {
                return Err(corrupt(
                    &path,
                    s.offset,
                    format!("unknown required section {kind:#x}"),
                ))
            }
            _ => {}
        }
    }
    let missing = |what: &str| corrupt(&path, HEADER_LEN as u64, format!("no {what} section"));
    let meta = meta.ok_or_else(|| missing("sector meta"))?;
    let pq = pq.ok_or_else(|| missing("codebook"))?;
    pq.ensure_compatible(dims, metric)?;
    let (codes, codes_at) = codes.ok_or_else(|| missing("codes"))?;
    let ids = ids.ok_or_else(|| missing("ids"))?;
    let deleted = deleted.ok_or_else(|| missing("deletion bitset"))?;
    let upper = upper.ok_or_else(|| missing("upper layers"))?;
    let crcs = crcs.ok_or_else(|| missing("block checksums"))?;
    let [max0, m, entry, top, live, block_bytes, per_block, node_bytes] = meta[..] else {
        unreachable!("eight words read above")
    };
    let bad = |why: String| corrupt(&path, HEADER_LEN as u64, why);
    if codes.len() != n * pq.m() {
        return Err(corrupt(&path, codes_at, "codes: wrong length"));
    }
    let dead: usize = deleted.iter().map(|w| w.count_ones() as usize).sum();
    if n == 0 || entry >= n || top > 255 || m == 0 || live != n - dead.min(n) {
        return Err(bad(format!(
            "inconsistent meta: {n} nodes, entry {entry}, live {live}"
        )));
    }
    let layout = BlockLayout::for_record(record_bytes(dims, max0.min(1 << 20)));
    if (node_bytes, per_block, block_bytes)
        != (layout.node_bytes, layout.per_block, layout.block_bytes)
    {
        return Err(bad(format!(
            "block layout {node_bytes}/{per_block}/{block_bytes} for {dims} dims and {max0} links"
        )));
    }
    let file = SectorFile::open(&sectors_path(dir), dims, metric, n, opts.direct)?;
    // The block file's own layout words carry no checksum: they must say
    // what the (checksummed) meta says.
    if file.layout() != layout {
        return Err(corrupt(
            file.path(),
            64,
            format!(
                "block layout {:?}, its index says {layout:?}",
                file.layout()
            ),
        ));
    }
    if file.blocks() != crcs.len() as u64 {
        return Err(bad(format!(
            "{} block checksums for {} blocks",
            crcs.len(),
            file.blocks()
        )));
    }
    Ok(SectorIndex {
        dims,
        metric,
        kernels: Kernels::detect(),
        pq,
        codes,
        ids,
        deleted,
        live,
        upper,
        entry: entry as u32,
        top,
        max0,
        crcs,
        file,
        beam_width: opts.beam_width.clamp(1, super::MAX_BEAM_WIDTH),
        scratch: Default::default(),
        reads: Default::default(),
        searches: Default::default(),
    })
}
