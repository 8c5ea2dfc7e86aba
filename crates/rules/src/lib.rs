//! Recording and alerting rules for promlite, as Prometheus' `rules`
//! package, plus the rule side of `promtool` (`check rules`, `test rules`).
//!
//! * Rule files (Prometheus' format) are read and validated by
//!   [`load_files`] / [`parse_rules`] into [`GroupSpec`]s; errors are
//!   [`RuleError`]s naming file, line and reason in `rulefmt`'s words.
//! * A [`Group`] evaluates its rules at a given timestamp
//!   ([`Group::eval`]), so tests and embedders drive it on a virtual clock.
//!   Rules read through a [`promlite_storage::Queryable`] and write through
//!   a [`promlite_storage::Appendable`]; alerts go to a [`Notifier`].
//! * [`RuleManager`] owns the groups, reloads them and runs one tokio task
//!   per group on the real clock until a cancellation token fires.
//! * [`template`] is a Go `text/template` interpreter with Prometheus'
//!   template functions, used for alert labels and annotations.
//! * [`check_rules`] and [`test_rules`] are `promtool check rules` and
//!   `promtool test rules`, with the same outputs and exit codes.
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use promlite_model::Labels;
//! use promlite_promql::{Engine, EngineOpts};
//! use promlite_tsdb::{Db, DbOptions};
//! use promlite_rules::{parse_rules, AlertState, Group, GroupOptions, Rule};
//! use promlite_storage::Appendable;
//!
//! let yaml = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n";
//! let specs = parse_rules(yaml, Path::new("rules.yml")).unwrap();
//! let store = Arc::new(Db::open_in_memory(DbOptions::default()));
//! let mut app = store.appender();
//! for t in [0, 60_000] {
//!     app.append(None, &Labels::from_pairs(&[("__name__", "up")]), t, 0.0).unwrap();
//! }
//! app.commit().unwrap();
//! let engine = Arc::new(Engine::new(EngineOpts::default()));
//! let mut group = Group::new(&specs[0], GroupOptions::new(engine, store.clone(), store));
//! group.eval(0);
//! group.eval(60_000);
//! let Rule::Alerting(rule) = &group.rules()[0].rule else { unreachable!() };
//! assert_eq!(rule.state(), AlertState::Firing);
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod alerting;
mod check;
mod error;
mod group;
mod manager;
mod notifier;
mod rulefmt;
pub mod template;
mod unittest;

pub use alerting::{
    ActiveAlert, AlertState, AlertingRule, ALERT_FOR_STATE_METRIC_NAME, ALERT_METRIC_NAME,
    RESOLVED_RETENTION_MS,
};
pub use check::check_rules;
pub use error::{Error, Result, RuleError};
pub use group::{Group, GroupOptions, RecordingRule, Rule, RuleEntry, RuleHealth};
pub use manager::{RuleManager, SharedGroup};
pub use notifier::{Alert, Notifier};
pub use rulefmt::{load_files, parse_file, parse_rules, GroupSpec, RuleKind, RuleSpec};
pub use unittest::{test_rules, TestRulesOptions};

#[cfg(test)]
mod tests;
