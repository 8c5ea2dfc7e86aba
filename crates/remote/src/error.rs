//! Errors of the remote-write sender.

use std::path::PathBuf;

/// Errors returned by [`crate::RemoteWriter`] and its parts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Remote write needs the WAL; the database runs in memory.
    #[error("remote write needs a WAL, but the storage runs in memory without one")]
    NoWal,
    /// Two endpoints have the same name and URL.
    #[error("duplicate remote_write endpoint {name:?} ({url})")]
    DuplicateEndpoint {
        /// The endpoint's name.
        name: String,
        /// The endpoint's URL.
        url: String,
    },
    /// The endpoint's HTTP client could not be built.
    #[error("remote_write {url}: building the HTTP client: {source}")]
    Client {
        /// The endpoint's URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// Sending metadata failed.
    #[error("sending metadata: {0}")]
    Metadata(String),
    /// A configured header has an invalid name or value.
    #[error("remote_write {url}: invalid header {name:?}")]
    InvalidHeader {
        /// The endpoint's URL.
        url: String,
        /// The header name.
        name: String,
    },
    /// Reading the WAL failed.
    #[error("reading the WAL in {dir}: {source}")]
    Wal {
        /// The WAL directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: promlite_tsdb::Error,
    },
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A position file is malformed.
    #[error("malformed remote-write position file {path} at line {line}")]
    BadPosition {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
    },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Why one request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// Retried after a backoff: 5xx, network errors, timeouts and (when
    /// configured) 429.
    #[error("recoverable: {0}")]
    Recoverable(String),
    /// The batch is dropped: other 4xx (and 429 unless retried).
    #[error("server returned HTTP status {status}: {body}")]
    Unrecoverable {
        /// The HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
}
