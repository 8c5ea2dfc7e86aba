//! Replaying a WAL directory: the last checkpoint, then the segments after
//! it (the reading half of Prometheus' `Head.Init`).

use std::path::Path;

use crate::error::{CorruptionKind, Error, Result};

use super::reader::WalReader;
use super::record::{
    decode_samples, decode_series, decode_tombstones, RecordType, RefSample, RefSeries, Tombstone,
};
use super::{last_checkpoint, list_segments};

/// One decoded record handed to the [`replay_dir`] callback. The slices
/// are reused between records.
#[derive(Debug, Clone, Copy)]
pub enum ReplayRecord<'a> {
    /// New series.
    Series(&'a [RefSeries]),
    /// Samples.
    Samples(&'a [RefSample]),
    /// Deletion intervals.
    Tombstones(&'a [Tombstone]),
}

/// Where replay met a torn or corrupt record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptionInfo {
    /// The segment holding the bad record.
    pub segment: u64,
    /// The record's byte offset in the segment.
    pub offset: u64,
    /// What was wrong.
    pub kind: CorruptionKind,
}

/// What [`replay_dir`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// The checkpoint read first, if there was one.
    pub checkpoint: Option<u64>,
    /// The segments read after it, inclusive; `None` when there were none.
    pub segments: Option<(u64, u64)>,
    /// Records read, including unknown ones.
    pub records: u64,
    /// Series decoded.
    pub series: u64,
    /// Samples decoded.
    pub samples: u64,
    /// Tombstones decoded.
    pub tombstones: u64,
    /// Records of unknown types, skipped.
    pub unknown_records: u64,
    /// The first bad record in the segments, where replay stopped. Pass it
    /// to [`super::repair_at`] before writing again (a [`super::Wal`]
    /// opened afterwards repairs it anyway).
    pub corruption: Option<CorruptionInfo>,
}

/// Reads the last checkpoint in `wal_dir`, then every segment after it, and
/// calls `f` with each decoded record in order.
///
/// A bad record in a segment ends the replay: everything before it was
/// passed to `f`, and [`ReplayStats::corruption`] says where it is. A bad
/// record in the checkpoint, an I/O error or an error from `f` is returned
/// as an error.
pub fn replay_dir(
    wal_dir: impl AsRef<Path>,
    mut f: impl FnMut(ReplayRecord<'_>) -> Result<()>,
) -> Result<ReplayStats> {
    let dir = wal_dir.as_ref();
    let mut stats = ReplayStats::default();
    let mut bufs = Buffers::default();
    let checkpoint = last_checkpoint(dir)?;
    if let Some((n, path)) = &checkpoint {
        stats.checkpoint = Some(*n);
        let mut r = WalReader::open(path)?;
        while let Some(rec) = r.next_record()? {
            let decoded = bufs
                .decode(rec, &mut stats)
                .map_err(|_| Error::Corruption {
                    path: super::segment_path(path, r.segment()),
                    segment: Some(r.segment()),
                    offset: r.offset(),
                    kind: CorruptionKind::Undecodable,
                })?;
            if let Some(rec) = decoded {
                f(rec)?;
            }
        }
    }
    let segs = list_segments(dir)?;
    let (Some(&first), Some(&last)) = (segs.first(), segs.last()) else {
        return Ok(stats);
    };
    let start = match &checkpoint {
        Some((n, _)) if first > n + 1 => {
            tracing::warn!(
                dir = %dir.display(),
                checkpoint = n,
                first_segment = first,
                "WAL segments directly after the checkpoint are missing"
            );
            first
        }
        Some((n, _)) => n + 1,
        None => first,
    };
    if start > last {
        return Ok(stats);
    }
    stats.segments = Some((start, last));
    let mut r = WalReader::range(dir, start, last);
    loop {
        let rec = match r.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(Error::Corruption {
                segment: Some(segment),
                offset,
                kind,
                ..
            }) => {
                stats.corruption = Some(CorruptionInfo {
                    segment,
                    offset,
                    kind,
                });
                break;
            }
            Err(e) => return Err(e),
        };
        match bufs.decode(rec, &mut stats) {
            Ok(Some(rec)) => f(rec)?,
            Ok(None) => {}
            Err(_) => {
                stats.corruption = Some(CorruptionInfo {
                    segment: r.segment(),
                    offset: r.offset(),
                    kind: CorruptionKind::Undecodable,
                });
                break;
            }
        }
    }
    if let Some(c) = &stats.corruption {
        tracing::warn!(
            dir = %dir.display(),
            segment = c.segment,
            offset = c.offset,
            kind = %c.kind,
            "WAL replay stopped at a corrupt record"
        );
    }
    Ok(stats)
}

/// Decode buffers reused across records.
#[derive(Default)]
struct Buffers {
    series: Vec<RefSeries>,
    samples: Vec<RefSample>,
    tombstones: Vec<Tombstone>,
}

impl Buffers {
    /// Decodes `rec`; `None` for a record of unknown type.
    fn decode(&mut self, rec: &[u8], stats: &mut ReplayStats) -> Result<Option<ReplayRecord<'_>>> {
        stats.records += 1;
        match RecordType::of(rec) {
            Some(RecordType::Series) => {
                self.series.clear();
                decode_series(rec, &mut self.series)?;
                stats.series += self.series.len() as u64;
                Ok(Some(ReplayRecord::Series(&self.series)))
            }
            Some(RecordType::Samples | RecordType::SamplesSt) => {
                self.samples.clear();
                decode_samples(rec, &mut self.samples)?;
                stats.samples += self.samples.len() as u64;
                Ok(Some(ReplayRecord::Samples(&self.samples)))
            }
            Some(RecordType::Tombstones) => {
                self.tombstones.clear();
                decode_tombstones(rec, &mut self.tombstones)?;
                stats.tombstones += self.tombstones.len() as u64;
                Ok(Some(ReplayRecord::Tombstones(&self.tombstones)))
            }
            Some(RecordType::Unknown(t)) => {
                tracing::debug!(record_type = t, "skipping WAL record of unknown type");
                stats.unknown_records += 1;
                Ok(None)
            }
            None => Ok(None),
        }
    }
}
