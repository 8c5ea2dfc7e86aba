//! The storage the runner loads scripts into: the real TSDB, in memory.

use std::sync::Arc;

use promlite_storage::{Appendable, Queryable};
use promlite_tsdb::{Db, DbOptions};

/// What the runner needs from a storage: writing and reading.
pub trait TestStorage: Appendable + Queryable {}

impl<T: Appendable + Queryable> TestStorage for T {}

/// One day in milliseconds.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The options of Prometheus' test storage (`util/teststorage.New`): a
/// 24h block range, so the head accepts samples up to 12h older than its
/// newest one ("tests just load data for a series sequentially"), no
/// retention and no out-of-order window.
pub fn tsdb_test_options() -> DbOptions {
    DbOptions {
        block_range: DAY_MS,
        retention_time: 0,
        max_block_duration: Some(DAY_MS),
        ..DbOptions::default()
    }
}

/// A fresh, empty in-memory [`Db`] with [`tsdb_test_options`]; the runner's
/// usual [`crate::StorageFactory`].
pub fn tsdb_storage() -> Arc<dyn TestStorage> {
    Arc::new(Db::open_in_memory(tsdb_test_options()))
}
