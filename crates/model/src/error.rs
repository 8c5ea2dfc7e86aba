//! Errors of the model crate.

/// An error building a model value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A regular expression in a matcher did not compile.
    #[error("invalid regular expression {pattern:?}: {source}")]
    InvalidRegex {
        /// The pattern as the user wrote it.
        pattern: String,
        /// The compiler's error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A duration string that is not in Prometheus' format.
    #[error("not a valid duration string: {0:?}")]
    InvalidDuration(String),
    /// A byte-size string that is not valid.
    #[error("not a valid byte size: {0:?}")]
    InvalidBytes(String),
}

/// Result alias of the model crate.
pub type Result<T> = std::result::Result<T, Error>;
