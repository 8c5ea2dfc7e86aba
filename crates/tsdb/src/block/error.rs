//! Errors of block writing and reading.

use std::path::PathBuf;

use promlite_model::Labels;

/// An error writing, opening or reading a block.
///
/// Every variant names the file involved; corruption also names the byte
/// offset, so an operator can inspect the file (the DB moves a corrupt block
/// aside rather than deleting it).
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// An I/O operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "mmap index".
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file failed a checksum or could not be decoded.
    #[error("corruption in {} at offset {offset}: {detail}", path.display())]
    Corruption {
        /// The file involved.
        path: PathBuf,
        /// The byte offset in the file where the problem was found.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// `meta.json` is not valid JSON or misses fields.
    #[error("invalid block meta {}: {source}", path.display())]
    InvalidMeta {
        /// The `meta.json` file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// `meta.json` names a format version this build cannot read.
    #[error("unsupported block version {version} in {}", path.display())]
    UnsupportedVersion {
        /// The `meta.json` file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// Series given to the writer were not strictly increasing in label
    /// order (or a series was repeated).
    #[error("series {next} is not after {prev} in label order")]
    SeriesOutOfOrder {
        /// The series written before.
        prev: Labels,
        /// The offending series.
        next: Labels,
    },
    /// A series given to the writer had no labels.
    #[error("series without labels")]
    EmptyLabels,
    /// A chunk given to the writer lies (partly) outside the block's range
    /// `[min_time, max_time)`, or has `min_time > max_time`.
    #[error("chunk [{chunk_min}, {chunk_max}] of {labels} is outside the block range [{block_min}, {block_max})")]
    ChunkOutOfBounds {
        /// The series.
        labels: Labels,
        /// The chunk's first timestamp.
        chunk_min: i64,
        /// The chunk's last timestamp.
        chunk_max: i64,
        /// The block's minimum time (inclusive).
        block_min: i64,
        /// The block's maximum time (exclusive).
        block_max: i64,
    },
    /// Chunks of a series given to the writer overlap or are not sorted by time.
    #[error("chunks of {labels} overlap or are unsorted: {next_min} follows a chunk ending at {prev_max}")]
    ChunksOverlap {
        /// The series.
        labels: Labels,
        /// The previous chunk's last timestamp.
        prev_max: i64,
        /// The next chunk's first timestamp.
        next_min: i64,
    },
    /// A chunk is larger than a segment file can address.
    #[error("chunk of {len} bytes is too large")]
    ChunkTooLarge {
        /// The chunk's data length.
        len: usize,
    },
    /// The block range is empty (`min_time >= max_time`).
    #[error("invalid block range [{min_time}, {max_time})")]
    InvalidRange {
        /// The requested minimum time.
        min_time: i64,
        /// The requested maximum time (exclusive).
        max_time: i64,
    },
}

impl BlockError {
    /// An [`BlockError::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BlockError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A [`BlockError::Corruption`] in `path` at `offset`.
    pub(crate) fn corruption(
        path: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        BlockError::Corruption {
            path: path.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// Whether this error means a block on disk is damaged or incomplete
    /// (bad checksum or encoding, invalid `meta.json`, unknown version, or
    /// a missing file), as opposed to a transient I/O failure or invalid
    /// writer input; the DB moves such blocks aside.
    pub fn is_corruption(&self) -> bool {
        match self {
            BlockError::Corruption { .. }
            | BlockError::InvalidMeta { .. }
            | BlockError::UnsupportedVersion { .. } => true,
            BlockError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

impl From<BlockError> for promlite_storage::Error {
    fn from(e: BlockError) -> Self {
        match e {
            BlockError::Io { op, path, source } => promlite_storage::Error::Io { op, path, source },
            BlockError::Corruption {
                path,
                offset,
                detail,
            } => promlite_storage::Error::Corruption {
                path,
                detail: format!("at offset {offset}: {detail}"),
            },
            BlockError::InvalidMeta { path, source } => promlite_storage::Error::Corruption {
                path,
                detail: format!("invalid meta.json: {source}"),
            },
            other => promlite_storage::Error::Backend {
                context: "block".to_string(),
                source: Box::new(other),
            },
        }
    }
}

/// Result alias of the block module.
pub type Result<T> = std::result::Result<T, BlockError>;
