//! Persistent blocks: immutable directories holding the samples of one time
//! range, as Prometheus' `tsdb/block.go`.
//!
//! ```text
//! <data dir>/01HZX.../          a block, named by its ULID
//!   ├── meta.json              BlockMeta: range, stats, compaction
//!   ├── index                  symbols, series, label index, postings
//!   ├── chunks/000001 ...      chunk segments
//!   └── tombstones             empty (deletion is not supported yet)
//! ```
//!
//! * [`BlockWriter`] / [`write_block`] write a block from series sorted by
//!   labels, each with its encoded [`ChunkMeta`]s, building it under
//!   `<ulid>.tmp-for-creation` and renaming it into place once synced.
//! * [`Block::open`] verifies and maps a block; [`Block::querier`] returns a
//!   [`BlockQuerier`] implementing [`promlite_storage::Querier`], and
//!   [`Block::series`] lends every series' raw chunks to the compactor.
//!
//! The formats are described in `docs/format/{block,index,chunks}.md`.

mod chunks;
pub(crate) mod error;
mod meta;
pub(crate) mod mmap;
mod querier;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use chunks::{ChunkMeta, DEFAULT_SEGMENT_SIZE};
pub use error::{BlockError, Result};
pub use meta::{BlockCompaction, BlockDesc, BlockMeta, BlockStats, META_FILENAME, META_VERSION};
pub use querier::BlockQuerier;
pub use reader::{list_block_dirs, Block};
pub use writer::{write_block, BlockWriter, BlockWriterOptions, NewBlockMeta};

/// The index file's name in a block directory.
pub const INDEX_FILENAME: &str = "index";
/// The chunk segments' directory in a block directory.
pub const CHUNKS_DIRNAME: &str = "chunks";
/// The tombstones file's name in a block directory.
pub const TOMBSTONES_FILENAME: &str = "tombstones";
/// The suffix of a block directory still being written.
pub const TMP_SUFFIX: &str = ".tmp-for-creation";
