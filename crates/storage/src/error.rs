//! Errors of the storage layer. Implementations map their failures onto these
//! variants so that callers (scrape, remote write) can count them by kind.

use std::path::PathBuf;

/// A storage error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The sample is older than the newest sample of its series.
    #[error("out of order sample")]
    OutOfOrderSample,
    /// A sample with the same timestamp but a different value exists.
    #[error("duplicate sample for timestamp")]
    DuplicateSampleForTimestamp,
    /// The sample is older than the oldest time the head still accepts.
    #[error("out of bounds")]
    OutOfBounds,
    /// The label set is empty.
    #[error("empty labelset")]
    EmptyLabels,
    /// A series reference that the storage does not know.
    #[error("unknown series reference {0}")]
    UnknownSeriesRef(u64),
    /// The storage is closed or read-only.
    #[error("storage is closed")]
    Closed,
    /// An I/O operation failed (disk full, permissions, ...).
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "write WAL segment".
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Stored data failed a checksum or could not be decoded.
    #[error("corruption in {}: {detail}", path.display())]
    Corruption {
        /// The file involved.
        path: PathBuf,
        /// What was wrong, with offsets where known.
        detail: String,
    },
    /// The query asked for something invalid (e.g. a bad matcher).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// An error from a storage implementation outside this workspace's kinds
    /// (for example a remote-read endpoint).
    #[error("{context}: {source}")]
    Backend {
        /// Which backend or operation failed.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// An [`Error::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Whether this is one of the per-sample rejections (out of order,
    /// duplicate, out of bounds) that a scrape counts and skips rather than
    /// failing the whole scrape.
    pub fn is_sample_rejection(&self) -> bool {
        matches!(
            self,
            Error::OutOfOrderSample | Error::DuplicateSampleForTimestamp | Error::OutOfBounds
        )
    }
}

/// Result alias of the storage crate.
pub type Result<T> = std::result::Result<T, Error>;
