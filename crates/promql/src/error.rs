//! Errors of the PromQL engine.

/// A query error. The `Display` text of each variant is Prometheus' message
/// for the same condition, so that API clients and conformance scripts see
/// the same strings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The query text did not parse.
    #[error("{0}")]
    Parse(String),
    /// The storage failed while selecting series.
    #[error("{0}")]
    Storage(#[from] promlite_storage::Error),
    /// A step of a vector produced two series with equal labels.
    #[error("vector cannot contain metrics with the same labelset")]
    DuplicateLabelset,
    /// One-to-one or many-to-one matching found several series on a side
    /// that must be unique.
    #[error("found duplicate series for the match group {group} on the {side} hand-side of the operation: [{series}];many-to-many matching not allowed: matching labels must be unique on one side")]
    ManyToMany {
        /// The matching labels of the group.
        group: String,
        /// `left` or `right`.
        side: &'static str,
        /// The conflicting series.
        series: String,
    },
    /// group_left/group_right produced the same output series twice.
    #[error("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")]
    MultipleMatches,
    /// An aggregation parameter was NaN.
    #[error("Parameter value is NaN")]
    ParameterNaN,
    /// `limit_ratio`'s ratio was NaN.
    #[error("Ratio value is NaN")]
    RatioNaN,
    /// An aggregation parameter was out of range for an integer.
    #[error("Scalar value {0} overflows int64")]
    ParameterOverflow(f64),
    /// A label name produced at query time is not valid.
    #[error("invalid label name {}", crate::literals::go_quote(.0))]
    InvalidLabelName(String),
    /// A regular expression given to a function did not compile.
    #[error("invalid regular expression in label_replace(): {0}")]
    InvalidRegex(String),
    /// The query loaded more samples than allowed.
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    /// The query ran longer than its timeout.
    #[error("query timed out in expression evaluation")]
    Timeout,
    /// The query was cancelled.
    #[error("query was canceled in expression evaluation")]
    Canceled,
    /// A feature the engine does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An argument had a value the function cannot use.
    #[error("{0}")]
    InvalidArgument(String),
}

/// Result alias of the engine.
pub type Result<T> = std::result::Result<T, Error>;
