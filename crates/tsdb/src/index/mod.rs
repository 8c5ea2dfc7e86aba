//! The inverted index of a block and the postings logic shared with the head.
//!
//! * `postings`: the `IndexReader` trait (implemented by blocks and the
//!   head), `postings_for_matchers` with Prometheus' matcher semantics and
//!   the sorted-list helpers `intersect`, `merge` and `without`.
//! * `writer` and `reader`: the on-disk `index` file of a block, described
//!   in `docs/format/index.md`. Series references in a block are ordinals
//!   in label order, so every postings list is also in label order.

pub(crate) mod encoding;
pub(crate) mod postings;
pub(crate) mod reader;
pub(crate) mod writer;

#[allow(unused_imports)]
pub(crate) use postings::{intersect, merge, postings_for_matchers, without, IndexReader};

/// The magic number at the start of an index file ("PLIX").
pub(crate) const INDEX_MAGIC: u32 = 0x504C_4958;
/// The index format version this build writes and reads.
pub(crate) const INDEX_VERSION: u8 = 1;
/// The size of the index file header: magic, version, three zero bytes.
pub(crate) const INDEX_HEADER_LEN: usize = 8;
/// The size of the table of contents at the end of the file: four section
/// offsets and a CRC32.
pub(crate) const INDEX_TOC_LEN: usize = 4 * 8 + 4;

/// A chunk as the index records it: its time range and where it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexChunk {
    /// The first sample's timestamp.
    pub(crate) min_time: i64,
    /// The last sample's timestamp.
    pub(crate) max_time: i64,
    /// The segment file number in the upper 32 bits, the byte offset of the
    /// chunk in that file in the lower 32 bits.
    pub(crate) chunk_ref: u64,
}
