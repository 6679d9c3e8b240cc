//! Every section kind of every file OmenDB writes, in one registry, so two
//! kinds can never collide and an open can tell a section this build
//! understands from one it must refuse (see `FLAG_REQUIRED` in
//! [`format`](super::format)).
//!
//! | kind | file | payload (documented where it is written) |
//! |---|---|---|
//! | [`MANIFEST_HNSW`] `0x01` | `MANIFEST` | HNSW build parameters (`engine/hnsw.rs`) |
//! | [`MANIFEST_PQ`] `0x02` | `MANIFEST` | quantizer parameters, PQ-navigated kinds only (`engine/hnsw_pq.rs`) |
//! | [`GRAPH_META`]…[`GRAPH_UPPER`] `0x10`–`0x15` | `graph.omg` | the HNSW graph (`hnsw/persist.rs`) |
//! | [`VECTOR_CRCS`] `0x20` | `graph.omg` | checksums of the vector rows (`storage/checkpoint.rs`) |
//! | [`VECTOR_FILE`] `0x21` | `graph.omg` | the generation of the vector file the rows are in, once a checkpoint renumbered the nodes (`storage/reorder.rs`) |
//! | [`PQ_CODEBOOK`], [`PQ_CODES`] `0x30`, `0x31` | `graph.omg` | codebooks and codes (`hnsw_pq/persist.rs`) |
//! | [`MANIFEST_SQ8`] `0x03` | `MANIFEST` | SQ8 training parameters, SQ8-navigated kinds only (`engine/hnsw_sq8.rs`) |
//! | [`SQ8_QUANTIZER`], [`SQ8_CODES`] `0x40`, `0x41` | `graph.omg` | SQ8 quantizer and codes (`hnsw_sq8/persist.rs`) |
//! | [`SECTOR_META`]…[`SECTOR_CRCS`] `0x50`–`0x52`, and [`GRAPH_IDS`], [`GRAPH_DELETED`], [`PQ_CODEBOOK`], [`PQ_CODES`] | `sectors.osm` | a sector index's in-RAM part (`sector/persist.rs`) |

/// Manifest: the HNSW build parameters.
pub const MANIFEST_HNSW: u32 = 0x01;
/// Manifest: the quantizer's parameters (PQ-navigated indexes only).
pub const MANIFEST_PQ: u32 = 0x02;
/// Manifest: the SQ8 quantizer's training parameters (SQ8 indexes only).
pub const MANIFEST_SQ8: u32 = 0x03;

/// Graph file: node count, entry point, link widths.
pub const GRAPH_META: u32 = 0x10;
/// Graph file: external ids.
pub const GRAPH_IDS: u32 = 0x11;
/// Graph file: node levels.
pub const GRAPH_LEVELS: u32 = 0x12;
/// Graph file: deletion bitset.
pub const GRAPH_DELETED: u32 = 0x13;
/// Graph file: layer-0 slots.
pub const GRAPH_LAYER0: u32 = 0x14;
/// Graph file: upper-layer slot pool.
pub const GRAPH_UPPER: u32 = 0x15;
/// Graph file: per-chunk checksums of the vector rows.
pub const VECTOR_CRCS: u32 = 0x20;
/// Graph file: which vector file holds the rows (`vectors.<g>.omv`: the
/// generation `g`, u64), written once a checkpoint renumbered the nodes;
/// absent, the rows are in `vectors.omv`.
pub const VECTOR_FILE: u32 = 0x21;
/// Graph file: the trained PQ codebooks.
pub const PQ_CODEBOOK: u32 = 0x30;
/// Graph file: the PQ codes of every node.
pub const PQ_CODES: u32 = 0x31;
/// Graph file: the trained SQ8 quantizer (offsets and step).
pub const SQ8_QUANTIZER: u32 = 0x40;
/// Graph file: the SQ8 codes of every node.
pub const SQ8_CODES: u32 = 0x41;

/// Sector index file: node count, widths, block layout, entry point.
pub const SECTOR_META: u32 = 0x50;
/// Sector index file: the upper layers (nodes of level ≥ 1 and their lists).
pub const SECTOR_UPPER: u32 = 0x51;
/// Sector index file: the crc32c of every block of the sector file.
pub const SECTOR_CRCS: u32 = 0x52;

/// Every manifest section kind this build reads.
pub const MANIFEST_SECTIONS: [u32; 3] = [MANIFEST_HNSW, MANIFEST_PQ, MANIFEST_SQ8];

/// Every graph-file section kind this build reads.
pub const GRAPH_FILE_SECTIONS: [u32; 12] = [
    GRAPH_META,
    GRAPH_IDS,
    GRAPH_LEVELS,
    GRAPH_DELETED,
    GRAPH_LAYER0,
    GRAPH_UPPER,
    VECTOR_CRCS,
    VECTOR_FILE,
    PQ_CODEBOOK,
    PQ_CODES,
    SQ8_QUANTIZER,
    SQ8_CODES,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_unique() {
        let mut all: Vec<u32> = MANIFEST_SECTIONS
            .iter()
            .chain(GRAPH_FILE_SECTIONS.iter())
            .copied()
            .collect();
        all.extend([SECTOR_META, SECTOR_UPPER, SECTOR_CRCS]);
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "two section kinds share a number");
        assert!(!all.contains(&super::super::format::SECTION_END));
    }
}
