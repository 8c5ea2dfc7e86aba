//! Recording and alerting rules for promlite, as Prometheus' `rules`
//! package, plus `promtool check rules` and `promtool test rules`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod template;

pub use error::{Error, Result, RuleError};
mod rulefmt;

pub use rulefmt::{load_files, parse_file, parse_rules, GroupSpec, RuleKind, RuleSpec};
