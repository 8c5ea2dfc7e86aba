//! Recording and alerting rules for promlite, as Prometheus' `rules`
//! package, plus `promtool check rules` and `promtool test rules`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod template;

pub use error::{Error, Result, RuleError};
mod rulefmt;

pub use rulefmt::{load_files, parse_file, parse_rules, GroupSpec, RuleKind, RuleSpec};
mod alerting;
mod group;
mod manager;
mod notifier;

pub use alerting::{
    ActiveAlert, AlertState, AlertingRule, ALERT_FOR_STATE_METRIC_NAME, ALERT_METRIC_NAME,
    RESOLVED_RETENTION_MS,
};
pub use group::{Group, GroupOptions, RecordingRule, Rule, RuleEntry, RuleHealth};
pub use manager::{RuleManager, SharedGroup};
pub use notifier::{Alert, Notifier};
mod unittest;

pub use unittest::{test_rules, TestRulesOptions};
mod check;

pub use check::check_rules;
#[cfg(test)]
mod tests;
