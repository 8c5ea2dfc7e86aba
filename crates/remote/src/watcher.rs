//! Following the WAL (Prometheus' `tsdb/wlog/watcher.go`).
//!
//! The watcher runs on a blocking thread. It rebuilds `series_ref →
//! labels` from the last checkpoint and the segments, then streams the
//! sample records from its start key onwards, following new segments as
//! the head cuts them, and hands samples to the queue through a bounded
//! channel: when the queue is full the watcher waits and the WAL on disk
//! is the buffer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite_model::{process_builder, Labels, RelabelConfig};
use promlite_prompb::write::Label;
use promlite_tsdb::wal::{self, record, LiveReader, RecordType, RefSample, RefSeries, WalReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::error::{Error, Result};
use crate::metrics::RemoteMetrics;
use crate::position::{Key, Watermarks, CHECKPOINT_OFFSET};

/// Samples handed to the queue per message, at most.
const BATCH: usize = 2_000;

/// Wait before reading again after a WAL read error.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The labels of a series as sent, `None` when relabeling dropped it.
pub(crate) type SeriesLabels = Option<Arc<[Label]>>;

/// One sample read from the WAL.
#[derive(Debug, Clone)]
pub(crate) struct QueuedSample {
    pub(crate) series_ref: u64,
    pub(crate) labels: Arc<[Label]>,
    /// Start timestamp in milliseconds, 0 when unknown (sent in 2.0 only).
    pub(crate) st: i64,
    pub(crate) t: i64,
    pub(crate) v: f64,
    pub(crate) key: Key,
}

/// Samples in WAL order; every sample below `next` has been read.
#[derive(Debug)]
pub(crate) struct WalBatch {
    pub(crate) samples: Vec<QueuedSample>,
    pub(crate) next: Key,
}

/// What the watcher needs.
pub(crate) struct Watcher {
    pub(crate) dir: PathBuf,
    pub(crate) start: Key,
    pub(crate) saved: Option<Watermarks>,
    pub(crate) external_labels: Labels,
    pub(crate) relabel: Vec<RelabelConfig>,
    pub(crate) sample_age_limit: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) metrics: Arc<RemoteMetrics>,
    pub(crate) cancel: CancellationToken,
    /// Series labels and the segment (or checkpoint) their record was
    /// last read from.
    series: HashMap<u64, (SeriesLabels, u64)>,
    /// The checkpoint the series cache was last trimmed with.
    gc_checkpoint: Option<u64>,
    /// The newest timestamp handed out per series in this process: a
    /// sample at or before it is a duplicate (a checkpoint read again after
    /// its segments were deleted) or was rejected as out of order by the
    /// head, and is not sent.
    last_sent: HashMap<u64, i64>,
    out: Vec<QueuedSample>,
    next: Key,
    sent_next: Key,
    scratch_series: Vec<RefSeries>,
    scratch_samples: Vec<RefSample>,
}

enum Scan {
    Stopped,
    Gap(Key),
}

impl Watcher {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        dir: PathBuf,
        start: Key,
        saved: Option<Watermarks>,
        external_labels: Labels,
        relabel: Vec<RelabelConfig>,
        sample_age_limit: Duration,
        poll_interval: Duration,
        metrics: Arc<RemoteMetrics>,
        cancel: CancellationToken,
    ) -> Watcher {
        Watcher {
            dir,
            start,
            saved,
            external_labels,
            relabel,
            sample_age_limit,
            poll_interval,
            metrics,
            cancel,
            series: HashMap::new(),
            gc_checkpoint: None,
            last_sent: HashMap::new(),
            out: Vec::new(),
            next: start,
            sent_next: start,
            scratch_series: Vec::new(),
            scratch_samples: Vec::new(),
        }
    }

    /// Runs until cancelled or until the queue goes away.
    ///
    /// A read error is logged and reading starts again after
    /// [`RETRY_AFTER`] from the last position handed to the queue; a
    /// corrupt record makes the watcher skip the rest of its segment once
    /// a later segment exists (its samples count as dropped only as far
    /// as they are known, i.e. not at all).
    pub(crate) fn run(mut self, tx: &mpsc::Sender<WalBatch>) {
        let mut from = self.start;
        loop {
            match self.scan(from, tx) {
                Ok(Scan::Stopped) => return,
                Ok(Scan::Gap(k)) => {
                    if self.cancel.is_cancelled() {
                        return;
                    }
                    from = k;
                }
                Err(e) => {
                    error!(remote_name = %self.metrics.remote_name, error = %e, "reading the WAL failed; retrying");
                    let corrupt_seg = match &e {
                        Error::Wal {
                            source:
                                promlite_tsdb::Error::Corruption {
                                    segment: Some(seg), ..
                                },
                            ..
                        } => Some(*seg),
                        _ => None,
                    };
                    let later = corrupt_seg.is_some_and(|seg| {
                        wal::list_segments(&self.dir).is_ok_and(|s| s.iter().any(|&x| x > seg))
                    });
                    match corrupt_seg {
                        // What was read before the corrupt record is
                        // good: send it, then skip the rest of the
                        // segment.
                        Some(seg) if later => {
                            if !self.flush(tx, true) {
                                return;
                            }
                            warn!(segment = seg, "skipping the rest of a corrupt WAL segment");
                            from = Key {
                                segment: seg + 1,
                                offset: 0,
                                index: 0,
                            };
                        }
                        _ => {
                            self.out.clear();
                            self.next = self.sent_next;
                            from = self.sent_next;
                        }
                    }
                    let deadline = std::time::Instant::now() + RETRY_AFTER;
                    while std::time::Instant::now() < deadline {
                        if self.cancel.is_cancelled() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
    }

    fn wal_err(&self, source: promlite_tsdb::Error) -> Error {
        Error::Wal {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Reads the checkpoint and the segments, sending samples from `from`.
    fn scan(&mut self, from: Key, tx: &mpsc::Sender<WalBatch>) -> Result<Scan> {
        let cp = wal::last_checkpoint(&self.dir).map_err(|e| self.wal_err(e))?;
        let segs = wal::list_segments(&self.dir).map_err(|e| self.wal_err(e))?;
        let have_from = segs.contains(&from.segment)
            || (from.offset == CHECKPOINT_OFFSET
                && cp.as_ref().is_some_and(|c| c.0 == from.segment));
        let first_after = |n: u64| segs.iter().copied().find(|&s| s > n);
        // Where the segment scan starts and whether checkpoint samples are
        // still unsent.
        let (cp_samples, seg_start) = match &cp {
            Some((n, _)) if from.segment <= *n && !segs.contains(&from.segment) => {
                if from != Key::default()
                    && (from.offset != CHECKPOINT_OFFSET || from.segment != *n)
                {
                    warn!(
                        dir = %self.dir.display(), from_segment = from.segment, checkpoint = n,
                        "WAL segments with unsent samples were deleted by a checkpoint; sending the checkpoint's samples instead (samples of series no longer in the head are lost)"
                    );
                }
                (true, first_after(*n))
            }
            _ if have_from => (false, Some(from.segment)),
            _ => {
                let next = first_after(from.segment);
                if next.is_some() && from != Key::default() {
                    warn!(
                        dir = %self.dir.display(), from_segment = from.segment, next_segment = ?next,
                        "WAL segments with unsent samples are missing and no checkpoint covers them; their samples are lost"
                    );
                }
                (false, next)
            }
        };
        if let Some((n, path)) = &cp {
            // On a rescan the cache may still hold series the checkpoint
            // dropped; leave them for `trim_series`.
            let fresh = self.series.is_empty();
            self.read_checkpoint(*n, path, cp_samples.then_some(from), tx)?;
            if fresh {
                self.gc_checkpoint = Some(*n);
            }
        }
        // Series of segments before the start.
        for &s in segs.iter().filter(|&&s| seg_start.is_some_and(|st| s < st)) {
            if cp.as_ref().is_some_and(|(n, _)| s <= *n) {
                continue;
            }
            let mut r = WalReader::range(&self.dir, s, s);
            loop {
                let rec = match r.next_record() {
                    Ok(Some(rec)) => rec,
                    Ok(None) => break,
                    // A corrupt or deleted segment: its later series are
                    // unknown and their samples count as dropped.
                    Err(e) => {
                        warn!(segment = s, error = %e, "cannot read all series of a WAL segment");
                        break;
                    }
                };
                if RecordType::of(rec) == Some(RecordType::Series) {
                    record::decode_series(rec, &mut self.scratch_series)
                        .map_err(|e| self.wal_err(e))?;
                    self.store_series(s);
                }
            }
        }
        let Some(mut seg) = seg_start else {
            // No segment at all yet: wait for one.
            loop {
                if self.idle_wait(tx)? {
                    return Ok(Scan::Stopped);
                }
                let segs = wal::list_segments(&self.dir).map_err(|e| self.wal_err(e))?;
                if let Some(&s) = segs.iter().find(|&&s| s >= from.segment) {
                    return Ok(Scan::Gap(
                        Key {
                            segment: s,
                            offset: 0,
                            index: 0,
                        }
                        .max(from),
                    ));
                }
            }
        };
        let from = from.max(Key {
            segment: seg,
            offset: 0,
            index: 0,
        });
        self.next = self.next.max(from);
        let mut reader = match LiveReader::open(&self.dir, seg, 0) {
            Ok(r) => r,
            Err(_) => return Ok(Scan::Gap(from)),
        };
        loop {
            if self.cancel.is_cancelled() {
                self.flush(tx, true);
                return Ok(Scan::Stopped);
            }
            let off = reader.offset();
            let got = reader.next_record().map_err(|e| self.wal_err(e))?;
            if let Some(rec) = got {
                let rec = rec.to_vec();
                self.record(&rec, seg, off, reader.offset(), from)?;
                if self.out.len() >= BATCH && !self.flush(tx, false) {
                    return Ok(Scan::Stopped);
                }
                continue;
            }
            // No complete record: caught up with the writer, or the
            // segment is complete.
            let next_exists = wal::segment_path(&self.dir, seg + 1).exists();
            if next_exists {
                let off = reader.offset();
                if let Some(rec) = reader.next_record().map_err(|e| self.wal_err(e))? {
                    let rec = rec.to_vec();
                    self.record(&rec, seg, off, reader.offset(), from)?;
                    continue;
                }
                if let Err(e) = reader.finish() {
                    warn!(error = %e, segment = seg, "torn record at the end of a WAL segment; continuing with the next segment");
                }
                seg += 1;
                self.trim_series(seg)?;
                self.next = self.next.max(Key {
                    segment: seg,
                    offset: 0,
                    index: 0,
                });
                reader = match LiveReader::open(&self.dir, seg, 0) {
                    Ok(r) => r,
                    Err(_) => return Ok(Scan::Gap(self.next)),
                };
                continue;
            }
            let segs = wal::list_segments(&self.dir).map_err(|e| self.wal_err(e))?;
            if segs.iter().any(|&s| s > seg + 1) {
                // The next segment was deleted while we were behind.
                return Ok(Scan::Gap(Key {
                    segment: seg + 1,
                    offset: 0,
                    index: 0,
                }));
            }
            // Caught up: a checkpoint written after we moved into this
            // segment would otherwise only trim the cache at the next
            // segment change, which a quiet WAL may never reach.
            self.trim_series(seg)?;
            if self.idle_wait(tx)? {
                return Ok(Scan::Stopped);
            }
        }
    }

    /// Flushes, then sleeps one poll interval. True when stopping.
    fn idle_wait(&mut self, tx: &mpsc::Sender<WalBatch>) -> Result<bool> {
        if !self.flush(tx, true) {
            return Ok(true);
        }
        let deadline = std::time::Instant::now() + self.poll_interval;
        while std::time::Instant::now() < deadline {
            if self.cancel.is_cancelled() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(10).min(self.poll_interval));
        }
        Ok(self.cancel.is_cancelled())
    }

    /// Reads checkpoint `n`: its series always, its samples from `from`
    /// when `Some`.
    fn read_checkpoint(
        &mut self,
        n: u64,
        path: &Path,
        from: Option<Key>,
        tx: &mpsc::Sender<WalBatch>,
    ) -> Result<()> {
        let mut r = WalReader::open(path).map_err(|e| self.wal_err(e))?;
        let mut index: u32 = 0;
        while let Some(rec) = r.next_record().map_err(|e| self.wal_err(e))? {
            let rec = rec.to_vec();
            match (RecordType::of(&rec), from) {
                (Some(RecordType::Series), _) => {
                    record::decode_series(&rec, &mut self.scratch_series)
                        .map_err(|e| self.wal_err(e))?;
                    self.store_series(n);
                }
                (Some(RecordType::Samples | RecordType::SamplesSt), Some(from)) => {
                    record::decode_samples(&rec, &mut self.scratch_samples)
                        .map_err(|e| self.wal_err(e))?;
                    let samples = std::mem::take(&mut self.scratch_samples);
                    for s in &samples {
                        let key = Key {
                            segment: n,
                            offset: CHECKPOINT_OFFSET,
                            index,
                        };
                        index = index.saturating_add(1);
                        self.sample(s, key, from);
                    }
                    self.scratch_samples = samples;
                    self.scratch_samples.clear();
                    if self.out.len() >= BATCH && !self.flush(tx, false) {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        if from.is_some() {
            info!(
                checkpoint = n,
                samples = index,
                "sent the samples of a WAL checkpoint"
            );
            self.next = self.next.max(Key {
                segment: n,
                offset: CHECKPOINT_OFFSET,
                index,
            });
        }
        Ok(())
    }

    /// Handles one segment record spanning `[off, end)` of `seg`.
    fn record(&mut self, rec: &[u8], seg: u64, off: u64, end: u64, from: Key) -> Result<()> {
        match RecordType::of(rec) {
            Some(RecordType::Series) => {
                record::decode_series(rec, &mut self.scratch_series)
                    .map_err(|e| self.wal_err(e))?;
                self.store_series(seg);
            }
            Some(RecordType::Samples | RecordType::SamplesSt) => {
                let rec_key = Key {
                    segment: seg,
                    offset: off,
                    index: u32::MAX,
                };
                if rec_key >= from {
                    record::decode_samples(rec, &mut self.scratch_samples)
                        .map_err(|e| self.wal_err(e))?;
                    let samples = std::mem::take(&mut self.scratch_samples);
                    for (i, s) in samples.iter().enumerate() {
                        let key = Key {
                            segment: seg,
                            offset: off,
                            index: u32::try_from(i).unwrap_or(u32::MAX),
                        };
                        self.sample(s, key, from);
                    }
                    self.scratch_samples = samples;
                    self.scratch_samples.clear();
                }
            }
            _ => {}
        }
        self.next = self.next.max(Key {
            segment: seg,
            offset: end,
            index: 0,
        });
        Ok(())
    }

    fn sample(&mut self, s: &RefSample, key: Key, from: Key) {
        if key < from
            || self
                .saved
                .as_ref()
                .is_some_and(|w| w.delivered(s.series_ref, key))
        {
            return;
        }
        if self.last_sent.get(&s.series_ref).is_some_and(|&t| s.t <= t) {
            return;
        }
        RemoteMetrics::raise(&self.metrics.highest_timestamp_ms, s.t);
        let labels = match self.series.get(&s.series_ref) {
            Some((Some(l), _)) => l.clone(),
            // Dropped by relabeling, or a series whose record is gone.
            _ => {
                RemoteMetrics::add(&self.metrics.samples_dropped_total, 1);
                return;
            }
        };
        if !self.sample_age_limit.is_zero() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            if s.t < now - self.sample_age_limit.as_millis() as i64 {
                RemoteMetrics::add(&self.metrics.samples_dropped_total, 1);
                return;
            }
        }
        self.last_sent.insert(s.series_ref, s.t);
        self.out.push(QueuedSample {
            series_ref: s.series_ref,
            labels,
            st: s.st,
            t: s.t,
            v: s.v,
            key,
        });
    }

    fn store_series(&mut self, segment: u64) {
        let series = std::mem::take(&mut self.scratch_series);
        for s in &series {
            match self.series.get_mut(&s.series_ref) {
                // Same reference, same labels: only note where it was seen.
                Some((_, seen)) => *seen = (*seen).max(segment),
                None => {
                    let l = process_labels(&s.labels, &self.external_labels, &self.relabel);
                    self.series.insert(s.series_ref, (l, segment));
                }
            }
        }
        self.metrics.series_cached.store(
            self.series.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.scratch_series = series;
        self.scratch_series.clear();
    }

    /// Called on each segment change and when idle at the tail. Once every
    /// segment up to a newer checkpoint `n` has been read (`seg > n`), drops the series the head dropped: those not in the
    /// checkpoint and not seen since (Prometheus' `SeriesReset`).
    fn trim_series(&mut self, seg: u64) -> Result<()> {
        let cp = wal::last_checkpoint(&self.dir).map_err(|e| self.wal_err(e))?;
        let Some((n, path)) = cp else {
            return Ok(());
        };
        if n >= seg || self.gc_checkpoint.is_some_and(|g| g >= n) {
            return Ok(());
        }
        let mut r = WalReader::open(&path).map_err(|e| self.wal_err(e))?;
        let mut live = std::collections::HashSet::new();
        while let Some(rec) = r.next_record().map_err(|e| self.wal_err(e))? {
            if RecordType::of(rec) == Some(RecordType::Series) {
                record::decode_series(rec, &mut self.scratch_series)
                    .map_err(|e| self.wal_err(e))?;
                live.extend(self.scratch_series.iter().map(|s| s.series_ref));
                self.store_series(n);
            }
        }
        let before = self.series.len();
        // The checkpoint holds every series the head kept from segments up
        // to `n`; a series seen only there and not in it was dropped.
        self.series
            .retain(|r, (_, seen)| *seen > n || live.contains(r));
        let series = &self.series;
        self.last_sent.retain(|r, _| series.contains_key(r));
        self.gc_checkpoint = Some(n);
        self.metrics.series_cached.store(
            self.series.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        info!(
            checkpoint = n,
            removed = before - self.series.len(),
            series = self.series.len(),
            "trimmed the remote-write series cache after a WAL checkpoint"
        );
        Ok(())
    }

    /// Sends what was read. With `force`, sends the new `next` even
    /// without samples. False when the queue is gone.
    fn flush(&mut self, tx: &mpsc::Sender<WalBatch>, force: bool) -> bool {
        if self.out.is_empty() && (!force || self.next == self.sent_next) {
            return true;
        }
        let samples = std::mem::take(&mut self.out);
        self.metrics
            .samples_pending
            .fetch_add(samples.len() as i64, std::sync::atomic::Ordering::Relaxed);
        let n = samples.len() as i64;
        let batch = WalBatch {
            samples,
            next: self.next,
        };
        if tx.blocking_send(batch).is_err() {
            self.metrics
                .samples_pending
                .fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
            return false;
        }
        self.sent_next = self.next;
        true
    }
}

/// External labels (where the series lacks them) and then relabeling, as
/// Prometheus' queue manager applies them.
pub(crate) fn process_labels(
    labels: &Labels,
    external: &Labels,
    relabel: &[RelabelConfig],
) -> SeriesLabels {
    let mut lb = labels.builder();
    for l in external.iter() {
        if !labels.has(l.name) {
            lb.set(l.name, l.value);
        }
    }
    if !process_builder(&mut lb, relabel) {
        return None;
    }
    let out = lb.labels();
    if out.is_empty() {
        return None;
    }
    Some(
        out.iter()
            .map(|l| Label {
                name: l.name.to_string(),
                value: l.value.to_string(),
            })
            .collect(),
    )
}
