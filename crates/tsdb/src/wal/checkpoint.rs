//! Checkpoints: old segments compacted into the records still needed
//! (Prometheus' `wlog.Checkpoint`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{CorruptionKind, Error, Result};

use super::reader::WalReader;
use super::record::{
    decode_samples, decode_series, decode_tombstones, encode_samples, encode_series,
    encode_tombstones, RecordType, RefSample, RefSeries, Tombstone,
};
use super::writer::{Wal, WalOptions};
use super::{
    checkpoint_name, last_checkpoint, list_checkpoints, remove_tmp_checkpoints, segment_path,
    sync_dir, TMP_SUFFIX,
};

/// Output is handed to the checkpoint's writer in batches of about this
/// many bytes.
const FLUSH_BYTES: usize = 1 << 20;

/// Counts of what [`checkpoint`] read and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Series read.
    pub total_series: u64,
    /// Series dropped because `keep` rejected them.
    pub dropped_series: u64,
    /// Samples read.
    pub total_samples: u64,
    /// Samples dropped (before `mint` or of a dropped series).
    pub dropped_samples: u64,
    /// Tombstones read.
    pub total_tombstones: u64,
    /// Tombstones dropped (of a dropped series or ending before `mint`).
    pub dropped_tombstones: u64,
    /// Records of unknown types, dropped.
    pub dropped_unknown_records: u64,
}

/// Writes `wal/checkpoint.<to>`: the records of the previous checkpoint and
/// of segments `from..=to` that are still needed, namely
///
/// * series whose reference `keep` accepts,
/// * samples of kept series with `t >= mint`,
/// * tombstones of kept series whose interval ends at or after `mint`.
///
/// The checkpoint is built in `checkpoint.<to>.tmp`, synced and renamed
/// into place; then older checkpoints are deleted. The caller then deletes
/// the covered segments with [`Wal::truncate_before`]`(to + 1)`.
///
/// When a previous checkpoint exists, reading starts right after it, and
/// `from` may not leave a gap after it. `to` must be older than the segment
/// being written (call [`Wal::next_segment`] first if needed).
pub fn checkpoint(
    wal: &Wal,
    from: u64,
    to: u64,
    keep: impl Fn(u64) -> bool,
    mint: i64,
) -> Result<CheckpointStats> {
    let dir = wal.dir();
    let range_err = |detail| Error::CheckpointRange {
        dir: dir.to_path_buf(),
        from,
        to,
        detail,
    };
    let (_, current) = wal.segment_range();
    if to >= current {
        return Err(range_err("the last segment is still being written"));
    }
    let prev = last_checkpoint(dir)?;
    let from = match &prev {
        Some((n, _)) if *n >= to => {
            return Err(range_err(
                "a checkpoint at or after the last segment exists",
            ))
        }
        Some((n, _)) if from > n + 1 => {
            return Err(range_err(
                "the range leaves a gap after the last checkpoint",
            ))
        }
        Some((n, _)) => n + 1,
        None if from > to => return Err(range_err("the range is empty")),
        None => from,
    };

    remove_tmp_checkpoints(dir)?;
    let final_dir = checkpoint_path(dir, to);
    let tmp_dir = dir.join(format!("{}{TMP_SUFFIX}", checkpoint_name(to)));
    let res = build(
        wal,
        &tmp_dir,
        prev.as_ref().map(|(_, p)| p.as_path()),
        from,
        to,
        &keep,
        mint,
    );
    let stats = match res {
        Ok(stats) => stats,
        Err(e) => {
            if let Err(re) = fs::remove_dir_all(&tmp_dir) {
                tracing::warn!(path = %tmp_dir.display(), error = %re, "cannot remove temporary checkpoint");
            }
            return Err(e);
        }
    };
    fs::rename(&tmp_dir, &final_dir).map_err(|e| Error::io("rename checkpoint", &tmp_dir, e))?;
    sync_dir(dir)?;
    for (n, path) in list_checkpoints(dir)? {
        if n < to {
            fs::remove_dir_all(&path).map_err(|e| Error::io("remove old checkpoint", &path, e))?;
        }
    }
    sync_dir(dir)?;
    tracing::info!(
        dir = %dir.display(),
        from,
        to,
        series = stats.total_series - stats.dropped_series,
        samples = stats.total_samples - stats.dropped_samples,
        "WAL checkpoint created"
    );
    Ok(stats)
}

/// Writes the checkpoint's contents into `tmp_dir` and syncs it.
fn build(
    wal: &Wal,
    tmp_dir: &Path,
    prev: Option<&Path>,
    from: u64,
    to: u64,
    keep: &impl Fn(u64) -> bool,
    mint: i64,
) -> Result<CheckpointStats> {
    let out = Wal::open(
        tmp_dir,
        WalOptions {
            compress: wal.options().compress,
            ..WalOptions::default()
        },
    )?;
    let mut f = Filter {
        keep,
        mint,
        stats: CheckpointStats::default(),
        series: Vec::new(),
        samples: Vec::new(),
        tombstones: Vec::new(),
        enc: Vec::new(),
        pending: Vec::new(),
        ends: Vec::new(),
    };
    if let Some(prev) = prev {
        f.copy(&out, WalReader::open(prev)?, prev)?;
    }
    f.copy(&out, WalReader::range(wal.dir(), from, to), wal.dir())?;
    f.flush(&out)?;
    out.close()?;
    sync_dir(tmp_dir)?;
    Ok(f.stats)
}

struct Filter<'k, K> {
    keep: &'k K,
    mint: i64,
    stats: CheckpointStats,
    series: Vec<RefSeries>,
    samples: Vec<RefSample>,
    tombstones: Vec<Tombstone>,
    enc: Vec<u8>,
    pending: Vec<u8>,
    ends: Vec<usize>,
}

impl<K: Fn(u64) -> bool> Filter<'_, K> {
    /// Copies the needed records of `r` (reading `dir`) into `out`.
    fn copy(&mut self, out: &Wal, mut r: WalReader, dir: &Path) -> Result<()> {
        while let Some(rec) = r.next_record()? {
            if self.filter(rec).is_err() {
                return Err(Error::Corruption {
                    path: segment_path(dir, r.segment()),
                    segment: Some(r.segment()),
                    offset: r.offset(),
                    kind: CorruptionKind::Undecodable,
                });
            }
            if !self.enc.is_empty() {
                self.pending.extend_from_slice(&self.enc);
                self.ends.push(self.pending.len());
                if self.pending.len() >= FLUSH_BYTES {
                    self.flush(out)?;
                }
            }
        }
        Ok(())
    }

    /// Leaves the filtered, re-encoded record in `enc`, or `enc` empty
    /// when nothing of the record is kept.
    fn filter(&mut self, rec: &[u8]) -> Result<()> {
        self.enc.clear();
        let keep = self.keep;
        let mint = self.mint;
        match RecordType::of(rec) {
            Some(RecordType::Series) => {
                self.series.clear();
                decode_series(rec, &mut self.series)?;
                let n = self.series.len();
                self.series.retain(|s| keep(s.series_ref));
                self.stats.total_series += n as u64;
                self.stats.dropped_series += (n - self.series.len()) as u64;
                if !self.series.is_empty() {
                    encode_series(&self.series, &mut self.enc);
                }
            }
            Some(RecordType::Samples | RecordType::SamplesSt) => {
                self.samples.clear();
                decode_samples(rec, &mut self.samples)?;
                let n = self.samples.len();
                self.samples.retain(|s| s.t >= mint && keep(s.series_ref));
                self.stats.total_samples += n as u64;
                self.stats.dropped_samples += (n - self.samples.len()) as u64;
                if !self.samples.is_empty() {
                    encode_samples(&self.samples, &mut self.enc);
                }
            }
            Some(RecordType::Tombstones) => {
                self.tombstones.clear();
                decode_tombstones(rec, &mut self.tombstones)?;
                let n = self.tombstones.len();
                self.tombstones
                    .retain(|t| t.maxt >= mint && keep(t.series_ref));
                self.stats.total_tombstones += n as u64;
                self.stats.dropped_tombstones += (n - self.tombstones.len()) as u64;
                if !self.tombstones.is_empty() {
                    encode_tombstones(&self.tombstones, &mut self.enc);
                }
            }
            Some(RecordType::Unknown(t)) => {
                tracing::debug!(
                    record_type = t,
                    "dropping WAL record of unknown type from checkpoint"
                );
                self.stats.dropped_unknown_records += 1;
            }
            None => {}
        }
        Ok(())
    }

    fn flush(&mut self, out: &Wal) -> Result<()> {
        if self.ends.is_empty() {
            return Ok(());
        }
        let mut recs: Vec<&[u8]> = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            recs.push(&self.pending[start..end]);
            start = end;
        }
        out.log(&recs)?;
        self.pending.clear();
        self.ends.clear();
        Ok(())
    }
}

/// The path of checkpoint `n` in `wal_dir`.
pub(crate) fn checkpoint_path(wal_dir: &Path, n: u64) -> PathBuf {
    wal_dir.join(checkpoint_name(n))
}
