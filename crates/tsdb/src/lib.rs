//! promlite's time-series database.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod chunkenc;
pub mod head;
pub mod index;
pub mod wal;

pub use head::{Head, HeadOptions};
