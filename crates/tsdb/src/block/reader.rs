//! Opening a block: verifying and memory-mapping its files.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use promlite_model::Labels;

use super::chunks::{ChunkMeta, ChunkSegments};
use super::error::{BlockError, Result};
use super::meta::{BlockMeta, META_FILENAME};
use super::mmap::OwnedBytes;
use super::querier::BlockQuerier;
use super::{CHUNKS_DIRNAME, INDEX_FILENAME, TMP_SUFFIX, TOMBSTONES_FILENAME};
use crate::chunkenc::Encoding;
use crate::index::reader::{IndexFile, IndexSeries};
use crate::index::{IndexChunk, IndexReader};

/// An opened, verified, immutable block.
///
/// Opening reads `meta.json`, maps `index` and the chunk segments, checks
/// every checksum (sections of the index and each chunk) and that every
/// chunk reference points at a chunk. After that, queries decode straight
/// from the maps. A `Block` is `Send + Sync`; share it as `Arc<Block>`.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    pub(super) index: IndexFile,
    pub(super) chunks: ChunkSegments,
    size_bytes: u64,
}

impl Block {
    /// Opens the block in `dir`. Any damage is reported as an error naming
    /// the file and byte offset; the directory is never modified.
    pub fn open(dir: &Path) -> Result<Block> {
        let meta = BlockMeta::read(dir)?;
        let (chunks, starts) = ChunkSegments::open(&dir.join(CHUNKS_DIRNAME))?;
        let index_path = dir.join(INDEX_FILENAME);
        let bytes = OwnedBytes::open(&index_path)?;
        let index_len = bytes.len() as u64;
        let chunk_ok = |r: u64| {
            let seq = (r >> 32) as usize;
            let off = (r & 0xffff_ffff) as u32;
            seq >= 1
                && starts
                    .get(seq - 1)
                    .is_some_and(|s| s.binary_search(&off).is_ok())
        };
        let index = IndexFile::open(bytes, &index_path, chunk_ok)?;
        let num_chunks: u64 = starts.iter().map(|s| s.len() as u64).sum();
        let meta_path = dir.join(META_FILENAME);
        if meta.stats.num_series != index.num_series() as u64 {
            return Err(BlockError::corruption(
                meta_path,
                0,
                format!(
                    "stats.numSeries is {} but the index has {} series",
                    meta.stats.num_series,
                    index.num_series()
                ),
            ));
        }
        if meta.stats.num_chunks != num_chunks {
            return Err(BlockError::corruption(
                meta_path,
                0,
                format!(
                    "stats.numChunks is {} but the segments hold {num_chunks} chunks",
                    meta.stats.num_chunks
                ),
            ));
        }
        let small_files: u64 = [META_FILENAME, TOMBSTONES_FILENAME]
            .iter()
            .filter_map(|f| fs::metadata(dir.join(f)).ok())
            .map(|m| m.len())
            .sum();
        tracing::debug!(target: "tsdb::block", dir = %dir.display(), ulid = %meta.ulid, "opened block");
        Ok(Block {
            dir: dir.to_path_buf(),
            size_bytes: index_len + chunks.size_bytes() + small_files,
            meta,
            index,
            chunks,
        })
    }

    /// The block's meta.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size of the block's files on disk.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// A querier over the inclusive range `[mint, maxt]`.
    pub fn querier(self: &Arc<Self>, mint: i64, maxt: i64) -> BlockQuerier {
        BlockQuerier::new(Arc::clone(self), mint, maxt)
    }

    /// Every series with its chunks, in label order, the chunk bytes
    /// borrowed from the map; for compaction.
    pub fn series(&self) -> impl Iterator<Item = Result<(Labels, Vec<ChunkMeta<'_>>)>> + '_ {
        (0..self.index.num_series() as u64).map(move |r| {
            let s = self.index.series(r)?;
            let mut chunks = Vec::with_capacity(s.chunks.len());
            for c in &s.chunks {
                let (encoding, data) = self.chunk(c)?;
                chunks.push(ChunkMeta::borrowed(c.min_time, c.max_time, encoding, data));
            }
            Ok((s.labels, chunks))
        })
    }

    /// Sorted label names of all series.
    pub fn label_names(&self) -> Vec<String> {
        self.index.label_names().map(str::to_string).collect()
    }

    /// The number of series.
    pub fn num_series(&self) -> usize {
        self.index.num_series()
    }

    pub(crate) fn index_series(&self, r: u64) -> Result<IndexSeries> {
        self.index.series(r)
    }

    pub(crate) fn chunk(&self, c: &IndexChunk) -> Result<(Encoding, &[u8])> {
        self.chunks.chunk(c.chunk_ref)
    }
}

impl IndexReader for Block {
    fn postings(&self, name: &str, value: &str) -> promlite_storage::Result<Vec<u64>> {
        Ok(self.index.postings(name, value)?)
    }

    fn label_values(&self, name: &str) -> promlite_storage::Result<Vec<String>> {
        Ok(self.index.label_values(name)?)
    }

    fn all_postings(&self) -> promlite_storage::Result<Vec<u64>> {
        Ok((0..self.index.num_series() as u64).collect())
    }
}

/// The block directories in `parent_dir`: subdirectories whose name is a
/// ULID. Directories still being written (`<ulid>.tmp-for-creation`) and
/// anything else are skipped. Sorted by name, which is creation order.
pub fn list_block_dirs(parent_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let rd = fs::read_dir(parent_dir).map_err(|e| BlockError::io("read dir", parent_dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| BlockError::io("read dir", parent_dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(TMP_SUFFIX) || ulid::Ulid::from_string(name).is_err() {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}
