//! Querying a block, as Prometheus' `blockQuerier`.

use std::collections::BTreeSet;
use std::sync::Arc;

use promlite_model::{Labels, Matcher};
use promlite_storage::{
    Querier, Result, SampleIterator, SelectHints, Series, SeriesSet, ValueType,
};

use super::reader::Block;
use crate::chunkenc::{self, XorIterator};
use crate::index::reader::IndexSeries;
use crate::index::{postings_for_matchers, IndexChunk, IndexReader};

/// A [`Querier`] over one block and the inclusive range `[mint, maxt]`.
///
/// Series come in label order (block series references are in label order),
/// so `select` ignores its `sorted` flag. Each series holds only its chunks
/// overlapping the range, and its iterator yields only samples inside it,
/// decoding straight from the block's memory map.
#[derive(Debug, Clone)]
pub struct BlockQuerier {
    block: Arc<Block>,
    mint: i64,
    maxt: i64,
}

impl BlockQuerier {
    /// A querier over `block` and `[mint, maxt]`.
    pub fn new(block: Arc<Block>, mint: i64, maxt: i64) -> Self {
        BlockQuerier { block, mint, maxt }
    }

    /// The queried block.
    pub fn block(&self) -> &Arc<Block> {
        &self.block
    }

    /// Whether the block's range `[min_time, max_time)` overlaps `[mint, maxt]`.
    fn overlaps_block(&self, mint: i64, maxt: i64) -> bool {
        let m = self.block.meta();
        mint <= maxt && mint < m.max_time && maxt >= m.min_time
    }

    /// Whether `[mint, maxt]` covers the whole block, so every series of the
    /// block has samples in range.
    fn covers_block(&self) -> bool {
        let m = self.block.meta();
        self.mint <= m.min_time && self.maxt >= m.max_time - 1
    }

    /// The series selected by `ms` (all series for no matchers) that have
    /// chunks in range, decoded.
    fn in_range_series(&self, ms: &[Matcher]) -> Result<Vec<IndexSeries>> {
        if !self.overlaps_block(self.mint, self.maxt) {
            return Ok(Vec::new());
        }
        let refs = if ms.is_empty() {
            self.block.all_postings()?
        } else {
            postings_for_matchers(&*self.block, ms)?
        };
        let all = self.covers_block();
        let mut out = Vec::new();
        for r in refs {
            let s = self.block.index_series(r)?;
            if all || has_samples_in(&self.block, &s.chunks, self.mint, self.maxt)? {
                out.push(s);
            }
        }
        Ok(out)
    }
}

fn overlaps(c: &IndexChunk, mint: i64, maxt: i64) -> bool {
    c.min_time <= maxt && c.max_time >= mint
}

/// Whether `chunks` (sorted, non-overlapping) hold a sample in `[mint, maxt]`.
///
/// A chunk wholly inside the range answers without decoding; otherwise
/// the overlapping chunks (at most the two at the range's edges) may still
/// have no sample in it, so they are probed with a seek.
fn has_samples_in(block: &Block, chunks: &[IndexChunk], mint: i64, maxt: i64) -> Result<bool> {
    if chunks
        .iter()
        .any(|c| c.min_time >= mint && c.max_time <= maxt)
    {
        return Ok(true);
    }
    if !chunks.iter().any(|c| overlaps(c, mint, maxt)) {
        return Ok(false);
    }
    let mut it = BlockSeriesIterator::new(block, chunks, mint, maxt);
    if it.seek(mint) == ValueType::Float {
        return Ok(true);
    }
    it.err.take().map_or(Ok(false), Err)
}

impl Querier for BlockQuerier {
    fn select(
        &self,
        _sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet<'_>> {
        // Hints can only narrow the querier's range.
        let (mut mint, mut maxt) = (self.mint, self.maxt);
        if let Some(h) = hints.filter(|h| h.start <= h.end) {
            mint = mint.max(h.start);
            maxt = maxt.min(h.end);
        }
        if !self.overlaps_block(mint, maxt) {
            return Ok(Box::new(std::iter::empty()));
        }
        let refs = postings_for_matchers(&*self.block, matchers)?;
        let block: &Block = &self.block;
        Ok(Box::new(refs.into_iter().filter_map(move |r| {
            let s = match block.index_series(r) {
                Ok(s) => s,
                Err(e) => return Some(Err(e.into())),
            };
            let chunks: Vec<IndexChunk> = s
                .chunks
                .into_iter()
                .filter(|c| overlaps(c, mint, maxt))
                .collect();
            if chunks.is_empty() {
                return None;
            }
            match has_samples_in(block, &chunks, mint, maxt) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            Some(Ok(Box::new(BlockSeries {
                labels: s.labels,
                chunks,
                block,
                mint,
                maxt,
            }) as Box<dyn Series + '_>))
        })))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() && self.covers_block() {
            return Ok(self.block.label_names());
        }
        let mut names = BTreeSet::new();
        for s in self.in_range_series(matchers)? {
            for l in s.labels.iter() {
                if !names.contains(l.name) {
                    names.insert(l.name.to_string());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() && self.covers_block() {
            return IndexReader::label_values(&*self.block, name);
        }
        let mut values = BTreeSet::new();
        for s in self.in_range_series(matchers)? {
            if let Some(v) = s.labels.get(name) {
                if !values.contains(v) {
                    values.insert(v.to_string());
                }
            }
        }
        Ok(values.into_iter().collect())
    }
}

/// A series of a block: labels and its chunks overlapping the query range.
struct BlockSeries<'a> {
    labels: Labels,
    chunks: Vec<IndexChunk>,
    block: &'a Block,
    mint: i64,
    maxt: i64,
}

impl Series for BlockSeries<'_> {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iterator(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(BlockSeriesIterator::new(
            self.block,
            &self.chunks,
            self.mint,
            self.maxt,
        ))
    }
}

/// Chains the chunks of a series, yielding only samples in `[mint, maxt]`.
///
/// Chunks are sorted by time and do not overlap, so `seek` skips whole
/// chunks by their `max_time` without decoding them.
pub(crate) struct BlockSeriesIterator<'a> {
    block: &'a Block,
    chunks: &'a [IndexChunk],
    /// The chunk `cur` decodes (or the next one to open).
    idx: usize,
    cur: Option<XorIterator<'a>>,
    mint: i64,
    maxt: i64,
    /// Whether the iterator is positioned at a sample.
    positioned: bool,
    done: bool,
    err: Option<promlite_storage::Error>,
}

impl<'a> BlockSeriesIterator<'a> {
    pub(crate) fn new(block: &'a Block, chunks: &'a [IndexChunk], mint: i64, maxt: i64) -> Self {
        BlockSeriesIterator {
            block,
            chunks,
            idx: 0,
            cur: None,
            mint,
            maxt,
            positioned: false,
            done: false,
            err: None,
        }
    }

    fn finish(&mut self) -> ValueType {
        self.done = true;
        self.positioned = false;
        self.cur = None;
        ValueType::None
    }

    /// Opens chunk `idx` if no chunk is open; `false` when none is left or
    /// the chunk cannot be read.
    fn ensure_open(&mut self) -> bool {
        if self.cur.is_some() {
            return true;
        }
        let Some(c) = self.chunks.get(self.idx) else {
            return false;
        };
        match self.block.chunk(c) {
            Ok((enc, data)) => {
                self.cur = Some(chunkenc::iterator(enc, data));
                true
            }
            Err(e) => {
                self.err = Some(e.into());
                false
            }
        }
    }

    /// Moves past the current chunk after it ran out, recording corruption.
    fn close_chunk(&mut self) -> bool {
        if let Some(it) = &self.cur {
            if it.is_corrupt() {
                let c = self.chunks.get(self.idx).map_or(0, |c| c.chunk_ref);
                let path = self
                    .block
                    .chunks
                    .path_of(c)
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                self.err = Some(promlite_storage::Error::Corruption {
                    path,
                    detail: format!("at offset {}: undecodable chunk", c & 0xffff_ffff),
                });
                return false;
            }
        }
        self.cur = None;
        self.idx += 1;
        true
    }

    /// Checks a sample found in the current chunk against `maxt`.
    fn found(&mut self) -> ValueType {
        let t = self.cur.as_ref().map_or(i64::MAX, |it| it.at_t());
        if t > self.maxt {
            return self.finish();
        }
        self.positioned = true;
        ValueType::Float
    }

    /// Seeks within the chunks from the current one on to the first sample
    /// at or after `t` (`t >= mint`).
    fn seek_from_here(&mut self, t: i64) -> ValueType {
        loop {
            if !self.ensure_open() {
                return self.finish();
            }
            let hit = self
                .cur
                .as_mut()
                .is_some_and(|it| it.seek(t) == ValueType::Float);
            if hit {
                return self.found();
            }
            if !self.close_chunk() {
                return self.finish();
            }
        }
    }
}

impl SampleIterator for BlockSeriesIterator<'_> {
    fn next(&mut self) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        loop {
            if !self.ensure_open() {
                return self.finish();
            }
            let Some(it) = self.cur.as_mut() else {
                return self.finish();
            };
            if it.next() == ValueType::Float {
                if it.at_t() >= self.mint {
                    return self.found();
                }
                // Before the range: jump to its start.
                let mint = self.mint;
                return self.seek_from_here(mint);
            }
            if !self.close_chunk() {
                return self.finish();
            }
        }
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if self.positioned {
            if let Some(it) = &self.cur {
                if it.at_t() >= t {
                    return ValueType::Float;
                }
            }
        }
        let t = t.max(self.mint);
        // Skip chunks that end before `t`, including the current one.
        if self.chunks.get(self.idx).is_some_and(|c| c.max_time < t) {
            self.cur = None;
            self.positioned = false;
            while self.chunks.get(self.idx).is_some_and(|c| c.max_time < t) {
                self.idx += 1;
            }
        }
        self.seek_from_here(t)
    }

    fn at(&self) -> (i64, f64) {
        match &self.cur {
            Some(it) if self.positioned => it.at(),
            _ => (i64::MIN, 0.0),
        }
    }

    fn at_t(&self) -> i64 {
        self.at().0
    }

    fn err(&self) -> Option<&promlite_storage::Error> {
        self.err.as_ref()
    }
}
