//! Errors of the scrape crate. Texts follow Prometheus where it has one.

use std::fmt;

/// A malformed exposition: the 1-based line and what was wrong.
///
/// Parsing stops at the first error, as in Prometheus.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    /// The 1-based line number of the offending line.
    pub line: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// What was wrong with an exposition line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A token other than the expected one, in Prometheus' `parseError`
    /// shape: `expected value after metric, got "x" ("INVALID") while
    /// parsing: "metric{a=\"b\"} x"`.
    #[error("{expected}, got {got:?} ({token:?}) while parsing: {context:?}")]
    Unexpected {
        /// What the parser expected, e.g. `expected label name`.
        expected: &'static str,
        /// The text of the token found instead.
        got: String,
        /// The kind of that token (`INVALID`, `LINEBREAK`, `MNAME`, ...).
        token: &'static str,
        /// The line up to and including that token.
        context: String,
    },
    /// A value or OpenMetrics timestamp that is not a float.
    #[error("strconv.ParseFloat: parsing {text:?}: {reason} while parsing: {context:?}")]
    InvalidFloat {
        /// The token.
        text: String,
        /// Go's reason: `invalid syntax` or `value out of range`.
        reason: NumberError,
        /// The line up to the token's end.
        context: String,
    },
    /// A float spelled with `p`, `P` or `_`, which Prometheus refuses.
    #[error("unsupported character in float while parsing: {context:?}")]
    UnsupportedFloatChar {
        /// The line up to the token's end.
        context: String,
    },
    /// A text-format timestamp that is not a 64-bit integer.
    #[error("strconv.ParseInt: parsing {text:?}: {reason} while parsing: {context:?}")]
    InvalidTimestamp {
        /// The token.
        text: String,
        /// Go's reason.
        reason: NumberError,
        /// The line up to the token's end.
        context: String,
    },
    /// An OpenMetrics timestamp that is NaN or infinite.
    #[error("invalid timestamp {}", GoFloat(*.0))]
    NonFiniteTimestamp(f64),
    /// An exemplar timestamp that is NaN or infinite.
    #[error("invalid exemplar timestamp {}", GoFloat(*.0))]
    NonFiniteExemplarTimestamp(f64),
    /// `# TYPE` with an unknown type.
    #[error("invalid metric type {0:?}")]
    InvalidMetricType(String),
    /// `# HELP`, `# TYPE` or `# UNIT` without text (OpenMetrics).
    #[error("expected text in {0}")]
    ExpectedText(&'static str),
    /// HELP text that is not UTF-8 (shown lossily).
    #[error("help text {0:?} is not a valid utf8 string")]
    HelpNotUtf8(String),
    /// A label value that is not UTF-8 (shown lossily, with quotes).
    #[error("invalid UTF-8 label value: {0:?}")]
    InvalidUtf8LabelValue(String),
    /// A quoted metric or label name that is not UTF-8 (shown lossily).
    #[error("invalid UTF-8 name: {0:?}")]
    InvalidUtf8Name(String),
    /// A quoted metric name inside braces when the name was already given.
    #[error("metric name already set while parsing: {context:?}")]
    MetricNameAlreadySet {
        /// The line up to the second name.
        context: String,
    },
    /// A series in braces without a quoted metric name.
    #[error("metric name not set while parsing: {context:?}")]
    MetricNameNotSet {
        /// The series text.
        context: String,
    },
    /// The same label name twice in one series (including `__name__` next
    /// to a metric name).
    #[error("label name {0:?} is not unique")]
    DuplicateLabelName(String),
    /// `# UNIT` whose unit is not a `_`-separated suffix of the name.
    #[error("unit {unit:?} not a suffix of metric {metric:?}")]
    UnitNotSuffix {
        /// The unit.
        unit: String,
        /// The metric family name.
        metric: String,
    },
    /// An OpenMetrics body that ends without `# EOF`.
    #[error("data does not end with # EOF")]
    MissingEof,
    /// Anything after OpenMetrics' `# EOF`.
    #[error("unexpected data after # EOF")]
    DataAfterEof,
}

/// Why Go's `strconv` rejected a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number at all.
    InvalidSyntax,
    /// A number too large for the type.
    OutOfRange,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberError::InvalidSyntax => "invalid syntax",
            NumberError::OutOfRange => "value out of range",
        })
    }
}

/// Formats a float as Go's `%f`: six decimals, `NaN`, `+Inf`, `-Inf`.
struct GoFloat(f64);

impl fmt::Display for GoFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v.is_infinite() {
            f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            write!(f, "{v:.6}")
        }
    }
}

/// Why the scrape body or its Content-Type could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The (decompressed) body reached `body_size_limit`.
    #[error("body size limit exceeded")]
    BodySizeLimitExceeded,
    /// A `Content-Encoding: gzip` body that does not decompress.
    #[error("gzip: {0}")]
    Gzip(#[source] std::io::Error),
    /// A missing or unusable Content-Type with no fallback protocol.
    #[error(transparent)]
    ContentType(#[from] ContentTypeError),
}

/// A Content-Type that selects no parser (Prometheus 3 `extractMediaType`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    /// No Content-Type header.
    #[error(
        "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
    )]
    Blank,
    /// A header that is not a media type.
    #[error("cannot parse Content-Type {0:?} and no fallback_scrape_protocol for target")]
    Unparsable(String),
    /// A media type no parser handles.
    #[error(
        "received unsupported Content-Type {0:?} and no fallback_scrape_protocol specified for target"
    )]
    Unsupported(String),
    /// The protobuf exposition, which Prometheus parses but promlite does
    /// not (yet).
    #[error("protobuf exposition (Content-Type {0:?}) is not supported")]
    Protobuf(String),
}

/// A scrape limit that was exceeded (Prometheus `scrape.go` texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// More samples than `sample_limit`.
    #[error("sample limit exceeded")]
    SampleLimit,
    /// A series without a metric name.
    #[error("missing metric name (__name__ label)")]
    MissingMetricName,
    /// More labels than `label_limit`.
    #[error("label_limit exceeded (metric: {metric}, number of labels: {labels}, limit: {limit})")]
    LabelLimit {
        /// The metric name, cut to 50 characters.
        metric: String,
        /// The number of labels.
        labels: usize,
        /// The limit.
        limit: usize,
    },
    /// A label name longer than `label_name_length_limit`.
    #[error(
        "label_name_length_limit exceeded (metric: {metric}, label name: {name}, length: {length}, limit: {limit})"
    )]
    LabelNameLength {
        /// The metric name, cut to 50 characters.
        metric: String,
        /// The label name, cut to 50 characters.
        name: String,
        /// The name's length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// A label value longer than `label_value_length_limit`.
    #[error(
        "label_value_length_limit exceeded (metric: {metric}, label name: {name}, value: {value:?}, length: {length}, limit: {limit})"
    )]
    LabelValueLength {
        /// The metric name, cut to 50 characters.
        metric: String,
        /// The label name, cut to 50 characters.
        name: String,
        /// The value, cut to 50 characters.
        value: String,
        /// The value's length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
}

/// Result alias of the scrape crate.
pub type Result<T> = std::result::Result<T, Error>;
