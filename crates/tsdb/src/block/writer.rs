//! Writes a block directory: chunk segments, index, `meta.json` and an empty
//! `tombstones` file, built under a temporary name and renamed into place.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use promlite_model::Labels;
use ulid::Ulid;

use super::chunks::{ChunkMeta, ChunkWriter, DEFAULT_SEGMENT_SIZE};
use super::error::{BlockError, Result};
use super::meta::{BlockCompaction, BlockMeta, BlockStats, META_VERSION};
use super::{CHUNKS_DIRNAME, INDEX_FILENAME, TMP_SUFFIX, TOMBSTONES_FILENAME};
use crate::index::writer::write_index;
use crate::index::IndexChunk;

/// What the caller decides about a new block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlockMeta {
    /// The block's minimum time (inclusive, milliseconds).
    pub min_time: i64,
    /// The block's maximum time (exclusive, milliseconds), as Prometheus.
    pub max_time: i64,
    /// Level, sources and parents. Empty `sources` become the new block's
    /// own ULID, as for a block cut from the head.
    pub compaction: BlockCompaction,
}

impl NewBlockMeta {
    /// A level-1 block (cut from the head) covering `[min_time, max_time)`.
    pub fn new(min_time: i64, max_time: i64) -> Self {
        NewBlockMeta {
            min_time,
            max_time,
            compaction: BlockCompaction {
                level: 1,
                sources: Vec::new(),
                parents: Vec::new(),
            },
        }
    }
}

/// Options of the [`BlockWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockWriterOptions {
    /// The size at which a new chunk segment file is started (a single
    /// larger chunk still gets a segment of its own). At most 4 GiB.
    pub segment_size: u64,
}

impl Default for BlockWriterOptions {
    fn default() -> Self {
        BlockWriterOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
        }
    }
}

/// Writes one block, series by series, in label order.
///
/// Chunks go to disk as series are added; labels and chunk references are
/// kept in memory until [`BlockWriter::finish`] writes the index. All files
/// live in `<parent>/<ulid>.tmp-for-creation` until `finish` has synced
/// them and renamed the directory to `<parent>/<ulid>`; a writer dropped
/// before that removes its temporary directory.
pub struct BlockWriter {
    ulid: Ulid,
    parent: PathBuf,
    tmp: PathBuf,
    meta: NewBlockMeta,
    chunks: Option<ChunkWriter>,
    series: Vec<(Labels, Vec<IndexChunk>)>,
    stats: BlockStats,
    finished: bool,
}

impl BlockWriter {
    /// Starts a block in `parent_dir` with a fresh ULID.
    pub fn create(
        parent_dir: &Path,
        meta: NewBlockMeta,
        opts: &BlockWriterOptions,
    ) -> Result<BlockWriter> {
        if meta.min_time >= meta.max_time {
            return Err(BlockError::InvalidRange {
                min_time: meta.min_time,
                max_time: meta.max_time,
            });
        }
        let ulid = Ulid::new();
        let tmp = parent_dir.join(format!("{ulid}{TMP_SUFFIX}"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| BlockError::io("remove", &tmp, e))?;
        }
        let chunks_dir = tmp.join(CHUNKS_DIRNAME);
        fs::create_dir_all(&chunks_dir)
            .map_err(|e| BlockError::io("create dir", &chunks_dir, e))?;
        Ok(BlockWriter {
            ulid,
            parent: parent_dir.to_path_buf(),
            chunks: Some(ChunkWriter::new(&chunks_dir, opts.segment_size)),
            tmp,
            meta,
            series: Vec::new(),
            stats: BlockStats::default(),
            finished: false,
        })
    }

    /// The new block's ULID (its final directory name).
    pub fn ulid(&self) -> Ulid {
        self.ulid
    }

    /// Adds a series. Series must come in strictly increasing label order;
    /// its chunks must be sorted by time, must not overlap and must lie in
    /// the block's range. A series without chunks is skipped.
    pub fn add_series(&mut self, labels: Labels, chunks: &[ChunkMeta<'_>]) -> Result<()> {
        if labels.is_empty() {
            return Err(BlockError::EmptyLabels);
        }
        if let Some((prev, _)) = self.series.last() {
            if *prev >= labels {
                return Err(BlockError::SeriesOutOfOrder {
                    prev: prev.clone(),
                    next: labels,
                });
            }
        }
        if chunks.is_empty() {
            return Ok(());
        }
        let (bmin, bmax) = (self.meta.min_time, self.meta.max_time);
        let mut prev_max: Option<i64> = None;
        for c in chunks {
            if c.min_time > c.max_time || c.min_time < bmin || c.max_time >= bmax {
                return Err(BlockError::ChunkOutOfBounds {
                    labels,
                    chunk_min: c.min_time,
                    chunk_max: c.max_time,
                    block_min: bmin,
                    block_max: bmax,
                });
            }
            if let Some(p) = prev_max.filter(|&p| c.min_time <= p) {
                return Err(BlockError::ChunksOverlap {
                    labels,
                    prev_max: p,
                    next_min: c.min_time,
                });
            }
            prev_max = Some(c.max_time);
        }
        let Some(w) = self.chunks.as_mut() else {
            return Err(BlockError::io(
                "write",
                &self.tmp,
                std::io::Error::other("writer already finished"),
            ));
        };
        let mut refs = Vec::with_capacity(chunks.len());
        for c in chunks {
            let chunk_ref = w.write(c.encoding, &c.data)?;
            refs.push(IndexChunk {
                min_time: c.min_time,
                max_time: c.max_time,
                chunk_ref,
            });
            self.stats.num_samples += u64::from(c.num_samples());
        }
        self.stats.num_chunks += chunks.len() as u64;
        self.stats.num_series += 1;
        self.series.push((labels, refs));
        Ok(())
    }

    /// Writes the index, `meta.json` and `tombstones`, syncs everything and
    /// renames the directory into place. Returns the block's meta.
    pub fn finish(mut self) -> Result<BlockMeta> {
        if let Some(w) = self.chunks.take() {
            w.finish()?;
        }
        let index_path = self.tmp.join(INDEX_FILENAME);
        let f = File::create(&index_path).map_err(|e| BlockError::io("create", &index_path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        write_index(&mut w, &self.series).map_err(|e| BlockError::io("write", &index_path, e))?;
        let f = w
            .into_inner()
            .map_err(|e| BlockError::io("write", &index_path, e.into_error()))?;
        f.sync_all()
            .map_err(|e| BlockError::io("fsync", &index_path, e))?;

        let mut compaction = self.meta.compaction.clone();
        if compaction.sources.is_empty() {
            compaction.sources.push(self.ulid);
        }
        let meta = BlockMeta {
            ulid: self.ulid,
            min_time: self.meta.min_time,
            max_time: self.meta.max_time,
            stats: self.stats,
            compaction,
            version: META_VERSION,
        };
        meta.write(&self.tmp)?;

        let tomb = self.tmp.join(TOMBSTONES_FILENAME);
        let f = File::create(&tomb).map_err(|e| BlockError::io("create", &tomb, e))?;
        f.sync_all()
            .map_err(|e| BlockError::io("fsync", &tomb, e))?;
        sync_dir(&self.tmp.join(CHUNKS_DIRNAME))?;
        sync_dir(&self.tmp)?;

        let dst = self.parent.join(self.ulid.to_string());
        fs::rename(&self.tmp, &dst).map_err(|e| BlockError::io("rename", &self.tmp, e))?;
        self.finished = true;
        sync_dir(&self.parent)?;
        tracing::debug!(
            target: "tsdb::block",
            ulid = %meta.ulid,
            min_time = meta.min_time,
            max_time = meta.max_time,
            series = meta.stats.num_series,
            chunks = meta.stats.num_chunks,
            samples = meta.stats.num_samples,
            "wrote block"
        );
        Ok(meta)
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Err(e) = fs::remove_dir_all(&self.tmp) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(
                    target: "tsdb::block",
                    dir = %self.tmp.display(),
                    error = %e,
                    "could not remove unfinished block directory"
                );
            }
        }
    }
}

/// Fsyncs a directory so that entries created or renamed in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BlockError::io("fsync dir", dir, e))
}

/// Writes a block of `series` (sorted by labels) into `parent_dir` with
/// default options; see [`BlockWriter`].
///
/// ```
/// use promlite_model::Labels;
/// use promlite_tsdb::block::{write_block, Block, ChunkMeta, NewBlockMeta};
/// use promlite_tsdb::chunkenc::{Encoding, XorChunk};
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut c = XorChunk::new();
/// c.append(1000, 1.0);
/// c.append(2000, 2.0);
/// let series = vec![(
///     Labels::from_pairs(&[("__name__", "up")]),
///     vec![ChunkMeta::borrowed(1000, 2000, Encoding::Xor, c.bytes())],
/// )];
/// let meta = write_block(dir.path(), NewBlockMeta::new(0, 7_200_000), series).unwrap();
/// assert_eq!(meta.stats.num_samples, 2);
/// let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
/// assert_eq!(block.meta(), &meta);
/// ```
pub fn write_block<'a>(
    parent_dir: &Path,
    meta: NewBlockMeta,
    series: impl IntoIterator<Item = (Labels, Vec<ChunkMeta<'a>>)>,
) -> Result<BlockMeta> {
    let mut w = BlockWriter::create(parent_dir, meta, &BlockWriterOptions::default())?;
    for (labels, chunks) in series {
        w.add_series(labels, &chunks)?;
    }
    w.finish()
}
