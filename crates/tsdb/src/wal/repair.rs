//! Repairing a torn or corrupt WAL (Prometheus' `wlog.Repair`).

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use crate::error::{CorruptionKind, Error, Result};

use super::reader::WalReader;
use super::{last_checkpoint, list_segments, segment_path, sync_dir};

/// What [`repair`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The segment holding the first bad record.
    pub segment: u64,
    /// Its byte offset; the segment was truncated to this length.
    pub offset: u64,
    /// What was wrong with the record.
    pub kind: CorruptionKind,
    /// The later segments that were deleted.
    pub deleted_segments: Vec<u64>,
}

/// Scans the segments that replay would read (those after the last
/// checkpoint) and cuts the WAL at the first torn or corrupt record: the
/// segment holding it is truncated to the record's offset and all later
/// segments are deleted, since records after a hole cannot be trusted to
/// replay consistently. Returns `None` when nothing was wrong.
///
/// A crash leaves at most a torn record at the end of the last segment;
/// damage further back loses every record after it, and is logged as a
/// warning with the segment and offset.
pub fn repair(dir: impl AsRef<Path>) -> Result<Option<RepairReport>> {
    let dir = dir.as_ref();
    let segs = list_segments(dir)?;
    let (Some(&first), Some(&last)) = (segs.first(), segs.last()) else {
        return Ok(None);
    };
    let start = last_checkpoint(dir)?.map_or(first, |(n, _)| first.max(n + 1));
    let mut r = WalReader::range(dir, start, last);
    loop {
        match r.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            Err(Error::Corruption {
                segment: Some(segment),
                offset,
                kind,
                ..
            }) => {
                tracing::warn!(
                    dir = %dir.display(),
                    segment,
                    offset,
                    %kind,
                    "WAL corruption found; repairing"
                );
                let deleted_segments = repair_at(dir, segment, offset)?;
                return Ok(Some(RepairReport {
                    segment,
                    offset,
                    kind,
                    deleted_segments,
                }));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Cuts the WAL in `dir` at `offset` of `segment`: deletes every later
/// segment, then truncates `segment` to `offset` bytes (a missing
/// `segment` is left missing). Returns the deleted segments.
///
/// Use it with the position of a corruption that [`super::replay_dir`]
/// reported; [`repair`] finds the position itself.
pub fn repair_at(dir: impl AsRef<Path>, segment: u64, offset: u64) -> Result<Vec<u64>> {
    let dir = dir.as_ref();
    // Delete from the newest down so that an interruption leaves no hole.
    let mut deleted: Vec<u64> = list_segments(dir)?
        .into_iter()
        .filter(|&s| s > segment)
        .collect();
    deleted.reverse();
    for &s in &deleted {
        let path = segment_path(dir, s);
        tracing::warn!(path = %path.display(), "deleting WAL segment after corruption");
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove WAL segment", path, e)),
        }
    }
    deleted.reverse();
    let path = segment_path(dir, segment);
    match OpenOptions::new().write(true).open(&path) {
        Ok(f) => {
            tracing::warn!(path = %path.display(), offset, "truncating WAL segment");
            f.set_len(offset)
                .map_err(|e| Error::io("truncate WAL segment", &path, e))?;
            f.sync_all()
                .map_err(|e| Error::io("fsync WAL segment", &path, e))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("open WAL segment", path, e)),
    }
    sync_dir(dir)?;
    Ok(deleted)
}
