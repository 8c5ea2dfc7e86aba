//! The promlite time-series database, Prometheus' `tsdb` package in Rust.
//!
//! So far it holds the write-ahead log, [`wal`]: numbered segment files of
//! checksummed records (series, samples, tombstones), a reader and a live
//! tailer, torn-tail repair and checkpoints. The head, blocks and compaction
//! build on it. Errors are [`Error`], which converts into
//! [`promlite_storage::Error`] at the storage boundary.
//!
//! ```
//! use promlite_tsdb::wal::{record, RefSample, Wal, WalOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let wal = Wal::open(dir.path().join("wal"), WalOptions::default())?;
//! let mut buf = Vec::new();
//! record::encode_samples(&[RefSample { series_ref: 1, t: 0, v: 1.5 }], &mut buf);
//! wal.log(&[&buf])?;
//! wal.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod wal;

pub use error::{CorruptionKind, Error, Result};
