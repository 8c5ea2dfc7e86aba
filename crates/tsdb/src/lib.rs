//! promlite's time-series database, Prometheus' `tsdb` package in Rust.
//!
//! * [`Db`]: a directory holding a [`Head`], its write-ahead log and the
//!   persisted [`block::Block`]s, queried as one; or the same fully in
//!   memory ([`Db::open_in_memory`]). It implements the storage layer's
//!   [`promlite_storage::Appendable`] and [`promlite_storage::Queryable`].
//! * [`head`]: the in-memory, appendable part, with Gorilla chunks
//!   ([`chunkenc`]) and an inverted index.
//! * [`wal`]: numbered segment files of checksummed records, replayed at
//!   start, truncated after torn tails, checkpointed after compaction.
//! * [`block`] and [`index`]: immutable, memory-mapped block directories.
//! * Compaction and retention run in [`Db::compact`].
//!
//! On-disk formats are described with diagrams in `docs/format/`.
//!
//! ```
//! use promlite_model::{Labels, Matcher};
//! use promlite_storage::{Appendable, Queryable};
//! use promlite_tsdb::{Db, DbOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let db = Db::open(dir.path(), DbOptions::default())?;
//! let mut app = db.appender();
//! app.append(None, &Labels::from_pairs(&[("__name__", "up"), ("job", "a")]), 1_000, 1.0)?;
//! app.commit()?;
//! let q = db.querier(0, 2_000)?;
//! let series: Vec<_> = q.select(true, None, &[Matcher::equal("job", "a")])?.collect();
//! assert_eq!(series.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod backfill;
pub mod block;
pub mod chunkenc;
mod compact;
mod db;
mod error;
pub mod head;
pub mod index;
pub mod wal;

pub use compact::CompactStats;
pub use db::{Db, DbMetrics, DbOptions, CORRUPTED_SUFFIX, DEFAULT_RETENTION};
pub use error::{CorruptionKind, Error, Result};
pub use head::{Head, HeadCardinality, HeadOptions};
