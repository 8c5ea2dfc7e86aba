//! The API's errors and the one place that turns them into Prometheus'
//! JSON error envelope (`web/api/v1/api.go` `respondError`).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error a provider (targets, rules, status, admin) reports.
pub type ProviderError = Box<dyn std::error::Error + Send + Sync>;

/// Prometheus' `errorType` strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    Timeout,
    Canceled,
    Execution,
    BadData,
    Internal,
    Unavailable,
}

impl ErrorType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Execution => "execution",
            ErrorType::BadData => "bad_data",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
        }
    }

    /// The HTTP status `respondError` uses for the type.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            // Non-standard "client closed request" (nginx), as Prometheus 3.
            ErrorType::Canceled => {
                StatusCode::from_u16(499).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            ErrorType::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Internal | ErrorType::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Why a single parameter was rejected. Texts are Prometheus'.
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    /// Neither a float nor RFC 3339.
    #[error("cannot parse {0:?} to a valid timestamp")]
    Timestamp(String),
    /// `parseTimeParam`'s wrapper around [`ParamError::Timestamp`].
    #[error("invalid time value for '{name}': {source}")]
    TimeValue {
        /// The parameter.
        name: &'static str,
        /// The parse failure.
        #[source]
        source: Box<ParamError>,
    },
    /// Neither float seconds nor a Prometheus duration.
    #[error("cannot parse {0:?} to a valid duration")]
    Duration(String),
    /// Float seconds that do not fit in an int64 of nanoseconds.
    #[error("cannot parse {0:?} to a valid duration. It overflows int64")]
    DurationOverflow(String),
    /// `end` is before `start`.
    #[error("end timestamp must not be before start time")]
    EndBeforeStart,
    /// `end` is before `start` in `query_exemplars`, whose text differs.
    #[error("end timestamp must not be before start timestamp")]
    ExemplarsEndBeforeStart,
    /// A zero or negative `step`.
    #[error(
        "zero or negative query resolution step widths are not accepted. Try a positive integer"
    )]
    NonPositiveStep,
    /// `limit` is not an integer.
    #[error("strconv.Atoi: parsing {0:?}: invalid syntax")]
    LimitSyntax(String),
    /// `limit` is negative.
    #[error("limit must be non-negative")]
    NegativeLimit,
    /// A boolean parameter is not a Go `strconv.ParseBool` value.
    #[error("unable to parse boolean: strconv.ParseBool: parsing {0:?}: invalid syntax")]
    Bool(String),
    /// The query (or selector) did not parse.
    #[error("{0}")]
    Parse(String),
    /// A `match[]` selector consists only of matchers that match the empty string.
    #[error("match[] must contain at least one non-empty matcher")]
    EmptyMatcher,
    /// The expression type cannot be used for a range query.
    #[error("invalid expression type \"{0}\" for range query, must be Scalar or instant Vector")]
    RangeExprType(&'static str),
    /// An unsupported value of an enumerated parameter.
    #[error("not supported value {0:?}")]
    Unsupported(String),
}

/// An API error. Each variant knows its Prometheus `errorType` and text.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter failed to parse: `invalid parameter "x": ...`.
    #[error("invalid parameter {param:?}: {source}")]
    InvalidParam {
        /// The parameter name.
        param: &'static str,
        /// Why.
        #[source]
        source: ParamError,
    },
    /// A bad request that Prometheus reports without the parameter prefix.
    #[error("{0}")]
    BadData(ParamError),
    /// Too many points per series for a range query.
    #[error("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")]
    TooManyPoints,
    /// `match[]` is required but absent.
    #[error("no match[] parameter provided")]
    NoMatch,
    /// A label name in the URL is not valid.
    #[error("invalid label name: {0:?}")]
    InvalidLabelName(String),
    /// `limit` of the metadata endpoints is not a number.
    #[error("limit must be a number")]
    LimitNotNumber,
    /// `limit` of /status/tsdb is not a positive number.
    #[error("limit must be a positive number")]
    LimitNotPositive,
    /// The lookback delta parameter did not parse.
    #[error("error parsing lookback delta duration: {0}")]
    LookbackDelta(ParamError),
    /// The form body could not be read.
    #[error("error parsing form values: {0}")]
    Form(String),
    /// The query engine failed.
    #[error("{0}")]
    Query(#[from] promlite_promql::Error),
    /// The query waited for a concurrency slot longer than its timeout.
    #[error("query timed out in query queue")]
    QueueTimeout,
    /// Reading from storage failed (series, labels).
    #[error("{0}")]
    Storage(#[from] promlite_storage::Error),
    /// The admin APIs are disabled.
    #[error("admin APIs disabled")]
    AdminDisabled,
    /// No TSDB is available to the admin APIs.
    #[error("TSDB not ready")]
    TsdbNotReady,
    /// A provider failed.
    #[error("{context}: {source}")]
    Provider {
        /// What was being done, e.g. "create snapshot".
        context: &'static str,
        /// The provider's error.
        #[source]
        source: ProviderError,
    },
    /// A blocking task panicked or was cancelled by the runtime.
    #[error("query task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl ApiError {
    /// An [`ApiError::InvalidParam`].
    pub(crate) fn param(param: &'static str, source: ParamError) -> Self {
        ApiError::InvalidParam { param, source }
    }

    pub(crate) fn error_type(&self) -> ErrorType {
        use promlite_promql::Error as Q;
        match self {
            ApiError::InvalidParam { .. }
            | ApiError::BadData(_)
            | ApiError::TooManyPoints
            | ApiError::NoMatch
            | ApiError::InvalidLabelName(_)
            | ApiError::LimitNotNumber
            | ApiError::LimitNotPositive
            | ApiError::LookbackDelta(_)
            | ApiError::Form(_) => ErrorType::BadData,
            ApiError::Query(e) => match e {
                Q::Parse(_) => ErrorType::BadData,
                Q::Timeout => ErrorType::Timeout,
                Q::Canceled => ErrorType::Canceled,
                Q::Storage(_) => ErrorType::Internal,
                _ => ErrorType::Execution,
            },
            ApiError::QueueTimeout => ErrorType::Timeout,
            ApiError::Storage(_) => ErrorType::Execution,
            ApiError::AdminDisabled | ApiError::TsdbNotReady => ErrorType::Unavailable,
            ApiError::Provider { .. } | ApiError::Task(_) => ErrorType::Internal,
        }
    }
}

/// Escapes what Go's `encoding/json` escapes beyond JSON's minimum, so that
/// strings come out byte-for-byte as Prometheus writes them.
pub(crate) fn go_json_escape_html(s: String) -> String {
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON body with `Content-Type: application/json`.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        go_json_escape_html(body),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let typ = self.error_type();
        if typ == ErrorType::Internal {
            tracing::error!(target: "api", error = %self, "internal error");
        }
        // Built by hand to keep Prometheus' member order.
        let msg = serde_json::to_string(&self.to_string()).unwrap_or_else(|_| "\"\"".into());
        let body = format!(
            "{{\"status\":\"error\",\"errorType\":\"{}\",\"error\":{msg}}}",
            typ.as_str()
        );
        json_response(typ.status(), body)
    }
}

/// Result alias of the API crate.
pub type Result<T> = std::result::Result<T, ApiError>;

/// A plain-text error, as Go's `http.Error` writes it (text and newline).
#[derive(Debug, thiserror::Error)]
pub(crate) enum PlainError {
    #[error("remote write receiver needs to be enabled with --web.enable-remote-write-receiver")]
    RemoteWriteDisabled,
    #[error("otlp write receiver needs to be enabled with --web.enable-otlp-receiver")]
    OtlpDisabled,
    #[error("invalid OTLP JSON request: {0}")]
    OtlpJson(String),
    #[error(
        "unsupported content type: {0}, supported: [application/json, application/x-protobuf]"
    )]
    OtlpContentType(String),
    #[error("unsupported compression: {0}. Only \"gzip\" or no compression supported")]
    OtlpEncoding(String),
    #[error("gzip: {0}")]
    Gzip(String),
    #[error(
        "{0} encoding (compression) is not accepted by this server; only snappy is acceptable"
    )]
    Encoding(String),
    #[error("expected application/x-protobuf as the first (media) part, got {0} content-type")]
    ContentType(String),
    #[error("{0} protobuf message is not accepted by this server; only prometheus.WriteRequest and io.prometheus.write.v2.Request are accepted")]
    ProtoMessage(String),
    #[error("request body too large: more than {0} bytes")]
    BodyTooLarge(usize),
    #[error("decompressed request body too large: {size} bytes, limit {limit}")]
    DecodedTooLarge { size: usize, limit: usize },
    #[error("{}", go_snappy_message(.0))]
    Snappy(#[from] snap::Error),
    #[error("{0}")]
    Proto(#[from] prost::DecodeError),
    #[error("{0}")]
    Append(promlite_storage::Error),
    #[error("{0}")]
    Storage(promlite_storage::Error),
    #[error("{0}")]
    BodyRead(String),
    #[error("match[] must contain at least one non-empty matcher")]
    EmptyMatcher,
    #[error("{0}")]
    Parse(String),
    #[error("invalid request: {0}")]
    Decode(String),
}

impl PlainError {
    fn status(&self) -> StatusCode {
        match self {
            PlainError::RemoteWriteDisabled | PlainError::OtlpDisabled => StatusCode::NOT_FOUND,
            PlainError::Encoding(_) | PlainError::ContentType(_) | PlainError::ProtoMessage(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            PlainError::BodyTooLarge(_) | PlainError::DecodedTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            PlainError::Snappy(_)
            | PlainError::OtlpContentType(_)
            | PlainError::OtlpJson(_)
            | PlainError::OtlpEncoding(_)
            | PlainError::Gzip(_)
            | PlainError::Proto(_)
            | PlainError::Append(_)
            | PlainError::EmptyMatcher
            | PlainError::Decode(_)
            | PlainError::Parse(_) => StatusCode::BAD_REQUEST,
            PlainError::Storage(_) | PlainError::BodyRead(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for PlainError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(target: "api", error = %self, "internal error");
        }
        plain(status, format!("{self}\n"))
    }
}

/// A `text/plain` response.
pub(crate) fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The text of Go's `github.com/golang/snappy` error for a decoding
/// failure, which Prometheus' receiver returns as is: the library knows
/// only "too large" and "corrupt" (`ErrTooLarge`, `ErrCorrupt`).
fn go_snappy_message(e: &snap::Error) -> &'static str {
    match e {
        snap::Error::TooBig { .. } => "snappy: decoded block is too large",
        _ => "snappy: corrupt input",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snappy_errors_read_as_gos() {
        let e = snap::raw::Decoder::new()
            .decompress_vec(b"not snappy at all")
            .unwrap_err();
        assert_eq!(PlainError::from(e).to_string(), "snappy: corrupt input");
        let big = snap::Error::TooBig {
            given: u64::MAX,
            max: 1,
        };
        assert_eq!(
            PlainError::from(big).to_string(),
            "snappy: decoded block is too large"
        );
    }

    #[test]
    fn json_escapes_html_like_go() {
        assert_eq!(
            go_json_escape_html(r#"{"a":"<b>&"}"#.to_string()),
            r#"{"a":"\u003cb\u003e\u0026"}"#
        );
        assert_eq!(go_json_escape_html("plain".to_string()), "plain");
    }

    #[test]
    fn error_types_map_to_prometheus_status_codes() {
        assert_eq!(ErrorType::BadData.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ErrorType::Execution.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(ErrorType::Canceled.status().as_u16(), 499);
        assert_eq!(ErrorType::Timeout.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            ErrorType::Unavailable.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let e = ApiError::Query(promlite_promql::Error::Canceled);
        assert_eq!(e.error_type(), ErrorType::Canceled);
    }
}
