//! Reading the head: queriers, series snapshots and the index adapter.

use std::sync::Arc;

use promlite_model::{Labels, Matcher};
use promlite_storage::{Querier, Result, SampleIterator, SelectHints, Series, SeriesSet};

use super::{Head, MemSeries};
use crate::chunkenc::{Encoding, RangeChunkIterator};
use crate::index::{postings_for_matchers, IndexReader};

/// A chunk of a head series, shared or copied out of the head.
#[derive(Debug, Clone)]
pub(crate) struct ChunkRef {
    pub(crate) min_t: i64,
    pub(crate) max_t: i64,
    /// [`Encoding::Xor`], or [`Encoding::XorSt`] with start timestamps.
    pub(crate) enc: Encoding,
    pub(crate) data: Arc<[u8]>,
}

/// A series' labels with its chunks, as handed to queries and block writing.
#[derive(Debug, Clone)]
pub(crate) struct HeadChunks {
    pub(crate) labels: Labels,
    pub(crate) chunks: Vec<ChunkRef>,
}

/// Copies the chunks of `s` that overlap `[mint, maxt]`. Closed chunks are
/// shared; the open chunk is copied (it is at most a few hundred bytes).
fn snapshot(s: &MemSeries, mint: i64, maxt: i64) -> Vec<ChunkRef> {
    let d = s.data.lock();
    let mut out = Vec::with_capacity(d.closed.len() + 1);
    for c in &d.closed {
        if c.max_t >= mint && c.min_t <= maxt {
            out.push(ChunkRef {
                min_t: c.min_t,
                max_t: c.max_t,
                enc: c.enc,
                data: c.data.clone(),
            });
        }
    }
    if let Some(o) = &d.open {
        let n = o.chunk.num_samples();
        if n > 0 && o.chunk.last_t() >= mint && o.min_t <= maxt {
            out.push(ChunkRef {
                min_t: o.min_t,
                max_t: o.chunk.last_t(),
                enc: o.chunk.encoding(),
                data: Arc::from(o.chunk.bytes()),
            });
        }
    }
    out
}

/// The chunks of every series with data in `[mint, maxt)`, sorted by labels.
pub(crate) fn chunks_in_range(head: &Head, mint: i64, maxt: i64) -> Vec<HeadChunks> {
    let mut out = Vec::new();
    head.inner.series.for_each(|s| {
        // Chunks never cross a block boundary, so `maxt - 1` selects exactly
        // the chunks inside a block-aligned range.
        let chunks = snapshot(s, mint, maxt - 1);
        if !chunks.is_empty() {
            out.push(HeadChunks {
                labels: s.labels.clone(),
                chunks,
            });
        }
    });
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}

/// The head's index as seen by the shared postings logic.
struct HeadIndex<'a>(&'a Head);

impl IndexReader for HeadIndex<'_> {
    fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>> {
        Ok(self.0.inner.postings.get(name, value))
    }
    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.0.inner.postings.label_values(name))
    }
    fn all_postings(&self) -> Result<Vec<u64>> {
        Ok(self.0.inner.postings.all())
    }
}

/// A querier over the head for `[mint, maxt]`.
pub struct HeadQuerier {
    head: Head,
    mint: i64,
    maxt: i64,
}

impl HeadQuerier {
    pub(crate) fn new(head: Head, mint: i64, maxt: i64) -> Self {
        HeadQuerier { head, mint, maxt }
    }

    /// Whether the head holds any data in the querier's range.
    fn overlaps(&self) -> bool {
        match (self.head.min_time(), self.head.max_time()) {
            (Some(lo), Some(hi)) => lo <= self.maxt && hi >= self.mint,
            _ => false,
        }
    }

    /// The matching series regardless of the querier's time range.
    pub(crate) fn matching_series_all(&self, matchers: &[Matcher]) -> Result<Vec<Arc<MemSeries>>> {
        let refs = postings_for_matchers(&HeadIndex(&self.head), matchers)?;
        let series = &self.head.inner.series;
        Ok(refs
            .into_iter()
            .filter_map(|r| series.get_by_ref(r))
            .collect())
    }

    fn matching_series(&self, matchers: &[Matcher]) -> Result<Vec<Arc<MemSeries>>> {
        if !self.overlaps() {
            return Ok(Vec::new());
        }
        let refs = postings_for_matchers(&HeadIndex(&self.head), matchers)?;
        let series = &self.head.inner.series;
        Ok(refs
            .into_iter()
            .filter_map(|r| series.get_by_ref(r))
            .collect())
    }
}

/// A snapshot of one head series.
struct HeadSeries {
    labels: Labels,
    chunks: Vec<ChunkRef>,
    mint: i64,
    maxt: i64,
}

impl Series for HeadSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iterator(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(RangeChunkIterator::new(
            self.chunks
                .iter()
                .map(|c| (c.min_t, c.max_t, c.enc, &c.data[..])),
            self.mint,
            self.maxt,
        ))
    }

    fn may_have_start_timestamps(&self) -> bool {
        self.chunks.iter().any(|c| c.enc == Encoding::XorSt)
    }
}

impl Querier for HeadQuerier {
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet<'_>> {
        let (mint, maxt) = match hints {
            Some(h) => (self.mint.max(h.start), self.maxt.min(h.end)),
            None => (self.mint, self.maxt),
        };
        let mut out: Vec<HeadSeries> = Vec::new();
        for s in self.matching_series(matchers)? {
            let chunks = snapshot(&s, mint, maxt);
            if !chunks.is_empty() {
                out.push(HeadSeries {
                    labels: s.labels.clone(),
                    chunks,
                    mint,
                    maxt,
                });
            }
        }
        if sorted {
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        Ok(Box::new(
            out.into_iter().map(|s| Ok(Box::new(s) as Box<dyn Series>)),
        ))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if !self.overlaps() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(self.head.inner.postings.label_names());
        }
        let mut names: Vec<String> = Vec::new();
        for s in self.matching_series(matchers)? {
            names.extend(s.labels.iter().map(|l| l.name.to_string()));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if !self.overlaps() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(self.head.inner.postings.label_values(name));
        }
        let mut values: Vec<String> = self
            .matching_series(matchers)?
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}
