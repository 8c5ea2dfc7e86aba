//! Backfilling: writing historical samples straight into blocks, as
//! `promtool tsdb create-blocks-from` does.

use std::collections::BTreeMap;
use std::path::Path;

use promlite_model::Labels;
use promlite_storage::{Error, Result};

use crate::block::{BlockMeta, BlockWriter, BlockWriterOptions, ChunkMeta, NewBlockMeta};
use crate::chunkenc::{encode_packed, Encoding, XorChunk, SAMPLES_PER_CHUNK};

/// Samples per series, each list sorted by timestamp without duplicates.
pub type SeriesSamples = BTreeMap<Labels, Vec<(i64, f64)>>;

/// Writes `series` into `dir` as blocks of `block_range` milliseconds,
/// aligned as the head aligns them. Returns the new blocks' metadata.
/// Samples must be sorted by time within each series; a series out of
/// order is an error naming it.
pub fn write_blocks(
    dir: &Path,
    series: &SeriesSamples,
    block_range: i64,
) -> Result<Vec<BlockMeta>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create dir", dir, e))?;
    for (l, s) in series {
        if s.windows(2).any(|w| w[1].0 <= w[0].0) {
            return Err(Error::InvalidQuery(format!(
                "samples of {l} are not in increasing time order"
            )));
        }
    }
    let (Some(mint), Some(maxt)) = (
        series.values().filter_map(|s| s.first().map(|x| x.0)).min(),
        series.values().filter_map(|s| s.last().map(|x| x.0)).max(),
    ) else {
        return Ok(Vec::new());
    };
    let mut metas = Vec::new();
    let mut start = mint.div_euclid(block_range) * block_range;
    while start <= maxt {
        let end = start + block_range;
        let mut w: Option<BlockWriter> = None;
        for (l, samples) in series {
            let lo = samples.partition_point(|s| s.0 < start);
            let hi = samples.partition_point(|s| s.0 < end);
            if lo == hi {
                continue;
            }
            let mut chunks: Vec<ChunkMeta<'_>> = Vec::new();
            for part in samples[lo..hi].chunks(SAMPLES_PER_CHUNK as usize) {
                let mut x = XorChunk::new();
                for &(t, v) in part {
                    x.append(t, v);
                }
                let packed = encode_packed(part);
                let (min_t, max_t) = (part[0].0, part[part.len() - 1].0);
                chunks.push(if packed.len() < x.bytes().len() {
                    ChunkMeta::owned(min_t, max_t, Encoding::Packed, packed)
                } else {
                    ChunkMeta::owned(min_t, max_t, Encoding::Xor, x.bytes().to_vec())
                });
            }
            if w.is_none() {
                w = Some(BlockWriter::create(
                    dir,
                    NewBlockMeta::new(start, end),
                    &BlockWriterOptions::default(),
                )?);
            }
            if let Some(w) = w.as_mut() {
                w.add_series(l.clone(), &chunks)?;
            }
        }
        if let Some(w) = w {
            metas.push(w.finish()?);
        }
        start = end;
    }
    Ok(metas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_aligned_block_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SeriesSamples::new();
        let l = Labels::from_pairs(&[("__name__", "m")]);
        s.insert(
            l.clone(),
            (0..1000).map(|i| (i * 60_000, i as f64)).collect(),
        );
        let metas = write_blocks(dir.path(), &s, 7_200_000).unwrap();
        // 1000 minutes span 9 two-hour ranges.
        assert_eq!(metas.len(), 9);
        assert_eq!(metas.iter().map(|m| m.stats.num_samples).sum::<u64>(), 1000);
        assert!(metas.iter().all(|m| m.min_time % 7_200_000 == 0));
        s.insert(l, vec![(5, 1.0), (5, 2.0)]);
        assert!(write_blocks(dir.path(), &s, 7_200_000).is_err());
    }
}
