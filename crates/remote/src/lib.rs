//! The remote-write sender (Prometheus' `storage/remote` write path):
//! promlite follows its own WAL and ships samples to remote-write 1.0 or
//! 2.0 receivers (`protobuf_message`; 2.0 also carries metadata and each
//! sample's start timestamp) such as Prometheus, Thanos, Mimir, Cortex and
//! VictoriaMetrics, without
//! losing samples when the receiver is slow or down or promlite restarts.
//!
//! * [`RemoteWriter`]: started by the server with one [`WriteSettings`]
//!   per `remote_write` entry; [`RemoteWriter::apply`] on reload,
//!   [`RemoteWriter::stop`] at shutdown, [`RemoteWriter::metrics`] for
//!   `/metrics`.
//! * Per endpoint a WAL watcher (reading through
//!   [`promlite_tsdb::wal::LiveReader`], never the head) rebuilds series
//!   labels from the checkpoint and segments and streams samples; a
//!   queue manager shards them by series reference (order per series is
//!   kept), batches them (`max_samples_per_send`,
//!   `batch_send_deadline`), and shards send snappy-compressed protobuf
//!   with exponential backoff on 5xx, network errors and (optionally)
//!   429. Bounded queues push back on the watcher: the WAL is the buffer.
//! * Durability: each shard's acknowledged WAL position is saved in
//!   `<data>/remote/<key>.position` (see [`Key`] and [`Watermarks`]);
//!   a restart resumes there without resending acknowledged samples.
//!
//! ```no_run
//! use promlite_remote::{RemoteWriter, WriteSettings};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn run() -> Result<(), promlite_remote::Error> {
//! let settings = vec![WriteSettings::new("http://127.0.0.1:9090/api/v1/write")];
//! let writer = RemoteWriter::start(
//!     settings,
//!     Some(std::path::Path::new("data/wal")),
//!     std::path::Path::new("data"),
//!     CancellationToken::new(),
//! )?;
//! // ... on shutdown:
//! writer.stop().await;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod client;
mod error;
mod metadata;
mod metrics;
mod position;
mod queue;
mod settings;
mod shard;
mod watcher;
mod writer;

#[cfg(test)]
mod tests;

pub use client::{REMOTE_WRITE_VERSION, USER_AGENT_VALUE};
pub use error::{Error, Result};
pub use metadata::{send_metadata, FamilyMetadata};
pub use metrics::{RemoteMetrics, COUNTERS};
pub use position::{Key, Watermarks};
pub use settings::{HttpSettings, ProtobufMessage, QueueSettings, TlsSettings, WriteSettings};
pub use writer::{RemoteWriter, SAVE_INTERVAL};
