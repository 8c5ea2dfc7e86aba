//! The head: the in-memory, appendable part of the database.
//!
//! Series live in [`StripeSeries`] (by reference and by label hash), their
//! samples in Gorilla chunks; [`MemPostings`] maps each label pair to the
//! series carrying it, so a selector touches only matching series. Locks are
//! striped: appenders lock one series at a time, queriers take short read
//! locks, and nothing holds a lock across the whole head.
//!
//! Files are split by verb as in Prometheus: `head_append.rs` (the
//! appender), `head_read.rs` (queriers), `head_wal.rs` (replay).

mod head_append;
mod head_read;
mod head_wal;
mod postings;
mod series;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use promlite_model::Labels;
use promlite_storage::{Appendable, Appender, Querier, Queryable, Result};

pub use head_append::HeadAppender;
pub(crate) use head_read::HeadChunks;
pub use head_read::HeadQuerier;
pub use head_wal::WalReplayStats;
pub(crate) use postings::MemPostings;
pub(crate) use series::{MemSeries, StripeSeries};

use crate::wal::Wal;

/// Default block range: two hours in milliseconds.
pub const DEFAULT_BLOCK_RANGE: i64 = 2 * 3600 * 1000;

/// Head settings.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Block range in milliseconds; chunks never cross a multiple of it.
    pub block_range: i64,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            block_range: DEFAULT_BLOCK_RANGE,
        }
    }
}

/// Counters describing the head, named after Prometheus' metrics.
#[derive(Debug, Default)]
pub struct HeadMetrics {
    /// `prometheus_tsdb_head_samples_appended_total`.
    pub samples_appended: AtomicU64,
    /// `prometheus_tsdb_out_of_order_samples_total`.
    pub out_of_order_samples: AtomicU64,
    /// `prometheus_tsdb_out_of_bound_samples_total`.
    pub out_of_bound_samples: AtomicU64,
    /// Samples rejected for a different value at an existing timestamp.
    pub duplicate_samples: AtomicU64,
    /// `prometheus_tsdb_head_series_created_total`.
    pub series_created: AtomicU64,
    /// `prometheus_tsdb_head_series_removed_total`.
    pub series_removed: AtomicU64,
    /// `prometheus_tsdb_head_truncations_total`.
    pub truncations: AtomicU64,
    /// Commits that failed because the WAL could not be written.
    pub wal_write_failures: AtomicU64,
}

/// Shared state behind [`Head`].
pub(crate) struct HeadInner {
    pub(crate) opts: HeadOptions,
    pub(crate) series: StripeSeries,
    pub(crate) postings: MemPostings,
    next_ref: AtomicU64,
    /// Oldest sample time in the head; `i64::MAX` while empty.
    min_time: AtomicI64,
    /// Newest sample time in the head; `i64::MIN` while empty.
    max_time: AtomicI64,
    /// Samples before this time are out of bounds (already persisted).
    min_valid_time: AtomicI64,
    pub(crate) wal: Option<Wal>,
    /// Series created in memory whose record is not yet in the WAL.
    pub(crate) unlogged_series: Mutex<Vec<(u64, Labels)>>,
    pub(crate) metrics: HeadMetrics,
}

/// The in-memory head. Cheap to clone; clones share the same data.
#[derive(Clone)]
pub struct Head {
    pub(crate) inner: Arc<HeadInner>,
}

impl Head {
    /// An empty head without a WAL (the in-memory mode).
    pub fn new(opts: HeadOptions) -> Head {
        Self::with_wal(opts, None)
    }

    /// An empty head that logs to `wal` (replay with [`Head::replay_wal`]).
    pub fn with_wal(opts: HeadOptions, wal: Option<Wal>) -> Head {
        Head {
            inner: Arc::new(HeadInner {
                opts,
                series: StripeSeries::new(),
                postings: MemPostings::new(),
                next_ref: AtomicU64::new(1),
                min_time: AtomicI64::new(i64::MAX),
                max_time: AtomicI64::new(i64::MIN),
                min_valid_time: AtomicI64::new(i64::MIN),
                wal,
                unlogged_series: Mutex::new(Vec::new()),
                metrics: HeadMetrics::default(),
            }),
        }
    }

    /// The head's counters.
    pub fn metrics(&self) -> &HeadMetrics {
        &self.inner.metrics
    }

    /// The WAL, if the head has one.
    pub fn wal(&self) -> Option<&Wal> {
        self.inner.wal.as_ref()
    }

    /// The head's options.
    pub fn options(&self) -> &HeadOptions {
        &self.inner.opts
    }

    /// Oldest sample time, or `None` when empty.
    pub fn min_time(&self) -> Option<i64> {
        let t = self.inner.min_time.load(Ordering::Acquire);
        (t != i64::MAX).then_some(t)
    }

    /// Newest sample time, or `None` when empty.
    pub fn max_time(&self) -> Option<i64> {
        let t = self.inner.max_time.load(Ordering::Acquire);
        (t != i64::MIN).then_some(t)
    }

    /// The oldest time a sample may have and still be accepted.
    pub fn min_valid_time(&self) -> i64 {
        self.inner.min_valid_time()
    }

    /// Raises the oldest accepted sample time to `t` (e.g. the end of the
    /// newest persisted block, before a WAL replay).
    pub fn set_min_valid_time(&self, t: i64) {
        self.inner.min_valid_time.fetch_max(t, Ordering::AcqRel);
    }

    /// Whether a series with this reference is in the head.
    pub fn has_series(&self, r: u64) -> bool {
        self.inner.series.get_by_ref(r).is_some()
    }

    /// Number of series in the head.
    pub fn num_series(&self) -> usize {
        self.inner.series.len()
    }

    /// Approximate heap bytes held by series, chunks and postings.
    pub fn heap_size(&self) -> usize {
        let mut total = self.inner.postings.heap_size();
        self.inner.series.for_each(|s| {
            total += std::mem::size_of::<MemSeries>()
                + 16 // Arc header
                + 2 * 24 // map entries by reference and by hash
                + s.labels.heap_size()
                + s.data.lock().heap_size();
        });
        total
    }

    /// Drops all data before `mint`: chunks ending before it go, series
    /// left without data are garbage-collected, and later appends before
    /// `mint` are rejected as out of bounds.
    pub fn truncate(&self, mint: i64) {
        let inner = &self.inner;
        inner.min_valid_time.fetch_max(mint, Ordering::AcqRel);
        let mut new_min = i64::MAX;
        let mut empty = Vec::new();
        inner.series.for_each(|s| {
            let mut d = s.data.lock();
            d.truncate_before(mint);
            match d.min_time() {
                Some(t) => new_min = new_min.min(t),
                None => empty.push(s.series_ref),
            }
        });
        empty.sort_unstable();
        if !empty.is_empty() {
            let removed = inner.series.remove_where(|s| {
                if empty.binary_search(&s.series_ref).is_err() {
                    return false;
                }
                // Re-check under the series lock: an appender may have added
                // data or holds uncommitted samples. A removed series is
                // marked so that an appender that found it just before
                // looks it up again.
                let mut d = s.data.lock();
                let gone = d.pending == 0 && d.min_time().is_none();
                d.removed = gone;
                gone
            });
            for s in &removed {
                inner.postings.delete(s.series_ref, &s.labels);
            }
            inner
                .metrics
                .series_removed
                .fetch_add(removed.len() as u64, Ordering::Relaxed);
        }
        inner.min_time.store(new_min, Ordering::Release);
        if new_min == i64::MAX {
            inner.max_time.store(i64::MIN, Ordering::Release);
        }
        inner.metrics.truncations.fetch_add(1, Ordering::Relaxed);
    }

    /// Deletes the samples in `[mint, maxt]` of the series matching
    /// `matchers`: logs tombstones to the WAL (so a replay deletes them
    /// again), then rewrites the affected chunks. Returns the number of
    /// samples removed.
    pub fn delete(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[promlite_model::Matcher],
    ) -> Result<usize> {
        let q = self.head_querier(i64::MIN, i64::MAX);
        let series = q.matching_series_all(matchers)?;
        if series.is_empty() {
            return Ok(0);
        }
        if let Some(wal) = &self.inner.wal {
            let ts: Vec<crate::wal::Tombstone> = series
                .iter()
                .map(|s| crate::wal::Tombstone {
                    series_ref: s.series_ref,
                    mint,
                    maxt,
                })
                .collect();
            let mut buf = Vec::new();
            crate::wal::record::encode_tombstones(&ts, &mut buf);
            wal.log(&[&buf])?;
        }
        let range = self.inner.opts.block_range;
        let mut removed = 0;
        for s in series {
            removed += s.data.lock().delete_range(mint, maxt, range);
        }
        Ok(removed)
    }

    /// A querier over `[mint, maxt]`.
    pub fn head_querier(&self, mint: i64, maxt: i64) -> HeadQuerier {
        HeadQuerier::new(self.clone(), mint, maxt)
    }

    /// Chunks of every series overlapping `[mint, maxt)`, sorted by labels,
    /// as the block writer consumes them.
    pub(crate) fn chunks_in_range(&self, mint: i64, maxt: i64) -> Vec<HeadChunks> {
        head_read::chunks_in_range(self, mint, maxt)
    }
}

impl HeadInner {
    pub(crate) fn next_series_ref(&self) -> u64 {
        self.next_ref.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes sure future references are above `r` (WAL replay).
    pub(crate) fn bump_series_ref(&self, r: u64) {
        self.next_ref.fetch_max(r + 1, Ordering::Relaxed);
    }

    pub(crate) fn min_valid_time(&self) -> i64 {
        let floor = self.min_valid_time.load(Ordering::Acquire);
        let max = self.max_time.load(Ordering::Acquire);
        if max == i64::MIN {
            return floor;
        }
        // As Prometheus: the head accepts samples up to half a block range
        // older than its newest sample.
        floor.max(max.saturating_sub(self.opts.block_range / 2))
    }

    pub(crate) fn update_time_range(&self, mint: i64, maxt: i64) {
        self.min_time.fetch_min(mint, Ordering::AcqRel);
        self.max_time.fetch_max(maxt, Ordering::AcqRel);
    }

    /// Creates (or finds) the series for `l`, indexing it when new.
    pub(crate) fn get_or_create(&self, l: &Labels) -> (Arc<MemSeries>, bool) {
        let hash = l.hash64();
        let (s, created) = self
            .series
            .get_or_create(hash, l, || self.next_series_ref());
        if created {
            self.postings.add(s.series_ref, &s.labels);
            self.metrics.series_created.fetch_add(1, Ordering::Relaxed);
        }
        (s, created)
    }
}

impl Appendable for Head {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(HeadAppender::new(self.clone()))
    }
}

impl Queryable for Head {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>> {
        Ok(Box::new(self.head_querier(mint, maxt)))
    }
}

/// Head cardinality statistics for `/api/v1/status/tsdb`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadCardinality {
    /// Series in the head.
    pub num_series: u64,
    /// Distinct label name/value pairs.
    pub num_label_pairs: u64,
    /// Chunks held (closed and open).
    pub chunk_count: u64,
    /// Top series counts by metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Top numbers of distinct values by label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Top bytes of label values by label name (value bytes × series).
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Top series counts by `name=value` pair.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

fn top(mut v: Vec<(String, u64)>, limit: usize) -> Vec<(String, u64)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}

impl Head {
    /// Cardinality statistics with the `limit` largest entries of each list
    /// (Prometheus' `head.Stats`).
    pub fn cardinality(&self, limit: usize) -> HeadCardinality {
        let mut by_name = Vec::new();
        let mut values_per_label: std::collections::HashMap<String, (u64, u64)> =
            std::collections::HashMap::new();
        let mut by_pair = Vec::new();
        let mut pairs = 0u64;
        self.inner.postings.for_each_pair(|n, v, count| {
            pairs += 1;
            if n == promlite_model::METRIC_NAME {
                by_name.push((v.to_string(), count as u64));
            }
            let e = values_per_label.entry(n.to_string()).or_default();
            e.0 += 1;
            e.1 += (v.len() * count) as u64;
            by_pair.push((format!("{n}={v}"), count as u64));
        });
        let mut chunks = 0u64;
        self.inner.series.for_each(|s| {
            let d = s.data.lock();
            chunks += d.closed.len() as u64 + d.open.is_some() as u64;
        });
        HeadCardinality {
            num_series: self.num_series() as u64,
            num_label_pairs: pairs,
            chunk_count: chunks,
            series_count_by_metric_name: top(by_name, limit),
            label_value_count_by_label_name: top(
                values_per_label
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0))
                    .collect(),
                limit,
            ),
            memory_in_bytes_by_label_name: top(
                values_per_label
                    .iter()
                    .map(|(k, v)| (k.clone(), v.1))
                    .collect(),
                limit,
            ),
            series_count_by_label_value_pair: top(by_pair, limit),
        }
    }
}

#[cfg(test)]
mod tests;
