//! The queue manager of one endpoint (Prometheus' `QueueManager`): hands
//! the watcher's samples to shards by series reference, reshards on
//! throughput, and saves the acknowledged position.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{interval, timeout, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::client::Client;
use crate::metrics::RemoteMetrics;
use crate::position::{self, Key, Progress, Watermarks};
use crate::settings::QueueSettings;
use crate::shard::{permits_for, SendStats, Shard};
use crate::watcher::{QueuedSample, WalBatch};

/// How often the acknowledged position is saved.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// A running shard as the manager sees it.
struct ShardHandle {
    tx: mpsc::UnboundedSender<Vec<QueuedSample>>,
    permits: Arc<Semaphore>,
    task: JoinHandle<()>,
}

/// The manager task of one endpoint.
pub(crate) struct QueueManager {
    pub(crate) client: Client,
    pub(crate) queue: QueueSettings,
    pub(crate) metrics: Arc<RemoteMetrics>,
    pub(crate) position_path: PathBuf,
    pub(crate) progress: Arc<Progress>,
    pub(crate) stats: Arc<SendStats>,
    /// Cancelled to abort sends once the flush deadline has passed.
    pub(crate) abort: CancellationToken,
    pub(crate) saved: Option<Watermarks>,
    shards: Vec<ShardHandle>,
    dispatched_samples: u64,
}

impl QueueManager {
    pub(crate) fn new(
        client: Client,
        queue: QueueSettings,
        metrics: Arc<RemoteMetrics>,
        position_path: PathBuf,
        start: Key,
        saved: Option<Watermarks>,
    ) -> QueueManager {
        let n = queue.min_shards.max(1).min(queue.max_shards.max(1));
        QueueManager {
            client,
            progress: Arc::new(Progress::new(n, start, saved.as_ref())),
            queue,
            metrics,
            position_path,
            stats: Arc::new(SendStats::default()),
            abort: CancellationToken::new(),
            saved,
            shards: Vec::new(),
            dispatched_samples: 0,
        }
    }

    fn start_shards(&mut self, n: usize) {
        self.shards = (0..n)
            .map(|id| {
                let (tx, rx) = mpsc::unbounded_channel();
                let permits = Arc::new(Semaphore::new(self.queue.capacity.max(1)));
                let shard = Shard {
                    id,
                    client: self.client.clone(),
                    queue: self.queue.clone(),
                    progress: self.progress.clone(),
                    metrics: self.metrics.clone(),
                    stats: self.stats.clone(),
                    permits: permits.clone(),
                    abort: self.abort.clone(),
                };
                ShardHandle {
                    tx,
                    permits,
                    task: tokio::spawn(shard.run(rx)),
                }
            })
            .collect();
        self.metrics.shards.store(n as u64, Ordering::Relaxed);
    }

    /// Closes the shards and waits until they delivered what they hold.
    async fn drain_shards(&mut self) {
        for s in std::mem::take(&mut self.shards) {
            drop(s.tx);
            if let Err(e) = s.task.await {
                warn!(error = %e, "remote-write shard task failed");
            }
        }
    }

    /// Runs until `stop` is cancelled or the watcher ends.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<WalBatch>, stop: CancellationToken) {
        let n = self.progress.watermarks().0.len();
        self.start_shards(n);
        self.metrics
            .shards_desired
            .store(n as u64, Ordering::Relaxed);
        let mut save = interval(SAVE_INTERVAL);
        save.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut reshard = interval(self.queue.reshard_interval.max(Duration::from_millis(10)));
        reshard.set_missed_tick_behavior(MissedTickBehavior::Delay);
        reshard.tick().await;
        let mut last_saved: Option<Watermarks> = None;
        let mut window = RateWindow::new(&self);
        loop {
            tokio::select! {
                // Ticks first: a watcher with a backlog is always ready.
                biased;
                _ = stop.cancelled() => break,
                _ = save.tick() => self.save(&mut last_saved),
                _ = reshard.tick() => {
                    let desired = window.desired(&self);
                    self.metrics.shards_desired.store(desired as u64, Ordering::Relaxed);
                    if desired != self.shards.len() {
                        info!(remote_name = %self.metrics.remote_name, from = self.shards.len(), to = desired, "resharding");
                        tokio::select! {
                            _ = self.drain_shards() => {}
                            _ = stop.cancelled() => break,
                        }
                        self.progress = Arc::new(Progress::new(desired, self.progress.dispatched(), None));
                        self.start_shards(desired);
                        self.save(&mut last_saved);
                    }
                    window = RateWindow::new(&self);
                }
                b = rx.recv() => {
                    let Some(b) = b else { break };
                    tokio::select! {
                        _ = self.dispatch(b) => {}
                        _ = stop.cancelled() => break,
                    }
                }
            }
        }
        // Stop: the watcher unblocks once the channel is gone; shards get
        // the flush deadline to deliver what they hold.
        drop(rx);
        let deadline = self.queue.flush_deadline;
        let shards = std::mem::take(&mut self.shards);
        let mut tasks = Vec::new();
        for s in shards {
            drop(s.tx);
            tasks.push(s.task);
        }
        let all = async {
            for t in tasks.iter_mut() {
                let _ = t.await;
            }
        };
        if timeout(deadline, all).await.is_err() {
            warn!(remote_name = %self.metrics.remote_name, deadline = ?deadline, "flush deadline exceeded; unsent samples will be sent from the WAL after the next start");
            self.abort.cancel();
            for t in tasks {
                let _ = t.await;
            }
        }
        self.save(&mut last_saved);
        self.metrics.shards.store(0, Ordering::Relaxed);
    }

    /// Hands one watcher batch to the shards (waiting for capacity).
    async fn dispatch(&mut self, b: WalBatch) {
        let n = self.shards.len().max(1);
        let mut per: Vec<Vec<QueuedSample>> = (0..n).map(|_| Vec::new()).collect();
        self.dispatched_samples += b.samples.len() as u64;
        for s in b.samples {
            if let Some(v) = per.get_mut((s.series_ref % n as u64) as usize) {
                v.push(s);
            }
        }
        let counts: Vec<u64> = per.iter().map(|v| v.len() as u64).collect();
        self.progress.dispatch(&counts, b.next);
        // Pieces of at most `capacity` samples, so that a shard never
        // holds more than its capacity in its queue.
        let piece = self.queue.capacity.max(1);
        for (shard, mut chunk) in self.shards.iter().zip(per) {
            while !chunk.is_empty() {
                let rest = chunk.split_off(chunk.len().min(piece));
                let want = permits_for(chunk.len(), self.queue.capacity);
                match shard.permits.acquire_many(want).await {
                    Ok(p) => p.forget(),
                    Err(_) => return,
                }
                if shard.tx.send(chunk).is_err() {
                    debug!("remote-write shard is gone");
                }
                chunk = rest;
            }
        }
    }

    fn save(&self, last: &mut Option<Watermarks>) {
        let w = self.progress.watermarks();
        if last.as_ref() == Some(&w) {
            return;
        }
        // Until the watcher has passed every saved watermark, the saved
        // file (shard-exact) is kept unless the new one is as far in
        // every shard it can compare.
        if let Some(saved) = &self.saved {
            if saved.0.len() != w.0.len() && self.progress.dispatched() < saved.end() {
                return;
            }
        }
        match position::store(&self.position_path, &w) {
            Ok(()) => *last = Some(w),
            Err(e) => warn!(error = %e, "cannot save the remote-write position"),
        }
    }
}

/// Throughput over one resharding interval.
struct RateWindow {
    at: Instant,
    dispatched: u64,
    sent: u64,
    nanos: u64,
    failures: u64,
}

impl RateWindow {
    fn new(q: &QueueManager) -> RateWindow {
        RateWindow {
            at: Instant::now(),
            dispatched: q.dispatched_samples,
            sent: q.stats.samples.load(Ordering::Relaxed),
            nanos: q.stats.nanos.load(Ordering::Relaxed),
            failures: q.stats.failures.load(Ordering::Relaxed),
        }
    }

    /// The shard count the last interval calls for: time per sample times
    /// the incoming rate plus a tenth of the backlog per second, kept
    /// within 30% of the current count to avoid flapping, and unchanged
    /// while sends fail (more shards would not help).
    fn desired(&self, q: &QueueManager) -> usize {
        let cur = q.shards.len().max(1);
        let (min, max) = (q.queue.min_shards.max(1), q.queue.max_shards.max(1));
        let secs = self.at.elapsed().as_secs_f64().max(1e-3);
        let sent = q.stats.samples.load(Ordering::Relaxed) - self.sent;
        let nanos = q.stats.nanos.load(Ordering::Relaxed) - self.nanos;
        if q.stats.failures.load(Ordering::Relaxed) != self.failures || sent == 0 {
            return cur.clamp(min, max.max(min));
        }
        let in_rate = (q.dispatched_samples - self.dispatched) as f64 / secs;
        let time_per_sample = nanos as f64 / 1e9 / sent as f64;
        let backlog = q.metrics.samples_pending.load(Ordering::Relaxed).max(0) as f64;
        let want = time_per_sample * (in_rate + 0.1 * backlog);
        let want = want.ceil() as usize;
        let (lo, hi) = (cur as f64 * 0.7, cur as f64 * 1.3);
        let d = if (want as f64) > lo && (want as f64) < hi {
            cur
        } else {
            want
        };
        d.clamp(min, max.max(min))
    }
}
