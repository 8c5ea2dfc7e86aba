//! Data model shared by every promlite crate.
//!
//! * [`Labels`]: an immutable, sorted label set stored in one compact
//!   allocation (the layout of Prometheus' `stringlabels`).
//! * [`LabelsBuilder`]: the mutable counterpart used to add, change and
//!   remove labels.
//! * [`Matcher`]: a label matcher (`=`, `!=`, `=~`, `!~`) with Prometheus'
//!   semantics: regular expressions are fully anchored and use RE2 syntax.
//! * [`Sample`] and the staleness marker helpers ([`STALE_NAN`],
//!   [`is_stale_nan`]).
//!
//! ```
//! use promlite_model::{Labels, Matcher, MatchType};
//!
//! let l = Labels::from_pairs(&[("job", "api"), ("__name__", "up")]);
//! assert_eq!(l.get("__name__"), Some("up"));
//! let m = Matcher::new(MatchType::Regex, "job", "a.*").unwrap();
//! assert!(m.matches(l.get("job").unwrap_or("")));
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod duration;
mod error;
mod labels;
mod matcher;
mod relabel;
mod sample;
mod time;

pub use duration::{format_duration, parse_bytes, parse_duration};
pub use error::{Error, RelabelError, Result};
pub use labels::{Label, Labels, LabelsBuilder, LabelsIter, BUCKET_LABEL, METRIC_NAME};
pub use matcher::{MatchType, Matcher};
pub use relabel::{
    process, process_builder, Action, NameValidation, RelabelConfig, RelabelRegex,
    DEFAULT_RELABEL_REGEX, DEFAULT_REPLACEMENT, DEFAULT_SEPARATOR,
};
pub use sample::{is_stale_nan, Sample, STALE_NAN, STALE_NAN_BITS};
pub use time::{civil_from_days, format_rfc3339_millis};
