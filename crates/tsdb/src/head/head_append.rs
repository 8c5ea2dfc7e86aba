//! The head appender: buffer, check, log to the WAL, then apply.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use promlite_model::Labels;
use promlite_storage::{Appender, Error, Result, SeriesRef};

use super::series::{AppendOutcome, MemSeries};
use super::{Head, HeadInner};
use crate::wal::RefSample;

struct PendingSample {
    series: Arc<MemSeries>,
    /// Start timestamp, 0 when unknown.
    st: i64,
    t: i64,
    v: f64,
}

/// An appender on the [`Head`]. Samples are checked when appended and
/// applied on commit, after the WAL has them.
pub struct HeadAppender {
    head: Head,
    samples: Vec<PendingSample>,
    /// Series this appender created; their records go to the WAL on commit
    /// and also on rollback (the series exist in memory either way).
    created: Vec<(u64, Labels)>,
}

impl HeadAppender {
    pub(crate) fn new(head: Head) -> Self {
        HeadAppender {
            head,
            samples: Vec::new(),
            created: Vec::new(),
        }
    }

    fn series_for(
        inner: &HeadInner,
        created: &mut Vec<(u64, Labels)>,
        r: Option<SeriesRef>,
        l: &Labels,
    ) -> Result<Arc<MemSeries>> {
        if let Some(r) = r {
            if let Some(s) = inner.series.get_by_ref(r.0) {
                return Ok(s);
            }
        }
        if l.is_empty() {
            return Err(Error::EmptyLabels);
        }
        let (s, is_new) = inner.get_or_create(l);
        if is_new {
            created.push((s.series_ref, s.labels.clone()));
        }
        Ok(s)
    }

    fn release_pending(&mut self) {
        for p in self.samples.drain(..) {
            let mut d = p.series.data.lock();
            d.pending = d.pending.saturating_sub(1);
        }
    }

    /// Writes series and sample records to the WAL, if there is one.
    fn log(&mut self, with_samples: bool) -> Result<()> {
        let Some(wal) = self.head.inner.wal.as_ref() else {
            return Ok(());
        };
        let mut series = std::mem::take(&mut *self.head.inner.unlogged_series.lock());
        series.append(&mut self.created);
        let res = if with_samples {
            let samples: Vec<RefSample> = self
                .samples
                .iter()
                .map(|p| RefSample {
                    series_ref: p.series.series_ref,
                    st: p.st,
                    t: p.t,
                    v: p.v,
                })
                .collect();
            super::head_wal::log_records(wal, &series, &samples)
        } else {
            super::head_wal::log_records(wal, &series, &[])
        };
        if res.is_err() {
            // Retried by the next commit, before any sample that needs them.
            self.head.inner.unlogged_series.lock().extend(series);
            self.head
                .inner
                .metrics
                .wal_write_failures
                .fetch_add(1, Ordering::Relaxed);
        }
        res
    }
}

impl Appender for HeadAppender {
    fn append(&mut self, r: Option<SeriesRef>, l: &Labels, t: i64, v: f64) -> Result<SeriesRef> {
        self.append_st(r, l, 0, t, v)
    }

    /// Keeps `st` with the sample: in the WAL and in the head's chunks (see
    /// `SeriesData::append`). Order and duplicates are checked on `t` and
    /// `v` alone, so a sample repeating the last one with another `st` is
    /// accepted as a duplicate and not stored again.
    fn append_st(
        &mut self,
        r: Option<SeriesRef>,
        l: &Labels,
        st: i64,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef> {
        let inner = &*self.head.inner;
        if t < inner.min_valid_time() {
            inner
                .metrics
                .out_of_bound_samples
                .fetch_add(1, Ordering::Relaxed);
            return Err(Error::OutOfBounds);
        }
        let mut r = r;
        // A series garbage-collected between lookup and lock is looked up
        // again by its labels (and recreated); twice is plenty.
        for _ in 0..3 {
            let s = Self::series_for(inner, &mut self.created, r, l)?;
            let sref = SeriesRef(s.series_ref);
            let mut d = s.data.lock();
            if d.removed {
                drop(d);
                r = None;
                continue;
            }
            match d.appendable(t, v) {
                AppendOutcome::Appended => {}
                AppendOutcome::Duplicate => return Ok(sref),
                AppendOutcome::OutOfOrder => {
                    inner
                        .metrics
                        .out_of_order_samples
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(Error::OutOfOrderSample);
                }
                AppendOutcome::DuplicateTimestamp => {
                    inner
                        .metrics
                        .duplicate_samples
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(Error::DuplicateSampleForTimestamp);
                }
            }
            d.pending += 1;
            drop(d);
            self.samples.push(PendingSample {
                series: s,
                st,
                t,
                v,
            });
            return Ok(sref);
        }
        Err(Error::UnknownSeriesRef(r.map_or(0, |r| r.0)))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        if let Err(e) = self.log(true) {
            self.release_pending();
            return Err(e);
        }
        let inner = self.head.inner.clone();
        let range = inner.opts.block_range;
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let (mut appended, mut ooo, mut dup) = (0u64, 0u64, 0u64);
        for p in self.samples.drain(..) {
            let outcome = {
                let mut d = p.series.data.lock();
                d.pending = d.pending.saturating_sub(1);
                d.append(p.st, p.t, p.v, range)
            };
            match outcome {
                AppendOutcome::Appended => {
                    appended += 1;
                    mint = mint.min(p.t);
                    maxt = maxt.max(p.t);
                }
                AppendOutcome::Duplicate => {}
                // Another appender committed a newer sample in between.
                AppendOutcome::OutOfOrder => ooo += 1,
                AppendOutcome::DuplicateTimestamp => dup += 1,
            }
        }
        if appended > 0 {
            inner.update_time_range(mint, maxt);
        }
        let m = &inner.metrics;
        m.samples_appended.fetch_add(appended, Ordering::Relaxed);
        m.out_of_order_samples.fetch_add(ooo, Ordering::Relaxed);
        m.duplicate_samples.fetch_add(dup, Ordering::Relaxed);
        self.release_pending();
        Ok(())
    }

    fn rollback(mut self: Box<Self>) -> Result<()> {
        self.release_pending();
        if self.created.is_empty() {
            return Ok(());
        }
        self.log(false)
    }
}

impl Drop for HeadAppender {
    fn drop(&mut self) {
        // An appender dropped without commit or rollback behaves as rolled
        // back; the series it created still need their WAL records.
        self.release_pending();
        if !self.created.is_empty() && self.head.inner.wal.is_some() {
            self.head
                .inner
                .unlogged_series
                .lock()
                .append(&mut self.created);
        }
    }
}
