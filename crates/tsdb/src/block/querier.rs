//! Querying a block, as Prometheus' `blockQuerier`.

use std::collections::BTreeSet;
use std::sync::Arc;

use promlite_model::{Labels, Matcher};
use promlite_storage::{
    Querier, Result, SampleIterator, SelectHints, Series, SeriesSet, ValueType,
};

use super::reader::Block;
use crate::chunkenc::RangeChunkIterator;
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
    let mut it = series_iterator(block, chunks, mint, maxt);
    if it.seek(mint) == ValueType::Float {
        return Ok(true);
    }
    match it.take_err() {
        Some(e) => Err(e),
        None => Ok(false),
    }
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
        Box::new(series_iterator(
            self.block,
            &self.chunks,
            self.mint,
            self.maxt,
        ))
    }
    fn may_have_start_timestamps(&self) -> bool {
        // The encoding byte sits in front of each chunk: cheap to look at.
        // A chunk that cannot be read says yes; the iterator reports it.
        self.chunks.iter().any(|c| {
            self.block
                .chunk(c)
                .map_or(true, |(enc, _)| enc == crate::chunkenc::Encoding::XorSt)
        })
    }
}

/// An iterator over `chunks` of `block` restricted to `[mint, maxt]`,
/// decoding straight from the memory map. Chunk references were verified
/// when the block was opened; should one still fail to resolve, the
/// iterator yields nothing and reports the error.
pub(crate) fn series_iterator<'a>(
    block: &'a Block,
    chunks: &'a [IndexChunk],
    mint: i64,
    maxt: i64,
) -> RangeChunkIterator<'a> {
    let mut views = Vec::with_capacity(chunks.len());
    for c in chunks {
        match block.chunk(c) {
            Ok((enc, data)) => views.push((c.min_time, c.max_time, enc, data)),
            Err(e) => return RangeChunkIterator::failed(e.into()),
        }
    }
    RangeChunkIterator::new(views.into_iter(), mint, maxt)
        .with_source(block.dir().join(super::CHUNKS_DIRNAME))
}
