//! Per-endpoint counters, named after Prometheus' remote-storage metrics.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters of one endpoint. Render each with the labels
/// `remote_name="<name>", url="<url>"`.
#[derive(Debug, Default)]
pub struct RemoteMetrics {
    /// The `remote_name` label.
    pub remote_name: String,
    /// The `url` label.
    pub url: String,
    /// Samples acknowledged by the receiver.
    pub samples_total: AtomicU64,
    /// Samples the receiver rejected permanently (4xx).
    pub samples_failed_total: AtomicU64,
    /// Samples sent again after a recoverable error.
    pub samples_retried_total: AtomicU64,
    /// Samples dropped before sending (relabeling, unknown series, age
    /// limit, deleted WAL segments).
    pub samples_dropped_total: AtomicU64,
    /// Highest sample timestamp read from the WAL, milliseconds.
    pub highest_timestamp_ms: AtomicI64,
    /// Highest sample timestamp acknowledged, milliseconds.
    pub highest_sent_timestamp_ms: AtomicI64,
    /// Running shards.
    pub shards: AtomicU64,
    /// Shards the throughput calls for.
    pub shards_desired: AtomicU64,
    /// Samples read from the WAL and not yet acknowledged or dropped.
    pub samples_pending: AtomicI64,
    /// Compressed request bytes acknowledged.
    pub bytes_total: AtomicU64,
    /// Series in the WAL watcher's label cache (not rendered; for
    /// debugging and tests).
    pub series_cached: AtomicU64,
}

/// Counters (`_total`) among the names [`RemoteMetrics::samples`] returns.
pub const COUNTERS: [&str; 5] = [
    "prometheus_remote_storage_samples_total",
    "prometheus_remote_storage_samples_failed_total",
    "prometheus_remote_storage_samples_retried_total",
    "prometheus_remote_storage_samples_dropped_total",
    "prometheus_remote_storage_bytes_total",
];

impl RemoteMetrics {
    pub(crate) fn new(remote_name: String, url: String) -> RemoteMetrics {
        RemoteMetrics {
            remote_name,
            url,
            ..RemoteMetrics::default()
        }
    }

    /// Every metric as `(name, value)`; timestamps are in seconds.
    pub fn samples(&self) -> Vec<(&'static str, f64)> {
        let u = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        let ts = |a: &AtomicI64| a.load(Ordering::Relaxed) as f64 / 1000.0;
        vec![
            (COUNTERS[0], u(&self.samples_total)),
            (COUNTERS[1], u(&self.samples_failed_total)),
            (COUNTERS[2], u(&self.samples_retried_total)),
            (COUNTERS[3], u(&self.samples_dropped_total)),
            (COUNTERS[4], u(&self.bytes_total)),
            (
                "prometheus_remote_storage_highest_timestamp_in_seconds",
                ts(&self.highest_timestamp_ms),
            ),
            (
                "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
                ts(&self.highest_sent_timestamp_ms),
            ),
            ("prometheus_remote_storage_shards", u(&self.shards)),
            (
                "prometheus_remote_storage_shards_desired",
                u(&self.shards_desired),
            ),
            (
                "prometheus_remote_storage_samples_pending",
                self.samples_pending.load(Ordering::Relaxed) as f64,
            ),
        ]
    }

    pub(crate) fn add(a: &AtomicU64, n: usize) {
        a.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn raise(a: &AtomicI64, v: i64) {
        a.fetch_max(v, Ordering::Relaxed);
    }
}
