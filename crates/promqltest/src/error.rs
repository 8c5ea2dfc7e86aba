//! Errors of the runner.

/// A runner error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The script is malformed.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A file could not be read.
    #[error("read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Loading data into storage failed.
    #[error("storage: {0}")]
    Storage(#[from] promlite_storage::Error),
}

/// Result alias of the runner.
pub type Result<T> = std::result::Result<T, Error>;
