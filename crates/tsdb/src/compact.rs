//! Compaction: head → block, small blocks → larger blocks, and retention.
//!
//! As in Prometheus' `tsdb/compact.go` and `db.go`:
//! * when the head spans more than 1.5 block ranges, its oldest range is
//!   written as a block, the head is truncated and the WAL checkpointed;
//! * adjacent blocks inside one range of the exponential series
//!   (2h, 6h, 18h, ... up to the maximum block duration) are merged once
//!   that range is complete;
//! * blocks past the time retention, and the oldest blocks while the total
//!   size exceeds the size retention, are deleted whole.

use std::fs;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use promlite_model::Labels;
use promlite_storage::{Error, Result, SampleIterator, ValueType};
use tracing::{debug, info, warn};

use crate::block::{
    Block, BlockCompaction, BlockDesc, BlockMeta, BlockWriter, BlockWriterOptions, ChunkMeta,
    NewBlockMeta,
};
use crate::chunkenc::{encode_packed, recode_for_block, Encoding, XorChunk};
use crate::db::Db;
use crate::head::HeadChunks;
use crate::wal;

/// What one [`Db::compact`] run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Blocks written from the head.
    pub head_blocks: usize,
    /// Blocks written by merging blocks.
    pub merged_blocks: usize,
    /// Blocks deleted by retention.
    pub deleted_blocks: usize,
}

/// Writes `series` as a block in `dir` and opens it.
fn write_head_block(dir: &Path, mint: i64, maxt: i64, series: &[HeadChunks]) -> Result<Arc<Block>> {
    let mut w = BlockWriter::create(
        dir,
        NewBlockMeta::new(mint, maxt),
        &BlockWriterOptions::default(),
    )?;
    let mut metas: Vec<ChunkMeta<'_>> = Vec::new();
    let mut scratch = Vec::new();
    for s in series {
        metas.clear();
        metas.extend(s.chunks.iter().map(|c| {
            // Blocks get the denser packed encoding where it is smaller;
            // chunks with start timestamps keep their encoding.
            match recode_for_block(c.enc, &c.data, &mut scratch) {
                Some(p) => ChunkMeta::owned(c.min_t, c.max_t, Encoding::Packed, p),
                None => ChunkMeta::borrowed(c.min_t, c.max_t, c.enc, &c.data),
            }
        }));
        w.add_series(s.labels.clone(), &metas)?;
    }
    let meta = w.finish()?;
    let b = Block::open(&dir.join(meta.ulid.to_string()))?;
    Ok(Arc::new(b))
}

impl Db {
    /// Runs one round of compaction and retention; called periodically by
    /// the server (every minute, as Prometheus) and safe to call any time.
    /// In memory, only drops head data older than the time retention.
    pub fn compact(&self) -> Result<CompactStats> {
        let _guard = self.inner.compaction.lock();
        let res = self.compact_locked();
        match &res {
            Ok(s) if s != &CompactStats::default() => {
                self.inner
                    .metrics
                    .compactions
                    .fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => {
                self.inner
                    .metrics
                    .compactions_failed
                    .fetch_add(1, Ordering::Relaxed);
                warn!(error = %e, "compaction failed");
            }
        }
        res
    }

    fn compact_locked(&self) -> Result<CompactStats> {
        let mut stats = CompactStats::default();
        let Some(dir) = self.inner.dir.clone() else {
            let head = self.head();
            if let Some(max) = head.max_time() {
                let rt = self.inner.opts.retention_time;
                if rt > 0 && head.min_time().is_some_and(|m| m < max - rt) {
                    head.truncate(max - rt);
                }
            }
            return Ok(stats);
        };
        stats.head_blocks = self.compact_head(&dir)?;
        while let Some(group) = self.plan_block_compaction() {
            self.merge_blocks(&dir, &group)?;
            stats.merged_blocks += 1;
        }
        stats.deleted_blocks = self.apply_retention()?;
        Ok(stats)
    }

    /// Persists head ranges while the head spans more than 1.5 block ranges.
    fn compact_head(&self, dir: &Path) -> Result<usize> {
        let head = self.head().clone();
        let range = self.inner.opts.block_range;
        let mut written = 0;
        while let (Some(hmin), Some(hmax)) = (head.min_time(), head.max_time()) {
            if hmax - hmin <= range / 2 * 3 {
                break;
            }
            let mint = hmin.div_euclid(range) * range;
            let maxt = mint + range;
            let series = head.chunks_in_range(mint, maxt);
            if !series.is_empty() {
                let block = write_head_block(dir, mint, maxt, &series)?;
                info!(
                    ulid = %block.meta().ulid,
                    mint, maxt,
                    series = block.meta().stats.num_series,
                    samples = block.meta().stats.num_samples,
                    "head range persisted as a block"
                );
                let mut blocks: Vec<Arc<Block>> = self.blocks().iter().cloned().collect();
                blocks.push(block);
                self.set_blocks(blocks);
                written += 1;
            }
            head.set_min_valid_time(maxt);
            // Queriers opened before the new block was listed expect this
            // range in the head; let them finish (bounded by the longest
            // query timeout) before dropping it.
            if !self
                .inner
                .readers
                .advance_and_wait(std::time::Duration::from_secs(120))
            {
                warn!("truncating the head while old queriers are still open");
            }
            head.truncate(maxt);
            self.truncate_wal(maxt)?;
        }
        Ok(written)
    }

    /// Checkpoints every closed WAL segment, keeping the series still in the
    /// head and samples at or after `mint`, then deletes those segments.
    fn truncate_wal(&self, mint: i64) -> Result<()> {
        let Some(w) = self.head().wal() else {
            return Ok(());
        };
        let (first, _) = w.segment_range();
        let current = w.next_segment()?;
        if current == 0 || first > current - 1 {
            return Ok(());
        }
        let head = self.head().clone();
        let cs = wal::checkpoint(w, first, current - 1, |r| head.has_series(r), mint)?;
        w.truncate_before(current)?;
        debug!(
            first,
            last = current - 1,
            kept_series = cs.total_series - cs.dropped_series,
            "WAL checkpointed and truncated"
        );
        Ok(())
    }

    /// Picks adjacent blocks to merge: within one aligned range of a larger
    /// compaction level, at least two blocks, and the range complete (newer
    /// data exists past its end).
    fn plan_block_compaction(&self) -> Option<Vec<Arc<Block>>> {
        let blocks = self.blocks();
        if blocks.len() < 2 {
            return None;
        }
        let newest = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .max()
            .unwrap_or(i64::MIN)
            .max(self.head().min_time().unwrap_or(i64::MIN));
        for &r in self.inner.opts.compaction_ranges().iter().skip(1) {
            let mut i = 0;
            while i < blocks.len() {
                let start = blocks[i].meta().min_time.div_euclid(r) * r;
                let end = start + r;
                let mut j = i;
                while j < blocks.len()
                    && blocks[j].meta().min_time >= start
                    && blocks[j].meta().max_time <= end
                {
                    j += 1;
                }
                if j - i >= 2 && newest >= end {
                    return Some(blocks[i..j].to_vec());
                }
                i = j.max(i + 1);
            }
        }
        None
    }

    /// Merges `group` (sorted by time, not overlapping) into one block and
    /// deletes the originals.
    fn merge_blocks(&self, dir: &Path, group: &[Arc<Block>]) -> Result<()> {
        let mint = group.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
        let maxt = group.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
        let mut sources: Vec<ulid::Ulid> = group
            .iter()
            .flat_map(|b| b.meta().compaction.sources.iter().copied())
            .collect();
        sources.sort();
        sources.dedup();
        let meta = NewBlockMeta {
            min_time: mint,
            max_time: maxt,
            compaction: BlockCompaction {
                level: group
                    .iter()
                    .map(|b| b.meta().compaction.level)
                    .max()
                    .unwrap_or(1)
                    + 1,
                sources,
                parents: group
                    .iter()
                    .map(|b| BlockDesc {
                        ulid: b.meta().ulid,
                        min_time: b.meta().min_time,
                        max_time: b.meta().max_time,
                    })
                    .collect(),
            },
        };
        let mut w = BlockWriter::create(dir, meta, &BlockWriterOptions::default())?;
        // K-way merge of the blocks' series by labels; chunks are concatenated
        // in block order, which is time order.
        let mut iters: Vec<_> = group.iter().map(|b| b.series().peekable()).collect();
        let mut chunks: Vec<ChunkMeta<'_>> = Vec::new();
        loop {
            let mut min: Option<Labels> = None;
            for it in iters.iter_mut() {
                match it.peek() {
                    Some(Ok((l, _))) if min.as_ref().is_none_or(|m| l < m) => {
                        min = Some(l.clone());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) => {
                        if let Some(Err(e)) = it.next() {
                            return Err(e.into());
                        }
                    }
                    None => {}
                }
            }
            let Some(labels) = min else { break };
            chunks.clear();
            for it in iters.iter_mut() {
                if matches!(it.peek(), Some(Ok((l, _))) if *l == labels) {
                    if let Some(Ok((_, cs))) = it.next() {
                        chunks.extend(cs);
                    }
                }
            }
            w.add_series(labels, &chunks)?;
        }
        let new_meta: BlockMeta = w.finish()?;
        let block = Arc::new(Block::open(&dir.join(new_meta.ulid.to_string()))?);
        let ids: Vec<ulid::Ulid> = group.iter().map(|b| b.meta().ulid).collect();
        let mut blocks: Vec<Arc<Block>> = self
            .blocks()
            .iter()
            .filter(|b| !ids.contains(&b.meta().ulid))
            .cloned()
            .collect();
        blocks.push(block);
        self.set_blocks(blocks);
        info!(
            ulid = %new_meta.ulid,
            level = new_meta.compaction.level,
            mint, maxt,
            parents = group.len(),
            "blocks compacted"
        );
        for b in group {
            remove_block_dir(b.dir())?;
        }
        Ok(())
    }

    /// Deletes blocks beyond the time and size retention; returns how many.
    fn apply_retention(&self) -> Result<usize> {
        let blocks = self.blocks();
        let opts = &self.inner.opts;
        let mut doomed: Vec<ulid::Ulid> = Vec::new();
        // Newest first.
        let mut by_age: Vec<&Arc<Block>> = blocks.iter().collect();
        by_age.sort_by_key(|b| std::cmp::Reverse(b.meta().max_time));
        if opts.retention_time > 0 {
            if let Some(newest) = by_age.first().map(|b| b.meta().max_time) {
                for b in by_age.iter().skip(1) {
                    if newest - b.meta().max_time >= opts.retention_time {
                        doomed.push(b.meta().ulid);
                    }
                }
                if !doomed.is_empty() {
                    self.inner
                        .metrics
                        .time_retentions
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if opts.retention_size > 0 {
            let mut total = self.wal_size();
            let before = doomed.len();
            for b in &by_age {
                if doomed.contains(&b.meta().ulid) {
                    continue;
                }
                total += b.size_bytes();
                if total > opts.retention_size {
                    doomed.push(b.meta().ulid);
                }
            }
            if doomed.len() > before {
                self.inner
                    .metrics
                    .size_retentions
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        let keep: Vec<Arc<Block>> = blocks
            .iter()
            .filter(|b| !doomed.contains(&b.meta().ulid))
            .cloned()
            .collect();
        let gone: Vec<Arc<Block>> = blocks
            .iter()
            .filter(|b| doomed.contains(&b.meta().ulid))
            .cloned()
            .collect();
        self.set_blocks(keep);
        for b in &gone {
            info!(ulid = %b.meta().ulid, mint = b.meta().min_time, maxt = b.meta().max_time, "deleting block past retention");
            remove_block_dir(b.dir())?;
        }
        Ok(gone.len())
    }

    /// Deletes the samples in `[mint, maxt]` of every series matching
    /// `matchers` (`POST /api/v1/admin/tsdb/delete_series`). The head logs
    /// tombstones to the WAL and rewrites its chunks; each persisted block
    /// holding such samples is rewritten without them at once (what
    /// Prometheus does later, on `clean_tombstones`). Returns the number of
    /// samples removed from the head and the blocks.
    pub fn delete_series(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[promlite_model::Matcher],
    ) -> Result<usize> {
        let _guard = self.inner.compaction.lock();
        let mut removed = self.head().delete(mint, maxt, matchers)?;
        let Some(dir) = self.inner.dir.clone() else {
            return Ok(removed);
        };
        for b in self.blocks().iter() {
            let m = b.meta();
            if m.min_time > maxt || m.max_time <= mint {
                continue;
            }
            removed += self.rewrite_block_without(&dir, b, mint, maxt, matchers)?;
        }
        Ok(removed)
    }

    /// Writes `block` again without the matching samples in `[mint, maxt]`
    /// and replaces it. The new block lists the old one as its parent, so
    /// that a crash between writing it and deleting the old one is repaired
    /// at the next open.
    fn rewrite_block_without(
        &self,
        dir: &Path,
        block: &Arc<Block>,
        mint: i64,
        maxt: i64,
        matchers: &[promlite_model::Matcher],
    ) -> Result<usize> {
        let matches = |l: &Labels| matchers.iter().all(|m| m.matches_labels(l));
        // Only rewrite when something would actually go.
        let mut hit = false;
        for s in block.series() {
            let (l, chunks) = s?;
            if matches(&l)
                && chunks
                    .iter()
                    .any(|c| c.min_time <= maxt && c.max_time >= mint)
            {
                hit = true;
                break;
            }
        }
        if !hit {
            return Ok(0);
        }
        let m = block.meta();
        let meta = NewBlockMeta {
            min_time: m.min_time,
            max_time: m.max_time,
            compaction: BlockCompaction {
                level: m.compaction.level,
                sources: m.compaction.sources.clone(),
                parents: vec![BlockDesc {
                    ulid: m.ulid,
                    min_time: m.min_time,
                    max_time: m.max_time,
                }],
            },
        };
        let mut w = BlockWriter::create(dir, meta, &BlockWriterOptions::default())?;
        let mut removed = 0usize;
        // (st, t, v): start timestamps survive the rewrite.
        let mut samples: Vec<(i64, i64, f64)> = Vec::new();
        for s in block.series() {
            let (l, chunks) = s?;
            if !matches(&l)
                || !chunks
                    .iter()
                    .any(|c| c.min_time <= maxt && c.max_time >= mint)
            {
                w.add_series(l, &chunks)?;
                continue;
            }
            samples.clear();
            for c in &chunks {
                let mut it = crate::chunkenc::iterator(c.encoding, &c.data);
                while it.next() == ValueType::Float {
                    let (t, v) = it.at();
                    samples.push((it.at_st(), t, v));
                }
            }
            let before = samples.len();
            samples.retain(|(_, t, _)| *t < mint || *t > maxt);
            removed += before - samples.len();
            let new_chunks: Vec<ChunkMeta<'_>> = samples
                .chunks(crate::chunkenc::SAMPLES_PER_CHUNK as usize)
                .map(encode_rewritten)
                .collect();
            w.add_series(l, &new_chunks)?;
        }
        let new_meta = w.finish()?;
        let new_block = Arc::new(Block::open(&dir.join(new_meta.ulid.to_string()))?);
        let mut blocks: Vec<Arc<Block>> = self
            .blocks()
            .iter()
            .filter(|b| b.meta().ulid != m.ulid)
            .cloned()
            .collect();
        blocks.push(new_block);
        self.set_blocks(blocks);
        remove_block_dir(block.dir())?;
        info!(old = %m.ulid, new = %new_meta.ulid, removed, "block rewritten without deleted series");
        Ok(removed)
    }

    /// Writes a consistent copy of the database into `dir`: every block
    /// (hard-linked where possible, else copied) and, with `with_head`, the
    /// head's data as one more block. Backs `POST /api/v1/admin/tsdb/snapshot`.
    pub fn snapshot(&self, dir: &Path, with_head: bool) -> Result<()> {
        let _guard = self.inner.compaction.lock();
        fs::create_dir_all(dir).map_err(|e| Error::io("create dir", dir, e))?;
        for b in self.blocks().iter() {
            let name = b.meta().ulid.to_string();
            link_or_copy_dir(b.dir(), &dir.join(name))?;
        }
        if with_head {
            let head = self.head();
            if let (Some(mint), Some(maxt)) = (head.min_time(), head.max_time()) {
                let series = head.chunks_in_range(mint, maxt + 1);
                if !series.is_empty() {
                    write_head_block(dir, mint, maxt + 1, &series)?;
                }
            }
        }
        Ok(())
    }
}

/// Encodes a part (at most one chunk's worth, sorted, non-empty) of
/// `(st, t, v)` samples of a rewritten block: packed, unless a sample has a
/// start timestamp, which only [`Encoding::XorSt`] keeps.
fn encode_rewritten(part: &[(i64, i64, f64)]) -> ChunkMeta<'static> {
    let min_t = part.first().map_or(0, |s| s.1);
    let max_t = part.last().map_or(0, |s| s.1);
    if part.iter().any(|s| s.0 != 0) {
        let mut c = XorChunk::new_with_st();
        for &(st, t, v) in part {
            c.append_st(st, t, v);
        }
        c.shrink();
        return ChunkMeta::owned(min_t, max_t, Encoding::XorSt, c.bytes().to_vec());
    }
    let tv: Vec<(i64, f64)> = part.iter().map(|&(_, t, v)| (t, v)).collect();
    ChunkMeta::owned(min_t, max_t, Encoding::Packed, encode_packed(&tv))
}

fn remove_block_dir(p: &Path) -> Result<()> {
    // Rename first so that a crash mid-delete never leaves a half block
    // that looks valid.
    let tmp = p.with_extension("deleting");
    fs::rename(p, &tmp).map_err(|e| Error::io("rename block dir", p, e))?;
    fs::remove_dir_all(&tmp).map_err(|e| Error::io("remove block dir", &tmp, e))
}

fn link_or_copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io("create dir", to, e))?;
    let rd = fs::read_dir(from).map_err(|e| Error::io("read dir", from, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("read dir", from, e))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ft = entry.file_type().map_err(|e| Error::io("stat", &src, e))?;
        if ft.is_dir() {
            link_or_copy_dir(&src, &dst)?;
        } else if fs::hard_link(&src, &dst).is_err() {
            fs::copy(&src, &dst).map_err(|e| Error::io("copy", &src, e))?;
        }
    }
    Ok(())
}
