//! promlite's time-series database.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod block;
pub mod chunkenc;
pub mod index;
