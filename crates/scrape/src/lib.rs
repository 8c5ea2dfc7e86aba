//! Scrape-side building blocks of promlite: exposition parsing and the
//! pure functions around it (Prometheus `model/textparse` and parts of
//! `scrape/scrape.go`).
//!
//! * [`Parser`]: a streaming, low-allocation parser over a scrape body in
//!   the Prometheus text format (0.0.4) or OpenMetrics (1.0.0), yielding
//!   [`Entry`] values ([`Series`], HELP, TYPE, UNIT, comments). Errors are
//!   [`ParseError`]s naming the line and, where Prometheus has one, its
//!   message.
//! * [`negotiate_format`] / [`content_type_to_format`]: choosing a
//!   [`Format`] from a Content-Type, with Prometheus 3's
//!   `fallback_scrape_protocol` rules; [`accept_header`] and
//!   [`DEFAULT_ACCEPT_HEADER`] for the request side.
//! * [`decode_body`]: gzip decoding under `body_size_limit`.
//! * [`mutate_sample_labels`], [`verify_label_limits`],
//!   [`check_sample_limit`]: target labels, `honor_labels` and limits.
//! * [`populate_labels`] and [`Target`]: turning discovered targets into
//!   scrape targets; [`ScrapeLoop`] scrapes one target every interval and
//!   [`ScrapeManager`] runs the loops of every job.
//!
//! ```
//! use promlite_scrape::{negotiate_format, Entry, Parser};
//!
//! let (format, _) = negotiate_format("application/openmetrics-text; version=1.0.0", None).unwrap();
//! let body = b"# TYPE rpc counter\nrpc_total{code=\"200\"} 17 1700000000.5\n# EOF\n";
//! let series: Vec<_> = Parser::new(body, format)
//!     .filter_map(|e| match e.unwrap() {
//!         Entry::Series(s) => Some((s.to_labels().to_string(), s.value, s.timestamp)),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(
//!     series,
//!     vec![(r#"{__name__="rpc_total", code="200"}"#.to_string(), 17.0, Some(1_700_000_000_500))]
//! );
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod body;
mod error;
mod format;
mod interval;
mod lex;
mod manager;
mod parser;
mod sample_labels;
mod scrape_loop;
mod series;
mod target;

pub use body::decode_body;
pub use error::{
    ContentTypeError, Error, LimitError, NumberError, ParseError, ParseErrorKind, Result,
};
pub use format::{
    accept_header, content_type_to_format, negotiate_format, FallbackWarning, Format,
    ScrapeProtocol, UnknownScrapeProtocol, DEFAULT_ACCEPT_HEADER, DEFAULT_SCRAPE_PROTOCOLS,
};
pub use interval::{IntervalStats, IntervalSummary};
pub use manager::{DroppedTarget, ScrapeManager};
pub use parser::{Entry, MetricType, Parser, ParserOptions};
pub use sample_labels::{
    check_sample_limit, mutate_sample_labels, verify_label_limits, LabelLimits,
    EXPORTED_LABEL_PREFIX,
};
pub use scrape_loop::{
    append_body, build_client, AppendStats, ScrapeCache, ScrapeError, ScrapeLoop,
};
pub use series::{Series, SeriesLabels};
pub use target::{
    populate_labels, Health, HttpSettings, MetricMetadata, Populated, ScrapeSettings, ScrapeStatus,
    Target, TargetError, TargetGroup, TlsSettings, ADDRESS_LABEL, META_LABEL_PREFIX,
    METRICS_PATH_LABEL, PARAM_LABEL_PREFIX, SCHEME_LABEL, SCRAPE_INTERVAL_LABEL,
    SCRAPE_TIMEOUT_LABEL,
};
