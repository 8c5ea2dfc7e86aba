//! One shard: batches its samples and sends them in order, retrying with
//! backoff (Prometheus' `shards.runShard` and `sendSamplesWithBackoff`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::client::Client;
use crate::error::SendError;
use crate::metrics::RemoteMetrics;
use crate::position::Progress;
use crate::settings::QueueSettings;
use crate::watcher::QueuedSample;

/// Send statistics the resharding reads.
#[derive(Debug, Default)]
pub(crate) struct SendStats {
    /// Samples acknowledged or dropped by the receiver.
    pub(crate) samples: AtomicU64,
    /// Nanoseconds spent in successful requests.
    pub(crate) nanos: AtomicU64,
    /// Recoverable failures.
    pub(crate) failures: AtomicU64,
}

/// Everything a shard task needs.
pub(crate) struct Shard {
    pub(crate) id: usize,
    pub(crate) client: Client,
    pub(crate) queue: QueueSettings,
    pub(crate) progress: Arc<Progress>,
    pub(crate) metrics: Arc<RemoteMetrics>,
    pub(crate) stats: Arc<SendStats>,
    /// Permits of queued samples, released as they enter a batch.
    pub(crate) permits: Arc<Semaphore>,
    /// Aborts sending, also in the middle of a retry.
    pub(crate) abort: CancellationToken,
}

/// Permits a chunk of `n` samples takes: a chunk larger than the capacity
/// takes all of it.
pub(crate) fn permits_for(n: usize, capacity: usize) -> u32 {
    u32::try_from(n.min(capacity.max(1))).unwrap_or(u32::MAX)
}

impl Shard {
    /// Runs until the sender side closes (then flushes) or until aborted.
    pub(crate) async fn run(self, mut rx: mpsc::UnboundedReceiver<Vec<QueuedSample>>) {
        let max = self.queue.max_samples_per_send.max(1);
        let mut batch: Vec<QueuedSample> = Vec::with_capacity(max);
        let mut deadline: Option<Instant> = None;
        loop {
            let got = tokio::select! {
                c = rx.recv() => c,
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    deadline = None;
                    let b = std::mem::take(&mut batch);
                    if !self.send(&b).await {
                        return;
                    }
                    continue;
                }
                _ = self.abort.cancelled() => return,
            };
            let Some(chunk) = got else {
                // Closed: flush what is left, in order.
                while !batch.is_empty() {
                    let rest = batch.split_off(batch.len().min(max));
                    let b = std::mem::replace(&mut batch, rest);
                    if !self.send(&b).await {
                        return;
                    }
                }
                return;
            };
            self.permits
                .add_permits(permits_for(chunk.len(), self.queue.capacity) as usize);
            batch.extend(chunk);
            while batch.len() >= max {
                let rest = batch.split_off(max);
                let b = std::mem::replace(&mut batch, rest);
                if !self.send(&b).await {
                    return;
                }
            }
            if batch.is_empty() {
                deadline = None;
            } else if deadline.is_none() {
                deadline = Some(Instant::now() + self.queue.batch_send_deadline);
            }
        }
    }

    /// Sends one batch until it is acknowledged or rejected for good.
    /// False when aborted (the batch stays unacknowledged).
    async fn send(&self, batch: &[QueuedSample]) -> bool {
        let Some(last) = batch.last() else {
            return true;
        };
        let n = batch.len();
        let mut pb = Vec::new();
        let body = match self.client.encode(batch, &mut pb) {
            Ok(b) => b,
            Err(e) => {
                error!(remote_name = %self.metrics.remote_name, error = %e, samples = n, "cannot compress a remote-write request; dropping it");
                RemoteMetrics::add(&self.metrics.samples_failed_total, n);
                self.done(n, last);
                return true;
            }
        };
        let mut backoff = self.queue.min_backoff;
        loop {
            let started = Instant::now();
            let res = tokio::select! {
                r = self.client.store(body.clone()) => r,
                _ = self.abort.cancelled() => return false,
            };
            let err = match res {
                Ok(()) => {
                    let m = &self.metrics;
                    RemoteMetrics::add(&m.samples_total, n);
                    RemoteMetrics::add(&m.bytes_total, body.len());
                    let max_t = batch.iter().map(|s| s.t).max().unwrap_or(i64::MIN);
                    RemoteMetrics::raise(&m.highest_sent_timestamp_ms, max_t);
                    self.stats
                        .nanos
                        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    self.done(n, last);
                    return true;
                }
                Err(SendError::Unrecoverable { status: 429, body })
                    if self.queue.retry_on_http_429 =>
                {
                    format!("server returned HTTP status 429: {body}")
                }
                Err(e @ SendError::Unrecoverable { .. }) => {
                    error!(remote_name = %self.metrics.remote_name, url = %self.metrics.url, error = %e, samples = n, "non-recoverable error; dropping the batch");
                    RemoteMetrics::add(&self.metrics.samples_failed_total, n);
                    self.done(n, last);
                    return true;
                }
                Err(SendError::Recoverable(reason)) => reason,
            };
            warn!(remote_name = %self.metrics.remote_name, url = %self.metrics.url, shard = self.id, error = %err, samples = n, backoff = ?backoff, "failed to send batch, retrying");
            RemoteMetrics::add(&self.metrics.samples_retried_total, n);
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            tokio::select! {
                _ = sleep(backoff) => {}
                _ = self.abort.cancelled() => return false,
            }
            backoff = (backoff * 2).min(self.queue.max_backoff.max(self.queue.min_backoff));
        }
    }

    fn done(&self, n: usize, last: &QueuedSample) {
        self.progress.ack(self.id, n as u64, last.key);
        self.stats.samples.fetch_add(n as u64, Ordering::Relaxed);
        self.metrics
            .samples_pending
            .fetch_sub(n as i64, Ordering::Relaxed);
    }
}
