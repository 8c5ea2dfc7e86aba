//! In-memory series and the striped maps that find them by reference or labels.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use promlite_model::Labels;
use promlite_storage::{SampleIterator, ValueType};

use crate::chunkenc::{Encoding, XorChunk, SAMPLES_PER_CHUNK};

/// A closed, immutable chunk of a head series.
#[derive(Debug, Clone)]
pub(crate) struct ClosedChunk {
    pub(crate) min_t: i64,
    pub(crate) max_t: i64,
    /// [`Encoding::Xor`], or [`Encoding::XorSt`] for a chunk with start
    /// timestamps.
    pub(crate) enc: Encoding,
    pub(crate) data: Arc<[u8]>,
}

/// The chunk still being appended to.
#[derive(Debug, Clone)]
pub(crate) struct OpenChunk {
    pub(crate) min_t: i64,
    pub(crate) chunk: XorChunk,
    /// The chunk is cut before a sample at or after this time, so chunks
    /// never cross a block boundary.
    pub(crate) cut_at: i64,
}

/// What happened to a sample handed to [`SeriesData::append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendOutcome {
    /// Stored.
    Appended,
    /// Same timestamp and same value as the last sample: accepted, not stored twice.
    Duplicate,
    /// Older than the last sample.
    OutOfOrder,
    /// Same timestamp, different value.
    DuplicateTimestamp,
}

/// The mutable part of a series.
#[derive(Debug, Default)]
pub(crate) struct SeriesData {
    pub(crate) closed: Vec<ClosedChunk>,
    pub(crate) open: Option<OpenChunk>,
    /// Samples appended but not yet committed or rolled back; a series with
    /// pending samples is never garbage-collected.
    pub(crate) pending: u32,
    /// Set when garbage collection removed the series from the head.
    pub(crate) removed: bool,
}

fn block_boundary_after(t: i64, range: i64) -> i64 {
    (t.div_euclid(range) + 1).saturating_mul(range)
}

impl SeriesData {
    /// The newest sample's timestamp and raw value bits.
    pub(crate) fn last(&self) -> Option<(i64, u64)> {
        self.open
            .as_ref()
            .filter(|o| o.chunk.num_samples() > 0)
            .map(|o| (o.chunk.last_t(), o.chunk.last_v_bits()))
    }

    /// Checks whether `(t, v)` could be appended, without appending.
    pub(crate) fn appendable(&self, t: i64, v: f64) -> AppendOutcome {
        match self.last() {
            Some((lt, _)) if t < lt => AppendOutcome::OutOfOrder,
            Some((lt, lv)) if t == lt => {
                if lv == v.to_bits() {
                    AppendOutcome::Duplicate
                } else {
                    AppendOutcome::DuplicateTimestamp
                }
            }
            _ => AppendOutcome::Appended,
        }
    }

    /// Appends a sample with its start timestamp `st` (0 = none), cutting
    /// a new chunk at 120 samples or at a block boundary (`block_range`
    /// milliseconds). A series' chunks are plain XOR until a sample with a
    /// start timestamp arrives: that sample starts a new chunk that stores
    /// start timestamps ([`Encoding::XorSt`]), and so does every chunk cut
    /// for a sample with one. Such a chunk also takes samples without.
    pub(crate) fn append(&mut self, st: i64, t: i64, v: f64, block_range: i64) -> AppendOutcome {
        let outcome = self.appendable(t, v);
        if outcome != AppendOutcome::Appended {
            return outcome;
        }
        let must_cut = match &self.open {
            None => true,
            Some(o) => {
                o.chunk.num_samples() >= SAMPLES_PER_CHUNK
                    || t >= o.cut_at
                    || (st != 0 && !o.chunk.has_st())
            }
        };
        if must_cut {
            self.cut(t, st != 0, block_range);
        }
        if let Some(o) = self.open.as_mut() {
            o.chunk.append_st(st, t, v);
        }
        outcome
    }

    fn cut(&mut self, t: i64, with_st: bool, block_range: i64) {
        if let Some(mut o) = self.open.take() {
            if o.chunk.num_samples() > 0 {
                o.chunk.shrink();
                self.closed.push(ClosedChunk {
                    min_t: o.min_t,
                    max_t: o.chunk.last_t(),
                    enc: o.chunk.encoding(),
                    data: Arc::from(o.chunk.bytes()),
                });
            }
        }
        // A chunk of 120 samples at a 15s interval is ~160 bytes.
        let chunk = if with_st {
            XorChunk::with_capacity_st(64)
        } else {
            XorChunk::with_capacity(64)
        };
        self.open = Some(OpenChunk {
            min_t: t,
            chunk,
            cut_at: block_boundary_after(t, block_range),
        });
    }

    /// Oldest sample time, if any.
    pub(crate) fn min_time(&self) -> Option<i64> {
        self.closed.first().map(|c| c.min_t).or_else(|| {
            self.open
                .as_ref()
                .filter(|o| o.chunk.num_samples() > 0)
                .map(|o| o.min_t)
        })
    }

    /// Drops chunks entirely before `mint`. Returns how many were dropped.
    pub(crate) fn truncate_before(&mut self, mint: i64) -> usize {
        let keep_from = self.closed.partition_point(|c| c.max_t < mint);
        self.closed.drain(..keep_from);
        let mut dropped = keep_from;
        if let Some(o) = &self.open {
            if o.chunk.num_samples() > 0 && o.chunk.last_t() < mint && self.closed.is_empty() {
                // Keep the open chunk's encoder state only while it has data in range.
                self.open = None;
                dropped += 1;
            }
        }
        dropped
    }

    /// Removes the samples in `[mint, maxt]`, re-encoding the chunks that
    /// held them. Returns how many samples were removed.
    pub(crate) fn delete_range(&mut self, mint: i64, maxt: i64, block_range: i64) -> usize {
        let overlaps = |lo: i64, hi: i64| lo <= maxt && hi >= mint;
        let any = self.closed.iter().any(|c| overlaps(c.min_t, c.max_t))
            || self
                .open
                .as_ref()
                .is_some_and(|o| o.chunk.num_samples() > 0 && overlaps(o.min_t, o.chunk.last_t()));
        if !any {
            return 0;
        }
        // (st, t, v) of every sample, start timestamps included.
        let mut samples: Vec<(i64, i64, f64)> = Vec::new();
        let mut collect = |mut it: crate::chunkenc::ChunkIterator<'_>| {
            while it.next() == ValueType::Float {
                let (t, v) = it.at();
                samples.push((it.at_st(), t, v));
            }
        };
        for c in &self.closed {
            collect(crate::chunkenc::iterator(c.enc, &c.data));
        }
        if let Some(o) = &self.open {
            collect(o.chunk.iter());
        }
        let before = samples.len();
        samples.retain(|(_, t, _)| *t < mint || *t > maxt);
        let removed = before - samples.len();
        self.closed.clear();
        self.open = None;
        for (st, t, v) in samples {
            self.append(st, t, v, block_range);
        }
        removed
    }

    /// Bytes of chunk data and bookkeeping held on the heap.
    pub(crate) fn heap_size(&self) -> usize {
        self.closed.capacity() * std::mem::size_of::<ClosedChunk>()
            + self.closed.iter().map(|c| c.data.len() + 16).sum::<usize>()
            + self.open.as_ref().map(|o| o.chunk.heap_size()).unwrap_or(0)
    }
}

/// One series in the head.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub(crate) series_ref: u64,
    pub(crate) labels: Labels,
    pub(crate) data: Mutex<SeriesData>,
}

impl MemSeries {
    pub(crate) fn new(series_ref: u64, labels: Labels) -> Self {
        MemSeries {
            series_ref,
            labels,
            data: Mutex::new(SeriesData::default()),
        }
    }
}

/// Number of lock stripes. A power of two.
const STRIPES: usize = 256;

/// Series by reference and by label hash, each striped so that appenders and
/// queriers rarely contend.
pub(crate) struct StripeSeries {
    by_ref: Box<[RefStripe]>,
    by_hash: Box<[HashStripe]>,
}

type RefStripe = RwLock<HashMap<u64, Arc<MemSeries>, BuildU64Hasher>>;
type HashStripe = RwLock<HashMap<u64, Vec<Arc<MemSeries>>, BuildU64Hasher>>;

/// A hasher for `u64` keys: one multiplication (Fibonacci hashing). Series
/// references are sequential and label hashes already random, so SipHash's
/// DoS resistance buys nothing here and costs most of a lookup.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct U64Hasher(u64);

impl std::hash::Hasher for U64Hasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Builds [`U64Hasher`]s.
pub(crate) type BuildU64Hasher = std::hash::BuildHasherDefault<U64Hasher>;

impl StripeSeries {
    pub(crate) fn new() -> Self {
        StripeSeries {
            by_ref: (0..STRIPES)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
            by_hash: (0..STRIPES)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
        }
    }

    #[inline]
    pub(crate) fn get_by_ref(&self, r: u64) -> Option<Arc<MemSeries>> {
        self.by_ref[(r as usize) & (STRIPES - 1)]
            .read()
            .get(&r)
            .cloned()
    }

    pub(crate) fn get_by_labels(&self, hash: u64, l: &Labels) -> Option<Arc<MemSeries>> {
        self.by_hash[(hash as usize) & (STRIPES - 1)]
            .read()
            .get(&hash)
            .and_then(|v| v.iter().find(|s| &s.labels == l).cloned())
    }

    /// Returns the series for `l`, creating it with `make_ref()` when absent.
    /// The flag is true when the series was created by this call.
    pub(crate) fn get_or_create(
        &self,
        hash: u64,
        l: &Labels,
        make_ref: impl FnOnce() -> u64,
    ) -> (Arc<MemSeries>, bool) {
        if let Some(s) = self.get_by_labels(hash, l) {
            return (s, false);
        }
        let mut stripe = self.by_hash[(hash as usize) & (STRIPES - 1)].write();
        let entry = stripe.entry(hash).or_default();
        if let Some(s) = entry.iter().find(|s| &s.labels == l) {
            return (s.clone(), false);
        }
        let s = Arc::new(MemSeries::new(make_ref(), l.clone()));
        entry.push(s.clone());
        drop(stripe);
        self.by_ref[(s.series_ref as usize) & (STRIPES - 1)]
            .write()
            .insert(s.series_ref, s.clone());
        (s, true)
    }

    /// Inserts a series with a known reference (WAL replay). Returns the
    /// existing series if the labels are already present.
    pub(crate) fn insert_with_ref(&self, r: u64, l: Labels) -> (Arc<MemSeries>, bool) {
        let hash = l.hash64();
        self.get_or_create(hash, &l, || r)
    }

    /// Removes the series for which `remove` returns true; returns them.
    pub(crate) fn remove_where(
        &self,
        mut remove: impl FnMut(&MemSeries) -> bool,
    ) -> Vec<Arc<MemSeries>> {
        let mut removed = Vec::new();
        for stripe in self.by_ref.iter() {
            let mut m = stripe.write();
            m.retain(|_, s| {
                if remove(s) {
                    removed.push(s.clone());
                    false
                } else {
                    true
                }
            });
        }
        for s in &removed {
            let hash = s.labels.hash64();
            let mut stripe = self.by_hash[(hash as usize) & (STRIPES - 1)].write();
            if let Some(v) = stripe.get_mut(&hash) {
                v.retain(|x| x.series_ref != s.series_ref);
                if v.is_empty() {
                    stripe.remove(&hash);
                }
            }
        }
        removed
    }

    /// Calls `f` for every series (stripe by stripe, under read locks).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<MemSeries>)) {
        for stripe in self.by_ref.iter() {
            for s in stripe.read().values() {
                f(s);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_ref.iter().map(|s| s.read().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_cut_at_120_samples_and_block_boundaries() {
        let mut d = SeriesData::default();
        let range = 7_200_000;
        for i in 0..250 {
            assert_eq!(
                d.append(0, i * 1000, i as f64, range),
                AppendOutcome::Appended
            );
        }
        assert_eq!(d.closed.len(), 2);
        assert_eq!(d.closed[0].max_t, 119_000);
        // Crossing the 2h boundary cuts even a short chunk.
        let mut d = SeriesData::default();
        d.append(0, range - 2000, 1.0, range);
        d.append(0, range - 1000, 1.0, range);
        d.append(0, range, 1.0, range);
        assert_eq!(d.closed.len(), 1);
        assert_eq!(d.closed[0].max_t, range - 1000);
        assert_eq!(d.open.as_ref().unwrap().min_t, range);
    }

    #[test]
    fn order_and_duplicates_are_checked() {
        let mut d = SeriesData::default();
        let r = 7_200_000;
        assert_eq!(d.append(0, 10, 1.0, r), AppendOutcome::Appended);
        assert_eq!(d.append(0, 5, 1.0, r), AppendOutcome::OutOfOrder);
        assert_eq!(d.append(0, 10, 2.0, r), AppendOutcome::DuplicateTimestamp);
        assert_eq!(d.append(0, 10, 1.0, r), AppendOutcome::Duplicate);
        assert_eq!(d.open.as_ref().unwrap().chunk.num_samples(), 1);
    }

    #[test]
    fn truncation_drops_old_chunks() {
        let mut d = SeriesData::default();
        for i in 0..300 {
            d.append(0, i, 0.0, 1_000_000);
        }
        assert_eq!(d.truncate_before(150), 1);
        assert_eq!(d.min_time(), Some(120));
        d.truncate_before(1000);
        assert_eq!(d.min_time(), None);
        assert!(d.open.is_none());
    }
}
