//! A runner for Prometheus' promqltest scripts (`*.test`), the format
//! described in `shared/promqltest/README.md`.
//!
//! [`Runner`] parses a script, loads its data through the storage's
//! [`promlite_storage::Appendable`] side into a storage made by a
//! [`StorageFactory`], evaluates every `eval` with [`promlite_promql`] and
//! checks the result, including the implicit `@`-pinning and range-mode
//! checks of the Go runner. [`tsdb_storage`] makes the storage the scripts
//! run on: an in-memory `promlite_tsdb::Db` configured like Prometheus'
//! test storage.
//!
//! ```
//! use promlite_promqltest::{tsdb_storage, Runner, SkipList};
//!
//! let runner = Runner::new(Box::new(tsdb_storage), SkipList::new());
//! let report = runner
//!     .run_text("doc.test", "load 1m\n  up 1 2 3\n\neval instant at 2m up\n  up 3\n")
//!     .unwrap();
//! assert_eq!(report.counts(), (1, 0, 0));
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod check;
mod error;
mod runner;
mod script;
mod storage;

pub use error::{Error, Result};
pub use runner::{
    parse_skip_list, test_engine, EvalOutcome, FileReport, Runner, SkipEntry, SkipList,
    StorageFactory,
};
pub use script::{parse_series_line, SeqValue, SeriesLine};
pub use storage::{tsdb_storage, tsdb_test_options, TestStorage};
